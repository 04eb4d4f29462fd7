/* Tests for core/pd_mem.c: the secret wipe helpers (the allocators abort instead of failing). */
#include "pd_mem.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
test_wipe(void **state)
{
    char buf[16] = "secret-value!";
    static const char zeros[16] = {0};

    (void)state;
    pd_wipe(buf, 6);
    assert_memory_equal(buf, zeros, 6);
    assert_string_equal(buf + 6, "-value!");
    pd_wipe(buf, sizeof(buf));
    assert_memory_equal(buf, zeros, sizeof(buf));
    pd_wipe(NULL, 4); // no-op
    pd_wipe(buf, 0);
}

static void
test_free_secret(void **state)
{
    (void)state;
    pd_free_secret(NULL);                         // no-op
    pd_free_secret(pd_xstrdup(""));               // an empty secret
    pd_free_secret(pd_xstrdup("aws/Secret+Key")); // valgrind and ASan check the free
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wipe),
        cmocka_unit_test(test_free_secret),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
