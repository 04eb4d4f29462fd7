#include "s3/check.h"

#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_sha256.h"

struct check_state {
    struct pd_sha256 *sha;
    struct gz_inflate *gz;
    uint64_t bytes;
    int gz_failed; /* the gzip layer, not the sink behind it, stopped the stream */
};

static int
check_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    struct check_state *st = payload;
    int rc;

    pd_sha256_update(st->sha, data, len);
    st->bytes += len;
    rc = gz_inflate_write(st->gz, data, len, err);
    if (rc == PD_EINPUT)
        st->gz_failed = 1;
    return rc;
}

int
s3_gzip_check(struct s3_gzip_check *out, struct s3_client *c, const char *bucket, const char *key,
              gz_sink_fn *sink, void *payload, struct pd_err *err)
{
    struct check_state st = {0};
    struct s3_head head;
    int rc, have_head = 0;

    memset(out, 0, sizeof(*out));
    if ((rc = s3_client_head(c, &head, bucket, key, err)) != 0)
        return rc;
    have_head = 1;
    for (char **m = head.metadata; m && m[0]; m += 2) {
        if (strcmp(m[0], "sha256") == 0)
            out->expected_sha256 = pd_xstrdup(m[1]);
    }
    st.sha = pd_sha256_new();
    if ((rc = gz_inflate_new(&st.gz, sink, payload, err)) != 0)
        goto out;
    rc = s3_client_get(c, bucket, key, 0, check_sink, &st, NULL, err);
    if (rc == 0) {
        rc = gz_inflate_finish(st.gz, err);
        st.gz_failed = rc == PD_EINPUT;
    }
    out->compressed_bytes = st.bytes;
    out->uncompressed_bytes = gz_inflate_bytes_out(st.gz);
    out->members = gz_inflate_members(st.gz);
    if (st.gz_failed) {
        pd_err_prefix(err, "s3: s3://%s/%s: ", bucket, key);
        err->kind = rc = PD_ECHECK;
        goto out;
    }
    if (rc != 0)
        goto out;
    if (st.bytes != head.size) {
        rc = PD_ERR_SET(err, PD_ECHECK, "s3: s3://%s/%s: read %lu bytes, HEAD said %lu", bucket,
                        key, (unsigned long)st.bytes, (unsigned long)head.size);
        goto out;
    }
    pd_sha256_final(st.sha, out->sha256);
    st.sha = NULL;
    if (out->expected_sha256 && strcmp(out->expected_sha256, out->sha256) != 0)
        rc = PD_ERR_SET(
            err, PD_ECHECK,
            "s3: s3://%s/%s: sha256 mismatch: the object has %s, its metadata says %.64s", bucket,
            key, out->sha256, out->expected_sha256);
out:
    if (st.sha) {
        char discard[65];

        pd_sha256_final(st.sha, discard);
    }
    gz_inflate_free(st.gz);
    if (have_head)
        s3_head_free(&head);
    return rc;
}

void
s3_gzip_check_free(struct s3_gzip_check *chk)
{
    if (chk)
        PD_FREE(chk->expected_sha256);
}
