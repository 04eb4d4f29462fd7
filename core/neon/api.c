/* neon api: the Neon API calls (projects, branches, endpoints, operations). */
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
#include "pd_time.h"

/* ---- API ----------------------------------------------------------------- */

int
neon_project_get(struct neon_client *c, struct neon_project *out, struct pd_err *err)
{
    char *path = neon_project_path(c, "");
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = neon_json_project(out, j, err);
out:
    cJSON_Delete(j);
    free(path);
    return rc;
}

int
neon_project_set_history_retention(struct neon_client *c, long seconds, struct neon_project *out,
                                   struct pd_err *err)
{
    char *path = neon_project_path(c, "");
    cJSON *body = cJSON_CreateObject(), *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(body, "project"), "history_retention_seconds",
                            (double)seconds);
    rc = neon_call_obj(c, "PATCH", path, body, &j, err);
    if (rc == 0)
        rc = neon_json_project(out, j, err);
    cJSON_Delete(j);
    cJSON_Delete(body);
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
            path = neon_project_path(c, "/branches");
        }
        cJSON_Delete(j);
        j = NULL;
        rc = neon_call_obj(c, "GET", path, NULL, &j, err);
        if (rc != 0)
            goto out;
        rc = neon_json_branches_page(&v, &count, &next, j, err);
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
    rc = neon_check_arg(branch_id, "branch id", "get branch", err);
    if (rc != 0)
        return rc;
    esc = http_escape(branch_id);
    path = pd_xasprintf("/projects/%s/branches/%s", c->project_esc, esc);
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = neon_json_branch(out, j, err);
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
    rc = neon_json_result(out, j, what, st, err);
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
    if (opts->expires_at)
        cJSON_AddStringToObject(branch, "expires_at", opts->expires_at);
    eps = cJSON_AddArrayToObject(body, "endpoints");
    if (!opts->no_endpoint) {
        cJSON *ep = cJSON_CreateObject();

        cJSON_AddStringToObject(ep, "type", "read_write");
        cJSON_AddItemToArray(eps, ep);
    }
    return mutate(c, "POST", neon_project_path(c, "/branches"), body, out, NULL, err);
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
    if ((rc = neon_check_arg(branch_id, "branch id", "rename branch", err)) != 0 ||
        (rc = neon_check_arg(name, "new name", "rename branch", err)) != 0)
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
    rc = neon_check_arg(branch_id, "branch id", "delete branch", err);
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
    if ((rc = neon_check_arg(branch_id, "branch id", "restore branch", err)) != 0 ||
        (rc = neon_check_arg(opts->source_branch_id, "source branch id", "restore branch", err)) !=
            0)
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
    rc = neon_check_arg(branch_id, "branch id", "set default branch", err);
    if (rc != 0)
        return rc;
    return mutate(c, "POST", branch_path(c, branch_id, "/set_as_default"), NULL, out, NULL, err);
}

int
neon_branch_set_expiry(struct neon_client *c, const char *branch_id, const char *expires_at,
                       struct neon_result *out, struct pd_err *err)
{
    cJSON *body, *branch;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = neon_check_arg(branch_id, "branch id", "set branch expiry", err);
    if (rc != 0)
        return rc;
    body = cJSON_CreateObject();
    branch = cJSON_AddObjectToObject(body, "branch");
    if (expires_at != NULL)
        cJSON_AddStringToObject(branch, "expires_at", expires_at);
    else
        cJSON_AddNullToObject(branch, "expires_at");
    return mutate(c, "PATCH", branch_path(c, branch_id, ""), body, out, NULL, err);
}

/* GET a list; *arr borrows from *root which the caller deletes. */
static int
get_list(struct neon_client *c, char *path, const char *key, cJSON **root, const cJSON **arr,
         struct pd_err *err)
{
    int rc = neon_call_obj(c, "GET", path, NULL, root, err);

    if (rc == 0)
        rc = neon_json_list_array(arr, *root, key, err);
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
        c, branch_id ? branch_path(c, branch_id, "/endpoints") : neon_project_path(c, "/endpoints"),
        "endpoints", &j, &arr, err);
    if (rc == 0)
        neon_json_endpoints(out, n, arr);
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
    rc = neon_check_arg(branch_id, "branch id", "create endpoint", err);
    if (rc != 0)
        return rc;
    body = cJSON_CreateObject();
    ep = cJSON_AddObjectToObject(body, "endpoint");
    cJSON_AddStringToObject(ep, "branch_id", branch_id);
    cJSON_AddStringToObject(ep, "type", type ? type : "read_write");
    return mutate(c, "POST", neon_project_path(c, "/endpoints"), body, out, NULL, err);
}

int
neon_endpoint_start(struct neon_client *c, const char *endpoint_id, struct neon_result *out,
                    struct pd_err *err)
{
    char *esc;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = neon_check_arg(endpoint_id, "endpoint id", "start endpoint", err);
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
    rc = neon_check_arg(branch_id, "branch id", "list databases", err);
    if (rc != 0)
        return rc;
    rc = get_list(c, branch_path(c, branch_id, "/databases"), "databases", &j, &arr, err);
    if (rc == 0)
        neon_json_databases(out, n, arr);
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
    rc = neon_check_arg(branch_id, "branch id", "list roles", err);
    if (rc != 0)
        return rc;
    rc = get_list(c, branch_path(c, branch_id, "/roles"), "roles", &j, &arr, err);
    if (rc == 0)
        neon_json_roles(out, n, arr);
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
    if ((rc = neon_check_arg(database_name, "database name", "connection uri", err)) != 0 ||
        (rc = neon_check_arg(role_name, "role name", "connection uri", err)) != 0)
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
    rc = neon_json_connection_uri(out, j, err);
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
    rc = neon_check_arg(operation_id, "operation id", "get operation", err);
    if (rc != 0)
        return rc;
    esc = http_escape(operation_id);
    path = pd_xasprintf("/projects/%s/operations/%s", c->project_esc, esc);
    rc = neon_call_obj(c, "GET", path, NULL, &j, err);
    if (rc != 0)
        goto out;
    rc = neon_json_operation(out, j, operation_id, err);
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
    double t0 = neon_client_mono(c), elapsed = 0;
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
            elapsed = neon_client_mono(c) - t0;
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
        elapsed = neon_client_mono(c) - t0;
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

double
neon_window_start(double now, long history_retention_seconds, double created_at)
{
    double start = now - (double)(history_retention_seconds > 0 ? history_retention_seconds : 0);

    if (created_at > start)
        start = created_at;
    return start < now ? start : now;
}

int
neon_check_timestamp(const char *ts, double now, long history_retention_seconds, double created_at,
                     const char *branch, struct pd_err *err)
{
    double t, start = neon_window_start(now, history_retention_seconds, created_at);
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
    pd_time_format(oldest_s, sizeof(oldest_s), start);
    if (t >= start)
        return 0;
    if (created_at > now - (double)history_retention_seconds)
        return PD_ERR_SET(err, PD_EINPUT,
                          "neon: restore point %s is before branch %s was created: its earliest "
                          "restorable time is %s (UTC). Choose a later restore point, or restore "
                          "from the S3 backup (Scenario 2: restore-from-s3; `pgdrill timeline "
                          "--incident TIME` recommends the source)",
                          ts, branch != NULL && branch[0] != '\0' ? branch : "(default)", oldest_s);
    return PD_ERR_SET(err, PD_EINPUT,
                      "neon: restore point %s is outside the project's history window of "
                      "%lds (oldest restorable time is %s)",
                      ts, history_retention_seconds, oldest_s);
}
