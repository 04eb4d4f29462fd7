#include "notify/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"

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

const char *
notify_webhook(const char *flag)
{
    const char *v = flag != NULL ? flag : getenv("SLACK_WEBHOOK_URL");

    return v != NULL && v[0] != '\0' ? v : NULL;
}
