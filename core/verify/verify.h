/*
 * verify: the monthly verification checklist and the backup listing it
 * shares with the `s3` runbook steps.
 *
 * Backups are objects named care-commons-backup-YYYYMMDD-HHMMSS.sql.gz (or
 * .dump for custom-format dumps). Their age comes from the timestamp in the
 * name, which is when the dump was taken (UTC); an object whose name has no
 * timestamp is dated by its LastModified. "Newest" is the latest such time.
 *
 * verify_run carries out the checklist: the Neon default branch is present
 * and ready, its history window covers min_history_s, the newest N backups
 * are listed with sizes and ages, the newest is no older than max_age_s and
 * has not shrunk (shrink_ratio x the median of the four before it), and the newest is
 * streamed once through SHA-256 and gunzip (no temp file) and compared with
 * its x-amz-meta-sha256. The listed backups are HEADed to learn their
 * encryption and the compliance checks (core/compliance) end the list:
 * compliance.backups-encrypted-at-rest, compliance.tls-outside-loopback
 * (every endpoint this process reached) and compliance.retention-meets-
 * 7-years (flagged, a warning, when a class keeps backups for less); they
 * are kept apart from the checklist, in compliance[]. Each checklist item
 * becomes a verify_check; a check that fails is VERIFY_FAIL, one that could
 * not be carried out because a service failed is VERIFY_ERROR.
 *
 * Every request verify_run sends is recorded in the audit log (opt->audit)
 * after it completes, with its outcome and drill_id null:
 * "neon.project-get" and "neon.branch-get" (target
 * "<NEON_API_HOST>/projects/<id>"), "s3.list" (target "s3://bucket/prefix",
 * the objects counted), "s3.get" for the streamed check (the object, its
 * bytes and sha256) and one "s3.head" per HEADed backup. When an entry
 * cannot be written the run sends nothing more: a check "audit" is
 * VERIFY_ERROR naming the log and the cause, the check in progress is left
 * out unless all its requests had been made, and only the compliance
 * judgments of what was seen follow.
 */
#ifndef PD_VERIFY_H
#define PD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "compliance/compliance.h"

struct audit;
struct pd_err;
struct s3_client;
struct neon_client;

struct verify_backup {
    char *key;
    uint64_t size;
    double time;       /* seconds since the epoch */
    int time_from_key; /* 1: from the name, 0: from LastModified */
};

struct verify_backups {
    struct verify_backup *items; /* newest first */
    size_t n;
};

/*
 * The UTC time in a key's basename "...-YYYYMMDD-HHMMSS.<ext>", or -1 when
 * it has none (or the date is not a real one).
 */
int verify_key_time(const char *key, double *out);

/* Sort newest first (ties: by key, descending, so the order is stable). */
void verify_backups_sort(struct verify_backups *b);

/*
 * Every object under prefix in bucket (following continuation tokens),
 * newest first. Keys ending in "/" (folder markers) are left out.
 */
int verify_list_backups(struct verify_backups *out, struct s3_client *c, const char *bucket,
                        const char *prefix, struct pd_err *err);

void verify_backups_free(struct verify_backups *b);

/*
 * HEAD the newest n backups of b (n capped at b->n) so that their
 * x-amz-server-side-encryption is recorded for the compliance check
 * (ListObjectsV2 does not carry it). A HEAD that fails is reported to line
 * (may be NULL) as "encryption of s3://B/K not checked: why" and counted;
 * returns the number of such failures.
 */
size_t verify_head_backups(struct s3_client *c, const char *bucket, const struct verify_backups *b,
                           size_t n, void (*line)(const char *text, void *payload), void *payload);

/* "812 B", "1.5 KiB", "3.2 MiB", "1.0 GiB" */
void verify_format_size(char *buf, size_t size, uint64_t bytes);

/* "3d 4h", "5h 12m", "7m", "<1m" (negative ages print as "in the future") */
void verify_format_age(char *buf, size_t size, double seconds);

enum verify_status {
    VERIFY_PASS,
    VERIFY_FAIL,  /* the check ran and found a problem: exit 1 */
    VERIFY_ERROR, /* a service failed, the check could not be made: exit 3 */
    VERIFY_SKIP,  /* not run (nothing to check) */
};

/* The checks from core/compliance are shown with this prefix. */
#define VERIFY_COMPLIANCE_PREFIX "compliance."

struct verify_check {
    char *name; /* "neon.default-branch", "neon.history-window", "s3.backups",
                   "s3.newest-age", "s3.newest-size", "s3.newest-stream", "audit" */
    enum verify_status status;
    char *detail; /* one line, no secret */
};

struct verify_opts {
    const char *bucket;
    const char *prefix;   /* e.g. "weekly/" */
    int count;            /* backups to list; 0: 10 */
    double max_age_s;     /* the newest must be younger; 0: 8 days */
    double min_history_s; /* the Neon history window must cover this; 0: 7 days */
    double shrink_ratio;  /* the newest fails below ratio x the median size of the
                             previous four; 0: 0.5, negative: not checked */
    double now;           /* wall clock */
    int skip_stream;      /* list only */
    int skip_neon;        /* the Neon check is reported as skipped */
    struct audit *audit;  /* where each request is recorded; required (borrowed) */
    /* Called with each check as it completes and with listing lines (may be NULL). */
    void (*progress)(const char *line, void *payload);
    void *payload;
    /* Polled between requests and while streaming (may be NULL): non-zero stops
       the run, which then returns PD_EINTR. */
    int (*cancelled)(void *payload);
};

struct verify_report {
    struct verify_check *checks;
    size_t n_checks;
    struct compliance_result *compliance; /* encryption, tls, retention (core/compliance) */
    size_t n_compliance;
    struct verify_backups backups; /* newest first, all of them */
    size_t shown;                  /* how many the report lists (<= count) */
    int have_project;
    char *project_id;
    long history_window_s;
    char *default_branch; /* name */
    uint64_t stream_bytes;
    uint64_t stream_uncompressed;
    double stream_seconds;
    char sha256[65]; /* of the newest, "" when not streamed */
};

/*
 * Run the checklist. neon may be NULL when Neon is not configured: the Neon
 * check is then an ERROR naming what is missing (neon_problem). Returns 0
 * when the report is complete (read its checks), PD_EINTR when opt->cancelled
 * stopped it, another negative PD_E* only for misuse (PD_EBUG without a
 * bucket, an s3 client or opt->audit). The exit
 * code: verify_exit_code.
 */
int verify_run(struct verify_report *out, const struct verify_opts *opt, struct s3_client *s3,
               struct neon_client *neon, const char *neon_problem, struct pd_err *err);

/*
 * min_history_s and shrink_ratio from PGDRILL_VERIFY_HISTORY_DAYS (days,
 * default 7) and PGDRILL_VERIFY_SHRINK_RATIO (default 0.5; 0 turns the check
 * off); PD_EINPUT naming the variable when one is not a number.
 */
int verify_opts_from_env(struct verify_opts *o, struct pd_err *err);

/*
 * Whether the newest of b (newest first) shrank: its size is below ratio x
 * the median size of the (up to) four before it. Returns -1 when there are
 * fewer than four before it (nothing to compare with), else 0 or 1, and the
 * median in *median.
 */
int verify_shrank(const struct verify_backups *b, double ratio, double *median);

/* 0 all passed, 3 any ERROR, else 1 when any FAIL or failed compliance check (flagged: 0). */
int verify_exit_code(const struct verify_report *r);

const char *verify_status_name(enum verify_status s);

/*
 * The report as `pgdrill verify --json` prints it: ok, exit_code (code),
 * uri, checks, the listed backups (ages against now), backups_total,
 * compliance, and neon and stream when there are any. Caller frees.
 */
char *verify_report_json(const struct verify_report *r, const char *uri, double now, int code);

/*
 * The closing lines for people: the compliance counts and the verdict
 * (code as verify_exit_code gives it). Caller frees.
 */
char *verify_report_text(const struct verify_report *r, int code);

void verify_report_free(struct verify_report *r);

#endif
