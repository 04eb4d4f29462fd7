/* plan: describe a runbook's effects before running it. */
#define _GNU_SOURCE // strcasestr
#include "timeline/plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drill/drill.h"
#include "neon/action.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "runbook/action.h"
#include "runbook/runbook.h"
#include "timeline/plan.intern.h"
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

/*
 * The walk over a runbook's steps that builds the plan's step lines and
 * the summary's lists, and what it knows of the step it is at. The
 * describe functions of the plan's action table append to it.
 */
struct plan_walk {
    const struct runbook *rb;
    const char *const *vars;
    size_t n_vars;
    struct pd_buf steps;   /* every stage and step, one line each */
    struct pd_buf reads;   /* tables read */
    struct pd_buf writes;  /* tables changed or confirmed */
    struct pd_buf backups; /* the S3 objects steps read */
    struct line_marks sm;  /* the kinds of steps' lines */
    const char *scope;     /* the stage's (a sub-drill's: its variables are scope.name) */
    size_t stage;          /* the stage's index */
    /* the step being described */
    char *body;      /* its body, expanded */
    char first[160]; /* the body's first line ("... " when there are more) */
    bool mutates;
};

/* A reference the plan cannot fill yet (a later step saves it) stays ${name}. */
static int
plan_ref(struct pd_buf *out, const char *name, size_t at, size_t ref_len, void *payload,
         struct pd_err *err)
{
    const struct plan_walk *w = payload;
    const char *v = NULL;

    if (w->scope != NULL) {
        // a sub-drill's stage: the child's variables, as the engine keeps them (vars.c)
        char *full = pd_xasprintf("%s.%s", w->scope, name);

        v = given_value(w->vars, w->n_vars, full, strlen(full));
        free(full);
        if (v == NULL && env_name(name, strlen(name)))
            v = getenv(name);
    } else {
        v = var_value(w->rb, w->vars, w->n_vars, name, strlen(name));
    }
    (void)at;
    (void)ref_len;
    (void)err;
    if (v != NULL)
        pd_buf_append(out, v, strlen(v), NULL);
    else
        pd_buf_appendf(out, NULL, "${%s}", name);
    return 0;
}

/*
 * s as the engine will read it (runbook_expand: $${ is a literal ${), with
 * every value known before the run; NULL reads as "". A malformed reference
 * fails the step when it runs: the plan shows it as written. Caller owns.
 */
static char *
expand(struct plan_walk *w, const char *s)
{
    struct pd_err err = {0};
    char *out = NULL;

    if (runbook_expand(&out, s, plan_ref, w, &err) != 0)
        out = pd_xstrdup(s ? s : "");
    return out;
}

/* Each step line starts with its kind in a column: "  CHANGE  ". */
#define KIND_COLUMNS 10

bool
plan_step_mutates(const struct runbook *rb, size_t stage, size_t step)
{
    const struct runbook_step *st = &rb->stages[stage].steps[step];

    return runbook_action(st->action)->mutates(st);
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

/* ---- how each action's step reads in the plan (the table below names these) ---- */

static void
describe_neon(struct plan_walk *w, const struct runbook_step *sp)
{
    char *name = expand(w, runbook_step_attr(sp, "name"));
    char *branch = expand(w, runbook_step_attr(sp, "branch"));
    char *parent = expand(w, runbook_step_attr(sp, "parent"));
    char *ts = expand(w, runbook_step_attr(sp, "timestamp"));
    char *src = expand(w, runbook_step_attr(sp, "source"));
    const struct neon_action_args a = {
        .op = runbook_step_attr(sp, "op"),
        .branch = branch,
        .parent = parent,
        .timestamp = ts,
        .name = name,
        .source = src,
    };

    neon_action_describe(&w->steps, &a);
    free(name);
    free(branch);
    free(parent);
    free(ts);
    free(src);
}

static void
describe_s3(struct plan_walk *w, const struct runbook_step *sp)
{
    char *key = expand(w, runbook_step_attr(sp, "key"));
    char *uri = expand(w, runbook_step_attr(sp, "uri"));

    pd_buf_appendf(&w->steps, NULL, "s3 %s %s%s", runbook_step_attr(sp, "op"), uri, key);
    if (*key)
        pd_buf_appendf(&w->backups, NULL, "%s%s%s", w->backups.len ? ", " : "", uri, key);
    free(key);
    free(uri);
}

/* sql and check: the first line, and the tables the body names. */
static void
describe_sql(struct plan_walk *w, const struct runbook_step *sp)
{
    const char *imp = runbook_step_attr(sp, "import");
    const char *exp = runbook_step_attr(sp, "export");

    if (imp) {
        // the rows of a local file go into a table through a staging table
        char *into = expand(w, runbook_step_attr(sp, "into"));

        pd_buf_appendf(&w->steps, NULL, "sql: import %s into %s", imp, into);
        if (*into && !strstr(pd_buf_str(&w->writes), into))
            pd_buf_appendf(&w->writes, NULL, "%s%s", w->writes.len ? ", " : "", into);
        free(into);
        return;
    }
    pd_buf_appendf(&w->steps, NULL, "%s: %s%s%s", runbook_action_name(sp->action),
                   exp ? "export to " : "", exp ? exp : "", exp ? ": " : "");
    pd_buf_appendf(&w->steps, NULL, "%s", w->first);
    sql_tables(w->mutates ? &w->writes : &w->reads, w->body);
}

static void
describe_confirm(struct plan_walk *w, const struct runbook_step *sp)
{
    char *target = expand(w, runbook_step_attr(sp, "target"));
    const char *destr = runbook_step_attr(sp, "destructive");

    pd_buf_appendf(&w->steps, NULL, "%stype '%s' to go on: %s",
                   destr && strcmp(destr, "yes") == 0 ? "destructive, " : "", target, w->first);
    // a confirmation naming a table guards a change to it
    if (*target && strcasestr(w->body, "table") && !strstr(pd_buf_str(&w->writes), target))
        pd_buf_appendf(&w->writes, NULL, "%s%s", w->writes.len ? ", " : "", target);
    free(target);
}

static void
describe_sh(struct plan_walk *w, const struct runbook_step *sp)
{
    (void)sp;
    pd_buf_appendf(&w->steps, NULL, "sh: %s", w->first);
}

static void
describe_input(struct plan_walk *w, const struct runbook_step *sp)
{
    pd_buf_appendf(&w->steps, NULL, "ask %s", sp->input ? sp->input->name : "");
}

static void
describe_compliance(struct plan_walk *w, const struct runbook_step *sp)
{
    pd_buf_appendf(&w->steps, NULL, "compliance check %s", runbook_step_attr(sp, "check"));
}

/* rows: which table from which branch, and how; the table is written unless previewed. */
static void
describe_rows(struct plan_walk *w, const struct runbook_step *sp)
{
    char *table = expand(w, runbook_step_attr(sp, "table"));
    char *mode = expand(w, runbook_step_attr(sp, "mode"));
    const char *prev = runbook_step_attr(sp, "preview");
    bool preview = prev != NULL && strcmp(prev, "yes") == 0;

    pd_buf_appendf(&w->steps, NULL, "rows: %s %s from the branch (mode %s)",
                   preview ? "preview" : "restore", table, *mode ? mode : "missing");
    if (preview) {
        if (*table && !strstr(pd_buf_str(&w->reads), table))
            pd_buf_appendf(&w->reads, NULL, "%s%s", w->reads.len ? ", " : "", table);
    } else if (*table && !strstr(pd_buf_str(&w->writes), table)) {
        pd_buf_appendf(&w->writes, NULL, "%s%s", w->writes.len ? ", " : "", table);
    }
    free(table);
    free(mode);
}

/* runbook: the child runbook and the inputs it is given; its stages follow as stages. */
static void
describe_runbook(struct plan_walk *w, const struct runbook_step *sp)
{
    const char *cur = w->body;
    char *name, *value;
    int line = -1, r, n = 0;

    pd_buf_appendf(&w->steps, NULL, "runbook %s, its stages below as %s/...",
                   runbook_step_attr(sp, "name"), w->rb->stages[w->stage].id);
    while ((r = runbook_assign_next(&cur, &line, &name, &value)) != 0) {
        if (r > 0)
            pd_buf_appendf(&w->steps, NULL, "%s%s=%s", n++ ? ", " : " (", name, value);
        free(name);
        free(value);
    }
    if (n > 0)
        pd_buf_appendf(&w->steps, NULL, ")");
}

static void
describe_note(struct plan_walk *w, const struct runbook_step *sp)
{
    (void)sp;
    pd_buf_appendf(&w->steps, NULL, "%s", w->first[0] ? w->first : "note");
}

/*
 * The plan's part of each action's row, indexed by enum step_action like
 * the runbook's part (runbook/action.h), which says whether a step
 * mutates: what the kind column reads when the step changes nothing, and
 * how its description reads.
 */
static const struct plan_action action_table[STEP_ACTION_COUNT] = {
    [STEP_SH] = {"run", describe_sh},
    [STEP_SQL] = {"read", describe_sql},
    [STEP_CHECK] = {"read", describe_sql},
    [STEP_CONFIRM] = {"CONFIRM", describe_confirm},
    [STEP_INPUT] = {"read", describe_input},
    [STEP_NOTE] = {"read", describe_note},
    [STEP_NEON] = {"read", describe_neon},
    [STEP_S3] = {"read", describe_s3},
    [STEP_COMPLIANCE] = {"read", describe_compliance},
    [STEP_ROWS] = {"read", describe_rows},
    [STEP_RUNBOOK] = {"run", describe_runbook},
};

const struct plan_action *
plan_action(enum step_action a)
{
    if ((int)a < 0 || a >= STEP_ACTION_COUNT)
        return NULL;
    return &action_table[a];
}

bool
plan_needs_accept(const struct runbook *rb)
{
    // a runbook whose only changes are local (sh) runs without asking
    for (size_t s = 0; s < rb->n_stages; s++) {
        for (size_t k = 0; k < rb->stages[s].n_steps; k++) {
            const struct runbook_step *st = &rb->stages[s].steps[k];
            const struct runbook_action *act = runbook_action(st->action);

            if (act->changes_service && act->mutates(st))
                return true;
        }
    }
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

            // only an input step declares one; a sub-drill's are its runbook step's to give
            if (in == NULL || rb->stages[s].scope != NULL)
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

/* Where a drill stands when its plan is built (plan_build_at); d is NULL before a run. */
struct plan_at {
    const struct drill *d;
    size_t stage, step; /* the step about to run */
};

/*
 * Step k of stage s: its line in w->steps (kind column, description, what
 * it saves, its condition) and its part of the counts in out. The
 * description of the step about to run goes to *next as well (owned).
 */
static void
walk_step(struct plan_walk *w, struct plan *out, const struct plan_at *at, size_t s, size_t k,
          int index, char **next)
{
    const struct runbook_step *st = &w->rb->stages[s].steps[k];
    const struct runbook_action *act = runbook_action(st->action);
    const struct plan_action *plan_row = plan_action(st->action);
    const char *done = done_kind(at->d, s, k);
    const char *save = runbook_step_attr(st, "save");
    size_t line_start = w->steps.len;
    const char *kind;

    w->mutates = act->mutates(st);
    w->body = expand(w, st->body);
    if (w->mutates && out->first_mutating < 0 && done == NULL)
        out->first_mutating = index;
    if (w->mutates)
        out->n_mutating++;
    kind = done ? done : w->mutates ? "CHANGE" : st->manual ? "MANUAL" : plan_row->kind;
    if (!done && (w->mutates || (!st->manual && st->action == STEP_CONFIRM)))
        lines_mark(&w->sm, &w->steps, w->mutates ? LINE_CHANGE : LINE_CONFIRM);
    pd_buf_appendf(&w->steps, NULL, "  %-*s ", KIND_COLUMNS - 3, kind);
    first_line(w->first, sizeof(w->first), w->body);
    plan_row->describe(w, st);
    if (save)
        pd_buf_appendf(&w->steps, NULL, " -> ${%s}", save);
    if (runbook_step_attr(st, "when"))
        pd_buf_appendf(&w->steps, NULL, " [when %s]", runbook_step_attr(st, "when"));
    if (at->d != NULL && s == at->stage && k == at->step) // the description, without the kind
        *next = pd_xstrndup(pd_buf_str(&w->steps) + line_start + KIND_COLUMNS,
                            w->steps.len - line_start - KIND_COLUMNS);
    pd_buf_appendf(&w->steps, NULL, "\n");
    PD_FREE(w->body);
}

/* What the operator accepts comes first: the next change, then the totals. */
static void
write_summary(struct pd_buf *b, struct line_marks *bm, const struct plan_walk *w,
              const struct plan *out, const struct plan_at *at, const char *next)
{
    const struct runbook *rb = w->rb;

    lines_mark(bm, b, LINE_HEADING);
    pd_buf_appendf(b, NULL, "Plan for %s: %s\n", rb->id, rb->title ? rb->title : "");
    if (next != NULL) {
        lines_mark(bm, b, LINE_HEADING);
        pd_buf_appendf(b, NULL,
                       "Drill %s: nothing has changed yet. Next, the first change "
                       "(step %s, stage %zu):\n  %s\n",
                       at->d->id ? at->d->id : "?", rb->stages[at->stage].steps[at->step].id,
                       at->stage + 1, next);
    }
    lines_mark(bm, b, LINE_HEADING);
    pd_buf_appendf(b, NULL, "\nChanges: %zu step%s may create or change something", out->n_mutating,
                   out->n_mutating == 1 ? "" : "s");
    if (out->first_mutating >= 0)
        pd_buf_appendf(b, NULL, " (the %s is step %d)", at->d ? "next" : "first",
                       out->first_mutating + 1);
    lines_mark(bm, b, LINE_HEADING);
    pd_buf_appendf(b, NULL, "\nBackup used: %s\n",
                   w->backups.len ? pd_buf_str(&w->backups) : "none");
    lines_mark(bm, b, LINE_HEADING);
    pd_buf_appendf(b, NULL, "Tables read: %s\n", w->reads.len ? pd_buf_str(&w->reads) : "none");
    lines_mark(bm, b, LINE_HEADING);
    pd_buf_appendf(b, NULL, "Tables changed or confirmed: %s\n",
                   w->writes.len ? pd_buf_str(&w->writes) : "none");
}

/* The expected data loss when target_time is known, checked against the timeline. */
static void
write_loss(struct pd_buf *b, struct line_marks *bm, const struct plan_walk *w,
           const struct timeline *tl, double now)
{
    const char *tt = var_value(w->rb, w->vars, w->n_vars, "target_time", 11);
    const char *it = var_value(w->rb, w->vars, w->n_vars, "incident_time", 13);
    double target, incident = now;
    char loss[48];

    // an optional incident_time left empty means "no incident": count up to now
    if (it && (!*it || pd_time_parse_rfc3339(&incident, it, 0) != 0)) {
        it = NULL;
        incident = now;
    }
    if (!tt || pd_time_parse_rfc3339(&target, tt, 0) != 0) {
        lines_mark(bm, b, LINE_LOSS);
        pd_buf_appendf(b, NULL, "Expected data loss: unknown (no target_time given)\n");
        return;
    }
    pd_time_human(loss, sizeof(loss), incident - target);
    lines_mark(bm, b, LINE_LOSS);
    pd_buf_appendf(b, NULL, "Expected data loss: %s (changes after %s, up to %s)\n", loss, tt,
                   it ? "the incident" : "now");
    if (tl && tl->has_window && target < tl->window_start) {
        lines_mark(bm, b, LINE_WARN);
        pd_buf_appendf(b, NULL,
                       "Warning: %s is before Neon's history window: PITR "
                       "cannot reach it, use a dump\n",
                       tt);
    }
}

/* plan_build and plan_build_at: the steps first, then the text in the order it is read. */
static void
build(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
      const struct timeline *tl, double now, const struct plan_at *at)
{
    struct plan_walk w = {.rb = rb, .vars = vars, .n_vars = n_vars};
    struct pd_buf b;
    struct line_marks bm = {0}; // the kinds of b's lines
    char *next = NULL;          // what the step about to run does (a drill under way)
    int index = 0;

    memset(out, 0, sizeof(*out));
    out->first_mutating = -1;
    pd_buf_init(&b, 0);
    pd_buf_init(&w.steps, 0);
    pd_buf_init(&w.reads, 0);
    pd_buf_init(&w.writes, 0);
    pd_buf_init(&w.backups, 0);
    for (size_t s = 0; s < rb->n_stages; s++) {
        lines_mark(&w.sm, &w.steps, LINE_HEADING);
        pd_buf_appendf(&w.steps, NULL, "\n%zu. %s\n", s + 1, rb->stages[s].title);
        w.scope = rb->stages[s].scope;
        w.stage = s;
        for (size_t k = 0; k < rb->stages[s].n_steps; k++)
            walk_step(&w, out, at, s, k, index++, &next);
    }
    write_summary(&b, &bm, &w, out, at, next);
    write_loss(&b, &bm, &w, tl, now);
    // the inputs and every step follow
    if (rb->n_inputs > 0 || strstr(pd_buf_str(&w.steps), "  ask ") != NULL) {
        lines_mark(&bm, &b, LINE_HEADING);
        pd_buf_appendf(&b, NULL, "\nInputs\n");
    }
    describe_inputs(&b, rb, vars, n_vars);
    lines_marks_append(&bm, &w.sm, b.len);
    pd_buf_appendf(&b, NULL, "%s", pd_buf_str(&w.steps));
    lines_mark(&bm, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "\nNothing has been changed yet.\n");
    out->text = pd_redact(pd_buf_str(&b));
    lines_split(&out->lines, pd_buf_str(&b), &bm, true);
    lines_marks_clear(&bm);
    lines_marks_clear(&w.sm);
    free(next);
    pd_buf_free(&w.steps);
    pd_buf_free(&b);
    pd_buf_free(&w.reads);
    pd_buf_free(&w.writes);
    pd_buf_free(&w.backups);
}

void
plan_build(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
           const struct timeline *tl, double now)
{
    const struct plan_at at = {.d = NULL};

    build(out, rb, vars, n_vars, tl, now, &at);
}

void
plan_build_at(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
              const struct drill *d, size_t stage, size_t step, double now)
{
    const struct plan_at at = {.d = d, .stage = stage, .step = step};

    build(out, rb, vars, n_vars, NULL, now, &at);
}

void
plan_clear(struct plan *p)
{
    free(p->text);
    lines_clear(&p->lines);
    memset(p, 0, sizeof(*p));
    p->first_mutating = -1;
}
