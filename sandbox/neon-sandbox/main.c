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
 *
 * This file: start-up (options, paths, the first base backup or the saved
 * state) and shut-down; sandbox.h lists what the other files own.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "pd_time.h"
#include "sandbox.h"
#include "worker.h"

volatile sig_atomic_t sb_stopping;

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
                    "                    [--default-branch NAME]\n"
                    "The key may come from NEON_SANDBOX_KEY instead of --key.\n");
}

/* What the command line gives start-up, and the primary's settings read from it. */
struct startup {
    int port;
    const char *key, *state, *primary, *project_id, *pg_cluster;
    const char *default_branch; /* the name of the primary, default branch of a new project */
    struct sb_cluster_meta meta;
};

/* An exit code of a start-up phase that is not the end: main() goes on. */
#define GO_ON (-1)

/* The options into st; GO_ON, or the exit code (0 after --help, 2 for a usage error). */
static int
startup_options(struct startup *st, int argc, char **argv)
{
    st->key = getenv("NEON_SANDBOX_KEY");
    st->project_id = "pgdrill-sandbox";
    st->default_branch = "main";
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
            st->port = sb_parse_long(v, 1, 65535, &num) ? (int)num : 0; // 0: refused below
        else if (!strcmp(argv[i], "--state"))
            st->state = v;
        else if (!strcmp(argv[i], "--key"))
            st->key = v;
        else if (!strcmp(argv[i], "--project-id"))
            st->project_id = v;
        else if (!strcmp(argv[i], "--primary"))
            st->primary = v;
        else if (!strcmp(argv[i], "--pg-cluster"))
            st->pg_cluster = v;
        else if (!strcmp(argv[i], "--default-branch"))
            st->default_branch = v;
        else if (!strcmp(argv[i], "--history-retention") && sb_parse_long(v, 0, LONG_MAX, &num))
            sb.retention = num;
        else if (!strcmp(argv[i], "--page-size") && sb_parse_long(v, 0, 10000, &num))
            sb.page_size = (int)num;
        else {
            usage();
            return 2;
        }
    }
    return GO_ON;
}

/* The required options are there and well formed; GO_ON or 2. */
static int
startup_validate(const struct startup *st)
{
    if (st->port <= 0 || st->port > 65535 || st->state == NULL || st->primary == NULL ||
        st->key == NULL || strlen(st->key) < 8 || strlen(st->key) >= sizeof(sb.key)) {
        fprintf(stderr, "neon-sandbox: --port, --state, --primary and a key of at least 8 "
                        "characters (--key or NEON_SANDBOX_KEY) are required\n");
        usage();
        return 2;
    }
    if (st->default_branch[0] == '\0' || strlen(st->default_branch) > 256) {
        fprintf(stderr, "neon-sandbox: --default-branch must be 1 to 256 characters\n");
        return 2;
    }
    for (const char *p = st->project_id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') ||
            strlen(st->project_id) > 60) {
            fprintf(stderr, "neon-sandbox: project id must match ^[a-z0-9-]{1,60}$\n");
            return 2;
        }
    return GO_ON;
}

/* The state directory, the primary, pg-cluster.sh and this binary, as absolute paths; GO_ON or 1.
 */
static int
startup_paths(struct startup *st)
{
    ssize_t n;

    if (mkdir(st->state, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "neon-sandbox: cannot create %s: %s\n", st->state, strerror(errno));
        return 1;
    }
    if (realpath(st->state, sb.state_dir) == NULL || realpath(st->primary, sb.primary) == NULL) {
        fprintf(stderr, "neon-sandbox: bad --state or --primary: %s\n", strerror(errno));
        return 1;
    }
    if (st->pg_cluster == NULL)
        st->pg_cluster = getenv("PGDRILL_PG_CLUSTER");
    if (st->pg_cluster == NULL || realpath(st->pg_cluster, sb.pg_cluster) == NULL) {
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
    return GO_ON;
}

/* The primary has a WAL archive; the directories under the state directory; GO_ON or 1. */
static int
startup_dirs(struct startup *st)
{
    char err[512], ops_dir[PATH_MAX + 8];

    if (sb_cluster_meta_read(&st->meta, sb.primary, err, sizeof(err)) != 0) {
        fprintf(stderr, "neon-sandbox: %s\n", err);
        return 1;
    }
    if (st->meta.archive[0] == '\0') {
        fprintf(stderr,
                "neon-sandbox: the primary in %s has no wal archive (init it with "
                "pg-cluster.sh init --archive DIR)\n",
                sb.primary);
        return 1;
    }
    snprintf(sb.base, sizeof(sb.base), "%s/base", sb.state_dir);
    snprintf(sb.branches_dir, sizeof(sb.branches_dir), "%s/branches", sb.state_dir);
    snprintf(ops_dir, sizeof(ops_dir), "%s/ops", sb.state_dir);
    mkdir(ops_dir, 0700);
    if (mkdir_owned(sb.branches_dir, st->meta.os_user) != 0) {
        fprintf(stderr, "neon-sandbox: cannot prepare %s: %s\n", sb.branches_dir, strerror(errno));
        return 1;
    }
    return GO_ON;
}

/* A new project: a base backup of the primary, which is the default branch; GO_ON or 1. */
static int
startup_new_project(const struct startup *st)
{
    struct branch *b = &sb.br[0];
    char hex[17];

    if (mkdir_owned(sb.base, st->meta.os_user) != 0 || take_base_backup(&st->meta) != 0) {
        fprintf(stderr, "neon-sandbox: no base backup, cannot serve branches\n");
        return 1;
    }
    sb_now_str(sb.created_at, sizeof(sb.created_at));
    memset(b, 0, sizeof(*b));
    sb_rand_hex(hex, 4);
    snprintf(b->id, sizeof(b->id), "br-main-%s", hex);
    sb_scpy(b->name, sizeof(b->name), st->default_branch);
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
    return GO_ON;
}

/* A project from state.json: bring back the computes of its ready branches. */
static void
startup_restart_computes(void)
{
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

/* The project from state.json, or a new one; GO_ON or 1. */
static int
startup_state(const struct startup *st)
{
    int loaded = sb_state_load();

    if (loaded < 0) {
        fprintf(stderr, "neon-sandbox: %s/state.json is corrupt\n", sb.state_dir);
        return 1;
    }
    if (loaded == 0)
        return startup_new_project(st);
    startup_restart_computes();
    return GO_ON;
}

/* Stop the computes this server started (the primary belongs to its owner) and the workers. */
static void
shutdown_computes(void)
{
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
}

/* Answer on 127.0.0.1:port until SIGTERM or SIGINT, then stop what was started; 0 or 1. */
static int
serve(int port)
{
    struct MHD_Daemon *d;
    pthread_t tick;

    // cannot fail for these signals and handlers
    (void)signal(SIGPIPE, SIG_IGN);
    (void)signal(SIGTERM, on_signal);
    (void)signal(SIGINT, on_signal);
    d = sb_http_start(port);
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
    shutdown_computes();
    return 0;
}

int
main(int argc, char **argv)
{
    struct startup st;
    int rc;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--worker") == 0)
            return sb_worker_main(argc, argv);
    memset(&st, 0, sizeof(st));
    rc = startup_options(&st, argc, argv);
    if (rc == GO_ON)
        rc = startup_validate(&st);
    if (rc == GO_ON) {
        sb_seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
        sb_scpy(sb.key, sizeof(sb.key), st.key);
        sb_scpy(sb.project_id, sizeof(sb.project_id), st.project_id);
        rc = startup_paths(&st);
    }
    if (rc == GO_ON)
        rc = startup_dirs(&st);
    if (rc == GO_ON)
        rc = startup_state(&st);
    if (rc == GO_ON)
        rc = serve(st.port);
    return rc;
}
