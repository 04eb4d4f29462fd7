/*
 * pgdrill sandbox up|down|status|env|migrate: the local training and test world.
 *
 * The orchestration (starting PostgreSQL, the Neon-compatible server and the
 * local S3 as daemons, recording their PIDs, stopping them) is a shell
 * script, sandbox/sandbox.sh, because it is a sequence of external programs
 * (pg-cluster.sh, psql, node, python). This command checks the arguments,
 * finds the script and the neon-sandbox binary for the layout pgdrill runs
 * from (source tree or installed), passes PGDRILL_HOME and execs the script,
 * whose exit status becomes pgdrill's.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pd_file.h"
#include "pd_mem.h"

static const char sandbox_help[] =
    "usage: pgdrill sandbox up [--visits N] [--default-branch NAME]\n"
    "       pgdrill sandbox status\n"
    "       pgdrill sandbox env\n"
    "       pgdrill sandbox down [--purge]\n"
    "       pgdrill sandbox migrate [--status] [--url URL]\n"
    "       pgdrill sandbox traffic start [--rate N] | stop\n"
    "       pgdrill sandbox incident [KIND] [--seed N]\n"
    "       pgdrill sandbox grade [--json]\n"
    "\n"
    "A local world that behaves like production, under $PGDRILL_HOME/sandbox/,\n"
    "on 127.0.0.1 only:\n"
    "  - a primary PostgreSQL 15 with WAL archiving, database care_commons seeded\n"
    "    with Care Commons-like data (N visits, default 100000);\n"
    "  - neon-sandbox, a Neon API v2 server (project sandbox-project) whose\n"
    "    branches are real point-in-time recoveries of the primary;\n"
    "  - s3rver behind a SigV4-verifying proxy, bucket care-commons-backups.\n"
    "\n"
    "up      start what is not running (seeding on first use); prints a summary.\n"
    "        Exit 3 names the service that did not start and its log, after\n"
    "        stopping what this run had started. --default-branch NAME names the\n"
    "        project's default branch (the primary) when the project is created\n"
    "        (default main; Neon Console projects call it production); a project\n"
    "        that exists keeps its name (down --purge, then up, to rename).\n"
    "status  each service: running or stopped, pid, port, log. Exit 0 when all\n"
    "        run, 1 otherwise.\n"
    "env     export lines for DATABASE_URL, NEON_API_HOST, NEON_API_KEY,\n"
    "        NEON_PROJECT_ID, AWS_ENDPOINT_URL_S3, AWS_ACCESS_KEY_ID,\n"
    "        AWS_SECRET_ACCESS_KEY, AWS_REGION, PGDRILL_BACKUP_URI and\n"
    "        PGDRILL_ENVIRONMENT=SANDBOX:  eval \"$(pgdrill sandbox env)\"\n"
    "        They carry the sandbox's own generated credentials in clear: they\n"
    "        open nothing but this local sandbox.\n"
    "down    stop exactly what up started (by recorded PID), including every\n"
    "        branch cluster, and wait for them to exit. --purge also deletes\n"
    "        the sandbox's data.\n"
    "migrate the sandbox application's migrations (sandbox/migrations/*.sql, in\n"
    "        name order) on DATABASE_URL or --url: each one not yet recorded in\n"
    "        the database's pgdrill_sandbox_migrations table is applied in one\n"
    "        transaction with its record. --status lists them as applied or\n"
    "        pending and changes nothing (exit 0). Scenario 2's runbook runs\n"
    "        these when PGDRILL_ENVIRONMENT=SANDBOX. Exit 1 a migration failed,\n"
    "        3 the database cannot be reached.\n"
    "\n"
    "Training (a trainee restores, pgdrill grades):\n"
    "traffic start  an application that keeps writing to production (visits,\n"
    "        check-ins with GPS positions, edits of visits, clients, users; one\n"
    "        transaction each, N a second, default 3) as a sandbox service: status\n"
    "        shows it, down stops it. It reconnects after a restore moved or\n"
    "        restarted production and logs it in $PGDRILL_HOME/sandbox/traffic.log.\n"
    "        While it cannot write (a table gone), status says why.\n"
    "traffic stop   stops it.\n"
    "incident       breaks production one way (random without KIND; --seed N picks\n"
    "        the rows): delete, corrupt, cascade, drop-table, bad-migration,\n"
    "        neon-outage (Neon's history answers 503 for an hour), history-expired\n"
    "        (the restore point falls outside Neon's history window, shrunk to the\n"
    "        ~2 s the incident took; it stays ~2 s until the next incident or\n"
    "        'sandbox down' and 'up' give it back); these two take\n"
    "        a backup into the sandbox's S3 first (restore: Scenario 2). Its\n"
    "        ground truth goes to $PGDRILL_HOME/sandbox/training/truth (0600, never\n"
    "        shown); it prints the ticket: the symptoms and roughly when.\n"
    "grade   production against the ground truth: rows still missing or wrong,\n"
    "        collateral (the application's rows after the incident lost or\n"
    "        overwritten), tables or columns not back, RTO and RPO. Exit 0 fully\n"
    "        restored without collateral, 1 otherwise (named), 2 no incident.\n";

/* The directory of the running executable, or NULL. Caller frees. */
static char *
sandbox_self_dir(void)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    return pd_xstrdup(dirname(buf));
}

/* The first of the candidates that passes access(mode), or NULL. Caller frees. */
static char *
sandbox_first(const char *dir, const char *const *rel, size_t n, int mode)
{
    for (size_t i = 0; i < n; i++) {
        char *p = pd_xasprintf("%s/%s", dir, rel[i]);

        if (access(p, mode) == 0)
            return p;
        free(p);
    }
    return NULL;
}

/* 1 when the arguments give --url URL. */
static int
has_url(int argc, char **argv)
{
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--url") == 0)
            return 1;
    return 0;
}

/* Argument checks here, so usage errors read the same as other commands'. */
/* A --visits value: a whole number from 1 to 999999999; 0 or a usage error. */
static int
sandbox_check_visits(const char *v)
{
    char *end = NULL;
    long long n;

    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || v[0] < '1' || v[0] > '9' || n < 1 ||
        n > 999999999)
        return cli_usage_error("sandbox", "--visits '%s' is not a whole number from 1 to 999999999",
                               v);
    return 0;
}

/* A --default-branch value: 1 to 256 characters, none of them a slash or a control. */
static int
sandbox_check_branch(const char *v)
{
    size_t n = strlen(v);

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == '/')
            n = 0;
    if (n == 0 || n > 256)
        return cli_usage_error("sandbox",
                               "--default-branch '%s' is not a branch name (1 to 256 "
                               "characters, no slash)",
                               v);
    return 0;
}

/* The arguments of up: --visits N and --default-branch NAME, each as "--opt V" or "--opt=V". */
static int
sandbox_check_up(int argc, char **argv)
{
    static const char *const opts[] = {"--visits", "--default-branch"};
    int rc = 0;

    for (int i = 2; i < argc && rc == 0; i++) {
        const char *v = NULL;
        size_t k;

        for (k = 0; k < 2 && v == NULL; k++) {
            size_t len = strlen(opts[k]);

            if (strcmp(argv[i], opts[k]) == 0) {
                if (i + 1 >= argc)
                    return cli_usage_error("sandbox", "%s needs %s", opts[k],
                                           k == 0 ? "a number" : "a branch name");
                v = argv[++i];
            } else if (strncmp(argv[i], opts[k], len) == 0 && argv[i][len] == '=') {
                v = argv[i] + len + 1;
            }
        }
        if (v == NULL)
            return cli_usage_error("sandbox", "up: unknown argument '%s'", argv[i]);
        rc = k == 1 ? sandbox_check_visits(v) : sandbox_check_branch(v);
    }
    return rc;
}

/* Argument checks here, so usage errors read the same as other commands'. */
static int
sandbox_check_args(int argc, char **argv)
{
    const char *sub = argv[1];

    if (strcmp(sub, "up") == 0)
        return sandbox_check_up(argc, argv);
    if (strcmp(sub, "down") == 0) {
        for (int i = 2; i < argc; i++)
            if (strcmp(argv[i], "--purge") != 0)
                return cli_usage_error("sandbox", "down: unknown argument '%s'", argv[i]);
        return 0;
    }
    if (strcmp(sub, "migrate") == 0) {
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
                i++;
            else if (strcmp(argv[i], "--url") == 0)
                return cli_usage_error("sandbox", "migrate: --url needs a URL");
            else if (strcmp(argv[i], "--status") != 0)
                return cli_usage_error("sandbox", "migrate: unknown argument '%s'", argv[i]);
        }
        if (getenv("DATABASE_URL") == NULL && !has_url(argc, argv))
            return cli_usage_error("sandbox",
                                   "migrate: no database: set DATABASE_URL or pass --url URL");
        return 0;
    }
    if (strcmp(sub, "traffic") == 0 || strcmp(sub, "incident") == 0 || strcmp(sub, "grade") == 0) {
        const char *kind = NULL;
        bool json = false;
        long n;

        return cli_training_check(argc, argv, &n, &kind, &json);
    }
    if (strcmp(sub, "status") == 0 || strcmp(sub, "env") == 0) {
        if (argc > 2)
            return cli_usage_error("sandbox", "%s: unknown argument '%s'", sub, argv[2]);
        return 0;
    }
    return cli_usage_error("sandbox",
                           "unknown sub-command '%s' (up, down, status, env, migrate, traffic, "
                           "incident, grade)",
                           sub);
}

int
cli_cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv)
{
    static const char *const scripts[] = {"../share/pgdrill/sandbox/sandbox.sh",
                                          "../sandbox/sandbox.sh"};
    static const char *const servers[] = {"pgdrill-neon-sandbox", "neon-sandbox"};
    char *dir = NULL, *script = NULL, *server = NULL;
    char **av = NULL;
    struct pd_err err;
    int rc;

    pd_err_clear(&err);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(sandbox_help, stdout);
            return 0;
        }
    }
    if (argc < 2)
        return cli_usage_error("sandbox", "missing sub-command (up, down, status, env)");
    rc = sandbox_check_args(argc, argv);
    if (rc != 0)
        return rc;
    // the training commands, once sandbox.sh has prepared them
    if (getenv("PGDRILL_TRAINING_DIR") != NULL &&
        (strcmp(argv[1], "incident") == 0 || strcmp(argv[1], "grade") == 0 ||
         (strcmp(argv[1], "traffic") == 0 && strcmp(argv[2], "run") == 0)))
        return cli_training_run(ctx, getenv("PGDRILL_TRAINING_DIR"), argc, argv);

    dir = sandbox_self_dir();
    if (dir != NULL)
        script = sandbox_first(dir, scripts, 2, R_OK);
    if (script == NULL) {
        fprintf(stderr, "pgdrill sandbox: sandbox.sh not found next to the pgdrill binary "
                        "(../share/pgdrill/sandbox/ or ../sandbox/): reinstall pgdrill\n");
        rc = 3;
        goto out;
    }
    // An explicit PGDRILL_NEON_SANDBOX wins; else the binary next to us.
    if (getenv("PGDRILL_NEON_SANDBOX") == NULL) {
        server = sandbox_first(dir, servers, 2, X_OK);
        if (server == NULL) // name the expected place in the script's message
            server = pd_xasprintf("%s/%s", dir, servers[1]);
        setenv("PGDRILL_NEON_SANDBOX", server, 1);
    }
    if (pd_mkdir_p(ctx->cfg.home, 0700, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    setenv("PGDRILL_HOME", ctx->cfg.home, 1);
    {
        // the training commands run this very binary again (sandbox.sh)
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

        if (n > 0) {
            self[n] = '\0';
            setenv("PGDRILL_SELF", self, 1);
        }
    }

    av = pd_xcalloc((size_t)argc + 2, sizeof(*av));
    av[0] = pd_xstrdup("bash");
    av[1] = script;
    for (int i = 1; i < argc; i++)
        av[i + 1] = argv[i];
    // before exec replaces the buffers; a failure here has nowhere better to go
    (void)fflush(stdout);
    (void)fflush(stderr);
    execv("/bin/bash", av);
    fprintf(stderr, "pgdrill sandbox: cannot run /bin/bash %s: %s\n", script, strerror(errno));
    rc = 3;
    free(av[0]);
out:
    free(av);
    free(script);
    free(server);
    free(dir);
    return rc;
}
