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

#define S3_MAX_EXTRA_HEADERS 16
#define S3_LIST_BODY_CAP     ((size_t)16 * 1024 * 1024)
#define S3_ERROR_BODY_CAP    ((size_t)64 * 1024)
#define S3_MAX_PARTS         10000

struct s3_client {
    struct s3_creds creds;
    struct s3_client_options opt;
    char *ca_file;
    struct http_transport *http;    /* idle connections, reused */
    struct http_retry_policy retry; /* from opt: max_retries + 1 attempts */
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
    char *date; /* the Date header: the server's clock */
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

/* Append name=value, both URI-encoded, to a query string. */
void s3_query_add(struct pd_buf *q, const char *name, const char *value);

/* Tell the object observer (s3_set_object_observer) what an answer said of bucket/key. */
void s3_note_object(const char *bucket, const char *key, const char *sse);

#endif
