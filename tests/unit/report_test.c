/* Tests for core/report/report.c. */
#include "report/report.h"

#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "drill/drill.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/runbook.h"

struct fx {
    char home[64];
    struct runbook *rb;
};

static void
quiet(enum pd_log_level level, const char *msg, void *payload)
{
    (void)level;
    (void)msg;
    (void)payload;
}

static void
set_str(char **dst, const char *s)
{
    *dst = pd_xstrdup(s);
}

/* Stage 0: sh + check; stage 1: check + note; stage 2: no steps. */
static struct runbook *
rb_new(void)
{
    struct runbook *rb = pd_xcalloc(1, sizeof(*rb));

    static const struct {
        const char *id, *title;
        int expected_s;
        size_t n;
        enum step_action actions[2];
    } stages[] = {
        {"prepare", "Prepare the branch", 60, 2, {STEP_SH, STEP_CHECK}},
        {"verify", "Verify | counts", 120, 2, {STEP_CHECK, STEP_NOTE}},
        {"wrap-up", "Wrap up", 0, 0, {STEP_SH, STEP_SH}},
    };

    set_str(&rb->path, "runbooks/report-test.md");
    set_str(&rb->id, "report-test");
    set_str(&rb->title, "Report test");
    set_str(&rb->environment, "sandbox");
    set_str(&rb->use_case, "prove the report");
    rb->rto_s = 3600;
    rb->rpo_s = 300;
    memset(rb->sha256, 'c', 64);
    memset(rb->stages_sha256, 'd', 64);
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
    free(rb->environment);
    free(rb->use_case);
    free(rb);
}

static int
setup(void **state)
{
    struct fx *fx = pd_xcalloc(1, sizeof(*fx));

    snprintf(fx->home, sizeof(fx->home), "/tmp/report-test.XXXXXX");
    if (mkdtemp(fx->home) == NULL)
        return -1;
    fx->rb = rb_new();
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
    return rc == 0 ? 0 : -1;
}

static char *
read_file(const char *path)
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
    return buf;
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void
rec(struct drill *d, struct drill_event ev)
{
    struct pd_err err = {0};

    if (drill_record(d, &ev, &err) != 0)
        fail_msg("drill_record: %s", err.msg);
}

// EV() defaults stage and step to -1 ("none"); a case may override them.
#pragma GCC diagnostic ignored "-Woverride-init"
#define EV(...) ((struct drill_event){.stage = -1, .step = -1, __VA_ARGS__})

static const char email_sql[] = "SELECT COUNT(*) FROM users WHERE email IS NULL";
static const char orphan_sql[] = "SELECT COUNT(*)\nFROM visits v\nWHERE v.note = '```'";

/* A finished drill with a passed and a failed check, a skip, a note and an issue. */
static struct drill *
run_drill(struct fx *fx)
{
    struct pd_err err = {0};
    struct drill *d = NULL;

    if (drill_begin(&d, fx->home, fx->rb, "alice", &err) != 0)
        fail_msg("drill_begin: %s", err.msg);
    rec(d, EV(.type = DRILL_EV_ISSUE, .stage = 0, .text = "early issue"));
    // Timestamps have ms resolution: make "early" strictly earlier than the failure.
    nanosleep(&(struct timespec){0, 5000000L}, NULL);
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 0));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 0, .attempt = 1));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 0, .status = STEP_PASSED,
              .duration_s = 1.23456, .human_s = 0.5, .text = "exit 0"));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 0, .step = 1, .attempt = 1));
    rec(d, EV(.type = DRILL_EV_CHECK, .stage = 0, .step = 1, .name = "users.email-null",
              .sql = email_sql, .expected = "= 0", .observed = "0", .passed = true));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 0, .step = 1, .status = STEP_PASSED,
              .duration_s = 0.25, .text = "observed 0"));
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 0, .status = STEP_PASSED));
    rec(d, EV(.type = DRILL_EV_STAGE_START, .stage = 1));
    rec(d, EV(.type = DRILL_EV_STEP_START, .stage = 1, .step = 0, .attempt = 1));
    rec(d, EV(.type = DRILL_EV_CHECK, .stage = 1, .step = 0, .name = "visits|orphans",
              .sql = orphan_sql, .expected = "= 0", .observed = "3", .passed = false));
    rec(d, EV(.type = DRILL_EV_STEP_END, .stage = 1, .step = 0, .status = STEP_FAILED,
              .duration_s = 2, .text = "observed 3, expected = 0"));
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 1, .step = 1, .text = "operator away"));
    rec(d, EV(.type = DRILL_EV_HUMAN, .stage = 1, .human_s = 10));
    rec(d, EV(.type = DRILL_EV_NOTE, .stage = 1, .text = "line one\nline two"));
    rec(d, EV(.type = DRILL_EV_ISSUE, .stage = -1, .text = "bucket listing was slow"));
    rec(d, EV(.type = DRILL_EV_STAGE_END, .stage = 1, .status = STEP_FAILED));
    rec(d, EV(.type = DRILL_EV_END, .text = "failed"));
    return d;
}

static const cJSON *
get(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (v == NULL)
        fail_msg("report.json: missing key '%s'", key);
    return v;
}

static const char *
gets(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);

    if (!cJSON_IsString(v))
        fail_msg("report.json: '%s' is not a string", key);
    return v->valuestring;
}

static double
getn(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);

    if (!cJSON_IsNumber(v))
        fail_msg("report.json: '%s' is not a number", key);
    return v->valuedouble;
}

static mode_t
mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static double
secs_between(const char *a, const char *b)
{
    double x, y;

    assert_int_equal(pd_time_parse_rfc3339(&x, a, 1), 0);
    assert_int_equal(pd_time_parse_rfc3339(&y, b, 1), 0);
    return round((y - x) * 1000) / 1000;
}

/* report.json's stages, with their steps' figures. */
static void
assert_json_stages(const cJSON *root, const struct drill *d)
{
    const cJSON *a, *st, *steps;

    a = get(root, "stages");
    assert_int_equal(cJSON_GetArraySize(a), 3);
    st = cJSON_GetArrayItem(a, 0);
    assert_string_equal(gets(st, "id"), "prepare");
    assert_string_equal(gets(st, "title"), "Prepare the branch");
    assert_string_equal(gets(st, "status"), "passed");
    assert_string_equal(gets(st, "started_at"), d->stages[0].started_at);
    assert_string_equal(gets(st, "finished_at"), d->stages[0].finished_at);
    assert_true(getn(st, "duration_s") == 1.485); // 1.23456 + 0.25, 3 decimals
    assert_true(getn(st, "expected_s") == 60);
    assert_true(getn(st, "machine_s") == 0.985);
    assert_true(getn(st, "human_s") == 0.5);
    steps = get(st, "steps");
    assert_int_equal(cJSON_GetArraySize(steps), 2);
    assert_string_equal(gets(cJSON_GetArrayItem(steps, 0), "id"), "prepare/1");
    assert_string_equal(gets(cJSON_GetArrayItem(steps, 0), "action"), "sh");
    assert_string_equal(gets(cJSON_GetArrayItem(steps, 0), "status"), "passed");
    assert_int_equal(getn(cJSON_GetArrayItem(steps, 0), "attempts"), 1);
    assert_true(getn(cJSON_GetArrayItem(steps, 0), "duration_s") == 1.235);
    assert_string_equal(gets(cJSON_GetArrayItem(steps, 0), "summary"), "exit 0");
    assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(steps, 0), "skip_reason")));
    st = cJSON_GetArrayItem(a, 1);
    assert_string_equal(gets(st, "status"), "failed");
    assert_true(getn(st, "duration_s") == 12);
    assert_true(getn(st, "human_s") == 10);
    assert_true(getn(st, "machine_s") == 2);
    steps = get(st, "steps");
    assert_string_equal(gets(cJSON_GetArrayItem(steps, 1), "status"), "skipped");
    assert_string_equal(gets(cJSON_GetArrayItem(steps, 1), "skip_reason"), "operator away");
    assert_int_equal(getn(cJSON_GetArrayItem(steps, 1), "attempts"), 0);
    st = cJSON_GetArrayItem(a, 2);
    assert_string_equal(gets(st, "status"), "pending");
    assert_true(cJSON_IsNull(get(st, "expected_s")));
    assert_true(cJSON_IsNull(get(st, "started_at")));
}

/* report.json's checks. */
static void
assert_json_checks(const cJSON *root)
{
    const cJSON *a, *c;

    a = get(root, "checks");
    assert_int_equal(cJSON_GetArraySize(a), 2);
    c = cJSON_GetArrayItem(a, 0);
    assert_string_equal(gets(c, "name"), "users.email-null");
    assert_string_equal(gets(c, "sql"), email_sql);
    assert_string_equal(gets(c, "result"), "0");
    assert_string_equal(gets(c, "expected"), "= 0");
    assert_string_equal(gets(c, "observed"), "0");
    assert_true(cJSON_IsTrue(get(c, "passed")));
    assert_string_equal(gets(c, "stage"), "prepare");
    assert_string_equal(gets(c, "step"), "prepare/2");
    c = cJSON_GetArrayItem(a, 1);
    assert_string_equal(gets(c, "name"), "visits|orphans");
    assert_string_equal(gets(c, "result"), "3");
    assert_string_equal(gets(c, "observed"), "3");
    assert_true(cJSON_IsFalse(get(c, "passed")));
}

/* report.json's RTO and RPO, notes and issues. */
static void
assert_json_outcome(const cJSON *root, const struct drill *d)
{
    const cJSON *a;

    // RTO: from the start to the end of the last finished stage.
    assert_true(getn(root, "rto_s") == secs_between(d->started_at, d->stages[1].finished_at));
    assert_true(getn(root, "rto_target_s") == 3600);
    assert_string_equal(gets(root, "rto_verdict"), "met");
    assert_true(cJSON_IsNull(get(root, "rpo_s")));
    assert_true(getn(root, "rpo_target_s") == 300);
    assert_string_equal(gets(root, "rpo_verdict"), "unknown");

    a = get(root, "notes");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    assert_string_equal(gets(cJSON_GetArrayItem(a, 0), "stage"), "verify");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 0), "text"), "line one\nline two");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 0), "at"), d->notes[0].at);

    // Issues in time order: the early one, the failed step, the skip, then the last one.
    a = get(root, "issues");
    assert_int_equal(cJSON_GetArraySize(a), 4);
    assert_string_equal(gets(cJSON_GetArrayItem(a, 0), "text"), "early issue");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 0), "stage"), "prepare");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 1), "text"),
                        "step verify/1 failed: observed 3, expected = 0");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 1), "kind"), "failed-step");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 1), "stage"), "verify");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 2), "text"),
                        "step verify/2 skipped: operator away");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 2), "kind"), "skipped-step");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 3), "text"), "bucket listing was slow");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 3), "kind"), "recorded");
    assert_true(cJSON_IsNull(get(cJSON_GetArrayItem(a, 3), "stage")));
}

static void
test_report_json(void **state)
{
    struct fx *fx = *state;
    struct drill *d = run_drill(fx);
    struct pd_err err = {0};
    char *jpath = pd_xasprintf("%s/report.json", d->dir);
    char *mpath = pd_xasprintf("%s/report.md", d->dir);
    char sha[65], *text;
    const cJSON *r;
    cJSON *root;
    struct dirent *de;
    DIR *dh;

    umask(0);
    assert_int_equal(report_write(d, fx->rb, NULL, &err), 0);
    umask(022);
    assert_int_equal(mode_of(jpath), 0600);
    assert_int_equal(mode_of(mpath), 0600);
    // No temporary file is left behind.
    dh = opendir(d->dir);
    assert_non_null(dh);
    while ((de = readdir(dh)) != NULL)
        assert_false(strncmp(de->d_name, ".report", 7) == 0);
    closedir(dh);

    text = read_file(jpath);
    assert_int_equal(text[strlen(text) - 1], '\n');
    root = cJSON_Parse(text);
    assert_non_null(root);
    assert_string_equal(gets(root, "drill_id"), d->id);
    r = get(root, "runbook");
    assert_string_equal(gets(r, "id"), "report-test");
    assert_string_equal(gets(r, "title"), "Report test");
    assert_string_equal(gets(r, "path"), "runbooks/report-test.md");
    assert_int_equal(strspn(gets(r, "sha256"), "c"), 64);
    assert_int_equal(strspn(gets(r, "stages_sha256"), "d"), 64);
    assert_string_equal(gets(r, "environment"), "sandbox");
    assert_int_equal(drill_journal_sha256(d, sha, &err), 0);
    assert_string_equal(gets(root, "journal_sha256"), sha);
    assert_string_equal(gets(root, "operator"), "alice");
    assert_non_null(gets(root, "host"));
    assert_string_equal(gets(root, "started_at"), d->started_at);
    assert_string_equal(gets(root, "finished_at"), d->finished_at);
    assert_string_equal(gets(root, "outcome"), "failed");
    assert_int_equal(getn(root, "resumes"), 0);

    assert_json_stages(root, d);
    assert_json_checks(root);
    assert_json_outcome(root, d);

    cJSON_Delete(root);
    free(text);
    free(jpath);
    free(mpath);
    drill_free(d);
}

static void
test_report_md(void **state)
{
    struct fx *fx = *state;
    struct drill *d = run_drill(fx);
    struct pd_err err = {0};
    char *mpath = pd_xasprintf("%s/report.md", d->dir), *text, *want, sha[65];
    static const char *const lines[] = {
        "# Drill report: Report test\n",
        "| Operator | alice |\n",
        "| Outcome | **failed** |\n",
        "| RTO target (s) | 3600.000 (met) |\n",
        "| RPO achieved (s) | — |\n",
        "| Environment | sandbox |\n",
        "| # | Stage | Status | Actual (s) | Expected (s) | Machine (s) | Human (s) |\n",
        "| 1 | Prepare the branch | passed | 1.485 | 60.000 | 0.985 | 0.500 |\n",
        "| 2 | Verify \\| counts | failed | 12.000 | 120.000 | 2.000 | 10.000 |\n",
        "| 3 | Wrap up | pending | 0.000 | — | 0.000 | 0.000 |\n",
        "| Verify \\| counts | `verify/2` | note | skipped | 0 | 0.000 | operator away |\n",
        "| `users.email-null` | Prepare the branch | passed | `= 0` | `0` |\n",
        "| `visits\\|orphans` | Verify \\| counts | **failed** | `= 0` | `3` |\n",
        "1 of 2 checks passed.\n",
        "```sql\nSELECT COUNT(*) FROM users WHERE email IS NULL\n```\n",
        "````sql\nSELECT COUNT(*)\nFROM visits v\nWHERE v.note = '```'\n````\n",
        "): line one\n  line two\n",
        "- **Drill** (",
        "): bucket listing was slow\n",
        "): step verify/1 failed: observed 3, expected = 0\n",
        "**failed**: 1 of 2 checks failed; 1 of 4 steps failed, 1 skipped; resumed 0 times.\n",
    };

    assert_int_equal(report_write(d, NULL, NULL, &err), 0);
    text = read_file(mpath);
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        // The environment comes from the runbook, which this call did not pass.
        if (strstr(lines[i], "Environment") != NULL) {
            assert_null(strstr(text, lines[i]));
            continue;
        }
        if (strstr(text, lines[i]) == NULL)
            fail_msg("report.md lacks %s\n--- report.md ---\n%s", lines[i], text);
    }
    assert_int_equal(drill_journal_sha256(d, sha, &err), 0);
    want = pd_xasprintf("| Journal | `%s` |\n", sha);
    assert_non_null(strstr(text, want));
    free(want);
    want = pd_xasprintf("| Runbook | `%.64s` |\n", d->runbook_sha256);
    assert_non_null(strstr(text, want));
    free(want);
    free(text);

    // With the runbook the environment shows.
    assert_int_equal(report_md_string(&text, d, fx->rb, &err), 0);
    assert_non_null(strstr(text, "| Environment | sandbox |\n"));
    free(text);

    // Written again on demand: the new report replaces the old one whole.
    rec(d, EV(.type = DRILL_EV_NOTE, .stage = 0, .text = "written after the first report"));
    assert_int_equal(report_write(d, NULL, NULL, &err), 0);
    text = read_file(mpath);
    assert_non_null(strstr(text, "): written after the first report\n"));
    assert_int_equal(drill_journal_sha256(d, sha, &err), 0);
    want = pd_xasprintf("| Journal | `%s` |\n", sha);
    assert_non_null(strstr(text, want));
    free(want);
    free(text);
    assert_int_equal(mode_of(mpath), 0600);
    free(mpath);
    drill_free(d);
}

/*
 * Steps skipped as the runbook is written (a when= that does not hold, a clean-up whose
 * variable was never set, a sub-drill never started) are not issues: report.json lists them
 * in not_taken[], report.md under "Steps not taken"; an operator's skip stays an issue.
 */
static void
test_report_not_taken(void **state)
{
    struct fx *fx = *state;
    struct runbook_stage *wrap = &fx->rb->stages[2];
    struct pd_err err = {0};
    struct drill *d = NULL;
    char *json = NULL, *md = NULL;
    const cJSON *a, *o;
    cJSON *root;

    wrap->n_steps = 2;
    wrap->steps[0].id = pd_xstrdup("wrap-up/1");
    wrap->steps[1].id = pd_xstrdup("wrap-up/2");
    assert_int_equal(drill_begin(&d, fx->home, fx->rb, "alice", &err), 0);
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 0, .step = 0,
              .text = "condition ${opt} = A does not hold (it is 'B')"));
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 0, .step = 1, .text = "operator away"));
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 2, .step = 0,
              .text = "clean-up: ${branch_id} was never set (the step that saves it did not "
                      "run): nothing of this drill's to act on"));
    rec(d, EV(.type = DRILL_EV_STEP_SKIP, .stage = 2, .step = 1,
              .text = "step restore/1 did not run runbook child"));
    rec(d, EV(.type = DRILL_EV_END, .text = "passed"));

    assert_int_equal(report_json_string(&json, d, fx->rb, &err), 0);
    root = cJSON_Parse(json);
    assert_non_null(root);
    a = get(root, "issues");
    assert_int_equal(cJSON_GetArraySize(a), 1);
    assert_string_equal(gets(cJSON_GetArrayItem(a, 0), "text"),
                        "step prepare/2 skipped: operator away");
    a = get(root, "not_taken");
    assert_int_equal(cJSON_GetArraySize(a), 3);
    o = cJSON_GetArrayItem(a, 0);
    assert_string_equal(gets(o, "stage"), "prepare");
    assert_string_equal(gets(o, "step"), "prepare/1");
    assert_string_equal(gets(o, "kind"), "condition");
    assert_string_equal(gets(o, "reason"), "condition ${opt} = A does not hold (it is 'B')");
    assert_non_null(gets(o, "at"));
    assert_string_equal(gets(cJSON_GetArrayItem(a, 1), "kind"), "clean-up");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 1), "step"), "wrap-up/1");
    assert_string_equal(gets(cJSON_GetArrayItem(a, 2), "kind"), "sub-drill");
    cJSON_Delete(root);

    assert_int_equal(report_md_string(&md, d, fx->rb, &err), 0);
    assert_null(strstr(md, "skipped: condition"));
    assert_non_null(strstr(md, "): step prepare/2 skipped: operator away\n"));
    assert_non_null(strstr(md, "## Steps not taken\n"));
    assert_non_null(strstr(md, "- **Wrap up** `wrap-up/2`: step restore/1 did not run runbook "
                               "child\n"));
    free(md);
    free(json);
    drill_free(d);
}

/* A fixed journal gives exact numbers. */
static void
test_report_from_fixture(void **state)
{
    struct fx *fx = *state;
    const char *top = getenv("PGDRILL_TOP");
    char *src = pd_xasprintf("%s/tests/fixtures/journals/good.jsonl", top ? top : ".");
    char *drills = pd_xasprintf("%s/drills", fx->home);
    char *dir = pd_xasprintf("%s/20261126-030000-post-restore-validation", drills);
    char *dst = pd_xasprintf("%s/journal.jsonl", dir), *text, *json = NULL, *md = NULL;
    struct pd_err err = {0};
    struct drill *d = NULL;
    const cJSON *st, *iss;
    cJSON *root;

    if (access(src, R_OK) != 0)
        fail_msg("fixture %s missing (set PGDRILL_TOP to the repository root)", src);
    assert_int_equal(mkdir(drills, 0700), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    text = read_file(src);
    write_file(dst, text);
    free(text);
    assert_int_equal(
        drill_open(&d, fx->home, "20261126-030000-post-restore-validation", false, &err), 0);
    assert_int_equal(report_json_string(&json, d, NULL, &err), 0);
    root = cJSON_Parse(json);
    assert_non_null(root);
    assert_string_equal(gets(root, "outcome"), "failed");
    assert_true(getn(root, "duration_s") == 130.5);
    assert_true(getn(root, "rto_s") == 130.1);
    assert_string_equal(gets(root, "rto_verdict"), "met");
    assert_true(cJSON_IsNull(get(root, "rpo_target_s")));
    assert_string_equal(gets(root, "rpo_verdict"), "no-target");
    st = cJSON_GetArrayItem(get(root, "stages"), 1);
    assert_string_equal(gets(st, "title"), "Verify table counts");
    assert_true(getn(st, "duration_s") == 2.5);
    assert_true(getn(st, "expected_s") == 120);
    iss = get(root, "issues");
    assert_int_equal(cJSON_GetArraySize(iss), 1);
    assert_string_equal(gets(cJSON_GetArrayItem(iss, 0), "text"),
                        "step orphans failed: observed 3, expected = 0");
    assert_string_equal(gets(cJSON_GetArrayItem(iss, 0), "at"), "2026-11-26T03:02:02.500Z");
    assert_false(cJSON_IsTrue(get(root, "truncated_tail")));
    cJSON_Delete(root);

    assert_int_equal(report_md_string(&md, d, NULL, &err), 0);
    assert_non_null(strstr(md, "| 1 | Connect | passed | 0.490 | 30.000 | 0.490 | 0.000 |\n"));
    assert_non_null(strstr(md, "| RTO achieved (s) | 130.100 |\n"));
    assert_non_null(strstr(md, "| Duration (s) | 130.500 |\n"));
    assert_non_null(
        strstr(md, "- **Verify table counts** (2026-11-26T03:02:10.000Z): orphans come from "
                   "the test import\n"));

    // Written to another folder on request.
    assert_int_equal(report_write(d, NULL, fx->home, &err), 0);
    text = pd_xasprintf("%s/report.json", fx->home);
    assert_int_equal(mode_of(text), 0600);
    free(text);
    free(json);
    free(md);
    drill_free(d);
    free(src);
    free(drills);
    free(dir);
    free(dst);
}

static void
test_report_measured_and_unfinished(void **state)
{
    struct fx *fx = *state;
    struct pd_err err = {0};
    struct drill *d = NULL;
    char *json = NULL, *md = NULL;
    cJSON *root;

    assert_int_equal(drill_begin(&d, fx->home, fx->rb, NULL, &err), 0);
    // Nothing finished yet: RTO unknown, the drill is running.
    assert_int_equal(report_json_string(&json, d, fx->rb, &err), 0);
    root = cJSON_Parse(json);
    assert_string_equal(gets(root, "outcome"), "running");
    assert_true(cJSON_IsNull(get(root, "finished_at")));
    assert_true(cJSON_IsNull(get(root, "rto_s")));
    assert_true(drill_rto_achieved(d) < 0);
    assert_true(cJSON_IsNull(get(root, "operator")));
    assert_string_equal(gets(root, "rto_verdict"), "unknown");
    cJSON_Delete(root);
    free(json);

    rec(d, EV(.type = DRILL_EV_MEASURE, .name = "rto_s", .value_s = 4000.12345));
    rec(d, EV(.type = DRILL_EV_MEASURE, .name = "rpo_s", .value_s = 299.9996));
    rec(d, EV(.type = DRILL_EV_INTERRUPT, .text = "signal"));
    assert_int_equal(report_json_string(&json, d, fx->rb, &err), 0);
    root = cJSON_Parse(json);
    assert_string_equal(gets(root, "outcome"), "interrupted");
    assert_true(getn(root, "rto_s") == 4000.123);
    assert_true(drill_rto_achieved(d) == 4000.12345);
    assert_string_equal(gets(root, "rto_verdict"), "missed");
    assert_true(getn(root, "rpo_s") == 300);
    assert_string_equal(gets(root, "rpo_verdict"), "met");
    cJSON_Delete(root);
    free(json);
    assert_int_equal(report_md_string(&md, d, fx->rb, &err), 0);
    assert_non_null(strstr(md, "| RTO achieved (s) | 4000.123 |\n| RTO target (s) | 3600.000 "
                               "(missed) |\n"));
    assert_non_null(strstr(md, "| Operator | — |\n"));
    assert_non_null(strstr(md, "| Outcome | **interrupted** |\n"));
    assert_non_null(strstr(md, "No checks ran.\n"));
    free(md);
    drill_free(d);
}

/* An exercise: an input, a step whose output is the report's "Ticket", one whose is "training". */
static const char exercise_md[] =
    "# Exercise\n\n```pgdrill\nid: training-unit\nuse-case: a unit test\n"
    "input: kind choice(delete,corrupt) default=delete \"The kind\"\n```\n\n"
    "## Incident\n\n```sh report=Ticket\necho ticket\n```\n\n"
    "```input name=table default=visits\nThe table\n```\n\n"
    "## Grade\n\n```sh report-json=training\necho grade\n```\n\n"
    "```sh report-json=outcome\necho clash\n```\n";

static void
record_output(struct drill *d, int stage, int step, const char *text)
{
    struct drill_event ev = {.type = DRILL_EV_OUTPUT, .stage = stage, .step = step, .text = text};
    struct pd_err err = {0};

    assert_int_equal(drill_record(d, &ev, &err), 0);
}

static void
record_start(struct drill *d, int stage, int step)
{
    struct drill_event ev = {.type = DRILL_EV_STEP_START, .stage = stage, .step = step};
    struct pd_err err = {0};

    assert_int_equal(drill_record(d, &ev, &err), 0);
}

static void
record_var(struct drill *d, const char *name, const char *value)
{
    struct drill_event ev = {
        .type = DRILL_EV_VAR, .stage = -1, .step = -1, .name = name, .value = value};
    struct pd_err err = {0};

    assert_int_equal(drill_record(d, &ev, &err), 0);
}

static void
test_report_sections(void **state)
{
    struct fx *fx = *state;
    struct runbook *rb = NULL;
    struct drill *d = NULL, *again = NULL;
    struct pd_err err = {0};
    char *json = NULL, *md = NULL;
    const cJSON *sec, *ch;
    cJSON *root;

    assert_int_equal(
        runbook_parse(&rb, "exercise.md", exercise_md, strlen(exercise_md), NULL, &err), 0);
    assert_int_equal(drill_begin(&d, fx->home, rb, "alice", &err), 0);
    record_var(d, "kind", "delete");
    record_var(d, "not_an_input", "x");
    // a first attempt's output is replaced by the retry's
    record_start(d, 0, 0);
    record_output(d, 0, 0, "attempt one");
    record_start(d, 0, 0);
    record_output(d, 0, 0, "TICKET INC-1");
    record_output(d, 0, 0, "visits of one organisation are gone");
    record_var(d, "table", "visits");
    record_start(d, 1, 0);
    record_output(d, 1, 0, "{\"kind\":\"delete\",\"passed\":false,\"missing\":12}");
    record_start(d, 1, 1);
    record_output(d, 1, 1, "{\"a\":1}");
    // a step with neither attribute keeps no output
    record_output(d, 0, 1, "not kept");
    assert_null(d->stages[0].steps[1].output);

    // the same from the journal alone
    assert_int_equal(drill_open(&again, fx->home, d->id, false, &err), 0);
    assert_int_equal(report_json_string(&json, again, NULL, &err), 0);
    root = cJSON_Parse(json);
    assert_non_null(root);
    sec = get(root, "sections");
    assert_int_equal(cJSON_GetArraySize(sec), 1);
    assert_string_equal(gets(cJSON_GetArrayItem(sec, 0), "title"), "Ticket");
    assert_string_equal(gets(cJSON_GetArrayItem(sec, 0), "stage"), "incident");
    assert_string_equal(gets(cJSON_GetArrayItem(sec, 0), "text"),
                        "TICKET INC-1\nvisits of one organisation are gone\n");
    assert_string_equal(gets(get(root, "training"), "kind"), "delete");
    assert_true(getn(get(root, "training"), "missing") == 12);
    // report.json's own fields are never replaced
    assert_true(cJSON_IsString(get(root, "outcome")));
    ch = get(root, "choices");
    assert_int_equal(cJSON_GetArraySize(ch), 2);
    assert_string_equal(gets(cJSON_GetArrayItem(ch, 0), "name"), "kind");
    assert_string_equal(gets(cJSON_GetArrayItem(ch, 1), "name"), "table");
    assert_string_equal(gets(cJSON_GetArrayItem(ch, 1), "value"), "visits");
    cJSON_Delete(root);

    assert_int_equal(report_md_string(&md, again, NULL, &err), 0);
    assert_non_null(strstr(md, "## Choices\n\nThe runbook's inputs, as given:\n\n- `kind`: "
                               "`delete`\n- `table`: `visits`\n\n"));
    assert_null(strstr(md, "not_an_input"));
    assert_non_null(strstr(md, "## Ticket\n\n```text\nTICKET INC-1\nvisits of one "
                               "organisation are gone\n```\n\n"));
    assert_null(strstr(md, "attempt one"));
    free(json);
    free(md);
    drill_free(again);
    drill_free(d);
    runbook_free(rb);
}

static void
test_report_training_grade(void **state)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"passed\":true,\"missing\":0}", "100 %"},
        {"{\"passed\":false,\"missing\":12,\"wrong\":0,\"collateral\":3}",
         "missing 12, collateral 3"},
        {"{\"passed\":false,\"missing\":0,\"not_back\":\"visits\"}", "not back visits"},
        {"{\"passed\":false,\"wrong\":2,\"other_changed\":1}", "wrong 2, other changed 1"},
        {"{\"passed\":false}", "failed"},
        {"not json", "failed"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *g = report_training_grade(cases[i].json);

        assert_string_equal(g, cases[i].want);
        free(g);
    }
}

static void
test_report_write_errors(void **state)
{
    struct fx *fx = *state;
    struct drill *d = run_drill(fx);
    struct pd_err err = {0};

    assert_int_equal(report_write(d, NULL, "/nonexistent-dir", &err), PD_EIO);
    assert_string_equal(err.msg, "report /nonexistent-dir/report.json: create temporary file: "
                                 "No such file or directory");
    drill_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_md, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_not_taken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_from_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_measured_and_unfinished, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_write_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_sections, setup, teardown),
        cmocka_unit_test(test_report_training_grade),
    };

    pd_log_set_sink(quiet, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
