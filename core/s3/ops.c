/* s3 ops: the object and bucket calls (HEAD, GET, PUT, copy-in-place, DELETE, ListObjectsV2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "s3/client.h"
#include "s3/client.intern.h"
#include "s3/xml.h"

static double
parse_http_date(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
        return 0;
    return (double)timegm(&tm);
}

int
s3_client_head(struct s3_client *c, struct s3_head *out, const char *bucket, const char *key,
               struct pd_err *err)
{
    struct s3_req rq = {
        .method = "HEAD", .bucket = bucket, .key = key, .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct s3_resp rs;
    int rc;

    memset(out, 0, sizeof(*out));
    s3_add_header(&rq, "x-amz-checksum-mode", "ENABLED");
    if ((rc = s3_request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = s3_status_error("HEAD", &rq, &rs, err);
        goto out;
    }
    s3_note_object(bucket, key, rs.sse);
    out->size = rs.content_length;
    out->etag = rs.etag;
    rs.etag = NULL;
    out->content_type = rs.content_type;
    rs.content_type = NULL;
    out->storage_class = rs.storage_class;
    rs.storage_class = NULL;
    out->sse = rs.sse;
    rs.sse = NULL;
    out->last_modified = parse_http_date(rs.last_modified);
    out->metadata = rs.meta;
    rs.meta = NULL;
    rs.n_meta = 0;
    if (out->metadata == NULL)
        out->metadata = pd_xcalloc(1, sizeof(char *));
out:
    s3_resp_free(&rs);
    return rc;
}

int
s3_client_head_bucket(struct s3_client *c, const char *bucket, double *server_time,
                      struct pd_err *err)
{
    struct s3_req rq = {
        .method = "HEAD", .bucket = bucket, .key = "", .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct s3_resp rs;
    int rc;

    *server_time = 0;
    if ((rc = s3_request(c, &rq, &rs, err)) != 0)
        goto out;
    *server_time = parse_http_date(rs.date);
    if (rs.status != 200)
        rc = s3_status_error("HEAD", &rq, &rs, err);
out:
    s3_resp_free(&rs);
    return rc;
}

void
s3_head_free(struct s3_head *h)
{
    if (h == NULL)
        return;
    PD_FREE(h->etag);
    PD_FREE(h->content_type);
    PD_FREE(h->storage_class);
    PD_FREE(h->sse);
    for (char **m = h->metadata; m && *m; m++)
        free(*m);
    PD_FREE(h->metadata);
}

int
s3_client_get(struct s3_client *c, const char *bucket, const char *key, uint64_t offset,
              s3_sink_fn *sink, void *payload, uint64_t *bytes_out, struct pd_err *err)
{
    struct s3_req rq = {.method = "GET",
                        .bucket = bucket,
                        .key = key,
                        .payload_hash = S3_SIGV4_EMPTY_SHA256,
                        .sink = sink,
                        .sink_payload = payload,
                        .offset = offset};
    struct s3_resp rs;
    int rc;

    if (bytes_out)
        *bytes_out = 0;
    // S3 then sends the object's checksum, which the bytes received are checked against
    s3_add_header(&rq, "x-amz-checksum-mode", "ENABLED");
    rc = s3_request(c, &rq, &rs, err);
    if (rc == 0 && rs.status == 416 && rs.delivered > 0 && rs.total == offset + rs.delivered) {
        // the connection dropped right after the last byte; the resume asked for nothing
        rs.status = 206;
    }
    if (rc == 0 && rs.status == 412) {
        char *name = s3_object_name(&rq);

        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: GET %s: the object changed while it was being downloaded", name);
        free(name);
    } else if (rc == 0 && rs.status != 200 && rs.status != 206) {
        rc = s3_status_error("GET", &rq, &rs, err);
    } else if (rc == 0) {
        s3_note_object(bucket, key, rs.sse);
        rc = s3_checksum_verify(c, &rs, bucket, key, err);
    }
    if (bytes_out)
        *bytes_out = rs.delivered;
    s3_resp_free(&rs);
    return rc;
}

int
s3_client_put(struct s3_client *c, const char *bucket, const char *key, const void *data,
              size_t len, const struct s3_put_options *opt, char **etag_out, struct pd_err *err)
{
    struct s3_req rq = {
        .method = "PUT", .bucket = bucket, .key = key, .body = data, .body_len = len};
    char *names[S3_MAX_EXTRA_HEADERS] = {0};
    char hash[65], sum[S3_CHECKSUM_B64_LEN + 1];
    struct s3_resp rs;
    int rc;

    memset(&rs, 0, sizeof(rs));
    if (etag_out)
        *etag_out = NULL;
    pd_sha256_hex(hash, data ? data : "", len);
    rq.payload_hash = hash;
    // S3 refuses the object (400 BadDigest) when the body it got does not match
    s3_checksum_from_hex(sum, hash);
    s3_add_header(&rq, "x-amz-checksum-sha256", sum);
    if ((rc = s3_add_put_headers(&rq, opt, names, S3_MAX_EXTRA_HEADERS, err)) != 0)
        goto out;
    if ((rc = s3_request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = s3_status_error("PUT", &rq, &rs, err);
        goto out;
    }
    if (etag_out) {
        *etag_out = rs.etag;
        rs.etag = NULL;
    }
out:
    for (size_t i = 0; i < S3_MAX_EXTRA_HEADERS; i++)
        free(names[i]);
    s3_resp_free(&rs);
    return rc;
}

int
s3_client_replace_metadata(struct s3_client *c, const char *bucket, const char *key,
                           const struct s3_put_options *opt, const char *if_match,
                           struct pd_err *err)
{
    struct s3_req rq = {.method = "PUT",
                        .bucket = bucket,
                        .key = key,
                        .body = "",
                        .body_len = 0,
                        .payload_hash = S3_SIGV4_EMPTY_SHA256};
    char *names[S3_MAX_EXTRA_HEADERS] = {0};
    char *enc = s3_sigv4_uri_encode(key, strlen(key), 1);
    char *source = pd_xasprintf("/%s/%s", bucket, enc);
    char *match = if_match ? pd_xasprintf("\"%s\"", if_match) : NULL;
    char *root = NULL;
    struct s3_resp rs;
    int rc;

    memset(&rs, 0, sizeof(rs));
    s3_add_header(&rq, "x-amz-copy-source", source);
    s3_add_header(&rq, "x-amz-metadata-directive", "REPLACE");
    if (match)
        s3_add_header(&rq, "x-amz-copy-source-if-match", match);
    if ((rc = s3_add_put_headers(&rq, opt, names, S3_MAX_EXTRA_HEADERS, err)) != 0)
        goto out;
    if ((rc = s3_request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = s3_status_error("COPY", &rq, &rs, err);
        goto out;
    }
    // like Complete, a copy can fail after the 200 status line
    if ((rc = s3_xml_root(&root, "copy response", rs.body.data, rs.body.len, err)) != 0)
        goto out;
    if (strcmp(root, "CopyObjectResult") != 0) {
        rs.status = 500;
        rc = s3_status_error("COPY", &rq, &rs, err);
    }
out:
    for (size_t i = 0; i < S3_MAX_EXTRA_HEADERS; i++)
        free(names[i]);
    free(root);
    free(match);
    free(source);
    free(enc);
    s3_resp_free(&rs);
    return rc;
}

int
s3_client_delete(struct s3_client *c, const char *bucket, const char *key, struct pd_err *err)
{
    struct s3_req rq = {
        .method = "DELETE", .bucket = bucket, .key = key, .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct s3_resp rs;
    int rc = s3_request(c, &rq, &rs, err);

    if (rc == 0 && rs.status != 204 && rs.status != 200)
        rc = s3_status_error("DELETE", &rq, &rs, err);
    s3_resp_free(&rs);
    return rc;
}

int
s3_client_list(struct s3_client *c, const char *bucket, const char *prefix, const char *delimiter,
               int max_keys, s3_page_fn *on_page, void *payload, struct pd_err *err)
{
    char *token = NULL;
    int rc = 0, pages = 0;

    do {
        struct pd_buf q;
        struct s3_req rq = {.method = "GET",
                            .bucket = bucket,
                            .key = "",
                            .payload_hash = S3_SIGV4_EMPTY_SHA256,
                            .body_cap = S3_LIST_BODY_CAP};
        struct s3_resp rs;
        struct s3_list_page page;
        char num[16];

        pd_buf_init(&q, 0);
        // sorted, so the wire query is already canonical
        // cppcheck-suppress knownConditionTrueFalse ; the previous page sets token
        if (token)
            s3_query_add(&q, "continuation-token", token);
        if (delimiter)
            s3_query_add(&q, "delimiter", delimiter);
        s3_query_add(&q, "list-type", "2");
        if (max_keys > 0) {
            snprintf(num, sizeof(num), "%d", max_keys);
            s3_query_add(&q, "max-keys", num);
        }
        s3_query_add(&q, "prefix", prefix ? prefix : "");
        rq.query = pd_buf_str(&q);
        for (int attempt = 0;; attempt++) {
            struct pd_err perr = {0};

            rc = s3_request(c, &rq, &rs, err);
            if (rc == 0 && rs.status != 200)
                rc = s3_status_error("LIST", &rq, &rs, err);
            if (rc == 0 && rs.body_overflow)
                rc = PD_ERR_SET(err, PD_ESERVICE, "s3: LIST s3://%s/%s: page larger than %zu bytes",
                                bucket, prefix ? prefix : "", S3_LIST_BODY_CAP);
            if (rc == 0)
                rc = s3_list_parse(&page, rs.body.data, rs.body.len, &perr);
            s3_resp_free(&rs);
            if (rc != PD_EINPUT)
                break;
            /*
             * A 200 whose XML does not parse was cut or mangled on the way
             * (a proxy, a connection dropped behind a load balancer): a
             * service fault, retried like one and never read as a shorter
             * listing. The parser's message keeps what was wrong.
             */
            if (attempt >= c->opt.max_retries) {
                rc = PD_ERR_SET(err, PD_ESERVICE, "s3: LIST s3://%s/%s: %s%s", bucket,
                                prefix ? prefix : "",
                                strncmp(perr.msg, "s3: ", 4) == 0 ? perr.msg + 4 : perr.msg,
                                attempt ? " (after retries)" : "");
                break;
            }
            pd_log(PD_LOG_INFO, "s3: LIST s3://%s/%s: %s, retrying (%d of %d)", bucket,
                   prefix ? prefix : "", perr.msg, attempt + 1, c->opt.max_retries);
            http_retry_wait(&c->retry, attempt + 1);
        }
        pd_buf_free(&q);
        if (rc != 0)
            break;
        pages++;
        rc = on_page(&page, payload, err);
        PD_FREE(token);
        if (rc == 0 && page.is_truncated) {
            token = page.next_continuation_token;
            page.next_continuation_token = NULL;
        }
        s3_list_page_free(&page);
    } while (rc == 0 && token);
    free(token);
    if (rc != 0 && pages > 0)
        pd_err_prefix(err, "after %d page%s: ", pages, pages == 1 ? "" : "s");
    return rc;
}
