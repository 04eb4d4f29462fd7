/*
 * engine: the stage/step loop, failure policies, interrupts and timing.
 *
 * Every state change goes through drill_record before the next action, so
 * a crash at any point leaves a journal that a resume can continue from:
 * steps whose status is passed or skipped are not rerun; a step that was
 * running when the process died has no step_end and runs again.
 *
 * Secrets and resume: a variable whose value holds a secret (a URI with a
 * password, a registered secret) is journaled by name only. When a resumed
 * drill has such a variable, engine_run asks for its value again before
 * continuing: from --var NAME=VALUE first, else through prompt_needed
 * (headless without --var fails with PD_EINPUT naming the variable).
 * Re-running the step that produced it is not done on purpose: that step
 * may have created something (a branch) that must not be created twice.
 */
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine.intern.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "runbook/action.h"
#include "runbook/when.h"
#include "shell/group.h"
#include "timeline/plan.h"

int
engine_record(struct engine *e, const struct drill_event *ev, struct pd_err *err)
{
    struct pd_err rerr = {0};
    int rc = drill_record(e->drill, ev, &rerr);

    if (rc != 0) {
        // remembered so a step can tell a journal failure from its own
        if (e->record_rc == 0) {
            e->record_rc = rc;
            e->record_err = rerr;
        }
        if (err != NULL)
            *err = rerr;
    }
    return rc;
}

bool
engine_should_stop(struct engine *e)
{
    // a broken journal can record nothing more: stop the running action now
    // rather than let it finish unrecorded (it runs again on resume)
    if (e->stop_requested || e->quit || e->record_rc != 0)
        return true;
    if (e->ev.tick != NULL && e->ev.tick(e->payload)) {
        e->stop_requested = 1;
        return true;
    }
    return false;
}

void
engine_request_stop(struct engine *e)
{
    e->stop_requested = 1;
}

int
engine_ask(struct engine *e, const struct engine_prompt *p, char **out, struct pd_err *err)
{
    double t0 = pd_time_mono();
    int rc;

    *out = NULL;
    rc = e->ev.prompt_needed(p, out, e->payload);
    e->human_step += pd_time_mono() - t0;
    if (rc == PD_EINTR) {
        e->quit = true;
        free(*out);
        *out = NULL;
        return PD_ERR_SET(err, PD_EINTR, "interrupted by the operator");
    }
    if (rc != 0) {
        free(*out);
        *out = NULL;
        if (rc != PD_EINPUT) // the front end broke, not the operator
            return PD_ERR_SET(err, rc, "prompt failed");
        if (p->name != NULL)
            return PD_ERR_SET(err, rc,
                              "input '%s' needs an answer: pass --var %s=VALUE or run at a "
                              "terminal",
                              p->name, p->name);
        return PD_ERR_SET(err, rc, "this step needs the operator: run at a terminal or in the TUI");
    }
    if (*out == NULL)
        *out = pd_xstrdup("");
    return 0;
}

int
engine_confirm_ask(struct engine *e, const struct engine_confirm *c, char **typed,
                   struct pd_err *err)
{
    double t0 = pd_time_mono();
    int rc;

    *typed = NULL;
    if (e->ev.confirm_typed != NULL)
        rc = e->ev.confirm_typed(c, typed, e->payload);
    else
        rc = e->ev.confirm_needed(c, e->payload);
    e->human_step += pd_time_mono() - t0;
    if (rc == PD_EINTR) {
        e->quit = true;
        PD_FREE(*typed);
        return PD_ERR_SET(err, PD_EINTR, "interrupted by the operator");
    }
    if (rc != 0) {
        PD_FREE(*typed);
        return PD_ERR_SET(err, PD_ECHECK, "confirm: the operator did not confirm");
    }
    return 0;
}

int
engine_output(struct engine *e, const char *line, struct pd_err *err)
{
    char *r = pd_redact(line);
    int rc = 0;

    if (e->ev.output_line != NULL)
        e->ev.output_line(e->step, r, e->payload);
    if (e->out_text.len + strlen(r) + 1 <= ENGINE_HINT_TEXT_MAX) {
        struct pd_err ignored; // within the cap: cannot fail

        (void)pd_buf_appendf(&e->out_text, &ignored, "%s\n", r);
    }
    if (e->n_journaled < ENGINE_OUTPUT_JOURNAL_MAX) {
        struct drill_event ev = {
            .type = DRILL_EV_OUTPUT,
            .stage = e->si,
            .step = e->ti,
            .text = r,
        };

        rc = engine_record(e, &ev, err);
        e->n_journaled++;
    } else {
        e->n_unjournaled++;
    }
    free(r);
    return rc;
}

/*
 * engine_check_vars, but a --var may also name a secret variable the journal
 * kept by name only: reask_secrets takes its value from there on a resume.
 */
static int
check_vars_of_drill(const struct runbook *rb, const struct drill *drill,
                    const struct engine_opts *opts, struct pd_err *err)
{
    const char **rest = pd_xcalloc(opts->n_vars + 1, sizeof(*rest));
    size_t n = 0;
    int rc;

    for (size_t i = 0; i < opts->n_vars; i++) {
        size_t nl = strcspn(opts->vars[i], "=");
        bool secret = false;

        for (size_t k = 0; k < drill->n_vars && !secret; k++)
            secret = drill->vars[k].secret && strlen(drill->vars[k].name) == nl &&
                     strncmp(drill->vars[k].name, opts->vars[i], nl) == 0;
        if (!secret)
            rest[n++] = opts->vars[i];
    }
    rc = engine_check_vars(rb, rest, n, err);
    free(rest);
    return rc;
}

int
engine_new(struct engine **out, const struct runbook *rb, struct drill *drill,
           const struct engine_opts *opts, const struct engine_events *ev, void *payload,
           struct pd_err *err)
{
    struct engine *e;

    *out = NULL;
    if (rb == NULL || drill == NULL)
        return PD_ERR_SET(err, PD_EBUG, "engine: runbook and drill are required");
    if (drill->n_stages != rb->n_stages || strcmp(drill->stages_sha256, rb->stages_sha256) != 0)
        return PD_ERR_SET(err, PD_EINPUT,
                          "drill %s: the runbook's stages changed since the drill began "
                          "(stages sha256 differs); start a new drill",
                          drill->id ? drill->id : "?");
    for (size_t i = 0; i < drill->n_stages; i++)
        if (drill->stages[i].n_steps != rb->stages[i].n_steps)
            return PD_ERR_SET(err, PD_EINPUT,
                              "drill %s: stage '%s' has a different number of steps than when "
                              "the drill began; start a new drill",
                              drill->id ? drill->id : "?", rb->stages[i].title);
    if (opts != NULL) {
        for (size_t i = 0; i < opts->n_vars; i++) {
            const char *eq = strchr(opts->vars[i], '=');

            if (eq == NULL || eq == opts->vars[i])
                return PD_ERR_SET(err, PD_EUSAGE, "--var '%s': expected NAME=VALUE", opts->vars[i]);
        }
        if (check_vars_of_drill(rb, drill, opts, err) != 0)
            return PD_EUSAGE;
    }
    e = pd_xcalloc(1, sizeof(*e));
    pd_buf_init(&e->out_text, ENGINE_HINT_TEXT_MAX);
    e->rb = rb;
    e->drill = drill;
    if (opts != NULL)
        e->opts = *opts;
    if (e->opts.statement_timeout_ms <= 0)
        e->opts.statement_timeout_ms = 30000;
    if (e->opts.sh_timeout_s <= 0)
        e->opts.sh_timeout_s = 600;
    if (ev != NULL)
        e->ev = *ev;
    e->payload = payload;
    e->si = e->ti = -1;
    // variables restored from the journal; secret ones have no value here
    for (size_t i = 0; i < drill->n_vars; i++) {
        e->vars = pd_xrealloc(e->vars, (e->n_vars + 1) * sizeof(*e->vars));
        e->vars[e->n_vars].name = pd_xstrdup(drill->vars[i].name);
        e->vars[e->n_vars].value = pd_xstrdup(drill->vars[i].value);
        e->n_vars++;
    }
    *out = e;
    return 0;
}

void
engine_free(struct engine *e)
{
    if (e == NULL)
        return;
    engine_conns_free(e);
    pd_buf_free(&e->out_text);
    hints_free(&e->hints);
    for (size_t i = 0; i < e->n_vars; i++) {
        free(e->vars[i].name);
        if (e->vars[i].value != NULL) {
            // may be a secret: do not leave it in freed memory
            memset(e->vars[i].value, 0, strlen(e->vars[i].value));
            free(e->vars[i].value);
        }
    }
    free(e->vars);
    free(e);
}

static bool
var_known(const struct engine *e, const char *name)
{
    for (size_t i = 0; i < e->n_vars; i++)
        if (strcmp(e->vars[i].name, name) == 0 && e->vars[i].value != NULL)
            return true;
    return false;
}

/*
 * Obtain a value for a declared input: --var, else the operator, else (no
 * prompt callback) the default. Validation failures re-ask the operator
 * with last_error; headless they fail.
 */
int
engine_obtain_input(struct engine *e, struct engine_prompt *p, const char *pattern, bool required,
                    char **out, struct pd_err *err)
{
    const char *given = p->name ? engine_opt_var(e, p->name) : NULL;
    struct pd_err verr = {0};
    char *answer = NULL;
    int rc;

    *out = NULL;
    p->optional = !required;
    if (given != NULL) {
        // an optional input passed empty is left out, as an empty answer at a terminal is
        if ((given[0] == '\0' && !required) ||
            engine_validate(given, p->type, p->choices, p->n_choices, pattern, &verr) == 0) {
            *out = pd_xstrdup(given);
            return 0;
        }
        if (e->ev.prompt_needed == NULL)
            return PD_ERR_SET(err, PD_EINPUT, "--var %s: %s", p->name, verr.msg);
        p->last_error = verr.msg;
    }
    if (e->ev.prompt_needed == NULL) {
        if (p->default_value != NULL) {
            *out = pd_xstrdup(p->default_value);
            return 0;
        }
        if (!required) {
            *out = pd_xstrdup("");
            return 0;
        }
        if (e->scope != NULL) // a sub-drill: its runbook step gives the values
            return PD_ERR_SET(err, PD_EINPUT,
                              "input '%s' needs a value: add a line %s=VALUE to the body of the "
                              "runbook step (stage %s)",
                              p->name, p->name, e->scope);
        return PD_ERR_SET(err, PD_EINPUT, "input '%s' needs a value: pass --var %s=VALUE", p->name,
                          p->name);
    }
    for (;;) {
        rc = engine_ask(e, p, &answer, err);
        if (rc != 0)
            break;
        if (answer[0] == '\0' && p->default_value != NULL) {
            free(answer);
            answer = pd_xstrdup(p->default_value);
        }
        if (answer[0] == '\0' && required) {
            snprintf(verr.msg, sizeof(verr.msg), "a value is required");
        } else if (answer[0] == '\0' || engine_validate(answer, p->type, p->choices, p->n_choices,
                                                        pattern, &verr) == 0) {
            *out = answer;
            break;
        }
        PD_FREE(answer);
        p->last_error = verr.msg;
        if (engine_should_stop(e)) {
            rc = PD_ERR_SET(err, PD_EINTR, "interrupted");
            break;
        }
    }
    // last_error points into verr, which dies with this frame
    p->last_error = NULL;
    return rc;
}

struct engine_prompt
engine_input_prompt(const struct runbook_input *in)
{
    struct engine_prompt p = {
        .action = STEP_INPUT,
        .name = in->name,
        .question = in->prompt ? in->prompt : in->name,
        .type = in->type,
        .choices = (const char *const *)in->choices,
        .n_choices = in->n_choices,
        .default_value = in->default_value,
    };

    return p;
}

/*
 * Headless, two or more required header inputs without a --var or a
 * default: all of them in one message, so that one more run is enough.
 * 0 when fewer are missing (engine_obtain_input names the one).
 */
static int
inputs_missing(const struct engine *e, struct pd_err *err)
{
    struct pd_buf names, args;
    size_t n = 0;
    int rc = 0;

    if (e->ev.prompt_needed != NULL || e->scope != NULL)
        return 0;
    pd_buf_init(&names, 0);
    pd_buf_init(&args, 0);
    for (size_t i = 0; i < e->rb->n_inputs; i++) {
        const struct runbook_input *in = &e->rb->inputs[i];
        struct engine_prompt p = engine_input_prompt(in);

        if (!in->required || p.default_value != NULL || var_known(e, in->name) ||
            engine_opt_var(e, in->name) != NULL)
            continue;
        pd_buf_appendf(&names, NULL, "%s'%s'", n ? ", " : "", in->name);
        pd_buf_appendf(&args, NULL, "%s--var %s=VALUE", n ? " " : "", in->name);
        n++;
    }
    if (n > 1)
        rc = PD_ERR_SET(err, PD_EINPUT, "inputs %s need values: pass %s", pd_buf_str(&names),
                        pd_buf_str(&args));
    pd_buf_free(&names);
    pd_buf_free(&args);
    return rc;
}

/* Header inputs not yet known, before the first stage. */
static int
ask_header_inputs(struct engine *e, struct pd_err *err)
{
    int rc = inputs_missing(e, err);

    for (size_t i = 0; rc == 0 && i < e->rb->n_inputs; i++) {
        const struct runbook_input *in = &e->rb->inputs[i];
        struct engine_prompt p = engine_input_prompt(in);
        char *value = NULL;

        if (var_known(e, in->name))
            continue;
        rc = engine_obtain_input(e, &p, NULL, in->required, &value, err);
        if (rc != 0)
            break;
        rc = engine_set_var(e, in->name, value, err);
        free(value);
        if (rc != 0)
            break;
    }
    // the operator's time here, and for secrets asked again on a resume
    // (reask_secrets), goes to the stage the run starts or resumes in
    if (e->human_step > 0 && e->rb->n_stages > 0) {
        size_t si = 0;
        struct drill_event ev = {
            .type = DRILL_EV_HUMAN,
            .step = -1,
            .human_s = e->human_step,
        };

        while (si + 1 < e->drill->n_stages && e->drill->stages[si].finished_at != NULL)
            si++;
        ev.stage = (int)si;
        int rc2 = engine_record(e, &ev, rc ? NULL : err);

        if (rc == 0)
            rc = rc2;
    }
    e->human_step = 0;
    return rc;
}

/* The password of a URI, or else the whole value, becomes a registered secret. */
static void
register_secret(const char *value)
{
    char *r;

    pd_redact_register_uri(value);
    r = pd_redact(value);
    if (strcmp(r, value) == 0)
        pd_redact_register(value);
    free(r);
}

/*
 * Headless, the secret variables from index first on that no --var gives:
 * all of them in one message, so that one more resume is enough.
 */
static int
secrets_missing(const struct engine *e, size_t first, struct pd_err *err)
{
    struct pd_buf names, args;
    size_t n = 0;
    int rc;

    pd_buf_init(&names, 0);
    pd_buf_init(&args, 0);
    for (size_t i = first; i < e->n_vars; i++) {
        if (e->vars[i].value != NULL || engine_opt_var(e, e->vars[i].name) != NULL)
            continue;
        pd_buf_appendf(&names, NULL, "%s'%s'", n ? ", " : "", e->vars[i].name);
        pd_buf_appendf(&args, NULL, "%s%s=VALUE", n ? ", " : "", e->vars[i].name);
        n++;
    }
    // not --var: a secret on the command line is visible to every user
    if (n == 1)
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "variable %s holds a secret that is not journaled: give the line %s on "
                        "stdin with --vars-from - to resume",
                        pd_buf_str(&names), pd_buf_str(&args));
    else
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "variables %s hold secrets that are not journaled: give the lines %s on "
                        "stdin with --vars-from - to resume",
                        pd_buf_str(&names), pd_buf_str(&args));
    pd_buf_free(&names);
    pd_buf_free(&args);
    return rc;
}

/*
 * Secret variables no --var gives that a neon step saved: asked of Neon
 * again (engine_neon_refetch), before anyone is asked.
 */
static int
refetch_secrets(struct engine *e, struct pd_err *err)
{
    for (size_t i = 0; i < e->n_vars; i++) {
        char *value = NULL;
        int rc;

        if (e->vars[i].value != NULL || engine_opt_var(e, e->vars[i].name) != NULL)
            continue;
        rc = engine_neon_refetch(e, e->vars[i].name, &value, err);
        if (rc != 0)
            return rc;
        if (value != NULL) {
            register_secret(value);
            e->vars[i].value = value;
        }
    }
    return 0;
}

/* A resumed drill lost the values of its secret variables: ask for them again. */
static int
reask_secrets(struct engine *e, struct pd_err *err)
{
    int rc0 = refetch_secrets(e, err);

    if (rc0 != 0)
        return rc0;
    for (size_t i = 0; i < e->n_vars; i++) {
        const char *given;
        char *answer = NULL;
        char question[256];
        int rc;

        if (e->vars[i].value != NULL)
            continue;
        given = engine_opt_var(e, e->vars[i].name);
        if (given != NULL) {
            e->vars[i].value = pd_xstrdup(given);
            register_secret(given);
            continue;
        }
        if (e->ev.prompt_needed == NULL)
            return secrets_missing(e, i, err);
        snprintf(question, sizeof(question),
                 "'%s' holds a secret that is not kept in the journal; enter it again to resume",
                 e->vars[i].name);
        {
            struct engine_prompt p = {
                .action = STEP_INPUT,
                .name = e->vars[i].name,
                .question = question,
                .type = INPUT_TEXT,
            };

            rc = engine_ask(e, &p, &answer, err);
        }
        if (rc != 0)
            return rc;
        register_secret(answer);
        e->vars[i].value = answer;
    }
    return 0;
}

static const char *
kind_word(int rc)
{
    return rc == PD_ESERVICE ? "service" : rc == PD_EINPUT ? "input" : "check";
}

/* Ask the front end (or apply the policy) what to do after a failure. */
static enum engine_decision
decide(struct engine *e, int attempt, const char *why, char **reason, struct pd_err *err,
       int *rc_out)
{
    const struct runbook_step *step = e->step;
    enum engine_decision d;

    *reason = NULL;
    *rc_out = 0;
    // the author chose to record and go on (validation checks): nothing to ask
    if (step->on_fail == FAIL_CONTINUE)
        return ENGINE_CONTINUE;
    if (e->ev.failure_decision != NULL) {
        double t0 = pd_time_mono(), dt;

        d = e->ev.failure_decision(step, why, reason, e->payload);
        dt = pd_time_mono() - t0;
        {
            struct drill_event ev = {
                .type = DRILL_EV_HUMAN,
                .stage = e->si,
                .step = e->ti,
                .human_s = dt,
            };

            *rc_out = engine_record(e, &ev, err);
        }
        return d;
    }
    switch (step->on_fail) {
    case FAIL_RETRY:
        // retries counts re-runs: attempt N+1 is the last one
        if (attempt <= step->retries)
            return ENGINE_RETRY;
        return ENGINE_STOP;
    case FAIL_SKIP:
        return ENGINE_SKIP;
    case FAIL_CONTINUE:
        return ENGINE_CONTINUE;
    case FAIL_STOP:
        break;
    }
    return ENGINE_STOP;
}

/*
 * Record the interruption. elapsed is the wall time of the step attempt it
 * cut short (0 when none was running): its machine part goes into the
 * interrupt record and its human part into a human record, so the step and
 * stage keep the time they really took.
 */
static int
interrupt(struct engine *e, const char *reason, double elapsed, struct pd_err *err)
{
    struct drill_event ev = {
        .type = DRILL_EV_INTERRUPT, .stage = e->si, .step = e->ti, .text = reason};
    struct pd_err rerr = {0};

    if (e->si >= 0 && e->ti >= 0 && elapsed > e->human_step)
        ev.duration_s = elapsed - e->human_step;

    if (e->human_step > 0 && e->si >= 0) {
        struct drill_event h = {
            .type = DRILL_EV_HUMAN, .stage = e->si, .step = e->ti, .human_s = e->human_step};

        engine_record(e, &h, &rerr);
        e->human_step = 0;
    }
    if (engine_record(e, &ev, &rerr) != 0)
        pd_log(PD_LOG_ERROR, "engine: %s", rerr.msg);
    return PD_ERR_SET(err, PD_EINTR, "drill %s interrupted; resume with: pgdrill resume %s",
                      e->drill->id ? e->drill->id : "?", e->drill->id ? e->drill->id : "");
}

/*
 * Evaluate the step's when= condition. Returns 0 and sets *skip (with a
 * reason the caller owns) when the condition does not hold.
 */
static int
step_condition(struct engine *e, const struct runbook_step *step, bool *skip, char **reason,
               struct pd_err *err)
{
    const char *cond = runbook_step_attr(step, "when");
    char *left = NULL, *right = NULL;
    struct when w;
    int rc;

    *skip = false;
    *reason = NULL;
    if (cond == NULL)
        return 0;
    rc = when_parse(&w, cond, err);
    if (rc != 0)
        return rc;
    rc = engine_expand(e, &left, w.left, false, err);
    if (rc == 0)
        rc = engine_expand(e, &right, w.right, false, err);
    if (rc == 0 && !when_holds(&w, left, right)) {
        char *shown = pd_redact(left);

        *skip = true;
        *reason =
            pd_xasprintf(DRILL_SKIP_CONDITION_PREFIX "%s does not hold (it is '%s')", cond, shown);
        free(shown);
    }
    free(left);
    free(right);
    when_clear(&w);
    return rc;
}

/* True when a step that changes something has already started (a drill from before the plan). */
static bool
change_started(const struct engine *e)
{
    for (size_t si = 0; si < e->rb->n_stages; si++)
        for (size_t ti = 0; ti < e->rb->stages[si].n_steps; ti++)
            if (e->drill->stages[si].steps[ti].attempts > 0 && plan_step_mutates(e->rb, si, ti))
                return true;
    return false;
}

/*
 * Show the plan before step ti of stage si, the first that changes
 * something (engine.h): the drill's values so far first, then --var.
 */
static int
plan_gate(struct engine *e, int si, int ti, struct pd_err *err)
{
    const struct runbook_step *step = &e->rb->stages[si].steps[ti];
    size_t n = 0;
    char **vars = pd_xcalloc(e->n_vars + e->opts.n_vars + 1, sizeof(*vars));
    struct plan p;
    struct engine_plan ep = {.stage = &e->rb->stages[si], .step = step, .accepted = e->opts.yes};
    double t0;
    int rc, drc;

    for (size_t i = 0; i < e->n_vars; i++)
        if (e->vars[i].value != NULL)
            vars[n++] = pd_xasprintf("%s=%s", e->vars[i].name, e->vars[i].value);
    for (size_t i = 0; i < e->opts.n_vars; i++)
        vars[n++] = pd_xstrdup(e->opts.vars[i]);
    plan_build_at(&p, e->rb, (const char *const *)vars, n, e->drill, (size_t)si, (size_t)ti,
                  pd_time_wall());
    engine_strv_free(vars, n);
    ep.text = p.text;
    ep.lines = &p.lines;
    // the previous step's operator time is journaled: an interrupt here must not add it again
    e->human_step = 0;
    t0 = pd_time_mono();
    if (e->ev.plan_needed != NULL)
        rc = e->ev.plan_needed(&ep, e->payload);
    else
        rc = PD_EINPUT;
    if (ep.accepted)
        rc = 0;
    {
        struct drill_event h = {
            .type = DRILL_EV_HUMAN, .stage = si, .step = -1, .human_s = pd_time_mono() - t0};

        drc = engine_record(e, &h, err);
    }
    if (drc != 0) {
        plan_clear(&p);
        return drc;
    }
    if (rc == PD_EINTR) {
        plan_clear(&p);
        e->quit = true;
        return interrupt(e, "operator quit", 0, err);
    }
    {
        struct drill_event ev = {
            .type = DRILL_EV_PLAN, .stage = si, .step = ti, .passed = rc == 0, .text = p.text};

        drc = engine_record(e, &ev, err);
    }
    plan_clear(&p);
    if (drc != 0)
        return drc;
    if (rc == 0) {
        e->plan_pending = false;
        pd_log(PD_LOG_INFO, "engine: plan accepted before step %s%s", step->id,
               e->opts.yes ? " (--yes)" : "");
        return 0;
    }
    e->declined = true;
    {
        char *why = pd_xasprintf("plan %s before step %s: nothing was changed",
                                 rc == PD_EINPUT ? "not accepted (nobody could answer)"
                                                 : "declined by the operator",
                                 step->id);
        struct drill_event ev = {.type = DRILL_EV_ISSUE, .stage = si, .step = -1, .text = why};

        drc = engine_record(e, &ev, err);
        free(why);
        if (drc != 0)
            return drc;
    }
    if (rc == PD_EINPUT)
        return PD_ERR_SET(err, PD_ECHECK,
                          "step %s: plan not accepted: pass --yes to accept it, or see it first "
                          "with --plan; nothing was changed",
                          step->id);
    return PD_ERR_SET(err, PD_ECHECK, "step %s: plan declined: nothing was changed", step->id);
}

/* Remembers the first variable a text refers to that has no value. */
struct unset_ctx {
    const struct engine *e;
    char *name; /* owned, NULL while every one has a value */
};

static int
unset_ref(struct pd_buf *out, const char *name, size_t at, size_t ref_len, void *payload,
          struct pd_err *err)
{
    struct unset_ctx *x = payload;

    (void)out;
    (void)at;
    (void)ref_len;
    (void)err;
    if (x->name == NULL && engine_lookup(x->e, name) == NULL)
        x->name = pd_xstrdup(name);
    return 0;
}

/*
 * In an always stage, a step whose attributes or body name a variable no
 * step has set is skipped: the drill stopped before the step that saves it,
 * so there is nothing of this drill's to clean up (a branch never created
 * has no id). The reason (caller owns) names the variable; NULL when every
 * variable is set. Malformed references are left to the step to report.
 */
static char *
always_unset_reason(const struct engine *e, const struct runbook_step *step)
{
    struct unset_ctx x = {.e = e, .name = NULL};
    char *why = NULL;

    if (!e->stage->always)
        return NULL;
    for (size_t i = 0; i <= step->n_attrs && x.name == NULL; i++) {
        const char *text = i < step->n_attrs ? step->attrs[i].value : step->body;
        struct pd_err xerr = {0};
        char *ignored = NULL;

        (void)runbook_expand(&ignored, text, unset_ref, &x, &xerr);
        free(ignored);
    }
    if (x.name != NULL)
        why = pd_xasprintf(DRILL_SKIP_CLEANUP_PREFIX
                           "${%s} was never set (the step that saves it did not run): "
                           "nothing of this drill's to act on",
                           x.name);
    free(x.name);
    return why;
}

/*
 * In a sub-drill's stage, a step whose runbook step did not pass (skipped by its when=,
 * or the drill stopped before it) is skipped: that child never started, so nothing of it
 * runs, its clean-up either. The reason (caller owns), or NULL when it runs.
 */
static char *
sub_skip_reason(const struct engine *e)
{
    const struct runbook_stage *st = e->stage;
    const struct runbook_step *rs;

    if (st->scope == NULL ||
        e->drill->stages[st->parent_stage].steps[st->parent_step].status == STEP_PASSED)
        return NULL;
    rs = &e->rb->stages[st->parent_stage].steps[st->parent_step];
    return pd_xasprintf("step %s" DRILL_SKIP_SUBDRILL_INFIX "%s", rs->id,
                        runbook_step_attr(rs, "name"));
}

/* The step's when= condition: *skipped (journaled and shown) when it does not hold. */
static int
step_when(struct engine *e, bool *skipped, struct pd_err *err)
{
    char *why = sub_skip_reason(e);
    int rc = 0;

    if (why == NULL)
        why = always_unset_reason(e, e->step);

    *skipped = why != NULL;
    if (why == NULL)
        rc = step_condition(e, e->step, skipped, &why, err);

    if (rc != 0) {
        pd_err_prefix(err, "step %s: when: ", e->step->id);
    } else if (*skipped) {
        struct drill_event ev = {
            .type = DRILL_EV_STEP_SKIP, .stage = e->si, .step = e->ti, .text = why};

        rc = engine_record(e, &ev, err);
        if (rc == 0 && e->ev.step_finished != NULL)
            e->ev.step_finished(e->step, STEP_SKIPPED, why, e->payload);
    }
    free(why);
    return rc;
}

/* One attempt at the current step. */
struct attempt {
    int n; /* attempts at this step so far, this one included */
    struct engine_step_result res;
    struct pd_err serr; /* why it failed */
    double dur;         /* wall time of the attempt */
    bool refused;       /* by the drill guard */
};

/* Tell the front end the step starts, its body shown as it will run. */
static void
show_step(struct engine *e)
{
    const struct runbook_step *step = e->step;
    enum runbook_body body = runbook_action(step->action)->body;
    struct pd_err xerr = {0};
    char *x = NULL, *display;

    // a bad reference fails in the action itself; values that travel as bind
    // parameters leave the SQL as written
    if (body != RUNBOOK_BODY_SQL &&
        engine_expand(e, &x, step->body, body == RUNBOOK_BODY_SHELL, &xerr) == 0)
        display = pd_redact(x);
    else
        display = pd_redact(step->body);
    free(x);
    e->ev.step_started(e->stage, step, display, e->payload);
    free(display);
}

/* Journal the attempt's start and reset what is counted per attempt. */
static int
attempt_start(struct engine *e, struct attempt *a, struct pd_err *err)
{
    struct drill_event ev = {
        .type = DRILL_EV_STEP_START, .stage = e->si, .step = e->ti, .attempt = a->n};
    int rc = engine_record(e, &ev, err);

    if (rc != 0)
        return rc;
    e->human_step = 0;
    e->n_journaled = e->n_unjournaled = 0;
    pd_buf_reset(&e->out_text);
    e->record_rc = 0;
    if (e->ev.step_started != NULL)
        show_step(e);
    return 0;
}

/* The drill guard, the action, the measurements: the attempt's own result. */
static int
attempt_run(struct engine *e, struct attempt *a)
{
    double t0 = pd_time_mono();
    int rc = engine_policy_check(e, &a->res, &a->serr);

    a->refused = rc != 0;
    if (rc == 0)
        rc = engine_action_run(e, &a->res, &a->serr);
    if (rc == 0)
        rc = engine_measure_step(e, &a->serr);
    a->dur = pd_time_mono() - t0;
    return rc;
}

/*
 * A failed attempt: the first hint matching the step's body, its error and
 * its output is journaled, then shown. The hints are loaded at the first
 * failure; a file that does not load costs a warning, not the drill.
 */
static int
attempt_hint(struct engine *e, const struct attempt *a, struct pd_err *err)
{
    const struct hint *h;
    struct pd_err herr;
    char *text;
    int rc;

    if (!e->hints_loaded) {
        e->hints_loaded = true;
        pd_err_clear(&herr);
        if (e->opts.hints_path != NULL && hints_load(&e->hints, e->opts.hints_path, &herr) != 0)
            pd_log(PD_LOG_WARN, "hints: %s", herr.msg);
    }
    text = pd_xasprintf("%s\n%s\n%s", e->step->body ? e->step->body : "",
                        a->res.summary ? a->res.summary : "", pd_buf_str(&e->out_text));
    h = hints_match(&e->hints, text);
    free(text);
    if (h == NULL)
        return 0;
    struct drill_event ev = {
        .type = DRILL_EV_HINT, .stage = e->si, .step = e->ti, .name = h->id, .text = h->advice};
    if ((rc = engine_record(e, &ev, err)) == 0 && e->ev.hint_shown != NULL)
        e->ev.hint_shown(e->step, h->id, h->advice, e->payload);
    return rc;
}

/*
 * Journal the end of an attempt whose result is rc and tell the front end.
 * Returns 0, or what ends the run now: a journal failure, an interrupt.
 */
static int
attempt_finish(struct engine *e, struct attempt *a, int rc, struct pd_err *err)
{
    enum step_status st = rc == 0 ? STEP_PASSED : STEP_FAILED;
    int drc;

    if (e->record_rc != 0) {
        // the journal failed: nothing more can be recorded
        *err = e->record_err;
        return e->record_rc;
    }
    // a step that fails while a stop is asked for failed because of it: systemd
    // stopping the unit sends SIGTERM to pgdrill and to the step's processes at
    // once (the flag, not the front end's tick, which would read the TUI's keys)
    if (rc == PD_EINTR || (rc != 0 && (e->quit || e->stop_requested)))
        return interrupt(e, e->quit ? "operator quit" : "stop requested", a->dur, err);
    if (e->n_unjournaled > 0) {
        char more[64];
        struct drill_event ev = {
            .type = DRILL_EV_OUTPUT, .stage = e->si, .step = e->ti, .text = more};

        snprintf(more, sizeof(more), "\u2026 %zu more lines", e->n_unjournaled);
        drc = engine_record(e, &ev, err);
        if (drc != 0)
            return drc;
    }
    if (rc != 0 && a->res.summary == NULL)
        a->res.summary = pd_redact(a->serr.msg);
    {
        struct drill_event ev = {
            .type = DRILL_EV_STEP_END,
            .stage = e->si,
            .step = e->ti,
            .status = st,
            .duration_s = a->dur,
            .human_s = e->human_step,
            .exit_code = a->res.exit_code,
            .text = a->res.summary ? a->res.summary : "",
        };

        drc = engine_record(e, &ev, err);
    }
    if (e->ev.step_finished != NULL)
        e->ev.step_finished(e->step, st, a->res.summary ? a->res.summary : "", e->payload);
    if (drc == 0 && st == STEP_FAILED)
        drc = attempt_hint(e, a, err);
    return drc;
}

/*
 * After a failed attempt (rc): what the step's on-fail or the operator
 * decides. *again asks for another attempt. Returns 0 to go on with the
 * drill (retry, continue, skip), or the failure that stops it.
 */
static int
attempt_decide(struct engine *e, struct attempt *a, int rc, bool *again, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    char *reason = NULL, *why;
    enum engine_decision d;
    int drc = 0;

    *again = false;
    if (a->refused) {
        // a drill never gets to retry or skip past its guard
        e->refused = true;
        *err = a->serr;
        return rc;
    }
    why = pd_redact(a->serr.msg);
    d = decide(e, a->n, why, &reason, err, &drc);
    free(why);
    if (drc != 0) {
        rc = drc;
        goto out;
    }
    switch (d) {
    case ENGINE_RETRY:
        pd_log(PD_LOG_INFO, "engine: step %s failed (%s), retrying", step->id, kind_word(rc));
        *again = true;
        rc = 0;
        break;
    case ENGINE_CONTINUE:
        // the step stays failed in the journal; the drill goes on and
        // ends failed, so every check of a validation run is reported
        if (e->n_continued++ == 0) {
            e->first_failure = a->serr;
            pd_err_prefix(&e->first_failure, "step %s: ", step->id);
        }
        rc = 0;
        break;
    case ENGINE_SKIP: {
        char *r = pd_redact(reason && reason[0] ? reason : "on-fail=skip");
        struct drill_event ev = {
            .type = DRILL_EV_STEP_SKIP, .stage = e->si, .step = e->ti, .text = r};

        rc = engine_record(e, &ev, err);
        free(r);
        if (rc == 0 && e->ev.step_finished != NULL)
            e->ev.step_finished(step, STEP_SKIPPED, "skipped", e->payload);
        break;
    }
    case ENGINE_STOP:
        // keep the step's own error for the caller
        *err = a->serr;
        pd_err_prefix(err, "step %s: ", step->id);
        break;
    }
out:
    free(reason);
    return rc;
}

/*
 * Run step ti of stage si until it passes, is skipped, or the drill
 * stops: its when= condition, the plan before the first change, then
 * attempts (start, run, finish, decide) for as long as the decision is
 * to retry.
 */
static int
run_step(struct engine *e, int si, int ti, struct pd_err *err)
{
    struct attempt a = {.n = e->drill->stages[si].steps[ti].attempts};
    bool skipped = false, again = false;
    int rc;

    e->si = si;
    e->ti = ti;
    e->stage = &e->rb->stages[si];
    e->scope = e->stage->scope;
    e->step = &e->stage->steps[ti];
    rc = step_when(e, &skipped, err);
    if (rc != 0 || skipped)
        goto out;
    if (e->plan_pending && plan_step_mutates(e->rb, (size_t)si, (size_t)ti)) {
        rc = plan_gate(e, si, ti, err);
        if (rc != 0)
            goto out;
    }
    do {
        int arc;

        again = false;
        memset(&a.res, 0, sizeof(a.res));
        memset(&a.serr, 0, sizeof(a.serr));
        // operator time of an earlier attempt or step is already journaled
        e->human_step = 0;
        if (engine_should_stop(e)) {
            rc = interrupt(e, "stop requested", 0, err);
            goto out;
        }
        a.n++;
        rc = attempt_start(e, &a, err);
        if (rc != 0)
            goto out;
        arc = attempt_run(e, &a);
        rc = attempt_finish(e, &a, arc, err);
        if (rc == 0 && arc != 0)
            rc = attempt_decide(e, &a, arc, &again, err);
        PD_FREE(a.res.summary);
    } while (rc == 0 && again);
out:
    free(a.res.summary);
    return rc;
}

/*
 * The runbook step above stage si (and its stage, *at) whose on-fail takes a failure that
 * stops the sub-drill: the nearest with continue or skip (stop passes the failure on to
 * the runbook that runs it). NULL when the failure stops the drill.
 */
static const struct runbook_step *
sub_catcher(const struct runbook *rb, size_t si, size_t *at)
{
    const struct runbook_step *rs;

    while ((rs = runbook_stage_parent(rb, si, &si)) != NULL)
        if (rs->on_fail == FAIL_CONTINUE || rs->on_fail == FAIL_SKIP) {
            *at = si;
            return rs;
        }
    return NULL;
}

static bool
step_done(const struct engine *e, size_t si, size_t ti)
{
    const struct drill_step_state *s = &e->drill->stages[si].steps[ti];

    // a failure let through by the step's own on-fail=continue, or one the runbook step
    // running its sub-drill took (a catch the journal holds), is a result, not unfinished
    // work; without that record the failed step runs again
    return s->status == STEP_PASSED || s->status == STEP_SKIPPED ||
           (s->status == STEP_FAILED &&
            (e->rb->stages[si].steps[ti].on_fail == FAIL_CONTINUE || s->caught));
}

/* Journal step ti of stage si as skipped for reason, and show it. */
static int
skip_step(struct engine *e, size_t si, size_t ti, const char *reason, struct pd_err *err)
{
    struct drill_event ev = {
        .type = DRILL_EV_STEP_SKIP, .stage = (int)si, .step = (int)ti, .text = reason};
    int rc = engine_record(e, &ev, err);

    if (rc == 0 && e->ev.step_finished != NULL)
        e->ev.step_finished(&e->rb->stages[si].steps[ti], STEP_SKIPPED, reason, e->payload);
    return rc;
}

/* Why step ti of stage si is skipped after rs took its failure; caller owns it. */
static char *
catch_reason(const struct engine *e, size_t si, size_t ti, const struct runbook_step *rs)
{
    return pd_xasprintf("runbook %s stopped at step %s: on-fail=%s of step %s",
                        runbook_step_attr(rs, "name"), e->rb->stages[si].steps[ti].id,
                        rs->on_fail == FAIL_SKIP ? "skip" : "continue", rs->id);
}

/*
 * The skips that end a sub-drill whose failure at step ti of stage si was caught (the
 * journal holds the catch): with skip the failed step too, then its steps left, except
 * those of its always stages. Idempotent: a resume finishes a catch a crash cut short.
 */
static int
catch_finish(struct engine *e, size_t si, size_t ti, struct pd_err *err)
{
    size_t at = 0, end;
    const struct runbook_step *rs = sub_catcher(e->rb, si, &at);
    char *reason;
    int rc = 0;

    if (rs == NULL) // uncovered: the stages sha256 check keeps the runbook a resume runs
        return 0;
    reason = catch_reason(e, si, ti, rs);
    if (rs->on_fail == FAIL_SKIP && e->drill->stages[si].steps[ti].status == STEP_FAILED)
        rc = skip_step(e, si, ti, reason, err);
    end = runbook_subdrill_end(e->rb, at);
    for (size_t k = si; rc == 0 && k < end; k++)
        for (size_t j = k == si ? ti + 1 : 0;
             rc == 0 && (k == si || !e->rb->stages[k].always) && j < e->rb->stages[k].n_steps; j++)
            if (!step_done(e, k, j))
                rc = skip_step(e, k, j, reason, err);
    free(reason);
    return rc;
}

/* A resumed drill: finish the catches an earlier run journaled but did not complete. */
static int
catch_resume(struct engine *e, struct pd_err *err)
{
    int rc = 0;

    for (size_t si = 0; rc == 0 && si < e->drill->n_stages; si++)
        for (size_t ti = 0; rc == 0 && ti < e->drill->stages[si].n_steps; ti++)
            if (e->drill->stages[si].steps[ti].caught)
                rc = catch_finish(e, si, ti, err);
    return rc;
}

/*
 * A sub-drill's failure is its runbook step's outcome. Stage si stopped at its step e->ti
 * (why); when a runbook step above it has on-fail=continue or skip, that sub-drill stops
 * there and the drill goes on (*caught): the catch is journaled, then its steps left,
 * except those of its always stages, are skipped; with skip the failed step is too, so the
 * drill can still pass. Never past the drill guard, a declined plan, an interruption or a
 * stop the operator asked for, or a journal that failed. Returns 0, or the journal's
 * failure (err), which stops the drill.
 */
static int
sub_catch(struct engine *e, size_t si, const struct pd_err *why, bool *caught, struct pd_err *err)
{
    const struct runbook_step *rs;
    size_t at = 0, ti;
    char *reason, *msg;
    int rc;

    *caught = false;
    if (e->refused || e->declined || engine_should_stop(e) || e->ti < 0 ||
        e->drill->stages[si].steps[e->ti].status != STEP_FAILED ||
        (rs = sub_catcher(e->rb, si, &at)) == NULL)
        return 0;
    ti = (size_t)e->ti;
    reason = catch_reason(e, si, ti, rs);
    msg = pd_redact(why->msg);
    pd_log(PD_LOG_WARN, "engine: %s (%s)", reason, msg);
    free(msg);
    {
        struct drill_event ev = {.type = DRILL_EV_CATCH,
                                 .stage = (int)si,
                                 .step = (int)ti,
                                 .name = rs->id,
                                 .text = reason};

        rc = engine_record(e, &ev, err);
    }
    free(reason);
    if (rc != 0)
        return rc;
    *caught = true;
    if (rs->on_fail == FAIL_CONTINUE && e->n_continued++ == 0)
        e->first_failure = *why;
    return catch_finish(e, si, ti, err);
}

char *
engine_group_note_path(const struct engine *e)
{
    if (e->drill == NULL || e->drill->dir == NULL)
        return NULL;
    return pd_xasprintf("%s/running.pgid", e->drill->dir);
}

/*
 * A step of the interrupted run may still be running (its processes do not
 * die with pgdrill): stop it before it is run again, so it never runs twice
 * at once.
 */
static int
stop_leftover_group(struct engine *e, struct pd_err *err)
{
    char *path = engine_group_note_path(e);
    int stopped = 0, rc = 0;

    if (path != NULL)
        rc = shell_group_reap(path, 5.0, &stopped, err);
    if (rc == 0 && stopped != 0)
        pd_log(PD_LOG_WARN,
               "engine: the interrupted run's step was still running (process group %d); "
               "stopped it before going on",
               stopped);
    free(path);
    return rc;
}

static int
end_drill(struct engine *e, const char *outcome, struct pd_err *err)
{
    struct drill_event ev = {.type = DRILL_EV_END, .stage = -1, .step = -1, .text = outcome};

    return engine_record(e, &ev, err);
}

/*
 * A drill that already started resumes: journal it, stop what the
 * interrupted run left running, ask again for the secrets the journal
 * does not keep. *resumed says whether it is one.
 */
static int
resume_begin(struct engine *e, bool *resumed, struct pd_err *err)
{
    const struct drill *d = e->drill;
    struct drill_event ev = {.type = DRILL_EV_RESUME, .stage = -1, .step = -1, .text = "resumed"};
    int rc;

    *resumed = false;
    for (size_t i = 0; i < d->n_stages && !*resumed; i++)
        *resumed = d->stages[i].started_at != NULL;
    *resumed = *resumed || d->n_vars > 0 || d->interrupted || d->n_resumes > 0;
    if (!*resumed)
        return 0;
    rc = engine_record(e, &ev, err);
    if (rc != 0)
        return rc;
    rc = stop_leftover_group(e, err);
    if (rc != 0)
        return rc;
    rc = reask_secrets(e, err);
    if (rc == PD_EINTR)
        return interrupt(e, "operator quit", 0, err);
    return rc;
}

/*
 * Stage si from its first unfinished step to its end (nothing when it is
 * finished). Returns 0 to go on with the next stage; a failure has ended
 * the drill, unless it is PD_EINTR.
 */
static int
run_stage(struct engine *e, size_t si, struct pd_err *err)
{
    struct drill *d = e->drill;
    const struct runbook_stage *stage = &e->rb->stages[si];
    struct drill_stage_state *ss = &d->stages[si];
    bool all_done = true;
    enum step_status st;
    int rc = 0;

    for (size_t ti = 0; ti < ss->n_steps; ti++)
        all_done = all_done && step_done(e, si, ti);
    if (all_done && ss->finished_at != NULL)
        return 0;
    e->si = (int)si;
    e->ti = -1;
    e->scope = stage->scope;
    if (ss->started_at == NULL) {
        struct drill_event ev = {.type = DRILL_EV_STAGE_START, .stage = (int)si, .step = -1};

        rc = engine_record(e, &ev, err);
        if (rc != 0)
            return rc;
    }
    if (e->ev.stage_started != NULL)
        e->ev.stage_started(stage, si, e->payload);
    for (size_t ti = 0; ti < stage->n_steps; ti++) {
        if (step_done(e, si, ti))
            continue;
        rc = run_step(e, (int)si, (int)ti, err);
        if (rc == PD_EINTR)
            return rc;
        if (rc != 0)
            break;
    }
    st = rc == 0 ? STEP_PASSED : e->declined ? STEP_SKIPPED : STEP_FAILED;
    for (size_t k = 0; k < ss->n_steps; k++)
        if (ss->steps[k].status == STEP_FAILED)
            st = STEP_FAILED;
    {
        struct drill_event ev = {
            .type = DRILL_EV_STAGE_END, .stage = (int)si, .step = -1, .status = st};
        struct pd_err rerr = {0};
        int rc2 = engine_record(e, &ev, rc ? &rerr : err);

        if (rc == 0 && rc2 != 0)
            return rc2;
    }
    if (e->ev.stage_finished != NULL)
        e->ev.stage_finished(stage, si, d->stages[si].status, e->payload);
    return rc;
}

/*
 * A stage failed (or the plan was declined) at stage failed_si: the always
 * stages after it still run, each whatever the one before did, then the
 * drill ends failed or declined. The first failure stays the drill's
 * error. An interruption here leaves the drill resumable, as anywhere.
 */
static int
run_after_failure(struct engine *e, size_t failed_si, int rc, struct pd_err *err)
{
    struct pd_err rerr = {0};

    // a plan never accepted means this drill changed nothing: clean-up asks no plan
    e->plan_pending = false;
    for (size_t si = failed_si + 1; si < e->rb->n_stages; si++) {
        struct pd_err serr = {0};
        int src;

        if (!e->rb->stages[si].always)
            continue;
        src = run_stage(e, si, &serr);
        if (src == PD_EINTR) {
            *err = serr;
            return src;
        }
        if (src != 0)
            pd_log(PD_LOG_ERROR, "engine: always stage %s: %s", e->rb->stages[si].id, serr.msg);
    }
    if (end_drill(e, e->declined ? "declined" : "failed", &rerr) != 0)
        pd_log(PD_LOG_ERROR, "engine: %s", rerr.msg);
    return rc;
}

/* Every stage ran: the drill passed, or failed with the steps on-fail=continue let through. */
static int
run_end(struct engine *e, struct pd_err *err)
{
    const struct drill *d = e->drill;
    size_t failed = 0;
    int rc;

    e->si = e->ti = -1;
    e->scope = NULL;
    // failures let through by on-fail=continue (in this run or an earlier one)
    for (size_t si = 0; si < d->n_stages; si++)
        for (size_t ti = 0; ti < d->stages[si].n_steps; ti++)
            failed += d->stages[si].steps[ti].status == STEP_FAILED;
    if (failed == 0)
        return end_drill(e, "passed", err);
    rc = end_drill(e, "failed", err);
    if (rc != 0)
        return rc;
    if (e->n_continued > 0) {
        // the first failure's kind, as on-fail=stop would give: a
        // timed-out check is a service failure (exit 3), not bad data
        *err = e->first_failure;
        if (failed > 1)
            pd_err_prefix(err, "%zu steps failed; first: ", failed);
        return err->kind;
    }
    return PD_ERR_SET(err, PD_ECHECK, "%zu steps failed", failed);
}

int
engine_run(struct engine *e, struct pd_err *err)
{
    struct drill *d = e->drill;
    bool resumed = false;
    int rc;

    if (d->outcome != NULL)
        return PD_ERR_SET(err, PD_EUSAGE, "drill %s has already ended (%s)", d->id ? d->id : "?",
                          d->outcome);
    rc = resume_begin(e, &resumed, err);
    if (rc == 0 && resumed)
        rc = catch_resume(e, err);
    if (rc != 0)
        return rc;
    e->plan_pending = plan_needs_accept(e->rb) && !d->plan_accepted && !change_started(e);
    rc = ask_header_inputs(e, err);
    if (rc == PD_EINTR)
        return interrupt(e, "operator quit", 0, err);
    if (rc != 0) {
        struct pd_err rerr = {0};

        // a new drill that cannot get its inputs never started: end it so it
        // is not offered for resume; a resumed one stays resumable
        if (!resumed && end_drill(e, "aborted", &rerr) != 0)
            pd_log(PD_LOG_ERROR, "engine: %s", rerr.msg);
        return rc;
    }
    for (size_t si = 0; si < e->rb->n_stages; si++) {
        rc = run_stage(e, si, err);
        if (rc == PD_EINTR)
            return rc;
        if (rc != 0) {
            struct pd_err why = *err;
            bool caught;
            int crc = sub_catch(e, si, &why, &caught, err);

            // err stays the step's failure, unless the journal failed since
            if (crc != 0 || !caught)
                return run_after_failure(e, si, crc != 0 ? crc : rc, err);
        }
    }
    return run_end(e, err);
}
