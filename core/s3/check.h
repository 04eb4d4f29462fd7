/*
 * s3/check: read a gzip backup from S3 once, with no temporary file, and
 * prove it whole: the compressed bytes' SHA-256 (against the object's
 * x-amz-meta-sha256 when it has one), the size HEAD announced, and gzip
 * integrity down to the last member's CRC and length. The decompressed
 * bytes can go on to a sink at the same time (restore: download, gunzip
 * and psql in one pass); with a NULL sink it only verifies (the monthly
 * check, like `aws s3 cp - | gzip -t`).
 */
#ifndef S3_CHECK_H
#define S3_CHECK_H

#include <stdint.h>

#include "gz/gz.h"
#include "s3/client.h"

struct pd_err;

struct s3_gzip_check {
    uint64_t compressed_bytes;
    uint64_t uncompressed_bytes;
    int members;
    char sha256[65];       /* of the compressed object */
    char *expected_sha256; /* the object's x-amz-meta-sha256, NULL when it has none (owned) */
};

/*
 * Stream s3://bucket/key through SHA-256 and gunzip. Errors: the download's
 * (PD_ESERVICE / PD_ENOENT), corrupt or truncated gzip (PD_ECHECK, with the
 * compressed offset), a size or SHA-256 that does not match (PD_ECHECK), or
 * the sink's own. out is filled as far as the stream got; release it with
 * s3_gzip_check_free either way.
 */
int s3_gzip_check(struct s3_gzip_check *out, struct s3_client *c, const char *bucket,
                  const char *key, gz_sink_fn *sink, void *payload, struct pd_err *err);

void s3_gzip_check_free(struct s3_gzip_check *chk);

#endif
