/* Tests for core/training: fingerprint sets, the kinds, the grade's verdict and texts, the hold. */
#include "training/training.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "training/training.intern.h"

static void
test_fpset(void **state)
{
    struct fpset s = {0};

    (void)state;
    for (long long id = 1; id <= 1000; id++)
        fpset_add(&s, id * 3, id % 2 ? "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" : "bbbb");
    assert_int_equal(s.n, 1000);
    assert_int_equal(fpset_find(&s, 3), 0);
    assert_int_equal(fpset_find(&s, 3000), 999);
    assert_int_equal(fpset_find(&s, 4), -1);
    assert_int_equal(fpset_find(&s, 0), -1);
    assert_string_equal(s.fp[fpset_find(&s, 6)], "bbbb");
    fpset_free(&s);
    assert_int_equal(fpset_find(&s, 3), -1);
}

static void
test_unknown_kind(void **state)
{
    struct pd_err err;
    char sentinel[] = "untouched";
    char *ticket = sentinel;

    (void)state;
    pd_err_clear(&err);
    assert_int_equal(training_incident(&ticket, "/nonexistent", "flood", 1, &err), PD_EINPUT);
    assert_null(ticket);
    assert_string_equal(err.msg, "incident: unknown kind 'flood' (delete, corrupt, cascade, "
                                 "drop-table, bad-migration, neon-outage, history-expired)");
}

static void
test_no_url(void **state)
{
    struct pd_err err;
    char *url = NULL;

    (void)state;
    pd_err_clear(&err);
    assert_int_not_equal(training_url(&url, "/nonexistent-training", &err), 0);
    assert_null(url);
    assert_non_null(strstr(err.msg, "training: production's URL: "));
}

static void
test_no_truth(void **state)
{
    struct pd_err err;
    struct training_grade g;

    (void)state;
    pd_err_clear(&err);
    assert_int_equal(training_grade_run(&g, "/nonexistent-training", "/nonexistent", NULL, &err),
                     PD_EINPUT);
    assert_string_equal(err.msg,
                        "grade: no incident to grade (raise one with: pgdrill sandbox incident)");
}

/* A grade by hand: passed only with nothing missing, wrong, collateral or not back. */
static void
test_grade_verdict(void **state)
{
    static const struct {
        size_t missing, wrong, collateral, other;
        const char *not_back;
        bool passed;
    } cases[] = {
        {0, 0, 0, 0, "", true},  {3, 0, 0, 0, "", false}, {0, 2, 0, 0, "", false},
        {0, 0, 1, 0, "", false}, {0, 0, 0, 1, "", false}, {0, 0, 0, 0, "users", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct training_grade g = {0};
        char *text, *json;

        g.kind = pd_xstrdup("delete");
        g.incident_at = 1796614434.5;
        g.restored_at = i == 0 ? 1796614462.1 : 0;
        g.missing = cases[i].missing;
        g.wrong = cases[i].wrong;
        g.collateral = cases[i].collateral;
        g.untouched_changed = cases[i].other;
        g.problems = pd_xstrdup(cases[i].passed ? "" : "visits: 3 rows still missing (keys 7)");
        g.tables_missing = pd_xstrdup(cases[i].not_back);
        assert_int_equal(training_grade_passed(&g), cases[i].passed);
        text = training_grade_text(&g);
        json = training_grade_json(&g);
        assert_non_null(strstr(text, cases[i].passed ? "PASS: " : "FAIL: "));
        // to the minute only: the grade does not give the incident's second away
        assert_null(strstr(text, ":33:54"));
        assert_non_null(strstr(json, cases[i].passed ? "\"passed\":true" : "\"passed\":false"));
        assert_non_null(strstr(json, i == 0 ? "\"rto_s\":27.6" : "\"rto_s\":null"));
        assert_null(strstr(text, "backup taken before it"));
        assert_null(strstr(json, "\"backup\""));
        free(text);
        free(json);
        training_grade_clear(&g);
    }
}

/* A kind that took a backup first: the grade states it, in both forms. */
static void
test_grade_backup(void **state)
{
    static const char key[] = "s3://care-commons-backups/weekly/"
                              "care-commons-backup-20261207-065921.sql.gz";
    struct training_grade g = {0};
    char *text, *json;

    (void)state;
    g.kind = pd_xstrdup("neon-outage");
    g.incident_at = 1796614434.5;
    g.problems = pd_xstrdup("");
    g.tables_missing = pd_xstrdup("");
    g.backup = pd_xstrdup(key);
    text = training_grade_text(&g);
    json = training_grade_json(&g);
    assert_non_null(
        strstr(text, "  backup taken before it      s3://care-commons-backups/weekly/"));
    assert_non_null(strstr(json, "\"backup\":\"s3://care-commons-backups/weekly/care-commons-"));
    assert_true(training_grade_passed(&g)); // the backup changes nothing in the verdict
    free(text);
    free(json);
    training_grade_clear(&g);
}

/* Conflicts are named for the trainee to check, and do not fail the grade by themselves. */
static void
test_grade_conflicts(void **state)
{
    struct training_grade g = {0};
    char *text, *json;

    (void)state;
    g.kind = pd_xstrdup("corrupt");
    g.problems = pd_xstrdup("");
    g.tables_missing = pd_xstrdup("");
    g.conflicts = 2;
    g.conflicts_named = pd_xstrdup("visits: 2 rows the incident changed were changed again by "
                                   "the application (conflicts: check by hand that the "
                                   "incident's change is not still in them) (keys 35 1182)");
    assert_true(training_grade_passed(&g));
    text = training_grade_text(&g);
    json = training_grade_json(&g);
    assert_non_null(strstr(text, "  conflicts to check by hand  2\n"));
    assert_non_null(strstr(text, "(keys 35 1182)\nPASS: "));
    assert_non_null(strstr(json, "\"conflicts\":2,\"conflicts_named\":\"visits: 2 rows"));
    // no restore closed the window yet
    assert_non_null(strstr(json, "\"conflicts_until_s\":null"));
    free(json);
    // the window closed 12.25 s after the incident ended
    g.incident_at = 1796614434.5;
    g.conflicts_until = 1796614446.75;
    json = training_grade_json(&g);
    assert_non_null(strstr(json, "\"conflicts_until_s\":12.25"));
    free(text);
    free(json);
    training_grade_clear(&g);
}

/* Without a running traffic the hold returns at once and release cleans up. */
static void
test_hold_release(void **state)
{
    char dir[] = "/tmp/pd-training-XXXXXX";
    char *hold;

    (void)state;
    assert_non_null(mkdtemp(dir));
    hold = training_path(dir, "hold");
    training_hold(dir);
    assert_int_equal(access(hold, F_OK), 0);
    training_release(dir);
    assert_int_not_equal(access(hold, F_OK), 0);
    free(hold);
    assert_int_equal(rmdir(dir), 0);
}

static volatile sig_atomic_t traffic_stop;

static void
on_alarm(int sig)
{
    (void)sig;
    traffic_stop = 1;
}

/* A traffic that cannot reach production keeps running and says why in traffic.state. */
static void
test_traffic_state(void **state)
{
    char dir[] = "/tmp/pd-training-XXXXXX";
    struct itimerval tv = {.it_value = {.tv_sec = 0, .tv_usec = 200000}};
    struct sigaction sa;
    struct pd_err err;
    char *path, *log, *text = NULL;
    size_t len = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    assert_int_equal(setitimer(ITIMER_REAL, &tv, NULL), 0);
    pd_err_clear(&err);
    assert_int_equal(training_traffic_run(dir, 3.0, &traffic_stop, &err), 0);
    path = training_path(dir, "traffic.state");
    log = training_path(dir, "traffic.log");
    assert_int_equal(pd_read_file(&text, &len, path, 4096, &err), 0);
    assert_int_equal(strncmp(text, "not writing since 20", 20), 0);
    assert_non_null(strstr(text, "Z: disconnected: training: production's URL: "));
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(log), 0);
    assert_int_equal(rmdir(dir), 0);
    free(text);
    free(path);
    free(log);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fpset),           cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_no_url),          cmocka_unit_test(test_no_truth),
        cmocka_unit_test(test_grade_verdict),   cmocka_unit_test(test_hold_release),
        cmocka_unit_test(test_grade_backup),    cmocka_unit_test(test_traffic_state),
        cmocka_unit_test(test_grade_conflicts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
