/* s3 request: one SigV4-signed request through core/http's retry loop; request helpers. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_str.h"
#include "pd_time.h"
#include "s3/client.intern.h"
#include "s3/xml.h"

/* ---- the answer ---------------------------------------------------------- */

static void
resp_clear_headers(struct s3_resp *rs)
{
    PD_FREE(rs->etag);
    PD_FREE(rs->content_type);
    PD_FREE(rs->storage_class);
    PD_FREE(rs->sse);
    PD_FREE(rs->last_modified);
    PD_FREE(rs->content_range);
    PD_FREE(rs->bucket_region);
    PD_FREE(rs->checksum);
    PD_FREE(rs->date);
    for (size_t i = 0; i < rs->n_meta * 2; i++)
        free(rs->meta[i]);
    PD_FREE(rs->meta);
    rs->n_meta = 0;
    rs->have_length = 0;
    rs->content_length = 0;
}

void
s3_resp_free(struct s3_resp *rs)
{
    resp_clear_headers(rs);
    pd_buf_free(&rs->body);
    if (rs->sum != NULL) {
        char ignore[65];

        pd_sha256_final(rs->sum, ignore);
        rs->sum = NULL;
    }
    PD_FREE(rs->sum_want);
    pd_buf_free(&rs->sum_part);
}

static char *
unquote_etag(const char *v)
{
    size_t n = strlen(v);

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
        return pd_xstrndup(v + 1, n - 2);
    return pd_xstrdup(v);
}

static int
on_header(const char *line, size_t len, void *ud)
{
    struct s3_resp *rs = ud;
    size_t name_len;
    const char *colon, *value, *end;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, or the next attempt) */
        const char *sp = memchr(line, ' ', len);

        resp_clear_headers(rs);
        rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return 0;
    }
    colon = memchr(line, ':', len);
    if (colon == NULL)
        return 0;
    name_len = (size_t)(colon - line);
    value = colon + 1;
    end = line + len;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *v = pd_xstrndup(value, (size_t)(end - value));
#define IS(h) (name_len == sizeof(h) - 1 && strncasecmp(line, h, name_len) == 0)
    if (IS("etag")) {
        free(rs->etag);
        rs->etag = unquote_etag(v);
    } else if (IS("content-type")) {
        free(rs->content_type);
        rs->content_type = pd_xstrdup(v);
    } else if (IS("x-amz-storage-class")) {
        free(rs->storage_class);
        rs->storage_class = pd_xstrdup(v);
    } else if (IS("x-amz-server-side-encryption")) {
        free(rs->sse);
        rs->sse = pd_xstrdup(v);
    } else if (IS("last-modified")) {
        free(rs->last_modified);
        rs->last_modified = pd_xstrdup(v);
    } else if (IS("content-range")) {
        free(rs->content_range);
        rs->content_range = pd_xstrdup(v);
    } else if (IS("x-amz-bucket-region")) {
        free(rs->bucket_region);
        rs->bucket_region = pd_xstrdup(v);
    } else if (IS("x-amz-checksum-sha256")) {
        free(rs->checksum);
        rs->checksum = pd_xstrdup(v);
    } else if (IS("date")) {
        free(rs->date);
        rs->date = pd_xstrdup(v);
    } else if (IS("content-length")) {
        char *e;

        errno = 0;
        rs->content_length = strtoull(v, &e, 10);
        rs->have_length = errno == 0 && e != v && *e == '\0';
    } else if (name_len > 11 && strncasecmp(line, "x-amz-meta-", 11) == 0) {
        char *name = pd_xstrndup(line + 11, name_len - 11);

        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        rs->meta = pd_xrealloc(rs->meta, (rs->n_meta * 2 + 3) * sizeof(char *));
        rs->meta[rs->n_meta * 2] = name;
        rs->meta[rs->n_meta * 2 + 1] = pd_xstrdup(v);
        rs->n_meta++;
        rs->meta[rs->n_meta * 2] = NULL;
    }
#undef IS
    free(v);
    return 0;
}

/*
 * The first body bytes of a streamed attempt: check that a resumed request
 * got the range it asked for; a server that ignored Range (200) gets its
 * already-delivered prefix skipped.
 */
/* The first byte of a Content-Range "bytes FIRST-LAST/TOTAL" (RFC 9110 14.4). */
static bool
range_start(const char *content_range, uint64_t *out)
{
    const char *p = content_range;
    char *end;

    if (p == NULL || strncmp(p, "bytes ", 6) != 0 || !isdigit((unsigned char)p[6]))
        return false;
    errno = 0;
    *out = strtoull(p + 6, &end, 10);
    return errno == 0 && *end == '-';
}

static int
check_stream_start(struct s3_resp *rs)
{
    uint64_t start;

    rs->checked = 1;
    rs->skip = 0;
    if (rs->status == 200) {
        if (rs->have_length)
            rs->total = rs->content_length;
        rs->skip = rs->expect_start;
        return 0;
    }
    if (rs->status != 206)
        return 0;
    if (!range_start(rs->content_range, &start) || start != rs->expect_start) {
        rs->stream_error = 1;
        return PD_ERR_SET(rs->err, PD_ESERVICE,
                          "s3: GET s3://%s/%s: asked for bytes from %lu, got range '%.60s'",
                          rs->rq->bucket, rs->rq->key, (unsigned long)rs->expect_start,
                          rs->content_range ? rs->content_range : "");
    }
    const char *slash = strchr(rs->content_range, '/');
    if (slash && slash[1] != '*')
        rs->total = strtoull(slash + 1, NULL, 10);
    return 0;
}

/* Raw SHA-256 from its 64 hex digits. */
static void
digest_from_hex(unsigned char out[32], const char *hex)
{
    for (size_t i = 0; i < 32; i++)
        out[i] = (unsigned char)(pd_hex_digit(hex[2 * i]) << 4 | pd_hex_digit(hex[2 * i + 1]));
}

/* End the current part of a composite: its raw digest joins the list. */
static void
sum_part_done(struct s3_resp *rs)
{
    unsigned char d[32];
    char hex[65];

    pd_sha256_final(rs->sum, hex);
    digest_from_hex(d, hex);
    if (pd_buf_append(&rs->sum_part, d, sizeof(d), NULL) != 0)
        PD_FREE(rs->sum_want); // more parts than S3 allows: nothing to check against
    rs->sum = pd_sha256_new();
    rs->sum_part_len = 0;
}

/* Hash delivered bytes: the whole object, or part by part for a "B64-N" composite. */
static void
sum_update(struct s3_resp *rs, const char *data, size_t len)
{
    if (rs->sum_want == NULL || strchr(rs->sum_want, '-') == NULL) {
        pd_sha256_update(rs->sum, data, len);
        return;
    }
    while (len > 0) {
        uint64_t room = S3_CHECKSUM_PART_SIZE - rs->sum_part_len;
        size_t n = room < len ? (size_t)room : len;

        pd_sha256_update(rs->sum, data, n);
        rs->sum_part_len += n;
        data += n;
        len -= n;
        if (rs->sum_part_len == S3_CHECKSUM_PART_SIZE)
            sum_part_done(rs);
    }
}

static int
on_body(const char *data, size_t len, void *ud)
{
    struct s3_resp *rs = ud;

    if (rs->rq->sink && (rs->status == 200 || rs->status == 206)) {
        if (!rs->checked && check_stream_start(rs) != 0)
            return -1;
        if (rs->skip > 0) {
            size_t drop = rs->skip < len ? (size_t)rs->skip : len;

            rs->skip -= drop;
            data += drop;
            len -= drop;
            if (len == 0)
                return 0;
        }
        // a whole object with its checksum: hash what the sink gets
        if (rs->delivered == 0 && rs->rq->offset == 0 && rs->sum == NULL && rs->checksum) {
            rs->sum = pd_sha256_new();
            rs->sum_want = pd_xstrdup(rs->checksum);
            pd_buf_init(&rs->sum_part, (size_t)32 * S3_MAX_PARTS);
        }
        if (rs->sum != NULL)
            sum_update(rs, data, len);
        int rc = rs->rq->sink(data, len, rs->rq->sink_payload, rs->err);
        if (rc != 0) {
            rs->sink_rc = rc;
            return -1;
        }
        rs->delivered += len;
        return 0;
    }
    if (!rs->body_overflow && pd_buf_append(&rs->body, data, len, NULL) != 0)
        rs->body_overflow = 1;
    return 0;
}

/* ---- one request through the transport ------------------------------------ */

/* The state of one s3_request across its attempts (the http_exchange payload). */
struct exchange {
    struct s3_client *c;
    const struct s3_req *rq;
    struct s3_resp *rs;
    const struct s3_target *t;
    const char *region; /* the bucket's, for the signature */
    char *name;         /* s3://bucket/key */
    char *range;        /* "bytes=N-" of a resumed GET */
    char *if_match;
    char *first_etag;
    char *lines[S3_MAX_EXTRA_HEADERS + 10]; /* signed header lines of this attempt */
    size_t n_lines;
    char why[64]; /* why the next attempt is made */
    double t0;
};

static void
lines_free(struct exchange *x)
{
    for (size_t i = 0; i < x->n_lines; i++) {
        memset(x->lines[i], 0, strlen(x->lines[i])); // the Authorization line
        free(x->lines[i]);
    }
    x->n_lines = 0;
}

/* Sign this attempt's headers (a fresh x-amz-date each time) into x->lines. */
static int
sign_lines(struct exchange *x, struct pd_err *err)
{
    const struct s3_req *rq = x->rq;
    struct s3_sigv4_header hs[S3_MAX_EXTRA_HEADERS + 8];
    struct s3_sigv4_result sig;
    struct s3_keys keys;
    size_t nh = 0;
    char amz_date[17];
    int rc;

    // temporary credentials are renewed here, before they lapse (s3/creds)
    if ((rc = s3_creds_current(&x->c->creds, &keys, err)) != 0)
        return rc;
    s3_sigv4_amz_date(amz_date, time(NULL));
    hs[nh++] = (struct s3_sigv4_header){"host", x->t->host};
    hs[nh++] = (struct s3_sigv4_header){"x-amz-date", amz_date};
    hs[nh++] = (struct s3_sigv4_header){"x-amz-content-sha256", rq->payload_hash};
    if (keys.session_token)
        hs[nh++] = (struct s3_sigv4_header){"x-amz-security-token", keys.session_token};
    if (x->range)
        hs[nh++] = (struct s3_sigv4_header){"range", x->range};
    if (x->if_match)
        hs[nh++] = (struct s3_sigv4_header){"if-match", x->if_match};
    for (size_t i = 0; i < rq->n_extra; i++)
        hs[nh++] = rq->extra[i];

    struct s3_sigv4_input in = {
        .method = rq->method,
        .path = x->t->path,
        .query = rq->query,
        .headers = hs,
        .n_headers = nh,
        .payload_hash = rq->payload_hash,
        .amz_date = amz_date,
        .region = x->region,
        .service = "s3",
        .access_key_id = keys.access_key_id,
        .secret_access_key = keys.secret_access_key,
    };
    if ((rc = s3_sigv4_sign(&sig, &in, err)) != 0) {
        s3_keys_free(&keys);
        return rc;
    }
    for (size_t i = 0; i < nh; i++)
        x->lines[x->n_lines++] = pd_xasprintf("%s: %s", hs[i].name, hs[i].value);
    x->lines[x->n_lines++] = pd_xasprintf("Authorization: %s", sig.authorization);
    s3_sigv4_result_free(&sig);
    s3_keys_free(&keys);
    // drop a header we did not sign where curl would add it
    if (strcmp(rq->method, "POST") == 0 && rq->n_extra == 0)
        x->lines[x->n_lines++] = pd_xstrdup("Content-Type:");
    return 0;
}

/* Before each attempt: the Range a resumed GET needs, a fresh signature, a clean answer. */
static int
x_prepare(struct http_request *req, int attempt, void *payload, struct pd_err *err)
{
    struct exchange *x = payload;
    struct s3_resp *rs = x->rs;

    (void)attempt;
    x->t0 = pd_time_mono();
    PD_FREE(x->range);
    lines_free(x);
    if (x->rq->sink) {
        rs->expect_start = x->rq->offset + rs->delivered;
        if (rs->expect_start > 0)
            x->range = pd_xasprintf("bytes=%lu-", (unsigned long)rs->expect_start);
    }
    int rc = sign_lines(x, err);
    if (rc != 0)
        return rc;
    req->headers = (const char *const *)x->lines;
    req->n_headers = x->n_lines;
    rs->status = 0;
    rs->checked = 0;
    pd_buf_reset(&rs->body);
    rs->body_overflow = 0;
    return 0;
}

/* Retry connection failures, 5xx, 429 and S3's retryable error codes. */
static enum http_verdict
x_judge(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
        void *payload)
{
    struct exchange *x = payload;
    const struct s3_req *rq = x->rq;
    struct s3_resp *rs = x->rs;

    (void)herr;
    rs->attempts = attempt;
    pd_log(PD_LOG_DEBUG, "s3: %s %s%s%s -> %ld%s%s (%.3f s, attempt %d)", rq->method, x->t->url,
           rq->query ? "?" : "", rq->query ? rq->query : "", rs->status, rc != 0 ? " " : "",
           rc != 0 && resp->fail_name ? resp->fail_name : "", pd_time_mono() - x->t0, attempt);
    if (rs->sink_rc != 0 || rs->stream_error)
        return HTTP_DONE;
    if (rq->sink && x->first_etag == NULL && rs->etag && (rs->status == 200 || rs->status == 206))
        x->first_etag = pd_xstrdup(rs->etag);
    if (rc != 0) {
        snprintf(x->why, sizeof(x->why), "%s", resp->fail_name ? resp->fail_name : "");
        return resp->fail == HTTP_FAIL_TRANSIENT ? HTTP_RETRY : HTTP_DONE;
    }
    if (rs->status < 400)
        return HTTP_DONE;
    struct s3_error_doc doc;
    struct pd_err ignore = {0};
    char code[64] = "";

    if (rs->body.len > 0 && s3_error_parse(&doc, rs->body.data, rs->body.len, &ignore) == 0) {
        snprintf(code, sizeof(code), "%s", doc.code ? doc.code : "");
        s3_error_doc_free(&doc);
    }
    snprintf(x->why, sizeof(x->why), "%s", code[0] ? code : "server error");
    return s3_is_retryable_status(rs->status, code) ? HTTP_RETRY : HTTP_DONE;
}

static void
x_retrying(const struct http_response *resp, int attempt, double delay, void *payload)
{
    struct exchange *x = payload;

    (void)resp;
    (void)delay;
    // a resumed GET must get the same object version, or fail
    if (x->rq->sink && x->rs->delivered > 0 && x->first_etag && x->if_match == NULL)
        x->if_match = pd_xasprintf("\"%s\"", x->first_etag);
    pd_log(PD_LOG_INFO, "s3: %s %s: %s (HTTP %ld), retrying (%d of %d)", x->rq->method, x->name,
           x->why, x->rs->status, attempt, x->c->opt.max_retries);
}

/* The end: the sink's or the range check's error, a transport failure, or the final answer. */
static int
x_finish(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
         int retry, void *payload, struct pd_err *err)
{
    struct exchange *x = payload;

    (void)retry;
    if (x->rs->sink_rc != 0)
        return x->rs->sink_rc; // err set by the sink
    if (x->rs->stream_error)
        return PD_ESERVICE; // err set by check_stream_start
    if (rc == 0)
        return 0;
    if (resp->fail_text == NULL) {
        *err = *herr;
        return rc;
    }
    return PD_ERR_SET(err, PD_ESERVICE, "s3: %s %s: %s%s", x->rq->method, x->name, resp->fail_text,
                      attempt > 1 ? " (after retries)" : "");
}

static const struct http_exchange_ops s3_exchange_ops = {
    .prepare = x_prepare,
    .judge = x_judge,
    .retrying = x_retrying,
    .finish = x_finish,
};

/* rq signed for and sent to region, with the client's retries. */
static int
request_in(struct s3_client *c, const struct s3_req *rq, const char *region, struct s3_resp *rs,
           struct pd_err *err)
{
    struct s3_target t;
    struct exchange x = {.c = c, .rq = rq, .rs = rs, .t = &t, .region = region};
    struct http_response resp;
    struct http_request req = {0};
    char *url = NULL;
    int rc;

    memset(rs, 0, sizeof(*rs));
    pd_buf_init(&rs->body, rq->body_cap ? rq->body_cap : S3_ERROR_BODY_CAP);
    rs->rq = rq;
    rs->err = err;
    if ((rc = s3_client_target(&t, c, region, rq->bucket, rq->key, err)) != 0)
        return rc;
    x.name = s3_object_name(rq);
    url = rq->query && *rq->query ? pd_xasprintf("%s?%s", t.url, rq->query) : pd_xstrdup(t.url);
    req.method = rq->method;
    req.url = url;
    req.body = rq->body;
    // a PUT always carries its length, an empty POST too (curl then sends Content-Length: 0)
    if (req.body == NULL && (strcmp(rq->method, "PUT") == 0 || strcmp(rq->method, "POST") == 0))
        req.body = "";
    req.body_len = rq->body_len;
    req.connect_timeout_ms = c->opt.connect_timeout_s * 1000;
    req.timeout_ms = -1; // large objects: only a stall ends a transfer
    req.stall_timeout_s = c->opt.stall_timeout_s;
    req.ca_file = c->ca_file;
    req.user_agent = "";
    req.peer = t.host;
    req.on_header = on_header;
    req.on_body = on_body;
    req.payload = rs;
    http_response_init(&resp);
    rc = http_exchange(c->http, &resp, &req, &c->retry, &s3_exchange_ops, &x, err);
    http_response_free(&resp);
    lines_free(&x);
    s3_target_free(&t);
    free(url);
    free(x.range);
    free(x.if_match);
    free(x.first_etag);
    free(x.name);
    return rc;
}

/*
 * The region an answer says the bucket is in, when it is not the one asked:
 * x-amz-bucket-region, else the <Region> of a 301 PermanentRedirect or a
 * 400 AuthorizationHeaderMalformed. NULL otherwise; the caller frees it.
 */
static char *
region_moved(const struct s3_resp *rs, const char *region)
{
    struct pd_err ignore = {0};
    char *r = NULL, *code = NULL;

    if (rs->status != 301 && rs->status != 400 && rs->status != 403)
        return NULL;
    if (rs->bucket_region != NULL && *rs->bucket_region)
        r = pd_xstrdup(rs->bucket_region);
    else if (rs->body.len > 0 &&
             s3_xml_text(&code, "error response", rs->body.data, rs->body.len, "Error/Code",
                         &ignore) == 0 &&
             code != NULL &&
             (strcmp(code, "PermanentRedirect") == 0 ||
              strcmp(code, "AuthorizationHeaderMalformed") == 0))
        (void)s3_xml_text(&r, "error response", rs->body.data, rs->body.len, "Error/Region",
                          &ignore);
    free(code);
    // a 403 with the same region is a real refusal, not a detour
    if (r != NULL && (*r == '\0' || strcmp(r, region) == 0))
        PD_FREE(r);
    return r;
}

/*
 * The region to sign a request on bucket with: the one the run already
 * learnt, else (no region configured) the one a HEAD on the bucket names in
 * x-amz-bucket-region, else the configured one. *out is the caller's.
 */
static int
bucket_region(char **out, struct s3_client *c, const char *bucket, struct pd_err *err)
{
    struct s3_req head = {
        .method = "HEAD", .bucket = bucket, .key = "", .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct s3_resp rs;
    int rc;

    *out = bucket && *bucket ? s3_region_cached(bucket) : NULL;
    if (*out != NULL || bucket == NULL || *bucket == '\0' || !c->find_region) {
        if (*out == NULL)
            *out = pd_xstrdup(c->creds.region);
        return 0;
    }
    rc = request_in(c, &head, c->creds.region, &rs, err);
    rc = s3_audit_own(&head, "bucket-region", rc, &rs, err);
    if (rc == 0 && rs.bucket_region != NULL && *rs.bucket_region) {
        pd_log(PD_LOG_INFO,
               "s3: bucket %s is in region %s (no region configured; set AWS_REGION=%s to skip "
               "this lookup)",
               bucket, rs.bucket_region, rs.bucket_region);
        *out = pd_xstrdup(rs.bucket_region);
    } else if (rc == 0) {
        *out = pd_xstrdup(c->creds.region); // the server does not say (s3rver)
    }
    if (*out != NULL)
        s3_region_remember(bucket, *out);
    s3_resp_free(&rs);
    return rc;
}

int
s3_request(struct s3_client *c, const struct s3_req *rq, struct s3_resp *rs, struct pd_err *err)
{
    char *region = NULL, *moved = NULL;
    int rc;

    memset(rs, 0, sizeof(*rs));
    if ((rc = bucket_region(&region, c, rq->bucket, err)) != 0)
        goto out;
    rc = request_in(c, rq, region, rs, err);
    if (rc == 0 && (moved = region_moved(rs, region)) != NULL) {
        // followed once: a second detour is an error (s3_status_error says what to set)
        pd_log(PD_LOG_WARN, "s3: bucket %s is in region %s, not %s: set AWS_REGION=%s", rq->bucket,
               moved, region, moved);
        s3_region_remember(rq->bucket, moved);
        s3_resp_free(rs);
        rc = request_in(c, rq, moved, rs, err);
    }
out:
    free(moved);
    free(region);
    return rc;
}

/* ---- helpers for building requests ---------------------------------------------- */

int
s3_is_retryable_status(long status, const char *code)
{
    if (status == 500 || status == 502 || status == 503 || status == 504 || status == 429)
        return 1;
    // BadDigest and XAmzContentSHA256Mismatch: the body arrived damaged; send it again
    return code && (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
                    strcmp(code, "InternalError") == 0 || strcmp(code, "BadDigest") == 0 ||
                    strcmp(code, "XAmzContentSHA256Mismatch") == 0);
}

char *
s3_object_name(const struct s3_req *rq)
{
    return pd_xasprintf("s3://%s%s%s", rq->bucket, rq->key && *rq->key ? "/" : "",
                        rq->key ? rq->key : "");
}

/* The hint for an answer that means "wrong region" (after the one detour s3_request takes). */
static const char *
wrong_region(long status, const char *code)
{
    if (status == 301 || (code != NULL && strcmp(code, "AuthorizationHeaderMalformed") == 0))
        return " (the bucket is in another region: set AWS_REGION to the bucket's region)";
    return "";
}

int
s3_status_error(const char *op, const struct s3_req *rq, const struct s3_resp *rs,
                struct pd_err *err)
{
    struct s3_error_doc doc;
    struct pd_err ignore = {0};
    char *name = s3_object_name(rq);
    int kind = rs->status == 404 ? PD_ENOENT : PD_ESERVICE, rc;

    if (rs->body.len > 0 && s3_error_parse(&doc, rs->body.data, rs->body.len, &ignore) == 0 &&
        doc.code) {
        char *msg = pd_redact(doc.message ? doc.message : "");

        if (rs->status == 404 && strcmp(doc.code, "NoSuchKey") != 0 &&
            strcmp(doc.code, "NoSuchBucket") != 0 && strcmp(doc.code, "NoSuchUpload") != 0)
            kind = PD_ESERVICE;
        rc = PD_ERR_SET(err, kind, "s3: %s %s: HTTP %ld %s%s%s%s", op, name, rs->status, doc.code,
                        *msg ? ": " : "", msg, wrong_region(rs->status, doc.code));
        free(msg);
        s3_error_doc_free(&doc);
    } else if (rs->status == 404) {
        rc = PD_ERR_SET(err, kind, "s3: %s %s: not found (HTTP 404)", op, name);
    } else {
        rc = PD_ERR_SET(err, kind, "s3: %s %s: HTTP %ld%s", op, name, rs->status,
                        wrong_region(rs->status, NULL));
    }
    free(name);
    return rc;
}

void
s3_add_header(struct s3_req *rq, const char *name, const char *value)
{
    PD_ASSERT(rq->n_extra < S3_MAX_EXTRA_HEADERS);
    rq->extra[rq->n_extra].name = name;
    rq->extra[rq->n_extra].value = value;
    rq->n_extra++;
}

int
s3_add_put_headers(struct s3_req *rq, const struct s3_put_options *opt, char **names,
                   size_t max_names, struct pd_err *err)
{
    size_t n = 0;

    if (opt == NULL)
        return 0;
    if (opt->content_type)
        s3_add_header(rq, "content-type", opt->content_type);
    if (opt->sse) {
        if (strcmp(opt->sse, "AES256") != 0 && strcmp(opt->sse, "aws:kms") != 0)
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: server-side encryption '%.40s' is not AES256 or aws:kms",
                              opt->sse);
        s3_add_header(rq, "x-amz-server-side-encryption", opt->sse);
        if (opt->sse_kms_key_id && strcmp(opt->sse, "aws:kms") == 0)
            s3_add_header(rq, "x-amz-server-side-encryption-aws-kms-key-id", opt->sse_kms_key_id);
    }
    if (opt->storage_class)
        s3_add_header(rq, "x-amz-storage-class", opt->storage_class);
    for (const char *const *m = opt->metadata; m && m[0]; m += 2) {
        if (m[1] == NULL || n == max_names || rq->n_extra == S3_MAX_EXTRA_HEADERS)
            return PD_ERR_SET(err, PD_EINPUT, "s3: too many or unpaired metadata entries");
        names[n] = pd_xasprintf("x-amz-meta-%s", m[0]);
        s3_add_header(rq, names[n], m[1]);
        n++;
    }
    return 0;
}

void
s3_query_add(struct pd_buf *q, const char *name, const char *value)
{
    char *n = s3_sigv4_uri_encode(name, strlen(name), 0);
    char *v = s3_sigv4_uri_encode(value ? value : "", value ? strlen(value) : 0, 0);

    pd_buf_appendf(q, NULL, "%s%s=%s", q->len ? "&" : "", n, v);
    free(n);
    free(v);
}

void
s3_checksum_from_hex(char out[S3_CHECKSUM_B64_LEN + 1], const char *hex)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char d[33] = {0};
    size_t o = 0;

    digest_from_hex(d, hex);
    // 32 bytes: ten groups of three, then two bytes and one '='
    for (size_t i = 0; i < 33; i += 3) {
        unsigned int v =
            (unsigned int)d[i] << 16 | (unsigned int)d[i + 1] << 8 | (i + 2 < 32 ? d[i + 2] : 0U);

        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = i + 2 < 32 ? b64[v & 63] : '=';
    }
    out[o] = '\0';
}

/*
 * A composite that does not match may only mean other part sizes: *same is
 * 1 when S3 says part 1 has S3_CHECKSUM_PART_SIZE bytes, so the bytes are
 * wrong. A HEAD that fails only leaves *same 0; an audit that fails is the
 * error.
 */
static int
parts_as_hashed(int *same, struct s3_client *c, const char *bucket, const char *key,
                struct pd_err *err)
{
    struct s3_req rq = {.method = "HEAD",
                        .bucket = bucket,
                        .key = key,
                        .query = "partNumber=1",
                        .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct s3_resp rs;
    struct pd_err head_err = {0};
    int rc = s3_request(c, &rq, &rs, &head_err);
    int arc = s3_audit_own(&rq, "part-size", rc, &rs, &head_err);

    *same = 0;
    if (rc == 0 && arc != 0) {
        *err = head_err; // answered, but not audited: not used
        rc = arc;
    } else {
        *same = rc == 0 && (rs.status == 200 || rs.status == 206) && rs.have_length &&
                rs.content_length == S3_CHECKSUM_PART_SIZE;
        rc = 0;
    }
    s3_resp_free(&rs);
    return rc;
}

/* The checksum of what was received, in the form of want ("B64" or "B64-N"); NULL: cannot say. */
static char *
sum_received(struct s3_resp *rs)
{
    char hex[65], b64[S3_CHECKSUM_B64_LEN + 1];
    const char *dash = strchr(rs->sum_want, '-');
    unsigned long want_parts;
    size_t parts;

    if (dash == NULL) {
        pd_sha256_final(rs->sum, hex);
        rs->sum = NULL;
        s3_checksum_from_hex(b64, hex);
        return pd_xstrdup(b64);
    }
    want_parts = strtoul(dash + 1, NULL, 10);
    if (rs->sum_part_len > 0)
        sum_part_done(rs);
    parts = rs->sum_part.len / 32;
    if (rs->sum_want == NULL || parts != want_parts)
        return NULL; // parts of another size: the composite cannot be rebuilt
    pd_sha256_hex(hex, rs->sum_part.data, rs->sum_part.len);
    s3_checksum_from_hex(b64, hex);
    return pd_xasprintf("%s-%zu", b64, parts);
}

int
s3_checksum_verify(struct s3_client *c, struct s3_resp *rs, const char *bucket, const char *key,
                   struct pd_err *err)
{
    char *got;
    int same = 1, rc = 0;

    if (rs->sum == NULL || rs->sum_want == NULL)
        return 0;
    got = sum_received(rs);
    if (got != NULL && strcmp(got, rs->sum_want) != 0 && strchr(got, '-') != NULL)
        rc = parts_as_hashed(&same, c, bucket, key, err);
    if (rc != 0) {
        // the part HEAD was answered but not audited: its answer says nothing
    } else if (got == NULL || !same) {
        pd_log(PD_LOG_DEBUG, "s3: GET s3://%s/%s: parts not of %lu bytes; checksum not checked",
               bucket, key, (unsigned long)S3_CHECKSUM_PART_SIZE);
    } else if (strcmp(got, rs->sum_want) != 0) {
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: GET s3://%s/%s: the bytes received have x-amz-checksum-sha256 %s, "
                        "S3 says %.70s",
                        bucket, key, got, rs->sum_want);
    } else {
        pd_log(PD_LOG_DEBUG, "s3: GET s3://%s/%s: x-amz-checksum-sha256 matches", bucket, key);
    }
    free(got);
    return rc;
}
