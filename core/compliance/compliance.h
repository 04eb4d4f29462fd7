/*
 * compliance: evidence for the HIPAA/EVV checks that are not SQL (seed,
 * "HIPAA Backup Requirements"): backups encrypted at rest, TLS for every
 * transfer, and a retention of at least 7 years for medical records.
 *
 * A process-wide recorder is fed by the transport layers as they work, so
 * no caller has to remember to report. compliance_observe registers it as
 * the observer of:
 *   - core/http (Neon, Slack, S3), which reports every endpoint a request
 *     is sent to, with whether TLS was used and whether the host is
 *     loopback (pg_connect notes every database server it connects to);
 *   - the S3 client, which reports the x-amz-server-side-encryption header
 *     of every object it HEADs or GETs (ListObjectsV2 does not carry it:
 *     callers that list backups HEAD the ones they show).
 * The judges turn what was recorded into check results. The record covers
 * this process only (a resumed drill judges what it contacted since the
 * resume). All functions are thread-safe: parts of an upload are sent from
 * several threads.
 *
 * Severity: an unencrypted object or a non-loopback call without TLS is a
 * failure. A retention shorter than 7 years is flagged (a warning): it is a
 * policy setting that needs a long-term archive configured elsewhere, and a
 * drill or verification should not turn red every time because of it.
 */
#ifndef PD_COMPLIANCE_H
#define PD_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>

/* 7 years of 365.25 days: how long medical and visit records must be kept. */
#define COMPLIANCE_RETENTION_MIN_DAYS 2557

#define COMPLIANCE_ENCRYPTED "backups-encrypted-at-rest"
#define COMPLIANCE_TLS       "tls-outside-loopback"
#define COMPLIANCE_RETENTION "retention-meets-7-years"
/* The check= values of the `compliance` runbook action, space-separated. */
#define COMPLIANCE_CHECKS COMPLIANCE_ENCRYPTED " " COMPLIANCE_TLS " " COMPLIANCE_RETENTION

/* Objects a listing HEADs to learn their encryption: the newest ones, at most. */
#define COMPLIANCE_HEAD_MAX 10

enum compliance_status {
    COMPLIANCE_PASSED,
    COMPLIANCE_FAILED,
    COMPLIANCE_FLAGGED, /* a warning: recorded as not passed, does not fail the run */
};

struct compliance_result {
    char *name; /* one of COMPLIANCE_CHECKS (owned) */
    enum compliance_status status;
    char *expected; /* what the requirement is (owned) */
    char *detail;   /* what was seen, naming the offenders; never a secret (owned) */
};

/*
 * Register the recorder as the observer of core/http and core/s3 (the front
 * end calls it once at start-up, before any request). Idempotent.
 */
void compliance_observe(void);

/*
 * Note a request to endpoint ("https://host[:port]", "http://host:port",
 * "postgres://host:port"; no user info, no path). tls: the transfer was
 * encrypted (https, or a PostgreSQL session with SSL in use); loopback: the
 * host is 127.0.0.0/8, ::1, localhost or a Unix socket; how: a short note
 * shown with it ("sslmode=require"), may be NULL. Noting the same endpoint
 * again only counts it.
 */
void compliance_note_endpoint(const char *endpoint, bool tls, bool loopback, const char *how);

/* Note the x-amz-server-side-encryption value seen for s3://bucket/key (sse NULL: none). */
void compliance_note_object(const char *bucket, const char *key, const char *sse);

/*
 * The non-loopback endpoints reached over plain http (allowed only by
 * PGDRILL_ALLOW_PLAIN_HTTP) since the previous call, as "http://a:1,
 * http://b:2"; NULL when there is none. The audit log puts them in the
 * entry of the action that used them. Caller owns the result.
 */
char *compliance_take_plain_http(void);

/* Forget everything recorded (tests; a new run in the same process). */
void compliance_reset(void);

/* Number of distinct objects whose encryption was seen. */
size_t compliance_objects_seen(void);

/*
 * Every object seen carries x-amz-server-side-encryption (AES256, aws:kms,
 * aws:kms:dsse). Failed naming the objects without it; failed too when no
 * object was seen at all (nothing shows the backups are encrypted).
 */
void compliance_judge_encryption(struct compliance_result *out);

/*
 * Every endpoint outside loopback was reached with TLS. Passed lists them;
 * loopback endpoints are listed as exempt; failed names the plain ones.
 */
void compliance_judge_tls(struct compliance_result *out);

struct compliance_retention {
    const char *cls; /* "weekly", ... */
    int days;        /* the retention the backup clean-up applies */
};

/*
 * Each class keeps its backups for at least COMPLIANCE_RETENTION_MIN_DAYS;
 * flagged naming the shorter classes and their days, and where a long-term
 * archive must be configured.
 */
void compliance_judge_retention(struct compliance_result *out, const struct compliance_retention *r,
                                size_t n);

void compliance_result_free(struct compliance_result *r);

/* "passed", "failed", "flagged" */
const char *compliance_status_name(enum compliance_status s);

/* 1 when value is a server-side encryption S3 reports for an encrypted object. */
int compliance_sse_is_encryption(const char *value);

#endif
