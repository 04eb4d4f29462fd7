/*
 * pd_proc: the one way pgdrill starts a child process, waits for it and
 * signals its group.
 *
 * pd_proc_spawn looks the program up in PATH in the parent (as execvp
 * would), forks, and in the child only makes async-signal-safe calls until
 * execve: it may put itself in a process group of its own, reset the signal
 * mask and the dispositions of the job-control and termination signals,
 * change directory and move the given descriptors to 0, 1 and 2. Whether
 * the exec worked is known before pd_proc_spawn returns (a close-on-exec
 * pipe reports the child's errno). The caller owns the child: it reaps it
 * with pd_proc_wait. No descriptor of the caller is closed.
 */
#ifndef PD_PROC_H
#define PD_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct pd_err;

/* What the child could not do before it became prog. */
enum pd_proc_stage {
    PD_PROC_CHDIR,
    PD_PROC_EXEC,
};

struct pd_proc_opts {
    const char *prog;   /* with a '/': that file; else looked up in PATH ("/bin:/usr/bin") */
    char *const *argv;  /* NULL-terminated; borrowed for the call */
    char *const *envp;  /* NULL-terminated; NULL: this process's environ */
    int fd_in;          /* becomes the child's stdin; -1: /dev/null */
    int fd_out;         /* becomes its stdout; -1: inherited */
    int fd_err;         /* becomes its stderr; -1: inherited */
    const char *cwd;    /* NULL: inherit */
    bool new_group;     /* a process group of its own, led by the child (set on both sides) */
    bool new_session;   /* a session of its own (setsid: no controlling terminal) */
    bool reset_signals; /* empty signal mask, SIG_DFL for the job-control and stop signals */
    /*
     * NULL: a child that cannot chdir or exec is reaped and pd_proc_spawn
     * fails with PD_EIO "cannot start PROG: strerror". Otherwise the child
     * exits 127, this is called in the parent (to write a message where the
     * child's output goes, say), and pd_proc_spawn succeeds.
     */
    void (*failed)(enum pd_proc_stage stage, int errnum, void *payload);
    void *payload;
};

/* Start the child; *out is its pid (and process group id with new_group). */
int pd_proc_spawn(pid_t *out, const struct pd_proc_opts *opts, struct pd_err *err);

/*
 * Reap pid, retrying on EINTR; with nohang, 0 when it still runs. Returns
 * pid once reaped (its wait status in *status), 0 or -1 (errno set).
 */
pid_t pd_proc_wait(pid_t pid, int *status, bool nohang);

/*
 * Signal the process group led by pid, or pid alone when no such group
 * exists (not yet set up, or already gone).
 */
void pd_proc_kill_group(pid_t pid, int sig);

/* Close both ends of a pipe that are still open (>= 0) and mark them -1. */
void pd_proc_close_pipe(int fds[2]);

/*
 * Run prog with argv (stdin /dev/null, stderr discarded) and collect the
 * first max bytes of its stdout into *out (NUL-terminated; caller owns it;
 * the rest is read and dropped). *status is its wait status. Returns 0 once
 * the child was reaped, whatever its exit; PD_EIO (*out NULL) when it could
 * not be started ("cannot start PROG: ...") or its output not read.
 */
int pd_proc_output(char **out, int *status, const char *prog, char *const *argv, size_t max,
                   struct pd_err *err);

/* How pd_proc_output_with treats the child's streams; all false is pd_proc_output. */
struct pd_proc_output_opts {
    bool keep_stderr;   /* the child's stderr is this process's, not discarded */
    bool fail_over_max; /* more than max bytes: SIGTERM the child, PD_EIO "PROG printed more
                           than MAX bytes" (*out NULL), once it is reaped */
    bool secret;        /* the output is a secret: wipe the buffers that held it */
};

/* pd_proc_output with opts (NULL: the defaults). With secret, free *out with pd_free_secret. */
int pd_proc_output_with(char **out, int *status, const char *prog, char *const *argv, size_t max,
                        const struct pd_proc_output_opts *opts, struct pd_err *err);

#endif
