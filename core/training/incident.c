/*
 * training incident: the kinds (one table), the ground truth, the ticket.
 *
 * The ground truth file (DIR/truth, 0600) is text, one fact a line:
 *   pgdrill-training-truth 1
 *   kind NAME | seed N | started EPOCH | ended EPOCH | tables T...
 *   col TABLE NAME TYPE   a column before the incident
 *   b TABLE ID MD5        a row before the incident
 *   a TABLE ID MD5        the same row after it (only where it changed)
 *   d TABLE ID            a row the incident deleted
 *   gone TABLE            a table the incident dropped
 *   backup s3://B/K       the backup a kind took first (hooks.c)
 *   outage_until EPOCH    the end of a kind's Neon outage
 *   history_retention N   Neon's history window a kind left (seconds)
 * The application is held (DIR/hold) from just before the incident's
 * transaction (and a kind's before hook) to a moment after its commit, so
 * every change the traffic logs falls clearly before or after it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "training.h"
#include "training.intern.h"

/* One row per kind: adding a kind is a row and its SQL (random() is seeded). */
static const struct incident_kind {
    const char *name;
    const char *tables; /* the tables it breaks, besides the application's */
    const char *sql;    /* one transaction's statements; must change at least one row */
    const char *symptom;
    const char *notice;       /* NULL, or what the trainee reads above the symptom */
    const char *noticed;      /* NULL: "Noticed around HH:MM UTC today; it may have started
                                 some minutes before."; else what follows "Reported around
                                 HH:MM UTC today" */
    training_hook_fn *before; /* NULL, or run with the application held, before the break */
    training_hook_fn *after;  /* NULL, or run right after the break's commit */
} incident_kinds[] = {
    {"delete", "visits",
     "WITH pick AS (SELECT c.organization_id AS org, date_trunc('day', v.scheduled_start) AS d "
     "FROM visits v JOIN clients c ON c.id = v.client_id ORDER BY random() LIMIT 1) "
     "DELETE FROM visits v USING clients c, pick WHERE c.id = v.client_id "
     "AND c.organization_id = pick.org AND v.scheduled_start >= pick.d "
     "AND v.scheduled_start < pick.d + interval '3 days'",
     "One agency's coordinators report that several days of visits have vanished from\n"
     "  their calendars. Other agencies see nothing wrong.",
     NULL, NULL, NULL, NULL},
    {"corrupt", "visits",
     "UPDATE visits v SET check_in_lat = 0, check_in_lon = 0 FROM clients c "
     "WHERE c.id = v.client_id AND v.checked_in_at IS NOT NULL AND c.organization_id = "
     "(SELECT organization_id FROM clients ORDER BY random() LIMIT 1)",
     "The state's EVV aggregator rejects one agency's export: many check-ins show a GPS\n"
     "  position of 0,0, off the coast of Africa. New check-ins look fine.",
     NULL, NULL, NULL, NULL},
    {"cascade", "clients visits",
     "WITH gone AS MATERIALIZED (SELECT id FROM clients WHERE id IN (SELECT client_id FROM "
     "visits) ORDER BY random() LIMIT 5), "
     "dv AS (DELETE FROM visits WHERE client_id IN (SELECT id FROM gone)) "
     "DELETE FROM clients WHERE id IN (SELECT id FROM gone)",
     "Caregivers cannot find some of their clients in the app, and those clients' whole\n"
     "  visit history is gone as well. An admin was cleaning up duplicate clients.",
     NULL, NULL, NULL, NULL},
    {"drop-table", "users", "DROP TABLE users CASCADE",
     "The application is down: every request fails with\n"
     "  ERROR: relation \"users\" does not exist. Someone ran a clean-up script.",
     NULL, NULL, NULL, NULL},
    {"bad-migration", "users", "ALTER TABLE users DROP COLUMN role",
     "Right after a deploy with a migration, every request fails with\n"
     "  ERROR: column \"role\" does not exist.",
     NULL, NULL, NULL, NULL},
    {"neon-outage", "visits",
     "WITH pick AS (SELECT c.organization_id AS org, date_trunc('day', v.scheduled_start) AS d "
     "FROM visits v JOIN clients c ON c.id = v.client_id ORDER BY random() LIMIT 1) "
     "DELETE FROM visits v USING clients c, pick WHERE c.id = v.client_id "
     "AND c.organization_id = pick.org AND v.scheduled_start >= pick.d "
     "AND v.scheduled_start < pick.d + interval '2 days'",
     "One agency's coordinators report that two days of visits are gone from their\n"
     "  calendars. Other agencies see nothing wrong.",
     "NEON STATUS  Investigating: point-in-time restore unavailable\n"
     "  We are investigating elevated error rates (service unavailable) when creating\n"
     "  branches from a past point in time and when restoring branches in this region.\n"
     "  Existing branches, computes and connections are not affected. Next update\n"
     "  within 60 minutes.",
     NULL, training_hook_backup, training_hook_outage},
    {"history-expired", "visits",
     "WITH pick AS (SELECT caregiver_id AS cg, date_trunc('day', scheduled_start) AS d "
     "FROM visits ORDER BY random() LIMIT 1) "
     "DELETE FROM visits v USING pick WHERE v.caregiver_id = pick.cg "
     "AND v.scheduled_start >= pick.d - interval '3 days' "
     "AND v.scheduled_start < pick.d + interval '4 days'",
     "A caregiver's schedule for a whole week is empty: the visits were there when\n"
     "  the week was planned, and the families say the visits did take place.",
     NULL,
     ", days after it began: the coordinator last looked at\n"
     "that week's schedule several days ago and thought the empty screen was a sync delay.",
     training_hook_backup, training_hook_history},
};

#define N_KINDS (sizeof(incident_kinds) / sizeof(incident_kinds[0]))

const char *
training_incident_kinds(void)
{
    return "delete, corrupt, cascade, drop-table, bad-migration, neon-outage, history-expired";
}

/* The columns of table as "col T NAME TYPE" lines. */
static int
truth_columns(struct pd_buf *b, struct pg_conn *c, const char *table, struct pd_err *err)
{
    static const char sql[] = "SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_schema = 'public' AND table_name = $1 "
                              "ORDER BY ordinal_position";
    const char *params[] = {table};
    struct pg_result *r = NULL;
    int rc = pg_query(c, &r, sql, params, 1, NULL, err);

    for (size_t i = 0; rc == 0 && i < pg_result_rows(r); i++)
        rc = pd_buf_appendf(b, err, "col %s %s %s\n", table, pg_result_value(r, i, 0),
                            pg_result_value(r, i, 1));
    pg_result_free(r);
    return rc;
}

/* "b" lines of before, then "a"/"d" lines against after (or "gone"). */
static int
truth_rows(struct pd_buf *b, const char *table, const struct fpset *before,
           const struct fpset *after, bool gone, struct pd_err *err)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < before->n; i++)
        rc = pd_buf_appendf(b, err, "b %s %lld %s\n", table, before->ids[i], before->fp[i]);
    if (gone)
        return rc == 0 ? pd_buf_appendf(b, err, "gone %s\n", table) : rc;
    for (size_t i = 0; rc == 0 && i < before->n; i++) {
        long j = fpset_find(after, before->ids[i]);

        if (j < 0)
            rc = pd_buf_appendf(b, err, "d %s %lld\n", table, before->ids[i]);
        else if (strcmp(after->fp[j], before->fp[i]) != 0)
            rc = pd_buf_appendf(b, err, "a %s %lld %s\n", table, before->ids[i], after->fp[j]);
    }
    return rc;
}

/* The tables of a kind plus the application's, each once; caller frees the words. */
static size_t
incident_tables(char **out, size_t max, const struct incident_kind *k)
{
    char *all = pd_xasprintf("%s %s", k->tables, TRAINING_APP_TABLES), *save = NULL;
    size_t n = 0;

    for (char *w = strtok_r(all, " ", &save); w != NULL && n < max;
         w = strtok_r(NULL, " ", &save)) {
        bool dup = false;

        for (size_t i = 0; i < n; i++)
            dup = dup || strcmp(out[i], w) == 0;
        if (!dup)
            out[n++] = pd_xstrdup(w);
    }
    free(all);
    return n;
}

struct incident_run {
    const struct incident_kind *kind;
    char *tables[8];
    size_t n_tables;
    struct fpset before[8];
    struct pd_buf truth;
    unsigned long long changed; /* rows the statement reported */
    double started, ended;
};

/* The incident's transaction: fingerprints before, the SQL, the truth lines. */
static int
incident_txn(struct incident_run *ir, struct pg_conn *c, unsigned long seed, struct pd_err *err)
{
    char setseed[64];
    struct pg_result *r = NULL;
    int rc;

    (void)snprintf(setseed, sizeof(setseed), "SELECT setseed(%.6f)",
                   (double)(seed % 1000000) / 1000000.0);
    rc = pg_query(c, NULL, "BEGIN ISOLATION LEVEL REPEATABLE READ", NULL, 0, NULL, err);
    if (rc == 0)
        rc = pg_query(c, NULL, setseed, NULL, 0, NULL, err);
    ir->started = pd_time_wall();
    for (size_t i = 0; rc == 0 && i < ir->n_tables; i++) {
        rc = truth_columns(&ir->truth, c, ir->tables[i], err);
        if (rc == 0)
            rc = training_snapshot(&ir->before[i], c, ir->tables[i], err);
    }
    if (rc == 0)
        rc = pg_query(c, &r, ir->kind->sql, NULL, 0, NULL, err);
    if (rc == 0) {
        const char *tag = pg_result_command(r), *sp = strrchr(tag, ' ');

        ir->changed = sp != NULL ? strtoull(sp + 1, NULL, 10) : 1;
        if (strncmp(tag, "DROP", 4) == 0 || strncmp(tag, "ALTER", 5) == 0)
            ir->changed = 1;
    }
    for (size_t i = 0; rc == 0 && ir->changed > 0 && i < ir->n_tables; i++) {
        struct fpset after = {0};
        struct pd_err e2;
        bool gone = false;

        pd_err_clear(&e2);
        (void)pg_query(c, NULL, "SAVEPOINT s", NULL, 0, NULL, &e2);
        if (training_snapshot(&after, c, ir->tables[i], &e2) != 0) {
            gone = true;
            (void)pg_query(c, NULL, "ROLLBACK TO SAVEPOINT s", NULL, 0, NULL, &e2);
        }
        rc = truth_rows(&ir->truth, ir->tables[i], &ir->before[i], &after, gone, err);
        fpset_free(&after);
    }
    pg_result_free(r);
    return rc;
}

static char *
incident_ticket(const struct incident_run *ir, unsigned long seed)
{
    const struct incident_kind *k = ir->kind;
    char when[32], *noticed, *notice, *ticket;
    time_t t = (time_t)ir->ended;
    struct tm tm;

    (void)gmtime_r(&t, &tm);
    (void)strftime(when, sizeof(when), "%H:%M UTC", &tm);
    if (k->noticed != NULL)
        noticed = pd_xasprintf("Reported around %s today%s\n", when, k->noticed);
    else
        noticed = pd_xasprintf(
            "Noticed around %s today; it may have started some minutes before.\n", when);
    notice = k->notice != NULL ? pd_xasprintf("%s\n\n", k->notice) : pd_xstrdup("");
    ticket = pd_xasprintf("TICKET INC-%04lu  priority: high  reported by: support desk\n"
                          "\n"
                          "%s"
                          "  %s\n"
                          "\n"
                          "%s"
                          "Production is the sandbox's care_commons (pgdrill sandbox env), and "
                          "the\napplication keeps writing to it. Restore what was lost, keep what "
                          "the\napplication wrote since, then run: pgdrill sandbox grade\n",
                          seed % 10000, notice, k->symptom, noticed);
    free(noticed);
    free(notice);
    return ticket;
}

static void
incident_run_free(struct incident_run *ir)
{
    for (size_t i = 0; i < ir->n_tables; i++) {
        free(ir->tables[i]);
        fpset_free(&ir->before[i]);
    }
    pd_buf_free(&ir->truth);
}

/* The ground truth of a committed incident to DIR/truth (0600). */
static int
incident_truth(struct incident_run *ir, const char *path, unsigned long seed, struct pd_err *err)
{
    int rc = pd_buf_appendf(&ir->truth, err,
                            "kind %s\nseed %lu\nstarted %.6f\nended %.6f\nchanged %llu\n",
                            ir->kind->name, seed, ir->started, ir->ended, ir->changed);

    if (rc == 0) {
        char *text = pd_xasprintf("pgdrill-training-truth 1\n%s", pd_buf_str(&ir->truth));

        rc = pd_write_atomic(path, text, strlen(text), 0600, err);
        free(text);
    }
    return rc;
}

/* One attempt with seed; *again set when it changed nothing (another seed may). */
static int
incident_try(char **ticket, const char *dir, const struct incident_kind *k, unsigned long seed,
             bool *again, struct pd_err *err)
{
    struct incident_run ir = {.kind = k};
    struct training_hook hook = {.dir = dir, .truth = &ir.truth};
    struct pg_conn *c = NULL;
    char *path = training_path(dir, "truth");
    struct pd_err after_err;
    int rc, after_rc = 0;

    pd_err_clear(&after_err);
    pd_buf_init(&ir.truth, (size_t)1 << 30);
    ir.n_tables = incident_tables(ir.tables, 8, k);
    rc = training_connect(&c, dir, err);
    if (rc != 0)
        goto out;
    training_hold(dir);
    // the kind's preparation (a fresh backup): nothing the application does falls after it
    if (k->before != NULL && (rc = k->before(&hook, err)) != 0)
        goto out;
    training_nap(0.5); // a quiet moment before: the restore point lies in it
    rc = incident_txn(&ir, c, seed, err);
    *again = rc == 0 && ir.changed == 0;
    if (rc != 0 || *again) {
        struct pd_err e2;

        (void)pg_query(c, NULL, "ROLLBACK", NULL, 0, NULL, &e2);
        goto out;
    }
    rc = pg_query(c, NULL, "COMMIT", NULL, 0, NULL, err);
    ir.ended = pd_time_wall();
    hook.started = ir.started;
    // what breaks besides the data (Neon's history): the data is broken already, so the
    // truth is written whatever the hook says
    if (rc == 0 && k->after != NULL)
        after_rc = k->after(&hook, &after_err);
    if (rc == 0)
        rc = incident_truth(&ir, path, seed, err);
    training_nap(1.0); // and a quiet moment after: incident_end lies in it
    if (rc == 0 && after_rc != 0) {
        *err = after_err;
        rc = after_rc;
    }
    if (rc == 0)
        *ticket = incident_ticket(&ir, seed);
out:
    training_release(dir);
    pg_conn_free(c);
    incident_run_free(&ir);
    free(path);
    return rc;
}

int
training_incident(char **ticket, const char *dir, const char *kind, unsigned long seed,
                  struct pd_err *err)
{
    const struct incident_kind *k = NULL;
    bool again = true;
    int rc = 0;

    *ticket = NULL;
    if (kind == NULL)
        k = &incident_kinds[seed % N_KINDS];
    for (size_t i = 0; k == NULL && i < N_KINDS; i++)
        if (strcmp(incident_kinds[i].name, kind) == 0)
            k = &incident_kinds[i];
    if (k == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "incident: unknown kind '%s' (%s)", kind,
                          training_incident_kinds());
    training_neon_heal(dir); // the previous incident's outage or history ends here
    for (int i = 0; i < 5 && again && rc == 0; i++)
        rc = incident_try(ticket, dir, k, seed + (unsigned long)i * 7919, &again, err);
    if (rc == 0 && again)
        rc = PD_ERR_SET(err, PD_ECHECK, "incident %s: it found nothing to break in five tries",
                        k->name);
    else if (rc != 0)
        pd_err_prefix(err, "incident %s: ", k->name);
    return rc;
}
