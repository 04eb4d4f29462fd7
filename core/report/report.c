#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "report/review.h"
#include "runbook/contacts.h"
#include "runbook/runbook.h"
#include "timeline/history.h"

/* ---- derived values shared by both formats ----------------------------------------------- */

static double
round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

static const char *
stage_ref(const struct drill *d, int stage)
{
    if (stage < 0 || (size_t)stage >= d->n_stages)
        return NULL;
    return d->stages[stage].id;
}

static const char *
stage_title(const struct drill *d, int stage)
{
    const struct drill_stage_state *st;

    if (stage < 0 || (size_t)stage >= d->n_stages)
        return "Drill";
    st = &d->stages[stage];
    return st->title != NULL ? st->title : st->id != NULL ? st->id : "stage";
}

static const char *
outcome_of(const struct drill *d)
{
    if (d->outcome != NULL)
        return d->outcome;
    return d->interrupted ? "interrupted" : "running";
}

static int
target_of(int drill_target, const struct runbook *rb, bool rto)
{
    if (drill_target > 0 || rb == NULL)
        return drill_target;
    return rto ? rb->rto_s : rb->rpo_s;
}

static const char *
verdict(double achieved, int target)
{
    if (target <= 0)
        return "no-target";
    if (achieved < 0)
        return "unknown";
    return achieved <= (double)target ? "met" : "missed";
}

/* An issue: recorded by the operator or engine, or derived from a step. */
struct issue {
    int stage;
    const char *at;      /* borrowed, may be NULL */
    char *text;          /* owned */
    const char *kind;    /* "recorded", "failed-step", "skipped-step" */
    const char *hint_id; /* failed-step: the troubleshooting hint shown (borrowed), or NULL */
    const char *hint;
};

static int
issue_cmp(const void *pa, const void *pb)
{
    const struct issue *a = pa, *b = pb;

    if (a->at == NULL || b->at == NULL)
        return (a->at == NULL) - (b->at == NULL);
    return strcmp(a->at, b->at);
}

/* All issues, in time order (issues without a time last). Free with issues_free. */
static struct issue *
issues_collect(const struct drill *d, size_t *n_out)
{
    size_t n = 0, cap = d->n_issues;
    struct issue *v;

    for (size_t i = 0; i < d->n_stages; i++)
        cap += d->stages[i].n_steps;
    v = pd_xcalloc(cap ? cap : 1, sizeof(*v));
    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];
            const char *sid = sp->id != NULL ? sp->id : "?";

            if (sp->status == STEP_FAILED)
                v[n++] = (struct issue){(int)i,
                                        sp->finished_at,
                                        sp->summary != NULL && sp->summary[0] != '\0'
                                            ? pd_xasprintf("step %s failed: %s", sid, sp->summary)
                                            : pd_xasprintf("step %s failed", sid),
                                        "failed-step",
                                        sp->hint_id,
                                        sp->hint};
            else if (sp->status == STEP_SKIPPED && drill_step_not_taken(sp) == NULL)
                v[n++] =
                    (struct issue){(int)i,
                                   sp->finished_at,
                                   sp->skip_reason != NULL && sp->skip_reason[0] != '\0'
                                       ? pd_xasprintf("step %s skipped: %s", sid, sp->skip_reason)
                                       : pd_xasprintf("step %s skipped", sid),
                                   "skipped-step",
                                   NULL,
                                   NULL};
        }
    }
    // Recorded issues go after the step-derived ones of the same millisecond: they
    // usually describe a failure that just happened. The insertion sort is stable.
    for (size_t i = 0; i < d->n_issues; i++)
        v[n++] = (struct issue){d->issues[i].stage,
                                d->issues[i].at,
                                pd_xstrdup(d->issues[i].text),
                                "recorded",
                                NULL,
                                NULL};
    for (size_t i = 1; i < n; i++) {
        struct issue x = v[i];
        size_t j = i;

        while (j > 0 && issue_cmp(&v[j - 1], &x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    *n_out = n;
    return v;
}

static void
issues_free(struct issue *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].text);
    free(v);
}

/* ---- sub-drills ---------------------------------------------------------------------------- */

/*
 * A runbook step's child, run inside this drill (runbook/include.c): its header's targets
 * (expected:, rto:, rpo:) against what its stages achieved. The drill's own rto_s and rpo_s
 * stay the drill's; these are the child's, as it would judge itself.
 */
struct subdrill {
    size_t at; /* the stage whose runbook step runs it */
    const struct runbook *child;
    size_t first, end;                   /* its stages (and its children's): first to end - 1 */
    const char *status;                  /* "not-run", "running", "stopped", "passed", "failed" */
    const char *started_at;              /* of its first stage to start; borrowed, may be NULL */
    const char *finished_at;             /* of its last stage to end */
    double duration_s;                   /* from the one to the other: its RTO; -1 when unknown */
    double rpo_s;                        /* measured by an rpo= check in its stages; -1 when none */
    int expected_s, rto_s, rpo_s_target; /* its targets as the drill began (0: none) */
};

/* Whether the drill ran a sub-drill, as its journal tells (its stage ids, older journals). */
static bool
drill_has_subdrills(const struct drill *d)
{
    for (size_t i = 0; i < d->n_stages; i++)
        if (d->stages[i].has_subdrill || (d->stages[i].id && strchr(d->stages[i].id, '/')))
            return true;
    return false;
}

/* Its status, times and measures from the drill's stages first to end - 1. */
static void
subdrill_measure(struct subdrill *s, const struct drill *d, size_t step)
{
    bool failed = false, pending = false;

    s->duration_s = s->rpo_s = -1;
    for (size_t k = s->first; k < s->end; k++) {
        const struct drill_stage_state *st = &d->stages[k];

        if (st->started_at != NULL &&
            (s->started_at == NULL || strcmp(st->started_at, s->started_at) < 0))
            s->started_at = st->started_at;
        if (st->finished_at != NULL &&
            (s->finished_at == NULL || strcmp(st->finished_at, s->finished_at) > 0))
            s->finished_at = st->finished_at;
        if (st->rpo_measured)
            s->rpo_s = st->rpo_s;
        for (size_t j = 0; j < st->n_steps; j++) {
            // a failure a runbook step's on-fail=continue|skip took (the journal's catch)
            // still stopped the sub-drill, even once its step is recorded skipped
            failed = failed || st->steps[j].status == STEP_FAILED || st->steps[j].caught;
            pending = pending || st->steps[j].status == STEP_PENDING ||
                      st->steps[j].status == STEP_RUNNING;
        }
    }
    // a child whose runbook step did not pass never started: its stages were skipped
    if (d->stages[s->at].steps[step].status != STEP_PASSED)
        s->status = "not-run";
    else
        // steps left pending when the drill has ended (a declined plan, an abort) never run
        s->status = failed               ? "failed"
                    : !pending           ? "passed"
                    : d->outcome != NULL ? "stopped"
                                         : "running";
    if (s->started_at != NULL && s->finished_at != NULL && strcmp(s->status, "not-run") != 0)
        s->duration_s = pd_time_span(s->started_at, s->finished_at);
}

/*
 * Its RTO verdict: by its duration once it passed; a child that failed brought nothing back,
 * so its RTO is missed however fast it failed; one that did not run or end is unknown.
 */
static const char *
subdrill_rto_verdict(const struct subdrill *s)
{
    if (s->rto_s <= 0 || strcmp(s->status, "passed") == 0)
        return verdict(s->duration_s, s->rto_s);
    return strcmp(s->status, "failed") == 0 ? "missed" : "unknown";
}

/*
 * Whether rb's stages are no longer those the drill ran (its file changed since): which
 * stages make up each sub-drill then cannot be told, and they are not judged.
 */
static bool
subdrills_stale(const struct drill *d, const struct runbook *rb)
{
    return rb != NULL &&
           (rb->n_stages != d->n_stages || strcmp(rb->stages_sha256, d->stages_sha256) != 0);
}

/* The drill's sub-drills, in stage order; the caller frees the array. None without rb. */
static struct subdrill *
subdrills_collect(const struct drill *d, const struct runbook *rb, size_t *n_out)
{
    struct subdrill *v = pd_xcalloc(d->n_stages + 1, sizeof(*v));
    size_t n = 0;

    // the runbook must be the one the drill ran (resume holds the stages to it)
    for (size_t i = 0; rb != NULL && !subdrills_stale(d, rb) && i < rb->n_stages; i++) {
        const struct drill_stage_state *ds = &d->stages[i];
        const struct runbook_stage *st = &rb->stages[i];

        // a runbook step is the last of its stage (lint)
        if (st->n_steps == 0 || st->steps[st->n_steps - 1].child == NULL ||
            d->stages[i].n_steps != st->n_steps)
            continue;
        v[n] = (struct subdrill){.at = i,
                                 .child = st->steps[st->n_steps - 1].child,
                                 .first = i + 1,
                                 .end = runbook_subdrill_end(rb, i)};
        // the targets the journal kept at the drill's begin; older journals have none
        v[n].expected_s = ds->has_subdrill ? ds->sub_expected_s : v[n].child->expected_s;
        v[n].rto_s = ds->has_subdrill ? ds->sub_rto_s : v[n].child->rto_s;
        v[n].rpo_s_target = ds->has_subdrill ? ds->sub_rpo_s : v[n].child->rpo_s;
        subdrill_measure(&v[n], d, st->n_steps - 1);
        n++;
    }
    *n_out = n;
    return v;
}

/* ---- report.json --------------------------------------------------------------------------- */

static void
add_str(cJSON *o, const char *key, const char *s)
{
    if (s != NULL)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static void
add_secs(cJSON *o, const char *key, double s)
{
    if (s >= 0 && isfinite(s))
        cJSON_AddNumberToObject(o, key, round3(s));
    else
        cJSON_AddNullToObject(o, key);
}

static void
add_target(cJSON *o, const char *key, int s)
{
    if (s > 0)
        cJSON_AddNumberToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

/*
 * A real incident (PGDRILL_ENVIRONMENT=PRODUCTION) of an incident runbook:
 * who was to be told, as "contacts": [{role, label, contact}].
 */
static void
json_contacts(cJSON *root, const struct runbook *rb)
{
    struct contacts c;
    cJSON *a;

    runbook_contacts(&c, rb);
    if (c.n > 0 && contacts_production()) {
        a = cJSON_AddArrayToObject(root, "contacts");
        for (size_t i = 0; i < c.n; i++) {
            cJSON *o = cJSON_CreateObject();

            add_str(o, "role", c.v[i].role->name);
            add_str(o, "label", c.v[i].role->label);
            add_str(o, "contact", c.v[i].text);
            cJSON_AddItemToArray(a, o);
        }
    }
    contacts_free(&c);
}

static cJSON *
texts_json(const struct drill *d, const struct drill_text *t, size_t n)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();

        add_str(o, "stage", stage_ref(d, t[i].stage));
        add_str(o, "at", t[i].at);
        add_str(o, "text", t[i].text);
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static cJSON *
stage_json(const struct drill_stage_state *st)
{
    cJSON *o = cJSON_CreateObject(), *steps;

    add_str(o, "id", st->id);
    add_str(o, "title", st->title);
    add_str(o, "status", step_status_name(st->status));
    add_str(o, "started_at", st->started_at);
    add_str(o, "finished_at", st->finished_at);
    add_secs(o, "duration_s", st->duration_s);
    add_target(o, "expected_s", st->expected_s);
    add_secs(o, "machine_s", st->duration_s - st->human_s >= 0 ? st->duration_s - st->human_s : 0);
    add_secs(o, "human_s", st->human_s);
    steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t k = 0; k < st->n_steps; k++) {
        const struct drill_step_state *sp = &st->steps[k];
        cJSON *s = cJSON_CreateObject();

        add_str(s, "id", sp->id);
        add_str(s, "action", sp->action);
        add_str(s, "status", step_status_name(sp->status));
        cJSON_AddNumberToObject(s, "attempts", sp->attempts);
        add_str(s, "started_at", sp->started_at);
        add_str(s, "finished_at", sp->finished_at);
        add_secs(s, "duration_s", sp->duration_s);
        add_secs(s, "human_s", sp->human_s);
        cJSON_AddNumberToObject(s, "exit_code", sp->exit_code);
        add_str(s, "summary", sp->summary);
        add_str(s, "skip_reason", sp->skip_reason);
        cJSON_AddItemToArray(steps, s);
    }
    return o;
}

/* ---- what the trainee chose and what steps put into the report ---------------------------- */

/* The value of input name as the drill recorded it: NULL when never given. */
static const struct drill_var *
choice_of(const struct drill *d, const char *name)
{
    for (size_t i = 0; i < d->n_vars; i++)
        if (strcmp(d->vars[i].name, name) == 0)
            return &d->vars[i];
    return NULL;
}

/* choices[] {name, value}: the runbook's inputs that were given (a secret's value null). */
static void
json_choices(cJSON *root, const struct drill *d)
{
    cJSON *a = cJSON_AddArrayToObject(root, "choices");

    for (size_t i = 0; i < d->n_inputs; i++) {
        const struct drill_var *v = choice_of(d, d->inputs[i]);
        cJSON *o;

        if (v == NULL)
            continue;
        o = cJSON_CreateObject();
        add_str(o, "name", v->name);
        add_str(o, "value", v->secret ? NULL : v->value);
        cJSON_AddItemToArray(a, o);
    }
}

/*
 * sections[] {title, stage, step, text}: the output of each step with
 * report=TITLE; and for each step with report-json=NAME whose output is one
 * JSON object, that object as NAME, unless the report already has a field
 * of that name (report.json's own fields are never replaced).
 */
static void
json_sections(cJSON *root, const struct drill *d)
{
    cJSON *a = cJSON_AddArrayToObject(root, "sections");

    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];
            cJSON *o;

            if (sp->report_title != NULL) {
                o = cJSON_CreateObject();
                add_str(o, "title", sp->report_title);
                add_str(o, "stage", d->stages[i].id);
                add_str(o, "step", sp->id);
                add_str(o, "text", sp->output != NULL ? sp->output : "");
                cJSON_AddItemToArray(a, o);
            }
            // regressions[] is added last (report_write_history): never taken either
            if (sp->report_json != NULL && sp->output != NULL &&
                !cJSON_HasObjectItem(root, sp->report_json) &&
                strcmp(sp->report_json, "regressions") != 0) {
                o = cJSON_Parse(sp->output);
                if (cJSON_IsObject(o))
                    cJSON_AddItemToObject(root, sp->report_json, o);
                else
                    cJSON_Delete(o);
            }
        }
    }
}

/* "subdrills": each child's targets against what its stages achieved. */
static cJSON *
subdrills_json(const struct drill *d, const struct runbook *rb)
{
    cJSON *a = cJSON_CreateArray();
    size_t n;
    struct subdrill *v = subdrills_collect(d, rb, &n);

    for (size_t i = 0; i < n; i++) {
        const struct subdrill *s = &v[i];
        cJSON *o = cJSON_CreateObject(), *ids;

        add_str(o, "stage", d->stages[s->at].id);
        add_str(o, "runbook", s->child->id);
        add_str(o, "title", s->child->title);
        add_str(o, "status", s->status);
        ids = cJSON_AddArrayToObject(o, "stages");
        for (size_t k = s->first; k < s->end; k++)
            cJSON_AddItemToArray(ids, cJSON_CreateString(d->stages[k].id ? d->stages[k].id : ""));
        add_str(o, "started_at", s->started_at);
        add_str(o, "finished_at", s->finished_at);
        add_secs(o, "duration_s", s->duration_s);
        add_target(o, "expected_s", s->expected_s);
        add_target(o, "rto_target_s", s->rto_s);
        add_str(o, "rto_verdict", subdrill_rto_verdict(s));
        add_secs(o, "rpo_s", s->rpo_s);
        add_target(o, "rpo_target_s", s->rpo_s_target);
        add_str(o, "rpo_verdict", verdict(s->rpo_s, s->rpo_s_target));
        cJSON_AddItemToArray(a, o);
    }
    free(v);
    return a;
}

/*
 * not_taken[]: the steps skipped as the runbook is written (drill_step_not_taken: a when=
 * that does not hold, a clean-up with nothing to act on, a sub-drill never started), in
 * runbook order. They are not issues: issues[] keeps what went wrong.
 */
static cJSON *
not_taken_json(const struct drill *d)
{
    cJSON *a = cJSON_CreateArray();

    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];
            const char *kind = drill_step_not_taken(sp);
            cJSON *o;

            if (kind == NULL)
                continue;
            o = cJSON_CreateObject();
            add_str(o, "stage", stage_ref(d, (int)i));
            add_str(o, "step", sp->id);
            add_str(o, "at", sp->finished_at);
            add_str(o, "kind", kind);
            add_str(o, "reason", sp->skip_reason);
            cJSON_AddItemToArray(a, o);
        }
    }
    return a;
}

static cJSON *
report_json(const struct drill *d, const struct runbook *rb, const char *journal_sha)
{
    cJSON *root = cJSON_CreateObject(), *r, *a;
    int rto_target = target_of(d->rto_target_s, rb, true);
    int rpo_target = target_of(d->rpo_target_s, rb, false);
    double rto = drill_rto_achieved(d);
    struct issue *issues;
    size_t n_issues;

    add_str(root, "drill_id", d->id);
    r = cJSON_AddObjectToObject(root, "runbook");
    add_str(r, "id", d->runbook_id);
    add_str(r, "title", d->runbook_title);
    add_str(r, "path", d->runbook_path);
    add_str(r, "sha256", d->runbook_sha256);
    add_str(r, "stages_sha256", d->stages_sha256);
    if (rb != NULL) {
        add_str(r, "use_case", rb->use_case);
        add_str(r, "environment", rb->environment);
    }
    add_str(root, "journal_sha256", journal_sha);
    add_str(root, "operator", d->operator_name);
    add_str(root, "host", d->host);
    add_str(root, "started_at", d->started_at);
    add_str(root, "finished_at", d->finished_at);
    add_str(root, "outcome", outcome_of(d));
    add_secs(root, "duration_s", pd_time_span(d->started_at, d->finished_at));
    add_target(root, "expected_s", d->expected_s);

    a = cJSON_AddArrayToObject(root, "stages");
    for (size_t i = 0; i < d->n_stages; i++)
        cJSON_AddItemToArray(a, stage_json(&d->stages[i]));

    a = cJSON_AddArrayToObject(root, "checks");
    for (size_t i = 0; i < d->n_checks; i++) {
        const struct drill_check *c = &d->checks[i];
        cJSON *o = cJSON_CreateObject();
        const char *step = NULL;

        if (c->stage >= 0 && (size_t)c->stage < d->n_stages && c->step >= 0 &&
            (size_t)c->step < d->stages[c->stage].n_steps)
            step = d->stages[c->stage].steps[c->step].id;
        add_str(o, "name", c->name);
        add_str(o, "stage", stage_ref(d, c->stage));
        add_str(o, "step", step);
        add_str(o, "sql", c->sql);
        // DESIGN.md's "result" is the value the check observed; "passed" says the verdict
        add_str(o, "result", c->observed);
        add_str(o, "expected", c->expected);
        add_str(o, "observed", c->observed);
        cJSON_AddBoolToObject(o, "passed", c->passed);
        // a flagged check (a warning) is not passed but did not fail the drill
        add_str(o, "status", c->passed ? "passed" : c->flagged ? "flagged" : "failed");
        add_str(o, "at", c->at);
        cJSON_AddItemToArray(a, o);
    }

    add_secs(root, "rto_s", rto);
    add_target(root, "rto_target_s", rto_target);
    add_str(root, "rto_verdict", verdict(rto, rto_target));
    add_secs(root, "rpo_s", d->rpo_s);
    add_target(root, "rpo_target_s", rpo_target);
    add_str(root, "rpo_verdict", verdict(d->rpo_s, rpo_target));
    cJSON_AddItemToObject(root, "subdrills", subdrills_json(d, rb));

    cJSON_AddItemToObject(root, "notes", texts_json(d, d->notes, d->n_notes));
    issues = issues_collect(d, &n_issues);
    a = cJSON_AddArrayToObject(root, "issues");
    for (size_t i = 0; i < n_issues; i++) {
        cJSON *o = cJSON_CreateObject();

        add_str(o, "stage", stage_ref(d, issues[i].stage));
        add_str(o, "at", issues[i].at);
        add_str(o, "text", issues[i].text);
        add_str(o, "kind", issues[i].kind);
        if (issues[i].hint != NULL) {
            add_str(o, "hint_id", issues[i].hint_id);
            add_str(o, "hint", issues[i].hint);
        }
        cJSON_AddItemToArray(a, o);
    }
    issues_free(issues, n_issues);
    cJSON_AddItemToObject(root, "not_taken", not_taken_json(d));
    json_contacts(root, rb);
    report_review_json(root, d, rb);
    cJSON_AddNumberToObject(root, "resumes", d->n_resumes);
    cJSON_AddBoolToObject(root, "truncated_tail", d->truncated_tail);
    json_choices(root, d);
    json_sections(root, d);
    return root;
}

/* regressions[] after everything else, as the history gives them. */
static void
regressions_json(cJSON *root, const struct report_history *h)
{
    cJSON *arr = cJSON_AddArrayToObject(root, "regressions");

    for (size_t i = 0; i < h->n_regressions; i++) {
        const struct history_regression *r = &h->regressions[i];
        cJSON *o = cJSON_CreateObject();

        cJSON_AddStringToObject(o, "stage", r->stage_id);
        cJSON_AddStringToObject(o, "title", r->title);
        cJSON_AddNumberToObject(o, "duration_s", (double)(long)(r->duration_s * 1000) / 1000);
        cJSON_AddNumberToObject(o, "median_s", (double)(long)(r->median_s * 1000) / 1000);
        cJSON_AddNumberToObject(o, "earlier_runs", (double)r->n_earlier);
        cJSON_AddItemToArray(arr, o);
    }
}

static int
json_string(char **out, const struct drill *d, const struct runbook *rb,
            const struct report_history *h, struct pd_err *err)
{
    char sha[65];
    cJSON *root;
    char *text;
    int rc;

    *out = NULL;
    if ((rc = drill_journal_sha256(d, sha, err)) != 0)
        return rc;
    root = report_json(d, rb, sha);
    if (h != NULL)
        regressions_json(root, h);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL)
        return PD_ERR_SET(err, PD_EBUG, "report %s: cannot serialise report.json", d->id);
    *out = pd_xasprintf("%s\n", text);
    cJSON_free(text);
    return 0;
}

int
report_json_string(char **out, const struct drill *d, const struct runbook *rb, struct pd_err *err)
{
    return json_string(out, d, rb, NULL, err);
}

/* ---- report.md ----------------------------------------------------------------------------- */

struct md {
    struct pd_buf b;
    int rc;
    struct pd_err *err;
};

static void md_printf(struct md *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Errors are sticky: the first one is reported once the text is complete. */
static void
md_printf(struct md *m, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    if (m->rc != 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        m->rc = PD_ERR_SET(m->err, PD_EBUG, "report: bad format");
        return;
    }
    s = pd_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    m->rc = pd_buf_append(&m->b, s, (size_t)n, m->err);
    free(s);
}

static void
md_put(struct md *m, const char *s)
{
    if (m->rc == 0)
        m->rc = pd_buf_append(&m->b, s, strlen(s), m->err);
}

/* Text inside a table cell: pipes escaped, line breaks flattened. */
static void
md_cell(struct md *m, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        md_put(m, "—");
        return;
    }
    for (; *s != '\0'; s++) {
        if (*s == '|')
            md_put(m, "\\|");
        else if (*s == '\n' || *s == '\r')
            md_put(m, " ");
        else if (m->rc == 0)
            m->rc = pd_buf_append(&m->b, s, 1, m->err);
    }
}

static size_t
longest_backtick_run(const char *s)
{
    size_t best = 0, run = 0;

    for (; s != NULL && *s != '\0'; s++) {
        run = *s == '`' ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

/* A code span in a table cell, with enough backticks to hold any in s. */
static void
md_code_cell(struct md *m, const char *s)
{
    size_t ticks;

    if (s == NULL || s[0] == '\0') {
        md_put(m, "—");
        return;
    }
    ticks = longest_backtick_run(s) + 1;
    for (size_t i = 0; i < ticks; i++)
        md_put(m, "`");
    md_put(m, ticks > 1 || s[0] == '`' ? " " : "");
    md_cell(m, s);
    md_put(m, ticks > 1 || s[0] == '`' ? " " : "");
    for (size_t i = 0; i < ticks; i++)
        md_put(m, "`");
}

/* Free text as a list item: continuation lines indented to stay in the item. */
static void
md_item_text(struct md *m, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '\n')
            md_put(m, "\n  ");
        else if (*s != '\r' && m->rc == 0)
            m->rc = pd_buf_append(&m->b, s, 1, m->err);
    }
}

static void
md_secs(struct md *m, double s)
{
    if (s >= 0 && isfinite(s))
        md_printf(m, "%.3f", round3(s));
    else
        md_put(m, "—");
}

static void
md_target(struct md *m, int s)
{
    if (s > 0)
        md_printf(m, "%d.000", s);
    else
        md_put(m, "—");
}

static void
md_header(struct md *m, const struct drill *d, const struct runbook *rb)
{
    int rto_target = target_of(d->rto_target_s, rb, true);
    int rpo_target = target_of(d->rpo_target_s, rb, false);
    double rto = drill_rto_achieved(d);

    md_put(m, "# Drill report: ");
    md_item_text(m, d->runbook_title != NULL ? d->runbook_title : d->runbook_id);
    md_put(m, "\n\n| | |\n|---|---|\n| Drill | ");
    md_code_cell(m, d->id);
    md_put(m, " |\n| Runbook | ");
    md_cell(m, d->runbook_title);
    md_put(m, " (");
    md_code_cell(m, d->runbook_id);
    md_put(m, ", ");
    md_code_cell(m, d->runbook_path);
    md_put(m, ") |\n");
    if (rb != NULL && rb->environment != NULL) {
        md_put(m, "| Environment | ");
        md_cell(m, rb->environment);
        md_put(m, " |\n");
    }
    md_put(m, "| Operator | ");
    md_cell(m, d->operator_name);
    md_put(m, " |\n| Host | ");
    md_cell(m, d->host);
    md_put(m, " |\n| Started | ");
    md_cell(m, d->started_at);
    md_put(m, " |\n| Finished | ");
    md_cell(m, d->finished_at);
    md_printf(m, " |\n| Outcome | **%s** |\n| Duration (s) | ", outcome_of(d));
    md_secs(m, pd_time_span(d->started_at, d->finished_at));
    md_put(m, " |\n| RTO achieved (s) | ");
    md_secs(m, rto);
    md_put(m, " |\n| RTO target (s) | ");
    md_target(m, rto_target);
    md_printf(m, " (%s) |\n| RPO achieved (s) | ", verdict(rto, rto_target));
    md_secs(m, d->rpo_s);
    md_put(m, " |\n| RPO target (s) | ");
    md_target(m, rpo_target);
    md_printf(m, " (%s) |\n| Resumes | %d |\n\n", verdict(d->rpo_s, rpo_target), d->n_resumes);
}

/* "Choices": the runbook's inputs as given, when any was. */
static void
md_choices(struct md *m, const struct drill *d)
{
    bool any = false;

    for (size_t i = 0; i < d->n_inputs; i++) {
        const struct drill_var *v = choice_of(d, d->inputs[i]);

        if (v == NULL)
            continue;
        if (!any)
            md_put(m, "## Choices\n\nThe runbook's inputs, as given:\n\n");
        any = true;
        md_put(m, "- ");
        md_code_cell(m, v->name);
        md_put(m, ": ");
        if (v->secret)
            md_put(m, "(secret, not recorded)");
        else
            md_code_cell(m, v->value);
        md_put(m, "\n");
    }
    if (any)
        md_put(m, "\n");
}

/* Text as a fenced block, with a fence longer than any backtick run in it. */
static void
md_fenced(struct md *m, const char *text)
{
    size_t ticks = longest_backtick_run(text) + 1;
    size_t len = strlen(text);

    if (ticks < 3)
        ticks = 3;
    for (size_t k = 0; k < ticks; k++)
        md_put(m, "`");
    md_put(m, "text\n");
    md_put(m, text);
    if (len > 0 && text[len - 1] != '\n')
        md_put(m, "\n");
    for (size_t k = 0; k < ticks; k++)
        md_put(m, "`");
    md_put(m, "\n\n");
}

/* A section per step with report=TITLE: its output (as journaled, redacted). */
static void
md_sections(struct md *m, const struct drill *d)
{
    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];

            if (sp->report_title == NULL)
                continue;
            md_put(m, "## ");
            md_item_text(m, sp->report_title);
            md_put(m, "\n\n");
            if (sp->output == NULL || sp->output[0] == '\0')
                md_printf(m, "No output (step %s: %s).\n\n", sp->id != NULL ? sp->id : "?",
                          step_status_name(sp->status));
            else
                md_fenced(m, sp->output);
        }
    }
}

/* "Sub-drills": each child's targets against what its stages achieved, when there is one. */
static void
md_subdrills(struct md *m, const struct drill *d, const struct runbook *rb)
{
    size_t n;
    struct subdrill *v = subdrills_collect(d, rb, &n);

    if (n == 0 && subdrills_stale(d, rb) && drill_has_subdrills(d))
        md_put(m, "## Sub-drills\n\n"
                  "Not judged: the runbook's stages changed since the drill began (its stages "
                  "sha256 differs from the journal's), so which stages made up each sub-drill "
                  "cannot be told.\n\n");
    if (n > 0)
        md_put(m, "## Sub-drills\n\n"
                  "Each runbook run inside this drill, judged by its own header: its duration "
                  "(the start of its first stage to the end of its last) against its expected "
                  "time and RTO target, the RPO its checks measured against its RPO target.\n\n"
                  "| Stage | Runbook | Status | Duration (s) | Expected (s) | RTO target (s) | "
                  "RPO achieved (s) | RPO target (s) |\n"
                  "|---|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const struct subdrill *s = &v[i];

        md_put(m, "| ");
        md_cell(m, stage_title(d, (int)s->at));
        md_put(m, " | ");
        md_code_cell(m, s->child->id);
        md_printf(m, " | %s | ", s->status);
        md_secs(m, s->duration_s);
        md_put(m, " | ");
        md_target(m, s->expected_s);
        md_put(m, " | ");
        md_target(m, s->rto_s);
        md_printf(m, " (%s) | ", subdrill_rto_verdict(s));
        md_secs(m, s->rpo_s);
        md_put(m, " | ");
        md_target(m, s->rpo_s_target);
        md_printf(m, " (%s) |\n", verdict(s->rpo_s, s->rpo_s_target));
    }
    if (n > 0)
        md_put(m, "\n");
    free(v);
}

static void
md_stages(struct md *m, const struct drill *d)
{
    md_put(m, "## Stages\n\n"
              "| # | Stage | Status | Actual (s) | Expected (s) | Machine (s) | Human (s) |\n"
              "|---:|---|---|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < d->n_stages; i++) {
        const struct drill_stage_state *st = &d->stages[i];
        double machine = st->duration_s - st->human_s;

        md_printf(m, "| %zu | ", i + 1);
        md_cell(m, stage_title(d, (int)i));
        md_printf(m, " | %s | ", step_status_name(st->status));
        md_secs(m, st->duration_s);
        md_put(m, " | ");
        md_target(m, st->expected_s);
        md_put(m, " | ");
        md_secs(m, machine > 0 ? machine : 0);
        md_put(m, " | ");
        md_secs(m, st->human_s);
        md_put(m, " |\n");
    }
    md_put(m, "\n### Steps\n\n"
              "| Stage | Step | Action | Status | Attempts | Duration (s) | Result |\n"
              "|---|---|---|---|---:|---:|---|\n");
    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];

            md_put(m, "| ");
            md_cell(m, stage_title(d, (int)i));
            md_put(m, " | ");
            md_code_cell(m, sp->id);
            md_put(m, " | ");
            md_cell(m, sp->action);
            md_printf(m, " | %s | %d | ", step_status_name(sp->status), sp->attempts);
            md_secs(m, sp->duration_s);
            md_put(m, " | ");
            md_cell(m, sp->status == STEP_SKIPPED ? sp->skip_reason : sp->summary);
            md_put(m, " |\n");
        }
    }
    md_put(m, "\n");
}

static void
md_checks(struct md *m, const struct drill *d)
{
    size_t failed = 0, flagged = 0;

    md_put(m, "## Checks\n\n");
    if (d->n_checks == 0) {
        md_put(m, "No checks ran.\n\n");
        return;
    }
    md_put(m, "| Check | Stage | Result | Expected | Observed |\n|---|---|---|---|---|\n");
    for (size_t i = 0; i < d->n_checks; i++) {
        const struct drill_check *c = &d->checks[i];

        failed += !c->passed && !c->flagged;
        flagged += c->flagged;
        md_put(m, "| ");
        md_code_cell(m, c->name);
        md_put(m, " | ");
        md_cell(m, stage_title(d, c->stage));
        md_printf(m, " | %s | ", c->passed ? "passed" : c->flagged ? "*flagged*" : "**failed**");
        md_code_cell(m, c->expected);
        md_put(m, " | ");
        md_code_cell(m, c->observed);
        md_put(m, " |\n");
    }
    if (flagged > 0)
        md_printf(m, "\n%zu of %zu checks passed, %zu flagged (warnings).\n\n",
                  d->n_checks - failed - flagged, d->n_checks, flagged);
    else
        md_printf(m, "\n%zu of %zu checks passed.\n\n", d->n_checks - failed, d->n_checks);
    for (size_t i = 0; i < d->n_checks; i++) {
        const struct drill_check *c = &d->checks[i];
        size_t ticks = longest_backtick_run(c->sql) + 1;
        size_t len = c->sql != NULL ? strlen(c->sql) : 0;

        if (ticks < 3)
            ticks = 3;
        md_put(m, "### ");
        md_item_text(m, c->name);
        md_printf(m, " (%s)\n\nExpected ",
                  c->passed    ? "passed"
                  : c->flagged ? "flagged"
                               : "failed");
        md_code_cell(m, c->expected);
        md_put(m, ", observed ");
        md_code_cell(m, c->observed);
        md_put(m, ".\n\n");
        if (c->sql == NULL)
            continue; // a check judged by pgdrill itself (compliance), not by SQL
        for (size_t k = 0; k < ticks; k++)
            md_put(m, "`");
        md_put(m, "sql\n");
        md_put(m, c->sql);
        if (len == 0 || c->sql[len - 1] != '\n')
            md_put(m, "\n");
        for (size_t k = 0; k < ticks; k++)
            md_put(m, "`");
        md_put(m, "\n\n");
    }
}

static void
md_texts(struct md *m, const struct drill *d, const char *title, const struct drill_text *t,
         size_t n)
{
    md_printf(m, "## %s\n\n", title);
    if (n == 0)
        md_put(m, "None.\n");
    for (size_t i = 0; i < n; i++) {
        md_put(m, "- **");
        md_cell(m, stage_title(d, t[i].stage));
        md_put(m, "** (");
        md_cell(m, t[i].at);
        md_put(m, "): ");
        md_item_text(m, t[i].text);
        md_put(m, "\n");
    }
    md_put(m, "\n");
}

static void
md_issues(struct md *m, const struct drill *d)
{
    size_t n;
    struct issue *v = issues_collect(d, &n);
    struct drill_text *t = pd_xcalloc(n ? n : 1, sizeof(*t));

    for (size_t i = 0; i < n; i++)
        t[i] = (struct drill_text){
            v[i].stage, pd_xstrdup(v[i].at),
            v[i].hint ? pd_xasprintf("%s; hint (%s): %s", v[i].text, v[i].hint_id, v[i].hint)
                      : v[i].text};
    md_texts(m, d, "Issues", t, n);
    for (size_t i = 0; i < n; i++) {
        free(t[i].at);
        if (v[i].hint)
            free(t[i].text);
    }
    free(t);
    issues_free(v, n);
}

/* "Steps not taken" (not_taken_json), only when there are some. */
static void
md_not_taken(struct md *m, const struct drill *d)
{
    bool any = false;

    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];

            if (drill_step_not_taken(sp) == NULL)
                continue;
            if (!any)
                md_put(m,
                       "## Steps not taken\n\nSkipped as the runbook is written; not issues.\n\n");
            any = true;
            md_put(m, "- **");
            md_cell(m, stage_title(d, (int)i));
            md_put(m, "** `");
            md_cell(m, sp->id != NULL ? sp->id : "?");
            md_put(m, "`: ");
            md_item_text(m, sp->skip_reason);
            md_put(m, "\n");
        }
    }
    if (any)
        md_put(m, "\n");
}

/* "Who to tell", for a real incident of an incident runbook (json_contacts). */
static void
md_contacts(struct md *m, const struct runbook *rb)
{
    struct contacts c;

    runbook_contacts(&c, rb);
    if (c.n > 0 && contacts_production()) {
        md_put(m, "## Who to tell\n\n");
        for (size_t i = 0; i < c.n; i++) {
            md_printf(m, "- **%s**: ", c.v[i].role->label);
            md_item_text(m, c.v[i].text);
            md_put(m, "\n");
        }
        md_put(m, "\n");
    }
    contacts_free(&c);
}

static void
md_outcome(struct md *m, const struct drill *d, const char *sha)
{
    size_t failed_checks = 0, failed_steps = 0, skipped_steps = 0, steps = 0;

    for (size_t i = 0; i < d->n_checks; i++)
        failed_checks += !d->checks[i].passed && !d->checks[i].flagged;
    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            steps++;
            failed_steps += d->stages[i].steps[k].status == STEP_FAILED;
            skipped_steps += d->stages[i].steps[k].status == STEP_SKIPPED;
        }
    }
    md_printf(m,
              "## Outcome\n\n**%s**: %zu of %zu checks failed; %zu of %zu steps failed, %zu "
              "skipped; resumed %d time%s.\n\n",
              outcome_of(d), failed_checks, d->n_checks, failed_steps, steps, skipped_steps,
              d->n_resumes, d->n_resumes == 1 ? "" : "s");
    if (d->truncated_tail)
        md_put(m, "The journal ended with a partial record (a crash during a write); it was "
                  "ignored.\n\n");
    md_put(m, "## Integrity\n\n| | sha256 |\n|---|---|\n| Runbook | ");
    md_code_cell(m, d->runbook_sha256);
    md_put(m, " |\n| Runbook stages | ");
    md_code_cell(m, d->stages_sha256);
    md_put(m, " |\n| Journal | ");
    md_code_cell(m, sha);
    md_put(m, " |\n");
}

/* The stages that regressed, after everything else (only when there are some). */
static void
md_regressions(struct md *m, const struct report_history *h)
{
    if (h == NULL || h->n_regressions == 0)
        return;
    md_put(m, "\n## Regressions\n\nStages that took at least twice the median of their earlier "
              "runs:\n\n");
    for (size_t i = 0; i < h->n_regressions; i++) {
        const struct history_regression *r = &h->regressions[i];
        char dur[32], med[32];

        pd_time_human(dur, sizeof(dur), r->duration_s);
        pd_time_human(med, sizeof(med), r->median_s);
        md_printf(m, "- %s: %s, median %s over %zu earlier run%s\n", r->title, dur, med,
                  r->n_earlier, r->n_earlier == 1 ? "" : "s");
    }
}

static int
md_string(char **out, const struct drill *d, const struct runbook *rb,
          const struct report_history *h, struct pd_err *err)
{
    struct md m = {.rc = 0, .err = err};
    char sha[65];
    int rc;

    *out = NULL;
    if ((rc = drill_journal_sha256(d, sha, err)) != 0)
        return rc;
    pd_buf_init(&m.b, 0);
    md_header(&m, d, rb);
    md_choices(&m, d);
    md_sections(&m, d);
    md_stages(&m, d);
    md_subdrills(&m, d, rb);
    md_checks(&m, d);
    md_texts(&m, d, "Notes", d->notes, d->n_notes);
    md_issues(&m, d);
    md_not_taken(&m, d);
    md_contacts(&m, rb);
    {
        char *review = report_review_md(d, rb);

        md_put(&m, review);
        free(review);
    }
    md_outcome(&m, d, sha);
    md_regressions(&m, h);
    rc = m.rc;
    if (rc != 0) {
        pd_buf_free(&m.b);
        return rc;
    }
    *out = pd_buf_steal(&m.b);
    return 0;
}

int
report_md_string(char **out, const struct drill *d, const struct runbook *rb, struct pd_err *err)
{
    return md_string(out, d, rb, NULL, err);
}

/* ---- files --------------------------------------------------------------------------------- */

/* Write text to dir/name whole or not at all (pd_write_atomic), 0600; errors name the report. */
static int
write_atomic(const char *dir, const char *name, const char *text, struct pd_err *err)
{
    char *path = pd_xasprintf("%s/%s", dir, name);
    int rc = pd_write_atomic(path, text, strlen(text), 0600, err);

    if (rc != 0)
        pd_err_prefix(err, "report ");
    free(path);
    return rc;
}

int
report_write_history(const struct drill *d, const struct runbook *rb, const char *dir,
                     const struct report_history *h, struct pd_err *err)
{
    char *json = NULL, *md = NULL;
    int rc;

    if (dir == NULL)
        dir = d->dir;
    if ((rc = json_string(&json, d, rb, h, err)) != 0 ||
        (rc = md_string(&md, d, rb, h, err)) != 0 ||
        (rc = write_atomic(dir, "report.json", json, err)) != 0 ||
        (rc = write_atomic(dir, "report.md", md, err)) != 0)
        goto out;
out:
    free(json);
    free(md);
    return rc;
}

int
report_write(const struct drill *d, const struct runbook *rb, const char *dir, struct pd_err *err)
{
    return report_write_history(d, rb, dir, NULL, err);
}
