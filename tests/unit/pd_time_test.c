/* Tests for core/pd_time.c: RFC 3339 parsing and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "pd_time.h"

struct parse_case {
    const char *in;
    int utc_only;
    int ok;
    double want;
};

static void
test_parse(void **state)
{
    static const struct parse_case cases[] = {
        {"2026-11-26T03:37:01Z", 1, 0, 1795664221.0},
        {"2026-11-26T03:37:01.250Z", 1, 0, 1795664221.25},
        {"2026-11-26 03:37:01+00:00", 1, 0, 1795664221.0},
        {"2026-11-26T04:37:01+01:00", 0, 0, 1795664221.0},
        {"2026-11-26T04:37:01+01:00", 1, -1, 0},
        {"2026-11-26T03:37:01", 1, -1, 0},
        {"2026-02-30T00:00:00Z", 1, -1, 0},
        {"2024-02-29T00:00:00Z", 1, 0, 1709164800.0},
        {"2026-13-01T00:00:00Z", 1, -1, 0},
        {"yesterday", 1, -1, 0},
        {"2026-11-26T03:37:01Zjunk", 1, -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double t = 0;
        int rc = pd_time_parse_rfc3339(&t, cases[i].in, cases[i].utc_only);

        assert_int_equal(rc, cases[i].ok);
        if (rc == 0)
            assert_true(t > cases[i].want - 0.001 && t < cases[i].want + 0.001);
    }
}

static void
test_format(void **state)
{
    char buf[32];

    (void)state;
    pd_time_format(buf, sizeof(buf), 1795664221.25);
    assert_string_equal(buf, "2026-11-26T03:37:01.250Z");
    pd_time_stamp(buf, sizeof(buf), 1795664221.25);
    assert_string_equal(buf, "20261126-033701");
    pd_time_human(buf, sizeof(buf), 12.34);
    assert_string_equal(buf, "12.3s");
    pd_time_human(buf, sizeof(buf), 245);
    assert_string_equal(buf, "4m05s");
    pd_time_human(buf, sizeof(buf), 3723);
    assert_string_equal(buf, "1h02m03s");
}

static void
test_span(void **state)
{
    (void)state;
    assert_true(pd_time_span("2026-11-26T03:37:01Z", "2026-11-26T03:38:01.500Z") == 60.5);
    assert_true(pd_time_span("2026-11-26T03:37:01Z", "2026-11-26T03:37:01Z") == 0);
    assert_true(pd_time_span("2026-11-26T03:38:01Z", "2026-11-26T03:37:01Z") == -1);
    assert_true(pd_time_span(NULL, "2026-11-26T03:37:01Z") == -1);
    assert_true(pd_time_span("2026-11-26T03:37:01Z", NULL) == -1);
    assert_true(pd_time_span("yesterday", "2026-11-26T03:37:01Z") == -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_span),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
