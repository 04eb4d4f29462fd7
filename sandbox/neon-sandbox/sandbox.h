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
    char expires_at[40];      /* "" when the branch does not expire; else the ticker deletes it */
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

/*
 * What reads or changes sb runs with sb_lock held (a request, the ticker),
 * except start-up and shut-down in main.c, which run alone. A struct branch *
 * or struct op * returned is borrowed from sb and stays valid until the
 * branches or operations change (the lock is released, or a handler adds
 * or removes one). A cJSON * or char * returned is the caller's to free
 * (cJSON_Delete, free), unless it is added to a reply's body.
 */

/* util.c: small helpers */

/* A line "neon-sandbox: TIMESTAMP message" on stderr. */
void sb_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A whole decimal string from min to max into *out; false (and *out kept) otherwise. */
bool sb_parse_long(const char *s, long min, long max, long *out);
/* Copy a string, truncating; safe when both live in the same struct. */
void sb_scpy(char *dst, size_t size, const char *src);
/* Now as "YYYY-MM-DDTHH:MM:SSZ" (UTC); "" if it does not fit. */
void sb_now_str(char *buf, size_t size);
/* nbytes (at most 32) random bytes as 2 * nbytes hex digits and a NUL. */
void sb_rand_hex(char *buf, size_t nbytes);
/* A random (version 4) UUID into buf[37]. */
void sb_new_uuid(char *buf);
/* o[k] = the string v. */
void sb_jset_str(cJSON *o, const char *k, const char *v);
/* o[k] as a string, borrowed from o; NULL when absent or null, and *bad = 1 when not a string. */
const char *sb_jbody_str(const cJSON *o, const char *k, int *bad);

/* state.c: the project state and state.json */

/* Write sb to state.json (atomically); a failure is logged, the state is kept in memory. */
void sb_state_save(void);
/* Read state.json into sb: 1 loaded, 0 none yet, -1 corrupt. */
int sb_state_load(void);
/* The cluster directory of a new branch id. */
void sb_branch_dir(char *dst, size_t size, const char *id);
/* A live (not deleted) branch by id, by endpoint id, the default one; NULL when there is none. */
struct branch *sb_branch_find(const char *id);
struct branch *sb_branch_by_ep(const char *ep);
struct branch *sb_branch_default(void);
/* The branch that is the primary cluster itself; NULL before start-up made it. */
struct branch *sb_branch_primary(void);
/* 1 when a live branch has id as its parent. */
int sb_branch_has_children(const char *id);
/* 1 while an operation is scheduling, running or cancelling: mutations answer 423. */
int sb_project_busy(void);
/* The port of the branch's compute (the primary's is read from its settings; 0 unknown). */
int sb_branch_port(const struct branch *b);
/* A free loopback port for a new compute; 0 when none was found. */
int sb_pick_port(void);
/* A new operation (scheduling) of kind (enum op_kind) after operation dep (-1: none). */
struct op *sb_op_new(const char *action, const char *branch_id, const char *endpoint_id, int kind,
                     int dep);

/* render.c: the model as the Neon API shows it */

cJSON *sb_json_branch(const struct branch *b);
cJSON *sb_json_endpoint(const struct branch *b);
cJSON *sb_json_op(const struct op *p);
cJSON *sb_json_project(void);

/* cluster.c: SQL against a branch's cluster; NULL with a message in err when it fails */

cJSON *sb_json_databases(const struct branch *b, char *err, size_t errsz);
cJSON *sb_json_roles(const struct branch *b, char *err, size_t errsz);
/* postgresql://role:password@127.0.0.1:port/db for the branch's compute (malloc'd); or NULL. */
char *sb_conn_uri(const struct branch *b, const char *db, const char *role);

/* ops.c: the operations ticker */

/* Move each operation on (start, reap a worker, finish); saves the state when one changed. */
void sb_ops_tick(void);
/* Delete the branches whose expires_at has passed (as DELETE does), when the project is idle. */
void sb_expire_tick(void);
/* Thread body: sb_ops_tick() every 50 ms under sb_lock until sb_stopping. */
void *sb_ticker(void *arg);

/* http.c: replies and the server */

/* A reply {"code": "", "message": ...}; a request_id is added when it is sent. */
struct reply sb_error_reply(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A reply of status with body (owned by the reply). */
struct reply sb_ok_reply(int status, cJSON *body);
/* Listen on 127.0.0.1:port, a thread per connection; NULL when it cannot. */
struct MHD_Daemon *sb_http_start(int port);

/* routes.c */

/* The reply to method url (body parsed, or body_bad when it is not JSON): see routes[]. */
struct reply sb_route_dispatch(struct MHD_Connection *conn, const char *method, const char *url,
                               const cJSON *body, int body_bad);

/* Route handlers, one per row of routes[] (routes.c), by file. */

/* branches.c */
struct reply sb_create_branch(const struct request *rq);
struct reply sb_patch_branch(const struct request *rq);
struct reply sb_delete_branch(const struct request *rq);
/* Mark b deleted and schedule the removal of its cluster; the operation (borrowed). */
struct op *sb_branch_remove(struct branch *b);
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

/* outage.c: the training's Neon outage and the project's settings */

/*
 * True (and the 503 reply in *out) when the request needs the project's
 * history (pattern: its route's) while STATE/outage holds a future deadline.
 */
bool sb_outage_refuses(const char *method, const char *pattern, const cJSON *body,
                       struct reply *out);
/* PATCH the project: history_retention_seconds (not saved: the command line sets it at start). */
struct reply sb_patch_project(const struct request *rq);

#endif
