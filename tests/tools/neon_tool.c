/*
 * neon_tool: a small command-line driver for core/neon (client, action),
 * used by tests/integration/neon_*.sh, tests/tui and tests/faults against
 * the Neon sandbox behind the contract proxy:
 *
 *   neon_tool cli COMMAND [ARGS...]   (NEON_API_HOST, NEON_API_KEY, NEON_PROJECT_ID)
 *
 * "cli" is the mode word the shell tests have always passed. The driver
 * prints key=value lines and exits with pgdrill's exit code for the error;
 * PGDRILL_TEST_NEON_BACKOFF and PGDRILL_TEST_NEON_ATTEMPTS tune the retries.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "neon/action.h"
#include "neon/client.h"
#include "pd_err.h"
#include "pd_redact.h"
#include "pd_time.h"

/* What every command gets: the client, the arguments, a result to fill. */
struct cli {
    struct neon_client *c;
    int argc;
    char **argv;
    const char *a1, *a2; /* the first two arguments after the command, or NULL */
    struct neon_result r;
};

static void
print_branch(const char *prefix, const struct neon_branch *b)
{
    printf("%sid=%s\n%sname=%s\n%sparent_id=%s\n%sparent_timestamp=%s\n%sstate=%s\n%sdefault=%d\n",
           prefix, b->id, prefix, b->name, prefix, b->parent_id ? b->parent_id : "", prefix,
           b->parent_timestamp ? b->parent_timestamp : "", prefix,
           b->current_state ? b->current_state : "", prefix, b->is_default);
}

static void
cli_progress(const struct neon_operation *op, double elapsed, void *payload)
{
    (void)payload;
    fprintf(stderr, "operation %s %s %s (%.1fs)\n", op->id, op->action, op->status, elapsed);
}

static int
cli_wait(struct cli *k, struct pd_err *err)
{
    return neon_operations_wait(k->c, k->r.operations, k->r.n_operations, 300, 0.3, cli_progress,
                                NULL, err);
}

static const char *
opt(const struct cli *k, const char *name)
{
    for (int i = 0; i + 1 < k->argc; i++)
        if (strcmp(k->argv[i], name) == 0)
            return k->argv[i + 1];
    return NULL;
}

static int
flag(const struct cli *k, const char *name)
{
    for (int i = 0; i < k->argc; i++)
        if (strcmp(k->argv[i], name) == 0)
            return 1;
    return 0;
}

/* ---- reads ----------------------------------------------------------------- */

static int
cmd_project(struct cli *k, struct pd_err *err)
{
    struct neon_project p;
    int rc = neon_project_get(k->c, &p, err);

    if (rc == 0)
        printf("id=%s\nname=%s\npg_version=%d\nhistory_retention_seconds=%ld\n", p.id, p.name,
               p.pg_version, p.history_retention_seconds);
    neon_project_clear(&p);
    return rc;
}

static int
cmd_branches(struct cli *k, struct pd_err *err)
{
    struct neon_branch *v;
    size_t n;
    int rc = neon_branches_list(k->c, &v, &n, err);

    if (rc == 0) {
        printf("count=%zu\n", n);
        for (size_t i = 0; i < n; i++)
            printf("branch=%s %s default=%d state=%s\n", v[i].id, v[i].name, v[i].is_default,
                   v[i].current_state ? v[i].current_state : "");
        neon_branches_free(v, n);
    }
    return rc;
}

static int
cmd_branch(struct cli *k, struct pd_err *err)
{
    struct neon_branch b;
    int rc = neon_branch_get(k->c, k->a1, &b, err);

    if (rc == 0)
        print_branch("", &b);
    neon_branch_clear(&b);
    return rc;
}

static int
cmd_find(struct cli *k, struct pd_err *err)
{
    struct neon_branch b;
    int rc = neon_branch_find(k->c, k->a1, &b, err);

    if (rc == 0)
        print_branch("", &b);
    neon_branch_clear(&b);
    return rc;
}

static int
cmd_endpoints(struct cli *k, struct pd_err *err)
{
    struct neon_endpoint *v;
    size_t n;
    int rc = neon_endpoints_list(k->c, k->a1, &v, &n, err);

    if (rc == 0) {
        printf("count=%zu\n", n);
        for (size_t i = 0; i < n; i++)
            printf("endpoint=%s %s %s %s %s\n", v[i].id, v[i].branch_id, v[i].host, v[i].type,
                   v[i].current_state);
        neon_endpoints_free(v, n);
    }
    return rc;
}

static int
cmd_databases(struct cli *k, struct pd_err *err)
{
    struct neon_database *v;
    size_t n;
    int rc = neon_databases_list(k->c, k->a1, &v, &n, err);

    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            printf("database=%s owner=%s\n", v[i].name, v[i].owner_name);
        neon_databases_free(v, n);
    }
    return rc;
}

static int
cmd_roles(struct cli *k, struct pd_err *err)
{
    struct neon_role *v;
    size_t n;
    int rc = neon_roles_list(k->c, k->a1, &v, &n, err);

    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            printf("role=%s\n", v[i].name);
        neon_roles_free(v, n);
    }
    return rc;
}

static int
cmd_uri(struct cli *k, struct pd_err *err)
{
    char *uri = NULL;
    int rc = neon_connection_uri(k->c, &uri, k->a1, k->a2, k->argc > 5 ? k->argv[5] : NULL, err);

    if (rc == 0)
        printf("uri=%s\n", uri); // the test needs the real uri to connect
    free(uri);
    return rc;
}

static int
cmd_operation(struct cli *k, struct pd_err *err)
{
    struct neon_operation o;
    int rc = neon_operation_get(k->c, k->a1, &o, err);

    if (rc == 0)
        printf("action=%s\nstatus=%s\n", o.action, o.status);
    neon_operation_clear(&o);
    return rc;
}

/* ---- neon_action_run, arguments as key=value ------------------------------- */

static int
cmd_action(struct cli *k, struct pd_err *err)
{
    struct neon_action_args a = {0};
    struct neon_action_out o;

    const struct {
        const char *key;
        const char **field;
    } keys[] = {
        {"op", &a.op},
        {"branch", &a.branch},
        {"parent", &a.parent},
        {"timestamp", &a.timestamp},
        {"lsn", &a.lsn},
        {"name", &a.name},
        {"source", &a.source},
        {"preserve", &a.preserve},
        {"endpoint", &a.endpoint},
        {"database", &a.database},
        {"role", &a.role},
        {"operation", &a.operation},
    };

    int rc;

    for (int i = 3; i < k->argc; i++) {
        const char *arg = k->argv[i], *eq = strchr(arg, '=');

        for (size_t j = 0; eq != NULL && j < sizeof(keys) / sizeof(keys[0]); j++)
            if (strlen(keys[j].key) == (size_t)(eq - arg) &&
                strncmp(arg, keys[j].key, (size_t)(eq - arg)) == 0)
                *keys[j].field = eq + 1;
    }
    rc = neon_action_run(k->c, &a, pd_time_wall(), cli_progress, NULL, &o, err);
    if (rc == 0) {
        char *shown = pd_redact(o.uri);

        printf("id=%s\nname=%s\nhost=%s\nuri=%s\nshown_uri=%s\nsummary=%s\n", o.id ? o.id : "",
               o.name ? o.name : "", o.host ? o.host : "", o.uri ? o.uri : "", shown ? shown : "",
               o.summary ? o.summary : "");
        for (size_t i = 0; i < o.n_lines; i++)
            printf("line=%s\n", o.lines[i]);
        free(shown);
    }
    neon_action_out_clear(&o);
    return rc;
}

/* ---- mutations: each waits for its operations ------------------------------ */

static int
cmd_create(struct cli *k, struct pd_err *err)
{
    struct neon_branch_create o = {.name = k->a1,
                                   .parent_timestamp = opt(k, "--timestamp"),
                                   .parent_lsn = opt(k, "--lsn"),
                                   .parent_id = opt(k, "--parent")};
    int rc;

    if (o.parent_timestamp && !flag(k, "--no-check")) {
        struct neon_project p;

        rc = neon_project_get(k->c, &p, err);
        if (rc == 0)
            rc = neon_check_timestamp(o.parent_timestamp, pd_time_wall(),
                                      p.history_retention_seconds, 0, NULL, err);
        neon_project_clear(&p);
        if (rc != 0)
            return rc;
    }
    rc = neon_branch_create(k->c, &o, &k->r, err);
    if (rc == 0 && !flag(k, "--no-wait"))
        rc = cli_wait(k, err);
    if (rc == 0) {
        print_branch("", &k->r.branch);
        for (size_t i = 0; i < k->r.n_endpoints; i++)
            printf("endpoint=%s\nhost=%s\n", k->r.endpoints[i].id, k->r.endpoints[i].host);
        printf("operations=%zu\n", k->r.n_operations);
    }
    return rc;
}

static int
cmd_rename(struct cli *k, struct pd_err *err)
{
    int rc = neon_branch_rename(k->c, k->a1, k->a2, &k->r, err);

    if (rc == 0)
        rc = cli_wait(k, err);
    if (rc == 0)
        print_branch("", &k->r.branch);
    return rc;
}

static int
cmd_delete(struct cli *k, struct pd_err *err)
{
    int gone = 0;
    int rc = neon_branch_delete(k->c, k->a1, &k->r, &gone, err);

    if (rc == 0)
        rc = cli_wait(k, err);
    if (rc == 0)
        printf("gone=%d\n", gone);
    return rc;
}

static int
cmd_set_default(struct cli *k, struct pd_err *err)
{
    int rc = neon_branch_set_default(k->c, k->a1, &k->r, err);

    if (rc == 0)
        rc = cli_wait(k, err);
    if (rc == 0)
        print_branch("", &k->r.branch);
    return rc;
}

static int
cmd_restore(struct cli *k, struct pd_err *err)
{
    struct neon_branch_restore o = {.source_branch_id = k->a2,
                                    .source_timestamp = opt(k, "--timestamp"),
                                    .preserve_under_name = opt(k, "--preserve")};
    int rc = neon_branch_restore(k->c, k->a1, &o, &k->r, err);

    if (rc == 0)
        rc = cli_wait(k, err);
    if (rc == 0)
        print_branch("", &k->r.branch);
    return rc;
}

static int
endpoint_done(struct cli *k, int rc, struct pd_err *err)
{
    if (rc == 0)
        rc = cli_wait(k, err);
    if (rc == 0)
        printf("endpoint=%s\nbranch_id=%s\n", k->r.endpoint.id, k->r.endpoint.branch_id);
    return rc;
}

static int
cmd_endpoint_create(struct cli *k, struct pd_err *err)
{
    return endpoint_done(k, neon_endpoint_create(k->c, k->a1, "read_write", &k->r, err), err);
}

static int
cmd_endpoint_start(struct cli *k, struct pd_err *err)
{
    return endpoint_done(k, neon_endpoint_start(k->c, k->a1, &k->r, err), err);
}

/* ---- dispatch -------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(struct cli *k, struct pd_err *err);
} commands[] = {
    {"project", cmd_project},
    {"branches", cmd_branches},
    {"branch", cmd_branch},
    {"action", cmd_action},
    {"find", cmd_find},
    {"create", cmd_create},
    {"rename", cmd_rename},
    {"delete", cmd_delete},
    {"set-default", cmd_set_default},
    {"restore", cmd_restore},
    {"endpoints", cmd_endpoints},
    {"endpoint-create", cmd_endpoint_create},
    {"endpoint-start", cmd_endpoint_start},
    {"databases", cmd_databases},
    {"roles", cmd_roles},
    {"uri", cmd_uri},
    {"operation", cmd_operation},
};

static int
cli_run(struct cli *k, const char *cmd, struct pd_err *err)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(k, err);
    return PD_ERR_SET(err, PD_EUSAGE, "neon_tool cli: unknown command '%s'", cmd);
}

int
main(int argc, char **argv)
{
    struct cli k = {.argc = argc,
                    .argv = argv,
                    .a1 = argc > 3 ? argv[3] : NULL,
                    .a2 = argc > 4 ? argv[4] : NULL};
    struct pd_err err = {0};
    const char *cmd = argc > 2 ? argv[2] : "", *v;
    struct neon_config cfg = {0};
    int rc;

    if (argc < 2 || strcmp(argv[1], "cli") != 0) {
        fprintf(stderr, "usage: neon_tool cli COMMAND [ARGS...]\n");
        return 2;
    }
    cfg.host = getenv("NEON_API_HOST");
    cfg.api_key = getenv("NEON_API_KEY");
    cfg.project_id = getenv("NEON_PROJECT_ID");
    cfg.backoff_base_s = (v = getenv("PGDRILL_TEST_NEON_BACKOFF")) ? strtod(v, NULL) : 0;
    cfg.max_attempts = (v = getenv("PGDRILL_TEST_NEON_ATTEMPTS")) ? (int)strtol(v, NULL, 10) : 0;
    rc = neon_client_new(&k.c, &cfg, &err);
    if (rc == 0)
        rc = cli_run(&k, cmd, &err);
    neon_result_clear(&k.r);
    neon_client_free(k.c);
    (void)fflush(stdout); // stdout is checked by the shell test reading it
    if (rc != 0) {
        char *shown = pd_redact(err.msg);

        fprintf(stderr, "error: %s\n", shown);
        free(shown);
    }
    return pd_err_exit_code(rc);
}
