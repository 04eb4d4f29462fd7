/* The project state: branches and operations in memory, state.json, lookups and new operations. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pd_time.h"
#include "sandbox.h"
#include "worker.h"

struct sb_state sb;
pthread_mutex_t sb_lock = PTHREAD_MUTEX_INITIALIZER;

static void
jget_str(char *dst, size_t size, const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    sb_scpy(dst, size, cJSON_IsString(v) ? v->valuestring : "");
}

static int
jget_int(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    return cJSON_IsNumber(v) ? v->valueint : cJSON_IsTrue(v) ? 1 : 0;
}

void
sb_state_save(void)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *bra = cJSON_AddArrayToObject(root, "branches");
    cJSON *opa = cJSON_AddArrayToObject(root, "operations");
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
    char *text;
    FILE *f;

    sb_jset_str(root, "project_id", sb.project_id);
    sb_jset_str(root, "created_at", sb.created_at);
    cJSON_AddNumberToObject(root, "base_backup_at", sb.base_backup_at);
    for (size_t i = 0; i < sb.nbr; i++) {
        const struct branch *b = &sb.br[i];
        cJSON *o = cJSON_CreateObject();

        sb_jset_str(o, "id", b->id);
        sb_jset_str(o, "name", b->name);
        sb_jset_str(o, "parent_id", b->parent_id);
        sb_jset_str(o, "parent_timestamp", b->parent_ts);
        sb_jset_str(o, "parent_lsn", b->parent_lsn);
        sb_jset_str(o, "state", b->state);
        sb_jset_str(o, "created_at", b->created_at);
        sb_jset_str(o, "updated_at", b->updated_at);
        sb_jset_str(o, "last_reset_at", b->last_reset_at);
        sb_jset_str(o, "expires_at", b->expires_at);
        sb_jset_str(o, "data", b->data);
        cJSON_AddNumberToObject(o, "is_default", b->is_default);
        cJSON_AddNumberToObject(o, "is_primary", b->is_primary);
        cJSON_AddNumberToObject(o, "is_protected", b->is_protected);
        cJSON_AddNumberToObject(o, "deleted", b->deleted);
        cJSON_AddNumberToObject(o, "port", b->port);
        cJSON_AddNumberToObject(o, "has_ep", b->has_ep);
        sb_jset_str(o, "ep_id", b->ep_id);
        sb_jset_str(o, "ep_state", b->ep_state);
        sb_jset_str(o, "ep_created", b->ep_created);
        cJSON_AddItemToArray(bra, o);
    }
    for (size_t i = 0; i < sb.nops; i++) {
        const struct op *p = &sb.ops[i];
        cJSON *o = cJSON_CreateObject();

        sb_jset_str(o, "id", p->id);
        sb_jset_str(o, "branch_id", p->branch_id);
        sb_jset_str(o, "endpoint_id", p->endpoint_id);
        sb_jset_str(o, "action", p->action);
        sb_jset_str(o, "status", p->status);
        sb_jset_str(o, "error", p->error);
        sb_jset_str(o, "created_at", p->created_at);
        sb_jset_str(o, "updated_at", p->updated_at);
        cJSON_AddNumberToObject(o, "total_duration_ms",
                                p->t_finished > 0 ? (p->t_finished - p->t_created) * 1000 : 0);
        cJSON_AddItemToArray(opa, o);
    }
    text = cJSON_Print(root);
    snprintf(path, sizeof(path), "%s/state.json", sb.state_dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f != NULL) {
        int ok = fputs(text, f) != EOF;

        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0)
            sb_log("cannot save %s: %s", path, strerror(errno));
    } else {
        sb_log("cannot save %s: %s", tmp, strerror(errno));
    }
    cJSON_free(text);
    cJSON_Delete(root);
}

int
sb_state_load(void)
{
    char path[PATH_MAX + 16];
    FILE *f;
    long n;
    char *text;
    cJSON *root;
    const cJSON *it;

    snprintf(path, sizeof(path), "%s/state.json", sb.state_dir);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        (void)fclose(f);
        return -1;
    }
    text = calloc(1, (size_t)n + 1);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n) {
        (void)fclose(f);
        free(text);
        return -1;
    }
    (void)fclose(f); // read only
    root = cJSON_Parse(text);
    free(text);
    if (root == NULL)
        return -1;
    jget_str(sb.created_at, sizeof(sb.created_at), root, "created_at");
    sb.base_backup_at = cJSON_GetNumberValue(cJSON_GetObjectItem(root, "base_backup_at"));
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "branches"))
    {
        struct branch *b = &sb.br[sb.nbr];

        if (sb.nbr >= MAX_BRANCHES)
            break;
        memset(b, 0, sizeof(*b));
        jget_str(b->id, sizeof(b->id), it, "id");
        jget_str(b->name, sizeof(b->name), it, "name");
        jget_str(b->parent_id, sizeof(b->parent_id), it, "parent_id");
        jget_str(b->parent_ts, sizeof(b->parent_ts), it, "parent_timestamp");
        jget_str(b->parent_lsn, sizeof(b->parent_lsn), it, "parent_lsn");
        jget_str(b->state, sizeof(b->state), it, "state");
        jget_str(b->created_at, sizeof(b->created_at), it, "created_at");
        jget_str(b->updated_at, sizeof(b->updated_at), it, "updated_at");
        jget_str(b->last_reset_at, sizeof(b->last_reset_at), it, "last_reset_at");
        jget_str(b->expires_at, sizeof(b->expires_at), it, "expires_at");
        jget_str(b->data, sizeof(b->data), it, "data");
        b->is_default = jget_int(it, "is_default");
        b->is_primary = jget_int(it, "is_primary");
        b->is_protected = jget_int(it, "is_protected");
        b->deleted = jget_int(it, "deleted");
        b->port = jget_int(it, "port");
        b->has_ep = jget_int(it, "has_ep");
        jget_str(b->ep_id, sizeof(b->ep_id), it, "ep_id");
        jget_str(b->ep_state, sizeof(b->ep_state), it, "ep_state");
        jget_str(b->ep_created, sizeof(b->ep_created), it, "ep_created");
        sb.nbr++;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(root, "operations"))
    {
        struct op *p = &sb.ops[sb.nops];

        if (sb.nops >= MAX_OPS)
            break;
        memset(p, 0, sizeof(*p));
        jget_str(p->id, sizeof(p->id), it, "id");
        jget_str(p->branch_id, sizeof(p->branch_id), it, "branch_id");
        jget_str(p->endpoint_id, sizeof(p->endpoint_id), it, "endpoint_id");
        jget_str(p->action, sizeof(p->action), it, "action");
        jget_str(p->status, sizeof(p->status), it, "status");
        jget_str(p->error, sizeof(p->error), it, "error");
        jget_str(p->created_at, sizeof(p->created_at), it, "created_at");
        jget_str(p->updated_at, sizeof(p->updated_at), it, "updated_at");
        p->dep = -1;
        p->t_created = p->t_finished = 1; // durations of old ops are not kept
        if (!strcmp(p->status, "scheduling") || !strcmp(p->status, "running") ||
            !strcmp(p->status, "cancelling")) {
            // its worker died with the previous server
            snprintf(p->status, sizeof(p->status), "failed");
            snprintf(p->error, sizeof(p->error), "the sandbox restarted during the operation");
        }
        sb.nops++;
    }
    cJSON_Delete(root);
    return 1;
}

void
sb_branch_dir(char *dst, size_t size, const char *id)
{
    char tmp[PATH_MAX + 96];

    snprintf(tmp, sizeof(tmp), "%s/%.60s", sb.branches_dir, id);
    sb_scpy(dst, size, tmp);
}

struct branch *
sb_branch_find(const char *id)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && strcmp(sb.br[i].id, id) == 0)
            return &sb.br[i];
    return NULL;
}

struct branch *
sb_branch_by_ep(const char *ep)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && sb.br[i].has_ep && strcmp(sb.br[i].ep_id, ep) == 0)
            return &sb.br[i];
    return NULL;
}

struct branch *
sb_branch_default(void)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && sb.br[i].is_default)
            return &sb.br[i];
    return NULL;
}

struct branch *
sb_branch_primary(void)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (sb.br[i].is_primary)
            return &sb.br[i];
    return NULL;
}

int
sb_branch_has_children(const char *id)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && strcmp(sb.br[i].parent_id, id) == 0)
            return 1;
    return 0;
}

int
sb_project_busy(void)
{
    for (size_t i = 0; i < sb.nops; i++) {
        const char *st = sb.ops[i].status;

        if (!strcmp(st, "scheduling") || !strcmp(st, "running") || !strcmp(st, "cancelling"))
            return 1;
    }
    return 0;
}

int
sb_branch_port(const struct branch *b)
{
    struct sb_cluster_meta m;
    char err[256];

    if (!b->is_primary)
        return b->port;
    return sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) == 0 ? m.port : 0;
}

static int
port_used(int port)
{
    struct sockaddr_in a;
    int fd, busy;

    for (size_t i = 0; i < sb.nbr; i++)
        if (sb.br[i].port == port)
            return 1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    busy = bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0;
    close(fd);
    return busy;
}

int
sb_pick_port(void)
{
    for (int i = 0; i < 200; i++) {
        int p = 20000 + (int)(rand_r(&sb_seed) % 12000);

        if (!port_used(p))
            return p;
    }
    return 0;
}

struct op *
sb_op_new(const char *action, const char *branch_id, const char *endpoint_id, int kind, int dep)
{
    struct op *p;

    if (sb.nops == MAX_OPS) {
        // drop the oldest finished half: operations are history, not state
        size_t keep = MAX_OPS / 2;

        memmove(sb.ops, sb.ops + (MAX_OPS - keep), keep * sizeof(sb.ops[0]));
        sb.nops = keep;
        for (size_t i = 0; i < sb.nops; i++)
            sb.ops[i].dep = -1;
        if (dep >= 0)
            dep = -1;
    }
    p = &sb.ops[sb.nops++];
    memset(p, 0, sizeof(*p));
    sb_new_uuid(p->id);
    sb_scpy(p->action, sizeof(p->action), action);
    sb_scpy(p->branch_id, sizeof(p->branch_id), branch_id ? branch_id : "");
    sb_scpy(p->endpoint_id, sizeof(p->endpoint_id), endpoint_id ? endpoint_id : "");
    snprintf(p->status, sizeof(p->status), "scheduling");
    sb_now_str(p->created_at, sizeof(p->created_at));
    sb_scpy(p->updated_at, sizeof(p->updated_at), p->created_at);
    p->t_created = pd_time_mono();
    p->kind = kind;
    p->dep = dep;
    return p;
}
