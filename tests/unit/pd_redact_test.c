/* Tests for core/pd_redact.c: secrets never survive redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pd_redact.h"

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
        {"https://b.s3/k?X-Amz-Signature=abcdef&x=1", "https://b.s3/k?X-Amz-Signature=********&x=1"},
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_passwords),
        cmocka_unit_test(test_registered_secrets),
        cmocka_unit_test(test_env_secrets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
