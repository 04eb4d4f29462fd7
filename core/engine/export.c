/*
 * engine export/import: the `sql` step's export=FILE and import=FILE
 * attributes, and ident= (variables spliced as quoted identifiers).
 *
 * Why not COPY (SELECT ... WHERE created_at >= $1) TO STDOUT: PostgreSQL
 * takes no bind parameters in a COPY statement, and psql 15 has no \bind, so
 * the only way to keep the operator's values out of the SQL text is to run
 * the SELECT ourselves. export= declares a cursor for the step's query with
 * its ${vars} bound as parameters (in a read-only transaction with the
 * statement timeout), fetches it in batches and writes RFC 4180 CSV with a
 * header line into FILE in the drill folder (0600, written as FILE.part and
 * renamed once complete). NULL is an empty unquoted field and every other
 * value is quoted, which is exactly what COPY ... (FORMAT csv) reads back.
 *
 * import= is the way back in, in one transaction: a temporary table
 * `staging` (LIKE the into= table INCLUDING DEFAULTS, dropped at commit),
 * COPY staging (columns of the file's header) FROM STDIN fed from FILE, then
 * the step's body, typically INSERT INTO ${table} SELECT * FROM staging ON
 * CONFLICT DO NOTHING. Rows inserted are the body's command count; rows
 * skipped are the staged rows it did not insert.
 *
 * A table name cannot be a bind parameter either: ident=table splices
 * ${table} as a double-quoted identifier, after checking that the value is
 * a plain name or schema.name ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes a
 * part); anything else is refused before any SQL is built.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.intern.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pg/pg.h"

/* Rows fetched from the cursor at a time, and rows shown in the review. */
#define EXPORT_BATCH       1000
#define EXPORT_REVIEW_ROWS 10
/* The longest CSV header an import reads. */
#define IMPORT_HEADER_MAX 65536

/* ---- identifiers ---- */

static bool
ident_part_ok(const char *s, size_t n)
{
    if (n == 0 || n > 63 ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        char ch = s[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

int
engine_quote_table(char **out, const char *name, struct pd_err *err)
{
    const char *dot = strchr(name, '.');
    size_t n1 = dot ? (size_t)(dot - name) : strlen(name);

    *out = NULL;
    if (!ident_part_ok(name, n1) || (dot && !ident_part_ok(dot + 1, strlen(dot + 1)))) {
        char *shown = pd_redact(name);
        int rc = PD_ERR_SET(err, PD_EINPUT,
                            "'%s' is not a table name (expected name or schema.name, letters, "
                            "digits and _)",
                            shown);

        free(shown);
        return rc;
    }
    *out = dot ? pd_xasprintf("\"%.*s\".\"%s\"", (int)n1, name, dot + 1)
               : pd_xasprintf("\"%s\"", name);
    return 0;
}

/* "name" with every " doubled: any column name, as PQescapeIdentifier does. */
static void
quote_any_ident(struct pd_buf *b, const char *s)
{
    pd_buf_append(b, "\"", 1, NULL);
    for (; *s; s++) {
        if (*s == '"')
            pd_buf_append(b, "\"\"", 2, NULL);
        else
            pd_buf_append(b, s, 1, NULL);
    }
    pd_buf_append(b, "\"", 1, NULL);
}

static bool
in_list(const char *list, const char *name, size_t len)
{
    while (list != NULL && *list) {
        size_t n = strcspn(list, ", ");

        if (n == len && strncmp(list, name, len) == 0)
            return true;
        list += n;
        list += strspn(list, ", ");
    }
    return false;
}

int
engine_export_bind(const struct engine *e, char **out_sql, char ***params, size_t *n_params,
                   const char *sql, struct pd_err *err)
{
    const char *idents = runbook_step_attr(e->step, "ident");
    struct pd_buf b;
    const char *p = sql ? sql : "";
    int rc = 0;

    if (idents == NULL)
        return engine_sql_bind(e, out_sql, params, n_params, sql, err);
    pd_buf_init(&b, 0);
    while (*p) {
        const char *close;
        const char *v;
        char *name, *q = NULL;

        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            pd_buf_append(&b, p, 3, NULL); // engine_sql_bind turns it into a literal ${
            p += 3;
            continue;
        }
        close = p[0] == '$' && p[1] == '{' ? strchr(p + 2, '}') : NULL;
        if (close == NULL || !in_list(idents, p + 2, (size_t)(close - p - 2))) {
            pd_buf_append(&b, p, 1, NULL);
            p++;
            continue;
        }
        name = pd_xstrndup(p + 2, (size_t)(close - p - 2));
        v = engine_lookup(e, name);
        if (v == NULL)
            rc = PD_ERR_SET(err, PD_EINPUT, "undefined variable '%s'", name);
        else if ((rc = engine_quote_table(&q, v, err)) != 0)
            pd_err_prefix(err, "ident %s: ", name);
        free(name);
        if (rc != 0)
            goto out;
        pd_buf_appendf(&b, NULL, "%s", q);
        free(q);
        p = close + 1;
    }
    rc = engine_sql_bind(e, out_sql, params, n_params, pd_buf_str(&b), err);
out:
    pd_buf_free(&b);
    return rc;
}

/* ---- shared ---- */

static bool
transfer_tick(void *payload)
{
    return engine_should_stop(payload);
}

int
engine_step_timeout_ms(const struct engine *e, int *out, struct pd_err *err)
{
    const char *v = runbook_step_attr(e->step, "timeout");
    int s = 0;

    *out = e->opts.statement_timeout_ms > 0 ? e->opts.statement_timeout_ms : 30000;
    if (v == NULL)
        return 0;
    if (runbook_parse_duration(&s, v) != 0 || s <= 0)
        return PD_ERR_SET(err, PD_EINPUT, "bad duration '%s'", v);
    *out = s > 2000000 ? 2000000000 : s * 1000;
    return 0;
}

int
engine_connect_attr(struct engine *e, struct pg_conn **out, const char *key, const char *dflt,
                    struct pd_err *err)
{
    const char *url_attr = runbook_step_attr(e->step, key);
    char *url = NULL;
    int rc = engine_expand(e, &url, url_attr ? url_attr : dflt, false, err);

    *out = NULL;
    if (rc != 0)
        return rc;
    if (url[0] == '\0')
        rc = PD_ERR_SET(err, PD_EINPUT, "no database URL: %s is empty", url_attr ? url_attr : dflt);
    else
        rc = pg_connect(out, url, err);
    memset(url, 0, strlen(url));
    free(url);
    return rc;
}

static int
connect_step(struct engine *e, struct pg_conn **out, struct pd_err *err)
{
    return engine_connect_attr(e, out, "url", "${DATABASE_URL}", err);
}

/*
 * One statement inside the step's transaction. Always the extended
 * protocol, which takes a single statement: a body such as "SELECT 1;
 * COMMIT; DELETE ..." is refused instead of escaping the transaction.
 */
int
engine_tx_exec(struct pg_conn *c, const char *sql, const char *const *params, size_t n,
               struct engine *e, struct pg_result **out, struct pd_err *err)
{
    struct pg_query_opts o = {.tick = transfer_tick, .payload = e, .single_statement = true};

    return pg_query(c, out, sql, params, n, &o, err);
}

void
engine_tx_rollback(struct pg_conn *c)
{
    struct pd_err ignored = {0};

    pg_query(c, NULL, "ROLLBACK", NULL, 0, NULL, &ignored);
}

int
engine_tx_begin(struct pg_conn *c, struct engine *e, bool read_only, struct pd_err *err)
{
    char set[96];
    int ms = 0;
    int rc = engine_step_timeout_ms(e, &ms, err);

    if (rc == 0)
        rc = engine_tx_exec(c, read_only ? "BEGIN READ ONLY" : "BEGIN", NULL, 0, e, NULL, err);
    if (rc != 0)
        return rc;
    snprintf(set, sizeof(set), "SET LOCAL statement_timeout = %d", ms);
    rc = engine_tx_exec(c, set, NULL, 0, e, NULL, err);
    if (rc != 0)
        engine_tx_rollback(c);
    return rc;
}

static char *
file_path(const struct engine *e, const char *name)
{
    return pd_xasprintf("%s/%s", e->drill->dir, name);
}

static int
check_file_attr(const struct engine *e, const char *key, const char *v, struct pd_err *err)
{
    if (e->drill->dir == NULL)
        return PD_ERR_SET(err, PD_EBUG, "engine: the drill has no folder for %s=%s", key, v);
    if (!runbook_valid_file_name(v))
        return PD_ERR_SET(err, PD_EINPUT,
                          "bad file name '%s' for %s (a plain name in the drill folder)", v, key);
    return 0;
}

/* ---- export ---- */

static void
csv_field(struct pd_buf *b, const char *v)
{
    if (v == NULL)
        return; // NULL: an empty unquoted field
    pd_buf_append(b, "\"", 1, NULL);
    for (const char *s = v; *s;) {
        size_t n = strcspn(s, "\"");

        pd_buf_append(b, s, n, NULL);
        s += n;
        if (*s == '"') {
            pd_buf_append(b, "\"\"", 2, NULL);
            s++;
        }
    }
    pd_buf_append(b, "\"", 1, NULL);
}

int
engine_csv_row(struct pd_buf *b, const char *const *values, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        if (j > 0)
            pd_buf_append(b, ",", 1, NULL);
        csv_field(b, values[j]);
    }
    return pd_buf_append(b, "\n", 1, NULL);
}

/* The review: row count, column list, first rows, as output lines. */
static int
review(struct engine *e, const struct pg_result *first, unsigned long long rows, const char *name,
       struct pd_err *err)
{
    size_t cols = first ? pg_result_cols(first) : 0;
    size_t shown = first ? pg_result_rows(first) : 0;
    struct pd_buf b;
    char *line;
    int rc;

    pd_buf_init(&b, 0);
    line = pd_xasprintf("review: %llu row%s exported to %s", rows, rows == 1 ? "" : "s", name);
    rc = engine_output(e, line, err);
    free(line);
    for (size_t j = 0; j < cols; j++)
        pd_buf_appendf(&b, NULL, "%s%s", j ? ", " : "", pg_result_colname(first, j));
    line = pd_xasprintf("review: %zu column%s: %s", cols, cols == 1 ? "" : "s", pd_buf_str(&b));
    if (rc == 0)
        rc = engine_output(e, line, err);
    free(line);
    if (shown > EXPORT_REVIEW_ROWS)
        shown = EXPORT_REVIEW_ROWS;
    if (rc == 0 && shown > 0) {
        line = pd_xasprintf("review: first %zu row%s:", shown, shown == 1 ? "" : "s");
        rc = engine_output(e, line, err);
        free(line);
    }
    for (size_t i = 0; i < shown && rc == 0; i++) {
        pd_buf_reset(&b);
        for (size_t j = 0; j < cols; j++) {
            const char *v = pg_result_value(first, i, j);

            pd_buf_appendf(&b, NULL, "%s%s", j ? " | " : "", v ? v : "NULL");
        }
        rc = engine_output(e, pd_buf_str(&b), err);
    }
    pd_buf_free(&b);
    return rc;
}

static int
run_export(struct engine *e, const char *name, struct engine_step_result *res, struct pd_err *err)
{
    const char *save = runbook_step_attr(e->step, "save");
    struct pg_conn *c = NULL;
    struct pg_result *first = NULL, *r = NULL;
    char *sql = NULL, *declare = NULL, *path = NULL, *part = NULL;
    char **params = NULL;
    size_t n_params = 0;
    unsigned long long rows = 0;
    bool in_tx = false;
    struct pd_buf b;
    int fd = -1, rc;

    pd_buf_init(&b, 0);
    rc = check_file_attr(e, "export", name, err);
    if (rc == 0)
        rc = engine_export_bind(e, &sql, &params, &n_params, e->step->body, err);
    if (rc == 0)
        rc = connect_step(e, &c, err);
    if (rc == 0)
        rc = engine_tx_begin(c, e, true, err);
    if (rc != 0)
        goto out;
    in_tx = true;
    declare = pd_xasprintf("DECLARE pgdrill_export NO SCROLL CURSOR FOR %s", sql);
    rc = engine_tx_exec(c, declare, (const char *const *)params, n_params, e, NULL, err);
    if (rc != 0)
        goto out;
    path = file_path(e, name);
    part = pd_xasprintf("%s.part", path);
    fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "export: create %s: %s", part, strerror(errno));
        goto out;
    }
    for (;;) {
        size_t n, cols;

        rc = engine_tx_exec(c, "FETCH FORWARD 1000 FROM pgdrill_export", NULL, 0, e, &r, err);
        if (rc != 0)
            goto out;
        n = pg_result_rows(r);
        cols = pg_result_cols(r);
        pd_buf_reset(&b);
        if (first == NULL) {
            const char **names = pd_xcalloc(cols + 1, sizeof(*names));

            for (size_t j = 0; j < cols; j++)
                names[j] = pg_result_colname(r, j);
            engine_csv_row(&b, names, cols);
            free(names);
        }
        for (size_t i = 0; i < n; i++) {
            const char **vals = pd_xcalloc(cols + 1, sizeof(*vals));

            for (size_t j = 0; j < cols; j++)
                vals[j] = pg_result_value(r, i, j);
            engine_csv_row(&b, vals, cols);
            free(vals);
        }
        rc = pd_write_all(fd, pd_buf_str(&b), b.len, part, err);
        if (rc != 0) {
            pd_err_prefix(err, "export: ");
            goto out;
        }
        rows += n;
        if (first == NULL) {
            first = r; // kept for the review
            r = NULL;
        } else {
            pg_result_free(r);
            r = NULL;
        }
        if (n < EXPORT_BATCH)
            break;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        rc = PD_ERR_SET(err, PD_EIO, "export: write %s: %s", part, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(part, path) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "export: rename %s: %s", part, strerror(errno));
        goto out;
    }
    PD_FREE(part);
    rc = review(e, first, rows, name, err);
    if (rc == 0 && save != NULL) {
        char count[32];

        snprintf(count, sizeof(count), "%llu", rows);
        rc = engine_set_var(e, save, count, err);
    }
    if (rc == 0)
        res->summary = pd_xasprintf("exported %llu row%s to %s", rows, rows == 1 ? "" : "s", name);
out:
    if (in_tx)
        engine_tx_rollback(c); // read-only: nothing to keep
    if (fd >= 0)
        close(fd);
    if (part != NULL)
        unlink(part); // a partial export never looks complete
    pg_result_free(r);
    pg_result_free(first);
    pg_conn_free(c);
    engine_strv_free(params, n_params);
    pd_buf_free(&b);
    free(path);
    free(part);
    free(declare);
    free(sql);
    return rc;
}

/* ---- import ---- */

int
engine_csv_header(char ***out, size_t *n_out, const char *s, size_t len, struct pd_err *err)
{
    char **names = NULL;
    size_t n = 0, i = 0;
    struct pd_buf f;
    int rc = 0;

    *out = NULL;
    *n_out = 0;
    pd_buf_init(&f, 0);
    for (;;) {
        pd_buf_reset(&f);
        if (i < len && s[i] == '"') {
            for (i++;; i++) {
                if (i >= len) {
                    rc = PD_ERR_SET(err, PD_EINPUT, "import: unterminated quote in the CSV header");
                    goto out;
                }
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
                    pd_buf_append(&f, "\"", 1, NULL);
                    i++;
                } else if (s[i] == '"') {
                    i++;
                    break;
                } else {
                    pd_buf_append(&f, s + i, 1, NULL);
                }
            }
        } else {
            size_t k = i;

            while (k < len && s[k] != ',' && s[k] != '\n' && s[k] != '\r' && s[k] != '"')
                k++;
            pd_buf_append(&f, s + i, k - i, NULL);
            i = k;
        }
        if (f.len == 0) {
            rc = PD_ERR_SET(err, PD_EINPUT, "import: empty column name in the CSV header");
            goto out;
        }
        names = pd_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = pd_xstrdup(pd_buf_str(&f));
        if (i < len && s[i] == ',') {
            i++;
            continue;
        }
        if (i < len && (s[i] == '\n' || s[i] == '\r'))
            break;
        rc = PD_ERR_SET(err, PD_EINPUT, "import: the CSV header has no end of line");
        goto out;
    }
    *out = names;
    *n_out = n;
    names = NULL;
    n = 0;
out:
    engine_strv_free(names, n);
    pd_buf_free(&f);
    return rc;
}

/* "INSERT 0 12" -> 12: the last number of a command tag. */
static unsigned long long
tag_count(const char *tag)
{
    const char *sp = tag ? strrchr(tag, ' ') : NULL;

    return sp ? strtoull(sp + 1, NULL, 10) : 0;
}

static int
save_counts(struct engine *e, const char *prefix, const unsigned long long v[3], struct pd_err *err)
{
    static const char *const suffix[3] = {"rows", "inserted", "skipped"};
    int rc = 0;

    for (size_t i = 0; i < 3 && rc == 0; i++) {
        char *name = pd_xasprintf("%s_%s", prefix, suffix[i]);
        char num[32];

        snprintf(num, sizeof(num), "%llu", v[i]);
        rc = engine_set_var(e, name, num, err);
        free(name);
    }
    return rc;
}

static int
run_import(struct engine *e, const char *name, struct engine_step_result *res, struct pd_err *err)
{
    const char *save = runbook_step_attr(e->step, "save");
    const char *into_attr = runbook_step_attr(e->step, "into");
    struct pg_conn *c = NULL;
    struct pg_result *r = NULL;
    char *into = NULL, *table = NULL, *path = NULL, *sql = NULL, *create = NULL;
    char **params = NULL, **cols = NULL;
    size_t n_params = 0, n_cols = 0;
    char head[IMPORT_HEADER_MAX];
    unsigned long long v[3] = {0}; // rows, inserted, skipped
    struct pd_buf copy;
    bool in_tx = false;
    ssize_t got;
    int fd = -1, rc;

    pd_buf_init(&copy, 0);
    rc = check_file_attr(e, "import", name, err);
    if (rc == 0 && into_attr == NULL)
        rc = PD_ERR_SET(err, PD_EINPUT, "sql: import= needs into=TABLE");
    if (rc == 0 && (runbook_step_attr(e->step, "readonly") == NULL ||
                    strcmp(runbook_step_attr(e->step, "readonly"), "no") != 0))
        rc = PD_ERR_SET(err, PD_EINPUT, "sql: import= writes: add readonly=no");
    if (rc == 0)
        rc = engine_expand(e, &into, into_attr, false, err);
    if (rc == 0 && (rc = engine_quote_table(&table, into, err)) != 0)
        pd_err_prefix(err, "into: ");
    if (rc != 0)
        goto out;
    path = file_path(e, name);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        rc = PD_ERR_SET(err, PD_EINPUT, "import: open %s: %s", path, strerror(errno));
        goto out;
    }
    do
        got = read(fd, head, sizeof(head));
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "import: read %s: %s", path, strerror(errno));
        goto out;
    }
    rc = engine_csv_header(&cols, &n_cols, head, (size_t)got, err);
    if (rc != 0) {
        pd_err_prefix(err, "%s: ", name);
        goto out;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "import: seek %s: %s", path, strerror(errno));
        goto out;
    }
    // the file's own columns, so an export of some columns fills only those
    pd_buf_appendf(&copy, NULL, "COPY staging (");
    for (size_t j = 0; j < n_cols; j++) {
        if (j > 0)
            pd_buf_append(&copy, ", ", 2, NULL);
        quote_any_ident(&copy, cols[j]);
    }
    pd_buf_appendf(&copy, NULL, ") FROM STDIN (FORMAT csv, HEADER true)");
    rc = engine_export_bind(e, &sql, &params, &n_params, e->step->body, err);
    if (rc == 0)
        rc = connect_step(e, &c, err);
    if (rc == 0)
        rc = engine_tx_begin(c, e, false, err);
    if (rc != 0)
        goto out;
    in_tx = true;
    create = pd_xasprintf("CREATE TEMP TABLE staging (LIKE %s INCLUDING DEFAULTS) ON COMMIT DROP",
                          table);
    rc = engine_tx_exec(c, create, NULL, 0, e, NULL, err);
    if (rc == 0)
        rc = pg_copy_in_fd(c, pd_buf_str(&copy), fd, &v[0], err);
    if (rc == 0)
        rc = engine_tx_exec(c, sql, (const char *const *)params, n_params, e, &r, err);
    if (rc != 0)
        goto out;
    v[1] = tag_count(pg_result_command(r));
    v[2] = v[1] <= v[0] ? v[0] - v[1] : 0;
    rc = engine_tx_exec(c, "COMMIT", NULL, 0, e, NULL, err);
    in_tx = false;
    if (rc != 0)
        goto out;
    {
        char *line = pd_xasprintf("import: %llu row%s staged from %s into a copy of %s", v[0],
                                  v[0] == 1 ? "" : "s", name, into);

        rc = engine_output(e, line, err);
        free(line);
        line = pd_xasprintf("import: %llu inserted, %llu skipped as already present", v[1], v[2]);
        if (rc == 0)
            rc = engine_output(e, line, err);
        free(line);
    }
    if (rc == 0 && save != NULL)
        rc = save_counts(e, save, v, err);
    if (rc == 0)
        res->summary = pd_xasprintf("%llu inserted, %llu skipped of %llu", v[1], v[2], v[0]);
out:
    if (in_tx)
        engine_tx_rollback(c); // all or nothing
    if (fd >= 0)
        close(fd);
    pg_result_free(r);
    pg_conn_free(c);
    engine_strv_free(params, n_params);
    engine_strv_free(cols, n_cols);
    pd_buf_free(&copy);
    free(create);
    free(sql);
    free(path);
    free(table);
    free(into);
    return rc;
}

bool
engine_is_transfer(const struct runbook_step *step)
{
    return step->action == STEP_SQL &&
           (runbook_step_attr(step, "export") != NULL || runbook_step_attr(step, "import") != NULL);
}

int
engine_run_transfer(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const char *exp = runbook_step_attr(e->step, "export");
    const char *imp = runbook_step_attr(e->step, "import");
    int rc;

    if (exp != NULL && imp != NULL)
        rc = PD_ERR_SET(err, PD_EINPUT, "sql: export= and import= exclude each other");
    else if (exp != NULL)
        rc = run_export(e, exp, res, err);
    else
        rc = run_import(e, imp, res, err);
    return rc;
}
