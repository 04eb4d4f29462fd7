/* Tests for core/pd_redact.c: secrets never survive redaction. */
#include "pd_redact.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct redact_case {
    const char *in;
    const char *want;
};

static void
test_uri_passwords(void **state)
{
    static const struct redact_case cases[] = {
        {"postgresql://app:s3cret@db.example:5432/care",
         "postgresql://app:********@db.example:5432/care"},
        {"connect postgres://u:p%40ss@h/d failed", "connect postgres://u:********@h/d failed"},
        {"postgresql://app@host/db", "postgresql://app@host/db"},
        {"no uri here", "no uri here"},
        {"host=h password=hunter22 dbname=x", "host=h password=******** dbname=x"},
        {"https://b.s3/k?X-Amz-Signature=abcdef&x=1",
         "https://b.s3/k?X-Amz-Signature=********&x=1"},
        {"a://x:y@z and b://m:n@o", "a://x:********@z and b://m:********@o"},
        {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = pd_redact(cases[i].in);

        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void
test_registered_secrets(void **state)
{
    char *got;

    (void)state;
    pd_redact_reset();
    pd_redact_register("napi_0123456789abcdef");
    pd_redact_register("abc"); // too short to register: would mask ordinary words
    got = pd_redact("Authorization: Bearer napi_0123456789abcdef; abc");
    assert_string_equal(got, "Authorization: Bearer ********; abc");
    free(got);
    pd_redact_reset();
    got = pd_redact("napi_0123456789abcdef");
    assert_string_equal(got, "napi_0123456789abcdef");
    free(got);
}

static void
test_env_secrets(void **state)
{
    char *got;

    (void)state;
    pd_redact_reset();
    setenv("NEON_API_KEY", "neon-key-1234567", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG", 1);
    setenv("DATABASE_URL", "postgresql://u:dbpass99@localhost/x", 1);
    pd_redact_register_env();
    got = pd_redact("k=neon-key-1234567 s=wJalrXUtnFEMI/K7MDENG pw dbpass99");
    assert_string_equal(got, "k=******** s=******** pw ********");
    free(got);
    pd_redact_reset();
    assert_null(pd_redact(NULL));
}

/* The password a tool prints is the decoded one, from any connection string form. */
static void
test_connection_string_passwords(void **state)
{
    static const struct {
        const char *conn;
        const char *text; /* what a script might print */
        const char *want;
    } cases[] = {
        {"postgresql://alice:p%40ss%2Fword@h:1/db", "pw=p@ss/word raw=p%40ss%2Fword",
         "pw=******** raw=********"},
        {"postgresql://alice@h/db?sslmode=require&password=q5ecret", "pw=q5ecret", "pw=********"},
        {"host=h port=1 user=alice password=kv5ecret dbname=db", "pw=kv5ecret", "pw=********"},
        {"host=h password = 'it\\'s secret' dbname=db", "pw=it's secret", "pw=********"},
        {"postgresql://alice:%41bcd@h/db", "pw=Abcd", "pw=********"},
        {"postgresql://alice:bad%4@h/db", "pw=bad%4", "pw=********"},
        {"host=h dbname=db", "pw=none here", "pw=none here"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got;

        pd_redact_reset();
        pd_redact_register_uri(cases[i].conn);
        got = pd_redact(cases[i].text);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
        free(got);
    }
    pd_redact_reset();
}

/* An sh step shows its script with values quoted: a secret must stay masked in every quoting. */
static void
test_shell_quoted_secrets(void **state)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"echo pa$s'w`d\"1", "echo ********"},
        {"echo 'pa$s'\\''w`d\"1'", "echo '********'"},       // a single-quoted word
        {"echo \"pa\\$s'w\\`d\\\"1\"", "echo \"********\""}, // inside "..."
        {"pa\\$s'w\\`d\"1", "********"},                     // in a here-document
    };

    (void)state;
    pd_redact_reset();
    pd_redact_register("pa$s'w`d\"1");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = pd_redact(cases[i].text);

        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
        free(got);
    }
    pd_redact_reset();
}

/* Each registration may move the registry's array: S3 upload threads do it. */
static void *
register_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        char key[32];

        snprintf(key, sizeof(key), "renewed-key-%05d", i);
        pd_redact_register(key);
    }
    return NULL;
}

static void
test_register_while_redacting(void **state)
{
    pthread_t t;

    (void)state;
    pd_redact_reset();
    pd_redact_register("first-secret");
    assert_int_equal(pthread_create(&t, NULL, register_many, NULL), 0);
    for (int i = 0; i < 3000; i++) {
        char *got = pd_redact("key first-secret here");

        assert_string_equal(got, "key ******** here");
        free(got);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    {
        char *got = pd_redact("renewed-key-00999");

        assert_string_equal(got, "********");
        free(got);
    }
    pd_redact_reset();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_passwords),
        cmocka_unit_test(test_registered_secrets),
        cmocka_unit_test(test_env_secrets),
        cmocka_unit_test(test_connection_string_passwords),
        cmocka_unit_test(test_shell_quoted_secrets),
        cmocka_unit_test(test_register_while_redacting),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
