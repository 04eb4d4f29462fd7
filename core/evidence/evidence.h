/*
 * evidence: a drill's report kept where the backups are, so that it
 * outlives the laptop that ran the drill.
 *
 * evidence_push uploads the files of EVIDENCE_FILES (report.md,
 * report.json, report.html and journal.sha256) of one drill to
 * <base>/drills/<drill id>/ in the bucket of PGDRILL_BACKUP_URI, with the
 * backups' server-side encryption (BACKUP_SSE_DEFAULT) and each file's
 * sha256 in x-amz-meta-sha256; a HEAD of every object proves its size,
 * encryption and checksum. journal.sha256 holds the journal's hash in
 * sha256sum's format ("<hex>  journal.jsonl"), so `sha256sum -c` checks a
 * journal against it. Before the upload the report is brought up to
 * date: written from the journal when report.json is missing or names
 * another journal hash (the drill went on after it was written), and
 * report.html is written next to it (report/html.h). Every S3 call is
 * recorded in the audit log, and the push itself as one "report.push"
 * entry with the drill's id, the prefix and the journal hash.
 *
 * evidence_list_remote lists what is under <base>/drills/: one entry per
 * drill with the files found. Core prints nothing; the *_text functions
 * give the front end its lines.
 */
#ifndef PD_EVIDENCE_H
#define PD_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

struct audit;
struct pd_err;
struct s3_client;

/* The folder under PGDRILL_BACKUP_URI that holds drill evidence. */
#define EVIDENCE_DIR "drills"

/* The files of a drill's evidence, in upload order; NULL-terminated. */
extern const char *const evidence_files[];

/*
 * The key prefix of the evidence under a base key (the key part of
 * PGDRILL_BACKUP_URI, "" for the bucket's root): "drills/" or
 * "BASE/drills/", ending in '/'. Caller owns it.
 */
char *evidence_prefix(const char *base_key);

/* What one push uploaded (or tried to). */
struct evidence_pushed {
    const char *name; /* borrowed from evidence_files */
    char *uri;        /* s3://bucket/key */
    uint64_t bytes;
    char sha256[65];
    char *sse; /* as the HEAD answered */
};

struct evidence_push_result {
    char *drill_id;
    char *uri; /* s3://bucket/<prefix><id>/ */
    char journal_sha256[65];
    int report_written; /* 1 when the report was (re)written from the journal first */
    struct evidence_pushed *files;
    size_t n_files; /* uploaded and checked */
};

void evidence_push_result_free(struct evidence_push_result *r);

/*
 * Push drill id (NULL: the newest drill under home) to bucket under
 * base_key with client c, recording in a (may be NULL). The drill is
 * opened read-only: PD_EINPUT for a malformed id, PD_ENOENT "drill ID not
 * found in HOME/drills" or "no drill in HOME/drills". S3 failures are
 * PD_ESERVICE; a HEAD that disagrees with what was sent is PD_ECHECK.
 * out is filled as far as the push got.
 */
int evidence_push(struct evidence_push_result *out, struct s3_client *c, struct audit *a,
                  const char *home, const char *id, const char *bucket, const char *base_key,
                  struct pd_err *err);

/*
 * evidence_push with what the environment configures: PGDRILL_BACKUP_URI
 * (PD_EUSAGE when unset), the S3 client of s3_client_new_from_env and the
 * audit log under home (entries made by operator_name). The drill is
 * looked up before anything else, so a bad id fails the same way with or
 * without S3 configured.
 */
int evidence_push_env(struct evidence_push_result *out, const char *home, const char *operator_name,
                      const char *id, struct pd_err *err);

/* The push for people: one line per file, then the prefix. Caller owns it. */
char *evidence_push_text(const struct evidence_push_result *r);

/* One drill's evidence found in S3. */
struct evidence_remote {
    char *drill_id;
    char **files; /* names found under its folder, in key order */
    size_t n_files;
    uint64_t bytes;
    double last_modified; /* the newest file's, epoch seconds; 0 when S3 gave none */
};

/*
 * List <base>/drills/ in bucket: one entry per drill folder, newest drill
 * id first. The list is recorded in a (may be NULL). The caller frees *out
 * with evidence_remote_free.
 */
int evidence_list_remote(struct evidence_remote **out, size_t *n_out, struct s3_client *c,
                         struct audit *a, const char *bucket, const char *base_key,
                         struct pd_err *err);

/* evidence_list_remote with what the environment configures (see evidence_push_env). */
int evidence_list_remote_env(struct evidence_remote **out, size_t *n_out, char **uri_out,
                             const char *home, const char *operator_name, struct pd_err *err);

void evidence_remote_free(struct evidence_remote *v, size_t n);

/*
 * The listing for people: a header, then per drill its id, the time of its
 * newest file (UTC), its size and its files, "(missing: ...)" naming any of
 * evidence_files not there. Caller owns it.
 */
char *evidence_remote_text(const struct evidence_remote *v, size_t n, const char *uri);

#endif
