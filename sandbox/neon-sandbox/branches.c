/* Branch handlers: list, get, create (a PITR), patch, delete, restore, set default, SQL lists. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "pd_time.h"
#include "sandbox.h"
#include "worker.h"

/* Validate a point in time against the history window; 0 or an error reply. */
static int
check_point_in_time(const char *ts, const char *field, struct reply *out)
{
    double t, now = pd_time_wall();
    char earliest[40];

    if (pd_time_parse_rfc3339(&t, ts, 0) != 0) {
        *out = sb_error_reply(400, "invalid %s: %s is not an RFC 3339 timestamp", field, ts);
        return -1;
    }
    if (t > now) {
        *out = sb_error_reply(400, "%s %s is in the future", field, ts);
        return -1;
    }
    double oldest = now - (double)sb.retention;
    if (sb.base_backup_at > oldest)
        oldest = sb.base_backup_at;
    if (t < oldest) {
        pd_time_format(earliest, sizeof(earliest), oldest);
        *out = sb_error_reply(400,
                              "%s %s is outside the history retention window: the earliest "
                              "restorable time is %s",
                              field, ts, earliest);
        return -1;
    }
    return 0;
}

/*
 * An expires_at a request sets: refused as on a project outside Neon's early
 * access when NEON_SANDBOX_REFUSE_EXPIRES is set (tests of that path); else
 * an RFC 3339 time in the future. 0, or -1 with the error reply in *out.
 */
static int
check_expires_at(const char *ts, struct reply *out)
{
    const char *refuse = getenv("NEON_SANDBOX_REFUSE_EXPIRES");
    double t;

    if (refuse != NULL && refuse[0] != '\0' && strcmp(refuse, "0") != 0) {
        *out = sb_error_reply(400, "expires_at: branch expiration is available only to "
                                   "participants in the Early Access Program");
        return -1;
    }
    if (pd_time_parse_rfc3339(&t, ts, 0) != 0) {
        *out = sb_error_reply(400, "invalid expires_at: %s is not an RFC 3339 timestamp", ts);
        return -1;
    }
    if (t <= pd_time_wall()) {
        *out = sb_error_reply(400, "expires_at %s is not in the future", ts);
        return -1;
    }
    return 0;
}

/* "HI/LO", each 1 to 8 hex digits, as PostgreSQL prints an LSN. */
static int
valid_lsn(const char *s)
{
    size_t hi = strspn(s, "0123456789abcdefABCDEF"), lo;

    if (hi < 1 || hi > 8 || s[hi] != '/')
        return 0;
    lo = strspn(s + hi + 1, "0123456789abcdefABCDEF");
    return lo >= 1 && lo <= 8 && s[hi + 1 + lo] == '\0';
}

/* A create-branch request: what the body asks, then the branch and operations made for it. */
struct branch_create {
    const char *name, *parent_id, *ts, *lsn, *expires_at;
    int want_ep;
    struct branch *parent;
    struct branch *b;
    struct op *o1, *o2;
};

/* A phase's reply with status 0: no answer yet, the next phase goes on. */
static const struct reply go_on = {0, NULL};

/* The body's branch fields and endpoints into bc. */
static struct reply
create_parse(struct branch_create *bc, const cJSON *body)
{
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(body, "branch");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(body, "endpoints");
    const cJSON *it;
    int bad = 0;

    if (body != NULL && !cJSON_IsObject(body))
        return sb_error_reply(400, "request body must be a json object");
    if (jb != NULL && !cJSON_IsObject(jb))
        return sb_error_reply(400, "branch must be an object");
    if (jb != NULL) {
        bc->name = sb_jbody_str(jb, "name", &bad);
        bc->parent_id = sb_jbody_str(jb, "parent_id", &bad);
        bc->ts = sb_jbody_str(jb, "parent_timestamp", &bad);
        bc->lsn = sb_jbody_str(jb, "parent_lsn", &bad);
        bc->expires_at = sb_jbody_str(jb, "expires_at", &bad);
        if (bad)
            return sb_error_reply(400, "branch fields must be strings");
    }
    if (eps != NULL && !cJSON_IsArray(eps))
        return sb_error_reply(400, "endpoints must be an array");
    cJSON_ArrayForEach(it, eps)
    {
        const char *type = sb_jbody_str(it, "type", &bad);

        if (type == NULL || (strcmp(type, "read_write") != 0 && strcmp(type, "read_only") != 0))
            return sb_error_reply(400, "endpoint type must be read_write or read_only");
        if (!strcmp(type, "read_only"))
            return sb_error_reply(400, "sandbox: read_only endpoints are not supported");
        if (bc->want_ep++)
            return sb_error_reply(400, "a branch can have only one read_write endpoint");
    }
    return go_on;
}

/* The parent and the point in time exist and the project can take the branch. */
static struct reply
create_check(struct branch_create *bc)
{
    struct reply r;

    if (bc->ts && bc->lsn)
        return sb_error_reply(400, "specify either parent_lsn or parent_timestamp, not both");
    bc->parent =
        bc->parent_id && bc->parent_id[0] ? sb_branch_find(bc->parent_id) : sb_branch_default();
    if (bc->parent == NULL)
        return sb_error_reply(404, "branch %s not found",
                              bc->parent_id ? bc->parent_id : "(default)");
    if (!bc->parent->is_primary)
        return sb_error_reply(
            400,
            "sandbox: branching from %s is not supported: only the primary branch "
            "(%s) has a wal archive",
            bc->parent->id, sb_branch_primary() ? sb_branch_primary()->id : "?");
    if (bc->ts && check_point_in_time(bc->ts, "parent_timestamp", &r) != 0)
        return r;
    if (bc->lsn && !valid_lsn(bc->lsn))
        return sb_error_reply(400, "invalid parent_lsn %s", bc->lsn);
    if (bc->expires_at && check_expires_at(bc->expires_at, &r) != 0)
        return r;
    if (bc->name && (strlen(bc->name) == 0 || strlen(bc->name) > 256))
        return sb_error_reply(400, "branch name must be 1 to 256 characters");
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    if (sb.nbr >= MAX_BRANCHES)
        return sb_error_reply(400, "branches limit exceeded");
    return go_on;
}

/* The new branch (state init, its own port) and its operations: the recovery, then a start. */
static struct reply
create_commit(struct branch_create *bc)
{
    struct branch *b = &sb.br[sb.nbr];
    char hex[17];

    memset(b, 0, sizeof(*b));
    sb_rand_hex(hex, 4);
    snprintf(b->id, sizeof(b->id), "br-sandbox-%s", hex);
    sb_scpy(b->name, sizeof(b->name), bc->name ? bc->name : b->id);
    sb_scpy(b->parent_id, sizeof(b->parent_id), bc->parent->id);
    sb_scpy(b->parent_ts, sizeof(b->parent_ts), bc->ts ? bc->ts : "");
    sb_scpy(b->parent_lsn, sizeof(b->parent_lsn), bc->lsn ? bc->lsn : "");
    sb_scpy(b->expires_at, sizeof(b->expires_at), bc->expires_at ? bc->expires_at : "");
    snprintf(b->state, sizeof(b->state), "init");
    sb_now_str(b->created_at, sizeof(b->created_at));
    sb_scpy(b->updated_at, sizeof(b->updated_at), b->created_at);
    sb_branch_dir(b->data, sizeof(b->data), b->id);
    b->port = sb_pick_port();
    if (b->port == 0)
        return sb_error_reply(503, "no free port for the branch compute");
    if (bc->want_ep) {
        b->has_ep = 1;
        sb_rand_hex(hex, 4);
        snprintf(b->ep_id, sizeof(b->ep_id), "ep-sandbox-%s", hex);
        snprintf(b->ep_state, sizeof(b->ep_state), "init");
        sb_scpy(b->ep_created, sizeof(b->ep_created), b->created_at);
    }
    sb.nbr++;
    bc->b = b;
    bc->o1 = sb_op_new("create_branch", b->id, NULL, OPK_PITR, -1);
    sb_scpy(bc->o1->target_time, sizeof(bc->o1->target_time), bc->ts ? bc->ts : "");
    sb_scpy(bc->o1->target_lsn, sizeof(bc->o1->target_lsn), bc->lsn ? bc->lsn : "");
    if (bc->want_ep)
        bc->o2 = sb_op_new("start_compute", b->id, b->ep_id, OPK_SIMPLE, (int)(bc->o1 - sb.ops));
    return go_on;
}

/* connection_uris of a branch whose parent has one role and one database, as Neon gives them. */
static void
create_add_uris(cJSON *res, const struct branch *b, const cJSON *roles, const cJSON *dbs)
{
    const char *role = cJSON_GetObjectItem(cJSON_GetArrayItem(roles, 0), "name")->valuestring;
    const char *db = cJSON_GetObjectItem(cJSON_GetArrayItem(dbs, 0), "name")->valuestring;
    char *uri = sb_conn_uri(b, db, role);
    struct sb_cluster_meta m;
    char err[256];

    if (uri != NULL && sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) == 0) {
        cJSON *cu = cJSON_AddArrayToObject(res, "connection_uris");
        cJSON *d = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(d, "connection_parameters");

        sb_jset_str(d, "connection_uri", uri);
        sb_jset_str(p, "database", db);
        sb_jset_str(p, "password", m.password);
        sb_jset_str(p, "role", role);
        sb_jset_str(p, "host", "127.0.0.1");
        sb_jset_str(p, "pooler_host", "127.0.0.1");
        cJSON_AddItemToArray(cu, d);
    }
    free(uri);
}

/* 201 with the branch, its endpoint, its operations and its parent's roles and databases. */
static struct reply
create_reply(const struct branch_create *bc)
{
    cJSON *res = cJSON_CreateObject(), *arr, *dbs, *roles;
    char err[256];

    cJSON_AddItemToObject(res, "branch", sb_json_branch(bc->b));
    arr = cJSON_AddArrayToObject(res, "endpoints");
    if (bc->want_ep)
        cJSON_AddItemToArray(arr, sb_json_endpoint(bc->b));
    arr = cJSON_AddArrayToObject(res, "operations");
    cJSON_AddItemToArray(arr, sb_json_op(bc->o1));
    if (bc->o2)
        cJSON_AddItemToArray(arr, sb_json_op(bc->o2));
    // the new branch starts with its parent's roles and databases
    roles = sb_json_roles(bc->parent, err, sizeof(err));
    dbs = sb_json_databases(bc->parent, err, sizeof(err));
    cJSON_AddItemToObject(res, "roles", roles ? roles : cJSON_CreateArray());
    cJSON_AddItemToObject(res, "databases", dbs ? dbs : cJSON_CreateArray());
    if (bc->want_ep && roles && dbs && cJSON_GetArraySize(roles) == 1 &&
        cJSON_GetArraySize(dbs) == 1)
        create_add_uris(res, bc->b, roles, dbs);
    return sb_ok_reply(201, res);
}

struct reply
sb_create_branch(const struct request *rq)
{
    struct branch_create bc;
    struct reply r;

    memset(&bc, 0, sizeof(bc));
    r = create_parse(&bc, rq->body);
    if (r.status == 0)
        r = create_check(&bc);
    if (r.status == 0)
        r = create_commit(&bc);
    if (r.status == 0)
        r = create_reply(&bc);
    return r;
}

static struct reply
branch_ops_reply(const struct branch *b, struct op *const *ops, size_t n)
{
    cJSON *res = cJSON_CreateObject(), *arr;

    cJSON_AddItemToObject(res, "branch", sb_json_branch(b));
    arr = cJSON_AddArrayToObject(res, "operations");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, sb_json_op(ops[i]));
    return sb_ok_reply(200, res);
}

struct reply
sb_patch_branch(const struct request *rq)
{
    struct branch *b = rq->branch;
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(rq->body, "branch");
    const cJSON *prot, *exp;
    const char *name, *expires = NULL;
    struct reply r;
    int bad = 0;

    if (!cJSON_IsObject(jb))
        return sb_error_reply(400, "request body must contain a branch object");
    name = sb_jbody_str(jb, "name", &bad);
    prot = cJSON_GetObjectItemCaseSensitive(jb, "protected");
    exp = cJSON_GetObjectItemCaseSensitive(jb, "expires_at");
    if (bad || (name && (strlen(name) == 0 || strlen(name) > 256)))
        return sb_error_reply(400, "branch name must be 1 to 256 characters");
    if (prot && !cJSON_IsBool(prot))
        return sb_error_reply(400, "protected must be a boolean");
    // expires_at: a time sets the expiry, null removes it
    if (exp != NULL && !cJSON_IsNull(exp) && !cJSON_IsString(exp))
        return sb_error_reply(400, "expires_at must be a string or null");
    if (exp != NULL && cJSON_IsString(exp))
        expires = exp->valuestring;
    if (expires && b->is_default)
        return sb_error_reply(400, "the default branch cannot expire");
    if (expires && check_expires_at(expires, &r) != 0)
        return r;
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    if (name)
        sb_scpy(b->name, sizeof(b->name), name);
    if (prot)
        b->is_protected = cJSON_IsTrue(prot);
    if (exp)
        sb_scpy(b->expires_at, sizeof(b->expires_at), expires ? expires : "");
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    return branch_ops_reply(b, NULL, 0);
}

struct reply
sb_delete_branch(const struct request *rq)
{
    struct branch *b = sb_branch_find(rq->id);
    struct op *o;

    if (b == NULL) {
        struct reply r = {204, NULL};

        return r;
    }
    if (b->is_default)
        return sb_error_reply(400, "cannot delete the default branch %s", b->id);
    if (b->is_primary)
        return sb_error_reply(400, "cannot delete the root branch %s", b->id);
    if (sb_branch_has_children(b->id))
        return sb_error_reply(400, "cannot delete branch %s: it has child branches", b->id);
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    o = sb_branch_remove(b);
    return branch_ops_reply(b, &o, 1);
}

struct op *
sb_branch_remove(struct branch *b)
{
    b->deleted = 1;
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    return sb_op_new("delete_timeline", b->id, b->has_ep ? b->ep_id : NULL, OPK_DELETE, -1);
}

/*
 * The branch that keeps b's state before a restore (preserve_under_name):
 * b's children move to it and it becomes b's parent; for the primary it
 * keeps a compute of its own. Returns b again (the array may have moved it).
 */
static struct branch *
restore_preserve(struct branch *b, const char *keep, struct op *o)
{
    size_t bi = (size_t)(b - sb.br);
    struct branch *pb = &sb.br[sb.nbr++];
    char hex[17];

    b = &sb.br[bi];
    memset(pb, 0, sizeof(*pb));
    sb_rand_hex(hex, 4);
    snprintf(pb->id, sizeof(pb->id), "br-sandbox-%s", hex);
    sb_scpy(pb->name, sizeof(pb->name), keep);
    sb_scpy(pb->parent_id, sizeof(pb->parent_id), b->parent_id);
    snprintf(pb->state, sizeof(pb->state), "init");
    sb_now_str(pb->created_at, sizeof(pb->created_at));
    sb_scpy(pb->updated_at, sizeof(pb->updated_at), pb->created_at);
    sb_branch_dir(pb->data, sizeof(pb->data), pb->id);
    pb->port = sb_pick_port();
    if (b->is_primary) {
        // the old production state keeps a compute of its own (the worker starts it)
        pb->has_ep = 1;
        sb_rand_hex(hex, 4);
        snprintf(pb->ep_id, sizeof(pb->ep_id), "ep-sandbox-%s", hex);
        snprintf(pb->ep_state, sizeof(pb->ep_state), "active");
        sb_scpy(pb->ep_created, sizeof(pb->ep_created), pb->created_at);
    }
    sb_scpy(o->preserve_to, sizeof(o->preserve_to), pb->data);
    sb_scpy(o->preserve_branch, sizeof(o->preserve_branch), pb->id);
    // the preserved branch keeps the old data; the target its children
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && strcmp(sb.br[i].parent_id, b->id) == 0 && &sb.br[i] != pb)
            sb_scpy(sb.br[i].parent_id, sizeof(sb.br[i].parent_id), pb->id);
    sb_scpy(b->parent_id, sizeof(b->parent_id), pb->id);
    return b;
}

struct reply
sb_restore_branch(const struct request *rq)
{
    struct branch *b = rq->branch;
    const cJSON *body = rq->body;
    int bad = 0;
    const char *src_id = sb_jbody_str(body, "source_branch_id", &bad);
    const char *ts = sb_jbody_str(body, "source_timestamp", &bad);
    const char *lsn = sb_jbody_str(body, "source_lsn", &bad);
    const char *keep = sb_jbody_str(body, "preserve_under_name", &bad);
    struct branch *src;
    struct reply r;
    struct op *o;

    if (!cJSON_IsObject(body) || bad || src_id == NULL)
        return sb_error_reply(400, "source_branch_id is required");
    src = sb_branch_find(src_id);
    if (src == NULL)
        return sb_error_reply(404, "branch %s not found", src_id);
    if (ts && lsn)
        return sb_error_reply(400, "specify either source_lsn or source_timestamp, not both");
    if (!src->is_primary)
        return sb_error_reply(400,
                              "sandbox: restoring from %s is not supported: only the primary "
                              "branch has a wal archive",
                              src->id);
    // the primary (with the wal archive) is restored only from its own history
    if (b->is_primary && (src != b || (ts == NULL && lsn == NULL)))
        return sb_error_reply(400, "sandbox: the primary branch can only be restored from its own "
                                   "history at a point in time (source_branch_id = its id, "
                                   "source_timestamp or source_lsn)");
    if (src == b && (keep == NULL || keep[0] == '\0'))
        return sb_error_reply(400,
                              "preserve_under_name is required when restoring branch %s from "
                              "its own history",
                              b->id);
    if (src == b && ts == NULL && lsn == NULL)
        return sb_error_reply(400,
                              "source_timestamp or source_lsn is required when restoring "
                              "branch %s from its own history",
                              b->id);
    if (ts && check_point_in_time(ts, "source_timestamp", &r) != 0)
        return r;
    if (lsn && !valid_lsn(lsn))
        return sb_error_reply(400, "invalid source_lsn %s", lsn);
    if (sb_branch_has_children(b->id) && (keep == NULL || keep[0] == '\0'))
        return sb_error_reply(400, "preserve_under_name is required: branch %s has children",
                              b->id);
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    o = sb_op_new("create_timeline", b->id, NULL, OPK_PITR, -1);
    o->replace = 1;
    sb_scpy(o->target_time, sizeof(o->target_time), ts ? ts : "");
    sb_scpy(o->target_lsn, sizeof(o->target_lsn), lsn ? lsn : "");
    if (keep && keep[0] && sb.nbr < MAX_BRANCHES) {
        b = restore_preserve(b, keep, o);
    } else {
        sb_scpy(b->parent_id, sizeof(b->parent_id), src->id);
    }
    sb_scpy(b->parent_ts, sizeof(b->parent_ts), ts ? ts : "");
    sb_scpy(b->parent_lsn, sizeof(b->parent_lsn), lsn ? lsn : "");
    snprintf(b->state, sizeof(b->state), "resetting");
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    sb_scpy(b->last_reset_at, sizeof(b->last_reset_at), b->updated_at);
    return branch_ops_reply(b, &o, 1);
}

struct reply
sb_set_default(const struct request *rq)
{
    struct branch *b = rq->branch;

    if (b->expires_at[0])
        return sb_error_reply(400,
                              "branch %s expires at %s: remove its expiry before making it "
                              "the default",
                              b->id, b->expires_at);
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    for (size_t i = 0; i < sb.nbr; i++)
        sb.br[i].is_default = 0;
    b->is_default = 1;
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    return branch_ops_reply(b, NULL, 0);
}

struct reply
sb_list_branches(const struct request *rq)
{
    struct MHD_Connection *conn = rq->conn;
    const char *cursor = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor");
    const char *limit_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
    const char *search = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "search");
    long limit = sb.page_size, c = 0;
    size_t start = 0, shown = 0, i;
    cJSON *res = cJSON_CreateObject(), *arr, *pg;

    if (limit_s && !sb_parse_long(limit_s, 1, 10000, &limit)) {
        cJSON_Delete(res);
        return sb_error_reply(400, "limit must be between 1 and 10000");
    }
    if (cursor) {
        if (cursor[0] != 'c' || !sb_parse_long(cursor + 1, 0, INT_MAX, &c)) {
            cJSON_Delete(res);
            return sb_error_reply(400, "invalid cursor");
        }
        start = (size_t)c;
    }
    arr = cJSON_AddArrayToObject(res, "branches");
    cJSON_AddObjectToObject(res, "annotations");
    for (i = start; i < sb.nbr; i++) {
        if (sb.br[i].deleted)
            continue;
        if (search && !strstr(sb.br[i].name, search) && !strstr(sb.br[i].id, search))
            continue;
        if (limit > 0 && shown == (size_t)limit)
            break;
        cJSON_AddItemToArray(arr, sb_json_branch(&sb.br[i]));
        shown++;
    }
    pg = cJSON_AddObjectToObject(res, "pagination");
    if (i < sb.nbr) {
        char next[32];

        snprintf(next, sizeof(next), "c%zu", i);
        sb_jset_str(pg, "next", next);
    }
    sb_jset_str(pg, "sort_by", "created_at");
    sb_jset_str(pg, "sort_order", "asc");
    return sb_ok_reply(200, res);
}

struct reply
sb_get_branch(const struct request *rq)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *annotation, *obj;

    cJSON_AddItemToObject(res, "branch", sb_json_branch(rq->branch));
    annotation = cJSON_AddObjectToObject(res, "annotation");
    obj = cJSON_AddObjectToObject(annotation, "object");
    sb_jset_str(obj, "type", "console/branch");
    sb_jset_str(obj, "id", rq->branch->id);
    cJSON_AddObjectToObject(annotation, "value");
    return sb_ok_reply(200, res);
}

/* GET of a list a ready branch reads from its cluster, under key. */
static struct reply
branch_sql_list(const struct branch *b, const char *key,
                cJSON *(*list)(const struct branch *b, char *err, size_t errsz))
{
    char err[256];
    cJSON *res, *x;

    if (strcmp(b->state, "ready") != 0)
        return sb_error_reply(422, "branch not ready yet");
    x = list(b, err, sizeof(err));
    if (x == NULL)
        return sb_error_reply(503, "%s", err);
    res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, key, x);
    return sb_ok_reply(200, res);
}

struct reply
sb_get_databases(const struct request *rq)
{
    return branch_sql_list(rq->branch, "databases", sb_json_databases);
}

struct reply
sb_get_roles(const struct request *rq)
{
    return branch_sql_list(rq->branch, "roles", sb_json_roles);
}
