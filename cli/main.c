/* pgdrill: entry point; dispatches to the sub-commands. */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compliance/compliance.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"

struct command {
    const char *name;
    int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"tui", cli_cmd_tui, "open the TUI (runbook picker, or the given runbook)"},
    {"run", cli_cmd_run, "run a runbook headless with the same engine"},
    {"resume", cli_cmd_resume, "continue an interrupted drill from its journal"},
    {"lint", cli_cmd_lint, "validate runbooks"},
    {"check", cli_cmd_check, "run the post-restore integrity checks against a database"},
    {"report", cli_cmd_report, "list past drills, show a drill's report"},
    {"timeline", cli_cmd_timeline, "Neon's history window and the S3 dumps; restore advice"},
    {"audit", cli_cmd_audit, "verify the audit log"},
    {"backup", cli_cmd_backup, "weekly export: pg_dump | gzip | S3, with retention"},
    {"verify", cli_cmd_verify, "monthly verification: neon branch, backups, streamed check"},
    {"sandbox", cli_cmd_sandbox, "the local sandbox: PostgreSQL, Neon API, S3 on loopback"},
    {"status", cli_cmd_status, "what ran last and what is overdue: backup, verify, drills"},
    {"doctor", cli_cmd_doctor, "tools, versions, services reached, credentials, clock skew"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: pgdrill [COMMAND] [ARGS...]\n\n"
               "A runbook assistant for PostgreSQL backup and restore drills on Neon and S3.\n"
               "Without a command, opens the TUI.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nEvery command takes --help. pgdrill --version prints the version.\n"
               "Exit codes: 0 success, 1 a check or step failed, 2 usage or input error,\n"
               "3 an external service failed, 130 interrupted. See pgdrill(1).\n");
}

static char *
self_dir(const char *argv0)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

    if (n <= 0) {
        if (strchr(argv0, '/') == NULL)
            return NULL;
        snprintf(buf, sizeof(buf), "%s", argv0);
    } else {
        buf[n] = '\0';
    }
    return pd_xstrdup(dirname(buf));
}

int
main(int argc, char **argv)
{
    struct cli_ctx ctx;
    struct pd_err err;
    char *dir;
    int rc;

    pd_err_clear(&err);
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("pgdrill %s\n", PD_VERSION);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                     strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (getenv("PGDRILL_DEBUG") != NULL)
        pd_log_set_level(PD_LOG_DEBUG);
    pd_redact_register_env();
    compliance_observe(); // the transports report endpoints and objects used

    memset(&ctx, 0, sizeof(ctx));
    ctx.prog = "pgdrill";
    dir = self_dir(argv[0]);
    rc = pd_config_load(&ctx.cfg, dir, &err);
    free(dir);
    if (rc != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    cli_backup_uri_normalize(); // after the config file, which may set it
    if (argc < 2) {
        char tui_name[] = "tui";
        char *tui_argv[] = {tui_name, NULL};

        rc = cli_cmd_tui(&ctx, 1, tui_argv);
        goto out;
    }
    if (strcmp(argv[1], "__complete") == 0) { // the completion scripts' words: hidden
        const char *names[sizeof(commands) / sizeof(commands[0]) + 1] = {0};

        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
            names[i] = commands[i].name;
        rc = cli_cmd_complete(&ctx, names, argc - 1, argv + 1);
        goto out;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            rc = commands[i].fn(&ctx, argc - 1, argv + 1);
            goto out;
        }
    }
    fprintf(stderr, "pgdrill: unknown command '%s'\n", argv[1]);
    usage(stderr);
    rc = 2;
out:
    pd_config_free(&ctx.cfg);
    pd_redact_reset();
    return rc;
}
