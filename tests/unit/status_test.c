/*
 * Tests for core/status from local records only: never done is overdue,
 * the records verify and backup leave (the last passing run kept across
 * failing ones), the drills' reports, the limits from the environment, and
 * the text, JSON and Prometheus renderings. The S3 side (the weekly/
 * listing and the remote drill evidence) runs against s3rver in
 * tests/integration/status.sh.
 */
#include "status/status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "timeline/lines.h"

#define DAY 86400.0

static char *
make_home(void)
{
    char tmpl[] = "/tmp/pgdrill-status-test.XXXXXX";
    char *dir = mkdtemp(tmpl);

    assert_non_null(dir);
    return pd_xstrdup(dir);
}

static void
remove_home(char *home)
{
    char *cmd = pd_xasprintf("rm -rf '%s'", home);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(home);
}

static void
load(struct status *st, const char *home, double now)
{
    struct status_opts o = {.home = home, .now = now};
    struct pd_err err = {0};

    assert_int_equal(status_load(st, &o, &err), 0);
}

/* A drill's report.json as report/ writes it (the members status reads). */
static void
put_report(const char *home, const char *id, const char *runbook, const char *outcome, double at)
{
    char stamp[40];
    char *dir = pd_xasprintf("%s/drills/%s", home, id);
    char *path = pd_xasprintf("%s/report.json", dir);
    char *text;
    cJSON *root = cJSON_CreateObject(), *rb;
    struct pd_err err = {0};

    pd_time_format(stamp, sizeof(stamp), at);
    cJSON_AddStringToObject(root, "drill_id", id);
    rb = cJSON_AddObjectToObject(root, "runbook");
    cJSON_AddStringToObject(rb, "id", runbook);
    cJSON_AddStringToObject(root, "started_at", stamp);
    cJSON_AddStringToObject(root, "finished_at", stamp);
    cJSON_AddStringToObject(root, "outcome", outcome);
    cJSON_AddNumberToObject(root, "duration_s", 600);
    cJSON_AddNumberToObject(root, "rto_s", 540);
    cJSON_AddNumberToObject(root, "rpo_s", 137);
    text = cJSON_Print(root);
    assert_int_equal(pd_mkdir_p(dir, 0700, &err), 0);
    assert_int_equal(pd_write_atomic(path, text, strlen(text), 0600, &err), 0);
    free(text);
    cJSON_Delete(root);
    free(path);
    free(dir);
}

static void
test_fresh_is_overdue(void **state)
{
    char *home = make_home();
    struct status st;
    char *text;

    (void)state;
    load(&st, home, 1.8e9);
    assert_int_equal(status_exit_code(&st), 1);
    assert_true(st.backup_overdue && st.verify_overdue && st.drill_overdue);
    text = status_text(&st);
    assert_string_equal(text, "backup:        never: OVERDUE (limit 8 days)\n"
                              "verification:  never: OVERDUE (limit 31 days)\n"
                              "drill quarterly-drill: never: OVERDUE (limit 92 days)\n"
                              "status: 3 overdue\n");
    free(text);
    status_free(&st);
    remove_home(home);
}

static void
test_records_keep_last_success(void **state)
{
    char *home = make_home();
    struct pd_err err = {0};
    struct status st;
    double t0 = 1.8e9;
    char *text;

    (void)state;
    assert_int_equal(
        status_record_backup(home, t0, "passed", "weekly/b-1.sql.gz", 2048, 1, 9, &err), 0);
    assert_int_equal(
        status_record_backup(home, t0 + DAY, "failed", "weekly/b-2.sql.gz", 10, 0, 1, &err), 0);
    assert_int_equal(status_record_verify(home, t0, "passed", NULL, "weekly/b-1.sql.gz", 3, &err),
                     0);
    assert_int_equal(
        status_record_verify(home, t0 + DAY, "failed", "(s3.newest-size)", NULL, 4, &err), 0);
    put_report(home, "20270115-100000-quarterly-drill", "quarterly-drill", "passed", t0);
    put_report(home, "20270116-100000-quarterly-drill", "quarterly-drill", "failed", t0 + DAY);

    load(&st, home, t0 + 2 * DAY);
    // the failed backup did not replace the good one; it was verified after upload
    assert_string_equal(st.backup_key, "weekly/b-1.sql.gz");
    assert_true(st.backup_size == 2048 && st.backup_verified && st.backup_at == t0);
    assert_string_equal(st.backup_source, "local");
    // the last verify failed, the one before passed: not overdue
    assert_string_equal(st.verify_verdict, "failed");
    assert_true(st.verify_last_success == t0 && !st.verify_overdue);
    // the newest drill failed; the quarterly one counts from the passing one
    assert_int_equal((int)st.n_drills, 1);
    assert_string_equal(st.drills[0].drill_id, "20270116-100000-quarterly-drill");
    assert_string_equal(st.drills[0].outcome, "failed");
    assert_true(st.drills[0].last_success == t0 && !st.drill_overdue);
    assert_int_equal(status_exit_code(&st), 0);
    text = status_text(&st);
    assert_non_null(strstr(text, "failed (s3.newest-size); last passed 2027-01-15T08:00:00Z (2d 0h "
                                 "ago): ok\n"));
    // a failed drill achieved no RTO, whatever its report measured; its RPO stays
    assert_true(st.drills[0].rto_s < 0);
    assert_non_null(strstr(text, "20270116-100000-quarterly-drill failed, RTO -, RPO 2m17s: ok\n"));
    free(text);
    status_free(&st);

    // 9 days later the backup and 93 the drill are overdue; the limits name them
    load(&st, home, t0 + 93 * DAY);
    assert_true(st.backup_overdue && st.drill_overdue && st.verify_overdue);
    status_free(&st);
    remove_home(home);
}

static void
test_limits_from_env(void **state)
{
    struct status_opts o = {0};
    struct pd_err err = {0};

    (void)state;
    setenv("PGDRILL_STATUS_BACKUP_DAYS", "2", 1);
    setenv("PGDRILL_STATUS_DRILL_DAYS", "0.5", 1);
    unsetenv("PGDRILL_STATUS_VERIFY_DAYS");
    assert_int_equal(status_limits_from_env(&o, &err), 0);
    assert_true(o.backup_limit_s == 2 * DAY && o.verify_limit_s == 31 * DAY &&
                o.drill_limit_s == DAY / 2);
    setenv("PGDRILL_STATUS_VERIFY_DAYS", "monthly", 1);
    assert_int_equal(status_limits_from_env(&o, &err), PD_EINPUT);
    assert_string_equal(
        err.msg, "PGDRILL_STATUS_VERIFY_DAYS: 'monthly' is not a number from 1e-06 to 36500");
    unsetenv("PGDRILL_STATUS_BACKUP_DAYS");
    unsetenv("PGDRILL_STATUS_DRILL_DAYS");
    unsetenv("PGDRILL_STATUS_VERIFY_DAYS");
}

static void
test_renderings(void **state)
{
    char *home = make_home();
    struct pd_err err = {0};
    struct status st;
    struct lines lines = {0};
    char *m, *j;
    cJSON *root;

    (void)state;
    assert_int_equal(status_record_verify(home, 1.8e9, "passed", NULL, NULL, 3, &err), 0);
    put_report(home, "20270115-100000-odd", "odd\"id\\x", "passed", 1.8e9);
    load(&st, home, 1.8e9 + 60);

    m = status_metrics(&st);
    assert_non_null(strstr(m, "# TYPE pgdrill_overdue gauge\n"
                              "pgdrill_overdue{procedure=\"backup\"} 1\n"
                              "pgdrill_overdue{procedure=\"verification\"} 0\n"
                              "pgdrill_overdue{procedure=\"quarterly-drill\"} 1\n"));
    assert_non_null(
        strstr(m, "pgdrill_drill_last_rto_seconds{runbook=\"odd\\\"id\\\\x\"} 540.000\n"));
    assert_non_null(strstr(m, "pgdrill_verify_last_passed 1\n"));
    assert_non_null(strstr(m, "pgdrill_backup_last_success_timestamp_seconds 0.000\n"));
    free(m);

    j = status_json(&st);
    root = cJSON_Parse(j);
    assert_non_null(root);
    assert_int_equal(cJSON_GetObjectItem(root, "exit_code")->valueint, 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "backup"), "last_at")));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "verification"), "verdict")->valuestring,
        "passed");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "drills")), 1);
    cJSON_Delete(root);
    free(j);

    status_render_lines(&lines, &st);
    assert_int_equal((int)lines.n, 5);
    assert_int_equal(lines.items[0].kind, LINE_WARN);  // backup overdue
    assert_int_equal(lines.items[1].kind, LINE_PLAIN); // verification fine
    assert_int_equal(lines.items[2].kind, LINE_WARN);  // quarterly drill never done
    assert_int_equal(lines.items[3].kind, LINE_PLAIN); // the other drill
    assert_int_equal(lines.items[4].kind, LINE_HEADING);
    assert_string_equal(lines.items[4].text, "status: 2 overdue");
    lines_clear(&lines);
    status_free(&st);
    remove_home(home);
}

static void
test_unreadable_record_is_a_problem(void **state)
{
    char *home = make_home();
    char *dir = pd_xasprintf("%s/status", home);
    char *path = pd_xasprintf("%s/verify.json", dir);
    struct pd_err err = {0};
    struct status st;

    (void)state;
    assert_int_equal(pd_mkdir_p(dir, 0700, &err), 0);
    assert_int_equal(pd_write_atomic(path, "[1]", 3, 0600, &err), 0);
    load(&st, home, 1.8e9);
    assert_int_equal((int)st.n_problems, 1);
    assert_non_null(strstr(st.problems[0], "verify.json: not a JSON object"));
    assert_true(st.verify_overdue);
    status_free(&st);
    free(path);
    free(dir);
    remove_home(home);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_is_overdue),
        cmocka_unit_test(test_records_keep_last_success),
        cmocka_unit_test(test_limits_from_env),
        cmocka_unit_test(test_renderings),
        cmocka_unit_test(test_unreadable_record_is_a_problem),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
