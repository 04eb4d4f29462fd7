/*
 * Tests for core/engine: runbooks parsed from text, run headless against a
 * real /bin/sh and (for sql/check) a real PostgreSQL in PGDRILL_TEST_PGURL.
 * The check tests fail, never skip, when that variable is unset.
 */
/* cmocka needs these first, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "engine/engine.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "drill/drill.h"
#include "drill/journal.intern.h"
#include "engine/engine.intern.h"
#include "engine/s3_step.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "runbook/action.h"
#include "runbook/runbook.h"
#include "s3/action.h"

/* ---- fixture ---- */

struct fx {
    char home[64];
    struct runbook *rb;
    struct drill *d;
    struct engine *e;
    struct pd_err err;
    /* what the callbacks saw */
    char *lines[512];
    size_t n_lines;
    int n_prompts;
    char *last_errors[8];
    /* scripted answers */
    const char *answers[8];
    size_t n_answers;
    int prompt_sleep_ms;
    const char *typed;
    enum engine_decision decisions[8];
    size_t n_decisions, decision_at;
    const char *skip_reason;
    int stop_on_tick; /* > 0: tick returns true from that call on */
    int ticks;
    int quit_on_prompt;
    int quit_at;      /* > 0: prompt number quit_at (1-based) returns PD_EINTR */
    bool optional[8]; /* prompt i was marked optional */
    /* the plan: how often shown, the last text, what the step was, the answer */
    int n_plans;
    char *plan_text;
    char plan_step[32];
    bool plan_preaccepted;
    size_t plan_at_line; /* output lines seen when the plan came */
    int plan_rc;
};

static int
setup(void **state)
{
    struct fx *f = pd_xcalloc(1, sizeof(*f));

    snprintf(f->home, sizeof(f->home), "/tmp/pd-engine-test.XXXXXX");
    assert_non_null(mkdtemp(f->home));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    engine_free(f->e);
    drill_free(f->d);
    runbook_free(f->rb);
    for (size_t i = 0; i < f->n_lines; i++)
        free(f->lines[i]);
    for (size_t i = 0; i < 8; i++)
        free(f->last_errors[i]);
    free(f->plan_text);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->home);
    assert_int_equal(system(cmd), 0);
    free(f);
    pd_redact_reset();
    return 0;
}

static void
on_output(const struct runbook_step *step, const char *line, void *payload)
{
    struct fx *f = payload;

    (void)step;
    if (f->n_lines < 512)
        f->lines[f->n_lines++] = pd_xstrdup(line);
}

static int
on_prompt(const struct engine_prompt *p, char **out, void *payload)
{
    struct fx *f = payload;
    int i = f->n_prompts++;

    if (i < 8 && p->last_error != NULL)
        f->last_errors[i] = pd_xstrdup(p->last_error);
    if (i < 8)
        f->optional[i] = p->optional;
    if (f->quit_on_prompt || (f->quit_at > 0 && i + 1 == f->quit_at))
        return PD_EINTR;
    if (f->prompt_sleep_ms > 0)
        usleep((useconds_t)f->prompt_sleep_ms * 1000);
    *out = pd_xstrdup((size_t)i < f->n_answers ? f->answers[i] : "");
    return 0;
}

static int
on_confirm_typed(const struct engine_confirm *c, char **typed, void *payload)
{
    struct fx *f = payload;

    (void)c;
    *typed = pd_xstrdup(f->typed);
    return 0;
}

static int
on_plan(const struct engine_plan *p, void *payload)
{
    struct fx *f = payload;

    f->n_plans++;
    free(f->plan_text);
    f->plan_text = pd_xstrdup(p->text);
    snprintf(f->plan_step, sizeof(f->plan_step), "%s", p->step->id);
    f->plan_preaccepted = p->accepted;
    f->plan_at_line = f->n_lines;
    return f->plan_rc;
}

static enum engine_decision
on_failure(const struct runbook_step *step, const char *why, char **reason, void *payload)
{
    struct fx *f = payload;

    (void)step;
    (void)why;
    if (f->skip_reason != NULL)
        *reason = pd_xstrdup(f->skip_reason);
    if (f->decision_at < f->n_decisions)
        return f->decisions[f->decision_at++];
    return ENGINE_STOP;
}

static bool
on_tick(void *payload)
{
    struct fx *f = payload;

    f->ticks++;
    return f->stop_on_tick > 0 && f->ticks >= f->stop_on_tick;
}

static void
parse(struct fx *f, const char *text)
{
    struct runbook_diags diags = {0};
    struct pd_err err = {0};

    if (runbook_parse(&f->rb, "test.md", text, strlen(text), &diags, &err) != 0)
        fail_msg("runbook does not parse: %s", err.msg);
    runbook_diags_free(&diags);
    if (drill_begin(&f->d, f->home, f->rb, "tester", &err) != 0)
        fail_msg("drill_begin: %s", err.msg);
}

/* Run with the given events (headless when ev is NULL, output always captured). */
static int
run(struct fx *f, const struct engine_opts *opts, const struct engine_events *ev)
{
    struct engine_events e = {0};

    if (ev != NULL)
        e = *ev;
    e.output_line = on_output;
    engine_free(f->e);
    f->e = NULL;
    pd_err_clear(&f->err);
    if (engine_new(&f->e, f->rb, f->d, opts, &e, f, &f->err) != 0)
        return f->err.kind;
    return engine_run(f->e, &f->err);
}

static bool
saw_line(const struct fx *f, const char *line)
{
    for (size_t i = 0; i < f->n_lines; i++)
        if (strcmp(f->lines[i], line) == 0)
            return true;
    return false;
}

static const struct drill_step_state *
step_state(const struct fx *f, size_t si, size_t ti)
{
    assert_true(si < f->d->n_stages);
    assert_true(ti < f->d->stages[si].n_steps);
    return &f->d->stages[si].steps[ti];
}

/* The whole journal as a string; caller frees. */
static char *
journal_text(const struct fx *f)
{
    char *path = pd_xasprintf("%s/journal.jsonl", f->d->dir);
    FILE *fp = fopen(path, "r");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    buf = pd_xcalloc(1, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    (void)fclose(fp); // read only
    free(path);
    return buf;
}

static size_t
count(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

#define HEADER(extra) "# Test runbook\n\n```pgdrill\nid: test\n" extra "```\n\n"

/* ---- sh, policies ---- */

static void
test_sh_pass(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh\necho hello\necho err >&2\n```\n\n"
                        "## Two\n\n```sh\nprintf 'a\\nb'\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_true(saw_line(f, "hello"));
    assert_true(saw_line(f, "err"));
    assert_true(saw_line(f, "b"));
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 0, 0)->attempts, 1);
    assert_string_equal(step_state(f, 0, 0)->summary, "exit 0");
    assert_int_equal(step_state(f, 1, 0)->status, STEP_PASSED);
    assert_int_equal(f->d->stages[1].status, STEP_PASSED);
}

/* A command a signal killed inside the script: the shell's 128+N says which signal. */
static void
test_sh_child_killed(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh\nsleep 5 &\nkill -9 $!\nwait $!\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg,
                        "step one/1: sh: exit 137 (128+9: a command was killed by signal 9)");
    assert_int_equal(step_state(f, 0, 0)->exit_code, 137);
}

static void
test_sh_fail_stops(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh\necho partial\nexit 3\n```\n\n```sh\necho never\n```\n"
                        "\n## Two\n\n```sh\necho never2\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg, "step one/1: sh: exit 3");
    assert_int_equal(pd_err_exit_code(f->err.kind), 1);
    assert_string_equal(f->d->outcome, "failed");
    assert_int_equal(step_state(f, 0, 0)->status, STEP_FAILED);
    assert_int_equal(step_state(f, 0, 0)->exit_code, 3);
    assert_string_equal(step_state(f, 0, 0)->summary, "exit 3");
    assert_int_equal(step_state(f, 0, 1)->status, STEP_PENDING);
    assert_int_equal(step_state(f, 1, 0)->status, STEP_PENDING);
    assert_int_equal(f->d->stages[0].status, STEP_FAILED);
    assert_false(saw_line(f, "never"));
}

/* A failure skips the ordinary stages left and runs the always ones; the first error stays. */
static void
test_always_stage_after_failure(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## Make\n\n```sh save=made\necho thing-1\n```\n\n"
                        "## Break\n\n```sh\nexit 4\n```\n\n```sh save=later\necho x\n```\n\n"
                        "## Clean\n<!-- pgdrill id=clean always -->\n\n"
                        "```sh env=made\necho \"removing $made\"\nexit 5\n```\n\n"
                        "## Never\n\n```sh\necho never\n```\n\n"
                        "## Also\n<!-- pgdrill id=also always -->\n\n"
                        "```sh\necho \"also ${later}\"\n```\n\n```sh\necho last\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg, "step break/1: sh: exit 4");
    assert_string_equal(f->d->outcome, "failed");
    assert_true(saw_line(f, "removing thing-1"));
    assert_false(saw_line(f, "never"));
    assert_int_equal(f->d->stages[2].status, STEP_FAILED); // a failing clean-up: the next runs
    assert_int_equal(f->d->stages[3].status, STEP_PENDING);
    // ${later} was never set: nothing of the drill's to act on, skipped; the next step runs
    assert_int_equal(step_state(f, 4, 0)->status, STEP_SKIPPED);
    assert_string_equal(step_state(f, 4, 0)->skip_reason,
                        "clean-up: ${later} was never set (the step that saves it did not run): "
                        "nothing of this drill's to act on");
    assert_true(saw_line(f, "last"));
    assert_int_equal(f->d->stages[4].status, STEP_PASSED);
}

/* Without a failure an always stage runs in its place. */
static void
test_always_stage_in_order(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## Clean\n<!-- pgdrill id=clean always -->\n\n```sh\necho first\n```\n\n"
                        "## Then\n\n```sh\necho then\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_string_equal(f->lines[0], "first");
    assert_true(saw_line(f, "then"));
}

/* An interruption runs nothing more: the drill stays resumable, its always stages run later. */
static void
test_always_stage_not_on_interrupt(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.tick = on_tick};

    parse(f, HEADER("") "## Wait\n\n```sh\nsleep 20\n```\n\n"
                        "## Clean\n<!-- pgdrill id=clean always -->\n\n```sh\necho cleaned\n```\n");
    f->stop_on_tick = 2;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_null(f->d->outcome);
    assert_false(saw_line(f, "cleaned"));
    assert_int_equal(f->d->stages[1].status, STEP_PENDING);
}

static void
test_retry_then_pass(void **state)
{
    struct fx *f = *state;
    char *text = pd_xasprintf(HEADER("") "## One\n\n```sh on-fail=retry:3\n"
                                         "n=$(cat %s/n 2>/dev/null || echo 0); n=$((n+1)); "
                                         "echo $n > %s/n; echo attempt $n; [ $n -ge 3 ]\n```\n",
                              f->home, f->home);

    parse(f, text);
    free(text);
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 0, 0)->attempts, 3);
    assert_true(saw_line(f, "attempt 3"));
    assert_string_equal(f->d->outcome, "passed");
}

static void
test_retry_exhausted(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh on-fail=retry:2\necho try\nexit 1\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    // retry:2 means two re-runs after the first attempt
    assert_int_equal(step_state(f, 0, 0)->attempts, 3);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_FAILED);
    assert_string_equal(f->d->outcome, "failed");
}

static void
test_skip_policy(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh on-fail=skip\nexit 2\n```\n\n```sh\necho after\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_SKIPPED);
    assert_string_equal(step_state(f, 0, 0)->skip_reason, "on-fail=skip");
    assert_int_equal(step_state(f, 0, 1)->status, STEP_PASSED);
    assert_true(saw_line(f, "after"));
    assert_string_equal(f->d->outcome, "passed");
}

static void
test_continue_policy(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.failure_decision = on_failure};

    // both failures are kept, the steps after them still run, the drill fails
    parse(f, HEADER("") "## One\n\n```sh on-fail=continue\nexit 2\n```\n\n"
                        "```sh\necho after\n```\n\n## Two\n\n```sh on-fail=continue\nexit 3\n```"
                        "\n\n```sh\necho last\n```\n");
    // a front end with a failure dialog is not asked: the runbook said continue
    assert_int_equal(run(f, NULL, &ev), PD_ECHECK);
    assert_int_equal(f->decision_at, 0);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_FAILED);
    assert_int_equal(step_state(f, 0, 1)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 1, 0)->status, STEP_FAILED);
    assert_int_equal(step_state(f, 1, 1)->status, STEP_PASSED);
    assert_true(saw_line(f, "after"));
    assert_true(saw_line(f, "last"));
    assert_int_equal(f->d->stages[0].status, STEP_FAILED);
    assert_string_equal(f->d->outcome, "failed");
    assert_string_equal(f->err.msg, "2 steps failed; first: step one/1: sh: exit 2");
}

static void
test_when_condition(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"opt=B"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};

    parse(f, HEADER("input: opt choice(A,B,C) \"pick\"\n") "## One\n\n```sh when=\"${opt} = "
                                                           "A\"\necho ran-a\n```\n\n"
                                                           "```sh when=\"${opt} != A|C\"\necho "
                                                           "ran-not-a-or-c\n```\n\n"
                                                           "```sh when=\"${opt} = A|B\"\necho "
                                                           "ran-a-or-b\n```\n");
    assert_int_equal(run(f, &o, NULL), 0);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_SKIPPED);
    assert_string_equal(step_state(f, 0, 0)->skip_reason,
                        "condition ${opt} = A does not hold (it is 'B')");
    assert_false(saw_line(f, "ran-a"));
    assert_int_equal(step_state(f, 0, 1)->status, STEP_PASSED);
    assert_true(saw_line(f, "ran-not-a-or-c"));
    assert_int_equal(step_state(f, 0, 2)->status, STEP_PASSED);
    assert_true(saw_line(f, "ran-a-or-b"));
    assert_string_equal(f->d->outcome, "passed");
}

static void
test_failure_decision(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.failure_decision = on_failure};

    // the operator's decision wins over on-fail=stop: retry once, then skip with a reason
    parse(f, HEADER("") "## One\n\n```sh\nexit 1\n```\n\n```sh\necho after\n```\n");
    f->decisions[0] = ENGINE_RETRY;
    f->decisions[1] = ENGINE_SKIP;
    f->n_decisions = 2;
    f->skip_reason = "replica lag, checked by hand";
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(step_state(f, 0, 0)->attempts, 2);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_SKIPPED);
    assert_string_equal(step_state(f, 0, 0)->skip_reason, "replica lag, checked by hand");
    assert_int_equal(step_state(f, 0, 1)->status, STEP_PASSED);
}

static void
test_failure_decision_stop(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.failure_decision = on_failure};

    parse(f, HEADER("") "## One\n\n```sh on-fail=skip\nexit 4\n```\n");
    assert_int_equal(run(f, NULL, &ev), PD_ECHECK);
    assert_string_equal(f->err.msg, "step one/1: sh: exit 4");
    assert_string_equal(f->d->outcome, "failed");
}

static void
test_sh_timeout_attr(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh timeout=1s\nsleep 20\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg, "step one/1: sh: timed out after 1.0s");
    assert_true(step_state(f, 0, 0)->duration_s < 3.0);
}

/* ---- variables ---- */

static void
test_vars_shell_quoting(void **state)
{
    struct fx *f = *state;
    const char *nasty = "it's \"q\" $(touch /tmp/pd-engine-pwned) `id` ${x} \\ ;|&";
    char *kv = pd_xasprintf("who=%s", nasty);
    const char *vars[] = {kv};
    struct engine_opts o = {.vars = vars, .n_vars = 1};

    setenv("PD_ENGINE_TEST_ENV", "from env", 1);
    parse(
        f,
        HEADER("input: who text \"Who\"\n") "## One\n\n```sh\nprintf '%s\\n' ${who}\n```\n\n"
                                            "```sh save=greet\necho first\necho '  hello there  "
                                            "'\necho\n```\n\n"
                                            "```sh\necho x${greet}x ${PD_ENGINE_TEST_ENV}\n```\n\n"
                                            "```sh\nX=lit; echo \"$${X}\"\n```\n\n"
                                            "```sh env=who,greet\nprintf '%s|%s|%s\\n' \"$who\" "
                                            "\"$greet\" \"$PGDRILL_DRILL_ID\"\n```\n");
    assert_int_equal(run(f, &o, NULL), 0);
    assert_true(saw_line(f, nasty));
    assert_int_not_equal(access("/tmp/pd-engine-pwned", F_OK), 0);
    assert_true(saw_line(f, "xhello therex from env"));
    assert_true(saw_line(f, "lit"));
    {
        char *want = pd_xasprintf("%s|hello there|%s", nasty, f->d->id);

        assert_true(saw_line(f, want));
        free(want);
    }
    assert_string_equal(drill_var(f->d, "greet"), "hello there");
    assert_string_equal(drill_var(f->d, "who"), nasty);
    free(kv);
}

static void
test_expand(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"extra=from --var"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};
    struct pd_err err = {0};
    char *out = NULL;

    static const struct {
        const char *in;
        bool quote;
        const char *want; /* NULL: fails with msg */
        const char *msg;
    } cases[] = {
        {"a ${mode} b", false, "a fast b", NULL},
        {"${dflt}", false, "the default", NULL},
        {"${extra}", false, "from --var", NULL},
        {"${PD_ENGINE_X}", false, "env value", NULL},
        {"${PD_ENGINE_X}", true, "'env value'", NULL},
        // inside "..." or '...' a bare single-quoted word would let $( ) run
        {"echo \"<${PD_ENGINE_Y}>\"", true, "echo \"<\\$(id)\\`id\\`\\\"'>\"", NULL},
        {"echo '<${PD_ENGINE_Y}>'", true, "echo '<''$(id)`id`\"'\\''''>'", NULL},
        {"$${mode} $$ $x", false, "${mode} $$ $x", NULL},
        {"${nope}", false, NULL, "undefined variable 'nope'"},
        {"${PD_ENGINE_UNSET_VAR}", false, NULL, "undefined variable 'PD_ENGINE_UNSET_VAR'"},
        {"${open", false, NULL, "unterminated variable reference '${open'"},
        {"${}", false, NULL, "empty variable reference '${}'"},
        {"${a-b}", false, NULL, "bad variable name 'a-b'"},
    };

    (void)state;
    setenv("PD_ENGINE_X", "env value", 1);
    setenv("PD_ENGINE_Y", "$(id)`id`\"'", 1);
    unsetenv("PD_ENGINE_UNSET_VAR");
    parse(f, HEADER("input: mode text \"Mode\"\ninput: dflt text default=\"the default\" "
                    "\"D\"\ninput: extra text optional \"E\"\n") "## One\n\n```sh\ntrue\n```\n");
    assert_int_equal(engine_new(&f->e, f->rb, f->d, &o, NULL, f, &err), 0);
    // a run variable wins over the default and the --var
    {
        struct drill_event ev = {
            .type = DRILL_EV_VAR, .stage = -1, .step = -1, .name = "mode", .value = "fast"};

        assert_int_equal(drill_record(f->d, &ev, &err), 0);
        engine_free(f->e);
        assert_int_equal(engine_new(&f->e, f->rb, f->d, &o, NULL, f, &err), 0);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = engine_expand(f->e, &out, cases[i].in, cases[i].quote, &err);

        if (cases[i].want != NULL) {
            if (rc != 0)
                fail_msg("%s: %s", cases[i].in, err.msg);
            assert_string_equal(out, cases[i].want);
            free(out);
        } else {
            assert_int_equal(rc, PD_EINPUT);
            assert_null(out);
            assert_string_equal(err.msg, cases[i].msg);
        }
    }
}

static void
fresh(struct fx *f, const char *text)
{
    engine_free(f->e);
    f->e = NULL;
    drill_free(f->d);
    f->d = NULL;
    runbook_free(f->rb);
    f->rb = NULL;
    parse(f, text);
}

static void
test_input_validation_headless(void **state)
{
    struct fx *f = *state;
    const char *text = HEADER(
        "input: t timestamp \"When\"\ninput: c choice(A,B,verify-only) "
        "default=verify-only \"What\"\ninput: n integer optional \"N\"\n") "## One\n\n```sh\necho "
                                                                           "${t} ${c} "
                                                                           "[${n}]\n```\n";

    static const struct {
        const char *var1, *var2;
        const char *msg;
    } cases[] = {
        {NULL, NULL, "input 't' needs a value: pass --var t=VALUE"},
        {"t=yesterday", NULL,
         "--var t: 'yesterday' is not an RFC 3339 timestamp in UTC (e.g. 2026-01-31T14:05:00Z)"},
        {"t=2026-01-31T14:05:00+02:00", NULL,
         "--var t: '2026-01-31T14:05:00+02:00' is not an RFC 3339 timestamp in UTC: in UTC it "
         "is 2026-01-31T12:05:00Z"},
        {"t=2026-01-31T14:05:00", NULL,
         "--var t: '2026-01-31T14:05:00' is not an RFC 3339 timestamp in UTC: it has no time "
         "zone; if it is UTC write 2026-01-31T14:05:00Z, else convert it to UTC first"},
        {"t=2026-01-31T14:05:00Z", "c=C", "--var c: 'C' is not one of A, B, verify-only"},
        {"t=2026-01-31T14:05:00Z", "n=12x", "--var n: '12x' is not an integer"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *vars[] = {cases[i].var1, cases[i].var2};
        struct engine_opts o = {.vars = vars, .n_vars = cases[i].var2 ? 2 : cases[i].var1 ? 1 : 0};

        fresh(f, text);
        assert_int_equal(run(f, &o, NULL), PD_EINPUT);
        assert_string_equal(f->err.msg, cases[i].msg);
        // the drill never started: it is ended, not left for a resume
        assert_string_equal(f->d->outcome, "aborted");
    }
    {
        const char *vars[] = {"t=2026-01-31T14:05:00Z"};
        struct engine_opts o = {.vars = vars, .n_vars = 1};

        fresh(f, text);
        assert_int_equal(run(f, &o, NULL), 0);
        assert_true(saw_line(f, "2026-01-31T14:05:00Z verify-only []"));
    }
}

/* Optional inputs headless: left out, passed empty, or given (then validated). */
static void
test_optional_inputs_headless(void **state)
{
    struct fx *f = *state;
    const char *text = HEADER("input: inc timestamp optional \"Incident\"\n"
                              "input: who text optional default=ops \"Who\"\n") "## One\n\n"
                                                                                "```sh\necho "
                                                                                "[${inc}] "
                                                                                "[${who}]\n```\n";

    static const struct {
        const char *var1, *var2;
        int rc;
        const char *want; /* the line echoed, or the error */
        const char *inc;  /* the drill's variable inc */
    } cases[] = {
        {NULL, NULL, 0, "[] [ops]", ""},
        {"inc=", NULL, 0, "[] [ops]", ""},
        {"inc=", "who=", 0, "[] []", ""},
        {"inc=2026-01-31T14:05:00Z", "who=ada", 0, "[2026-01-31T14:05:00Z] [ada]",
         "2026-01-31T14:05:00Z"},
        {"inc=yesterday", NULL, PD_EINPUT,
         "--var inc: 'yesterday' is not an RFC 3339 timestamp in UTC (e.g. 2026-01-31T14:05:00Z)",
         NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *vars[] = {cases[i].var1, cases[i].var2};
        struct engine_opts o = {.vars = vars, .n_vars = cases[i].var2 ? 2 : cases[i].var1 ? 1 : 0};

        fresh(f, text);
        for (size_t k = 0; k < f->n_lines; k++)
            free(f->lines[k]);
        f->n_lines = 0;
        assert_int_equal(run(f, &o, NULL), cases[i].rc);
        if (cases[i].rc != 0) {
            assert_string_equal(f->err.msg, cases[i].want);
            continue;
        }
        if (!saw_line(f, cases[i].want))
            fail_msg("case %zu: no line '%s'", i, cases[i].want);
        assert_string_equal(drill_var(f->d, "inc"), cases[i].inc);
    }
}

static void
test_input_reask(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};

    parse(f, HEADER("input: t timestamp \"When\"\n") "## One\n\n```input name=code "
                                                     "pattern=[A-Z]{3}\nThe code?\n```\n\n"
                                                     "```sh\necho ${t} ${code}\n```\n");
    f->answers[0] = "soon";
    f->answers[1] = "2026-02-01T00:00:00Z";
    f->answers[2] = "ab";
    f->answers[3] = "XYZ";
    f->n_answers = 4;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(f->n_prompts, 4);
    assert_null(f->last_errors[0]);
    assert_string_equal(f->last_errors[1], "'soon' is not an RFC 3339 timestamp in UTC "
                                           "(e.g. 2026-01-31T14:05:00Z)");
    assert_null(f->last_errors[2]);
    assert_string_equal(f->last_errors[3], "'ab' does not match the pattern [A-Z]{3}");
    assert_true(saw_line(f, "2026-02-01T00:00:00Z XYZ"));
}

/* ---- timing ---- */

static void
test_timing_split(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};
    const struct drill_step_state *s;

    parse(f, HEADER("") "## One\n\n```note\nAnything odd?\n```\n\n```sh\nsleep 0.1\n```\n");
    f->prompt_sleep_ms = 300;
    f->answers[0] = "the lights flickered";
    f->n_answers = 1;
    assert_int_equal(run(f, NULL, &ev), 0);
    s = step_state(f, 0, 0);
    assert_true(s->human_s >= 0.3);
    assert_true(s->duration_s >= s->human_s);
    assert_true(s->duration_s - s->human_s < 0.2);
    s = step_state(f, 0, 1);
    assert_true(s->human_s == 0);
    assert_true(s->duration_s >= 0.1);
    assert_true(f->d->stages[0].human_s >= 0.3);
    assert_true(f->d->stages[0].duration_s - f->d->stages[0].human_s >= 0.1);
    assert_true(f->d->stages[0].duration_s - f->d->stages[0].human_s < 0.5);
    assert_int_equal(f->d->n_notes, 1);
    assert_string_equal(f->d->notes[0].text, "the lights flickered");
}

/* ---- confirm, manual, interrupt ---- */

static void
test_confirm(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.confirm_typed = on_confirm_typed};
    const char *yesv[] = {"branch=restore-1"};
    struct engine_opts o = {.vars = yesv, .n_vars = 1};
    struct engine_opts oy = {.vars = yesv, .n_vars = 1, .yes = true};
    const char *text =
        HEADER("input: branch text \"Branch\"\n") "## One\n\n```confirm target=${branch} "
                                                  "destructive=yes\nDelete ${branch}?\n```\n";

    parse(f, text);
    f->typed = "restore-2";
    assert_int_equal(run(f, &o, &ev), PD_ECHECK);
    assert_string_equal(f->err.msg,
                        "step one/1: confirm: typed 'restore-2' does not match 'restore-1'");
    drill_free(f->d);
    runbook_free(f->rb);
    f->d = NULL;
    f->rb = NULL;
    engine_free(f->e);
    f->e = NULL;

    parse(f, text);
    f->typed = "restore-1";
    assert_int_equal(run(f, &o, &ev), 0);
    assert_string_equal(step_state(f, 0, 0)->summary, "'restore-1' confirmed");
    drill_free(f->d);
    runbook_free(f->rb);
    f->d = NULL;
    f->rb = NULL;

    // headless: --yes confirms, without it the step cannot pass
    parse(f, text);
    assert_int_equal(run(f, &o, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/1: confirm: the operator must type 'restore-1' "
                                    "or pass --yes: run it interactively");
    drill_free(f->d);
    runbook_free(f->rb);
    f->d = NULL;
    f->rb = NULL;
    parse(f, text);
    assert_int_equal(run(f, &oy, NULL), 0);
    drill_free(f->d);
    runbook_free(f->rb);
    f->d = NULL;
    f->rb = NULL;

    // in production a destructive confirmation needs the operator even with --yes
    parse(f,
          HEADER(
              "environment: production\ninput: branch text \"Branch\"\n") "## One\n\n```confirm "
                                                                          "target=${branch} "
                                                                          "destructive=yes\nDelete "
                                                                          "${branch}?\n```\n");
    assert_int_equal(run(f, &oy, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/1: confirm: the operator must type 'restore-1' "
                                    "(destructive in production, --yes does not apply): run it "
                                    "interactively");
}

static void
test_manual_step(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};

    parse(f, HEADER("") "## One\n\n```sh manual=yes\nrm -rf /never/runs\n```\n\n"
                        "```sh manual=yes on-fail=skip\nalso manual\n```\n");
    f->answers[0] = "done";
    f->answers[1] = "no";
    f->n_answers = 2;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PASSED);
    assert_string_equal(step_state(f, 0, 0)->summary, "done");
    assert_int_equal(step_state(f, 0, 1)->status, STEP_SKIPPED);
}

static void
test_interrupt_by_tick(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.tick = on_tick};
    char *j;

    parse(f, HEADER("") "## One\n\n```sh\necho go\nsleep 20\n```\n");
    f->stop_on_tick = 2;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_int_equal(pd_err_exit_code(f->err.kind), 130);
    assert_null(f->d->outcome);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_RUNNING);
    j = journal_text(f);
    assert_int_equal(count(j, "\"ev\":\"interrupt\""), 1);
    assert_int_equal(count(j, "\"ev\":\"end\""), 0);
    free(j);
}

static void
test_interrupt_keeps_step_time(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.tick = on_tick};
    struct drill *d2 = NULL;
    struct pd_err err = {0};
    double dur;

    // the attempt cut short has no step_end, but its time is not lost
    parse(f, HEADER("") "## One\n\n```sh\nsleep 20\n```\n");
    f->stop_on_tick = 5;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    dur = step_state(f, 0, 0)->duration_s;
    if (dur < 0.5 || dur > 5)
        fail_msg("interrupted step duration %.3f s, want about 1 s", dur);
    assert_true(f->d->stages[0].duration_s >= dur);
    assert_true(f->d->stages[0].human_s == 0);
    // and a replay of the journal gives the same
    assert_int_equal(drill_open(&d2, f->home, f->d->id, false, &err), 0);
    assert_true(fabs(d2->stages[0].steps[0].duration_s - dur) < 1e-6);
    drill_free(d2);
}

static void
test_interrupt_between_steps(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt, .tick = on_tick};
    const struct drill_stage_state *st;

    // stopped before the second step starts: the note's operator time is
    // counted once, for the note, and nothing for the step that never ran
    parse(f, HEADER("") "## One\n\n```note\nHow was it?\n```\n\n```sh\necho second\n```\n");
    f->prompt_sleep_ms = 300;
    f->answers[0] = "fine";
    f->n_answers = 1;
    f->stop_on_tick = 2;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 0, 1)->status, STEP_PENDING);
    assert_true(step_state(f, 0, 0)->human_s >= 0.3);
    assert_true(step_state(f, 0, 1)->human_s == 0);
    assert_true(step_state(f, 0, 1)->duration_s == 0);
    st = &f->d->stages[0];
    if (st->human_s > step_state(f, 0, 0)->human_s + 1e-9)
        fail_msg("stage human %.3f s, note human %.3f s: counted twice", st->human_s,
                 step_state(f, 0, 0)->human_s);
}

static void
test_interrupt_by_prompt(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};

    parse(f, HEADER("") "## One\n\n```sh\necho first\n```\n\n```note\nHow was it?\n```\n");
    f->quit_on_prompt = 1;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 0, 1)->status, STEP_RUNNING);
    assert_true(f->d->interrupted);
    // the next run continues at the note, not at the first step
    f->quit_on_prompt = 0;
    for (size_t i = 0; i < f->n_lines; i++)
        free(f->lines[i]);
    f->n_lines = 0;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_false(saw_line(f, "first"));
    assert_int_equal(step_state(f, 0, 0)->attempts, 1);
    assert_string_equal(f->d->outcome, "passed");
}

static void
test_output_cap(void **state)
{
    struct fx *f = *state;
    char *j;

    parse(f, HEADER("") "## One\n\n```sh\nseq 1 250\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_int_equal(f->n_lines, 250); // the front end sees every line
    j = journal_text(f);
    assert_int_equal(count(j, "\"ev\":\"output\""), 201);
    assert_non_null(strstr(j, "\"\u2026 50 more lines\""));
    free(j);
}

static void
test_neon_without_key(void **state)
{
    struct fx *f = *state;

    // the neon step runs the action layer: without a key it says which variable is missing
    unsetenv("NEON_API_KEY");
    parse(f, HEADER("") "## One\n\n```neon op=branch-get\n```\n");
    assert_int_not_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->err.msg, "step one/1: neon: NEON_API_KEY is not set");
    assert_int_equal(step_state(f, 0, 0)->status, STEP_FAILED);
}

static void
test_bad_var_option(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"novalue"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};

    parse(f, HEADER("") "## One\n\n```sh\ntrue\n```\n");
    assert_int_equal(run(f, &o, NULL), PD_EUSAGE);
    assert_string_equal(f->err.msg, "--var 'novalue': expected NAME=VALUE");
}

/* ---- secrets and resume ---- */

static void
test_secret_var_not_journaled(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"db=postgresql://app:hunter2-secret@db.example.com/app"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};
    char *j, *id;
    const char *vars2[] = {"db=postgresql://app:hunter2-secret@db.example.com/app"};
    struct engine_opts o2 = {.vars = vars2, .n_vars = 1};

    parse(f, HEADER("input: db text \"Database\"\n") "## One\n\n```sh\necho "
                                                     "${db}\n```\n\n```sh\nexit 1\n```\n");
    assert_int_equal(run(f, &o, NULL), PD_ECHECK);
    assert_true(saw_line(f, "postgresql://app:" PD_REDACT_MASK "@db.example.com/app"));
    j = journal_text(f);
    assert_null(strstr(j, "hunter2-secret"));
    free(j);
    // a resume without the secret says what it needs
    id = pd_xstrdup(f->d->id);
    engine_free(f->e);
    f->e = NULL;
    drill_free(f->d);
    f->d = NULL;
    assert_int_equal(drill_open(&f->d, f->home, id, true, &f->err), 0);
    // the failed drill has ended: fake an unfinished one by checking the error path
    assert_string_equal(f->d->outcome, "failed");
    assert_int_equal(run(f, &o2, NULL), PD_EUSAGE);
    {
        char want[256];

        snprintf(want, sizeof(want), "drill %s has already ended (failed)", id);
        assert_string_equal(f->err.msg, want);
    }
    free(id);
}

static void
test_secret_reasked_on_resume(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};
    char *id, *j;

    parse(f, HEADER("input: db text \"Database\"\n") "## One\n\n```sh\necho "
                                                     "${db}\n```\n\n```note\nok?\n```\n\n"
                                                     "```sh\necho again ${db}\n```\n");
    // answer the input, then quit at the note
    f->answers[0] = "postgresql://app:hunter3-secret@db.example.com/app";
    f->n_answers = 1;
    f->quit_at = 2;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    j = journal_text(f);
    assert_null(strstr(j, "hunter3-secret"));
    free(j);
    id = pd_xstrdup(f->d->id);
    engine_free(f->e);
    f->e = NULL;
    drill_free(f->d);
    f->d = NULL;
    pd_redact_reset(); // a new process knows no secrets
    assert_int_equal(drill_open(&f->d, f->home, id, true, &f->err), 0);
    assert_null(drill_var(f->d, "db"));

    // headless, the secret must come from --vars-from (or --var)
    assert_int_equal(run(f, NULL, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "variable 'db' holds a secret that is not journaled: give the "
                                    "line db=VALUE on stdin with --vars-from - to resume");
    // interactively it is asked again, then the drill continues at the note
    f->n_prompts = 0;
    f->quit_at = 0;
    f->answers[0] = "postgresql://app:hunter3-secret@db.example.com/app";
    f->answers[1] = "";
    f->n_answers = 2;
    f->prompt_sleep_ms = 200;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(f->n_prompts, 2);
    // typing the secret again was operator time too (the note's is in its step)
    if (f->d->stages[0].operator_s < 0.2)
        fail_msg("operator time for the secret asked again: %.3f s", f->d->stages[0].operator_s);
    assert_true(saw_line(f, "again postgresql://app:" PD_REDACT_MASK "@db.example.com/app"));
    j = journal_text(f);
    assert_null(strstr(j, "hunter3-secret"));
    free(j);
    assert_string_equal(f->d->outcome, "passed");
    free(id);
}

/* The child half of the crash test: runs the drill until its step kills us. */
static _Noreturn void
crash_child(const char *home, const char *text)
{
    struct runbook *rb = NULL;
    struct drill *d = NULL;
    struct engine *e = NULL;
    struct pd_err err = {0};

    if (runbook_parse(&rb, "crash.md", text, strlen(text), NULL, &err) != 0 ||
        drill_begin(&d, home, rb, "tester", &err) != 0 ||
        engine_new(&e, rb, d, NULL, NULL, NULL, &err) != 0)
        _exit(90);
    engine_run(e, &err);
    _exit(91); // not reached: the second stage kills this process
}

static void
test_resume_after_crash(void **state)
{
    struct fx *f = *state;
    char *text =
        pd_xasprintf(HEADER("") "## One\n\n```sh\nsleep 0.2; echo one\n```\n\n## Two\n\n"
                                "```sh\necho before\n```\n\n"
                                "```sh\nif [ -f %s/m ]; then echo second run; else touch %s/m; "
                                "kill -9 $PPID; sleep 1; fi\n```\n\n```sh\necho last\n```\n",
                     f->home, f->home);
    struct runbook_diags diags = {0};
    pid_t pid;
    int status;
    char *id = NULL;
    double d00, d10;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(f->home, text);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), 9);

    assert_int_equal(drill_find_unfinished(&id, f->home, &f->err), 0);
    assert_int_equal(drill_open(&f->d, f->home, id, true, &f->err), 0);
    assert_int_equal(runbook_parse(&f->rb, "crash.md", text, strlen(text), &diags, &f->err), 0);
    runbook_diags_free(&diags);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 1, 0)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 1, 1)->status, STEP_RUNNING);
    d00 = step_state(f, 0, 0)->duration_s;
    d10 = step_state(f, 1, 0)->duration_s;
    assert_true(d00 >= 0.2);

    assert_int_equal(run(f, NULL, NULL), 0);
    assert_false(saw_line(f, "one"));
    assert_false(saw_line(f, "before"));
    assert_true(saw_line(f, "second run"));
    assert_true(saw_line(f, "last"));
    assert_string_equal(f->d->outcome, "passed");
    assert_int_equal(f->d->n_resumes, 1);
    assert_int_equal(step_state(f, 0, 0)->attempts, 1);
    assert_true(step_state(f, 0, 0)->duration_s == d00);
    assert_true(step_state(f, 1, 0)->duration_s == d10);
    assert_int_equal(step_state(f, 1, 1)->attempts, 2);
    assert_int_equal(step_state(f, 1, 1)->status, STEP_PASSED);
    free(id);
    free(text);
}

/* ---- events, step inputs, misc ---- */

static void
ev_stage_started(const struct runbook_stage *stage, size_t index, void *payload)
{
    struct fx *f = payload;
    char *l = pd_xasprintf("stage+ %zu %s", index, stage->id);

    f->lines[f->n_lines++] = l;
}

static void
ev_stage_finished(const struct runbook_stage *stage, size_t index, enum step_status st,
                  void *payload)
{
    struct fx *f = payload;

    f->lines[f->n_lines++] =
        pd_xasprintf("stage- %zu %s %s", index, stage->id, step_status_name(st));
}

static void
ev_step_started(const struct runbook_stage *stage, const struct runbook_step *step,
                const char *display, void *payload)
{
    struct fx *f = payload;

    (void)stage;
    f->lines[f->n_lines++] = pd_xasprintf("step+ %s [%s]", step->id, display);
}

static void
ev_step_finished(const struct runbook_step *step, enum step_status st, const char *summary,
                 void *payload)
{
    struct fx *f = payload;

    f->lines[f->n_lines++] =
        pd_xasprintf("step- %s %s %s", step->id, step_status_name(st), summary);
}

static void
test_events_sequence(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {
        .stage_started = ev_stage_started,
        .stage_finished = ev_stage_finished,
        .step_started = ev_step_started,
        .step_finished = ev_step_finished,
    };
    const char *vars[] = {"url=postgresql://u:evpw-secret@h/db", "name=it's"};
    struct engine_opts o = {.vars = vars, .n_vars = 2};
    static const char *const want[] = {
        "stage+ 0 one",
        ("step+ one/1 [echo 'postgresql://u:" PD_REDACT_MASK "@h/db' 'it'\\''s']"),
        ("postgresql://u:" PD_REDACT_MASK "@h/db it's"),
        "step- one/1 passed exit 0",
        "step+ one/2 [exit 5]",
        "step- one/2 failed exit 5",
        "step- one/2 skipped skipped",
        "stage- 0 one passed",
        "stage+ 1 empty",
        "stage- 1 empty passed",
    };

    parse(f,
          HEADER("input: url text \"U\"\ninput: name text \"N\"\n") "## One\n\n```sh\necho ${url} "
                                                                    "${name}\n```\n\n```sh "
                                                                    "on-fail=skip\nexit 5\n```\n\n"
                                                                    "## Empty\n\nJust prose.\n");
    assert_int_equal(run(f, &o, &ev), 0);
    assert_int_equal(f->n_lines, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < f->n_lines; i++)
        assert_string_equal(f->lines[i], want[i]);
    assert_string_equal(f->d->outcome, "passed");
}

static void
test_step_inputs(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};

    parse(f, HEADER("") "## One\n\n"
                        "```input name=opt choices=A|B|verify-only\nWhich?\n```\n\n"
                        "```input name=n type=integer default=7\nHow many?\n```\n\n"
                        "```input name=must\nRequired text\n```\n\n"
                        "```sh\necho ${opt} ${n} ${must}\n```\n");
    f->answers[0] = "C";
    f->answers[1] = "B";
    f->answers[2] = "";
    f->answers[3] = "";
    f->answers[4] = "x y";
    f->n_answers = 5;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(f->n_prompts, 5);
    assert_string_equal(f->last_errors[1], "'C' is not one of A, B, verify-only");
    assert_null(f->last_errors[2]);
    assert_string_equal(f->last_errors[4], "a value is required");
    assert_true(saw_line(f, "B 7 x y"));
    assert_true(saw_line(f, "opt = B"));
    assert_string_equal(step_state(f, 0, 1)->summary, "n = 7");
}

static void
test_step_input_headless(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"n=12"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};

    parse(f, HEADER("") "## One\n\n```input name=n type=integer\nHow many?\n```\n\n"
                        "```input name=m type=integer\nAnd?\n```\n");
    assert_int_equal(run(f, &o, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/2: input 'm' needs a value: pass --var m=VALUE");
    assert_string_equal(drill_var(f->d, "n"), "12");
}

static int
on_confirm_needed(const struct engine_confirm *c, void *payload)
{
    struct fx *f = payload;

    f->lines[f->n_lines++] =
        pd_xasprintf("confirm %s [%s] %d", c->target, c->message, (int)c->destructive);
    return f->typed != NULL && strcmp(f->typed, "ok") == 0 ? 0 : PD_ECHECK;
}

static void
test_confirm_needed(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.confirm_needed = on_confirm_needed};

    parse(f, HEADER("") "## One\n\n```confirm target=main\nPromote the branch?\n```\n");
    f->typed = "no";
    assert_int_equal(run(f, NULL, &ev), PD_ECHECK);
    assert_string_equal(f->err.msg, "step one/1: confirm: the operator did not confirm");
    assert_true(saw_line(f, "confirm main [Promote the branch?] 0"));
}

static void
test_stage_mismatch(void **state)
{
    struct fx *f = *state;
    struct runbook *other = NULL;
    const char *text = HEADER("") "## One\n\n```sh\ntrue\n```\n\n## Two\n\n```sh\ntrue\n```\n";
    struct pd_err err = {0};
    char want[256];

    parse(f, HEADER("") "## One\n\n```sh\ntrue\n```\n");
    assert_int_equal(runbook_parse(&other, "test.md", text, strlen(text), NULL, &err), 0);
    assert_int_equal(engine_new(&f->e, other, f->d, NULL, NULL, NULL, &err), PD_EINPUT);
    assert_null(f->e);
    snprintf(want, sizeof(want),
             "drill %s: the runbook's stages changed since the drill began (stages sha256 "
             "differs); start a new drill",
             f->d->id);
    assert_string_equal(err.msg, want);
    runbook_free(other);
}

static void
test_sh_failures(void **state)
{
    struct fx *f = *state;

    parse(f, HEADER("") "## One\n\n```sh on-fail=skip\nkill -9 $$\n```\n\n"
                        "```sh save=x on-fail=skip\necho\n```\n\n"
                        "```sh save=y on-fail=skip\nexit 0\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(step_state(f, 0, 0)->summary, "killed by signal 9");
    assert_int_equal(step_state(f, 0, 0)->exit_code, 137);
    assert_string_equal(step_state(f, 0, 1)->summary, "exit 0, nothing to save in 'x'");
    assert_int_equal(step_state(f, 0, 1)->status, STEP_SKIPPED);
    assert_null(drill_var(f->d, "x"));
}

static void
test_request_stop(void **state)
{
    struct fx *f = *state;
    struct pd_err err = {0};

    parse(f, HEADER("") "## One\n\n```sh\necho never\n```\n");
    assert_int_equal(engine_new(&f->e, f->rb, f->d, NULL, NULL, f, &err), 0);
    engine_request_stop(f->e);
    assert_int_equal(engine_run(f->e, &err), PD_EINTR);
    {
        char want[256];

        snprintf(want, sizeof(want), "drill %s interrupted; resume with: pgdrill resume %s",
                 f->d->id, f->d->id);
        assert_string_equal(err.msg, want);
    }
    assert_int_equal(step_state(f, 0, 0)->status, STEP_PENDING);
    assert_true(f->d->interrupted);
}

static void
test_resume_secret_from_var(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};
    const char *vars[] = {"db=postgresql://app:hunter4-secret@db.example.com/app"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};
    char *id;

    parse(f, HEADER("input: db text \"Database\"\n") "## One\n\n```note\nok?\n```\n\n```sh\necho "
                                                     "again ${db}\n```\n");
    f->quit_at = 1;
    assert_int_equal(run(f, &o, &ev), PD_EINTR);
    id = pd_xstrdup(f->d->id);
    engine_free(f->e);
    f->e = NULL;
    drill_free(f->d);
    f->d = NULL;
    pd_redact_reset();
    assert_int_equal(drill_open(&f->d, f->home, id, true, &f->err), 0);
    assert_int_equal(run(f, &o, NULL), 0);
    assert_true(saw_line(f, "again postgresql://app:" PD_REDACT_MASK "@db.example.com/app"));
    free(id);
}

static void
test_var_names(void **state)
{
    struct fx *f = *state;
    struct pd_err err = {0};

    static const struct {
        const char *var, *msg; /* msg NULL: accepted */
    } cases[] = {
        {"outcome_option=B", NULL},
        {"when=2026-01-01T00:00:00Z", NULL},
        {"what=slow", NULL},
        {"PD_ENGINE_AREA=x", NULL},
        {"PD_ENGINE_LIST=x", NULL},
        {"DATABASE_URL=postgresql://h/db", NULL},
        {"outcome_optoin=B",
         "--var outcome_optoin: runbook test has no input 'outcome_optoin'; did "
         "you mean outcome_option? (its inputs: outcome_option, when, what)"},
        {"wehn=x", "--var wehn: runbook test has no input 'wehn'; did you mean when? (its inputs: "
                   "outcome_option, when, what)"},
        {"no_such_input=1", "--var no_such_input: runbook test has no input 'no_such_input' (its "
                            "inputs: outcome_option, when, what)"},
        {"PD_ENGINE_OTHER=1", "--var PD_ENGINE_OTHER: runbook test has no input 'PD_ENGINE_OTHER' "
                              "(its inputs: outcome_option, when, what)"},
    };

    (void)state;
    parse(
        f,
        HEADER(
            "input: outcome_option choice(A,B) default=A \"O\"\n") "## One\n\n"
                                                                   "```input name=when "
                                                                   "type=timestamp\nWhen?\n```\n\n"
                                                                   "```note "
                                                                   "name=what\nOdd?\n```\n\n"
                                                                   "```sh env=PD_ENGINE_LIST\necho "
                                                                   "${PD_ENGINE_AREA}\n```\n\n"
                                                                   "```sql\nSELECT 1\n```\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *v[] = {cases[i].var};
        int rc = engine_check_vars(f->rb, v, 1, &err);

        if (cases[i].msg == NULL) {
            if (rc != 0)
                fail_msg("%s: %s", cases[i].var, err.msg);
        } else {
            assert_int_equal(rc, PD_EUSAGE);
            assert_string_equal(err.msg, cases[i].msg);
        }
    }
    // a runbook without inputs says so; a sql step with url= does not read DATABASE_URL
    fresh(f, HEADER("") "## One\n\n```sql url=postgresql://h/x\nSELECT 1\n```\n");
    {
        const char *v[] = {"DATABASE_URL=x"};

        assert_int_equal(engine_check_vars(f->rb, v, 1, &err), PD_EUSAGE);
        assert_string_equal(err.msg, "--var DATABASE_URL: runbook test has no input 'DATABASE_URL' "
                                     "(it has no inputs)");
    }
}

static void
test_misc_headless_paths(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"what=the disk was slow", "t=+5"};
    struct engine_opts o = {.vars = vars, .n_vars = 2};
    // runbooks without the note and input of vars: a --var they do not take is refused
    struct engine_opts o0 = {0};
    struct engine_opts oy0 = {.yes = true};

    unsetenv("PD_NOPE_UNSET");
    // manual steps need the operator, or --yes
    fresh(f, HEADER("") "## One\n\n```sh manual=yes\nSwitch the DNS\n```\n");
    assert_int_equal(run(f, &o0, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/1: manual step: the operator must do it; run "
                                    "interactively or pass --yes");
    fresh(f, HEADER("") "## One\n\n```sh manual=yes\nSwitch the DNS\n```\n");
    assert_int_equal(run(f, &oy0, NULL), 0);
    assert_string_equal(step_state(f, 0, 0)->summary, "done (--yes)");
    // a note answered by --var is recorded
    fresh(f, HEADER("") "## One\n\n```note name=what\nAnything odd?\n```\n\n"
                        "```input name=t type=integer\nT?\n```\n");
    assert_int_equal(run(f, &o, NULL), 0);
    assert_int_equal(f->d->n_notes, 1);
    assert_string_equal(f->d->notes[0].text, "the disk was slow");
    assert_string_equal(drill_var(f->d, "t"), "+5");
    // an s3 step names its bucket before anything is asked of S3
    fresh(f, HEADER("") "## One\n\n```s3 op=list\n```\n");
    assert_int_equal(run(f, &o0, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/1: s3 list: uri= is required (s3://bucket/prefix)");
    // env= names a variable that has no value
    fresh(f, HEADER("") "## One\n\n```sh env=PD_NOPE_UNSET\necho x\n```\n");
    assert_int_equal(run(f, &o0, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/1: undefined variable 'PD_NOPE_UNSET'");
    // an empty DATABASE_URL is an input error, not a connection attempt
    setenv("DATABASE_URL", "", 1);
    fresh(f, HEADER("") "## One\n\n```sql\nSELECT 1\n```\n");
    assert_int_equal(run(f, &o0, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step one/1: no database URL: DATABASE_URL is empty");
    unsetenv("DATABASE_URL");
    // step inputs: timestamps (bad patterns are the linter's)
    {
        const char *tv[] = {"when=now"};
        struct engine_opts ot = {.vars = tv, .n_vars = 1};

        fresh(f, HEADER("") "## One\n\n```input name=when type=timestamp\nWhen?\n```\n");
        assert_int_equal(run(f, &ot, NULL), PD_EINPUT);
        assert_string_equal(f->err.msg, "step one/1: --var when: 'now' is not an RFC 3339 "
                                        "timestamp in UTC (e.g. 2026-01-31T14:05:00Z)");
    }
}

/* ---- journal write failures ---- */

static int fsync_calls, fsync_fail_at;

static int
fsync_counting(int fd)
{
    if (++fsync_calls == fsync_fail_at) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

static void
quiet_log(enum pd_log_level level, const char *msg, void *payload)
{
    (void)level;
    (void)msg;
    (void)payload;
}

/*
 * Make every drill_record of a run fail in turn: the engine must stop with
 * PD_EIO (never run on with an unjournaled state) and leak nothing.
 */
static void
test_journal_failures(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt, .failure_decision = on_failure};
    const char *text =
        HEADER("input: who text \"Who\"\n") "## One\n\n```sh\necho ${who}\necho "
                                            "two\n```\n\n```note\nAnything?\n```\n\n"
                                            "```sh\nexit 1\n```\n\n```input name=x\nX?\n```\n\n## "
                                            "Two\n\n```sh save=y\necho y\n```\n";
    int total;

    pd_log_set_sink(quiet_log, NULL);
    // count the records of a clean run first
    fresh(f, text);
    f->answers[0] = "me";
    f->answers[1] = "a note";
    f->answers[2] = "x";
    f->n_answers = 3;
    f->decisions[0] = ENGINE_SKIP;
    f->n_decisions = 1;
    fsync_calls = 0;
    fsync_fail_at = 0;
    journal_test_fsync = fsync_counting;
    assert_int_equal(run(f, NULL, &ev), 0);
    total = fsync_calls;
    assert_true(total > 15);
    for (int i = 1; i <= total; i++) {
        fresh(f, text);
        f->n_prompts = 0;
        f->decision_at = 0;
        fsync_calls = 0;
        fsync_fail_at = i;
        if (run(f, NULL, &ev) != PD_EIO)
            fail_msg("record %d of %d failed but engine_run returned %d: %s", i, total, f->err.kind,
                     f->err.msg);
        if (strstr(f->err.msg, "fsync: Input/output error") == NULL)
            fail_msg("record %d: %s", i, f->err.msg);
    }
    journal_test_fsync = NULL;
    pd_log_set_sink(NULL, NULL);
}

/*
 * Once the journal fails nothing more can be recorded: a running sh step is
 * stopped at once instead of running on unrecorded (it reruns on resume).
 */
static void
test_journal_failure_stops_step(void **state)
{
    struct fx *f = *state;
    double t0;

    pd_log_set_sink(quiet_log, NULL);
    parse(f, HEADER("") "## One\n\n```sh\necho first\nsleep 10\necho never\n```\n");
    fsync_calls = 0;
    fsync_fail_at = 3; // stage_start, step_start, then the output line "first"
    journal_test_fsync = fsync_counting;
    t0 = pd_time_mono();
    assert_int_equal(run(f, NULL, NULL), PD_EIO);
    journal_test_fsync = NULL;
    if (pd_time_mono() - t0 > 5)
        fail_msg("the step ran on for %.1f s after the journal failed", pd_time_mono() - t0);
    assert_false(saw_line(f, "never"));
    assert_non_null(strstr(f->err.msg, "fsync: Input/output error"));
    pd_log_set_sink(NULL, NULL);
}

/* ---- sql and check (real PostgreSQL) ---- */

static const char *
test_url(void)
{
    const char *url = getenv("PGDRILL_TEST_PGURL");

    if (url == NULL || url[0] == '\0')
        fail_msg("PGDRILL_TEST_PGURL is not set: run through tests/run.sh (tests/services.sh "
                 "starts PostgreSQL) or export a superuser URL to a scratch database");
    return url;
}

static void
db_exec(const char *sql)
{
    struct pg_conn *c = NULL;
    struct pd_err err = {0};

    if (pg_connect(&c, test_url(), &err) != 0)
        fail_msg("cannot connect to the test database: %s", err.msg);
    if (pg_query(c, NULL, sql, NULL, 0, NULL, &err) != 0)
        fail_msg("%s: %s", sql, err.msg);
    pg_conn_free(c);
}

static void
seed(void)
{
    db_exec("DROP TABLE IF EXISTS pd_eng_visits, pd_eng_users; "
            "CREATE TABLE pd_eng_users (id int PRIMARY KEY, email text); "
            "INSERT INTO pd_eng_users VALUES (1, 'a@example.com'), (2, NULL); "
            "CREATE TABLE pd_eng_visits (id int, status text); "
            "INSERT INTO pd_eng_visits VALUES (1, 'done'), (2, 'done'), (3, 'open')");
}

static const struct drill_check *
find_check(const struct fx *f, const char *name)
{
    for (size_t i = 0; i < f->d->n_checks; i++)
        if (strcmp(f->d->checks[i].name, name) == 0)
            return &f->d->checks[i];
    fail_msg("no check named %s in the drill", name);
    return NULL;
}

#define U " url=${PGDRILL_TEST_PGURL}"

static void
test_checks_pass_fail(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"evil='; DROP TABLE pd_eng_users; --"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};
    const struct drill_check *c;

    test_url();
    seed();
    parse(
        f,
        HEADER(
            "input: evil text \"Evil\"\n") "## Checks\n\n"
                                           "```check name=users.count expect=\"= 2\"" U
                                           "\nSELECT count(*) FROM pd_eng_users\n```\n\n"
                                           "```check name=users.email-null expect=\"= 0\" "
                                           "on-fail=skip" U "\n"
                                           "SELECT count(*) FROM pd_eng_users WHERE email IS "
                                           "NULL\n```\n\n"
                                           "```check name=bind expect=\"= 0\"" U "\n"
                                           "SELECT count(*) FROM pd_eng_users WHERE email = "
                                           "${evil} OR email = ${evil}\n```\n\n"
                                           "```check name=visits.by-status expect=\"> 0\"" U "\n"
                                           "SELECT status, count(*) FROM pd_eng_visits GROUP BY "
                                           "status ORDER BY 1\n```\n\n"
                                           "```check name=visits.few expect=\"< 2\" on-fail=skip" U
                                           "\n"
                                           "SELECT status, count(*) FROM pd_eng_visits GROUP BY "
                                           "status ORDER BY 1\n```\n\n"
                                           "```check name=users.rows expect=\"rows = 2\"" U
                                           "\nSELECT id FROM pd_eng_users\n```\n\n"
                                           "```check name=users.base baseline=base expect=\"not "
                                           "null\"" U "\n"
                                           "SELECT count(*) * 10 FROM pd_eng_visits\n```\n\n"
                                           "```check name=users.within expect=\"within 10% of "
                                           "${base}\"" U "\n"
                                           "SELECT 29\n```\n\n"
                                           "```check name=users.still-there expect=\"= 2\"" U
                                           "\nSELECT count(*) FROM pd_eng_users\n```\n");
    assert_int_equal(run(f, &o, NULL), 0);
    c = find_check(f, "users.count");
    assert_true(c->passed);
    assert_string_equal(c->observed, "2");
    assert_string_equal(c->expected, "= 2");
    assert_string_equal(c->sql, "SELECT count(*) FROM pd_eng_users");
    c = find_check(f, "users.email-null");
    assert_false(c->passed);
    assert_string_equal(c->observed, "1");
    assert_int_equal(step_state(f, 0, 1)->status, STEP_SKIPPED);
    assert_string_equal(step_state(f, 0, 1)->summary, "observed 1, expected = 0");
    assert_true(find_check(f, "bind")->passed);
    c = find_check(f, "visits.by-status");
    assert_true(c->passed);
    assert_string_equal(c->observed, "done=2, open=1");
    c = find_check(f, "visits.few");
    assert_false(c->passed);
    assert_string_equal(step_state(f, 0, 4)->summary, "done: observed 2, expected < 2");
    c = find_check(f, "users.rows");
    assert_true(c->passed);
    assert_string_equal(c->observed, "2 rows");
    assert_string_equal(drill_var(f->d, "base"), "30");
    assert_true(find_check(f, "users.within")->passed);
    assert_true(find_check(f, "users.still-there")->passed);
    assert_true(saw_line(f, "check users.email-null: FAILED (observed 1, expected = 0)"));
    // multi-row results are shown too
    assert_true(saw_line(f, "status | count"));
    assert_true(saw_line(f, "open | 1"));
    assert_string_equal(f->d->outcome, "passed");
}

static void
test_check_read_only(void **state)
{
    struct fx *f = *state;
    const struct drill_check *c;

    test_url();
    seed();
    parse(f, HEADER("") "## Checks\n\n"
                        "```check name=sneaky expect=\"= 1\"" U "\n"
                        "INSERT INTO pd_eng_users VALUES (3, 'x') RETURNING 1\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_non_null(strstr(f->err.msg, "step checks/1: postgres: "));
    assert_non_null(strstr(f->err.msg, ": cannot execute INSERT in a read-only transaction "
                                       "(SQLSTATE 25006)"));
    c = find_check(f, "sneaky");
    assert_false(c->passed);
    assert_memory_equal(c->observed, "error: postgres: ", 17);
    // nothing was written
    db_exec("DO $$ BEGIN IF (SELECT count(*) FROM pd_eng_users) <> 2 THEN "
            "RAISE EXCEPTION 'insert leaked'; END IF; END $$");
}

static void
test_check_statement_timeout(void **state)
{
    struct fx *f = *state;

    test_url();
    parse(f, HEADER("") "## Checks\n\n"
                        "```check name=slow expect=\"not null\" timeout=1s" U
                        "\nSELECT pg_sleep(10)\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ESERVICE);
    assert_int_equal(pd_err_exit_code(f->err.kind), 3);
    assert_non_null(strstr(f->err.msg, ": statement timeout after 1000ms"));
    assert_true(step_state(f, 0, 0)->duration_s < 5);
}

static void
test_continue_keeps_service_kind(void **state)
{
    struct fx *f = *state;

    // a check that timed out under on-fail=continue is still a service failure (exit 3)
    test_url();
    parse(f, HEADER("") "## Checks\n\n"
                        "```check name=slow expect=\"not null\" timeout=1s on-fail=continue" U
                        "\nSELECT pg_sleep(10)\n```\n\n"
                        "```check name=one expect=\"= 2\" on-fail=continue" U "\nSELECT 1\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ESERVICE);
    assert_int_equal(pd_err_exit_code(f->err.kind), 3);
    assert_non_null(strstr(f->err.msg, "2 steps failed; first: step checks/1: postgres: "));
    assert_non_null(strstr(f->err.msg, ": statement timeout after 1000ms"));
    assert_string_equal(f->d->outcome, "failed");
}

static void
test_check_interrupted(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.tick = on_tick};
    double t0;

    test_url();
    parse(f, HEADER("") "## Checks\n\n"
                        "```check name=slow expect=\"not null\"" U "\nSELECT pg_sleep(10)\n```\n");
    f->stop_on_tick = 2;
    t0 = pd_time_mono();
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_true(pd_time_mono() - t0 < 3.0);
    assert_int_equal(f->d->n_checks, 0);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_RUNNING);
    assert_null(f->d->outcome);
}

static void
test_check_runtime_failures(void **state)
{
    struct fx *f = *state;
    const struct drill_check *c;

    test_url();
    seed();
    // a baseline whose check could not run leaves the variable undefined at run time
    parse(f, HEADER("") "## Checks\n\n"
                        "```check name=rows5 expect=\"rows = 5\" on-fail=skip" U
                        "\nSELECT id FROM pd_eng_users\n```\n\n"
                        "```check name=base baseline=base expect=\"not null\" on-fail=skip" U
                        "\nSELECT count(*) FROM pd_eng_no_such_table\n```\n\n"
                        "```check name=near expect=\"within 5% of ${base}\"" U "\nSELECT 1\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step checks/3: expect: undefined variable 'base'");
    c = find_check(f, "rows5");
    assert_false(c->passed);
    assert_string_equal(c->observed, "2 rows");
    assert_string_equal(step_state(f, 0, 0)->summary, "observed 2 rows, expected rows = 5");
    c = find_check(f, "base");
    assert_false(c->passed);
    assert_non_null(strstr(c->observed, "relation \"pd_eng_no_such_table\" does not exist"));
    assert_int_equal(step_state(f, 0, 1)->status, STEP_SKIPPED);
}

static int
on_confirm_quit(const struct engine_confirm *c, char **typed, void *payload)
{
    (void)c;
    (void)typed;
    (void)payload;
    return PD_EINTR;
}

static int
on_prompt_broken(const struct engine_prompt *p, char **out, void *payload)
{
    (void)p;
    (void)payload;
    *out = pd_xstrdup("half");
    return PD_EIO;
}

static void
test_callbacks_quit_or_fail(void **state)
{
    struct fx *f = *state;
    struct engine_events quit_confirm = {.confirm_typed = on_confirm_quit};
    struct engine_events quit_prompt = {.prompt_needed = on_prompt};
    struct engine_events broken = {.prompt_needed = on_prompt_broken};

    fresh(f, HEADER("") "## One\n\n```confirm target=x\nSure?\n```\n");
    assert_int_equal(run(f, NULL, &quit_confirm), PD_EINTR);
    assert_int_equal(step_state(f, 0, 0)->status, STEP_RUNNING);
    // quitting at a header input leaves a resumable drill
    fresh(f, HEADER("input: who text \"Who\"\n") "## One\n\n```sh\necho ${who}\n```\n");
    f->quit_on_prompt = 1;
    assert_int_equal(run(f, NULL, &quit_prompt), PD_EINTR);
    assert_true(f->d->interrupted);
    assert_null(f->d->outcome);
    f->quit_on_prompt = 0;
    // a prompt that fails otherwise fails the step with its kind
    fresh(f, HEADER("") "## One\n\n```note\nAnything?\n```\n");
    assert_int_equal(run(f, NULL, &broken), PD_EIO);
    assert_string_equal(f->err.msg, "step one/1: prompt failed");
}

static void
test_sql_steps(void **state)
{
    struct fx *f = *state;

    test_url();
    seed();
    parse(f, HEADER("") "## Data\n\n"
                        "```sql readonly=no" U
                        "\nINSERT INTO pd_eng_users VALUES (3, 'c@example.com')\n```\n\n"
                        "```sql save=n" U
                        "\nSELECT count(*) AS n, 'x' AS label FROM pd_eng_users\n```\n\n"
                        "```sql" U "\nSELECT email FROM pd_eng_users ORDER BY id\n```\n\n"
                        "```sh\necho n=${n}\n```\n");
    // headless, --yes accepts the plan the INSERT needs
    assert_int_equal(run(f, &(struct engine_opts){.yes = true}, NULL), 0);
    assert_true(saw_line(f, "INSERT 0 1"));
    assert_true(saw_line(f, "n | label"));
    assert_true(saw_line(f, "3 | x"));
    assert_true(saw_line(f, "NULL"));
    assert_true(saw_line(f, "(3 rows)"));
    assert_true(saw_line(f, "n=3"));
    assert_string_equal(step_state(f, 0, 2)->summary, "3 rows");
}

static void
test_sql_more(void **state)
{
    struct fx *f = *state;
    const struct drill_check *c;

    test_url();
    parse(f, HEADER("") "## Data\n\n"
                        "```sql" U "\nSELECT g FROM generate_series(1, 60) g\n```\n\n"
                        "```check name=single-col expect=\"> 0\"" U
                        "\nSELECT g FROM generate_series(1, 2) g\n```\n\n"
                        "```check name=null-one expect=\"null\"" U "\nSELECT NULL::int\n```\n\n"
                        "```check name=no-rows expect=\"null\"" U "\nSELECT 1 WHERE false\n```\n\n"
                        "```check name=literal expect=\"!= 'nope'\"" U "\nSELECT '$${x}'\n```\n\n"
                        "```sql save=nothing" U "\nSELECT 1 WHERE false\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg, "step data/6: sql: save=nothing: the query returned no rows");
    assert_string_equal(find_check(f, "literal")->observed, "${x}");
    assert_true(saw_line(f, "50"));
    assert_false(saw_line(f, "51"));
    assert_true(saw_line(f, "\u2026 10 more rows"));
    assert_true(saw_line(f, "(60 rows)"));
    c = find_check(f, "single-col");
    assert_string_equal(c->observed, "row 1=1, row 2=2");
    assert_true(c->passed);
    c = find_check(f, "null-one");
    assert_string_equal(c->observed, "NULL");
    assert_true(c->passed);
    assert_true(find_check(f, "no-rows")->passed);
}

/* ---- rows (real PostgreSQL: two schemas stand in for a branch and production) ---- */

static void
rows_seed(void)
{
    db_exec("DROP SCHEMA IF EXISTS pd_rows_b, pd_rows_p CASCADE; "
            "CREATE SCHEMA pd_rows_b; CREATE SCHEMA pd_rows_p; "
            "CREATE TABLE pd_rows_b.t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
            "v text); INSERT INTO pd_rows_b.t (v) SELECT 'v' || g FROM generate_series(1, 5) g; "
            "CREATE TABLE pd_rows_p.t (LIKE pd_rows_b.t INCLUDING ALL); "
            "INSERT INTO pd_rows_p.t SELECT * FROM pd_rows_b.t WHERE id <> 2; "
            "UPDATE pd_rows_p.t SET v = 'bad' WHERE id = 3; "
            "INSERT INTO pd_rows_p.t VALUES (6, 'new'); "
            "CREATE TABLE pd_rows_b.nokey (v text); CREATE TABLE pd_rows_p.nokey (v text)");
}

/* The test database with search_path set to schema (a branch or production). */
static void
rows_urls(void)
{
    const char *url = test_url();
    const char *sep = strchr(url, '?') ? "&" : "?";
    char *b = pd_xasprintf("%s%soptions=-csearch_path%%3Dpd_rows_b", url, sep);
    char *p = pd_xasprintf("%s%soptions=-csearch_path%%3Dpd_rows_p", url, sep);

    setenv("PD_ROWS_B", b, 1);
    setenv("PD_ROWS_P", p, 1);
    free(b);
    free(p);
}

static void
test_rows_preview_and_revert(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"mode=revert"};

    test_url();
    rows_seed();
    rows_urls();
    parse(f,
          HEADER(
              "input: mode text \"Mode\"\n") "## Rows\n\n"
                                             "```rows table=t from=${PD_ROWS_B} url=${PD_ROWS_P} "
                                             "mode=${mode} preview=yes "
                                             "save=pre\n```\n\n"
                                             "```sh\necho preview ${pre_missing} ${pre_changed} "
                                             "${pre_added} "
                                             "${pre_inserted} ${pre_reverted} "
                                             "${pre_missing_keys}\n```\n\n"
                                             "```rows table=t from=${PD_ROWS_B} url=${PD_ROWS_P} "
                                             "mode=${mode} save=done\n"
                                             "```\n\n"
                                             "```check name=restored expect=\"= 'v1 v2 v3 v4 v5 "
                                             "new'\" url=${PD_ROWS_P}\n"
                                             "SELECT string_agg(v, ' ' ORDER BY id) FROM t\n```\n\n"
                                             // production's own sequence never moved past 1
                                             // (explicit ids): forward
                                             "```check name=sequence expect=\"= 6\" "
                                             "url=${PD_ROWS_P}\n"
                                             "SELECT last_value FROM t_id_seq\n```\n");
    assert_int_equal(run(f, &(struct engine_opts){.yes = true, .vars = vars, .n_vars = 1}, NULL),
                     0);
    assert_true(saw_line(f, "missing from production: 1 (keys: 2)"));
    assert_true(saw_line(f, "changed since the restore point: 1 (keys: 3)"));
    assert_true(saw_line(f, "added since the restore point: 1, never touched (keys: 6)"));
    assert_true(saw_line(f, "preview 1 1 1 1 1 2"));
    assert_string_equal(step_state(f, 0, 0)->summary,
                        "preview t (revert): 1 missing, 1 changed, 1 added since; would insert 1, "
                        "revert 1, delete 0, leave 0 conflicts");
    assert_string_equal(step_state(f, 0, 2)->summary,
                        "t (revert): 1 inserted, 1 reverted, 0 deleted, 0 left alone (0 "
                        "conflicts), 1 sequence moved forward");
    assert_true(find_check(f, "restored")->passed);
    assert_true(find_check(f, "sequence")->passed);
}

static void
test_rows_refusals(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"mode=sideways"};

    test_url();
    rows_seed();
    rows_urls();
    parse(f, HEADER("input: mode text \"Mode\"\n") "## Rows\n\n"
                                                   "```rows table=t from=${PD_ROWS_B} "
                                                   "url=${PD_ROWS_P} mode=${mode}\n```\n");
    assert_int_equal(run(f, &(struct engine_opts){.yes = true, .vars = vars, .n_vars = 1}, NULL),
                     PD_EINPUT);
    assert_string_equal(f->err.msg, "step rows/1: rows: bad mode 'sideways' (expected missing, "
                                    "revert or undo)");
}

static void
test_rows_no_key(void **state)
{
    struct fx *f = *state;

    test_url();
    rows_seed();
    rows_urls();
    parse(f, HEADER("") "## Rows\n\n"
                        "```rows table=nokey from=${PD_ROWS_B} url=${PD_ROWS_P}\n```\n");
    assert_int_equal(run(f, &(struct engine_opts){.yes = true}, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg,
                        "step rows/1: rows: table nokey has no primary key and no unique index on "
                        "NOT NULL columns: rows cannot be matched, refused");
}

static void
test_sql_reconnects_after_loss(void **state)
{
    struct fx *f = *state;
    const char *url = test_url();
    char *killer =
        pd_xasprintf("%s%sapplication_name=pd_killer", url, strchr(url, '?') ? "&" : "?");

    setenv("PD_KILLER_URL", killer, 1);
    parse(
        f,
        HEADER("") "## Data\n\n"
                   "```sql save=pid" U "\nSELECT pg_backend_pid()\n```\n\n"
                   "```sql url=${PD_KILLER_URL}\nSELECT pg_terminate_backend(${pid}::int)\n```\n\n"
                   "```sql on-fail=retry:1" U "\nSELECT 42 AS answer\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_int_equal(step_state(f, 0, 2)->attempts, 2);
    assert_true(saw_line(f, "42"));
    free(killer);
}

static void
test_sql_connect_failure(void **state)
{
    struct fx *f = *state;

    parse(f,
          HEADER("") "## Data\n\n"
                     "```sql url=postgresql://app:pw-not-shown@127.0.0.1:1/app\nSELECT 1\n```\n");
    assert_int_equal(run(f, NULL, NULL), PD_ESERVICE);
    assert_int_equal(pd_err_exit_code(f->err.kind), 3);
    assert_string_equal(f->err.msg, "step data/1: postgres: connect to 127.0.0.1:1/app: "
                                    "connection to server at \"127.0.0.1\", port 1 failed: "
                                    "Connection refused; Is the server running on that host and "
                                    "accepting TCP/IP connections?");
    {
        char *j = journal_text(f);

        assert_null(strstr(j, "pw-not-shown"));
        free(j);
    }
}

/* ---- the plan before the first change ---- */

#define PLAN_RB                                                                                    \
    HEADER("input: target_time timestamp required \"When\"\n"                                      \
           "input: incident_time text optional \"Incident\"\n")                                    \
    "## Look\n\n```sh save=branch\necho temp-${target_time}\n```\n\n"                              \
    "```sql readonly=no when=\"${incident_time} = never\"" U "\nDELETE FROM pd_eng_users\n```\n\n" \
    "```sql" U "\nSELECT 'read before the plan' AS x\n```\n\n"                                     \
    "## Change\n\n```input name=table default=pd_eng_users\nWhich table?\n```\n\n"                 \
    "```sql readonly=no" U "\nINSERT INTO pd_eng_users VALUES (7, ${branch})\n```\n\n"             \
    "```sh\necho local change\n```\n\n```note\nAnything?\n```\n"

static long
users_count(void)
{
    struct pg_conn *c = NULL;
    struct pd_err err = {0};
    struct pg_result *r = NULL;
    long n;

    if (pg_connect(&c, test_url(), &err) != 0)
        fail_msg("cannot connect to the test database: %s", err.msg);
    if (pg_query(c, &r, "SELECT count(*) FROM pd_eng_users", NULL, 0, NULL, &err) != 0)
        fail_msg("count: %s", err.msg);
    n = strtol(pg_result_value(r, 0, 0), NULL, 10);
    pg_result_free(r);
    pg_conn_free(c);
    return n;
}

/* The plan comes before the first change that runs, with the values typed and saved by then. */
static void
test_plan_before_first_change(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt, .plan_needed = on_plan};
    struct drill *again = NULL;
    struct pd_err err = {0};
    char *j;

    test_url();
    seed();
    parse(f, PLAN_RB);
    f->answers[0] = "2026-11-26T04:00:00Z"; // target_time
    f->answers[1] = "";                     // incident_time: optional, empty
    f->answers[2] = "";                     // table: its default
    f->answers[3] = "fine";                 // the note
    f->n_answers = 4;
    assert_int_equal(run(f, NULL, &ev), 0);
    // the prompts say which inputs may stay empty
    assert_false(f->optional[0]);
    assert_true(f->optional[1]);
    assert_int_equal(f->n_plans, 1);
    // a step skipped by when= does not call for the plan, nor does a read: the INSERT does
    assert_string_equal(f->plan_step, "change/2");
    assert_false(f->plan_preaccepted);
    assert_true(saw_line(f, "local change"));
    {
        // the read ran before the plan, the INSERT after it
        size_t i = 0;

        while (i < f->n_lines && strcmp(f->lines[i], "read before the plan") != 0)
            i++;
        assert_true(i < f->plan_at_line);
        assert_true(f->plan_at_line < f->n_lines);
        assert_string_equal(f->lines[f->plan_at_line], "INSERT 0 1");
    }
    // every value known by then: the typed restore point, the saved branch, the table answer
    assert_non_null(strstr(f->plan_text, "Plan for test: Test runbook\n"));
    assert_non_null(strstr(f->plan_text, ": nothing has changed yet. Next, the first change "
                                         "(step change/2, stage 2):\n  sql: INSERT INTO "
                                         "pd_eng_users VALUES (7, temp-2026-11-26T04:00:00Z)\n"));
    assert_non_null(strstr(f->plan_text, "  input target_time = 2026-11-26T04:00:00Z\n"));
    assert_non_null(strstr(f->plan_text, "  input table = pd_eng_users\n"));
    assert_non_null(strstr(f->plan_text, "  done    sh: echo temp-2026-11-26T04:00:00Z -> "
                                         "${branch}\n"));
    assert_non_null(strstr(f->plan_text, "  skipped sql: DELETE FROM pd_eng_users"));
    assert_non_null(strstr(f->plan_text, "  CHANGE  sql: INSERT INTO pd_eng_users VALUES (7, "
                                         "temp-2026-11-26T04:00:00Z)"));
    assert_non_null(strstr(f->plan_text, "Tables changed or confirmed: pd_eng_users\n"));
    // empty optional incident_time: the loss counts up to now
    assert_non_null(strstr(f->plan_text, "(changes after 2026-11-26T04:00:00Z, up to now)\n"));
    // the test URL's password never shows
    assert_null(strstr(f->plan_text, strchr(strchr(test_url(), ':') + 3, ':') + 1));
    assert_true(f->d->plan_accepted);
    assert_string_equal(f->d->outcome, "passed");
    assert_int_equal(users_count(), 3);
    j = journal_text(f);
    assert_int_equal(count(j, "\"ev\":\"plan\""), 1);
    assert_non_null(strstr(j, "\"ev\":\"plan\",\"stage\":1,\"step\":1,\"passed\":true,"));
    free(j);
    // replayed, the journal says the plan was accepted
    assert_int_equal(drill_open(&again, f->home, f->d->id, false, &err), 0);
    assert_true(again->plan_accepted);
    drill_free(again);
}

/* Declined: nothing changes, the journal and the report's issues say so, the drill ends. */
static void
test_plan_declined(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt, .plan_needed = on_plan};
    char *j;

    test_url();
    seed();
    parse(f, PLAN_RB);
    f->answers[0] = "2026-11-26T04:00:00Z";
    f->n_answers = 1;
    f->plan_rc = PD_ECHECK;
    assert_int_equal(run(f, NULL, &ev), PD_ECHECK);
    assert_string_equal(f->err.msg, "step change/2: plan declined: nothing was changed");
    assert_int_equal(f->n_plans, 1);
    assert_string_equal(f->d->outcome, "declined");
    assert_false(f->d->plan_accepted);
    assert_int_equal(step_state(f, 1, 1)->attempts, 0);
    assert_int_equal(step_state(f, 1, 1)->status, STEP_PENDING);
    assert_int_equal(f->d->stages[1].status, STEP_SKIPPED);
    assert_int_equal(f->d->stages[0].status, STEP_PASSED);
    assert_int_equal(users_count(), 2);
    assert_int_equal(f->d->n_issues, 1);
    assert_string_equal(f->d->issues[0].text,
                        "plan declined by the operator before step change/2: nothing was changed");
    j = journal_text(f);
    assert_non_null(strstr(j, "\"ev\":\"plan\",\"stage\":1,\"step\":1,\"passed\":false,"));
    free(j);
    // an ended drill does not run again
    assert_int_equal(run(f, NULL, &ev), PD_EUSAGE);
}

/* Headless: --yes accepts (the callback only shows it), nobody to answer declines. */
static void
test_plan_headless(void **state)
{
    struct fx *f = *state;
    static const char *vars[] = {"target_time=2026-11-26T04:00:00Z", "table=pd_eng_users"};
    struct engine_opts no = {.vars = vars, .n_vars = 2};
    struct engine_opts yes = {.vars = vars, .n_vars = 2, .yes = true};
    struct engine_events ev = {.plan_needed = on_plan};

    test_url();
    seed();
    parse(f, PLAN_RB);
    assert_int_equal(run(f, &no, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg, "step change/2: plan not accepted: pass --yes to accept it, "
                                    "or see it first with --plan; nothing was changed");
    assert_string_equal(f->d->outcome, "declined");
    assert_string_equal(f->d->issues[0].text, "plan not accepted (nobody could answer) before "
                                              "step change/2: nothing was changed");
    assert_int_equal(users_count(), 2);
    drill_free(f->d);
    f->d = NULL;
    engine_free(f->e);
    f->e = NULL;
    assert_int_equal(drill_begin(&f->d, f->home, f->rb, "tester", &f->err), 0);
    f->plan_rc = PD_ECHECK; // ignored: --yes accepted it already
    assert_int_equal(run(f, &yes, &ev), 0);
    assert_int_equal(f->n_plans, 1);
    assert_true(f->plan_preaccepted);
    assert_true(f->d->plan_accepted);
    assert_int_equal(users_count(), 3);
}

/* Accepted and then interrupted: a resume does not ask again; quitting at the plan asks again. */
static void
test_plan_resume(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt, .plan_needed = on_plan};

    test_url();
    seed();
    parse(f, PLAN_RB);
    f->answers[0] = "2026-11-26T04:00:00Z";
    f->answers[1] = "";
    f->answers[2] = "";
    f->n_answers = 3;
    f->plan_rc = PD_EINTR; // the operator quits at the plan: resumable, nothing changed
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_true(f->d->interrupted);
    assert_null(f->d->outcome);
    assert_false(f->d->plan_accepted);
    assert_int_equal(users_count(), 2);
    f->plan_rc = 0;
    f->quit_at = 4; // accepted on the resume, then quit at the note (the 4th prompt)
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_int_equal(f->n_plans, 2);
    assert_true(f->d->plan_accepted);
    assert_int_equal(users_count(), 3);
    f->quit_at = 0;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(f->n_plans, 2); // not asked a third time
    assert_string_equal(f->d->outcome, "passed");
}

/* A runbook whose only changes are local sh steps runs without a plan. */
static void
test_plan_not_needed(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.plan_needed = on_plan};

    parse(f, HEADER("") "## One\n\n```sh\necho change something local\n```\n");
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(f->n_plans, 0);
    assert_false(f->d->plan_accepted);
}

/*
 * Every action has a complete row in the engine's table: it runs, and it
 * is audited unless it is the operator's own step (the runbook's row).
 */
static void
test_action_rows(void **state)
{
    (void)state;
    for (int i = 0; i < STEP_ACTION_COUNT; i++) {
        const struct engine_action *a = engine_action((enum step_action)i);
        const struct runbook_action *r = runbook_action((enum step_action)i);
        const char *name = runbook_action_name((enum step_action)i);

        assert_non_null(a);
        assert_non_null(r);
        if (a->run == NULL)
            fail_msg("%s: run missing", name);
        if ((a->audit == NULL) != r->asks_operator)
            fail_msg("%s: audited unless the operator's own step", name);
    }
    assert_null(engine_action(STEP_ACTION_COUNT));
    assert_null(engine_action((enum step_action)-1));
}

/*
 * Every S3 op has a row in the op table (s3/action.c), found by its name,
 * and a row in the engine's table (s3_step.c) that runs it.
 */
static void
test_s3_op_rows(void **state)
{
    (void)state;
    for (int i = 0; i < S3_OP_COUNT; i++) {
        const struct s3_action_op *op = s3_action_op((enum s3_action_op_id)i);

        if (op == NULL)
            fail_msg("s3 op %d: no row in s3/action.c", i);
        assert_int_equal(op->id, i);
        assert_ptr_equal(s3_action_op_find(op->name), op);
        if (engine_s3_op(op->id) == NULL)
            fail_msg("s3 op %s: no row in the engine's table", op->name);
    }
    assert_null(s3_action_op(S3_OP_COUNT));
    assert_null(engine_s3_op(S3_OP_COUNT));
    assert_null(s3_action_op_find("nope"));
    assert_null(s3_action_op_find(NULL));
    assert_string_equal(s3_action_op_names(), "list get put head delete verify restore");
}

/* ---- the runbook action: a sub-drill ---- */

#define CHILD_RB                                                                                   \
    "# Child\n\n```pgdrill\nid: child\ninput: msg text required \"what to say\"\n"                 \
    "input: size integer default=3 \"how big\"\n```\n\n"                                           \
    "## Hello\n\n```input name=color\nWhich colour?\n```\n\n"                                      \
    "```sh save=greeting\necho \"${msg} in ${color}, size ${size}\"\n```\n\n"                      \
    "```sh\n[ -e ${msg}.fail ] && exit 3; echo fine\n```\n\n"                                      \
    "## Clean\n<!-- pgdrill id=clean always -->\n\n```sh\necho child cleaned\n```\n"

/* Write name (relative to the fixture's home) with text. */
static void
write_file(const struct fx *f, const char *name, const char *text)
{
    char *path = pd_xasprintf("%s/%s", f->home, name);
    FILE *fp = fopen(path, "w");

    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
    free(path);
}

/* Parse the parent (in the fixture's home, beside child.md) and begin its drill. */
static void
parse_parent(struct fx *f, const char *text)
{
    struct runbook_diags diags = {0};
    char *path = pd_xasprintf("%s/parent.md", f->home);

    write_file(f, "child.md", CHILD_RB);
    write_file(f, "parent.md", text);
    if (runbook_load(&f->rb, path, &diags, &f->err) != 0)
        fail_msg("runbook does not load: %s", f->err.msg);
    runbook_diags_free(&diags);
    free(path);
    if (drill_begin(&f->d, f->home, f->rb, "tester", &f->err) != 0)
        fail_msg("drill_begin: %s", f->err.msg);
}

#define PARENT_RB(input, restore_attrs, body)                                                      \
    "# Parent\n\n```pgdrill\nid: parent\n" input "```\n\n"                                         \
    "## Restore\n<!-- pgdrill id=restore -->\n\n```runbook name=child" restore_attrs "\n" body     \
    "```\n\n## After\n\n```sh\necho \"after: ${kid_greeting}\"\n```\n\n"                           \
    "## Tidy\n<!-- pgdrill id=tidy always -->\n\n```sh\necho parent tidied\n```\n"

/*
 * The child runs inside the parent's drill: its stages follow the runbook step's stage,
 * named restore/..., with its inputs from the body (expanded in the parent's variables),
 * the rest from their defaults, and save= hands its variables back.
 */
static void
test_subdrill_runs_inside(void **state)
{
    struct fx *f = *state;
    const char *vars[] = {"who=world"};
    struct engine_opts o = {.vars = vars, .n_vars = 1};
    char *j;

    parse_parent(f, PARENT_RB("input: who text default=you \"who\"\n", " save=kid",
                              "msg=hello ${who}\ncolor=red\n"));
    assert_int_equal(f->rb->n_stages, 5);
    assert_string_equal(f->rb->stages[1].id, "restore/hello");
    assert_string_equal(f->rb->stages[1].title, "Restore / Hello");
    assert_string_equal(f->rb->stages[1].scope, "restore");
    assert_int_equal(f->rb->stages[1].depth, 1);
    assert_string_equal(f->rb->stages[1].steps[1].id, "restore/hello/2");
    assert_true(f->rb->stages[2].always);
    assert_string_equal(f->rb->stages[3].id, "after");
    assert_int_equal(f->d->n_stages, 5);
    assert_string_equal(f->d->stages[2].title, "Restore / Clean");

    assert_int_equal(run(f, &o, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_true(saw_line(f, "msg = hello world"));
    assert_true(saw_line(f, "size = 3"));
    assert_true(saw_line(f, "hello world in red, size 3"));
    assert_true(saw_line(f, "child cleaned"));
    assert_true(saw_line(f, "after: hello world in red, size 3"));
    assert_string_equal(step_state(f, 0, 0)->summary,
                        "runbook child: its 2 stages follow, under restore");
    assert_int_equal(f->d->stages[1].status, STEP_PASSED);
    // one journal: the child's variables are kept in its scope
    j = journal_text(f);
    assert_true(strstr(j, "\"name\":\"restore.msg\"") != NULL);
    assert_true(strstr(j, "\"name\":\"restore.greeting\"") != NULL);
    assert_null(strstr(j, "\"name\":\"msg\""));
    free(j);
}

/*
 * A child's failure is the drill's: its clean-up stage runs, the parent's ordinary stages
 * after it do not, the parent's always stage does, and the error names the child's step.
 */
static void
test_subdrill_failure(void **state)
{
    struct fx *f = *state;
    char *body = pd_xasprintf("msg=%s/boom\ncolor=blue\n", f->home);
    char *text = pd_xasprintf(PARENT_RB("", " save=kid", "%s"), body);
    char *mark = pd_xasprintf("%s/boom.fail", f->home);

    write_file(f, "boom.fail", "");
    parse_parent(f, text);
    (void)mark;
    assert_int_equal(run(f, NULL, NULL), PD_ECHECK);
    assert_string_equal(f->err.msg, "step restore/hello/3: sh: exit 3");
    assert_int_equal(pd_err_exit_code(f->err.kind), 1);
    assert_string_equal(f->d->outcome, "failed");
    assert_true(saw_line(f, "child cleaned"));
    assert_true(saw_line(f, "parent tidied"));
    assert_false(saw_line(f, "after: "));
    assert_int_equal(f->d->stages[1].status, STEP_FAILED);
    assert_int_equal(f->d->stages[2].status, STEP_PASSED);
    assert_int_equal(f->d->stages[3].status, STEP_PENDING);
    free(mark);
    free(text);
    free(body);
}

/* A runbook step skipped by when=: nothing of the child runs, its clean-up either. */
static void
test_subdrill_skipped(void **state)
{
    struct fx *f = *state;

    parse_parent(f, "# Parent\n\n```pgdrill\nid: parent\ninput: go choice(yes,no) default=no "
                    "\"go?\"\n```\n\n## Restore\n<!-- pgdrill id=restore -->\n\n```runbook "
                    "name=child when=\"${go} = yes\"\nmsg=hi\n```\n\n"
                    "## After\n\n```sh\necho after\n```\n");
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_int_equal(step_state(f, 0, 0)->status, STEP_SKIPPED);
    assert_int_equal(step_state(f, 1, 0)->status, STEP_SKIPPED);
    assert_string_equal(step_state(f, 1, 0)->skip_reason,
                        "step restore/1 did not run runbook child");
    assert_int_equal(step_state(f, 2, 0)->status, STEP_SKIPPED);
    assert_false(saw_line(f, "child cleaned"));
    assert_true(saw_line(f, "after"));
}

/*
 * The child's inputs as if it ran alone: headless, an input step the body does not answer
 * fails naming it; a required input whose value comes out empty fails the runbook step;
 * at a terminal the operator is asked for the input step.
 */
static void
test_subdrill_inputs(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.prompt_needed = on_prompt};

    parse_parent(f, PARENT_RB("input: who text optional \"who\"\n", " save=kid", "msg=${who}\n"));
    assert_int_equal(run(f, NULL, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step restore/1: runbook child: input 'msg' needs a value: "
                                    "the step's body gives it an empty one");
    drill_free(f->d);
    runbook_free(f->rb);
    f->rb = NULL;
    f->d = NULL;

    parse_parent(f, PARENT_RB("", " save=kid", "msg=hi\n"));
    assert_int_equal(run(f, NULL, NULL), PD_EINPUT);
    assert_string_equal(f->err.msg, "step restore/hello/1: input 'color' needs a value: add a "
                                    "line color=VALUE to the body of the runbook step (stage "
                                    "restore)");
    drill_free(f->d);
    runbook_free(f->rb);
    f->rb = NULL;
    f->d = NULL;

    // at a terminal: the child's header input left out (size) and its input step are asked
    parse_parent(f, PARENT_RB("", " save=kid", "msg=hi\n"));
    f->answers[0] = "7";
    f->answers[1] = "green";
    f->n_answers = 2;
    assert_int_equal(run(f, NULL, &ev), 0);
    assert_int_equal(f->n_prompts, 2);
    assert_true(saw_line(f, "hi in green, size 7"));
}

/* Interrupted inside the child, the drill resumes there: nothing done runs again. */
static void
test_subdrill_resume(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.tick = on_tick};
    char *text = pd_xasprintf("# Parent\n\n```pgdrill\nid: parent\n```\n\n## Restore\n<!-- pgdrill "
                              "id=restore -->\n\n```runbook name=slow\nmsg=%s/r\n```\n\n"
                              "## After\n\n```sh\necho after\n```\n",
                              f->home);
    char *counts = pd_xasprintf("%s/r.count", f->home);
    size_t n = 0;

    write_file(f, "slow.md",
               "# Slow\n\n```pgdrill\nid: slow\ninput: msg text required \"where\"\n```\n\n"
               "## Hello\n\n```sh\necho run >> ${msg}.count\necho first\n```\n\n"
               "```sh\nif [ ! -e ${msg}.slept ]; then touch ${msg}.slept; sleep 20; fi\n"
               "echo woke\n```\n\n"
               "## Clean\n<!-- pgdrill id=clean always -->\n\n```sh\necho child cleaned\n```\n");
    parse_parent(f, text);
    f->stop_on_tick = 8;
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_null(f->d->outcome);
    assert_int_equal(step_state(f, 1, 0)->status, STEP_PASSED);
    assert_int_not_equal(step_state(f, 1, 1)->status, STEP_PASSED);
    assert_false(saw_line(f, "child cleaned"));

    // the resume: the same drill, the child's slow step again, then the rest
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_int_equal(f->d->n_resumes, 1);
    assert_true(saw_line(f, "woke"));
    assert_true(saw_line(f, "child cleaned"));
    assert_true(saw_line(f, "after"));
    assert_int_equal(step_state(f, 1, 0)->attempts, 1);
    assert_int_equal(step_state(f, 1, 1)->attempts, 2);
    {
        FILE *fp = fopen(counts, "r");
        char line[64];

        assert_non_null(fp);
        while (fgets(line, sizeof(line), fp) != NULL)
            n++;
        (void)fclose(fp); // read only
    }
    assert_int_equal(n, 1);
    free(counts);
    free(text);
}

/*
 * Keep the journal up to the end of the last line holding needle, as a crash there
 * leaves it, and reopen the drill.
 */
static void
crash_after(struct fx *f, const char *needle)
{
    char *id = pd_xstrdup(f->d->id);
    char *path = pd_xasprintf("%s/journal.jsonl", f->d->dir);
    char *j = journal_text(f);
    char *at = NULL, *nl;
    FILE *fp;

    for (char *p = strstr(j, needle); p != NULL; p = strstr(p + 1, needle))
        at = p;
    assert_non_null(at);
    nl = strchr(at, '\n');
    assert_non_null(nl);
    nl[1] = '\0';
    engine_free(f->e);
    f->e = NULL;
    drill_free(f->d);
    f->d = NULL;
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(j, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(drill_open(&f->d, f->home, id, true, &f->err), 0);
    free(j);
    free(path);
    free(id);
}

/*
 * A crash in the middle of a sub-drill's catch (on-fail=skip of its runbook step): before
 * the catch is journaled, the resume runs the failed step again; after, it finishes the
 * catch (the failed step skipped) and runs none of the child's steps left.
 */
static void
test_subdrill_catch_resume(void **state)
{
    struct fx *f = *state;
    char *body = pd_xasprintf("msg=%s/boom\ncolor=blue\n", f->home);
    char *text = pd_xasprintf(PARENT_RB("", " on-fail=skip save=kid", "%s"), body);
    char *mark = pd_xasprintf("%s/boom.fail", f->home);

    write_file(f, "boom.fail", "");
    parse_parent(f, text);
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_int_equal(step_state(f, 1, 2)->status, STEP_SKIPPED);
    assert_true(step_state(f, 1, 2)->caught);
    assert_string_equal(step_state(f, 1, 2)->caught_by, "restore/1");

    // the crash after the failed stage's end, before the catch: the step runs again
    crash_after(f, "\"ev\":\"stage_end\",\"stage\":1,");
    assert_int_equal(step_state(f, 1, 2)->status, STEP_FAILED);
    assert_false(step_state(f, 1, 2)->caught);
    assert_int_equal(unlink(mark), 0);
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_true(saw_line(f, "fine"));
    assert_int_equal(step_state(f, 1, 2)->status, STEP_PASSED);
    assert_int_equal(step_state(f, 1, 2)->attempts, 2);
    drill_free(f->d);
    runbook_free(f->rb);
    f->rb = NULL;
    f->d = NULL;
    for (size_t i = 0; i < f->n_lines; i++)
        free(f->lines[i]);
    f->n_lines = 0;

    // the crash after the catch, before its skips: the resume finishes it
    write_file(f, "boom.fail", "");
    parse_parent(f, text);
    assert_int_equal(run(f, NULL, NULL), 0);
    crash_after(f, "\"ev\":\"catch\"");
    assert_int_equal(step_state(f, 1, 2)->status, STEP_FAILED);
    assert_true(step_state(f, 1, 2)->caught);
    assert_int_equal(unlink(mark), 0);
    assert_int_equal(run(f, NULL, NULL), 0);
    assert_string_equal(f->d->outcome, "passed");
    assert_int_equal(step_state(f, 1, 2)->status, STEP_SKIPPED);
    assert_int_equal(step_state(f, 1, 2)->attempts, 1);
    assert_string_equal(step_state(f, 1, 2)->skip_reason,
                        "runbook child stopped at step restore/hello/3: on-fail=skip of step "
                        "restore/1");
    free(mark);
    free(text);
    free(body);
}

/* The operator stops the drill in the failure dialog (an aborted dialog says stop). */
static enum engine_decision
on_failure_stop(const struct runbook_step *step, const char *why, char **reason, void *payload)
{
    struct fx *f = payload;

    (void)step;
    (void)why;
    (void)reason;
    engine_request_stop(f->e);
    return ENGINE_STOP;
}

/* A stop asked for in the child's failure is no failure for on-fail=skip to take. */
static void
test_subdrill_catch_refuses_stop(void **state)
{
    struct fx *f = *state;
    struct engine_events ev = {.failure_decision = on_failure_stop};
    char *body = pd_xasprintf("msg=%s/boom\ncolor=blue\n", f->home);
    char *text = pd_xasprintf(PARENT_RB("", " on-fail=skip save=kid", "%s"), body);

    write_file(f, "boom.fail", "");
    parse_parent(f, text);
    assert_int_equal(run(f, NULL, &ev), PD_EINTR);
    assert_null(f->d->outcome);
    assert_int_equal(step_state(f, 1, 2)->status, STEP_FAILED);
    assert_false(step_state(f, 1, 2)->caught);
    assert_false(saw_line(f, "after: "));
    free(text);
    free(body);
}

/* A journal that fails while a sub-drill's failure is taken stops the drill with its error. */
static void
test_subdrill_catch_journal_failure(void **state)
{
    struct fx *f = *state;
    char *body = pd_xasprintf("msg=%s/boom\ncolor=blue\n", f->home);
    char *text = pd_xasprintf(PARENT_RB("", " on-fail=skip save=kid", "%s"), body);
    char *j;
    int at = 0;

    pd_log_set_sink(quiet_log, NULL);
    write_file(f, "boom.fail", "");
    parse_parent(f, text);
    assert_int_equal(run(f, NULL, NULL), 0);
    // the catch's record: one fsync a record, the begin record before the count
    j = journal_text(f);
    for (const char *p = j, *nl, *c; (nl = strchr(p, '\n')) != NULL; p = nl + 1, at++)
        if ((c = strstr(p, "\"ev\":\"catch\"")) != NULL && c < nl)
            break;
    assert_non_null(strstr(j, "\"ev\":\"catch\""));
    free(j);
    for (int i = at; i <= at + 1; i++) {
        drill_free(f->d);
        runbook_free(f->rb);
        f->rb = NULL;
        f->d = NULL;
        parse_parent(f, text);
        fsync_calls = 0;
        fsync_fail_at = i;
        journal_test_fsync = fsync_counting;
        assert_int_equal(run(f, NULL, NULL), PD_EIO);
        journal_test_fsync = NULL;
        assert_non_null(strstr(f->err.msg, "fsync: Input/output error"));
    }
    pd_log_set_sink(NULL, NULL);
    free(text);
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_rows),
        cmocka_unit_test(test_s3_op_rows),
        cmocka_unit_test_setup_teardown(test_sh_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sh_child_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sh_fail_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_always_stage_after_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_always_stage_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_always_stage_not_on_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_then_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_when_condition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_skip_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_decision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_decision_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sh_timeout_attr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vars_shell_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_validation_headless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_optional_inputs_headless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_reask, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timing_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_manual_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_by_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_keeps_step_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_between_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_by_prompt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_neon_without_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_var_option, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_var_not_journaled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_reasked_on_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_input_headless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_needed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_mismatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sh_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_secret_from_var, setup, teardown),
        cmocka_unit_test_setup_teardown(test_var_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_misc_headless_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_failure_stops_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checks_pass_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_statement_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_keeps_service_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_runtime_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_quit_or_fail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_preview_and_revert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_no_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_reconnects_after_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sql_connect_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_before_first_change, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_declined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_headless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_not_needed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_runs_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_catch_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_catch_refuses_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subdrill_catch_journal_failure, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
