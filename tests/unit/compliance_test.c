/*
 * Tests for core/compliance: the recorder and its three judges, the
 * retention settings they read (core/backup) and the hooks of the HTTP and
 * S3 layers that feed them (plain-http override, warnings, endpoints).
 */
#include "compliance/compliance.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "backup/backup.h"
#include "drill/drill.h"
#include "engine/engine.h"
#include "http/http.h"
#include "pd_config.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "report/report.h"
#include "runbook/runbook.h"
#include "s3/creds.h"
#include "support/fake_server.h"

static int
reset(void **state)
{
    (void)state;
    compliance_observe();
    compliance_reset();
    unsetenv("PGDRILL_ALLOW_PLAIN_HTTP");
    return 0;
}

/* ---- encryption at rest ---------------------------------------------------------------- */

struct obj {
    const char *bucket, *key, *sse;
};

static void
test_encryption(void **state)
{
    static const struct {
        const char *what;
        struct obj objs[4];
        enum compliance_status status;
        const char *detail;
    } cases[] = {
        {"nothing seen",
         {{NULL, NULL, NULL}},
         COMPLIANCE_FAILED,
         "no backup object was seen: nothing shows they are encrypted"},
        {"all encrypted",
         {{"b", "weekly/a.sql.gz", "AES256"},
          {"b", "weekly/b.sql.gz", "aws:kms"},
          {"b", "weekly/c.sql.gz", "AES256"}},
         COMPLIANCE_PASSED,
         "3 backup objects seen, all encrypted at rest (AES256, aws:kms)"},
        {"one plain object named",
         {{"b", "weekly/a.sql.gz", "AES256"}, {"b", "weekly/plain.sql.gz", NULL}},
         COMPLIANCE_FAILED,
         "1 of 2 backup objects seen not encrypted at rest: s3://b/weekly/plain.sql.gz"},
        {"an unknown value is not encryption",
         {{"b", "k1", "rot13"}, {"b", "k2", ""}},
         COMPLIANCE_FAILED,
         "2 of 2 backup objects seen not encrypted at rest: s3://b/k1 (unknown encryption), "
         "s3://b/k2"},
        {"seen again: the latest answer counts",
         {{"b", "k", NULL}, {"b", "k", "aws:kms:dsse"}},
         COMPLIANCE_PASSED,
         "1 backup object seen, all encrypted at rest (aws:kms:dsse)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct compliance_result r;

        compliance_reset();
        for (size_t k = 0; k < 4 && cases[i].objs[k].bucket; k++)
            compliance_note_object(cases[i].objs[k].bucket, cases[i].objs[k].key,
                                   cases[i].objs[k].sse);
        compliance_judge_encryption(&r);
        print_message("case: %s\n", cases[i].what);
        assert_string_equal(r.name, "backups-encrypted-at-rest");
        assert_int_equal(r.status, cases[i].status);
        assert_string_equal(r.detail, cases[i].detail);
        assert_string_equal(
            r.expected, "x-amz-server-side-encryption AES256 or aws:kms on every backup object");
        compliance_result_free(&r);
    }
}

static void
test_encryption_list_is_cut(void **state)
{
    struct compliance_result r;
    char key[32];

    (void)state;
    for (int i = 0; i < 15; i++) {
        snprintf(key, sizeof(key), "k%02d", i);
        compliance_note_object("b", key, NULL);
    }
    assert_int_equal(compliance_objects_seen(), 15);
    compliance_judge_encryption(&r);
    assert_int_equal(r.status, COMPLIANCE_FAILED);
    assert_string_equal(r.detail, "15 of 15 backup objects seen not encrypted at rest: s3://b/k00, "
                                  "s3://b/k01, s3://b/k02, s3://b/k03, s3://b/k04, s3://b/k05, "
                                  "s3://b/k06, s3://b/k07, s3://b/k08, s3://b/k09, s3://b/k10, "
                                  "s3://b/k11 and 3 more");
    compliance_result_free(&r);
}

/* ---- TLS ------------------------------------------------------------------------------- */

struct ep {
    const char *name;
    bool tls, loopback;
    const char *how;
};

static void
test_tls(void **state)
{
    static const struct {
        const char *what;
        struct ep eps[5];
        enum compliance_status status;
        const char *detail;
    } cases[] = {
        {"nothing contacted",
         {{NULL, false, false, NULL}},
         COMPLIANCE_PASSED,
         "no service outside loopback was contacted"},
        {"only loopback: exempt",
         {{"http://127.0.0.1:4568", false, true, NULL},
          {"postgres://127.0.0.1:5432", false, true, "sslmode=prefer, no TLS"}},
         COMPLIANCE_PASSED,
         "no service outside loopback was contacted; loopback, exempt: http://127.0.0.1:4568, "
         "postgres://127.0.0.1:5432 (sslmode=prefer, no TLS)"},
        {"remote over TLS, loopback exempt",
         {{"https://console.neon.tech:443", true, false, NULL},
          {"postgres://db.example.com:5432", true, false, "sslmode=require, TLS in use"},
          {"http://localhost:4568", false, true, NULL},
          {"https://console.neon.tech:443", true, false, NULL}},
         COMPLIANCE_PASSED,
         "TLS for every endpoint outside loopback: https://console.neon.tech:443, "
         "postgres://db.example.com:5432 (sslmode=require, TLS in use); loopback, exempt: "
         "http://localhost:4568"},
        {"plain http outside loopback fails",
         {{"https://s3.eu-west-1.amazonaws.com", true, false, NULL},
          {"http://192.0.2.2:9000", false, false, "PGDRILL_ALLOW_PLAIN_HTTP"}},
         COMPLIANCE_FAILED,
         "without TLS outside loopback: http://192.0.2.2:9000 (PGDRILL_ALLOW_PLAIN_HTTP); with "
         "TLS: https://s3.eu-west-1.amazonaws.com"},
        {"a database without TLS fails",
         {{"postgres://db.example.com:5432", false, false, "sslmode=prefer, no TLS"}},
         COMPLIANCE_FAILED,
         "without TLS outside loopback: postgres://db.example.com:5432 (sslmode=prefer, no TLS)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct compliance_result r;

        compliance_reset();
        for (size_t k = 0; k < 5 && cases[i].eps[k].name; k++)
            compliance_note_endpoint(cases[i].eps[k].name, cases[i].eps[k].tls,
                                     cases[i].eps[k].loopback, cases[i].eps[k].how);
        compliance_judge_tls(&r);
        print_message("case: %s\n", cases[i].what);
        assert_string_equal(r.name, "tls-outside-loopback");
        assert_int_equal(r.status, cases[i].status);
        assert_string_equal(r.detail, cases[i].detail);
        compliance_result_free(&r);
    }
}

static void
test_take_plain_http(void **state)
{
    char *s;

    (void)state;
    assert_null(compliance_take_plain_http());
    compliance_note_endpoint("http://127.0.0.1:1", false, true, NULL);
    compliance_note_endpoint("https://a.example:443", true, false, NULL);
    assert_null(compliance_take_plain_http());
    compliance_note_endpoint("http://192.0.2.2:80", false, false, NULL);
    compliance_note_endpoint("http://192.0.2.3:80", false, false, NULL);
    s = compliance_take_plain_http();
    assert_string_equal(s, "http://192.0.2.2:80, http://192.0.2.3:80");
    free(s);
    // named in the entry after each use, not again without a new use
    assert_null(compliance_take_plain_http());
    compliance_note_endpoint("http://192.0.2.4:80", false, false, NULL);
    compliance_note_endpoint("http://192.0.2.2:80", false, false, NULL);
    s = compliance_take_plain_http();
    assert_string_equal(s, "http://192.0.2.2:80, http://192.0.2.4:80");
    free(s);
    assert_null(compliance_take_plain_http());
}

/* ---- retention ------------------------------------------------------------------------- */

static void
test_retention(void **state)
{
    static const struct {
        struct compliance_retention r[3];
        size_t n;
        enum compliance_status status;
        const char *detail;
    } cases[] = {
        {{{"weekly", 90}, {"pre-migration", 90}, {"pre-release", 90}},
         3,
         COMPLIANCE_FLAGGED,
         "weekly keeps 90 days, pre-migration keeps 90 days, pre-release keeps 90 days: shorter "
         "than the 7 years (2557 days) medical and visit records must be kept; configure a "
         "long-term archive of these backups for at least 2557 days outside pgdrill's clean-up "
         "(e.g. an S3 lifecycle rule on the backup bucket moving them to an archive storage "
         "class) and set PGDRILL_RETENTION_DAYS_<CLASS> or retention_days.<class> to match"},
        {{{"weekly", 2600}, {"pre-migration", 2556}, {"pre-release", 2557}},
         3,
         COMPLIANCE_FLAGGED,
         "pre-migration keeps 2556 days: shorter than the 7 years (2557 days) medical and visit "
         "records must be kept; configure a long-term archive of these backups for at least 2557 "
         "days outside pgdrill's clean-up (e.g. an S3 lifecycle rule on the backup bucket moving "
         "them to an archive storage class) and set PGDRILL_RETENTION_DAYS_<CLASS> or "
         "retention_days.<class> to match"},
        {{{"weekly", 2600}, {"pre-migration", 2557}, {"pre-release", 3000}},
         3,
         COMPLIANCE_PASSED,
         "weekly keeps 2600 days, pre-migration keeps 2557 days, pre-release keeps 3000 days: at "
         "least 7 years (2557 days)"},
        {{{NULL, 0}}, 0, COMPLIANCE_FLAGGED, "no backup class configured"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct compliance_result r;

        compliance_judge_retention(&r, cases[i].r, cases[i].n);
        assert_string_equal(r.name, "retention-meets-7-years");
        assert_int_equal(r.status, cases[i].status);
        assert_string_equal(r.detail, cases[i].detail);
        assert_string_equal(r.expected, "every backup class kept >= 2557 days (7 years)");
        compliance_result_free(&r);
    }
    assert_string_equal(compliance_status_name(COMPLIANCE_PASSED), "passed");
    assert_string_equal(compliance_status_name(COMPLIANCE_FAILED), "failed");
    assert_string_equal(compliance_status_name(COMPLIANCE_FLAGGED), "flagged");
}

static void
test_retention_settings(void **state)
{
    static const struct {
        const char *all, *weekly, *pre_migration;
        const char *cls;
        int rc, days;
        const char *msg;
    } cases[] = {
        {NULL, NULL, NULL, "weekly", 0, 90, ""},
        {"2600", NULL, NULL, "weekly", 0, 2600, ""},
        {"2600", "30", NULL, "weekly", 0, 30, ""},
        {"2600", "30", "3000", "pre-migration", 0, 3000, ""},
        {"2600", "30", NULL, "pre-release", 0, 2600, ""},
        {"", "", NULL, "weekly", 0, 90, ""},
        {NULL, "90d", NULL, "weekly", PD_EINPUT, 90,
         "PGDRILL_RETENTION_DAYS_WEEKLY: '90d' is not a number of days (1-36500)"},
        {"0", NULL, NULL, "pre-release", PD_EINPUT, 90,
         "PGDRILL_RETENTION_DAYS: '0' is not a number of days (1-36500)"},
        {NULL, NULL, "36501", "pre-migration", PD_EINPUT, 90,
         "PGDRILL_RETENTION_DAYS_PRE_MIGRATION: '36501' is not a number of days (1-36500)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pd_err err = {0};
        int days = -1;

        if (cases[i].all)
            setenv("PGDRILL_RETENTION_DAYS", cases[i].all, 1);
        else
            unsetenv("PGDRILL_RETENTION_DAYS");
        if (cases[i].weekly)
            setenv("PGDRILL_RETENTION_DAYS_WEEKLY", cases[i].weekly, 1);
        else
            unsetenv("PGDRILL_RETENTION_DAYS_WEEKLY");
        if (cases[i].pre_migration)
            setenv("PGDRILL_RETENTION_DAYS_PRE_MIGRATION", cases[i].pre_migration, 1);
        else
            unsetenv("PGDRILL_RETENTION_DAYS_PRE_MIGRATION");
        assert_int_equal(backup_retention_days(&days, cases[i].cls, &err), cases[i].rc);
        assert_int_equal(days, cases[i].days);
        assert_string_equal(err.msg, cases[i].msg);
    }
    unsetenv("PGDRILL_RETENTION_DAYS");
    unsetenv("PGDRILL_RETENTION_DAYS_WEEKLY");
    unsetenv("PGDRILL_RETENTION_DAYS_PRE_MIGRATION");
}

/* The config file sets the same variables, the environment winning. */
static void
test_config_file_keys(void **state)
{
    char dir[] = "/tmp/compliance-test.XXXXXX";
    char *path, *xdg_old = getenv("XDG_CONFIG_HOME") ? pd_xstrdup(getenv("XDG_CONFIG_HOME")) : NULL;
    struct pd_config cfg;
    struct pd_err err = {0};
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    path = pd_xasprintf("%s/pgdrill", dir);
    assert_int_equal(pd_mkdir_p(path, 0700, &err), 0);
    free(path);
    path = pd_xasprintf("%s/pgdrill/config", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("allow_plain_http = 1\nretention_days = 2600\nretention_days.pre-release = 3000\n"
          "retention_days.weekly = 10\ncompression_level = 9\n",
          f);
    assert_int_equal(fclose(f), 0);
    setenv("XDG_CONFIG_HOME", dir, 1);
    unsetenv("PGDRILL_RETENTION_DAYS");
    unsetenv("PGDRILL_RETENTION_DAYS_PRE_RELEASE");
    setenv("PGDRILL_RETENTION_DAYS_WEEKLY", "20", 1);
    assert_int_equal(pd_config_load(&cfg, NULL, &err), 0);
    assert_string_equal(getenv("PGDRILL_ALLOW_PLAIN_HTTP"), "1");
    assert_string_equal(getenv("PGDRILL_RETENTION_DAYS"), "2600");
    assert_string_equal(getenv("PGDRILL_RETENTION_DAYS_PRE_RELEASE"), "3000");
    assert_string_equal(getenv("PGDRILL_RETENTION_DAYS_WEEKLY"), "20");
    assert_string_equal(getenv("PGDRILL_COMPRESSION_LEVEL"), "9");
    {
        int level = 0;

        assert_int_equal(backup_level(&level, &err), 0);
        assert_int_equal(level, 9);
        setenv("PGDRILL_COMPRESSION_LEVEL", "0", 1);
        assert_int_equal(backup_level(&level, &err), PD_EINPUT);
        assert_string_equal(err.msg,
                            "PGDRILL_COMPRESSION_LEVEL: '0' is not a compression level (1-12)");
        unsetenv("PGDRILL_COMPRESSION_LEVEL");
        assert_int_equal(backup_level(&level, &err), 0);
        assert_int_equal(level, 6);
    }
    pd_config_free(&cfg);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("retention_days.Weekly = 10\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(pd_config_load(&cfg, NULL, &err), PD_EINPUT);
    assert_non_null(strstr(err.msg, "config:1: unknown key 'retention_days.Weekly'"));
    pd_config_free(&cfg);

    unlink(path);
    free(path);
    path = pd_xasprintf("%s/pgdrill", dir);
    rmdir(path);
    free(path);
    rmdir(dir);
    if (xdg_old)
        setenv("XDG_CONFIG_HOME", xdg_old, 1);
    else
        unsetenv("XDG_CONFIG_HOME");
    free(xdg_old);
    unsetenv("PGDRILL_ALLOW_PLAIN_HTTP");
    unsetenv("PGDRILL_COMPRESSION_LEVEL");
    unsetenv("PGDRILL_RETENTION_DAYS");
    unsetenv("PGDRILL_RETENTION_DAYS_PRE_RELEASE");
    unsetenv("PGDRILL_RETENTION_DAYS_WEEKLY");
}

/* ---- the transport hooks --------------------------------------------------------------- */

struct logs {
    char *lines[8];
    size_t n;
};

static void
sink(enum pd_log_level level, const char *msg, void *payload)
{
    struct logs *l = payload;

    if (level == PD_LOG_WARN && l->n < 8)
        l->lines[l->n++] = pd_xstrdup(msg);
}

static void
logs_free(struct logs *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->lines[i]);
    l->n = 0;
}

static void
test_plain_http_override(void **state)
{
    static const char *const urls[] = {"http://10.0.0.1/", "http://console.neon.tech/api/v2"};
    struct pd_err err = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        char want[256];

        unsetenv("PGDRILL_ALLOW_PLAIN_HTTP");
        assert_int_equal(http_check_url(urls[i], &err), PD_EUSAGE);
        snprintf(want, sizeof(want),
                 "http: %s: plain http is allowed only for loopback hosts (use https, or set "
                 "PGDRILL_ALLOW_PLAIN_HTTP=1 to override)",
                 urls[i]);
        assert_string_equal(err.msg, want);
        setenv("PGDRILL_ALLOW_PLAIN_HTTP", "0", 1);
        assert_int_equal(http_check_url(urls[i], &err), PD_EUSAGE);
        setenv("PGDRILL_ALLOW_PLAIN_HTTP", "1", 1);
        pd_err_clear(&err);
        assert_int_equal(http_check_url(urls[i], &err), 0);
        setenv("PGDRILL_ALLOW_PLAIN_HTTP", "true", 1);
        assert_int_equal(http_check_url(urls[i], &err), 0);
    }
    // the override never opens other schemes
    assert_int_equal(http_check_url("ftp://10.0.0.1/", &err), PD_EUSAGE);
    assert_string_equal(err.msg, "http: ftp://10.0.0.1/: unsupported scheme ftp (use https)");
}

static void
test_s3_endpoint_override(void **state)
{
    char ak[] = "AK", sk[] = "SK", region[] = "us-east-1";
    char plain_ep[] = "http://192.0.2.9:9000", local_ep[] = "http://127.0.0.1:4568";
    struct s3_creds c = {.access_key_id = ak, .secret_access_key = sk, .region = region};
    struct s3_target t;
    struct pd_err err = {0};
    struct logs l = {0};
    struct compliance_result r;

    (void)state;
    c.endpoint_url = plain_ep;
    assert_int_equal(s3_creds_target(&t, &c, "bkt", "k", &err), PD_EINPUT);
    assert_string_equal(err.msg, "s3: endpoint 'http://192.0.2.9:9000' uses plain http; only "
                                 "loopback hosts may, use https:// (or set "
                                 "PGDRILL_ALLOW_PLAIN_HTTP=1 to override)");
    setenv("PGDRILL_ALLOW_PLAIN_HTTP", "1", 1);
    assert_int_equal(s3_creds_target(&t, &c, "bkt", "k", &err), 0);
    assert_int_equal(t.https, 0);
    assert_int_equal(t.loopback, 0);
    assert_string_equal(t.url, "http://192.0.2.9:9000/bkt/k");

    pd_log_set_sink(sink, &l);
    s3_target_note(&t, 1);
    s3_target_note(&t, 0); // a reused connection is not warned about again
    pd_log_set_sink(NULL, NULL);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.lines[0], "WARNING: plain http to non-loopback host 192.0.2.9:9000 "
                                    "(PGDRILL_ALLOW_PLAIN_HTTP is set): the connection is not "
                                    "encrypted");
    logs_free(&l);
    s3_target_free(&t);

    c.endpoint_url = local_ep;
    assert_int_equal(s3_creds_target(&t, &c, "bkt", "k", &err), 0);
    assert_int_equal(t.loopback, 1);
    s3_target_note(&t, 1);
    s3_target_free(&t);

    compliance_judge_tls(&r);
    assert_int_equal(r.status, COMPLIANCE_FAILED);
    assert_string_equal(r.detail, "without TLS outside loopback: http://192.0.2.9:9000 "
                                  "(PGDRILL_ALLOW_PLAIN_HTTP); loopback, exempt: "
                                  "http://127.0.0.1:4568");
    compliance_result_free(&r);
}

/* A real request over loopback is recorded, exempt, and not warned about. */
static void
test_http_records_endpoint(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct http_request req = {.method = "GET"};
    struct pd_err err = {0};
    struct logs l = {0};
    struct compliance_result r;
    char *url, *want;

    (void)state;
    fake_start(&s);
    fake_json(&s, 200, "{}");
    url = pd_xasprintf("http://127.0.0.1:%d/api/v2/projects", s.port);
    req.url = url;
    http_response_init(&resp);
    pd_log_set_sink(sink, &l);
    assert_int_equal(http_request(&resp, &req, &err), 0);
    assert_int_equal(http_request(&resp, &req, &err), 0);
    pd_log_set_sink(NULL, NULL);
    assert_int_equal(l.n, 0);
    compliance_judge_tls(&r);
    want = pd_xasprintf("no service outside loopback was contacted; loopback, exempt: "
                        "http://127.0.0.1:%d",
                        s.port);
    assert_int_equal(r.status, COMPLIANCE_PASSED);
    assert_string_equal(r.detail, want);
    compliance_result_free(&r);
    http_response_free(&resp);
    free(want);
    free(url);
    fake_stop(&s);
}

/* ---- the runbook action and the report ------------------------------------------------- */

static const char compliance_runbook[] =
    "# Compliance\n\n"
    "```pgdrill\nid: comp\n```\n\n"
    "## Compliance\n\n"
    "```compliance check=tls-outside-loopback on-fail=continue\n```\n\n"
    "```compliance check=retention-meets-7-years\n```\n\n"
    "```compliance check=backups-encrypted-at-rest on-fail=continue\n```\n";

static void
assert_compliance_json(const char *json, const char *verdict, int passed, int failed, int flagged)
{
    cJSON *root = cJSON_Parse(json);
    cJSON *c = cJSON_GetObjectItem(root, "compliance");

    assert_non_null(c);
    assert_string_equal(cJSON_GetObjectItem(c, "verdict")->valuestring, verdict);
    assert_int_equal(cJSON_GetObjectItem(c, "passed")->valueint, passed);
    assert_int_equal(cJSON_GetObjectItem(c, "failed")->valueint, failed);
    assert_int_equal(cJSON_GetObjectItem(c, "flagged")->valueint, flagged);
    cJSON_Delete(root);
}

/* Run compliance_runbook in a fresh drill under home; returns engine_run's result. */
static int
run_compliance(const char *home, struct drill **d, struct runbook **rb, struct pd_err *err)
{
    struct engine *e = NULL;
    struct engine_opts opts = {.yes = true};
    struct engine_events ev = {0};
    int rc;

    assert_int_equal(
        runbook_parse(rb, "comp.md", compliance_runbook, strlen(compliance_runbook), NULL, err), 0);
    assert_int_equal(drill_begin(d, home, *rb, "tester", err), 0);
    assert_int_equal(engine_new(&e, *rb, *d, &opts, &ev, NULL, err), 0);
    rc = engine_run(e, err);
    engine_free(e);
    return rc;
}

static void
test_runbook_and_report(void **state)
{
    char home[] = "/tmp/compliance-engine.XXXXXX", cmd[128];
    struct drill *d = NULL;
    struct runbook *rb = NULL;
    struct pd_err err = {0};
    char *json = NULL, *md = NULL;

    (void)state;
    assert_non_null(mkdtemp(home));
    unsetenv("PGDRILL_RETENTION_DAYS");
    unsetenv("PGDRILL_RETENTION_DAYS_WEEKLY");
    compliance_note_object("bkt", "weekly/plain.sql.gz", NULL);
    compliance_note_endpoint("https://console.neon.tech:443", true, false, NULL);

    // encryption fails (a plain object), retention is flagged, tls passes
    assert_int_equal(run_compliance(home, &d, &rb, &err), PD_ECHECK);
    assert_string_equal(
        err.msg, "step compliance/3: check compliance.backups-encrypted-at-rest: 1 of 1 backup "
                 "object seen not encrypted at rest: s3://bkt/weekly/plain.sql.gz");
    assert_string_equal(d->outcome, "failed");
    assert_int_equal(d->n_checks, 3);
    assert_string_equal(d->checks[0].name, "compliance.tls-outside-loopback");
    assert_true(d->checks[0].passed);
    assert_string_equal(d->checks[1].name, "compliance.retention-meets-7-years");
    assert_false(d->checks[1].passed);
    assert_true(d->checks[1].flagged);
    assert_int_equal(d->stages[0].steps[1].status, STEP_PASSED); // flagged: the step passes
    assert_string_equal(d->checks[2].name, "compliance.backups-encrypted-at-rest");
    assert_false(d->checks[2].passed);
    assert_false(d->checks[2].flagged);
    assert_int_equal(d->stages[0].steps[2].status, STEP_FAILED);

    assert_int_equal(report_json_string(&json, d, rb, &err), 0);
    assert_compliance_json(json, "failed", 1, 1, 1);
    {
        static const char *const want[][3] = {
            {"compliance.tls-outside-loopback", "passed",
             "TLS for every endpoint outside loopback: https://console.neon.tech:443"},
            {"compliance.retention-meets-7-years", "flagged", NULL},
            {"compliance.backups-encrypted-at-rest", "failed",
             "1 of 1 backup object seen not encrypted at rest: s3://bkt/weekly/plain.sql.gz"},
        };
        cJSON *root = cJSON_Parse(json);
        cJSON *checks = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "compliance"), "checks");

        assert_int_equal(cJSON_GetArraySize(checks), 3);
        for (int i = 0; i < 3; i++) {
            cJSON *c = cJSON_GetArrayItem(checks, i);

            assert_string_equal(cJSON_GetObjectItem(c, "name")->valuestring, want[i][0]);
            assert_string_equal(cJSON_GetObjectItem(c, "status")->valuestring, want[i][1]);
            if (want[i][2] != NULL)
                assert_string_equal(cJSON_GetObjectItem(c, "detail")->valuestring, want[i][2]);
        }
        cJSON_Delete(root);
    }
    assert_int_equal(report_md_string(&md, d, rb, &err), 0);
    assert_non_null(strstr(md, "## Compliance\n\nfailed: 1 passed, 1 failed, 1 flagged (a warning: "
                               "it does not fail the drill).\n"));
    assert_non_null(strstr(md, "| compliance.retention-meets-7-years | flagged | weekly keeps 90 "
                               "days, pre-migration keeps 90 days"));
    assert_non_null(strstr(md, "| compliance.backups-encrypted-at-rest | FAILED | 1 of 1 backup"));
    free(json);
    free(md);
    json = md = NULL;

    // the journal keeps "flagged": a replay gives the same checks
    {
        struct drill *again = NULL;
        char *id = pd_xstrdup(d->id);

        drill_free(d);
        d = NULL;
        assert_int_equal(drill_open(&again, home, id, false, &err), 0);
        assert_true(again->checks[1].flagged);
        assert_false(again->checks[2].flagged);
        drill_free(again);
        free(id);
    }
    runbook_free(rb);
    rb = NULL;

    // encrypted now, retention long enough: everything passes
    compliance_note_object("bkt", "weekly/plain.sql.gz", "AES256");
    setenv("PGDRILL_RETENTION_DAYS", "2600", 1);
    sleep(1); // a new drill id (ids have second resolution)
    assert_int_equal(run_compliance(home, &d, &rb, &err), 0);
    assert_string_equal(d->outcome, "passed");
    assert_int_equal(report_json_string(&json, d, rb, &err), 0);
    assert_compliance_json(json, "passed", 3, 0, 0);
    free(json);
    drill_free(d);
    runbook_free(rb);
    unsetenv("PGDRILL_RETENTION_DAYS");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    assert_int_equal(system(cmd), 0);
}

static void
test_lint(void **state)
{
    static const char text[] = "# X\n\n```pgdrill\nid: x\n```\n\n## S\n\n"
                               "```compliance check=gps\n```\n\n```compliance\n```\n";
    struct runbook *rb = NULL;
    struct runbook_diags diags = {0};
    struct pd_err err = {0};
    char *m0, *m1;

    (void)state;
    assert_int_equal(runbook_parse(&rb, "x.md", text, strlen(text), &diags, &err), PD_EINPUT);
    assert_int_equal(diags.n, 2);
    m0 = runbook_diag_format(&diags.items[0]);
    m1 = runbook_diag_format(&diags.items[1]);
    assert_string_equal(m0, "x.md:9:15: bad compliance check 'gps' (expected one of: "
                            "backups-encrypted-at-rest tls-outside-loopback "
                            "retention-meets-7-years)");
    assert_non_null(strstr(m1, "x.md:12:"));
    assert_non_null(strstr(m1, "check"));
    free(m0);
    free(m1);
    runbook_diags_free(&diags);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_encryption, reset),
        cmocka_unit_test_setup(test_encryption_list_is_cut, reset),
        cmocka_unit_test_setup(test_tls, reset),
        cmocka_unit_test_setup(test_take_plain_http, reset),
        cmocka_unit_test_setup(test_retention, reset),
        cmocka_unit_test_setup(test_retention_settings, reset),
        cmocka_unit_test_setup(test_config_file_keys, reset),
        cmocka_unit_test_setup(test_plain_http_override, reset),
        cmocka_unit_test_setup(test_s3_endpoint_override, reset),
        cmocka_unit_test_setup(test_http_records_endpoint, reset),
        cmocka_unit_test_setup(test_runbook_and_report, reset),
        cmocka_unit_test_setup(test_lint, reset),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    compliance_reset();
    return rc;
}
