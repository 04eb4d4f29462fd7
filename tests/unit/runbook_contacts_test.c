/* Tests for core/runbook/contacts: who to tell, from the runbook and the config. */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include <stdlib.h>
#include <string.h>

#include "runbook/contacts.h"
#include "runbook/runbook.h"

#define S(x) ((char *)(uintptr_t)(x))

static void
test_roles(void **state)
{
    size_t n;
    const struct contact_role *r = runbook_contact_roles(&n);

    (void)state;
    assert_int_equal(n, 6);
    assert_string_equal(r[0].name, "on-call");
    assert_string_equal(runbook_contact_role("neon-support")->label, "Neon support");
    assert_null(runbook_contact_role("janitor"));
}

/* The runbook's lines in role order; the environment wins for a role and adds roles. */
static void
test_resolve(void **state)
{
    struct runbook_contact lines[] = {
        {S("neon-support"), S("support@neon.tech")},
        {S("on-call"), S("Runbook On-Call")},
        {S("dba"), S("Runbook DBA")},
    };
    struct runbook rb;
    struct contacts c;

    (void)state;
    memset(&rb, 0, sizeof(rb));
    unsetenv("PGDRILL_CONTACT_ON_CALL");
    unsetenv("PGDRILL_CONTACT_AWS_SUPPORT");
    setenv("PGDRILL_CONTACT_DBA", "Site DBA", 1);
    setenv("PGDRILL_CONTACT_SECURITY", "", 1); // empty: not set
    runbook_contacts(&c, &rb);
    assert_int_equal(c.n, 0); // no contact lines: not an incident runbook
    contacts_free(&c);
    runbook_contacts(&c, NULL);
    assert_int_equal(c.n, 0);
    rb.contacts = lines;
    rb.n_contacts = 3;
    setenv("PGDRILL_CONTACT_AWS_SUPPORT", "AWS console", 1);
    runbook_contacts(&c, &rb);
    assert_int_equal(c.n, 4);
    assert_string_equal(c.v[0].role->name, "on-call");
    assert_string_equal(c.v[0].text, "Runbook On-Call");
    assert_string_equal(c.v[1].text, "Site DBA");
    assert_string_equal(c.v[2].role->name, "neon-support");
    assert_string_equal(c.v[3].role->label, "AWS support");
    assert_string_equal(c.v[3].text, "AWS console");
    contacts_free(&c);
    unsetenv("PGDRILL_CONTACT_DBA");
    unsetenv("PGDRILL_CONTACT_SECURITY");
    unsetenv("PGDRILL_CONTACT_AWS_SUPPORT");
}

static void
test_production(void **state)
{
    (void)state;
    unsetenv("PGDRILL_ENVIRONMENT");
    assert_false(contacts_production());
    setenv("PGDRILL_ENVIRONMENT", "SANDBOX", 1);
    assert_false(contacts_production());
    setenv("PGDRILL_ENVIRONMENT", "Production", 1);
    assert_true(contacts_production());
    unsetenv("PGDRILL_ENVIRONMENT");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_production),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
