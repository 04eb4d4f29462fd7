/* pgdrill tui [RUNBOOK]: the terminal front end. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pd_mem.h"
#include "tui.h"

static const char tui_help[] =
    "usage: pgdrill [tui [RUNBOOK]] [--var NAME=VALUE]... [--resume DRILL-ID]\n"
    "\n"
    "Open the TUI: without RUNBOOK, the runbook picker; with it, a new drill.\n"
    "Press ? inside for the keys. The banner names the target environment\n"
    "(PGDRILL_ENVIRONMENT or environment= in the config file).\n";

int
cli_cmd_tui(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"var", required_argument, NULL, 'v'},
        {"resume", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tui_opts to;
    const char **vars = NULL;
    size_t n_vars = 0;
    const char *dirs[1];
    char *path = NULL;
    struct pd_err err;
    int c, code;

    memset(&to, 0, sizeof(to));
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "v:R:h", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            if (!cli_var_ok(optarg)) {
                free(vars);
                return cli_usage_error("tui", "--var expects NAME=VALUE (NAME: letters, digits, "
                                              "'_' and '.')");
            }
            vars = pd_xrealloc(vars, (n_vars + 1) * sizeof(*vars));
            vars[n_vars++] = optarg;
            break;
        case 'R':
            to.resume_id = optarg;
            break;
        case 'h':
            fputs(tui_help, stdout);
            free(vars);
            return 0;
        default:
            free(vars);
            return cli_usage_error("tui", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind > 1) {
        free(vars);
        return cli_usage_error("tui", "one RUNBOOK at most");
    }
    if (argc - optind == 1) {
        // a mistyped --var is said before the screen is taken over
        path = cli_resolve_runbook(ctx, argv[optind]);
        if ((code = cli_runbook_unknown(ctx, "tui", argv[optind], path)) != 0 ||
            (code = cli_check_vars("tui", path, vars, n_vars)) != 0) {
            free(path);
            free(vars);
            return code;
        }
    }
    if (getenv("PGDRILL_TUI_SCRIPT") == NULL && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        free(path);
        free(vars);
        fprintf(stderr, "pgdrill tui: needs a terminal; use 'pgdrill run' for headless runs\n");
        return 2;
    }
    dirs[0] = ctx->cfg.runbooks;
    to.runbook_path = path;
    to.runbook_dirs = dirs;
    to.n_dirs = 1;
    to.home = ctx->cfg.home;
    to.environment = ctx->cfg.environment;
    to.vars = vars;
    to.n_vars = n_vars;
    to.script = getenv("PGDRILL_TUI_SCRIPT");
    to.operator_name = ctx->cfg.operator_name;
    to.hints_path = ctx->cfg.hints;
    pd_err_clear(&err);
    code = tui_run(&to, &err);
    // after endwin: say why it stopped, and how to go on when interrupted
    if (code != 0 && code != PD_ECHECK && err.msg[0] != '\0')
        fprintf(stderr, "pgdrill: %s\n", err.msg);
    free(path);
    free(vars);
    return pd_err_exit_code(code);
}
