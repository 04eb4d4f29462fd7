/* Endpoint handlers: list, get, create, start, and the connection URI of a branch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "sandbox.h"
#include "worker.h"

static struct reply
endpoint_reply(int status, const struct branch *b, struct op *o)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *arr;

    cJSON_AddItemToObject(res, "endpoint", sb_json_endpoint(b));
    arr = cJSON_AddArrayToObject(res, "operations");
    if (o != NULL)
        cJSON_AddItemToArray(arr, sb_json_op(o));
    return sb_ok_reply(status, res);
}

struct reply
sb_create_endpoint(const struct request *rq)
{
    const cJSON *je = cJSON_GetObjectItemCaseSensitive(rq->body, "endpoint");
    int bad = 0;
    const char *bid = sb_jbody_str(je, "branch_id", &bad);
    const char *type = sb_jbody_str(je, "type", &bad);
    struct branch *b;
    struct op *o;
    char hex[17];

    if (!cJSON_IsObject(je) || bad || bid == NULL || type == NULL)
        return sb_error_reply(400, "endpoint.branch_id and endpoint.type are required");
    if (strcmp(type, "read_write") != 0 && strcmp(type, "read_only") != 0)
        return sb_error_reply(400, "endpoint type must be read_write or read_only");
    if (!strcmp(type, "read_only"))
        return sb_error_reply(400, "sandbox: read_only endpoints are not supported");
    b = sb_branch_find(bid);
    if (b == NULL)
        return sb_error_reply(404, "branch %s not found", bid);
    if (b->has_ep)
        return sb_error_reply(400, "branch %s already has a read_write endpoint", bid);
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    b->has_ep = 1;
    sb_rand_hex(hex, 4);
    snprintf(b->ep_id, sizeof(b->ep_id), "ep-sandbox-%s", hex);
    snprintf(b->ep_state, sizeof(b->ep_state), "init");
    sb_now_str(b->ep_created, sizeof(b->ep_created));
    o = sb_op_new("start_compute", b->id, b->ep_id, OPK_SIMPLE, -1);
    return endpoint_reply(201, b, o);
}

struct reply
sb_start_endpoint(const struct request *rq)
{
    struct branch *b = sb_branch_by_ep(rq->id);
    struct op *o;

    if (b == NULL)
        return sb_error_reply(404, "endpoint %s not found", rq->id);
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    o = sb_op_new("start_compute", b->id, b->ep_id, OPK_SIMPLE, -1);
    return endpoint_reply(200, b, o);
}

static struct reply
list_endpoints(const struct branch *only)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "endpoints");

    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && sb.br[i].has_ep && (only == NULL || only == &sb.br[i]))
            cJSON_AddItemToArray(arr, sb_json_endpoint(&sb.br[i]));
    return sb_ok_reply(200, res);
}

struct reply
sb_connection_uri(const struct request *rq)
{
    struct MHD_Connection *conn = rq->conn;
    const char *bid = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "branch_id");
    const char *db = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "database_name");
    const char *role = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "role_name");
    struct branch *b = bid ? sb_branch_find(bid) : sb_branch_default();
    struct sb_cluster_meta m;
    char err[256];
    cJSON *dbs, *it, *res;
    int found = 0;
    char *uri;

    if (db == NULL || role == NULL)
        return sb_error_reply(400, "database_name and role_name are required");
    if (b == NULL)
        return sb_error_reply(404, "branch %s not found", bid ? bid : "(default)");
    if (!b->has_ep)
        return sb_error_reply(404, "branch %s has no read_write endpoint", b->id);
    if (strcmp(b->state, "ready") != 0)
        return sb_error_reply(422, "branch not ready yet");
    if (sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) != 0)
        return sb_error_reply(500, "sandbox: %s", err);
    if (strcmp(role, m.role) != 0)
        return sb_error_reply(404, "role %s not found (the sandbox knows the password of %s only)",
                              role, m.role);
    dbs = sb_json_databases(b, err, sizeof(err));
    if (dbs == NULL)
        return sb_error_reply(503, "%s", err);
    cJSON_ArrayForEach(it, dbs) found |= !strcmp(cJSON_GetObjectItem(it, "name")->valuestring, db);
    cJSON_Delete(dbs);
    if (!found)
        return sb_error_reply(404, "database %s not found", db);
    uri = sb_conn_uri(b, db, role);
    res = cJSON_CreateObject();
    sb_jset_str(res, "uri", uri ? uri : "");
    free(uri);
    return sb_ok_reply(200, res);
}

struct reply
sb_list_all_endpoints(const struct request *rq)
{
    (void)rq;
    return list_endpoints(NULL);
}

struct reply
sb_list_branch_endpoints(const struct request *rq)
{
    return list_endpoints(rq->branch);
}

struct reply
sb_get_endpoint(const struct request *rq)
{
    const struct branch *b = sb_branch_by_ep(rq->id);
    cJSON *res;

    if (b == NULL)
        return sb_error_reply(404, "endpoint %s not found", rq->id);
    res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "endpoint", sb_json_endpoint(b));
    return sb_ok_reply(200, res);
}
