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
#include "pd_proc.h"
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

/*
 * The script goes to sh in its environment, not its argv: values spliced in
 * (a connection URI with its password) would be in every user's ps. The
 * environment at exec stays readable to the same user in /proc/PID/environ,
 * no further. The shell moves the script to an unexported variable and
 * unsets that too before the script's first command, so neither the script
 * (`set`) nor its children see it.
 */
#define SHELL_SCRIPT_VAR   "PGDRILL_SH_SCRIPT"
#define SHELL_SCRIPT_LOCAL "pgdrill_sh_script"
static const char script_runner[] =
    SHELL_SCRIPT_LOCAL "=$" SHELL_SCRIPT_VAR "; unset " SHELL_SCRIPT_VAR
                       "; eval \"unset " SHELL_SCRIPT_LOCAL "; $" SHELL_SCRIPT_LOCAL "\"";

/* Names the child never inherits: ours, even if an outer sh step or the caller exported them. */
static bool
script_var(const char *entry)
{
    return strncmp(entry, SHELL_SCRIPT_VAR "=", sizeof(SHELL_SCRIPT_VAR)) == 0 ||
           strncmp(entry, SHELL_SCRIPT_LOCAL "=", sizeof(SHELL_SCRIPT_LOCAL)) == 0;
}

/* The environment for the child: the inherited one, with opts->env overriding by name. */
static char **
build_env(const struct shell_opts *o)
{
    size_t n = 0, k = 0;
    char **env;

    while (environ[n])
        n++;
    env = pd_xcalloc(n + o->n_env + 2, sizeof(*env));
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        // a script of ours from an outer sh step is never inherited
        bool overridden = script_var(environ[i]);

        for (size_t j = 0; j < o->n_env && !overridden; j++)
            overridden = strncmp(o->env[j], environ[i], nl) == 0 && o->env[j][nl] == '=';
        if (!overridden)
            env[k++] = pd_xstrdup(environ[i]);
    }
    for (size_t j = 0; j < o->n_env; j++)
        if (!script_var(o->env[j]))
            env[k++] = pd_xstrdup(o->env[j]);
    env[k++] = pd_xasprintf("%s=%s", SHELL_SCRIPT_VAR, o->script);
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

/* Everything one run carries between its phases. */
struct run {
    const struct shell_opts *o;
    struct shell_result *res;
    struct stream *st; /* [0] stdout, [1] stderr */
    pid_t pid;
    int status;
    bool exited, stopping, hard_killed;
    double start, deadline, kill_at, exit_at, next_tick;
};

/* The child could not chdir or exec: say so on its stderr, as /bin/sh would. */
static void
start_failed(enum pd_proc_stage stage, int errnum, void *payload)
{
    static const char msg[] = "shell: cannot execute /bin/sh\n";
    static const char cwd_msg[] = "shell: cannot change directory\n";
    const int *fd = payload;
    ssize_t w = stage == PD_PROC_CHDIR ? write(*fd, cwd_msg, sizeof(cwd_msg) - 1)
                                       : write(*fd, msg, sizeof(msg) - 1);

    (void)errnum;
    (void)w; // the exit status 127 says it anyway
}

/* Start the script (through script_runner) in a group of its own, its output on two
 * non-blocking pipes. */
static int
run_start(struct run *r, struct pd_err *err)
{
    const struct shell_opts *o = r->o;
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    char **envp = NULL;
    char *argv[4] = {NULL, NULL, NULL, NULL};
    int rc = 0;
    struct pd_proc_opts po = {
        .prog = "/bin/sh",
        .argv = argv,
        .fd_in = -1,
        .cwd = o->cwd,
        .new_group = true,
        .reset_signals = true,
        .failed = start_failed,
        .payload = &err_pipe[1],
    };

    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "shell: pipe: %s", strerror(errno));
        goto out;
    }
    envp = build_env(o);
    argv[0] = pd_xstrdup("sh");
    argv[1] = pd_xstrdup("-c");
    argv[2] = pd_xstrdup(script_runner);
    po.envp = envp;
    po.fd_out = out_pipe[1];
    po.fd_err = err_pipe[1];
    r->start = pd_time_mono();
    if ((rc = pd_proc_spawn(&r->pid, &po, err)) != 0) {
        pd_err_prefix(err, "shell: ");
        goto out;
    }
    if (o->started != NULL)
        o->started((int)r->pid, o->payload);
    r->st[0].fd = out_pipe[0];
    r->st[0].which = SHELL_STDOUT;
    r->st[1].fd = err_pipe[0];
    r->st[1].which = SHELL_STDERR;
    out_pipe[0] = err_pipe[0] = -1;
    for (int i = 0; i < 2; i++)
        fcntl(r->st[i].fd, F_SETFL, fcntl(r->st[i].fd, F_GETFL) | O_NONBLOCK);
out:
    pd_proc_close_pipe(out_pipe);
    pd_proc_close_pipe(err_pipe);
    for (int i = 0; i < 3; i++)
        free(argv[i]);
    free_strv(envp);
    return rc;
}

/* Start stopping the group: SIGTERM now, SIGKILL after the grace. */
static void
run_stop(struct run *r, double now)
{
    r->stopping = true;
    pd_proc_kill_group(r->pid, SIGTERM);
    r->kill_at = now + KILL_GRACE_S;
}

/*
 * Reap, time out, escalate and tick; false once the loop is over (the
 * child exited and its pipes are drained, or the drain grace ran out).
 */
static bool
run_check(struct run *r, double now)
{
    if (!r->exited && pd_proc_wait(r->pid, &r->status, true) == r->pid) {
        r->exited = true;
        r->exit_at = now;
    }
    if (r->exited && r->st[0].fd < 0 && r->st[1].fd < 0)
        return false;
    if (r->exited && !r->stopping && now - r->exit_at > DRAIN_GRACE_S)
        return false;
    if (r->exited && r->hard_killed && now - r->kill_at > DRAIN_GRACE_S)
        return false;
    if (!r->stopping && r->deadline > 0 && now >= r->deadline) {
        r->res->timed_out = true;
        run_stop(r, now);
    }
    if (r->stopping && !r->hard_killed && now >= r->kill_at) {
        pd_proc_kill_group(r->pid, SIGKILL);
        r->hard_killed = true;
        r->kill_at = now;
    }
    if (now >= r->next_tick) {
        r->next_tick = now + TICK_S;
        if (r->o->tick != NULL && r->o->tick(r->o->payload) && !r->stopping) {
            r->res->interrupted = true;
            run_stop(r, now);
        }
    }
    return true;
}

/* Wait for output until the next thing to check, and deliver it. */
static int
run_poll(struct run *r, double now, struct pd_err *err)
{
    struct pollfd pfd[2];
    nfds_t nfds = 0;
    int map[2];
    double wake = r->next_tick;
    int wait_ms;

    if (r->deadline > 0 && !r->stopping && r->deadline < wake)
        wake = r->deadline;
    if (r->stopping && !r->hard_killed && r->kill_at < wake)
        wake = r->kill_at;
    wait_ms = (int)((wake - now) * 1000.0) + 1;
    if (wait_ms < 0)
        wait_ms = 0;
    if (!r->exited && wait_ms > 50 && (r->st[0].fd < 0 || r->st[1].fd < 0))
        wait_ms = 50; // nothing tells us about the exit but waitpid
    for (int i = 0; i < 2; i++) {
        if (r->st[i].fd < 0)
            continue;
        pfd[nfds].fd = r->st[i].fd;
        pfd[nfds].events = POLLIN;
        pfd[nfds].revents = 0;
        map[nfds++] = i;
    }
    if (poll(nfds ? pfd : NULL, nfds, wait_ms) < 0 && errno != EINTR) {
        int rc = PD_ERR_SET(err, PD_EIO, "shell: poll: %s", strerror(errno));

        pd_proc_kill_group(r->pid, SIGKILL);
        return rc;
    }
    for (nfds_t i = 0; i < nfds; i++) {
        struct stream *s = &r->st[map[i]];

        if (pfd[i].revents == 0)
            continue;
        if (!stream_read(r->o, s))
            stream_close(r->o, s);
    }
    return 0;
}

/* Flush the streams, reap the child and fill in the result. */
static void
run_finish(struct run *r)
{
    struct shell_result *res = r->res;

    // a background grandchild may still hold a pipe: flush what we have and stop reading
    stream_close(r->o, &r->st[0]);
    stream_close(r->o, &r->st[1]);
    if (!r->exited)
        pd_proc_wait(r->pid, &r->status, false);
    if (WIFEXITED(r->status)) {
        res->exit_code = WEXITSTATUS(r->status);
    } else if (WIFSIGNALED(r->status)) {
        res->signal = WTERMSIG(r->status);
        res->exit_code = 128 + res->signal;
    }
    res->duration_s = pd_time_mono() - r->start;
}

int
shell_run(const struct shell_opts *o, struct shell_result *res, struct pd_err *err)
{
    struct run r = {.o = o, .res = res, .pid = -1};
    int rc;

    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    r.st = pd_xcalloc(2, sizeof(*r.st));
    r.st[0].fd = r.st[1].fd = -1;
    if ((rc = run_start(&r, err)) != 0)
        goto out;
    r.deadline = o->timeout_s > 0 ? r.start + o->timeout_s : 0;
    r.next_tick = r.start + TICK_S;
    for (;;) {
        double now = pd_time_mono();

        if (!run_check(&r, now))
            break;
        if ((rc = run_poll(&r, now, err)) != 0)
            break;
    }
    run_finish(&r);
out:
    for (int i = 0; i < 2; i++)
        if (r.st[i].fd >= 0)
            close(r.st[i].fd);
    free(r.st);
    return rc;
}
