/*
 * Tests for core/verify: dating backups by their names, ordering, sizes and
 * ages as the operator sees them, the verdict's exit code, dump formats.
 * verify_run and verify_restore are exercised end to end against s3rver
 * and the sandbox Neon server in tests/integration/verify.sh and
 * restore_s3.sh.
 */
#include "verify/verify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "verify/restore.h"

struct key_case {
    const char *key;
    int rc;
    double want;
};

static void
test_key_time(void **state)
{
    static const struct key_case cases[] = {
        {"weekly/care-commons-backup-20250101-020000.sql.gz", 0, 1735696800.0},
        {"care-commons-backup-20250101-020000.sql.gz", 0, 1735696800.0},
        {"care-commons-backup-20240229-235959.dump", 0, 1709251199.0},
        {"pre-release/care-commons-backup-20261126-051006.sql", 0, 1795669806.0},
        {"x/care-commons-backup-20261126-051006", 0, 1795669806.0},
        // the timestamp of the basename, not of a folder
        {"2025-backups-20200101-000000/care-commons-backup-20250101-020000.sql.gz", 0,
         1735696800.0},
        {"weekly/care-commons-backup-20250230-020000.sql.gz", -1, 0},  // no 30 February
        {"weekly/care-commons-backup-20251301-020000.sql.gz", -1, 0},  // month 13
        {"weekly/care-commons-backup-20250101-250000.sql.gz", -1, 0},  // hour 25
        {"weekly/care-commons-backup-2025010-020000.sql.gz", -1, 0},   // short date
        {"weekly/care-commons-backup-20250101-020000x.sql.gz", -1, 0}, // not followed by '.'
        {"weekly/backup.sql.gz", -1, 0},
        {"", -1, 0},
        {"weekly/", -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double t = -1;
        int rc = verify_key_time(cases[i].key, &t);

        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].key, rc, cases[i].rc);
        if (rc == 0 && t != cases[i].want)
            fail_msg("case %zu (%s): %.0f, want %.0f", i, cases[i].key, t, cases[i].want);
    }
}

static void
test_sort_newest_first(void **state)
{
    struct verify_backups b = {0};
    static const char *const keys[] = {"w/a-20250101-000000.sql.gz", "w/c-20250301-000000.sql.gz",
                                       "w/b-20250201-000000.sql.gz", "w/same.sql.gz",
                                       "w/same2.sql.gz"};
    static const char *const want[] = {"w/c-20250301-000000.sql.gz", "w/same2.sql.gz",
                                       "w/same.sql.gz", "w/b-20250201-000000.sql.gz",
                                       "w/a-20250101-000000.sql.gz"};

    (void)state;
    b.n = sizeof(keys) / sizeof(keys[0]);
    b.items = pd_xcalloc(b.n, sizeof(*b.items));
    for (size_t i = 0; i < b.n; i++) {
        b.items[i].key = pd_xstrdup(keys[i]);
        b.items[i].time_from_key = verify_key_time(keys[i], &b.items[i].time) == 0;
        if (!b.items[i].time_from_key)
            b.items[i].time = 1739000000.0; // LastModified: between February and March
    }
    verify_backups_sort(&b);
    for (size_t i = 0; i < b.n; i++)
        assert_string_equal(b.items[i].key, want[i]);
    verify_backups_free(&b);
    assert_null(b.items);
    assert_int_equal(b.n, 0);
}

static void
test_format(void **state)
{
    static const struct {
        unsigned long long bytes;
        const char *want;
    } sizes[] = {{0, "0 B"},
                 {1023, "1023 B"},
                 {1024, "1.0 KiB"},
                 {1536, "1.5 KiB"},
                 {1048576, "1.0 MiB"},
                 {157286400, "150.0 MiB"},
                 {1073741824ULL * 3, "3.0 GiB"},
                 {1099511627776ULL * 2, "2.0 TiB"}};

    static const struct {
        double s;
        const char *want;
    } ages[] = {{0, "<1m"},
                {59, "<1m"},
                {-30, "<1m"},
                {60, "1m"},
                {3599, "59m"},
                {3600, "1h 0m"},
                {86399, "23h 59m"},
                {86400, "1d 0h"},
                {8 * 86400 + 7200, "8d 2h"},
                {-3600, "in the future"}};

    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        verify_format_size(buf, sizeof(buf), sizes[i].bytes);
        assert_string_equal(buf, sizes[i].want);
    }
    for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
        verify_format_age(buf, sizeof(buf), ages[i].s);
        assert_string_equal(buf, ages[i].want);
    }
}

static void
test_exit_code(void **state)
{
    struct verify_check checks[3];
    struct verify_report r;

    static const struct {
        enum verify_status st[3];
        int want;
    } cases[] = {
        {{VERIFY_PASS, VERIFY_PASS, VERIFY_PASS}, 0},  {{VERIFY_PASS, VERIFY_FAIL, VERIFY_PASS}, 1},
        {{VERIFY_FAIL, VERIFY_ERROR, VERIFY_PASS}, 3}, // incomplete outranks failed
        {{VERIFY_ERROR, VERIFY_PASS, VERIFY_FAIL}, 3}, {{VERIFY_PASS, VERIFY_SKIP, VERIFY_PASS}, 0},
    };

    (void)state;
    memset(&r, 0, sizeof(r));
    memset(checks, 0, sizeof(checks));
    r.checks = checks;
    r.n_checks = 3;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t k = 0; k < 3; k++)
            // cppcheck-suppress unreadVariable ; verify_exit_code reads it through r.checks
            checks[k].status = cases[i].st[k];
        assert_int_equal(verify_exit_code(&r), cases[i].want);
    }
    assert_string_equal(verify_status_name(VERIFY_ERROR), "error");
    assert_string_equal(verify_status_name(VERIFY_FAIL), "fail");
}

static void
test_dump_format(void **state)
{
    (void)state;
    assert_int_equal(verify_dump_format_parse(NULL), VERIFY_DUMP_AUTO);
    assert_int_equal(verify_dump_format_parse("auto"), VERIFY_DUMP_AUTO);
    assert_int_equal(verify_dump_format_parse("plain"), VERIFY_DUMP_PLAIN);
    assert_int_equal(verify_dump_format_parse("custom"), VERIFY_DUMP_CUSTOM);
    assert_int_equal(verify_dump_format_parse("directory"), -1);
    assert_int_equal(verify_dump_format_of_key("w/care-commons-backup-20250101-020000.sql.gz"),
                     VERIFY_DUMP_PLAIN);
    assert_int_equal(verify_dump_format_of_key("w/care-commons-backup-20250101-020000.dump"),
                     VERIFY_DUMP_CUSTOM);
    assert_int_equal(verify_dump_format_of_key("w/care-commons-backup-20250101-020000.dump.gz"),
                     VERIFY_DUMP_CUSTOM);
    assert_int_equal(verify_dump_format_of_key("w/x.dumpster.gz"), VERIFY_DUMP_PLAIN);
}

/* Misuse is refused before any request; an empty url is named. */
static void
test_restore_refuses(void **state)
{
    struct verify_restore_result r;
    struct verify_restore_opts o;
    struct pd_err err = {0};

    (void)state;
    memset(&o, 0, sizeof(o));
    assert_int_equal(verify_restore(&r, NULL, "b", "k.sql.gz", &o, &err), PD_EINPUT);
    assert_string_equal(err.msg, "restore: no target database url");
    assert_int_equal(r.exit_code, -1);
    o.url = "postgres://u:s3cret@h:5432/db?bogus_option=1";
    pd_err_clear(&err);
    assert_int_equal(verify_restore(&r, NULL, "b", "k.sql.gz", &o, &err), PD_EINPUT);
    assert_string_equal(err.msg, "restore: the target database url does not parse");
    assert_null(strstr(err.msg, "s3cret"));
}

/* Sizes newest first; the newest shrank below ratio x the median of the four before it. */
static void
test_shrank(void **state)
{
    static const struct {
        uint64_t sizes[6];
        size_t n;
        double ratio;
        int want;
        double median;
    } rows[] = {
        {{100, 1000, 1000, 1000, 1000}, 5, 0.5, 1, 1000},
        {{500, 1000, 1000, 1000, 1000}, 5, 0.5, 0, 1000},
        {{499, 1000, 900, 1100, 10}, 5, 0.5, 0, 950},
        {{474, 1000, 900, 1100, 10}, 5, 0.5, 1, 950},
        {{10, 1000, 1000, 1000}, 4, 0.5, -1, 0},
        {{10, 1000, 1000, 1000, 1000, 1}, 6, 0.5, 1, 1000}, // only the four before it count
        {{400, 1000, 1000, 1000, 1000}, 5, 0.3, 0, 1000},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct verify_backup items[6];
        struct verify_backups b = {items, rows[i].n};
        double median;

        memset(items, 0, sizeof(items));
        for (size_t k = 0; k < rows[i].n; k++)
            b.items[k].size = rows[i].sizes[k];
        assert_int_equal(verify_shrank(&b, rows[i].ratio, &median), rows[i].want);
        assert_true(median == rows[i].median);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_time),    cmocka_unit_test(test_sort_newest_first),
        cmocka_unit_test(test_format),      cmocka_unit_test(test_exit_code),
        cmocka_unit_test(test_dump_format), cmocka_unit_test(test_restore_refuses),
        cmocka_unit_test(test_shrank),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
