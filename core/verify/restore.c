/* pipe2 */
#define _GNU_SOURCE
#include "verify/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gz/gz.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_proc.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "s3/check.h"
#include "s3/client.h"
#include "verify/verify.h"

/* argv entries: exec takes char *const[], the strings are never written */
#define S(x) ((char *)(uintptr_t)(x))

int
verify_dump_format_parse(const char *s)
{
    if (s == NULL || strcmp(s, "auto") == 0)
        return VERIFY_DUMP_AUTO;
    if (strcmp(s, "plain") == 0)
        return VERIFY_DUMP_PLAIN;
    if (strcmp(s, "custom") == 0)
        return VERIFY_DUMP_CUSTOM;
    return -1;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

enum verify_dump_format
verify_dump_format_of_key(const char *key)
{
    return ends_with(key, ".dump") || ends_with(key, ".dump.gz") ? VERIFY_DUMP_CUSTOM
                                                                 : VERIFY_DUMP_PLAIN;
}

/* ---- the client process ---- */

struct feeder {
    const struct verify_restore_opts *opt;
    pid_t pid;
    int in_fd;        /* our end of the child's stdin (a socket: MSG_NOSIGNAL, no SIGPIPE) */
    int out_fd;       /* the child's stdout and stderr */
    int file_fd;      /* jobs > 1: the temporary file instead of a child */
    int input_closed; /* the child stopped reading (EPIPE) */
    struct pd_buf line;
    char *last_error; /* the last line that looks like an error */
    uint64_t fed;
    uint64_t downloaded;
    double t0, last_progress;
    struct pd_sha256 *sha; /* non-gzip objects: computed here */
    const char *prog;      /* the client being started, for start_failed */
    int out_wr;            /* while starting: the write end of its output pipe */
};

static void say(const struct feeder *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(const struct feeder *f, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (f->opt->line == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    f->opt->line(buf, f->opt->payload);
}

static void
child_line(struct feeder *f, const char *s)
{
    if (strstr(s, "ERROR") != NULL || strstr(s, "error:") != NULL || strstr(s, "FATAL") != NULL) {
        free(f->last_error);
        f->last_error = pd_xstrdup(s);
    }
    say(f, "%s", s);
}

/* Read what the child printed; returns 1 at EOF. */
static int
read_output(struct feeder *f)
{
    char buf[4096];
    ssize_t n = read(f->out_fd, buf, sizeof(buf));

    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : 1;
    if (n == 0) {
        if (f->line.len > 0) {
            child_line(f, pd_buf_str(&f->line));
            pd_buf_reset(&f->line);
        }
        return 1;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || f->line.len >= 8192) {
            child_line(f, pd_buf_str(&f->line));
            pd_buf_reset(&f->line);
            if (buf[i] == '\n')
                continue;
        }
        pd_buf_append(&f->line, &buf[i], 1, NULL);
    }
    return 0;
}

static void
progress(struct feeder *f, int force)
{
    double now = pd_time_mono();
    double every = f->opt->progress_s > 0 ? f->opt->progress_s : 2.0;
    char d[32], r[32], rate[32];
    double el = now - f->t0;

    if (!force && now - f->last_progress < every)
        return;
    f->last_progress = now;
    verify_format_size(d, sizeof(d), f->downloaded);
    verify_format_size(r, sizeof(r), f->fed);
    verify_format_size(rate, sizeof(rate), el > 0 ? (uint64_t)((double)f->downloaded / el) : 0);
    say(f, "progress: %s downloaded, %s restored, %.0fs (%s/s)", d, r, el, rate);
}

static int
stop_requested(const struct feeder *f)
{
    return f->opt->tick != NULL && f->opt->tick(f->opt->payload);
}

/* Hand data to the child (or the temporary file), relaying its output meanwhile. */
static int
feed(const void *data, size_t len, void *payload, struct pd_err *err)
{
    struct feeder *f = payload;
    const char *p = data;

    if (f->file_fd >= 0) {
        errno = EIO; // what a write that makes no progress reports
        if (pd_write_all(f->file_fd, data, len, NULL, NULL) != 0)
            return PD_ERR_SET(err, PD_EIO, "restore: cannot write the temporary file: %s",
                              strerror(errno));
        f->fed += len;
        progress(f, 0);
        return stop_requested(f) ? PD_ERR_SET(err, PD_EINTR, "restore: interrupted") : 0;
    }
    while (len > 0 && !f->input_closed) {
        struct pollfd pf[2] = {{.fd = f->in_fd, .events = POLLOUT},
                               {.fd = f->out_fd, .events = POLLIN}};
        int nfds = f->out_fd >= 0 ? 2 : 1;

        if (poll(pf, (nfds_t)nfds, 200) < 0 && errno != EINTR)
            return PD_ERR_SET(err, PD_EIO, "restore: poll: %s", strerror(errno));
        if (nfds == 2 && (pf[1].revents & (POLLIN | POLLHUP))) {
            if (read_output(f)) {
                close(f->out_fd);
                f->out_fd = -1;
            }
        }
        if (pf[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t n = send(f->in_fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n < 0) {
                f->input_closed = 1; // the client exited (ON_ERROR_STOP): its status tells why
                break;
            }
            p += n;
            len -= (size_t)n;
            f->fed += (uint64_t)n;
        }
        if (stop_requested(f))
            return PD_ERR_SET(err, PD_EINTR, "restore: interrupted");
    }
    progress(f, 0);
    if (f->input_closed)
        return PD_ERR_SET(err, PD_ECHECK, "restore: the client stopped reading its input");
    return 0;
}

/* Count downloaded bytes and hash them (s3/check does both for gzip objects), pass them on. */
static int
raw_feed(const void *data, size_t len, void *payload, struct pd_err *err)
{
    struct feeder *f = payload;

    f->downloaded += len;
    pd_sha256_update(f->sha, data, len);
    return feed(data, len, f, err);
}

/* The client could not be started: say why where its output goes, then it exits 127. */
static void
start_failed(enum pd_proc_stage stage, int errnum, void *payload)
{
    const struct feeder *f = payload;

    (void)stage; // no directory is changed: only the exec can fail
    dprintf(f->out_wr, "error: cannot run %s: %s\n", f->prog, strerror(errnum));
}

static int
spawn(struct feeder *f, char *const argv[], char **env, int with_stdin, struct pd_err *err)
{
    int sv[2] = {-1, -1}, op[2] = {-1, -1};
    int rc;
    struct pd_proc_opts po = {
        .prog = argv[0],
        .argv = argv,
        .envp = env,
        .fd_in = -1,
        .new_group = true,
        .failed = start_failed,
        .payload = f,
    };

    if (with_stdin && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return PD_ERR_SET(err, PD_EIO, "restore: socketpair: %s", strerror(errno));
    if (pipe2(op, O_CLOEXEC) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "restore: pipe: %s", strerror(errno));
        goto out;
    }
    po.fd_in = sv[1];
    po.fd_out = po.fd_err = op[1];
    f->out_wr = op[1];
    f->prog = argv[0];
    if ((rc = pd_proc_spawn(&f->pid, &po, err)) != 0) {
        pd_err_prefix(err, "restore: ");
        goto out;
    }
    f->out_fd = op[0];
    op[0] = -1;
    // a half-close of our end is what tells the client its input ended
    f->in_fd = sv[0];
    sv[0] = -1;
out:
    for (int i = 0; i < 2; i++) {
        if (sv[i] >= 0)
            close(sv[i]);
        if (op[i] >= 0)
            close(op[i]);
    }
    f->out_wr = -1;
    return rc;
}

/* Close the input (or kill the client when abort), relay the rest of its output, reap it. */
static int
finish_child(struct feeder *f, int abort_it)
{
    int status = 0;

    if (f->pid <= 0)
        return -1;
    if (abort_it)
        pd_proc_kill_group(f->pid, SIGKILL);
    if (f->in_fd >= 0) {
        shutdown(f->in_fd, SHUT_WR);
        close(f->in_fd);
        f->in_fd = -1;
    }
    while (f->out_fd >= 0) {
        struct pollfd pf = {.fd = f->out_fd, .events = POLLIN};

        if (poll(&pf, 1, 200) < 0 && errno != EINTR)
            break;
        if (pf.revents && read_output(f)) {
            close(f->out_fd);
            f->out_fd = -1;
        }
        if (!abort_it && stop_requested(f)) {
            pd_proc_kill_group(f->pid, SIGTERM);
            abort_it = 1;
        }
    }
    pd_proc_wait(f->pid, &status, false);
    f->pid = 0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* Stream the object into the feeder: gunzip for .gz keys; 0 or the first error. */
static int
download(struct feeder *f, struct verify_restore_result *out, struct s3_client *c,
         const char *bucket, const char *key, struct pd_err *err)
{
    int rc;

    if (ends_with(key, ".gz")) {
        struct s3_gzip_check chk;

        f->sha = NULL;
        rc = s3_gzip_check(&chk, c, bucket, key, feed, f, err);
        f->downloaded = chk.compressed_bytes;
        if (rc == 0) {
            memcpy(out->sha256, chk.sha256, sizeof(out->sha256));
            out->sha256_checked = chk.expected_sha256 != NULL;
        }
        s3_gzip_check_free(&chk);
        return rc;
    } else { // NOLINT(readability-else-after-return): two ways to fetch, side by side
        struct s3_head head;
        char *expected = NULL;

        if ((rc = s3_client_head(c, &head, bucket, key, err)) != 0)
            return rc;
        for (char **m = head.metadata; m && m[0]; m += 2)
            if (strcmp(m[0], "sha256") == 0)
                expected = pd_xstrdup(m[1]);
        f->sha = pd_sha256_new();
        rc = s3_client_get(c, bucket, key, 0, raw_feed, f, NULL, err);
        pd_sha256_final(f->sha, out->sha256);
        f->sha = NULL;
        if (rc == 0 && f->downloaded != head.size)
            rc = PD_ERR_SET(err, PD_ECHECK, "s3: s3://%s/%s: read %lu bytes, HEAD said %lu", bucket,
                            key, (unsigned long)f->downloaded, (unsigned long)head.size);
        if (rc == 0 && expected != NULL && strcmp(expected, out->sha256) != 0)
            rc = PD_ERR_SET(err, PD_ECHECK,
                            "s3: s3://%s/%s: sha256 mismatch: the object has %s, its metadata "
                            "says %.64s",
                            bucket, key, out->sha256, expected);
        out->sha256_checked = rc == 0 && expected != NULL;
        free(expected);
        s3_head_free(&head);
        return rc;
    }
}

/* One restore's state, carried between its phases. */
struct restore_job {
    struct feeder f;
    const char *bucket, *key;
    enum verify_dump_format fmt;
    struct pg_child_env ce; /* the client's environment (the password in PGPASSWORD) */
    const char *dbname;     /* ce.dbname or "postgres" */
    char *tmpdir, *tmpfile; /* jobs > 1 only */
    char jobs[16];
};

/* jobs > 1: pg_restore -j seeks in its input, the one case with a file on disk. */
static int
restore_open_tmpfile(struct restore_job *j, struct pd_err *err)
{
    const char *base = j->f.opt->tmpdir ? j->f.opt->tmpdir : getenv("TMPDIR");

    j->tmpdir = pd_xasprintf("%s/pgdrill-restore.XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(j->tmpdir) == NULL) {
        int rc = PD_ERR_SET(err, PD_EIO, "restore: cannot create a directory under %s: %s",
                            base && *base ? base : "/tmp", strerror(errno));

        PD_FREE(j->tmpdir);
        return rc;
    }
    j->tmpfile = pd_xasprintf("%s/backup.dump", j->tmpdir);
    j->f.file_fd = open(j->tmpfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (j->f.file_fd < 0)
        return PD_ERR_SET(err, PD_EIO, "restore: cannot create %s: %s", j->tmpfile,
                          strerror(errno));
    say(&j->f, "downloading s3://%s/%s to %s for pg_restore -j %s", j->bucket, j->key, j->tmpdir,
        j->jobs);
    return 0;
}

/* Start the streaming client (psql, or pg_restore with one job), or open the temporary file. */
static int
restore_start(struct restore_job *j, struct pd_err *err)
{
    if (j->fmt == VERIFY_DUMP_PLAIN) {
        char *argv[] = {
            S("psql"), S("-X"), S("-q"), S("-v"), S("ON_ERROR_STOP=1"), S("--single-transaction"),
            NULL};

        say(&j->f, "restoring s3://%s/%s with psql (ON_ERROR_STOP, one transaction)", j->bucket,
            j->key);
        return spawn(&j->f, argv, j->ce.env, 1, err);
    }
    if (j->f.opt->jobs <= 1) {
        char *argv[] = {S("pg_restore"),
                        S("--exit-on-error"),
                        S("--single-transaction"),
                        S("--no-owner"),
                        S("-d"),
                        S(j->dbname),
                        NULL};

        say(&j->f, "restoring s3://%s/%s with pg_restore (streamed, one transaction)", j->bucket,
            j->key);
        return spawn(&j->f, argv, j->ce.env, 1, err);
    }
    return restore_open_tmpfile(j, err);
}

/* jobs > 1: the download is complete in the temporary file; run pg_restore -j on it. */
static int
restore_parallel(struct restore_job *j, int rc, struct pd_err *err)
{
    char *argv[] = {S("pg_restore"), S("--exit-on-error"), S("--no-owner"), S("-j"), j->jobs,
                    S("-d"),         S(j->dbname),         j->tmpfile,      NULL};

    if (close(j->f.file_fd) != 0 && rc == 0)
        rc = PD_ERR_SET(err, PD_EIO, "restore: cannot write %s: %s", j->tmpfile, strerror(errno));
    j->f.file_fd = -1;
    if (rc != 0)
        return rc;
    say(&j->f, "running pg_restore -j %s", j->jobs);
    return spawn(&j->f, argv, j->ce.env, 0, err);
}

/* Reap the client and turn its exit status into the result. */
static int
restore_conclude(struct restore_job *j, struct verify_restore_result *out, int rc,
                 struct pd_err *err)
{
    struct feeder *f = &j->f;
    // a corrupt download must not be committed: kill the client before its input ends
    int code = finish_child(f, rc != 0 && !f->input_closed);

    out->exit_code = code;
    out->restored_bytes = f->fed;
    out->seconds = pd_time_mono() - f->t0;
    if (code > 0 && rc != PD_EINTR && stop_requested(f)) {
        // finish_child stopped the client for a Ctrl-C: an interrupt, not its failure
        pd_err_clear(err);
        rc = PD_ERR_SET(err, PD_EINTR, "restore: interrupted; %s stopped", out->client);
    } else if (code > 0 && (rc == 0 || f->input_closed)) {
        pd_err_clear(err);
        rc = PD_ERR_SET(err, PD_ECHECK, "restore: %s exited with status %d%s%s", out->client, code,
                        f->last_error ? ": " : "", f->last_error ? f->last_error : "");
    } else if (rc == 0 && code < 0) {
        rc = PD_ERR_SET(err, PD_EBUG, "restore: %s did not run", out->client);
    }
    return rc;
}

/* Whatever a failed phase left behind: the client, descriptors, the temporary file. */
static void
restore_cleanup(struct restore_job *j)
{
    struct feeder *f = &j->f;

    if (f->pid > 0)
        finish_child(f, 1);
    if (f->file_fd >= 0)
        close(f->file_fd);
    if (f->out_fd >= 0)
        close(f->out_fd);
    if (f->sha != NULL) {
        char discard[65];

        pd_sha256_final(f->sha, discard);
    }
    if (j->tmpfile != NULL)
        unlink(j->tmpfile);
    if (j->tmpdir != NULL)
        rmdir(j->tmpdir);
    free(j->tmpfile);
    free(j->tmpdir);
    free(f->last_error);
    pd_buf_free(&f->line);
    pg_child_env_free(&j->ce);
}

int
verify_restore(struct verify_restore_result *out, struct s3_client *c, const char *bucket,
               const char *key, const struct verify_restore_opts *opt, struct pd_err *err)
{
    struct restore_job j;
    int rc;

    memset(out, 0, sizeof(*out));
    out->exit_code = -1;
    memset(&j, 0, sizeof(j));
    j.bucket = bucket;
    j.key = key;
    j.f.opt = opt;
    j.f.in_fd = j.f.out_fd = j.f.file_fd = j.f.out_wr = -1;
    pd_buf_init(&j.f.line, 256);
    j.f.t0 = j.f.last_progress = pd_time_mono();
    j.fmt = opt->format == VERIFY_DUMP_AUTO ? verify_dump_format_of_key(key) : opt->format;
    out->client = j.fmt == VERIFY_DUMP_CUSTOM ? "pg_restore" : "psql";
    if (opt->url == NULL || opt->url[0] == '\0') {
        rc = PD_ERR_SET(err, PD_EINPUT, "restore: no target database url");
        goto out;
    }
    if ((rc = pg_child_env(&j.ce, opt->url, out->client, err)) != 0) {
        if (j.ce.url_invalid) { // libpq's reason is not worth the risk of quoting the url
            pd_err_clear(err);
            rc = PD_ERR_SET(err, PD_EINPUT, "restore: the target database url does not parse");
        } else {
            pd_err_prefix(err, "restore: the target database url: ");
        }
        goto out;
    }
    j.dbname = j.ce.dbname != NULL ? j.ce.dbname : "postgres";
    snprintf(j.jobs, sizeof(j.jobs), "%d", opt->jobs > 1 ? opt->jobs : 1);
    if ((rc = restore_start(&j, err)) != 0)
        goto out;
    rc = download(&j.f, out, c, bucket, key, err);
    out->compressed_bytes = j.f.downloaded;
    progress(&j.f, 1);
    if (j.f.file_fd >= 0)
        rc = restore_parallel(&j, rc, err);
    rc = restore_conclude(&j, out, rc, err);
out:
    restore_cleanup(&j);
    return rc;
}
