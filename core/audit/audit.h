/*
 * audit: the append-only, hash-chained audit log ($PGDRILL_HOME/audit.log).
 *
 * Every action pgdrill takes against a database, Neon or S3 is one JSON
 * line, written with a single write() and fsync'd before audit_record
 * returns:
 *
 *   {"seq":1,"at":"2026-11-26T04:05:06.123Z","who":"alice","uid":1000,
 *    "host":"ops1","pid":4242,"drill_id":"20261126-040500-x"|null,
 *    "action":"sql","target":"postgres://db.example:5432/app",
 *    "args":{"step":"count","sql_sha256":"..."}[,"plain_http":"http://h:80"],
 *    "outcome":"ok"|"failed: why",
 *    "prev":"<sha256 hex of the previous line>"}
 *
 * plain_http is present only when the action reached a host outside
 * loopback over plain http (allowed by PGDRILL_ALLOW_PLAIN_HTTP): it names
 * those endpoints, each in the first entry written after its use.
 *
 * seq counts from 1 with no gaps; prev is the SHA-256 (lowercase hex) of
 * the previous line's bytes without its newline, 64 zeros for the first.
 * Appenders in several processes take flock(LOCK_EX) on the file around
 * reading the last line and appending, so the chain stays linear. Every
 * string passes through pd_redact; targets carry no user info and no query
 * string. The file is created 0600 (O_APPEND|O_CREAT|O_CLOEXEC).
 *
 * A last line that is not a valid entry (a torn write after a crash) is
 * kept, closed with a newline and chained from, so audit_verify reports it
 * instead of the log losing it silently.
 *
 * While a log is open, the requests the S3 client sends on its own (the
 * HEAD that finds a bucket's region, the HEAD of part 1 that tells whether
 * a multipart checksum can be checked; see s3_set_own_request_auditor) are
 * recorded in the newest log open in the process, as "s3.head" with
 * args {"purpose": "bucket-region" | "part-size"} and drill_id null: the
 * client does not know the drill. The entry of the operation that needed
 * the request (s3.get, s3.put, ...) follows it.
 *
 * audit_verify recomputes the chain and the sequence and names the first
 * broken line. The chain proves order and integrity of everything before
 * the last entry; an edit of the last entry itself, or removal of entries
 * at the end, needs the head hash recorded elsewhere (audit_verify returns
 * it) to be detected.
 */
#ifndef PD_AUDIT_H
#define PD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

struct pd_err;
struct audit;

/* Longest entry audit_record writes; longer values are cut. */
#define AUDIT_ENTRY_MAX 8192

/* One member of an entry's "args" object: a string, or an integer when str is NULL. */
struct audit_arg {
    const char *key;
    const char *str;
    long long num;
};

/*
 * Open (creating 0600 if needed) home/audit.log for appending entries made
 * by operator. home is created (0700) when missing. The caller owns *out
 * (audit_close). PD_EIO "audit log PATH: why" when it cannot be opened for
 * writing: callers must not run an action they cannot audit.
 */
int audit_open(struct audit **out, const char *home, const char *operator_name, struct pd_err *err);

/* The log's path; borrowed until audit_close. */
const char *audit_path(const struct audit *a);

/*
 * Append one entry. drill_id may be NULL (JSON null). action is "sql",
 * "check", "sh", "neon.branch-create", ...; target is redacted again here.
 * outcome is NULL for "ok", else the failure message (written as
 * "failed: <redacted message>"). PD_EIO when the entry could not be
 * written and made durable; a partial write is cut back off.
 */
int audit_record(struct audit *a, const char *drill_id, const char *action, const char *target,
                 const struct audit_arg *args, size_t n_args, const char *outcome,
                 struct pd_err *err);

void audit_close(struct audit *a);

/*
 * "postgres://host:port/db" for a connection URI or "key=value" conninfo:
 * no user, password or parameters. Missing parts come from PGHOST, PGPORT,
 * PGDATABASE, else "localhost", "5432" and "". Caller owns the result.
 */
char *audit_target_of_url(const char *url);

struct audit_summary {
    size_t n_entries; /* lines read */
    char head[65];    /* sha256 of the last line ("" when empty) */
    size_t bad_line;  /* first broken line, 0 when the chain is intact */
};

/*
 * Called once for the first broken line with what is wrong, e.g.
 * "line 37: hash chain broken (entry edited or replaced)".
 */
typedef void (*audit_report_fn)(size_t line, const char *problem, void *payload);

/*
 * Verify the log at path: every line a valid entry, seq contiguous from 1,
 * each prev the hash of the line before. Returns 0 when intact, PD_ECHECK
 * "audit log PATH: line N: why" at the first broken line (report is called
 * with it first, when not NULL), PD_ENOENT when the file does not exist,
 * PD_EIO when it cannot be read. The problems named:
 *   "line N: hash chain broken (entry edited or replaced)"
 *   "line N: K entr(y|ies) removed before this line (seq jumps from A to B)"
 *   "line 1: K entr(y|ies) removed before this line (seq starts at B)"
 *   "line N: entries reordered (seq B where A was expected)"
 *   "line N: entry repeated or reordered (seq B after A)"
 *   "line N: not a valid audit entry (why)"
 *   "line N: truncated last line (incomplete write)"
 */
int audit_verify(struct audit_summary *out, const char *path, audit_report_fn report, void *payload,
                 struct pd_err *err);

#endif
