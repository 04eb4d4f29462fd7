#include "s3/upload.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "pd_time.h"

#define MIN_PART     ((size_t)5 * 1024 * 1024)
#define DEFAULT_PART ((size_t)8 * 1024 * 1024)
#define MAX_PART     ((size_t)5 * 1024 * 1024 * 1024)
#define MAX_FLIGHT   16

enum part_state {
    PART_FREE,
    PART_QUEUED,
    PART_RUNNING,
};

struct part_job {
    enum part_state state;
    int number;
    unsigned char *buf; /* part_size bytes, kept for reuse */
    size_t len;
};

struct s3_upload {
    struct s3_client *c;
    char *bucket;
    char *key;
    /* a private copy of the put options */
    struct s3_put_options put;
    char *content_type, *sse, *kms_key, *storage_class;
    char **metadata;
    int has_put;

    size_t part_size;
    int max_in_flight;
    void (*begun)(const char *upload_id, void *payload);
    int (*cancelled)(void *payload);
    void *begun_payload;
    struct s3_multipart *m;
    unsigned char *cur;
    size_t cur_len;
    uint64_t bytes;
    int parts;

    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* a part was queued, or stop */
    pthread_cond_t cv_free; /* a part slot became free */
    struct part_job jobs[MAX_FLIGHT];
    pthread_t threads[MAX_FLIGHT];
    int n_threads;
    int stop;
    int failed; /* a part failed, or we are aborting: queued parts are dropped */
    int first_rc;
    struct pd_err first_err;
    int finished;
    int aborted;
    struct s3_upload_timing timing;
};

static void *
part_worker(void *arg)
{
    struct s3_upload *u = arg;

    pthread_mutex_lock(&u->mu);
    for (;;) {
        struct part_job *j = NULL;

        while (!u->stop) {
            for (int i = 0; i < u->max_in_flight; i++) {
                if (u->jobs[i].state == PART_QUEUED && (j == NULL || u->jobs[i].number < j->number))
                    j = &u->jobs[i];
            }
            if (j)
                break;
            pthread_cond_wait(&u->cv_work, &u->mu);
        }
        if (u->stop)
            break;
        if (u->failed) {
            // after a failure nothing more is sent; the upload will be aborted
            j->state = PART_FREE;
            pthread_cond_broadcast(&u->cv_free);
            continue;
        }
        j->state = PART_RUNNING;
        pthread_mutex_unlock(&u->mu);
        struct pd_err err = {0};
        int rc = s3_multipart_upload_part(u->m, j->number, j->buf, j->len, &err);
        pthread_mutex_lock(&u->mu);
        if (rc != 0 && !u->failed) {
            u->failed = 1;
            u->first_rc = rc;
            u->first_err = err;
        }
        j->state = PART_FREE;
        pthread_cond_broadcast(&u->cv_free);
    }
    pthread_mutex_unlock(&u->mu);
    return NULL;
}

void
s3_upload_add_metadata(struct s3_upload *u, const char *name, const char *value)
{
    size_t n = 0;

    while (u->metadata && u->metadata[n])
        n++;
    u->metadata = pd_xrealloc(u->metadata, (n + 3) * sizeof(char *));
    u->metadata[n] = pd_xstrdup(name);
    u->metadata[n + 1] = pd_xstrdup(value);
    u->metadata[n + 2] = NULL;
    u->put.metadata = (const char *const *)u->metadata;
    u->has_put = 1;
}

int
s3_upload_new(struct s3_upload **out, struct s3_client *c, const char *bucket, const char *key,
              const struct s3_upload_options *opt, struct pd_err *err)
{
    size_t part = opt && opt->part_size ? opt->part_size : DEFAULT_PART;
    int flight = opt && opt->max_in_flight ? opt->max_in_flight : 4;
    struct s3_upload *u;

    *out = NULL;
    if (part < MIN_PART || part > MAX_PART)
        return PD_ERR_SET(err, PD_EINPUT, "s3: part size %zu is not between 5 MiB and 5 GiB", part);
    if (flight < 1 || flight > MAX_FLIGHT)
        return PD_ERR_SET(err, PD_EINPUT, "s3: %d parts in flight is not between 1 and %d", flight,
                          MAX_FLIGHT);
    u = pd_xcalloc(1, sizeof(*u));
    u->c = c;
    u->bucket = pd_xstrdup(bucket);
    u->key = pd_xstrdup(key);
    u->part_size = part;
    u->max_in_flight = flight;
    if (opt) {
        u->begun = opt->begun;
        u->cancelled = opt->cancelled;
        u->begun_payload = opt->payload;
    }
    if (opt && opt->put) {
        const struct s3_put_options *p = opt->put;
        size_t n = 0;

        u->has_put = 1;
        u->put.content_type = u->content_type = pd_dup_or_null(p->content_type);
        u->put.sse = u->sse = pd_dup_or_null(p->sse);
        u->put.sse_kms_key_id = u->kms_key = pd_dup_or_null(p->sse_kms_key_id);
        u->put.storage_class = u->storage_class = pd_dup_or_null(p->storage_class);
        while (p->metadata && p->metadata[n])
            n++;
        u->metadata = pd_xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            u->metadata[i] = pd_xstrdup(p->metadata[i]);
        u->put.metadata = (const char *const *)u->metadata;
    }
    u->cur = pd_xmalloc(part);
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv_work, NULL);
    pthread_cond_init(&u->cv_free, NULL);
    *out = u;
    return 0;
}

static int
failure(struct s3_upload *u, struct pd_err *err)
{
    if (err && err != &u->first_err)
        *err = u->first_err;
    return u->first_rc ? u->first_rc : PD_EBUG;
}

/* Queue the full buffer as the next part (starting the multipart upload first). */
static int
dispatch(struct s3_upload *u, struct pd_err *err)
{
    struct part_job *j = NULL;
    int rc;

    if (u->m == NULL) {
        if ((rc = s3_multipart_begin(&u->m, u->c, u->bucket, u->key, u->has_put ? &u->put : NULL,
                                     err)) != 0) {
            u->failed = 1;
            u->first_rc = rc;
            u->first_err = *err;
            return rc;
        }
        if (u->begun != NULL)
            u->begun(s3_multipart_upload_id(u->m), u->begun_payload);
        for (int i = 0; i < u->max_in_flight; i++) {
            if (pthread_create(&u->threads[i], NULL, part_worker, u) != 0)
                break;
            u->n_threads++;
        }
        if (u->n_threads == 0) {
            u->failed = 1;
            u->first_rc = PD_ERR_SET(&u->first_err, PD_EIO, "s3: cannot start an upload thread");
            return failure(u, err);
        }
    }
    pthread_mutex_lock(&u->mu);
    for (;;) {
        if (u->failed) {
            pthread_mutex_unlock(&u->mu);
            return failure(u, err);
        }
        for (int i = 0; i < u->max_in_flight && j == NULL; i++) {
            if (u->jobs[i].state == PART_FREE)
                j = &u->jobs[i];
        }
        if (j)
            break;
        pthread_cond_wait(&u->cv_free, &u->mu);
    }
    // swap buffers: the job takes the full one, the writer gets the job's old one
    unsigned char *spare = j->buf;
    j->buf = u->cur;
    j->len = u->cur_len;
    j->number = ++u->parts;
    j->state = PART_QUEUED;
    pthread_cond_signal(&u->cv_work);
    pthread_mutex_unlock(&u->mu);
    u->cur = spare ? spare : pd_xmalloc(u->part_size);
    u->cur_len = 0;
    return 0;
}

int
s3_upload_write(struct s3_upload *u, const void *data, size_t len, struct pd_err *err)
{
    const unsigned char *p = data;
    int rc, failed;

    if (u->finished || u->aborted)
        return PD_ERR_SET(err, PD_EBUG, "s3: upload to s3://%s/%s: write after %s", u->bucket,
                          u->key, u->finished ? "finish" : "abort");
    pthread_mutex_lock(&u->mu);
    failed = u->failed;
    pthread_mutex_unlock(&u->mu);
    if (failed)
        return failure(u, err);
    while (len > 0) {
        size_t n = u->part_size - u->cur_len < len ? u->part_size - u->cur_len : len;

        memcpy(u->cur + u->cur_len, p, n);
        u->cur_len += n;
        u->bytes += n;
        p += n;
        len -= n;
        if (u->cur_len == u->part_size && (rc = dispatch(u, err)) != 0)
            return rc;
    }
    return 0;
}

/*
 * Wait until no part is queued or running: 0, or 1 when cancellable and
 * u->cancelled said stop (an abort waits for its running parts regardless).
 */
static int
wait_idle(struct s3_upload *u, int cancellable)
{
    int rc = 0;

    pthread_mutex_lock(&u->mu);
    for (;;) {
        int busy = 0;

        for (int i = 0; i < u->max_in_flight; i++)
            busy |= u->jobs[i].state != PART_FREE;
        if (!busy)
            break;
        if (!cancellable || u->cancelled == NULL) {
            pthread_cond_wait(&u->cv_free, &u->mu);
            continue;
        }
        if (u->cancelled(u->begun_payload) != 0) {
            rc = 1;
            break;
        }
        // asked again every 200 ms: a signal handler cannot wake a condition
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&u->cv_free, &u->mu, &ts);
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

int
s3_upload_finish(struct s3_upload *u, char **etag_out, struct pd_err *err)
{
    double t0 = pd_time_mono(), t1;
    int rc;

    if (etag_out)
        *etag_out = NULL;
    if (u->finished || u->aborted)
        return PD_ERR_SET(err, PD_EBUG, "s3: upload to s3://%s/%s: finish after %s", u->bucket,
                          u->key, u->finished ? "finish" : "abort");
    if (u->m == NULL && !u->failed) {
        // it all fitted in one part: one PUT, nothing to clean up on failure
        rc = s3_client_put(u->c, u->bucket, u->key, u->cur, u->cur_len, u->has_put ? &u->put : NULL,
                           etag_out, err);
        u->timing.complete_s = pd_time_mono() - t0;
        if (rc == 0)
            u->finished = 1;
        else
            u->aborted = 1;
        return rc;
    }
    if (u->cur_len > 0 && (rc = dispatch(u, err)) != 0)
        goto fail;
    if (wait_idle(u, 1) != 0) {
        rc = PD_ERR_SET(err, PD_EINTR, "s3: upload to s3://%s/%s interrupted", u->bucket, u->key);
        goto fail;
    }
    t1 = pd_time_mono();
    u->timing.drain_s = t1 - t0;
    if (u->failed) {
        rc = failure(u, err);
        goto fail;
    }
    rc = s3_multipart_complete(u->m, etag_out, err);
    u->timing.complete_s = pd_time_mono() - t1;
    if (rc != 0)
        goto fail;
    u->finished = 1;
    return 0;
fail:
    s3_upload_abort(u);
    return rc;
}

void
s3_upload_abort(struct s3_upload *u)
{
    struct pd_err err = {0};

    if (u->finished || u->aborted)
        return;
    u->aborted = 1;
    if (u->m == NULL)
        return;
    pthread_mutex_lock(&u->mu);
    if (!u->failed) {
        u->failed = 1;
        u->first_rc = PD_ERR_SET(&u->first_err, PD_EINTR, "s3: upload to s3://%s/%s was aborted",
                                 u->bucket, u->key);
    }
    pthread_mutex_unlock(&u->mu);
    wait_idle(u, 0);
    if (s3_multipart_abort(u->m, &err) != 0)
        pd_log(PD_LOG_WARN, "%s (the parts stay until a lifecycle rule removes them)", err.msg);
}

void
s3_upload_free(struct s3_upload *u)
{
    if (u == NULL)
        return;
    s3_upload_abort(u);
    pthread_mutex_lock(&u->mu);
    u->stop = 1;
    pthread_cond_broadcast(&u->cv_work);
    pthread_mutex_unlock(&u->mu);
    for (int i = 0; i < u->n_threads; i++)
        pthread_join(u->threads[i], NULL);
    for (int i = 0; i < MAX_FLIGHT; i++)
        free(u->jobs[i].buf);
    s3_multipart_free(u->m);
    pthread_cond_destroy(&u->cv_work);
    pthread_cond_destroy(&u->cv_free);
    pthread_mutex_destroy(&u->mu);
    free(u->cur);
    for (char **m = u->metadata; m && *m; m++)
        free(*m);
    free(u->metadata);
    free(u->content_type);
    free(u->sse);
    free(u->kms_key);
    free(u->storage_class);
    free(u->bucket);
    free(u->key);
    free(u);
}

uint64_t
s3_upload_bytes(const struct s3_upload *u)
{
    return u->bytes;
}

int
s3_upload_parts(const struct s3_upload *u)
{
    return u->parts;
}

void
s3_upload_timing(const struct s3_upload *u, struct s3_upload_timing *out)
{
    *out = u->timing;
}
