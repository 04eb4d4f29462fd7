/* expect tests: parsing every form, rejecting malformed ones, evaluating. */
#include "runbook/expect.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pd_err.h"

#define NONE ((enum expect_op) - 1)

static void
test_parse_valid(void **state)
{
    static const struct {
        const char *in;
        enum expect_kind kind;
        enum expect_op op;        /* NONE when not applicable */
        int operand;              /* -1 none, else enum expect_operand_kind */
        const char *operand_text; /* NULL when none */
        double number;            /* number operand or tolerance */
        long rows;
        const char *text;
    } cases[] = {
        {"= 0", EXPECT_COMPARE, EXPECT_EQ, EXPECT_NUMBER, "0", 0, 0, "= 0"},
        {"=0", EXPECT_COMPARE, EXPECT_EQ, EXPECT_NUMBER, "0", 0, 0, "=0"},
        {"  != -2.5 ", EXPECT_COMPARE, EXPECT_NE, EXPECT_NUMBER, "-2.5", -2.5, 0, "!= -2.5"},
        {"> 1e3", EXPECT_COMPARE, EXPECT_GT, EXPECT_NUMBER, "1e3", 1000, 0, "> 1e3"},
        {">= .5", EXPECT_COMPARE, EXPECT_GE, EXPECT_NUMBER, ".5", 0.5, 0, ">= .5"},
        {"< 10", EXPECT_COMPARE, EXPECT_LT, EXPECT_NUMBER, "10", 10, 0, "< 10"},
        {"<= +7", EXPECT_COMPARE, EXPECT_LE, EXPECT_NUMBER, "+7", 7, 0, "<= +7"},
        {"= 'test@example.com'", EXPECT_COMPARE, EXPECT_EQ, EXPECT_STRING, "test@example.com", 0, 0,
         "= 'test@example.com'"},
        {"= 'it''s'", EXPECT_COMPARE, EXPECT_EQ, EXPECT_STRING, "it's", 0, 0, "= 'it''s'"},
        {"!= ''", EXPECT_COMPARE, EXPECT_NE, EXPECT_STRING, "", 0, 0, "!= ''"},
        {"= 'a b  c'", EXPECT_COMPARE, EXPECT_EQ, EXPECT_STRING, "a b  c", 0, 0, "= 'a b  c'"},
        {"= ${users_before}", EXPECT_COMPARE, EXPECT_EQ, EXPECT_VAR, "users_before", 0, 0,
         "= ${users_before}"},
        {">=${MIN_ROWS}", EXPECT_COMPARE, EXPECT_GE, EXPECT_VAR, "MIN_ROWS", 0, 0, ">=${MIN_ROWS}"},
        {"rows > 0", EXPECT_ROWS, EXPECT_GT, -1, NULL, 0, 0, "rows > 0"},
        {"ROWS = 2", EXPECT_ROWS, EXPECT_EQ, -1, NULL, 0, 2, "ROWS = 2"},
        {"rows>=10", EXPECT_ROWS, EXPECT_GE, -1, NULL, 0, 10, "rows>=10"},
        {"rows != 3", EXPECT_ROWS, EXPECT_NE, -1, NULL, 0, 3, "rows != 3"},
        {"within 5% of ${base}", EXPECT_WITHIN_PCT, NONE, EXPECT_VAR, "base", 5, 0,
         "within 5% of ${base}"},
        {"within 0.5% of ${base}", EXPECT_WITHIN_PCT, NONE, EXPECT_VAR, "base", 0.5, 0,
         "within 0.5% of ${base}"},
        {"within 10 of ${base}", EXPECT_WITHIN, NONE, EXPECT_VAR, "base", 10, 0,
         "within 10 of ${base}"},
        {"Within 3 Of 100", EXPECT_WITHIN, NONE, EXPECT_NUMBER, "100", 3, 0, "Within 3 Of 100"},
        {"null", EXPECT_NULL, NONE, -1, NULL, 0, 0, "null"},
        {" NULL ", EXPECT_NULL, NONE, -1, NULL, 0, 0, "NULL"},
        {"not null", EXPECT_NOT_NULL, NONE, -1, NULL, 0, 0, "not null"},
        {"NOT   NULL", EXPECT_NOT_NULL, NONE, -1, NULL, 0, 0, "NOT   NULL"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct expect *e = NULL;
        struct pd_err err = {0};

        print_message("parse '%s'\n", cases[i].in);
        assert_int_equal(expect_parse(&e, cases[i].in, &err), 0);
        assert_non_null(e);
        assert_int_equal(e->kind, cases[i].kind);
        assert_string_equal(e->text, cases[i].text);
        if (cases[i].op != NONE)
            assert_int_equal(e->op, cases[i].op);
        if (cases[i].operand >= 0) {
            assert_int_equal(e->operand.kind, cases[i].operand);
            assert_string_equal(e->operand.text, cases[i].operand_text);
        } else {
            assert_null(e->operand.text);
        }
        if (e->kind == EXPECT_ROWS)
            assert_int_equal(e->rows, cases[i].rows);
        if (e->kind == EXPECT_WITHIN || e->kind == EXPECT_WITHIN_PCT)
            assert_true(e->tolerance == cases[i].number);
        else if (cases[i].operand == EXPECT_NUMBER)
            assert_true(e->operand.number == cases[i].number);
        expect_free(e);
    }
    expect_free(NULL);
}

static void
test_parse_invalid(void **state)
{
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"", "bad expectation ''"},
        {"   ", "bad expectation ''"},
        {"==", "bad expectation '=='"},
        {"== 0", "bad expectation '== 0'"},
        {"0", "bad expectation '0'"},
        {"=", "bad expectation '='"},
        {"= abc", "bad expectation '= abc'"},
        {"= 0x10", "bad expectation '= 0x10'"},
        {"= nan", "bad expectation '= nan'"},
        {"= inf", "bad expectation '= inf'"},
        {"= 1e", "bad expectation '= 1e'"},
        {"= 1 2", "bad expectation '= 1 2'"},
        {"= 'open", "bad expectation '= 'open'"},
        {"= 'a' b", "bad expectation '= 'a' b'"},
        {"= ${}", "bad expectation '= ${}'"},
        {"= ${a-b}", "bad expectation '= ${a-b}'"},
        {"= ${1a}", "bad expectation '= ${1a}'"},
        {"=> 1", "bad expectation '=> 1'"},
        {"<> 1", "bad expectation '<> 1'"},
        {"rows", "bad expectation 'rows'"},
        {"rows 3", "bad expectation 'rows 3'"},
        {"rows >> 1", "bad expectation 'rows >> 1'"},
        {"rows > -1", "bad expectation 'rows > -1'"},
        {"rows > 1.5", "bad expectation 'rows > 1.5'"},
        {"rows > ${n}", "bad expectation 'rows > ${n}'"},
        {"rowsy > 1", "bad expectation 'rowsy > 1'"},
        {"within 5% ${base}", "bad expectation 'within 5% ${base}'"},
        {"within 5%of ${base}", "bad expectation 'within 5%of ${base}'"},
        {"within -5 of ${base}", "bad expectation 'within -5 of ${base}'"},
        {"within five of ${base}", "bad expectation 'within five of ${base}'"},
        {"within 5 of 'x'", "bad expectation 'within 5 of 'x''"},
        {"within 5 of ${base} more", "bad expectation 'within 5 of ${base} more'"},
        {"not", "bad expectation 'not'"},
        {"not nul", "bad expectation 'not nul'"},
        {"null null", "bad expectation 'null null'"},
        {"is null", "bad expectation 'is null'"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct expect *e = (struct expect *)1;
        struct pd_err err = {0};

        print_message("invalid '%s'\n", cases[i].in);
        assert_int_equal(expect_parse(&e, cases[i].in, &err), PD_EINPUT);
        assert_null(e);
        assert_int_equal(err.kind, PD_EINPUT);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

/* Variables for evaluation: base=100, half=50.5, word=abc, empty="" ; others undefined. */
static const char *
lookup(const char *name, void *payload)
{
    static const char *const vars[][2] = {
        {"base", "100"}, {"half", "50.5"}, {"word", "abc"}, {"empty", ""}, {"MIN_ROWS", "2"},
    };

    assert_string_equal((const char *)payload, "payload");
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (strcmp(vars[i][0], name) == 0)
            return vars[i][1];
    return NULL;
}

static void
test_eval(void **state)
{
    static char payload[] = "payload";

    static const struct {
        const char *expect;
        const char *observed; /* NULL is SQL NULL */
        long rows;
        int rc;
        const char *msg; /* when rc != 0 */
    } cases[] = {
        /* numbers */
        {"= 0", "0", 1, 0, NULL},
        {"= 0", "0.000", 1, 0, NULL},
        {"= 0", "3", 1, PD_ECHECK, "observed 3, expected = 0"},
        {"= 0", NULL, 1, PD_ECHECK, "observed NULL, expected = 0"},
        {"= 0", "zero", 1, PD_ECHECK, "observed 'zero', expected = 0"},
        {"!= 0", "1", 1, 0, NULL},
        {"!= 0", "0", 1, PD_ECHECK, "observed 0, expected != 0"},
        {"!= 0", "x", 1, 0, NULL},
        {"> 0", "1", 1, 0, NULL},
        {"> 0", "0", 1, PD_ECHECK, "observed 0, expected > 0"},
        {"> 0", "-1e3", 1, PD_ECHECK, "observed -1e3, expected > 0"},
        {"> 0", "many", 1, PD_ECHECK, "observed 'many', expected > 0 (not a number)"},
        {"> 0", NULL, 1, PD_ECHECK, "observed NULL, expected > 0"},
        {">= 2", "2", 1, 0, NULL},
        {">= 2", "1.99", 1, PD_ECHECK, "observed 1.99, expected >= 2"},
        {"< 10", "9", 1, 0, NULL},
        {"< 10", "10", 1, PD_ECHECK, "observed 10, expected < 10"},
        {"<= 10", "10", 1, 0, NULL},
        {"<= 10", "10.5", 1, PD_ECHECK, "observed 10.5, expected <= 10"},
        /* strings */
        {"= 'abc'", "abc", 1, 0, NULL},
        {"= 'abc'", "abd", 1, PD_ECHECK, "observed 'abd', expected = 'abc'"},
        {"= '007'", "7", 1, PD_ECHECK, "observed 7, expected = '007'"},
        {"!= ''", "", 1, PD_ECHECK, "observed '', expected != ''"},
        {"< '2025-01-01'", "2024-12-31 23:59:59+00", 1, 0, NULL},
        {"> '2025-01-01'", "2024-12-31", 1, PD_ECHECK,
         "observed '2024-12-31', expected > '2025-01-01'"},
        /* variables */
        {"= ${base}", "100", 1, 0, NULL},
        {"= ${base}", "100.0", 1, 0, NULL},
        {"= ${base}", "99", 1, PD_ECHECK, "observed 99, expected = ${base} (100)"},
        {"= ${word}", "abc", 1, 0, NULL},
        {"!= ${word}", "abc", 1, PD_ECHECK, "observed 'abc', expected != ${word} ('abc')"},
        {"> ${word}", "abc", 1, PD_ECHECK,
         "observed 'abc', expected > ${word} ('abc') (not a number)"},
        {"= ${empty}", "", 1, 0, NULL},
        {">= ${MIN_ROWS}", "2", 1, 0, NULL},
        {"= ${missing}", "1", 1, PD_EINPUT, "expect: undefined variable 'missing'"},
        /* rows */
        {"rows > 0", NULL, 4, 0, NULL},
        {"rows > 0", "x", 0, PD_ECHECK, "observed 0 rows, expected rows > 0"},
        {"rows = 2", NULL, 2, 0, NULL},
        {"rows = 2", NULL, 1, PD_ECHECK, "observed 1 row, expected rows = 2"},
        {"rows != 2", NULL, 3, 0, NULL},
        {"rows <= 2", NULL, 3, PD_ECHECK, "observed 3 rows, expected rows <= 2"},
        {"rows < 2", NULL, 1, 0, NULL},
        {"rows >= 2", NULL, 1, PD_ECHECK, "observed 1 row, expected rows >= 2"},
        /* tolerances */
        {"within 5% of ${base}", "95", 1, 0, NULL},
        {"within 5% of ${base}", "105", 1, 0, NULL},
        {"within 5% of ${base}", "94.9", 1, PD_ECHECK,
         "observed 94.9, expected within 5% of ${base} (100)"},
        {"within 10 of ${half}", "60.5", 1, 0, NULL},
        {"within 10 of ${half}", "40", 1, PD_ECHECK,
         "observed 40, expected within 10 of ${half} (50.5)"},
        {"within 0 of 7", "7", 1, 0, NULL},
        {"within 1 of ${base}", "n/a", 1, PD_ECHECK,
         "observed 'n/a', expected within 1 of ${base} (100) (not a number)"},
        {"within 1 of ${base}", NULL, 1, PD_ECHECK,
         "observed NULL, expected within 1 of ${base} (100) (not a number)"},
        {"within 1 of ${word}", "1", 1, PD_ECHECK,
         "observed 1, expected within 1 of ${word} ('abc') (reference not a number)"},
        {"within 1% of ${missing}", "1", 1, PD_EINPUT, "expect: undefined variable 'missing'"},
        /* null */
        {"null", NULL, 1, 0, NULL},
        {"null", "", 1, PD_ECHECK, "observed '', expected null"},
        {"null", "3", 1, PD_ECHECK, "observed 3, expected null"},
        {"not null", "", 1, 0, NULL},
        {"not null", NULL, 1, PD_ECHECK, "observed NULL, expected not null"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct expect *e = NULL;
        struct pd_err err = {0};
        int rc;

        print_message("eval '%s' on %s\n", cases[i].expect,
                      cases[i].observed ? cases[i].observed : "NULL");
        assert_int_equal(expect_parse(&e, cases[i].expect, &err), 0);
        rc = expect_eval(e, cases[i].observed, cases[i].rows, lookup, payload, &err);
        assert_int_equal(rc, cases[i].rc);
        if (rc != 0)
            assert_string_equal(err.msg, cases[i].msg);
        expect_free(e);
    }
}

static void
test_eval_long_observed(void **state)
{
    struct expect *e = NULL;
    struct pd_err err = {0};
    char big[400];
    char want[256];

    (void)state;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(expect_parse(&e, "= 'y'", &err), 0);
    assert_int_equal(expect_eval(e, big, 1, NULL, NULL, &err), PD_ECHECK);
    snprintf(want, sizeof want, "observed '%.120s...', expected = 'y'", big);
    assert_string_equal(err.msg, want);
    expect_free(e);

    /* without a lookup every variable is undefined */
    assert_int_equal(expect_parse(&e, "= ${base}", &err), 0);
    assert_int_equal(expect_eval(e, "1", 1, NULL, NULL, &err), PD_EINPUT);
    assert_string_equal(err.msg, "expect: undefined variable 'base'");
    expect_free(e);
}

static void
test_numbers(void **state)
{
    static const struct {
        const char *s;
        bool ok;
        double v;
    } cases[] = {
        {"0", true, 0},    {"-3", true, -3},    {"+3", true, 3},      {"3.", true, 3},
        {".5", true, 0.5}, {"1e3", true, 1000}, {"1E-2", true, 0.01}, {"12.50", true, 12.5},
        {"", false, 0},    {".", false, 0},     {"-", false, 0},      {"1e", false, 0},
        {"0x1", false, 0}, {"inf", false, 0},   {"nan", false, 0},    {" 1", false, 0},
        {"1 ", false, 0},  {"1,5", false, 0},   {"1e999", false, 0},  {"--1", false, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double v = -42;

        print_message("number '%s'\n", cases[i].s);
        assert_int_equal(expect_number(&v, cases[i].s), cases[i].ok);
        if (cases[i].ok)
            assert_true(v == cases[i].v);
    }
}

static void
test_op_names(void **state)
{
    (void)state;
    assert_string_equal(expect_op_name(EXPECT_EQ), "=");
    assert_string_equal(expect_op_name(EXPECT_NE), "!=");
    assert_string_equal(expect_op_name(EXPECT_GT), ">");
    assert_string_equal(expect_op_name(EXPECT_GE), ">=");
    assert_string_equal(expect_op_name(EXPECT_LT), "<");
    assert_string_equal(expect_op_name(EXPECT_LE), "<=");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid), cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_eval),        cmocka_unit_test(test_eval_long_observed),
        cmocka_unit_test(test_numbers),     cmocka_unit_test(test_op_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
