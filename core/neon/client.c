/* neon client: the client's lifetime and one API call through core/http's retry loop. */
#include "neon/client.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "neon/client.intern.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"

int
neon_client_new(struct neon_client **out, const struct neon_config *cfg, struct pd_err *err)
{
    struct neon_client *c;
    const char *host = cfg->host && cfg->host[0] ? cfg->host : NEON_API_HOST_DEFAULT;
    size_t hl;
    int rc;

    *out = NULL;
    if (cfg->api_key == NULL || cfg->api_key[0] == '\0')
        return PD_ERR_SET(err, PD_EUSAGE, "neon: NEON_API_KEY is not set");
    if (cfg->project_id == NULL || cfg->project_id[0] == '\0')
        return PD_ERR_SET(err, PD_EUSAGE, "neon: NEON_PROJECT_ID is not set");
    for (const char *p = cfg->api_key; *p; p++)
        if (*p == '\r' || *p == '\n')
            return PD_ERR_SET(err, PD_EUSAGE, "neon: NEON_API_KEY contains a line break");
    rc = http_check_url(host, err);
    if (rc != 0) {
        pd_err_prefix(err, "neon: NEON_API_HOST: ");
        return rc;
    }
    // the key must never appear anywhere: register it before anything can log
    pd_redact_register(cfg->api_key);
    c = pd_xcalloc(1, sizeof(*c));
    hl = strlen(host);
    while (hl > 0 && host[hl - 1] == '/')
        hl--;
    c->host = pd_xstrndup(host, hl);
    c->auth_header = pd_xasprintf("Authorization: Bearer %s", cfg->api_key);
    c->project_id = pd_xstrdup(cfg->project_id);
    c->project_esc = http_escape(cfg->project_id);
    c->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 6;
    c->backoff_base_s = cfg->backoff_base_s > 0 ? cfg->backoff_base_s : 0.5;
    c->backoff_max_s = cfg->backoff_max_s > 0 ? cfg->backoff_max_s : 8.0;
    c->retry_budget_s = cfg->retry_budget_s > 0 ? cfg->retry_budget_s : 90.0;
    c->timeout_ms = cfg->timeout_ms;
    c->sleep_fn = http_sleep_default;
    c->seed = (unsigned int)(pd_time_wall() * 1000.0) ^ (unsigned int)getpid();
    *out = c;
    return 0;
}

char *
neon_credentials_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

    if (xdg != NULL && xdg[0] == '/')
        return pd_xasprintf("%s/neonctl/credentials.json", xdg);
    if (home != NULL && home[0] != '\0')
        return pd_xasprintf("%s/.config/neonctl/credentials.json", home);
    return NULL;
}

/*
 * Wipe the string members of neonctl's credentials document (one flat
 * object: access_token, refresh_token, id_token, ...) before it is freed.
 */
static void
wipe_json_strings(cJSON *doc)
{
    cJSON *item;

    cJSON_ArrayForEach(item, doc)
    {
        if (cJSON_IsString(item) && item->valuestring != NULL)
            pd_wipe(item->valuestring, strlen(item->valuestring));
    }
}

/*
 * The access_token of neonctl's saved credentials (neonctl auth), read only
 * when the file is private to its owner, as ssh does with its keys. *out is
 * NULL when there is no such file; messages name the file, never the token.
 */
static int
key_from_neonctl(char **out, struct pd_err *err)
{
    char *path = neon_credentials_path(), *text = NULL;
    cJSON *doc = NULL;
    const cJSON *tok;
    struct stat st;
    int rc = 0;

    *out = NULL;
    if (path == NULL || stat(path, &st) != 0)
        goto out; // no file: the caller reports NEON_API_KEY missing
    if ((st.st_mode & 077) != 0) {
        rc = PD_ERR_SET(err, PD_EUSAGE,
                        "neon: %s is readable by others (mode %04o): run chmod 600 %s, "
                        "or set NEON_API_KEY",
                        path, (unsigned int)(st.st_mode & 07777), path);
        goto out;
    }
    if ((rc = pd_read_file(&text, NULL, path, (size_t)1024 * 1024, err)) != 0) {
        pd_err_prefix(err, "neon: ");
        goto out;
    }
    doc = cJSON_Parse(text);
    tok = cJSON_GetObjectItemCaseSensitive(doc, "access_token");
    if (!cJSON_IsString(tok) || tok->valuestring[0] == '\0') {
        rc =
            PD_ERR_SET(err, PD_EUSAGE,
                       "neon: %s has no access_token: run neonctl auth, or set NEON_API_KEY", path);
        goto out;
    }
    pd_redact_register(tok->valuestring);
    *out = pd_xstrdup(tok->valuestring);
    pd_log(PD_LOG_INFO, "neon: using the access token of neonctl's credentials file %s", path);
out:
    pd_free_secret(text); // the file holds the refresh token too
    wipe_json_strings(doc);
    cJSON_Delete(doc);
    free(path);
    return rc;
}

int
neon_client_new_from_env(struct neon_client **out, struct pd_err *err)
{
    struct neon_config cfg = {0};
    char *file_key = NULL;
    const char *v;
    int rc;

    *out = NULL;
    cfg.host = getenv("NEON_API_HOST");
    cfg.api_key = getenv("NEON_API_KEY");
    cfg.project_id = getenv("NEON_PROJECT_ID");
    if (cfg.api_key == NULL || cfg.api_key[0] == '\0') {
        if ((rc = key_from_neonctl(&file_key, err)) != 0)
            return rc;
        cfg.api_key = file_key;
    }
    // test knobs: the fault matrix drives retry storms through the real binary in seconds
    if ((v = getenv("PGDRILL_TEST_NEON_BACKOFF")) != NULL)
        cfg.backoff_base_s = strtod(v, NULL);
    if ((v = getenv("PGDRILL_TEST_NEON_ATTEMPTS")) != NULL)
        cfg.max_attempts = (int)strtol(v, NULL, 10);
    rc = neon_client_new(out, &cfg, err);
    pd_free_secret(file_key);
    return rc;
}

void
neon_client_free(struct neon_client *c)
{
    if (c == NULL)
        return;
    free(c->host);
    if (c->auth_header != NULL) {
        // do not leave the key in freed heap memory
        memset(c->auth_header, 0, strlen(c->auth_header));
        free(c->auth_header);
    }
    free(c->project_id);
    free(c->project_esc);
    free(c);
}

char *
neon_audit_target(const char *host, const char *project_id)
{
    return pd_xasprintf("%s/projects/%s", host && *host ? host : NEON_API_HOST_DEFAULT,
                        project_id ? project_id : "?");
}

const char *
neon_client_project_id(const struct neon_client *c)
{
    return c->project_id;
}

void
neon_client_set_sleep(struct neon_client *c, neon_sleep_fn *fn, void *payload)
{
    c->sleep_fn = fn ? fn : http_sleep_default;
    c->sleep_payload = fn ? payload : NULL;
}

void
neon_client_set_clock(struct neon_client *c, neon_clock_fn *fn, void *payload)
{
    c->clock_fn = fn;
    c->clock_payload = payload;
}

double
neon_client_mono(const struct neon_client *c)
{
    return c->clock_fn ? c->clock_fn(c->clock_payload) : pd_time_mono();
}

long
neon_client_last_status(const struct neon_client *c)
{
    return c->last_status;
}

unsigned long
neon_client_requests_sent(const struct neon_client *c)
{
    return c->requests;
}

/* ---- requests and retries ---------------------------------------------- */

static void
new_request_id(char *buf, size_t size, struct neon_client *c)
{
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
        for (size_t i = 0; i < sizeof(r); i++)
            r[i] = (unsigned char)rand_r(&c->seed);
    }
    if (fd >= 0)
        close(fd);
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(buf, size, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

static int
status_retryable(long status, int is_get)
{
    if (status == 423 || status == 429 || status == 503)
        return 1;
    return is_get && status >= 500 && status <= 599;
}

/* One neon_call across its attempts (the http_exchange payload). */
struct call {
    struct neon_client *c;
    const char *what; /* "GET /projects/..." (redacted) */
    const char *rid;  /* the X-Request-ID sent */
    int is_get;
    double t_start;
    char desc[480]; /* what went wrong with the last attempt */
};

static int
call_prepare(struct http_request *req, int attempt, void *payload, struct pd_err *err)
{
    struct call *k = payload;

    (void)req;
    (void)attempt;
    (void)err;
    k->c->requests++;
    return 0;
}

/* Transport failures are retried for GET only; 423, 429 and 503 always; other 5xx for GET. */
static enum http_verdict
call_judge(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
           void *payload)
{
    struct call *k = payload;
    int retry;

    (void)attempt;
    k->c->last_status = rc == 0 ? resp->status : 0;
    if (rc == 0 && resp->status >= 200 && resp->status <= 299)
        return HTTP_DONE;
    if (rc != 0) {
        retry = k->is_get;
        snprintf(k->desc, sizeof(k->desc), "%.470s", herr->msg);
    } else {
        retry = status_retryable(resp->status, k->is_get);
        neon_json_describe_error(k->desc, sizeof(k->desc), resp, k->rid);
    }
    return retry ? HTTP_RETRY : HTTP_DONE;
}

static void
call_retrying(const struct http_response *resp, int attempt, double delay, void *payload)
{
    struct call *k = payload;

    (void)resp;
    pd_log(PD_LOG_INFO, "neon: %s: %s; retry %d in %.1fs", k->what, k->desc, attempt, delay);
}

static int
call_finish(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
            int retry, void *payload, struct pd_err *err)
{
    struct call *k = payload;

    k->c->last_status = rc == 0 ? resp->status : 0;
    if (rc == PD_EUSAGE)
        return PD_ERR_SET(err, rc, "neon: %s: %s", k->what, herr->msg);
    if (rc == 0 && resp->status >= 200 && resp->status <= 299)
        return 0;
    if (retry)
        return PD_ERR_SET(err, PD_ESERVICE, "neon: %s: %s; gave up after %d attempt%s in %.1fs",
                          k->what, k->desc, attempt, attempt == 1 ? "" : "s",
                          neon_client_mono(k->c) - k->t_start);
    return PD_ERR_SET(err, PD_ESERVICE, "neon: %s: %s%s", k->what, k->desc,
                      rc == 0 && resp->status == 401 ? "; check NEON_API_KEY" : "");
}

static const struct http_exchange_ops call_ops = {
    .prepare = call_prepare,
    .judge = call_judge,
    .retrying = call_retrying,
    .finish = call_finish,
};

/*
 * One API call with retries. path starts with "/"; body may be NULL.
 * On 2xx with a JSON body *out holds it (caller deletes); *status gets the
 * final status. A 2xx without a body leaves *out NULL.
 */
int
neon_call(struct neon_client *c, const char *method, const char *path, const cJSON *body,
          cJSON **out, long *status, struct pd_err *err)
{
    char *url = pd_xasprintf("%s%s", c->host, path);
    char *shown_path = pd_redact(path);
    char *json = body ? cJSON_PrintUnformatted(body) : NULL;
    const char *headers[4];
    char rid_header[80], rid[40], what[300];
    struct http_response resp;
    struct http_request req = {0};
    struct call k = {.c = c, .what = what, .rid = rid, .t_start = neon_client_mono(c)};
    struct http_retry_policy policy = {
        .max_attempts = c->max_attempts,
        .backoff_base_s = c->backoff_base_s,
        .backoff_max_s = c->backoff_max_s,
        .budget_s = c->retry_budget_s,
        .honour_retry_after = 1,
        .sleep = c->sleep_fn,
        .sleep_payload = c->sleep_payload,
    };
    int rc;

    *out = NULL;
    *status = 0;
    k.is_get = strcmp(method, "GET") == 0;
    http_response_init(&resp);
    new_request_id(rid, sizeof(rid), c);
    snprintf(rid_header, sizeof(rid_header), "X-Request-ID: %s", rid);
    headers[0] = c->auth_header;
    headers[1] = "Accept: application/json";
    headers[2] = rid_header;
    headers[3] = "Content-Type: application/json";
    req.method = method;
    req.url = url;
    req.headers = headers;
    req.n_headers = json ? 4 : 3;
    req.body = json;
    req.body_len = json ? strlen(json) : 0;
    req.timeout_ms = c->timeout_ms;
    snprintf(what, sizeof(what), "%s %.280s", method, shown_path);

    rc = http_exchange(NULL, &resp, &req, &policy, &call_ops, &k, err);
    if (rc != 0)
        goto out;
    *status = resp.status;
    pd_log(PD_LOG_DEBUG, "neon: %s -> %ld (request_id %s)", what, resp.status,
           resp.request_id ? resp.request_id : rid);
    if (resp.body.len > 0) {
        *out = cJSON_ParseWithLength(resp.body.data, resp.body.len);
        if (*out == NULL) {
            rc = PD_ERR_SET(err, PD_ESERVICE, "neon: %s: HTTP %ld: response is not json (%s)", what,
                            resp.status, resp.content_type ? resp.content_type : "no content type");
            goto out;
        }
    }
    rc = 0;
out:
    http_response_free(&resp);
    free(url);
    free(shown_path);
    if (json != NULL)
        cJSON_free(json);
    return rc;
}

/* neon_call that requires a JSON object body. */
int
neon_call_obj(struct neon_client *c, const char *method, const char *path, const cJSON *body,
              cJSON **out, struct pd_err *err)
{
    long status;
    int rc = neon_call(c, method, path, body, out, &status, err);

    if (rc == 0 && !cJSON_IsObject(*out)) {
        char *shown = pd_redact(path);

        rc = PD_ERR_SET(err, PD_ESERVICE, "neon: %s %s: HTTP %ld: expected a json object", method,
                        shown, status);
        free(shown);
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* "/projects/<pid>" + printf(fmt) with each %s argument escaped by the caller. */
char *
neon_project_path(struct neon_client *c, const char *suffix)
{
    return pd_xasprintf("/projects/%s%s", c->project_esc, suffix);
}

int
neon_check_arg(const char *v, const char *name, const char *fn, struct pd_err *err)
{
    if (v == NULL || v[0] == '\0')
        return PD_ERR_SET(err, PD_EUSAGE, "neon: %s: %s is required", fn, name);
    return 0;
}
