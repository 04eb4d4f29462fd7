/*
 * status: the procedures' calendar. What ran last, how it went, and what is
 * overdue: the weekly backup, the monthly verification and the drills.
 *
 * The facts come from:
 *   - the weekly backups in S3 (PGDRILL_BACKUP_URI/weekly/, listed), when a
 *     client is given, else the local record the last `pgdrill backup` left
 *     ($PGDRILL_HOME/status/backup.json);
 *   - the record the last `pgdrill verify` left ($PGDRILL_HOME/status/
 *     verify.json; status_record_verify writes it, keeping the time of the
 *     last passing run across failing ones);
 *   - the drills under $PGDRILL_HOME/drills (their report.json) and, with a
 *     client, the drill evidence under PGDRILL_BACKUP_URI/drills/ID/
 *     report.json (absent: nothing remote).
 *
 * A backup is overdue when the newest is older than backup_limit_s (8 days),
 * the verification when the last passing one is older than verify_limit_s
 * (31 days), the quarterly drill (runbook quarterly-drill) when its last
 * passing drill is older than drill_limit_s (92 days); never done is
 * overdue. The limits come from PGDRILL_STATUS_{BACKUP,VERIFY,DRILL}_DAYS
 * (status_limits_from_env).
 *
 * status_load reads only; every S3 request it makes is recorded in the
 * audit log (s3.list, s3.head of the newest backup, s3.get) after it. The struct owns its strings.
 */
#ifndef PD_STATUS_H
#define PD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit;
struct lines;
struct pd_err;
struct s3_client;

/* The runbook whose drills are due every quarter. */
#define STATUS_QUARTERLY_RUNBOOK "quarterly-drill"

struct status_drill {
    char *runbook;       /* runbook id */
    char *drill_id;      /* the newest drill of it */
    char *outcome;       /* "passed", "failed", "running"... */
    double at;           /* finished (else started), seconds since the epoch */
    double last_success; /* the newest passing drill of it; < 0 never */
    double duration_s;   /* < 0 unknown */
    double rto_s, rpo_s; /* < 0 unknown */
    int remote;          /* 1: read from the remote evidence */
};

struct status {
    double now;
    double backup_limit_s, verify_limit_s, drill_limit_s;

    /* the newest weekly backup; at < 0 when none is known */
    double backup_at;
    uint64_t backup_size;
    char *backup_key;
    const char *backup_source; /* "s3" or "local" (static) */
    int backup_verified;       /* 1: checked after upload or by a passing verify */
    int backup_sha256;         /* 1: S3 holds its x-amz-meta-sha256 (s3 source only) */
    double backup_duration_s;  /* < 0 unknown */

    /* the last verification; verify_at < 0 when none ran */
    double verify_at;
    double verify_last_success; /* < 0 never */
    char *verify_verdict;       /* "passed", "failed", "error" */
    char *verify_detail;        /* the checks that did not pass, or NULL */
    double verify_duration_s;

    struct status_drill *drills; /* by runbook id */
    size_t n_drills;

    int backup_overdue, verify_overdue, drill_overdue;
    char **problems; /* what could not be read (no secret), for the operator */
    size_t n_problems;
};

struct status_opts {
    const char *home;                                     /* $PGDRILL_HOME */
    double now;                                           /* wall clock */
    double backup_limit_s, verify_limit_s, drill_limit_s; /* 0: 8, 31, 92 days */
    struct s3_client *s3;                                 /* NULL: local facts only (borrowed) */
    const char *bucket;                                   /* with s3 */
    const char *prefix;  /* the key of PGDRILL_BACKUP_URI, "" or ending in "/" */
    struct audit *audit; /* required with s3 (borrowed) */
};

/* The limits from PGDRILL_STATUS_BACKUP_DAYS, _VERIFY_DAYS and _DRILL_DAYS (defaults 8, 31, 92). */
int status_limits_from_env(struct status_opts *o, struct pd_err *err);

/* Gather the facts. A source that cannot be read is a problem line, not an error. */
int status_load(struct status *out, const struct status_opts *opt, struct pd_err *err);

/* 0 nothing overdue, 1 something overdue (or never done). */
int status_exit_code(const struct status *s);

/* The lines for people, one fact per line. Caller frees. */
char *status_text(const struct status *s);

/*
 * status_text's lines for a front end that styles them (timeline/lines.h):
 * overdue facts and problems LINE_WARN, the verdict LINE_HEADING.
 */
void status_render_lines(struct lines *out, const struct status *s);

/* `pgdrill status --json`. Caller frees. */
char *status_json(const struct status *s);

/* Prometheus text format (node_exporter's textfile collector). Caller frees. */
char *status_metrics(const struct status *s);

void status_free(struct status *s);

/*
 * The records status reads, written (atomically, 0600) under home/status/
 * by the commands themselves. verify: its verdict ("passed", "failed",
 * "error"), the checks that did not pass (may be NULL), the newest backup it
 * streamed (may be NULL) and its duration. backup: the object, its size, and
 * whether it was verified after upload; outcome "passed" or "failed". Each
 * keeps the last passing run's time (and, for backup, its object, size,
 * verification and duration) across failing ones.
 */
int status_record_verify(const char *home, double at, const char *verdict, const char *detail,
                         const char *newest_key, double duration_s, struct pd_err *err);
int status_record_backup(const char *home, double at, const char *outcome, const char *key,
                         uint64_t size, int verified, double duration_s, struct pd_err *err);

/*
 * Is the local sandbox up? The same check as `pgdrill sandbox status` (every
 * service of the sandbox under $PGDRILL_HOME running): it runs that command,
 * this very pgdrill (/proc/self/exe) with the environment of this process,
 * and takes exit 0 as up. It reaches no service but the local processes.
 */
bool status_sandbox_up(void);

#endif
