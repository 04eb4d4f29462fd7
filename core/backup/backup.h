/*
 * backup: the weekly export, pg_dump | gzip | S3, in one streamed pass.
 *
 * backup_run spawns pg_dump (plain format) with the connection's password
 * in PGPASSWORD, never on its command line, compresses its output on
 * several cores (gz) and streams the gzip bytes into a multipart upload
 * (s3/upload) while computing their SHA-256; nothing touches the disk
 * unless a local copy is asked for. The seed's size check (the plain dump
 * must be at least min_size bytes) and pg_dump's exit status are decided
 * after pg_dump ends but BEFORE the upload is completed: a failed or too
 * small dump aborts the upload, so nothing ever appears at the final key.
 * Then the sha256 and plain size go into the object's metadata: with the
 * single PUT of a small backup, else by a copy of the multipart object onto
 * itself (guarded by the ETag; its metadata was fixed when the upload began,
 * before the checksum was known). A HEAD proves size, encryption and
 * checksum.
 *
 * backup_retention lists one class prefix and deletes (or, dry, only names)
 * the backups older than the retention. The age is read from the timestamp
 * in the key name (care-commons-backup-YYYYMMDD-HHMMSS.sql.gz, UTC), not
 * from LastModified, so copies and restores of a bucket keep their ages.
 * Only keys directly under the prefix that match the name pattern are ever
 * considered.
 *
 * Every pg_dump run and S3 action is recorded in the audit log when one is
 * given. core/ prints nothing; progress goes to a callback.
 */
#ifndef BACKUP_BACKUP_H
#define BACKUP_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "s3/client.h"

struct pd_err;
struct audit;

#define BACKUP_NAME_PREFIX "care-commons-backup-"
#define BACKUP_NAME_SUFFIX ".sql.gz"
/* "care-commons-backup-YYYYMMDD-HHMMSS.sql.gz" plus NUL */
#define BACKUP_NAME_LEN               (sizeof(BACKUP_NAME_PREFIX) - 1 + 15 + sizeof(BACKUP_NAME_SUFFIX))
#define BACKUP_MIN_SIZE_DEFAULT       ((uint64_t)1024 * 1024)
#define BACKUP_RETENTION_DAYS_DEFAULT 90
/* Server-side encryption of every object pgdrill stores (backups, drill evidence). */
#define BACKUP_SSE_DEFAULT "AES256"

/* The classes a backup can belong to; NULL-terminated. */
extern const char *const backup_classes[];

/* 1 when name is one of backup_classes. */
int backup_class_valid(const char *name);

/*
 * The key prefix of a class under a base prefix (the key part of
 * PGDRILL_BACKUP_URI): when the base's last path element is itself a class
 * name it is replaced ("weekly" -> "pre-release"), otherwise the class is
 * appended. The result ends with '/' ("" base gives "weekly/"). Caller owns it.
 */
char *backup_class_prefix(const char *base, const char *cls);

/*
 * The one meaning of PGDRILL_BACKUP_URI: the location that holds the class
 * folders ("s3://bucket" or "s3://bucket/prefix"). Returns value without
 * trailing '/'. A value whose last key element is a class name (the old form
 * "s3://bucket/weekly") gives its parent ("s3://bucket"), and *cls_out
 * borrows that class name from backup_classes (else NULL). The bucket itself
 * is never taken for a class. Caller owns the result.
 */
char *backup_base_uri(const char *value, const char **cls_out);

/* The object name for a backup started at t (epoch seconds, formatted in UTC). */
void backup_name(char buf[BACKUP_NAME_LEN], double t);

/*
 * Parse a backup object name (no directory part) into its UTC time. 0 when
 * name matches the pattern exactly and is a real date, -1 otherwise.
 */
int backup_name_time(const char *name, double *t_out);

struct backup_progress {
    uint64_t plain_bytes;      /* read from pg_dump so far */
    uint64_t compressed_bytes; /* gzip bytes handed to the upload */
    int parts;                 /* multipart parts started */
    double elapsed_s;
};

/* Called about every 200 ms; return non-zero to interrupt (PD_EINTR). */
typedef int backup_progress_fn(const struct backup_progress *p, void *payload);

struct backup_options {
    const char *database_url; /* libpq URI or conninfo; the password goes to PGPASSWORD */
    const char *pg_dump;      /* program; NULL means "pg_dump" from PATH */
    const char *bucket;
    const char *key;
    uint64_t min_size;         /* plain bytes; 0 means BACKUP_MIN_SIZE_DEFAULT */
    const char *keep_local;    /* also write the .sql.gz here; NULL for none */
    int level;                 /* compression level (1-12, libdeflate's); 0 means 6 */
    int threads;               /* compression threads; 0 means the online CPUs */
    size_t part_size;          /* 0 means 8 MiB */
    int max_in_flight;         /* parts uploading at once; 0 means 3 */
    const char *sse;           /* NULL means BACKUP_SSE_DEFAULT */
    const char *storage_class; /* NULL means "STANDARD_IA" */
    struct audit *audit;       /* may be NULL */
    const char *drill_id;      /* for the audit entries; may be NULL */
    /* While a multipart upload is open it is noted here, so that a run
     * after a crash can abort it (backup_abort_leftovers); NULL: not noted. */
    const char *upload_notes;
    backup_progress_fn *progress;
    void *payload;
};

struct backup_result {
    uint64_t plain_bytes;
    uint64_t compressed_bytes;
    char sha256[65]; /* of the compressed object */
    int parts;       /* 0 when it went up in one PUT */
    double duration_s;
    int completed;       /* 1 once the object exists at the key */
    int level;           /* the compression level used */
    char compressor[32]; /* what compressed it: "libdeflate 1.14" */

    /* where the time went, in seconds (0 for a phase not reached) */
    struct {
        double dump_s;     /* pg_dump's start to the end of its output (compressing and
                              uploading parts meanwhile) */
        double flush_s;    /* the last compressed blocks after pg_dump ended */
        double drain_s;    /* parts still uploading after the stream ended */
        double complete_s; /* CompleteMultipartUpload (or the single PUT) */
        double metadata_s; /* storing sha256 and plain size as metadata */
        double head_s;     /* the HEAD that checks what landed */
    } phases;
};

/*
 * Run the pipeline. Errors: pg_dump failing (exit status or signal, with its
 * last stderr line) or a dump under min_size: PD_ECHECK, upload aborted;
 * S3 failures: PD_ESERVICE; a HEAD that disagrees with what was sent:
 * PD_ECHECK; pg_dump not startable or the local copy unwritable: PD_EIO;
 * an interrupt from the progress callback: PD_EINTR. out is filled as far
 * as the run got.
 */
/*
 * The configured compression level: PGDRILL_COMPRESSION_LEVEL (the config
 * file's compression_level sets it), else GZ_LEVEL_DEFAULT. A value that is
 * not 1-12 is PD_EINPUT naming the variable.
 */
int backup_level(int *out, struct pd_err *err);

int backup_run(struct backup_result *out, struct s3_client *c, const struct backup_options *opt,
               struct pd_err *err);

/*
 * Note an open multipart upload in dir (created 0700; the note is 0600 and
 * fsync'd). Returns the note's path (caller owns it; unlink it once the
 * upload is completed or aborted, then close *lock_fd), or NULL with *err set.
 * *lock_fd holds an flock on the note for as long as it is open, which tells
 * an overlapping backup that this upload is not a leftover.
 */
char *backup_upload_note(const char *dir, const char *bucket, const char *key,
                         const char *upload_id, int *lock_fd, struct pd_err *err);

/*
 * Abort every upload noted in dir by a backup that never finished (killed
 * between its first part and completion: nothing is at the key, but the
 * parts stay stored and billed). Each abort is logged and audited and its
 * note removed; one that fails keeps its note for the next run. A note
 * another running backup holds (locked) is left alone, with a warning. A
 * missing dir is not an error. *n_aborted counts the aborted uploads.
 */
int backup_abort_leftovers(struct s3_client *c, const char *dir, struct audit *a,
                           const char *drill_id, int *n_aborted, struct pd_err *err);

struct backup_expired {
    char *key;
    double age_days;
    int deleted; /* 0 in a dry run */
};

struct backup_retention_options {
    const char *bucket;
    const char *prefix;   /* a class prefix ending in '/' */
    int retention_days;   /* older than this many days goes; 0 means 90 */
    double now;           /* epoch seconds */
    const char *keep_key; /* never deleted (the backup just made); may be NULL */
    int dry_run;
    struct audit *audit;
    const char *drill_id;
};

/*
 * The retention configured for class cls, in days: the environment variable
 * PGDRILL_RETENTION_DAYS_<CLASS> (upper case, '-' as '_', e.g.
 * PGDRILL_RETENTION_DAYS_PRE_MIGRATION), else PGDRILL_RETENTION_DAYS, else
 * BACKUP_RETENTION_DAYS_DEFAULT (the config file's retention_days and
 * retention_days.<class> keys set the same variables). PD_EINPUT naming the
 * variable when its value is not a number of days from 1 to 36500.
 */
int backup_retention_days(int *out, const char *cls, struct pd_err *err);

/*
 * List the prefix and delete the expired backups (oldest first). *out
 * (caller frees with backup_expired_free) lists them, also on failure, with
 * the ones actually deleted marked.
 */
int backup_retention(struct backup_expired **out, size_t *n_out, struct s3_client *c,
                     const struct backup_retention_options *opt, struct pd_err *err);

void backup_expired_free(struct backup_expired *list, size_t n);

/* Bytes for people: "512 B", "1.5 MiB" (binary units up to TiB). */
void backup_format_bytes(char *buf, size_t size, double b);

/* What one backup command did, for its summary; every pointer is borrowed. */
struct backup_summary {
    const char *bucket;
    const char *key;    /* the new backup's key */
    const char *cls;    /* its class */
    const char *prefix; /* the class prefix retention looked at */
    int dry_run;
    int retention_days;
    const struct backup_result *res;
    const struct backup_expired *expired; /* what retention found */
    size_t n_expired;
    double retention_s;
    const struct pd_err *failure; /* NULL when everything succeeded */
    const char *stage;            /* where it failed: "setup", "backup" or "retention" */
    const char *credentials;      /* s3_creds_describe of the keys used last, or NULL */
};

/*
 * The summary object `pgdrill backup --json` prints: key, uri, class,
 * sizes, sha256 (null unless completed), parts, durations and phases,
 * deleted (or would_delete in a dry run), outcome, credentials (where the
 * AWS keys came from and when they expire, when known), and stage and error
 * (redacted) on failure. Caller owns the text (free).
 */
char *backup_summary_json(const struct backup_summary *s);

/*
 * The same for people: in a dry run the key and what retention would
 * delete; after a completed backup its sizes, checksum and the deleted old
 * backups; "" otherwise (a failure is reported on its own). Caller frees.
 */
char *backup_summary_text(const struct backup_summary *s);

/*
 * The seed workflow's Slack failure message, POSTed to webhook_url (a
 * secret: registered with pd_redact, never in a message).
 */
extern const char backup_slack_payload[];
int backup_notify_slack(const char *webhook_url, struct pd_err *err);

#endif
