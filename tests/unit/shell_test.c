/* Tests for core/shell: quoting round-trips through a real /bin/sh and the runner. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "shell/shell.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "shell/group.h"

struct capture {
    char *out[64];
    size_t n_out;
    char *errl[64];
    size_t n_err;
    int ticks;
    int stop_after; /* tick returns true from this call on; 0 never */
};

static void
cap_line(enum shell_stream stream, const char *line, void *payload)
{
    struct capture *c = payload;

    if (stream == SHELL_STDOUT && c->n_out < 64)
        c->out[c->n_out++] = pd_xstrdup(line);
    else if (stream == SHELL_STDERR && c->n_err < 64)
        c->errl[c->n_err++] = pd_xstrdup(line);
}

static bool
cap_tick(void *payload)
{
    struct capture *c = payload;

    c->ticks++;
    return c->stop_after > 0 && c->ticks >= c->stop_after;
}

static void
cap_free(struct capture *c)
{
    for (size_t i = 0; i < c->n_out; i++)
        free(c->out[i]);
    for (size_t i = 0; i < c->n_err; i++)
        free(c->errl[i]);
    memset(c, 0, sizeof(*c));
}

static int
run(struct capture *c, const char *script, double timeout_s, struct shell_result *res)
{
    struct shell_opts o = {
        .script = script,
        .timeout_s = timeout_s,
        .line = cap_line,
        .tick = cap_tick,
        .payload = c,
    };
    struct pd_err err = {0};

    return shell_run(&o, res, &err);
}

static void
test_quote_simple(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", "''"},
        {"abc", "'abc'"},
        {"it's", "'it'\\''s'"},
        {"$(rm -rf /)", "'$(rm -rf /)'"},
        {"'", "''\\'''"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *q = shell_quote(cases[i].in);

        assert_string_equal(q, cases[i].want);
        free(q);
    }
}

static void
hex(char *dst, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, dst += 2)
        sprintf(dst, "%02x", *p);
    *dst = '\0';
}

static void
test_quote_roundtrip(void **state)
{
    static const char *const nasty[] = {
        "plain",
        "with space",
        "it's",
        "'; DROP TABLE x; --",
        "$(touch /tmp/pd-shell-test-pwned)",
        "`touch /tmp/pd-shell-test-pwned`",
        "${HOME} $HOME \\$HOME",
        "a\"b\\\"c",
        "line1\nline2\n",
        "\ttab* ? [a] ~ ! # & | ; < > ( )",
        "'''",
        "\\",
        "-n",
        "\xc3\xa9t\xc3\xa9 \x01\x7f\xff",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
        struct capture c = {0};
        struct shell_result res;
        char *q = shell_quote(nasty[i]);
        char *script = pd_xasprintf("printf '%%s' %s | od -An -v -tx1 | tr -d ' \\n'; echo", q);
        char want[256];

        hex(want, nasty[i]);
        assert_int_equal(run(&c, script, 5, &res), 0);
        assert_int_equal(res.exit_code, 0);
        assert_int_equal(c.n_out, 1);
        assert_string_equal(c.out[0], want);
        cap_free(&c);
        free(script);
        free(q);
    }
    assert_int_not_equal(access("/tmp/pd-shell-test-pwned", F_OK), 0);
}

static void
test_exit_codes(void **state)
{
    static const struct {
        const char *script;
        int exit_code, sig;
    } cases[] = {
        {"true", 0, 0},         {"exit 3", 3, 0},           {"false", 1, 0},
        {"kill -9 $$", 137, 9}, {"kill -TERM $$", 143, 15}, {"/nonexistent/cmd", 127, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct capture c = {0};
        struct shell_result res;

        assert_int_equal(run(&c, cases[i].script, 5, &res), 0);
        assert_int_equal(res.exit_code, cases[i].exit_code);
        assert_int_equal(res.signal, cases[i].sig);
        assert_false(res.timed_out);
        assert_false(res.interrupted);
        cap_free(&c);
    }
}

static void
test_lines(void **state)
{
    struct capture c = {0};
    struct shell_result res;

    (void)state;
    assert_int_equal(run(&c, "echo one; echo two >&2; echo; printf 'three\\r\\nfour'", 5, &res), 0);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(c.n_out, 4);
    assert_string_equal(c.out[0], "one");
    assert_string_equal(c.out[1], "");
    assert_string_equal(c.out[2], "three");
    assert_string_equal(c.out[3], "four");
    assert_int_equal(c.n_err, 1);
    assert_string_equal(c.errl[0], "two");
    cap_free(&c);
}

static void
test_long_line_split(void **state)
{
    struct capture c = {0};
    struct shell_result res;
    char *script = pd_xasprintf("head -c %d /dev/zero | tr '\\0' x; echo", SHELL_LINE_MAX + 10);

    (void)state;
    assert_int_equal(run(&c, script, 5, &res), 0);
    assert_int_equal(c.n_out, 2);
    assert_int_equal(strlen(c.out[0]), SHELL_LINE_MAX);
    assert_string_equal(c.out[1], "xxxxxxxxxx");
    cap_free(&c);
    free(script);
}

static void
test_lines_streamed(void **state)
{
    struct capture c = {0};
    struct shell_result res;

    (void)state;
    // the line arrives while the script still runs: the tick sees it
    c.stop_after = 0;
    assert_int_equal(run(&c, "echo early; sleep 0.6; echo late", 5, &res), 0);
    assert_int_equal(c.n_out, 2);
    assert_true(c.ticks >= 2);
    assert_true(res.duration_s >= 0.5);
    cap_free(&c);
}

/* A process is gone when kill(0) fails or only its zombie is left (no reaping init). */
static bool
gone(pid_t pid)
{
    char path[64], buf[256];
    FILE *f;
    char *rp;
    bool zombie = false;

    if (kill(pid, 0) != 0)
        return true;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return true;
    if (fgets(buf, sizeof(buf), f) != NULL && (rp = strrchr(buf, ')')) != NULL)
        zombie = rp[1] == ' ' && rp[2] == 'Z';
    (void)fclose(f); // read only
    return zombie;
}

static void
test_timeout_kills_group(void **state)
{
    struct capture c = {0};
    struct shell_result res;
    pid_t grandchild;

    (void)state;
    assert_int_equal(run(&c, "sleep 30 & echo $!; sleep 30", 0.5, &res), 0);
    assert_true(res.timed_out);
    assert_true(res.duration_s >= 0.45);
    // far below the 30 s the script would take; loose, for valgrind on a busy machine
    assert_true(res.duration_s < 10.0);
    assert_int_equal(res.signal, SIGTERM);
    assert_int_equal(c.n_out, 1);
    grandchild = (pid_t)atoi(c.out[0]);
    assert_true(grandchild > 0);
    // SIGTERM reached the whole group; the grandchild exits once it is scheduled
    for (int i = 0; i < 100 && !gone(grandchild); i++)
        usleep(50000);
    assert_true(gone(grandchild));
    cap_free(&c);
}

static void
test_timeout_escalates_to_kill(void **state)
{
    struct capture c = {0};
    struct shell_result res;

    (void)state;
    // the shell and its sleep ignore SIGTERM: only SIGKILL ends them
    assert_int_equal(run(&c, "trap '' TERM; sleep 30", 0.3, &res), 0);
    assert_true(res.timed_out);
    assert_int_equal(res.signal, SIGKILL);
    assert_int_equal(res.exit_code, 137);
    assert_true(res.duration_s >= 2.2);
    assert_true(res.duration_s < 10.0);
    cap_free(&c);
}

static void
test_tick_interrupts(void **state)
{
    struct capture c = {0};
    struct shell_result res;

    (void)state;
    c.stop_after = 2;
    assert_int_equal(run(&c, "sleep 30", 0, &res), 0);
    assert_true(res.interrupted);
    assert_false(res.timed_out);
    assert_true(res.duration_s < 10.0);
    assert_int_equal(res.signal, SIGTERM);
    cap_free(&c);
}

static void
test_env_and_cwd(void **state)
{
    struct capture c = {0};
    struct shell_result res;
    struct pd_err err = {0};
    const char *extra[] = {"PD_SHELL_T=new value", "PD_SHELL_U=u"};
    struct shell_opts o = {
        .script = "echo \"$PD_SHELL_T\"; echo \"$PD_SHELL_U\"; echo \"$PD_SHELL_KEEP\"; pwd",
        .env = extra,
        .n_env = 2,
        .cwd = "/tmp",
        .timeout_s = 5,
        .line = cap_line,
        .payload = &c,
    };

    (void)state;
    setenv("PD_SHELL_T", "old", 1);
    setenv("PD_SHELL_KEEP", "kept", 1);
    assert_int_equal(shell_run(&o, &res, &err), 0);
    assert_int_equal(c.n_out, 4);
    assert_string_equal(c.out[0], "new value");
    assert_string_equal(c.out[1], "u");
    assert_string_equal(c.out[2], "kept");
    assert_string_equal(c.out[3], "/tmp");
    cap_free(&c);
}

/* The script never sees its own text (spliced secrets), nor do its children. */
static void
test_script_not_visible(void **state)
{
    struct capture c = {0};
    struct shell_result res;

    (void)state;
    setenv("pgdrill_sh_script", "exported by the caller", 1);
    assert_int_equal(run(&c,
                         "echo \"s=${pgdrill_sh_script-unset} S=${PGDRILL_SH_SCRIPT-unset}\"\n"
                         "sh -c 'echo \"child=${pgdrill_sh_script-unset}\"'",
                         5, &res),
                     0);
    unsetenv("pgdrill_sh_script");
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(c.n_out, 2);
    assert_string_equal(c.out[0], "s=unset S=unset");
    assert_string_equal(c.out[1], "child=unset");
    cap_free(&c);
}

static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void
test_no_fd_leak_no_zombie(void **state)
{
    int before = count_fds();

    (void)state;
    for (int i = 0; i < 20; i++) {
        struct capture c = {0};
        struct shell_result res;

        assert_int_equal(run(&c, i % 2 ? "echo x" : "sleep 5", 0.05, &res), 0);
        cap_free(&c);
    }
    assert_int_equal(count_fds(), before);
    // every child was reaped: no child of ours is left to wait for
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

/* A child in its own group that sleeps until killed; returns its pid (= group id). */
static pid_t
spawn_group(void)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

static void
write_note(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
test_group_note_and_reap(void **state)
{
    char dir[] = "/tmp/pgdrill-group.XXXXXX", path[128], line[256];
    struct pd_err err = {0};
    struct stat st;
    pid_t pid;
    int stopped = -1, status = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/running.pgid", dir);

    // no note: nothing to do
    assert_int_equal(shell_group_reap(path, 1.0, &stopped, &err), 0);
    assert_int_equal(stopped, 0);

    // a live group is noted 0600, then stopped and the note removed
    pid = spawn_group();
    assert_int_equal(shell_group_note(path, (int)pid, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(shell_group_reap(path, 1.0, &stopped, &err), 0);
    assert_int_equal(stopped, (int)pid);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGTERM);
    assert_int_not_equal(access(path, F_OK), 0);

    // the same pid with another start time is someone else's: left alone
    pid = spawn_group();
    snprintf(line, sizeof(line), "%d 1 ", (int)pid);
    {
        FILE *b = fopen("/proc/sys/kernel/random/boot_id", "r");
        char boot[64] = "";

        assert_non_null(b);
        assert_non_null(fgets(boot, sizeof(boot), b));
        (void)fclose(b); // read only
        strncat(line, boot, sizeof(line) - strlen(line) - 1);
    }
    write_note(path, line);
    assert_int_equal(shell_group_reap(path, 1.0, &stopped, &err), 0);
    assert_int_equal(stopped, 0);
    assert_int_equal(kill(pid, 0), 0);
    assert_int_not_equal(access(path, F_OK), 0);

    // a note from another boot, or torn, is dropped without a signal
    snprintf(line, sizeof(line), "%d 0 00000000-0000-0000-0000-000000000000\n", (int)pid);
    write_note(path, line);
    assert_int_equal(shell_group_reap(path, 1.0, &stopped, &err), 0);
    assert_int_equal(stopped, 0);
    write_note(path, "12");
    assert_int_equal(shell_group_reap(path, 1.0, &stopped, &err), 0);
    assert_int_equal(stopped, 0);
    write_note(path, "");
    assert_int_equal(shell_group_reap(path, 1.0, &stopped, &err), 0);
    assert_int_equal(stopped, 0);
    assert_int_equal(kill(pid, 0), 0);
    assert_int_not_equal(access(path, F_OK), 0);

    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_simple),
        cmocka_unit_test(test_quote_roundtrip),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_long_line_split),
        cmocka_unit_test(test_lines_streamed),
        cmocka_unit_test(test_timeout_kills_group),
        cmocka_unit_test(test_timeout_escalates_to_kill),
        cmocka_unit_test(test_tick_interrupts),
        cmocka_unit_test(test_env_and_cwd),
        cmocka_unit_test(test_script_not_visible),
        cmocka_unit_test(test_no_fd_leak_no_zombie),
        cmocka_unit_test(test_group_note_and_reap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
