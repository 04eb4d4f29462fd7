/*
 * Tests for core/pd_config: pd_config_env_number (the numeric settings of
 * verify and status) and the config file keys that stand for environment
 * variables, the environment winning over the file.
 */
#include "pd_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"

struct number_case {
    const char *value; /* NULL: unset */
    int rc;
    double want;
    const char *msg;
};

static void
test_env_number(void **state)
{
    static const struct number_case cases[] = {
        {NULL, 0, 7, NULL},
        {"", 0, 7, NULL},
        {"30", 0, 30, NULL},
        {"0.5", 0, 0.5, NULL},
        {"0", 0, 0, NULL},
        {"-1", PD_EINPUT, 7, "PGDRILL_TEST_DAYS: '-1' is not a number from 0 to 365"},
        {"400", PD_EINPUT, 7, "PGDRILL_TEST_DAYS: '400' is not a number from 0 to 365"},
        {"7d", PD_EINPUT, 7, "PGDRILL_TEST_DAYS: '7d' is not a number from 0 to 365"},
        {"nan", PD_EINPUT, 7, "PGDRILL_TEST_DAYS: 'nan' is not a number from 0 to 365"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pd_err err = {0};
        double v = -99;

        if (cases[i].value == NULL)
            unsetenv("PGDRILL_TEST_DAYS");
        else
            setenv("PGDRILL_TEST_DAYS", cases[i].value, 1);
        assert_int_equal(pd_config_env_number(&v, "PGDRILL_TEST_DAYS", 7, 0, 365, &err),
                         cases[i].rc);
        assert_true(v == cases[i].want);
        if (cases[i].msg != NULL)
            assert_string_equal(err.msg, cases[i].msg);
    }
    unsetenv("PGDRILL_TEST_DAYS");
}

static void
test_file_keys(void **state)
{
    char tmpl[] = "/tmp/pgdrill-config-test.XXXXXX";
    char *dir = mkdtemp(tmpl), *sub, *path, *cmd;
    static const char text[] = "verify.history_days = 30\n"
                               "verify.shrink_ratio = 0.4\n"
                               "status.backup_days = 9\n"
                               "status.verify_days = 32\n"
                               "status.drill_days = 93\n"
                               "contact.neon-support = Neon console\n"
                               "retention_days.pre-release = 45\n";
    struct pd_config cfg;
    struct pd_err err = {0};

    (void)state;
    assert_non_null(dir);
    sub = pd_xasprintf("%s/pgdrill", dir);
    path = pd_xasprintf("%s/config", sub);
    assert_int_equal(pd_mkdir_p(sub, 0700, &err), 0);
    assert_int_equal(pd_write_atomic(path, text, sizeof(text) - 1, 0600, &err), 0);
    setenv("XDG_CONFIG_HOME", dir, 1);
    unsetenv("PGDRILL_VERIFY_HISTORY_DAYS");
    unsetenv("PGDRILL_VERIFY_SHRINK_RATIO");
    unsetenv("PGDRILL_STATUS_BACKUP_DAYS");
    unsetenv("PGDRILL_STATUS_DRILL_DAYS");
    unsetenv("PGDRILL_CONTACT_NEON_SUPPORT");
    unsetenv("PGDRILL_RETENTION_DAYS_PRE_RELEASE");
    setenv("PGDRILL_STATUS_VERIFY_DAYS", "40", 1); // the environment wins
    assert_int_equal(pd_config_load(&cfg, NULL, &err), 0);
    assert_string_equal(getenv("PGDRILL_VERIFY_HISTORY_DAYS"), "30");
    assert_string_equal(getenv("PGDRILL_VERIFY_SHRINK_RATIO"), "0.4");
    assert_string_equal(getenv("PGDRILL_STATUS_BACKUP_DAYS"), "9");
    assert_string_equal(getenv("PGDRILL_STATUS_VERIFY_DAYS"), "40");
    assert_string_equal(getenv("PGDRILL_STATUS_DRILL_DAYS"), "93");
    assert_string_equal(getenv("PGDRILL_CONTACT_NEON_SUPPORT"), "Neon console");
    assert_string_equal(getenv("PGDRILL_RETENTION_DAYS_PRE_RELEASE"), "45");
    unsetenv("PGDRILL_CONTACT_NEON_SUPPORT");
    unsetenv("PGDRILL_RETENTION_DAYS_PRE_RELEASE");
    pd_config_free(&cfg);
    cmd = pd_xasprintf("rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(path);
    free(sub);
}

static void
test_env_name(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(pd_config_env_name(out, sizeof(out), PD_CONFIG_CONTACT_PREFIX, "on-call"), 0);
    assert_string_equal(out, "PGDRILL_CONTACT_ON_CALL");
    assert_int_equal(pd_config_env_name(out, sizeof(out), "P_", "aws-support"), 0);
    assert_string_equal(out, "P_AWS_SUPPORT");
    assert_int_equal(pd_config_env_name(out, sizeof(out), "P_", ""), -1);
    assert_int_equal(pd_config_env_name(out, sizeof(out), "P_", "On-call"), -1);
    assert_int_equal(pd_config_env_name(out, sizeof(out), "P_", "a_b"), -1);
    // "PGDRILL_CONTACT_" (16) + 15 + NUL fits in 32, + 16 does not
    assert_int_equal(
        pd_config_env_name(out, sizeof(out), PD_CONFIG_CONTACT_PREFIX, "abcdefghijklmno"), 0);
    assert_int_equal(
        pd_config_env_name(out, sizeof(out), PD_CONFIG_CONTACT_PREFIX, "abcdefghijklmnop"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_number),
        cmocka_unit_test(test_file_keys),
        cmocka_unit_test(test_env_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
