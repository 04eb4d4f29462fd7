/* measure tests: the timestamps an rpo= check may return, as PostgreSQL prints them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.intern.h"

/* 2026-11-26T05:00:00Z */
#define BASE 1795669200.0

static void
test_parse_time(void **state)
{
    static const struct {
        const char *in;
        int rc;
        double want; /* seconds after BASE */
    } cases[] = {
        {"2026-11-26 05:00:00+00", 0, 0},
        {"2026-11-26 05:00:00.25+00", 0, 0.25},
        {"2026-11-26 04:57:43.123456+00", 0, -136.876544},
        {"2026-11-26 10:30:00+05:30", 0, 0},
        {"2026-11-26 00:00:00-05", 0, 0},
        {"2026-11-26 05:00:00+00:00:00", 0, 0},
        {"2026-11-26T05:00:00Z", 0, 0},
        {"2026-11-26T05:00:00.5Z", 0, 0.5},
        {"2026-11-26 05:00:00", 0, 0}, /* no zone: UTC */
        {"2026-11-26", -1, 0},
        {"", -1, 0},
        {"42", -1, 0},
        {"2026-11-26 05:00:00+0", -1, 0},
        {"not a timestamp at all", -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double t = 0;
        int rc = engine_measure_parse_time(&t, cases[i].in);

        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, want %d", cases[i].in, rc, cases[i].rc);
        if (rc == 0 && (t - BASE - cases[i].want > 1e-5 || BASE + cases[i].want - t > 1e-5))
            fail_msg("'%s': %.6f, want %.6f", cases[i].in, t - BASE, cases[i].want);
    }
    assert_int_equal(engine_measure_parse_time(NULL, NULL), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
