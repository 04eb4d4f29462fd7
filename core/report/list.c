/*
 * report list: the drills under $PGDRILL_HOME and, for a training drill, its
 * grade as report.json keeps it (report.h: report_entries_load).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "report/report.h"

/* report.json is small; a larger one is not ours */
#define REPORT_JSON_MAX (16 << 20)

/* A count of the grade, when present and not zero, as "missing 12". */
static void
grade_count(struct pd_buf *b, const cJSON *o, const char *key, const char *label)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    struct pd_err ignored;

    if (cJSON_IsNumber(v) && v->valuedouble > 0)
        (void)pd_buf_appendf(b, &ignored, "%s%s %.0f", b->len > 0 ? ", " : "", label,
                             v->valuedouble);
}

char *
report_training_grade(const char *training_json)
{
    cJSON *o = cJSON_Parse(training_json != NULL ? training_json : "");
    const cJSON *v;
    struct pd_buf b;
    struct pd_err ignored;

    pd_buf_init(&b, 0);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "passed"))) {
        cJSON_Delete(o);
        return pd_xstrdup("100 %");
    }
    grade_count(&b, o, "missing", "missing");
    grade_count(&b, o, "wrong", "wrong");
    grade_count(&b, o, "collateral", "collateral");
    grade_count(&b, o, "other_changed", "other changed");
    v = cJSON_GetObjectItemCaseSensitive(o, "not_back");
    if (cJSON_IsString(v) && v->valuestring[0] != '\0')
        (void)pd_buf_appendf(&b, &ignored, "%snot back %s", b.len > 0 ? ", " : "", v->valuestring);
    cJSON_Delete(o);
    if (b.len == 0) {
        pd_buf_free(&b);
        return pd_xstrdup("failed");
    }
    return pd_buf_steal(&b);
}

/* report.json's "training" object as text, or NULL (no report yet, or not a training drill). */
static char *
training_of(const char *dir)
{
    char *path = pd_xasprintf("%s/report.json", dir), *text = NULL, *out = NULL;
    size_t len = 0;
    struct pd_err err;
    cJSON *j = NULL;
    const cJSON *t;

    if (pd_read_file(&text, &len, path, REPORT_JSON_MAX, &err) == 0 &&
        (j = cJSON_Parse(text)) != NULL &&
        cJSON_IsObject(t = cJSON_GetObjectItemCaseSensitive(j, "training"))) {
        char *s = cJSON_PrintUnformatted(t);

        out = s != NULL ? pd_xstrdup(s) : NULL;
        cJSON_free(s);
    }
    cJSON_Delete(j);
    free(text);
    free(path);
    return out;
}

static void
entry_fill(struct report_entry *e, const struct drill *d)
{
    e->runbook = pd_xstrdup(d->runbook_id != NULL ? d->runbook_id : "?");
    e->started_at = d->started_at != NULL ? pd_xstrdup(d->started_at) : NULL;
    e->outcome = d->outcome != NULL ? pd_xstrdup(d->outcome) : NULL;
    // the same value as report.json's rto_s, not only a measured one
    e->rto_s = drill_rto_achieved(d);
    e->rpo_s = d->rpo_s;
    e->training = training_of(d->dir);
    if (e->training != NULL)
        e->grade = report_training_grade(e->training);
}

int
report_entries_load(struct report_entry **out, size_t *n_out, const char *home, struct pd_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    struct report_entry *v;
    int rc;

    *out = NULL;
    *n_out = 0;
    if ((rc = drill_list(&ids, &n, home, err)) != 0)
        return rc;
    v = pd_xcalloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        struct drill *d = NULL;
        struct pd_err e2;

        pd_err_clear(&e2);
        v[i].id = ids[i];
        if (drill_open(&d, home, ids[i], false, &e2) != 0)
            v[i].error = pd_xstrdup(e2.msg);
        else
            entry_fill(&v[i], d);
        drill_free(d);
    }
    free(ids);
    *out = v;
    *n_out = n;
    return 0;
}

static void
add_str_or_null(cJSON *o, const char *key, const char *s)
{
    if (s != NULL)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

static void
add_secs_or_null(cJSON *o, const char *key, double s)
{
    if (s >= 0)
        cJSON_AddNumberToObject(o, key, (double)(long long)(s * 1000.0 + 0.5) / 1000.0);
    else
        cJSON_AddNullToObject(o, key);
}

char *
report_entries_json(const struct report_entry *v, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    char *text, *out;

    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject(), *t;

        cJSON_AddStringToObject(o, "id", v[i].id);
        if (v[i].error != NULL) {
            cJSON_AddStringToObject(o, "error", v[i].error);
        } else {
            add_str_or_null(o, "runbook", v[i].runbook);
            add_str_or_null(o, "started_at", v[i].started_at);
            add_str_or_null(o, "outcome", v[i].outcome);
            add_secs_or_null(o, "rto_s", v[i].rto_s);
            add_secs_or_null(o, "rpo_s", v[i].rpo_s);
            add_str_or_null(o, "grade", v[i].grade);
            t = v[i].training != NULL ? cJSON_Parse(v[i].training) : NULL;
            if (t != NULL)
                cJSON_AddItemToObject(o, "training", t);
            else
                cJSON_AddNullToObject(o, "training");
        }
        cJSON_AddItemToArray(a, o);
    }
    text = cJSON_Print(a);
    cJSON_Delete(a);
    out = pd_xasprintf("%s\n", text != NULL ? text : "[]");
    cJSON_free(text);
    return out;
}

void
report_entries_free(struct report_entry *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i].id);
        free(v[i].error);
        free(v[i].runbook);
        free(v[i].started_at);
        free(v[i].outcome);
        free(v[i].grade);
        free(v[i].training);
    }
    free(v);
}
