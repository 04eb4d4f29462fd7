/* s3 multipart: CreateMultipartUpload, UploadPart (from several threads), Complete and Abort. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "s3/client.h"
#include "s3/client.intern.h"
#include "s3/xml.h"

struct s3_multipart {
    struct s3_client *c;
    char *bucket;
    char *key;
    char *upload_id;
    pthread_mutex_t lock;
    char **etags; /* [part - 1], NULL until uploaded */
    char **sums;  /* [part - 1], each part's x-amz-checksum-sha256 */
    int n_parts;  /* highest part number seen */
};

int
s3_multipart_begin(struct s3_multipart **out, struct s3_client *c, const char *bucket,
                   const char *key, const struct s3_put_options *opt, struct pd_err *err)
{
    struct s3_req rq = {.method = "POST",
                        .bucket = bucket,
                        .key = key,
                        .query = "uploads=",
                        .payload_hash = S3_SIGV4_EMPTY_SHA256};
    char *names[S3_MAX_EXTRA_HEADERS] = {0};
    struct s3_resp rs;
    char *id = NULL;
    int rc;

    *out = NULL;
    memset(&rs, 0, sizeof(rs));
    s3_add_header(&rq, "x-amz-checksum-algorithm", "SHA256");
    if ((rc = s3_add_put_headers(&rq, opt, names, S3_MAX_EXTRA_HEADERS, err)) != 0)
        goto out;
    if ((rc = s3_request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = s3_status_error("CREATE-MULTIPART", &rq, &rs, err);
        goto out;
    }
    if ((rc = s3_xml_text(&id, "create multipart response", rs.body.data, rs.body.len,
                          "InitiateMultipartUploadResult/UploadId", err)) != 0)
        goto out;
    if (id == NULL || *id == '\0') {
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: CREATE-MULTIPART s3://%s/%s: no UploadId in the answer", bucket, key);
        goto out;
    }
    struct s3_multipart *m = pd_xcalloc(1, sizeof(*m));
    m->c = c;
    m->bucket = pd_xstrdup(bucket);
    m->key = pd_xstrdup(key);
    m->upload_id = id;
    id = NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->etags = pd_xcalloc(S3_MAX_PARTS, sizeof(char *));
    m->sums = pd_xcalloc(S3_MAX_PARTS, sizeof(char *));
    *out = m;
out:
    free(id);
    for (size_t i = 0; i < S3_MAX_EXTRA_HEADERS; i++)
        free(names[i]);
    s3_resp_free(&rs);
    return rc;
}

const char *
s3_multipart_upload_id(const struct s3_multipart *m)
{
    return m->upload_id;
}

int
s3_multipart_upload_part(struct s3_multipart *m, int part, const void *data, size_t len,
                         struct pd_err *err)
{
    char hash[65], sum[S3_CHECKSUM_B64_LEN + 1];
    struct pd_buf q;
    char num[16];
    struct s3_resp rs;
    int rc;

    if (part < 1 || part > S3_MAX_PARTS)
        return PD_ERR_SET(err, PD_EINPUT, "s3: part number %d is outside 1..%d", part,
                          S3_MAX_PARTS);
    pd_sha256_hex(hash, data ? data : "", len);
    pd_buf_init(&q, 0);
    snprintf(num, sizeof(num), "%d", part);
    s3_query_add(&q, "partNumber", num);
    s3_query_add(&q, "uploadId", m->upload_id);
    struct s3_req rq = {.method = "PUT",
                        .bucket = m->bucket,
                        .key = m->key,
                        .query = pd_buf_str(&q),
                        .body = data,
                        .body_len = len,
                        .payload_hash = hash};
    // the payload hash again, as S3 checks it: a part that arrives damaged is refused
    s3_checksum_from_hex(sum, hash);
    s3_add_header(&rq, "x-amz-checksum-sha256", sum);
    rc = s3_request(m->c, &rq, &rs, err);
    if (rc == 0 && rs.status != 200)
        rc = s3_status_error("UPLOAD-PART", &rq, &rs, err);
    if (rc == 0 && (rs.etag == NULL || *rs.etag == '\0'))
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: UPLOAD-PART s3://%s/%s part %d: no ETag in the answer", m->bucket,
                        m->key, part);
    if (rc == 0) {
        pthread_mutex_lock(&m->lock);
        free(m->etags[part - 1]);
        m->etags[part - 1] = rs.etag;
        rs.etag = NULL;
        free(m->sums[part - 1]);
        m->sums[part - 1] = pd_xstrdup(sum);
        if (part > m->n_parts)
            m->n_parts = part;
        pthread_mutex_unlock(&m->lock);
    } else {
        pd_err_prefix(err, "part %d: ", part);
    }
    s3_resp_free(&rs);
    pd_buf_free(&q);
    return rc;
}

int
s3_multipart_complete(struct s3_multipart *m, char **etag_out, struct pd_err *err)
{
    struct pd_buf body, q;
    char hash[65];
    struct s3_resp rs;
    char *root = NULL, *etag = NULL;
    int rc = 0, sent = 0;

    if (etag_out)
        *etag_out = NULL;
    memset(&rs, 0, sizeof(rs));
    pd_buf_init(&body, 0);
    pd_buf_init(&q, 0);
    if (m->n_parts == 0) {
        rc = PD_ERR_SET(err, PD_EBUG, "s3: COMPLETE-MULTIPART s3://%s/%s: no parts uploaded",
                        m->bucket, m->key);
        goto out;
    }
    pd_buf_appendf(&body, NULL,
                   "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < m->n_parts; i++) {
        if (m->etags[i] == NULL) {
            rc = PD_ERR_SET(err, PD_EBUG, "s3: COMPLETE-MULTIPART s3://%s/%s: part %d is missing",
                            m->bucket, m->key, i + 1);
            goto out;
        }
        pd_buf_appendf(&body, NULL,
                       "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag>"
                       "<ChecksumSHA256>%s</ChecksumSHA256></Part>",
                       i + 1, m->etags[i], m->sums[i]);
    }
    pd_buf_appendf(&body, NULL, "</CompleteMultipartUpload>");
    pd_sha256_hex(hash, body.data, body.len);
    s3_query_add(&q, "uploadId", m->upload_id);
    struct s3_req rq = {.method = "POST",
                        .bucket = m->bucket,
                        .key = m->key,
                        .query = pd_buf_str(&q),
                        .body = body.data,
                        .body_len = body.len,
                        .payload_hash = hash};
    s3_add_header(&rq, "content-type", "application/xml");
    for (int attempt = 0;; attempt++) {
        char *code = NULL;
        int retry;

        s3_resp_free(&rs);
        PD_FREE(root);
        if ((rc = s3_request(m->c, &rq, &rs, err)) != 0)
            goto out;
        sent += rs.attempts;
        if (rs.status == 404 && sent > 1) {
            /*
             * An earlier attempt may have completed the upload and only its
             * answer was lost: then the object is there and the upload gone.
             */
            struct s3_head h;
            struct pd_err herr = {0};

            if (s3_client_head(m->c, &h, m->bucket, m->key, &herr) == 0) {
                pd_log(PD_LOG_WARN,
                       "s3: COMPLETE-MULTIPART s3://%s/%s: upload already completed "
                       "by an earlier attempt",
                       m->bucket, m->key);
                etag = pd_xasprintf("\"%s\"", h.etag ? h.etag : "");
                s3_head_free(&h);
                break;
            }
        }
        if (rs.status != 200) {
            rc = s3_status_error("COMPLETE-MULTIPART", &rq, &rs, err);
            goto out;
        }
        // S3 may answer 200 and report the failure in the body; InternalError is worth a retry
        if ((rc = s3_xml_root(&root, "complete multipart response", rs.body.data, rs.body.len,
                              err)) != 0)
            goto out;
        if (strcmp(root, "CompleteMultipartUploadResult") == 0) {
            if ((rc = s3_xml_text(&etag, "complete multipart response", rs.body.data, rs.body.len,
                                  "CompleteMultipartUploadResult/ETag", err)) != 0)
                goto out;
            break;
        }
        if ((rc = s3_xml_text(&code, "complete multipart response", rs.body.data, rs.body.len,
                              "Error/Code", err)) != 0)
            goto out;
        retry = s3_is_retryable_status(0, code) && attempt < m->c->opt.max_retries;
        free(code);
        if (!retry) {
            rs.status = 500;
            rc = s3_status_error("COMPLETE-MULTIPART", &rq, &rs, err);
            goto out;
        }
        http_retry_wait(&m->c->retry, attempt + 1);
    }
    if (etag == NULL) {
        rc =
            PD_ERR_SET(err, PD_ESERVICE, "s3: COMPLETE-MULTIPART s3://%s/%s: no ETag in the answer",
                       m->bucket, m->key);
        goto out;
    }
    if (etag_out) {
        size_t n = strlen(etag);

        *etag_out = n >= 2 && etag[0] == '"' ? pd_xstrndup(etag + 1, n - 2) : pd_xstrdup(etag);
    }
out:
    free(etag);
    free(root);
    s3_resp_free(&rs);
    pd_buf_free(&body);
    pd_buf_free(&q);
    return rc;
}

int
s3_multipart_abort(struct s3_multipart *m, struct pd_err *err)
{
    return s3_multipart_abort_id(m->c, m->bucket, m->key, m->upload_id, err);
}

int
s3_multipart_abort_id(struct s3_client *c, const char *bucket, const char *key,
                      const char *upload_id, struct pd_err *err)
{
    struct pd_buf q;
    struct s3_resp rs;
    int rc;

    pd_buf_init(&q, 0);
    s3_query_add(&q, "uploadId", upload_id);
    struct s3_req rq = {.method = "DELETE",
                        .bucket = bucket,
                        .key = key,
                        .query = pd_buf_str(&q),
                        .payload_hash = S3_SIGV4_EMPTY_SHA256};
    rc = s3_request(c, &rq, &rs, err);
    if (rc == 0 && rs.status != 204 && rs.status != 200 && rs.status != 404)
        rc = s3_status_error("ABORT-MULTIPART", &rq, &rs, err);
    s3_resp_free(&rs);
    pd_buf_free(&q);
    return rc;
}

void
s3_multipart_free(struct s3_multipart *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < S3_MAX_PARTS; i++) {
        free(m->etags[i]);
        free(m->sums[i]);
    }
    free(m->etags);
    free(m->sums);
    pthread_mutex_destroy(&m->lock);
    free(m->bucket);
    free(m->key);
    free(m->upload_id);
    free(m);
}
