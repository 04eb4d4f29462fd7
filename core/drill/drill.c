#include "drill/drill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "drill/drill.intern.h"
#include "drill/journal.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "runbook/runbook.h"

#define DRILL_JOURNAL_VERSION 1
#define DRILL_ID_MAX          200

const char *drill_test_journal_path;

struct drill_priv {
    int lock_fd; /* flock'd $dir/lock, -1 when opened without lock */
    struct journal *journal;
};

/*
 * Which fields of struct drill_event each record type carries. The journal
 * holds exactly these, so replaying a record rebuilds the same event.
 */
enum {
    F_STAGE = 1U << 0,
    F_STEP = 1U << 1,
    F_STATUS = 1U << 2,
    F_ATTEMPT = 1U << 3,
    F_EXIT = 1U << 4,
    F_DURATION = 1U << 5,
    F_HUMAN = 1U << 6,
    F_VALUE_S = 1U << 7,
    F_PASSED = 1U << 8,
    F_NAME = 1U << 9,
    F_VALUE = 1U << 10,
    F_SQL = 1U << 11,
    F_EXPECTED = 1U << 12,
    F_OBSERVED = 1U << 13,
    F_TEXT = 1U << 14,
    F_SECRET = 1U << 15,
    // stage / step must be a real index (not -1)
    F_NEED_STAGE = 1U << 16,
    F_NEED_STEP = 1U << 17,
    F_NEED_NAME = 1U << 18,
    F_NEED_TEXT = 1U << 19,
    F_FLAGGED = 1U << 20, // written only when true: older journals read the same
};

struct ev_info {
    const char *name;     /* "ev" in the record */
    unsigned fields;      /* F_* */
    const char *text_key; /* JSON key of ev->text */
};

static const struct ev_info ev_infos[] = {
    [DRILL_EV_BEGIN] = {"begin", 0, NULL},
    [DRILL_EV_STAGE_START] = {"stage_start", F_STAGE | F_NEED_STAGE, NULL},
    [DRILL_EV_STAGE_END] = {"stage_end", F_STAGE | F_NEED_STAGE | F_STATUS, NULL},
    [DRILL_EV_STEP_START] = {"step_start",
                             F_STAGE | F_NEED_STAGE | F_STEP | F_NEED_STEP | F_ATTEMPT, NULL},
    [DRILL_EV_STEP_END] = {"step_end",
                           F_STAGE | F_NEED_STAGE | F_STEP | F_NEED_STEP | F_STATUS | F_DURATION |
                               F_HUMAN | F_EXIT | F_TEXT,
                           "summary"},
    [DRILL_EV_STEP_SKIP] = {"step_skip", F_STAGE | F_NEED_STAGE | F_STEP | F_NEED_STEP | F_TEXT,
                            "reason"},
    [DRILL_EV_OUTPUT] = {"output", F_STAGE | F_STEP | F_TEXT, "text"},
    [DRILL_EV_CHECK] = {"check",
                        F_STAGE | F_NEED_STAGE | F_STEP | F_NEED_STEP | F_NAME | F_NEED_NAME |
                            F_SQL | F_EXPECTED | F_OBSERVED | F_PASSED | F_FLAGGED,
                        NULL},
    [DRILL_EV_VAR] = {"var", F_NAME | F_NEED_NAME | F_VALUE | F_SECRET, NULL},
    [DRILL_EV_NOTE] = {"note", F_STAGE | F_TEXT, "text"},
    [DRILL_EV_ISSUE] = {"issue", F_STAGE | F_TEXT | F_NEED_TEXT, "text"},
    [DRILL_EV_HUMAN] = {"human", F_STAGE | F_NEED_STAGE | F_STEP | F_HUMAN, NULL},
    [DRILL_EV_MEASURE] = {"measure", F_NAME | F_NEED_NAME | F_VALUE_S, NULL},
    [DRILL_EV_INTERRUPT] = {"interrupt", F_STAGE | F_STEP | F_DURATION | F_TEXT, "reason"},
    [DRILL_EV_RESUME] = {"resume", F_TEXT, "text"},
    [DRILL_EV_END] = {"end", F_TEXT | F_NEED_TEXT, "outcome"},
    [DRILL_EV_PLAN] = {"plan", F_STAGE | F_STEP | F_PASSED | F_TEXT, "text"},
};

#define EV_COUNT (sizeof(ev_infos) / sizeof(ev_infos[0]))

static const char *const status_names[] = {
    [STEP_PENDING] = "pending", [STEP_RUNNING] = "running", [STEP_PASSED] = "passed",
    [STEP_FAILED] = "failed",   [STEP_SKIPPED] = "skipped",
};

const char *
step_status_name(enum step_status st)
{
    if ((unsigned)st < sizeof(status_names) / sizeof(status_names[0]))
        return status_names[st];
    return "unknown";
}

static int
status_parse(enum step_status *out, const char *s)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum step_status)i;
            return 0;
        }
    }
    return -1;
}

char *
drill_now_rfc3339(void)
{
    char buf[40];

    pd_time_format(buf, sizeof(buf), pd_time_wall());
    return pd_xstrdup(buf);
}

/* ---- the reducer ---------------------------------------------------------------------- */

static void
set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = pd_xstrdup(src);
}

/*
 * A stage's status follows from its steps: any failed step fails it, a
 * running step makes it running, all steps done makes it passed (skipped
 * when every step was skipped). A stage without steps, or one ended with
 * steps still pending, takes the status its DRILL_EV_STAGE_END gave.
 */
static void
stage_recompute(struct drill_stage_state *st)
{
    bool failed = false, running = false, pending = false, all_skipped = true, any_done = false;
    double dur = 0, human = 0;

    for (size_t i = 0; i < st->n_steps; i++) {
        const struct drill_step_state *sp = &st->steps[i];

        dur += sp->duration_s;
        human += sp->human_s;
        switch (sp->status) {
        case STEP_FAILED:
            failed = true;
            break;
        case STEP_RUNNING:
            running = true;
            break;
        case STEP_PENDING:
            pending = true;
            break;
        case STEP_PASSED:
        case STEP_SKIPPED:
            break;
        }
        if (sp->status != STEP_SKIPPED)
            all_skipped = false;
        if (sp->status == STEP_PASSED || sp->status == STEP_SKIPPED)
            any_done = true;
    }
    st->duration_s = dur + st->operator_s;
    st->human_s = human + st->operator_s;
    if (failed)
        st->status = STEP_FAILED;
    else if (running)
        st->status = STEP_RUNNING; // NOLINT(bugprone-branch-clone): the order is the precedence
    else if (st->n_steps > 0 && !pending)
        st->status = all_skipped ? STEP_SKIPPED : STEP_PASSED;
    else if (st->finished_at != NULL)
        st->status = st->end_status;
    else if (st->started_at != NULL || any_done)
        st->status = STEP_RUNNING;
    else
        st->status = STEP_PENDING;
}

static void
text_add(struct drill_text **arr, size_t *n, int stage, const char *at, const char *text)
{
    *arr = pd_xrealloc(*arr, (*n + 1) * sizeof(**arr));
    (*arr)[*n].stage = stage;
    (*arr)[*n].at = pd_xstrdup(at);
    (*arr)[*n].text = pd_xstrdup(text != NULL ? text : "");
    (*n)++;
}

static void
var_set(struct drill *d, const char *name, const char *value, bool secret)
{
    struct drill_var *v = NULL;

    for (size_t i = 0; i < d->n_vars; i++) {
        if (strcmp(d->vars[i].name, name) == 0) {
            v = &d->vars[i];
            break;
        }
    }
    if (v == NULL) {
        d->vars = pd_xrealloc(d->vars, (d->n_vars + 1) * sizeof(*d->vars));
        v = &d->vars[d->n_vars++];
        v->name = pd_xstrdup(name);
        v->value = NULL;
    }
    set_str(&v->value, value);
    v->secret = secret;
}

static void
check_set(struct drill *d, const struct drill_event *ev, const char *at)
{
    struct drill_check *c = NULL;

    // A retried check replaces its earlier result: the report shows the final one.
    for (size_t i = 0; i < d->n_checks; i++) {
        struct drill_check *o = &d->checks[i];

        if (o->stage == ev->stage && o->step == ev->step && strcmp(o->name, ev->name) == 0) {
            c = o;
            break;
        }
    }
    if (c == NULL) {
        d->checks = pd_xrealloc(d->checks, (d->n_checks + 1) * sizeof(*d->checks));
        c = &d->checks[d->n_checks++];
        memset(c, 0, sizeof(*c));
        c->stage = ev->stage;
        c->step = ev->step;
        c->name = pd_xstrdup(ev->name);
    }
    set_str(&c->sql, ev->sql);
    set_str(&c->expected, ev->expected);
    set_str(&c->observed, ev->observed);
    set_str(&c->at, at);
    c->passed = ev->passed;
    c->flagged = !ev->passed && ev->flagged;
}

/* Events about one step (stage and step indexes validated). */
static void
apply_step(struct drill_step_state *sp, const struct drill_event *ev, const char *at)
{
    switch (ev->type) {
    case DRILL_EV_STEP_START:
        sp->status = STEP_RUNNING;
        if (ev->attempt > sp->attempts)
            sp->attempts = ev->attempt;
        else
            sp->attempts++;
        if (sp->started_at == NULL)
            sp->started_at = pd_xstrdup(at);
        PD_FREE(sp->finished_at);
        PD_FREE(sp->skip_reason);
        break;
    case DRILL_EV_STEP_END:
        sp->status = ev->status;
        sp->duration_s += ev->duration_s;
        sp->human_s += ev->human_s;
        sp->exit_code = ev->exit_code;
        set_str(&sp->summary, ev->text);
        set_str(&sp->finished_at, at);
        // why it had to be retried: the report's deviations give it
        if (ev->status == STEP_FAILED)
            set_str(&sp->failed_summary, ev->text);
        break;
    case DRILL_EV_STEP_SKIP:
        sp->status = STEP_SKIPPED;
        set_str(&sp->skip_reason, ev->text);
        set_str(&sp->finished_at, at);
        break;
    case DRILL_EV_HUMAN:
        sp->human_s += ev->human_s;
        sp->duration_s += ev->human_s;
        break;
    default:
        break;
    }
}

/* Events about one stage (index validated); then its derived fields. */
static void
apply_stage(struct drill_stage_state *st, const struct drill_event *ev, const char *at)
{
    switch (ev->type) {
    case DRILL_EV_STAGE_START:
        if (st->started_at == NULL)
            st->started_at = pd_xstrdup(at);
        PD_FREE(st->finished_at);
        st->end_status = STEP_PENDING;
        break;
    case DRILL_EV_STAGE_END:
        set_str(&st->finished_at, at);
        st->end_status = ev->status;
        break;
    case DRILL_EV_STEP_START:
    case DRILL_EV_STEP_END:
    case DRILL_EV_STEP_SKIP:
        apply_step(&st->steps[ev->step], ev, at);
        break;
    case DRILL_EV_HUMAN:
        if (ev->step >= 0)
            apply_step(&st->steps[ev->step], ev, at);
        else
            st->operator_s += ev->human_s;
        break;
    default:
        break;
    }
    stage_recompute(st);
}

/*
 * Apply one validated event (see event_check) to the state. Used for live
 * records and for replay alike, so a reopened drill equals the live one.
 */
static void
apply(struct drill *d, const struct drill_event *ev, const char *at)
{
    switch (ev->type) {
    case DRILL_EV_BEGIN:
    case DRILL_EV_OUTPUT: // journal only: the report does not repeat output
        break;
    case DRILL_EV_STAGE_START:
    case DRILL_EV_STAGE_END:
    case DRILL_EV_STEP_START:
    case DRILL_EV_STEP_END:
    case DRILL_EV_STEP_SKIP:
    case DRILL_EV_HUMAN:
        apply_stage(&d->stages[ev->stage], ev, at);
        break;
    case DRILL_EV_CHECK:
        check_set(d, ev, at);
        break;
    case DRILL_EV_VAR:
        var_set(d, ev->name, ev->value, ev->secret);
        break;
    case DRILL_EV_NOTE:
        text_add(&d->notes, &d->n_notes, ev->stage, at, ev->text);
        break;
    case DRILL_EV_ISSUE:
        text_add(&d->issues, &d->n_issues, ev->stage, at, ev->text);
        break;
    case DRILL_EV_MEASURE:
        PD_ASSERT(ev->name != NULL); // event_check() requires it
        if (strcmp(ev->name, "rto_s") == 0)
            d->rto_s = ev->value_s;
        else if (strcmp(ev->name, "rpo_s") == 0)
            d->rpo_s = ev->value_s;
        break;
    case DRILL_EV_INTERRUPT:
        d->interrupted = true;
        // the attempt it cut short has no step_end: keep its machine time
        if (ev->stage >= 0 && ev->step >= 0 && ev->duration_s > 0) {
            d->stages[ev->stage].steps[ev->step].duration_s += ev->duration_s;
            stage_recompute(&d->stages[ev->stage]);
        }
        break;
    case DRILL_EV_RESUME:
        d->n_resumes++;
        d->interrupted = false;
        break;
    case DRILL_EV_END:
        set_str(&d->outcome, ev->text);
        set_str(&d->finished_at, at);
        d->interrupted = false;
        break;
    case DRILL_EV_PLAN:
        // the plan text stays in the journal only, like output
        d->plan_accepted = d->plan_accepted || ev->passed;
        break;
    }
}

/*
 * Refuse an event the reducer cannot apply: unknown type, an index out of
 * range, a missing required field. kind is PD_EBUG for a live record (the
 * caller's mistake) and PD_EIO in replay (a damaged journal).
 */
static int
event_check(const struct drill *d, const struct drill_event *ev, int kind, struct pd_err *err)
{
    const struct ev_info *info;

    if ((unsigned)ev->type >= EV_COUNT || ev->type == DRILL_EV_BEGIN)
        return PD_ERR_SET(err, kind, "drill %s: bad event type %d", d->id, (int)ev->type);
    info = &ev_infos[ev->type];
    if (info->fields & F_STAGE) {
        if (ev->stage < -1 || ev->stage >= (int)d->n_stages ||
            (ev->stage < 0 && (info->fields & F_NEED_STAGE)))
            return PD_ERR_SET(err, kind, "drill %s: %s: stage %d out of range (%zu stages)", d->id,
                              info->name, ev->stage, d->n_stages);
    }
    if (info->fields & F_STEP) {
        size_t n = ev->stage >= 0 ? d->stages[ev->stage].n_steps : 0;

        if (ev->step < -1 || ev->step >= (int)n || (ev->step < 0 && (info->fields & F_NEED_STEP)))
            return PD_ERR_SET(err, kind, "drill %s: %s: step %d out of range (%zu steps)", d->id,
                              info->name, ev->step, n);
    }
    if ((info->fields & F_NEED_NAME) && (ev->name == NULL || ev->name[0] == '\0'))
        return PD_ERR_SET(err, kind, "drill %s: %s: missing name", d->id, info->name);
    if ((info->fields & F_NEED_TEXT) && ev->text == NULL)
        return PD_ERR_SET(err, kind, "drill %s: %s: missing %s", d->id, info->name, info->text_key);
    if ((info->fields & F_STATUS) && (unsigned)ev->status > STEP_SKIPPED)
        return PD_ERR_SET(err, kind, "drill %s: %s: bad status %d", d->id, info->name,
                          (int)ev->status);
    if (ev->type == DRILL_EV_STEP_END && ev->status != STEP_PASSED && ev->status != STEP_FAILED &&
        ev->status != STEP_SKIPPED)
        return PD_ERR_SET(err, kind, "drill %s: step_end: status %s is not a result", d->id,
                          step_status_name(ev->status));
    if (((info->fields & F_DURATION) && (!isfinite(ev->duration_s) || ev->duration_s < 0)) ||
        ((info->fields & F_HUMAN) && (!isfinite(ev->human_s) || ev->human_s < 0)) ||
        ((info->fields & F_VALUE_S) && !isfinite(ev->value_s)))
        return PD_ERR_SET(err, kind, "drill %s: %s: bad duration", d->id, info->name);
    return 0;
}

/* ---- records ---------------------------------------------------------------------------- */

static cJSON *
record_new(const char *at, const char *ev)
{
    cJSON *rec = cJSON_CreateObject();

    cJSON_AddNumberToObject(rec, "v", DRILL_JOURNAL_VERSION);
    cJSON_AddStringToObject(rec, "at", at);
    cJSON_AddStringToObject(rec, "ev", ev);
    return rec;
}

static void
add_str(cJSON *obj, const char *key, const char *s)
{
    if (s != NULL)
        cJSON_AddStringToObject(obj, key, s);
}

/* ev with its strings as the journal holds them; secret values never reach rec. */
static cJSON *
event_to_json(const struct drill_event *ev, const char *at)
{
    const struct ev_info *info = &ev_infos[ev->type];
    unsigned f = info->fields;
    cJSON *rec = record_new(at, info->name);

    if (f & F_STAGE)
        cJSON_AddNumberToObject(rec, "stage", ev->stage);
    if (f & F_STEP)
        cJSON_AddNumberToObject(rec, "step", ev->step);
    if (f & F_STATUS)
        cJSON_AddStringToObject(rec, "status", step_status_name(ev->status));
    if (f & F_ATTEMPT)
        cJSON_AddNumberToObject(rec, "attempt", ev->attempt);
    if (f & F_EXIT)
        cJSON_AddNumberToObject(rec, "exit_code", ev->exit_code);
    if (f & F_DURATION)
        cJSON_AddNumberToObject(rec, "duration_s", ev->duration_s);
    if (f & F_HUMAN)
        cJSON_AddNumberToObject(rec, "human_s", ev->human_s);
    if (f & F_VALUE_S)
        cJSON_AddNumberToObject(rec, "value_s", ev->value_s);
    if (f & F_NAME)
        add_str(rec, "name", ev->name);
    if (f & F_SQL)
        add_str(rec, "sql", ev->sql);
    if (f & F_EXPECTED)
        add_str(rec, "expected", ev->expected);
    if (f & F_OBSERVED)
        add_str(rec, "observed", ev->observed);
    if (f & F_PASSED)
        cJSON_AddBoolToObject(rec, "passed", ev->passed);
    if ((f & F_FLAGGED) && ev->flagged)
        cJSON_AddBoolToObject(rec, "flagged", 1);
    if (f & F_TEXT)
        add_str(rec, info->text_key, ev->text);
    if (f & F_SECRET) {
        // A secret variable is recorded by name only: a resume asks for it again.
        if (ev->secret)
            cJSON_AddBoolToObject(rec, "secret", 1);
        else
            add_str(rec, "value", ev->value);
    }
    return rec;
}

static int
json_int(int *out, const cJSON *obj, const char *key, int dflt, const char *where,
         struct pd_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (v == NULL || cJSON_IsNull(v)) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        fabs(v->valuedouble) > INT32_MAX)
        return PD_ERR_SET(err, PD_EIO, "%s: '%s' is not an integer", where, key);
    *out = (int)v->valuedouble;
    return 0;
}

static int
json_num(double *out, const cJSON *obj, const char *key, const char *where, struct pd_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = 0;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v))
        return PD_ERR_SET(err, PD_EIO, "%s: '%s' is not a number", where, key);
    *out = v->valuedouble;
    return 0;
}

/* A string field, borrowed from obj; NULL when absent. */
static int
json_str(const char **out, const cJSON *obj, const char *key, const char *where, struct pd_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return PD_ERR_SET(err, PD_EIO, "%s: '%s' is not a string", where, key);
    *out = v->valuestring;
    return 0;
}

static int
json_bool(bool *out, const cJSON *obj, const char *key, const char *where, struct pd_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = false;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsBool(v))
        return PD_ERR_SET(err, PD_EIO, "%s: '%s' is not a boolean", where, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

/* Rebuild the event of a record; its strings are borrowed from rec. */
static int
event_from_json(struct drill_event *ev, const cJSON *rec, const char *where, struct pd_err *err)
{
    const char *name = NULL, *status = NULL;
    const struct ev_info *info = NULL;
    unsigned f;
    int rc;

    memset(ev, 0, sizeof(*ev));
    ev->stage = ev->step = -1;
    if ((rc = json_str(&name, rec, "ev", where, err)) != 0)
        return rc;
    if (name == NULL)
        return PD_ERR_SET(err, PD_EIO, "%s: record without 'ev'", where);
    for (size_t i = 0; i < EV_COUNT; i++) {
        if (strcmp(ev_infos[i].name, name) == 0) {
            info = &ev_infos[i];
            ev->type = (enum drill_event_type)i;
            break;
        }
    }
    if (info == NULL)
        return PD_ERR_SET(err, PD_EIO, "%s: unknown event '%s'", where, name);
    f = info->fields;
    if (((f & F_STAGE) && (rc = json_int(&ev->stage, rec, "stage", -1, where, err)) != 0) ||
        ((f & F_STEP) && (rc = json_int(&ev->step, rec, "step", -1, where, err)) != 0) ||
        ((f & F_ATTEMPT) && (rc = json_int(&ev->attempt, rec, "attempt", 0, where, err)) != 0) ||
        ((f & F_EXIT) && (rc = json_int(&ev->exit_code, rec, "exit_code", 0, where, err)) != 0) ||
        ((f & F_DURATION) &&
         (rc = json_num(&ev->duration_s, rec, "duration_s", where, err)) != 0) ||
        ((f & F_HUMAN) && (rc = json_num(&ev->human_s, rec, "human_s", where, err)) != 0) ||
        ((f & F_VALUE_S) && (rc = json_num(&ev->value_s, rec, "value_s", where, err)) != 0) ||
        ((f & F_PASSED) && (rc = json_bool(&ev->passed, rec, "passed", where, err)) != 0) ||
        ((f & F_SECRET) && (rc = json_bool(&ev->secret, rec, "secret", where, err)) != 0) ||
        ((f & F_FLAGGED) && (rc = json_bool(&ev->flagged, rec, "flagged", where, err)) != 0) ||
        ((f & F_NAME) && (rc = json_str(&ev->name, rec, "name", where, err)) != 0) ||
        ((f & F_VALUE) && (rc = json_str(&ev->value, rec, "value", where, err)) != 0) ||
        ((f & F_SQL) && (rc = json_str(&ev->sql, rec, "sql", where, err)) != 0) ||
        ((f & F_EXPECTED) && (rc = json_str(&ev->expected, rec, "expected", where, err)) != 0) ||
        ((f & F_OBSERVED) && (rc = json_str(&ev->observed, rec, "observed", where, err)) != 0) ||
        ((f & F_TEXT) && (rc = json_str(&ev->text, rec, info->text_key, where, err)) != 0) ||
        ((f & F_STATUS) && (rc = json_str(&status, rec, "status", where, err)) != 0))
        return rc;
    if (f & F_STATUS) {
        if (status == NULL || status_parse(&ev->status, status) != 0)
            return PD_ERR_SET(err, PD_EIO, "%s: bad status '%s'", where,
                              status != NULL ? status : "");
    }
    return 0;
}

/* ---- the begin record --------------------------------------------------------------------- */

/* From the runbook header's table, so the drill module needs no parser code. */
static const char *
action_name(enum step_action a)
{
    static const char *const names[] = {
#define DRILL_ACTION_NAME(e, name) [e] = (name),
        RUNBOOK_ACTIONS(DRILL_ACTION_NAME)
#undef DRILL_ACTION_NAME
    };

    return (unsigned)a < STEP_ACTION_COUNT ? names[a] : "unknown";
}

static cJSON *
begin_to_json(const char *at, const char *id, const struct runbook *rb, const char *operator_name,
              const char *host)
{
    cJSON *rec = record_new(at, "begin");
    cJSON *r, *stages;

    add_str(rec, "id", id);
    r = cJSON_AddObjectToObject(rec, "runbook");
    add_str(r, "path", rb->path);
    add_str(r, "id", rb->id);
    add_str(r, "title", rb->title);
    add_str(r, "sha256", rb->sha256);
    add_str(r, "stages_sha256", rb->stages_sha256);
    cJSON_AddNumberToObject(r, "expected_s", rb->expected_s);
    cJSON_AddNumberToObject(r, "rto_s", rb->rto_s);
    cJSON_AddNumberToObject(r, "rpo_s", rb->rpo_s);
    add_str(rec, "operator", operator_name);
    add_str(rec, "host", host);
    cJSON_AddNumberToObject(rec, "n_stages", (double)rb->n_stages);
    stages = cJSON_AddArrayToObject(rec, "stages");
    for (size_t i = 0; i < rb->n_stages; i++) {
        const struct runbook_stage *rs = &rb->stages[i];
        cJSON *s = cJSON_CreateObject(), *steps;

        add_str(s, "id", rs->id);
        add_str(s, "title", rs->title);
        cJSON_AddNumberToObject(s, "expected_s", rs->expected_s);
        cJSON_AddNumberToObject(s, "n_steps", (double)rs->n_steps);
        steps = cJSON_AddArrayToObject(s, "steps");
        for (size_t k = 0; k < rs->n_steps; k++) {
            cJSON *p = cJSON_CreateObject();

            add_str(p, "id", rs->steps[k].id);
            add_str(p, "action", action_name(rs->steps[k].action));
            cJSON_AddItemToArray(steps, p);
        }
        cJSON_AddItemToArray(stages, s);
    }
    return rec;
}

static void
dup_opt(char **dst, const char *s)
{
    *dst = pd_xstrdup(s);
}

/* Size the state from a begin record (the first record of every journal). */
static int
apply_begin(struct drill *d, const cJSON *rec, const char *where, struct pd_err *err)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, "runbook");
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(rec, "stages");
    const char *s;
    int rc = 0;
    size_t i = 0;
    const cJSON *st;

    if (!cJSON_IsObject(r) || !cJSON_IsArray(stages))
        return PD_ERR_SET(err, PD_EIO, "%s: begin record without runbook or stages", where);
    if ((rc = json_str(&s, rec, "at", where, err)) != 0)
        return rc;
    dup_opt(&d->started_at, s);
    if ((rc = json_str(&s, rec, "operator", where, err)) != 0)
        return rc;
    dup_opt(&d->operator_name, s);
    if ((rc = json_str(&s, rec, "host", where, err)) != 0)
        return rc;
    dup_opt(&d->host, s);
    if ((rc = json_str(&s, r, "path", where, err)) != 0)
        return rc;
    dup_opt(&d->runbook_path, s);
    if ((rc = json_str(&s, r, "id", where, err)) != 0)
        return rc;
    dup_opt(&d->runbook_id, s);
    if ((rc = json_str(&s, r, "title", where, err)) != 0)
        return rc;
    dup_opt(&d->runbook_title, s);
    if ((rc = json_str(&s, r, "sha256", where, err)) != 0)
        return rc;
    snprintf(d->runbook_sha256, sizeof(d->runbook_sha256), "%s", s != NULL ? s : "");
    if ((rc = json_str(&s, r, "stages_sha256", where, err)) != 0)
        return rc;
    snprintf(d->stages_sha256, sizeof(d->stages_sha256), "%s", s != NULL ? s : "");
    if ((rc = json_int(&d->expected_s, r, "expected_s", 0, where, err)) != 0 ||
        (rc = json_int(&d->rto_target_s, r, "rto_s", 0, where, err)) != 0 ||
        (rc = json_int(&d->rpo_target_s, r, "rpo_s", 0, where, err)) != 0)
        return rc;

    d->n_stages = (size_t)cJSON_GetArraySize(stages);
    d->stages = pd_xcalloc(d->n_stages ? d->n_stages : 1, sizeof(*d->stages));
    cJSON_ArrayForEach(st, stages)
    {
        struct drill_stage_state *ss = &d->stages[i++];
        const cJSON *steps = cJSON_GetObjectItemCaseSensitive(st, "steps");
        const cJSON *sp;
        size_t k = 0;

        if (!cJSON_IsObject(st) || !cJSON_IsArray(steps))
            return PD_ERR_SET(err, PD_EIO, "%s: begin record: stage %zu without steps", where,
                              i - 1);
        if ((rc = json_str(&s, st, "id", where, err)) != 0)
            return rc;
        dup_opt(&ss->id, s);
        if ((rc = json_str(&s, st, "title", where, err)) != 0)
            return rc;
        dup_opt(&ss->title, s);
        if ((rc = json_int(&ss->expected_s, st, "expected_s", 0, where, err)) != 0)
            return rc;
        ss->n_steps = (size_t)cJSON_GetArraySize(steps);
        ss->steps = pd_xcalloc(ss->n_steps ? ss->n_steps : 1, sizeof(*ss->steps));
        cJSON_ArrayForEach(sp, steps)
        {
            struct drill_step_state *ps = &ss->steps[k++];

            if ((rc = json_str(&s, sp, "id", where, err)) != 0)
                return rc;
            dup_opt(&ps->id, s);
            if ((rc = json_str(&s, sp, "action", where, err)) != 0)
                return rc;
            dup_opt(&ps->action, s);
        }
    }
    return 0;
}

/* ---- files, lock ------------------------------------------------------------------------- */

static int
mkdir_p(const char *path, struct pd_err *err)
{
    char *p = pd_xstrdup(path);
    int rc = 0;

    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;

        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            rc = PD_ERR_SET(err, PD_EIO, "drill: mkdir %s: %s", p, strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}

static void
fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return;
    if (fsync(fd) != 0)
        pd_log(PD_LOG_WARN, "drill: fsync %s: %s", path, strerror(errno));
    close(fd);
}

/*
 * Take $dir/lock with flock: the kernel drops it when the process dies, so
 * a kill -9 never leaves a stale lock. The pid written into the file only
 * serves the message a second opener gets.
 */
static int
lock_take(int *out, const char *dir, const char *id, struct pd_err *err)
{
    char *path = pd_xasprintf("%s/lock", dir);
    char buf[32];
    int fd, rc = 0;

    *out = -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "drill %s: lock %s: %s", id, path, strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
            long pid = 0;

            buf[n > 0 ? n : 0] = '\0';
            pid = strtol(buf, NULL, 10);
            if (pid > 0)
                rc = PD_ERR_SET(err, PD_ELOCKED, "drill %s is in use by another pgdrill (pid %ld)",
                                id, pid);
            else
                rc = PD_ERR_SET(err, PD_ELOCKED, "drill %s is in use by another pgdrill", id);
        } else {
            rc = PD_ERR_SET(err, PD_EIO, "drill %s: lock %s: %s", id, path, strerror(errno));
        }
        close(fd);
        goto out;
    }
    snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
        pd_log(PD_LOG_WARN, "drill %s: cannot write pid to %s: %s", id, path, strerror(errno));
    *out = fd;
out:
    free(path);
    return rc;
}

static char *
journal_file(const struct drill *d)
{
    if (drill_test_journal_path != NULL)
        return pd_xstrdup(drill_test_journal_path);
    return pd_xasprintf("%s/journal.jsonl", d->dir);
}

static struct drill *
drill_alloc(const char *dir, const char *id)
{
    struct drill *d = pd_xcalloc(1, sizeof(*d));

    d->dir = pd_xstrdup(dir);
    d->id = pd_xstrdup(id);
    d->rto_s = -1;
    d->rpo_s = -1;
    d->priv = pd_xcalloc(1, sizeof(*d->priv));
    d->priv->lock_fd = -1;
    return d;
}

/* Serialise, append (fsync'd) and free a record. */
static int
append_json(struct drill *d, cJSON *rec, struct pd_err *err)
{
    char *line = cJSON_PrintUnformatted(rec);
    int rc;

    if (line == NULL)
        return PD_ERR_SET(err, PD_EBUG, "drill %s: cannot serialise a journal record", d->id);
    rc = journal_append(d->priv->journal, line, strlen(line), err);
    cJSON_free(line);
    return rc;
}

/* ---- API -------------------------------------------------------------------------------- */

static bool
id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > DRILL_ID_MAX || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];

        if (c == '/' || c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

int
drill_begin(struct drill **out, const char *home, const struct runbook *rb,
            const char *operator_name, struct pd_err *err)
{
    char stamp[32], host[256];
    char *drills = NULL, *dir = NULL, *id = NULL, *jpath = NULL, *at = NULL;
    struct drill *d = NULL;
    cJSON *rec = NULL;
    int rc;

    *out = NULL;
    if (rb->id == NULL || !id_ok(rb->id))
        return PD_ERR_SET(err, PD_EINPUT, "drill: runbook %s has no usable id",
                          rb->path != NULL ? rb->path : "(unnamed)");
    drills = pd_xasprintf("%s/drills", home);
    if ((rc = mkdir_p(drills, err)) != 0)
        goto out;
    at = drill_now_rfc3339();
    pd_time_stamp(stamp, sizeof(stamp), pd_time_wall());
    // mkdir is atomic: two drills started in the same second get -2, -3, ...
    for (int n = 1;; n++) {
        free(id);
        free(dir);
        id = n == 1 ? pd_xasprintf("%s-%s", stamp, rb->id)
                    : pd_xasprintf("%s-%s-%d", stamp, rb->id, n);
        dir = pd_xasprintf("%s/%s", drills, id);
        if (mkdir(dir, 0700) == 0)
            break;
        if (errno != EEXIST || n >= 1000) {
            rc = PD_ERR_SET(err, PD_EIO, "drill: mkdir %s: %s", dir, strerror(errno));
            goto out;
        }
    }
    d = drill_alloc(dir, id);
    if ((rc = lock_take(&d->priv->lock_fd, dir, id, err)) != 0)
        goto out;
    jpath = journal_file(d);
    if ((rc = journal_open(&d->priv->journal, jpath, -1, err)) != 0)
        goto out;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    rec = begin_to_json(at, id, rb, operator_name, host);
    if ((rc = append_json(d, rec, err)) != 0)
        goto out;
    fsync_dir(dir);
    fsync_dir(drills);
    rc = apply_begin(d, rec, id, err);
out:
    if (rc != 0 && d != NULL) {
        // Leave no half-made drill behind for drill_find_unfinished to trip over.
        if (drill_test_journal_path == NULL && jpath != NULL)
            unlink(jpath);
        free(jpath);
        jpath = pd_xasprintf("%s/lock", dir);
        unlink(jpath);
        rmdir(dir);
        drill_free(d);
        d = NULL;
    }
    cJSON_Delete(rec);
    free(jpath);
    free(at);
    free(id);
    free(dir);
    free(drills);
    *out = d;
    return rc;
}

/* Replay path into d (sized by its begin record). */
static int
replay(struct drill *d, const char *path, off_t *good, struct pd_err *err)
{
    struct journal_reader *r = NULL;
    const char *line;
    size_t len, lineno;
    int rc, got;
    bool first = true;

    if ((rc = journal_reader_open(&r, path, err)) != 0)
        return rc;
    while ((got = journal_reader_next(r, &line, &len, &lineno, err)) == 1) {
        char where[PD_ERR_MSG_MAX / 2];
        cJSON *rec = cJSON_ParseWithLength(line, len);
        struct drill_event ev;
        const char *at = NULL;
        int v = 0;

        snprintf(where, sizeof(where), "journal %s:%zu", path, lineno);
        if ((rc = json_int(&v, rec, "v", 0, where, err)) != 0 ||
            (rc = json_str(&at, rec, "at", where, err)) != 0) {
            cJSON_Delete(rec);
            goto out;
        }
        if (v != DRILL_JOURNAL_VERSION) {
            cJSON_Delete(rec);
            rc = PD_ERR_SET(err, PD_EIO, "%s: unsupported record version %d", where, v);
            goto out;
        }
        if (at == NULL) {
            cJSON_Delete(rec);
            rc = PD_ERR_SET(err, PD_EIO, "%s: record without 'at'", where);
            goto out;
        }
        if (first) {
            const char *ev_name = NULL;

            json_str(&ev_name, rec, "ev", where, NULL);
            if (ev_name == NULL || strcmp(ev_name, "begin") != 0)
                rc = PD_ERR_SET(err, PD_EIO, "%s: first record is not 'begin'", where);
            else
                rc = apply_begin(d, rec, where, err);
            first = false;
        } else {
            rc = event_from_json(&ev, rec, where, err);
            if (rc == 0 && ev.type == DRILL_EV_BEGIN)
                rc = PD_ERR_SET(err, PD_EIO, "%s: a second 'begin' record", where);
            if (rc == 0 && (rc = event_check(d, &ev, PD_EIO, err)) != 0)
                pd_err_prefix(err, "%s: ", where);
            if (rc == 0)
                apply(d, &ev, at);
        }
        cJSON_Delete(rec);
        if (rc != 0)
            goto out;
    }
    if (got < 0) {
        rc = got;
        goto out;
    }
    if (first) {
        rc = PD_ERR_SET(err, PD_EIO, "journal %s: no records", path);
        goto out;
    }
    d->truncated_tail = journal_reader_truncated(r);
    *good = journal_reader_good_size(r);
out:
    journal_reader_free(r);
    return rc;
}

int
drill_open(struct drill **out, const char *home, const char *id, bool lock, struct pd_err *err)
{
    struct drill *d = NULL;
    char *dir = NULL, *jpath = NULL;
    struct stat st;
    off_t good = -1;
    int rc = 0;

    *out = NULL;
    if (!id_ok(id))
        return PD_ERR_SET(err, PD_EINPUT, "drill: bad drill id '%s'", id);
    dir = pd_xasprintf("%s/drills/%s", home, id);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = PD_ERR_SET(err, PD_ENOENT, "drill %s not found in %s/drills", id, home);
        goto out;
    }
    d = drill_alloc(dir, id);
    // Lock before reading, so the state we replay is the final one.
    if (lock && (rc = lock_take(&d->priv->lock_fd, dir, id, err)) != 0)
        goto out;
    jpath = journal_file(d);
    if ((rc = replay(d, jpath, &good, err)) != 0)
        goto out;
    if (lock) {
        if (d->truncated_tail)
            pd_log(PD_LOG_WARN, "journal %s: cutting a partial last line after byte %lld", jpath,
                   (long long)good);
        rc = journal_open(&d->priv->journal, jpath, d->truncated_tail ? good : -1, err);
    }
out:
    if (rc != 0) {
        drill_free(d);
        d = NULL;
    }
    free(jpath);
    free(dir);
    *out = d;
    return rc;
}

static char *
redact_opt(const char *s)
{
    return s != NULL ? pd_redact(s) : NULL;
}

int
drill_record(struct drill *d, const struct drill_event *ev, struct pd_err *err)
{
    struct drill_event red;
    char *at = NULL, *strs[7] = {0};
    cJSON *rec = NULL;
    int rc;

    if (d->priv == NULL || d->priv->journal == NULL)
        return PD_ERR_SET(err, PD_EBUG, "drill %s: opened without its lock, cannot record", d->id);
    if ((rc = event_check(d, ev, PD_EBUG, err)) != 0)
        return rc;
    // Defence in depth: callers redact, but a registered secret never reaches the journal.
    red = *ev;
    red.name = strs[0] = redact_opt(ev->name);
    red.sql = strs[1] = redact_opt(ev->sql);
    red.expected = strs[2] = redact_opt(ev->expected);
    red.observed = strs[3] = redact_opt(ev->observed);
    red.text = strs[4] = redact_opt(ev->text);
    red.value = strs[5] = redact_opt(ev->value);
    at = drill_now_rfc3339();
    if (ev->type == DRILL_EV_VAR && !ev->secret && ev->value != NULL &&
        strcmp(ev->value, red.value) != 0) {
        // The value holds a secret (e.g. a password in a URI): keep it in memory only.
        red.secret = true;
    }
    rec = event_to_json(&red, at);
    if ((rc = append_json(d, rec, err)) != 0)
        goto out;
    if (ev->type == DRILL_EV_VAR)
        red.value = ev->value; // the real value stays in memory
    apply(d, &red, at);
out:
    cJSON_Delete(rec);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    free(at);
    return rc;
}

/* Natural order: digit runs compare as numbers, so -10 sorts after -9. */
static int
natcmp(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *ea, *eb;

            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            for (ea = a; *ea >= '0' && *ea <= '9'; ea++)
                ;
            for (eb = b; *eb >= '0' && *eb <= '9'; eb++)
                ;
            if (ea - a != eb - b)
                return ea - a < eb - b ? -1 : 1;
            for (; a < ea; a++, b++) {
                if (*a != *b)
                    return *a < *b ? -1 : 1;
            }
            b = eb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (*a != '\0') - (*b != '\0');
}

static int
newest_first(const void *pa, const void *pb)
{
    return natcmp(*(char *const *)pb, *(char *const *)pa);
}

int
drill_list(char ***out, size_t *n_out, const char *home, struct pd_err *err)
{
    char *drills = pd_xasprintf("%s/drills", home);
    char **ids = NULL;
    size_t n = 0;
    struct dirent *de;
    DIR *dh;

    *out = NULL;
    *n_out = 0;
    dh = opendir(drills);
    if (dh == NULL) {
        int e = errno;

        free(drills);
        if (e == ENOENT)
            return 0;
        return PD_ERR_SET(err, PD_EIO, "drill: list %s/drills: %s", home, strerror(e));
    }
    while ((de = readdir(dh)) != NULL) {
        char *p;
        struct stat st;
        bool ok;

        if (!id_ok(de->d_name))
            continue;
        p = pd_xasprintf("%s/%s", drills, de->d_name);
        ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        if (!ok)
            continue;
        ids = pd_xrealloc(ids, (n + 1) * sizeof(*ids));
        ids[n++] = pd_xstrdup(de->d_name);
    }
    closedir(dh);
    free(drills);
    if (n > 0)
        qsort(ids, n, sizeof(*ids), newest_first);
    *out = ids;
    *n_out = n;
    return 0;
}

int
drill_find_unfinished(char **out, const char *home, struct pd_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if ((rc = drill_list(&ids, &n, home, err)) != 0)
        return rc;
    for (size_t i = 0; i < n && *out == NULL; i++) {
        struct pd_err e = {0};
        struct drill *d = NULL;

        if (drill_open(&d, home, ids[i], false, &e) != 0) {
            pd_log(PD_LOG_WARN, "%s", e.msg);
            continue;
        }
        if (d->outcome == NULL)
            *out = pd_xstrdup(ids[i]);
        drill_free(d);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (*out == NULL)
        return PD_ERR_SET(err, PD_ENOENT, "no unfinished drill in %s/drills", home);
    return 0;
}

const char *
drill_var(const struct drill *d, const char *name)
{
    for (size_t i = 0; i < d->n_vars; i++) {
        if (strcmp(d->vars[i].name, name) == 0)
            return d->vars[i].value;
    }
    return NULL;
}

int
drill_journal_sha256(const struct drill *d, char out[65], struct pd_err *err)
{
    char *path = journal_file(d);
    int rc = pd_sha256_file(out, path, err);

    free(path);
    return rc;
}

void
drill_free(struct drill *d)
{
    if (d == NULL)
        return;
    if (d->priv != NULL) {
        journal_free(d->priv->journal);
        if (d->priv->lock_fd >= 0)
            close(d->priv->lock_fd); // releases the flock
        free(d->priv);
    }
    for (size_t i = 0; i < d->n_stages; i++) {
        struct drill_stage_state *st = &d->stages[i];

        for (size_t k = 0; k < st->n_steps; k++) {
            struct drill_step_state *sp = &st->steps[k];

            free(sp->started_at);
            free(sp->finished_at);
            free(sp->summary);
            free(sp->skip_reason);
            free(sp->failed_summary);
            free(sp->id);
            free(sp->action);
        }
        free(st->steps);
        free(st->started_at);
        free(st->finished_at);
        free(st->id);
        free(st->title);
    }
    free(d->stages);
    for (size_t i = 0; i < d->n_checks; i++) {
        free(d->checks[i].name);
        free(d->checks[i].sql);
        free(d->checks[i].expected);
        free(d->checks[i].observed);
        free(d->checks[i].at);
    }
    free(d->checks);
    for (size_t i = 0; i < d->n_notes; i++) {
        free(d->notes[i].at);
        free(d->notes[i].text);
    }
    free(d->notes);
    for (size_t i = 0; i < d->n_issues; i++) {
        free(d->issues[i].at);
        free(d->issues[i].text);
    }
    free(d->issues);
    for (size_t i = 0; i < d->n_vars; i++) {
        free(d->vars[i].name);
        free(d->vars[i].value);
    }
    free(d->vars);
    free(d->id);
    free(d->dir);
    free(d->runbook_path);
    free(d->runbook_id);
    free(d->runbook_title);
    free(d->operator_name);
    free(d->host);
    free(d->started_at);
    free(d->finished_at);
    free(d->outcome);
    free(d);
}
