/*
 * pg: the one place that talks to libpq.
 *
 * A struct pg_conn owns a PGconn; a struct pg_result is an owned copy of a
 * result (the PGresult is cleared before pg_query returns), so no libpq
 * type leaves this module. Foreign errors are translated here, once:
 *   - cannot connect, connection lost (SQLSTATE class 08, 57P0x) and a
 *     statement timeout (57014) are PD_ESERVICE;
 *   - any other SQL error (syntax, read-only violation, constraint) is
 *     PD_ECHECK, since it is the step's SQL that failed.
 * Messages read "postgres: HOST:PORT/DB: ..." and never hold a password:
 * pg_connect registers the URI's password with pd_redact and every libpq
 * text goes through pd_redact.
 *
 * Non-local connections default to sslmode=require and every connection to
 * connect_timeout=10, unless the URI or the PG* environment says otherwise.
 */
#ifndef PD_PG_H
#define PD_PG_H

#include <stdbool.h>
#include <stddef.h>

struct pd_err;
struct pg_conn;
struct pg_result;

struct pg_query_opts {
    /* BEGIN READ ONLY; SET LOCAL statement_timeout; query; ROLLBACK. The SQL
     * must be a single statement (sent with the extended protocol). */
    bool read_only;
    int timeout_ms; /* statement_timeout; 0 leaves the server's setting */
    /* Send with the extended protocol even without parameters: the server
     * then refuses a second statement ("...; COMMIT; DELETE ..."). */
    bool single_statement;
    /* Asked about every 200 ms while the server works; true cancels the
     * statement and pg_query fails with PD_EINTR "...: query interrupted". */
    bool (*tick)(void *payload);
    void *payload;
};

/*
 * The libpq conninfo string pg_connect uses for url (a URI or "key=value"
 * conninfo), with the sslmode and connect_timeout defaults applied. It may
 * hold a password: for tests and internal use only, never display it.
 * Caller owns *out. PD_EINPUT when url does not parse.
 */
int pg_conninfo(char **out, const char *url, struct pd_err *err);

/*
 * How url reaches a child program (pg_dump, psql, pg_restore). One rule for
 * secrets: a password never goes on a command line, where ps shows it.
 * Every parameter of url (with pgdrill's defaults, as pg_conninfo applies
 * them) that has a libpq environment variable goes into the environment,
 * the password as PGPASSWORD among them; the other, non-secret parameters
 * form conninfo, for the command line (-d). A secret parameter without a
 * variable (sslpassword) is refused.
 */
struct pg_child_env {
    char **env;       /* this process's environment with the URL's variables replacing
                         inherited ones of the same name; NULL-terminated */
    char *conninfo;   /* "key='value' ..." for -d, NULL when every parameter has a variable */
    char *dbname;     /* the database named by url, NULL when none */
    bool url_invalid; /* set when url does not parse */
};

/*
 * Fill *out (free with pg_child_env_free, also on failure). PD_EINPUT
 * "not a valid connection string: REASON" (libpq's reason, redacted) or
 * "parameter KEY cannot be passed to PROG safely"; callers prefix the
 * name of the URL.
 */
int pg_child_env(struct pg_child_env *out, const char *url, const char *prog, struct pd_err *err);

/* Free what pg_child_env filled in, wiping the values first; e stays valid. */
void pg_child_env_free(struct pg_child_env *e);

/* True when every host of conninfo is loopback or a Unix socket (tests). */
bool pg_host_is_local(const char *host);

/* Connect; the caller owns *out (pg_conn_free). */
int pg_connect(struct pg_conn **out, const char *url, struct pd_err *err);

/* "host:port/db" for messages; borrowed until pg_conn_free. */
const char *pg_conn_target(const struct pg_conn *c);

/*
 * Run sql with text parameters $1..$n (NULL entries are SQL NULL). With no
 * parameters and not read_only, sql may hold several statements (the last
 * result is returned). The caller owns *out (pg_result_free); out may be
 * NULL to discard the result.
 */
int pg_query(struct pg_conn *c, struct pg_result **out, const char *sql, const char *const *params,
             size_t n_params, const struct pg_query_opts *opts, struct pd_err *err);

/*
 * Run sql, a COPY ... FROM STDIN, feeding it the bytes of fd to its end;
 * *rows is the number of rows the server copied. An error of the COPY (a
 * bad row) is PD_ECHECK, as for pg_query; a read error is PD_EIO.
 */
int pg_copy_in_fd(struct pg_conn *c, const char *sql, int fd, unsigned long long *rows,
                  struct pd_err *err);

void pg_conn_free(struct pg_conn *c);

size_t pg_result_rows(const struct pg_result *r);
size_t pg_result_cols(const struct pg_result *r);
/* Borrowed until pg_result_free. */
const char *pg_result_colname(const struct pg_result *r, size_t col);
/* The text of a value, or NULL for SQL NULL; borrowed until pg_result_free. */
const char *pg_result_value(const struct pg_result *r, size_t row, size_t col);
/* Command tag such as "SELECT 3" or "INSERT 0 1"; borrowed. */
const char *pg_result_command(const struct pg_result *r);
void pg_result_free(struct pg_result *r);

#endif
