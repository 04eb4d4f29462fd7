/*
 * shell: quoting for /bin/sh and running a script under a timeout.
 *
 * shell_quote turns any byte string into one single-quoted /bin/sh word, so
 * values spliced into sh steps stay literal. shell_run runs
 * SCRIPT with /bin/sh (handed over in the environment and eval'd, so that
 * no value spliced into it shows in ps) in its own process group with stdin from /dev/null and
 * stdout and stderr on separate pipes, delivers complete lines to a callback
 * as they arrive (a partial last line is flushed at the end), calls a tick
 * callback about every 200 ms, and on timeout or interrupt signals the whole
 * group (SIGTERM, then SIGKILL two seconds later). The child is always
 * reaped; every descriptor is opened O_CLOEXEC and closed before returning.
 */
#ifndef PD_SHELL_H
#define PD_SHELL_H

#include <stdbool.h>
#include <stddef.h>

struct pd_err;

/* Lines longer than this are delivered in pieces of this size. */
#define SHELL_LINE_MAX 8192

enum shell_stream {
    SHELL_STDOUT,
    SHELL_STDERR,
};

struct shell_opts {
    const char *script;     /* run by /bin/sh, never on its command line */
    const char *const *env; /* extra "NAME=value" entries, override the inherited ones */
    size_t n_env;
    const char *cwd;  /* NULL: inherit */
    double timeout_s; /* <= 0: no timeout */
    /* One line without its newline; line is borrowed for the call only. */
    void (*line)(enum shell_stream stream, const char *line, void *payload);
    /* About every 200 ms; return true to interrupt (treated like a timeout). */
    bool (*tick)(void *payload);
    /* Once the child runs, with its process group id (see shell/group.h); may be NULL. */
    void (*started)(int pgid, void *payload);
    void *payload;
};

struct shell_result {
    int exit_code;    /* exit status, or 128 + signal when killed by one, -1 when unknown */
    int signal;       /* terminating signal, 0 when it exited */
    bool timed_out;   /* the timeout expired and the group was killed */
    bool interrupted; /* tick asked to stop and the group was killed */
    double duration_s;
};

/* A single-quoted /bin/sh word for s ('it'\''s'); the caller owns it. */
char *shell_quote(const char *s);

/*
 * Run opts->script. Returns 0 once the child has been reaped, whatever its
 * exit status (see *res), or PD_EIO when it could not be started.
 */
int shell_run(const struct shell_opts *opts, struct shell_result *res, struct pd_err *err);

#endif
