/* engine actions: what each step kind does when it runs once. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit/audit.h"
#include "engine/engine.intern.h"
#include "neon/client.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "runbook/action.h"
#include "runbook/expect.h"
#include "shell/group.h"
#include "shell/shell.h"

/* A copy of s without trailing whitespace; caller owns it. */
static char *
rtrim_dup(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    return pd_xstrndup(s ? s : "", n);
}

static char *
trim_dup(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return rtrim_dup(s);
}

static bool
attr_yes(const struct runbook_step *step, const char *key, bool dflt)
{
    const char *v = runbook_step_attr(step, key);

    if (v == NULL)
        return dflt;
    return strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* Duration attribute in seconds, dflt when absent. */
static int
attr_duration(const struct runbook_step *step, const char *key, int dflt, int *out,
              struct pd_err *err)
{
    const char *v = runbook_step_attr(step, key);

    *out = dflt;
    if (v == NULL)
        return 0;
    if (runbook_parse_duration(out, v) != 0 || *out <= 0)
        return PD_ERR_SET(err, PD_EINPUT, "bad duration '%s'", v);
    return 0;
}

/* ---- sh ---- */

struct sh_ctx {
    struct engine *e;
    char *last; /* last non-empty stdout line, trimmed */
};

static void
sh_line(enum shell_stream stream, const char *line, void *payload)
{
    struct sh_ctx *c = payload;
    struct engine *e = c->e;

    if (stream == SHELL_STDOUT) {
        char *t = trim_dup(line);

        if (t[0] != '\0') {
            free(c->last);
            c->last = t;
        } else {
            free(t);
        }
    }
    if (e->record_rc == 0)
        engine_output(e, line, NULL); // a failure is kept in e->record_rc
}

static bool
sh_tick(void *payload)
{
    struct sh_ctx *c = payload;

    return engine_should_stop(c->e);
}

/* A crash from here on leaves the group running: note it for the resume to stop. */
static void
sh_started(int pgid, void *payload)
{
    struct sh_ctx *c = payload;
    struct pd_err err = {0};
    char *path = engine_group_note_path(c->e);

    if (path != NULL && shell_group_note(path, pgid, &err) != 0)
        pd_log(PD_LOG_WARN, "engine: %s", err.msg);
    free(path);
}

/*
 * The script's extra environment: PGDRILL_DRILL_ID, and each variable named
 * in env=a,b exported under its own name (an alternative to splicing).
 */
static int
sh_env(struct engine *e, char ***out, size_t *n_out, struct pd_err *err)
{
    const char *list = runbook_step_attr(e->step, "env");
    char **env = pd_xcalloc(1, sizeof(*env));
    size_t n = 0;
    int rc = 0;

    env[n++] = pd_xasprintf("PGDRILL_DRILL_ID=%s", e->drill->id ? e->drill->id : "");
    env = pd_xrealloc(env, 2 * sizeof(*env));
    env[n++] = pd_xasprintf("PGDRILL_DRILL_DIR=%s", e->drill->dir ? e->drill->dir : "");
    while (list != NULL && *list) {
        size_t len = strcspn(list, ", ");

        if (len > 0) {
            char *name = pd_xstrndup(list, len);
            const char *v = engine_lookup(e, name);

            if (v == NULL) {
                rc = PD_ERR_SET(err, PD_EINPUT, "undefined variable '%s'", name);
                free(name);
                break;
            }
            env = pd_xrealloc(env, (n + 1) * sizeof(*env));
            env[n++] = pd_xasprintf("%s=%s", name, v);
            free(name);
        }
        list += len;
        list += strspn(list, ", ");
    }
    if (rc != 0) {
        engine_strv_free(env, n);
        return rc;
    }
    *out = env;
    *n_out = n;
    return 0;
}

int
engine_run_sh(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    const char *save = runbook_step_attr(step, "save");
    struct sh_ctx c = {.e = e};
    struct shell_result sr;
    struct shell_opts o = {0};
    char *script = NULL;
    char **env = NULL;
    size_t n_env = 0;
    char human[32];
    int timeout_s, rc;

    rc = attr_duration(step, "timeout", e->opts.sh_timeout_s, &timeout_s, err);
    if (rc != 0)
        return rc;
    rc = engine_expand(e, &script, step->body, true, err);
    if (rc != 0)
        return rc;
    rc = sh_env(e, &env, &n_env, err);
    if (rc != 0)
        goto out;
    o.script = script;
    o.env = (const char *const *)env;
    o.n_env = n_env;
    o.timeout_s = timeout_s;
    o.line = sh_line;
    o.tick = sh_tick;
    o.started = sh_started;
    o.payload = &c;
    rc = shell_run(&o, &sr, err);
    {
        char *note = engine_group_note_path(e);

        if (note != NULL)
            shell_group_forget(note);
        free(note);
    }
    if (rc != 0)
        goto out;
    res->exit_code = sr.exit_code;
    if (sr.interrupted) {
        rc = PD_ERR_SET(err, PD_EINTR, "sh: interrupted");
        goto out;
    }
    if (sr.timed_out) {
        pd_time_human(human, sizeof(human), (double)timeout_s);
        res->summary = pd_xasprintf("timed out after %s", human);
        rc = PD_ERR_SET(err, PD_ECHECK, "sh: timed out after %s", human);
        goto out;
    }
    if (sr.signal != 0) {
        res->summary = pd_xasprintf("killed by signal %d", sr.signal);
        rc = PD_ERR_SET(err, PD_ECHECK, "sh: killed by signal %d", sr.signal);
        goto out;
    }
    if (sr.exit_code > 128 && sr.exit_code <= 128 + 64) {
        // the shell outlives a command a signal killed (OOM, a crash): say which
        res->summary = pd_xasprintf("exit %d (128+%d: a command was killed by signal %d)",
                                    sr.exit_code, sr.exit_code - 128, sr.exit_code - 128);
        rc = PD_ERR_SET(err, PD_ECHECK, "sh: %s", res->summary);
        goto out;
    }
    if (sr.exit_code != 0) {
        res->summary = pd_xasprintf("exit %d", sr.exit_code);
        rc = PD_ERR_SET(err, PD_ECHECK, "sh: exit %d", sr.exit_code);
        goto out;
    }
    if (save != NULL) {
        if (c.last == NULL) {
            res->summary = pd_xasprintf("exit 0, nothing to save in '%s'", save);
            rc = PD_ERR_SET(err, PD_ECHECK, "sh: save=%s: the script printed nothing", save);
            goto out;
        }
        rc = engine_set_var(e, save, c.last, err);
        if (rc != 0)
            goto out;
    }
    res->summary = pd_xstrdup("exit 0");
out:
    free(c.last);
    engine_strv_free(env, n_env);
    free(script);
    return rc;
}

/* ---- sql and check ---- */

static int
get_conn(struct engine *e, struct pg_conn **out, const char *url_attr, struct pd_err *err)
{
    char *url = NULL;
    int rc = engine_expand(e, &url, url_attr ? url_attr : "${DATABASE_URL}", false, err);

    *out = NULL;
    if (rc != 0)
        return rc;
    if (url[0] == '\0') {
        free(url);
        return PD_ERR_SET(err, PD_EINPUT, "no database URL: %s is empty",
                          url_attr ? url_attr : "DATABASE_URL");
    }
    for (size_t i = 0; i < e->n_conns; i++) {
        if (strcmp(e->conns[i].url, url) == 0) {
            *out = e->conns[i].conn;
            free(url);
            return 0;
        }
    }
    rc = pg_connect(out, url, err);
    if (rc != 0) {
        free(url);
        return rc;
    }
    e->conns = pd_xrealloc(e->conns, (e->n_conns + 1) * sizeof(*e->conns));
    e->conns[e->n_conns].url = url;
    e->conns[e->n_conns].conn = *out;
    e->n_conns++;
    return 0;
}

/* After a service failure the connection may be dead: reconnect next time. */
static void
drop_conn(struct engine *e, struct pg_conn *conn)
{
    for (size_t i = 0; i < e->n_conns; i++) {
        if (e->conns[i].conn != conn)
            continue;
        pg_conn_free(conn);
        free(e->conns[i].url);
        e->conns[i] = e->conns[--e->n_conns];
        return;
    }
}

void
engine_conns_reset(struct engine *e)
{
    for (size_t i = 0; i < e->n_conns; i++) {
        pg_conn_free(e->conns[i].conn);
        free(e->conns[i].url);
    }
    PD_FREE(e->conns);
    e->n_conns = 0;
}

void
engine_conns_free(struct engine *e)
{
    engine_conns_reset(e);
    // engine_free's only call into this file: the audit log goes with the connections
    audit_close(e->audit);
    e->audit = NULL;
}

static bool
query_tick(void *payload)
{
    return engine_should_stop(payload);
}

static int
run_query(struct engine *e, struct pg_result **out, bool read_only, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    struct pg_conn *conn = NULL;
    struct pg_query_opts qo = {.read_only = read_only, .tick = query_tick, .payload = e};
    char *sql = NULL;
    char **params = NULL;
    size_t n_params = 0;
    int timeout_s = 0, rc;

    *out = NULL;
    rc = attr_duration(step, "timeout", 0, &timeout_s, err);
    if (rc != 0)
        return rc;
    // clamp: a duration past INT_MAX ms (24 days) is "no practical limit", not an overflow
    if (timeout_s > INT_MAX / 1000)
        timeout_s = INT_MAX / 1000;
    qo.timeout_ms = timeout_s > 0 ? timeout_s * 1000 : e->opts.statement_timeout_ms;
    rc = engine_export_bind(e, &sql, &params, &n_params, step->body, err);
    if (rc != 0)
        return rc;
    rc = get_conn(e, &conn, runbook_step_attr(step, "url"), err);
    if (rc == 0) {
        rc = pg_query(conn, out, sql, (const char *const *)params, n_params, &qo, err);
        if (rc == PD_ESERVICE)
            drop_conn(e, conn);
    }
    engine_strv_free(params, n_params);
    free(sql);
    return rc;
}

static int
show_rows(struct engine *e, const struct pg_result *r, struct pd_err *err)
{
    size_t rows = pg_result_rows(r), cols = pg_result_cols(r);
    struct pd_buf b;
    int rc = 0;

    if (cols == 0)
        return engine_output(e, pg_result_command(r), err);
    pd_buf_init(&b, 0);
    for (size_t i = 0; i <= rows && i <= ENGINE_SQL_ROWS_MAX && rc == 0; i++) {
        pd_buf_reset(&b);
        for (size_t j = 0; j < cols; j++) {
            const char *v = i == 0 ? pg_result_colname(r, j) : pg_result_value(r, i - 1, j);

            pd_buf_appendf(&b, NULL, "%s%s", j ? " | " : "", v ? v : "NULL");
        }
        rc = engine_output(e, pd_buf_str(&b), err);
    }
    pd_buf_free(&b);
    if (rc == 0 && rows > ENGINE_SQL_ROWS_MAX) {
        char more[64];

        snprintf(more, sizeof(more), "\u2026 %zu more rows", rows - ENGINE_SQL_ROWS_MAX);
        rc = engine_output(e, more, err);
    }
    if (rc == 0) {
        char n[64];

        snprintf(n, sizeof(n), "(%zu row%s)", rows, rows == 1 ? "" : "s");
        rc = engine_output(e, n, err);
    }
    return rc;
}

static int
sql_once(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const char *save = runbook_step_attr(e->step, "save");
    struct pg_result *r = NULL;
    int rc;

    if (engine_is_transfer(e->step))
        return engine_run_transfer(e, res, err); // export=/import=: export.c
    rc = run_query(e, &r, attr_yes(e->step, "readonly", true), err);
    if (rc != 0)
        return rc;
    rc = show_rows(e, r, err);
    if (rc == 0 && save != NULL) {
        const char *v;

        if (pg_result_rows(r) == 0 || pg_result_cols(r) == 0) {
            rc = PD_ERR_SET(err, PD_ECHECK, "sql: save=%s: the query returned no rows", save);
            goto out;
        }
        v = pg_result_value(r, 0, 0);
        rc = engine_set_var(e, save, v ? v : "", err);
    }
    if (rc == 0)
        res->summary = pg_result_cols(r) > 0 ? pd_xasprintf("%zu row%s", pg_result_rows(r),
                                                            pg_result_rows(r) == 1 ? "" : "s")
                                             : pd_xstrdup(pg_result_command(r));
out:
    pg_result_free(r);
    return rc;
}

int
engine_run_sql(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    int rc = sql_once(e, res, err);

    // a failed statement has no exit status of its own: the step's is 1
    if (rc != 0 && res->exit_code == 0)
        res->exit_code = 1;
    return rc;
}

static const char *
expect_lookup(const char *name, void *payload)
{
    return engine_lookup(payload, name);
}

static int
record_check(struct engine *e, const char *name, const char *expected, const char *observed,
             bool passed, struct pd_err *err)
{
    char *body = rtrim_dup(e->step->body);
    char *sql = pd_redact(body);
    char *obs = pd_redact(observed);
    struct drill_event ev = {
        .type = DRILL_EV_CHECK,
        .stage = e->si,
        .step = e->ti,
        .name = name,
        .sql = sql,
        .expected = expected,
        .observed = obs,
        .passed = passed,
    };
    char *line =
        passed ? pd_xasprintf("check %s: passed (observed %s, expected %s)", name, obs, expected)
               : pd_xasprintf("check %s: FAILED (observed %s, expected %s)", name, obs, expected);
    int rc = engine_output(e, line, err);

    if (rc == 0)
        rc = engine_record(e, &ev, err);
    free(line);
    free(sql);
    free(body);
    free(obs);
    return rc;
}

/* A check's evaluation of its result: what it observed, whether it passed and why not. */
struct check_eval {
    struct engine *e;
    const struct expect *x;
    struct pd_buf obs; /* "3 rows", "42", "a=1, b=2" */
    struct pd_buf why; /* the failed expectations */
    bool passed;
};

/* One value (NULL: the row count only) against the expectation; label names its row. */
static int
check_value(struct check_eval *c, const char *v, long rows, const char *label, struct pd_err *err)
{
    struct pd_err eerr = {0};
    int erc = expect_eval(c->x, v, rows, expect_lookup, c->e, &eerr);

    if (erc == PD_EINPUT)
        return PD_ERR_SET(err, PD_EINPUT, "%s", eerr.msg);
    if (erc == 0)
        return 0;
    c->passed = false;
    if (label != NULL)
        pd_buf_appendf(&c->why, NULL, "%s%s: %s", c->why.len ? "; " : "", label, eerr.msg);
    else
        pd_buf_appendf(&c->why, NULL, "%s", eerr.msg);
    return 0;
}

/* The result against the expectation: the row count, one value, or every row's last column. */
static int
check_result(struct check_eval *c, const struct pg_result *r, struct pd_err *err)
{
    size_t rows = pg_result_rows(r), cols = pg_result_cols(r);

    if (c->x->kind == EXPECT_ROWS) {
        pd_buf_appendf(&c->obs, NULL, "%zu rows", rows);
        return check_value(c, NULL, (long)rows, NULL, err);
    }
    if (rows <= 1 && cols <= 1) {
        const char *v = rows == 1 && cols == 1 ? pg_result_value(r, 0, 0) : NULL;

        pd_buf_appendf(&c->obs, NULL, "%s", v ? v : "NULL");
        return check_value(c, v, (long)rows, NULL, err);
    }
    // label (first column) = value (last column), every row must pass
    for (size_t i = 0; i < rows; i++) {
        const char *label = cols > 1 ? pg_result_value(r, i, 0) : NULL;
        const char *v = pg_result_value(r, i, cols - 1);
        char rowname[32];
        int rc;

        if (cols == 1) {
            snprintf(rowname, sizeof(rowname), "row %zu", i + 1);
            label = rowname;
        }
        pd_buf_appendf(&c->obs, NULL, "%s%s=%s", i ? ", " : "", label ? label : "NULL",
                       v ? v : "NULL");
        rc = check_value(c, v, (long)rows, label ? label : "NULL", err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * A check: run its query read-only, show a result larger than one value,
 * evaluate it, record the check (also when the query could not run),
 * keep baseline= and pass or fail the step.
 */
int
engine_run_check(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    const char *name = runbook_step_attr(step, "name");
    const char *expect_text = runbook_step_attr(step, "expect");
    const char *baseline = runbook_step_attr(step, "baseline");
    struct check_eval c = {.e = e, .passed = true};
    struct expect *x = NULL;
    struct pg_result *r = NULL;
    int rc;

    pd_buf_init(&c.obs, 0);
    pd_buf_init(&c.why, 0);
    if (name == NULL)
        name = step->id;
    rc = expect_parse(&x, expect_text ? expect_text : "", err);
    if (rc != 0)
        goto out;
    c.x = x;
    rc = run_query(e, &r, true, err);
    if (rc == PD_EINTR)
        goto out;
    if (rc != 0) {
        // the report shows a check that could not run, with why
        char *o = pd_xasprintf("error: %s", err->msg);
        struct pd_err rerr = {0};
        int rc2 = record_check(e, name, x->text, o, false, &rerr);

        free(o);
        if (rc2 != 0) {
            *err = rerr;
            rc = rc2;
        }
        goto out;
    }
    // a result larger than one value is shown as the sql step shows it
    if (pg_result_rows(r) > 1 || pg_result_cols(r) > 1) {
        rc = show_rows(e, r, err);
        if (rc != 0)
            goto out;
    }
    rc = check_result(&c, r, err);
    if (rc == 0)
        rc = record_check(e, name, x->text, pd_buf_str(&c.obs), c.passed, err);
    if (rc == 0 && baseline != NULL)
        rc = engine_set_var(e, baseline, pd_buf_str(&c.obs), err);
    if (rc != 0)
        goto out;
    if (c.passed) {
        res->summary = pd_xasprintf("observed %s, expected %s", pd_buf_str(&c.obs), x->text);
    } else {
        res->exit_code = 1;
        res->summary = pd_redact(pd_buf_str(&c.why));
        rc = PD_ERR_SET(err, PD_ECHECK, "check %s: %s", name, pd_buf_str(&c.why));
    }
out:
    pd_buf_free(&c.obs);
    pd_buf_free(&c.why);
    pg_result_free(r);
    expect_free(x);
    return rc;
}

/* ---- operator actions ---- */

static bool
is_production(const char *env)
{
    return env != NULL && strcasecmp(env, "production") == 0;
}

static bool
production(const struct engine *e)
{
    const struct runbook_step *rs;
    size_t si = e->si >= 0 ? (size_t)e->si : 0;

    // any runbook on the chain that runs this step saying production makes it production:
    // lint holds them equal, this holds even where it did not
    if (is_production(e->rb->environment))
        return true;
    while (e->si >= 0 && (rs = runbook_stage_parent(e->rb, si, &si)) != NULL)
        if (rs->child != NULL && is_production(rs->child->environment))
            return true;
    return false;
}

static int
confirm_once(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    bool destructive = attr_yes(step, "destructive", false);
    char *target = NULL, *body = NULL, *message = NULL, *typed = NULL, *shown = NULL;
    struct engine_confirm c = {.stage = e->stage, .step = step, .destructive = destructive};
    int rc;

    rc = engine_expand(e, &target, runbook_step_attr(step, "target"), false, err);
    if (rc != 0)
        goto out;
    rc = engine_expand(e, &body, step->body, false, err);
    if (rc != 0)
        goto out;
    {
        char *trimmed = rtrim_dup(body);

        message = pd_redact(trimmed);
        free(trimmed);
    }
    shown = pd_redact(target);
    c.message = message;
    c.target = target;
    // --yes never stands in for typing a destructive target in production
    if (e->opts.yes && !(destructive && production(e))) {
        rc = engine_output(e, "confirmed by --yes", err);
        if (rc == 0)
            res->summary = pd_xasprintf("'%s' confirmed by --yes", shown);
        goto out;
    }
    if (e->ev.confirm_typed == NULL && e->ev.confirm_needed == NULL) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "confirm: the operator must type '%s'%s: run it interactively", shown,
                        destructive && production(e) ? " (destructive in production, --yes "
                                                       "does not apply)"
                                                     : " or pass --yes");
        goto out;
    }
    rc = engine_confirm_ask(e, &c, &typed, err);
    if (rc != 0)
        goto out;
    if (typed != NULL && strcmp(typed, target) != 0) {
        char *t = pd_redact(typed);

        res->summary = pd_xasprintf("typed '%s', expected '%s'", t, shown);
        rc = PD_ERR_SET(err, PD_ECHECK, "confirm: typed '%s' does not match '%s'", t, shown);
        free(t);
        goto out;
    }
    res->summary = pd_xasprintf("'%s' confirmed", shown);
out:
    free(typed);
    free(shown);
    free(message);
    free(body);
    free(target);
    return rc;
}

int
engine_run_confirm(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    int rc = confirm_once(e, res, err);

    if (rc != 0 && res->exit_code == 0)
        res->exit_code = 1;
    return rc;
}

int
engine_run_input(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    const char *name = runbook_step_attr(step, "name");
    const char *type_name = runbook_step_attr(step, "type");
    const char *choices_attr = runbook_step_attr(step, "choices");
    const char *dflt = runbook_step_attr(step, "default");
    int type = engine_input_type(type_name);
    char **choices = NULL;
    size_t n_choices = 0;
    char *question = NULL, *value = NULL, *shown = NULL;
    struct engine_prompt p = {.stage = e->stage, .step = step, .action = STEP_INPUT};
    int rc = 0;

    if (name == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "input: missing required attribute 'name'");
    if (type < 0)
        return PD_ERR_SET(err, PD_EINPUT, "input: unknown type '%s'", type_name);
    if (choices_attr != NULL) {
        const char *s = choices_attr;

        type = INPUT_CHOICE;
        while (*s) {
            size_t n = strcspn(s, "|");

            choices = pd_xrealloc(choices, (n_choices + 1) * sizeof(*choices));
            choices[n_choices++] = pd_xstrndup(s, n);
            s += n;
            if (*s == '|')
                s++;
        }
    }
    rc = engine_expand(e, &value, step->body, false, err);
    if (rc != 0)
        goto out;
    question = rtrim_dup(value);
    PD_FREE(value);
    p.name = name;
    p.question = question[0] ? question : name;
    p.type = (enum input_type)type;
    p.choices = (const char *const *)choices;
    p.n_choices = n_choices;
    p.default_value = dflt;
    rc = engine_obtain_input(e, &p, runbook_step_attr(step, "pattern"), dflt == NULL, &value, err);
    if (rc != 0)
        goto out;
    rc = engine_set_var(e, name, value, err);
    if (rc != 0)
        goto out;
    shown = pd_redact(value);
    res->summary = pd_xasprintf("%s = %s", name, shown);
    rc = engine_output(e, res->summary, err);
out:
    free(shown);
    free(value);
    free(question);
    engine_strv_free(choices, n_choices);
    return rc;
}

int
engine_run_note(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    const char *name = runbook_step_attr(step, "name");
    const char *given = name ? engine_opt_var(e, name) : NULL;
    char *body = NULL, *question = NULL, *text = NULL;
    struct engine_prompt p = {
        .stage = e->stage, .step = step, .action = STEP_NOTE, .name = name, .type = INPUT_TEXT};
    int rc;

    rc = engine_expand(e, &body, step->body, false, err);
    if (rc != 0)
        return rc;
    question = rtrim_dup(body);
    p.question = question;
    if (given != NULL)
        text = pd_xstrdup(given);
    else if (e->ev.prompt_needed != NULL)
        rc = engine_ask(e, &p, &text, err);
    if (rc == 0 && text != NULL && text[0] != '\0') {
        // kind=issue lands in the report's issues, kind=follow-up in its follow-ups
        const char *kind = runbook_step_attr(step, "kind");
        bool issue = kind != NULL && strcmp(kind, "issue") == 0;
        bool follow_up = kind != NULL && strcmp(kind, "follow-up") == 0;
        char *r = pd_redact(text);
        struct drill_event ev = {.type = issue ? DRILL_EV_ISSUE : DRILL_EV_NOTE,
                                 .stage = e->si,
                                 .step = e->ti,
                                 .text = r};

        if (follow_up) {
            char *f = pd_xasprintf(DRILL_FOLLOW_UP_PREFIX "%s", r);

            free(r);
            r = f;
            ev.text = r;
        }

        rc = engine_record(e, &ev, err);
        free(r);
        res->summary = pd_xstrdup("note recorded");
    } else if (rc == 0) {
        res->summary = pd_xstrdup("no note");
    }
    free(text);
    free(question);
    free(body);
    return rc;
}

/* A manual step: the body is an instruction and the operator says whether it is done. */
static int
run_manual(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    char *body = NULL, *question = NULL, *answer = NULL;
    struct engine_prompt p = {
        .stage = e->stage, .step = step, .action = step->action, .type = INPUT_TEXT};
    int rc;

    rc = engine_expand(e, &body, step->body, false, err);
    if (rc != 0)
        return rc;
    question = rtrim_dup(body);
    free(body);
    p.question = question;
    // --yes answers "done" for the operator, whether or not a front end could ask
    if (e->opts.yes || e->ev.prompt_needed == NULL) {
        if (e->opts.yes) {
            res->summary = pd_xstrdup("done (--yes)");
        } else {
            rc =
                PD_ERR_SET(err, PD_EINPUT,
                           "manual step: the operator must do it; run interactively or pass --yes");
        }
        free(question);
        return rc;
    }
    rc = engine_ask(e, &p, &answer, err);
    if (rc == 0) {
        char *a = trim_dup(answer);

        if (a[0] == '\0' || strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0 ||
            strcasecmp(a, "done") == 0) {
            res->summary = pd_xstrdup("done");
        } else {
            res->exit_code = 1;
            res->summary = pd_xstrdup("not done");
            rc = PD_ERR_SET(err, PD_ECHECK, "manual step not done");
        }
        free(a);
    }
    free(answer);
    free(question);
    return rc;
}

/* ---- audit ---- */

/*
 * Open $PGDRILL_HOME/audit.log (home is the drill folder's grandparent,
 * HOME/drills/ID) before the first audited action: an action that cannot be
 * audited must not run.
 */
int
engine_audit_ensure(struct engine *e, struct pd_err *err)
{
    char *home;
    char *slash;
    int rc;

    if (e->audit != NULL)
        return 0;
    if (e->drill->dir == NULL)
        return PD_ERR_SET(err, PD_EBUG, "engine: the drill has no folder for the audit log");
    home = pd_xstrdup(e->drill->dir);
    for (int i = 0; i < 2; i++) {
        slash = strrchr(home, '/');
        if (slash == NULL || slash == home) {
            free(home);
            return PD_ERR_SET(err, PD_EBUG, "engine: drill folder %s is not HOME/drills/ID",
                              e->drill->dir);
        }
        *slash = '\0';
    }
    rc = audit_open(&e->audit, home, e->drill->operator_name, err);
    free(home);
    return rc;
}

/* The database a sql or check step talks to, as "postgres://host:port/db". */
static char *
audit_db_target(struct engine *e)
{
    const char *url_attr = runbook_step_attr(e->step, "url");
    struct pd_err xerr = {0};
    char *url = NULL, *t;

    if (engine_expand(e, &url, url_attr ? url_attr : "${DATABASE_URL}", false, &xerr) != 0)
        return NULL;
    for (size_t i = 0; i < e->n_conns; i++) {
        if (strcmp(e->conns[i].url, url) == 0) {
            // what libpq actually connected to (PG* variables applied)
            t = pd_xasprintf("postgres://%s", pg_conn_target(e->conns[i].conn));
            memset(url, 0, strlen(url));
            free(url);
            return t;
        }
    }
    t = audit_target_of_url(url);
    memset(url, 0, strlen(url));
    free(url);
    return t;
}

/* Add argument key = str, a string the record owns (freed with it). */
static void
audit_add_owned(struct engine_audit *a, const char *key, char *str)
{
    PD_ASSERT(a->n < ENGINE_AUDIT_ARGS_MAX);
    a->owned[a->n] = str;
    a->args[a->n] = (struct audit_arg){.key = key, .str = str};
    a->n++;
}

static void
audit_add(struct engine_audit *a, struct audit_arg arg)
{
    PD_ASSERT(a->n < ENGINE_AUDIT_ARGS_MAX);
    a->args[a->n++] = arg;
}

/* The first argument of every record: which step. */
static void
audit_begin(struct engine_audit *a, const struct engine *e, const char *action)
{
    const struct runbook_step *step = e->step;

    snprintf(a->action, sizeof(a->action), "%s", action);
    audit_add(a, (struct audit_arg){.key = "step", .str = step->id ? step->id : ""});
}

static void
audit_body_sha(struct engine_audit *a, const struct runbook_step *step)
{
    pd_sha256_hex(a->body_sha, step->body ? step->body : "", step->body ? strlen(step->body) : 0);
}

void
engine_audit_sh(struct engine *e, const struct engine_step_result *res, struct engine_audit *out)
{
    audit_begin(out, e, "sh");
    audit_body_sha(out, e->step);
    audit_add(out, (struct audit_arg){.key = "script_sha256", .str = out->body_sha});
    audit_add(out, (struct audit_arg){.key = "exit_code", .num = res->exit_code});
}

void
engine_audit_sql(struct engine *e, const struct engine_step_result *res, struct engine_audit *out)
{
    (void)res;
    audit_begin(out, e, "sql");
    audit_body_sha(out, e->step);
    audit_add(out, (struct audit_arg){.key = "sql_sha256", .str = out->body_sha});
    out->target = audit_db_target(e);
}

void
engine_audit_check(struct engine *e, const struct engine_step_result *res, struct engine_audit *out)
{
    const char *name = runbook_step_attr(e->step, "name");

    (void)res;
    audit_begin(out, e, "check");
    audit_body_sha(out, e->step);
    audit_add(out, (struct audit_arg){.key = "check", .str = name ? name : e->step->id});
    audit_add(out, (struct audit_arg){.key = "sql_sha256", .str = out->body_sha});
    out->target = audit_db_target(e);
}

void
engine_audit_neon(struct engine *e, const struct engine_step_result *res, struct engine_audit *out)
{
    // what was asked of which project; the attributes hold no secrets
    static const char *const keys[] = {"branch", "parent", "timestamp", "lsn", "name"};
    const struct runbook_step *step = e->step;
    const char *op = runbook_step_attr(step, "op");
    char action[64];

    (void)res;
    snprintf(action, sizeof(action), "neon.%s", op ? op : "?");
    audit_begin(out, e, action);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = runbook_step_attr(step, keys[i]);
        char *x = NULL;
        struct pd_err xerr = {0};

        if (v == NULL)
            continue;
        // as the step used them; an unexpandable value is recorded as written
        audit_add_owned(out, keys[i],
                        engine_expand(e, &x, v, false, &xerr) == 0 ? pd_redact(x) : pd_xstrdup(v));
        free(x);
    }
    out->target = neon_audit_target(getenv("NEON_API_HOST"), getenv("NEON_PROJECT_ID"));
}

void
engine_audit_s3(struct engine *e, const struct engine_step_result *res, struct engine_audit *out)
{
    // which object; for a restore also which database (host, port, name: no password)
    const char *url = runbook_step_attr(e->step, "url");
    const char *op = runbook_step_attr(e->step, "op");
    char action[64];

    (void)res;
    snprintf(action, sizeof(action), "s3.%s", op ? op : "?");
    audit_begin(out, e, action);
    if (url != NULL) {
        char *x = NULL;
        struct pd_err xerr = {0};

        if (engine_expand(e, &x, url, false, &xerr) == 0) {
            audit_add_owned(out, "database", audit_target_of_url(x));
            memset(x, 0, strlen(x));
        }
        free(x);
    }
    out->target = engine_s3_audit_target(e);
}

void
engine_audit_compliance(struct engine *e, const struct engine_step_result *res,
                        struct engine_audit *out)
{
    // what was judged; the S3 location when the step listed one (no secrets)
    const char *check = runbook_step_attr(e->step, "check");
    const char *uri = runbook_step_attr(e->step, "uri");

    (void)res;
    audit_begin(out, e, "compliance");
    audit_add(out, (struct audit_arg){.key = "check", .str = check ? check : ""});
    if (uri != NULL) {
        char *x = NULL;
        struct pd_err xerr = {0};

        out->target = engine_expand(e, &x, uri, false, &xerr) == 0 ? pd_redact(x) : pd_xstrdup(uri);
        free(x);
    }
}

void
engine_audit_rows(struct engine *e, const struct engine_step_result *res, struct engine_audit *out)
{
    // which table, how, into which database (host, port, name: no password)
    static const char *const keys[] = {"table", "mode", "preview", "delete-inserted"};

    (void)res;
    audit_begin(out, e, "rows");
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = runbook_step_attr(e->step, keys[i]);
        char *x = NULL;
        struct pd_err xerr = {0};

        if (v == NULL)
            continue;
        audit_add_owned(out, keys[i],
                        engine_expand(e, &x, v, false, &xerr) == 0 ? pd_redact(x) : pd_xstrdup(v));
        free(x);
    }
    out->target = audit_db_target(e);
}

void
engine_audit_runbook(struct engine *e, const struct engine_step_result *res,
                     struct engine_audit *out)
{
    // which runbook ran inside this drill; its own steps are audited one by one
    const char *name = runbook_step_attr(e->step, "name");

    (void)res;
    audit_begin(out, e, "runbook");
    audit_add(out, (struct audit_arg){.key = "runbook", .str = name ? name : ""});
}

/*
 * Record the step's action once it completed (rc its result), as the
 * action's row describes it. A failed record fails the step with PD_EIO,
 * whatever the action's own result.
 */
static int
audit_step(struct engine *e, const struct engine_action *act, struct engine_step_result *res,
           int rc, struct pd_err *err)
{
    struct engine_audit a;
    struct pd_err aerr = {0};
    int arc;

    memset(&a, 0, sizeof(a));
    act->audit(e, res, &a);
    arc = audit_record(e->audit, e->drill->id, a.action, a.target, a.args, a.n,
                       rc == 0 ? NULL : err->msg, &aerr);
    free(a.target);
    for (size_t i = 0; i < ENGINE_AUDIT_ARGS_MAX; i++)
        free(a.owned[i]);
    if (arc == 0)
        return rc;
    if (rc != 0)
        pd_err_prefix(&aerr, "%s; and ", err->msg);
    *err = aerr;
    free(res->summary);
    res->summary = pd_redact(aerr.msg);
    if (res->exit_code == 0)
        res->exit_code = 1;
    return PD_EIO;
}

/* ---- the table: the engine's part of each action's row ---- */

static const struct engine_action action_table[STEP_ACTION_COUNT] = {
    [STEP_SH] = {.run = engine_run_sh, .audit = engine_audit_sh},
    [STEP_SQL] = {.run = engine_run_sql, .audit = engine_audit_sql},
    [STEP_CHECK] = {.run = engine_run_check, .audit = engine_audit_check},
    [STEP_CONFIRM] = {.run = engine_run_confirm},
    [STEP_INPUT] = {.run = engine_run_input},
    [STEP_NOTE] = {.run = engine_run_note},
    [STEP_NEON] = {.run = engine_run_neon, .audit = engine_audit_neon},
    [STEP_S3] = {.run = engine_run_s3, .audit = engine_audit_s3},
    [STEP_COMPLIANCE] = {.run = engine_run_compliance, .audit = engine_audit_compliance},
    [STEP_ROWS] = {.run = engine_run_rows, .audit = engine_audit_rows},
    [STEP_RUNBOOK] = {.run = engine_run_runbook, .audit = engine_audit_runbook},
};

const struct engine_action *
engine_action(enum step_action a)
{
    if ((int)a < 0 || a >= STEP_ACTION_COUNT)
        return NULL;
    return &action_table[a];
}

/*
 * Run the current step once through its action's rows: a manual step is the
 * operator's to do, an operator's own step (confirm, input, note) is not
 * audited, every other action is audited once it completed.
 */
int
engine_action_run(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    const struct runbook_action *row = runbook_action(step->action);
    const struct engine_action *act = engine_action(step->action);
    int rc;

    if (row == NULL || act == NULL || act->run == NULL)
        return PD_ERR_SET(err, PD_EBUG, "engine: unknown action %d", (int)step->action);
    if (step->manual && !row->asks_operator)
        return run_manual(e, res, err);
    if (act->audit == NULL)
        return act->run(e, res, err);
    rc = engine_audit_ensure(e, err);
    if (rc != 0)
        return rc;
    rc = act->run(e, res, err);
    // a step that failed without an exit status of its own (an API call, a
    // check, a copy) exits 1; an interrupted one keeps what it had
    if (rc != 0 && rc != PD_EINTR && res->exit_code == 0)
        res->exit_code = 1;
    return audit_step(e, act, res, rc, err);
}
