#include "gz/gz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "pd_err.h"
#include "pd_mem.h"

#define DICT_SIZE     32768
#define DEFAULT_BLOCK ((size_t)128 * 1024)
#define MAX_THREADS   8
#define INFLATE_CHUNK ((size_t)128 * 1024)

/* ---- parallel deflate ----------------------------------------------------- */

enum job_state {
    JOB_FREE,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_DONE,
};

struct job {
    enum job_state state;
    uint64_t seq;
    unsigned char *in;
    size_t in_len;
    unsigned char *dict;
    size_t dict_len;
    int last;
    unsigned char *out;
    size_t out_len, out_cap;
    uLong crc;
    int zrc; /* Z_OK, or the zlib failure */
};

struct gz_deflate {
    int level;
    size_t block_size;
    gz_sink_fn *sink;
    void *payload;
    pthread_t threads[MAX_THREADS];
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* a job was queued, or stop */
    pthread_cond_t cv_done; /* a job finished */
    struct job *ring;
    size_t ring_n;
    uint64_t next_submit, next_write;
    int stop;
    unsigned char *cur; /* the block being filled */
    size_t cur_len;
    unsigned char *tail; /* the last DICT_SIZE bytes of input before cur */
    size_t tail_len;
    uLong crc;
    uint64_t in_total, out_total;
    int failed;
    int finished;
};

/* Compress one job with the worker's stream; returns a zlib code. */
static int
compress_job(z_stream *zs, struct job *j)
{
    int rc;

    if ((rc = deflateReset(zs)) != Z_OK)
        return rc;
    if (j->dict_len > 0 && (rc = deflateSetDictionary(zs, j->dict, (uInt)j->dict_len)) != Z_OK)
        return rc;
    zs->next_in = j->in;
    zs->avail_in = (uInt)j->in_len;
    zs->next_out = j->out;
    zs->avail_out = (uInt)j->out_cap;
    // a non-final block ends byte-aligned (sync flush) so blocks concatenate
    rc = deflate(zs, j->last ? Z_FINISH : Z_SYNC_FLUSH);
    if (j->last ? rc != Z_STREAM_END : (rc != Z_OK || zs->avail_in != 0))
        return rc == Z_OK || rc == Z_STREAM_END ? Z_BUF_ERROR : rc;
    j->out_len = j->out_cap - zs->avail_out;
    j->crc = crc32(0L, j->in, (uInt)j->in_len);
    return Z_OK;
}

static void *
worker(void *arg)
{
    struct gz_deflate *z = arg;
    z_stream zs;
    int init_rc;

    memset(&zs, 0, sizeof(zs));
    init_rc = deflateInit2(&zs, z->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    pthread_mutex_lock(&z->mu);
    for (;;) {
        struct job *pick = NULL;

        while (!z->stop) {
            // the oldest queued job first, so the writer is never starved
            for (size_t i = 0; i < z->ring_n; i++) {
                struct job *j = &z->ring[i];

                if (j->state == JOB_QUEUED && (pick == NULL || j->seq < pick->seq))
                    pick = j;
            }
            if (pick)
                break;
            pthread_cond_wait(&z->cv_work, &z->mu);
        }
        if (z->stop)
            break;
        pick->state = JOB_RUNNING;
        pthread_mutex_unlock(&z->mu);
        int rc = init_rc == Z_OK ? compress_job(&zs, pick) : init_rc;
        pthread_mutex_lock(&z->mu);
        pick->zrc = rc;
        pick->state = JOB_DONE;
        pthread_cond_broadcast(&z->cv_done);
    }
    pthread_mutex_unlock(&z->mu);
    if (init_rc == Z_OK)
        deflateEnd(&zs);
    return NULL;
}

static int
emit(struct gz_deflate *z, const void *data, size_t len, struct pd_err *err)
{
    int rc = z->sink(data, len, z->payload, err);

    if (rc != 0)
        z->failed = 1;
    else
        z->out_total += len;
    return rc;
}

/* Write the oldest job once it is done. */
static int
drain_one(struct gz_deflate *z, struct pd_err *err)
{
    struct job *j = &z->ring[z->next_write % z->ring_n];
    int rc;

    pthread_mutex_lock(&z->mu);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&z->cv_done, &z->mu);
    pthread_mutex_unlock(&z->mu);
    if (j->zrc != Z_OK) {
        z->failed = 1;
        return PD_ERR_SET(err, PD_EBUG, "gzip: zlib failed on block %lu: %s", (unsigned long)j->seq,
                          zError(j->zrc));
    }
    if ((rc = emit(z, j->out, j->out_len, err)) != 0)
        return rc;
    z->crc = z->next_write == 0 ? j->crc : crc32_combine(z->crc, j->crc, (z_off_t)j->in_len);
    pthread_mutex_lock(&z->mu);
    j->state = JOB_FREE; // workers read state under the lock only
    pthread_mutex_unlock(&z->mu);
    z->next_write++;
    return 0;
}

/* Hand the current block to the workers. */
static int
submit(struct gz_deflate *z, int last, struct pd_err *err)
{
    struct job *j = &z->ring[z->next_submit % z->ring_n];
    int rc, busy;

    for (;;) {
        pthread_mutex_lock(&z->mu);
        busy = j->state != JOB_FREE;
        pthread_mutex_unlock(&z->mu);
        if (!busy)
            break;
        if ((rc = drain_one(z, err)) != 0)
            return rc;
    }
    // the job owns cur; the next block gets the job's old input buffer
    unsigned char *spare = j->in;
    j->in = z->cur;
    j->in_len = z->cur_len;
    memcpy(j->dict, z->tail, z->tail_len);
    j->dict_len = z->tail_len;
    j->last = last;
    j->seq = z->next_submit++;
    j->out_len = 0;
    j->zrc = Z_OK;
    // the dictionary of the next block: the last 32 KiB of everything so far
    if (z->cur_len >= DICT_SIZE) {
        memcpy(z->tail, z->cur + z->cur_len - DICT_SIZE, DICT_SIZE);
        z->tail_len = DICT_SIZE;
    } else {
        size_t keep = z->tail_len + z->cur_len > DICT_SIZE ? DICT_SIZE - z->cur_len : z->tail_len;

        memmove(z->tail, z->tail + z->tail_len - keep, keep);
        memcpy(z->tail + keep, z->cur, z->cur_len);
        z->tail_len = keep + z->cur_len;
    }
    z->cur = spare ? spare : pd_xmalloc(z->block_size);
    z->cur_len = 0;
    pthread_mutex_lock(&z->mu);
    j->state = JOB_QUEUED;
    pthread_cond_signal(&z->cv_work);
    pthread_mutex_unlock(&z->mu);
    return 0;
}

int
gz_deflate_new(struct gz_deflate **out, const struct gz_deflate_options *opt, gz_sink_fn *sink,
               void *payload, struct pd_err *err)
{
    struct gz_deflate *z;
    int level = opt && opt->level ? opt->level : 6;
    int threads = opt && opt->threads ? opt->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    size_t block = opt && opt->block_size ? opt->block_size : DEFAULT_BLOCK;
    int depth = opt && opt->depth ? opt->depth : 2;

    *out = NULL;
    if (level < 1 || level > 9)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: level %d is not between 1 and 9", level);
    if (block < DICT_SIZE || block > (size_t)64 * 1024 * 1024)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: block size %zu is not between 32 KiB and 64 MiB",
                          block);
    if (depth < 1 || depth > 64)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: depth %d is not between 1 and 64", depth);
    if (threads < 1)
        threads = 1;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    z = pd_xcalloc(1, sizeof(*z));
    z->level = level;
    z->block_size = block;
    z->sink = sink;
    z->payload = payload;
    z->ring_n = (size_t)threads * (size_t)depth;
    z->ring = pd_xcalloc(z->ring_n, sizeof(*z->ring));
    for (size_t i = 0; i < z->ring_n; i++) {
        z->ring[i].dict = pd_xmalloc(DICT_SIZE);
        // a sync-flushed block never exceeds the bound plus the flush marker
        z->ring[i].out_cap = deflateBound(NULL, (uLong)block) + 64;
        z->ring[i].out = pd_xmalloc(z->ring[i].out_cap);
    }
    z->cur = pd_xmalloc(block);
    z->tail = pd_xmalloc(DICT_SIZE);
    z->crc = crc32(0L, Z_NULL, 0);
    pthread_mutex_init(&z->mu, NULL);
    pthread_cond_init(&z->cv_work, NULL);
    pthread_cond_init(&z->cv_done, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&z->threads[i], NULL, worker, z) != 0)
            break;
        z->n_threads++;
    }
    if (z->n_threads == 0) {
        gz_deflate_free(z);
        return PD_ERR_SET(err, PD_EIO, "gzip: cannot start a compression thread");
    }
    *out = z;
    return 0;
}

int
gz_deflate_write(struct gz_deflate *z, const void *data, size_t len, struct pd_err *err)
{
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    const unsigned char *p = data;
    int rc;

    if (z->failed || z->finished)
        return PD_ERR_SET(err, PD_EBUG, "gzip: write after %s", z->failed ? "a failure" : "finish");
    if (z->in_total == 0 && z->out_total == 0 && (rc = emit(z, header, sizeof(header), err)) != 0)
        return rc;
    while (len > 0) {
        size_t n = z->block_size - z->cur_len < len ? z->block_size - z->cur_len : len;

        memcpy(z->cur + z->cur_len, p, n);
        z->cur_len += n;
        z->in_total += n;
        p += n;
        len -= n;
        if (z->cur_len == z->block_size && (rc = submit(z, 0, err)) != 0)
            return rc;
    }
    return 0;
}

int
gz_deflate_finish(struct gz_deflate *z, struct pd_err *err)
{
    unsigned char trailer[8];
    int rc;

    if (z->out_total == 0 && (rc = gz_deflate_write(z, "", 0, err)) != 0)
        return rc;
    if (z->failed || z->finished)
        return PD_ERR_SET(err, PD_EBUG, "gzip: finish after %s",
                          z->failed ? "a failure" : "finish");
    if ((rc = submit(z, 1, err)) != 0)
        return rc;
    while (z->next_write < z->next_submit) {
        if ((rc = drain_one(z, err)) != 0)
            return rc;
    }
    for (int i = 0; i < 4; i++) {
        trailer[i] = (unsigned char)(z->crc >> (8 * i));
        trailer[4 + i] = (unsigned char)(z->in_total >> (8 * i));
    }
    z->finished = 1;
    return emit(z, trailer, sizeof(trailer), err);
}

void
gz_deflate_free(struct gz_deflate *z)
{
    if (z == NULL)
        return;
    pthread_mutex_lock(&z->mu);
    z->stop = 1;
    pthread_cond_broadcast(&z->cv_work);
    pthread_mutex_unlock(&z->mu);
    // a worker in the middle of a job finishes it first; none is left waiting
    for (int i = 0; i < z->n_threads; i++)
        pthread_join(z->threads[i], NULL);
    for (size_t i = 0; i < z->ring_n; i++) {
        free(z->ring[i].in);
        free(z->ring[i].dict);
        free(z->ring[i].out);
    }
    free(z->ring);
    free(z->cur);
    free(z->tail);
    pthread_cond_destroy(&z->cv_work);
    pthread_cond_destroy(&z->cv_done);
    pthread_mutex_destroy(&z->mu);
    free(z);
}

uint64_t
gz_deflate_bytes_in(const struct gz_deflate *z)
{
    return z->in_total;
}

uint64_t
gz_deflate_bytes_out(const struct gz_deflate *z)
{
    return z->out_total;
}

/* ---- streaming inflate ----------------------------------------------------- */

struct gz_inflate {
    z_stream zs;
    int init;
    int in_member; /* inside a member (header seen, end not yet) */
    int members;
    gz_sink_fn *sink;
    void *payload;
    unsigned char *out;
    uint64_t in_total, out_total;
    int failed;
};

int
gz_inflate_new(struct gz_inflate **out, gz_sink_fn *sink, void *payload, struct pd_err *err)
{
    struct gz_inflate *z = pd_xcalloc(1, sizeof(*z));
    int rc;

    *out = NULL;
    // 15 + 16: gzip wrapper only, so a zlib or raw stream is an error
    if ((rc = inflateInit2(&z->zs, 15 + 16)) != Z_OK) {
        free(z);
        return PD_ERR_SET(err, PD_EBUG, "gzip: cannot initialise zlib: %s", zError(rc));
    }
    z->init = 1;
    z->sink = sink;
    z->payload = payload;
    z->out = pd_xmalloc(INFLATE_CHUNK);
    *out = z;
    return 0;
}

int
gz_inflate_write(struct gz_inflate *z, const void *data, size_t len, struct pd_err *err)
{
    const unsigned char *p = data;

    if (z->failed)
        return PD_ERR_SET(err, PD_EBUG, "gzip: write after a failure");
    while (len > 0) {
        uInt take = len > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)len;
        uInt before;
        int zrc;

        if (!z->in_member && z->members > 0 && p[0] != 0x1f) {
            z->failed = 1;
            return PD_ERR_SET(err, PD_EINPUT,
                              "gzip: unexpected data after the end of the stream at byte %lu",
                              (unsigned long)z->in_total);
        }
        z->in_member = 1;
        z->zs.next_in = (Bytef *)(uintptr_t)p;
        z->zs.avail_in = take;
        before = take;
        do {
            z->zs.next_out = z->out;
            z->zs.avail_out = (uInt)INFLATE_CHUNK;
            zrc = inflate(&z->zs, Z_NO_FLUSH);
            if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
                z->failed = 1;
                return PD_ERR_SET(err, PD_EINPUT, "gzip: corrupt stream at compressed byte %lu: %s",
                                  (unsigned long)(z->in_total + (before - z->zs.avail_in)),
                                  z->zs.msg ? z->zs.msg : zError(zrc));
            }
            size_t produced = INFLATE_CHUNK - z->zs.avail_out;
            if (produced > 0) {
                z->out_total += produced;
                if (z->sink) {
                    int rc = z->sink(z->out, produced, z->payload, err);
                    if (rc != 0) {
                        z->failed = 1;
                        return rc;
                    }
                }
            }
            if (zrc == Z_STREAM_END) {
                z->members++;
                z->in_member = 0;
                inflateReset(&z->zs);
                break;
            }
        } while (z->zs.avail_out == 0 || (z->zs.avail_in > 0 && zrc == Z_OK));
        size_t used = before - z->zs.avail_in;
        z->in_total += used;
        p += used;
        len -= used;
    }
    return 0;
}

int
gz_inflate_finish(struct gz_inflate *z, struct pd_err *err)
{
    if (z->failed)
        return PD_ERR_SET(err, PD_EBUG, "gzip: finish after a failure");
    if (z->in_total == 0)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: empty stream");
    if (z->in_member)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: stream truncated after %lu compressed bytes",
                          (unsigned long)z->in_total);
    return 0;
}

void
gz_inflate_free(struct gz_inflate *z)
{
    if (z == NULL)
        return;
    if (z->init)
        inflateEnd(&z->zs);
    free(z->out);
    free(z);
}

uint64_t
gz_inflate_bytes_in(const struct gz_inflate *z)
{
    return z->in_total;
}

uint64_t
gz_inflate_bytes_out(const struct gz_inflate *z)
{
    return z->out_total;
}

int
gz_inflate_members(const struct gz_inflate *z)
{
    return z->members;
}
