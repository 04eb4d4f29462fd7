/* drill events: the record types, their validation, and their JSON form in the journal. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "drill/drill.h"
#include "drill/drill.intern.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "runbook/runbook.h"

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
    [DRILL_EV_MEASURE] = {"measure", F_STAGE | F_NAME | F_NEED_NAME | F_VALUE_S, NULL},
    [DRILL_EV_INTERRUPT] = {"interrupt", F_STAGE | F_STEP | F_DURATION | F_TEXT, "reason"},
    [DRILL_EV_RESUME] = {"resume", F_TEXT, "text"},
    [DRILL_EV_END] = {"end", F_TEXT | F_NEED_TEXT, "outcome"},
    [DRILL_EV_PLAN] = {"plan", F_STAGE | F_STEP | F_PASSED | F_TEXT, "text"},
    [DRILL_EV_HINT] = {"hint",
                       F_STAGE | F_NEED_STAGE | F_STEP | F_NEED_STEP | F_NAME | F_NEED_NAME |
                           F_TEXT | F_NEED_TEXT,
                       "text"},
    [DRILL_EV_CATCH] = {"catch",
                        F_STAGE | F_NEED_STAGE | F_STEP | F_NEED_STEP | F_NAME | F_NEED_NAME |
                            F_TEXT | F_NEED_TEXT,
                        "reason"},
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

/*
 * Refuse an event the reducer cannot apply: unknown type, an index out of
 * range, a missing required field. kind is PD_EBUG for a live record (the
 * caller's mistake) and PD_EIO in replay (a damaged journal).
 */
int
drill_event_check(const struct drill *d, const struct drill_event *ev, int kind, struct pd_err *err)
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
cJSON *
drill_event_to_json(const struct drill_event *ev, const char *at)
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

int
drill_json_int(int *out, const cJSON *obj, const char *key, int dflt, const char *where,
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
int
drill_json_str(const char **out, const cJSON *obj, const char *key, const char *where,
               struct pd_err *err)
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
int
drill_event_from_json(struct drill_event *ev, const cJSON *rec, const char *where,
                      struct pd_err *err)
{
    const char *name = NULL, *status = NULL;
    const struct ev_info *info = NULL;
    unsigned f;
    int rc;

    memset(ev, 0, sizeof(*ev));
    ev->stage = ev->step = -1;
    if ((rc = drill_json_str(&name, rec, "ev", where, err)) != 0)
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
    if (((f & F_STAGE) && (rc = drill_json_int(&ev->stage, rec, "stage", -1, where, err)) != 0) ||
        ((f & F_STEP) && (rc = drill_json_int(&ev->step, rec, "step", -1, where, err)) != 0) ||
        ((f & F_ATTEMPT) &&
         (rc = drill_json_int(&ev->attempt, rec, "attempt", 0, where, err)) != 0) ||
        ((f & F_EXIT) &&
         (rc = drill_json_int(&ev->exit_code, rec, "exit_code", 0, where, err)) != 0) ||
        ((f & F_DURATION) &&
         (rc = json_num(&ev->duration_s, rec, "duration_s", where, err)) != 0) ||
        ((f & F_HUMAN) && (rc = json_num(&ev->human_s, rec, "human_s", where, err)) != 0) ||
        ((f & F_VALUE_S) && (rc = json_num(&ev->value_s, rec, "value_s", where, err)) != 0) ||
        ((f & F_PASSED) && (rc = json_bool(&ev->passed, rec, "passed", where, err)) != 0) ||
        ((f & F_SECRET) && (rc = json_bool(&ev->secret, rec, "secret", where, err)) != 0) ||
        ((f & F_FLAGGED) && (rc = json_bool(&ev->flagged, rec, "flagged", where, err)) != 0) ||
        ((f & F_NAME) && (rc = drill_json_str(&ev->name, rec, "name", where, err)) != 0) ||
        ((f & F_VALUE) && (rc = drill_json_str(&ev->value, rec, "value", where, err)) != 0) ||
        ((f & F_SQL) && (rc = drill_json_str(&ev->sql, rec, "sql", where, err)) != 0) ||
        ((f & F_EXPECTED) &&
         (rc = drill_json_str(&ev->expected, rec, "expected", where, err)) != 0) ||
        ((f & F_OBSERVED) &&
         (rc = drill_json_str(&ev->observed, rec, "observed", where, err)) != 0) ||
        ((f & F_TEXT) && (rc = drill_json_str(&ev->text, rec, info->text_key, where, err)) != 0) ||
        ((f & F_STATUS) && (rc = drill_json_str(&status, rec, "status", where, err)) != 0))
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

/* A step's report= and report-json=, when it has them (the report reads them). */
static void
add_report_attrs(cJSON *p, const struct runbook_step *sp)
{
    const char *v;

    if ((v = runbook_step_attr(sp, "report")) != NULL)
        add_str(p, "report", v);
    if ((v = runbook_step_attr(sp, "report-json")) != NULL)
        add_str(p, "report_json", v);
}

/*
 * The names of the runbook's inputs: the header's, then the input steps'.
 * A sub-drill's stages (scope set) are left out: their values are the
 * child's, kept under its scope, not the trainee's choices here.
 */
static void
add_inputs(cJSON *rec, const struct runbook *rb)
{
    cJSON *a = cJSON_AddArrayToObject(rec, "inputs");

    for (size_t i = 0; i < rb->n_inputs; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(rb->inputs[i].name));
    for (size_t i = 0; i < rb->n_stages; i++)
        for (size_t k = 0; rb->stages[i].scope == NULL && k < rb->stages[i].n_steps; k++)
            if (rb->stages[i].steps[k].input != NULL)
                cJSON_AddItemToArray(a, cJSON_CreateString(rb->stages[i].steps[k].input->name));
}

/* The begin record's optional "inputs" (journals before it have none). */
static int
apply_inputs(struct drill *d, const cJSON *rec, const char *where, struct pd_err *err)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "inputs"), *x;

    if (a == NULL || cJSON_IsNull(a))
        return 0;
    if (!cJSON_IsArray(a))
        return PD_ERR_SET(err, PD_EIO, "%s: begin record: 'inputs' is not an array", where);
    d->inputs = pd_xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*d->inputs));
    cJSON_ArrayForEach(x, a)
    {
        if (!cJSON_IsString(x))
            return PD_ERR_SET(err, PD_EIO, "%s: begin record: an input name is not a string",
                              where);
        d->inputs[d->n_inputs++] = pd_xstrdup(x->valuestring);
    }
    return 0;
}

/*
 * A stage whose runbook step runs a sub-drill: that runbook's targets, so the report judges
 * it by them as they were when the drill began, whatever its file says later.
 */
static void
add_subdrill(cJSON *s, const struct runbook_stage *rs)
{
    const struct runbook *child = rs->n_steps > 0 ? rs->steps[rs->n_steps - 1].child : NULL;
    cJSON *o;

    if (child == NULL)
        return;
    o = cJSON_AddObjectToObject(s, "subdrill");
    add_str(o, "runbook", child->id);
    cJSON_AddNumberToObject(o, "expected_s", child->expected_s);
    cJSON_AddNumberToObject(o, "rto_s", child->rto_s);
    cJSON_AddNumberToObject(o, "rpo_s", child->rpo_s);
}

/* The targets add_subdrill journaled for stage ss; none in older journals. */
static int
apply_subdrill(struct drill_stage_state *ss, const cJSON *st, const char *where, struct pd_err *err)
{
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(st, "subdrill");
    int rc;

    if (o == NULL || cJSON_IsNull(o))
        return 0;
    if (!cJSON_IsObject(o))
        return PD_ERR_SET(err, PD_EIO, "%s: begin record: 'subdrill' is not an object", where);
    if ((rc = drill_json_int(&ss->sub_expected_s, o, "expected_s", 0, where, err)) != 0 ||
        (rc = drill_json_int(&ss->sub_rto_s, o, "rto_s", 0, where, err)) != 0 ||
        (rc = drill_json_int(&ss->sub_rpo_s, o, "rpo_s", 0, where, err)) != 0)
        return rc;
    ss->has_subdrill = true;
    return 0;
}

cJSON *
drill_begin_to_json(const char *at, const char *id, const struct runbook *rb,
                    const char *operator_name, const char *host)
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
    add_inputs(rec, rb);
    cJSON_AddNumberToObject(rec, "n_stages", (double)rb->n_stages);
    stages = cJSON_AddArrayToObject(rec, "stages");
    for (size_t i = 0; i < rb->n_stages; i++) {
        const struct runbook_stage *rs = &rb->stages[i];
        cJSON *s = cJSON_CreateObject(), *steps;

        add_str(s, "id", rs->id);
        add_str(s, "title", rs->title);
        cJSON_AddNumberToObject(s, "expected_s", rs->expected_s);
        add_subdrill(s, rs);
        cJSON_AddNumberToObject(s, "n_steps", (double)rs->n_steps);
        steps = cJSON_AddArrayToObject(s, "steps");
        for (size_t k = 0; k < rs->n_steps; k++) {
            cJSON *p = cJSON_CreateObject();

            add_str(p, "id", rs->steps[k].id);
            add_str(p, "action", action_name(rs->steps[k].action));
            add_report_attrs(p, &rs->steps[k]);
            cJSON_AddItemToArray(steps, p);
        }
        cJSON_AddItemToArray(stages, s);
    }
    return rec;
}

/* Size the state from a begin record (the first record of every journal). */
int
drill_apply_begin(struct drill *d, const cJSON *rec, const char *where, struct pd_err *err)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, "runbook");
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(rec, "stages");
    const char *s;
    int rc = 0;
    size_t i = 0;
    const cJSON *st;

    if (!cJSON_IsObject(r) || !cJSON_IsArray(stages))
        return PD_ERR_SET(err, PD_EIO, "%s: begin record without runbook or stages", where);
    if ((rc = drill_json_str(&s, rec, "at", where, err)) != 0)
        return rc;
    d->started_at = pd_dup_or_null(s);
    if ((rc = drill_json_str(&s, rec, "operator", where, err)) != 0)
        return rc;
    d->operator_name = pd_dup_or_null(s);
    if ((rc = drill_json_str(&s, rec, "host", where, err)) != 0)
        return rc;
    d->host = pd_dup_or_null(s);
    if ((rc = drill_json_str(&s, r, "path", where, err)) != 0)
        return rc;
    d->runbook_path = pd_dup_or_null(s);
    if ((rc = drill_json_str(&s, r, "id", where, err)) != 0)
        return rc;
    d->runbook_id = pd_dup_or_null(s);
    if ((rc = drill_json_str(&s, r, "title", where, err)) != 0)
        return rc;
    d->runbook_title = pd_dup_or_null(s);
    if ((rc = drill_json_str(&s, r, "sha256", where, err)) != 0)
        return rc;
    snprintf(d->runbook_sha256, sizeof(d->runbook_sha256), "%s", s != NULL ? s : "");
    if ((rc = drill_json_str(&s, r, "stages_sha256", where, err)) != 0)
        return rc;
    snprintf(d->stages_sha256, sizeof(d->stages_sha256), "%s", s != NULL ? s : "");
    if ((rc = drill_json_int(&d->expected_s, r, "expected_s", 0, where, err)) != 0 ||
        (rc = drill_json_int(&d->rto_target_s, r, "rto_s", 0, where, err)) != 0 ||
        (rc = drill_json_int(&d->rpo_target_s, r, "rpo_s", 0, where, err)) != 0)
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
        if ((rc = drill_json_str(&s, st, "id", where, err)) != 0)
            return rc;
        ss->id = pd_dup_or_null(s);
        if ((rc = drill_json_str(&s, st, "title", where, err)) != 0)
            return rc;
        ss->title = pd_dup_or_null(s);
        if ((rc = drill_json_int(&ss->expected_s, st, "expected_s", 0, where, err)) != 0 ||
            (rc = apply_subdrill(ss, st, where, err)) != 0)
            return rc;
        ss->n_steps = (size_t)cJSON_GetArraySize(steps);
        ss->steps = pd_xcalloc(ss->n_steps ? ss->n_steps : 1, sizeof(*ss->steps));
        cJSON_ArrayForEach(sp, steps)
        {
            struct drill_step_state *ps = &ss->steps[k++];

            if ((rc = drill_json_str(&s, sp, "id", where, err)) != 0)
                return rc;
            ps->id = pd_dup_or_null(s);
            if ((rc = drill_json_str(&s, sp, "action", where, err)) != 0)
                return rc;
            ps->action = pd_dup_or_null(s);
            if ((rc = drill_json_str(&s, sp, "report", where, err)) != 0)
                return rc;
            ps->report_title = pd_dup_or_null(s);
            if ((rc = drill_json_str(&s, sp, "report_json", where, err)) != 0)
                return rc;
            ps->report_json = pd_dup_or_null(s);
        }
    }
    return apply_inputs(d, rec, where, err);
}
