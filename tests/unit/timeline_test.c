/* Tests for core/timeline: the axis, gaps, ages, recommendations, history, plan and lines. */
#include "timeline/timeline.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drill/drill.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "timeline/history.h"
#include "timeline/lines.h"
#include "timeline/plan.h"
#include "timeline/plan.intern.h"

static double
at(const char *s)
{
    double t = 0;

    assert_int_equal(pd_time_parse_rfc3339(&t, s, 1), 0);
    return t;
}

#define NOW         "2026-11-26T05:00:00Z"
#define DUMP(stamp) "weekly/care-commons-backup-" stamp ".sql.gz"

/* Three dumps a week apart (listed out of order) and a 7-day window. */
static void
fixture(struct timeline *tl, bool window)
{
    timeline_init(tl, at(NOW));
    if (window)
        timeline_set_window(tl, 7 * 86400L, at("2026-01-01T00:00:00Z"));
    assert_int_equal(timeline_add_object(tl, DUMP("20261115-020000"), 2048), 0);
    assert_int_equal(timeline_add_object(tl, DUMP("20261101-020000"), 1024), 0);
    assert_int_equal(timeline_add_object(tl, DUMP("20261122-020000"), 4096), 0);
    assert_int_equal(timeline_add_object(tl, "weekly/notes.txt", 10), -1);
}

static void
test_key_time(void **state)
{
    static const struct {
        const char *key;
        int rc;
        const char *want;
    } cases[] = {
        {"care-commons-backup-20261122-020000.sql.gz", 0, "2026-11-22T02:00:00Z"},
        {"a/b/care-commons-backup-20240229-235959.sql.gz", 0, "2024-02-29T23:59:59Z"},
        {"care-commons-backup-20261322-020000.sql.gz", -1, NULL},
        {"care-commons-backup-20261122-250000.sql.gz", -1, NULL},
        {"care-commons-backup-20261122-020000.sql", -1, NULL},
        {"care-commons-backup-2026112-0200000.sql.gz", -1, NULL},
        {"care-commons-backup-2026112x-020000.sql.gz", -1, NULL},
        {"other-backup-20261122-020000.sql.gz", -1, NULL},
        {"care-commons-backup-20261122-020000.sql.gz/", -1, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double t = 0;
        int rc = timeline_key_time(&t, cases[i].key);

        assert_int_equal(rc, cases[i].rc);
        if (rc == 0)
            assert_true(t == at(cases[i].want));
    }
}

static void
test_window(void **state)
{
    struct timeline tl;

    (void)state;
    timeline_init(&tl, at(NOW));
    assert_false(tl.has_window);
    timeline_set_window(&tl, 86400, 0);
    assert_true(tl.window_start == at("2026-11-25T05:00:00Z"));
    // a project younger than its retention: the window starts at its creation
    timeline_set_window(&tl, 7 * 86400L, at("2026-11-26T01:30:00Z"));
    assert_true(tl.window_start == at("2026-11-26T01:30:00Z"));
    assert_int_equal(tl.retention_s, 7 * 86400);
    timeline_clear(&tl);
}

static void
test_gaps_and_ages(void **state)
{
    struct timeline tl;
    size_t gi = 99;

    (void)state;
    fixture(&tl, true);
    assert_int_equal(tl.n_dumps, 3);
    assert_int_equal(tl.n_ignored, 1);
    assert_string_equal(tl.dumps[0].key, DUMP("20261101-020000"));
    assert_string_equal(tl.dumps[2].key, DUMP("20261122-020000"));
    assert_true(timeline_gap(&tl, 0) == 0);
    assert_true(timeline_gap(&tl, 1) == 14 * 86400.0);
    assert_true(timeline_gap(&tl, 2) == 7 * 86400.0);
    assert_true(timeline_largest_gap(&tl, &gi) == 14 * 86400.0);
    assert_int_equal(gi, 1);
    assert_true(timeline_dump_age(&tl, 2) == 4 * 86400.0 + 3 * 3600.0);
    timeline_clear(&tl);
    assert_int_equal(tl.n_dumps, 0);
    assert_true(timeline_largest_gap(&tl, &gi) == 0);
}

struct rec_case {
    const char *name;
    bool window;
    bool dumps;
    const char *incident;
    double margin;
    int rc;
    enum timeline_source source;
    const char *target;
    double loss;
    const char *key;
    const char *msg;
};

static void
test_recommend(void **state)
{
    static const struct rec_case cases[] = {
        {"inside the window: PITR one minute before", true, true, "2026-11-25T12:00:00Z", -1, 0,
         TIMELINE_PITR, "2026-11-25T11:59:00Z", 60, NULL, NULL},
        {"custom margin", true, true, "2026-11-25T12:00:00Z", 300, 0, TIMELINE_PITR,
         "2026-11-25T11:55:00Z", 300, NULL, NULL},
        {"at the window's start: clamped", true, true, "2026-11-19T05:00:30Z", 60, 0, TIMELINE_PITR,
         "2026-11-19T05:00:00Z", 30, NULL, NULL},
        {"before the window: newest dump before", true, true, "2026-11-18T00:00:00Z", 60, 0,
         TIMELINE_DUMP, "2026-11-15T02:00:00Z", 2 * 86400 + 22 * 3600, DUMP("20261115-020000"),
         NULL},
        {"exactly at a dump", false, true, "2026-11-15T02:00:00Z", 60, 0, TIMELINE_DUMP,
         "2026-11-15T02:00:00Z", 0, DUMP("20261115-020000"), NULL},
        {"no window: dumps only", false, true, "2026-11-26T04:00:00Z", 60, 0, TIMELINE_DUMP,
         "2026-11-22T02:00:00Z", 4 * 86400 + 2 * 3600, DUMP("20261122-020000"), NULL},
        {"no dumps, inside the window", true, false, "2026-11-26T04:59:00Z", 60, 0, TIMELINE_PITR,
         "2026-11-26T04:58:00Z", 60, NULL, NULL},
        {"no dumps, before the window", true, false, "2026-11-01T00:00:00Z", 60, PD_EINPUT, 0, NULL,
         0, NULL,
         "timeline: nothing restorable before the incident at 2026-11-01T00:00:00.000Z: history "
         "window starts 2026-11-19T05:00:00.000Z, oldest dump none"},
        {"before everything", true, true, "2026-10-01T00:00:00Z", 60, PD_EINPUT, 0, NULL, 0, NULL,
         "timeline: nothing restorable before the incident at 2026-10-01T00:00:00.000Z: history "
         "window starts 2026-11-19T05:00:00.000Z, oldest dump 2026-11-01T02:00:00.000Z"},
        {"nothing at all", false, false, "2026-11-25T00:00:00Z", 60, PD_EINPUT, 0, NULL, 0, NULL,
         "timeline: nothing restorable before the incident at 2026-11-25T00:00:00.000Z: history "
         "window starts none, oldest dump none"},
        {"in the future", true, true, "2026-11-26T05:00:01Z", 60, PD_EINPUT, 0, NULL, 0, NULL,
         "timeline: incident time 2026-11-26T05:00:01.000Z is in the future (now "
         "2026-11-26T05:00:00.000Z)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rec_case *c = &cases[i];
        struct timeline tl;
        struct timeline_rec rec;
        struct pd_err err;

        pd_err_clear(&err);
        timeline_init(&tl, at(NOW));
        if (c->dumps) {
            timeline_clear(&tl);
            fixture(&tl, c->window);
        } else if (c->window) {
            timeline_set_window(&tl, 7 * 86400L, 0);
        }
        int rc = timeline_recommend(&rec, &tl, at(c->incident), c->margin, &err);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->name, rc, c->rc, err.msg);
        if (rc != 0) {
            assert_string_equal(err.msg, c->msg);
        } else {
            if (rec.source != c->source)
                fail_msg("%s: source %s", c->name, timeline_source_name(rec.source));
            assert_true(rec.target == at(c->target));
            if (rec.loss_s != c->loss)
                fail_msg("%s: loss %f, want %f", c->name, rec.loss_s, c->loss);
            if (c->key)
                assert_string_equal(tl.dumps[rec.dump].key, c->key);
        }
        timeline_clear(&tl);
    }
}

static void
test_render(void **state)
{
    struct timeline tl;
    struct timeline_rec rec;
    struct pd_err err;
    char *text, *json;

    (void)state;
    pd_err_clear(&err);
    fixture(&tl, true);
    assert_int_equal(timeline_recommend(&rec, &tl, at("2026-11-18T00:00:00Z"), 60, &err), 0);
    // 30 days in 32 columns: 30 cells of a day each
    text = timeline_render(&tl, &rec, 30, 32);
    assert_non_null(strstr(text, "[....|.............|..!.==*====]\n"));
    assert_non_null(strstr(text, "Neon history window: 2026-11-19T05:00:00.000Z to now (7d00h)"));
    assert_non_null(strstr(
        text, "  2026-11-22 02:00  4d03h       4.0 KiB     7d00h       " DUMP("20261122-020000")));
    assert_non_null(strstr(text, "Largest gap: 14d00h (2026-11-01 02:00 to 2026-11-15 02:00)"));
    assert_non_null(strstr(
        text, "Recommended: dump " DUMP("20261115-020000") " (taken 2026-11-15T02:00:00.000Z)\n"));
    assert_non_null(strstr(text, "Expected data loss: 2d22h\n"));
    json = timeline_json(&tl, &rec);
    assert_non_null(strstr(json, "\"source\":\t\"dump\""));
    assert_non_null(strstr(json, "\"expected_loss_s\":\t252000"));
    assert_non_null(strstr(json, "\"largest_gap_s\":\t1209600"));
    free(text);
    free(json);
    timeline_clear(&tl);
}

static void
test_history_math(void **state)
{
    static const struct {
        double v[4];
        size_t n;
        double median;
        double now;
        bool regression;
    } cases[] = {
        {{10}, 1, 10, 20, true},              // exactly 2x
        {{10}, 1, 10, 19.9, false},           // just under
        {{30, 10, 20}, 3, 20, 45, true},      // odd count, unsorted
        {{10, 20, 30, 40}, 4, 25, 49, false}, // even count: mean of the middle two
        {{10, 20, 30, 40}, 4, 25, 50, true},
        {{0.1, 0.2}, 2, 0.15, 0.9, false}, // 6x but under a second more: noise
        {{0.1, 0.2}, 2, 0.15, 1.2, true},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double v[4];
        memcpy(v, cases[i].v, sizeof(v));
        double m = history_median(v, cases[i].n);
        if (m < cases[i].median - 1e-9 || m > cases[i].median + 1e-9)
            fail_msg("case %zu: median %f, want %f", i, m, cases[i].median);
        if (history_is_regression(cases[i].now, m) != cases[i].regression)
            fail_msg("case %zu: regression %d", i, !cases[i].regression);
    }
}

static const char plan_rb[] =
    "# Plan test\n\n"
    "```pgdrill\nid: plan-test\nuse-case: plan\n"
    "input: target_time timestamp required \"When\"\n"
    "input: table text default=visits \"Table\"\n```\n\n"
    "## Look\n\n```sql\nSELECT count(*) FROM users JOIN visits ON true\n```\n\n"
    "```sh save=name\necho recovery-x\n```\n\n"
    "## Change\n\n"
    "```neon op=branch-create timestamp=${target_time} name=${name} save=rec\n```\n\n"
    "```confirm target=${table} destructive=yes\nCopy table ${table} into production.\n```\n\n"
    "```sql readonly=no\nDELETE FROM sessions WHERE true\n```\n";

static void
test_plan(void **state)
{
    struct runbook *rb = NULL;
    struct pd_err err;
    struct plan p;
    const char *vars[] = {"target_time=2026-11-26T04:00:00Z"};

    (void)state;
    pd_err_clear(&err);
    assert_int_equal(runbook_parse(&rb, "plan.md", plan_rb, strlen(plan_rb), NULL, &err), 0);
    plan_build(&p, rb, vars, 1, NULL, at(NOW));
    assert_int_equal(p.n_mutating, 2);
    assert_int_equal(p.first_mutating, 2);
    assert_non_null(strstr(p.text, "  run     sh: echo recovery-x -> ${name}\n"));
    assert_non_null(strstr(p.text, "  CHANGE  create branch ${name} from the default branch at "
                                   "2026-11-26T04:00:00Z -> ${rec}\n"));
    assert_non_null(strstr(p.text, "  CONFIRM destructive, type 'visits' to go on"));
    assert_non_null(strstr(p.text, "Tables read: users, visits\n"));
    assert_non_null(strstr(p.text, "Tables changed or confirmed: visits, sessions\n"));
    assert_non_null(strstr(p.text, "Expected data loss: 1h00m00s (changes after "
                                   "2026-11-26T04:00:00Z, up to now)\n"));
    plan_clear(&p);
    // before the window: the plan warns
    struct timeline tl;
    timeline_init(&tl, at(NOW));
    timeline_set_window(&tl, 1800, 0);
    plan_build(&p, rb, vars, 1, &tl, at(NOW));
    assert_non_null(
        strstr(p.text, "Warning: 2026-11-26T04:00:00Z is before Neon's history window"));
    plan_clear(&p);
    timeline_clear(&tl);
    runbook_free(rb);
}

static const char plan_inputs_rb[] =
    "# Inputs\n\n"
    "```pgdrill\nid: plan-inputs\nuse-case: plan\n"
    "input: target_time timestamp required \"When\"\n"
    "input: incident_time text optional \"Incident\"\n"
    "input: outcome choice(A,B) default=B \"Outcome\"\n```\n\n"
    "## Ask\n\n```input name=table default=visits\nWhich table?\n```\n\n"
    "```input name=range_start type=timestamp\nFrom?\n```\n\n"
    "## Change\n\n"
    "```sh save=branch_name\ndate -u +temp-%Y\n```\n\n"
    "```neon op=branch-create timestamp=${target_time} name=${branch_name} save=t\n```\n\n"
    "```s3 op=put uri=${PGDRILL_PLAN_TEST_URI}/ key=dump-${range_start}.sql.gz\n```\n\n"
    "```sql readonly=no url=${PGDRILL_PLAN_TEST_DB}\nDELETE FROM ${table}\n```\n";

/* Inputs not known yet, and the plan of a drill under way with every value known. */
static void
test_plan_inputs(void **state)
{
    struct runbook *rb = NULL;
    struct drill *d = NULL;
    struct pd_err err;
    struct plan p;
    char home[] = "/tmp/pd-plan-test.XXXXXX", cmd[64];

    (void)state;
    pd_err_clear(&err);
    setenv("PGDRILL_PLAN_TEST_URI", "s3://bucket/weekly", 1);
    setenv("PGDRILL_PLAN_TEST_DB", "postgresql://app:plan-secret-pw@db.example:5432/app", 1);
    assert_int_equal(
        runbook_parse(&rb, "in.md", plan_inputs_rb, strlen(plan_inputs_rb), NULL, &err), 0);
    // before the run (--plan): nothing given
    plan_build(&p, rb, NULL, 0, NULL, at(NOW));
    assert_non_null(strstr(p.text, "  input target_time = ${target_time} (asked before stage 1)\n"
                                   "  input incident_time = ${incident_time} (asked before stage "
                                   "1, optional)\n"
                                   "  input outcome = B (default; asked before stage 1)\n"
                                   "  input table = ${table} (asked at stage 1, default visits)\n"
                                   "  input range_start = ${range_start} (asked at stage 1)\n"));
    assert_non_null(strstr(p.text, "\n1. Ask\n"));
    assert_non_null(strstr(p.text, "  CHANGE  create branch ${branch_name} from the default "
                                   "branch at ${target_time} -> ${t}\n"));
    // the environment gives UPPER_CASE names; a password in a URI never shows
    assert_non_null(
        strstr(p.text, "  CHANGE  s3 put s3://bucket/weekly/dump-${range_start}.sql.gz"));
    assert_non_null(strstr(p.text, "Backup used: s3://bucket/weekly/dump-${range_start}.sql.gz\n"));
    assert_null(strstr(p.text, "plan-secret-pw"));
    assert_non_null(strstr(p.text, "Expected data loss: unknown (no target_time given)\n"));
    assert_non_null(strstr(p.text, "(the first is step 4)"));
    plan_clear(&p);

    // a drill under way, about to run the branch-create (stage 2, step 2)
    snprintf(cmd, sizeof(cmd), "rm -rf %s", mkdtemp(home));
    assert_int_equal(drill_begin(&d, home, rb, "tester", &err), 0);
    {
        static const struct {
            int stage, step;
            enum drill_event_type type;
            enum step_status st;
        } evs[] = {
            {0, -1, DRILL_EV_STAGE_START, STEP_PENDING},
            {0, 0, DRILL_EV_STEP_START, 0},
            {0, 0, DRILL_EV_STEP_END, STEP_PASSED},
            {0, 1, DRILL_EV_STEP_SKIP, 0},
            {0, -1, DRILL_EV_STAGE_END, STEP_PASSED},
            {1, -1, DRILL_EV_STAGE_START, 0},
            {1, 0, DRILL_EV_STEP_START, 0},
            {1, 0, DRILL_EV_STEP_END, STEP_PASSED},
        };

        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
            struct drill_event ev = {.type = evs[i].type,
                                     .stage = evs[i].stage,
                                     .step = evs[i].step,
                                     .status = evs[i].st,
                                     .attempt = 1,
                                     .text = "x"};
            assert_int_equal(drill_record(d, &ev, &err), 0);
        }
    }
    const char *vars[] = {"target_time=2026-11-26T04:30:00Z", "incident_time=", "outcome=A",
                          "table=visits", "branch_name=temp-2026"};
    plan_build_at(&p, rb, vars, 5, d, 1, 1, at(NOW));
    // the change about to happen comes first, then the totals, the inputs, every step
    assert_non_null(strstr(p.text, "Plan for plan-inputs: Inputs\n"
                                   "Drill "));
    assert_non_null(strstr(p.text, ": nothing has changed yet. Next, the first change (step "
                                   "change/2, stage 2):\n"
                                   "  create branch temp-2026 from the default branch at "
                                   "2026-11-26T04:30:00Z -> ${t}\n"
                                   "\nChanges: 3 steps may create or change something (the "
                                   "next is step 4)\n"));
    assert_true(strstr(p.text, "Expected data loss") < strstr(p.text, "\nInputs\n"));
    assert_true(strstr(p.text, "\nInputs\n") < strstr(p.text, "\n1. Ask\n"));
    assert_non_null(strstr(p.text, "  input target_time = 2026-11-26T04:30:00Z\n"
                                   "  input incident_time = (empty)\n"
                                   "  input outcome = A\n"
                                   "  input table = visits\n"
                                   "  input range_start = ${range_start} (asked at stage 1)\n"));
    assert_non_null(strstr(p.text, "  done    ask table\n"));
    assert_non_null(strstr(p.text, "  skipped ask range_start\n"));
    assert_non_null(strstr(p.text, "  done    sh: date -u +temp-%Y -> ${branch_name}\n"));
    assert_non_null(strstr(p.text, "  CHANGE  create branch temp-2026 from the default branch "
                                   "at 2026-11-26T04:30:00Z -> ${t}\n"));
    assert_non_null(strstr(p.text, "  CHANGE  sql: DELETE FROM visits\n"));
    assert_non_null(strstr(p.text, "(the next is step 4)"));
    // an empty incident_time is no incident: the loss counts up to now
    assert_non_null(strstr(p.text, "Expected data loss: 30m00s (changes after "
                                   "2026-11-26T04:30:00Z, up to now)\n"));
    assert_null(strstr(p.text, "plan-secret-pw"));
    plan_clear(&p);
    drill_free(d);
    assert_int_equal(system(cmd), 0);
    runbook_free(rb);
    unsetenv("PGDRILL_PLAN_TEST_URI");
    unsetenv("PGDRILL_PLAN_TEST_DB");
    pd_redact_reset();
}

/*
 * The plan reads a body as the engine does (runbook_expand): $${ is a
 * literal ${ and is never filled, even where an environment variable of
 * that name exists; values known before the run are filled, the rest stay.
 */
static void
test_plan_expansion(void **state)
{
    static const char text[] =
        "# Expansion\n\n"
        "```pgdrill\nid: plan-expansion\nuse-case: plan\n"
        "input: name text required \"Name\"\n"
        "input: later text required \"Later\"\n```\n\n"
        "## Run\n\n"
        "```sh\necho $${HOME} ${name} ${later} $$${name}\n```\n\n"
        "```neon op=branch-delete branch=$${name}\n```\n";
    struct runbook *rb = NULL;
    struct pd_err err;
    struct plan p;
    const char *vars[] = {"name=recovery"};

    (void)state;
    pd_err_clear(&err);
    setenv("HOME", "/home/pd", 1);
    assert_int_equal(runbook_parse(&rb, "expansion.md", text, strlen(text), NULL, &err), 0);
    plan_build(&p, rb, vars, 1, NULL, at(NOW));
    assert_non_null(strstr(p.text, "  CHANGE  sh: echo ${HOME} recovery ${later} $${name}\n"));
    assert_non_null(strstr(p.text, "  CHANGE  delete branch ${name}\n"));
    assert_null(strstr(p.text, "/home/pd"));
    plan_clear(&p);
    runbook_free(rb);
}

/*
 * The style the TUI used to pick by reading the text (0 plain, 1 title,
 * 2 warning, 3 good, 4 confirm): the kinds must give the same, so the
 * screens look as before without the TUI reading core's text.
 */
static int
sniffed_style(const char *s)
{
    if (strstr(s, "REGRESSION") || strncmp(s, "Warning", 7) == 0 || strncmp(s, "  CHANGE", 8) == 0)
        return 2;
    if (strncmp(s, "Recommended", 11) == 0 || strncmp(s, "Expected data loss", 18) == 0)
        return 3;
    if (strncmp(s, "  CONFIRM", 9) == 0)
        return 4;
    if (s[0] && s[0] != ' ' && s[0] != '[')
        return 1;
    return 0;
}

static int
kind_style(enum line_kind k)
{
    static const int styles[] = {
        [LINE_PLAIN] = 0,      [LINE_HEADING] = 1, [LINE_CHANGE] = 2,      [LINE_CONFIRM] = 4,
        [LINE_REGRESSION] = 2, [LINE_WARN] = 2,    [LINE_RECOMMENDED] = 3, [LINE_LOSS] = 3,
    };

    return styles[k];
}

/* lines are text cut at '\n', and each kind gives the style the text used to. */
static void
assert_lines(const char *text, const struct lines *l, size_t min_kinds)
{
    size_t off = 0, kinds[LINE_LOSS + 1] = {0}, n_kinds = 0;

    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->items[i].text);

        assert_memory_equal(text + off, l->items[i].text, n);
        assert_int_equal(text[off + n], '\n');
        off += n + 1;
        if (kind_style(l->items[i].kind) != sniffed_style(l->items[i].text))
            fail_msg("line %zu '%s': kind %d", i, l->items[i].text, (int)l->items[i].kind);
        if (kinds[l->items[i].kind]++ == 0)
            n_kinds++;
    }
    assert_int_equal(off, strlen(text));
    assert_true(n_kinds >= min_kinds);
}

static void
test_line_kinds(void **state)
{
    struct runbook *rb = NULL;
    struct pd_err err;
    struct plan p;
    struct timeline tl;
    struct timeline_rec rec;
    struct lines l = {0};
    const char *vars[] = {"target_time=2026-11-26T04:00:00Z"};
    char *text;

    (void)state;
    pd_err_clear(&err);
    assert_int_equal(runbook_parse(&rb, "plan.md", plan_rb, strlen(plan_rb), NULL, &err), 0);
    timeline_init(&tl, at(NOW));
    timeline_set_window(&tl, 1800, 0);
    plan_build(&p, rb, vars, 1, &tl, at(NOW));
    // plain, heading, change, confirm, warning, loss
    assert_lines(p.text, &p.lines, 6);
    plan_clear(&p);
    timeline_clear(&tl);
    runbook_free(rb);

    fixture(&tl, true);
    assert_int_equal(timeline_recommend(&rec, &tl, at("2026-11-18T00:00:00Z"), 60, &err), 0);
    text = timeline_render(&tl, &rec, 30, 32);
    timeline_render_lines(&l, &tl, &rec, 30, 32);
    assert_lines(text, &l, 4); // plain, heading, recommended, loss
    lines_clear(&l);
    free(text);
    timeline_clear(&tl);

    char id1[] = "20261101-000000-h", id2[] = "20261102-000000-h", id3[] = "20261103-000000-h";
    char sid[] = "work", title[] = "Work", rbid[] = "h";
    char *sids[] = {sid}, *titles[] = {title};
    double s1[] = {1.0}, s2[] = {1.2}, s3[] = {5.0};
    struct history_run runs[] = {
        {.drill_id = id1, .rto_s = -1, .rpo_s = -1, .stage_s = s1},
        {.drill_id = id2, .rto_s = -1, .rpo_s = -1, .stage_s = s2},
        {.drill_id = id3, .rto_s = -1, .rpo_s = -1, .stage_s = s3},
    };
    struct history h = {.runbook_id = rbid,
                        .stage_ids = sids,
                        .stage_titles = titles,
                        .n_stages = 1,
                        .runs = runs,
                        .n_runs = 3};
    text = history_render(&h, 60);
    history_render_lines(&l, &h, 60);
    assert_lines(text, &l, 3); // plain, heading, regression
    assert_int_equal(l.items[l.n - 1].kind, LINE_REGRESSION);
    lines_clear(&l);
    free(text);
}

/*
 * A runbook step in the plan: the child's inputs as its body gives them, then the child's
 * stages under the step's stage, their values from the child's own scope.
 */
static void
test_plan_subdrill(void **state)
{
    const char *top = getenv("PGDRILL_TOP");
    char *path = pd_xasprintf("%s/tests/fixtures/runbooks/subdrill/parent.md", top ? top : ".");
    const char *vars[] = {"work=/w", "restore.work=/x"};
    struct runbook *rb = NULL;
    struct pd_err err;
    struct plan p;

    (void)state;
    pd_err_clear(&err);
    if (runbook_load(&rb, path, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    plan_build(&p, rb, vars, 2, NULL, at(NOW));
    assert_non_null(strstr(p.text, "\n2. Restore\n  run     runbook child, its stages below as "
                                   "restore/... (work=/w, label=from-parent) -> ${kid}\n"));
    assert_non_null(strstr(p.text, "\n3. Restore / Start\n  CHANGE  sh: echo run >> "
                                   "/x/child-start.count ...\n"));
    assert_non_null(strstr(p.text, "\n5. Restore / Clean up\n"));
    assert_non_null(strstr(p.text, "\n6. Finish\n  CHANGE  sh: echo run >> /w/finish.count"));
    plan_clear(&p);
    runbook_free(rb);
    free(path);
}

/* Every action has a complete row in the plan's table (plan.intern.h). */
static void
test_plan_action_rows(void **state)
{
    (void)state;
    for (int i = 0; i < STEP_ACTION_COUNT; i++) {
        const struct plan_action *a = plan_action((enum step_action)i);
        const char *name = runbook_action_name((enum step_action)i);

        assert_non_null(a);
        if (a->kind == NULL || a->describe == NULL)
            fail_msg("%s: the plan's kind or describe missing", name);
    }
    assert_null(plan_action(STEP_ACTION_COUNT));
    assert_null(plan_action((enum step_action)-1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_time),      cmocka_unit_test(test_window),
        cmocka_unit_test(test_gaps_and_ages), cmocka_unit_test(test_recommend),
        cmocka_unit_test(test_render),        cmocka_unit_test(test_history_math),
        cmocka_unit_test(test_plan),          cmocka_unit_test(test_plan_inputs),
        cmocka_unit_test(test_plan_expansion),
        cmocka_unit_test(test_plan_action_rows),
        cmocka_unit_test(test_plan_subdrill),
        cmocka_unit_test(test_line_kinds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
