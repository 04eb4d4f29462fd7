/*
 * s3/client internals shared by the client's files: the client struct, one
 * signed request through core/http (request.c) and the helpers the
 * operations (ops.c) and multipart upload (multipart.c) build requests with.
 * Nothing outside core/s3/{client,request,ops,multipart}.c uses this.
 */
#ifndef S3_CLIENT_INTERN_H
#define S3_CLIENT_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "pd_buf.h"
#include "s3/client.h"
#include "s3/sigv4.h"

struct pd_err;
struct pd_sha256;

#define S3_MAX_EXTRA_HEADERS 16
#define S3_CHECKSUM_B64_LEN  44 /* base64 of a SHA-256 digest */
/* The part size a multipart object's composite checksum is checked with (pgdrill's, aws's) */
#define S3_CHECKSUM_PART_SIZE ((uint64_t)8 * 1024 * 1024)
#define S3_LIST_BODY_CAP      ((size_t)16 * 1024 * 1024)
#define S3_ERROR_BODY_CAP     ((size_t)64 * 1024)
#define S3_MAX_PARTS          10000

struct s3_client {
    struct s3_creds creds;
    struct s3_client_options opt;
    char *ca_file;
    struct http_transport *http;    /* idle connections, reused */
    struct http_retry_policy retry; /* from opt: max_retries + 1 attempts */
    int find_region; /* no region configured: ask the bucket (HEAD) before its first request */
    int fips;        /* AWS_USE_FIPS_ENDPOINT=true: s3-fips.REGION.amazonaws.com */
};

/* One S3 request: what to sign and send. */
struct s3_req {
    const char *method;
    const char *bucket;
    const char *key;   /* "" for bucket-level requests */
    const char *query; /* encoded, or NULL */
    struct s3_sigv4_header extra[S3_MAX_EXTRA_HEADERS];
    size_t n_extra;
    const void *body; /* PUT/POST body, or NULL */
    size_t body_len;
    const char *payload_hash; /* of body; computed once */
    size_t body_cap;          /* for collected response bodies */
    /* streaming GET */
    s3_sink_fn *sink;
    void *sink_payload;
    uint64_t offset;
};

/* The answer to an s3_req, over all its attempts. */
struct s3_resp {
    long status;
    struct pd_buf body;
    int body_overflow;
    char *etag;
    char *content_type;
    char *storage_class;
    char *sse;
    char *last_modified;
    char *content_range;
    char *bucket_region; /* x-amz-bucket-region (S3 sends it on 200, 301, 400 and 403) */
    char *checksum;      /* x-amz-checksum-sha256: base64, or "base64-N" for multipart */
    char *date;          /* the Date header: the server's clock */
    uint64_t content_length;
    int have_length;
    char **meta; /* name, value, ... NULL */
    size_t n_meta;
    /* streaming */
    const struct s3_req *rq;
    uint64_t delivered;    /* bytes handed to the sink over all attempts */
    uint64_t skip;         /* bytes to drop (server ignored our Range) */
    uint64_t expect_start; /* first byte this attempt must deliver */
    uint64_t total;        /* object size once a response told it; 0 if unknown */
    int checked;           /* the current attempt's status/range was checked */
    int sink_rc;
    struct pd_err *err;
    int stream_error; /* the range check failed: message in err */
    int attempts;     /* requests sent */
    /* a streamed GET of a whole object whose answer carried its checksum */
    struct pd_sha256 *sum;  /* of the bytes delivered (over all attempts), or of this part */
    char *sum_want;         /* the x-amz-checksum-sha256 they must match */
    uint64_t sum_part_len;  /* composite "B64-N": bytes of the current part so far */
    struct pd_buf sum_part; /* composite: the raw SHA-256 of each part done */
};

/*
 * Sign and send rq with the client's retries (request.c). On return rs
 * holds the final response (the caller judges the status; free it with
 * s3_resp_free either way); transport failures and exhausted retries are
 * errors here.
 */
int s3_request(struct s3_client *c, const struct s3_req *rq, struct s3_resp *rs,
               struct pd_err *err);

void s3_resp_free(struct s3_resp *rs);

/*
 * Where a request on bucket/key in region goes: s3_creds_target with the
 * bucket's region, on the FIPS endpoint (s3-fips.REGION.amazonaws.com,
 * virtual-host or path style alike) when the client uses FIPS and no custom
 * endpoint is configured.
 */
int s3_client_target(struct s3_target *out, const struct s3_client *c, const char *region,
                     const char *bucket, const char *key, struct pd_err *err);

/*
 * The region of each bucket, known for the rest of the run once a HEAD or a
 * redirect told it (process-wide, thread-safe). s3_region_cached returns a
 * copy the caller frees, or NULL; s3_region_forget_all empties it (tests).
 */
char *s3_region_cached(const char *bucket);
void s3_region_remember(const char *bucket, const char *region);
void s3_region_forget_all(void);

/* Turn a final non-2xx response into an error naming the operation. */
int s3_status_error(const char *op, const struct s3_req *rq, const struct s3_resp *rs,
                    struct pd_err *err);

/* "s3://bucket/key" for messages (never a secret). Caller owns it. */
char *s3_object_name(const struct s3_req *rq);

/* 1 for statuses and S3 error codes worth another attempt. */
int s3_is_retryable_status(long status, const char *code);

void s3_add_header(struct s3_req *rq, const char *name, const char *value);

/* Headers of s3_put_options; metadata names are built into names[] (freed by the caller). */
int s3_add_put_headers(struct s3_req *rq, const struct s3_put_options *opt, char **names,
                       size_t max_names, struct pd_err *err);

/*
 * x-amz-checksum-sha256 of a body whose SHA-256 is already known as hex (the
 * payload hash every request is signed with): its digest in base64.
 */
void s3_checksum_from_hex(char out[S3_CHECKSUM_B64_LEN + 1], const char *hex);

/*
 * For a streamed GET: 0 when the bytes delivered match the object's
 * checksum, or when there was none to check (no header, a download that did
 * not start at byte 0, a multipart object whose parts are not of
 * S3_CHECKSUM_PART_SIZE: a mismatch of a composite is confirmed with a HEAD
 * of part 1 before it counts); else PD_ESERVICE naming both values.
 */
int s3_checksum_verify(struct s3_client *c, struct s3_resp *rs, const char *bucket, const char *key,
                       struct pd_err *err);

/* Append name=value, both URI-encoded, to a query string. */
void s3_query_add(struct pd_buf *q, const char *name, const char *value);

/* Tell the object observer (s3_set_object_observer) what an answer said of bucket/key. */
void s3_note_object(const char *bucket, const char *key, const char *sse);

/*
 * Audit rq, a request the client sent on its own for purpose, through the
 * registered auditor (s3_set_own_request_auditor); rc and rs are what
 * sending it gave. Returns rc, or the auditor's failure (in err) when rc
 * was 0: the answer must then not be used.
 */
int s3_audit_own(const struct s3_req *rq, const char *purpose, int rc, const struct s3_resp *rs,
                 struct pd_err *err);

#endif
