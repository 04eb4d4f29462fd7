/*
 * neon client internals for tests/fuzz: feed a response body through the
 * same parsing code a call uses once its HTTP exchange succeeded, without
 * a server. Nothing outside tests uses this.
 */
#ifndef PD_NEON_CLIENT_INTERN_H
#define PD_NEON_CLIENT_INTERN_H

#include <stddef.h>

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

#endif
