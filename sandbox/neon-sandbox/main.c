/*
 * neon-sandbox: a Neon Management API v2 server for training and tests.
 *
 * It speaks the same paths, methods, status codes and JSON shapes as the
 * official OpenAPI document for the endpoints pgdrill uses, on 127.0.0.1
 * only, behind a Bearer key. The project's default branch is a real
 * PostgreSQL primary managed by sandbox/pg-cluster.sh (with WAL archiving);
 * creating a branch performs a real point-in-time recovery of that primary
 * (copy of a base backup + the WAL archive, promoted, started on its own
 * port) in a worker process, so operations go scheduling -> running ->
 * finished (or failed) for real. State survives restarts (state.json).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#include "pd_time.h"
#include "worker.h"

#define MAX_BRANCHES 256
#define MAX_OPS      512
#define LOCKED_MSG                                                                                 \
    "project already has running conflicting operations, scheduling of new ones is prohibited"

enum op_kind {
    OPK_SIMPLE,
    OPK_PITR,
    OPK_DELETE,
};

struct branch {
    char id[64];
    char name[260];
    char parent_id[64];
    char parent_ts[64];
    char parent_lsn[40];
    char state[16];
    char created_at[40];
    char updated_at[40];
    char last_reset_at[40];
    char data[PATH_MAX + 96]; /* cluster directory; the primary's for the primary branch */
    int is_default;
    int is_primary; /* the branch is the primary cluster itself */
    int is_protected;
    int deleted; /* delete requested; gone for the API */
    int port;    /* 0 for the primary: read from its settings */
    int has_ep;
    char ep_id[64];
    char ep_state[16];
    char ep_created[40];
};

struct op {
    char id[40];
    char branch_id[64];
    char endpoint_id[64];
    char action[32];
    char status[16];
    char error[512];
    char created_at[40];
    char updated_at[40];
    double t_created, t_started, t_finished;
    int kind;
    int dep; /* index of the op that must finish first, or -1 */
    pid_t pid;
    char target_time[64];
    char target_lsn[40];
    int replace;
    char preserve_to[PATH_MAX + 96];
    char preserve_branch[64];
};

static struct {
    char project_id[64];
    char key[256];
    char state_dir[PATH_MAX];
    char primary[PATH_MAX];
    char pg_cluster[PATH_MAX];
    char self[PATH_MAX];
    char base[PATH_MAX + 16];
    char branches_dir[PATH_MAX + 16];
    char created_at[40];
    double base_backup_at;
    long retention;
    int page_size;
    struct branch br[MAX_BRANCHES];
    size_t nbr;
    struct op ops[MAX_OPS];
    size_t nops;
} sb;

/* A whole decimal string from min to max into *out; false (and *out kept) otherwise. */
static bool
sb_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '-'))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Copy a string, truncating; safe when both live in the same struct. */
static void
sb_scpy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memmove(dst, src, n);
    dst[n] = '\0';
}

static pthread_mutex_t sb_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t sb_stopping;
static unsigned int sb_seed;

static void sb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sb_log(const char *fmt, ...)
{
    char ts[40];
    va_list ap;

    pd_time_format(ts, sizeof(ts), pd_time_wall());
    fprintf(stderr, "neon-sandbox: %s ", ts);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void
sb_now_str(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && size > 0)
        buf[0] = '\0'; // did not fit: the contents would be undefined
}

static void
sb_rand_hex(char *buf, size_t nbytes)
{
    unsigned char r[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (nbytes > sizeof(r))
        nbytes = sizeof(r);
    if (fd < 0 || read(fd, r, nbytes) != (ssize_t)nbytes)
        for (size_t i = 0; i < nbytes; i++)
            r[i] = (unsigned char)rand_r(&sb_seed);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(buf + 2 * i, "%02x", r[i]);
}

static void
sb_new_uuid(char *buf)
{
    char h[33];

    sb_rand_hex(h, 16);
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    snprintf(buf, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* ---- persistence ------------------------------------------------------- */

static void
sb_jset_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v);
}

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

static void
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

static int
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

/* ---- model helpers ----------------------------------------------------- */

static void
sb_branch_dir(char *dst, size_t size, const char *id)
{
    char tmp[PATH_MAX + 96];

    snprintf(tmp, sizeof(tmp), "%s/%.60s", sb.branches_dir, id);
    sb_scpy(dst, size, tmp);
}

static struct branch *
sb_branch_find(const char *id)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && strcmp(sb.br[i].id, id) == 0)
            return &sb.br[i];
    return NULL;
}

static struct branch *
sb_branch_by_ep(const char *ep)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && sb.br[i].has_ep && strcmp(sb.br[i].ep_id, ep) == 0)
            return &sb.br[i];
    return NULL;
}

static struct branch *
sb_branch_default(void)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && sb.br[i].is_default)
            return &sb.br[i];
    return NULL;
}

static struct branch *
sb_branch_primary(void)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (sb.br[i].is_primary)
            return &sb.br[i];
    return NULL;
}

static int
sb_branch_has_children(const char *id)
{
    for (size_t i = 0; i < sb.nbr; i++)
        if (!sb.br[i].deleted && strcmp(sb.br[i].parent_id, id) == 0)
            return 1;
    return 0;
}

static int
sb_project_busy(void)
{
    for (size_t i = 0; i < sb.nops; i++) {
        const char *st = sb.ops[i].status;

        if (!strcmp(st, "scheduling") || !strcmp(st, "running") || !strcmp(st, "cancelling"))
            return 1;
    }
    return 0;
}

static int
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

static int
sb_pick_port(void)
{
    for (int i = 0; i < 200; i++) {
        int p = 20000 + (int)(rand_r(&sb_seed) % 12000);

        if (!port_used(p))
            return p;
    }
    return 0;
}

static struct op *
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

/* ---- JSON rendering ---------------------------------------------------- */

static cJSON *
sb_json_branch(const struct branch *b)
{
    cJSON *o = cJSON_CreateObject();

    sb_jset_str(o, "id", b->id);
    sb_jset_str(o, "project_id", sb.project_id);
    if (b->parent_id[0])
        sb_jset_str(o, "parent_id", b->parent_id);
    if (b->parent_lsn[0])
        sb_jset_str(o, "parent_lsn", b->parent_lsn);
    if (b->parent_ts[0])
        sb_jset_str(o, "parent_timestamp", b->parent_ts);
    sb_jset_str(o, "name", b->name);
    sb_jset_str(o, "current_state", b->state);
    sb_jset_str(o, "state_changed_at", b->updated_at);
    cJSON_AddNumberToObject(o, "logical_size", 0);
    sb_jset_str(o, "creation_source", "console");
    cJSON_AddBoolToObject(o, "primary", b->is_default);
    cJSON_AddBoolToObject(o, "default", b->is_default);
    cJSON_AddBoolToObject(o, "protected", b->is_protected);
    cJSON_AddNumberToObject(o, "cpu_used_sec", 0);
    cJSON_AddNumberToObject(o, "compute_time_seconds", 0);
    cJSON_AddNumberToObject(o, "active_time_seconds", 0);
    cJSON_AddNumberToObject(o, "written_data_bytes", 0);
    cJSON_AddNumberToObject(o, "data_transfer_bytes", 0);
    sb_jset_str(o, "created_at", b->created_at);
    sb_jset_str(o, "updated_at", b->updated_at);
    if (b->last_reset_at[0])
        sb_jset_str(o, "last_reset_at", b->last_reset_at);
    sb_jset_str(o, "init_source", "parent-data");
    return o;
}

static cJSON *
sb_json_endpoint(const struct branch *b)
{
    cJSON *o = cJSON_CreateObject();

    sb_jset_str(o, "host", "127.0.0.1");
    sb_jset_str(o, "id", b->ep_id);
    sb_jset_str(o, "project_id", sb.project_id);
    sb_jset_str(o, "branch_id", b->id);
    cJSON_AddNumberToObject(o, "autoscaling_limit_min_cu", 0.25);
    cJSON_AddNumberToObject(o, "autoscaling_limit_max_cu", 0.25);
    sb_jset_str(o, "region_id", "local-sandbox");
    sb_jset_str(o, "type", "read_write");
    sb_jset_str(o, "current_state", b->ep_state);
    cJSON_AddObjectToObject(o, "settings");
    cJSON_AddBoolToObject(o, "pooler_enabled", 0);
    sb_jset_str(o, "pooler_mode", "transaction");
    cJSON_AddBoolToObject(o, "disabled", 0);
    cJSON_AddBoolToObject(o, "passwordless_access", 0);
    sb_jset_str(o, "creation_source", "console");
    sb_jset_str(o, "created_at", b->ep_created);
    sb_jset_str(o, "updated_at", b->updated_at);
    sb_jset_str(o, "proxy_host", "127.0.0.1");
    cJSON_AddNumberToObject(o, "suspend_timeout_seconds", 0);
    sb_jset_str(o, "provisioner", "k8s-neonvm");
    return o;
}

static cJSON *
sb_json_op(const struct op *p)
{
    cJSON *o = cJSON_CreateObject();
    double end = p->t_finished > 0 ? p->t_finished : pd_time_mono();

    sb_jset_str(o, "id", p->id);
    sb_jset_str(o, "project_id", sb.project_id);
    if (p->branch_id[0])
        sb_jset_str(o, "branch_id", p->branch_id);
    if (p->endpoint_id[0])
        sb_jset_str(o, "endpoint_id", p->endpoint_id);
    sb_jset_str(o, "action", p->action);
    sb_jset_str(o, "status", p->status);
    if (p->error[0])
        sb_jset_str(o, "error", p->error);
    cJSON_AddNumberToObject(o, "failures_count", !strcmp(p->status, "failed") ? 1 : 0);
    sb_jset_str(o, "created_at", p->created_at);
    sb_jset_str(o, "updated_at", p->updated_at);
    cJSON_AddNumberToObject(o, "total_duration_ms", (double)(long)((end - p->t_created) * 1000.0));
    return o;
}

static cJSON *
sb_json_project(void)
{
    cJSON *o = cJSON_CreateObject();
    char now[40];

    sb_now_str(now, sizeof(now));
    sb_jset_str(o, "id", sb.project_id);
    sb_jset_str(o, "platform_id", "local");
    sb_jset_str(o, "region_id", "local-sandbox");
    sb_jset_str(o, "name", sb.project_id);
    sb_jset_str(o, "provisioner", "k8s-neonvm");
    cJSON_AddObjectToObject(o, "settings");
    cJSON_AddNumberToObject(o, "pg_version", 15);
    sb_jset_str(o, "proxy_host", "127.0.0.1");
    cJSON_AddNumberToObject(o, "branch_logical_size_limit", 0);
    cJSON_AddNumberToObject(o, "branch_logical_size_limit_bytes", 0);
    cJSON_AddBoolToObject(o, "store_passwords", 1);
    sb_jset_str(o, "creation_source", "console");
    cJSON_AddNumberToObject(o, "history_retention_seconds", (double)sb.retention);
    sb_jset_str(o, "created_at", sb.created_at);
    sb_jset_str(o, "updated_at", sb.created_at);
    sb_jset_str(o, "consumption_period_start", sb.created_at);
    sb_jset_str(o, "consumption_period_end", now);
    cJSON_AddNumberToObject(o, "active_time_seconds", 0);
    cJSON_AddNumberToObject(o, "compute_time_seconds", 0);
    cJSON_AddNumberToObject(o, "written_data_bytes", 0);
    cJSON_AddNumberToObject(o, "data_transfer_bytes", 0);
    cJSON_AddNumberToObject(o, "data_storage_bytes_hour", 0);
    cJSON_AddNumberToObject(o, "cpu_used_sec", 0);
    sb_jset_str(o, "owner_id", "sandbox-owner");
    return o;
}

/* ---- SQL against a branch's cluster --------------------------------------- */

static PGresult *
branch_query(const struct branch *b, const char *sql, char *err, size_t errsz)
{
    struct sb_cluster_meta m;
    char conninfo[PATH_MAX + 400];
    PGconn *c;
    PGresult *r;
    const char *dir = b->is_primary ? sb.primary : b->data;

    if (sb_cluster_meta_read(&m, dir, err, errsz) != 0)
        return NULL;
    snprintf(conninfo, sizeof(conninfo),
             "host='%.4000s' port=%d user='%.60s' dbname=postgres connect_timeout=5", dir,
             b->is_primary ? m.port : b->port, m.role);
    c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errsz, "cannot connect to the compute of branch %s", b->id);
        PQfinish(c);
        return NULL;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errsz, "query on branch %s failed", b->id);
        PQclear(r);
        r = NULL;
    }
    PQfinish(c);
    return r;
}

static cJSON *
sb_json_databases(const struct branch *b, char *err, size_t errsz)
{
    PGresult *r = branch_query(b,
                               "SELECT oid, datname, pg_get_userbyid(datdba) FROM pg_database "
                               "WHERE datallowconn AND NOT datistemplate ORDER BY oid",
                               err, errsz);
    cJSON *arr;

    if (r == NULL)
        return NULL;
    arr = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *o = cJSON_CreateObject();

        cJSON_AddNumberToObject(o, "id", strtod(PQgetvalue(r, i, 0), NULL));
        sb_jset_str(o, "branch_id", b->id);
        sb_jset_str(o, "name", PQgetvalue(r, i, 1));
        sb_jset_str(o, "owner_name", PQgetvalue(r, i, 2));
        sb_jset_str(o, "created_at", b->created_at);
        sb_jset_str(o, "updated_at", b->updated_at);
        cJSON_AddItemToArray(arr, o);
    }
    PQclear(r);
    return arr;
}

static cJSON *
sb_json_roles(const struct branch *b, char *err, size_t errsz)
{
    PGresult *r = branch_query(
        b, "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname !~ '^pg_' ORDER BY oid", err,
        errsz);
    cJSON *arr;

    if (r == NULL)
        return NULL;
    arr = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *o = cJSON_CreateObject();

        sb_jset_str(o, "branch_id", b->id);
        sb_jset_str(o, "name", PQgetvalue(r, i, 0));
        cJSON_AddBoolToObject(o, "protected", 0);
        sb_jset_str(o, "authentication_method", "password");
        sb_jset_str(o, "created_at", b->created_at);
        sb_jset_str(o, "updated_at", b->updated_at);
        cJSON_AddItemToArray(arr, o);
    }
    PQclear(r);
    return arr;
}

static char *
sb_conn_uri(const struct branch *b, const char *db, const char *role)
{
    struct sb_cluster_meta m;
    char err[256], uri[1024];

    if (sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) != 0)
        return NULL;
    snprintf(uri, sizeof(uri), "postgresql://%s:%s@127.0.0.1:%d/%s", role, m.password,
             sb_branch_port(b), db);
    return strdup(uri);
}

/* ---- operations ticker ------------------------------------------------- */

static void
op_set(struct op *p, const char *status, const char *error)
{
    sb_scpy(p->status, sizeof(p->status), status);
    if (error != NULL)
        sb_scpy(p->error, sizeof(p->error), error);
    sb_now_str(p->updated_at, sizeof(p->updated_at));
    if (!strcmp(status, "running"))
        p->t_started = pd_time_mono();
    if (!strcmp(status, "finished") || !strcmp(status, "failed"))
        p->t_finished = pd_time_mono();
    sb_log("operation %s (%s, branch %s): %s%s%s", p->id, p->action, p->branch_id, status,
           error ? ": " : "", error ? error : "");
}

static void
op_finished(struct op *p)
{
    struct branch *b = NULL;

    for (size_t i = 0; i < sb.nbr; i++)
        if (strcmp(sb.br[i].id, p->branch_id) == 0)
            b = &sb.br[i];
    if (b == NULL)
        return;
    if (!strcmp(p->action, "create_branch") || !strcmp(p->action, "create_timeline")) {
        snprintf(b->state, sizeof(b->state), "ready");
        sb_now_str(b->updated_at, sizeof(b->updated_at));
        if (p->preserve_branch[0]) {
            for (size_t i = 0; i < sb.nbr; i++)
                if (strcmp(sb.br[i].id, p->preserve_branch) == 0)
                    snprintf(sb.br[i].state, sizeof(sb.br[i].state), "ready");
        }
    } else if (!strcmp(p->action, "start_compute")) {
        snprintf(b->ep_state, sizeof(b->ep_state), "active");
    } else if (!strcmp(p->action, "delete_timeline")) {
        size_t idx = (size_t)(b - sb.br);

        memmove(&sb.br[idx], &sb.br[idx + 1], (sb.nbr - idx - 1) * sizeof(sb.br[0]));
        sb.nbr--;
    }
}

static void
op_spawn(struct op *p)
{
    struct branch *b = NULL;
    char port[16], pport[16], errfile[PATH_MAX + 64];
    const char *argv[32];
    size_t n = 0;

    for (size_t i = 0; i < sb.nbr; i++)
        if (strcmp(sb.br[i].id, p->branch_id) == 0)
            b = &sb.br[i];
    if (b == NULL) {
        op_set(p, "failed", "branch vanished");
        return;
    }
    snprintf(port, sizeof(port), "%d", b->port);
    snprintf(errfile, sizeof(errfile), "%s/ops/%s.err", sb.state_dir, p->id);
    argv[n++] = sb.self;
    argv[n++] = "--worker";
    argv[n++] = (p->kind == OPK_PITR ? "pitr" : "delete");
    argv[n++] = "--pg-cluster";
    argv[n++] = sb.pg_cluster;
    argv[n++] = "--data";
    argv[n++] = b->data;
    argv[n++] = "--errfile";
    argv[n++] = errfile;
    if (p->kind == OPK_PITR) {
        argv[n++] = "--primary";
        argv[n++] = sb.primary;
        argv[n++] = "--base";
        argv[n++] = sb.base;
        argv[n++] = "--port";
        argv[n++] = port;
        if (p->target_time[0]) {
            argv[n++] = "--target-time";
            argv[n++] = p->target_time;
        } else if (p->target_lsn[0]) {
            argv[n++] = "--target-lsn";
            argv[n++] = p->target_lsn;
        }
        if (p->replace)
            argv[n++] = "--replace";
        if (p->preserve_to[0]) {
            struct branch *pb = NULL;

            for (size_t i = 0; i < sb.nbr; i++)
                if (strcmp(sb.br[i].id, p->preserve_branch) == 0)
                    pb = &sb.br[i];
            snprintf(pport, sizeof(pport), "%d", pb ? pb->port : 0);
            argv[n++] = "--preserve-to";
            argv[n++] = p->preserve_to;
            argv[n++] = "--preserve-port";
            argv[n++] = pport;
        }
    }
    argv[n] = NULL;
    unlink(errfile);
    p->pid = sb_worker_spawn(sb.self, argv);
    if (p->pid < 0)
        op_set(p, "failed", "cannot start the worker process");
    else
        op_set(p, "running", NULL);
}

static void
op_reap(struct op *p)
{
    char errfile[PATH_MAX + 64], msg[512] = "";
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    FILE *f;

    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    if (r > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        op_set(p, "finished", NULL);
        op_finished(p);
        return;
    }
    snprintf(errfile, sizeof(errfile), "%s/ops/%s.err", sb.state_dir, p->id);
    f = fopen(errfile, "r");
    if (f != NULL) {
        if (fgets(msg, sizeof(msg), f) != NULL)
            msg[strcspn(msg, "\n")] = '\0';
        (void)fclose(f); // read only
    }
    op_set(p, "failed", msg[0] ? msg : "the worker process failed");
    for (size_t i = 0; i < sb.nbr; i++)
        if (strcmp(sb.br[i].id, p->branch_id) == 0 && strcmp(p->action, "delete_timeline") != 0)
            snprintf(sb.br[i].state, sizeof(sb.br[i].state), "error");
}

static void
sb_ops_tick(void)
{
    double now = pd_time_mono();
    int changed = 0;

    for (size_t i = 0; i < sb.nops; i++) {
        struct op *p = &sb.ops[i];

        if (!strcmp(p->status, "scheduling")) {
            if (p->dep >= 0) {
                const char *ds = sb.ops[p->dep].status;

                if (!strcmp(ds, "failed") || !strcmp(ds, "error") || !strcmp(ds, "cancelled")) {
                    op_set(p, "failed", "a preceding operation failed");
                    changed = 1;
                    continue;
                }
                if (strcmp(ds, "finished") != 0)
                    continue;
            }
            if (now - p->t_created < 0.1)
                continue;
            if (p->kind == OPK_SIMPLE)
                op_set(p, "running", NULL);
            else
                op_spawn(p);
            changed = 1;
        } else if (!strcmp(p->status, "running")) {
            if (p->kind == OPK_SIMPLE) {
                if (now - p->t_started >= 0.2) {
                    op_set(p, "finished", NULL);
                    op_finished(p);
                    changed = 1;
                }
            } else {
                op_reap(p);
                changed |= strcmp(p->status, "running") != 0;
            }
        }
    }
    if (changed)
        sb_state_save();
}

static void *
sb_ticker(void *arg)
{
    (void)arg;
    while (!sb_stopping) {
        struct timespec ts = {0, 50 * 1000000L};

        pthread_mutex_lock(&sb_lock);
        sb_ops_tick();
        pthread_mutex_unlock(&sb_lock);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- HTTP -------------------------------------------------------------- */

struct reply {
    int status;
    cJSON *body; /* NULL: no body (204) */
};

static char empty_body[1];

static struct reply sb_error_reply(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct reply
sb_error_reply(int status, const char *fmt, ...)
{
    struct reply r = {status, cJSON_CreateObject()};
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sb_jset_str(r.body, "code", "");
    sb_jset_str(r.body, "message", msg);
    return r;
}

static struct reply
sb_ok_reply(int status, cJSON *body)
{
    struct reply r = {status, body};

    return r;
}

/* What a route's handler gets: the request and the path's resolved segments. */
struct request {
    struct MHD_Connection *conn;
    const cJSON *body;     /* NULL: no body */
    struct branch *branch; /* the {branch} segment, a live branch; or NULL */
    const char *id;        /* the {id} segment as sent; or NULL */
};

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

static const char *
sb_jbody_str(const cJSON *o, const char *k, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (v == NULL || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static struct reply
sb_create_branch(const struct request *rq)
{
    const cJSON *body = rq->body;
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(body, "branch");
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(body, "endpoints");
    const cJSON *it;
    int bad = 0, want_ep = 0;
    const char *name = NULL, *parent_id = NULL, *ts = NULL, *lsn = NULL;
    struct branch *parent, *b;
    struct reply r;
    struct op *o1, *o2 = NULL;
    char hex[17];
    cJSON *res, *arr, *dbs, *roles;
    char err[256];

    if (body != NULL && !cJSON_IsObject(body))
        return sb_error_reply(400, "request body must be a json object");
    if (jb != NULL && !cJSON_IsObject(jb))
        return sb_error_reply(400, "branch must be an object");
    if (jb != NULL) {
        name = sb_jbody_str(jb, "name", &bad);
        parent_id = sb_jbody_str(jb, "parent_id", &bad);
        ts = sb_jbody_str(jb, "parent_timestamp", &bad);
        lsn = sb_jbody_str(jb, "parent_lsn", &bad);
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
        if (want_ep++)
            return sb_error_reply(400, "a branch can have only one read_write endpoint");
    }
    if (ts && lsn)
        return sb_error_reply(400, "specify either parent_lsn or parent_timestamp, not both");
    parent = parent_id && parent_id[0] ? sb_branch_find(parent_id) : sb_branch_default();
    if (parent == NULL)
        return sb_error_reply(404, "branch %s not found", parent_id ? parent_id : "(default)");
    if (!parent->is_primary)
        return sb_error_reply(
            400,
            "sandbox: branching from %s is not supported: only the primary branch "
            "(%s) has a wal archive",
            parent->id, sb_branch_primary() ? sb_branch_primary()->id : "?");
    if (ts && check_point_in_time(ts, "parent_timestamp", &r) != 0)
        return r;
    if (lsn && !valid_lsn(lsn))
        return sb_error_reply(400, "invalid parent_lsn %s", lsn);
    if (name && (strlen(name) == 0 || strlen(name) > 256))
        return sb_error_reply(400, "branch name must be 1 to 256 characters");
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    if (sb.nbr >= MAX_BRANCHES)
        return sb_error_reply(400, "branches limit exceeded");

    b = &sb.br[sb.nbr];
    memset(b, 0, sizeof(*b));
    sb_rand_hex(hex, 4);
    snprintf(b->id, sizeof(b->id), "br-sandbox-%s", hex);
    sb_scpy(b->name, sizeof(b->name), name ? name : b->id);
    sb_scpy(b->parent_id, sizeof(b->parent_id), parent->id);
    sb_scpy(b->parent_ts, sizeof(b->parent_ts), ts ? ts : "");
    sb_scpy(b->parent_lsn, sizeof(b->parent_lsn), lsn ? lsn : "");
    snprintf(b->state, sizeof(b->state), "init");
    sb_now_str(b->created_at, sizeof(b->created_at));
    sb_scpy(b->updated_at, sizeof(b->updated_at), b->created_at);
    sb_branch_dir(b->data, sizeof(b->data), b->id);
    b->port = sb_pick_port();
    if (b->port == 0)
        return sb_error_reply(503, "no free port for the branch compute");
    if (want_ep) {
        b->has_ep = 1;
        sb_rand_hex(hex, 4);
        snprintf(b->ep_id, sizeof(b->ep_id), "ep-sandbox-%s", hex);
        snprintf(b->ep_state, sizeof(b->ep_state), "init");
        sb_scpy(b->ep_created, sizeof(b->ep_created), b->created_at);
    }
    sb.nbr++;
    o1 = sb_op_new("create_branch", b->id, NULL, OPK_PITR, -1);
    sb_scpy(o1->target_time, sizeof(o1->target_time), ts ? ts : "");
    sb_scpy(o1->target_lsn, sizeof(o1->target_lsn), lsn ? lsn : "");
    if (want_ep)
        o2 = sb_op_new("start_compute", b->id, b->ep_id, OPK_SIMPLE, (int)(o1 - sb.ops));

    res = cJSON_CreateObject();
    cJSON_AddItemToObject(res, "branch", sb_json_branch(b));
    arr = cJSON_AddArrayToObject(res, "endpoints");
    if (want_ep)
        cJSON_AddItemToArray(arr, sb_json_endpoint(b));
    arr = cJSON_AddArrayToObject(res, "operations");
    cJSON_AddItemToArray(arr, sb_json_op(o1));
    if (o2)
        cJSON_AddItemToArray(arr, sb_json_op(o2));
    // the new branch starts with its parent's roles and databases
    roles = sb_json_roles(parent, err, sizeof(err));
    dbs = sb_json_databases(parent, err, sizeof(err));
    cJSON_AddItemToObject(res, "roles", roles ? roles : cJSON_CreateArray());
    cJSON_AddItemToObject(res, "databases", dbs ? dbs : cJSON_CreateArray());
    if (want_ep && roles && dbs && cJSON_GetArraySize(roles) == 1 && cJSON_GetArraySize(dbs) == 1) {
        const char *role = cJSON_GetObjectItem(cJSON_GetArrayItem(roles, 0), "name")->valuestring;
        const char *db = cJSON_GetObjectItem(cJSON_GetArrayItem(dbs, 0), "name")->valuestring;
        char *uri = sb_conn_uri(b, db, role);
        struct sb_cluster_meta m;

        if (uri != NULL && sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) == 0) {
            cJSON *cu = cJSON_AddArrayToObject(res, "connection_uris");
            cJSON *d = cJSON_CreateObject(),
                  *p = cJSON_AddObjectToObject(d, "connection_parameters");

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
    return sb_ok_reply(201, res);
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

static struct reply
sb_patch_branch(const struct request *rq)
{
    struct branch *b = rq->branch;
    const cJSON *jb = cJSON_GetObjectItemCaseSensitive(rq->body, "branch");
    const cJSON *prot;
    const char *name;
    int bad = 0;

    if (!cJSON_IsObject(jb))
        return sb_error_reply(400, "request body must contain a branch object");
    name = sb_jbody_str(jb, "name", &bad);
    prot = cJSON_GetObjectItemCaseSensitive(jb, "protected");
    if (bad || (name && (strlen(name) == 0 || strlen(name) > 256)))
        return sb_error_reply(400, "branch name must be 1 to 256 characters");
    if (prot && !cJSON_IsBool(prot))
        return sb_error_reply(400, "protected must be a boolean");
    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    if (name)
        sb_scpy(b->name, sizeof(b->name), name);
    if (prot)
        b->is_protected = cJSON_IsTrue(prot);
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    return branch_ops_reply(b, NULL, 0);
}

static struct reply
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
    b->deleted = 1;
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    o = sb_op_new("delete_timeline", b->id, b->has_ep ? b->ep_id : NULL, OPK_DELETE, -1);
    return branch_ops_reply(b, &o, 1);
}

static struct reply
sb_restore_branch(const struct request *rq)
{
    struct branch *b = rq->branch;
    const cJSON *body = rq->body;
    int bad = 0;
    const char *src_id = sb_jbody_str(body, "source_branch_id", &bad);
    const char *ts = sb_jbody_str(body, "source_timestamp", &bad);
    const char *lsn = sb_jbody_str(body, "source_lsn", &bad);
    const char *keep = sb_jbody_str(body, "preserve_under_name", &bad);
    struct branch *src, *pb = NULL;
    struct reply r;
    struct op *o;
    char hex[17];

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
    if (b->is_primary)
        return sb_error_reply(400,
                              "sandbox: restoring the primary branch in place is not supported; "
                              "create a branch at the point in time instead");
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
        size_t bi = (size_t)(b - sb.br);

        pb = &sb.br[sb.nbr++];
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
        sb_scpy(o->preserve_to, sizeof(o->preserve_to), pb->data);
        sb_scpy(o->preserve_branch, sizeof(o->preserve_branch), pb->id);
        // the preserved branch keeps the old data (stopped); the target its children
        for (size_t i = 0; i < sb.nbr; i++)
            if (!sb.br[i].deleted && strcmp(sb.br[i].parent_id, b->id) == 0 && &sb.br[i] != pb)
                sb_scpy(sb.br[i].parent_id, sizeof(sb.br[i].parent_id), pb->id);
        sb_scpy(b->parent_id, sizeof(b->parent_id), pb->id);
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

static struct reply
sb_set_default(const struct request *rq)
{
    struct branch *b = rq->branch;

    if (sb_project_busy())
        return sb_error_reply(423, LOCKED_MSG);
    for (size_t i = 0; i < sb.nbr; i++)
        sb.br[i].is_default = 0;
    b->is_default = 1;
    sb_now_str(b->updated_at, sizeof(b->updated_at));
    return branch_ops_reply(b, NULL, 0);
}

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

static struct reply
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

static struct reply
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

static struct reply
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

static struct reply
sb_get_project(const struct request *rq)
{
    cJSON *res = cJSON_CreateObject();

    (void)rq;
    cJSON_AddItemToObject(res, "project", sb_json_project());
    return sb_ok_reply(200, res);
}

static struct reply
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

static struct reply
sb_get_databases(const struct request *rq)
{
    return branch_sql_list(rq->branch, "databases", sb_json_databases);
}

static struct reply
sb_get_roles(const struct request *rq)
{
    return branch_sql_list(rq->branch, "roles", sb_json_roles);
}

static struct reply
sb_list_all_endpoints(const struct request *rq)
{
    (void)rq;
    return list_endpoints(NULL);
}

static struct reply
sb_list_branch_endpoints(const struct request *rq)
{
    return list_endpoints(rq->branch);
}

static struct reply
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

static struct reply
sb_list_operations(const struct request *rq)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "operations");

    (void)rq;
    for (size_t i = sb.nops; i-- > 0;)
        cJSON_AddItemToArray(arr, sb_json_op(&sb.ops[i]));
    // Pagination requires a non-empty cursor: the oldest operation listed
    if (sb.nops > 0)
        sb_jset_str(cJSON_AddObjectToObject(res, "pagination"), "cursor", sb.ops[0].created_at);
    return sb_ok_reply(200, res);
}

static struct reply
sb_get_operation(const struct request *rq)
{
    for (size_t i = 0; i < sb.nops; i++) {
        if (strcmp(sb.ops[i].id, rq->id) == 0) {
            cJSON *res = cJSON_CreateObject();

            cJSON_AddItemToObject(res, "operation", sb_json_op(&sb.ops[i]));
            return sb_ok_reply(200, res);
        }
    }
    return sb_error_reply(404, "operation %s not found", rq->id);
}

static struct reply
sb_operation_path_not_found(const struct request *rq)
{
    (void)rq;
    // a path below an operation names none: the message has always left the id empty
    return sb_error_reply(404, "operation %s not found", "");
}

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
    {"GET", "branches", sb_list_branches, false},
    {"POST", "branches", sb_create_branch, true},
    {NULL, "branches", method_not_allowed, false},
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
static struct reply
sb_route_dispatch(struct MHD_Connection *conn, const char *method, const char *url,
                  const cJSON *body, int body_bad)
{
    char path[1024], *segs[8], *save = NULL, *tok;
    int n = 0;
    struct request rq = {conn, body, NULL, NULL};

    if (strncmp(url, "/api/v2/", 8) != 0)
        return sb_error_reply(404, "not found");
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
        r = rt->handler(&rq);
        if (rt->mutates && r.status < 300)
            sb_state_save();
        return r;
    }
    return sb_error_reply(404, "not found");
}

struct conn_state {
    char *data;
    size_t len;
    int too_big;
};

static int
authorized(struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    size_t kl = strlen(sb.key);

    if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    // constant-time compare: the key is a secret
    if (strlen(h) != kl)
        return 0;
    unsigned char diff = 0;
    for (size_t i = 0; i < kl; i++)
        diff |= (unsigned char)(h[i] ^ sb.key[i]);
    return diff == 0;
}

static enum MHD_Result
sb_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct conn_state *cs = *con_cls;
    const char *rid_in;
    char rid[40];
    struct reply r;
    struct MHD_Response *resp;
    char *text = NULL;
    cJSON *body = NULL;
    enum MHD_Result ret;

    (void)cls;
    (void)version;
    if (cs == NULL) {
        cs = calloc(1, sizeof(*cs));
        if (cs == NULL)
            return MHD_NO;
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (cs->len + *upload_size > (size_t)1024 * 1024) {
            cs->too_big = 1;
        } else {
            char *p = realloc(cs->data, cs->len + *upload_size + 1);

            if (p == NULL)
                return MHD_NO;
            cs->data = p;
            memcpy(cs->data + cs->len, upload_data, *upload_size);
            cs->len += *upload_size;
            cs->data[cs->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    rid_in = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
    if (rid_in != NULL && strlen(rid_in) < sizeof(rid) && rid_in[0] != '\0')
        sb_scpy(rid, sizeof(rid), rid_in);
    else
        sb_new_uuid(rid);
    if (!authorized(conn)) {
        r = sb_error_reply(401, "authentication required: send Authorization: Bearer <api key>");
    } else if (cs->too_big) {
        r = sb_error_reply(413, "request body too large");
    } else {
        int bad = 0;

        if (cs->len > 0) {
            body = cJSON_ParseWithLength(cs->data, cs->len);
            bad = body == NULL;
        }
        pthread_mutex_lock(&sb_lock);
        sb_ops_tick();
        r = sb_route_dispatch(conn, method, url, body, bad);
        pthread_mutex_unlock(&sb_lock);
    }
    if (r.body != NULL && r.status >= 400)
        sb_jset_str(r.body, "request_id", rid);
    if (r.body != NULL)
        text = cJSON_PrintUnformatted(r.body);
    resp = MHD_create_response_from_buffer(text ? strlen(text) : 0, text ? text : empty_body,
                                           MHD_RESPMEM_MUST_COPY);
    if (text != NULL)
        MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "X-Request-ID", rid);
    MHD_add_response_header(resp, "X-Neon-Ret-Request-Id", rid);
    ret = MHD_queue_response(conn, (unsigned int)r.status, resp);
    MHD_destroy_response(resp);
    sb_log("%s %s -> %d (request_id %s)", method, url, r.status, rid);
    if (text != NULL)
        cJSON_free(text);
    cJSON_Delete(r.body);
    cJSON_Delete(body);
    return ret;
}

static void
sb_on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
           enum MHD_RequestTerminationCode toe)
{
    struct conn_state *cs = *con_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (cs != NULL) {
        free(cs->data);
        free(cs);
        *con_cls = NULL;
    }
}

/* ---- start-up ------------------------------------------------------------ */

static void
on_signal(int sig)
{
    (void)sig;
    sb_stopping = 1;
}

static int
mkdir_owned(const char *dir, const char *os_user)
{
    struct passwd *pw;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    if (geteuid() == 0 && os_user[0] != '\0') {
        pw = getpwnam(os_user);
        if (pw == NULL || chown(dir, pw->pw_uid, pw->pw_gid) != 0)
            return -1;
    }
    return 0;
}

static int
take_base_backup(const struct sb_cluster_meta *m)
{
    char port[16], out[600];
    const char *bin = getenv("PGDRILL_PG_BIN");
    char exe[PATH_MAX];
    double t0 = pd_time_wall();

    snprintf(exe, sizeof(exe), "%s/pg_basebackup", bin ? bin : "/usr/lib/postgresql/15/bin");
    snprintf(port, sizeof(port), "%d", m->port);
    const char *argv[] = {exe,  "-D",       sb.base, "-X", "none", "-c",    "fast",
                          "-h", sb.primary, "-p",    port, "-U",   m->role, NULL};

    sb_log("taking a base backup of %s into %s", sb.primary, sb.base);
    if (sb_run(m->os_user, argv, out, sizeof(out)) != 0) {
        sb_log("pg_basebackup failed: %s", out);
        return -1;
    }
    sb.base_backup_at = pd_time_wall();
    sb_log("base backup done in %.1fs", sb.base_backup_at - t0);
    return 0;
}

static void
usage(void)
{
    fprintf(stderr, "usage: neon-sandbox --port N --state DIR --primary PGDATA [--key KEY] "
                    "[--project-id ID]\n"
                    "                    [--pg-cluster SCRIPT] [--history-retention SECONDS] "
                    "[--page-size N]\n"
                    "The key may come from NEON_SANDBOX_KEY instead of --key.\n");
}

int
main(int argc, char **argv)
{
    int port = 0;
    const char *key = getenv("NEON_SANDBOX_KEY"), *state = NULL, *primary = NULL;
    const char *pid_arg = "pgdrill-sandbox", *pgc = NULL;
    struct sb_cluster_meta m;
    char err[512];
    struct MHD_Daemon *d;
    struct sockaddr_in addr;
    pthread_t tick;
    ssize_t n;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--worker") == 0)
            return sb_worker_main(argc, argv);
    sb.retention = 86400;
    // every option takes a value: two arguments a turn
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long num = 0;

        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            return 0;
        }
        if (v == NULL) {
            usage();
            return 2;
        }
        if (!strcmp(argv[i], "--port"))
            port = sb_parse_long(v, 1, 65535, &num) ? (int)num : 0; // 0: refused below
        else if (!strcmp(argv[i], "--state"))
            state = v;
        else if (!strcmp(argv[i], "--key"))
            key = v;
        else if (!strcmp(argv[i], "--project-id"))
            pid_arg = v;
        else if (!strcmp(argv[i], "--primary"))
            primary = v;
        else if (!strcmp(argv[i], "--pg-cluster"))
            pgc = v;
        else if (!strcmp(argv[i], "--history-retention") && sb_parse_long(v, 0, LONG_MAX, &num))
            sb.retention = num;
        else if (!strcmp(argv[i], "--page-size") && sb_parse_long(v, 0, 10000, &num))
            sb.page_size = (int)num;
        else {
            usage();
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || state == NULL || primary == NULL || key == NULL ||
        strlen(key) < 8 || strlen(key) >= sizeof(sb.key)) {
        fprintf(stderr, "neon-sandbox: --port, --state, --primary and a key of at least 8 "
                        "characters (--key or NEON_SANDBOX_KEY) are required\n");
        usage();
        return 2;
    }
    for (const char *p = pid_arg; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') ||
            strlen(pid_arg) > 60) {
            fprintf(stderr, "neon-sandbox: project id must match ^[a-z0-9-]{1,60}$\n");
            return 2;
        }
    sb_seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
    sb_scpy(sb.key, sizeof(sb.key), key);
    sb_scpy(sb.project_id, sizeof(sb.project_id), pid_arg);
    if (mkdir(state, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "neon-sandbox: cannot create %s: %s\n", state, strerror(errno));
        return 1;
    }
    if (realpath(state, sb.state_dir) == NULL || realpath(primary, sb.primary) == NULL) {
        fprintf(stderr, "neon-sandbox: bad --state or --primary: %s\n", strerror(errno));
        return 1;
    }
    if (pgc == NULL)
        pgc = getenv("PGDRILL_PG_CLUSTER");
    if (pgc == NULL || realpath(pgc, sb.pg_cluster) == NULL) {
        fprintf(stderr, "neon-sandbox: pg-cluster.sh not found (--pg-cluster or "
                        "PGDRILL_PG_CLUSTER)\n");
        return 1;
    }
    n = readlink("/proc/self/exe", sb.self, sizeof(sb.self) - 1);
    if (n <= 0) {
        fprintf(stderr, "neon-sandbox: cannot find its own executable\n");
        return 1;
    }
    sb.self[n] = '\0';
    if (sb_cluster_meta_read(&m, sb.primary, err, sizeof(err)) != 0) {
        fprintf(stderr, "neon-sandbox: %s\n", err);
        return 1;
    }
    if (m.archive[0] == '\0') {
        fprintf(stderr,
                "neon-sandbox: the primary in %s has no wal archive (init it with "
                "pg-cluster.sh init --archive DIR)\n",
                sb.primary);
        return 1;
    }
    snprintf(sb.base, sizeof(sb.base), "%s/base", sb.state_dir);
    snprintf(sb.branches_dir, sizeof(sb.branches_dir), "%s/branches", sb.state_dir);
    {
        char ops_dir[PATH_MAX + 8];

        snprintf(ops_dir, sizeof(ops_dir), "%s/ops", sb.state_dir);
        mkdir(ops_dir, 0700);
    }
    if (mkdir_owned(sb.branches_dir, m.os_user) != 0) {
        fprintf(stderr, "neon-sandbox: cannot prepare %s: %s\n", sb.branches_dir, strerror(errno));
        return 1;
    }
    int loaded = sb_state_load();
    if (loaded < 0) {
        fprintf(stderr, "neon-sandbox: %s/state.json is corrupt\n", sb.state_dir);
        return 1;
    }
    if (loaded == 0) {
        struct branch *b = &sb.br[0];
        char hex[17];

        if (mkdir_owned(sb.base, m.os_user) != 0 || take_base_backup(&m) != 0) {
            fprintf(stderr, "neon-sandbox: no base backup, cannot serve branches\n");
            return 1;
        }
        sb_now_str(sb.created_at, sizeof(sb.created_at));
        memset(b, 0, sizeof(*b));
        sb_rand_hex(hex, 4);
        snprintf(b->id, sizeof(b->id), "br-main-%s", hex);
        snprintf(b->name, sizeof(b->name), "main");
        snprintf(b->state, sizeof(b->state), "ready");
        sb_scpy(b->created_at, sizeof(b->created_at), sb.created_at);
        sb_scpy(b->updated_at, sizeof(b->updated_at), sb.created_at);
        sb_scpy(b->data, sizeof(b->data), sb.primary);
        b->is_default = b->is_primary = 1;
        b->has_ep = 1;
        sb_rand_hex(hex, 4);
        snprintf(b->ep_id, sizeof(b->ep_id), "ep-main-%s", hex);
        snprintf(b->ep_state, sizeof(b->ep_state), "active");
        sb_scpy(b->ep_created, sizeof(b->ep_created), sb.created_at);
        sb.nbr = 1;
        sb_state_save();
    } else {
        // bring back the computes of ready branches
        for (size_t i = 0; i < sb.nbr; i++) {
            struct branch *b = &sb.br[i];
            char out[300];
            const char *av[] = {sb.pg_cluster, "start", b->data, NULL};

            if (b->is_primary || b->deleted || strcmp(b->state, "ready") != 0 ||
                sb_postmaster_pid(b->data) != 0 || access(b->data, F_OK) != 0)
                continue;
            if (sb_run(NULL, av, out, sizeof(out)) != 0)
                sb_log("could not restart the compute of %s: %s", b->id, out);
        }
        sb_state_save();
    }

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // cannot fail for these signals and handlers
    (void)signal(SIGPIPE, SIG_IGN);
    (void)signal(SIGTERM, on_signal);
    (void)signal(SIGINT, on_signal);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_ERROR_LOG,
                         (uint16_t)port, NULL, NULL, sb_on_request, NULL, MHD_OPTION_SOCK_ADDR,
                         (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, sb_on_done, NULL,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "neon-sandbox: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    pthread_create(&tick, NULL, sb_ticker, NULL);
    sb_log("listening on http://127.0.0.1:%d/api/v2 (project %s)", port, sb.project_id);
    while (!sb_stopping)
        pause();
    sb_log("stopping");
    MHD_stop_daemon(d);
    pthread_join(tick, NULL);
    // stop the computes this server started; the primary belongs to its owner
    for (size_t i = 0; i < sb.nbr; i++) {
        char out[300];
        const char *av[] = {sb.pg_cluster, "stop", sb.br[i].data, NULL};

        if (sb.br[i].is_primary || sb_postmaster_pid(sb.br[i].data) == 0)
            continue;
        if (sb_run(NULL, av, out, sizeof(out)) != 0)
            sb_log("could not stop the compute of %s: %s", sb.br[i].id, out);
    }
    for (size_t i = 0; i < sb.nops; i++)
        if (sb.ops[i].pid > 0 && !strcmp(sb.ops[i].status, "running"))
            kill(sb.ops[i].pid, SIGTERM);
    sb_state_save();
    return 0;
}
