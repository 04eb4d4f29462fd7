/*
 * The `s3` action: list, head, verify and restore backups in S3 with the S3
 * client (credentials from the AWS chain, s3/creds.h).
 *
 *   op=list    uri=s3://b/prefix [count=N] [max-age=8d] [save=VAR]
 *              the newest N objects (by the timestamp in their names) with
 *              sizes and ages; save= gets the newest one's key. No object,
 *              or a newest one older than max-age, fails the step. The
 *              ones shown (at most 10) are HEADed so their encryption is
 *              recorded for the compliance check (core/compliance).
 *   op=head    uri= [key=] [save=VAR]: size, date, checksum metadata; save=
 *              gets the size in bytes.
 *   op=verify  uri= [key=]: one streamed pass, SHA-256 against
 *              x-amz-meta-sha256 and gzip integrity, no temporary file.
 *   op=restore uri= [key=] url=DATABASE [format=auto|plain|custom] [jobs=N]:
 *              download -> gunzip -> psql (or pg_restore) in one stream.
 *   op=delete  uri= [key=]
 *   op=get     uri= [key=] file=NAME: the object into NAME in the drill
 *              folder (0600, written as NAME.part and named once complete
 *              and checked against x-amz-meta-sha256 when it has one).
 *   op=put     uri= [key=] file=NAME: NAME from the drill folder up to the
 *              object, with its sha256 in x-amz-meta-sha256 and SSE AES256,
 *              multipart when it is large; a HEAD checks the size.
 *
 * key= is the object's key in uri='s bucket; a key without uri='s prefix
 * gets it prepended, so both "care-commons-backup-....sql.gz" and
 * "weekly/care-commons-backup-....sql.gz" name the same object.
 */
#include "engine/s3_step.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compliance/compliance.h"
#include "engine/engine.intern.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "s3/action.h"
#include "s3/check.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "s3/upload.h"
#include "verify/restore.h"
#include "verify/verify.h"

struct s3_step_args {
    char *op, *uri, *key, *count, *max_age, *url, *format, *jobs, *file;
    struct s3_uri where; /* bucket and prefix from uri= */
    char *object;        /* the full key (uri='s prefix + key=) */
};

static void
args_free(struct s3_step_args *a)
{
    free(a->op);
    free(a->uri);
    free(a->key);
    free(a->count);
    free(a->max_age);
    if (a->url != NULL)
        memset(a->url, 0, strlen(a->url));
    free(a->url);
    free(a->format);
    free(a->jobs);
    free(a->file);
    free(a->object);
    s3_uri_free(&a->where);
}

static int
expand_attr(struct engine *e, char **out, const char *key, struct pd_err *err)
{
    const char *v = runbook_step_attr(e->step, key);

    *out = NULL;
    return v == NULL ? 0 : engine_expand(e, out, v, false, err);
}

static int
args_load(struct engine *e, struct s3_step_args *a, struct pd_err *err)
{
    static const char *const keys[] = {"op",  "uri",    "key",  "count", "max-age",
                                       "url", "format", "jobs", "file"};
    char **slots[] = {&a->op,  &a->uri,    &a->key,  &a->count, &a->max_age,
                      &a->url, &a->format, &a->jobs, &a->file};
    int rc = 0;

    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && rc == 0; i++)
        rc = expand_attr(e, slots[i], keys[i], err);
    if (rc != 0)
        return rc;
    if (a->uri == NULL || a->uri[0] == '\0')
        return PD_ERR_SET(err, PD_EINPUT, "s3 %s: uri= is required (s3://bucket/prefix)",
                          a->op ? a->op : "?");
    rc = s3_uri_parse(&a->where, a->uri, err);
    if (rc != 0)
        return rc;
    if (a->key != NULL && a->key[0] != '\0') {
        size_t pl = strlen(a->where.key);

        if (strncmp(a->key, "s3://", 5) == 0) {
            struct s3_uri k;

            rc = s3_uri_parse(&k, a->key, err);
            if (rc != 0)
                return rc;
            free(a->where.bucket);
            a->where.bucket = pd_xstrdup(k.bucket);
            a->object = pd_xstrdup(k.key);
            s3_uri_free(&k);
        } else if (pl > 0 && strncmp(a->key, a->where.key, pl) != 0) {
            a->object = pd_xasprintf("%s%s%s", a->where.key, a->where.key[pl - 1] == '/' ? "" : "/",
                                     a->key);
        } else {
            a->object = pd_xstrdup(a->key);
        }
    } else {
        a->object = pd_xstrdup(a->where.key);
    }
    return 0;
}

static int
need_object(const struct s3_step_args *a, struct pd_err *err)
{
    size_t n = strlen(a->object);

    if (n == 0 || a->object[n - 1] == '/')
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3 %s: name an object: key= or uri=s3://bucket/key (got s3://%s/%s)",
                          a->op, a->where.bucket, a->object);
    return 0;
}

/* "8d", "36h", "90m", "3600": seconds, or -1. */
static double
parse_age(const char *s)
{
    size_t n = strlen(s);
    int secs = 0;

    if (n > 1 && s[n - 1] == 'd') {
        char *end;
        double d = strtod(s, &end);

        return end == s + n - 1 && d > 0 ? d * 86400.0 : -1;
    }
    return runbook_parse_duration(&secs, s) == 0 && secs > 0 ? (double)secs : -1;
}

static int out_line(struct engine *e, struct pd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
out_line(struct engine *e, struct pd_err *err, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return engine_output(e, line, err);
}

static void
output_line(const char *line, void *payload)
{
    engine_output(payload, line, NULL); // a journal failure is kept in e->record_rc
}

static int
op_list(struct engine *e, struct s3_client *c, struct s3_step_args *a,
        struct engine_step_result *res, struct pd_err *err)
{
    const char *save = runbook_step_attr(e->step, "save");
    struct verify_backups b;
    long count = 10;
    double max_age = 0, now = pd_time_wall();
    char sz[32], age[32];
    int rc;

    if (a->count != NULL) {
        char *end;

        count = strtol(a->count, &end, 10);
        if (*end != '\0' || count <= 0)
            return PD_ERR_SET(err, PD_EINPUT, "s3 list: bad count '%s'", a->count);
    }
    if (a->max_age != NULL && (max_age = parse_age(a->max_age)) < 0)
        return PD_ERR_SET(err, PD_EINPUT, "s3 list: bad max-age '%s' (e.g. 8d, 36h)", a->max_age);
    rc = verify_list_backups(&b, c, a->where.bucket, a->where.key, err);
    if (rc != 0)
        return rc;
    if (b.n == 0) {
        res->summary = pd_xasprintf("no backups under %s", a->uri);
        rc = PD_ERR_SET(err, PD_ECHECK, "s3 list: no backups under %s", a->uri);
        goto out;
    }
    rc = out_line(e, err, "%zu object%s under %s, newest first:", b.n, b.n == 1 ? "" : "s", a->uri);
    for (size_t i = 0; i < b.n && i < (size_t)count && rc == 0; i++) {
        verify_format_size(sz, sizeof(sz), b.items[i].size);
        verify_format_age(age, sizeof(age), now - b.items[i].time);
        rc = out_line(e, err, "  %-56s %10s  %s", b.items[i].key, sz, age);
    }
    if (rc != 0)
        goto out;
    // ListObjectsV2 does not say whether they are encrypted: HEAD the ones shown (compliance)
    verify_head_backups(c, a->where.bucket, &b,
                        count < COMPLIANCE_HEAD_MAX ? (size_t)count : COMPLIANCE_HEAD_MAX,
                        output_line, e);
    verify_format_size(sz, sizeof(sz), b.items[0].size);
    verify_format_age(age, sizeof(age), now - b.items[0].time);
    res->summary = pd_xasprintf("%zu backup%s; newest %s (%s, %s old)", b.n, b.n == 1 ? "" : "s",
                                b.items[0].key, sz, age);
    if (save != NULL) {
        rc = engine_set_var(e, save, b.items[0].key, err);
        if (rc != 0)
            goto out;
    }
    if (max_age > 0 && now - b.items[0].time > max_age) {
        char lim[32];

        verify_format_age(lim, sizeof(lim), max_age);
        free(res->summary);
        res->summary =
            pd_xasprintf("newest backup %s is %s old, older than %s", b.items[0].key, age, lim);
        rc = PD_ERR_SET(err, PD_ECHECK, "s3 list: the newest backup %s is %s old (limit %s)",
                        b.items[0].key, age, lim);
    }
out:
    verify_backups_free(&b);
    return rc;
}

static int
op_head(struct engine *e, struct s3_client *c, struct s3_step_args *a,
        struct engine_step_result *res, struct pd_err *err)
{
    const char *save = runbook_step_attr(e->step, "save");
    const char *sha = NULL;
    struct s3_head h;
    char sz[32], when[40] = "?", bytes[32];
    int rc;

    if ((rc = need_object(a, err)) != 0)
        return rc;
    if ((rc = s3_client_head(c, &h, a->where.bucket, a->object, err)) != 0)
        return rc;
    for (char **m = h.metadata; m && m[0]; m += 2)
        if (strcmp(m[0], "sha256") == 0)
            sha = m[1];
    verify_format_size(sz, sizeof(sz), h.size);
    if (h.last_modified > 0)
        pd_time_format(when, sizeof(when), h.last_modified);
    rc = out_line(e, err,
                  "s3://%s/%s: %s (%lu bytes), modified %s, sha256 %s, encryption %s, "
                  "storage class %s",
                  a->where.bucket, a->object, sz, (unsigned long)h.size, when, sha ? sha : "(none)",
                  h.sse ? h.sse : "(none)", h.storage_class ? h.storage_class : "STANDARD");
    res->summary = pd_xasprintf("%s, sha256 %s", sz, sha ? "recorded" : "missing");
    snprintf(bytes, sizeof(bytes), "%lu", (unsigned long)h.size);
    if (rc == 0 && save != NULL)
        rc = engine_set_var(e, save, bytes, err);
    s3_head_free(&h);
    return rc;
}

static int
op_verify(struct engine *e, struct s3_client *c, struct s3_step_args *a,
          struct engine_step_result *res, struct pd_err *err)
{
    struct s3_gzip_check chk;
    double t0 = pd_time_mono();
    char sz[32], usz[32];
    int rc;

    if ((rc = need_object(a, err)) != 0)
        return rc;
    rc = out_line(e, err, "streaming s3://%s/%s through sha256 and gunzip (no temp file)",
                  a->where.bucket, a->object);
    if (rc != 0)
        return rc;
    rc = s3_gzip_check(&chk, c, a->where.bucket, a->object, NULL, NULL, err);
    verify_format_size(sz, sizeof(sz), chk.compressed_bytes);
    verify_format_size(usz, sizeof(usz), chk.uncompressed_bytes);
    if (rc == 0 && chk.expected_sha256 == NULL) {
        res->summary = pd_xasprintf("gzip ok, but no x-amz-meta-sha256 to compare with");
        rc = PD_ERR_SET(err, PD_ECHECK, "s3 verify: s3://%s/%s has no x-amz-meta-sha256",
                        a->where.bucket, a->object);
    } else if (rc == 0) {
        res->summary = pd_xasprintf("%s in %.1fs: gzip ok (%s uncompressed), sha256 matches", sz,
                                    pd_time_mono() - t0, usz);
        rc = out_line(e, err, "sha256 %s matches the metadata", chk.sha256);
    } else {
        res->summary = pd_redact(err->msg);
    }
    s3_gzip_check_free(&chk);
    return rc;
}

static bool
restore_tick(void *payload)
{
    return engine_should_stop(payload);
}

static int
op_restore(struct engine *e, struct s3_client *c, struct s3_step_args *a,
           struct engine_step_result *res, struct pd_err *err)
{
    struct verify_restore_opts o = {.line = output_line, .tick = restore_tick, .payload = e};
    struct verify_restore_result r;
    int fmt, rc;
    char sz[32], rsz[32];

    if ((rc = need_object(a, err)) != 0)
        return rc;
    if (a->url == NULL || a->url[0] == '\0')
        return PD_ERR_SET(err, PD_EINPUT, "s3 restore: url= (the target database) is empty");
    fmt = verify_dump_format_parse(a->format);
    if (fmt < 0)
        return PD_ERR_SET(err, PD_EINPUT, "s3 restore: bad format '%s' (auto, plain, custom)",
                          a->format);
    if (a->jobs != NULL) {
        char *end;
        long j = strtol(a->jobs, &end, 10);

        if (*end != '\0' || j < 1 || j > 64)
            return PD_ERR_SET(err, PD_EINPUT, "s3 restore: bad jobs '%s' (1..64)", a->jobs);
        o.jobs = (int)j;
    }
    pd_redact_register_uri(a->url);
    o.url = a->url;
    o.format = (enum verify_dump_format)fmt;
    rc = verify_restore(&r, c, a->where.bucket, a->object, &o, err);
    verify_format_size(sz, sizeof(sz), r.compressed_bytes);
    verify_format_size(rsz, sizeof(rsz), r.restored_bytes);
    if (rc == 0) {
        res->summary =
            pd_xasprintf("restored %s (%s) with %s in %.1fs; sha256 %s", sz, rsz, r.client,
                         r.seconds, r.sha256_checked ? "matches" : "not recorded, not checked");
    } else {
        res->summary = pd_redact(err->msg);
        if (r.exit_code > 0)
            res->exit_code = r.exit_code;
    }
    return rc;
}

/* The drill-folder path of file= (a plain name); caller frees. */
static int
local_path(char **out, const struct engine *e, const struct s3_step_args *a, struct pd_err *err)
{
    *out = NULL;
    if (a->file == NULL || a->file[0] == '\0')
        return PD_ERR_SET(err, PD_EINPUT, "s3 %s: file= is required (a name in the drill folder)",
                          a->op);
    if (!runbook_valid_file_name(a->file))
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3 %s: bad file name '%s' (a plain name in the drill folder)", a->op,
                          a->file);
    if (e->drill == NULL || e->drill->dir == NULL)
        return PD_ERR_SET(err, PD_EBUG, "s3 %s: the drill has no folder for %s", a->op, a->file);
    *out = pd_xasprintf("%s/%s", e->drill->dir, a->file);
    return 0;
}

struct get_sink {
    int fd;
    const char *path;
    struct pd_sha256 *sha;
    struct engine *e;
};

static int
get_write(const void *data, size_t len, void *payload, struct pd_err *err)
{
    struct get_sink *g = payload;
    const char *p = data;

    pd_sha256_update(g->sha, data, len);
    while (len > 0) {
        ssize_t n = write(g->fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return PD_ERR_SET(err, PD_EIO, "s3 get: %s: %s", g->path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    // the step can be stopped (Ctrl-C, timeout) in the middle of a large object
    if (engine_should_stop(g->e))
        return PD_ERR_SET(err, PD_EINTR, "s3 get: interrupted");
    return 0;
}

static int
op_get(struct engine *e, struct s3_client *c, struct s3_step_args *a,
       struct engine_step_result *res, struct pd_err *err)
{
    struct get_sink g = {.fd = -1, .e = e};
    struct s3_head h;
    char *path = NULL, *part = NULL, sha[65], sz[32];
    const char *want = NULL;
    uint64_t got = 0;
    int rc;

    memset(&h, 0, sizeof(h));
    if ((rc = need_object(a, err)) != 0 || (rc = local_path(&path, e, a, err)) != 0)
        goto out;
    if (access(path, F_OK) == 0) {
        rc = PD_ERR_SET(err, PD_EINPUT, "s3 get: %s exists already; not overwritten", a->file);
        goto out;
    }
    if ((rc = s3_client_head(c, &h, a->where.bucket, a->object, err)) != 0)
        goto out;
    for (char **m = h.metadata; m && m[0]; m += 2)
        if (strcmp(m[0], "sha256") == 0)
            want = m[1];
    part = pd_xasprintf("%s.part", path);
    g.path = part;
    g.fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (g.fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "s3 get: %s: %s", part, strerror(errno));
        goto out;
    }
    rc = out_line(e, err, "downloading s3://%s/%s to %s", a->where.bucket, a->object, a->file);
    g.sha = pd_sha256_new();
    if (rc == 0)
        rc = s3_client_get(c, a->where.bucket, a->object, 0, get_write, &g, &got, err);
    pd_sha256_final(g.sha, sha);
    if (rc != 0)
        goto out;
    verify_format_size(sz, sizeof(sz), got);
    if (got != h.size) {
        rc = PD_ERR_SET(err, PD_ECHECK, "s3 get: s3://%s/%s: %llu bytes received, HEAD said %llu",
                        a->where.bucket, a->object, (unsigned long long)got,
                        (unsigned long long)h.size);
    } else if (want != NULL && strcmp(want, sha) != 0) {
        rc = PD_ERR_SET(err, PD_ECHECK, "s3 get: s3://%s/%s: sha256 %s, x-amz-meta-sha256 says %s",
                        a->where.bucket, a->object, sha, want);
    } else if (fsync(g.fd) != 0 || close(g.fd) != 0) {
        g.fd = -1;
        rc = PD_ERR_SET(err, PD_EIO, "s3 get: %s: %s", part, strerror(errno));
    } else {
        g.fd = -1;
        // link() refuses to replace a file that appeared meanwhile
        if (link(part, path) != 0) {
            rc = PD_ERR_SET(err, PD_EIO, "s3 get: %s: %s", path, strerror(errno));
        } else {
            res->summary = pd_xasprintf("%s saved as %s; sha256 %s", sz, a->file,
                                        want ? "matches" : "not recorded, not checked");
        }
    }
out:
    if (g.fd >= 0)
        close(g.fd);
    if (part != NULL)
        unlink(part); // after link() the file keeps its final name only
    s3_head_free(&h);
    free(part);
    free(path);
    return rc;
}

static int
op_put(struct engine *e, struct s3_client *c, struct s3_step_args *a,
       struct engine_step_result *res, struct pd_err *err)
{
    static const size_t chunk = (size_t)1024 * 1024;
    struct s3_put_options po = {.content_type = "application/octet-stream", .sse = "AES256"};
    struct s3_upload_options uo = {.put = &po};
    struct s3_upload *u = NULL;
    struct s3_head h;
    struct stat st;
    char *path = NULL, sha[65], sz[32];
    const char *meta[] = {"sha256", sha, NULL};
    unsigned char *buf = NULL;
    uint64_t sent = 0;
    int fd = -1, rc;

    memset(&h, 0, sizeof(h));
    if ((rc = need_object(a, err)) != 0 || (rc = local_path(&path, e, a, err)) != 0)
        goto out;
    // the checksum first (a local file can be read twice), so it goes up with the object
    if ((rc = pd_sha256_file(sha, path, err)) != 0)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "s3 put: %s: %s", a->file, strerror(errno));
        goto out;
    }
    po.metadata = meta;
    if ((rc = out_line(e, err, "uploading %s to s3://%s/%s", a->file, a->where.bucket,
                       a->object)) != 0 ||
        (rc = s3_upload_new(&u, c, a->where.bucket, a->object, &uo, err)) != 0)
        goto out;
    buf = pd_xmalloc(chunk);
    for (;;) {
        ssize_t n = read(fd, buf, chunk);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = PD_ERR_SET(err, PD_EIO, "s3 put: %s: %s", a->file, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if ((rc = s3_upload_write(u, buf, (size_t)n, err)) != 0)
            goto out;
        sent += (uint64_t)n;
        if (engine_should_stop(e)) {
            rc = PD_ERR_SET(err, PD_EINTR, "s3 put: interrupted; upload aborted");
            goto out;
        }
    }
    if (sent != (uint64_t)st.st_size) {
        rc = PD_ERR_SET(err, PD_EIO, "s3 put: %s changed while it was read", a->file);
        goto out;
    }
    if ((rc = s3_upload_finish(u, NULL, err)) != 0)
        goto out;
    if ((rc = s3_client_head(c, &h, a->where.bucket, a->object, err)) != 0)
        goto out;
    verify_format_size(sz, sizeof(sz), sent);
    if (h.size != sent)
        rc = PD_ERR_SET(err, PD_ECHECK, "s3 put: s3://%s/%s: HEAD says %llu bytes, %llu were sent",
                        a->where.bucket, a->object, (unsigned long long)h.size,
                        (unsigned long long)sent);
    else
        res->summary =
            pd_xasprintf("%s uploaded to s3://%s/%s (%d part%s), sha256 %s", sz, a->where.bucket,
                         a->object, s3_upload_parts(u), s3_upload_parts(u) == 1 ? "" : "s", sha);
out:
    // an unfinished upload is aborted here: nothing appears at the key
    s3_upload_free(u);
    if (fd >= 0)
        close(fd);
    s3_head_free(&h);
    free(buf);
    free(path);
    return rc;
}

static int
op_delete(struct engine *e, struct s3_client *c, struct s3_step_args *a,
          struct engine_step_result *res, struct pd_err *err)
{
    int rc = need_object(a, err);

    (void)e;
    if (rc == 0)
        rc = s3_client_delete(c, a->where.bucket, a->object, err);
    if (rc == 0)
        res->summary = pd_xasprintf("deleted s3://%s/%s", a->where.bucket, a->object);
    return rc;
}

/*
 * How each op is carried out, indexed by its id in the op table of
 * s3/action.c (which holds its name and whether it mutates).
 */
static const struct engine_s3_op op_runs[S3_OP_COUNT] = {
    [S3_OP_LIST] = {.run = op_list},       // list, count, age; HEAD the ones shown
    [S3_OP_GET] = {.run = op_get},         // download NAME.part, check, rename
    [S3_OP_PUT] = {.run = op_put},         // upload with sha256 and SSE, HEAD the size
    [S3_OP_HEAD] = {.run = op_head},       // size, date, checksum metadata
    [S3_OP_DELETE] = {.run = op_delete},   // remove the object
    [S3_OP_VERIFY] = {.run = op_verify},   // one streamed pass: sha256 and gzip
    [S3_OP_RESTORE] = {.run = op_restore}, // download -> gunzip -> psql or pg_restore
};

const struct engine_s3_op *
engine_s3_op(enum s3_action_op_id id)
{
    if ((int)id < 0 || id >= S3_OP_COUNT || op_runs[id].run == NULL)
        return NULL;
    return &op_runs[id];
}

int
engine_run_s3(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    struct s3_step_args a;
    struct s3_client *c = NULL;
    const struct s3_action_op *row;
    const struct engine_s3_op *op = NULL;
    int rc;

    rc = args_load(e, &a, err);
    if (rc != 0)
        goto out;
    rc = s3_client_new_from_env(&c, err);
    if (rc != 0)
        goto out;
    row = s3_action_op_find(a.op);
    if (row != NULL)
        op = engine_s3_op(row->id);
    if (op != NULL)
        rc = op->run(e, c, &a, res, err);
    else
        rc = PD_ERR_SET(err, PD_EUSAGE, "s3 %s: not available as a step (use one of: %s)", a.op,
                        s3_action_op_names());
    if (rc == 0 && res->summary != NULL)
        rc = engine_output(e, res->summary, err);
out:
    if (rc != 0 && res->summary == NULL)
        res->summary = pd_redact(err->msg);
    s3_client_free(c);
    args_free(&a);
    return rc;
}

/* The s3:// object (or prefix) a step names, for the audit log; NULL when it cannot tell. */
char *
engine_s3_audit_target(struct engine *e)
{
    struct s3_step_args a;
    struct pd_err xerr = {0};
    char *t = NULL;

    if (args_load(e, &a, &xerr) == 0)
        t = pd_xasprintf("s3://%s/%s", a.where.bucket, a.object);
    args_free(&a);
    return t;
}
