/*
 * s3_tool: a small command-line driver for core/s3 (client, check, upload),
 * used by tests/integration/s3_roundtrip.sh against s3rver behind the
 * verifying proxy. Credentials and endpoint come from the AWS environment
 * variables; PGDRILL_TEST_S3_CA_FILE, when set, is an extra CA bundle (the
 * https test). The first argument is the mode word "tool", as the shell
 * tests have always called the driver:
 *
 *   s3_tool tool put BUCKET KEY FILE [sse [storage-class [meta-name meta-value]]]
 *   s3_tool tool get BUCKET KEY OUTFILE [OFFSET]
 *   s3_tool tool head BUCKET KEY
 *   s3_tool tool list BUCKET PREFIX [DELIMITER|- [MAX-KEYS]]
 *   s3_tool tool delete BUCKET KEY
 *   s3_tool tool mpu BUCKET KEY FILE PART-SIZE THREADS [abort-after-parts]
 *   s3_tool tool setmeta BUCKET KEY NAME VALUE [IF-MATCH-ETAG]   (keeps SSE AES256)
 *   s3_tool tool check BUCKET KEY [OUTFILE]   (s3/check: sha256 + gzip, gunzipped to OUTFILE)
 *   s3_tool tool upload BUCKET KEY FILE PART-SIZE IN-FLIGHT raw|gzip [FAIL-AFTER-BYTES]
 *        (s3/upload fed in 1 MiB pieces, optionally through gz; FAIL-AFTER
 *        plays a producer that dies: the upload is aborted)
 *
 * Errors go to stderr as "error: MESSAGE"; the exit code is pd_err's.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gz/gz.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "s3/check.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "s3/upload.h"

/* A decimal argument, as atoi would read it. */
static int
num(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

static int
file_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    if (fwrite(data, 1, len, payload) != len)
        return PD_ERR_SET(err, PD_EIO, "cannot write the output file");
    return 0;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *data;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "error: cannot read %s\n", path);
        exit(2);
    }
    data = pd_xmalloc((size_t)st.st_size + 1);
    if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        fprintf(stderr, "error: short read on %s\n", path);
        exit(2);
    }
    (void)fclose(f); // read only
    *len = (size_t)st.st_size;
    return data;
}

/* ---- put, get, head, list, delete, check, setmeta ------------------------- */

static int
tool_put(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    size_t len;
    char *data = read_file(argv[5], &len), *etag = NULL;
    const char *meta[3] = {argc > 9 ? argv[8] : NULL, argc > 9 ? argv[9] : NULL, NULL};
    struct s3_put_options po = {
        .sse = argc > 6 && *argv[6] ? argv[6] : NULL,
        .storage_class = argc > 7 && *argv[7] ? argv[7] : NULL,
        .metadata = meta,
    };
    int rc = s3_client_put(c, argv[3], argv[4], data, len, &po, &etag, err);

    if (rc == 0)
        printf("etag %s\n", etag);
    free(etag);
    free(data);
    return rc;
}

static int
tool_get(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    FILE *f = fopen(argv[5], argc > 6 ? "ab" : "wb");
    uint64_t n = 0;
    int rc;

    if (f == NULL) {
        fprintf(stderr, "error: cannot write %s\n", argv[5]);
        return PD_EIO;
    }
    rc = s3_client_get(c, argv[3], argv[4], argc > 6 ? strtoull(argv[6], NULL, 10) : 0, file_sink,
                       f, &n, err);
    if (fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "error: cannot write %s\n", argv[5]);
        rc = PD_EIO;
    }
    if (rc == 0)
        printf("bytes %lu\n", (unsigned long)n);
    return rc;
}

static int
tool_head(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    struct s3_head h;
    int rc = s3_client_head(c, &h, argv[3], argv[4], err);

    (void)argc;
    if (rc == 0) {
        printf("size %lu\netag %s\nsse %s\nstorage_class %s\n", (unsigned long)h.size,
               h.etag ? h.etag : "-", h.sse ? h.sse : "-", h.storage_class ? h.storage_class : "-");
        for (char **m = h.metadata; m && m[0]; m += 2)
            printf("meta %s %s\n", m[0], m[1]);
        s3_head_free(&h);
    }
    return rc;
}

static int
print_page(const struct s3_list_page *page, void *payload, struct pd_err *err)
{
    int *pages = payload;

    (void)err;
    (*pages)++;
    for (size_t i = 0; i < page->n_objects; i++)
        printf("key %s %lu %s %s\n", page->objects[i].key, (unsigned long)page->objects[i].size,
               page->objects[i].etag ? page->objects[i].etag : "-",
               page->objects[i].storage_class ? page->objects[i].storage_class : "-");
    for (size_t i = 0; i < page->n_common_prefixes; i++)
        printf("prefix %s\n", page->common_prefixes[i]);
    return 0;
}

static int
tool_list(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    int pages = 0;
    const char *delim = argc > 5 && strcmp(argv[5], "-") != 0 ? argv[5] : NULL;
    int rc = s3_client_list(c, argv[3], argv[4], delim, argc > 6 ? num(argv[6]) : 0, print_page,
                            &pages, err);

    if (rc == 0)
        printf("pages %d\n", pages);
    return rc;
}

static int
tool_check(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    struct s3_gzip_check chk;
    FILE *f = argc > 5 ? fopen(argv[5], "wb") : NULL;
    int rc = s3_gzip_check(&chk, c, argv[3], argv[4], f ? file_sink : NULL, f, err);

    if (f && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "error: cannot write %s\n", argv[5]);
        rc = PD_EIO;
    }
    if (rc == 0)
        printf("compressed %lu\nuncompressed %lu\nmembers %d\nsha256 %s\nmetadata %s\n",
               (unsigned long)chk.compressed_bytes, (unsigned long)chk.uncompressed_bytes,
               chk.members, chk.sha256, chk.expected_sha256 ? "match" : "none");
    s3_gzip_check_free(&chk);
    return rc;
}

static int
tool_setmeta(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    const char *meta[] = {argv[5], argv[6], NULL};
    struct s3_put_options po = {.sse = "AES256", .metadata = meta};

    return s3_client_replace_metadata(c, argv[3], argv[4], &po, argc > 7 ? argv[7] : NULL, err);
}

/* ---- upload: s3/upload, optionally through gz ------------------------------ */

static int
upload_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    return s3_upload_write(payload, data, len, err);
}

static int
tool_upload(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    struct s3_upload *u = NULL;
    struct gz_deflate *z = NULL;
    int gzip = strcmp(argv[8], "gzip") == 0;
    uint64_t fail_after = argc > 9 ? strtoull(argv[9], NULL, 10) : UINT64_MAX, fed = 0;
    struct s3_upload_options uo = {.part_size = strtoul(argv[6], NULL, 10),
                                   .max_in_flight = num(argv[7]),
                                   .put = &(struct s3_put_options){.sse = "AES256"}};
    static char buf[1 << 20];
    FILE *f = fopen(argv[5], "rb");
    char *etag = NULL;
    size_t n;
    int rc;

    if (f == NULL)
        return PD_ERR_SET(err, PD_EIO, "cannot read %s", argv[5]);
    if ((rc = s3_upload_new(&u, c, argv[3], argv[4], &uo, err)) != 0)
        goto out;
    if (gzip && (rc = gz_deflate_new(&z, NULL, upload_sink, u, err)) != 0)
        goto out;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        if (fed >= fail_after) {
            s3_upload_abort(u);
            printf("aborted after %lu bytes\n", (unsigned long)fed);
            rc = PD_ERR_SET(err, PD_ECHECK, "the producer failed after %lu bytes",
                            (unsigned long)fed);
            goto out;
        }
        rc = z ? gz_deflate_write(z, buf, n, err) : s3_upload_write(u, buf, n, err);
        if (rc != 0)
            goto out;
        fed += n;
    }
    if (z && (rc = gz_deflate_finish(z, err)) != 0)
        goto out;
    if ((rc = s3_upload_finish(u, &etag, err)) == 0)
        printf("etag %s\nparts %d\nbytes %lu\n", etag, s3_upload_parts(u),
               (unsigned long)s3_upload_bytes(u));
out:
    free(etag);
    gz_deflate_free(z);
    s3_upload_free(u);
    (void)fclose(f); // read only
    return rc;
}

/* ---- mpu: the multipart calls by hand, parts from THREADS threads ---------- */

struct mpu_job {
    struct s3_multipart *m;
    const char *data;
    size_t len, part_size;
    int n_parts;
    int next; /* next part to take, under lock */
    int limit;
    pthread_mutex_t lock;
    int rc;
    struct pd_err err;
};

static void *
mpu_worker(void *arg)
{
    struct mpu_job *job = arg;

    for (;;) {
        int part;
        struct pd_err err = {0};

        pthread_mutex_lock(&job->lock);
        part = job->rc == 0 && job->next <= job->limit ? job->next++ : 0;
        pthread_mutex_unlock(&job->lock);
        if (part == 0)
            return NULL;
        size_t off = (size_t)(part - 1) * job->part_size;
        size_t n = job->len - off < job->part_size ? job->len - off : job->part_size;
        int rc = s3_multipart_upload_part(job->m, part, job->data + off, n, &err);
        if (rc != 0) {
            pthread_mutex_lock(&job->lock);
            if (job->rc == 0) {
                job->rc = rc;
                job->err = err;
            }
            pthread_mutex_unlock(&job->lock);
        }
    }
}

/* Send the parts, then complete, or (the failure drill) abort early. */
static int
mpu_run(struct mpu_job *job, int threads, char **etag, struct pd_err *err)
{
    pthread_t tids[16];
    int rc;

    printf("upload-id %s\n", s3_multipart_upload_id(job->m));
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, mpu_worker, job);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    rc = job->rc;
    *err = job->err;
    if (rc == 0 && job->limit < job->n_parts) {
        // the failure drill: stop early and abort, as the backup does
        rc = s3_multipart_abort(job->m, err);
        printf("aborted %d\n", rc);
        rc = rc == 0 ? PD_ECHECK : rc;
        if (rc == PD_ECHECK)
            PD_ERR_SET(err, PD_ECHECK, "aborted after %d parts as asked", job->limit);
    } else if (rc == 0) {
        rc = s3_multipart_complete(job->m, etag, err);
        if (rc == 0)
            printf("etag %s\nparts %d\n", *etag, job->n_parts);
    } else {
        struct pd_err aerr = {0};

        s3_multipart_abort(job->m, &aerr);
    }
    return rc;
}

static int
tool_mpu(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    struct mpu_job job;
    size_t len;
    char *data = read_file(argv[5], &len), *etag = NULL;
    int threads = num(argv[7]);
    int rc;

    memset(&job, 0, sizeof(job));
    job.data = data;
    job.len = len;
    job.part_size = strtoul(argv[6], NULL, 10);
    job.n_parts = (int)((len + job.part_size - 1) / job.part_size);
    job.next = 1;
    job.limit = argc > 8 ? num(argv[8]) : job.n_parts;
    pthread_mutex_init(&job.lock, NULL);
    if (threads < 1 || threads > 16)
        threads = 1;
    rc = s3_multipart_begin(&job.m, c, argv[3], argv[4], &(struct s3_put_options){.sse = "AES256"},
                            err);
    if (rc == 0) {
        rc = mpu_run(&job, threads, &etag, err);
        s3_multipart_free(job.m);
    }
    pthread_mutex_destroy(&job.lock);
    free(etag);
    free(data);
    return rc;
}

/* ---- dispatch -------------------------------------------------------------- */

static int
tool_delete(struct s3_client *c, int argc, char **argv, struct pd_err *err)
{
    (void)argc;
    return s3_client_delete(c, argv[3], argv[4], err);
}

/* Each command with the argument count (argv[0] included) it needs. */
static const struct {
    const char *name;
    int min_argc;
    int (*run)(struct s3_client *c, int argc, char **argv, struct pd_err *err);
} commands[] = {
    {"put", 6, tool_put},         {"get", 6, tool_get},       {"head", 5, tool_head},
    {"list", 5, tool_list},       {"delete", 5, tool_delete}, {"check", 5, tool_check},
    {"setmeta", 7, tool_setmeta}, {"upload", 9, tool_upload}, {"mpu", 8, tool_mpu},
};

/* The index in commands[] of CMD given ARGC arguments, or -1. */
static int
tool_find(const char *cmd, int argc)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0 && argc >= commands[i].min_argc)
            return (int)i;
    return -1;
}

int
main(int argc, char **argv)
{
    struct s3_creds creds;
    struct s3_client *c = NULL;
    struct pd_err err = {0};
    const char *cmd = argc > 2 ? argv[2] : "";
    int rc, i;

    if (argc < 2 || strcmp(argv[1], "tool") != 0) {
        fprintf(stderr, "usage: s3_tool tool put|get|head|list|delete|mpu|upload ...\n");
        return 2;
    }
    pd_redact_register_env();
    if ((rc = s3_creds_load(&creds, NULL, &err)) != 0)
        goto out;
    struct s3_client_options opt = {
        .retry_base_s = 0.05, .retry_max_s = 0.5, .ca_file = getenv("PGDRILL_TEST_S3_CA_FILE")};
    if ((rc = s3_client_new(&c, &creds, &opt, &err)) != 0)
        goto out;
    if ((i = tool_find(cmd, argc)) < 0) {
        fprintf(stderr, "usage: s3_tool tool put|get|head|list|delete|mpu|upload ...\n");
        s3_client_free(c);
        s3_creds_free(&creds);
        return 2;
    }
    rc = commands[i].run(c, argc, argv, &err);
out:
    if (rc != 0)
        fprintf(stderr, "error: %s\n", err.msg);
    s3_client_free(c);
    s3_creds_free(&creds);
    return pd_err_exit_code(rc);
}
