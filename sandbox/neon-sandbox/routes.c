/* The route table of the Neon API v2 and the dispatcher that answers a request from it. */
#include <string.h>

#include <cjson/cJSON.h>

#include "sandbox.h"

static struct reply
method_not_allowed(const struct request *rq)
{
    (void)rq;
    return sb_error_reply(405, "method not allowed");
}

static struct reply
not_found(const struct request *rq)
{
    (void)rq;
    return sb_error_reply(404, "not found");
}

/*
 * One row per route under /api/v2/projects/{project_id}/. A pattern is
 * '/'-separated segments: a literal, {id} (any one segment, passed as sent),
 * {branch} (a live branch, else 404 "branch ... not found") or a final **
 * (one or more segments). The first row whose method (NULL: any) and
 * pattern match answers; rows with a NULL method after the real ones give
 * the answers for wrong methods and unknown paths below a known prefix.
 * A mutating route's success is saved to state.json.
 */
struct route {
    const char *method;
    const char *pattern;
    struct reply (*handler)(const struct request *rq);
    bool mutates;
};

static const struct route routes[] = {
    {"GET", "", sb_get_project, false},
    {"PATCH", "", sb_patch_project, true},
    {"GET", "branches", sb_list_branches, false},
    {"POST", "branches", sb_create_branch, true},
    {NULL, "branches", method_not_allowed, false},
    // deleting an unknown branch answers 204: its row takes the id as sent, before {branch} rows
    {"DELETE", "branches/{id}", sb_delete_branch, true},
    {"GET", "branches/{branch}", sb_get_branch, false},
    {"PATCH", "branches/{branch}", sb_patch_branch, true},
    {NULL, "branches/{branch}", method_not_allowed, false},
    {"POST", "branches/{branch}/restore", sb_restore_branch, true},
    {"POST", "branches/{branch}/set_as_default", sb_set_default, true},
    {"GET", "branches/{branch}/endpoints", sb_list_branch_endpoints, false},
    {"GET", "branches/{branch}/databases", sb_get_databases, false},
    {"GET", "branches/{branch}/roles", sb_get_roles, false},
    {NULL, "branches/{branch}/{id}", method_not_allowed, false},
    {NULL, "branches/{branch}/**", not_found, false},
    {"GET", "endpoints", sb_list_all_endpoints, false},
    {"POST", "endpoints", sb_create_endpoint, true},
    {"GET", "endpoints/{id}", sb_get_endpoint, false},
    {"POST", "endpoints/{id}/start", sb_start_endpoint, true},
    {"GET", "connection_uri", sb_connection_uri, false},
    {"GET", "operations", sb_list_operations, false},
    {"GET", "operations/{id}", sb_get_operation, false},
    {"GET", "operations/{id}/**", sb_operation_path_not_found, false},
};

/* The n segments match pattern; *id and *branch point at the segments matched by them. */
static bool
route_match(const char *pattern, char *const *segs, int n, const char **id, const char **branch)
{
    const char *p = pattern;
    int i = 0;

    while (*p != '\0') {
        size_t len = strcspn(p, "/");

        if (len == 2 && strncmp(p, "**", 2) == 0)
            return i < n;
        if (i == n)
            return false;
        if (len == 4 && strncmp(p, "{id}", 4) == 0)
            *id = segs[i];
        else if (len == 8 && strncmp(p, "{branch}", 8) == 0)
            *branch = segs[i];
        else if (strlen(segs[i]) != len || strncmp(p, segs[i], len) != 0)
            return false;
        i++;
        p += len + (p[len] == '/');
    }
    return i == n;
}

/* Answer a request: the project's checks, then the first matching row of routes. */
struct reply
sb_route_dispatch(struct MHD_Connection *conn, const char *method, const char *url,
                  const cJSON *body, int body_bad)
{
    char path[1024], *segs[8], *save = NULL, *tok;
    int n = 0;
    struct request rq = {conn, body, NULL, NULL};

    if (strncmp(url, "/api/v2/", 8) != 0)
        return sb_error_reply(404, "not found");
    // the first 8 segments of the first 1023 bytes decide; the rest is ignored
    sb_scpy(path, sizeof(path), url + 7);
    for (tok = strtok_r(path, "/", &save); tok && n < 8; tok = strtok_r(NULL, "/", &save))
        segs[n++] = tok;
    if (n < 2 || strcmp(segs[0], "projects") != 0)
        return sb_error_reply(404, "not found");
    if (strcmp(segs[1], sb.project_id) != 0)
        return sb_error_reply(404, "project %s not found", segs[1]);
    if (body_bad)
        return sb_error_reply(400, "request body is not valid json");
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        const char *branch_seg = NULL;
        struct reply r;

        rq.id = NULL;
        if ((rt->method != NULL && strcmp(rt->method, method) != 0) ||
            !route_match(rt->pattern, segs + 2, n - 2, &rq.id, &branch_seg))
            continue;
        if (branch_seg != NULL) {
            rq.branch = sb_branch_find(branch_seg);
            if (rq.branch == NULL)
                return sb_error_reply(404, "branch %s not found", branch_seg);
        }
        // the training's outage (outage.c): history requests answer 503 until its deadline
        if (sb_outage_refuses(method, rt->pattern, body, &r))
            return r;
        r = rt->handler(&rq);
        if (rt->mutates && r.status < 300)
            sb_state_save();
        // cppcheck-suppress returnDanglingLifetime ; a reply's body is its own, not rq's
        return r;
    }
    return sb_error_reply(404, "not found");
}
