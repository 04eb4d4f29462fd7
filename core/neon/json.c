/* neon json: parsing and validation of Neon API bodies into the client's structs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "neon/client.h"
#include "neon/client.intern.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"

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
    free(b->expires_at);
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
    b->expires_at = jstr(j, "expires_at");
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
int
neon_json_project(struct neon_project *out, const cJSON *j, struct pd_err *err)
{
    const cJSON *p = need_obj(j, "project", "GET project", err);

    if (p == NULL)
        return PD_ESERVICE;
    parse_project(out, p);
    return need_id(out->id, "GET project", "project", err);
}

int
neon_json_branch(struct neon_branch *out, const cJSON *j, struct pd_err *err)
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
int
neon_json_branches_page(struct neon_branch **v, size_t *count, const char **next, const cJSON *j,
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
int
neon_json_result(struct neon_result *out, const cJSON *j, const char *what, long status,
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
int
neon_json_list_array(const cJSON **arr, const cJSON *root, const char *key, struct pd_err *err)
{
    *arr = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsArray(*arr))
        return PD_ERR_SET(err, PD_ESERVICE, "neon: GET %s: response has no \"%s\" array", key, key);
    return 0;
}

void
neon_json_endpoints(struct neon_endpoint **out, size_t *n, const cJSON *arr)
{
    size_t i = 0;

    *out = pd_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(**out));
    for (const cJSON *it = arr->child; it != NULL; it = it->next)
        parse_endpoint(&(*out)[i++], it);
    *n = i;
}

void
neon_json_databases(struct neon_database **out, size_t *n, const cJSON *arr)
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

void
neon_json_roles(struct neon_role **out, size_t *n, const cJSON *arr)
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

int
neon_json_connection_uri(char **out, const cJSON *j, struct pd_err *err)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "uri");

    if (!cJSON_IsString(u) || u->valuestring[0] == '\0')
        return PD_ERR_SET(err, PD_ESERVICE, "neon: GET connection_uri: response has no \"uri\"");
    pd_redact_register_uri(u->valuestring);
    *out = pd_xstrdup(u->valuestring);
    return 0;
}

int
neon_json_operation(struct neon_operation *out, const cJSON *j, const char *operation_id,
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

/* Neon's error message and request id from a body, or a note that it is not JSON. */
void
neon_json_describe_error(char *buf, size_t size, const struct http_response *resp,
                         const char *sent_id)
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
            neon_json_describe_error(desc, sizeof(desc), &resp,
                                     "00000000-0000-4000-8000-000000000000");
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

        rc = neon_json_project(&p, j, err);
        neon_project_clear(&p);
        break;
    }
    case NEON_BODY_BRANCH: {
        struct neon_branch b = {0};

        rc = neon_json_branch(&b, j, err);
        neon_branch_clear(&b);
        break;
    }
    case NEON_BODY_BRANCHES: {
        struct neon_branch *v = NULL;
        size_t count = 0;
        const char *next;

        rc = neon_json_branches_page(&v, &count, &next, j, err);
        neon_branches_free(v, count);
        break;
    }
    case NEON_BODY_RESULT: {
        struct neon_result r = {0};

        if (j != NULL)
            rc = neon_json_result(&r, j, "POST fuzz", 200, err);
        neon_result_clear(&r);
        break;
    }
    case NEON_BODY_ENDPOINTS:
    case NEON_BODY_DATABASES:
    case NEON_BODY_ROLES: {
        static const char *const keys[] = {"endpoints", "databases", "roles"};
        const cJSON *arr;
        size_t n = 0;

        rc = neon_json_list_array(&arr, j, keys[kind - NEON_BODY_ENDPOINTS], err);
        if (rc != 0)
            break;
        if (kind == NEON_BODY_ENDPOINTS) {
            struct neon_endpoint *v;

            neon_json_endpoints(&v, &n, arr);
            neon_endpoints_free(v, n);
        } else if (kind == NEON_BODY_DATABASES) {
            struct neon_database *v;

            neon_json_databases(&v, &n, arr);
            neon_databases_free(v, n);
        } else {
            struct neon_role *v;

            neon_json_roles(&v, &n, arr);
            neon_roles_free(v, n);
        }
        break;
    }
    case NEON_BODY_CONNECTION_URI: {
        char *uri = NULL;

        rc = neon_json_connection_uri(&uri, j, err);
        free(uri);
        break;
    }
    case NEON_BODY_OPERATION: {
        struct neon_operation o = {0};

        rc = neon_json_operation(&o, j, "op-fuzz", err);
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
