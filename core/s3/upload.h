/*
 * s3/upload: stream bytes of unknown length into one S3 object.
 *
 * The writer fills a part buffer; the first full buffer starts a multipart
 * upload and every full buffer becomes a part uploaded by one of
 * max_in_flight worker threads while the caller goes on producing (the
 * backup's pg_dump | gzip). Memory is bounded by part_size times
 * (max_in_flight + 1). A stream that ends before the first part is full is
 * sent as one PUT instead.
 *
 * Nothing appears at the final key before s3_upload_finish succeeds: a
 * failure (of a part, or of the producer, who then calls s3_upload_abort or
 * just s3_upload_free) aborts the multipart upload, best effort, so no
 * partial object is ever visible. After a kill -9 the parts stay on the
 * server until a lifecycle rule removes them, but the key stays empty.
 */
#ifndef S3_UPLOAD_H
#define S3_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "s3/client.h"

struct pd_err;
struct s3_upload;

struct s3_upload_options {
    size_t part_size;                 /* 0 means 8 MiB; at least 5 MiB (S3's minimum) */
    int max_in_flight;                /* parts uploading at once; 0 means 4, at most 16 */
    const struct s3_put_options *put; /* copied; may be NULL */
    /* Once CreateMultipartUpload answered, with its upload id (borrowed); may be NULL. */
    void (*begun)(const char *upload_id, void *payload);
    /* Polled while s3_upload_finish waits for the last parts; non-zero stops
     * the upload (aborted, PD_EINTR). May be NULL. */
    int (*cancelled)(void *payload);
    void *payload;
};

int s3_upload_new(struct s3_upload **out, struct s3_client *c, const char *bucket, const char *key,
                  const struct s3_upload_options *opt, struct pd_err *err);

/* Add bytes. Blocks while max_in_flight parts are uploading. Returns a
 * failed part's error as soon as it is known. */
int s3_upload_write(struct s3_upload *u, const void *data, size_t len, struct pd_err *err);

/*
 * Add one x-amz-meta-NAME entry known only at the end of the stream (a
 * checksum). It reaches the object only when the stream fits in one part
 * and goes up as a single PUT (s3_upload_parts is 0 after finishing): a
 * multipart object's metadata is fixed by CreateMultipartUpload, so the
 * caller then has to store it another way. Call before s3_upload_finish.
 */
void s3_upload_add_metadata(struct s3_upload *u, const char *name, const char *value);

/*
 * Send what is left, wait for every part and complete the object. On any
 * failure the upload is aborted before returning. *etag_out (optional) is
 * owned by the caller.
 */
int s3_upload_finish(struct s3_upload *u, char **etag_out, struct pd_err *err);

/* Give up: wait for running parts, abort the multipart upload (best effort). */
void s3_upload_abort(struct s3_upload *u);

/* Releases the upload; aborts it first unless it was finished. */
void s3_upload_free(struct s3_upload *u);

uint64_t s3_upload_bytes(const struct s3_upload *u);
int s3_upload_parts(const struct s3_upload *u);

/*
 * Where s3_upload_finish spent its time (seconds, 0 until it ran): waiting
 * for the parts still uploading when the stream ended, and the
 * CompleteMultipartUpload (or the single PUT) itself.
 */
struct s3_upload_timing {
    double drain_s;
    double complete_s;
};

void s3_upload_timing(const struct s3_upload *u, struct s3_upload_timing *out);

#endif
