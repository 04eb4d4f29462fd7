/*
 * neon client: the Neon Management API v2 over core/http.
 *
 * A struct neon_client holds the API host, the API key (registered with
 * pd_redact at creation so it can never be shown) and the project id. Every
 * call returns 0 or a negative PD_E* and fills the caller's struct pd_err;
 * API errors read "neon: METHOD /path: HTTP 423: <Neon's message>
 * (request_id <id>)" and are PD_ESERVICE (401/403/400/404 too: the service
 * refused). Results are plain C structs the caller owns and releases with
 * the matching _free / _clear function; no JSON type leaks out.
 *
 * Retries: 423, 429 and 503 for every method; other 5xx and transport
 * failures only for GET (a mutation may already have been applied). The
 * wait is bounded exponential backoff with full jitter, or Retry-After when
 * the server sends it, within a per-call budget of attempts and seconds.
 * A client is used from one thread at a time.
 */
#ifndef PD_NEON_CLIENT_H
#define PD_NEON_CLIENT_H

#include <stddef.h>

struct pd_err;
struct neon_client;

#define NEON_API_HOST_DEFAULT "https://console.neon.tech/api/v2"

struct neon_config {
    const char *host;       /* NULL: NEON_API_HOST_DEFAULT */
    const char *api_key;    /* required */
    const char *project_id; /* required */
    int max_attempts;       /* 0: 6 */
    double backoff_base_s;  /* 0: 0.5 */
    double backoff_max_s;   /* 0: 8 */
    double retry_budget_s;  /* 0: 90; total seconds one call may spend waiting to retry */
    long timeout_ms;        /* 0: the http default (60 s) */
};

/* Create a client; copies cfg's strings. PD_EUSAGE for a missing key/project or bad host. */
int neon_client_new(struct neon_client **out, const struct neon_config *cfg, struct pd_err *err);

/*
 * A client from NEON_API_HOST, NEON_API_KEY and NEON_PROJECT_ID. Without
 * NEON_API_KEY the key is the access_token of neonctl's saved credentials
 * (neon_credentials_path), read only when that file's mode is 0600 (else
 * PD_EUSAGE naming the file and the fix). Messages and logs name the
 * source, never the value. Tests may shorten the retries with
 * PGDRILL_TEST_NEON_BACKOFF (first backoff, seconds) and
 * PGDRILL_TEST_NEON_ATTEMPTS.
 */
int neon_client_new_from_env(struct neon_client **out, struct pd_err *err);

/*
 * Where neonctl keeps its credentials: $XDG_CONFIG_HOME/neonctl/credentials.json,
 * else ~/.config/neonctl/credentials.json; NULL without HOME. The caller frees it.
 */
char *neon_credentials_path(void);

void neon_client_free(struct neon_client *c);

/* Borrowed, valid while c lives. */
const char *neon_client_project_id(const struct neon_client *c);

/*
 * The project as the audit log names it: "<host>/projects/<project_id>",
 * host NULL or empty meaning NEON_API_HOST_DEFAULT. The caller frees it.
 */
char *neon_audit_target(const char *host, const char *project_id);

/* Replace the sleep used between retries and waits (tests); NULL restores nanosleep. */
typedef void neon_sleep_fn(double seconds, void *payload);
void neon_client_set_sleep(struct neon_client *c, neon_sleep_fn *fn, void *payload);

/* Replace the monotonic clock used for budgets and deadlines (tests); NULL restores it. */
typedef double neon_clock_fn(void *payload);
void neon_client_set_clock(struct neon_client *c, neon_clock_fn *fn, void *payload);

/*
 * HTTP status of the last response this client received (0 when the last
 * call failed before any response), e.g. to tell a 404 from other failures.
 */
long neon_client_last_status(const struct neon_client *c);

/* Total number of HTTP requests this client has sent (tests, rate budgeting). */
unsigned long neon_client_requests_sent(const struct neon_client *c);

/* All strings below are owned by the struct and released by its _clear/_free. */
struct neon_project {
    char *id;
    char *name;
    char *region_id;
    char *created_at;
    int pg_version;
    long history_retention_seconds;
};

struct neon_branch {
    char *id;
    char *project_id;
    char *name;
    char *parent_id; /* NULL for the root branch */
    char *parent_lsn;
    char *parent_timestamp;
    char *current_state; /* init, resetting, ready, archived */
    char *created_at;
    char *updated_at;
    char *last_reset_at;
    char *expires_at; /* NULL: the branch does not expire */
    int is_default;
    int is_protected;
};

struct neon_endpoint {
    char *id;
    char *branch_id;
    char *host;
    char *type;          /* read_write, read_only */
    char *current_state; /* init, active, idle */
};

struct neon_operation {
    char *id;
    char *branch_id;
    char *endpoint_id;
    char *action;
    char *status; /* scheduling, running, finished, failed, error, ... */
    char *error;
    int failures_count;
};

struct neon_database {
    long long id;
    char *branch_id;
    char *name;
    char *owner_name;
};

struct neon_role {
    char *branch_id;
    char *name;
};

/* What a mutation returns: the object it touched and the operations it started. */
struct neon_result {
    int has_branch;
    struct neon_branch branch;
    int has_endpoint;
    struct neon_endpoint endpoint;
    struct neon_endpoint *endpoints;
    size_t n_endpoints;
    struct neon_operation *operations;
    size_t n_operations;
    char **connection_uris; /* may hold passwords: registered with pd_redact */
    size_t n_connection_uris;
};

void neon_project_clear(struct neon_project *p);
void neon_branch_clear(struct neon_branch *b);
void neon_endpoint_clear(struct neon_endpoint *e);
void neon_operation_clear(struct neon_operation *o);
void neon_result_clear(struct neon_result *r);
void neon_branches_free(struct neon_branch *v, size_t n);
void neon_endpoints_free(struct neon_endpoint *v, size_t n);
void neon_databases_free(struct neon_database *v, size_t n);
void neon_roles_free(struct neon_role *v, size_t n);

int neon_project_get(struct neon_client *c, struct neon_project *out, struct pd_err *err);

/*
 * PATCH the project's history_retention_seconds (Neon: 0 to 2592000), the
 * window of point-in-time branches and restores; *out is the project after.
 */
int neon_project_set_history_retention(struct neon_client *c, long seconds,
                                       struct neon_project *out, struct pd_err *err);

/* Every branch, following pagination.next until it is missing or repeats. */
int neon_branches_list(struct neon_client *c, struct neon_branch **out, size_t *n,
                       struct pd_err *err);

int neon_branch_get(struct neon_client *c, const char *branch_id, struct neon_branch *out,
                    struct pd_err *err);

/*
 * The branch whose id or name is name_or_id (an id wins over a name), or the
 * project's default branch when name_or_id is NULL, as neonctl resolves
 * --parent. PD_ENOENT naming it when there is none; PD_EINPUT when a name is
 * shared by several branches.
 */
int neon_branch_find(struct neon_client *c, const char *name_or_id, struct neon_branch *out,
                     struct pd_err *err);

struct neon_branch_create {
    const char *name;             /* NULL: generated by Neon */
    const char *parent_id;        /* NULL: the project's default branch */
    const char *parent_timestamp; /* RFC 3339; at most one of timestamp and lsn */
    const char *parent_lsn;
    int no_endpoint;        /* 0: one read_write endpoint (connectable branch) */
    const char *expires_at; /* RFC 3339 to the second: Neon deletes the branch then; NULL: never */
};

int neon_branch_create(struct neon_client *c, const struct neon_branch_create *opts,
                       struct neon_result *out, struct pd_err *err);

int neon_branch_rename(struct neon_client *c, const char *branch_id, const char *name,
                       struct neon_result *out, struct pd_err *err);

/* *gone is set to 1 when the branch did not exist (HTTP 204): not an error. */
int neon_branch_delete(struct neon_client *c, const char *branch_id, struct neon_result *out,
                       int *gone, struct pd_err *err);

struct neon_branch_restore {
    const char *source_branch_id; /* required */
    const char *source_timestamp; /* at most one of timestamp and lsn */
    const char *source_lsn;
    const char *preserve_under_name; /* NULL: do not keep the old state */
};

int neon_branch_restore(struct neon_client *c, const char *branch_id,
                        const struct neon_branch_restore *opts, struct neon_result *out,
                        struct pd_err *err);

int neon_branch_set_default(struct neon_client *c, const char *branch_id, struct neon_result *out,
                            struct pd_err *err);

/* Set the branch's expires_at (RFC 3339 to the second), or remove it when expires_at is NULL. */
int neon_branch_set_expiry(struct neon_client *c, const char *branch_id, const char *expires_at,
                           struct neon_result *out, struct pd_err *err);

/* branch_id NULL: every endpoint of the project. */
int neon_endpoints_list(struct neon_client *c, const char *branch_id, struct neon_endpoint **out,
                        size_t *n, struct pd_err *err);

int neon_endpoint_create(struct neon_client *c, const char *branch_id, const char *type,
                         struct neon_result *out, struct pd_err *err);

int neon_endpoint_start(struct neon_client *c, const char *endpoint_id, struct neon_result *out,
                        struct pd_err *err);

int neon_databases_list(struct neon_client *c, const char *branch_id, struct neon_database **out,
                        size_t *n, struct pd_err *err);

int neon_roles_list(struct neon_client *c, const char *branch_id, struct neon_role **out, size_t *n,
                    struct pd_err *err);

/*
 * GET /connection_uri. The URI carries a password: it is registered with
 * pd_redact before it is returned. Caller owns *out.
 */
int neon_connection_uri(struct neon_client *c, char **out, const char *branch_id,
                        const char *database_name, const char *role_name, struct pd_err *err);

int neon_operation_get(struct neon_client *c, const char *operation_id, struct neon_operation *out,
                       struct pd_err *err);

/* 1 for finished, failed, error, cancelled, skipped; 0 for scheduling, running, cancelling. */
int neon_operation_status_is_terminal(const char *status);

/* Called on every status change seen while waiting. */
typedef void neon_progress_fn(const struct neon_operation *op, double elapsed_s, void *payload);

/*
 * Poll each operation until it reaches a terminal status, at most timeout_s
 * seconds in total (poll_s between rounds; 0 means 1 s). Fails with
 * PD_ESERVICE when one ends failed/error/cancelled (naming it and its
 * error), or on timeout naming the operations still pending.
 */
int neon_operations_wait(struct neon_client *c, const struct neon_operation *ops, size_t n,
                         double timeout_s, double poll_s, neon_progress_fn *progress, void *payload,
                         struct pd_err *err);

/*
 * The earliest restorable time at now (seconds since the epoch): now -
 * history_retention_seconds, or created_at (the creation of the branch the
 * restore reads from, or of the project; 0 when unknown) when that is
 * later; never after now. `pgdrill timeline` and neon_check_timestamp use
 * it.
 */
double neon_window_start(double now, long history_retention_seconds, double created_at);

/*
 * Check a point-in-time target before any mutating call: ts must parse as
 * RFC 3339, be in the past at now (seconds since the epoch), and not before
 * neon_window_start(now, history_retention_seconds, created_at). PD_EINPUT
 * with a clear message otherwise: when the branch's creation (created_at,
 * branch its name, for the message) bounds the window, the message names
 * the earliest time in UTC and what to do instead.
 */
int neon_check_timestamp(const char *ts, double now, long history_retention_seconds,
                         double created_at, const char *branch, struct pd_err *err);

#endif
