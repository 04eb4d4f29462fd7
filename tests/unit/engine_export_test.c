/*
 * Tests for core/engine/export.c helpers (identifier quoting, the CSV it
 * writes and the header it reads back) and for the linter's checks of the
 * sql step's export=, import=, into= and ident= attributes. The database
 * side runs in tests/integration/neon_selective.sh.
 */
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

#include "engine/engine.intern.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/runbook.h"

static void
test_quote_table(void **state)
{
    static const struct {
        const char *in, *want;
    } good[] = {
        {"visits", "\"visits\""},
        {"public.visits", "\"public\".\"visits\""},
        {"_T1", "\"_T1\""},
        {"a23456789012345678901234567890123456789012345678901234567890123",
         "\"a23456789012345678901234567890123456789012345678901234567890123\""},
    };

    static const char *const bad[] = {
        "",        "1visits", "visits\"; DROP TABLE visits; --",
        "vi sits", "a.b.c",   ".visits",
        "visits.", "vïsits",  "a234567890123456789012345678901234567890123456789012345678901234",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct pd_err err = {0};
        char *out = NULL;

        assert_int_equal(engine_quote_table(&out, good[i].in, &err), 0);
        assert_string_equal(out, good[i].want);
        free(out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pd_err err = {0};
        char *out = NULL;
        char *want = pd_xasprintf("'%s' is not a table name (expected name or schema.name, "
                                  "letters, digits and _)",
                                  bad[i]);

        print_message("bad %zu\n", i);
        assert_int_equal(engine_quote_table(&out, bad[i], &err), PD_EINPUT);
        assert_null(out);
        assert_string_equal(err.msg, want);
        free(want);
    }
}

static void
test_csv_row_and_header(void **state)
{
    const char *const names[] = {"id", "say \"hi\"", "a,b", "new\nline"};
    const char *const vals[] = {"1", NULL, "", "x\"y,\nz"};
    struct pd_buf b;
    struct pd_err err = {0};
    char **cols = NULL;
    size_t n = 0;

    (void)state;
    pd_buf_init(&b, 0);
    engine_csv_row(&b, names, 4);
    engine_csv_row(&b, vals, 4);
    // NULL is empty and unquoted, the empty string is "" (COPY ... CSV reads them so)
    assert_string_equal(pd_buf_str(&b), "\"id\",\"say \"\"hi\"\"\",\"a,b\",\"new\nline\"\n"
                                        "\"1\",,\"\",\"x\"\"y,\nz\"\n");
    assert_int_equal(engine_csv_header(&cols, &n, pd_buf_str(&b), b.len, &err), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(cols[i], names[i]);
    engine_strv_free(cols, n);
    pd_buf_free(&b);
}

static void
test_csv_header_errors(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\"id,x\n", "import: unterminated quote in the CSV header"},
        {"id,,x\n", "import: empty column name in the CSV header"},
        {"id,x", "import: the CSV header has no end of line"},
        {"\"id\"x\n", "import: the CSV header has no end of line"},
        {"", "import: empty column name in the CSV header"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pd_err err = {0};
        char **cols = NULL;
        size_t n = 0;

        print_message("case %zu\n", i);
        assert_int_equal(engine_csv_header(&cols, &n, cases[i].in, strlen(cases[i].in), &err),
                         PD_EINPUT);
        assert_string_equal(err.msg, cases[i].want);
        assert_null(cols);
    }
}

/* All diagnostics of parsing text, joined with newlines; caller frees. */
static char *
lint(const char *text)
{
    struct runbook *rb = NULL;
    struct runbook_diags d = {0};
    struct pd_err err = {0};
    struct pd_buf b;
    char *out;

    pd_buf_init(&b, 0);
    runbook_parse(&rb, "x.md", text, strlen(text), &d, &err);
    for (size_t i = 0; i < d.n; i++) {
        char *line = runbook_diag_format(&d.items[i]);

        pd_buf_appendf(&b, NULL, "%s\n", line);
        free(line);
    }
    out = pd_xstrdup(pd_buf_str(&b));
    pd_buf_free(&b);
    runbook_free(rb);
    runbook_diags_free(&d);
    return out;
}

#define HEAD "# T\n```pgdrill\nid: t\ninput: table text default=visits \"t\"\n```\n## S\n"

static void
test_lint_transfer(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        // a good export and import: import's save=p defines p_rows, p_inserted, p_skipped
        {HEAD "```sql export=rows.csv ident=table save=n\nSELECT * FROM ${table}\n```\n"
              "```sql import=rows.csv into=${table} ident=table readonly=no save=p\n"
              "INSERT INTO ${table} SELECT * FROM staging\n```\n"
              "```check name=c expect=\"= ${p_rows}\" ident=table\n"
              "SELECT ${p_inserted}::int + ${p_skipped}::int + ${n}::int * 0\n```\n",
         ""},
        {HEAD "```sql export=../x.csv\nSELECT 1\n```\n```sql export=.hidden\nSELECT 1\n```\n"
              "```sql import=a/b into=t readonly=no\nSELECT 1\n```\n",
         "x.md:7:8: bad file name '../x.csv' for export (a plain name in the drill folder)\n"
         "x.md:10:8: bad file name '.hidden' for export (a plain name in the drill folder)\n"
         "x.md:13:8: bad file name 'a/b' for import (a plain name in the drill folder)\n"},
        {HEAD "```sql import=a.csv readonly=no\nSELECT 1\n```\n```sql into=t\nSELECT 1\n```\n"
              "```sql import=a.csv into=t export=b.csv readonly=no\nSELECT 1\n```\n"
              "```sql import=a.csv into=t\nSELECT 1\n```\n"
              "```sql import=a.csv into=t readonly=yes\nSELECT 1\n```\n",
         "x.md:7:8: sql: import= needs into=TABLE\n"
         "x.md:10:8: sql: into= needs import=FILE\n"
         "x.md:13:8: sql: export= and import= exclude each other\n"
         "x.md:16:8: sql: import= writes: add readonly=no\n"
         "x.md:19:8: sql: import= writes: add readonly=no\n"},
        {HEAD "```sql ident=table,Bad,nope\nSELECT 1\n```\n",
         "x.md:7:8: bad variable name 'Bad' in ident\n"
         "x.md:7:24: undefined variable 'nope'\n"},
        {HEAD "```sql export=a.csv save=n\nSELECT 1\n```\n```sh\necho ${n_rows}\n```\n",
         "x.md:11:6: undefined variable 'n_rows'\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = lint(cases[i].text);

        print_message("case %zu\n", i);
        assert_string_equal(out, cases[i].want);
        free(out);
    }
}

static void
test_file_names(void **state)
{
    (void)state;
    assert_true(runbook_valid_file_name("recovered.csv"));
    assert_true(runbook_valid_file_name("visits_2025-01-01.csv"));
    assert_true(runbook_valid_file_name("_a"));
    assert_false(runbook_valid_file_name(""));
    assert_false(runbook_valid_file_name(".csv"));
    assert_false(runbook_valid_file_name("-rf"));
    assert_false(runbook_valid_file_name("a/b"));
    assert_false(runbook_valid_file_name("a b"));
    assert_false(runbook_valid_file_name("r\xc3\xa9.csv"));
    assert_false(runbook_valid_file_name(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_table),       cmocka_unit_test(test_csv_row_and_header),
        cmocka_unit_test(test_csv_header_errors), cmocka_unit_test(test_lint_transfer),
        cmocka_unit_test(test_file_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
