/*
 * neon-sandbox internals shared by the server's files; not an API. The
 * project state (sb, its branches and operations) lives in memory under
 * sb_lock and is saved to state.json; handlers answer one request each
 * with a struct reply. main.c describes the server as a whole.
 */
#ifndef NEON_SANDBOX_SANDBOX_H
#define NEON_SANDBOX_SANDBOX_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct MHD_Connection;
struct MHD_Daemon;

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

/* The project: settings from the command line, its branches and operations (under sb_lock). */
struct sb_state {
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
};

extern struct sb_state sb;
extern pthread_mutex_t sb_lock;           /* guards sb: the ticker and each request */
extern volatile sig_atomic_t sb_stopping; /* set by SIGTERM and SIGINT */
extern unsigned int sb_seed;              /* for rand_r() */

/* An answer: a status and a JSON body. */
struct reply {
    int status;
    cJSON *body; /* NULL: no body (204) */
};

/* What a route's handler gets: the request and the path's resolved segments. */
struct request {
    struct MHD_Connection *conn;
    const cJSON *body;     /* NULL: no body */
    struct branch *branch; /* the {branch} segment, a live branch; or NULL */
    const char *id;        /* the {id} segment as sent; or NULL */
};

void sb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct reply sb_error_reply(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* util.c */
bool sb_parse_long(const char *s, long min, long max, long *out);
void sb_scpy(char *dst, size_t size, const char *src);
void sb_now_str(char *buf, size_t size);
void sb_rand_hex(char *buf, size_t nbytes);
void sb_new_uuid(char *buf);
void sb_jset_str(cJSON *o, const char *k, const char *v);
const char *sb_jbody_str(const cJSON *o, const char *k, int *bad);

/* state.c */
void sb_state_save(void);
int sb_state_load(void);
void sb_branch_dir(char *dst, size_t size, const char *id);
struct branch *sb_branch_find(const char *id);
struct branch *sb_branch_by_ep(const char *ep);
struct branch *sb_branch_default(void);
struct branch *sb_branch_primary(void);
int sb_branch_has_children(const char *id);
int sb_project_busy(void);
int sb_branch_port(const struct branch *b);
int sb_pick_port(void);
struct op *sb_op_new(const char *action, const char *branch_id, const char *endpoint_id, int kind,
                     int dep);

/* render.c */
cJSON *sb_json_branch(const struct branch *b);
cJSON *sb_json_endpoint(const struct branch *b);
cJSON *sb_json_op(const struct op *p);
cJSON *sb_json_project(void);

/* cluster.c */
cJSON *sb_json_databases(const struct branch *b, char *err, size_t errsz);
cJSON *sb_json_roles(const struct branch *b, char *err, size_t errsz);
char *sb_conn_uri(const struct branch *b, const char *db, const char *role);

/* ops.c */
void sb_ops_tick(void);
void *sb_ticker(void *arg);

/* http.c */
struct reply sb_ok_reply(int status, cJSON *body);
struct MHD_Daemon *sb_http_start(int port);

/* routes.c */
struct reply sb_route_dispatch(struct MHD_Connection *conn, const char *method, const char *url,
                               const cJSON *body, int body_bad);

/* branches.c */
struct reply sb_create_branch(const struct request *rq);
struct reply sb_patch_branch(const struct request *rq);
struct reply sb_delete_branch(const struct request *rq);
struct reply sb_restore_branch(const struct request *rq);
struct reply sb_set_default(const struct request *rq);
struct reply sb_list_branches(const struct request *rq);
struct reply sb_get_branch(const struct request *rq);
struct reply sb_get_databases(const struct request *rq);
struct reply sb_get_roles(const struct request *rq);

/* endpoints.c */
struct reply sb_create_endpoint(const struct request *rq);
struct reply sb_start_endpoint(const struct request *rq);
struct reply sb_connection_uri(const struct request *rq);
struct reply sb_list_all_endpoints(const struct request *rq);
struct reply sb_list_branch_endpoints(const struct request *rq);
struct reply sb_get_endpoint(const struct request *rq);

/* project.c */
struct reply sb_get_project(const struct request *rq);
struct reply sb_list_operations(const struct request *rq);
struct reply sb_get_operation(const struct request *rq);
struct reply sb_operation_path_not_found(const struct request *rq);

#endif
