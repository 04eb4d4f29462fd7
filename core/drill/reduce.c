/* drill reducer: applies one event to a drill's in-memory state, live and in replay alike. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "drill/drill.intern.h"
#include "pd_err.h"
#include "pd_mem.h"

/* ---- the reducer ---------------------------------------------------------------------- */

static void
set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = pd_xstrdup(src);
}

/*
 * A stage's status follows from its steps: any failed step fails it, a
 * running step makes it running, all steps done makes it passed (skipped
 * when every step was skipped). A stage without steps, or one ended with
 * steps still pending, takes the status its DRILL_EV_STAGE_END gave.
 */
static void
stage_recompute(struct drill_stage_state *st)
{
    bool failed = false, running = false, pending = false, all_skipped = true, any_done = false;
    double dur = 0, human = 0;

    for (size_t i = 0; i < st->n_steps; i++) {
        const struct drill_step_state *sp = &st->steps[i];

        dur += sp->duration_s;
        human += sp->human_s;
        switch (sp->status) {
        case STEP_FAILED:
            failed = true;
            break;
        case STEP_RUNNING:
            running = true;
            break;
        case STEP_PENDING:
            pending = true;
            break;
        case STEP_PASSED:
        case STEP_SKIPPED:
            break;
        }
        if (sp->status != STEP_SKIPPED)
            all_skipped = false;
        if (sp->status == STEP_PASSED || sp->status == STEP_SKIPPED)
            any_done = true;
    }
    st->duration_s = dur + st->operator_s;
    st->human_s = human + st->operator_s;
    if (failed)
        st->status = STEP_FAILED;
    else if (running)
        st->status = STEP_RUNNING; // NOLINT(bugprone-branch-clone): the order is the precedence
    else if (st->n_steps > 0 && !pending)
        st->status = all_skipped ? STEP_SKIPPED : STEP_PASSED;
    else if (st->finished_at != NULL)
        st->status = st->end_status;
    else if (st->started_at != NULL || any_done)
        st->status = STEP_RUNNING;
    else
        st->status = STEP_PENDING;
}

static void
text_add(struct drill_text **arr, size_t *n, int stage, const char *at, const char *text)
{
    *arr = pd_xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[*n].stage = stage;
    (*arr)[*n].at = pd_xstrdup(at);
    (*arr)[*n].text = pd_xstrdup(text != NULL ? text : "");
    (*n)++;
}

static void
var_set(struct drill *d, const char *name, const char *value, bool secret)
{
    struct drill_var *v = NULL;

    for (size_t i = 0; i < d->n_vars; i++) {
        if (strcmp(d->vars[i].name, name) == 0) {
            v = &d->vars[i];
            break;
        }
    }
    if (v == NULL) {
        d->vars = pd_xrealloc(d->vars, (d->n_vars + 1) * sizeof(*d->vars));
        v = &d->vars[d->n_vars++];
        v->name = pd_xstrdup(name);
        v->value = NULL;
    }
    set_str(&v->value, value);
    v->secret = secret;
}

static void
check_set(struct drill *d, const struct drill_event *ev, const char *at)
{
    struct drill_check *c = NULL;

    // A retried check replaces its earlier result: the report shows the final one.
    for (size_t i = 0; i < d->n_checks; i++) {
        struct drill_check *o = &d->checks[i];

        if (o->stage == ev->stage && o->step == ev->step && strcmp(o->name, ev->name) == 0) {
            c = o;
            break;
        }
    }
    if (c == NULL) {
        d->checks = pd_xrealloc(d->checks, (d->n_checks + 1) * sizeof(*d->checks));
        c = &d->checks[d->n_checks++];
        memset(c, 0, sizeof(*c));
        c->stage = ev->stage;
        c->step = ev->step;
        c->name = pd_xstrdup(ev->name);
    }
    set_str(&c->sql, ev->sql);
    set_str(&c->expected, ev->expected);
    set_str(&c->observed, ev->observed);
    set_str(&c->at, at);
    c->passed = ev->passed;
    c->flagged = !ev->passed && ev->flagged;
}

/* One output line of a step whose output goes into the report (report=, report-json=). */
static void
output_add(struct drill_step_state *sp, const char *line)
{
    size_t have = sp->output != NULL ? strlen(sp->output) : 0;
    size_t len = line != NULL ? strlen(line) : 0;

    if ((sp->report_title == NULL && sp->report_json == NULL) ||
        have + len + 2 > DRILL_REPORT_OUTPUT_MAX)
        return;
    sp->output = pd_xrealloc(sp->output, have + len + 2);
    memcpy(sp->output + have, line != NULL ? line : "", len);
    sp->output[have + len] = '\n';
    sp->output[have + len + 1] = '\0';
}

/* Events about one step (stage and step indexes validated). */
static void
apply_step(struct drill_step_state *sp, const struct drill_event *ev, const char *at)
{
    switch (ev->type) {
    case DRILL_EV_STEP_START:
        sp->status = STEP_RUNNING;
        if (ev->attempt > sp->attempts)
            sp->attempts = ev->attempt;
        else
            sp->attempts++;
        if (sp->started_at == NULL)
            sp->started_at = pd_xstrdup(at);
        PD_FREE(sp->finished_at);
        PD_FREE(sp->skip_reason);
        PD_FREE(sp->hint_id); // a hint belongs to the attempt that failed
        PD_FREE(sp->hint);
        PD_FREE(sp->output); // the report keeps the last attempt's output
        sp->caught = false;  // a catch belongs to the attempt that failed
        PD_FREE(sp->caught_by);
        break;
    case DRILL_EV_CATCH:
        sp->caught = true;
        set_str(&sp->caught_by, ev->name);
        break;
    case DRILL_EV_OUTPUT:
        output_add(sp, ev->text);
        break;
    case DRILL_EV_HINT:
        set_str(&sp->hint_id, ev->name);
        set_str(&sp->hint, ev->text);
        break;
    case DRILL_EV_STEP_END:
        sp->status = ev->status;
        sp->duration_s += ev->duration_s;
        sp->human_s += ev->human_s;
        sp->exit_code = ev->exit_code;
        set_str(&sp->summary, ev->text);
        set_str(&sp->finished_at, at);
        // why it had to be retried: the report's deviations give it
        if (ev->status == STEP_FAILED)
            set_str(&sp->failed_summary, ev->text);
        break;
    case DRILL_EV_STEP_SKIP:
        sp->status = STEP_SKIPPED;
        set_str(&sp->skip_reason, ev->text);
        set_str(&sp->finished_at, at);
        break;
    case DRILL_EV_HUMAN:
        sp->human_s += ev->human_s;
        sp->duration_s += ev->human_s;
        break;
    default:
        break;
    }
}

/* Events about one stage (index validated); then its derived fields. */
static void
apply_stage(struct drill_stage_state *st, const struct drill_event *ev, const char *at)
{
    switch (ev->type) {
    case DRILL_EV_STAGE_START:
        if (st->started_at == NULL)
            st->started_at = pd_xstrdup(at);
        PD_FREE(st->finished_at);
        st->end_status = STEP_PENDING;
        break;
    case DRILL_EV_STAGE_END:
        set_str(&st->finished_at, at);
        st->end_status = ev->status;
        break;
    case DRILL_EV_STEP_START:
    case DRILL_EV_STEP_END:
    case DRILL_EV_STEP_SKIP:
    case DRILL_EV_HINT:
    case DRILL_EV_CATCH:
        apply_step(&st->steps[ev->step], ev, at);
        break;
    case DRILL_EV_HUMAN:
        if (ev->step >= 0)
            apply_step(&st->steps[ev->step], ev, at);
        else
            st->operator_s += ev->human_s;
        break;
    default:
        break;
    }
    stage_recompute(st);
}

/*
 * Apply one validated event (see event_check) to the state. Used for live
 * records and for replay alike, so a reopened drill equals the live one.
 */
void
drill_apply(struct drill *d, const struct drill_event *ev, const char *at)
{
    switch (ev->type) {
    case DRILL_EV_BEGIN:
        break;
    case DRILL_EV_OUTPUT: // kept only for a step whose output goes into the report
        if (ev->stage >= 0 && ev->step >= 0)
            apply_step(&d->stages[ev->stage].steps[ev->step], ev, at);
        break;
    case DRILL_EV_STAGE_START:
    case DRILL_EV_STAGE_END:
    case DRILL_EV_STEP_START:
    case DRILL_EV_STEP_END:
    case DRILL_EV_STEP_SKIP:
    case DRILL_EV_HUMAN:
    case DRILL_EV_HINT:
    case DRILL_EV_CATCH:
        apply_stage(&d->stages[ev->stage], ev, at);
        break;
    case DRILL_EV_CHECK:
        check_set(d, ev, at);
        break;
    case DRILL_EV_VAR:
        var_set(d, ev->name, ev->value, ev->secret);
        break;
    case DRILL_EV_NOTE:
        text_add(&d->notes, &d->n_notes, ev->stage, at, ev->text);
        break;
    case DRILL_EV_ISSUE:
        text_add(&d->issues, &d->n_issues, ev->stage, at, ev->text);
        break;
    case DRILL_EV_MEASURE:
        PD_ASSERT(ev->name != NULL); // drill_event_check() requires it
        if (strcmp(ev->name, "rto_s") == 0)
            d->rto_s = ev->value_s;
        else if (strcmp(ev->name, "rpo_s") == 0)
            d->rpo_s = ev->value_s;
        // and by the stage that measured it (older journals name none)
        if (ev->stage >= 0 && strcmp(ev->name, "rpo_s") == 0) {
            d->stages[ev->stage].rpo_measured = true;
            d->stages[ev->stage].rpo_s = ev->value_s;
        }
        break;
    case DRILL_EV_INTERRUPT:
        d->interrupted = true;
        // the attempt it cut short has no step_end: keep its machine time
        if (ev->stage >= 0 && ev->step >= 0 && ev->duration_s > 0) {
            d->stages[ev->stage].steps[ev->step].duration_s += ev->duration_s;
            stage_recompute(&d->stages[ev->stage]);
        }
        break;
    case DRILL_EV_RESUME:
        d->n_resumes++;
        d->interrupted = false;
        break;
    case DRILL_EV_END:
        set_str(&d->outcome, ev->text);
        set_str(&d->finished_at, at);
        d->interrupted = false;
        break;
    case DRILL_EV_PLAN:
        // the plan text stays in the journal only, like output
        d->plan_accepted = d->plan_accepted || ev->passed;
        break;
    }
}
