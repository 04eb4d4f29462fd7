/*
 * Unit tests for core/audit/audit.c: the chain of a real file in a temp
 * folder, every kind of tampering audit_verify must name, concurrent
 * appenders in forked processes, secrets, and the engine refusing an action
 * it cannot audit.
 */
#include "audit/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "drill/drill.h"
#include "engine/engine.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "runbook/runbook.h"
#include "s3/client.intern.h"

struct fx {
    char home[64];
    char path[96];
    struct pd_err err;
    size_t reported_line;
    char reported[256];
};

static int
setup(void **state)
{
    struct fx *f = pd_xcalloc(1, sizeof(*f));

    snprintf(f->home, sizeof(f->home), "/tmp/pd-audit-test.XXXXXX");
    assert_non_null(mkdtemp(f->home));
    snprintf(f->path, sizeof(f->path), "%s/audit.log", f->home);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];

    snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s'; rm -rf '%s'", f->home, f->home);
    assert_int_equal(system(cmd), 0);
    free(f);
    pd_redact_reset();
    return 0;
}

/* n entries "i" from operator "alice" (the edit test flips a byte of "alice"). */
static void
write_entries(struct fx *f, int n)
{
    struct audit *a = NULL;

    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), 0);
    for (int i = 1; i <= n; i++) {
        char step[32];
        struct audit_arg args[] = {{.key = "step", .str = step}, {.key = "i", .num = i}};

        snprintf(step, sizeof(step), "step-%d", i);
        assert_int_equal(audit_record(a, "20261126-000000-t", "sql", "postgres://h:5432/db", args,
                                      2, i % 7 == 0 ? "check x: observed 1" : NULL, &f->err),
                         0);
    }
    audit_close(a);
}

static char *
slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = pd_xmalloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    (void)fclose(fp); // read only
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static void
spit(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* The lines of the log (each with its newline, the last maybe without). */
struct lines {
    char *v[512];
    size_t n;
};

static void
lines_read(struct lines *l, const char *path)
{
    char *all = slurp(path, NULL);
    char *p = all;

    l->n = 0;
    while (*p) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

        assert_true(l->n < 512);
        l->v[l->n++] = pd_xstrndup(p, len);
        p += len;
    }
    free(all);
}

static void
lines_write(struct lines *l, const char *path)
{
    FILE *fp = fopen(path, "wb");

    assert_non_null(fp);
    for (size_t i = 0; i < l->n; i++)
        fputs(l->v[i], fp);
    assert_int_equal(fclose(fp), 0);
}

static void
lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

/* Remove line idx (0-based). */
static void
lines_delete(struct lines *l, size_t idx)
{
    free(l->v[idx]);
    memmove(&l->v[idx], &l->v[idx + 1], (l->n - idx - 1) * sizeof(l->v[0]));
    l->n--;
}

static void
on_report(size_t line, const char *problem, void *payload)
{
    struct fx *f = payload;

    f->reported_line = line;
    snprintf(f->reported, sizeof(f->reported), "%s", problem);
}

/* Verify must fail with exactly "audit log PATH: <problem>" and report the line. */
static void
expect_broken(struct fx *f, size_t line, const char *problem)
{
    struct audit_summary sum;
    char want[512];

    pd_err_clear(&f->err);
    f->reported_line = 0;
    assert_int_equal(audit_verify(&sum, f->path, on_report, f, &f->err), PD_ECHECK);
    snprintf(want, sizeof(want), "audit log %s: %s", f->path, problem);
    assert_string_equal(f->err.msg, want);
    assert_string_equal(f->reported, problem);
    assert_int_equal(f->reported_line, line);
    assert_int_equal(sum.bad_line, line);
}

static void
expect_ok(struct fx *f, size_t n)
{
    struct audit_summary sum;

    pd_err_clear(&f->err);
    f->reported_line = 0;
    if (audit_verify(&sum, f->path, on_report, f, &f->err) != 0)
        fail_msg("verify: %s", f->err.msg);
    assert_int_equal(sum.n_entries, n);
    assert_int_equal(sum.bad_line, 0);
    assert_int_equal(f->reported_line, 0);
}

static void
test_chain_of_100_verifies(void **state)
{
    struct fx *f = *state;
    struct stat st;
    struct audit_summary sum;
    char head[65];
    struct lines l;

    write_entries(f, 100);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    expect_ok(f, 100);
    // head is the hash of the last line without its newline
    lines_read(&l, f->path);
    pd_sha256_hex(head, l.v[99], strlen(l.v[99]) - 1);
    lines_free(&l);
    assert_int_equal(audit_verify(&sum, f->path, NULL, NULL, &f->err), 0);
    assert_string_equal(sum.head, head);
}

static void
test_entry_format(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    struct audit_arg args[] = {{.key = "step", .str = "s1"}, {.key = "exit_code", .num = -3}};
    struct lines l;
    cJSON *j;
    const char *keys[] = {"seq",      "at",     "who",    "uid",  "host",    "pid",
                          "drill_id", "action", "target", "args", "outcome", "prev"};
    const cJSON *it;
    size_t k = 0;
    char h[65];

    assert_int_equal(audit_open(&a, f->home, "bob \"the\" op", &f->err), 0);
    assert_string_equal(audit_path(a), f->path);
    assert_int_equal(audit_record(a, NULL, "sh", NULL, args, 2, NULL, &f->err), 0);
    assert_int_equal(
        audit_record(a, "d1", "check", "postgres://h:1/x", NULL, 0, "line\none", &f->err), 0);
    audit_close(a);
    lines_read(&l, f->path);
    assert_int_equal(l.n, 2);
    j = cJSON_Parse(l.v[0]);
    assert_non_null(j);
    cJSON_ArrayForEach(it, j)
    {
        assert_true(k < 12);
        assert_string_equal(it->string, keys[k]);
        k++;
    }
    assert_int_equal(k, 12);
    assert_int_equal(cJSON_GetObjectItem(j, "seq")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "uid")->valueint, (int)getuid());
    assert_int_equal(cJSON_GetObjectItem(j, "pid")->valueint, (int)getpid());
    assert_string_equal(cJSON_GetObjectItem(j, "who")->valuestring, "bob \"the\" op");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "drill_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "target")));
    assert_string_equal(cJSON_GetObjectItem(j, "action")->valuestring, "sh");
    assert_string_equal(cJSON_GetObjectItem(j, "outcome")->valuestring, "ok");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "args"), "exit_code")->valueint,
                     -3);
    assert_string_equal(cJSON_GetObjectItem(j, "prev")->valuestring,
                        "0000000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(strlen(cJSON_GetObjectItem(j, "at")->valuestring), 24);
    cJSON_Delete(j);
    j = cJSON_Parse(l.v[1]);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "seq")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(j, "drill_id")->valuestring, "d1");
    assert_string_equal(cJSON_GetObjectItem(j, "outcome")->valuestring, "failed: line\none");
    pd_sha256_hex(h, l.v[0], strlen(l.v[0]) - 1);
    assert_string_equal(cJSON_GetObjectItem(j, "prev")->valuestring, h);
    cJSON_Delete(j);
    lines_free(&l);
}

/* Flip one byte of "alice" on line 37: the link from line 38 breaks. */
static void
test_edit_one_byte(void **state)
{
    struct fx *f = *state;
    struct lines l;
    char *p;

    write_entries(f, 100);
    lines_read(&l, f->path);
    p = strstr(l.v[36], "alice");
    assert_non_null(p);
    p[0] = 'A';
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 37, "line 37: hash chain broken (entry edited or replaced)");
}

/* Rewriting an entry's own prev (to hide an edit before it) is named at that entry. */
static void
test_edit_prev_field(void **state)
{
    struct fx *f = *state;
    struct lines l;
    char *p;

    write_entries(f, 100);
    lines_read(&l, f->path);
    p = strstr(l.v[49], "\"prev\":\"");
    assert_non_null(p);
    p += 8;
    p[0] = p[0] == 'a' ? 'b' : 'a';
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 50, "line 50: hash chain broken (entry edited or replaced)");
}

static void
test_edit_seq_field(void **state)
{
    struct fx *f = *state;
    struct lines l;

    write_entries(f, 100);
    lines_read(&l, f->path);
    assert_non_null(strstr(l.v[19], "{\"seq\":20,"));
    memcpy(l.v[19], "{\"seq\":29,", 10);
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 20, "line 20: hash chain broken (entry edited or replaced)");
}

static void
test_edit_breaks_json(void **state)
{
    struct fx *f = *state;
    struct lines l;

    write_entries(f, 100);
    lines_read(&l, f->path);
    l.v[19][0] = 'X';
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 20, "line 20: not a valid audit entry (not a JSON object)");
}

/* An entry replaced by a forged one with a good seq but without the real chain. */
static void
test_replace_entry(void **state)
{
    struct fx *f = *state;
    struct lines l;

    write_entries(f, 10);
    lines_read(&l, f->path);
    free(l.v[4]);
    l.v[4] = pd_xstrdup("{\"seq\":5,\"at\":\"x\",\"who\":\"mallory\",\"action\":\"sql\","
                        "\"outcome\":\"ok\",\"prev\":\"00000000000000000000000000000000000000000"
                        "00000000000000000000000\"}\n");
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 5, "line 5: hash chain broken (entry edited or replaced)");
}

static void
test_delete_entries(void **state)
{
    struct fx *f = *state;
    struct lines l;

    static const struct {
        size_t first, count; /* 0-based first line removed */
        size_t line;
        const char *problem;
    } cases[] = {
        {36, 1, 37, "line 37: 1 entry removed before this line (seq jumps from 36 to 38)"},
        {9, 3, 10, "line 10: 3 entries removed before this line (seq jumps from 9 to 13)"},
        {0, 1, 1, "line 1: 1 entry removed before this line (seq starts at 2)"},
        {0, 5, 1, "line 1: 5 entries removed before this line (seq starts at 6)"},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        unlink(f->path);
        write_entries(f, 100);
        lines_read(&l, f->path);
        for (size_t k = 0; k < cases[c].count; k++)
            lines_delete(&l, cases[c].first);
        lines_write(&l, f->path);
        lines_free(&l);
        expect_broken(f, cases[c].line, cases[c].problem);
    }
}

static void
test_reorder(void **state)
{
    struct fx *f = *state;
    struct lines l;
    char *t;

    write_entries(f, 100);
    lines_read(&l, f->path);
    t = l.v[36];
    l.v[36] = l.v[37];
    l.v[37] = t;
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 37, "line 37: entries reordered (seq 38 where 37 was expected)");

    // an entry moved far back
    unlink(f->path);
    write_entries(f, 100);
    lines_read(&l, f->path);
    t = l.v[80];
    memmove(&l.v[11], &l.v[10], 70 * sizeof(l.v[0]));
    l.v[10] = t;
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 11, "line 11: entries reordered (seq 81 where 11 was expected)");
}

static void
test_repeated_entry(void **state)
{
    struct fx *f = *state;
    struct lines l;

    write_entries(f, 10);
    lines_read(&l, f->path);
    memmove(&l.v[5], &l.v[4], 6 * sizeof(l.v[0]));
    l.v[4] = pd_xstrdup(l.v[5]);
    l.n++;
    lines_write(&l, f->path);
    lines_free(&l);
    expect_broken(f, 6, "line 6: entry repeated or reordered (seq 5 after 5)");
}

static void
test_truncated_last_line(void **state)
{
    struct fx *f = *state;
    size_t len;
    char *all;

    write_entries(f, 100);
    all = slurp(f->path, &len);
    spit(f->path, all, len - 10);
    free(all);
    expect_broken(f, 100, "line 100: truncated last line (incomplete write)");
    // only the newline missing is a truncation as well
    unlink(f->path);
    write_entries(f, 3);
    all = slurp(f->path, &len);
    spit(f->path, all, len - 1);
    free(all);
    expect_broken(f, 3, "line 3: truncated last line (incomplete write)");
}

/* After a torn write the next append keeps the torn line and chains from it. */
static void
test_append_after_torn_line(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    struct lines l;
    size_t len;
    char *all;
    char h[65];
    cJSON *j;

    write_entries(f, 5);
    all = slurp(f->path, &len);
    spit(f->path, all, len - 20);
    free(all);
    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), 0);
    assert_int_equal(audit_record(a, NULL, "sh", NULL, NULL, 0, NULL, &f->err), 0);
    audit_close(a);
    lines_read(&l, f->path);
    assert_int_equal(l.n, 6);
    pd_sha256_hex(h, l.v[4], strlen(l.v[4]) - 1);
    j = cJSON_Parse(l.v[5]);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "seq")->valueint, 6);
    assert_string_equal(cJSON_GetObjectItem(j, "prev")->valuestring, h);
    cJSON_Delete(j);
    lines_free(&l);
    expect_broken(f, 5, "line 5: not a valid audit entry (not a JSON object)");
}

static void
test_concurrent_appenders(void **state)
{
    struct fx *f = *state;
    pid_t kids[4];
    struct lines l;

    for (int k = 0; k < 4; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            struct audit *a = NULL;
            struct pd_err err = {0};
            int bad = audit_open(&a, f->home, "child", &err) != 0;

            for (int i = 0; i < 50 && !bad; i++) {
                struct audit_arg arg = {.key = "i", .num = i};

                bad = audit_record(a, NULL, "sh", NULL, &arg, 1, NULL, &err) != 0;
            }
            audit_close(a);
            _exit(bad);
        }
    }
    for (int k = 0; k < 4; k++) {
        int status = 0;

        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    expect_ok(f, 200);
    // every child's 50 entries are there, and seq runs 1..200 in file order
    lines_read(&l, f->path);
    assert_int_equal(l.n, 200);
    for (size_t i = 0; i < l.n; i++) {
        cJSON *j = cJSON_Parse(l.v[i]);

        assert_non_null(j);
        assert_int_equal(cJSON_GetObjectItem(j, "seq")->valueint, (int)i + 1);
        cJSON_Delete(j);
    }
    lines_free(&l);
}

static void
test_secrets_never_written(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    const char *url = "postgresql://app:Hunter2-Pass@db.internal:6543/care?sslmode=require"
                      "&password=Other-Secret";
    char *target = audit_target_of_url(url);
    struct audit_arg args[] = {{.key = "note", .str = "token tok-Sekrit-42 and Hunter2-Pass"},
                               {.key = "url", .str = "postgres://u:Pw-In-Arg-9@h/db"}};
    char *all;

    pd_redact_register("tok-Sekrit-42");
    pd_redact_register_uri(url);
    assert_string_equal(target, "postgres://db.internal:6543/care");
    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), 0);
    assert_int_equal(audit_record(a, "d", "sql", target, args, 2,
                                  "postgres: connect as app:Hunter2-Pass failed (tok-Sekrit-42)",
                                  &f->err),
                     0);
    assert_int_equal(audit_record(a, "tok-Sekrit-42", "sql", url, NULL, 0, NULL, &f->err), 0);
    audit_close(a);
    free(target);
    all = slurp(f->path, NULL);
    assert_null(strstr(all, "Hunter2-Pass"));
    assert_null(strstr(all, "tok-Sekrit-42"));
    assert_null(strstr(all, "Pw-In-Arg-9"));
    assert_null(strstr(all, "Other-Secret"));
    assert_non_null(strstr(all, PD_REDACT_MASK));
    free(all);
    expect_ok(f, 2);
}

static void
test_target_of_url(void **state)
{
    static const struct {
        const char *url, *want;
    } cases[] = {
        {"postgres://u:p@h.example:5433/db1", "postgres://h.example:5433/db1"},
        {"postgresql://u@h/db2?sslmode=require", "postgres://h:5432/db2"},
        {"postgresql://u:p%40x@[::1]:7000/d", "postgres://[::1]:7000/d"},
        {"postgresql://u:p@w@h2:1/x", "postgres://h2:1/x"},
        {"postgresql:///local", "postgres://localhost:5432/local"},
        {"host=10.0.0.5 port=6000 dbname='my db' password=zzzz user=a",
         "postgres://10.0.0.5:6000/my db"},
        {"dbname=x", "postgres://localhost:5432/x"},
    };

    (void)state;
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    unsetenv("PGDATABASE");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = audit_target_of_url(cases[i].url);

        assert_string_equal(t, cases[i].want);
        free(t);
    }
    setenv("PGHOST", "envhost", 1);
    {
        char *t = audit_target_of_url("postgresql:///d");

        assert_string_equal(t, "postgres://envhost:5432/d");
        free(t);
    }
    unsetenv("PGHOST");
}

static void
test_open_and_verify_errors(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    struct audit_summary sum;
    char want[256];
    int fd;

    // the log path is a directory: nothing can be audited
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), PD_EIO);
    assert_null(a);
    snprintf(want, sizeof(want), "audit log %s: Is a directory", f->path);
    assert_string_equal(f->err.msg, want);
    assert_int_equal(rmdir(f->path), 0);

    pd_err_clear(&f->err);
    assert_int_equal(audit_verify(&sum, f->path, NULL, NULL, &f->err), PD_ENOENT);
    snprintf(want, sizeof(want), "audit log %s: no such file", f->path);
    assert_string_equal(f->err.msg, want);

    // an empty log is intact
    fd = open(f->path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    close(fd);
    expect_ok(f, 0);
    // and opening it tightens its mode
    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), 0);
    audit_close(a);
    {
        struct stat st;

        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
    }
}

/* A write that fails half-way (file size limit) is cut back off: the chain stays intact. */
static void
test_partial_write_is_cut(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    struct rlimit old, lim;
    struct stat st;
    off_t before;
    char want[256];
    void (*old_handler)(int);
    int rc;

    write_entries(f, 3);
    assert_int_equal(stat(f->path, &st), 0);
    before = st.st_size;
    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 40;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rc = audit_record(a, NULL, "sh", NULL, NULL, 0, NULL, &f->err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_true(signal(SIGXFSZ, old_handler) != SIG_ERR);
    assert_int_equal(rc, PD_EIO);
    snprintf(want, sizeof(want), "audit log %s: write: File too large", f->path);
    assert_string_equal(f->err.msg, want);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, before);
    assert_int_equal(audit_record(a, NULL, "sh", NULL, NULL, 0, NULL, &f->err), 0);
    audit_close(a);
    expect_ok(f, 4);
}

/* The entry (action target outcome drill_id args) of line i, as audit_show in the shell tests. */
static void
assert_entry(const struct lines *l, size_t i, const char *action, const char *target,
             const char *outcome, const char *purpose)
{
    cJSON *j = cJSON_Parse(l->v[i]);
    const cJSON *args;

    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "action")->valuestring, action);
    assert_string_equal(cJSON_GetObjectItem(j, "target")->valuestring, target);
    assert_string_equal(cJSON_GetObjectItem(j, "outcome")->valuestring, outcome);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "drill_id")));
    args = cJSON_GetObjectItem(j, "args");
    assert_int_equal(cJSON_GetArraySize(args), 1);
    assert_string_equal(cJSON_GetObjectItem(args, "purpose")->valuestring, purpose);
    cJSON_Delete(j);
}

/*
 * The S3 client's own requests (s3_audit_own) go to the log while one is
 * open: answered (a 301 is an answer), refused (HTTP 403), not sent (its
 * error, returned as it was); none once the log is closed. An entry that
 * cannot be written fails an answered request: its answer is not used.
 */
static void
test_s3_own_requests(void **state)
{
    struct fx *f = *state;
    struct audit *a = NULL;
    const struct s3_req region = {.method = "HEAD", .bucket = "b", .key = ""};
    const struct s3_req part = {.method = "HEAD", .bucket = "b", .key = "k/x.gz"};
    struct s3_resp rs = {.status = 301};
    struct pd_err err = {0};
    struct rlimit old, lim;
    void (*old_handler)(int);
    struct stat st;
    struct lines l;
    int rc;

    assert_int_equal(s3_audit_own(&region, "bucket-region", 0, &rs, &err), 0);
    assert_int_equal(stat(f->path, &st), -1); // no log open: nothing written
    assert_int_equal(audit_open(&a, f->home, "alice", &f->err), 0);
    assert_int_equal(s3_audit_own(&region, "bucket-region", 0, &rs, &err), 0);
    rs.status = 403;
    assert_int_equal(s3_audit_own(&part, "part-size", 0, &rs, &err), 0);
    PD_ERR_SET(&err, PD_ESERVICE, "s3: HEAD s3://b/k/x.gz: connection refused");
    assert_int_equal(s3_audit_own(&part, "part-size", PD_ESERVICE, &rs, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "s3: HEAD s3://b/k/x.gz: connection refused");
    // the entry cannot be written (a full disk): the answered request fails
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)st.st_size + 40;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    rs.status = 200;
    pd_err_clear(&err);
    rc = s3_audit_own(&region, "bucket-region", 0, &rs, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_true(signal(SIGXFSZ, old_handler) != SIG_ERR);
    assert_int_equal(rc, PD_EIO);
    assert_non_null(strstr(err.msg, "write: File too large"));
    audit_close(a);
    assert_int_equal(s3_audit_own(&region, "bucket-region", 0, &rs, &err), 0);
    lines_read(&l, f->path);
    assert_int_equal(l.n, 3);
    assert_entry(&l, 0, "s3.head", "s3://b", "ok", "bucket-region");
    assert_entry(&l, 1, "s3.head", "s3://b/k/x.gz", "failed: HTTP 403", "part-size");
    assert_entry(&l, 2, "s3.head", "s3://b/k/x.gz",
                 "failed: s3: HEAD s3://b/k/x.gz: connection refused", "part-size");
    lines_free(&l);
    expect_ok(f, 3);
}

/* The engine refuses to run an action it cannot audit, and records the ones it runs. */
static void
test_engine_audits_actions(void **state)
{
    struct fx *f = *state;
    static const char rb_text[] = "# t\n\n```pgdrill\nid: audit-engine\n```\n\n## One\n\n"
                                  "```sh id=touch\ntouch \"$MARK\"\n```\n";
    char mark[128];
    struct runbook *rb = NULL;
    struct drill *d = NULL;
    struct engine *e = NULL;
    struct engine_opts opts = {.yes = true};
    struct lines l;
    cJSON *j;
    int rc;

    snprintf(mark, sizeof(mark), "%s/marker", f->home);
    setenv("MARK", mark, 1);
    assert_int_equal(runbook_parse(&rb, "t.md", rb_text, strlen(rb_text), NULL, &f->err), 0);

    // audit.log is a directory: the sh step must not run
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(drill_begin(&d, f->home, rb, "tester", &f->err), 0);
    assert_int_equal(engine_new(&e, rb, d, &opts, NULL, NULL, &f->err), 0);
    rc = engine_run(e, &f->err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(f->err.msg, "audit log"));
    assert_int_equal(access(mark, F_OK), -1);
    engine_free(e);
    drill_free(d);
    assert_int_equal(rmdir(f->path), 0);

    // with a writable log it runs and is recorded
    pd_err_clear(&f->err);
    assert_int_equal(drill_begin(&d, f->home, rb, "tester", &f->err), 0);
    assert_int_equal(engine_new(&e, rb, d, &opts, NULL, NULL, &f->err), 0);
    assert_int_equal(engine_run(e, &f->err), 0);
    assert_int_equal(access(mark, F_OK), 0);
    lines_read(&l, f->path);
    assert_int_equal(l.n, 1);
    j = cJSON_Parse(l.v[0]);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "action")->valuestring, "sh");
    assert_string_equal(cJSON_GetObjectItem(j, "who")->valuestring, "tester");
    assert_string_equal(cJSON_GetObjectItem(j, "drill_id")->valuestring, d->id);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "args"), "step")->valuestring,
                        "touch");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "args"), "exit_code")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(j, "outcome")->valuestring, "ok");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "target")));
    cJSON_Delete(j);
    lines_free(&l);
    engine_free(e);
    drill_free(d);
    runbook_free(rb);
    unsetenv("MARK");
    expect_ok(f, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain_of_100_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entry_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_one_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_prev_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_seq_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_breaks_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_last_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_after_torn_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appenders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_never_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_target_of_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_and_verify_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_write_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_audits_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_s3_own_requests, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
