/* pipe2(2) with O_CLOEXEC is a GNU/Linux extension. */
#define _GNU_SOURCE

#include "shell/shell.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"

#define TICK_S       0.2
#define KILL_GRACE_S 2.0
/* After /bin/sh exits, how long a background grandchild may keep the pipes open. */
#define DRAIN_GRACE_S 1.0

char *
shell_quote(const char *s)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    // appends cannot fail below the 64 MiB default cap for any sane value
    pd_buf_append(&b, "'", 1, NULL);
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            pd_buf_append(&b, "'\\''", 4, NULL);
        else
            pd_buf_append(&b, p, 1, NULL);
    }
    pd_buf_append(&b, "'", 1, NULL);
    return pd_buf_steal(&b);
}

struct stream {
    int fd;
    enum shell_stream which;
    char buf[SHELL_LINE_MAX + 1];
    size_t len;
};

static void
emit(const struct shell_opts *o, struct stream *s)
{
    s->buf[s->len] = '\0';
    if (s->len > 0 && s->buf[s->len - 1] == '\r')
        s->buf[s->len - 1] = '\0';
    if (o->line != NULL)
        o->line(s->which, s->buf, o->payload);
    s->len = 0;
}

/* Read what is available; returns false at end of file or on error. */
static bool
stream_read(const struct shell_opts *o, struct stream *s)
{
    char chunk[4096];
    ssize_t n = read(s->fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    for (ssize_t i = 0; i < n; i++) {
        if (chunk[i] == '\n') {
            emit(o, s);
            continue;
        }
        s->buf[s->len++] = chunk[i];
        if (s->len == SHELL_LINE_MAX)
            emit(o, s);
    }
    return true;
}

static void
stream_close(const struct shell_opts *o, struct stream *s)
{
    if (s->fd < 0)
        return;
    if (s->len > 0)
        emit(o, s);
    close(s->fd);
    s->fd = -1;
}

/* The environment for the child: the inherited one, with opts->env overriding by name. */
static char **
build_env(const struct shell_opts *o)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = pd_xcalloc(n + o->n_env + 1, sizeof(*env));
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;

        for (size_t j = 0; j < o->n_env && !overridden; j++)
            overridden = strncmp(o->env[j], environ[i], nl) == 0 && o->env[j][nl] == '=';
        if (!overridden)
            env[k++] = pd_xstrdup(environ[i]);
    }
    for (size_t j = 0; j < o->n_env; j++)
        env[k++] = pd_xstrdup(o->env[j]);
    return env;
}

static void
free_strv(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

/* In the forked child: only async-signal-safe calls until execve. */
static _Noreturn void
child_exec(int out_fd, int err_fd, int null_fd, const char *cwd, char **argv, char **envp)
{
    static const char msg[] = "shell: cannot execute /bin/sh\n";
    static const char cwd_msg[] = "shell: cannot change directory\n";
    sigset_t none;
    static const int sigs[] = {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGHUP, SIGTSTP};

    setpgid(0, 0);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    // SIG_DFL for a valid signal cannot fail, and the child has no one to tell
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        (void)signal(sigs[i], SIG_DFL);
    if (dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    if (cwd != NULL && chdir(cwd) != 0) {
        ssize_t w = write(2, cwd_msg, sizeof(cwd_msg) - 1);
        (void)w;
        _exit(127);
    }
    execve("/bin/sh", argv, envp);
    {
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
    }
    _exit(127);
}

static void
kill_group(pid_t pid, int sig)
{
    // the group outlives its leader while grandchildren are in it
    if (kill(-pid, sig) != 0 && errno == ESRCH)
        kill(pid, sig);
}

int
shell_run(const struct shell_opts *o, struct shell_result *res, struct pd_err *err)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int null_fd = -1;
    char **envp = NULL;
    char *argv[4] = {NULL, NULL, NULL, NULL};
    struct stream *st = NULL;
    pid_t pid;
    int status = 0;
    int rc = 0;
    bool exited = false, stopping = false, hard_killed = false;
    double start, deadline, kill_at = 0, exit_at = 0, next_tick;

    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "shell: pipe: %s", strerror(errno));
        goto out;
    }
    null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "shell: open /dev/null: %s", strerror(errno));
        goto out;
    }
    // everything the child needs is built before fork: after it only
    // async-signal-safe calls are allowed
    envp = build_env(o);
    argv[0] = pd_xstrdup("sh");
    argv[1] = pd_xstrdup("-c");
    argv[2] = pd_xstrdup(o->script);
    st = pd_xcalloc(2, sizeof(*st));

    start = pd_time_mono();
    pid = fork();
    if (pid < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "shell: fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_exec(out_pipe[1], err_pipe[1], null_fd, o->cwd, argv, envp);
    // both sides set the group so a kill right after fork reaches it
    setpgid(pid, pid);
    if (o->started != NULL)
        o->started((int)pid, o->payload);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_pipe[1] = err_pipe[1] = -1;
    st[0].fd = out_pipe[0];
    st[0].which = SHELL_STDOUT;
    st[1].fd = err_pipe[0];
    st[1].which = SHELL_STDERR;
    out_pipe[0] = err_pipe[0] = -1;
    for (int i = 0; i < 2; i++)
        fcntl(st[i].fd, F_SETFL, fcntl(st[i].fd, F_GETFL) | O_NONBLOCK);

    deadline = o->timeout_s > 0 ? start + o->timeout_s : 0;
    next_tick = start + TICK_S;
    for (;;) {
        struct pollfd pfd[2];
        nfds_t nfds = 0;
        int map[2];
        double now = pd_time_mono(), wake;
        int wait_ms;

        if (!exited) {
            pid_t w = waitpid(pid, &status, WNOHANG);

            if (w == pid) {
                exited = true;
                exit_at = now;
            }
        }
        if (exited && st[0].fd < 0 && st[1].fd < 0)
            break;
        if (exited && !stopping && now - exit_at > DRAIN_GRACE_S)
            break;
        if (exited && hard_killed && now - kill_at > DRAIN_GRACE_S)
            break;
        if (!stopping && deadline > 0 && now >= deadline) {
            res->timed_out = true;
            stopping = true;
            kill_group(pid, SIGTERM);
            kill_at = now + KILL_GRACE_S;
        }
        if (stopping && !hard_killed && now >= kill_at) {
            kill_group(pid, SIGKILL);
            hard_killed = true;
            kill_at = now;
        }
        if (now >= next_tick) {
            next_tick = now + TICK_S;
            if (o->tick != NULL && o->tick(o->payload) && !stopping) {
                res->interrupted = true;
                stopping = true;
                kill_group(pid, SIGTERM);
                kill_at = now + KILL_GRACE_S;
            }
        }

        wake = next_tick;
        if (deadline > 0 && !stopping && deadline < wake)
            wake = deadline;
        if (stopping && !hard_killed && kill_at < wake)
            wake = kill_at;
        wait_ms = (int)((wake - now) * 1000.0) + 1;
        if (wait_ms < 0)
            wait_ms = 0;
        if (!exited && wait_ms > 50 && (st[0].fd < 0 || st[1].fd < 0))
            wait_ms = 50; // nothing tells us about the exit but waitpid
        for (int i = 0; i < 2; i++) {
            if (st[i].fd < 0)
                continue;
            pfd[nfds].fd = st[i].fd;
            pfd[nfds].events = POLLIN;
            pfd[nfds].revents = 0;
            map[nfds++] = i;
        }
        if (poll(nfds ? pfd : NULL, nfds, wait_ms) < 0 && errno != EINTR) {
            rc = PD_ERR_SET(err, PD_EIO, "shell: poll: %s", strerror(errno));
            kill_group(pid, SIGKILL);
            break;
        }
        for (nfds_t i = 0; i < nfds; i++) {
            struct stream *s = &st[map[i]];

            if (pfd[i].revents == 0)
                continue;
            if (!stream_read(o, s))
                stream_close(o, s);
        }
    }
    // a background grandchild may still hold a pipe: flush what we have and stop reading
    stream_close(o, &st[0]);
    stream_close(o, &st[1]);
    if (!exited) {
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    if (WIFEXITED(status)) {
        res->exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        res->signal = WTERMSIG(status);
        res->exit_code = 128 + res->signal;
    }
    res->duration_s = pd_time_mono() - start;

out:
    if (st != NULL) {
        for (int i = 0; i < 2; i++)
            if (st[i].fd >= 0)
                close(st[i].fd);
        free(st);
    }
    for (int i = 0; i < 2; i++) {
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
        if (err_pipe[i] >= 0)
            close(err_pipe[i]);
    }
    if (null_fd >= 0)
        close(null_fd);
    for (int i = 0; i < 3; i++)
        free(argv[i]);
    free_strv(envp);
    return rc;
}
