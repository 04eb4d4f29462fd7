#include "gz/gz.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_mem.h"

#define DEFAULT_BLOCK ((size_t)1024 * 1024)
#define MAX_BLOCK     ((size_t)64 * 1024 * 1024)
#define MAX_THREADS   8
#define INFLATE_CHUNK ((size_t)128 * 1024)
#define HDR_LEN       20 /* our member header: 10 fixed, XLEN, the 8-byte subfield */
#define TRAILER_LEN   8
#define SUB_ID1       'P'
#define SUB_ID2       'D'

static void
put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *
gz_compressor(void)
{
    return "libdeflate " LIBDEFLATE_VERSION_STRING;
}

int
gz_parse_level(int *out, const char *s, const char *what, struct pd_err *err)
{
    char *end;
    long v;

    errno = 0;
    v = s ? strtol(s, &end, 10) : 0;
    if (s == NULL || errno != 0 || end == s || *end != '\0' || v < 1 || v > GZ_LEVEL_MAX)
        return PD_ERR_SET(err, PD_EINPUT, "%s: '%.20s' is not a compression level (1-%d)", what,
                          s ? s : "", GZ_LEVEL_MAX);
    *out = (int)v;
    return 0;
}

/* ---- the worker pool: jobs run in parallel, come out in order ----------------- */

enum job_state {
    JOB_FREE,
    JOB_QUEUED,
    JOB_RUNNING,
    JOB_DONE,
};

/* One block to compress or one member to inflate; buffers are reused. */
struct job {
    enum job_state state;
    uint64_t seq;
    unsigned char *in;
    size_t in_len, in_cap;
    unsigned char *out;
    size_t out_len, out_cap;
    uint64_t offset; /* inflate: the member's compressed offset */
    size_t hdr_len;  /* inflate: the member's header bytes (not in `in`) */
    int bad;         /* set by the worker: what went wrong, see job_error */
    uint64_t bad_at; /* the compressed offset of the failure */
};

struct pool;
typedef void *pool_init_fn(const struct pool *p);
typedef void pool_run_fn(void *tool, struct job *j);
typedef void pool_fini_fn(void *tool);

struct pool {
    pthread_t threads[MAX_THREADS];
    int n_threads;
    int level;
    pool_init_fn *init;
    pool_run_fn *run;
    pool_fini_fn *fini;
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* a job was queued, or stop */
    pthread_cond_t cv_done; /* a job finished */
    struct job *ring;
    size_t ring_n;
    uint64_t next_submit, next_write;
    int stop;
};

static void *
pool_worker(void *arg)
{
    struct pool *p = arg;
    void *tool = p->init(p);

    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct job *pick = NULL;

        while (!p->stop) {
            // the oldest queued job first, so the writer is never starved
            for (size_t i = 0; i < p->ring_n; i++) {
                struct job *j = &p->ring[i];

                if (j->state == JOB_QUEUED && (pick == NULL || j->seq < pick->seq))
                    pick = j;
            }
            if (pick)
                break;
            pthread_cond_wait(&p->cv_work, &p->mu);
        }
        if (p->stop)
            break;
        pick->state = JOB_RUNNING;
        pthread_mutex_unlock(&p->mu);
        p->run(tool, pick);
        pthread_mutex_lock(&p->mu);
        pick->state = JOB_DONE;
        pthread_cond_broadcast(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
    p->fini(tool);
    return NULL;
}

/* Start the threads; 0, or -1 when not one could start. */
static int
pool_start(struct pool *p, int threads, size_t depth)
{
    p->ring_n = (size_t)threads * depth;
    p->ring = pd_xcalloc(p->ring_n, sizeof(*p->ring));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0)
            break;
        p->n_threads++;
    }
    return p->n_threads > 0 ? 0 : -1;
}

static void
pool_stop(struct pool *p)
{
    if (p->ring == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    // a worker in the middle of a job finishes it first; none is left waiting
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    for (size_t i = 0; i < p->ring_n; i++) {
        free(p->ring[i].in);
        free(p->ring[i].out);
    }
    PD_FREE(p->ring);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    pthread_mutex_destroy(&p->mu);
}

/* The slot the next job goes into, or NULL when the oldest must be written first. */
static struct job *
pool_slot(struct pool *p)
{
    struct job *j = &p->ring[p->next_submit % p->ring_n];
    int busy;

    pthread_mutex_lock(&p->mu);
    busy = j->state != JOB_FREE;
    pthread_mutex_unlock(&p->mu);
    return busy ? NULL : j;
}

static void
pool_submit(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->mu);
    j->seq = p->next_submit++;
    j->state = JOB_QUEUED;
    pthread_cond_signal(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
}

/* The oldest job once it is done, or NULL when none is pending. */
static struct job *
pool_oldest(struct pool *p)
{
    struct job *j;

    if (p->ring == NULL || p->next_write == p->next_submit)
        return NULL;
    j = &p->ring[p->next_write % p->ring_n];
    pthread_mutex_lock(&p->mu);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return j;
}

static void
pool_release(struct pool *p, struct job *j)
{
    pthread_mutex_lock(&p->mu);
    j->state = JOB_FREE; // workers read state under the lock only
    pthread_mutex_unlock(&p->mu);
    p->next_write++;
}

static int
online_threads(int want)
{
    int n = want ? want : (int)sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
}

/* ---- parallel deflate: one gzip member per block ------------------------------ */

struct gz_deflate {
    struct pool pool;
    size_t block_size;
    gz_sink_fn *sink;
    void *payload;
    unsigned char *cur; /* the block being filled */
    size_t cur_len;
    uint64_t in_total, out_total, members;
    int failed;
    int finished;
};

static void *
deflate_init(const struct pool *p)
{
    return libdeflate_alloc_compressor(p->level);
}

static void
deflate_fini(void *tool)
{
    libdeflate_free_compressor(tool);
}

/* Compress one block into a whole member: header with its length, data, trailer. */
static void
deflate_run(void *tool, struct job *j)
{
    static const unsigned char head[12] = {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 8, 0};
    size_t cap, n;

    if (tool == NULL) {
        j->bad = 1;
        return;
    }
    cap = HDR_LEN + libdeflate_deflate_compress_bound(tool, j->in_len) + TRAILER_LEN;
    if (j->out_cap < cap) {
        free(j->out);
        j->out = pd_xmalloc(cap);
        j->out_cap = cap;
    }
    n = libdeflate_deflate_compress(tool, j->in, j->in_len, j->out + HDR_LEN,
                                    cap - HDR_LEN - TRAILER_LEN);
    if (n == 0) {
        j->bad = 1; /* uncovered: the bound guarantees the space */
        return;
    }
    memcpy(j->out, head, sizeof(head));
    j->out[12] = SUB_ID1;
    j->out[13] = SUB_ID2;
    j->out[14] = 4;
    j->out[15] = 0;
    j->out_len = HDR_LEN + n + TRAILER_LEN;
    put_le32(j->out + 16, (uint32_t)j->out_len);
    put_le32(j->out + HDR_LEN + n, libdeflate_crc32(0, j->in, j->in_len));
    put_le32(j->out + HDR_LEN + n + 4, (uint32_t)j->in_len);
    j->bad = 0;
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

/* Write the oldest member once it is done. */
static int
drain_one(struct gz_deflate *z, struct pd_err *err)
{
    struct job *j = pool_oldest(&z->pool);
    int rc;

    if (j->bad) {
        z->failed = 1;
        return PD_ERR_SET(err, PD_EBUG, "gzip: libdeflate failed on block %lu",
                          (unsigned long)j->seq);
    }
    if ((rc = emit(z, j->out, j->out_len, err)) != 0)
        return rc;
    z->members++;
    pool_release(&z->pool, j);
    return 0;
}

/* Hand the current block to the workers. */
static int
submit(struct gz_deflate *z, struct pd_err *err)
{
    struct job *j;
    int rc;

    while ((j = pool_slot(&z->pool)) == NULL) {
        if ((rc = drain_one(z, err)) != 0)
            return rc;
    }
    // the job owns cur; the next block gets the job's old input buffer
    unsigned char *spare = j->in;
    j->in = z->cur;
    j->in_len = z->cur_len;
    z->cur = spare ? spare : pd_xmalloc(z->block_size);
    z->cur_len = 0;
    pool_submit(&z->pool, j);
    return 0;
}

int
gz_deflate_new(struct gz_deflate **out, const struct gz_deflate_options *opt, gz_sink_fn *sink,
               void *payload, struct pd_err *err)
{
    struct gz_deflate *z;
    int level = opt && opt->level ? opt->level : GZ_LEVEL_DEFAULT;
    size_t block = opt && opt->block_size ? opt->block_size : DEFAULT_BLOCK;
    int depth = opt && opt->depth ? opt->depth : 2;

    *out = NULL;
    if (level < 1 || level > GZ_LEVEL_MAX)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: level %d is not between 1 and %d", level,
                          GZ_LEVEL_MAX);
    if (block < 32768 || block > MAX_BLOCK)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: block size %zu is not between 32 KiB and 64 MiB",
                          block);
    if (depth < 1 || depth > 64)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: depth %d is not between 1 and 64", depth);
    z = pd_xcalloc(1, sizeof(*z));
    z->pool.level = level;
    z->pool.init = deflate_init;
    z->pool.run = deflate_run;
    z->pool.fini = deflate_fini;
    z->block_size = block;
    z->sink = sink;
    z->payload = payload;
    z->cur = pd_xmalloc(block);
    if (pool_start(&z->pool, online_threads(opt ? opt->threads : 0), (size_t)depth) != 0) {
        gz_deflate_free(z);
        return PD_ERR_SET(err, PD_EIO, "gzip: cannot start a compression thread");
    }
    *out = z;
    return 0;
}

int
gz_deflate_write(struct gz_deflate *z, const void *data, size_t len, struct pd_err *err)
{
    const unsigned char *p = data;
    int rc;

    if (z->failed || z->finished)
        return PD_ERR_SET(err, PD_EBUG, "gzip: write after %s", z->failed ? "a failure" : "finish");
    while (len > 0) {
        size_t n = z->block_size - z->cur_len < len ? z->block_size - z->cur_len : len;

        memcpy(z->cur + z->cur_len, p, n);
        z->cur_len += n;
        z->in_total += n;
        p += n;
        len -= n;
        if (z->cur_len == z->block_size && (rc = submit(z, err)) != 0)
            return rc;
    }
    return 0;
}

int
gz_deflate_finish(struct gz_deflate *z, struct pd_err *err)
{
    int rc;

    if (z->failed || z->finished)
        return PD_ERR_SET(err, PD_EBUG, "gzip: finish after %s",
                          z->failed ? "a failure" : "finish");
    // the last, partial block; an empty input still makes one (empty) member
    if ((z->cur_len > 0 || z->pool.next_submit == 0) && (rc = submit(z, err)) != 0)
        return rc;
    while (z->pool.next_write < z->pool.next_submit) {
        if ((rc = drain_one(z, err)) != 0)
            return rc;
    }
    z->finished = 1;
    return 0;
}

void
gz_deflate_free(struct gz_deflate *z)
{
    if (z == NULL)
        return;
    pool_stop(&z->pool);
    free(z->cur);
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

int
gz_deflate_level(const struct gz_deflate *z)
{
    return z->pool.level;
}

/* ---- inflate: a header parser, ISA-L streaming, libdeflate members in parallel ---- */

enum reader_state {
    IN_HEADER,  /* reading a member header, byte by byte */
    IN_STREAM,  /* ISA-L inflating a member of unknown length */
    IN_TRAILER, /* the 8 bytes after a streamed member */
    IN_COLLECT, /* gathering a member of known length for a worker */
};

enum header_part {
    H_FIXED,
    H_XLEN,
    H_EXTRA,
    H_NAME,
    H_COMMENT,
    H_HCRC,
};

/* What a worker found wrong with a member (job.bad). */
enum member_fault {
    FAULT_NONE,
    FAULT_DATA,   /* the deflate data is invalid */
    FAULT_LENGTH, /* it inflates to another size than the trailer says */
    FAULT_CRC,
    FAULT_SPAN, /* the deflate data ends before the member length says */
    FAULT_SIZE, /* the trailer claims more than a block can hold */
};

struct gz_inflate {
    enum reader_state state;
    enum header_part part;
    gz_sink_fn *sink;
    void *payload;
    struct pool pool; /* started at the first member with a length */
    struct inflate_state *isal;
    unsigned char *out;
    /* the member being read */
    uint64_t member_start;
    unsigned char hdr[12]; /* the fixed part, then XLEN */
    size_t hdr_n, need;    /* bytes of the current header part read, and wanted */
    unsigned char *extra;
    size_t hdr_len;
    uint32_t hcrc; /* CRC-32 of the header so far (for FHCRC) */
    uint32_t span; /* the length subfield, 0 when absent */
    uint64_t member_out;
    unsigned char trailer[TRAILER_LEN];
    struct job *collect; /* IN_COLLECT: the job being filled */
    uint64_t in_total, out_total;
    int members, indexed, started; /* started: members begun, pending ones included */
    int failed;
};

static int
inflate_fail(struct gz_inflate *z, uint64_t at, const char *what, struct pd_err *err)
{
    z->failed = 1;
    return PD_ERR_SET(err, PD_EINPUT, "gzip: corrupt stream at compressed byte %lu: %s",
                      (unsigned long)at, what);
}

static int
inflate_emit(struct gz_inflate *z, const void *data, size_t len, struct pd_err *err)
{
    int rc = 0;

    z->out_total += len;
    if (z->sink && len > 0 && (rc = z->sink(data, len, z->payload, err)) != 0)
        z->failed = 1;
    return rc;
}

static void *
inflate_init(const struct pool *p)
{
    (void)p;
    return libdeflate_alloc_decompressor();
}

static void
inflate_fini(void *tool)
{
    libdeflate_free_decompressor(tool);
}

/* Inflate one whole member (its data and trailer in j->in) into j->out. */
static void
inflate_run(void *tool, struct job *j)
{
    size_t data_len = j->in_len - TRAILER_LEN, got_in = 0, got_out = 0;
    uint32_t crc = get_le32(j->in + data_len), isize = get_le32(j->in + data_len + 4);
    enum libdeflate_result r;

    j->bad = FAULT_NONE;
    if (tool == NULL) {
        j->bad = FAULT_DATA; /* uncovered: allocation failure inside libdeflate */
        j->bad_at = j->offset;
        return;
    }
    if (isize > MAX_BLOCK) {
        j->bad = FAULT_SIZE;
        j->bad_at = j->offset + j->hdr_len + j->in_len;
        return;
    }
    if (j->out_cap < (size_t)isize + 1) {
        free(j->out);
        j->out_cap = (size_t)isize + 1;
        j->out = pd_xmalloc(j->out_cap);
    }
    // one byte more than the trailer says, so that a longer member is seen as such
    r = libdeflate_deflate_decompress_ex(tool, j->in, data_len, j->out, (size_t)isize + 1, &got_in,
                                         &got_out);
    j->out_len = got_out;
    if (r != LIBDEFLATE_SUCCESS) {
        j->bad = r == LIBDEFLATE_INSUFFICIENT_SPACE ? FAULT_LENGTH : FAULT_DATA;
        j->bad_at = r == LIBDEFLATE_INSUFFICIENT_SPACE ? j->offset + j->hdr_len + j->in_len
                                                       : j->offset + j->hdr_len;
    } else if (got_in != data_len) {
        j->bad = FAULT_SPAN;
        j->bad_at = j->offset + j->hdr_len + got_in;
    } else if (libdeflate_crc32(0, j->out, got_out) != crc) {
        j->bad = FAULT_CRC;
        j->bad_at = j->offset + j->hdr_len + data_len + 4;
    } else if (got_out != isize) {
        j->bad = FAULT_LENGTH;
        j->bad_at = j->offset + j->hdr_len + j->in_len;
    }
}

/* Write out the oldest inflated member. */
static int
inflate_drain_one(struct gz_inflate *z, struct pd_err *err)
{
    static const char *const what[] = {
        [FAULT_DATA] = "invalid deflate data",
        [FAULT_LENGTH] = "incorrect length check",
        [FAULT_CRC] = "incorrect data check",
        [FAULT_SPAN] = "the deflate data ends before the member length in its header",
        [FAULT_SIZE] = "the member claims more than 64 MiB of data",
    };
    struct job *j = pool_oldest(&z->pool);
    int rc;

    if (j->bad != FAULT_NONE)
        return inflate_fail(z, j->bad_at, what[j->bad], err);
    if ((rc = inflate_emit(z, j->out, j->out_len, err)) != 0)
        return rc;
    z->members++;
    z->indexed++;
    pool_release(&z->pool, j);
    return 0;
}

static int
inflate_drain_all(struct gz_inflate *z, struct pd_err *err)
{
    int rc;

    while (z->pool.ring != NULL && z->pool.next_write < z->pool.next_submit)
        if ((rc = inflate_drain_one(z, err)) != 0)
            return rc;
    return 0;
}

/* The header is complete: choose how the member is read. */
static int
header_done(struct gz_inflate *z, struct pd_err *err)
{
    size_t body = z->span > z->hdr_len ? z->span - z->hdr_len : 0;
    int rc;

    // a length is trusted only when it leaves room for data and trailer
    if (z->span != 0 && body >= TRAILER_LEN + 2 && body <= MAX_BLOCK + ((size_t)1 << 20)) {
        if (z->pool.ring == NULL) {
            z->pool.init = inflate_init;
            z->pool.run = inflate_run;
            z->pool.fini = inflate_fini;
            if (pool_start(&z->pool, online_threads(0), 3) != 0) {
                z->failed = 1;
                return PD_ERR_SET(err, PD_EIO, "gzip: cannot start an inflate thread");
            }
        }
        while ((z->collect = pool_slot(&z->pool)) == NULL)
            if ((rc = inflate_drain_one(z, err)) != 0)
                return rc;
        if (z->collect->in_cap < body) {
            free(z->collect->in);
            z->collect->in = pd_xmalloc(body);
            z->collect->in_cap = body;
        }
        z->collect->in_len = 0;
        z->collect->offset = z->member_start;
        z->collect->hdr_len = z->hdr_len;
        z->need = body;
        z->state = IN_COLLECT;
        return 0;
    }
    // streamed output must follow what the workers still hold
    if ((rc = inflate_drain_all(z, err)) != 0)
        return rc;
    isal_inflate_reset(z->isal);
    z->isal->crc_flag = ISAL_GZIP_NO_HDR;
    z->member_out = 0;
    z->state = IN_STREAM;
    return 0;
}

/* The extra field: look for the length subfield. */
static void
parse_extra(struct gz_inflate *z, size_t xlen)
{
    const unsigned char *e = z->extra;

    for (size_t i = 0; i + 4 <= xlen;) {
        size_t sub = (size_t)e[i + 2] | (size_t)e[i + 3] << 8;

        if (i + 4 + sub > xlen)
            break;
        if (e[i] == SUB_ID1 && e[i + 1] == SUB_ID2 && sub == 4)
            z->span = get_le32(e + i + 4);
        i += 4 + sub;
    }
}

/* The next header part after the one just read, from the flags. */
static int
header_next(struct gz_inflate *z, struct pd_err *err)
{
    unsigned flg = z->hdr[3];

    for (;;) {
        z->part++;
        z->hdr_n = 0;
        if (z->part == H_XLEN && (flg & 4)) {
            z->need = 2;
            return 0;
        }
        if (z->part == H_EXTRA && (flg & 4)) {
            z->need = (size_t)z->hdr[10] | (size_t)z->hdr[11] << 8;
            if (z->need > 0) {
                z->extra = pd_xrealloc(z->extra, z->need);
                return 0;
            }
        }
        if ((z->part == H_NAME && (flg & 8)) || (z->part == H_COMMENT && (flg & 16)))
            return 0;
        if (z->part == H_HCRC && (flg & 2)) {
            z->need = 2;
            return 0;
        }
        if (z->part >= H_HCRC)
            return header_done(z, err);
    }
}

/* A member's header is bad: what the workers still hold is older, and reported first. */
static int
header_fail(struct gz_inflate *z, uint64_t at, const char *what, struct pd_err *err)
{
    int rc = inflate_drain_all(z, err);

    return rc != 0 ? rc : inflate_fail(z, at, what, err);
}

/* One header byte; the member starts with the first. */
static int
header_byte(struct gz_inflate *z, unsigned char c, struct pd_err *err)
{
    uint64_t at = z->in_total + 1; // counting this byte, as zlib reports it

    if (z->hdr_len == 0) {
        z->member_start = z->in_total;
        z->part = H_FIXED;
        z->need = 10;
        z->hdr_n = 0;
        z->span = 0;
        z->hcrc = 0;
        z->started++;
    }
    if (z->part != H_HCRC)
        z->hcrc = libdeflate_crc32(z->hcrc, &c, 1);
    z->hdr_len++;
    switch (z->part) {
    case H_FIXED:
    case H_XLEN:
        z->hdr[(z->part == H_XLEN ? 10 : 0) + z->hdr_n++] = c;
        if (z->part == H_FIXED && z->hdr_n == 2 && (z->hdr[0] != 0x1f || z->hdr[1] != 0x8b))
            return header_fail(z, at, "incorrect header check", err);
        if (z->part == H_FIXED && z->hdr_n == 3 && c != 8)
            return header_fail(z, at, "unknown compression method", err);
        if (z->part == H_FIXED && z->hdr_n == 4 && (c & 0xe0) != 0)
            return header_fail(z, at, "unknown header flags set", err);
        break;
    case H_EXTRA:
        z->extra[z->hdr_n++] = c;
        if (z->hdr_n == z->need)
            parse_extra(z, z->need);
        break;
    case H_NAME:
    case H_COMMENT:
        z->hdr_n = c == 0; // a zero ends the field
        z->need = 1;
        break;
    case H_HCRC:
        z->hdr[z->hdr_n++] = c;
        if (z->hdr_n == 2 && (unsigned)(z->hdr[0] | z->hdr[1] << 8) != (z->hcrc & 0xffff))
            return header_fail(z, at, "header crc mismatch", err);
        break;
    }
    return z->hdr_n == z->need ? header_next(z, err) : 0;
}

/* The 8 bytes after a streamed member: its CRC-32 and length. */
static int
trailer_byte(struct gz_inflate *z, unsigned char c, struct pd_err *err)
{
    z->trailer[z->hdr_n++] = c;
    if (z->hdr_n == 4 && get_le32(z->trailer) != z->isal->crc)
        return inflate_fail(z, z->in_total + 1, "incorrect data check", err);
    if (z->hdr_n < TRAILER_LEN)
        return 0;
    if (get_le32(z->trailer + 4) != (uint32_t)z->member_out)
        return inflate_fail(z, z->in_total + 1, "incorrect length check", err);
    z->members++;
    z->hdr_len = 0;
    z->state = IN_HEADER;
    return 0;
}

static const char *
isal_message(int rc)
{
    switch (rc) {
    case ISAL_INVALID_BLOCK:
        return "invalid block type";
    case ISAL_INVALID_SYMBOL:
        return "invalid code";
    case ISAL_INVALID_LOOKBACK:
        return "invalid distance too far back";
    default:
        return "invalid deflate data";
    }
}

/* Feed ISA-L what there is of a streamed member; *used says how much it took. */
static int
stream_bytes(struct gz_inflate *z, const unsigned char *p, size_t len, size_t *used,
             struct pd_err *err)
{
    struct inflate_state *s = z->isal;
    uint32_t take = len > (size_t)1 << 30 ? (uint32_t)1 << 30 : (uint32_t)len;
    int rc, ir;

    s->next_in = (uint8_t *)(uintptr_t)p;
    s->avail_in = take;
    do {
        s->next_out = z->out;
        s->avail_out = (uint32_t)INFLATE_CHUNK;
        if ((ir = isal_inflate(s)) < 0)
            return inflate_fail(z, z->in_total + (take - s->avail_in), isal_message(ir), err);
        size_t produced = INFLATE_CHUNK - s->avail_out;

        z->member_out += produced;
        if ((rc = inflate_emit(z, z->out, produced, err)) != 0)
            return rc;
        if (produced == 0 && s->avail_in == take)
            break; /* uncovered: ISA-L holds back nothing it can still decode */
    } while (s->block_state != ISAL_BLOCK_FINISH && (s->avail_out == 0 || s->avail_in > 0));
    *used = take - s->avail_in;
    z->in_total += *used;
    if (s->block_state != ISAL_BLOCK_FINISH)
        return 0;
    z->state = IN_TRAILER;
    z->hdr_n = 0;
    // ISA-L reads ahead: the whole bytes left in its bit buffer begin the trailer
    int held = s->read_in_length / 8;

    z->in_total -= (uint64_t)held;
    for (int i = 0; i < held && rc == 0; i++) {
        rc = trailer_byte(z, (unsigned char)(s->read_in >> (s->read_in_length % 8 + 8 * i)), err);
        z->in_total++;
    }
    return rc;
}

int
gz_inflate_new(struct gz_inflate **out, gz_sink_fn *sink, void *payload, struct pd_err *err)
{
    struct gz_inflate *z = pd_xcalloc(1, sizeof(*z));

    (void)err;
    z->sink = sink;
    z->payload = payload;
    z->isal = pd_xcalloc(1, sizeof(*z->isal));
    isal_inflate_init(z->isal);
    z->out = pd_xmalloc(INFLATE_CHUNK);
    *out = z;
    return 0;
}

/* Copy what there is of a collected member; hand it to the workers when whole. */
static size_t
collect_bytes(struct gz_inflate *z, const unsigned char *p, size_t len)
{
    struct job *j = z->collect;
    size_t n = z->need - j->in_len < len ? z->need - j->in_len : len;

    memcpy(j->in + j->in_len, p, n);
    j->in_len += n;
    if (j->in_len == z->need) {
        pool_submit(&z->pool, j);
        z->collect = NULL;
        z->hdr_len = 0;
        z->state = IN_HEADER;
    }
    return n;
}

int
gz_inflate_write(struct gz_inflate *z, const void *data, size_t len, struct pd_err *err)
{
    const unsigned char *p = data;
    int rc = 0;

    if (z->failed)
        return PD_ERR_SET(err, PD_EBUG, "gzip: write after a failure");
    while (len > 0 && rc == 0) {
        size_t used = 1;
        int counted = 0; /* the streamed part counts its own input (ISA-L reads ahead) */

        switch (z->state) {
        case IN_HEADER:
            if (z->hdr_len == 0 && z->started > 0 && p[0] != 0x1f) {
                if ((rc = inflate_drain_all(z, err)) != 0)
                    return rc;
                z->failed = 1;
                return PD_ERR_SET(err, PD_EINPUT,
                                  "gzip: unexpected data after the end of the stream at byte %lu",
                                  (unsigned long)z->in_total);
            }
            rc = header_byte(z, p[0], err);
            break;
        case IN_TRAILER:
            rc = trailer_byte(z, p[0], err);
            break;
        case IN_STREAM:
            rc = stream_bytes(z, p, len, &used, err);
            counted = 1;
            break;
        case IN_COLLECT:
            used = collect_bytes(z, p, len);
            break;
        }
        if (rc != 0)
            break;
        if (!counted)
            z->in_total += used;
        p += used;
        len -= used;
    }
    return rc;
}

int
gz_inflate_finish(struct gz_inflate *z, struct pd_err *err)
{
    int rc;

    if (z->failed)
        return PD_ERR_SET(err, PD_EBUG, "gzip: finish after a failure");
    if ((rc = inflate_drain_all(z, err)) != 0)
        return rc;
    if (z->in_total == 0)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: empty stream");
    if (z->state != IN_HEADER || z->hdr_len != 0)
        return PD_ERR_SET(err, PD_EINPUT, "gzip: stream truncated after %lu compressed bytes",
                          (unsigned long)z->in_total);
    return 0;
}

void
gz_inflate_free(struct gz_inflate *z)
{
    if (z == NULL)
        return;
    pool_stop(&z->pool);
    free(z->isal);
    free(z->extra);
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

int
gz_inflate_indexed_members(const struct gz_inflate *z)
{
    return z->indexed;
}
