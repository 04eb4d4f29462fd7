#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "compliance/compliance.h"
#include "drill/drill.h"
#include "http/http.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "verify/verify.h"

int
notify_post(const char *webhook_url, const char *body, size_t len, struct pd_err *err)
{
    struct http_response resp;
    const char *headers[] = {"Content-Type: application/json"};
    struct http_request req = {
        .method = "POST",
        .url = webhook_url,
        .headers = headers,
        .n_headers = 1,
        .body = body,
        .body_len = len,
        .timeout_ms = 15000,
    };
    int rc;

    // the URL is the credential: keep it out of every message
    pd_redact_register(webhook_url);
    http_response_init(&resp);
    rc = http_request(&resp, &req, err);
    if (rc == 0 && (resp.status < 200 || resp.status > 299))
        rc = PD_ERR_SET(err, PD_ESERVICE, "slack webhook: HTTP %ld", resp.status);
    else if (rc != 0)
        pd_err_prefix(err, "slack webhook: ");
    http_response_free(&resp);
    return rc;
}

char *
notify_failure_json(const char *what, const char *detail, const char *report)
{
    struct pd_buf b;
    char host[256] = "";
    cJSON *root = cJSON_CreateObject();
    char *text, *redacted, *json;

    if (gethostname(host, sizeof(host) - 1) != 0)
        snprintf(host, sizeof(host), "?");
    pd_buf_init(&b, (size_t)64 * 1024);
    (void)pd_buf_appendf(&b, NULL, ":x: %s failed on %s", what, host);
    if (detail != NULL && detail[0] != '\0')
        (void)pd_buf_appendf(&b, NULL, "\n%s", detail);
    if (report != NULL && report[0] != '\0')
        (void)pd_buf_appendf(&b, NULL, "\nReport: %s", report);
    text = pd_buf_steal(&b);
    redacted = pd_redact(text);
    cJSON_AddStringToObject(root, "text", redacted);
    json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    free(redacted);
    free(text);
    return json != NULL ? json : pd_xstrdup("{}");
}

int
notify_failure(const char *webhook_url, const char *what, const char *detail, const char *report,
               struct pd_err *err)
{
    char *body;
    int rc;

    pd_redact_register(webhook_url);
    body = notify_failure_json(what, detail, report);
    rc = notify_post(webhook_url, body, strlen(body), err);
    free(body);
    return rc;
}

int
notify_verify_failure(const char *webhook_url, const struct verify_report *r, const char *failed,
                      const char *uri, const char *home, struct pd_err *err)
{
    struct pd_buf b;
    char *detail, *where;
    int rc;

    pd_buf_init(&b, (size_t)16 * 1024);
    (void)pd_buf_appendf(&b, NULL, "Backups under %s; checks that did not pass %s:", uri, failed);
    for (size_t i = 0; i < r->n_checks; i++)
        if (r->checks[i].status == VERIFY_FAIL || r->checks[i].status == VERIFY_ERROR)
            (void)pd_buf_appendf(&b, NULL, "\n- %s: %s", r->checks[i].name, r->checks[i].detail);
    for (size_t i = 0; i < r->n_compliance; i++)
        if (r->compliance[i].status == COMPLIANCE_FAILED)
            (void)pd_buf_appendf(&b, NULL, "\n- %s%s: %s", VERIFY_COMPLIANCE_PREFIX,
                                 r->compliance[i].name, r->compliance[i].detail);
    detail = pd_buf_steal(&b);
    where = pd_xasprintf("the output of `pgdrill verify`; %s/status/verify.json and %s/audit.log",
                         home, home);
    rc = notify_failure(webhook_url, "Monthly backup verification (pgdrill verify)", detail, where,
                        err);
    free(where);
    free(detail);
    return rc;
}

int
notify_drill_failure(const char *webhook_url, const struct drill *d, const char *error,
                     int in_folder, struct pd_err *err)
{
    const char *stage = NULL;
    char *what, *detail, *report;
    int rc;

    if (error == NULL)
        error = "";
    for (size_t i = 0; i < d->n_stages && stage == NULL; i++)
        if (d->stages[i].status == STEP_FAILED)
            stage = d->stages[i].title ? d->stages[i].title : d->stages[i].id;
    what = pd_xasprintf("Drill %s (runbook %s)", d->id, d->runbook_id ? d->runbook_id : "?");
    detail = pd_xasprintf("outcome %s%s%s%s%s", d->outcome ? d->outcome : "unfinished",
                          stage ? "; failed stage: " : "", stage ? stage : "", error[0] ? "\n" : "",
                          error);
    report = in_folder ? pd_xasprintf("%s/report.md (and report.json)", d->dir)
                       : pd_xasprintf("not written; `pgdrill report show %s` writes it", d->id);
    rc = notify_failure(webhook_url, what, detail, report, err);
    free(report);
    free(detail);
    free(what);
    return rc;
}

const char *
notify_webhook(const char *flag)
{
    const char *v = flag != NULL ? flag : getenv("SLACK_WEBHOOK_URL");

    return v != NULL && v[0] != '\0' ? v : NULL;
}
