/* training traffic: the application that keeps writing (see training.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "training.h"
#include "training.intern.h"

/* Every request authenticates its user first, as the application does: with
 * users gone (or their role column), nothing the application does works. */
#define AUTH "WITH me AS (SELECT id, email, role FROM users ORDER BY id LIMIT 1) "
/* A random existing row of T (uses the primary key index). */
#define PICK(t)                                                                                    \
    "coalesce((SELECT id FROM " t " WHERE id >= (SELECT (random() * max(id))::bigint FROM " t      \
    ") ORDER BY id LIMIT 1), (SELECT min(id) FROM " t "))"

/* What the application does, in turn: one row per kind of request. */
static const struct traffic_op {
    const char *op;
    const char *table;
    const char *sql; /* one statement; returns id and md5 of the row */
} traffic_ops[] = {
    {"insert", "visits",
     AUTH "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end) "
          "SELECT " PICK("clients") ", " PICK("caregivers") ", "
                                                            "date_trunc('milliseconds', "
                                                            "clock_timestamp()) + interval '2 "
                                                            "days', "
                                                            "date_trunc('milliseconds', "
                                                            "clock_timestamp()) + interval '2 "
                                                            "days 1 hour' "
                                                            "RETURNING id, md5(visits::text)"},
    {"checkin", "visits",
     AUTH "UPDATE visits SET checked_in_at = clock_timestamp(), "
          "check_in_lat = 39.9 + random() * 0.1, check_in_lon = -83.0 + random() * 0.1, "
          "updated_at = clock_timestamp() "
          "WHERE id = (SELECT id FROM visits WHERE checked_in_at IS NULL AND id >= "
          "(SELECT (random() * max(id))::bigint FROM visits) ORDER BY id LIMIT 1) "
          "RETURNING id, md5(visits::text)"},
    {"edit", "visits",
     AUTH "UPDATE visits SET scheduled_end = scheduled_end + interval '15 minutes', "
          "updated_at = clock_timestamp() WHERE id = " PICK("visits") " "
                                                                      "RETURNING id, "
                                                                      "md5(visits::text)"},
    {"insert", "visits", NULL}, // NULL: the same as the first row
    {"edit", "clients",
     AUTH "UPDATE clients SET medicaid_id = 'MC' || lpad((random() * 99999999)::bigint::text, "
          "8, '0'), updated_at = clock_timestamp() WHERE id = " PICK("clients") " "
                                                                                "RETURNING id, "
                                                                                "md5(clients::"
                                                                                "text)"},
    {"edit", "users",
     AUTH "UPDATE users SET updated_at = clock_timestamp() WHERE id = " PICK("users") " "
                                                                                      "RETURNING "
                                                                                      "id, "
                                                                                      "md5(users::"
                                                                                      "text)"},
};

#define N_OPS (sizeof(traffic_ops) / sizeof(traffic_ops[0]))

struct traffic {
    const char *dir;
    int log_fd;
    struct pg_conn *conn;
    char *url;      /* where conn points */
    bool lost;      /* a disconnect was logged and no reconnect yet */
    char last[512]; /* the last error logged, so a broken application logs it once */
    double checked; /* when production's URL was last compared (a restore may move it) */
    char why[600];  /* why it is not writing ("" while it writes), as in traffic.state */
    bool stated;    /* traffic.state was written once */
};

/*
 * DIR/traffic.state, for `sandbox status`: "writing", or "not writing since
 * TIME: WHY" while its requests fail (a table or column gone) or production
 * cannot be reached. Written when it changes, so the status tells a stalled
 * application from a writing one without reading the log.
 */
static void
traffic_state(struct traffic *t, const char *why)
{
    char *path, *text, at[40];
    struct pd_err err;

    if (why == NULL)
        why = "";
    if (t->stated && strcmp(t->why, why) == 0)
        return;
    (void)snprintf(t->why, sizeof(t->why), "%s", why);
    t->stated = true;
    pd_time_format(at, sizeof(at), pd_time_wall());
    text = why[0] == '\0' ? pd_xstrdup("writing\n")
                          : pd_xasprintf("not writing since %s: %s\n", at, why);
    path = training_path(t->dir, "traffic.state");
    (void)pd_write_atomic(path, text, strlen(text), 0600, &err);
    free(path);
    free(text);
}

static void
traffic_drop(struct traffic *t, const char *why)
{
    char state[600];

    pg_conn_free(t->conn);
    t->conn = NULL;
    if (!t->lost)
        pd_log(PD_LOG_WARN, "traffic: disconnected: %s", why);
    t->lost = true;
    (void)snprintf(state, sizeof(state), "disconnected: %s", why);
    traffic_state(t, state);
}

/* Connected to production as it is now: 0, or -1 (logged once, retried later). */
static int
traffic_ensure(struct traffic *t)
{
    struct pd_err err;
    char *url = NULL;

    pd_err_clear(&err);
    if (t->conn != NULL && pd_time_mono() - t->checked < 2)
        return 0;
    t->checked = pd_time_mono();
    if (training_url(&url, t->dir, &err) != 0) {
        traffic_drop(t, err.msg);
        return -1;
    }
    if (t->conn != NULL && strcmp(url, t->url) == 0) {
        free(url);
        return 0;
    }
    if (t->conn != NULL) {
        pg_conn_free(t->conn);
        t->conn = NULL;
        pd_log(PD_LOG_WARN, "traffic: production moved: reconnecting");
        t->lost = true;
    }
    free(t->url);
    t->url = url;
    if (pg_connect(&t->conn, url, &err) != 0) {
        traffic_drop(t, err.msg);
        return -1;
    }
    if (t->lost)
        pd_log(PD_LOG_WARN, "traffic: reconnected to %s", pg_conn_target(t->conn));
    t->lost = false;
    return 0;
}

/* One request in its own transaction; the change goes to the private log. */
static int
traffic_one(struct traffic *t, const struct traffic_op *op, struct pd_err *err)
{
    struct pg_result *r = NULL;
    struct pd_err qerr;
    int rc = 0;

    pd_err_clear(&qerr);
    if (pg_query(t->conn, &r, op->sql, NULL, 0, NULL, &qerr) != 0) {
        if (qerr.kind == PD_ESERVICE) {
            traffic_drop(t, qerr.msg);
        } else {
            char state[600];

            if (strcmp(qerr.msg, t->last) != 0)
                pd_log(PD_LOG_WARN, "traffic: %s %s failed: %s", op->op, op->table, qerr.msg);
            (void)snprintf(t->last, sizeof(t->last), "%s", qerr.msg);
            (void)snprintf(state, sizeof(state), "requests fail: %s", qerr.msg);
            traffic_state(t, state);
        }
        goto out;
    }
    t->last[0] = '\0';
    traffic_state(t, NULL);
    if (pg_result_rows(r) == 1) {
        char line[256];
        int n = snprintf(line, sizeof(line), "%.6f %s %s %s %s\n", pd_time_wall(), op->op,
                         op->table, pg_result_value(r, 0, 0), pg_result_value(r, 0, 1));

        rc = pd_write_all(t->log_fd, line, (size_t)n, "traffic.log", err);
    }
out:
    pg_result_free(r);
    return rc;
}

/* The token of DIR/hold, or NULL when the application may write. Caller frees. */
static char *
traffic_hold(const char *dir)
{
    char *path = training_path(dir, "hold"), *tok = NULL;
    size_t len = 0;
    struct pd_err err;

    if (access(path, F_OK) == 0 && pd_read_file(&tok, &len, path, 256, &err) != 0)
        tok = pd_xstrdup("hold");
    free(path);
    return tok;
}

int
training_traffic_run(const char *dir, double rate, const volatile sig_atomic_t *stop,
                     struct pd_err *err)
{
    struct traffic t = {.dir = dir, .log_fd = -1};
    char *path = training_path(dir, "traffic.log");
    double period = rate > 0 ? 1.0 / rate : 0.3;
    int rc = 0;

    t.log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (t.log_fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "traffic: open %s: %s", path, strerror(errno));
        goto out;
    }
    pd_log(PD_LOG_WARN, "traffic: started, %.1f requests per second", 1.0 / period);
    for (size_t turn = 0; !*stop && rc == 0; turn++) {
        char *tok = traffic_hold(dir);
        const struct traffic_op *op = &traffic_ops[turn % N_OPS];

        if (tok != NULL) {
            char *held = training_path(dir, "held");

            (void)pd_write_atomic(held, tok, strlen(tok), 0600, err);
            free(held);
            free(tok);
            training_nap(0.05);
            continue;
        }
        if (op->sql == NULL)
            op = &traffic_ops[0];
        if (traffic_ensure(&t) == 0)
            rc = traffic_one(&t, op, err);
        training_nap(t.conn == NULL ? 1.0 : period);
    }
    pd_log(PD_LOG_WARN, "traffic: stopped");
out:
    if (t.log_fd >= 0)
        (void)close(t.log_fd);
    pg_conn_free(t.conn);
    free(t.url);
    free(path);
    return rc;
}
