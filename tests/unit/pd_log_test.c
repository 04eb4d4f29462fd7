/* Tests for core/pd_log.c: levels, the sink, and no secret reaching it. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "pd_log.h"

#include <stdlib.h>
#include <string.h>

#include "pd_mem.h"
#include "pd_redact.h"

struct seen {
    char *lines[8];
    enum pd_log_level levels[8];
    size_t n;
};

static void
sink(enum pd_log_level level, const char *msg, void *payload)
{
    struct seen *s = payload;

    if (s->n < 8) {
        s->levels[s->n] = level;
        s->lines[s->n++] = pd_xstrdup(msg);
    }
}

static void
test_levels_and_redaction(void **state)
{
    struct seen s = {0};

    (void)state;
    pd_redact_reset();
    pd_redact_register("tok-5up3r-s3cret");
    pd_log_set_sink(sink, &s);
    pd_log_set_level(PD_LOG_INFO);
    pd_log(PD_LOG_DEBUG, "not shown %d", 1);
    pd_log(PD_LOG_WARN, "postgres: NOTICE: key is %s", "tok-5up3r-s3cret");
    pd_log(PD_LOG_INFO, "connect postgresql://u:pw99@h/db");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.levels[0], PD_LOG_WARN);
    assert_string_equal(s.lines[0], "postgres: NOTICE: key is " PD_REDACT_MASK);
    assert_int_equal(s.levels[1], PD_LOG_INFO);
    assert_string_equal(s.lines[1], "connect postgresql://u:" PD_REDACT_MASK "@h/db");
    for (size_t i = 0; i < s.n; i++)
        free(s.lines[i]);
    pd_log_set_sink(NULL, NULL);
    pd_log_set_level(PD_LOG_WARN);
    pd_redact_reset();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_redaction),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
