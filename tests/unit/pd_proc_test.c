/* Tests for core/pd_proc: the one way pgdrill starts a child. */
/* cmocka needs these first, in this order */
// clang-format off
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "pd_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_mem.h"

/* argv entries: exec takes char *const[], the strings are never written */
#define S(x) ((char *)(uintptr_t)(x))

/* Everything the child wrote to fd until it closed it. */
static void
read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;
    ssize_t n;

    while (len + 1 < size) {
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
}

/* PATH lookup, argv, environment and the output descriptors reach the child. */
static void
test_spawn_output_env(void **state)
{
    char *argv[] = {S("sh"), S("-c"),    S("echo \"$1 $PD_PROC_X\"; echo err >&2; pwd"),
                    S("sh"), S("hello"), NULL};
    char *envp[] = {S("PD_PROC_X=from-env"), S("PATH=/bin:/usr/bin"), NULL};
    int p[2];
    char buf[256];
    int status = -1;
    pid_t pid;
    struct pd_err err = {0};
    struct pd_proc_opts o = {.prog = "sh", .argv = argv, .envp = envp, .fd_in = -1, .cwd = "/"};

    (void)state;
    assert_int_equal(pipe(p), 0);
    o.fd_out = o.fd_err = p[1];
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), 0);
    close(p[1]);
    read_all(p[0], buf, sizeof(buf));
    close(p[0]);
    assert_int_equal(pd_proc_wait(pid, &status, false), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_string_equal(buf, "hello from-env\nerr\n/\n");
}

/* Without a callback a program that cannot start is an error, and no child is left. */
static void
test_cannot_start(void **state)
{
    char *argv[] = {S("x"), NULL};
    struct pd_err err = {0};
    pid_t pid = 0;
    struct pd_proc_opts o = {
        .prog = "/nonexistent/prog", .argv = argv, .fd_in = -1, .fd_out = -1, .fd_err = -1};

    (void)state;
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), PD_EIO);
    assert_string_equal(err.msg, "cannot start /nonexistent/prog: No such file or directory");
    assert_int_equal(pid, -1);
    o.prog = "pgdrill-no-such-program";
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), PD_EIO);
    assert_string_equal(err.msg, "cannot start pgdrill-no-such-program: No such file or directory");
    // a directory is found by access(2) but cannot be executed: the exec reports it
    o.prog = "/tmp";
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), PD_EIO);
    assert_string_equal(err.msg, "cannot start /tmp: Permission denied");
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

struct failure {
    int calls;
    enum pd_proc_stage stage;
    int errnum;
};

static void
on_failed(enum pd_proc_stage stage, int errnum, void *payload)
{
    struct failure *f = payload;

    f->calls++;
    f->stage = stage;
    f->errnum = errnum;
}

/* With a callback the child exits 127 and the callback says why. */
static void
test_failed_callback(void **state)
{
    char *argv[] = {S("true"), NULL};
    struct failure f = {0};
    struct pd_err err = {0};
    int status = -1;
    pid_t pid;
    struct pd_proc_opts o = {.prog = "true",
                             .argv = argv,
                             .fd_in = -1,
                             .fd_out = -1,
                             .fd_err = -1,
                             .cwd = "/nonexistent-dir",
                             .failed = on_failed,
                             .payload = &f};

    (void)state;
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), 0);
    assert_int_equal(pd_proc_wait(pid, &status, false), pid);
    assert_int_equal(WEXITSTATUS(status), 127);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.stage, PD_PROC_CHDIR);
    assert_int_equal(f.errnum, ENOENT);
    o.cwd = NULL;
    o.prog = "pgdrill-no-such-program";
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), 0);
    assert_int_equal(pd_proc_wait(pid, &status, false), pid);
    assert_int_equal(WEXITSTATUS(status), 127);
    assert_int_equal(f.calls, 2);
    assert_int_equal(f.stage, PD_PROC_EXEC);
    assert_int_equal(f.errnum, ENOENT);
}

/* new_group: the child leads its own group, which pd_proc_kill_group signals. */
static void
test_group_kill(void **state)
{
    char *argv[] = {S("sleep"), S("30"), NULL};
    struct pd_err err = {0};
    int status = -1;
    pid_t pid;
    struct pd_proc_opts o = {.prog = "sleep",
                             .argv = argv,
                             .fd_in = -1,
                             .fd_out = -1,
                             .fd_err = -1,
                             .new_group = true,
                             .reset_signals = true};

    (void)state;
    assert_int_equal(pd_proc_spawn(&pid, &o, &err), 0);
    assert_int_equal(getpgid(pid), pid);
    assert_int_equal(pd_proc_wait(pid, &status, true), 0); // still running
    pd_proc_kill_group(pid, SIGKILL);
    assert_int_equal(pd_proc_wait(pid, &status, false), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* pd_proc_close_pipe closes what is open, once, and marks both ends closed. */
static void
test_close_pipe(void **state)
{
    int p[2], q[2];

    (void)state;
    assert_int_equal(pipe(p), 0);
    q[0] = p[0];
    q[1] = p[1];
    pd_proc_close_pipe(p);
    assert_int_equal(p[0], -1);
    assert_int_equal(p[1], -1);
    assert_int_equal(fcntl(q[0], F_GETFD), -1); // really closed
    assert_int_equal(fcntl(q[1], F_GETFD), -1);
    pd_proc_close_pipe(p); // closing again is harmless
    assert_int_equal(p[0], -1);
}

/* pd_proc_output keeps the first max bytes of stdout, drops stderr and gives the status. */
static void
test_output(void **state)
{
    char *argv[] = {S("sh"), S("-c"), S("echo 'pg_dump (PostgreSQL) 15.4'; echo noise >&2; exit 3"),
                    NULL};
    char *cut[] = {S("sh"), S("-c"), S("printf abcdefgh"), NULL};
    char *none[] = {S("pd-proc-no-such-program"), NULL};
    char *out = NULL;
    int status = -1;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(pd_proc_output(&out, &status, "sh", argv, 100, &err), 0);
    assert_string_equal(out, "pg_dump (PostgreSQL) 15.4\n");
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    free(out);
    assert_int_equal(pd_proc_output(&out, &status, "sh", cut, 3, &err), 0);
    assert_string_equal(out, "abc");
    free(out);
    assert_int_equal(pd_proc_output(&out, &status, none[0], none, 10, &err), PD_EIO);
    assert_null(out);
    assert_string_equal(err.msg, "cannot start pd-proc-no-such-program: No such file or directory");
}

/* pd_proc_output_with: a child printing past the cap is stopped and reported. */
static void
test_output_fail_over_max(void **state)
{
    static const struct pd_proc_output_opts o = {.fail_over_max = true, .secret = true};
    char *endless[] = {S("yes"), S("key"), NULL};
    char *fits[] = {S("sh"), S("-c"), S("printf abc"), NULL};
    char *out = NULL;
    int status = -1;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(pd_proc_output_with(&out, &status, "yes", endless, 10, &o, &err), PD_EIO);
    assert_null(out);
    assert_string_equal(err.msg, "yes printed more than 10 bytes");
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    pd_err_clear(&err);
    assert_int_equal(pd_proc_output_with(&out, &status, "sh", fits, 3, &o, &err), 0);
    assert_string_equal(out, "abc");
    pd_free_secret(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_output_env),     cmocka_unit_test(test_cannot_start),
        cmocka_unit_test(test_failed_callback),      cmocka_unit_test(test_group_kill),
        cmocka_unit_test(test_close_pipe),           cmocka_unit_test(test_output),
        cmocka_unit_test(test_output_fail_over_max),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
