/* Tests for core/pd_str.c: trim, dup, hex, whole-number parsing and the loopback rule. */
#include "pd_str.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pd_err.h"

static void
test_trim(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"", ""},
        {"   ", ""},
        {"a", "a"},
        {"  a b \t", "a b"},
        {"\r\nkey\r\n", "key"},
        {"\tx = y \v\f", "x = y"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = strdup(cases[i].in);

        assert_string_equal(pd_trim(s), cases[i].want);
        free(s);
    }
}

static void
test_dup_or_null(void **state)
{
    char *d = pd_dup_or_null("abc");

    (void)state;
    assert_null(pd_dup_or_null(NULL));
    assert_string_equal(d, "abc");
    free(d);
}

static void
test_hex(void **state)
{
    static const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    char out[2 * sizeof(bytes) + 1];

    (void)state;
    assert_int_equal(pd_hex_digit('0'), 0);
    assert_int_equal(pd_hex_digit('9'), 9);
    assert_int_equal(pd_hex_digit('a'), 10);
    assert_int_equal(pd_hex_digit('F'), 15);
    assert_int_equal(pd_hex_digit('g'), -1);
    assert_int_equal(pd_hex_digit('%'), -1);
    assert_int_equal(pd_hex_digit('\0'), -1);
    pd_hex_encode(out, bytes, sizeof(bytes));
    assert_string_equal(out, "000fa5ff");
    pd_hex_encode(out, bytes, 0);
    assert_string_equal(out, "");
}

static void
test_parse_u64(void **state)
{
    static const struct {
        const char *in;
        int rc;
        uint64_t want;
    } cases[] = {
        {"0", 0, 0},
        {"42", 0, 42},
        {"18446744073709551615", 0, UINT64_MAX},
        {"18446744073709551616", PD_EINPUT, 0},
        {"", PD_EINPUT, 0},
        {"-1", PD_EINPUT, 0},
        {"+1", PD_EINPUT, 0},
        {" 1", PD_EINPUT, 0},
        {"1 ", PD_EINPUT, 0},
        {"12k", PD_EINPUT, 0},
        {"0x10", PD_EINPUT, 0},
    };
    struct pd_err err = {0};
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = 7;
        assert_int_equal(pd_parse_u64(&v, cases[i].in, "size", &err), cases[i].rc);
        assert_int_equal(v, cases[i].rc == 0 ? cases[i].want : 7);
    }
    assert_string_equal(err.msg, "size: not a number: '0x10'");
    assert_int_equal(pd_parse_u64(&v, NULL, "count", &err), PD_EINPUT);
    assert_string_equal(err.msg, "count: not a number: ''");
    assert_int_equal(pd_parse_u64(&v, "x", "count", NULL), PD_EINPUT);
}

static void
test_words_append(void **state)
{
    char buf[16] = "";

    (void)state;
    pd_words_append(buf, sizeof(buf), "list");
    assert_string_equal(buf, "list");
    pd_words_append(buf, sizeof(buf), "get");
    pd_words_append(buf, sizeof(buf), "put");
    assert_string_equal(buf, "list get put");
}

static void
test_loopback(void **state)
{
    static const struct {
        const char *host;
        bool want;
    } cases[] = {
        {"localhost", true},
        {"LOCALHOST", true},
        {"localhost.", true},
        {"127.0.0.1", true},
        {"127.255.0.9", true},
        {"::1", true},
        {"[::1]", true},
        {"[0:0:0:0:0:0:0:1]", true},
        {NULL, false},
        {"", false},
        {"localhost.example.com", false},
        {"128.0.0.1", false},
        {"10.0.0.1", false},
        {"::2", false},
        {"[::1", false},
        {"[127.0.0.1]", false},
        {"example.com", false},
        {"127.0.0.1.nip.io", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (pd_host_is_loopback(cases[i].host) != cases[i].want)
            fail_msg("pd_host_is_loopback(%s) != %d", cases[i].host ? cases[i].host : "NULL",
                     cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trim),         cmocka_unit_test(test_dup_or_null),
        cmocka_unit_test(test_hex),          cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_words_append), cmocka_unit_test(test_loopback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
