/*
 * neon client internals: for tests/fuzz, feed a response body through the
 * same parsing code a call uses once its HTTP exchange succeeded, without a
 * server; and what the client's files (client.c: lifetime and requests,
 * json.c: bodies, api.c: calls) share. Nothing outside core/neon/client*,
 * json.c, api.c and the tests uses this.
 */
#ifndef PD_NEON_CLIENT_INTERN_H
#define PD_NEON_CLIENT_INTERN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "neon/client.h"

struct pd_err;

/* Which call's 2xx body (or, for NEON_BODY_ERROR, which error body) to parse. */
enum neon_body {
    NEON_BODY_PROJECT,        /* neon_project_get */
    NEON_BODY_BRANCH,         /* neon_branch_get */
    NEON_BODY_BRANCHES,       /* one page of neon_branches_list */
    NEON_BODY_RESULT,         /* a mutation (create, delete, restore, endpoint start...) */
    NEON_BODY_ENDPOINTS,      /* neon_endpoints_list */
    NEON_BODY_DATABASES,      /* neon_databases_list */
    NEON_BODY_ROLES,          /* neon_roles_list */
    NEON_BODY_CONNECTION_URI, /* neon_connection_uri */
    NEON_BODY_OPERATION,      /* neon_operation_get */
    NEON_BODY_ERROR,          /* a non-2xx body, as described in an error message */
    NEON_BODY_COUNT,
};

/*
 * Parse body (len bytes, need not be NUL-terminated) as the answer of kind,
 * build the result structs the call would return and free them again.
 * Returns what the call would: 0 or a negative PD_E* with err set. For
 * NEON_BODY_ERROR it fails with PD_ESERVICE and the description the call
 * would put into its error message. Connection URIs found are registered with pd_redact, as the
 * calls do: tests reset it.
 */
int neon_client_parse_body(enum neon_body kind, const char *body, size_t len, struct pd_err *err);

/* ---- shared by the client's files (client.c, json.c, api.c) ------------------ */

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

/* The 2xx bodies of the calls, parsed into their structs (json.c): PD_ESERVICE on a gap. */
int neon_json_project(struct neon_project *out, const cJSON *j, struct pd_err *err);
int neon_json_branch(struct neon_branch *out, const cJSON *j, struct pd_err *err);
int neon_json_branches_page(struct neon_branch **v, size_t *count, const char **next,
                            const cJSON *j, struct pd_err *err);
int neon_json_result(struct neon_result *out, const cJSON *j, const char *what, long status,
                     struct pd_err *err);
int neon_json_list_array(const cJSON **arr, const cJSON *root, const char *key, struct pd_err *err);
void neon_json_endpoints(struct neon_endpoint **out, size_t *n, const cJSON *arr);
void neon_json_databases(struct neon_database **out, size_t *n, const cJSON *arr);
void neon_json_roles(struct neon_role **out, size_t *n, const cJSON *arr);
int neon_json_connection_uri(char **out, const cJSON *j, struct pd_err *err);
int neon_json_operation(struct neon_operation *out, const cJSON *j, const char *operation_id,
                        struct pd_err *err);

/* Neon's error message and request id from a non-2xx body, or a note that it is not JSON. */
void neon_json_describe_error(char *buf, size_t size, const struct http_response *resp,
                              const char *sent_id);

/* The monotonic clock (a test may replace it, neon_client_set_clock). */
double neon_client_mono(const struct neon_client *c);

/*
 * One API call with the one retry loop (client.c). path starts with "/";
 * body may be NULL. On 2xx with a JSON body *out holds it (caller deletes);
 * *status gets the final status. neon_call_obj requires a JSON object.
 */
int neon_call(struct neon_client *c, const char *method, const char *path, const cJSON *body,
              cJSON **out, long *status, struct pd_err *err);
int neon_call_obj(struct neon_client *c, const char *method, const char *path, const cJSON *body,
                  cJSON **out, struct pd_err *err);

/* "/projects/<pid>" + suffix (escaped by the caller). Caller owns it. */
char *neon_project_path(struct neon_client *c, const char *suffix);

/* PD_EUSAGE "neon: fn: name is required" when v is NULL or empty. */
int neon_check_arg(const char *v, const char *name, const char *fn, struct pd_err *err);

#endif
