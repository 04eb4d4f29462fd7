/* Tests for core/drill/drill.c and core/drill/journal.c. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drill/drill.h"
#include "drill/drill.intern.h"
#include "drill/journal.h"
#include "drill/journal.intern.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "runbook/runbook.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Warnings land here instead of stderr, so tests can assert on them. */
static char last_log[1024];

static void
log_sink(enum pd_log_level level, const char *msg, void *payload)
{
    (void)payload;
    if (level <= PD_LOG_WARN)
        snprintf(last_log, sizeof(last_log), "%s", msg);
}

struct fx {
    char home[64];
    struct runbook *rb;
};

static void
set_str(char **dst, const char *s)
{
    *dst = pd_xstrdup(s);
}

/* A runbook built by hand: stage 0 has sh + check, stage 1 a note, stage 2 no steps. */
static struct runbook *
rb_new(const char *id)
{
    struct runbook *rb = pd_xcalloc(1, sizeof(*rb));

    static const struct {
        const char *id, *title;
        int expected_s;
        size_t n;
        enum step_action actions[2];
    } stages[] = {
        {"prepare", "Prepare the branch", 60, 2, {STEP_SH, STEP_CHECK}},
        {"verify", "Verify counts", 120, 1, {STEP_NOTE}},
        {"wrap-up", "Wrap up", 0, 0, {STEP_SH}},
    };

    set_str(&rb->path, "runbooks/test.md");
    set_str(&rb->id, id);
    set_str(&rb->title, "Test drill");
    rb->expected_s = 600;
    rb->rto_s = 3600;
    rb->rpo_s = 300;
    memset(rb->sha256, 'a', 64);
    memset(rb->stages_sha256, 'b', 64);
    rb->n_stages = 3;
    rb->stages = pd_xcalloc(3, sizeof(*rb->stages));
    for (size_t i = 0; i < 3; i++) {
        struct runbook_stage *s = &rb->stages[i];

        set_str(&s->id, stages[i].id);
        set_str(&s->title, stages[i].title);
        s->expected_s = stages[i].expected_s;
        s->n_steps = stages[i].n;
        s->steps = pd_xcalloc(2, sizeof(*s->steps));
        for (size_t k = 0; k < s->n_steps; k++) {
            s->steps[k].action = stages[i].actions[k];
            s->steps[k].id = pd_xasprintf("%s/%zu", stages[i].id, k + 1);
        }
    }
    return rb;
}

static void
rb_free(struct runbook *rb)
{
    for (size_t i = 0; i < rb->n_stages; i++) {
        for (size_t k = 0; k < rb->stages[i].n_steps; k++)
            free(rb->stages[i].steps[k].id);
        free(rb->stages[i].steps);
        free(rb->stages[i].id);
        free(rb->stages[i].title);
    }
    free(rb->stages);
    free(rb->path);
    free(rb->id);
    free(rb->title);
    free(rb);
}

static int
setup(void **state)
{
    struct fx *fx = pd_xcalloc(1, sizeof(*fx));

    snprintf(fx->home, sizeof(fx->home), "/tmp/drill-test.XXXXXX");
    if (mkdtemp(fx->home) == NULL)
        return -1;
    fx->rb = rb_new("restore-test");
    drill_test_journal_path = NULL;
    journal_test_write = NULL;
    journal_test_fsync = NULL;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *fx = *state;
    char *cmd = pd_xasprintf("rm -rf '%s'", fx->home);
    int rc = system(cmd);

    free(cmd);
    rb_free(fx->rb);
    free(fx);
    drill_test_journal_path = NULL;
    journal_test_write = NULL;
    journal_test_fsync = NULL;
    pd_redact_reset();
    return rc == 0 ? 0 : -1;
}

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = pd_xmalloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    (void)fclose(f); // read only
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static void
write_file(const char *path, const char *text, const char *mode)
{
    FILE *f = fopen(path, mode);

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static char *
journal_of(const struct drill *d)
{
    return pd_xasprintf("%s/journal.jsonl", d->dir);
}

static void
rec(struct drill *d, struct drill_event ev)
{
    struct pd_err err = {0};
    int rc = drill_record(d, &ev, &err);

    if (rc != 0)
        fail_msg("drill_record: %s", err.msg);
}

// EV() defaults stage and step to -1 ("none"); a case may override them.
#pragma GCC diagnostic ignored "-Woverride-init"
#define EV(...) ((struct drill_event){.stage = -1, .step = -1, __VA_ARGS__})

/* A drill through every kind of event. */
static void
record_script(struct drill *d)
{
    rec(d, EV(.type = DRILL_EV_VAR, .name = "target_time", .value = "2026-11-26T03:00:00Z"));
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 0));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 0, .attempt = 1));
    rec(d, EV(.type = DRILL_EV_OUTPUT, .stage = 0, .step = 0, .text = "hello"));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_FAILED,
              .duration_s = 1.25, .exit_code = 3, .text = "exit 3"));
    rec(d, EV(.type = DRILL_EV_HUMAN, .stage = 0, .human_s = 4.5));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 0, .attempt = 2));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_PASSED,
              .duration_s = 0.75, .human_s = 0.25, .text = "exit 0"));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 1, .attempt = 1));
    rec(d, EV(.type = DRILL_EV_CHECK, .stage = 0, .step = 1, .name = "users.email-null",
              .sql = "SELECT COUNT(*) FROM users WHERE email IS NULL", .expected = "= 0",
              .observed = "0", .passed = true));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 1, .status = STEP_PASSED,
              .duration_s = 0.5, .text = "observed 0"));
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 0, .status = STEP_PASSED));
    rec(d, EV(.type = DRILL_EV_INTERRUPT, .text = "operator quit"));
    rec(d, EV(.type = DRILL_EV_RESUME));
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 1));
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 1, .step = 0, .text = "no operator"));
    rec(d, EV(.type = DRILL_EV_NOTE, .stage = 1, .text = "counts look right"));
    rec(d, EV(.type = DRILL_EV_ISSUE, .stage = 1, .text = "slow branch creation"));
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 1, .status = STEP_SKIPPED));
    rec(d, EV(.type = DRILL_EV_MEASURE, .name = "rpo_s", .value_s = 42.5));
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 2));
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 2, .status = STEP_PASSED));
    rec(d, EV(.type = DRILL_EV_END, .text = "passed"));
}

static void
assert_str_eqn(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_drills_equal(const struct drill *a, const struct drill *b)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->dir, b->dir);
    assert_str_eqn(a->runbook_path, b->runbook_path);
    assert_str_eqn(a->runbook_id, b->runbook_id);
    assert_str_eqn(a->runbook_title, b->runbook_title);
    assert_string_equal(a->runbook_sha256, b->runbook_sha256);
    assert_string_equal(a->stages_sha256, b->stages_sha256);
    assert_str_eqn(a->operator_name, b->operator_name);
    assert_str_eqn(a->host, b->host);
    assert_str_eqn(a->started_at, b->started_at);
    assert_str_eqn(a->finished_at, b->finished_at);
    assert_str_eqn(a->outcome, b->outcome);
    assert_true(a->rto_s == b->rto_s);
    assert_true(a->rpo_s == b->rpo_s);
    assert_int_equal(a->expected_s, b->expected_s);
    assert_int_equal(a->rto_target_s, b->rto_target_s);
    assert_int_equal(a->rpo_target_s, b->rpo_target_s);
    assert_int_equal(a->n_resumes, b->n_resumes);
    assert_int_equal(a->interrupted, b->interrupted);
    assert_int_equal(a->n_stages, b->n_stages);
    for (size_t i = 0; i < a->n_stages; i++) {
        const struct drill_stage_state *x = &a->stages[i], *y = &b->stages[i];

        assert_int_equal(x->status, y->status);
        assert_str_eqn(x->id, y->id);
        assert_str_eqn(x->title, y->title);
        assert_int_equal(x->expected_s, y->expected_s);
        assert_str_eqn(x->started_at, y->started_at);
        assert_str_eqn(x->finished_at, y->finished_at);
        assert_true(x->duration_s == y->duration_s);
        assert_true(x->human_s == y->human_s);
        assert_true(x->operator_s == y->operator_s);
        assert_int_equal(x->n_steps, y->n_steps);
        for (size_t k = 0; k < x->n_steps; k++) {
            const struct drill_step_state *p = &x->steps[k], *q = &y->steps[k];

            assert_int_equal(p->status, q->status);
            assert_int_equal(p->attempts, q->attempts);
            assert_str_eqn(p->started_at, q->started_at);
            assert_str_eqn(p->finished_at, q->finished_at);
            assert_true(p->duration_s == q->duration_s);
            assert_true(p->human_s == q->human_s);
            assert_int_equal(p->exit_code, q->exit_code);
            assert_str_eqn(p->summary, q->summary);
            assert_str_eqn(p->skip_reason, q->skip_reason);
            assert_str_eqn(p->id, q->id);
            assert_str_eqn(p->action, q->action);
        }
    }
    assert_int_equal(a->n_checks, b->n_checks);
    for (size_t i = 0; i < a->n_checks; i++) {
        assert_int_equal(a->checks[i].stage, b->checks[i].stage);
        assert_int_equal(a->checks[i].step, b->checks[i].step);
        assert_str_eqn(a->checks[i].name, b->checks[i].name);
        assert_str_eqn(a->checks[i].sql, b->checks[i].sql);
        assert_str_eqn(a->checks[i].expected, b->checks[i].expected);
        assert_str_eqn(a->checks[i].observed, b->checks[i].observed);
        assert_str_eqn(a->checks[i].at, b->checks[i].at);
        assert_int_equal(a->checks[i].passed, b->checks[i].passed);
    }
    assert_int_equal(a->n_notes, b->n_notes);
    for (size_t i = 0; i < a->n_notes; i++) {
        assert_int_equal(a->notes[i].stage, b->notes[i].stage);
        assert_str_eqn(a->notes[i].at, b->notes[i].at);
        assert_str_eqn(a->notes[i].text, b->notes[i].text);
    }
    assert_int_equal(a->n_issues, b->n_issues);
    for (size_t i = 0; i < a->n_issues; i++) {
        assert_int_equal(a->issues[i].stage, b->issues[i].stage);
        assert_str_eqn(a->issues[i].at, b->issues[i].at);
        assert_str_eqn(a->issues[i].text, b->issues[i].text);
    }
    assert_int_equal(a->n_vars, b->n_vars);
    for (size_t i = 0; i < a->n_vars; i++) {
        assert_str_eqn(a->vars[i].name, b->vars[i].name);
        assert_int_equal(a->vars[i].secret, b->vars[i].secret);
        if (!a->vars[i].secret)
            assert_str_eqn(a->vars[i].value, b->vars[i].value);
    }
}

static struct drill *
begin(struct fx *fx)
{
    struct pd_err err = {0};
    struct drill *d = NULL;

    if (drill_begin(&d, fx->home, fx->rb, "alice", &err) != 0)
        fail_msg("drill_begin: %s", err.msg);
    return d;
}

static struct drill *
open_drill(struct fx *fx, const char *id, bool lock)
{
    struct pd_err err = {0};
    struct drill *d = NULL;

    if (drill_open(&d, fx->home, id, lock, &err) != 0)
        fail_msg("drill_open: %s", err.msg);
    return d;
}

static mode_t
mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
test_begin_layout(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx);
    char *jpath = journal_of(d), *lpath = pd_xasprintf("%s/lock", d->dir);
    char *drills = pd_xasprintf("%s/drills", fx->home), *want_dir;
    char *text = NULL, pid[32];
    double t;

    // id: YYYYMMDD-HHMMSS-<runbook id>, UTC
    assert_int_equal(strlen(d->id), 15 + 1 + strlen("restore-test"));
    assert_string_equal(d->id + 16, "restore-test");
    assert_int_equal(d->id[8], '-');
    want_dir = pd_xasprintf("%s/%s", drills, d->id);
    assert_string_equal(d->dir, want_dir);
    assert_int_equal(mode_of(drills), 0700);
    assert_int_equal(mode_of(d->dir), 0700);
    assert_int_equal(mode_of(jpath), 0600);
    assert_int_equal(mode_of(lpath), 0600);
    // The lock file names its holder.
    text = read_file(lpath, NULL);
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    assert_string_equal(text, pid);
    free(text);

    assert_string_equal(d->runbook_id, "restore-test");
    assert_string_equal(d->runbook_title, "Test drill");
    assert_string_equal(d->runbook_path, "runbooks/test.md");
    assert_int_equal(strspn(d->runbook_sha256, "a"), 64);
    assert_int_equal(strspn(d->stages_sha256, "b"), 64);
    assert_string_equal(d->operator_name, "alice");
    assert_non_null(d->host);
    assert_int_equal(d->rto_target_s, 3600);
    assert_int_equal(d->rpo_target_s, 300);
    assert_int_equal(d->expected_s, 600);
    assert_true(d->rto_s < 0);
    assert_true(d->rpo_s < 0);
    assert_null(d->outcome);
    assert_null(d->finished_at);
    assert_int_equal(pd_time_parse_rfc3339(&t, d->started_at, 1), 0);
    assert_int_equal(strlen(d->started_at), 24);
    assert_int_equal(d->n_stages, 3);
    assert_int_equal(d->stages[0].n_steps, 2);
    assert_int_equal(d->stages[1].n_steps, 1);
    assert_int_equal(d->stages[2].n_steps, 0);
    assert_string_equal(d->stages[0].id, "prepare");
    assert_string_equal(d->stages[0].title, "Prepare the branch");
    assert_int_equal(d->stages[1].expected_s, 120);
    assert_string_equal(d->stages[0].steps[1].id, "prepare/2");
    assert_string_equal(d->stages[0].steps[1].action, "check");
    assert_int_equal(d->stages[0].status, STEP_PENDING);

    text = read_file(jpath, NULL);
    assert_memory_equal(text, "{\"v\":1,\"at\":\"", 13);
    assert_non_null(strstr(text, "\"ev\":\"begin\""));
    assert_non_null(strstr(text, "\"stages_sha256\":\"bbbb"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    free(text);

    free(want_dir);
    free(drills);
    free(lpath);
    free(jpath);
    drill_free(d);
}

static void
test_begin_same_second_gets_suffix(void **state)
{
    struct fx *fx = *state;

    // Retry if the two calls straddle a second boundary (likely under
    // valgrind), each time in a home of its own: a drill left by the try
    // before may hold the second this try lands in, and take the "-2".
    for (int tries = 0; tries < 5; tries++) {
        char *home = pd_xasprintf("%s/try%d", fx->home, tries);
        struct drill *a = NULL, *b = NULL;
        struct pd_err err = {0};
        bool same;

        assert_int_equal(mkdir(home, 0700), 0);
        if (drill_begin(&a, home, fx->rb, "alice", &err) != 0 ||
            drill_begin(&b, home, fx->rb, "alice", &err) != 0)
            fail_msg("drill_begin: %s", err.msg);
        free(home);
        same = strncmp(a->id, b->id, 15) == 0;

        if (same) {
            char *want = pd_xasprintf("%s-2", a->id);

            assert_string_equal(b->id, want);
            free(want);
        }
        drill_free(a);
        drill_free(b);
        if (same)
            return;
    }
    fail_msg("could not start two drills in the same second");
}

static void
test_replay_equals_live(void **state)
{
    struct fx *fx = *state;
    struct drill *live = begin(fx), *ro, *again;

    record_script(live);
    // Spot checks of the reducer on the live state.
    assert_int_equal(live->stages[0].status, STEP_PASSED);
    assert_int_equal(live->stages[0].steps[0].attempts, 2);
    assert_true(live->stages[0].steps[0].duration_s == 2.0);
    assert_true(live->stages[0].steps[0].human_s == 0.25);
    assert_true(live->stages[0].duration_s == 2.5 + 4.5);
    assert_true(live->stages[0].human_s == 0.25 + 4.5);
    assert_string_equal(live->stages[0].steps[0].summary, "exit 0");
    assert_int_equal(live->stages[1].status, STEP_SKIPPED);
    assert_string_equal(live->stages[1].steps[0].skip_reason, "no operator");
    assert_int_equal(live->stages[2].status, STEP_PASSED);
    assert_int_equal(live->n_checks, 1);
    assert_int_equal(live->n_notes, 1);
    assert_int_equal(live->notes[0].stage, 1);
    assert_int_equal(live->n_issues, 1);
    assert_int_equal(live->n_resumes, 1);
    assert_false(live->interrupted);
    assert_true(live->rpo_s == 42.5);
    assert_true(live->rto_s < 0);
    assert_string_equal(live->outcome, "passed");
    assert_non_null(live->finished_at);
    assert_string_equal(drill_var(live, "target_time"), "2026-11-26T03:00:00Z");
    assert_null(drill_var(live, "nope"));

    // Read-only replay while the live drill still holds its lock.
    ro = open_drill(fx, live->id, false);
    assert_false(ro->truncated_tail);
    assert_drills_equal(live, ro);

    // After the process is gone: reopen with the lock, same state again.
    drill_free(live);
    again = open_drill(fx, ro->id, true);
    assert_false(again->truncated_tail);
    assert_drills_equal(ro, again);
    drill_free(again);
    drill_free(ro);
}

static void
test_stage_status_derivation(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx);

    assert_int_equal(d->stages[0].status, STEP_PENDING);
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 0));
    assert_int_equal(d->stages[0].status, STEP_RUNNING);
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 0, .attempt = 1));
    assert_int_equal(d->stages[0].status, STEP_RUNNING);
    assert_int_equal(d->stages[0].steps[0].status, STEP_RUNNING);
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_PASSED,
              .duration_s = 1));
    assert_int_equal(d->stages[0].status, STEP_RUNNING); // step 2 pending
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 0, .step = 1, .text = "why"));
    assert_int_equal(d->stages[0].status, STEP_PASSED);
    // Stage 1: a failed step fails the stage whatever stage_end says.
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 1));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 1, .step = 0));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 1, .step = 0, .status = STEP_FAILED));
    assert_int_equal(d->stages[1].status, STEP_FAILED);
    assert_int_equal(d->stages[1].steps[0].attempts, 1);
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 1, .status = STEP_PASSED));
    assert_int_equal(d->stages[1].status, STEP_FAILED);
    // Stage 2 has no steps: its stage_end decides.
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 2));
    assert_int_equal(d->stages[2].status, STEP_RUNNING);
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 2, .status = STEP_SKIPPED));
    assert_int_equal(d->stages[2].status, STEP_SKIPPED);
    // Human time tied to a step adds to the step and the stage.
    rec(d, EV(.type = DRILL_EV_HUMAN, .stage = 0, .step = 0, .human_s = 2));
    assert_true(d->stages[0].steps[0].human_s == 2);
    assert_true(d->stages[0].steps[0].duration_s == 3);
    assert_true(d->stages[0].duration_s == 3);
    assert_true(d->stages[0].human_s == 2);
    assert_true(d->stages[0].operator_s == 0);
    drill_free(d);
}

/* Truncated tails: a partial line without newline, or a last line that is not JSON. */
static void
test_truncated_tail_ignored_and_resume(void **state)
{
    static const char *const tails[] = {
        "{\"v\":1,\"at\":\"2026-11-26T04:00:00.000Z\",\"ev\":\"zzpartial",
        ("{\"v\":1,\"at\":\"2026-11-26T04:00:00.000Z\",\"ev\":\"note\",\"stage\":0,\"text\":"
         "\"zzpartial\"}"),
        "zzpartial garbage\n",
        "{\"v\":1,\"at\"\n",
    };
    struct fx *fx = *state;

    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        struct drill *live = begin(fx), *d;
        char *jpath = journal_of(live), *id = pd_xstrdup(live->id), *text;
        size_t before, after;

        rec(live, EV(.type = DRILL_EV_STAGE_START, .stage = 0));
        rec(live, EV(.type = DRILL_EV_NOTE, .stage = 0, .text = "kept"));
        drill_free(live); // the crash: lock released, tail written by nobody
        free(read_file(jpath, &before));
        write_file(jpath, tails[i], "a");

        last_log[0] = '\0';
        d = open_drill(fx, id, true);
        assert_true(d->truncated_tail);
        assert_non_null(strstr(last_log, ": cutting a partial last line after byte "));
        assert_int_equal(d->n_notes, 1);
        assert_string_equal(d->notes[0].text, "kept");
        assert_int_equal(d->stages[0].status, STEP_RUNNING);
        // The partial line was cut off: the file is back to its good size.
        free(read_file(jpath, &after));
        assert_int_equal(after, before);
        // Resume continues on a clean line.
        rec(d, EV(.type = DRILL_EV_RESUME));
        rec(d, EV(.type = DRILL_EV_NOTE, .stage = 0, .text = "after resume"));
        drill_free(d);

        d = open_drill(fx, id, false);
        assert_false(d->truncated_tail);
        assert_int_equal(d->n_resumes, 1);
        assert_int_equal(d->n_notes, 2);
        assert_string_equal(d->notes[1].text, "after resume");
        drill_free(d);
        text = read_file(jpath, NULL);
        assert_null(strstr(text, "zzpartial"));
        free(text);
        free(jpath);
        free(id);
    }
}

/* Truncation seen read-only: reported, file left alone. */
static void
test_truncated_tail_read_only_leaves_file(void **state)
{
    struct fx *fx = *state;
    struct drill *live = begin(fx), *d;
    char *jpath = journal_of(live), *id = pd_xstrdup(live->id);
    size_t before, after;

    drill_free(live);
    write_file(jpath, "{\"v\":1,", "a");
    free(read_file(jpath, &before));
    d = open_drill(fx, id, false);
    assert_true(d->truncated_tail);
    drill_free(d);
    free(read_file(jpath, &after));
    assert_int_equal(after, before);
    free(jpath);
    free(id);
}

static char *
fixture_path(const char *name)
{
    const char *top = getenv("PGDRILL_TOP");

    return pd_xasprintf("%s/tests/fixtures/journals/%s", top != NULL ? top : ".", name);
}

/* Install fixture name as the journal of a drill called id under home. */
static char *
install_fixture(struct fx *fx, const char *id, const char *name)
{
    char *src = fixture_path(name), *dir = pd_xasprintf("%s/drills/%s", fx->home, id);
    char *dst = pd_xasprintf("%s/journal.jsonl", dir), *text;
    char *drills = pd_xasprintf("%s/drills", fx->home);
    size_t len;

    mkdir(drills, 0700);
    assert_int_equal(mkdir(dir, 0700), 0);
    if (access(src, R_OK) != 0)
        fail_msg("fixture %s missing (set PGDRILL_TOP to the repository root)", src);
    text = read_file(src, &len);
    write_file(dst, text, "w");
    free(text);
    free(src);
    free(dir);
    free(drills);
    return dst;
}

static void
test_fixture_good_replays(void **state)
{
    struct fx *fx = *state;
    struct pd_err err = {0};
    struct drill *d = NULL;
    char *jpath = install_fixture(fx, "20261126-030000-post-restore-validation", "good.jsonl");

    assert_int_equal(
        drill_open(&d, fx->home, "20261126-030000-post-restore-validation", true, &err), 0);
    assert_string_equal(d->runbook_id, "post-restore-validation");
    assert_string_equal(d->outcome, "failed");
    assert_string_equal(d->started_at, "2026-11-26T03:00:00.000Z");
    assert_string_equal(d->finished_at, "2026-11-26T03:02:10.500Z");
    assert_int_equal(d->n_checks, 2);
    assert_false(d->checks[1].passed);
    assert_string_equal(d->checks[1].observed, "3");
    assert_int_equal(d->stages[0].status, STEP_PASSED);
    assert_int_equal(d->stages[1].status, STEP_FAILED);
    assert_true(d->stages[1].duration_s == 2.5);
    drill_free(d);
    free(jpath);
}

struct bad_case {
    const char *fixture; /* or NULL: text */
    const char *text;
    int line;
    const char *msg; /* after "journal PATH:LINE: " */
};

static void
test_corrupt_journal_errors(void **state)
{
    static const struct bad_case cases[] = {
        {"corrupt-middle.jsonl", NULL, 3, "corrupt record (not a JSON object)"},
        {"truncated-tail.jsonl", NULL, 0, NULL},
        {NULL, "{\"v\":1,\"at\":\"x\",\"ev\":\"note\",\"stage\":0,\"text\":\"a\"}\n", 1,
         "first record is not 'begin'"},
        {NULL, "@BEGIN\n{\"v\":2,\"at\":\"x\",\"ev\":\"resume\"}\n", 2,
         "unsupported record version 2"},
        {NULL, "@BEGIN\n{\"v\":1,\"ev\":\"resume\"}\n", 2, "record without 'at'"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"explode\"}\n", 2, "unknown event 'explode'"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"stage_start\",\"stage\":7}\n", 2,
         "drill ID: stage_start: stage 7 out of range (1 stages)"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"step_start\",\"stage\":0,\"step\":1}\n", 2,
         "drill ID: step_start: step 1 out of range (1 steps)"},
        {NULL,
         "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"stage_end\",\"stage\":0,\"status\":\"ok\"}\n", 2,
         "bad status 'ok'"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"note\",\"stage\":\"0\"}\n", 2,
         "'stage' is not an integer"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"end\"}\n", 2,
         "drill ID: end: missing outcome"},
        {NULL, "@BEGIN\n@BEGIN\n", 2, "a second 'begin' record"},
        {NULL, "{\"v\":1,\"at\":\"x\",\"ev\":\"begin\",\"stages\":[]}\n", 1,
         "begin record without runbook or stages"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"var\",\"name\":\"a\",\"value\":1}\n", 2,
         "'value' is not a string"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"human\",\"stage\":0,\"human_s\":\"1\"}\n", 2,
         "'human_s' is not a number"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\",\"ev\":\"check\",\"stage\":0,\"step\":0,\"name\":\"c\",\"passed\":1}\n", 2,
         "'passed' is not a boolean"},
        {NULL, "@BEGIN\n{\"v\":1,\"at\":\"x\"}\n", 2, "record without 'ev'"},
        {NULL, "", 0, "no records"},
    };
    static const char begin_line[] =
        "{\"v\":1,\"at\":\"2026-11-26T03:00:00.000Z\",\"ev\":\"begin\",\"id\":\"x\","
        "\"runbook\":{\"id\":\"r\"},\"stages\":[{\"id\":\"s\",\"steps\":[{\"id\":\"s/1\"}]}]}\n";
    struct fx *fx = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct bad_case *c = &cases[i];
        char *id = pd_xasprintf("20261126-0300%02zu-bad", i);
        char *jpath, *want, *msg;
        struct pd_err err = {0};
        struct drill *d = NULL;
        int rc;

        if (c->fixture != NULL) {
            jpath = install_fixture(fx, id, c->fixture);
        } else {
            char buf[2048] = {0};
            const char *p = c->text;

            // "@BEGIN" lines stand for a valid begin record.
            while (*p != '\0') {
                if (strncmp(p, "@BEGIN\n", 7) == 0) {
                    strcat(buf, begin_line);
                    p += 7;
                } else {
                    strncat(buf, p, 1);
                    p++;
                }
            }
            jpath = install_fixture(fx, id, "good.jsonl");
            write_file(jpath, buf, "w");
        }
        rc = drill_open(&d, fx->home, id, true, &err);
        if (c->msg == NULL) {
            // truncated-tail.jsonl: not an error
            assert_int_equal(rc, 0);
            assert_true(d->truncated_tail);
            drill_free(d);
        } else {
            msg = strstr(c->msg, "drill ID") == c->msg ? pd_xasprintf("drill %s%s", id, c->msg + 8)
                                                       : pd_xstrdup(c->msg);
            want = c->line > 0 ? pd_xasprintf("journal %s:%d: %s", jpath, c->line, msg)
                               : pd_xasprintf("journal %s: %s", jpath, msg);
            assert_int_equal(rc, PD_EIO);
            assert_null(d);
            assert_string_equal(err.msg, want);
            free(want);
            free(msg);
        }
        free(jpath);
        free(id);
    }
}

/* Child: open the drill with its lock, report, hold it until told or killed. */
static void
child_hold_lock(const char *home, const char *id, int ready_fd, int go_fd)
{
    struct pd_err err = {0};
    struct drill *d = NULL;
    char c = drill_open(&d, home, id, true, &err) == 0 ? 'y' : 'n';

    if (write(ready_fd, &c, 1) != 1)
        _exit(3);
    if (read(go_fd, &c, 1) < 0)
        _exit(4);
    drill_free(d);
    _exit(0);
}

static void
test_lock_held_by_other_process(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx), *d2 = NULL;
    char *id = pd_xstrdup(d->id), *want, c = 0;
    int ready[2], go[2], status = 0;
    struct pd_err err = {0};
    pid_t pid;

    drill_free(d);
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(go), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_hold_lock(fx->home, id, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');

    want = pd_xasprintf("drill %s is in use by another pgdrill (pid %ld)", id, (long)pid);
    assert_int_equal(drill_open(&d2, fx->home, id, true, &err), PD_ELOCKED);
    assert_null(d2);
    assert_string_equal(err.msg, want);
    // Reading without the lock is still allowed.
    d2 = open_drill(fx, id, false);
    drill_free(d2);

    // kill -9 the holder: the kernel drops the lock with the process.
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    d2 = open_drill(fx, id, true);
    drill_free(d2);
    close(ready[0]);
    close(go[1]);
    free(want);
    free(id);
}

/* kill -9 in the middle of a step: the next process finds the drill and resumes it. */
static void
test_kill9_then_find_and_resume(void **state)
{
    struct fx *fx = *state;
    char id[256] = {0}, *found = NULL;
    struct pd_err err = {0};
    struct drill *d = NULL;
    int ids[2], status = 0;
    ssize_t n;
    pid_t pid;

    assert_int_equal(pipe(ids), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct drill *c = NULL;

        close(ids[0]);
        if (drill_begin(&c, fx->home, fx->rb, "bob", &err) != 0)
            _exit(2);
        rec(c, EV(.type = DRILL_EV_VAR, .name = "table", .value = "visits"));
        rec(c, EV(.type = DRILL_EV_STAGE_START, .stage = 0));
        rec(c, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 0, .attempt = 1));
        rec(c, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_PASSED,
                  .duration_s = 0.5));
        rec(c, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 1, .attempt = 1));
        if (write(ids[1], c->id, strlen(c->id)) < 0)
            _exit(3);
        close(ids[1]);
        for (;;)
            pause();
    }
    close(ids[1]);
    n = read(ids[0], id, sizeof(id) - 1);
    close(ids[0]);
    assert_true(n > 0);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);

    assert_int_equal(drill_find_unfinished(&found, fx->home, &err), 0);
    assert_string_equal(found, id);
    free(found);
    assert_int_equal(drill_open(&d, fx->home, id, true, &err), 0);
    assert_false(d->truncated_tail);
    assert_string_equal(d->operator_name, "bob");
    assert_string_equal(drill_var(d, "table"), "visits");
    assert_int_equal(d->stages[0].steps[0].status, STEP_PASSED);
    assert_true(d->stages[0].steps[0].duration_s == 0.5);
    assert_int_equal(d->stages[0].steps[1].status, STEP_RUNNING);
    assert_int_equal(d->stages[0].status, STEP_RUNNING);
    rec(d, EV(.type = DRILL_EV_RESUME));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 1, .attempt = 2));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 1, .status = STEP_PASSED,
              .duration_s = 1));
    assert_int_equal(d->stages[0].steps[1].attempts, 2);
    assert_int_equal(d->stages[0].status, STEP_PASSED);
    assert_int_equal(d->n_resumes, 1);
    rec(d, EV(.type = DRILL_EV_END, .text = "passed"));
    drill_free(d);
    assert_int_equal(drill_find_unfinished(&found, fx->home, &err), PD_ENOENT);
}

/* A later value or check result replaces the earlier one; both survive replay. */
static void
test_var_and_check_replace(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx), *ro;

    rec(d, EV(.type = DRILL_EV_VAR, .name = "count", .value = "1"));
    rec(d, EV(.type = DRILL_EV_VAR, .name = "other", .value = "x"));
    rec(d, EV(.type = DRILL_EV_VAR, .name = "count", .value = "2"));
    rec(d, EV(.type = DRILL_EV_CHECK, .stage = 0, .step = 1, .name = "c", .sql = "SELECT 1",
              .expected = "= 0", .observed = "1", .passed = false));
    rec(d, EV(.type = DRILL_EV_CHECK, .stage = 0, .step = 1, .name = "c", .sql = "SELECT 1",
              .expected = "= 0", .observed = "0", .passed = true));
    assert_int_equal(d->n_vars, 2);
    assert_string_equal(drill_var(d, "count"), "2");
    assert_int_equal(d->n_checks, 1);
    assert_true(d->checks[0].passed);
    assert_string_equal(d->checks[0].observed, "0");
    ro = open_drill(fx, d->id, false);
    assert_drills_equal(d, ro);
    drill_free(ro);
    drill_free(d);
}

static void
test_begin_errors(void **state)
{
    struct fx *fx = *state;
    struct pd_err err = {0};
    struct drill *d = NULL;

    free(fx->rb->id);
    fx->rb->id = pd_xstrdup("../x");
    assert_int_equal(drill_begin(&d, fx->home, fx->rb, "alice", &err), PD_EINPUT);
    assert_string_equal(err.msg, "drill: runbook runbooks/test.md has no usable id");
    free(fx->rb->id);
    fx->rb->id = pd_xstrdup("ok");
    assert_int_equal(drill_begin(&d, "/dev/null/home", fx->rb, "alice", &err), PD_EIO);
    assert_string_equal(err.msg, "drill: mkdir /dev/null/home: Not a directory");
    assert_null(d);
}

static void
test_secrets_never_journaled(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx);
    char *jpath = journal_of(d), *id = pd_xstrdup(d->id), *text;

    pd_redact_register("tok-registered-9f8e7d");
    rec(d, EV(.type = DRILL_EV_VAR, .name = "api_key", .value = "hunter2-super-secret",
              .secret = true));
    rec(d, EV(.type = DRILL_EV_VAR, .name = "branch_uri",
              .value = "postgres://app:pw-hidden-4242@host/db"));
    rec(d, EV(.type = DRILL_EV_VAR, .name = "plain", .value = "visible-value"));
    rec(d, EV(.type = DRILL_EV_OUTPUT, .stage = 0, .step = 0,
              .text = "token tok-registered-9f8e7d leaked"));
    // Live values stay usable.
    assert_string_equal(drill_var(d, "api_key"), "hunter2-super-secret");
    assert_string_equal(drill_var(d, "branch_uri"), "postgres://app:pw-hidden-4242@host/db");
    drill_free(d);

    text = read_file(jpath, NULL);
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "pw-hidden-4242"));
    assert_null(strstr(text, "tok-registered"));
    assert_non_null(strstr(text, "\"ev\":\"var\",\"name\":\"api_key\",\"secret\":true}\n"));
    assert_non_null(strstr(text, "\"ev\":\"var\",\"name\":\"branch_uri\",\"secret\":true}\n"));
    assert_non_null(strstr(text, "\"value\":\"visible-value\""));
    assert_non_null(strstr(text, "token " PD_REDACT_MASK " leaked"));
    free(text);

    d = open_drill(fx, id, false);
    assert_null(drill_var(d, "api_key"));
    assert_null(drill_var(d, "branch_uri"));
    assert_string_equal(drill_var(d, "plain"), "visible-value");
    assert_int_equal(d->n_vars, 3);
    assert_true(d->vars[0].secret);
    drill_free(d);
    free(jpath);
    free(id);
}

/* Fault injection for journal writes. */
static size_t hook_len;

static ssize_t
write_short(int fd, const void *buf, size_t len)
{
    if (hook_len == 0)
        hook_len = len; // the whole record: the retry of the rest is shorter
    return write(fd, buf, 5); // the torn record really lands in the file
}

/* A full disk: the first write is short, the next one fails with ENOSPC. */
static int enospc_calls;

static ssize_t
write_short_enospc(int fd, const void *buf, size_t len)
{
    if (enospc_calls++ == 0) {
        hook_len = len;
        return write(fd, buf, 5);
    }
    errno = ENOSPC;
    return -1;
}

static ssize_t
write_eio(int fd, const void *buf, size_t len)
{
    (void)fd;
    (void)buf;
    hook_len = len;
    errno = EIO;
    return -1;
}

static int
fsync_eio(int fd)
{
    (void)fd;
    errno = EIO;
    return -1;
}

struct fault_case {
    ssize_t (*write)(int, const void *, size_t);
    int (*fsync)(int);
    const char *msg; /* after "journal PATH: "; "LEN" = record length */
};

static void
test_write_faults(void **state)
{
    static const struct fault_case cases[] = {
        {write_short, NULL, "short write (10 of LEN bytes)"},
        {write_short_enospc, NULL, "write: No space left on device"},
        {write_eio, NULL, "write: Input/output error"},
        {NULL, fsync_eio, "fsync: Input/output error"},
    };
    struct fx *fx = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct drill *d = begin(fx);
        char *jpath = journal_of(d), *id = pd_xstrdup(d->id), *want, *tail, *text;
        struct drill_event ev = EV(.type = DRILL_EV_NOTE, .stage = 0, .text = "lost?");
        struct pd_err err = {0};
        size_t before, after;

        free(read_file(jpath, &before));
        journal_test_write = cases[i].write;
        journal_test_fsync = cases[i].fsync;
        hook_len = 0;
        enospc_calls = 0;
        assert_int_equal(drill_record(d, &ev, &err), PD_EIO);
        tail = pd_xstrdup(cases[i].msg);
        if (strstr(tail, "LEN") != NULL) {
            char *p = strstr(tail, "LEN"), *t;

            *p = '\0';
            t = pd_xasprintf("%s%zu%s", tail, hook_len, p + 3);
            free(tail);
            tail = t;
        }
        want = pd_xasprintf("journal %s: %s", jpath, tail);
        assert_string_equal(err.msg, want);
        assert_int_equal(d->n_notes, 0); // state unchanged
        journal_test_write = NULL;
        journal_test_fsync = NULL;

        // The journal refuses further records rather than gluing them on.
        free(want);
        want = pd_xasprintf("journal %s: an earlier write failed, not appending", jpath);
        assert_int_equal(drill_record(d, &ev, &err), PD_EIO);
        assert_string_equal(err.msg, want);
        drill_free(d);

        // The torn bytes were cut off: nothing half-written remains.
        text = read_file(jpath, &after);
        assert_int_equal(after, before);
        assert_null(strstr(text, "lost?"));
        free(text);
        d = open_drill(fx, id, false);
        assert_false(d->truncated_tail);
        drill_free(d);
        free(want);
        free(tail);
        free(jpath);
        free(id);
    }
}

/* A real ENOSPC from the kernel: the journal is /dev/full. */
static void
test_enospc_dev_full(void **state)
{
    struct fx *fx = *state;
    struct pd_err err = {0};
    struct drill *d = NULL;
    char **ids = NULL;
    size_t n = 9;

    if (access("/dev/full", W_OK) != 0)
        fail_msg("/dev/full is not writable here");
    drill_test_journal_path = "/dev/full";
    assert_int_equal(drill_begin(&d, fx->home, fx->rb, "alice", &err), PD_EIO);
    drill_test_journal_path = NULL;
    assert_null(d);
    assert_string_equal(err.msg, "journal /dev/full: write: No space left on device");
    // No half-made drill is left behind.
    assert_int_equal(drill_list(&ids, &n, fx->home, &err), 0);
    assert_int_equal(n, 0);
    free(ids);
}

static void
test_bad_events_refused(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx);
    char *jpath = journal_of(d);

    struct {
        struct drill_event ev;
        const char *msg; /* after "drill ID: " */
    } cases[] = {
        {EV(.type = DRILL_EV_STAGE_START, .stage = 3),
         "stage_start: stage 3 out of range (3 stages)"},
        {EV(.type = DRILL_EV_STAGE_START), "stage_start: stage -1 out of range (3 stages)"},
        {EV(.type = DRILL_EV_STEP_START, .stage = 2, .step = 0),
         "step_start: step 0 out of range (0 steps)"},
        {EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_RUNNING),
         "step_end: status running is not a result"},
        {EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_PASSED,
            .duration_s = -1),
         "step_end: bad duration"},
        {EV(.type = DRILL_EV_CHECK, .stage = 0, .step = 1), "check: missing name"},
        {EV(.type = DRILL_EV_VAR, .name = ""), "var: missing name"},
        {EV(.type = DRILL_EV_END), "end: missing outcome"},
        {EV(.type = DRILL_EV_BEGIN), "bad event type 0"},
        {EV(.type = (enum drill_event_type)99), "bad event type 99"},
    };

    size_t before, after;

    free(read_file(jpath, &before));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pd_err err = {0};
        char *want = pd_xasprintf("drill %s: %s", d->id, cases[i].msg);

        assert_int_equal(drill_record(d, &cases[i].ev, &err), PD_EBUG);
        assert_string_equal(err.msg, want);
        free(want);
    }
    free(read_file(jpath, &after));
    assert_int_equal(after, before);
    drill_free(d);
    free(jpath);
}

static void
test_open_errors(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx), *ro = NULL;
    struct drill_event ev = EV(.type = DRILL_EV_RESUME);
    struct pd_err err = {0};
    char *want;

    assert_int_equal(drill_open(&ro, fx->home, "../etc", true, &err), PD_EINPUT);
    assert_string_equal(err.msg, "drill: bad drill id '../etc'");
    assert_int_equal(drill_open(&ro, fx->home, "a/b", true, &err), PD_EINPUT);
    assert_int_equal(drill_open(&ro, fx->home, "", true, &err), PD_EINPUT);
    assert_int_equal(drill_open(&ro, fx->home, "20260101-000000-nope", true, &err), PD_ENOENT);
    want = pd_xasprintf("drill 20260101-000000-nope not found in %s/drills", fx->home);
    assert_string_equal(err.msg, want);
    free(want);

    ro = open_drill(fx, d->id, false);
    assert_int_equal(drill_record(ro, &ev, &err), PD_EBUG);
    want = pd_xasprintf("drill %s: opened without its lock, cannot record", d->id);
    assert_string_equal(err.msg, want);
    free(want);
    drill_free(ro);
    drill_free(d);
}

/* Create drill dirs by hand with chosen ids; finished ones get an end record. */
static void
make_drill(struct fx *fx, const char *id, bool finished)
{
    char *jpath = install_fixture(fx, id, "good.jsonl");

    if (!finished) {
        char *text = read_file(jpath, NULL);
        char *end = strstr(text, "{\"v\":1,\"at\":\"2026-11-26T03:02:10.500Z\",\"ev\":\"end\"");

        assert_non_null(end);
        *end = '\0';
        write_file(jpath, text, "w");
        free(text);
    }
    free(jpath);
}

static void
test_list_and_find_unfinished(void **state)
{
    struct fx *fx = *state;
    struct pd_err err = {0};
    char **ids = NULL, *found = NULL, *want, *bad;
    size_t n = 0;
    static const char *const newest_first[] = {
        "20261102-000000-b-10", "20261102-000000-b-9", "20261102-000000-b-2",
        "20261102-000000-b",    "20261101-120000-a",
    };

    // Nothing yet.
    assert_int_equal(drill_list(&ids, &n, fx->home, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(drill_find_unfinished(&found, fx->home, &err), PD_ENOENT);
    want = pd_xasprintf("no unfinished drill in %s/drills", fx->home);
    assert_string_equal(err.msg, want);
    free(want);

    make_drill(fx, "20261101-120000-a", false);
    make_drill(fx, "20261102-000000-b", false);
    make_drill(fx, "20261102-000000-b-2", true);
    make_drill(fx, "20261102-000000-b-9", false);
    make_drill(fx, "20261102-000000-b-10", true);
    bad = pd_xasprintf("%s/drills/not-a-dir", fx->home);
    write_file(bad, "x", "w");
    free(bad);

    assert_int_equal(drill_list(&ids, &n, fx->home, &err), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ids[i], newest_first[i]);
        free(ids[i]);
    }
    free(ids);

    assert_int_equal(drill_find_unfinished(&found, fx->home, &err), 0);
    assert_string_equal(found, "20261102-000000-b-9");
    free(found);

    // A newer drill with a damaged journal is skipped with a warning.
    free(install_fixture(fx, "20261103-000000-c", "corrupt-middle.jsonl"));
    last_log[0] = '\0';
    assert_int_equal(drill_find_unfinished(&found, fx->home, &err), 0);
    assert_string_equal(found, "20261102-000000-b-9");
    assert_non_null(strstr(last_log, "20261103-000000-c/journal.jsonl:3: corrupt record"));
    free(found);
}

static void
test_journal_sha256(void **state)
{
    struct fx *fx = *state;
    struct drill *d = begin(fx);
    char *jpath = journal_of(d), *text;
    char a[65], b[65], want[65];
    struct pd_err err = {0};
    size_t len;

    assert_int_equal(drill_journal_sha256(d, a, &err), 0);
    text = read_file(jpath, &len);
    pd_sha256_hex(want, text, len);
    free(text);
    assert_string_equal(a, want);
    rec(d, EV(.type = DRILL_EV_NOTE, .text = "drill-wide note"));
    assert_int_equal(drill_journal_sha256(d, b, &err), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(d->notes[0].stage, -1);
    drill_free(d);
    free(jpath);
}

static double
at_of(const char *rfc3339)
{
    double t = 0;

    assert_int_equal(pd_time_parse_rfc3339(&t, rfc3339, 1), 0);
    return t;
}

/* drill_journal_last_at: the last complete record's time, read while the drill runs. */
static void
test_journal_last_at(void **state)
{
    static const char *const tails[] = {
        "{\"v\":1,\"at\":\"2099-01-01T00:00:00.000Z\",\"ev\":\"note\",\"stage\":0}",
        "{\"v\":1,\"at\":\"2099-01-01T00:00:00.000Z\",\"ev\":\"no",
        "{\"v\":1,\"at\"\n",
    };

    static const struct {
        const char *text; /* the whole journal */
        int kind;
        const char *msg; /* after "journal PATH" */
    } bad[] = {
        {"", PD_EIO, ": no records"},
        {"{\"v\":1,\"at\":\"2099-01-01T00:00:00.000Z\",\"ev\":\"begin\"", PD_EIO, ": no records"},
        {"{\"v\":1,\"at\":\"x\",\"ev\":\"begin\"}\n{\"v\":1,\"at\":\"soon\",\"ev\":\"resume\"}\n",
         PD_EIO, ":2: 'at' is not an RFC 3339 time"},
        {"{\"v\":1,\"at\":\"x\",\"ev\":\"begin\"}\n{\"v\":1,\"ev\":\"resume\"}\n", PD_EIO,
         ":2: record without 'at'"},
        {"{\"v\":2,\"at\":\"2026-11-26T04:00:00.000Z\",\"ev\":\"resume\"}\n", PD_EIO,
         ":1: unsupported record version 2"},
        {"{\"v\":1}\nnot json\n{\"v\":1}\n", PD_EIO, ":2: corrupt record (not a JSON object)"},
    };
    struct fx *fx = *state;
    struct drill *live = begin(fx);
    char *jpath = journal_of(live), *dir = pd_xstrdup(live->dir), *want;
    struct pd_err err = {0};
    double t = -1, t0;
    const struct timespec ms20 = {0, 20L * 1000 * 1000};

    // the drill still runs (locked): its begin record, then its latest
    assert_int_equal(drill_journal_last_at(&t, dir, &err), 0);
    t0 = at_of(live->started_at);
    assert_true(t == t0);
    (void)nanosleep(&ms20, NULL);
    rec(live, EV(.type = DRILL_EV_STAGE_START, .stage = 0));
    rec(live, EV(.type = DRILL_EV_NOTE, .stage = 0, .text = "last"));
    assert_int_equal(drill_journal_last_at(&t, dir, &err), 0);
    assert_true(t == at_of(live->notes[0].at));
    assert_true(t > t0);
    drill_free(live);

    // a torn last line (a crash mid-append) is skipped: the record before it counts
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        char *text = read_file(jpath, NULL);

        write_file(jpath, tails[i], "a");
        t = -1;
        assert_int_equal(drill_journal_last_at(&t, dir, &err), 0);
        assert_true(t > t0);
        assert_true(t < at_of("2099-01-01T00:00:00.000Z"));
        write_file(jpath, text, "w");
        free(text);
    }

    // no journal, then journals without a usable last record
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(jpath, bad[i].text, "w");
        t = -1;
        assert_int_equal(drill_journal_last_at(&t, dir, &err), bad[i].kind);
        assert_true(t == 0);
        want = pd_xasprintf("journal %s%s", jpath, bad[i].msg);
        assert_string_equal(err.msg, want);
        free(want);
    }
    assert_int_equal(unlink(jpath), 0);
    t = -1;
    assert_int_equal(drill_journal_last_at(&t, dir, &err), PD_ENOENT);
    assert_true(t == 0);
    want = pd_xasprintf("journal %s: open: No such file or directory", jpath);
    assert_string_equal(err.msg, want);
    free(want);
    free(jpath);
    free(dir);
}

static void
test_names_and_time(void **state)
{
    static const struct {
        enum step_status st;
        const char *name;
    } cases[] = {
        {STEP_PENDING, "pending"}, {STEP_RUNNING, "running"}, {STEP_PASSED, "passed"},
        {STEP_FAILED, "failed"},   {STEP_SKIPPED, "skipped"}, {(enum step_status)42, "unknown"},
    };

    char *now = drill_now_rfc3339();
    double t, wall = pd_time_wall();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_string_equal(step_status_name(cases[i].st), cases[i].name);
    assert_int_equal(strlen(now), 24);
    assert_int_equal(now[23], 'Z');
    assert_int_equal(now[19], '.');
    assert_int_equal(pd_time_parse_rfc3339(&t, now, 1), 0);
    assert_true(t <= wall + 0.001 && t > wall - 5);
    free(now);
}

/* journal reader on its own: line numbers and the good size. */
static void
test_journal_reader(void **state)
{
    struct fx *fx = *state;
    char *path = pd_xasprintf("%s/j.jsonl", fx->home);
    struct journal_reader *r = NULL;
    struct journal *j = NULL;
    struct pd_err err = {0};
    const char *line;
    size_t len, lineno;

    assert_int_equal(journal_open(&j, path, -1, &err), 0);
    assert_int_equal(journal_append(j, "{\"a\":1}", 7, &err), 0);
    assert_int_equal(journal_append(j, "{\"b\":2}", 7, &err), 0);
    assert_int_equal(journal_append(j, "{\"c\":\n}", 7, &err), PD_EBUG);
    journal_free(j);
    assert_int_equal(mode_of(path), 0600);
    write_file(path, "{\"c\":", "a");

    assert_int_equal(journal_reader_open(&r, path, &err), 0);
    assert_int_equal(journal_reader_next(r, &line, &len, &lineno, &err), 1);
    assert_string_equal(line, "{\"a\":1}");
    assert_int_equal(lineno, 1);
    assert_int_equal(journal_reader_next(r, &line, &len, &lineno, &err), 1);
    assert_string_equal(line, "{\"b\":2}");
    assert_int_equal(lineno, 2);
    assert_int_equal(journal_reader_next(r, &line, &len, &lineno, &err), 0);
    assert_true(journal_reader_truncated(r));
    assert_int_equal(journal_reader_good_size(r), 16);
    journal_reader_free(r);
    free(path);

    assert_int_equal(journal_reader_open(&r, "/nonexistent/j.jsonl", &err), PD_ENOENT);
    assert_string_equal(err.msg, "journal /nonexistent/j.jsonl: open: No such file or directory");
}

/* A drill named by its full id, a prefix of it or of its HHMMSS-RUNBOOK part, like git's hashes. */
static void
test_resolve_id(void **state)
{
    struct fx *fx = *state;
    static const char *const dirs[] = {
        "20261201-101500-pitr-restore",
        "20261201-103000-pitr-restore",
        "20261201-103000-pitr-restore-2",
        "20261202-101500-backup",
    };

    static const struct {
        const char *arg, *want, *msg;
        int rc;
    } cases[] = {
        {"20261201-101500-pitr-restore", "20261201-101500-pitr-restore", NULL, 0},
        {"20261202", "20261202-101500-backup", NULL, 0},
        {"103000-pitr-restore", "20261201-103000-pitr-restore", NULL, 0},
        {"103000-pitr-restore-", "20261201-103000-pitr-restore-2", NULL, 0},
        {"20261201-103000-pitr-restore", "20261201-103000-pitr-restore", NULL, 0},
        {"103000-pitr", NULL,
         "drill id '103000-pitr' is ambiguous: it names 20261201-103000-pitr-restore-2, "
         "20261201-103000-pitr-restore",
         PD_EINPUT},
        {"101500-backup", "20261202-101500-backup", NULL, 0},
        {"101500", NULL,
         "drill id '101500' is ambiguous: it names 20261202-101500-backup, "
         "20261201-101500-pitr-restore",
         PD_EINPUT},
        {"2026120", NULL,
         "drill id '2026120' is ambiguous: it names 20261202-101500-backup, "
         "20261201-103000-pitr-restore-2, 20261201-103000-pitr-restore, "
         "20261201-101500-pitr-restore",
         PD_EINPUT},
        {"pitr-restore", NULL, NULL, PD_ENOENT},
        {"a/b", NULL, "drill: bad drill id 'a/b'", PD_EINPUT},
    };

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        char *p = pd_xasprintf("%s/drills/%s", fx->home, dirs[i]);
        struct pd_err err = {0};

        assert_int_equal(pd_mkdir_p(p, 0700, &err), 0);
        free(p);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pd_err err = {0};
        char *id = NULL;
        int rc = drill_resolve_id(&id, fx->home, cases[i].arg, &err);

        if (rc != cases[i].rc)
            fail_msg("%s: rc %d, want %d (%s)", cases[i].arg, rc, cases[i].rc, err.msg);
        if (cases[i].want != NULL)
            assert_string_equal(id, cases[i].want);
        else
            assert_null(id);
        if (cases[i].msg != NULL)
            assert_string_equal(err.msg, cases[i].msg);
        free(id);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_begin_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_same_second_gets_suffix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_equals_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stage_status_derivation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail_ignored_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail_read_only_leaves_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixture_good_replays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_journal_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_held_by_other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill9_then_find_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_var_and_check_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets_never_journaled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enospc_dev_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_events_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_find_unfinished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_sha256, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_last_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_and_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_id, setup, teardown),
    };

    pd_log_set_sink(log_sink, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
