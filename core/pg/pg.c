#include "pg/pg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "compliance/compliance.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"

/* POSIX has it; no header declares it without _GNU_SOURCE */
extern char **environ;

#define PG_CONNECT_TIMEOUT_S "10"

struct pg_conn {
    PGconn *conn;
    char *target;
};

struct pg_result {
    size_t rows, cols;
    char **names;
    char **values; /* rows * cols, NULL for SQL NULL */
    char *command;
};

bool
pg_host_is_local(const char *host)
{
    const char *p = host;

    if (host == NULL || *host == '\0')
        return true; // libpq's default: the Unix socket
    // a comma-separated list is local only when every entry is
    while (*p) {
        size_t n = strcspn(p, ",");
        char *h = pd_xstrndup(p, n);
        struct in_addr a4;
        // "127.x" only as an address: 127.db.example.com is a remote host name
        bool local = h[0] == '\0' || h[0] == '/' || h[0] == '@' || strcmp(h, "localhost") == 0 ||
                     (inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
                     strcmp(h, "::1") == 0 || strcmp(h, "[::1]") == 0;

        free(h);
        if (!local)
            return false;
        p += n;
        if (*p == ',')
            p++;
    }
    return true;
}

/* libpq text on one line ("a\nb\n" -> "a; b"), trimmed and redacted; caller owns it. */
static char *
one_line(const char *msg)
{
    struct pd_buf b;
    char *out;
    const char *p = msg ? msg : "";

    pd_buf_init(&b, 0);
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t start = 0;

        while (start < n && isspace((unsigned char)p[start]))
            start++;
        while (n > start && isspace((unsigned char)p[n - 1]))
            n--;
        if (n > start) {
            if (b.len > 0)
                pd_buf_append(&b, "; ", 2, NULL);
            pd_buf_append(&b, p + start, n - start, NULL);
        }
        p += strcspn(p, "\n");
        if (*p == '\n')
            p++;
    }
    if (b.len == 0)
        pd_buf_append(&b, "unknown error", 13, NULL);
    out = pd_redact(pd_buf_str(&b));
    pd_buf_free(&b);
    return out;
}

static void
append_kv(struct pd_buf *b, const char *key, const char *val)
{
    if (b->len > 0)
        pd_buf_append(b, " ", 1, NULL);
    pd_buf_appendf(b, NULL, "%s='", key);
    for (const char *p = val; *p; p++) {
        if (*p == '\'' || *p == '\\')
            pd_buf_append(b, "\\", 1, NULL);
        pd_buf_append(b, p, 1, NULL);
    }
    pd_buf_append(b, "'", 1, NULL);
}

/* Whether an environment variable is set to something other than "". */
static bool
env_set(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0';
}

int
pg_conninfo(char **out, const char *url, struct pd_err *err)
{
    PQconninfoOption *opts;
    char *perr = NULL;
    struct pd_buf b;
    const char *host = NULL, *hostaddr = NULL;
    bool have_ssl = false, have_timeout = false;

    *out = NULL;
    opts = PQconninfoParse(url ? url : "", &perr);
    if (opts == NULL) {
        char *m = one_line(perr);
        int rc = PD_ERR_SET(err, PD_EINPUT, "postgres: bad connection string: %s", m);

        free(m);
        PQfreemem(perr);
        return rc;
    }
    pd_buf_init(&b, 0);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "host") == 0)
            host = o->val;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o->val;
        else if (strcmp(o->keyword, "sslmode") == 0 || strcmp(o->keyword, "requiressl") == 0)
            have_ssl = true;
        else if (strcmp(o->keyword, "connect_timeout") == 0)
            have_timeout = true;
        else if (strcmp(o->keyword, "password") == 0)
            pd_redact_register(o->val); // a key=value conninfo has no URI to mask
        append_kv(&b, o->keyword, o->val);
    }
    // the environment is libpq's next source for anything the URI left out
    if (host == NULL)
        host = getenv("PGHOST");
    if (hostaddr == NULL)
        hostaddr = getenv("PGHOSTADDR");
    if (env_set("PGSSLMODE"))
        have_ssl = true;
    if (env_set("PGCONNECT_TIMEOUT"))
        have_timeout = true;
    if (!have_ssl && !pg_host_is_local(hostaddr && hostaddr[0] ? hostaddr : host))
        append_kv(&b, "sslmode", "require");
    if (!have_timeout)
        append_kv(&b, "connect_timeout", PG_CONNECT_TIMEOUT_S);
    PQconninfoFree(opts);
    *out = pd_buf_steal(&b);
    if (*out == NULL)
        *out = pd_xstrdup("");
    return 0;
}

/* The child's environment: ours, less the variables in set[0..n_set), then set. */
static char **
child_environ(char **set, size_t n_set)
{
    size_t n_env = 0, k = 0;
    char **env;

    for (char **e = environ; *e != NULL; e++)
        n_env++;
    env = pd_xcalloc(n_env + n_set + 1, sizeof(*env));
    for (size_t i = 0; i < n_set; i++)
        env[k++] = set[i];
    /* inherited values we override are dropped, so ours win whatever execve does with duplicates */
    for (char **e = environ; *e != NULL; e++) {
        bool dup = false;
        const char *eq = strchr(*e, '=');
        size_t nl = eq ? (size_t)(eq - *e) : strlen(*e);

        for (size_t i = 0; i < n_set && !dup; i++)
            dup = strncmp(set[i], *e, nl) == 0 && set[i][nl] == '=';
        if (!dup)
            env[k++] = pd_xstrdup(*e);
    }
    env[k] = NULL;
    return env;
}

/* Parse url with pgdrill's defaults; NULL with err set when it does not parse. */
static PQconninfoOption *
child_options(const char *url, struct pd_err *err)
{
    char *perr = NULL, *ci = NULL;
    struct pd_err cerr = {0};
    // pgdrill's defaults (sslmode=require outside loopback) reach the child too
    PQconninfoOption *opts = PQconninfoParse(pg_conninfo(&ci, url, &cerr) == 0 ? ci : url, &perr);

    if (ci != NULL) {
        memset(ci, 0, strlen(ci));
        free(ci);
    }
    if (opts == NULL) {
        /* libpq's message quotes no value, but one_line redacts it anyway */
        char *m = one_line(perr ? perr : "out of memory");

        PD_ERR_SET(err, PD_EINPUT, "not a valid connection string: %s", m);
        free(m);
        PQfreemem(perr);
    }
    return opts;
}

int
pg_child_env(struct pg_child_env *out, const char *url, const char *prog, struct pd_err *err)
{
    PQconninfoOption *opts;
    struct pd_buf extra;
    char **set = NULL;
    size_t n_set = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if ((opts = child_options(url, err)) == NULL) {
        out->url_invalid = true;
        return err ? err->kind : PD_EINPUT;
    }
    pd_buf_init(&extra, 0);
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        n_set++;
    set = pd_xcalloc(n_set + 1, sizeof(*set));
    n_set = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || o->val[0] == '\0')
            continue;
        if (strcmp(o->keyword, "dbname") == 0 && out->dbname == NULL)
            out->dbname = pd_xstrdup(o->val);
        if (o->envvar != NULL) {
            set[n_set++] = pd_xasprintf("%s=%s", o->envvar, o->val);
        } else if (o->dispchar != NULL && o->dispchar[0] == '*') {
            rc = PD_ERR_SET(err, PD_EINPUT, "parameter %s cannot be passed to %s safely",
                            o->keyword, prog);
            goto out;
        } else {
            append_kv(&extra, o->keyword, o->val); // not secret: fine on a command line
        }
    }
    out->env = child_environ(set, n_set);
    n_set = 0; // moved into out->env
    if (extra.len > 0)
        out->conninfo = pd_buf_steal(&extra);
out:
    for (size_t i = 0; i < n_set; i++) {
        memset(set[i], 0, strlen(set[i]));
        free(set[i]);
    }
    free(set);
    pd_buf_free(&extra);
    PQconninfoFree(opts);
    if (rc != 0)
        pg_child_env_free(out);
    return rc;
}

void
pg_child_env_free(struct pg_child_env *e)
{
    if (e->env != NULL) {
        for (char **v = e->env; *v != NULL; v++) {
            memset(*v, 0, strlen(*v)); // PGPASSWORD=...
            free(*v);
        }
        free(e->env);
    }
    free(e->conninfo);
    free(e->dbname);
    e->env = NULL;
    e->conninfo = NULL;
    e->dbname = NULL;
}

static char *
target_of(PGconn *conn)
{
    const char *host = PQhost(conn), *port = PQport(conn), *db = PQdb(conn);

    return pd_xasprintf("%s:%s/%s", host && host[0] ? host : "localhost",
                        port && port[0] ? port : "5432", db ? db : "");
}

/* Server notices go to the log, never to stderr (core does not print). */
static void
notice_to_log(void *payload, const char *message)
{
    char *m = one_line(message);

    (void)payload;
    pd_log(PD_LOG_DEBUG, "postgres: %s", m);
    free(m);
}

/*
 * Record the server for the compliance checks: whether the session really
 * runs over TLS (not just what sslmode asked for) and the sslmode in effect.
 */
static void
note_endpoint(PGconn *conn)
{
    const char *host = PQhost(conn), *port = PQport(conn), *mode = "prefer";
    PQconninfoOption *info = PQconninfo(conn);
    char *endpoint, *how;
    bool tls = PQsslInUse(conn) != 0;

    for (PQconninfoOption *o = info; o != NULL && o->keyword != NULL; o++)
        if (strcmp(o->keyword, "sslmode") == 0 && o->val != NULL && o->val[0] != '\0')
            mode = o->val;
    endpoint = pd_xasprintf("postgres://%s:%s", host && host[0] ? host : "localhost",
                            port && port[0] ? port : "5432");
    how = pd_xasprintf("sslmode=%s%s", mode, tls ? ", TLS in use" : ", no TLS");
    compliance_note_endpoint(endpoint, tls, pg_host_is_local(host), how);
    free(endpoint);
    free(how);
    PQconninfoFree(info);
}

int
pg_connect(struct pg_conn **out, const char *url, struct pd_err *err)
{
    char *conninfo = NULL;
    PGconn *conn = NULL;
    int rc;

    *out = NULL;
    // whatever happens next, the password must not reach a message or a log
    pd_redact_register_uri(url);
    rc = pg_conninfo(&conninfo, url, err);
    if (rc != 0)
        goto out;
    conn = PQconnectdb(conninfo);
    if (conn == NULL) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "postgres: connect: out of memory");
        goto out;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char *t = target_of(conn), *m = one_line(PQerrorMessage(conn));
        char *rt = pd_redact(t);

        rc = PD_ERR_SET(err, PD_ESERVICE, "postgres: connect to %s: %s", rt, m);
        free(rt);
        free(t);
        free(m);
        goto out;
    }
    PQsetNoticeProcessor(conn, notice_to_log, NULL);
    note_endpoint(conn);
    *out = pd_xcalloc(1, sizeof(**out));
    (*out)->conn = conn;
    {
        char *t = target_of(conn);

        (*out)->target = pd_redact(t);
        free(t);
    }
    conn = NULL;

out:
    if (conn != NULL)
        PQfinish(conn);
    if (conninfo != NULL) {
        memset(conninfo, 0, strlen(conninfo));
        free(conninfo);
    }
    return rc;
}

const char *
pg_conn_target(const struct pg_conn *c)
{
    return c->target;
}

void
pg_conn_free(struct pg_conn *c)
{
    if (c == NULL)
        return;
    if (c->conn != NULL)
        PQfinish(c->conn);
    free(c->target);
    free(c);
}

/* Translate a failed PGresult (or a NULL one) into a PD_E* with a message. */
static int
result_error(struct pg_conn *c, PGresult *res, int timeout_ms, struct pd_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char *m;
    int rc;

    if (state != NULL && strcmp(state, "57014") == 0)
        return PD_ERR_SET(err, PD_ESERVICE, "postgres: %s: statement timeout after %dms", c->target,
                          timeout_ms);
    m = one_line(primary ? primary : PQerrorMessage(c->conn));
    if (PQstatus(c->conn) != CONNECTION_OK || state == NULL || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0)
        rc = PD_ERR_SET(err, PD_ESERVICE, "postgres: %s: %s", c->target, m);
    else
        rc = PD_ERR_SET(err, PD_ECHECK, "postgres: %s: %s (SQLSTATE %s)", c->target, m, state);
    free(m);
    return rc;
}

static int
exec_simple(struct pg_conn *c, const char *sql, struct pd_err *err)
{
    PGresult *res = PQexec(c->conn, sql);
    int rc = 0;

    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = result_error(c, res, 0, err);
    PQclear(res);
    return rc;
}

/* Wait until a result can be read without blocking, asking tick every 200 ms. */
static void
wait_ready(struct pg_conn *c, const struct pg_query_opts *opts, bool *cancelled)
{
    while (PQconsumeInput(c->conn) && PQisBusy(c->conn)) {
        struct pollfd p = {.fd = PQsocket(c->conn), .events = POLLIN};

        if (poll(&p, 1, 200) < 0 && errno != EINTR)
            return;
        if (!*cancelled && opts->tick != NULL && opts->tick(opts->payload)) {
            PGcancel *cn = PQgetCancel(c->conn);
            char ebuf[256];

            // the server answers the statement with SQLSTATE 57014
            if (cn != NULL && PQcancel(cn, ebuf, sizeof(ebuf)))
                *cancelled = true;
            PQfreeCancel(cn);
        }
    }
}

/*
 * Send sql and collect its results without blocking the caller's ticks.
 * Like PQexec: the last result, or the first error. NULL when it could not
 * be sent (PQerrorMessage says why). The caller clears the result.
 */
static PGresult *
exec_async(struct pg_conn *c, const char *sql, const char *const *params, size_t n_params,
           bool extended, const struct pg_query_opts *opts, bool *cancelled)
{
    PGresult *keep = NULL, *r;
    int sent;

    if (extended)
        sent = PQsendQueryParams(c->conn, sql, (int)n_params, NULL, params, NULL, NULL, 0);
    else
        sent = PQsendQuery(c->conn, sql);
    if (!sent)
        return NULL;
    for (;;) {
        wait_ready(c, opts, cancelled);
        r = PQgetResult(c->conn);
        if (r == NULL)
            break;
        if (keep != NULL && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
            continue;
        }
        PQclear(keep);
        keep = r;
    }
    return keep;
}

static struct pg_result *
copy_result(PGresult *res)
{
    struct pg_result *r = pd_xcalloc(1, sizeof(*r));

    r->rows = (size_t)PQntuples(res);
    r->cols = (size_t)PQnfields(res);
    r->command = pd_xstrdup(PQcmdStatus(res));
    r->names = pd_xcalloc(r->cols + 1, sizeof(*r->names));
    for (size_t j = 0; j < r->cols; j++)
        r->names[j] = pd_xstrdup(PQfname(res, (int)j));
    r->values = pd_xcalloc(r->rows * r->cols + 1, sizeof(*r->values));
    for (size_t i = 0; i < r->rows; i++)
        for (size_t j = 0; j < r->cols; j++)
            if (!PQgetisnull(res, (int)i, (int)j))
                r->values[i * r->cols + j] = pd_xstrdup(PQgetvalue(res, (int)i, (int)j));
    return r;
}

int
pg_query(struct pg_conn *c, struct pg_result **out, const char *sql, const char *const *params,
         size_t n_params, const struct pg_query_opts *opts, struct pd_err *err)
{
    static const struct pg_query_opts none = {0};
    PGresult *res = NULL;
    bool in_tx = false, session_timeout = false, cancelled = false;
    int rc = 0;
    char set[96];

    if (out != NULL)
        *out = NULL;
    if (opts == NULL)
        opts = &none;
    if (n_params > 1000000)
        return PD_ERR_SET(err, PD_EBUG, "postgres: too many parameters");
    if (opts->read_only) {
        rc = exec_simple(c, "BEGIN READ ONLY", err);
        if (rc != 0)
            goto out;
        in_tx = true;
        if (opts->timeout_ms > 0) {
            snprintf(set, sizeof(set), "SET LOCAL statement_timeout = %d", opts->timeout_ms);
            rc = exec_simple(c, set, err);
            if (rc != 0)
                goto out;
        }
    } else if (opts->timeout_ms > 0) {
        // no transaction here: the SQL may hold statements that refuse one (VACUUM)
        snprintf(set, sizeof(set), "SET statement_timeout = %d", opts->timeout_ms);
        rc = exec_simple(c, set, err);
        if (rc != 0)
            goto out;
        session_timeout = true;
    }
    // the extended protocol takes one statement only: in a read-only
    // transaction that keeps a "COMMIT; INSERT ..." from escaping it
    res = exec_async(c, sql, params, n_params,
                     n_params > 0 || opts->read_only || opts->single_statement, opts, &cancelled);
    if (cancelled && res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR) {
        rc = PD_ERR_SET(err, PD_EINTR, "postgres: %s: query interrupted", c->target);
        goto out;
    }
    if (res == NULL ||
        (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK &&
         PQresultStatus(res) != PGRES_EMPTY_QUERY)) {
        rc = result_error(c, res, opts->timeout_ms, err);
        goto out;
    }
    if (out != NULL)
        *out = copy_result(res);

out:
    PQclear(res);
    if (in_tx) {
        // always roll back: a read-only transaction has nothing to keep
        PGresult *rb = PQexec(c->conn, "ROLLBACK");

        PQclear(rb);
    }
    if (session_timeout) {
        PGresult *rs = PQexec(c->conn, "RESET statement_timeout");

        PQclear(rs);
    }
    return rc;
}

int
pg_copy_in_fd(struct pg_conn *c, const char *sql, int fd, unsigned long long *rows,
              struct pd_err *err)
{
    PGresult *res = NULL;
    char buf[65536];
    char *why = NULL;
    int rc = 0;

    *rows = 0;
    res = PQexec(c->conn, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COPY_IN) {
        rc = res != NULL && PQresultStatus(res) == PGRES_FATAL_ERROR
                 ? result_error(c, res, 0, err)
                 : PD_ERR_SET(err, PD_EBUG, "postgres: %s: not a COPY FROM STDIN", c->target);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            // the server drops the partial COPY when it is ended with an error
            why = pd_xasprintf("read: %s", strerror(errno));
            rc = PD_ERR_SET(err, PD_EIO, "postgres: %s: copy: %s", c->target, why);
            break;
        }
        if (n == 0)
            break;
        if (PQputCopyData(c->conn, buf, (int)n) != 1) {
            rc = result_error(c, NULL, 0, err);
            break;
        }
    }
    if (PQputCopyEnd(c->conn, why) != 1 && rc == 0)
        rc = result_error(c, NULL, 0, err);
    free(why);
    while ((res = PQgetResult(c->conn)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = result_error(c, res, 0, err);
        else if (rc == 0)
            *rows = strtoull(PQcmdTuples(res), NULL, 10);
        PQclear(res);
    }
    return rc;
}

size_t
pg_result_rows(const struct pg_result *r)
{
    return r->rows;
}

size_t
pg_result_cols(const struct pg_result *r)
{
    return r->cols;
}

const char *
pg_result_colname(const struct pg_result *r, size_t col)
{
    return col < r->cols ? r->names[col] : NULL;
}

const char *
pg_result_value(const struct pg_result *r, size_t row, size_t col)
{
    if (row >= r->rows || col >= r->cols)
        return NULL;
    return r->values[row * r->cols + col];
}

const char *
pg_result_command(const struct pg_result *r)
{
    return r->command;
}

void
pg_result_free(struct pg_result *r)
{
    if (r == NULL)
        return;
    for (size_t j = 0; j < r->cols; j++)
        free(r->names[j]);
    free(r->names);
    for (size_t i = 0; i < r->rows * r->cols; i++)
        free(r->values[i]);
    free(r->values);
    free(r->command);
    free(r);
}
