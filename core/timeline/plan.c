/* plan: describe a runbook's effects before running it. */
#define _GNU_SOURCE // strcasestr
#include "timeline/plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "timeline/timeline.h"

/* A value given as name=value (first match wins), or NULL. */
static const char *
given_value(const char *const *vars, size_t n_vars, const char *name, size_t len)
{
    for (size_t i = 0; i < n_vars; i++)
        if (strncmp(vars[i], name, len) == 0 && vars[i][len] == '=')
            return vars[i] + len + 1;
    return NULL;
}

/* True for an UPPER_CASE name, which the engine takes from the environment. */
static bool
env_name(const char *name, size_t len)
{
    if (len == 0 || !(isupper((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isupper((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_'))
            return false;
    return true;
}

/* The value the engine would use in the same order: given, header default, environment. */
static const char *
var_value(const struct runbook *rb, const char *const *vars, size_t n_vars, const char *name,
          size_t len)
{
    const char *v = given_value(vars, n_vars, name, len);

    if (v != NULL)
        return v;
    for (size_t i = 0; i < rb->n_inputs; i++)
        if (strlen(rb->inputs[i].name) == len && strncmp(rb->inputs[i].name, name, len) == 0)
            return rb->inputs[i].default_value;
    if (env_name(name, len)) {
        char key[128];

        snprintf(key, sizeof(key), "%.*s", (int)len, name);
        return getenv(key);
    }
    return NULL;
}

/* s with every ${name} known before the run replaced; unknown ones stay. Caller owns. */
static char *
expand(const struct runbook *rb, const char *const *vars, size_t n_vars, const char *s)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    while (s && *s) {
        const char *end;
        if (s[0] == '$' && s[1] == '{' && (end = strchr(s + 2, '}')) != NULL) {
            const char *v = var_value(rb, vars, n_vars, s + 2, (size_t)(end - s - 2));
            if (v)
                pd_buf_appendf(&b, NULL, "%s", v);
            else
                pd_buf_append(&b, s, (size_t)(end - s + 1), NULL);
            s = end + 1;
            continue;
        }
        pd_buf_append(&b, s, 1, NULL);
        s++;
    }
    return pd_buf_steal(&b);
}

static bool
op_is(const char *op, const char *list)
{
    size_t n = op ? strlen(op) : 0;

    for (const char *p = list; n && *p;) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (len == n && strncmp(p, op, n) == 0)
            return true;
        p += len + (sp ? 1 : 0);
    }
    return false;
}

#define NEON_MUTATING                                                                              \
    "branch-create branch-restore branch-delete branch-rename "                                    \
    "branch-set-default endpoint-start endpoint-create"
#define S3_MUTATING "put delete"
/* Each step line starts with its kind in a column: "  CHANGE  ". */
#define KIND_COLUMNS 10

bool
plan_step_mutates(const struct runbook *rb, size_t stage, size_t step)
{
    const struct runbook_step *st = &rb->stages[stage].steps[step];
    const char *v;

    switch (st->action) {
    case STEP_NEON:
        return op_is(runbook_step_attr(st, "op"), NEON_MUTATING);
    case STEP_S3:
        return op_is(runbook_step_attr(st, "op"), S3_MUTATING);
    case STEP_SQL:
        v = runbook_step_attr(st, "readonly");
        return v && (strcmp(v, "no") == 0 || strcmp(v, "false") == 0);
    case STEP_SH:
        // a command may change anything, unless it only captures a value (save=) or the
        // operator does the work by hand (manual)
        return !st->manual && runbook_step_attr(st, "save") == NULL;
    default:
        return false;
    }
}

/* Add the table names an SQL text names after FROM, JOIN, INTO, UPDATE, TABLE. */
static void
sql_tables(struct pd_buf *out, const char *sql)
{
    static const char *const kw[] = {"from", "join", "into", "update", "table", "truncate"};
    const char *p = sql;
    size_t n_found = 0;

    while (p && *p) {
        while (*p && !isalpha((unsigned char)*p) && *p != '_')
            p++;
        const char *w = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        size_t wl = (size_t)(p - w);
        bool hit = false;
        for (size_t k = 0; k < sizeof(kw) / sizeof(kw[0]); k++)
            if (wl == strlen(kw[k]) && strncasecmp(w, kw[k], wl) == 0)
                hit = true;
        if (!hit || wl == 0)
            continue;
        while (*p == ' ' || *p == '\n' || *p == '\t')
            p++;
        const char *t = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '"'))
            p++;
        if (p > t && !(p - t == 6 && strncasecmp(t, "SELECT", 6) == 0)) {
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(p - t), t);
            // ignore duplicates within one statement
            if (!strstr(pd_buf_str(out), name)) {
                pd_buf_appendf(out, NULL, "%s%s", n_found || out->len ? ", " : "", name);
                n_found++;
            }
        }
    }
}

static void
first_line(char *buf, size_t size, const char *s)
{
    size_t n = strcspn(s ? s : "", "\n");

    if (n >= size)
        n = size - 1;
    memcpy(buf, s ? s : "", n);
    buf[n] = '\0';
    if (s && s[n] == '\n' && size > 5 && n + 4 < size)
        memcpy(buf + n, " ...", 5); // n + 4 < size: the NUL fits too
}

static void
describe_neon(struct pd_buf *b, const struct runbook *rb, const char *const *vars, size_t n_vars,
              const struct runbook_step *st)
{
    const char *op = runbook_step_attr(st, "op");
    char *name = expand(rb, vars, n_vars, runbook_step_attr(st, "name"));
    char *branch = expand(rb, vars, n_vars, runbook_step_attr(st, "branch"));
    char *parent = expand(rb, vars, n_vars, runbook_step_attr(st, "parent"));
    char *ts = expand(rb, vars, n_vars, runbook_step_attr(st, "timestamp"));
    char *src = expand(rb, vars, n_vars, runbook_step_attr(st, "source"));

    if (strcmp(op, "branch-create") == 0)
        pd_buf_appendf(b, NULL, "create branch %s from %s%s%s", *name ? name : "(named by Neon)",
                       *parent ? parent : "the default branch", *ts ? " at " : " (now)", ts);
    else if (strcmp(op, "branch-restore") == 0)
        pd_buf_appendf(b, NULL, "restore branch %s from %s%s%s", branch, *src ? src : "itself",
                       *ts ? " at " : "", ts);
    else if (strcmp(op, "branch-delete") == 0)
        pd_buf_appendf(b, NULL, "delete branch %s", branch);
    else if (strcmp(op, "branch-rename") == 0)
        pd_buf_appendf(b, NULL, "rename branch %s to %s", branch, name);
    else if (strcmp(op, "branch-set-default") == 0)
        pd_buf_appendf(b, NULL, "make branch %s the default (production)", branch);
    else
        pd_buf_appendf(b, NULL, "neon %s%s%s", op, *branch ? " " : "", branch);
    free(name);
    free(branch);
    free(parent);
    free(ts);
    free(src);
}

bool
plan_needs_accept(const struct runbook *rb)
{
    for (size_t s = 0; s < rb->n_stages; s++)
        for (size_t k = 0; k < rb->stages[s].n_steps; k++)
            if (rb->stages[s].steps[k].action != STEP_SH && plan_step_mutates(rb, s, k))
                return true;
    return false;
}

/*
 * One line per input: its value, where it comes from, or when it is asked.
 * Header inputs are asked before the first stage, input steps in their stage.
 */
static void
describe_inputs(struct pd_buf *b, const struct runbook *rb, const char *const *vars, size_t n_vars)
{
    for (size_t i = 0; i < rb->n_inputs; i++) {
        const struct runbook_input *in = &rb->inputs[i];
        size_t len = strlen(in->name);
        const char *v = given_value(vars, n_vars, in->name, len);

        if (v != NULL)
            pd_buf_appendf(b, NULL, "  input %s = %s\n", in->name, *v ? v : "(empty)");
        else if (in->default_value != NULL)
            pd_buf_appendf(b, NULL, "  input %s = %s (default; asked before stage 1)\n", in->name,
                           in->default_value);
        else
            pd_buf_appendf(b, NULL, "  input %s = ${%s} (asked before stage 1%s)\n", in->name,
                           in->name, in->required ? "" : ", optional");
    }
    for (size_t s = 0; s < rb->n_stages; s++) {
        for (size_t k = 0; k < rb->stages[s].n_steps; k++) {
            const struct runbook_input *in = rb->stages[s].steps[k].input;
            const char *v;

            if (rb->stages[s].steps[k].action != STEP_INPUT || in == NULL)
                continue;
            v = given_value(vars, n_vars, in->name, strlen(in->name));
            if (v != NULL)
                pd_buf_appendf(b, NULL, "  input %s = %s\n", in->name, *v ? v : "(empty)");
            else if (in->default_value != NULL)
                pd_buf_appendf(b, NULL, "  input %s = ${%s} (asked at stage %zu, default %s)\n",
                               in->name, in->name, s + 1, in->default_value);
            else
                pd_buf_appendf(b, NULL, "  input %s = ${%s} (asked at stage %zu)\n", in->name,
                               in->name, s + 1);
        }
    }
}

/* What a finished step of drill d shows instead of its kind, or NULL while it is to come. */
static const char *
done_kind(const struct drill *d, size_t s, size_t k)
{
    if (d == NULL || s >= d->n_stages || k >= d->stages[s].n_steps)
        return NULL;
    switch (d->stages[s].steps[k].status) {
    case STEP_PASSED:
        return "done";
    case STEP_SKIPPED:
        return "skipped";
    case STEP_FAILED:
        return "failed";
    default:
        return NULL;
    }
}

/* plan_build and plan_build_at: d is NULL before a run, else the drill about to run (as, at). */
static void
build(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
      const struct timeline *tl, double now, const struct drill *d, size_t as, size_t at)
{
    struct pd_buf b, steps, reads, writes, backups;
    struct line_marks bm = {0}, sm = {0}; // the kinds of b's and steps' lines
    char *next = NULL;                    // what the step about to run does (a drill under way)
    int index = 0;

    memset(out, 0, sizeof(*out));
    out->first_mutating = -1;
    pd_buf_init(&b, 0);
    pd_buf_init(&steps, 0);
    pd_buf_init(&reads, 0);
    pd_buf_init(&writes, 0);
    pd_buf_init(&backups, 0);
    for (size_t s = 0; s < rb->n_stages; s++) {
        const struct runbook_stage *sg = &rb->stages[s];
        lines_mark(&sm, &steps, LINE_HEADING);
        pd_buf_appendf(&steps, NULL, "\n%zu. %s\n", s + 1, sg->title);
        for (size_t k = 0; k < sg->n_steps; k++, index++) {
            const struct runbook_step *st = &sg->steps[k];
            bool mut = plan_step_mutates(rb, s, k);
            char line[160];
            char *body = expand(rb, vars, n_vars, st->body);
            const char *save = runbook_step_attr(st, "save");
            const char *done = done_kind(d, s, k);

            if (mut && out->first_mutating < 0 && done == NULL)
                out->first_mutating = index;
            if (mut)
                out->n_mutating++;
            const char *kind = done                         ? done
                               : mut                        ? "CHANGE"
                               : st->manual                 ? "MANUAL"
                               : st->action == STEP_CONFIRM ? "CONFIRM"
                               : st->action == STEP_SH      ? "run"
                                                            : "read";
            size_t line_start = steps.len;
            if (!done && (mut || (!st->manual && st->action == STEP_CONFIRM)))
                lines_mark(&sm, &steps, mut ? LINE_CHANGE : LINE_CONFIRM);
            pd_buf_appendf(&steps, NULL, "  %-*s ", KIND_COLUMNS - 3, kind);
            first_line(line, sizeof(line), body);
            switch (st->action) {
            case STEP_NEON:
                describe_neon(&steps, rb, vars, n_vars, st);
                break;
            case STEP_S3: {
                char *key = expand(rb, vars, n_vars, runbook_step_attr(st, "key"));
                char *uri = expand(rb, vars, n_vars, runbook_step_attr(st, "uri"));
                pd_buf_appendf(&steps, NULL, "s3 %s %s%s", runbook_step_attr(st, "op"), uri, key);
                if (*key)
                    pd_buf_appendf(&backups, NULL, "%s%s%s", backups.len ? ", " : "", uri, key);
                free(key);
                free(uri);
                break;
            }
            case STEP_SQL:
            case STEP_CHECK: {
                const char *imp = runbook_step_attr(st, "import");
                const char *exp = runbook_step_attr(st, "export");
                if (imp) {
                    // the rows of a local file go into a table through a staging table
                    char *into = expand(rb, vars, n_vars, runbook_step_attr(st, "into"));
                    pd_buf_appendf(&steps, NULL, "sql: import %s into %s", imp, into);
                    if (*into && !strstr(pd_buf_str(&writes), into))
                        pd_buf_appendf(&writes, NULL, "%s%s", writes.len ? ", " : "", into);
                    free(into);
                    break;
                }
                pd_buf_appendf(&steps, NULL, "%s: %s%s%s", st->action == STEP_SQL ? "sql" : "check",
                               exp ? "export to " : "", exp ? exp : "", exp ? ": " : "");
                pd_buf_appendf(&steps, NULL, "%s", line);
                sql_tables(mut ? &writes : &reads, body);
                break;
            }
            case STEP_CONFIRM: {
                char *target = expand(rb, vars, n_vars, runbook_step_attr(st, "target"));
                const char *destr = runbook_step_attr(st, "destructive");
                pd_buf_appendf(&steps, NULL, "%stype '%s' to go on: %s",
                               destr && strcmp(destr, "yes") == 0 ? "destructive, " : "", target,
                               line);
                // a confirmation naming a table guards a change to it
                if (*target && strcasestr(body, "table") && !strstr(pd_buf_str(&writes), target))
                    pd_buf_appendf(&writes, NULL, "%s%s", writes.len ? ", " : "", target);
                free(target);
                break;
            }
            case STEP_SH:
                pd_buf_appendf(&steps, NULL, "sh: %s", line);
                break;
            case STEP_INPUT:
                pd_buf_appendf(&steps, NULL, "ask %s", st->input ? st->input->name : "");
                break;
            case STEP_COMPLIANCE:
                pd_buf_appendf(&steps, NULL, "compliance check %s", runbook_step_attr(st, "check"));
                break;
            default:
                pd_buf_appendf(&steps, NULL, "%s", line[0] ? line : "note");
                break;
            }
            if (save)
                pd_buf_appendf(&steps, NULL, " -> ${%s}", save);
            if (runbook_step_attr(st, "when"))
                pd_buf_appendf(&steps, NULL, " [when %s]", runbook_step_attr(st, "when"));
            if (d != NULL && s == as && k == at) // the description, without the kind
                next = pd_xstrndup(pd_buf_str(&steps) + line_start + KIND_COLUMNS,
                                   steps.len - line_start - KIND_COLUMNS);
            pd_buf_appendf(&steps, NULL, "\n");
            free(body);
        }
    }
    // what the operator accepts comes first: the next change, then the totals;
    // the inputs and every step follow
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "Plan for %s: %s\n", rb->id, rb->title ? rb->title : "");
    if (next != NULL) {
        lines_mark(&bm, &b, LINE_HEADING);
        pd_buf_appendf(&b, NULL,
                       "Drill %s: nothing has changed yet. Next, the first change "
                       "(step %s, stage %zu):\n  %s\n",
                       d->id ? d->id : "?", rb->stages[as].steps[at].id, as + 1, next);
    }
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "\nChanges: %zu step%s may create or change something",
                   out->n_mutating, out->n_mutating == 1 ? "" : "s");
    if (out->first_mutating >= 0)
        pd_buf_appendf(&b, NULL, " (the %s is step %d)", d ? "next" : "first",
                       out->first_mutating + 1);
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "\nBackup used: %s\n", backups.len ? pd_buf_str(&backups) : "none");
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "Tables read: %s\n", reads.len ? pd_buf_str(&reads) : "none");
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "Tables changed or confirmed: %s\n",
                   writes.len ? pd_buf_str(&writes) : "none");

    const char *tt = var_value(rb, vars, n_vars, "target_time", 11);
    const char *it = var_value(rb, vars, n_vars, "incident_time", 13);
    double target, incident = now;
    // an optional incident_time left empty means "no incident": count up to now
    if (it && (!*it || pd_time_parse_rfc3339(&incident, it, 0) != 0)) {
        it = NULL;
        incident = now;
    }
    if (tt && pd_time_parse_rfc3339(&target, tt, 0) == 0) {
        char loss[48];
        pd_time_human(loss, sizeof(loss), incident - target);
        lines_mark(&bm, &b, LINE_LOSS);
        pd_buf_appendf(&b, NULL, "Expected data loss: %s (changes after %s, up to %s)\n", loss, tt,
                       it ? "the incident" : "now");
        if (tl && tl->has_window && target < tl->window_start) {
            lines_mark(&bm, &b, LINE_WARN);
            pd_buf_appendf(&b, NULL,
                           "Warning: %s is before Neon's history window: PITR "
                           "cannot reach it, use a dump\n",
                           tt);
        }
    } else {
        lines_mark(&bm, &b, LINE_LOSS);
        pd_buf_appendf(&b, NULL, "Expected data loss: unknown (no target_time given)\n");
    }
    if (rb->n_inputs > 0 || strstr(pd_buf_str(&steps), "  ask ") != NULL) {
        lines_mark(&bm, &b, LINE_HEADING);
        pd_buf_appendf(&b, NULL, "\nInputs\n");
    }
    describe_inputs(&b, rb, vars, n_vars);
    lines_marks_append(&bm, &sm, b.len);
    pd_buf_appendf(&b, NULL, "%s", pd_buf_str(&steps));
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "\nNothing has been changed yet.\n");
    out->text = pd_redact(pd_buf_str(&b));
    lines_split(&out->lines, pd_buf_str(&b), &bm, true);
    lines_marks_clear(&bm);
    lines_marks_clear(&sm);
    free(next);
    pd_buf_free(&steps);
    pd_buf_free(&b);
    pd_buf_free(&reads);
    pd_buf_free(&writes);
    pd_buf_free(&backups);
}

void
plan_build(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
           const struct timeline *tl, double now)
{
    build(out, rb, vars, n_vars, tl, now, NULL, 0, 0);
}

void
plan_build_at(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
              const struct drill *d, size_t stage, size_t step, double now)
{
    build(out, rb, vars, n_vars, NULL, now, d, stage, step);
}

void
plan_clear(struct plan *p)
{
    free(p->text);
    lines_clear(&p->lines);
    memset(p, 0, sizeof(*p));
    p->first_mutating = -1;
}
