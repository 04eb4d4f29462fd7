/*
 * verify/restore: restore a backup object from S3 into a database in one
 * streamed pass: download -> SHA-256 (and gunzip for .gz) -> psql (plain
 * SQL) or pg_restore (custom format), with no temporary file, except for a
 * parallel pg_restore (-j N needs a seekable file; then the object goes to
 * a private 0700 directory first and is removed afterwards).
 *
 * Plain dumps run through `psql -X -q -v ON_ERROR_STOP=1 --single-transaction`
 * and single-job custom dumps through `pg_restore --exit-on-error
 * --single-transaction`: a SQL error stops the restore, and when the
 * download turns out corrupt (bad gzip, size or SHA-256 mismatch) the client
 * is killed before its input ends, so nothing is committed.
 *
 * The database URL (it holds a password) never reaches a command line: it
 * is split by pg_child_env (core/pg) into PG* environment variables for the
 * child; a secret parameter without one is refused. The client's output
 * lines and periodic progress lines go to the line callback.
 */
#ifndef PD_VERIFY_RESTORE_H
#define PD_VERIFY_RESTORE_H

#include <stdbool.h>
#include <stdint.h>

struct pd_err;
struct s3_client;

enum verify_dump_format {
    VERIFY_DUMP_AUTO,   /* from the key: ".dump" / ".dump.gz" custom, else plain */
    VERIFY_DUMP_PLAIN,  /* SQL text for psql */
    VERIFY_DUMP_CUSTOM, /* pg_dump -Fc for pg_restore */
};

struct verify_restore_opts {
    const char *url; /* target database (secret) */
    enum verify_dump_format format;
    int jobs;           /* pg_restore -j; <= 1 streams */
    const char *tmpdir; /* for jobs > 1; NULL: $TMPDIR or /tmp */
    double progress_s;  /* seconds between progress lines; 0: 2 */
    void (*line)(const char *line, void *payload);
    bool (*tick)(void *payload); /* true: stop (PD_EINTR) */
    void *payload;
};

struct verify_restore_result {
    uint64_t compressed_bytes; /* downloaded */
    uint64_t restored_bytes;   /* fed to the client */
    double seconds;
    char sha256[65];
    int sha256_checked; /* the object had x-amz-meta-sha256 and it matched */
    int exit_code;      /* the client's, -1 when it did not run to the end */
    const char *client; /* "psql" or "pg_restore" */
};

/* "plain", "custom", "auto" -> format; -1 when unknown. */
int verify_dump_format_parse(const char *s);

/* The format a key implies under VERIFY_DUMP_AUTO. */
enum verify_dump_format verify_dump_format_of_key(const char *key);

/*
 * Restore s3://bucket/key. Errors: the download's (PD_ESERVICE, PD_ENOENT),
 * a corrupt object (PD_ECHECK), the client failing ("psql exited with
 * status 3: <its last error line>", PD_ECHECK) or not starting (PD_EIO).
 */
int verify_restore(struct verify_restore_result *out, struct s3_client *c, const char *bucket,
                   const char *key, const struct verify_restore_opts *opt, struct pd_err *err);

#endif
