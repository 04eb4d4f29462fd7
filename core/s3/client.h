/*
 * s3/client: the S3 operations pgdrill needs, sent through core/http (the
 * one transport: connection reuse, retries, TLS rules), signed by s3/sigv4.
 *
 * A client holds a copy of the resolved credentials (s3/creds) and options;
 * it is not shared between threads, except that s3_multipart_upload_part may
 * be called from several threads at once on one multipart upload (each call
 * uses its own connection). Every request is signed afresh on every attempt
 * with the payload's real SHA-256 (bodies are in memory) or the empty-body
 * hash; libcurl's own SigV4 is never used.
 *
 * Retries: connection failures, resets, timeouts, HTTP 500/502/503/504, 429
 * and S3's SlowDown / RequestTimeout / InternalError are retried up to
 * max_retries times with exponential backoff and jitter. A GET that dies
 * mid-body resumes with "Range: bytes=N-" and "If-Match: <etag>", so the
 * caller's callback sees every byte exactly once, in order.
 *
 * Regions: requests are signed for the bucket's region. With no region
 * configured (s3_client_new_from_env: no AWS_REGION, AWS_DEFAULT_REGION or
 * profile region) a HEAD on the bucket reads x-amz-bucket-region first; a
 * 301 PermanentRedirect or 400 AuthorizationHeaderMalformed naming another
 * region is followed once with a warning. Either way the region is kept per
 * bucket for the run. AWS_USE_FIPS_ENDPOINT=true selects the s3-fips hosts.
 *
 * Checksums: every PUT and part carries x-amz-checksum-sha256 (its payload
 * hash in base64), so S3 refuses a damaged body (BadDigest, retried); GET
 * and HEAD ask for the object's checksum and a GET from byte 0 verifies it
 * (a multipart composite when its parts are of 8 MiB). Servers that ignore
 * the headers are unaffected.
 *
 * Errors name the operation and object ("s3: GET s3://b/k: HTTP 403
 * SignatureDoesNotMatch: ..."); a missing object is PD_ENOENT, other HTTP
 * and transport failures PD_ESERVICE. Secrets (secret key, session token,
 * signatures) never reach a message or a log line.
 */
#ifndef S3_CLIENT_H
#define S3_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "s3/creds.h"
#include "s3/list.h"

struct pd_err;
struct s3_client;

/*
 * Called for every object HEAD or GET answered, with its
 * x-amz-server-side-encryption value (NULL: none); core/compliance
 * registers one to record encryption at rest. Process-wide; NULL: none.
 */
typedef void s3_object_observer_fn(const char *bucket, const char *key, const char *sse,
                                   void *payload);

void s3_set_object_observer(s3_object_observer_fn *fn, void *payload);

/*
 * Called for each request the client sends on its own, not asked for by
 * its caller, once it is answered and before the answer is used: the HEAD
 * on a bucket that finds its region (no region configured) and the HEAD of
 * part 1 that tells whether an object's multipart checksum can be rebuilt.
 * method ("HEAD"), target ("s3://bucket[/key]") and purpose
 * ("bucket-region", "part-size") name it; outcome is NULL when S3 answered
 * it, else why not (no secret). A non-zero return (err set) fails the
 * request that needed it: an answer that was not audited is not used.
 * core/audit registers one while an audit log is open. Process-wide;
 * NULL: none.
 */
typedef int s3_own_request_fn(const char *method, const char *target, const char *purpose,
                              const char *outcome, void *payload, struct pd_err *err);

void s3_set_own_request_auditor(s3_own_request_fn *fn, void *payload);

struct s3_client_options {
    int max_retries;        /* attempts after the first; default 4 (-1 means none) */
    double retry_base_s;    /* first backoff; doubles each time; default 0.2 */
    double retry_max_s;     /* backoff cap; default 10 */
    long connect_timeout_s; /* default 10 */
    long stall_timeout_s;   /* give up when no byte moves for this long; default 60 */
    const char *ca_file;    /* extra CA bundle (tests); NULL for the system's */
};

/*
 * Copies creds and opt (opt may be NULL for defaults). Tests may change the
 * defaults with PGDRILL_TEST_S3_BACKOFF (first backoff, seconds) and
 * PGDRILL_TEST_S3_STALL_TIMEOUT (seconds); fields set in opt still win.
 */
int s3_client_new(struct s3_client **out, const struct s3_creds *creds,
                  const struct s3_client_options *opt, struct pd_err *err);

/*
 * The client the environment configures: s3_creds_load without overrides
 * (AWS_* variables, the shared files) and default options, as
 * neon_client_new_from_env does for Neon. On failure *out is NULL and err
 * says what is missing.
 */
int s3_client_new_from_env(struct s3_client **out, struct pd_err *err);

void s3_client_free(struct s3_client *c);

/* s3_creds_describe of the keys the client signs with now (after any renewal). */
void s3_client_describe_creds(const struct s3_client *c, char *buf, size_t size);

/* Upload settings; every field is optional. */
struct s3_put_options {
    const char *content_type;
    const char *sse;            /* "AES256" or "aws:kms" */
    const char *sse_kms_key_id; /* with aws:kms */
    const char *storage_class;  /* "STANDARD_IA", ... */
    const char *const
        *metadata; /* name, value, name, value, ..., NULL (names without x-amz-meta-) */
};

struct s3_head {
    uint64_t size;
    char *etag; /* quotes removed */
    char *content_type;
    char *storage_class;  /* NULL when S3 did not say (STANDARD) */
    char *sse;            /* x-amz-server-side-encryption, NULL when absent */
    double last_modified; /* epoch seconds; 0 when absent */
    char *
        *metadata; /* name, value pairs (names lower-case, without x-amz-meta-), NULL-terminated */
};

/* HEAD an object. PD_ENOENT when it does not exist. */
int s3_client_head(struct s3_client *c, struct s3_head *out, const char *bucket, const char *key,
                   struct pd_err *err);

void s3_head_free(struct s3_head *h);

/*
 * HEAD the bucket itself: it exists and these credentials may use it.
 * *server_time is the answer's Date header (epoch seconds; 0 when absent
 * or unreadable), the server's clock for a skew check. PD_ENOENT when the
 * bucket does not exist.
 */
int s3_client_head_bucket(struct s3_client *c, const char *bucket, double *server_time,
                          struct pd_err *err);

/*
 * Streaming sink for GET: return 0 to go on, or a negative PD_E* (with err
 * set) to stop the download with that error.
 */
typedef int s3_sink_fn(const void *data, size_t len, void *payload, struct pd_err *err);

/*
 * Stream an object (from byte offset on) to sink. *bytes_out (optional) is
 * the number of bytes delivered. PD_ENOENT when it does not exist.
 */
int s3_client_get(struct s3_client *c, const char *bucket, const char *key, uint64_t offset,
                  s3_sink_fn *sink, void *payload, uint64_t *bytes_out, struct pd_err *err);

/* PUT a whole object from memory (up to 5 GiB). *etag_out (optional) is owned by the caller. */
int s3_client_put(struct s3_client *c, const char *bucket, const char *key, const void *data,
                  size_t len, const struct s3_put_options *opt, char **etag_out,
                  struct pd_err *err);

/*
 * Replace an object's metadata (and restate its content type, encryption and
 * storage class from opt, which a copy would otherwise reset) by copying it
 * onto itself: how a checksum known only after a streamed upload ends up in
 * x-amz-meta-*. With if_match (an ETag without quotes) the copy fails
 * unless the object is still that version. Objects over 5 GiB cannot be
 * copied in one request; S3 then answers InvalidRequest.
 */
int s3_client_replace_metadata(struct s3_client *c, const char *bucket, const char *key,
                               const struct s3_put_options *opt, const char *if_match,
                               struct pd_err *err);

/* DELETE an object; deleting a missing key succeeds, as in S3. */
int s3_client_delete(struct s3_client *c, const char *bucket, const char *key, struct pd_err *err);

/* Called per ListObjectsV2 page; return non-zero (a PD_E*, err set) to stop. */
typedef int s3_page_fn(const struct s3_list_page *page, void *payload, struct pd_err *err);

/*
 * List keys under prefix ("" for all), following continuation tokens.
 * delimiter may be NULL; max_keys 0 means the server's default (1000).
 */
int s3_client_list(struct s3_client *c, const char *bucket, const char *prefix,
                   const char *delimiter, int max_keys, s3_page_fn *on_page, void *payload,
                   struct pd_err *err);

/* ---- multipart upload ---------------------------------------------------- */

struct s3_multipart;

/* CreateMultipartUpload; the options apply to the final object. */
int s3_multipart_begin(struct s3_multipart **out, struct s3_client *c, const char *bucket,
                       const char *key, const struct s3_put_options *opt, struct pd_err *err);

/* The upload id (borrowed, valid until s3_multipart_free). */
const char *s3_multipart_upload_id(const struct s3_multipart *m);

/*
 * UploadPart number part (1..10000) from memory. Thread-safe against other
 * upload_part calls on the same upload.
 */
int s3_multipart_upload_part(struct s3_multipart *m, int part, const void *data, size_t len,
                             struct pd_err *err);

/*
 * CompleteMultipartUpload with every part uploaded so far, in order. Parts
 * must be numbered 1..N without gaps. A 200 answer carrying an <Error> is a
 * failure. *etag_out (optional) is owned by the caller.
 */
int s3_multipart_complete(struct s3_multipart *m, char **etag_out, struct pd_err *err);

/*
 * AbortMultipartUpload, best effort: some servers (s3rver) do not implement
 * it; a 404 NoSuchUpload counts as done. Returns the error so callers can
 * log it, but the object is never created either way.
 */
int s3_multipart_abort(struct s3_multipart *m, struct pd_err *err);

/* AbortMultipartUpload of an upload known only by its id (one a killed process left). */
int s3_multipart_abort_id(struct s3_client *c, const char *bucket, const char *key,
                          const char *upload_id, struct pd_err *err);

void s3_multipart_free(struct s3_multipart *m);

#endif
