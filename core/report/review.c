/*
 * The review sections of a drill report. They answer an auditor's
 * questions: who ran it and who watched, where the run left the written
 * procedure, what the team will change, whether the drill cleaned up after
 * itself, and whether the compliance checks held.
 *
 * Conventions they rely on (pgdrill-runbook(5)):
 *   - the operator and observer are the drill variables "operator" and
 *     "observer" (runbook inputs); without "operator", the drill's user;
 *   - a follow-up is a note recorded with kind=follow-up (its text starts
 *     with DRILL_FOLLOW_UP_PREFIX in the journal);
 *   - clean-up proof is every neon step whose op is marked cleanup in
 *     neon/action.c (without the runbook: every step whose summary starts
 *     with "deleted branch");
 *   - compliance checks are the checks named "compliance.*"; a flagged
 *     one (a warning, e.g. retention-meets-7-years) neither passes nor fails.
 * Steps skipped by their when= condition follow the runbook: they are not
 * deviations.
 */
#include "report/review.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "neon/action.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "runbook/runbook.h"

#define COMPLIANCE_PREFIX  "compliance."
#define WHEN_REASON_PREFIX "condition "

static void
put_str(cJSON *o, const char *key, const char *s)
{
    if (s != NULL)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static const char *
stage_id(const struct drill *d, int si)
{
    return si >= 0 && (size_t)si < d->n_stages ? d->stages[si].id : NULL;
}

static const char *
operator_of(const struct drill *d)
{
    const char *v = drill_var(d, "operator");

    return v != NULL && v[0] != '\0' ? v : d->operator_name;
}

static const char *
observer_of(const struct drill *d)
{
    const char *v = drill_var(d, "observer");

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Kind of deviation of a step, or NULL when it ran as written. */
static const char *
deviation_of(const struct drill_step_state *sp, const char **reason)
{
    *reason = NULL;
    if (sp->status == STEP_SKIPPED) {
        if (sp->skip_reason != NULL &&
            strncmp(sp->skip_reason, WHEN_REASON_PREFIX, strlen(WHEN_REASON_PREFIX)) == 0)
            return NULL;
        *reason = sp->skip_reason;
        return "skipped";
    }
    if (sp->status == STEP_FAILED) {
        *reason = sp->summary;
        return "failed";
    }
    if (sp->attempts > 1) {
        // the failure that made it run again, not the passing attempt's result
        *reason = sp->failed_summary != NULL ? sp->failed_summary : sp->summary;
        return "retried";
    }
    return NULL;
}

static bool
is_follow_up(const char *text)
{
    return text != NULL &&
           strncmp(text, DRILL_FOLLOW_UP_PREFIX, strlen(DRILL_FOLLOW_UP_PREFIX)) == 0;
}

static bool
is_cleanup(const struct drill *d, const struct runbook *rb, size_t si, size_t ti)
{
    const struct drill_step_state *sp = &d->stages[si].steps[ti];

    if (rb != NULL && si < rb->n_stages && ti < rb->stages[si].n_steps) {
        const struct runbook_step *st = &rb->stages[si].steps[ti];
        const struct neon_action_op *op = neon_action_op_find(runbook_step_attr(st, "op"));

        return st->action == STEP_NEON && op != NULL && op->cleanup;
    }
    return sp->summary != NULL && strncmp(sp->summary, "deleted branch", 14) == 0;
}

static bool
is_compliance(const struct drill_check *c)
{
    return c->name != NULL && strncmp(c->name, COMPLIANCE_PREFIX, strlen(COMPLIANCE_PREFIX)) == 0;
}

static const char *
compliance_status(const struct drill_check *c)
{
    return c->passed ? "passed" : c->flagged ? "flagged" : "failed";
}

/* "failed" if any failed, else "flagged" if any was flagged, else "passed"; "not-run". */
static const char *
compliance_verdict(const struct drill *d, size_t *passed, size_t *failed, size_t *flagged)
{
    *passed = *failed = *flagged = 0;
    for (size_t i = 0; i < d->n_checks; i++) {
        if (!is_compliance(&d->checks[i]))
            continue;
        if (d->checks[i].passed)
            (*passed)++;
        else if (d->checks[i].flagged)
            (*flagged)++;
        else
            (*failed)++;
    }
    return *failed > 0 ? "failed" : *flagged > 0 ? "flagged" : *passed > 0 ? "passed" : "not-run";
}

void
report_review_json(cJSON *root, const struct drill *d, const struct runbook *rb)
{
    cJSON *o, *a;
    size_t passed, failed, flagged;

    o = cJSON_AddObjectToObject(root, "team");
    put_str(o, "operator", operator_of(d));
    put_str(o, "observer", observer_of(d));

    a = cJSON_AddArrayToObject(root, "deviations");
    for (size_t si = 0; si < d->n_stages; si++) {
        for (size_t ti = 0; ti < d->stages[si].n_steps; ti++) {
            const struct drill_step_state *sp = &d->stages[si].steps[ti];
            const char *reason;
            const char *kind = deviation_of(sp, &reason);
            cJSON *x;

            if (kind == NULL)
                continue;
            x = cJSON_CreateObject();
            put_str(x, "stage", d->stages[si].id);
            put_str(x, "step", sp->id);
            put_str(x, "kind", kind);
            cJSON_AddNumberToObject(x, "attempts", sp->attempts);
            put_str(x, "reason", reason);
            cJSON_AddItemToArray(a, x);
        }
    }

    a = cJSON_AddArrayToObject(root, "follow_ups");
    for (size_t i = 0; i < d->n_notes; i++) {
        cJSON *x;

        if (!is_follow_up(d->notes[i].text))
            continue;
        x = cJSON_CreateObject();
        put_str(x, "stage", stage_id(d, d->notes[i].stage));
        put_str(x, "at", d->notes[i].at);
        put_str(x, "text", d->notes[i].text + strlen(DRILL_FOLLOW_UP_PREFIX));
        cJSON_AddItemToArray(a, x);
    }

    a = cJSON_AddArrayToObject(root, "cleanup");
    for (size_t si = 0; si < d->n_stages; si++) {
        for (size_t ti = 0; ti < d->stages[si].n_steps; ti++) {
            const struct drill_step_state *sp = &d->stages[si].steps[ti];
            cJSON *x;

            if (!is_cleanup(d, rb, si, ti))
                continue;
            x = cJSON_CreateObject();
            put_str(x, "stage", d->stages[si].id);
            put_str(x, "step", sp->id);
            put_str(x, "status", step_status_name(sp->status));
            put_str(x, "finished_at", sp->finished_at);
            put_str(x, "result", sp->status == STEP_SKIPPED ? sp->skip_reason : sp->summary);
            cJSON_AddItemToArray(a, x);
        }
    }

    o = cJSON_AddObjectToObject(root, "compliance");
    a = cJSON_AddArrayToObject(o, "checks");
    for (size_t i = 0; i < d->n_checks; i++) {
        const struct drill_check *c = &d->checks[i];
        cJSON *x;

        if (!is_compliance(c))
            continue;
        x = cJSON_CreateObject();
        put_str(x, "name", c->name);
        put_str(x, "status", compliance_status(c));
        cJSON_AddBoolToObject(x, "passed", c->passed);
        put_str(x, "expected", c->expected);
        put_str(x, "observed", c->observed);
        put_str(x, "detail", c->observed);
        cJSON_AddItemToArray(a, x);
    }
    put_str(o, "verdict", compliance_verdict(d, &passed, &failed, &flagged));
    cJSON_AddNumberToObject(o, "passed", (double)passed);
    cJSON_AddNumberToObject(o, "failed", (double)failed);
    cJSON_AddNumberToObject(o, "flagged", (double)flagged);
}

/* Text for a Markdown table cell: pipes escaped, line breaks flattened, "—" when empty. */
static void
cell(struct pd_buf *b, const char *s)
{
    if (s == NULL || s[0] == '\0') {
        pd_buf_appendf(b, NULL, "—");
        return;
    }
    for (; *s != '\0'; s++) {
        if (*s == '|')
            pd_buf_appendf(b, NULL, "\\|");
        else if (*s == '\n' || *s == '\r')
            pd_buf_appendf(b, NULL, " ");
        else
            pd_buf_appendf(b, NULL, "%c", *s);
    }
}

char *
report_review_md(const struct drill *d, const struct runbook *rb)
{
    struct pd_buf b;
    size_t passed, failed, flagged, n;
    const char *verdict;

    pd_buf_init(&b, 0);
    pd_buf_appendf(&b, NULL, "## Team\n\n| Operator | Observer |\n|---|---|\n| ");
    cell(&b, operator_of(d));
    pd_buf_appendf(&b, NULL, " | ");
    cell(&b, observer_of(d));
    pd_buf_appendf(&b, NULL, " |\n\n## Deviations from the runbook\n\n");
    n = 0;
    for (size_t si = 0; si < d->n_stages; si++) {
        for (size_t ti = 0; ti < d->stages[si].n_steps; ti++) {
            const struct drill_step_state *sp = &d->stages[si].steps[ti];
            const char *reason;
            const char *kind = deviation_of(sp, &reason);

            if (kind == NULL)
                continue;
            if (n++ == 0)
                pd_buf_appendf(&b, NULL,
                               "| Step | Deviation | Attempts | Reason |\n|---|---|---|---|\n");
            pd_buf_appendf(&b, NULL, "| ");
            cell(&b, sp->id);
            pd_buf_appendf(&b, NULL, " | %s | %d | ", kind, sp->attempts);
            cell(&b, reason);
            pd_buf_appendf(&b, NULL, " |\n");
        }
    }
    if (n == 0)
        pd_buf_appendf(&b, NULL, "None: every step ran as written.\n");

    pd_buf_appendf(&b, NULL, "\n## Follow-ups\n\n");
    n = 0;
    for (size_t i = 0; i < d->n_notes; i++) {
        if (!is_follow_up(d->notes[i].text))
            continue;
        n++;
        pd_buf_appendf(&b, NULL, "- ");
        cell(&b, d->notes[i].text + strlen(DRILL_FOLLOW_UP_PREFIX));
        pd_buf_appendf(&b, NULL, "\n");
    }
    if (n == 0)
        pd_buf_appendf(&b, NULL, "None recorded.\n");

    pd_buf_appendf(&b, NULL, "\n## Clean-up\n\n");
    n = 0;
    for (size_t si = 0; si < d->n_stages; si++) {
        for (size_t ti = 0; ti < d->stages[si].n_steps; ti++) {
            const struct drill_step_state *sp = &d->stages[si].steps[ti];

            if (!is_cleanup(d, rb, si, ti))
                continue;
            if (n++ == 0)
                pd_buf_appendf(&b, NULL,
                               "| Step | Status | Finished | Result |\n|---|---|---|---|\n");
            pd_buf_appendf(&b, NULL, "| ");
            cell(&b, sp->id);
            pd_buf_appendf(&b, NULL, " | %s | ", step_status_name(sp->status));
            cell(&b, sp->finished_at);
            pd_buf_appendf(&b, NULL, " | ");
            cell(&b, sp->status == STEP_SKIPPED ? sp->skip_reason : sp->summary);
            pd_buf_appendf(&b, NULL, " |\n");
        }
    }
    if (n == 0)
        pd_buf_appendf(&b, NULL, "No clean-up step in this runbook.\n");

    verdict = compliance_verdict(d, &passed, &failed, &flagged);
    pd_buf_appendf(&b, NULL, "\n## Compliance\n\n%s: %zu passed, %zu failed", verdict, passed,
                   failed);
    if (flagged > 0)
        pd_buf_appendf(&b, NULL, ", %zu flagged (a warning: it does not fail the drill)", flagged);
    pd_buf_appendf(&b, NULL, ".\n");
    if (passed + failed + flagged > 0) {
        pd_buf_appendf(&b, NULL, "\n| Check | Result | Observed |\n|---|---|---|\n");
        for (size_t i = 0; i < d->n_checks; i++) {
            const struct drill_check *c = &d->checks[i];

            if (!is_compliance(c))
                continue;
            pd_buf_appendf(&b, NULL, "| ");
            cell(&b, c->name);
            pd_buf_appendf(&b, NULL, " | %s | ",
                           c->passed    ? "passed"
                           : c->flagged ? "flagged"
                                        : "FAILED");
            cell(&b, c->observed);
            pd_buf_appendf(&b, NULL, " |\n");
        }
    }
    pd_buf_appendf(&b, NULL, "\n");
    return pd_buf_steal(&b);
}
