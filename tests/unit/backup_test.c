/*
 * Unit tests for core/backup: class prefixes, backup names and their times,
 * the Slack payload, and the pipeline's refusals that need no S3 at all: a
 * pg_dump that fails, dies or says too little aborts before any request
 * (s3/upload only talks to S3 once a part is full), leaves no local file,
 * and pg_dump never sees the password on its command line.
 */
#include "backup/backup.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "s3/client.h"

static void
test_class_prefix(void **state)
{
    static const struct {
        const char *base, *cls, *want;
    } cases[] = {
        {"weekly", "weekly", "weekly/"},
        {"weekly", "pre-release", "pre-release/"},
        {"weekly/", "pre-migration", "pre-migration/"},
        {"prod/weekly", "pre-release", "prod/pre-release/"},
        {"prod/weekly//", "weekly", "prod/weekly/"},
        {"", "weekly", "weekly/"},
        {"prod", "weekly", "prod/weekly/"},
        {"prod/", "pre-migration", "prod/pre-migration/"},
        {"backups/weekly-old", "weekly", "backups/weekly-old/weekly/"},
        {"a/pre-release/b", "weekly", "a/pre-release/b/weekly/"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = backup_class_prefix(cases[i].base, cases[i].cls);

        assert_string_equal(got, cases[i].want);
        free(got);
    }
    {
        static const struct {
            const char *value, *want, *cls;
        } uris[] = {
            {"s3://b", "s3://b", NULL},
            {"s3://b/", "s3://b", NULL},
            {"s3://b/weekly", "s3://b", "weekly"},
            {"s3://b/weekly//", "s3://b", "weekly"},
            {"s3://b/prod/pre-release", "s3://b/prod", "pre-release"},
            {"s3://b/prod", "s3://b/prod", NULL},
            {"s3://weekly", "s3://weekly", NULL},
            {"s3://weekly/", "s3://weekly", NULL},
            {"s3://b/weekly-old", "s3://b/weekly-old", NULL},
            {"s3://b/weekly/x", "s3://b/weekly/x", NULL},
        };

        for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
            const char *cls = "unset";
            char *got = backup_base_uri(uris[i].value, &cls);

            assert_string_equal(got, uris[i].want);
            if (uris[i].cls == NULL)
                assert_null(cls);
            else
                assert_string_equal(cls, uris[i].cls);
            free(got);
        }
    }
    assert_true(backup_class_valid("weekly"));
    assert_true(backup_class_valid("pre-migration"));
    assert_true(backup_class_valid("pre-release"));
    assert_false(backup_class_valid("monthly"));
    assert_false(backup_class_valid(""));
}

static void
test_names(void **state)
{
    char name[BACKUP_NAME_LEN];
    double t;

    static const struct {
        const char *name;
        int ok;
    } cases[] = {
        {"care-commons-backup-20261126-040506.sql.gz", 1},
        {"care-commons-backup-20240229-235959.sql.gz", 1},
        {"care-commons-backup-20250229-000000.sql.gz", 0}, /* not a leap year */
        {"care-commons-backup-20261326-040506.sql.gz", 0},
        {"care-commons-backup-20261126-250506.sql.gz", 0},
        {"care-commons-backup-2026112-0405067.sql.gz", 0},
        {"care-commons-backup-20261126-040506.sql", 0},
        {"care-commons-backup-20261126-040506.sql.gz.bak", 0},
        {"xcare-commons-backup-20261126-040506.sql.gz", 0},
        {"care-commons-backup-old.sql.gz", 0},
        {"care-commons-backup-2026112a-040506.sql.gz", 0},
        {"", 0},
    };

    (void)state;
    backup_name(name, 1795665906.7); /* 2026-11-26T04:05:06.7Z */
    assert_string_equal(name, "care-commons-backup-20261126-040506.sql.gz");
    assert_int_equal(backup_name_time(name, &t), 0);
    assert_true(t == 1795665906.0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = backup_name_time(cases[i].name, &t);

        if (cases[i].ok != (rc == 0))
            fail_msg("%s: want %s", cases[i].name, cases[i].ok ? "valid" : "invalid");
    }
}

static void
test_slack_payload(void **state)
{
    cJSON *d = cJSON_Parse(backup_slack_payload), *b;

    (void)state;
    assert_non_null(d);
    assert_string_equal(cJSON_GetObjectItem(d, "text")->valuestring,
                        "\xe2\x9d\x8c Weekly database backup failed");
    b = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "blocks"), 0);
    assert_string_equal(cJSON_GetObjectItem(b, "type")->valuestring, "section");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b, "text"), "text")->valuestring,
                        "Weekly database backup failed. Check GitHub Actions logs.");
    cJSON_Delete(d);
}

/* ---- the pipeline with fake pg_dumps and an S3 nobody listens on ---------- */

static char dir[] = "/tmp/pgdrill-backup-test.XXXXXX";

static int
setup_dir(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int
teardown_dir(void **state)
{
    char *cmd = pd_xasprintf("rm -rf '%s'", dir);
    int rc = system(cmd);

    (void)state;
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static char *
fake_pg_dump(const char *name, const char *body)
{
    char *path = pd_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
    return path;
}

static struct s3_client *
dead_client(void)
{
    struct s3_creds cr = {0};
    struct s3_client *c;
    struct pd_err err = {0};
    struct s3_client_options opt = {.max_retries = -1, .connect_timeout_s = 1};

    cr.access_key_id = (char *)(uintptr_t) "AKIDFAKE";
    cr.secret_access_key = (char *)(uintptr_t) "fake-secret";
    cr.region = (char *)(uintptr_t) "us-east-1";
    cr.endpoint_url = (char *)(uintptr_t) "http://127.0.0.1:9";
    assert_int_equal(s3_client_new(&c, &cr, &opt, &err), 0);
    return c;
}

static const char url[] = "postgresql://alice:s3cretPW@127.0.0.1:5999/care?application_name=drill";

static void
run_fake(const char *script_body, int want_kind, const char *want_msg, const char *keep_local)
{
    char *prog = fake_pg_dump("pg_dump_fake", script_body);
    struct s3_client *c = dead_client();
    struct backup_options o = {
        .database_url = url,
        .pg_dump = prog,
        .bucket = "b",
        .key = "weekly/care-commons-backup-20261126-040506.sql.gz",
        .keep_local = keep_local,
    };
    struct backup_result res;
    struct pd_err err = {0};
    int rc = backup_run(&res, c, &o, &err);

    assert_int_equal(rc, want_kind);
    assert_string_equal(err.msg, want_msg);
    assert_false(res.completed);
    s3_client_free(c);
    free(prog);
}

static void
test_pg_dump_fails(void **state)
{
    (void)state;
    run_fake("echo 'pg_dump: error: connection to server failed' >&2; echo partial; exit 1",
             PD_ECHECK,
             "pg_dump failed (exit 1): pg_dump: error: connection to server failed; upload of "
             "s3://b/weekly/care-commons-backup-20261126-040506.sql.gz aborted",
             NULL);
}

static void
test_pg_dump_killed(void **state)
{
    (void)state;
    run_fake("echo some; kill -9 $$", PD_ECHECK,
             "pg_dump failed (killed by signal 9); upload of "
             "s3://b/weekly/care-commons-backup-20261126-040506.sql.gz aborted",
             NULL);
}

static void
test_too_small(void **state)
{
    char *local = pd_xasprintf("%s/keep.sql.gz", dir);
    char *partial = pd_xasprintf("%s.partial", local);

    (void)state;
    run_fake("head -c 1048575 /dev/zero", PD_ECHECK,
             "backup too small: the plain dump is 1048575 bytes, the minimum is 1048576; upload "
             "of s3://b/weekly/care-commons-backup-20261126-040506.sql.gz aborted",
             local);
    assert_int_equal(access(local, F_OK), -1);
    assert_int_equal(access(partial, F_OK), -1);
    free(local);
    free(partial);
}

static void
test_not_startable(void **state)
{
    struct s3_client *c = dead_client();
    struct backup_options o = {
        .database_url = url, .pg_dump = "/nonexistent/pg_dump", .bucket = "b", .key = "k"};
    struct backup_result res;
    struct pd_err err = {0};
    char *plain, *msg;
    FILE *f;

    (void)state;
    assert_int_equal(backup_run(&res, c, &o, &err), PD_EIO);
    assert_string_equal(err.msg,
                        "pg_dump: cannot start /nonexistent/pg_dump: No such file or directory");
    // looked up before the spawn, so no platform reports these as "exit 127"
    o.pg_dump = "pgdrill-no-such-pg-dump";
    assert_int_equal(backup_run(&res, c, &o, &err), PD_EIO);
    assert_string_equal(err.msg,
                        "pg_dump: cannot start pgdrill-no-such-pg-dump: No such file or directory");
    plain = pd_xasprintf("%s/not-executable", dir);
    f = fopen(plain, "w");
    assert_non_null(f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(plain, 0644), 0);
    o.pg_dump = plain;
    assert_int_equal(backup_run(&res, c, &o, &err), PD_EIO);
    msg = pd_xasprintf("pg_dump: cannot start %s: Permission denied", plain);
    assert_string_equal(err.msg, msg);
    unlink(plain);
    free(msg);
    free(plain);
    o.pg_dump = "/bin/true";
    o.database_url = "host=localhost password=s3cretPW nosuchoption=1";
    assert_int_equal(backup_run(&res, c, &o, &err), PD_EINPUT);
    assert_string_equal(err.msg, "DATABASE_URL is not a valid connection string: invalid "
                                 "connection option \"nosuchoption\"");
    s3_client_free(c);
}

/* The password reaches pg_dump only through its environment. */
static void
test_password_in_env(void **state)
{
    char *argv_file = pd_xasprintf("%s/argv", dir), *env_file = pd_xasprintf("%s/env", dir);
    char *body = pd_xasprintf("printf '%%s\\n' \"$*\" >%s; "
                              "printf '%%s %%s %%s %%s %%s\\n' \"$PGPASSWORD\" \"$PGUSER\" "
                              "\"$PGHOST\" \"$PGPORT\" \"$PGDATABASE\" >%s; exit 3",
                              argv_file, env_file);
    char line[512];
    FILE *f;

    (void)state;
    run_fake(body, PD_ECHECK,
             "pg_dump failed (exit 3); upload of "
             "s3://b/weekly/care-commons-backup-20261126-040506.sql.gz aborted",
             NULL);
    f = fopen(argv_file, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    (void)fclose(f); // read only
    /* application_name has PGAPPNAME, so nothing needs -d */
    assert_string_equal(line, "--no-password --format=plain\n");
    f = fopen(env_file, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    (void)fclose(f); // read only
    assert_string_equal(line, "s3cretPW alice 127.0.0.1 5999 care\n");
    free(argv_file);
    free(env_file);
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_prefix),   cmocka_unit_test(test_names),
        cmocka_unit_test(test_slack_payload),  cmocka_unit_test(test_pg_dump_fails),
        cmocka_unit_test(test_pg_dump_killed), cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_not_startable),  cmocka_unit_test(test_password_in_env),
    };

    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
