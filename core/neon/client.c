#include "neon/client.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "neon/client.intern.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"

struct neon_client {
    char *host;        /* no trailing slash */
    char *auth_header; /* "Authorization: Bearer KEY": never logged */
    char *project_id;
    char *project_esc;
    int max_attempts;
    double backoff_base_s;
    double backoff_max_s;
    double retry_budget_s;
    long timeout_ms;
    neon_sleep_fn *sleep_fn;
    void *sleep_payload;
    neon_clock_fn *clock_fn;
    void *clock_payload;
    unsigned long requests;
    long last_status;
    unsigned int seed;
};

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

int
neon_client_new_from_env(struct neon_client **out, struct pd_err *err)
{
    struct neon_config cfg = {0};
    const char *v;

    cfg.host = getenv("NEON_API_HOST");
    cfg.api_key = getenv("NEON_API_KEY");
    cfg.project_id = getenv("NEON_PROJECT_ID");
    // test knobs: the fault matrix drives retry storms through the real binary in seconds
    if ((v = getenv("PGDRILL_TEST_NEON_BACKOFF")) != NULL)
        cfg.backoff_base_s = strtod(v, NULL);
    if ((v = getenv("PGDRILL_TEST_NEON_ATTEMPTS")) != NULL)
        cfg.max_attempts = (int)strtol(v, NULL, 10);
    return neon_client_new(out, &cfg, err);
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

static double
mono(const struct neon_client *c)
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

/* ---- JSON to structs ---------------------------------------------------- */

static char *
jstr(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) && v->valuestring ? pd_xstrdup(v->valuestring) : NULL;
}

static long long
jint(const cJSON *obj, const char *name, long long dflt)
{
    static const double limit = 9223372036854775808.0; /* 2^63 */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    // a number past long long's range (1e300) cannot be converted: undefined behaviour
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= -limit && v->valuedouble < limit))
        return dflt;
    return (long long)v->valuedouble;
}

static int
jbool(const cJSON *obj, const char *name)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, name));
}

void
neon_project_clear(struct neon_project *p)
{
    if (p == NULL)
        return;
    free(p->id);
    free(p->name);
    free(p->region_id);
    free(p->created_at);
    memset(p, 0, sizeof(*p));
}

void
neon_branch_clear(struct neon_branch *b)
{
    if (b == NULL)
        return;
    free(b->id);
    free(b->project_id);
    free(b->name);
    free(b->parent_id);
    free(b->parent_lsn);
    free(b->parent_timestamp);
    free(b->current_state);
    free(b->created_at);
    free(b->updated_at);
    free(b->last_reset_at);
    memset(b, 0, sizeof(*b));
}

void
neon_endpoint_clear(struct neon_endpoint *e)
{
    if (e == NULL)
        return;
    free(e->id);
    free(e->branch_id);
    free(e->host);
    free(e->type);
    free(e->current_state);
    memset(e, 0, sizeof(*e));
}

void
neon_operation_clear(struct neon_operation *o)
{
    if (o == NULL)
        return;
    free(o->id);
    free(o->branch_id);
    free(o->endpoint_id);
    free(o->action);
    free(o->status);
    free(o->error);
    memset(o, 0, sizeof(*o));
}

void
neon_branches_free(struct neon_branch *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        neon_branch_clear(&v[i]);
    free(v);
}

void
neon_endpoints_free(struct neon_endpoint *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        neon_endpoint_clear(&v[i]);
    free(v);
}

static void
operations_free(struct neon_operation *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++)
        neon_operation_clear(&v[i]);
    free(v);
}

void
neon_databases_free(struct neon_database *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i].branch_id);
        free(v[i].name);
        free(v[i].owner_name);
    }
    free(v);
}

void
neon_roles_free(struct neon_role *v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i].branch_id);
        free(v[i].name);
    }
    free(v);
}

void
neon_result_clear(struct neon_result *r)
{
    if (r == NULL)
        return;
    neon_branch_clear(&r->branch);
    neon_endpoint_clear(&r->endpoint);
    neon_endpoints_free(r->endpoints, r->n_endpoints);
    operations_free(r->operations, r->n_operations);
    for (size_t i = 0; i < r->n_connection_uris; i++)
        free(r->connection_uris[i]);
    free(r->connection_uris);
    memset(r, 0, sizeof(*r));
}

static void
parse_project(struct neon_project *p, const cJSON *j)
{
    p->id = jstr(j, "id");
    p->name = jstr(j, "name");
    p->region_id = jstr(j, "region_id");
    p->created_at = jstr(j, "created_at");
    p->pg_version = (int)jint(j, "pg_version", 0);
    p->history_retention_seconds = (long)jint(j, "history_retention_seconds", 0);
}

static void
parse_branch(struct neon_branch *b, const cJSON *j)
{
    b->id = jstr(j, "id");
    b->project_id = jstr(j, "project_id");
    b->name = jstr(j, "name");
    b->parent_id = jstr(j, "parent_id");
    b->parent_lsn = jstr(j, "parent_lsn");
    b->parent_timestamp = jstr(j, "parent_timestamp");
    b->current_state = jstr(j, "current_state");
    b->created_at = jstr(j, "created_at");
    b->updated_at = jstr(j, "updated_at");
    b->last_reset_at = jstr(j, "last_reset_at");
    b->is_default = jbool(j, "default");
    b->is_protected = jbool(j, "protected");
}

static void
parse_endpoint(struct neon_endpoint *e, const cJSON *j)
{
    e->id = jstr(j, "id");
    e->branch_id = jstr(j, "branch_id");
    e->host = jstr(j, "host");
    e->type = jstr(j, "type");
    e->current_state = jstr(j, "current_state");
}

static void
parse_operation(struct neon_operation *o, const cJSON *j)
{
    o->id = jstr(j, "id");
    o->branch_id = jstr(j, "branch_id");
    o->endpoint_id = jstr(j, "endpoint_id");
    o->action = jstr(j, "action");
    o->status = jstr(j, "status");
    o->error = jstr(j, "error");
    o->failures_count = (int)jint(j, "failures_count", 0);
}

/* An object member that must be present; PD_ESERVICE naming it otherwise. */
static const cJSON *
need_obj(const cJSON *root, const char *name, const char *what, struct pd_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

    if (!cJSON_IsObject(v)) {
        PD_ERR_SET(err, PD_ESERVICE, "neon: %s: response has no \"%s\" object", what, name);
        return NULL;
    }
    return v;
}

static int
need_id(const char *id, const char *what, const char *name, struct pd_err *err)
{
    if (id == NULL)
        return PD_ERR_SET(err, PD_ESERVICE, "neon: %s: %s without an id", what, name);
    return 0;
}

static int
parse_result(struct neon_result *r, const cJSON *root, const char *what, struct pd_err *err)
{
    const cJSON *v, *it;
    size_t i;

    memset(r, 0, sizeof(*r));
    v = cJSON_GetObjectItemCaseSensitive(root, "branch");
    if (cJSON_IsObject(v)) {
        r->has_branch = 1;
        parse_branch(&r->branch, v);
        if (need_id(r->branch.id, what, "branch", err) != 0)
            return PD_ESERVICE;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "endpoint");
    if (cJSON_IsObject(v)) {
        r->has_endpoint = 1;
        parse_endpoint(&r->endpoint, v);
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "endpoints");
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
        r->endpoints = pd_xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*r->endpoints));
        i = 0;
        for (it = v->child; it != NULL; it = it->next)
            parse_endpoint(&r->endpoints[i++], it);
        r->n_endpoints = i;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "operations");
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
        r->operations = pd_xcalloc((size_t)cJSON_GetArraySize(v), sizeof(*r->operations));
        i = 0;
        for (it = v->child; it != NULL; it = it->next) {
            parse_operation(&r->operations[i], it);
            r->n_operations = ++i;
            if (need_id(r->operations[i - 1].id, what, "operation", err) != 0)
                return PD_ESERVICE;
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "connection_uris");
    if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
        r->connection_uris = pd_xcalloc((size_t)cJSON_GetArraySize(v), sizeof(char *));
        i = 0;
        for (it = v->child; it != NULL; it = it->next) {
            char *uri = jstr(it, "connection_uri");

            if (uri == NULL)
                continue;
            pd_redact_register_uri(uri);
            r->connection_uris[i++] = uri;
        }
        r->n_connection_uris = i;
    }
    return 0;
}

/*
 * What each call makes of its 2xx body (already parsed into j), kept apart
 * from the HTTP exchange so tests/fuzz can feed arbitrary bodies through
 * exactly the code the calls use (see client.intern.h).
 */
static int
project_from_body(struct neon_project *out, const cJSON *j, struct pd_err *err)
{
    const cJSON *p = need_obj(j, "project", "GET project", err);

    if (p == NULL)
        return PD_ESERVICE;
    parse_project(out, p);
    return need_id(out->id, "GET project", "project", err);
}

static int
branch_from_body(struct neon_branch *out, const cJSON *j, struct pd_err *err)
{
    const cJSON *b = need_obj(j, "branch", "GET branch", err);

    if (b == NULL)
        return PD_ESERVICE;
    parse_branch(out, b);
    return need_id(out->id, "GET branch", "branch", err);
}

/*
 * Append one page of GET branches to *v (count entries so far). *next is
 * the cursor of the following page, borrowed from j, or NULL on the last.
 */
static int
branches_from_page(struct neon_branch **v, size_t *count, const char **next, const cJSON *j,
                   struct pd_err *err)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "branches");
    const cJSON *it, *nx;

    *next = NULL;
    if (!cJSON_IsArray(arr))
        return PD_ERR_SET(err, PD_ESERVICE,
                          "neon: GET branches: response has no \"branches\" array");
    *v = pd_xrealloc(*v, (*count + (size_t)cJSON_GetArraySize(arr) + 1) * sizeof(**v));
    for (it = arr->child; it != NULL; it = it->next) {
        struct neon_branch *b = &(*v)[(*count)++];

        memset(b, 0, sizeof(*b));
        parse_branch(b, it);
        if (need_id(b->id, "GET branches", "branch", err) != 0)
            return PD_ESERVICE;
    }
    nx =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "pagination"), "next");
    if (cJSON_IsString(nx) && nx->valuestring[0] != '\0' && cJSON_GetArraySize(arr) > 0)
        *next = nx->valuestring;
    return 0;
}

/* A mutation's answer; out is cleared again on failure. */
static int
result_from_body(struct neon_result *out, const cJSON *j, const char *what, long status,
                 struct pd_err *err)
{
    int rc;

    if (!cJSON_IsObject(j))
        return PD_ERR_SET(err, PD_ESERVICE, "neon: %s: HTTP %ld: expected a json object", what,
                          status);
    rc = parse_result(out, j, what, err);
    if (rc != 0)
        neon_result_clear(out);
    return rc;
}

/* The array under key in a list response; *arr borrows from root. */
static int
list_array(const cJSON **arr, const cJSON *root, const char *key, struct pd_err *err)
{
    *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsArray(*arr))
        return PD_ERR_SET(err, PD_ESERVICE, "neon: GET %s: response has no \"%s\" array", key, key);
    return 0;
}

static void
endpoints_from_array(struct neon_endpoint **out, size_t *n, const cJSON *arr)
{
    size_t i = 0;

    *out = pd_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
    for (const cJSON *it = arr->child; it != NULL; it = it->next)
        parse_endpoint(&(*out)[i++], it);
    *n = i;
}

static void
databases_from_array(struct neon_database **out, size_t *n, const cJSON *arr)
{
    size_t i = 0;

    *out = pd_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
    for (const cJSON *it = arr->child; it != NULL; it = it->next) {
        (*out)[i].id = jint(it, "id", 0);
        (*out)[i].branch_id = jstr(it, "branch_id");
        (*out)[i].name = jstr(it, "name");
        (*out)[i].owner_name = jstr(it, "owner_name");
        i++;
    }
    *n = i;
}

static void
roles_from_array(struct neon_role **out, size_t *n, const cJSON *arr)
{
    size_t i = 0;

    *out = pd_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
    for (const cJSON *it = arr->child; it != NULL; it = it->next) {
        (*out)[i].branch_id = jstr(it, "branch_id");
        (*out)[i].name = jstr(it, "name");
        i++;
    }
    *n = i;
}

static int
connection_uri_from_body(char **out, const cJSON *j, struct pd_err *err)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "uri");

    if (!cJSON_IsString(u) || u->valuestring[0] == '\0')
        return PD_ERR_SET(err, PD_ESERVICE, "neon: GET connection_uri: response has no \"uri\"");
    pd_redact_register_uri(u->valuestring);
    *out = pd_xstrdup(u->valuestring);
    return 0;
}

static int
operation_from_body(struct neon_operation *out, const cJSON *j, const char *operation_id,
                    struct pd_err *err)
{
    const cJSON *o = need_obj(j, "operation", "GET operation", err);

    if (o == NULL)
        return PD_ESERVICE;
    parse_operation(out, o);
    if (out->status == NULL)
        return PD_ERR_SET(err, PD_ESERVICE, "neon: GET operation %s: no status", operation_id);
    return 0;
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

/* Neon's error message and request id from a body, or a note that it is not JSON. */
static void
describe_error(char *buf, size_t size, const struct http_response *resp, const char *sent_id)
{
    cJSON *j = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "", resp->body.len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(j, "request_id");
    const char *id = cJSON_IsString(rid) ? rid->valuestring
                     : resp->request_id  ? resp->request_id
                                         : sent_id;
    char *msg;

    if (cJSON_IsString(m) && m->valuestring[0] != '\0')
        msg = pd_xstrdup(m->valuestring);
    else if (j != NULL)
        msg = pd_xstrdup("no message");
    else if (resp->body.len == 0)
        msg = pd_xstrdup("empty body");
    else
        msg = pd_xasprintf("non-json body (%s, %zu bytes)",
                           resp->content_type ? resp->content_type : "no content type",
                           resp->body.len);
    {
        // Neon's text may echo what we sent: never let a registered secret through
        char *safe = pd_redact(msg);
        char *safe_id = pd_redact(id);

        snprintf(buf, size, "HTTP %ld: %.300s (request_id %.80s)", resp->status, safe, safe_id);
        free(safe);
        free(safe_id);
    }
    free(msg);
    cJSON_Delete(j);
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
        describe_error(k->desc, sizeof(k->desc), resp, k->rid);
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
                          mono(k->c) - k->t_start);
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
static int
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
    struct call k = {.c = c, .what = what, .rid = rid, .t_start = mono(c)};
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
static int
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
static char *
project_path(struct neon_client *c, const char *suffix)
{
    return pd_xasprintf("/projects/%s%s", c->project_esc, suffix);
}

static int
check_arg(const char *v, const char *name, const char *fn, struct pd_err *err)
{
    if (v == NULL || v[0] == '\0')
        return PD_ERR_SET(err, PD_EUSAGE, "neon: %s: %s is required", fn, name);
    return 0;
}

/* ---- API ----------------------------------------------------------------- */

int
neon_project_get(struct neon_client *c, struct neon_project *out, struct pd_err *err)
{
    char *path = project_path(c, "");
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = project_from_body(out, j, err);
out:
    cJSON_Delete(j);
    free(path);
    return rc;
}

int
neon_branches_list(struct neon_client *c, struct neon_branch **out, size_t *n, struct pd_err *err)
{
    char *cursor = NULL, *path = NULL;
    struct neon_branch *v = NULL;
    size_t count = 0;
    cJSON *j = NULL;
    int rc = 0;

    *out = NULL;
    *n = 0;
    for (int page = 0;; page++) {
        const char *next;

        free(path);
        if (cursor != NULL) {
            char *esc = http_escape(cursor);

            path = pd_xasprintf("/projects/%s/branches?cursor=%s", c->project_esc, esc);
            free(esc);
        } else {
            path = project_path(c, "/branches");
        }
        cJSON_Delete(j);
        j = NULL;
        rc = neon_call_obj(c, "GET", path, NULL, &j, err);
        if (rc != 0)
            goto out;
        rc = branches_from_page(&v, &count, &next, j, err);
        if (rc != 0)
            goto out;
        // stop when there is no next page, or the cursor does not move (a loop guard)
        if (next == NULL || (cursor && strcmp(cursor, next) == 0))
            break;
        if (page >= 10000) {
            rc = PD_ERR_SET(err, PD_ESERVICE, "neon: GET branches: more than 10000 pages");
            goto out;
        }
        free(cursor);
        cursor = pd_xstrdup(next);
    }
    *out = v;
    *n = count;
    v = NULL;
out:
    if (v != NULL)
        neon_branches_free(v, count);
    cJSON_Delete(j);
    free(cursor);
    free(path);
    return rc;
}

int
neon_branch_get(struct neon_client *c, const char *branch_id, struct neon_branch *out,
                struct pd_err *err)
{
    char *esc, *path;
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = check_arg(branch_id, "branch id", "get branch", err);
    if (rc != 0)
        return rc;
    esc = http_escape(branch_id);
    path = pd_xasprintf("/projects/%s/branches/%s", c->project_esc, esc);
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = branch_from_body(out, j, err);
out:
    cJSON_Delete(j);
    free(esc);
    free(path);
    return rc;
}

static void
branch_move(struct neon_branch *dst, struct neon_branch *src)
{
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

int
neon_branch_find(struct neon_client *c, const char *name_or_id, struct neon_branch *out,
                 struct pd_err *err)
{
    struct neon_branch *v = NULL;
    size_t n = 0, hit = 0, hits = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = neon_branches_list(c, &v, &n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (name_or_id == NULL ? v[i].is_default : strcmp(v[i].id, name_or_id) == 0) {
            branch_move(out, &v[i]);
            goto out;
        }
    }
    for (size_t i = 0; name_or_id != NULL && i < n; i++) {
        if (v[i].name != NULL && strcmp(v[i].name, name_or_id) == 0) {
            hit = i;
            hits++;
        }
    }
    if (hits == 1) {
        branch_move(out, &v[hit]);
    } else if (hits > 1) {
        rc =
            PD_ERR_SET(err, PD_EINPUT, "neon: branch name %s is shared by %zu branches: use its id",
                       name_or_id, hits);
    } else if (name_or_id == NULL) {
        rc = PD_ERR_SET(err, PD_ENOENT, "neon: project %s has no default branch", c->project_id);
    } else {
        rc = PD_ERR_SET(err, PD_ENOENT, "neon: no branch named or with id %s in project %s",
                        name_or_id, c->project_id);
    }
out:
    neon_branches_free(v, n);
    return rc;
}

/* Run a mutation and parse its {branch?, endpoint?, endpoints?, operations} answer. */
static int
mutate(struct neon_client *c, const char *method, char *path, cJSON *body, struct neon_result *out,
       long *status, struct pd_err *err)
{
    char *shown = pd_redact(path);
    char what[300];
    cJSON *j = NULL;
    long st = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(what, sizeof(what), "%s %.280s", method, shown);
    rc = neon_call(c, method, path, body, &j, &st, err);
    if (status != NULL)
        *status = st;
    if (rc != 0)
        goto out;
    if (j == NULL && st == 204)
        goto out;
    rc = result_from_body(out, j, what, st, err);
out:
    cJSON_Delete(j);
    cJSON_Delete(body);
    free(path);
    free(shown);
    return rc;
}

int
neon_branch_create(struct neon_client *c, const struct neon_branch_create *opts,
                   struct neon_result *out, struct pd_err *err)
{
    cJSON *body, *branch, *eps;

    memset(out, 0, sizeof(*out));
    if (opts->parent_timestamp && opts->parent_lsn)
        return PD_ERR_SET(err, PD_EUSAGE,
                          "neon: create branch: give parent_timestamp or parent_lsn, not both");
    if (opts->parent_timestamp) {
        double t;

        if (pd_time_parse_rfc3339(&t, opts->parent_timestamp, 0) != 0)
            return PD_ERR_SET(err, PD_EINPUT,
                              "neon: create branch: parent_timestamp %s is not an rfc 3339 time",
                              opts->parent_timestamp);
    }
    body = cJSON_CreateObject();
    branch = cJSON_AddObjectToObject(body, "branch");
    if (opts->name)
        cJSON_AddStringToObject(branch, "name", opts->name);
    if (opts->parent_id)
        cJSON_AddStringToObject(branch, "parent_id", opts->parent_id);
    if (opts->parent_timestamp)
        cJSON_AddStringToObject(branch, "parent_timestamp", opts->parent_timestamp);
    if (opts->parent_lsn)
        cJSON_AddStringToObject(branch, "parent_lsn", opts->parent_lsn);
    eps = cJSON_AddArrayToObject(body, "endpoints");
    if (!opts->no_endpoint) {
        cJSON *ep = cJSON_CreateObject();

        cJSON_AddStringToObject(ep, "type", "read_write");
        cJSON_AddItemToArray(eps, ep);
    }
    return mutate(c, "POST", project_path(c, "/branches"), body, out, NULL, err);
}

static char *
branch_path(struct neon_client *c, const char *branch_id, const char *suffix)
{
    char *esc = http_escape(branch_id);
    char *p = pd_xasprintf("/projects/%s/branches/%s%s", c->project_esc, esc, suffix);

    free(esc);
    return p;
}

int
neon_branch_rename(struct neon_client *c, const char *branch_id, const char *name,
                   struct neon_result *out, struct pd_err *err)
{
    cJSON *body;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = check_arg(branch_id, "branch id", "rename branch", err)) != 0 ||
        (rc = check_arg(name, "new name", "rename branch", err)) != 0)
        return rc;
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "branch"), "name", name);
    return mutate(c, "PATCH", branch_path(c, branch_id, ""), body, out, NULL, err);
}

int
neon_branch_delete(struct neon_client *c, const char *branch_id, struct neon_result *out, int *gone,
                   struct pd_err *err)
{
    long status = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    *gone = 0;
    rc = check_arg(branch_id, "branch id", "delete branch", err);
    if (rc != 0)
        return rc;
    rc = mutate(c, "DELETE", branch_path(c, branch_id, ""), NULL, out, &status, err);
    if (rc == 0 && status == 204)
        *gone = 1;
    return rc;
}

int
neon_branch_restore(struct neon_client *c, const char *branch_id,
                    const struct neon_branch_restore *opts, struct neon_result *out,
                    struct pd_err *err)
{
    cJSON *body;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = check_arg(branch_id, "branch id", "restore branch", err)) != 0 ||
        (rc = check_arg(opts->source_branch_id, "source branch id", "restore branch", err)) != 0)
        return rc;
    if (opts->source_timestamp && opts->source_lsn)
        return PD_ERR_SET(err, PD_EUSAGE,
                          "neon: restore branch: give source_timestamp or source_lsn, not both");
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "source_branch_id", opts->source_branch_id);
    if (opts->source_timestamp)
        cJSON_AddStringToObject(body, "source_timestamp", opts->source_timestamp);
    if (opts->source_lsn)
        cJSON_AddStringToObject(body, "source_lsn", opts->source_lsn);
    if (opts->preserve_under_name)
        cJSON_AddStringToObject(body, "preserve_under_name", opts->preserve_under_name);
    return mutate(c, "POST", branch_path(c, branch_id, "/restore"), body, out, NULL, err);
}

int
neon_branch_set_default(struct neon_client *c, const char *branch_id, struct neon_result *out,
                        struct pd_err *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = check_arg(branch_id, "branch id", "set default branch", err);
    if (rc != 0)
        return rc;
    return mutate(c, "POST", branch_path(c, branch_id, "/set_as_default"), NULL, out, NULL, err);
}

/* GET a list; *arr borrows from *root which the caller deletes. */
static int
get_list(struct neon_client *c, char *path, const char *key, cJSON **root, const cJSON **arr,
         struct pd_err *err)
{
    int rc = neon_call_obj(c, "GET", path, NULL, root, err);

    if (rc == 0)
        rc = list_array(arr, *root, key, err);
    free(path);
    return rc;
}

int
neon_endpoints_list(struct neon_client *c, const char *branch_id, struct neon_endpoint **out,
                    size_t *n, struct pd_err *err)
{
    cJSON *j = NULL;
    const cJSON *arr;
    int rc;

    *out = NULL;
    *n = 0;
    rc = get_list(
        c, branch_id ? branch_path(c, branch_id, "/endpoints") : project_path(c, "/endpoints"),
        "endpoints", &j, &arr, err);
    if (rc == 0)
        endpoints_from_array(out, n, arr);
    cJSON_Delete(j);
    return rc;
}

int
neon_endpoint_create(struct neon_client *c, const char *branch_id, const char *type,
                     struct neon_result *out, struct pd_err *err)
{
    cJSON *body, *ep;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = check_arg(branch_id, "branch id", "create endpoint", err);
    if (rc != 0)
        return rc;
    body = cJSON_CreateObject();
    ep = cJSON_AddObjectToObject(body, "endpoint");
    cJSON_AddStringToObject(ep, "branch_id", branch_id);
    cJSON_AddStringToObject(ep, "type", type ? type : "read_write");
    return mutate(c, "POST", project_path(c, "/endpoints"), body, out, NULL, err);
}

int
neon_endpoint_start(struct neon_client *c, const char *endpoint_id, struct neon_result *out,
                    struct pd_err *err)
{
    char *esc;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = check_arg(endpoint_id, "endpoint id", "start endpoint", err);
    if (rc != 0)
        return rc;
    esc = http_escape(endpoint_id);
    rc = mutate(c, "POST", pd_xasprintf("/projects/%s/endpoints/%s/start", c->project_esc, esc),
                NULL, out, NULL, err);
    free(esc);
    return rc;
}

int
neon_databases_list(struct neon_client *c, const char *branch_id, struct neon_database **out,
                    size_t *n, struct pd_err *err)
{
    cJSON *j = NULL;
    const cJSON *arr;
    int rc;

    *out = NULL;
    *n = 0;
    rc = check_arg(branch_id, "branch id", "list databases", err);
    if (rc != 0)
        return rc;
    rc = get_list(c, branch_path(c, branch_id, "/databases"), "databases", &j, &arr, err);
    if (rc == 0)
        databases_from_array(out, n, arr);
    cJSON_Delete(j);
    return rc;
}

int
neon_roles_list(struct neon_client *c, const char *branch_id, struct neon_role **out, size_t *n,
                struct pd_err *err)
{
    cJSON *j = NULL;
    const cJSON *arr;
    int rc;

    *out = NULL;
    *n = 0;
    rc = check_arg(branch_id, "branch id", "list roles", err);
    if (rc != 0)
        return rc;
    rc = get_list(c, branch_path(c, branch_id, "/roles"), "roles", &j, &arr, err);
    if (rc == 0)
        roles_from_array(out, n, arr);
    cJSON_Delete(j);
    return rc;
}

int
neon_connection_uri(struct neon_client *c, char **out, const char *branch_id,
                    const char *database_name, const char *role_name, struct pd_err *err)
{
    char *db = NULL, *role = NULL, *br = NULL, *path = NULL;
    cJSON *j = NULL;
    int rc;

    *out = NULL;
    if ((rc = check_arg(database_name, "database name", "connection uri", err)) != 0 ||
        (rc = check_arg(role_name, "role name", "connection uri", err)) != 0)
        return rc;
    db = http_escape(database_name);
    role = http_escape(role_name);
    if (branch_id != NULL) {
        br = http_escape(branch_id);
        path =
            pd_xasprintf("/projects/%s/connection_uri?branch_id=%s&database_name=%s&role_name=%s",
                         c->project_esc, br, db, role);
    } else {
        path = pd_xasprintf("/projects/%s/connection_uri?database_name=%s&role_name=%s",
                            c->project_esc, db, role);
    }
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = connection_uri_from_body(out, j, err);
out:
    cJSON_Delete(j);
    free(db);
    free(role);
    free(br);
    free(path);
    return rc;
}

int
neon_operation_get(struct neon_client *c, const char *operation_id, struct neon_operation *out,
                   struct pd_err *err)
{
    char *esc, *path;
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = check_arg(operation_id, "operation id", "get operation", err);
    if (rc != 0)
        return rc;
    esc = http_escape(operation_id);
    path = pd_xasprintf("/projects/%s/operations/%s", c->project_esc, esc);
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = operation_from_body(out, j, operation_id, err);
out:
    cJSON_Delete(j);
    free(esc);
    free(path);
    return rc;
}

int
neon_operation_status_is_terminal(const char *status)
{
    static const char *const terminal[] = {"finished", "failed", "error", "cancelled", "skipped"};

    for (size_t i = 0; status && i < sizeof(terminal) / sizeof(terminal[0]); i++)
        if (strcmp(status, terminal[i]) == 0)
            return 1;
    return 0;
}

static int
status_is_failure(const char *status)
{
    return strcmp(status, "failed") == 0 || strcmp(status, "error") == 0 ||
           strcmp(status, "cancelled") == 0;
}

int
neon_operations_wait(struct neon_client *c, const struct neon_operation *ops, size_t n,
                     double timeout_s, double poll_s, neon_progress_fn *progress, void *payload,
                     struct pd_err *err)
{
    char **last = pd_xcalloc(n + 1, sizeof(char *));
    int *done = pd_xcalloc(n + 1, sizeof(int));
    double t0 = mono(c), elapsed = 0;
    size_t pending = n;
    int rc = 0;

    if (poll_s <= 0)
        poll_s = 1.0;
    for (;;) {
        for (size_t i = 0; i < n; i++) {
            struct neon_operation op;

            if (done[i])
                continue;
            rc = neon_operation_get(c, ops[i].id, &op, err);
            if (rc != 0)
                goto out;
            elapsed = mono(c) - t0;
            if (last[i] == NULL || strcmp(last[i], op.status) != 0) {
                free(last[i]);
                last[i] = pd_xstrdup(op.status);
                if (progress != NULL)
                    progress(&op, elapsed, payload);
            }
            if (neon_operation_status_is_terminal(op.status)) {
                done[i] = 1;
                pending--;
                if (status_is_failure(op.status)) {
                    rc = PD_ERR_SET(err, PD_ESERVICE, "neon: operation %s (%s) %s: %s", op.id,
                                    op.action ? op.action : "?", op.status,
                                    op.error && op.error[0] ? op.error : "no error given");
                    neon_operation_clear(&op);
                    goto out;
                }
            }
            neon_operation_clear(&op);
        }
        if (pending == 0)
            break;
        elapsed = mono(c) - t0;
        if (elapsed + poll_s > timeout_s) {
            size_t k;

            for (k = 0; k < n && done[k]; k++)
                ;
            rc = PD_ERR_SET(err, PD_ESERVICE,
                            "neon: operations still pending after %.0fs: %s (%s) is %s and %zu "
                            "more",
                            timeout_s, ops[k].id, ops[k].action ? ops[k].action : "?",
                            last[k] ? last[k] : "unknown", pending - 1);
            goto out;
        }
        c->sleep_fn(poll_s, c->sleep_payload);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(last[i]);
    free(last);
    free(done);
    return rc;
}

int
neon_check_timestamp(const char *ts, double now, long history_retention_seconds, struct pd_err *err)
{
    double t;
    char now_s[32], oldest_s[32];

    if (ts == NULL || pd_time_parse_rfc3339(&t, ts, 0) != 0)
        return PD_ERR_SET(err, PD_EINPUT,
                          "neon: restore point %s is not an rfc 3339 time like "
                          "2026-11-26T03:37:01Z",
                          ts ? ts : "(none)");
    pd_time_format(now_s, sizeof(now_s), now);
    if (t > now)
        return PD_ERR_SET(err, PD_EINPUT, "neon: restore point %s is in the future (now is %s)", ts,
                          now_s);
    pd_time_format(oldest_s, sizeof(oldest_s), now - (double)history_retention_seconds);
    if (now - t > (double)history_retention_seconds)
        return PD_ERR_SET(err, PD_EINPUT,
                          "neon: restore point %s is outside the project's history window of "
                          "%lds (oldest restorable time is %s)",
                          ts, history_retention_seconds, oldest_s);
    return 0;
}

/* ---- tests/fuzz entry point (client.intern.h) ------------------------------------------------ */

int
neon_client_parse_body(enum neon_body kind, const char *body, size_t len, struct pd_err *err)
{
    cJSON *j = NULL;
    int rc = 0;

    if (kind == NEON_BODY_ERROR) {
        struct http_response resp;
        char desc[480];

        http_response_init(&resp);
        // the body as http_request hands it over: owned and NUL-terminated
        if ((rc = pd_buf_append(&resp.body, body, len, err)) == 0) {
            resp.status = 500;
            describe_error(desc, sizeof(desc), &resp, "00000000-0000-4000-8000-000000000000");
            rc = PD_ERR_SET(err, PD_ESERVICE, "neon: fuzz: %s", desc);
        }
        http_response_free(&resp);
        return rc;
    }
    // as neon_call: an empty 2xx body is no document at all
    if (len > 0 && (j = cJSON_ParseWithLength(body, len)) == NULL)
        return PD_ERR_SET(err, PD_ESERVICE, "neon: fuzz: response is not json");
    if (kind != NEON_BODY_RESULT && !cJSON_IsObject(j)) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "neon: fuzz: expected a json object");
        goto out;
    }
    switch (kind) {
    case NEON_BODY_PROJECT: {
        struct neon_project p = {0};

        rc = project_from_body(&p, j, err);
        neon_project_clear(&p);
        break;
    }
    case NEON_BODY_BRANCH: {
        struct neon_branch b = {0};

        rc = branch_from_body(&b, j, err);
        neon_branch_clear(&b);
        break;
    }
    case NEON_BODY_BRANCHES: {
        struct neon_branch *v = NULL;
        size_t count = 0;
        const char *next;

        rc = branches_from_page(&v, &count, &next, j, err);
        neon_branches_free(v, count);
        break;
    }
    case NEON_BODY_RESULT: {
        struct neon_result r = {0};

        if (j != NULL)
            rc = result_from_body(&r, j, "POST fuzz", 200, err);
        neon_result_clear(&r);
        break;
    }
    case NEON_BODY_ENDPOINTS:
    case NEON_BODY_DATABASES:
    case NEON_BODY_ROLES: {
        static const char *const keys[] = {"endpoints", "databases", "roles"};
        const cJSON *arr;
        size_t n = 0;

        rc = list_array(&arr, j, keys[kind - NEON_BODY_ENDPOINTS], err);
        if (rc != 0)
            break;
        if (kind == NEON_BODY_ENDPOINTS) {
            struct neon_endpoint *v;

            endpoints_from_array(&v, &n, arr);
            neon_endpoints_free(v, n);
        } else if (kind == NEON_BODY_DATABASES) {
            struct neon_database *v;

            databases_from_array(&v, &n, arr);
            neon_databases_free(v, n);
        } else {
            struct neon_role *v;

            roles_from_array(&v, &n, arr);
            neon_roles_free(v, n);
        }
        break;
    }
    case NEON_BODY_CONNECTION_URI: {
        char *uri = NULL;

        rc = connection_uri_from_body(&uri, j, err);
        free(uri);
        break;
    }
    case NEON_BODY_OPERATION: {
        struct neon_operation o = {0};

        rc = operation_from_body(&o, j, "op-fuzz", err);
        neon_operation_clear(&o);
        break;
    }
    default:
        rc = PD_ERR_SET(err, PD_EBUG, "neon: fuzz: unknown body kind %d", (int)kind);
        break;
    }
out:
    cJSON_Delete(j);
    return rc;
}
