/*
 * engine rows: the `rows` action, which puts the rows of a table (or of a
 * range of it) back from a branch at a restore point into a database,
 * typically production.
 *
 * The rows travel with COPY only, never through a local file: the branch's
 * COPY (SELECT cols FROM table WHERE ...) TO STDOUT feeds production's COPY
 * pg_temp.rows_rp FROM STDIN (pg_copy_between), in the one transaction on
 * production that also applies them. In undo mode a second branch, at the
 * end of the incident, is staged the same way into pg_temp.rows_ie.
 *
 * Rows are matched by the table's primary key, else by a unique index
 * without expressions or predicate over NOT NULL columns; a table with
 * neither is refused. Rows are compared by their binary image (record *=),
 * which works for every type, json included. pg_temp.rows_class then holds,
 * for every key whose row differs somewhere, whether it is at the restore
 * point, in production and at the incident's end, which of those versions
 * are equal, and what the mode does with it:
 *
 *   missing  insert where production lost the row; a changed row is left
 *   revert   also put a changed row back to its restore-point version
 *   undo     only what the incident did, where production still holds it
 *            as the incident left it: re-insert what it deleted, revert what
 *            it changed, list what it inserted ("delete" when delete=yes);
 *            a row changed again since is a "conflict", left alone
 *
 * Rows production gained since the restore point are never touched (except
 * the incident's own inserts in undo with delete=yes). preview=yes stops
 * there and rolls back; otherwise the table is locked against writers
 * (SHARE ROW EXCLUSIVE: readers go on), foreign keys are checked before any
 * change (a restored row whose parent is missing refuses the whole step and
 * names the parent table), rows are deleted, reverted and inserted, each
 * sequence of the table is moved forward to max(column) when it is behind
 * (never backwards), and the transaction commits.
 *
 * The WHERE condition of a range is the step's body. Its ${vars} are bind
 * parameters on production; COPY takes no parameters, so on a branch each
 * value is first set with set_config($1) and the condition reads it with
 * current_setting(): the operator's values never become SQL text. Values
 * in the condition therefore need a cast (${range_start}::timestamptz).
 * Identifiers are quoted: the table by engine_quote_table, columns by the
 * server's quote_ident.
 *
 * Only counts and keys are shown, journaled and saved, never row data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/engine.intern.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pg/pg.h"

/* Sample keys shown and saved per kind of row. */
#define ROWS_SAMPLES 5

enum rows_mode {
    ROWS_MISSING,
    ROWS_REVERT,
    ROWS_UNDO,
};

static const char *const mode_names[] = {"missing", "revert", "undo"};

/* What the counts query returns, in its column order: one figure per fact. */
enum rows_count {
    C_MISSING,      /* at the restore point, gone from production */
    C_CHANGED,      /* in both, different: what revert would put back */
    C_ACT_INSERT,   /* the chosen mode: rows it inserts */
    C_ACT_REVERT,   /* ... reverts */
    C_ACT_DELETE,   /* ... deletes (undo: incident inserts, when asked) */
    C_ACT_INSERTED, /* ... keeps although the incident inserted them (undo) */
    C_ACT_CONFLICT, /* ... leaves alone as conflicts */
    C_ACT_LEFT,     /* ... leaves alone as changed since (missing mode, undo) */
    C_COUNT,
};

struct rows_run {
    struct engine *e;
    struct engine_step_result *res;
    struct pg_conn *prod, *rp, *ie;
    char *table, *qtable;
    enum rows_mode mode;
    bool preview, delete_inserted;
    char **cols; /* quoted, every column */
    bool *generated;
    size_t n_cols;
    char **keys; /* quoted key columns */
    size_t n_keys;
    char *cond;      /* the body with $N parameters, NULL for the whole table */
    char *cond_copy; /* the body reading current_setting() */
    char **params;
    size_t n_params;
    bool in_tx;
    unsigned long long staged_rp, staged_ie, added, fk_missing, seq_moved;
    unsigned long long n[C_COUNT];
    struct pd_buf keys_missing, keys_changed, keys_added, keys_conflict, keys_inserted;
    struct pd_buf cols_gone; /* the branch's columns production lacks: "a, b" */
    struct pd_buf children;  /* the tables whose foreign keys reference this one: "a, b" */
};

/* ---- small SQL builders ---- */

/* "a.c1, a.c2" over the columns (without generated ones when skip_gen). */
static void
col_list(struct pd_buf *b, const struct rows_run *r, const char *alias, bool skip_gen)
{
    bool first = true;

    for (size_t j = 0; j < r->n_cols; j++) {
        if (skip_gen && r->generated[j])
            continue;
        pd_buf_appendf(b, NULL, "%s%s%s%s", first ? "" : ", ", alias ? alias : "", alias ? "." : "",
                       r->cols[j]);
        first = false;
    }
}

/* "a.k1 = b.k1 AND a.k2 = b.k2" */
static void
key_on(struct pd_buf *b, const struct rows_run *r, const char *a, const char *bb)
{
    for (size_t j = 0; j < r->n_keys; j++)
        pd_buf_appendf(b, NULL, "%s%s.%s = %s.%s", j ? " AND " : "", a, r->keys[j], bb, r->keys[j]);
}

/* "a.k1, a.k2" over the key columns; "k1, k2" when a is NULL. */
static void
key_list(struct pd_buf *b, const struct rows_run *r, const char *a)
{
    for (size_t j = 0; j < r->n_keys; j++)
        pd_buf_appendf(b, NULL, "%s%s%s%s", j ? ", " : "", a ? a : "", a ? "." : "", r->keys[j]);
}

/* The key as text for the samples: "42", or "(1,2)" for a key of several columns. */
static void
key_text(struct pd_buf *b, const struct rows_run *r, const char *a)
{
    if (r->n_keys == 1) {
        pd_buf_appendf(b, NULL, "%s.%s::text", a, r->keys[0]);
        return;
    }
    pd_buf_appendf(b, NULL, "ROW(");
    key_list(b, r, a);
    pd_buf_appendf(b, NULL, ")::text");
}

static int
exec(struct rows_run *r, struct pg_conn *c, const char *sql, const char *const *params, size_t n,
     struct pg_result **out, struct pd_err *err)
{
    return engine_tx_exec(c, sql, params, n, r->e, out, err);
}

/*
 * The tail of every SQL builder: run the statement built in b on production
 * (binding the range's values when with_params), then free b; it may be
 * built again. *out as exec (NULL: no result wanted).
 */
static int
exec_buf(struct rows_run *r, struct pd_buf *b, bool with_params, struct pg_result **out,
         struct pd_err *err)
{
    int rc = exec(r, r->prod, pd_buf_str(b), with_params ? (const char *const *)r->params : NULL,
                  with_params ? r->n_params : 0, out, err);

    pd_buf_free(b);
    return rc;
}

/* An output line (owned, freed here): shown, journaled. */
static int
emit(struct rows_run *r, struct pd_err *err, char *line)
{
    int rc = engine_output(r->e, line, err);

    free(line);
    return rc;
}

static bool
rows_tick(void *payload)
{
    return engine_should_stop(payload);
}

/* ---- phase 1: what the step asks for ---- */

static int
expand_attr(struct rows_run *r, const char *key, const char *dflt, char **out, struct pd_err *err)
{
    const char *v = runbook_step_attr(r->e->step, key);

    *out = NULL;
    if (v == NULL && dflt == NULL)
        return 0;
    return engine_expand(r->e, out, v ? v : dflt, false, err);
}

static bool
yes(const char *v)
{
    return v != NULL && (strcasecmp(v, "yes") == 0 || strcasecmp(v, "true") == 0);
}

/* $N -> current_setting('pgdrill.rows_N'), for the COPY on a branch. */
static char *
cond_for_copy(const char *cond)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    for (const char *p = cond; *p; p++) {
        size_t d = p[0] == '$' ? strspn(p + 1, "0123456789") : 0;

        if (d > 0) {
            pd_buf_appendf(&b, NULL, "current_setting('pgdrill.rows_%.*s')", (int)d, p + 1);
            p += d;
        } else {
            pd_buf_append(&b, p, 1, NULL);
        }
    }
    return pd_buf_steal(&b);
}

static int
rows_options(struct rows_run *r, struct pd_err *err)
{
    char *mode = NULL, *del = NULL, *prev = NULL;
    const char *body = r->e->step->body;
    int rc;

    rc = expand_attr(r, "table", NULL, &r->table, err);
    if (rc == 0 && r->table == NULL)
        rc = PD_ERR_SET(err, PD_EINPUT, "rows: missing required attribute 'table'");
    if (rc == 0 && (rc = engine_quote_table(&r->qtable, r->table, err)) != 0)
        pd_err_prefix(err, "rows: table: ");
    if (rc == 0)
        rc = expand_attr(r, "mode", "missing", &mode, err);
    if (rc == 0)
        rc = expand_attr(r, "delete-inserted", "no", &del, err);
    if (rc == 0)
        rc = expand_attr(r, "preview", "no", &prev, err);
    if (rc != 0)
        goto out;
    r->delete_inserted = yes(del);
    r->preview = yes(prev);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(mode, mode_names[i]) == 0)
            r->mode = (enum rows_mode)i;
    if (strcmp(mode, mode_names[r->mode]) != 0) {
        char *shown = pd_redact(mode);

        rc = PD_ERR_SET(err, PD_EINPUT, "rows: bad mode '%s' (expected missing, revert or undo)",
                        shown);
        free(shown);
        goto out;
    }
    if (runbook_step_attr(r->e->step, "from") == NULL) {
        rc =
            PD_ERR_SET(err, PD_EINPUT,
                       "rows: missing required attribute 'from' (the branch at the restore point)");
        goto out;
    }
    if (r->mode == ROWS_UNDO && runbook_step_attr(r->e->step, "incident") == NULL) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "rows: mode undo needs incident=URL (a branch at the incident's end)");
        goto out;
    }
    if (body != NULL && body[strspn(body, " \t\r\n")] != '\0') {
        rc = engine_sql_bind(r->e, &r->cond, &r->params, &r->n_params, body, err);
        if (rc == 0)
            r->cond_copy = cond_for_copy(r->cond);
    }
out:
    free(mode);
    free(del);
    free(prev);
    return rc;
}

/* ---- phase 2: the table's columns and key, from production's catalog ---- */

static int
rows_describe(struct rows_run *r, struct pd_err *err)
{
    static const char cols_sql[] =
        "SELECT quote_ident(a.attname), a.attgenerated <> '' FROM pg_attribute a "
        "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum";
    // the primary key, else a unique index on NOT NULL columns without expressions or predicate
    static const char key_sql[] =
        "WITH k AS (SELECT i.indkey FROM pg_index i WHERE i.indrelid = $1::regclass "
        "AND i.indisunique AND i.indisvalid AND i.indexprs IS NULL AND i.indpred IS NULL "
        "AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) u(n) JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = u.n WHERE NOT a.attnotnull) "
        "ORDER BY i.indisprimary DESC, i.indexrelid LIMIT 1) "
        "SELECT quote_ident(a.attname) FROM k, unnest(k.indkey::int2[]) WITH ORDINALITY u(n, o) "
        "JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attnum = u.n ORDER BY u.o";
    const char *p[1] = {r->qtable};
    struct pg_result *res = NULL;
    int rc = exec(r, r->prod, cols_sql, p, 1, &res, err);

    if (rc != 0)
        goto out;
    r->n_cols = pg_result_rows(res);
    r->cols = pd_xcalloc(r->n_cols + 1, sizeof(*r->cols));
    r->generated = pd_xcalloc(r->n_cols + 1, sizeof(*r->generated));
    for (size_t i = 0; i < r->n_cols; i++) {
        const char *g = pg_result_value(res, i, 1);

        r->cols[i] = pd_xstrdup(pg_result_value(res, i, 0));
        r->generated[i] = g != NULL && strcmp(g, "t") == 0;
    }
    pg_result_free(res);
    res = NULL;
    rc = exec(r, r->prod, key_sql, p, 1, &res, err);
    if (rc != 0)
        goto out;
    r->n_keys = pg_result_rows(res);
    if (r->n_keys == 0) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "rows: table %s has no primary key and no unique index on NOT NULL "
                        "columns: rows cannot be matched, refused",
                        r->table);
        goto out;
    }
    r->keys = pd_xcalloc(r->n_keys + 1, sizeof(*r->keys));
    for (size_t i = 0; i < r->n_keys; i++)
        r->keys[i] = pd_xstrdup(pg_result_value(res, i, 0));
out:
    pg_result_free(res);
    return rc;
}

/* ---- phase 3: stage the branches' rows on production ---- */

/* Connect to a branch and give it the condition's values (set_config, as parameters). */
static int
branch_open(struct rows_run *r, const char *key, struct pg_conn **out, struct pd_err *err)
{
    char set[96];
    int ms = 0;
    int rc = engine_connect_attr(r->e, out, key, NULL, err);

    if (rc == 0)
        rc = engine_step_timeout_ms(r->e, &ms, err);
    if (rc != 0)
        return rc;
    snprintf(set, sizeof(set), "SET statement_timeout = %d", ms);
    rc = exec(r, *out, set, NULL, 0, NULL, err);
    for (size_t i = 0; i < r->n_params && rc == 0; i++) {
        char name[48];
        const char *p[2] = {name, r->params[i]};

        snprintf(name, sizeof(name), "pgdrill.rows_%zu", i + 1);
        rc = exec(r, *out, "SELECT set_config($1, $2, false)", p, 2, NULL, err);
    }
    if (rc != 0)
        pd_err_prefix(err, "rows: %s: ", key);
    return rc;
}

/* COPY the branch's rows (of the range) into pg_temp.NAME on production. */
static int
stage(struct rows_run *r, struct pg_conn *from, const char *name, unsigned long long *rows,
      struct pd_err *err)
{
    struct pd_buf b, out;
    struct pg_query_opts o = {.tick = rows_tick, .payload = r->e};
    int rc;

    pd_buf_init(&b, 0);
    pd_buf_init(&out, 0);
    pd_buf_appendf(&b, NULL, "CREATE TEMP TABLE %s ON COMMIT DROP AS SELECT ", name);
    col_list(&b, r, NULL, false);
    pd_buf_appendf(&b, NULL, " FROM %s WITH NO DATA", r->qtable);
    rc = exec_buf(r, &b, false, NULL, err);
    if (rc != 0)
        goto out;
    pd_buf_appendf(&out, NULL, "COPY (SELECT ");
    col_list(&out, r, NULL, false);
    pd_buf_appendf(&out, NULL, " FROM %s", r->qtable);
    if (r->cond_copy != NULL)
        pd_buf_appendf(&out, NULL, " WHERE (%s)", r->cond_copy);
    pd_buf_appendf(&out, NULL, ") TO STDOUT");
    pd_buf_appendf(&b, NULL, "COPY pg_temp.%s FROM STDIN", name);
    rc = pg_copy_between(from, pd_buf_str(&out), r->prod, pd_buf_str(&b), &o, rows, err);
    if (rc != 0)
        goto out;
    // the joins below look rows up by key: give the planner an index and statistics
    pd_buf_free(&b);
    pd_buf_appendf(&b, NULL, "CREATE INDEX ON pg_temp.%s (", name);
    key_list(&b, r, NULL);
    pd_buf_appendf(&b, NULL, ")");
    rc = exec_buf(r, &b, false, NULL, err);
    pd_buf_appendf(&b, NULL, "ANALYZE pg_temp.%s", name);
    if (rc == 0)
        rc = exec_buf(r, &b, false, NULL, err);
out:
    pd_buf_free(&b);
    pd_buf_free(&out);
    return rc;
}

/*
 * Columns the branch's table has and production's lacks (a migration
 * dropped them): the rows are copied without them and cannot bring them
 * back. Said as a line and in the summary; the step goes on.
 */
static int
rows_columns_gone(struct rows_run *r, struct pd_err *err)
{
    static const char cols_sql[] =
        "SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = $1::regclass "
        "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
    const char *p[1] = {r->qtable};
    struct pg_result *res = NULL;
    int rc = exec(r, r->rp, cols_sql, p, 1, &res, err);

    for (size_t i = 0; rc == 0 && i < pg_result_rows(res); i++) {
        const char *c = pg_result_value(res, i, 0);
        bool have = false;

        for (size_t k = 0; k < r->n_cols && !have; k++)
            have = strcmp(r->cols[k], c) == 0;
        if (!have)
            pd_buf_appendf(&r->cols_gone, NULL, "%s%s", r->cols_gone.len ? ", " : "", c);
    }
    pg_result_free(res);
    if (rc == 0 && r->cols_gone.len > 0)
        rc = emit(r, err,
                  pd_xasprintf("columns of %s on the branch but not in production: %s; copying "
                               "rows does not bring columns back (restore the whole database)",
                               r->table, pd_buf_str(&r->cols_gone)));
    return rc;
}

static int
rows_stage(struct rows_run *r, struct pd_err *err)
{
    int rc = branch_open(r, "from", &r->rp, err);

    if (rc == 0)
        rc = rows_columns_gone(r, err);
    if (rc == 0)
        rc = stage(r, r->rp, "rows_rp", &r->staged_rp, err);
    if (rc == 0 && r->mode == ROWS_UNDO) {
        rc = branch_open(r, "incident", &r->ie, err);
        if (rc == 0)
            rc = stage(r, r->ie, "rows_ie", &r->staged_ie, err);
    }
    return rc;
}

/* ---- phase 4: classify every key ---- */

/*
 * What the chosen mode does with a row, from where it is (rk: at the restore
 * point, pk: in production, ik: at the incident's end) and which versions
 * are equal (eq_rp, eq_ri, eq_pi; false when a side is missing).
 */
static void
mode_case(struct pd_buf *b, enum rows_mode m, bool del)
{
    switch (m) {
    case ROWS_MISSING:
        pd_buf_appendf(b, NULL, "CASE WHEN NOT pk THEN 'insert' WHEN NOT eq_rp THEN 'left' END");
        break;
    case ROWS_REVERT:
        pd_buf_appendf(b, NULL, "CASE WHEN NOT pk THEN 'insert' WHEN NOT eq_rp THEN 'revert' END");
        break;
    case ROWS_UNDO:
        pd_buf_appendf(b, NULL,
                       "CASE WHEN rk AND NOT ik THEN "
                       "CASE WHEN NOT pk THEN 'insert' WHEN eq_rp THEN NULL ELSE 'conflict' END "
                       "WHEN rk AND NOT eq_ri THEN "
                       "CASE WHEN eq_pi THEN 'revert' WHEN eq_rp THEN NULL ELSE 'conflict' END "
                       "WHEN NOT rk THEN "
                       "CASE WHEN eq_pi THEN '%s' WHEN NOT pk THEN NULL ELSE 'conflict' END "
                       "WHEN NOT eq_rp THEN 'left' END",
                       del ? "delete" : "inserted");
        break;
    }
}

/* "a *= b": the two versions of a row are the same, bit for bit; false when one is missing. */
static void
same(struct pd_buf *b, const char *a, const char *bb)
{
    pd_buf_appendf(b, NULL, "COALESCE(%s *= %s, false)", a, bb);
}

/*
 * pg_temp.rows_class: the keys whose row differs somewhere (restore point,
 * production, incident end), where the row is and which versions are equal,
 * and what the mode does with it. Rows are compared by their binary image
 * (record *=), which needs no equality operator (json has none) and formats
 * nothing. Rows equal everywhere need nothing and are not kept, so the table
 * stays as small as the difference.
 */
static int
rows_classify(struct rows_run *r, struct pd_err *err)
{
    struct pd_buf b;
    bool undo = r->mode == ROWS_UNDO;
    const char *k = undo ? "k" : "r";

    pd_buf_init(&b, 0);
    pd_buf_appendf(&b, NULL, "CREATE TEMP TABLE rows_class ON COMMIT DROP AS SELECT x.*, ");
    mode_case(&b, r->mode, r->delete_inserted);
    pd_buf_appendf(&b, NULL, " AS act FROM (SELECT ");
    for (size_t j = 0; j < r->n_keys; j++)
        pd_buf_appendf(&b, NULL, "%s.%s, ", k, r->keys[j]);
    pd_buf_appendf(&b, NULL, "r.%s IS NOT NULL AS rk, p.%s IS NOT NULL AS pk, ", r->keys[0],
                   r->keys[0]);
    if (undo)
        pd_buf_appendf(&b, NULL, "i.%s IS NOT NULL AS ik, ", r->keys[0]);
    else
        pd_buf_appendf(&b, NULL, "false AS ik, ");
    same(&b, "r", "p");
    pd_buf_appendf(&b, NULL, " AS eq_rp, ");
    if (undo) {
        same(&b, "r", "i");
        pd_buf_appendf(&b, NULL, " AS eq_ri, ");
        same(&b, "p", "i");
        pd_buf_appendf(&b, NULL, " AS eq_pi FROM (SELECT ");
        key_list(&b, r, NULL);
        pd_buf_appendf(&b, NULL, " FROM pg_temp.rows_rp UNION SELECT ");
        key_list(&b, r, NULL);
        pd_buf_appendf(&b, NULL, " FROM pg_temp.rows_ie) k LEFT JOIN pg_temp.rows_rp r ON ");
        key_on(&b, r, "r", "k");
        pd_buf_appendf(&b, NULL, " LEFT JOIN pg_temp.rows_ie i ON ");
        key_on(&b, r, "i", "k");
    } else {
        pd_buf_appendf(&b, NULL, "false AS eq_ri, false AS eq_pi FROM pg_temp.rows_rp r");
    }
    pd_buf_appendf(&b, NULL, " LEFT JOIN %s p ON ", r->qtable);
    key_on(&b, r, "p", k);
    // kept: production differs from the restore point, or (undo) the incident changed it
    pd_buf_appendf(&b, NULL, ") x WHERE NOT (rk = pk AND (NOT rk OR eq_rp))%s",
                   undo ? " OR NOT (rk = ik AND (NOT rk OR eq_ri))" : "");
    return exec_buf(r, &b, false, NULL, err);
}

/* ---- phase 5: counts and sample keys ---- */

/* " WHERE ..." of production's rows (p) in the range that the restore point lacks. */
static void
added_where(struct pd_buf *b, const struct rows_run *r)
{
    pd_buf_appendf(b, NULL, " WHERE ");
    if (r->cond != NULL)
        pd_buf_appendf(b, NULL, "(%s) AND ", r->cond);
    pd_buf_appendf(b, NULL, "NOT EXISTS (SELECT 1 FROM pg_temp.rows_rp r WHERE ");
    key_on(b, r, "r", "p");
    pd_buf_appendf(b, NULL, ")");
}

/*
 * Run b, a "SELECT <key_text of a> FROM ... a WHERE ...", for its first
 * ROWS_SAMPLES keys in key order, appended space-separated to out; frees b.
 */
static int
sample_keys(struct rows_run *r, struct pd_buf *b, const char *a, bool with_params,
            struct pd_buf *out, struct pd_err *err)
{
    struct pg_result *res = NULL;
    int rc;

    pd_buf_appendf(b, NULL, " ORDER BY ");
    key_list(b, r, a);
    pd_buf_appendf(b, NULL, " LIMIT %d", ROWS_SAMPLES);
    rc = exec_buf(r, b, with_params, &res, err);
    for (size_t i = 0; rc == 0 && i < pg_result_rows(res); i++)
        pd_buf_appendf(out, NULL, "%s%s", i ? " " : "", pg_result_value(res, i, 0));
    pg_result_free(res);
    return rc;
}

static int
rows_count(struct rows_run *r, struct pd_err *err)
{
    static const char count_sql[] =
        "SELECT count(*) FILTER (WHERE rk AND NOT pk), "
        "count(*) FILTER (WHERE rk AND pk AND NOT eq_rp), "
        "count(*) FILTER (WHERE act = 'insert'), count(*) FILTER (WHERE act = 'revert'), "
        "count(*) FILTER (WHERE act = 'delete'), count(*) FILTER (WHERE act = 'inserted'), "
        "count(*) FILTER (WHERE act = 'conflict'), "
        "count(*) FILTER (WHERE act = 'left') FROM pg_temp.rows_class";
    struct pg_result *res = NULL;
    struct pd_buf b;
    int rc = exec(r, r->prod, count_sql, NULL, 0, &res, err);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < C_COUNT; i++) {
        const char *v = pg_result_value(res, 0, i);

        r->n[i] = v ? strtoull(v, NULL, 10) : 0;
    }
    pg_result_free(res);
    res = NULL;
    // rows production gained since the restore point (in the range): never touched
    pd_buf_init(&b, 0);
    pd_buf_appendf(&b, NULL, "SELECT count(*) FROM %s p", r->qtable);
    added_where(&b, r);
    rc = exec_buf(r, &b, true, &res, err);
    if (rc == 0)
        r->added = strtoull(pg_result_value(res, 0, 0), NULL, 10);
    pg_result_free(res);
    if (rc != 0)
        return rc;
    // and a few of their keys
    pd_buf_appendf(&b, NULL, "SELECT ");
    key_text(&b, r, "p");
    pd_buf_appendf(&b, NULL, " FROM %s p", r->qtable);
    added_where(&b, r);
    return sample_keys(r, &b, "p", true, &r->keys_added, err);
}

/* Up to ROWS_SAMPLES keys of rows_class matching where, space-separated into out. */
static int
sample(struct rows_run *r, const char *where, struct pd_buf *out, struct pd_err *err)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    pd_buf_appendf(&b, NULL, "SELECT ");
    key_text(&b, r, "c");
    pd_buf_appendf(&b, NULL, " FROM pg_temp.rows_class c WHERE %s", where);
    return sample_keys(r, &b, "c", false, out, err);
}

static int
rows_samples(struct rows_run *r, struct pd_err *err)
{
    int rc = sample(r, "rk AND NOT pk", &r->keys_missing, err);

    if (rc == 0)
        rc = sample(r, "rk AND pk AND NOT eq_rp", &r->keys_changed, err);
    if (rc == 0)
        rc = sample(r, "act = 'conflict'", &r->keys_conflict, err);
    if (rc == 0)
        rc = sample(r, "act IN ('delete', 'inserted')", &r->keys_inserted, err);
    return rc;
}

static const char *
keys_or_none(const struct pd_buf *b)
{
    return b->len ? pd_buf_str(b) : "none";
}

/* The preview: what the restore point and production differ in, what each mode would do. */
static int
rows_show_preview(struct rows_run *r, struct pd_err *err)
{
    unsigned long long *n = r->n;
    int rc =
        emit(r, err,
             pd_xasprintf("preview of %s: %llu rows at the restore point", r->table, r->staged_rp));

    if (rc == 0)
        rc = emit(r, err,
                  pd_xasprintf("missing from production: %llu (keys: %s)", n[C_MISSING],
                               keys_or_none(&r->keys_missing)));
    if (rc == 0)
        rc = emit(r, err,
                  pd_xasprintf("changed since the restore point: %llu (keys: %s)", n[C_CHANGED],
                               keys_or_none(&r->keys_changed)));
    if (rc == 0)
        rc = emit(r, err,
                  pd_xasprintf("added since the restore point: %llu, never touched (keys: %s)",
                               r->added, keys_or_none(&r->keys_added)));
    if (rc == 0)
        rc = emit(r, err,
                  pd_xasprintf("mode missing would insert %llu and leave %llu changed rows",
                               n[C_MISSING], n[C_CHANGED]));
    if (rc == 0)
        rc = emit(r, err,
                  pd_xasprintf("mode revert would insert %llu and revert %llu", n[C_MISSING],
                               n[C_CHANGED]));
    if (rc == 0 && r->mode == ROWS_UNDO)
        rc = emit(
            r, err,
            pd_xasprintf("mode undo would insert %llu, revert %llu, %s %llu rows the incident "
                         "inserted (keys: %s), leave %llu conflicts (keys: %s)",
                         n[C_ACT_INSERT], n[C_ACT_REVERT], r->delete_inserted ? "delete" : "keep",
                         n[C_ACT_DELETE] + n[C_ACT_INSERTED], keys_or_none(&r->keys_inserted),
                         n[C_ACT_CONFLICT], keys_or_none(&r->keys_conflict)));
    else if (rc == 0)
        rc =
            emit(r, err, pd_xstrdup("mode undo: needs a branch at the incident's end (incident=)"));
    if (rc == 0)
        rc = emit(r, err,
                  pd_xasprintf("mode %s: %s %llu inserts, %llu reverts, %llu deletes, %llu left "
                               "alone as conflicts, %llu changed rows left",
                               mode_names[r->mode], r->preview ? "would make" : "makes",
                               n[C_ACT_INSERT], n[C_ACT_REVERT], n[C_ACT_DELETE], n[C_ACT_CONFLICT],
                               n[C_ACT_LEFT]));
    return rc;
}

/*
 * Rows to insert were deleted. A foreign key lets no child outlive its
 * parent: the rows of the tables that reference this one that belonged to
 * them were deleted too (by ON DELETE CASCADE or before the parents) or lost
 * the reference (SET NULL, SET DEFAULT), and restoring this table does not
 * bring them back. Those tables are named in a line and in the summary.
 */
static int
rows_children(struct rows_run *r, struct pd_err *err)
{
    static const char sql[] =
        "SELECT DISTINCT c.conrelid::regclass::text FROM pg_constraint c WHERE c.contype = 'f' "
        "AND c.confrelid = $1::regclass AND c.conrelid <> c.confrelid ORDER BY 1";
    const char *p[1] = {r->qtable};
    struct pg_result *res = NULL;
    int rc;

    if (r->n[C_ACT_INSERT] == 0)
        return 0;
    rc = exec(r, r->prod, sql, p, 1, &res, err);
    for (size_t i = 0; rc == 0 && i < pg_result_rows(res); i++)
        pd_buf_appendf(&r->children, NULL, "%s%s", i ? ", " : "", pg_result_value(res, i, 0));
    pg_result_free(res);
    if (rc == 0 && r->children.len > 0)
        rc = emit(r, err,
                  pd_xasprintf("tables referencing %s: %s; their rows that belonged to the %llu "
                               "rows to insert are gone or lost the reference too: restore them "
                               "after %s",
                               r->table, pd_buf_str(&r->children), r->n[C_ACT_INSERT], r->table));
    return rc;
}

/* ---- phase 6: foreign keys, before any change ---- */

/* One foreign key of the table: its name, parent and column pairs (quoted). */
struct rows_fk {
    char *name, *parent;
    char **child, **pcol;
    size_t n;
};

static void
fk_free(struct rows_fk *fk)
{
    free(fk->name);
    free(fk->parent);
    engine_strv_free(fk->child, fk->n);
    engine_strv_free(fk->pcol, fk->n);
    memset(fk, 0, sizeof(*fk));
}

/* Rows the step would put in (inserted or reverted) whose parent production lacks. */
static int
fk_missing(struct rows_run *r, const struct rows_fk *fk, unsigned long long *rows,
           unsigned long long *parents, struct pd_err *err)
{
    struct pg_result *res = NULL;
    struct pd_buf b;
    int rc;

    pd_buf_init(&b, 0);
    pd_buf_appendf(&b, NULL, "SELECT count(*), count(DISTINCT ROW(");
    for (size_t j = 0; j < fk->n; j++)
        pd_buf_appendf(&b, NULL, "%sr.%s", j ? ", " : "", fk->child[j]);
    pd_buf_appendf(&b, NULL, ")) FROM pg_temp.rows_rp r JOIN pg_temp.rows_class c ON ");
    key_on(&b, r, "r", "c");
    pd_buf_appendf(&b, NULL, " AND c.act IN ('insert', 'revert') WHERE ");
    for (size_t j = 0; j < fk->n; j++)
        pd_buf_appendf(&b, NULL, "r.%s IS NOT NULL AND ", fk->child[j]);
    pd_buf_appendf(&b, NULL, "NOT EXISTS (SELECT 1 FROM %s q WHERE ", fk->parent);
    for (size_t j = 0; j < fk->n; j++)
        pd_buf_appendf(&b, NULL, "%sq.%s = r.%s", j ? " AND " : "", fk->pcol[j], fk->child[j]);
    pd_buf_appendf(&b, NULL, ")");
    rc = exec_buf(r, &b, false, &res, err);
    if (rc == 0) {
        *rows = strtoull(pg_result_value(res, 0, 0), NULL, 10);
        *parents = strtoull(pg_result_value(res, 0, 1), NULL, 10);
    }
    pg_result_free(res);
    return rc;
}

static int
rows_foreign_keys(struct rows_run *r, struct pd_err *err)
{
    static const char fk_sql[] =
        "SELECT quote_ident(c.conname), c.confrelid::regclass::text, quote_ident(a.attname), "
        "quote_ident(f.attname) FROM pg_constraint c, "
        "unnest(c.conkey, c.confkey) WITH ORDINALITY u(ck, fk, o) "
        "JOIN pg_attribute a ON a.attnum = u.ck JOIN pg_attribute f ON f.attnum = u.fk "
        "WHERE c.conrelid = $1::regclass AND c.contype = 'f' AND a.attrelid = c.conrelid "
        "AND f.attrelid = c.confrelid ORDER BY c.conname, u.o";
    const char *p[1] = {r->qtable};
    struct pg_result *res = NULL;
    struct rows_fk fk = {0};
    size_t rows;
    int rc = exec(r, r->prod, fk_sql, p, 1, &res, err);

    rows = rc == 0 ? pg_result_rows(res) : 0;
    for (size_t i = 0; i < rows && rc == 0; i++) {
        const char *name = pg_result_value(res, i, 0);
        unsigned long long n_rows = 0, n_parents = 0;

        fk.name = pd_xstrdup(name);
        fk.parent = pd_xstrdup(pg_result_value(res, i, 1));
        for (; i < rows && strcmp(pg_result_value(res, i, 0), name) == 0; i++) {
            fk.child = pd_xrealloc(fk.child, (fk.n + 1) * sizeof(*fk.child));
            fk.pcol = pd_xrealloc(fk.pcol, (fk.n + 1) * sizeof(*fk.pcol));
            fk.child[fk.n] = pd_xstrdup(pg_result_value(res, i, 2));
            fk.pcol[fk.n++] = pd_xstrdup(pg_result_value(res, i, 3));
        }
        i--;
        rc = fk_missing(r, &fk, &n_rows, &n_parents, err);
        if (rc == 0 && n_rows > 0) {
            r->fk_missing += n_parents;
            rc = emit(
                r, err,
                pd_xasprintf("foreign key %s: %llu rows to restore reference %llu rows of %s that "
                             "production lacks too: restore table %s first",
                             fk.name, n_rows, n_parents, fk.parent, fk.parent));
        }
        fk_free(&fk);
    }
    fk_free(&fk);
    pg_result_free(res);
    return rc;
}

/* ---- phase 7: apply, then sequences ---- */

/* The changes a step applies, in the order it applies them. */
enum rows_change {
    ROWS_DELETE,
    ROWS_REVERT_ROWS,
    ROWS_INSERT,
};

/*
 * The columns a revert sets, neither key nor generated ("a.c1, a.c2" with
 * alias a); false when there are none (a table of keys only).
 */
static bool
revert_cols(struct pd_buf *b, const struct rows_run *r, const char *a)
{
    bool any = false;

    for (size_t j = 0; j < r->n_cols; j++) {
        bool key = false;

        for (size_t k = 0; k < r->n_keys; k++)
            key = key || strcmp(r->cols[j], r->keys[k]) == 0;
        if (key || r->generated[j])
            continue;
        pd_buf_appendf(b, NULL, "%s%s%s%s", any ? ", " : "", a ? a : "", a ? "." : "", r->cols[j]);
        any = true;
    }
    return any;
}

static int
apply_one(struct rows_run *r, enum rows_change what, struct pd_err *err)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    if (what == ROWS_DELETE) {
        pd_buf_appendf(&b, NULL, "DELETE FROM %s p USING pg_temp.rows_class c WHERE ", r->qtable);
        key_on(&b, r, "p", "c");
        pd_buf_appendf(&b, NULL, " AND c.act = 'delete'");
    } else if (what == ROWS_REVERT_ROWS) {
        pd_buf_appendf(&b, NULL, "UPDATE %s p SET (", r->qtable);
        if (!revert_cols(&b, r, NULL)) {
            pd_buf_free(&b);
            return 0; // a table of keys only has nothing to revert
        }
        pd_buf_appendf(&b, NULL, ") = ROW(");
        revert_cols(&b, r, "r");
        pd_buf_appendf(&b, NULL, ") FROM pg_temp.rows_rp r, pg_temp.rows_class c WHERE ");
        key_on(&b, r, "p", "r");
        pd_buf_appendf(&b, NULL, " AND ");
        key_on(&b, r, "r", "c");
        pd_buf_appendf(&b, NULL, " AND c.act = 'revert'");
    } else {
        pd_buf_appendf(&b, NULL, "INSERT INTO %s (", r->qtable);
        col_list(&b, r, NULL, true);
        pd_buf_appendf(&b, NULL, ") OVERRIDING SYSTEM VALUE SELECT ");
        col_list(&b, r, "r", true);
        pd_buf_appendf(&b, NULL, " FROM pg_temp.rows_rp r JOIN pg_temp.rows_class c ON ");
        key_on(&b, r, "r", "c");
        pd_buf_appendf(&b, NULL, " AND c.act = 'insert'");
    }
    return exec_buf(r, &b, false, NULL, err);
}

/* Move each sequence of the table forward to max(column) when it is behind; never back. */
static int
rows_sequences(struct rows_run *r, struct pd_err *err)
{
    static const char seq_sql[] =
        "SELECT quote_ident(a.attname), pg_get_serial_sequence($1::text, a.attname) "
        "FROM pg_attribute a WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped AND pg_get_serial_sequence($1::text, a.attname) IS NOT NULL "
        "ORDER BY a.attnum";
    const char *p[1] = {r->qtable};
    struct pg_result *res = NULL, *moved = NULL;
    int rc = exec(r, r->prod, seq_sql, p, 1, &res, err);

    for (size_t i = 0; rc == 0 && i < pg_result_rows(res); i++) {
        const char *seq = pg_result_value(res, i, 1);
        const char *sp[1] = {seq};
        char *sql = pd_xasprintf(
            "SELECT COALESCE(pg_sequence_last_value($1::regclass)::text, 'unused'), "
            "setval($1::regclass, m, true) FROM (SELECT max(%s)::bigint AS m FROM %s) x, "
            "pg_sequence s WHERE s.seqrelid = $1::regclass AND s.seqincrement > 0 "
            "AND m IS NOT NULL "
            "AND m > COALESCE(pg_sequence_last_value($1::regclass), s.seqstart - 1)",
            pg_result_value(res, i, 0), r->qtable);

        rc = exec(r, r->prod, sql, sp, 1, &moved, err);
        free(sql);
        if (rc == 0 && pg_result_rows(moved) > 0) {
            r->seq_moved++;
            rc = emit(r, err,
                      pd_xasprintf("sequence %s moved forward from %s to %s", seq,
                                   pg_result_value(moved, 0, 0), pg_result_value(moved, 0, 1)));
        }
        pg_result_free(moved);
        moved = NULL;
    }
    pg_result_free(res);
    return rc;
}

static int
rows_apply(struct rows_run *r, struct pd_err *err)
{
    int rc = 0;

    if (r->fk_missing > 0)
        return PD_ERR_SET(err, PD_ECHECK,
                          "rows: %llu parent rows the restored rows of %s reference are missing "
                          "from production: restore the parent table first (nothing changed)",
                          r->fk_missing, r->table);
    if (r->n[C_ACT_DELETE] > 0)
        rc = apply_one(r, ROWS_DELETE, err);
    if (rc == 0 && r->n[C_ACT_REVERT] > 0)
        rc = apply_one(r, ROWS_REVERT_ROWS, err);
    if (rc == 0 && r->n[C_ACT_INSERT] > 0)
        rc = apply_one(r, ROWS_INSERT, err);
    if (rc == 0)
        rc = rows_sequences(r, err);
    return rc;
}

/* ---- results ---- */

static int
save_var(struct rows_run *r, const char *prefix, const char *suffix, const char *v,
         struct pd_err *err)
{
    char *name = pd_xasprintf("%s_%s", prefix, suffix);
    int rc = engine_set_var(r->e, name, v, err);

    free(name);
    return rc;
}

static int
rows_save(struct rows_run *r, const char *prefix, struct pd_err *err)
{
    const struct {
        const char *suffix;
        unsigned long long v;
    } nums[] = {
        {"staged", r->staged_rp},
        {"missing", r->n[C_MISSING]},
        {"changed", r->n[C_CHANGED]},
        {"added", r->added},
        {"inserted", r->n[C_ACT_INSERT]},
        {"reverted", r->n[C_ACT_REVERT]},
        {"deleted", r->n[C_ACT_DELETE]},
        {"conflicts", r->n[C_ACT_CONFLICT]},
        {"left", r->n[C_ACT_LEFT] + r->n[C_ACT_CONFLICT]},
        {"sequences", r->seq_moved},
        {"fk_missing", r->fk_missing},
    };

    const struct {
        const char *suffix;
        const struct pd_buf *b;
    } keys[] = {
        {"missing_keys", &r->keys_missing},   {"changed_keys", &r->keys_changed},
        {"added_keys", &r->keys_added},       {"conflict_keys", &r->keys_conflict},
        {"inserted_keys", &r->keys_inserted},
    };

    int rc = 0;

    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]) && rc == 0; i++) {
        char v[32];

        snprintf(v, sizeof(v), "%llu", nums[i].v);
        rc = save_var(r, prefix, nums[i].suffix, v, err);
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++)
        rc = save_var(r, prefix, keys[i].suffix, keys_or_none(keys[i].b), err);
    if (rc == 0)
        rc = save_var(r, prefix, "mode", mode_names[r->mode], err);
    return rc;
}

static void
rows_summary(struct rows_run *r)
{
    const unsigned long long *n = r->n;

    if (r->preview)
        r->res->summary = pd_xasprintf(
            "preview %s (%s): %llu missing, %llu changed, %llu added since; would insert %llu, "
            "revert %llu, delete %llu, leave %llu conflicts",
            r->table, mode_names[r->mode], n[C_MISSING], n[C_CHANGED], r->added, n[C_ACT_INSERT],
            n[C_ACT_REVERT], n[C_ACT_DELETE], n[C_ACT_CONFLICT]);
    else
        r->res->summary = pd_xasprintf(
            "%s (%s): %llu inserted, %llu reverted, %llu deleted, %llu left alone (%llu "
            "conflicts), %llu sequence%s moved forward",
            r->table, mode_names[r->mode], n[C_ACT_INSERT], n[C_ACT_REVERT], n[C_ACT_DELETE],
            n[C_ACT_LEFT] + n[C_ACT_CONFLICT], n[C_ACT_CONFLICT], r->seq_moved,
            r->seq_moved == 1 ? "" : "s");
    if (r->children.len > 0) {
        char *with = pd_xasprintf("%s; restore next (they reference %s): %s", r->res->summary,
                                  r->table, pd_buf_str(&r->children));

        free(r->res->summary);
        r->res->summary = with;
    }
    if (r->cols_gone.len > 0) {
        char *with = pd_xasprintf("%s; columns not in production: %s", r->res->summary,
                                  pd_buf_str(&r->cols_gone));

        free(r->res->summary);
        r->res->summary = with;
    }
    if (n[C_ACT_CONFLICT] > 0) {
        // the report lists the conflicts' keys (the first ones): what the operator must look at
        char *with =
            pd_xasprintf("%s; conflicts: %s", r->res->summary, keys_or_none(&r->keys_conflict));

        free(r->res->summary);
        r->res->summary = with;
    }
}

static void
rows_free(struct rows_run *r)
{
    if (r->in_tx)
        engine_tx_rollback(r->prod);
    pg_conn_free(r->rp);
    pg_conn_free(r->ie);
    pg_conn_free(r->prod);
    engine_strv_free(r->cols, r->n_cols);
    engine_strv_free(r->keys, r->n_keys);
    engine_strv_free(r->params, r->n_params);
    free(r->generated);
    free(r->cond);
    free(r->cond_copy);
    free(r->table);
    free(r->qtable);
    pd_buf_free(&r->keys_missing);
    pd_buf_free(&r->keys_changed);
    pd_buf_free(&r->keys_added);
    pd_buf_free(&r->keys_conflict);
    pd_buf_free(&r->keys_inserted);
    pd_buf_free(&r->cols_gone);
    pd_buf_free(&r->children);
}

static int
rows_once(struct rows_run *r, struct pd_err *err)
{
    const char *save = runbook_step_attr(r->e->step, "save");
    int rc = rows_options(r, err);

    if (rc == 0)
        rc = engine_connect_attr(r->e, &r->prod, "url", "${DATABASE_URL}", err);
    if (rc == 0 && (rc = engine_tx_begin(r->prod, r->e, false, err)) == 0)
        r->in_tx = true;
    if (rc == 0)
        rc = rows_describe(r, err);
    if (rc == 0)
        rc = rows_stage(r, err);
    if (rc == 0 && !r->preview) {
        char *lock = pd_xasprintf("LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE", r->qtable);

        // writers wait from here to the commit: the comparison below stays true while applied
        rc = exec(r, r->prod, lock, NULL, 0, NULL, err);
        free(lock);
    }
    if (rc == 0)
        rc = rows_classify(r, err);
    if (rc == 0)
        rc = rows_count(r, err);
    if (rc == 0)
        rc = rows_samples(r, err);
    if (rc == 0)
        rc = rows_show_preview(r, err);
    if (rc == 0)
        rc = rows_children(r, err);
    if (rc == 0)
        rc = rows_foreign_keys(r, err);
    if (rc == 0 && !r->preview)
        rc = rows_apply(r, err);
    if (rc == 0 && !r->preview) {
        rc = exec(r, r->prod, "COMMIT", NULL, 0, NULL, err);
        r->in_tx = false;
    }
    if (rc == 0 && save != NULL)
        rc = rows_save(r, save, err);
    if (rc == 0)
        rows_summary(r);
    return rc;
}

int
engine_run_rows(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    struct rows_run r = {.e = e, .res = res};
    int rc;

    pd_buf_init(&r.keys_missing, 0);
    pd_buf_init(&r.keys_changed, 0);
    pd_buf_init(&r.keys_added, 0);
    pd_buf_init(&r.keys_conflict, 0);
    pd_buf_init(&r.keys_inserted, 0);
    pd_buf_init(&r.cols_gone, 0);
    pd_buf_init(&r.children, 0);
    rc = rows_once(&r, err);
    rows_free(&r);
    return rc;
}
