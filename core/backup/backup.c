/* backup: pg_dump | gz | s3_upload, retention and the failure notice. */
/* pipe2(2) with O_CLOEXEC is a GNU/Linux extension. */
#define _GNU_SOURCE
#include "backup/backup.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "gz/gz.h"
#include "http/http.h"
#include "notify/notify.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_proc.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "s3/upload.h"

/* How much of pg_dump's output one read() takes. */
#define BACKUP_READ_CHUNK ((size_t)256 * 1024)

const char *const backup_classes[] = {"weekly", "pre-migration", "pre-release", NULL};

/* Exactly the payload of the seed workflow's "Notify on failure" step. */
const char backup_slack_payload[] =
    "{\n"
    "  \"text\": \"\u274c Weekly database backup failed\",\n"
    "  \"blocks\": [\n"
    "    {\n"
    "      \"type\": \"section\",\n"
    "      \"text\": {\n"
    "        \"type\": \"mrkdwn\",\n"
    "        \"text\": \"Weekly database backup failed. Check GitHub Actions logs.\"\n"
    "      }\n"
    "    }\n"
    "  ]\n"
    "}\n";

int
backup_class_valid(const char *name)
{
    for (size_t i = 0; backup_classes[i] != NULL; i++)
        if (strcmp(name, backup_classes[i]) == 0)
            return 1;
    return 0;
}

char *
backup_class_prefix(const char *base, const char *cls)
{
    size_t len = strlen(base);
    const char *last;
    char *dir, *out;

    while (len > 0 && base[len - 1] == '/')
        len--;
    dir = pd_xstrndup(base, len);
    last = strrchr(dir, '/');
    last = last ? last + 1 : dir;
    if (backup_class_valid(last)) {
        /* ".../weekly" names the weekly class: its sibling holds the other classes */
        size_t keep = (size_t)(last - dir);
        out = pd_xasprintf("%.*s%s/", (int)keep, dir, cls);
    } else if (len == 0) {
        out = pd_xasprintf("%s/", cls);
    } else {
        out = pd_xasprintf("%s/%s/", dir, cls);
    }
    free(dir);
    return out;
}

char *
backup_base_uri(const char *value, const char **cls_out)
{
    const char *scheme = strstr(value, "://");
    const char *key = scheme ? strchr(scheme + 3, '/') : NULL;
    size_t len = strlen(value);

    *cls_out = NULL;
    while (len > 0 && value[len - 1] == '/')
        len--;
    if (key != NULL && (size_t)(key - value) < len) {
        size_t start = len;

        while (start > (size_t)(key - value) + 1 && value[start - 1] != '/')
            start--;
        for (size_t i = 0; backup_classes[i] != NULL; i++)
            if (strlen(backup_classes[i]) == len - start &&
                strncmp(value + start, backup_classes[i], len - start) == 0)
                *cls_out = backup_classes[i];
        if (*cls_out != NULL) {
            len = start;
            while (len > 0 && value[len - 1] == '/')
                len--;
        }
    }
    return pd_xstrndup(value, len);
}

void
backup_name(char buf[BACKUP_NAME_LEN], double t)
{
    char stamp[32];

    pd_time_stamp(stamp, sizeof(stamp), t);
    snprintf(buf, BACKUP_NAME_LEN, "%s%.15s%s", BACKUP_NAME_PREFIX, stamp, BACKUP_NAME_SUFFIX);
}

static int
digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

int
backup_name_time(const char *name, double *t_out)
{
    size_t pl = sizeof(BACKUP_NAME_PREFIX) - 1;
    const char *s;
    char rfc[32];

    if (strlen(name) != BACKUP_NAME_LEN - 1 || strncmp(name, BACKUP_NAME_PREFIX, pl) != 0)
        return -1;
    s = name + pl;
    if (!digits(s, 8) || s[8] != '-' || !digits(s + 9, 6) ||
        strcmp(s + 15, BACKUP_NAME_SUFFIX) != 0)
        return -1;
    /* "YYYY-MM-DDTHH:MM:SSZ": the range checks are pd_time's */
    memcpy(rfc, s, 4);
    rfc[4] = '-';
    memcpy(rfc + 5, s + 4, 2);
    rfc[7] = '-';
    memcpy(rfc + 8, s + 6, 2);
    rfc[10] = 'T';
    memcpy(rfc + 11, s + 9, 2);
    rfc[13] = ':';
    memcpy(rfc + 14, s + 11, 2);
    rfc[16] = ':';
    memcpy(rfc + 17, s + 13, 2);
    memcpy(rfc + 19, "Z", 2);
    return pd_time_parse_rfc3339(t_out, rfc, 1);
}

/* ---- audit ---------------------------------------------------------------- */

static int
record(struct audit *a, const char *drill_id, const char *action, const char *target,
       const struct audit_arg *args, size_t n, const struct pd_err *failure, struct pd_err *err)
{
    if (a == NULL)
        return 0;
    return audit_record(a, drill_id, action, target, args, n,
                        failure && failure->kind ? failure->msg : NULL, err);
}

/* ---- pg_dump -------------------------------------------------------------- */

struct pgdump {
    pid_t pid;
    int out_fd; /* its stdout */
    int err_fd; /* its stderr, -1 once at EOF */
    char errtail[1024];
    size_t errlen;
};

/*
 * Start pg_dump with stdin from /dev/null and stdout and stderr on pipes.
 * The connection goes through its environment (pg_child_env: the password
 * never on its command line); -d carries only parameters that have no
 * environment variable.
 */
static int
pgdump_start(struct pgdump *pd, const char *prog, const char *url, struct pd_err *err)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    struct pg_child_env ce;
    char *argv[8];
    int argc = 0, rc;
    char a_prog[] = "pg_dump", a_nopw[] = "--no-password", a_fmt[] = "--format=plain",
         a_d[] = "--dbname";
    struct pd_proc_opts po = {.prog = prog, .argv = argv, .fd_in = -1};

    memset(pd, 0, sizeof(*pd));
    pd->pid = -1;
    pd->out_fd = pd->err_fd = -1;
    if ((rc = pg_child_env(&ce, url, "pg_dump", err)) != 0) {
        pd_err_prefix(err, ce.url_invalid ? "DATABASE_URL is " : "DATABASE_URL: ");
        goto out;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "pg_dump: pipe: %s", strerror(errno));
        goto out;
    }
    argv[argc++] = a_prog;
    argv[argc++] = a_nopw;
    argv[argc++] = a_fmt;
    if (ce.conninfo != NULL) {
        argv[argc++] = a_d;
        argv[argc++] = ce.conninfo;
    }
    argv[argc] = NULL;
    po.envp = ce.env;
    po.fd_out = out_pipe[1];
    po.fd_err = err_pipe[1];
    if ((rc = pd_proc_spawn(&pd->pid, &po, err)) != 0) {
        pd_err_prefix(err, "pg_dump: ");
        goto out;
    }
    pd->out_fd = out_pipe[0];
    pd->err_fd = err_pipe[0];
    out_pipe[0] = err_pipe[0] = -1;
out:
    pd_proc_close_pipe(out_pipe);
    pd_proc_close_pipe(err_pipe);
    pg_child_env_free(&ce);
    return rc;
}

/* Keep the end of pg_dump's stderr for the error message. */
static void
pgdump_drain_stderr(struct pgdump *pd)
{
    char buf[1024];
    ssize_t n = read(pd->err_fd, buf, sizeof(buf));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(pd->err_fd);
        pd->err_fd = -1;
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (pd->errlen == sizeof(pd->errtail) - 1) {
            memmove(pd->errtail, pd->errtail + 512, pd->errlen - 512);
            pd->errlen -= 512;
        }
        pd->errtail[pd->errlen++] = buf[i];
    }
    pd->errtail[pd->errlen] = '\0';
}

/* The last non-empty stderr line, redacted; caller frees. */
static char *
pgdump_last_line(struct pgdump *pd)
{
    char *end, *start;

    pd->errtail[pd->errlen] = '\0';
    end = pd->errtail + pd->errlen;
    while (end > pd->errtail && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
        end--;
    *end = '\0';
    start = strrchr(pd->errtail, '\n');
    start = start ? start + 1 : pd->errtail;
    return pd_redact(start);
}

/* Reap pg_dump; kill it first when asked. Returns the wait status or -1. */
static int
pgdump_finish(struct pgdump *pd, int kill_it)
{
    int status = -1;

    if (pd->out_fd >= 0)
        close(pd->out_fd);
    pd->out_fd = -1;
    if (pd->pid > 0) {
        if (kill_it)
            kill(pd->pid, SIGTERM);
        /* collect what it still says on stderr */
        while (!kill_it && pd->err_fd >= 0)
            pgdump_drain_stderr(pd);
        pd_proc_wait(pd->pid, &status, false);
        pd->pid = -1;
    }
    if (pd->err_fd >= 0)
        close(pd->err_fd);
    pd->err_fd = -1;
    return status;
}

/* ---- the pipeline ---------------------------------------------------------- */

/* One backup's state, carried from phase to phase; backup_close releases it. */
struct backup_job {
    const struct backup_options *opt;
    struct backup_result *out;
    struct s3_client *c;
    struct s3_upload *upload;
    struct gz_deflate *z;
    struct pd_sha256 *sha;
    struct pgdump pd;
    struct s3_put_options put;
    struct s3_head head;
    uint64_t compressed;
    uint64_t min_size;
    int local_fd;
    int local_anon;   /* the local copy is an unnamed O_TMPFILE so far */
    int started_dump; /* pg_dump was started: its end is audited */
    int uploaded;     /* the upload's outcome is recorded: no abort needed */
    char *note;       /* the open upload's note (backup_upload_note), NULL when none */
    int note_fd;      /* the note's lock, -1 when none */
    char *target;     /* s3://bucket/key */
    char *db_target;  /* the database, for the audit */
    char *tmp_path;   /* the local copy's FILE.partial */
    char *etag;
    char plain_size[32];
    char level[8];
    double t0;
    struct pd_err aerr; /* an audit entry that could not be written */
};

/* The operator stopped the backup (SIGINT, SIGTERM) while the last parts upload. */
static int
upload_cancelled(void *payload)
{
    struct backup_job *j = payload;
    struct backup_progress p = {
        .plain_bytes = j->out->plain_bytes,
        .compressed_bytes = j->compressed,
        .parts = s3_upload_parts(j->upload),
    };

    return j->opt->progress != NULL && j->opt->progress(&p, j->opt->payload) != 0;
}

static void
upload_begun(const char *upload_id, void *payload)
{
    struct backup_job *j = payload;
    struct pd_err err = {0};

    if (j->opt->upload_notes == NULL)
        return;
    j->note = backup_upload_note(j->opt->upload_notes, j->opt->bucket, j->opt->key, upload_id,
                                 &j->note_fd, &err);
    if (j->note == NULL)
        pd_log(PD_LOG_WARN, "%s (a crash now would leave the upload's parts behind)", err.msg);
}

static int
gz_to_upload(const void *data, size_t len, void *payload, struct pd_err *err)
{
    struct backup_job *j = payload;

    pd_sha256_update(j->sha, data, len);
    j->compressed += len;
    errno = EIO; // what a write that makes no progress reports
    // the message names the local copy as before: the reason comes from errno
    if (j->local_fd >= 0 && pd_write_all(j->local_fd, data, len, NULL, NULL) != 0)
        return PD_ERR_SET(err, PD_EIO, "local copy %s: %s", j->opt->keep_local, strerror(errno));
    return s3_upload_write(j->upload, data, len, err);
}

static void
fmt_status(char *buf, size_t size, int status)
{
    if (status < 0)
        snprintf(buf, size, "status unknown");
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(buf, size, "exit %d", WEXITSTATUS(status));
}

/* Record an audit entry; when that fails and rc is 0, the failure becomes the error. */
static int
audit_step(struct backup_job *j, int rc, const char *action, const char *target,
           const struct audit_arg *args, size_t n, struct pd_err *err)
{
    if (record(j->opt->audit, j->opt->drill_id, action, target, args, n, rc ? err : NULL,
               &j->aerr) != 0 &&
        rc == 0)
        rc = PD_ERR_SET(err, j->aerr.kind, "%s", j->aerr.msg);
    return rc;
}

/*
 * The local copy: an unnamed file in the target's directory, named only when
 * the backup succeeded, so even a SIGKILL leaves nothing behind. Where
 * O_TMPFILE is unsupported, FILE.partial, removed on failure.
 */
static int
backup_open_local(struct backup_job *j, struct pd_err *err)
{
    const char *keep = j->opt->keep_local;
    char *dir_copy = pd_xstrdup(keep);

    j->tmp_path = pd_xasprintf("%s.partial", keep);
    j->local_fd = open(dirname(dir_copy), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    free(dir_copy);
    if (j->local_fd >= 0)
        j->local_anon = 1;
    else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
        j->local_fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (j->local_fd < 0)
        return PD_ERR_SET(err, PD_EIO, "local copy %s: %s", keep, strerror(errno));
    return 0;
}

/* Open the local copy, the upload and the compressor, then start pg_dump. */
static int
backup_open(struct backup_job *j, struct pd_err *err)
{
    const struct backup_options *opt = j->opt;
    /*
     * 4 blocks (4 MiB of input, 1 MiB each) queued per worker: on a busy
     * machine the reading, writing and uploading thread waits for a CPU now
     * and then, and with the default 2 the workers ran dry meanwhile; with
     * the input and output of 8 blocks the ring holds about 16 MiB
     */
    struct gz_deflate_options zo = {.level = opt->level, .threads = opt->threads, .depth = 4};
    struct s3_upload_options uo = {
        .part_size = opt->part_size,
        .max_in_flight = opt->max_in_flight ? opt->max_in_flight : 3,
        .put = &j->put,
        .begun = upload_begun,
        .cancelled = upload_cancelled,
        .payload = j,
    };
    int rc;

    if (opt->keep_local != NULL && (rc = backup_open_local(j, err)) != 0)
        return rc;
    if ((rc = s3_upload_new(&j->upload, j->c, opt->bucket, opt->key, &uo, err)) != 0)
        return rc;
    if ((rc = gz_deflate_new(&j->z, &zo, gz_to_upload, j, err)) != 0)
        return rc;
    j->out->level = gz_deflate_level(j->z);
    snprintf(j->out->compressor, sizeof(j->out->compressor), "%s", gz_compressor());
    snprintf(j->level, sizeof(j->level), "%d", j->out->level);
    if ((rc = pgdump_start(&j->pd, opt->pg_dump ? opt->pg_dump : "pg_dump", opt->database_url,
                           err)) != 0)
        return rc;
    j->started_dump = 1;
    return 0;
}

/* Ask the progress callback; PD_EINTR when it wants the backup stopped. */
static int
backup_tick(struct backup_job *j, double now, struct pd_err *err)
{
    struct backup_progress p = {
        .plain_bytes = j->out->plain_bytes,
        .compressed_bytes = j->compressed,
        .parts = s3_upload_parts(j->upload),
        .elapsed_s = now - j->t0,
    };

    if (j->opt->progress(&p, j->opt->payload) != 0)
        return PD_ERR_SET(err, PD_EINTR, "backup interrupted; upload of %s aborted", j->target);
    return 0;
}

/* Read pg_dump's output into the compressor until its end, keeping its stderr's tail. */
static int
backup_pump(struct backup_job *j, struct pd_err *err)
{
    struct pgdump *pd = &j->pd;
    unsigned char *buf = pd_xmalloc(BACKUP_READ_CHUNK);
    double last_tick = 0;
    int rc = 0;

    for (;;) {
        struct pollfd fds[2];
        nfds_t nf = 0;
        int out_idx, err_idx = -1;
        double now = pd_time_mono();

        if (j->opt->progress != NULL && now - last_tick >= 0.2) {
            last_tick = now;
            if ((rc = backup_tick(j, now, err)) != 0)
                goto out;
        }
        fds[nf] = (struct pollfd){.fd = pd->out_fd, .events = POLLIN};
        out_idx = (int)nf++;
        if (pd->err_fd >= 0) {
            fds[nf] = (struct pollfd){.fd = pd->err_fd, .events = POLLIN};
            err_idx = (int)nf++;
        }
        if (poll(fds, nf, 200) < 0) {
            if (errno == EINTR)
                continue;
            rc = PD_ERR_SET(err, PD_EIO, "pg_dump: poll: %s", strerror(errno));
            goto out;
        }
        if (err_idx >= 0 && fds[err_idx].revents != 0)
            pgdump_drain_stderr(pd);
        if (fds[out_idx].revents != 0) {
            ssize_t n = read(pd->out_fd, buf, BACKUP_READ_CHUNK);

            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (n < 0) {
                rc = PD_ERR_SET(err, PD_EIO, "pg_dump: read: %s", strerror(errno));
                goto out;
            }
            if (n == 0)
                break;
            j->out->plain_bytes += (uint64_t)n;
            if ((rc = gz_deflate_write(j->z, buf, (size_t)n, err)) != 0)
                goto out;
        }
    }
out:
    free(buf);
    return rc;
}

/* pg_dump is done: decide on its status and size before anything can complete the upload. */
static int
backup_check(struct backup_job *j, struct pd_err *err)
{
    struct backup_result *out = j->out;
    int status = pgdump_finish(&j->pd, 0);
    char st[64];
    char *line;
    struct audit_arg args[] = {
        {"format", "plain", 0},
        {"plain_bytes", NULL, (long long)out->plain_bytes},
        {"status", st, 0},
    };
    int rc = 0;

    out->phases.dump_s = pd_time_mono() - j->t0;
    /* a Ctrl-C reaches pg_dump too: report the interrupt, not its death */
    if (j->opt->progress != NULL && (rc = backup_tick(j, pd_time_mono(), err)) != 0)
        return rc;
    line = pgdump_last_line(&j->pd);
    fmt_status(st, sizeof(st), status);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = PD_ERR_SET(err, PD_ECHECK, "pg_dump failed (%s)%s%s; upload of %s aborted", st,
                        line[0] ? ": " : "", line, j->target);
    } else if (out->plain_bytes < j->min_size) {
        rc = PD_ERR_SET(err, PD_ECHECK,
                        "backup too small: the plain dump is %llu bytes, the minimum is %llu; "
                        "upload of %s aborted",
                        (unsigned long long)out->plain_bytes, (unsigned long long)j->min_size,
                        j->target);
    }
    free(line);
    return audit_step(j, rc, "pg_dump", j->db_target, args, 3, err);
}

/* Flush the compressor, seal the checksum and complete the upload (or the single PUT). */
static int
backup_finish_upload(struct backup_job *j, struct pd_err *err)
{
    struct backup_result *out = j->out;
    struct s3_upload_timing ut;
    double t_phase = pd_time_mono();
    int rc = gz_deflate_finish(j->z, err);

    out->phases.flush_s = pd_time_mono() - t_phase;
    if (rc != 0)
        return rc;
    if (j->local_fd >= 0 && fsync(j->local_fd) != 0)
        return PD_ERR_SET(err, PD_EIO, "local copy %s: %s", j->tmp_path, strerror(errno));
    pd_sha256_final(j->sha, out->sha256);
    j->sha = NULL;
    out->compressed_bytes = j->compressed;
    snprintf(j->plain_size, sizeof(j->plain_size), "%llu", (unsigned long long)out->plain_bytes);
    /* a backup small enough for one PUT gets its metadata with it: no copy needed */
    s3_upload_add_metadata(j->upload, "sha256", out->sha256);
    s3_upload_add_metadata(j->upload, "plain-size", j->plain_size);
    s3_upload_add_metadata(j->upload, "compressor", out->compressor);
    s3_upload_add_metadata(j->upload, "level", j->level);
    rc = s3_upload_finish(j->upload, &j->etag, err);
    if (rc == PD_EINTR) // stopped while the last parts uploaded: said as in the pump
        rc = PD_ERR_SET(err, PD_EINTR, "backup interrupted; upload of %s aborted", j->target);
    out->parts = s3_upload_parts(j->upload);
    s3_upload_timing(j->upload, &ut);
    out->phases.drain_s = ut.drain_s;
    out->phases.complete_s = ut.complete_s;
    {
        struct audit_arg args[] = {
            {"bytes", NULL, (long long)out->compressed_bytes},
            {"parts", NULL, out->parts},
            {"sse", j->put.sse, 0},
            {"storage_class", j->put.storage_class, 0},
            {"sha256", out->sha256, 0},
            {"plain_size", j->plain_size, 0},
        };

        j->uploaded = 1; /* the upload's own outcome is recorded here */
        /* with one PUT the metadata went up with the object: the audit says so */
        rc = audit_step(j, rc, "s3.upload", j->target, args, out->parts == 0 ? 6 : 4, err);
    }
    if (rc == 0)
        out->completed = 1;
    return rc;
}

/*
 * A multipart object's metadata was fixed when the upload began, before
 * the checksum was known: store it by copying the object onto itself.
 */
static int
backup_store_metadata(struct backup_job *j, struct pd_err *err)
{
    const char *meta[] = {"sha256",      j->out->sha256, "plain-size",
                          j->plain_size, "compressor",   j->out->compressor,
                          "level",       j->level,       NULL};
    struct s3_put_options mo = j->put;
    struct audit_arg args[] = {{"sha256", j->out->sha256, 0}, {"plain_size", j->plain_size, 0}};
    double t_phase = pd_time_mono();
    int rc;

    mo.metadata = meta;
    rc = s3_client_replace_metadata(j->c, j->opt->bucket, j->opt->key, &mo, j->etag, err);
    j->out->phases.metadata_s = pd_time_mono() - t_phase;
    return audit_step(j, rc, "s3.replace-metadata", j->target, args, 2, err);
}

/* What HEAD says against what was sent: size, encryption, storage class, checksum. */
static int
backup_head_matches(struct backup_job *j, struct pd_err *err)
{
    const struct s3_head *head = &j->head;
    const struct s3_put_options *put = &j->put;
    const char *meta_sha = NULL;

    for (char **m = head->metadata; m && m[0] && m[1]; m += 2)
        if (strcmp(m[0], "sha256") == 0)
            meta_sha = m[1];
    if (head->size != j->out->compressed_bytes)
        return PD_ERR_SET(err, PD_ECHECK, "%s: HEAD says %llu bytes, %llu were uploaded", j->target,
                          (unsigned long long)head->size,
                          (unsigned long long)j->out->compressed_bytes);
    if (head->sse == NULL || strcmp(head->sse, put->sse) != 0)
        return PD_ERR_SET(err, PD_ECHECK,
                          "%s: not encrypted at rest as requested (server-side "
                          "encryption %s, %s requested)",
                          j->target, head->sse ? head->sse : "absent", put->sse);
    if (strcmp(put->storage_class, "STANDARD") != 0 &&
        (head->storage_class == NULL || strcmp(head->storage_class, put->storage_class) != 0))
        return PD_ERR_SET(err, PD_ECHECK, "%s: storage class %s, %s requested", j->target,
                          head->storage_class ? head->storage_class : "STANDARD",
                          put->storage_class);
    if (meta_sha == NULL || strcmp(meta_sha, j->out->sha256) != 0)
        return PD_ERR_SET(err, PD_ECHECK, "%s: x-amz-meta-sha256 is %s, expected %s", j->target,
                          meta_sha ? meta_sha : "absent", j->out->sha256);
    return 0;
}

/* Store the metadata a multipart upload lacks, then prove what landed with a HEAD. */
static int
backup_verify(struct backup_job *j, struct pd_err *err)
{
    struct audit_arg args[] = {{"bytes", NULL, 0}};
    double t_phase;
    int rc;

    if (j->out->parts > 0 && (rc = backup_store_metadata(j, err)) != 0)
        return rc;
    t_phase = pd_time_mono();
    rc = s3_client_head(j->c, &j->head, j->opt->bucket, j->opt->key, err);
    j->out->phases.head_s = pd_time_mono() - t_phase;
    if (rc == 0) {
        args[0].num = (long long)j->head.size;
        rc = backup_head_matches(j, err);
    }
    return audit_step(j, rc, "s3.head", j->target, args, 1, err);
}

/* Name the local copy: link the unnamed file (or keep FILE.partial), then rename it into place. */
static int
backup_publish(struct backup_job *j, struct pd_err *err)
{
    if (j->local_fd < 0)
        return 0;
    if (j->local_anon) {
        char proc[64];

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", j->local_fd);
        unlink(j->tmp_path);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, j->tmp_path, AT_SYMLINK_FOLLOW) != 0)
            return PD_ERR_SET(err, PD_EIO, "local copy %s: %s", j->tmp_path, strerror(errno));
        j->local_anon = 0; /* named now: removed like the fallback on failure */
    }
    close(j->local_fd);
    j->local_fd = -1;
    if (rename(j->tmp_path, j->opt->keep_local) != 0)
        return PD_ERR_SET(err, PD_EIO, "local copy %s: %s", j->opt->keep_local, strerror(errno));
    return 0;
}

/* Release everything; on failure stop pg_dump and abort the upload, each audited. */
static void
backup_close(struct backup_job *j, int rc, struct pd_err *err)
{
    const struct backup_options *opt = j->opt;
    struct backup_result *out = j->out;

    if (j->started_dump && j->pd.pid > 0) {
        pgdump_finish(&j->pd, 1);
        if (opt->audit != NULL) {
            struct audit_arg args[] = {{"plain_bytes", NULL, (long long)out->plain_bytes}};

            record(opt->audit, opt->drill_id, "pg_dump", j->db_target, args, 1, err, &j->aerr);
        }
    }
    /* freeing the compressor before the upload: its workers may still be writing into it */
    gz_deflate_free(j->z);
    if (j->upload != NULL) {
        if (!out->completed && !j->uploaded) {
            struct audit_arg args[] = {{"bytes", NULL, (long long)s3_upload_bytes(j->upload)}};

            s3_upload_abort(j->upload);
            /* the abort itself is the action: "ok" means nothing was completed */
            record(opt->audit, opt->drill_id, "s3.upload-abort", j->target, args, 1, NULL,
                   &j->aerr);
        }
        s3_upload_free(j->upload);
    }
    // completed or aborted: nothing is left to clean up on the server
    if (j->note != NULL) {
        unlink(j->note);
        free(j->note);
    }
    if (j->note_fd >= 0)
        close(j->note_fd); // after the unlink: an overlapping run never sees it unlocked
    if (j->local_fd >= 0)
        close(j->local_fd);
    if (rc != 0 && j->tmp_path != NULL && !j->local_anon)
        unlink(j->tmp_path);
    if (j->sha != NULL) {
        char dummy[65];

        pd_sha256_final(j->sha, dummy);
    }
    s3_head_free(&j->head);
    out->duration_s = pd_time_mono() - j->t0;
    if (out->compressed_bytes == 0)
        out->compressed_bytes = j->compressed;
    free(j->etag);
    free(j->tmp_path);
    free(j->target);
    free(j->db_target);
}

int
backup_run(struct backup_result *out, struct s3_client *c, const struct backup_options *opt,
           struct pd_err *err)
{
    struct backup_job j = {
        .opt = opt,
        .out = out,
        .c = c,
        .local_fd = -1,
        .note_fd = -1,
        .put =
            {
                .content_type = "application/gzip",
                .sse = opt->sse ? opt->sse : BACKUP_SSE_DEFAULT,
                .storage_class = opt->storage_class ? opt->storage_class : "STANDARD_IA",
            },
        .min_size = opt->min_size ? opt->min_size : BACKUP_MIN_SIZE_DEFAULT,
        .pd = {.pid = -1, .out_fd = -1, .err_fd = -1},
    };
    int rc;

    memset(out, 0, sizeof(*out));
    pd_err_clear(&j.aerr);
    j.t0 = pd_time_mono();
    j.sha = pd_sha256_new();
    j.target = pd_xasprintf("s3://%s/%s", opt->bucket, opt->key);
    j.db_target = audit_target_of_url(opt->database_url);
    if ((rc = backup_open(&j, err)) != 0 || (rc = backup_pump(&j, err)) != 0 ||
        (rc = backup_check(&j, err)) != 0 || (rc = backup_finish_upload(&j, err)) != 0 ||
        (rc = backup_verify(&j, err)) != 0)
        goto out;
    rc = backup_publish(&j, err);
out:
    backup_close(&j, rc, err);
    return rc;
}

int
backup_level(int *out, struct pd_err *err)
{
    const char *v = getenv("PGDRILL_COMPRESSION_LEVEL");

    *out = GZ_LEVEL_DEFAULT;
    if (v == NULL || v[0] == '\0')
        return 0;
    return gz_parse_level(out, v, "PGDRILL_COMPRESSION_LEVEL", err);
}

/* ---- retention ----------------------------------------------------------- */

int
backup_retention_days(int *out, const char *cls, struct pd_err *err)
{
    char name[64];
    const char *v;
    size_t n = strlen("PGDRILL_RETENTION_DAYS_");

    *out = BACKUP_RETENTION_DAYS_DEFAULT;
    snprintf(name, sizeof(name), "PGDRILL_RETENTION_DAYS_%s", cls);
    for (char *p = name + n; *p; p++)
        *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        snprintf(name, sizeof(name), "PGDRILL_RETENTION_DAYS");
        v = getenv(name);
    }
    if (v != NULL && v[0] != '\0') {
        char *end;
        long d;

        errno = 0;
        d = strtol(v, &end, 10);
        if (errno != 0 || *end != '\0' || d < 1 || d > 36500)
            return PD_ERR_SET(err, PD_EINPUT, "%s: '%.40s' is not a number of days (1-36500)", name,
                              v);
        *out = (int)d;
    }
    return 0;
}

struct scan {
    const struct backup_retention_options *opt;
    struct backup_expired *list;
    size_t n, cap;
    double max_age_s;
};

static int
scan_page(const struct s3_list_page *page, void *payload, struct pd_err *err)
{
    struct scan *s = payload;
    size_t pl = strlen(s->opt->prefix);

    (void)err;
    for (size_t i = 0; i < page->n_objects; i++) {
        const char *key = page->objects[i].key;
        double t;

        if (strncmp(key, s->opt->prefix, pl) != 0 || backup_name_time(key + pl, &t) != 0)
            continue;
        if (s->opt->keep_key != NULL && strcmp(key, s->opt->keep_key) == 0)
            continue;
        if (s->opt->now - t <= s->max_age_s)
            continue;
        if (s->n == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 16;
            s->list = pd_xrealloc(s->list, s->cap * sizeof(*s->list));
        }
        s->list[s->n++] = (struct backup_expired){
            .key = pd_xstrdup(key),
            .age_days = (s->opt->now - t) / 86400.0,
        };
    }
    return 0;
}

static int
by_age_desc(const void *a, const void *b)
{
    const struct backup_expired *x = a, *y = b;

    return (x->age_days < y->age_days) - (x->age_days > y->age_days);
}

int
backup_retention(struct backup_expired **out, size_t *n_out, struct s3_client *c,
                 const struct backup_retention_options *opt, struct pd_err *err)
{
    struct scan s = {.opt = opt};
    struct pd_err aerr;
    char *prefix_uri = pd_xasprintf("s3://%s/%s", opt->bucket, opt->prefix);
    int days = opt->retention_days > 0 ? opt->retention_days : BACKUP_RETENTION_DAYS_DEFAULT;
    int rc;

    pd_err_clear(&aerr);
    *out = NULL;
    *n_out = 0;
    s.max_age_s = (double)days * 86400.0;
    rc = s3_client_list(c, opt->bucket, opt->prefix, "/", 0, scan_page, &s, err);
    {
        struct audit_arg args[] = {{"expired", NULL, (long long)s.n},
                                   {"retention_days", NULL, days}};

        if (record(opt->audit, opt->drill_id, "s3.list", prefix_uri, args, 2, rc ? err : NULL,
                   &aerr) != 0 &&
            rc == 0)
            rc = PD_ERR_SET(err, aerr.kind, "%s", aerr.msg);
    }
    if (rc != 0)
        goto out;
    if (s.n > 1)
        qsort(s.list, s.n, sizeof(*s.list), by_age_desc);
    for (size_t i = 0; i < s.n && !opt->dry_run; i++) {
        char *target = pd_xasprintf("s3://%s/%s", opt->bucket, s.list[i].key);
        char age[32];
        struct audit_arg args[] = {{"age_days", age, 0}, {"reason", "retention", 0}};

        snprintf(age, sizeof(age), "%.1f", s.list[i].age_days);
        /* audited before the delete: an action we cannot record is not taken */
        rc = record(opt->audit, opt->drill_id, "s3.delete", target, args, 2, NULL, err);
        if (rc == 0)
            rc = s3_client_delete(c, opt->bucket, s.list[i].key, err);
        if (rc != 0 && opt->audit != NULL && err->kind != PD_EIO)
            record(opt->audit, opt->drill_id, "s3.delete", target, args, 2, err, &aerr);
        free(target);
        if (rc != 0)
            goto out;
        s.list[i].deleted = 1;
    }
out:
    *out = s.list;
    *n_out = s.n;
    free(prefix_uri);
    return rc;
}

void
backup_expired_free(struct backup_expired *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].key);
    free(list);
}

/* ---- failure notice ------------------------------------------------------- */

int
backup_notify_slack(const char *webhook_url, struct pd_err *err)
{
    return notify_post(webhook_url, backup_slack_payload, sizeof(backup_slack_payload) - 1, err);
}
