/* verify/summary: a verification report as JSON and as its closing lines. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "compliance/compliance.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "verify/verify.h"

static void
add_checks(cJSON *checks, const struct verify_report *r)
{
    for (size_t i = 0; i < r->n_checks; i++) {
        cJSON *c = cJSON_CreateObject();

        cJSON_AddStringToObject(c, "name", r->checks[i].name);
        cJSON_AddStringToObject(c, "status", verify_status_name(r->checks[i].status));
        cJSON_AddStringToObject(c, "detail", r->checks[i].detail);
        cJSON_AddItemToArray(checks, c);
    }
}

static void
add_backups(cJSON *backups, const struct verify_report *r, double now)
{
    for (size_t i = 0; i < r->shown; i++) {
        const struct verify_backup *b = &r->backups.items[i];
        cJSON *o = cJSON_CreateObject();
        char ts[40];

        pd_time_format(ts, sizeof(ts), b->time);
        cJSON_AddStringToObject(o, "key", b->key);
        cJSON_AddNumberToObject(o, "size", (double)b->size);
        cJSON_AddStringToObject(o, "time", ts);
        cJSON_AddStringToObject(o, "time_from", b->time_from_key ? "key" : "last_modified");
        cJSON_AddNumberToObject(o, "age_s", (double)(long)(now - b->time));
        cJSON_AddItemToArray(backups, o);
    }
}

/* The compliance summary, as report.json has it: name, status, expected, detail. */
static void
add_compliance(cJSON *root, const struct verify_report *r)
{
    cJSON *compliance = cJSON_AddArrayToObject(root, "compliance");

    for (size_t i = 0; i < r->n_compliance; i++) {
        const struct compliance_result *cr = &r->compliance[i];
        cJSON *c = cJSON_CreateObject();

        cJSON_AddStringToObject(c, "name", cr->name);
        cJSON_AddStringToObject(c, "status", compliance_status_name(cr->status));
        cJSON_AddStringToObject(c, "expected", cr->expected);
        cJSON_AddStringToObject(c, "detail", cr->detail);
        cJSON_AddItemToArray(compliance, c);
    }
}

/* The Neon project and the newest backup's stream, when there are any. */
static void
add_neon_and_stream(cJSON *root, const struct verify_report *r)
{
    if (r->have_project) {
        cJSON *n = cJSON_AddObjectToObject(root, "neon");

        cJSON_AddStringToObject(n, "project_id", r->project_id ? r->project_id : "");
        if (r->default_branch)
            cJSON_AddStringToObject(n, "default_branch", r->default_branch);
        cJSON_AddNumberToObject(n, "history_window_s", (double)r->history_window_s);
    }
    if (r->sha256[0] || r->stream_bytes) {
        cJSON *s = cJSON_AddObjectToObject(root, "stream");

        cJSON_AddStringToObject(s, "key", r->backups.n ? r->backups.items[0].key : "");
        cJSON_AddNumberToObject(s, "bytes", (double)r->stream_bytes);
        cJSON_AddNumberToObject(s, "uncompressed_bytes", (double)r->stream_uncompressed);
        cJSON_AddNumberToObject(s, "seconds", r->stream_seconds);
        cJSON_AddStringToObject(s, "sha256", r->sha256);
    }
}

char *
verify_report_json(const struct verify_report *r, const char *uri, double now, int code)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *checks = cJSON_AddArrayToObject(root, "checks");
    cJSON *backups = cJSON_AddArrayToObject(root, "backups");
    char *text;

    cJSON_AddBoolToObject(root, "ok", code == 0);
    cJSON_AddNumberToObject(root, "exit_code", code);
    cJSON_AddStringToObject(root, "uri", uri);
    add_checks(checks, r);
    add_backups(backups, r, now);
    cJSON_AddNumberToObject(root, "backups_total", (double)r->backups.n);
    add_compliance(root, r);
    add_neon_and_stream(root, r);
    text = cJSON_Print(root);
    cJSON_Delete(root);
    return text ? text : pd_xstrdup("null");
}

char *
verify_report_text(const struct verify_report *r, int code)
{
    size_t failed = 0, c_failed = 0, c_flagged = 0;
    struct pd_buf b;

    for (size_t i = 0; i < r->n_checks; i++)
        failed += r->checks[i].status != VERIFY_PASS;
    for (size_t i = 0; i < r->n_compliance; i++) {
        c_failed += r->compliance[i].status == COMPLIANCE_FAILED;
        c_flagged += r->compliance[i].status == COMPLIANCE_FLAGGED;
    }
    pd_buf_init(&b, 0);
    // two short lines: the appends cannot reach the buffer's cap
    pd_buf_appendf(&b, NULL, "compliance: %zu passed, %zu failed, %zu flagged\n",
                   r->n_compliance - c_failed - c_flagged, c_failed, c_flagged);
    if (code == 0)
        pd_buf_appendf(&b, NULL, "verification passed: %zu checks\n", r->n_checks);
    else if (failed == 0)
        pd_buf_appendf(&b, NULL, "verification FAILED: %zu compliance check%s failed\n", c_failed,
                       c_failed == 1 ? "" : "s");
    else
        pd_buf_appendf(&b, NULL, "verification FAILED: %zu of %zu checks did not pass%s\n", failed,
                       r->n_checks, code == 3 ? " (a service failed)" : "");
    return pd_buf_steal(&b);
}
