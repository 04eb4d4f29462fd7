/* pipe2(2) with O_CLOEXEC is a GNU/Linux extension. */
#define _GNU_SOURCE
#include "pd_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"

/* What the child writes to the report pipe when it cannot become prog. */
struct proc_failure {
    int stage; /* enum pd_proc_stage */
    int errnum;
};

/*
 * prog's path, looked up in PATH as execvp does (NULL with *why set when
 * none can be executed; a found but unusable file is reported over "not
 * found"); caller frees. Done in the parent, so the child needs no malloc.
 */
static char *
proc_lookup(const char *prog, int *why)
{
    const char *path = getenv("PATH"), *p;

    *why = ENOENT;
    if (strchr(prog, '/') != NULL) {
        if (access(prog, X_OK) == 0)
            return pd_xstrdup(prog);
        *why = errno;
        return NULL;
    }
    if (path == NULL)
        path = "/bin:/usr/bin";
    for (p = path;; p++) {
        size_t n = strcspn(p, ":");
        char *cand = n > 0 ? pd_xasprintf("%.*s/%s", (int)n, p, prog) : pd_xstrdup(prog);

        if (access(cand, X_OK) == 0)
            return cand;
        if (errno == EACCES)
            *why = EACCES;
        free(cand);
        p += n;
        if (*p == '\0')
            return NULL;
    }
}

/* In the child: tell the parent why, and end. */
static _Noreturn void
child_fail(int report_fd, enum pd_proc_stage stage, int errnum)
{
    struct proc_failure f = {.stage = (int)stage, .errnum = errnum};
    ssize_t w = write(report_fd, &f, sizeof(f));

    (void)w; // nothing more the child can do about it
    _exit(127);
}

/* In the forked child: only async-signal-safe calls until execve. */
static _Noreturn void
child_run(const struct pd_proc_opts *o, const char *path, int lookup_errno, int null_fd,
          int report_fd)
{
    static const int sigs[] = {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGHUP, SIGTSTP};
    const int fds[3] = {o->fd_in >= 0 ? o->fd_in : null_fd, o->fd_out, o->fd_err};

    if (o->new_session)
        setsid();
    else if (o->new_group)
        setpgid(0, 0);
    if (o->reset_signals) {
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        // SIG_DFL for a valid signal cannot fail, and the child has no one to tell
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            (void)signal(sigs[i], SIG_DFL);
    }
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0)
            continue;
        if (fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(fds[i], i) < 0)
            child_fail(report_fd, PD_PROC_EXEC, errno);
    }
    if (o->cwd != NULL && chdir(o->cwd) != 0)
        child_fail(report_fd, PD_PROC_CHDIR, errno);
    if (path == NULL)
        child_fail(report_fd, PD_PROC_EXEC, lookup_errno);
    execve(path, o->argv, o->envp != NULL ? o->envp : environ);
    child_fail(report_fd, PD_PROC_EXEC, errno);
}

/* 1 with *f filled when the child reported a failure, 0 once its exec closed the pipe. */
static int
read_failure(int fd, struct proc_failure *f)
{
    ssize_t n;

    do
        n = read(fd, f, sizeof(*f));
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof(*f);
}

int
pd_proc_spawn(pid_t *out, const struct pd_proc_opts *o, struct pd_err *err)
{
    int report[2] = {-1, -1};
    int null_fd = -1, lookup_errno = 0, rc = 0;
    char *path = proc_lookup(o->prog, &lookup_errno);
    struct proc_failure f;
    pid_t pid;

    *out = -1;
    if (path == NULL && o->failed == NULL)
        return PD_ERR_SET(err, PD_EIO, "cannot start %s: %s", o->prog, strerror(lookup_errno));
    if (o->fd_in < 0 && (null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "open /dev/null: %s", strerror(errno));
        goto out;
    }
    if (pipe2(report, O_CLOEXEC) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "pipe: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_run(o, path, lookup_errno, null_fd, report[1]);
    // both sides set the group so a kill right after the spawn reaches it
    if (o->new_group && !o->new_session)
        setpgid(pid, pid);
    close(report[1]);
    report[1] = -1;
    if (read_failure(report[0], &f)) {
        if (o->failed == NULL) {
            pd_proc_wait(pid, NULL, false);
            rc = PD_ERR_SET(err, PD_EIO, "cannot start %s: %s", o->prog, strerror(f.errnum));
            goto out;
        }
        o->failed((enum pd_proc_stage)f.stage, f.errnum, o->payload);
    }
    *out = pid;
out:
    for (int i = 0; i < 2; i++)
        if (report[i] >= 0)
            close(report[i]);
    if (null_fd >= 0)
        close(null_fd);
    free(path);
    return rc;
}

pid_t
pd_proc_wait(pid_t pid, int *status, bool nohang)
{
    int st = 0;
    pid_t w;

    do
        w = waitpid(pid, &st, nohang ? WNOHANG : 0);
    while (w < 0 && errno == EINTR);
    if (w == pid && status != NULL)
        *status = st;
    return w;
}

void
pd_proc_kill_group(pid_t pid, int sig)
{
    // the group outlives its leader while grandchildren are in it
    if (kill(-pid, sig) != 0 && errno == ESRCH)
        kill(pid, sig);
}

void
pd_proc_close_pipe(int fds[2])
{
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0)
            (void)close(fds[i]);
        fds[i] = -1;
    }
}

/*
 * Read fd to its end, keeping the first max bytes in b; *over is set when
 * more came, and then the child is sent SIGTERM at once when kill_over (it
 * might never stop). 0, or -1 with errno. With secret, the chunk is wiped.
 */
static int
proc_read_capped(int fd, struct pd_buf *b, size_t max, pid_t kill_over, bool secret, bool *over)
{
    struct pd_err ignored;
    char chunk[4096];
    ssize_t n;
    int rc = 0;

    *over = false;
    for (;;) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        if (!*over && b->len + (size_t)n > max) {
            *over = true;
            if (kill_over > 0)
                pd_proc_kill_group(kill_over, SIGTERM);
        }
        if (b->len < max)
            (void)pd_buf_append(b, chunk, (size_t)n < max - b->len ? (size_t)n : max - b->len,
                                &ignored); // within the cap: cannot fail
    }
    if (secret)
        pd_wipe(chunk, sizeof(chunk));
    return rc;
}

/* Read the child's stdout from fd into b as o says, then reap it. */
static int
proc_collect(struct pd_buf *b, int *status, pid_t pid, int fd, const char *prog, size_t max,
             const struct pd_proc_output_opts *o, struct pd_err *err)
{
    int rerr = 0, rc = 0;
    bool over = false;

    if (proc_read_capped(fd, b, max, o->fail_over_max ? pid : -1, o->secret, &over) != 0)
        rerr = errno;
    if (pd_proc_wait(pid, status, false) != pid)
        rerr = rerr ? rerr : errno;
    if (rerr != 0)
        rc = PD_ERR_SET(err, PD_EIO, "%s: reading its output: %s", prog, strerror(rerr));
    else if (over && o->fail_over_max)
        rc = PD_ERR_SET(err, PD_EIO, "%s printed more than %zu bytes", prog, max);
    return rc;
}

int
pd_proc_output_with(char **out, int *status, const char *prog, char *const *argv, size_t max,
                    const struct pd_proc_output_opts *opts, struct pd_err *err)
{
    static const struct pd_proc_output_opts defaults = {0};
    const struct pd_proc_output_opts *o = opts ? opts : &defaults;
    struct pd_buf b;
    int p[2] = {-1, -1}, devnull = -1, rc = 0;
    pid_t pid = -1;

    *out = NULL;
    *status = 0;
    pd_buf_init(&b, max + 1);
    if (pipe2(p, O_CLOEXEC) != 0 ||
        (!o->keep_stderr && (devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)) < 0)) {
        rc = PD_ERR_SET(err, PD_EIO, "cannot start %s: %s", prog, strerror(errno));
        goto out;
    }
    struct pd_proc_opts po = {
        .prog = prog, .argv = argv, .fd_in = -1, .fd_out = p[1], .fd_err = devnull};
    if ((rc = pd_proc_spawn(&pid, &po, err)) != 0)
        goto out;
    (void)close(p[1]);
    p[1] = -1;
    if ((rc = proc_collect(&b, status, pid, p[0], prog, max, o, err)) != 0)
        goto out;
    *out = pd_xstrdup(pd_buf_str(&b));
out:
    pd_proc_close_pipe(p);
    if (devnull >= 0)
        (void)close(devnull);
    if (o->secret)
        pd_wipe(b.data, b.len);
    pd_buf_free(&b);
    return rc;
}

int
pd_proc_output(char **out, int *status, const char *prog, char *const *argv, size_t max,
               struct pd_err *err)
{
    return pd_proc_output_with(out, status, prog, argv, max, NULL, err);
}
