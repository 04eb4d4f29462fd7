/* Tests for core/runbook/hints: the troubleshooting hints file. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pd_err.h"
#include "runbook/hints.h"

/* Write text to a fresh temporary file; returns its path (caller frees and unlinks). */
static char *
write_tmp(const char *text)
{
    char *path = strdup("/tmp/pgdrill-hints-test.XXXXXX");
    int fd = mkstemp(path);
    FILE *f;

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void
test_load_and_match(void **state)
{
    char *path = write_tmp("# comment\n"
                           "\n"
                           "[oom]\n"
                           "match = pg_dump & Out Of Memory\n"
                           "match = cannot allocate memory\n"
                           "advice = Use the custom format\n"
                           "advice = (pg_dump -Fc).\n"
                           "[refused]\n"
                           "  match = connection refused  \n"
                           "advice = Check DATABASE_URL.\n");
    struct hints h;
    struct pd_err err = {0};
    const struct hint *m;

    (void)state;
    assert_int_equal(hints_load(&h, path, &err), 0);
    assert_int_equal(h.n, 2);
    assert_string_equal(h.v[0].id, "oom");
    assert_string_equal(h.v[0].advice, "Use the custom format (pg_dump -Fc).");
    m = hints_match(&h, "sh: pg_dump\nERROR:  out of memory");
    assert_non_null(m);
    assert_string_equal(m->id, "oom");
    assert_null(hints_match(&h, "ERROR:  out of memory")); // pg_dump is needed too
    m = hints_match(&h, "malloc: Cannot allocate memory");
    assert_non_null(m);
    assert_string_equal(m->id, "oom");
    m = hints_match(&h, "could not connect: Connection refused");
    assert_non_null(m);
    assert_string_equal(m->id, "refused");
    assert_null(hints_match(&h, "exit 1"));
    assert_null(hints_match(NULL, "exit 1"));
    hints_free(&h);
    unlink(path);
    free(path);
}

static void
test_errors(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"match = x\n", ":1: 'match' before the first [id]"},
        {"[a]\nmatch = x\n", ":1: hint 'a' needs a match and an advice"},
        {"[a]\nadvice = y\n[b]\n", ":1: hint 'a' needs a match and an advice"},
        {"[a]\nwhen = x\n", ":2: unknown key 'when' (match, advice)"},
        {"[a]\njust words\n", ":2: expected 'key = value' or '[id]'"},
        {"[a\n", ":1: expected '[id]'"},
        {"[a]\nmatch =\n", ":2: empty match"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = write_tmp(cases[i].text), want[600];
        struct hints h;
        struct pd_err err = {0};

        assert_int_equal(hints_load(&h, path, &err), PD_EINPUT);
        snprintf(want, sizeof(want), "%s%s", path, cases[i].msg);
        assert_string_equal(err.msg, want);
        assert_int_equal(h.n, 0);
        unlink(path);
        free(path);
    }
}

/* The shipped file loads, and each of the procedures' problems finds its hint. */
static void
test_shipped(void **state)
{
    static const struct {
        const char *text, *id;
    } cases[] = {
        {"pg_dump -Fc\npg_dump: error: query failed: ERROR:  out of memory",
         "pg-dump-out-of-memory"},
        {"pg_dump ...\ntimed out after 10m", "pg-dump-too-slow"},
        {"pg_restore -d x\ntimed out after 1h", "restore-too-slow"},
        {"s3: PUT s3://b/k: HTTP 500 InternalError", "s3-upload-failed"},
        {"s3: GET s3://b/k: HTTP 403 RequestTimeTooSkewed", "s3-clock-skew"},
        {"neon: restore point X is outside the project's history window of 1 day",
         "history-window-too-short"},
        {"neon: POST /projects/p/branches: HTTP 503: service unavailable", "neon-unavailable"},
        {"postgres: h:5432/db: relation \"users\" does not exist (SQLSTATE 42P01)",
         "relation-missing"},
        {"connection to server at \"ep-x-pooler.neon.tech\" failed: Connection refused",
         "pooler-connection-refused"},
        {"pg_dump: error: aborting because of server version mismatch", "pg-dump-version-mismatch"},
    };
    struct hints h;
    struct pd_err err = {0};
    char path[4096];

    (void)state;
    snprintf(path, sizeof(path), "%s/runbooks/hints",
             getenv("PGDRILL_TOP") ? getenv("PGDRILL_TOP") : ".");
    assert_int_equal(hints_load(&h, path, &err), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hint *m = hints_match(&h, cases[i].text);

        assert_non_null(m);
        assert_string_equal(m->id, cases[i].id);
    }
    hints_free(&h);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_match),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_shipped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
