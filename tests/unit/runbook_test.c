/*
 * runbook parser tests: helpers, a well-formed tour of the grammar, every
 * malformed fixture in tests/fixtures/runbooks/bad with its exact lint
 * messages, and every shipped runbook in runbooks/.
 *
 * Fixtures are found through PGDRILL_TOP (the repository root); the test
 * runner sets it and runs us from a temporary directory.
 */
#include "runbook/runbook.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "runbook/action.h"
#include "runbook/runbook.intern.h"

#define BAD_DIR  "tests/fixtures/runbooks/bad"
#define GOOD_DIR "tests/fixtures/runbooks/good"
#define MAX_MSGS 12

/* Run from the repository root so fixture paths (and messages) are relative. */
static void
go_top(void)
{
    const char *top = getenv("PGDRILL_TOP");

    if (top == NULL || *top == '\0')
        fail_msg("PGDRILL_TOP is not set: it must name the repository root");
    if (chdir(top) != 0)
        fail_msg("cannot chdir to PGDRILL_TOP=%s", top);
}

/* All diagnostics of parsing text, joined with newlines; caller frees. */
static char *
lint_text(const char *path, const char *text, int *rc)
{
    struct runbook *rb = NULL;
    struct runbook_diags d = {0};
    struct pd_err err = {0};
    size_t total = 1;
    char *out;

    *rc = runbook_parse(&rb, path, text, strlen(text), &d, &err);
    out = pd_xstrdup("");
    for (size_t i = 0; i < d.n; i++) {
        char *line = runbook_diag_format(&d.items[i]);
        total += strlen(line) + 1;
        out = pd_xrealloc(out, total);
        strcat(out, line);
        strcat(out, "\n");
        free(line);
    }
    if (*rc != 0 && d.n > 0) {
        char *first = runbook_diag_format(&d.items[0]);

        assert_string_equal(err.msg, first);
        free(first);
    }
    assert_true((*rc == 0) == (d.n == 0));
    assert_null(*rc == 0 ? NULL : rb);
    runbook_free(rb);
    runbook_diags_free(&d);
    return out;
}

/* ---- helpers --------------------------------------------------------------------------- */

static void
test_durations(void **state)
{
    static const struct {
        const char *in;
        int rc;
        int secs;
    } cases[] = {
        {"45", 0, 45},   {"0", 0, 0},           {"90s", 0, 90},         {"5m", 0, 300},
        {"2h", 0, 7200}, {"1h30m", 0, 5400},    {"1h30m10s", 0, 5410},  {"1h10s", 0, 3610},
        {"", -1, 0},     {"5x", -1, 0},         {"m", -1, 0},           {"1m1h", -1, 0},
        {"1h1h", -1, 0}, {"-5", -1, 0},         {"+5", -1, 0},          {"5 m", -1, 0},
        {"1.5h", -1, 0}, {"9999999999", -1, 0}, {"1234567890m", -1, 0}, {"999999999h", -1, 0},
        {"10m ", -1, 0}, {"h30m", -1, 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int out = -7;
        int rc = runbook_parse_duration(&out, cases[i].in);

        print_message("duration '%s'\n", cases[i].in);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            assert_int_equal(out, cases[i].secs);
        else
            assert_int_equal(out, -7);
    }
    assert_int_equal(runbook_parse_duration(&(int){0}, NULL), -1);
}

static void
test_slugs(void **state)
{
    static const struct {
        const char *title, *slug;
    } cases[] = {
        {"Verify table counts", "verify-table-counts"},
        {"1. Create the branch", "1-create-the-branch"},
        {"  Restore -- from S3!  ", "restore-from-s3"},
        {"Option A: promote", "option-a-promote"},
        {"Ünïcode stays out", "n-code-stays-out"},
        {"???", ""},
        {"", ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = runbook_slug(cases[i].title);

        assert_string_equal(s, cases[i].slug);
        free(s);
    }
}

static void
test_names(void **state)
{
    static const struct {
        const char *s;
        bool id, step_id, var, env, integer;
    } cases[] = {
        {"verify-counts", true, true, false, false, false},
        {"stage/1", false, true, false, false, false},
        {"a.b_c", false, true, false, false, false},
        {"-lead", false, false, false, false, false},
        {"target_time", false, true, true, false, false},
        {"_x", false, false, true, false, false},
        {"DATABASE_URL", false, false, false, true, false},
        {"_", false, false, true, true, false},
        {"Mixed", false, false, false, false, false},
        {"42", true, true, false, false, true},
        {"-42", false, false, false, false, true},
        {"4x", true, true, false, false, false},
        {"a:b", false, false, false, false, false},
        {"", false, false, false, false, false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("name '%s'\n", cases[i].s);
        assert_int_equal(runbook_valid_id(cases[i].s), cases[i].id);
        assert_int_equal(runbook_valid_step_id(cases[i].s), cases[i].step_id);
        assert_int_equal(runbook_valid_var(cases[i].s), cases[i].var);
        assert_int_equal(runbook_env_var(cases[i].s), cases[i].env);
        assert_int_equal(runbook_valid_integer(cases[i].s), cases[i].integer);
    }
}

static void
test_edit_distance(void **state)
{
    static const struct {
        const char *a, *b;
        size_t d;
    } cases[] = {
        {"sql", "sql", 0},
        {"sqll", "sql", 1},
        {"hs", "sh", 1},
        {"SQL", "sql", 0},
        {"nte", "note", 1},
        {"chekc", "check", 1},
        {"python", "sh", 5},
        {"", "s3", 2},
        /* long words are not compared letter by letter: the longer length is returned */
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sh", 72},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(runbook_edit_distance(cases[i].a, cases[i].b), cases[i].d);
}

static void
test_tokenize(void **state)
{
    static const struct {
        const char *in;
        const char *toks; /* "key=value|..." with bare words as "=value", quoted marked '"' */
        const char *err;  /* expected message, or NULL */
        int errcol;
    } cases[] = {
        {"", "", NULL, 0},
        {"  a=1   b=two ", "a=1|b=two", NULL, 0},
        {"expect=\"= 0\" name=x", "expect=\"= 0|name=x", NULL, 0},
        {"t=\"say \\\"hi\\\" \\\\ \\n\"", "t=\"say \"hi\" \\ \\n", NULL, 0},
        {"word \"a prompt\" k=", "=word|=\"a prompt|k=", NULL, 0},
        {"Key=1", "=Key=1", NULL, 0},
        {"a-b_c=1", "a-b_c=1", NULL, 0},
        {"x=\"open", "", "unterminated quote in attribute 'x'", 0},
        {"a=1 \"open", "a=1", "unterminated quote", 4},
        {"x=\"v\"w", "", "text after closing quote in attribute 'x'", 5},
        {"\"v\"w", "", "text after closing quote", 3},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct runbook_toks toks;
        char *msg;
        int col;
        int rc = runbook_tokenize(&toks, cases[i].in, &msg, &col);
        char buf[256] = "";

        print_message("tokenize '%s'\n", cases[i].in);
        for (size_t k = 0; k < toks.n; k++) {
            const struct runbook_tok *t = &toks.items[k];

            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s=%s%s", k ? "|" : "",
                     t->key ? t->key : "", t->quoted ? "\"" : "", t->value);
        }
        assert_string_equal(buf, cases[i].toks);
        if (cases[i].err) {
            assert_int_equal(rc, -1);
            assert_string_equal(msg, cases[i].err);
            assert_int_equal(col, cases[i].errcol);
        } else {
            assert_int_equal(rc, 0);
            assert_null(msg);
        }
        free(msg);
        runbook_toks_free(&toks);
    }
}

static void
test_token_columns(void **state)
{
    struct runbook_toks toks;
    char *msg;
    int col;

    (void)state;
    assert_int_equal(runbook_tokenize(&toks, " name=a  expect=\"= 0\"", &msg, &col), 0);
    assert_int_equal(toks.n, 2);
    assert_int_equal(toks.items[0].col, 1);
    assert_int_equal(toks.items[0].value_col, 6);
    assert_int_equal(toks.items[1].col, 9);
    assert_int_equal(toks.items[1].value_col, 17);
    assert_true(toks.items[1].quoted);
    runbook_toks_free(&toks);
}

struct seen_vars {
    char buf[512];
};

static void
collect_var(const char *name, size_t len, size_t offset, bool bad, void *payload)
{
    struct seen_vars *s = payload;

    snprintf(s->buf + strlen(s->buf), sizeof s->buf - strlen(s->buf), "%s%s%.*s@%zu",
             s->buf[0] ? "|" : "", bad ? "!" : "", (int)len, name, offset);
}

static void
test_scan_vars(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"no vars", ""},
        {"${a} and ${B_2}", "a@0|B_2@9"},
        {"$${lit} ${x}", "x@8"},
        {"$$${x}", ""}, /* "$" then the literal "$${" */
        {"${} ${a-b} ${open", "!${}@0|!${a-b}@4|!${open@11"},
        {"$x ${y}", "y@3"},
        {"${a\n}", "!${a@0"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct seen_vars s = {""};

        runbook_scan_vars(cases[i].in, collect_var, &s);
        assert_string_equal(s.buf, cases[i].out);
    }
}

static void
test_action_names(void **state)
{
    static const char *const names[] = {"sh",   "sql", "check",      "confirm", "input",  "note",
                                        "neon", "s3",  "compliance", "rows",    "runbook"};

    (void)state;
    assert_int_equal(STEP_ACTION_COUNT, 11);
    for (int a = 0; a < STEP_ACTION_COUNT; a++)
        assert_string_equal(runbook_action_name((enum step_action)a), names[a]);
    assert_string_equal(runbook_action_name(STEP_ACTION_COUNT), "?");
}

/*
 * Every action has a complete row: nothing about an action falls back to
 * another's behaviour. The engine's and the plan's parts of the row are
 * checked in engine_test and timeline_test.
 */
static void
test_action_rows(void **state)
{
    (void)state;
    for (int i = 0; i < STEP_ACTION_COUNT; i++) {
        const struct runbook_action *a = runbook_action((enum step_action)i);
        const char *name = runbook_action_name((enum step_action)i);

        assert_non_null(a);
        if (a->required == NULL || a->allowed == NULL)
            fail_msg("%s: attributes missing", name);
        if (a->mutates == NULL)
            fail_msg("%s: mutates missing", name);
    }
    assert_null(runbook_action(STEP_ACTION_COUNT));
    assert_null(runbook_action((enum step_action) - 1));
}

/* ---- the well-formed tour -------------------------------------------------------------- */

/* full.md's header: metadata and hashes. */
static void
assert_full_header(const struct runbook *rb)
{
    struct pd_err err = {0};
    char hex[65];

    assert_string_equal(rb->path, GOOD_DIR "/full.md");
    assert_string_equal(rb->id, "full-tour");
    assert_string_equal(rb->title, "The full tour"); /* title: overrides the H1 */
    assert_string_equal(rb->use_case, "Exercise every part of the grammar");
    assert_string_equal(rb->environment, "sandbox");
    assert_int_equal(rb->expected_s, 5400);
    assert_int_equal(rb->rto_s, 7200);
    assert_int_equal(rb->rpo_s, 300);
    assert_true(rb->drill);
    assert_string_equal(rb->prose, "Intro prose, shown before the first stage.");
    assert_int_equal(pd_sha256_file(hex, GOOD_DIR "/full.md", &err), 0);
    assert_string_equal(rb->sha256, hex);
    assert_int_equal(strlen(rb->stages_sha256), 64);
}

/* full.md's header inputs. */
static void
assert_full_inputs(const struct runbook *rb)
{
    const struct runbook_input *in;

    assert_int_equal(rb->n_inputs, 4);
    in = runbook_find_input(rb, "target_time");
    assert_non_null(in);
    assert_int_equal(in->type, INPUT_TIMESTAMP);
    assert_true(in->required);
    assert_null(in->default_value);
    assert_string_equal(in->prompt, "Restore point (RFC 3339, UTC)");
    assert_int_equal(in->pos.line, 13);
    assert_int_equal(in->pos.col, 8);
    in = runbook_find_input(rb, "outcome_option");
    assert_int_equal(in->type, INPUT_CHOICE);
    assert_int_equal(in->n_choices, 3);
    assert_string_equal(in->choices[0], "A");
    assert_string_equal(in->choices[1], "B");
    assert_string_equal(in->choices[2], "verify-only");
    assert_string_equal(in->default_value, "verify-only");
    assert_false(in->required); /* a default makes it optional */
    in = runbook_find_input(rb, "email");
    assert_int_equal(in->type, INPUT_TEXT);
    assert_false(in->required);
    assert_string_equal(in->default_value, "test@example.com");
    in = runbook_find_input(rb, "batch");
    assert_int_equal(in->type, INPUT_INTEGER);
    assert_string_equal(in->default_value, "500");
    assert_null(runbook_find_input(rb, "table")); /* step inputs are not header inputs */
}

/* full.md's first stage: a neon step and a sh step. */
static void
assert_full_stage_create(const struct runbook *rb)
{
    const struct runbook_stage *st;
    const struct runbook_step *sp;

    assert_int_equal(rb->n_stages, 3);
    st = &rb->stages[0];
    assert_string_equal(st->id, "create");
    assert_string_equal(st->title, "1. Create the branch");
    assert_int_equal(st->expected_s, 300);
    assert_int_equal(st->pos.line, 21);
    assert_string_equal(st->prose, "Stage prose with `code` and a list:\n\n- one\n- two\n\n"
                                   "```text\nA display block: prose, never run.\n```");
    assert_int_equal(st->n_steps, 2);

    sp = &st->steps[0];
    assert_int_equal(sp->action, STEP_NEON);
    assert_string_equal(sp->id, "create/1");
    assert_string_equal(sp->body, "Create the recovery branch.");
    assert_string_equal(sp->prose, "Stage prose with `code` and a list:\n\n- one\n- two");
    assert_int_equal(sp->pos.line, 29);
    assert_int_equal(sp->pos.col, 1);
    assert_int_equal(sp->n_attrs, 5);
    assert_string_equal(sp->attrs[2].key, "timestamp");
    assert_string_equal(sp->attrs[2].value, "${target_time}");
    assert_int_equal(sp->attrs[2].pos.line, 29);
    assert_int_equal(sp->attrs[2].pos.col, 38);
    assert_string_equal(runbook_step_attr(sp, "op"), "branch-create");
    assert_null(runbook_step_attr(sp, "url"));
    assert_int_equal(sp->on_fail, FAIL_RETRY);
    assert_int_equal(sp->retries, 3);
    assert_false(sp->manual);
    assert_null(sp->input);

    sp = &st->steps[1];
    assert_int_equal(sp->action, STEP_SH);
    assert_string_equal(sp->id, "create/2");
    assert_string_equal(sp->prose, "");
    assert_string_equal(sp->body, "echo \"${rec_host}\" \"$${literal}\" | tr a-z A-Z");
    assert_string_equal(runbook_step_attr(sp, "timeout"), "90s");
    assert_string_equal(runbook_step_attr(sp, "env"), "email,PGHOST");
    assert_int_equal(sp->on_fail, FAIL_STOP);
}

/* full.md's second and third stages: checks, retries, operator steps. */
static void
assert_full_stages_rest(const struct runbook *rb)
{
    const struct runbook_stage *st;
    const struct runbook_step *sp;

    st = &rb->stages[1];
    assert_string_equal(st->id, "verify-table-counts");
    assert_int_equal(st->expected_s, 0);
    assert_string_equal(st->prose, "Counts first.\n\nTrailing prose of the stage.");
    assert_int_equal(st->n_steps, 4);
    assert_int_equal(st->steps[0].action, STEP_CHECK);
    assert_string_equal(runbook_step_attr(&st->steps[0], "expect"), "= 0");
    assert_string_equal(runbook_step_attr(&st->steps[0], "name"), "users.email-null");
    assert_string_equal(st->steps[0].prose, "Counts first.");
    assert_string_equal(st->steps[2].id, "again");
    assert_int_equal(st->steps[2].on_fail, FAIL_SKIP);
    assert_string_equal(st->steps[3].id, "verify-table-counts/4");
    assert_int_equal(st->steps[3].action, STEP_SQL);

    st = &rb->stages[2];
    assert_string_equal(st->id, "operator-steps");
    assert_string_equal(st->prose, "");
    assert_int_equal(st->n_steps, 5);
    sp = &st->steps[0];
    assert_int_equal(sp->action, STEP_INPUT);
    assert_non_null(sp->input);
    assert_string_equal(sp->input->name, "table");
    assert_int_equal(sp->input->type, INPUT_CHOICE);
    assert_int_equal(sp->input->n_choices, 3);
    assert_string_equal(sp->input->choices[2], "clients");
    assert_string_equal(sp->input->default_value, "visits");
    assert_string_equal(sp->input->prompt, "Which table should be copied?");
    assert_false(sp->input->required);
    assert_int_equal(st->steps[1].action, STEP_CONFIRM);
    assert_string_equal(runbook_step_attr(&st->steps[1], "target"), "${rec_name}");
    sp = &st->steps[2];
    assert_true(sp->manual);
    assert_int_equal(sp->on_fail, FAIL_RETRY);
    assert_int_equal(sp->retries, 5);
    assert_int_equal(st->steps[3].action, STEP_S3);
    assert_string_equal(st->steps[3].body, "");
    assert_int_equal(st->steps[4].action, STEP_NOTE);
}

static void
test_good_full(void **state)
{
    struct runbook *rb = NULL;
    struct runbook_diags d = {0};
    struct pd_err err = {0};

    (void)state;
    go_top();
    assert_int_equal(runbook_load(&rb, GOOD_DIR "/full.md", &d, &err), 0);
    assert_int_equal(d.n, 0);
    assert_non_null(rb);
    assert_full_header(rb);
    assert_full_inputs(rb);
    assert_full_stage_create(rb);
    assert_full_stages_rest(rb);
    runbook_free(rb);
    runbook_diags_free(&d);
}

/* In-memory runbooks: small well-formed variations. */
static const char minimal[] = "# T\n\n```pgdrill\nid: t\n```\n\n## S\n\n```sh\ntrue\n```\n";

static void
test_minimal_defaults(void **state)
{
    struct runbook *rb = NULL;
    struct pd_err err = {0};

    (void)state;
    /* diags may be NULL */
    assert_int_equal(runbook_parse(&rb, "m.md", minimal, strlen(minimal), NULL, &err), 0);
    assert_string_equal(rb->title, "T");
    assert_null(rb->use_case);
    assert_null(rb->environment);
    assert_int_equal(rb->expected_s, 0);
    assert_int_equal(rb->rto_s, 0);
    assert_false(rb->drill);
    assert_int_equal(rb->n_inputs, 0);
    assert_string_equal(rb->prose, "");
    assert_string_equal(rb->stages[0].id, "s");
    assert_string_equal(rb->stages[0].steps[0].id, "s/1");
    assert_string_equal(rb->stages[0].steps[0].body, "true");
    runbook_free(rb);
}

static void
test_environment_defaults(void **state)
{
    static const char text[] =
        "# T\n\n```pgdrill\nid: t\n"
        "input: cmd text default=\"npm run db:migrate\" default-sandbox=\"pgdrill sandbox "
        "migrate\" default-staging=stage \"Command\"\n"
        "input: only text default-sandbox=x \"Only in the sandbox\"\n"
        "```\n\n## S\n\n```sh\ntrue\n```\n";

    static const struct {
        const char *env, *cmd, *only; /* env NULL: unset; only NULL: no default */
        bool only_required;
    } cases[] = {
        {NULL, "npm run db:migrate", NULL, true},
        {"PRODUCTION", "npm run db:migrate", NULL, true},
        {"SANDBOX", "pgdrill sandbox migrate", "x", false},
        {"sandbox", "pgdrill sandbox migrate", "x", false},
        {"Staging", "stage", NULL, true},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct runbook *rb = NULL;
        struct runbook_diags diags = {0};
        struct pd_err err = {0};

        if (cases[i].env != NULL)
            setenv("PGDRILL_ENVIRONMENT", cases[i].env, 1);
        else
            unsetenv("PGDRILL_ENVIRONMENT");
        assert_int_equal(runbook_parse(&rb, "e.md", text, strlen(text), &diags, &err), 0);
        assert_int_equal(diags.n, 0);
        assert_string_equal(runbook_find_input(rb, "cmd")->default_value, cases[i].cmd);
        if (cases[i].only == NULL)
            assert_null(runbook_find_input(rb, "only")->default_value);
        else
            assert_string_equal(runbook_find_input(rb, "only")->default_value, cases[i].only);
        assert_int_equal(runbook_find_input(rb, "only")->required, cases[i].only_required);
        runbook_free(rb);
        runbook_diags_free(&diags);
    }
    unsetenv("PGDRILL_ENVIRONMENT");
}

static void
test_well_formed_variants(void **state)
{
    /* Each must parse without a single diagnostic. */
    static const char *const cases[] = {
        /* CRLF line endings */
        "# T\r\n\r\n```pgdrill\r\nid: t\r\n```\r\n\r\n## S\r\n\r\n```sh save=x\r\necho "
        "${HOME}\r\n```\r\n",
        /* tilde fences, indented fence, longer fences */
        "# T\n~~~pgdrill\nid: t\n~~~\n## S\n  ```sql\n  SELECT 1\n  ```\n````check name=a "
        "expect=\"rows >= 1\"\n"
        "SELECT 1\n````\n",
        /* display languages and plain words are prose, even near an action name */
        "# T\n```pgdrill\nid: t\n```\n## S\n```zsh\nls\n```\n```psql\n\\d\n```\n```none\nx\n```\n"
        "```python\nprint(1)\n```\n```\nplain\n```\n",
        /* a prose-only stage, H3 inside a stage, setext H2, metadata before the title */
        "```pgdrill\nid: t\n```\n# T\n## S\n### sub\ntext\n\nSetext "
        "stage\n------------\n\n```note\nok?\n```\n",
        /* HTML comments that are not pgdrill's are ignored; pgdrill comment with nothing in it */
        "# T\n```pgdrill\nid: t\n```\n<!-- author note -->\n## S\n<!-- pgdrill "
        "-->\n```sh\ntrue\n```\n",
        /* multi-line stage comment */
        "# T\n```pgdrill\nid: t\n```\n## S\n<!-- pgdrill\n  id=stage-one\n  expected=1h "
        "-->\n```sh\ntrue\n```\n",
        /* env variables are not linted; $${ is a literal; a step input defines its name */
        "# T\n```pgdrill\nid: t\n```\n## S\n```input name=who\nWho?\n```\n"
        "```sh env=who,HOME\necho ${who} ${SOME_ENV} $${not_a_var}\n```\n",
        /* neon save=PREFIX defines PREFIX_id, PREFIX_name, PREFIX_host, PREFIX_uri */
        "# T\n```pgdrill\nid: t\n```\n## S\n```neon op=branch-get save=b\nget\n```\n"
        "```sql url=${b_uri}\nSELECT '${b_id}', '${b_name}', '${b_host}'\n```\n",
        /* baseline defines a variable for later checks */
        "# T\n```pgdrill\nid: t\n```\n## S\n```check name=a expect=\"not null\" baseline=n\nSELECT "
        "1\n```\n"
        "```check name=b expect=\"within 10 of ${n}\"\nSELECT 1\n```\n",
        /* HTML blocks and indented code are prose; a look-alike of the pgdrill comment is an
         * ordinary comment; blanks after a choice's commas; trailing blanks in metadata */
        "# T\n```pgdrill\nid: t   \ninput: c choice( A , B ) \"C\"\n```\n## S\n<!--pgdrillx -->\n"
        "<details>\n<summary>More</summary>\n\ntext\n</details>\n\n    indented code\n",
        /* a multi-line setext heading, a heading with an inline comment, explicit on-fail=stop */
        "# T\n```pgdrill\nid: t\n```\nLine one\nline two\n---\n## Title <!-- c -->\n"
        "```sh on-fail=stop\ntrue\n```\n",
        /* every s3 op */
        "# T\n```pgdrill\nid: t\n```\n## S\n```s3 op=list\n```\n```s3 op=get\n```\n```s3 "
        "op=put\n```\n"
        "```s3 op=head\n```\n```s3 op=delete\n```\n```s3 op=verify\n```\n",
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        char *out = lint_text("v.md", cases[i], &rc);

        print_message("variant %zu\n", i);
        assert_string_equal(out, "");
        assert_int_equal(rc, 0);
        free(out);
    }
}

static void
test_variant_details(void **state)
{
    struct runbook *rb = NULL;
    struct pd_err err = {0};
    const char *crlf = "# T\r\n\r\n```pgdrill\r\nid: t\r\n```\r\n\r\n## S\r\n\r\nSome text.\r\n\r\n"
                       "```sh timeout=5m\r\nline1\r\nline2\r\n```\r\n";
    const char *multi = "# T\n```pgdrill\nid: t\n```\n## S\n<!-- pgdrill\n  id=stage-one\n"
                        "  expected=1h -->\n```sh\ntrue\n```\n";
    const char *html = "# T\n```pgdrill\nid: t\ninput: c choice( A , B ) \"C\"\n```\n"
                       "Line one\nline two\n---\n<details>\n<summary>More</summary>\n\ntext\n"
                       "</details>\n\n    indented code\n## Title <!-- c -->\n```sh on-fail=stop\n"
                       "true\n```\n";

    (void)state;
    assert_int_equal(runbook_parse(&rb, "c.md", crlf, strlen(crlf), NULL, &err), 0);
    assert_string_equal(rb->stages[0].steps[0].body, "line1\nline2");
    assert_string_equal(rb->stages[0].steps[0].prose, "Some text.");
    assert_string_equal(runbook_step_attr(&rb->stages[0].steps[0], "timeout"), "5m");
    runbook_free(rb);
    assert_int_equal(runbook_parse(&rb, "c.md", multi, strlen(multi), NULL, &err), 0);
    assert_string_equal(rb->stages[0].id, "stage-one");
    assert_int_equal(rb->stages[0].expected_s, 3600);
    assert_string_equal(rb->stages[0].steps[0].id, "stage-one/1");
    runbook_free(rb);
    assert_int_equal(runbook_parse(&rb, "c.md", html, strlen(html), NULL, &err), 0);
    assert_int_equal(rb->n_stages, 2);
    assert_string_equal(rb->inputs[0].choices[0], "A");
    assert_string_equal(rb->inputs[0].choices[1], "B");
    assert_string_equal(rb->stages[0].title, "Line one line two");
    assert_string_equal(rb->stages[0].id, "line-one-line-two");
    /* consecutive prose blocks keep the exact source between them */
    assert_string_equal(rb->stages[0].prose, "<details>\n<summary>More</summary>\n\ntext\n"
                                             "</details>\n\n    indented code");
    assert_string_equal(rb->stages[1].title, "Title");
    assert_int_equal(rb->stages[1].steps[0].on_fail, FAIL_STOP);
    runbook_free(rb);
}

/* Anything over 4 MiB is refused before parsing, in memory and on disk. */
static void
test_too_big(void **state)
{
    size_t len = (size_t)4 * 1024 * 1024 + 1;
    char *big = pd_xmalloc(len + 1);
    char path[] = "/tmp/pgdrill-runbook-test.XXXXXX";
    struct runbook *rb = NULL;
    struct pd_err err = {0};
    FILE *f;
    int fd;

    (void)state;
    memset(big, 'a', len);
    big[len] = '\0';
    assert_int_equal(runbook_parse(&rb, "big.md", big, len, NULL, &err), PD_EINPUT);
    assert_null(rb);
    assert_string_equal(err.msg, "big.md: runbook too big (4194305 bytes, limit 4194304)");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_int_equal(fwrite(big, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(runbook_load(&rb, path, NULL, &err), PD_EINPUT);
    unlink(path);
    assert_null(rb);
    assert_true(strstr(err.msg, ": runbook too big (4194305 bytes, limit 4194304)") != NULL);
    free(big);
}

/* A NUL byte anywhere (here inside a fence's info string) is refused with its position. */
static void
test_nul_byte(void **state)
{
    static const char text[] = "# T\n\n```pgdrill\nid: t\n```\n\n## S\n\n```s\0h\necho\n```\n";
    struct runbook_diags d = {0};
    struct runbook *rb = NULL;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(runbook_parse(&rb, "nul.md", text, sizeof(text) - 1, &d, &err), PD_EINPUT);
    assert_null(rb);
    assert_string_equal(err.msg, "nul.md:9:5: NUL byte: a runbook must be a text file");
    assert_int_equal(d.n, 1);
    runbook_diags_free(&d);
}

/* In-memory malformed snippets, for problems that need no fixture file. */
static void
test_lint_snippets(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "s.md:1:1: missing title (level-1 heading)\n"
             "s.md:1:1: missing metadata block\n"
             "s.md:1:1: runbook has no stages\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sh\necho ${x}\n```\n",
         "s.md:7:6: undefined variable 'x'\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n  ```sh\n  echo ${x}\n  ```\n",
         "s.md:7:8: undefined variable 'x'\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sh x=\"a b\" y=${v}\ntrue\n```\n",
         "s.md:6:7: unknown attribute 'x' for sh\n"
         "s.md:6:15: unknown attribute 'y' for sh\n"
         "s.md:6:17: undefined variable 'v'\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sh id=a\ntrue\n```\n```sh id=a\ntrue\n```\n",
         "s.md:9:1: duplicate step id 'a' (first at line 6)\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sh timeout=5m timeout=6m\ntrue\n```\n",
         "s.md:6:18: duplicate attribute 'timeout'\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sql timeout=999999999s\nSELECT 1\n```\n"
         "```sh timeout=168h\ntrue\n```\n",
         "s.md:6:8: timeout '999999999s' too long (at most 168h)\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n<!-- pgdrill id=a id=b x -->\n",
         "s.md:6:19: duplicate attribute 'id'\n"
         "s.md:6:24: bad attribute 'x' (expected key=value)\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n<!-- pgdrill id=\"a -->\n",
         "s.md:6:14: unterminated quote in attribute 'id'\n"},
        {"```pgdrill\nid: t\n```\n## S\n# Late\n", "s.md:1:1: missing title (level-1 heading)\n"
                                                   "s.md:5:1: title after the first stage\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n# Late\n",
         "s.md:6:1: duplicate title (first at line 1)\n"},
        {"# T\n## S\n```pgdrill\nid: t\n```\n", "s.md:3:1: metadata block after the first stage\n"},
        {"# T\n```pgdrill\nid:\n```\n## S\n", "s.md:3:4: bad runbook id ''\n"},
        {"#\n```pgdrill\nid: t\n```\n## S\n", "s.md:1:1: missing title (level-1 heading)\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```Sql\nSELECT 1\n```\n```SH\nx\n```\n",
         "s.md:6:4: unknown action 'Sql' (did you mean 'sql'?)\n"
         "s.md:9:4: unknown action 'SH' (did you mean 'sh'?)\n"},
        {"# T\n```pgdrill\nid: t\ninput: t timestamp default=2024-01-01T00:00:00Z\n```\n## S\n",
         "s.md:4:8: bad input declaration: missing prompt\n"},
        {"# T\n```pgdrill\nid: t\ninput: c choice(a,,b) \"x\"\n```\n## S\n",
         "s.md:4:10: empty choice in input 'c'\n"},
        {"# T\n```pgdrill\nid: t\ninput: c choice(a \"x\"\n```\n## S\n",
         "s.md:4:10: unknown input type 'choice(a'\n"},
        {"# T\n```pgdrill\nid: t\ninput: c text \"x\" \"y\n```\n## S\n",
         "s.md:4:19: bad input declaration: unterminated quote\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```input name=x choices=a||b\nq\n```\n"
         "```input name=y choices=a|a\nq\n```\n```input name=z type=text choices=a|\nq\n```\n"
         "```input name=Bad\nq\n```\n",
         "s.md:6:17: empty choice in input 'x'\n"
         "s.md:9:17: duplicate choice 'a' in input 'y'\n"
         "s.md:12:27: choices given for input 'z' of type text\n"
         "s.md:12:27: empty choice in input 'z'\n"
         "s.md:15:10: bad variable name 'Bad' for name\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```input name=t type=timestamp default=now\nq\n```\n",
         "s.md:6:32: default 'now' of input 't' is not an RFC 3339 timestamp in UTC\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```check name=a expect=\"rows > 0\" manual=yes\n```\n",
         "s.md:6:1: check: empty body\n"},
        {"# T\n```pgdrill\nid: t\ninput: x text bogus \"p\"\n```\n## S\n",
         "s.md:4:15: bad input declaration: unexpected 'bogus'\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sh",
         "s.md:6:1: unterminated code block (no closing fence)\n"
         "s.md:6:1: sh: empty body\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```check name=-x expect=\"= 0\"\nSELECT 0\n```\n"
         "```input name=n type=float\nHow many?\n```\n",
         "s.md:6:10: bad check name '-x'\n"
         "s.md:9:17: unknown input type 'float'\n"},
        {"# T\n```pgdrill\nid: t\n```\n## S\n```sh when=\"${x} == A\"\ntrue\n```\n"
         "```sh when=A\ntrue\n```\n",
         "s.md:6:7: bad condition '${x} == A' (expected '${var} = A' or '${var} != A|B')\n"
         "s.md:6:13: undefined variable 'x'\n"
         "s.md:9:7: bad condition 'A' (expected '${var} = A' or '${var} != A|B')\n"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc;
        char *out = lint_text("s.md", cases[i].text, &rc);

        print_message("snippet %zu\n", i);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(rc, PD_EINPUT);
        free(out);
    }
}

/* ---- the resume hash ------------------------------------------------------------------- */

static void
stages_hash(char out[65], const char *text)
{
    struct runbook *rb = NULL;
    struct pd_err err = {0};

    assert_int_equal(runbook_parse(&rb, "h.md", text, strlen(text), NULL, &err), 0);
    memcpy(out, rb->stages_sha256, 65);
    runbook_free(rb);
}

static void
test_stages_hash(void **state)
{
    static const char base[] =
        "# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S\n<!-- pgdrill expected=1m -->\n"
        "Prose.\n```sh timeout=5m\ntrue\n```\n";

    static const struct {
        const char *text;
        bool same;
    } cases[] = {
        /* prose, intro, metadata, expected durations and the title do not matter */
        {"# T2\n```pgdrill\nid: t\nrto: 2h\n```\nOther intro.\n## S\n<!-- pgdrill expected=9m -->\n"
         "Different prose.\n```sh timeout=5m\ntrue\n```\n",
         true},
        /* the stage title, id, a step's body, attribute values and actions do */
        {"# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S!\n<!-- pgdrill id=s expected=1m -->\n"
         "Prose.\n```sh timeout=5m\ntrue\n```\n",
         false},
        {"# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S\n<!-- pgdrill id=s2 expected=1m -->\n"
         "Prose.\n```sh timeout=5m\ntrue\n```\n",
         false},
        {"# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S\n<!-- pgdrill expected=1m -->\n"
         "Prose.\n```sh timeout=5m\nfalse\n```\n",
         false},
        {"# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S\n<!-- pgdrill expected=1m -->\n"
         "Prose.\n```sh timeout=6m\ntrue\n```\n",
         false},
        {"# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S\n<!-- pgdrill expected=1m -->\n"
         "Prose.\n```sql timeout=5m\ntrue\n```\n",
         false},
        /* field boundaries are unambiguous: moving text between fields changes the hash */
        {"# T\n```pgdrill\nid: t\nrto: 1h\n```\nIntro.\n## S\n<!-- pgdrill expected=1m -->\n"
         "Prose.\n```sh timeout=5m\ntrue\n```\n## T\n",
         false},
    };

    char h0[65], h[65];

    (void)state;
    stages_hash(h0, base);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stages_hash(h, cases[i].text);
        print_message("hash case %zu\n", i);
        if (cases[i].same)
            assert_string_equal(h, h0);
        else
            assert_string_not_equal(h, h0);
    }
}

/* ---- malformed fixtures ---------------------------------------------------------------- */

static const struct bad_case {
    const char *file;
    const char *msgs[MAX_MSGS];
} bad_cases[] = {
    {"bad-duration.md",
     {"6:6: bad duration '5x'", "7:6: bad duration '1m1h'", "11:14: bad duration '2hours'",
      "13:7: bad duration '90x'"}},
    {"bad-expect.md",
     {"9:17: bad expectation '=='", "13:17: bad expectation 'rows >> 1'",
      "17:17: bad expectation 'within 5% ${base}'", "17:35: undefined variable 'base'",
      "21:17: bad expectation '> 'abc'"}},
    {"bad-input-decl.md",
     {"5:8: bad input name 'Target'", "6:8: bad input declaration: missing prompt",
      "7:8: bad input declaration: missing type", "8:15: unknown input type 'float'",
      "9:37: bad input declaration: unexpected 'trailing' after the prompt",
      ("10:8: bad input declaration (expected NAME TYPE [required|optional] [default=VALUE] "
       "\"prompt\")")}},
    {"bad-measure.md",
     {"9:36: bad value 'done' for marks (expected usable)",
      "13:9: bad note kind 'remark' (expected note, issue or follow-up)",
      "17:21: unknown attribute 'rpo' for confirm", "17:25: undefined variable 'x'"}},
    {"bad-on-fail.md",
     {"9:7: bad on-fail 'sometimes' (expected stop, continue, skip, retry or retry:N with N from 1 "
      "to 100)",
      "13:7: bad on-fail 'retry:0' (expected stop, continue, skip, retry or retry:N with N from 1 "
      "to 100)",
      "17:7: bad on-fail 'retry:101' (expected stop, continue, skip, retry or retry:N with N from "
      "1 to 100)",
      "21:23: bad value 'maybe' for manual (expected yes or no)"}},
    {"bad-report.md",
     {"9:7: bad report title '' (one line of text)",
      "13:7: bad name 'not-a-name' for report-json"}},
    {"bad-quote.md",
     {"9:17: unterminated quote in attribute 'expect'",
      "13:29: text after closing quote in attribute 'expect'",
      "17:14: bad attribute 'lonely' (expected key=value)"}},
    {"bad-var-ref.md",
     {"10:6: bad variable reference '${HOME:-/root}' (use $${ for a literal ${)",
      "10:37: bad variable reference '${}' (use $${ for a literal ${)",
      "10:41: bad variable reference '${Mixed}' (use $${ for a literal ${)",
      "11:6: bad variable reference '${unclosed' (use $${ for a literal ${)",
      "14:7: bad variable name 'Bad' for save", "14:16: bad variable name 'not-a-name' in env",
      "14:20: undefined variable 'ok'"}},
    {"always-stage.md",
     {"17:32: duplicate attribute 'always'",
      ("22:1: always stage 'cleanup': branch-delete may only name a branch this drill created "
       "(branch=${PREFIX_id} of a branch-create with save=PREFIX)"),
      ("25:1: always stage 'cleanup': branch-delete may only name a branch this drill created "
       "(branch=${PREFIX_id} of a branch-create with save=PREFIX)"),
      ("28:1: always stage 'cleanup': branch-delete may only name a branch this drill created "
       "(branch=${PREFIX_id} of a branch-create with save=PREFIX)"),
      "32:23: always takes no value (write it alone: always)"}},
    {"choices.md",
     {"5:47: default 'C' is not one of the choices of input 'outcome_option'",
      "6:13: choice input 'pick' has no choices", "7:14: choice input 'plain' has no choices",
      "8:14: duplicate choice 'A' in input 'twice'", "13:20: choice input 'mode' has no choices",
      "17:37: default 'three' is not one of the choices of input 'mode2'"}},
    {"default-type.md",
     {"5:18: default 'ten' of input 'n' is not an integer",
      "6:20: default 'yesterday' of input 't' is not an RFC 3339 timestamp in UTC",
      ("7:20: default '2024-01-01T00:00:00+02:00' of input 'u' is not an RFC 3339 timestamp in "
       "UTC"),
      "13:30: default '1.5' of input 'k' is not an integer",
      "17:37: default 'abc' does not match the pattern of input 'code'",
      "21:18: bad pattern '(unclosed'"}},
    {"dup-check.md",
     {"15:10: duplicate check name 'orphaned-visits' (first at line 9)",
      "19:10: bad check name 'bad name'"}},
    {"dup-input.md",
     {"6:8: duplicate input 'table' (first at line 5)",
      "11:10: duplicate input 'table' (first at line 5)"}},
    {"dup-stage.md",
     {"14:1: duplicate stage id 'verify-counts' (first at line 7)",
      "20:1: duplicate stage id 'verify-counts' (first at line 7)"}},
    {"dup-step-id.md",
     {"13:1: duplicate step id 'stage/1' (first at line 9)", "17:7: bad step id 'Upper'"}},
    {"empty-body.md", {"9:1: sh: empty body", "12:1: sql: empty body", "16:1: neon: empty body"}},
    {"missing-attr.md",
     {"9:1: check: missing required attribute 'expect'",
      "13:1: check: missing required attribute 'name'", "17:1: confirm: empty attribute 'target'",
      "21:1: neon: missing required attribute 'op'"}},
    {"no-id.md", {"3:1: missing id in metadata"}},
    {"no-metadata.md", {"1:1: missing metadata block"}},
    {"no-stages.md", {"1:1: runbook has no stages"}},
    {"no-title.md", {"1:1: missing title (level-1 heading)"}},
    {"placement.md",
     {"3:1: step before the first stage",
      "7:1: pgdrill comment must directly follow a level-2 heading",
      "17:3: step inside a list or block quote (steps must be top-level blocks)",
      "21:3: step inside a list or block quote (steps must be top-level blocks)",
      "25:1: duplicate title (first at line 1)",
      "27:1: duplicate metadata block (first at line 9)"}},
    {"stage-comment.md",
     {"8:14: bad stage id 'Bad_Id'", "8:24: unknown attribute 'owner' for stage",
      "14:1: cannot derive a stage id from title '\?\?\?' (add <!-- pgdrill id=... -->)",
      "20:1: empty stage title"}},
    {"undefined-var.md",
     {"10:12: undefined variable 'branch_uri'", "15:6: undefined variable 'branch_name'",
      "15:21: variable 'later' used before it is defined (line 18)",
      "27:22: undefined variable 'rec_password'"}},
    {"subdrill.md",
     {"12:1: runbook: 'subdrill' includes itself (subdrill.md \u2192 subdrill.md)",
      "18:1: runbook '../subdrill/loop-a': tests/fixtures/runbooks/bad/../subdrill/loop-a.md:12:1: "
      "runbook 'loop-b': tests/fixtures/runbooks/bad/../subdrill/loop-b.md:12:1: runbook: "
      "'loop-a' includes itself (subdrill.md \u2192 loop-a.md \u2192 loop-b.md \u2192 "
      "loop-a.md)",
      "24:1: runbook: runbook 'subdrill-child' needs input 'work': add a line work=VALUE to the "
      "body",
      "24:1: runbook: must be the last step of its stage (the runbook's stages run after it, "
      "under this one)",
      "26:1: runbook: runbook 'subdrill-child' has no input 'shape'",
      "36:1: runbook '../subdrill/nope': tests/fixtures/runbooks/bad/../subdrill/nope.md: cannot "
      "open runbook: No such file or directory",
      "42:1: runbook: name '${which}' must name the runbook itself, not a variable",
      "42:17: undefined variable 'which'"}},
    {"unknown-action.md",
     {"9:4: unknown action 'sqll' (did you mean 'sql'?)", "13:4: unknown action 'python'",
      "21:4: unknown action 'nte' (did you mean 'note'?)"}},
    {"unknown-attr.md",
     {"9:7: unknown attribute 'tmeout' for sh", "13:15: unknown attribute 'name' for sql",
      "17:18: unknown attribute 'expect' for note"}},
    {"unknown-meta-key.md",
     {"6:1: unknown metadata key 'owner'", "8:1: duplicate metadata key 'rto' (first at line 7)",
      "9:1: bad metadata line (expected 'key: value')",
      "10:8: bad value 'maybe' for drill (expected yes or no)"}},
    {"unterminated-fence.md", {"9:1: unterminated code block (no closing fence)"}},
    {"yes-no.md",
     {"9:8: bad value 'sometimes' for readonly (expected yes or no)",
      "13:24: bad value '1' for destructive (expected yes or no)",
      "17:7: bad s3 op 'cp' (expected one of: list get put head delete verify restore)",
      "21:30: bad variable name 'Base' for baseline"}},
};

static void
test_bad_fixtures(void **state)
{
    size_t n_cases = sizeof bad_cases / sizeof bad_cases[0];

    (void)state;
    go_top();
    assert_true(n_cases >= 16);
    for (size_t i = 0; i < n_cases; i++) {
        const struct bad_case *bc = &bad_cases[i];
        char *path = pd_xasprintf(BAD_DIR "/%s", bc->file);
        struct runbook *rb = (struct runbook *)1;
        struct runbook_diags d = {0};
        struct pd_err err = {0};
        size_t want = 0;
        int rc;

        while (want < MAX_MSGS && bc->msgs[want])
            want++;
        print_message("fixture %s\n", bc->file);
        rc = runbook_load(&rb, path, &d, &err);
        assert_int_equal(rc, PD_EINPUT);
        assert_null(rb);
        for (size_t k = 0; k < d.n || k < want; k++) {
            char *got = k < d.n ? runbook_diag_format(&d.items[k]) : pd_xstrdup("(nothing)");
            char *exp =
                k < want ? pd_xasprintf("%s:%s", path, bc->msgs[k]) : pd_xstrdup("(nothing)");

            assert_string_equal(got, exp);
            if (k == 0)
                assert_string_equal(err.msg, exp); /* err holds the first problem */
            free(got);
            free(exp);
        }
        runbook_diags_free(&d);
        free(path);
    }
}

/* Every fixture in the bad/ directory must have its expected messages above. */
static void
test_bad_fixtures_listed(void **state)
{
    DIR *dir;
    struct dirent *de;
    size_t seen = 0;

    (void)state;
    go_top();
    dir = opendir(BAD_DIR);
    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        bool listed = false;

        if (len < 3 || strcmp(de->d_name + len - 3, ".md") != 0)
            continue;
        for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
            listed = listed || strcmp(bad_cases[i].file, de->d_name) == 0;
        if (!listed)
            fail_msg("fixture %s/%s has no expected messages in runbook_test.c", BAD_DIR,
                     de->d_name);
        seen++;
    }
    closedir(dir);
    assert_int_equal(seen, sizeof bad_cases / sizeof bad_cases[0]);
}

/* Diagnostics of several runbooks accumulate in one list, each sorted by position. */
static void
test_diags_accumulate(void **state)
{
    struct runbook *rb = NULL;
    struct runbook_diags d = {0};
    struct pd_err err = {0};

    (void)state;
    go_top();
    assert_int_equal(runbook_load(&rb, BAD_DIR "/no-title.md", &d, &err), PD_EINPUT);
    assert_int_equal(runbook_load(&rb, BAD_DIR "/no-id.md", &d, &err), PD_EINPUT);
    assert_int_equal(runbook_load(&rb, GOOD_DIR "/full.md", &d, &err), 0);
    runbook_free(rb);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.items[0].file, BAD_DIR "/no-title.md");
    assert_string_equal(d.items[1].file, BAD_DIR "/no-id.md");
    assert_string_equal(d.items[1].msg, "missing id in metadata");
    runbook_diags_free(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.items);
    runbook_diags_free(NULL);
    runbook_free(NULL);
}

static void
test_load_errors(void **state)
{
    struct runbook *rb = (struct runbook *)1;
    struct pd_err err = {0};

    (void)state;
    go_top();
    assert_int_equal(runbook_load(&rb, "tests/fixtures/runbooks/none.md", NULL, &err), PD_EINPUT);
    assert_null(rb);
    assert_string_equal(err.msg,
                        "tests/fixtures/runbooks/none.md: cannot open runbook: No such file or "
                        "directory");
    assert_int_equal(runbook_load(&rb, "tests/fixtures/runbooks", NULL, &err), PD_EINPUT);
    assert_string_equal(err.msg, "tests/fixtures/runbooks: not a regular file");
}

/* ---- shipped runbooks ------------------------------------------------------------------ */

static void
test_shipped_runbooks(void **state)
{
    DIR *dir;
    struct dirent *de;
    size_t count = 0;
    bool validation = false;

    (void)state;
    go_top();
    dir = opendir("runbooks");
    if (dir == NULL)
        fail_msg("cannot open runbooks/ under PGDRILL_TOP");
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        char *path;
        struct runbook *rb = NULL;
        struct runbook_diags d = {0};
        struct pd_err err = {0};
        int rc;

        if (len < 3 || strcmp(de->d_name + len - 3, ".md") != 0)
            continue;
        path = pd_xasprintf("runbooks/%s", de->d_name);
        rc = runbook_load(&rb, path, &d, &err);
        if (rc != 0)
            fail_msg("%s does not lint clean: %s (%zu problems)", path, err.msg, d.n);
        assert_int_equal(d.n, 0);
        assert_true(rb->n_stages > 0);
        if (strcmp(de->d_name, "post-restore-validation.md") == 0)
            validation = true;
        runbook_free(rb);
        runbook_diags_free(&d);
        free(path);
        count++;
    }
    closedir(dir);
    assert_true(count >= 1);
    assert_true(validation);
}

/* The validation runbook: the checks the report and the integration tests rely on. */
static void
test_post_restore_validation(void **state)
{
    static const struct {
        const char *name, *expect;
    } checks[] = {
        {"table-counts", "rows > 0"},
        {"core-tables-not-empty", "> 0"},
        {"latest-visit", "not null"},
        {"null-required-fields", "= 0"},
        {"users.email-null", "= 0"},
        {"visits.client_id-null", "= 0"},
        {"visits.caregiver_id-null", "= 0"},
        {"orphaned-visits", "= 0"},
        {"date-ranges", "> 0"},
        {"no-future-created-at", "= 0"},
        {"users-per-organization", "rows > 0"},
    };
    struct runbook *rb = NULL;
    struct pd_err err = {0};
    bool note = false;

    (void)state;
    go_top();
    assert_int_equal(runbook_load(&rb, "runbooks/post-restore-validation.md", NULL, &err), 0);
    assert_string_equal(rb->id, "post-restore-validation");
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        const struct runbook_step *found = NULL;

        for (size_t s = 0; s < rb->n_stages; s++)
            for (size_t k = 0; k < rb->stages[s].n_steps; k++) {
                const struct runbook_step *sp = &rb->stages[s].steps[k];

                if (sp->action == STEP_CHECK &&
                    strcmp(runbook_step_attr(sp, "name"), checks[i].name) == 0)
                    found = sp;
            }
        print_message("check %s\n", checks[i].name);
        assert_non_null(found);
        assert_string_equal(runbook_step_attr(found, "expect"), checks[i].expect);
        assert_string_equal(runbook_step_attr(found, "url"), "${DATABASE_URL}");
    }
    for (size_t s = 0; s < rb->n_stages; s++)
        for (size_t k = 0; k < rb->stages[s].n_steps; k++)
            note = note || rb->stages[s].steps[k].action == STEP_NOTE;
    assert_true(note);
    runbook_free(rb);
}

static const struct runbook_stage *
stage_by_id(const struct runbook *rb, const char *id, size_t *si)
{
    for (*si = 0; *si < rb->n_stages; (*si)++)
        if (strcmp(rb->stages[*si].id, id) == 0)
            return &rb->stages[*si];
    fail_msg("no stage %s", id);
    return NULL;
}

/* A sub-drill's header: drill: and environment: by stage, the extent of nested children. */
static void
test_subdrill_header(void **state)
{
    static const struct {
        const char *file, *stage;
        bool drill;
        const char *env;
    } cases[] = {
        {"guard-parent", "own", false, NULL},        // the parent's own: drill: no
        {"guard-parent", "drill", false, NULL},      // the runbook step's stage is the parent's
        {"guard-parent", "drill/touch", true, NULL}, // the child's: its drill: yes
        {"guard-drill-parent", "plain/touch", true, NULL}, // the parent's drill: yes covers it
        {"env-none", "child", false, NULL},
        {"env-none", "child/drop", false, "production"}, // the child's own environment
        {"nested", "outer/inner/fail", false, NULL},
    };
    struct runbook *rb = NULL;
    struct pd_err err = {0};
    size_t si, at = 99;

    (void)state;
    go_top();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = pd_xasprintf("tests/fixtures/runbooks/subdrill/%s.md", cases[i].file);

        assert_int_equal(runbook_load(&rb, path, NULL, &err), 0);
        stage_by_id(rb, cases[i].stage, &si);
        assert_int_equal(runbook_stage_is_drill(rb, si), cases[i].drill);
        if (cases[i].env == NULL)
            assert_null(runbook_stage_environment(rb, si));
        else
            assert_string_equal(runbook_stage_environment(rb, si), cases[i].env);
        runbook_free(rb);
        free(path);
    }
    assert_int_equal(runbook_load(&rb, "tests/fixtures/runbooks/subdrill/nested.md", NULL, &err),
                     0);
    // outer, outer/before, outer/inner, its 4 stages, outer/after, outer/cleanup, finish
    assert_int_equal(rb->n_stages, 10);
    assert_int_equal(runbook_subdrill_end(rb, 0), 9);
    stage_by_id(rb, "outer/inner", &si);
    assert_int_equal(runbook_subdrill_end(rb, si), si + 5);
    assert_null(runbook_stage_parent(rb, 0, &at));
    assert_int_equal(at, 99);
    stage_by_id(rb, "outer/inner/fail", &si);
    assert_string_equal(runbook_stage_parent(rb, si, &at)->id, "outer/inner/1");
    assert_string_equal(rb->stages[at].id, "outer/inner");
    assert_string_equal(runbook_stage_parent(rb, at, &at)->id, "outer/1");
    assert_int_equal(at, 0);
    runbook_free(rb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_slugs),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_edit_distance),
        cmocka_unit_test(test_tokenize),
        cmocka_unit_test(test_token_columns),
        cmocka_unit_test(test_scan_vars),
        cmocka_unit_test(test_action_names),
        cmocka_unit_test(test_action_rows),
        cmocka_unit_test(test_good_full),
        cmocka_unit_test(test_minimal_defaults),
        cmocka_unit_test(test_environment_defaults),
        cmocka_unit_test(test_well_formed_variants),
        cmocka_unit_test(test_variant_details),
        cmocka_unit_test(test_too_big),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_lint_snippets),
        cmocka_unit_test(test_stages_hash),
        cmocka_unit_test(test_bad_fixtures),
        cmocka_unit_test(test_bad_fixtures_listed),
        cmocka_unit_test(test_diags_accumulate),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_shipped_runbooks),
        cmocka_unit_test(test_subdrill_header),
        cmocka_unit_test(test_post_restore_validation),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
