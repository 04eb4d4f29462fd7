/* status: the facts as lines for people, as JSON and as Prometheus gauges. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "status/status.h"
#include "timeline/lines.h"
#include "verify/verify.h"

#define DAY 86400.0

static const struct status_drill *
quarterly(const struct status *s)
{
    for (size_t i = 0; i < s->n_drills; i++)
        if (strcmp(s->drills[i].runbook, STATUS_QUARTERLY_RUNBOOK) == 0)
            return &s->drills[i];
    return NULL;
}

/* "2026-12-07T03:30:01Z (2h 3m ago)" */
static void
when(char *buf, size_t size, double t, double now)
{
    char stamp[40], age[32];

    pd_time_format(stamp, sizeof(stamp), t);
    verify_format_age(age, sizeof(age), now - t);
    snprintf(buf, size, "%.19sZ (%s ago)", stamp, age);
}

static const char *
verdict(int is_overdue, double limit_s, char *buf, size_t size)
{
    if (!is_overdue)
        return "ok";
    snprintf(buf, size, "OVERDUE (limit %g days)", limit_s / DAY);
    return buf;
}

static void
text_backup(struct pd_buf *b, struct line_marks *m, const struct status *s)
{
    char w[96], sz[32], v[64];

    if (s->backup_overdue)
        lines_mark(m, b, LINE_WARN);
    if (s->backup_key == NULL) {
        pd_buf_appendf(b, NULL, "backup:        never: %s\n",
                       verdict(1, s->backup_limit_s, v, sizeof(v)));
        return;
    }
    when(w, sizeof(w), s->backup_at, s->now);
    verify_format_size(sz, sizeof(sz), s->backup_size);
    pd_buf_appendf(b, NULL, "backup:        %s %s, %s, %s%s (%s): %s\n", w, s->backup_key, sz,
                   s->backup_verified ? "verified" : "not verified",
                   strcmp(s->backup_source, "s3") != 0 ? ""
                   : s->backup_sha256                  ? ", sha256 recorded"
                                                       : ", no sha256 recorded",
                   s->backup_source, verdict(s->backup_overdue, s->backup_limit_s, v, sizeof(v)));
}

static void
text_verify(struct pd_buf *b, struct line_marks *m, const struct status *s)
{
    char w[96], v[64];

    if (s->verify_overdue)
        lines_mark(m, b, LINE_WARN);
    if (s->verify_at < 0) {
        pd_buf_appendf(b, NULL, "verification:  never: %s\n",
                       verdict(1, s->verify_limit_s, v, sizeof(v)));
        return;
    }
    when(w, sizeof(w), s->verify_at, s->now);
    pd_buf_appendf(b, NULL, "verification:  %s %s%s%s", w, s->verify_verdict,
                   s->verify_detail ? " " : "", s->verify_detail ? s->verify_detail : "");
    if (s->verify_last_success >= 0 && strcmp(s->verify_verdict, "passed") != 0) {
        when(w, sizeof(w), s->verify_last_success, s->now);
        pd_buf_appendf(b, NULL, "; last passed %s", w);
    }
    pd_buf_appendf(b, NULL, ": %s\n", verdict(s->verify_overdue, s->verify_limit_s, v, sizeof(v)));
}

static void
text_drill(struct pd_buf *b, struct line_marks *m, const struct status *s,
           const struct status_drill *d)
{
    int is_q = strcmp(d->runbook, STATUS_QUARTERLY_RUNBOOK) == 0;
    char w[96], v[64], rto[32] = "-", rpo[32] = "";

    if (is_q && s->drill_overdue)
        lines_mark(m, b, LINE_WARN);
    when(w, sizeof(w), d->at, s->now);
    if (d->rto_s >= 0)
        pd_time_human(rto, sizeof(rto), d->rto_s);
    if (d->rpo_s >= 0)
        pd_time_human(rpo, sizeof(rpo), d->rpo_s);
    pd_buf_appendf(b, NULL, "drill %s: %s %s %s, RTO %s%s%s%s", d->runbook, w, d->drill_id,
                   d->outcome, rto, rpo[0] ? ", RPO " : "", rpo, d->remote ? " (remote)" : "");
    if (is_q)
        pd_buf_appendf(b, NULL, ": %s", verdict(s->drill_overdue, s->drill_limit_s, v, sizeof(v)));
    pd_buf_appendf(b, NULL, "\n");
}

/* The lines, with the overdue ones and the verdict marked in m (may be NULL). */
static char *
text_marked(const struct status *s, struct line_marks *m)
{
    struct pd_buf b;
    char v[64];
    int n = s->backup_overdue + s->verify_overdue + s->drill_overdue;

    pd_buf_init(&b, 0);
    text_backup(&b, m, s);
    text_verify(&b, m, s);
    if (quarterly(s) == NULL) {
        lines_mark(m, &b, LINE_WARN);
        pd_buf_appendf(&b, NULL, "drill %s: never: %s\n", STATUS_QUARTERLY_RUNBOOK,
                       verdict(1, s->drill_limit_s, v, sizeof(v)));
    }
    for (size_t i = 0; i < s->n_drills; i++)
        text_drill(&b, m, s, &s->drills[i]);
    for (size_t i = 0; i < s->n_problems; i++) {
        lines_mark(m, &b, LINE_WARN);
        pd_buf_appendf(&b, NULL, "problem: %s\n", s->problems[i]);
    }
    lines_mark(m, &b, LINE_HEADING);
    if (n == 0)
        pd_buf_appendf(&b, NULL, "status: nothing overdue\n");
    else
        pd_buf_appendf(&b, NULL, "status: %d overdue\n", n);
    return pd_buf_steal(&b);
}

char *
status_text(const struct status *s)
{
    return text_marked(s, NULL);
}

void
status_render_lines(struct lines *out, const struct status *s)
{
    struct line_marks m = {0};
    char *text = text_marked(s, &m);

    lines_split(out, text, &m, true);
    lines_marks_clear(&m);
    free(text);
}

/* ---- JSON ------------------------------------------------------------------------- */

static void
add_when(cJSON *o, const char *name, double t)
{
    char stamp[40];

    if (t < 0) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    pd_time_format(stamp, sizeof(stamp), t);
    cJSON_AddStringToObject(o, name, stamp);
}

static void
add_num(cJSON *o, const char *name, double v)
{
    if (v < 0)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, v);
}

static void
add_str(cJSON *o, const char *name, const char *v)
{
    if (v == NULL)
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddStringToObject(o, name, v);
}

char *
status_json(const struct status *s)
{
    cJSON *root = cJSON_CreateObject(), *o, *a;
    const struct status_drill *q = quarterly(s);
    char *text;

    add_when(root, "now", s->now);
    cJSON_AddNumberToObject(root, "exit_code", status_exit_code(s));
    cJSON_AddBoolToObject(root, "overdue", status_exit_code(s) != 0);
    o = cJSON_AddObjectToObject(root, "backup");
    add_when(o, "last_at", s->backup_key ? s->backup_at : -1);
    add_str(o, "key", s->backup_key);
    add_num(o, "size", s->backup_key ? (double)s->backup_size : -1);
    cJSON_AddBoolToObject(o, "verified", s->backup_verified);
    cJSON_AddBoolToObject(o, "sha256_recorded", s->backup_sha256);
    add_str(o, "source", s->backup_source);
    cJSON_AddNumberToObject(o, "limit_days", s->backup_limit_s / DAY);
    cJSON_AddBoolToObject(o, "overdue", s->backup_overdue);
    o = cJSON_AddObjectToObject(root, "verification");
    add_when(o, "last_at", s->verify_at);
    add_str(o, "verdict", s->verify_verdict);
    add_str(o, "detail", s->verify_detail);
    add_when(o, "last_success_at", s->verify_last_success);
    add_num(o, "duration_s", s->verify_at >= 0 ? s->verify_duration_s : -1);
    cJSON_AddNumberToObject(o, "limit_days", s->verify_limit_s / DAY);
    cJSON_AddBoolToObject(o, "overdue", s->verify_overdue);
    o = cJSON_AddObjectToObject(root, "quarterly_drill");
    cJSON_AddStringToObject(o, "runbook", STATUS_QUARTERLY_RUNBOOK);
    add_when(o, "last_success_at", q ? q->last_success : -1);
    cJSON_AddNumberToObject(o, "limit_days", s->drill_limit_s / DAY);
    cJSON_AddBoolToObject(o, "overdue", s->drill_overdue);
    a = cJSON_AddArrayToObject(root, "drills");
    for (size_t i = 0; i < s->n_drills; i++) {
        const struct status_drill *d = &s->drills[i];
        cJSON *e = cJSON_CreateObject();

        cJSON_AddStringToObject(e, "runbook", d->runbook);
        add_str(e, "drill_id", d->drill_id);
        add_str(e, "outcome", d->outcome);
        add_when(e, "at", d->at);
        add_when(e, "last_success_at", d->last_success);
        add_num(e, "duration_s", d->duration_s);
        add_num(e, "rto_s", d->rto_s);
        add_num(e, "rpo_s", d->rpo_s);
        cJSON_AddBoolToObject(e, "remote", d->remote);
        cJSON_AddItemToArray(a, e);
    }
    a = cJSON_AddArrayToObject(root, "problems");
    for (size_t i = 0; i < s->n_problems; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(s->problems[i]));
    text = cJSON_Print(root);
    cJSON_Delete(root);
    return text ? text : pd_xstrdup("null");
}

/* ---- Prometheus text format --------------------------------------------------------- */

static void
gauge(struct pd_buf *b, const char *name, const char *help)
{
    pd_buf_appendf(b, NULL, "# HELP pgdrill_%s %s\n# TYPE pgdrill_%s gauge\n", name, help, name);
}

/* A label value: backslash, double quote and newline escaped. */
static void
label(char *buf, size_t size, const char *v)
{
    size_t o = 0;

    for (; *v && o + 3 < size; v++) {
        if (*v == '\\' || *v == '"')
            buf[o++] = '\\';
        if (*v == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
            continue;
        }
        buf[o++] = *v;
    }
    buf[o] = '\0';
}

static void
metrics_drills(struct pd_buf *b, const struct status *s)
{
    static const struct {
        const char *name, *help;
        size_t offset;
    } rows[] = {
        {"drill_last_timestamp_seconds", "When the last drill of the runbook ended.",
         offsetof(struct status_drill, at)},
        {"drill_last_success_timestamp_seconds",
         "When the last passing drill of the runbook ended.",
         offsetof(struct status_drill, last_success)},
        {"drill_last_duration_seconds", "How long the last drill of the runbook took.",
         offsetof(struct status_drill, duration_s)},
        {"drill_last_rto_seconds", "The RTO the last drill of the runbook achieved.",
         offsetof(struct status_drill, rto_s)},
        {"drill_last_rpo_seconds", "The RPO the last drill of the runbook achieved.",
         offsetof(struct status_drill, rpo_s)},
    };

    char rb[256];

    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        gauge(b, rows[r].name, rows[r].help);
        for (size_t i = 0; i < s->n_drills; i++) {
            double v =
                *(const double *)(const void *)((const char *)&s->drills[i] + rows[r].offset);

            label(rb, sizeof(rb), s->drills[i].runbook);
            if (v >= 0)
                pd_buf_appendf(b, NULL, "pgdrill_%s{runbook=\"%s\"} %.3f\n", rows[r].name, rb, v);
        }
    }
    gauge(b, "drill_last_passed", "1 when the last drill of the runbook passed.");
    for (size_t i = 0; i < s->n_drills; i++) {
        label(rb, sizeof(rb), s->drills[i].runbook);
        pd_buf_appendf(b, NULL, "pgdrill_drill_last_passed{runbook=\"%s\"} %d\n", rb,
                       strcmp(s->drills[i].outcome, "passed") == 0);
    }
}

char *
status_metrics(const struct status *s)
{
    struct pd_buf b;
    const struct status_drill *q = quarterly(s);
    int has_verify = s->verify_at >= 0;

    pd_buf_init(&b, 0);
    gauge(&b, "backup_last_success_timestamp_seconds", "When the newest weekly backup was taken.");
    pd_buf_appendf(&b, NULL, "pgdrill_backup_last_success_timestamp_seconds %.3f\n",
                   s->backup_key ? s->backup_at : 0);
    gauge(&b, "backup_last_size_bytes", "Size of the newest weekly backup.");
    pd_buf_appendf(&b, NULL, "pgdrill_backup_last_size_bytes %lu\n",
                   (unsigned long)(s->backup_key ? s->backup_size : 0));
    gauge(&b, "backup_last_verified", "1 when the newest weekly backup was verified.");
    pd_buf_appendf(&b, NULL, "pgdrill_backup_last_verified %d\n", s->backup_verified);
    if (s->backup_duration_s >= 0) {
        gauge(&b, "backup_last_duration_seconds", "How long the newest weekly backup took.");
        pd_buf_appendf(&b, NULL, "pgdrill_backup_last_duration_seconds %.3f\n",
                       s->backup_duration_s);
    }
    gauge(&b, "verify_last_timestamp_seconds", "When the last verification ran (0: never).");
    pd_buf_appendf(&b, NULL, "pgdrill_verify_last_timestamp_seconds %.3f\n",
                   has_verify ? s->verify_at : 0);
    gauge(&b, "verify_last_success_timestamp_seconds", "When the last passing verification ran.");
    pd_buf_appendf(&b, NULL, "pgdrill_verify_last_success_timestamp_seconds %.3f\n",
                   s->verify_last_success >= 0 ? s->verify_last_success : 0);
    gauge(&b, "verify_last_passed", "1 when the last verification passed.");
    pd_buf_appendf(&b, NULL, "pgdrill_verify_last_passed %d\n",
                   has_verify && strcmp(s->verify_verdict, "passed") == 0);
    if (has_verify && s->verify_duration_s >= 0) {
        gauge(&b, "verify_last_duration_seconds", "How long the last verification took.");
        pd_buf_appendf(&b, NULL, "pgdrill_verify_last_duration_seconds %.3f\n",
                       s->verify_duration_s);
    }
    metrics_drills(&b, s);
    gauge(&b, "quarterly_drill_last_success_timestamp_seconds",
          "When the last passing quarterly drill ended (0: never).");
    pd_buf_appendf(&b, NULL, "pgdrill_quarterly_drill_last_success_timestamp_seconds %.3f\n",
                   q && q->last_success >= 0 ? q->last_success : 0);
    gauge(&b, "overdue", "1 when the procedure is overdue (or never done).");
    pd_buf_appendf(&b, NULL,
                   "pgdrill_overdue{procedure=\"backup\"} %d\n"
                   "pgdrill_overdue{procedure=\"verification\"} %d\n"
                   "pgdrill_overdue{procedure=\"quarterly-drill\"} %d\n",
                   s->backup_overdue, s->verify_overdue, s->drill_overdue);
    gauge(&b, "status_timestamp_seconds", "When pgdrill status gathered these facts.");
    pd_buf_appendf(&b, NULL, "pgdrill_status_timestamp_seconds %.3f\n", s->now);
    gauge(&b, "status_problems",
          "Sources pgdrill status could not read (S3, a local record); 0 when all were read.");
    pd_buf_appendf(&b, NULL, "pgdrill_status_problems %zu\n", s->n_problems);
    return pd_buf_steal(&b);
}
