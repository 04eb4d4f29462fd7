/*
 * Tests for core/pg. The conninfo cases run anywhere; the rest need a real
 * PostgreSQL in PGDRILL_TEST_PGURL (a superuser URL to a scratch database,
 * started by tests/services.sh) and fail, never skip, without it.
 */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "pg/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"

static const char *
test_url(void)
{
    const char *url = getenv("PGDRILL_TEST_PGURL");

    if (url == NULL || url[0] == '\0')
        fail_msg("PGDRILL_TEST_PGURL is not set: run through tests/run.sh (tests/services.sh "
                 "starts PostgreSQL) or export a superuser URL to a scratch database");
    return url;
}

static struct pg_conn *
connect_or_fail(const char *url)
{
    struct pg_conn *c = NULL;
    struct pd_err err = {0};

    if (pg_connect(&c, url, &err) != 0)
        fail_msg("cannot connect to the test database: %s", err.msg);
    return c;
}

static void
exec_ok(struct pg_conn *c, const char *sql)
{
    struct pd_err err = {0};

    if (pg_query(c, NULL, sql, NULL, 0, NULL, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
}

static void
test_host_is_local(void **state)
{
    static const struct {
        const char *host;
        bool local;
    } cases[] = {
        {NULL, true},
        {"", true},
        {"/tmp", true},
        {"/var/run/postgresql", true},
        {"localhost", true},
        {"127.0.0.1", true},
        {"127.1.2.3", true},
        {"::1", true},
        {"[::1]", true},
        {"db.example.com", false},
        {"10.0.0.5", false},
        {"localhost,db.example.com", false},
        {"localhost,/tmp", true},
        {"localhost.evil.com", false},
        {"127.db.example.com", false},
        {"127.0.0.1.example.com", false},
        {"127.0.0.1,127.db.example.com", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (pg_host_is_local(cases[i].host) != cases[i].local)
            fail_msg("host %s: expected %s", cases[i].host ? cases[i].host : "(null)",
                     cases[i].local ? "local" : "remote");
    }
}

static void
test_conninfo_defaults(void **state)
{
    static const struct {
        const char *url;
        const char *want;
    } cases[] = {
        {"postgresql://app:pw@db.example.com:5432/app",
         "user='app' password='pw' dbname='app' host='db.example.com' port='5432' "
         "sslmode='require' connect_timeout='10'"},
        {"postgresql://app@127.0.0.1:5433/app", "user='app' dbname='app' host='127.0.0.1' "
                                                "port='5433' connect_timeout='10'"},
        {"postgresql://app@localhost/app", "user='app' dbname='app' host='localhost' "
                                           "connect_timeout='10'"},
        {"host=/tmp dbname=x", "dbname='x' host='/tmp' connect_timeout='10'"},
        {"postgresql://db.example.com/app?sslmode=verify-full",
         "dbname='app' host='db.example.com' sslmode='verify-full' connect_timeout='10'"},
        {"postgresql://db.example.com/app?sslmode=disable&connect_timeout=3",
         "connect_timeout='3' dbname='app' host='db.example.com' sslmode='disable'"},
        {"host=db.example.com hostaddr=127.0.0.1 dbname=x",
         "dbname='x' host='db.example.com' hostaddr='127.0.0.1' connect_timeout='10'"},
        {"host=127.0.0.1 hostaddr=10.1.1.1 dbname=x",
         "dbname='x' host='127.0.0.1' hostaddr='10.1.1.1' sslmode='require' "
         "connect_timeout='10'"},
        {"dbname='it\\'s' host=db.example.com",
         "dbname='it\\'s' host='db.example.com' sslmode='require' connect_timeout='10'"},
    };

    (void)state;
    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    unsetenv("PGSSLMODE");
    unsetenv("PGCONNECT_TIMEOUT");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *ci = NULL;
        struct pd_err err = {0};

        assert_int_equal(pg_conninfo(&ci, cases[i].url, &err), 0);
        if (strcmp(ci, cases[i].want) != 0)
            fail_msg("%s:\n got  %s\n want %s", cases[i].url, ci, cases[i].want);
        free(ci);
    }
}

static void
test_conninfo_env(void **state)
{
    char *ci = NULL;
    struct pd_err err = {0};

    (void)state;
    // PGHOST decides locality when the URI names no host
    setenv("PGHOST", "db.example.com", 1);
    assert_int_equal(pg_conninfo(&ci, "dbname=x", &err), 0);
    assert_string_equal(ci, "dbname='x' sslmode='require' connect_timeout='10'");
    free(ci);
    // an explicit PGSSLMODE and PGCONNECT_TIMEOUT win over the defaults
    setenv("PGSSLMODE", "prefer", 1);
    setenv("PGCONNECT_TIMEOUT", "2", 1);
    assert_int_equal(pg_conninfo(&ci, "dbname=x", &err), 0);
    assert_string_equal(ci, "dbname='x'");
    free(ci);
    unsetenv("PGHOST");
    unsetenv("PGSSLMODE");
    unsetenv("PGCONNECT_TIMEOUT");
}

static void
test_conninfo_bad(void **state)
{
    char *ci = NULL;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(pg_conninfo(&ci, "postgresql://u:pw@host/db?nosuchopt=1", &err), PD_EINPUT);
    assert_null(ci);
    assert_string_equal(err.msg, "postgres: bad connection string: invalid URI query parameter: "
                                 "\"nosuchopt\"");
    // libpq quotes the whole URI here: the password must not come along
    assert_int_equal(pg_conninfo(&ci, "postgresql://u:secretpw@[::1/db", &err), PD_EINPUT);
    assert_string_equal(err.msg, "postgres: bad connection string: end of string reached when "
                                 "looking for matching \"]\" in IPv6 host address in URI: "
                                 "\"postgresql://u:" PD_REDACT_MASK "@[::1/db\"");
    assert_int_equal(pg_conninfo(&ci, "nokeyvalue", &err), PD_EINPUT);
    assert_string_equal(err.msg, "postgres: bad connection string: missing \"=\" after "
                                 "\"nokeyvalue\" in connection info string");
}

static void
test_connect_refused_redacts(void **state)
{
    struct pg_conn *c = NULL;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(pg_connect(&c, "postgresql://u:refused-secret@127.0.0.1:1/db", &err),
                     PD_ESERVICE);
    assert_null(c);
    assert_string_equal(err.msg, "postgres: connect to 127.0.0.1:1/db: connection to server at "
                                 "\"127.0.0.1\", port 1 failed: Connection refused; Is the "
                                 "server running on that host and accepting TCP/IP "
                                 "connections?");
    assert_null(strstr(err.msg, "refused-secret"));
    // the password is now a registered secret: it is masked anywhere
    {
        char *r = pd_redact("x refused-secret y");

        assert_string_equal(r, "x " PD_REDACT_MASK " y");
        free(r);
    }
}

static void
test_query_params_and_nulls(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    const char *params[] = {"hello", NULL, "41"};

    (void)state;
    assert_int_equal(pg_query(c, &r,
                              "SELECT $1::text AS a, $2::text AS b, $3::int + 1 AS c "
                              "UNION ALL SELECT 'x', '', NULL",
                              params, 3, NULL, &err),
                     0);
    assert_int_equal(pg_result_rows(r), 2);
    assert_int_equal(pg_result_cols(r), 3);
    assert_string_equal(pg_result_colname(r, 0), "a");
    assert_string_equal(pg_result_colname(r, 2), "c");
    assert_null(pg_result_colname(r, 3));
    assert_string_equal(pg_result_value(r, 0, 0), "hello");
    assert_null(pg_result_value(r, 0, 1)); // SQL NULL
    assert_string_equal(pg_result_value(r, 0, 2), "42");
    assert_string_equal(pg_result_value(r, 1, 1), ""); // empty string, not NULL
    assert_null(pg_result_value(r, 1, 2));
    assert_null(pg_result_value(r, 2, 0)); // out of range
    assert_string_equal(pg_result_command(r), "SELECT 2");
    pg_result_free(r);
    pg_conn_free(c);
}

static void
test_bind_parameters_are_harmless(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    const char *evil[] = {"'; DROP TABLE pd_bind_t; --"};
    struct pg_query_opts ro = {.read_only = true, .timeout_ms = 5000};

    (void)state;
    exec_ok(c, "DROP TABLE IF EXISTS pd_bind_t; CREATE TABLE pd_bind_t (x text); "
               "INSERT INTO pd_bind_t VALUES ('a'), ('''; DROP TABLE pd_bind_t; --')");
    assert_int_equal(
        pg_query(c, &r, "SELECT count(*) FROM pd_bind_t WHERE x = $1", evil, 1, &ro, &err), 0);
    assert_string_equal(pg_result_value(r, 0, 0), "1");
    pg_result_free(r);
    assert_int_equal(pg_query(c, &r, "SELECT count(*) FROM pd_bind_t", NULL, 0, &ro, &err), 0);
    assert_string_equal(pg_result_value(r, 0, 0), "2");
    pg_result_free(r);
    exec_ok(c, "DROP TABLE pd_bind_t");
    pg_conn_free(c);
}

static void
test_read_only_enforced(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    struct pg_query_opts ro = {.read_only = true, .timeout_ms = 5000};
    char want[512];

    (void)state;
    exec_ok(c, "DROP TABLE IF EXISTS pd_ro_t; CREATE TABLE pd_ro_t (x int)");
    assert_int_equal(pg_query(c, &r, "INSERT INTO pd_ro_t VALUES (1)", NULL, 0, &ro, &err),
                     PD_ECHECK);
    assert_null(r);
    snprintf(want, sizeof(want),
             "postgres: %s: cannot execute INSERT in a read-only transaction (SQLSTATE 25006)",
             pg_conn_target(c));
    assert_string_equal(err.msg, want);
    // a second statement cannot escape the read-only transaction
    assert_int_equal(pg_query(c, &r, "COMMIT; INSERT INTO pd_ro_t VALUES (2)", NULL, 0, &ro, &err),
                     PD_ECHECK);
    snprintf(want, sizeof(want),
             "postgres: %s: cannot insert multiple commands into a prepared statement "
             "(SQLSTATE 42601)",
             pg_conn_target(c));
    assert_string_equal(err.msg, want);
    // the connection is usable afterwards and nothing was written
    assert_int_equal(pg_query(c, &r, "SELECT count(*) FROM pd_ro_t", NULL, 0, &ro, &err), 0);
    assert_string_equal(pg_result_value(r, 0, 0), "0");
    pg_result_free(r);
    exec_ok(c, "DROP TABLE pd_ro_t");
    pg_conn_free(c);
}

static void
test_statement_timeout(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    struct pg_query_opts ro = {.read_only = true, .timeout_ms = 200};
    struct pg_query_opts rw = {.read_only = false, .timeout_ms = 150};
    char want[256];
    double t0 = pd_time_mono();

    (void)state;
    assert_int_equal(pg_query(c, &r, "SELECT pg_sleep(5)", NULL, 0, &ro, &err), PD_ESERVICE);
    assert_true(pd_time_mono() - t0 < 2.0);
    snprintf(want, sizeof(want), "postgres: %s: statement timeout after 200ms", pg_conn_target(c));
    assert_string_equal(err.msg, want);
    assert_int_equal(pg_query(c, &r, "SELECT pg_sleep(5)", NULL, 0, &rw, &err), PD_ESERVICE);
    snprintf(want, sizeof(want), "postgres: %s: statement timeout after 150ms", pg_conn_target(c));
    assert_string_equal(err.msg, want);
    // the session's own setting is back afterwards
    assert_int_equal(pg_query(c, &r, "SHOW statement_timeout", NULL, 0, NULL, &err), 0);
    assert_string_equal(pg_result_value(r, 0, 0), "0");
    pg_result_free(r);
    pg_conn_free(c);
}

static bool
stop_after_3(void *payload)
{
    int *n = payload;

    return ++*n >= 3;
}

static void
test_tick_cancels_query(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    int ticks = 0;
    struct pg_query_opts o = {
        .read_only = true, .timeout_ms = 20000, .tick = stop_after_3, .payload = &ticks};
    char want[256];
    double t0 = pd_time_mono();

    (void)state;
    assert_int_equal(pg_query(c, &r, "SELECT pg_sleep(10)", NULL, 0, &o, &err), PD_EINTR);
    assert_true(pd_time_mono() - t0 < 3.0);
    assert_true(ticks >= 3);
    snprintf(want, sizeof(want), "postgres: %s: query interrupted", pg_conn_target(c));
    assert_string_equal(err.msg, want);
    // the connection is usable afterwards
    o.tick = NULL;
    assert_int_equal(pg_query(c, &r, "SELECT 1", NULL, 0, &o, &err), 0);
    assert_string_equal(pg_result_value(r, 0, 0), "1");
    pg_result_free(r);
    pg_conn_free(c);
}

static void
test_connection_lost(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_conn *killer = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    const char *pid[1];
    char prefix[256];

    (void)state;
    assert_int_equal(pg_query(c, &r, "SELECT pg_backend_pid()", NULL, 0, NULL, &err), 0);
    pid[0] = pg_result_value(r, 0, 0);
    assert_int_equal(
        pg_query(killer, NULL, "SELECT pg_terminate_backend($1::int)", pid, 1, NULL, &err), 0);
    pg_result_free(r);
    // a lost connection is the service failing, not the step's SQL
    assert_int_equal(pg_query(c, &r, "SELECT 1", NULL, 0, NULL, &err), PD_ESERVICE);
    assert_null(r);
    snprintf(prefix, sizeof(prefix), "postgres: %s: ", pg_conn_target(c));
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    pg_conn_free(killer);
    pg_conn_free(c);
}

static void
test_multi_statement_and_sql_error(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_result *r = NULL;
    struct pd_err err = {0};
    char want[256];

    (void)state;
    assert_int_equal(pg_query(c, &r,
                              "DROP TABLE IF EXISTS pd_ms_t; CREATE TABLE pd_ms_t (x int); "
                              "INSERT INTO pd_ms_t VALUES (1), (2)",
                              NULL, 0, NULL, &err),
                     0);
    assert_string_equal(pg_result_command(r), "INSERT 0 2");
    assert_int_equal(pg_result_rows(r), 0);
    pg_result_free(r);
    assert_int_equal(pg_query(c, &r, "SELECT * FROM pd_no_such_table", NULL, 0, NULL, &err),
                     PD_ECHECK);
    snprintf(want, sizeof(want),
             "postgres: %s: relation \"pd_no_such_table\" does not exist (SQLSTATE 42P01)",
             pg_conn_target(c));
    assert_string_equal(err.msg, want);
    exec_ok(c, "DROP TABLE pd_ms_t");
    pg_conn_free(c);
}

static void
test_wrong_password_not_in_message(void **state)
{
    struct pg_conn *c = connect_or_fail(test_url());
    struct pg_conn *bad = NULL;
    struct pd_err err = {0};
    char target[256], *colon, *slash, *url, want[512];

    (void)state;
    exec_ok(c, "DROP ROLE IF EXISTS pd_pw_role; "
               "CREATE ROLE pd_pw_role LOGIN PASSWORD 'the-right-pw'");
    snprintf(target, sizeof(target), "%s", pg_conn_target(c));
    colon = strrchr(target, ':');
    slash = strchr(colon, '/');
    assert_non_null(colon);
    assert_non_null(slash);
    *colon = *slash = '\0';
    if (target[0] == '/')
        url = pd_xasprintf("host=%s port=%s dbname=%s user=pd_pw_role password=wrong-pw-4242",
                           target, colon + 1, slash + 1);
    else
        url = pd_xasprintf("postgresql://pd_pw_role:wrong-pw-4242@%s:%s/%s", target, colon + 1,
                           slash + 1);
    if (pg_connect(&bad, url, &err) == 0)
        fail_msg("the server accepted a wrong password: the test PostgreSQL must use "
                 "scram-sha-256 (not trust) for its connections");
    assert_int_equal(err.kind, PD_ESERVICE);
    assert_null(strstr(err.msg, "wrong-pw-4242"));
    assert_null(strstr(err.msg, "the-right-pw"));
    snprintf(want, sizeof(want), "postgres: connect to %s:%s/%s: ", target, colon + 1, slash + 1);
    assert_memory_equal(err.msg, want, strlen(want));
    assert_non_null(strstr(err.msg, "password authentication failed for user \"pd_pw_role\""));
    free(url);
    exec_ok(c, "DROP ROLE pd_pw_role");
    pg_conn_free(c);
}

/* The value of NAME in a NULL-terminated environment, NULL when absent. */
static const char *
env_value(char **env, const char *name)
{
    size_t n = strlen(name);

    for (char **e = env; *e != NULL; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* A child gets the password in its environment only, never on a command line. */
static void
test_child_env(void **state)
{
    struct pg_child_env ce;
    struct pd_err err = {0};

    (void)state;
    setenv("PGPASSWORD", "inherited", 1);
    setenv("PGDRILL_TEST_KEEP", "kept", 1);
    assert_int_equal(pg_child_env(&ce,
                                  "postgresql://alice:s3cretPW@127.0.0.1:5999/care"
                                  "?application_name=drill&keepalives=1",
                                  "pg_dump", &err),
                     0);
    assert_string_equal(env_value(ce.env, "PGPASSWORD"), "s3cretPW");
    assert_string_equal(env_value(ce.env, "PGUSER"), "alice");
    assert_string_equal(env_value(ce.env, "PGAPPNAME"), "drill");
    assert_string_equal(env_value(ce.env, "PGDATABASE"), "care");
    assert_string_equal(env_value(ce.env, "PGDRILL_TEST_KEEP"), "kept");
    assert_string_equal(ce.dbname, "care");
    // keepalives has no variable: it goes on the command line, the password does not
    assert_string_equal(ce.conninfo, "keepalives='1'");
    pg_child_env_free(&ce);
    assert_null(ce.env);
    unsetenv("PGPASSWORD");
    unsetenv("PGDRILL_TEST_KEEP");

    assert_int_equal(pg_child_env(&ce, "host=db.example sslpassword=s3cret", "psql", &err),
                     PD_EINPUT);
    assert_false(ce.url_invalid);
    assert_string_equal(err.msg, "parameter sslpassword cannot be passed to psql safely");
    pg_child_env_free(&ce);

    pd_err_clear(&err);
    assert_int_equal(pg_child_env(&ce, "host=h password=s3cret bogus=1", "psql", &err), PD_EINPUT);
    assert_true(ce.url_invalid);
    assert_string_equal(err.msg,
                        "not a valid connection string: invalid connection option \"bogus\"");
    pg_child_env_free(&ce);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_is_local),
        cmocka_unit_test(test_conninfo_defaults),
        cmocka_unit_test(test_conninfo_env),
        cmocka_unit_test(test_child_env),
        cmocka_unit_test(test_conninfo_bad),
        cmocka_unit_test(test_connect_refused_redacts),
        cmocka_unit_test(test_query_params_and_nulls),
        cmocka_unit_test(test_bind_parameters_are_harmless),
        cmocka_unit_test(test_read_only_enforced),
        cmocka_unit_test(test_statement_timeout),
        cmocka_unit_test(test_tick_cancels_query),
        cmocka_unit_test(test_connection_lost),
        cmocka_unit_test(test_multi_statement_and_sql_error),
        cmocka_unit_test(test_wrong_password_not_in_message),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
