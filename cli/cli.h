/*
 * cli: the sub-commands of pgdrill. Each takes argc/argv from its own name
 * on (argv[0] is the sub-command) and returns a process exit code.
 */
#ifndef PD_CLI_H
#define PD_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "pd_config.h"
#include "pd_err.h"

struct cli_ctx {
    struct pd_config cfg;
    const char *prog; /* "pgdrill" */
};

int cli_cmd_run(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_resume(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_check(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_lint(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_report(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_tui(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_audit(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_sandbox(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_backup(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_verify(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_timeline(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cli_cmd_doctor(struct cli_ctx *ctx, int argc, char **argv);

/* The hidden `pgdrill __complete ...` of the completion scripts; commands is NULL-terminated. */
int cli_cmd_complete(struct cli_ctx *ctx, const char *const *commands, int argc, char **argv);

/*
 * pgdrill sandbox traffic|incident|grade (cli/cmd_training.c). check: the
 * flags of argv (argv[1] the sub-command) into *number (--rate or --seed,
 * -1 when absent), *kind and *json; 0 or a usage error's exit code. run:
 * the work, once sandbox.sh has set up dir (PGDRILL_TRAINING_DIR).
 */
int cli_training_check(int argc, char **argv, long *number, const char **kind, bool *json);
int cli_training_run(const struct cli_ctx *ctx, const char *dir, int argc, char **argv);

/*
 * `pgdrill run RUNBOOK --plan`: print what the runbook would create or
 * change (cmd_timeline.c) without starting a drill; exit code.
 */
int cli_run_plan(const struct cli_ctx *ctx, const char *path, const char **vars, size_t n_vars);

/*
 * Say on stderr how sending a Slack notice went (rc, err from core/notify),
 * as "WHO: failure notice sent to Slack" (not when quiet) or "WHO: the Slack
 * failure notice was not sent: <redacted error>".
 */
void cli_notice_result(const char *who, int rc, const struct pd_err *err, bool quiet);

/* Print "pgdrill: <message>" for err to stderr and return its exit code. */
int cli_fail(const struct pd_err *err);

/*
 * Copy the open file f (read from path) to stdout and flush it. Returns 0,
 * or PD_EIO with err set when f cannot be read or stdout not written: a
 * report redirected to a full disk must not pass for printed.
 */
int cli_copy_to_stdout(FILE *f, const char *path, struct pd_err *err);

/* Print a usage error "pgdrill CMD: msg" plus a hint, return 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Resolve a runbook argument: a path as given if it exists, else
 * "<runbooks dir>/<name>.md" for a bare runbook id. Caller owns the result.
 */
char *cli_resolve_runbook(const struct cli_ctx *ctx, const char *arg);

/*
 * When path (arg resolved) does not exist: for a bare runbook id, a usage
 * error for cmd that names the closest shipped runbook and lists them all;
 * for a path whose file name is close to a shipped runbook's, one that
 * names it. Returns 2 then; otherwise 0 and prints nothing (a path of the
 * operator's own the command reports itself).
 */
int cli_runbook_unknown(const struct cli_ctx *ctx, const char *cmd, const char *arg,
                        const char *path);

/*
 * Is nv of the form NAME=VALUE, NAME a letter or '_' then letters, digits, '_' or '.'?
 * A --var or --vars-from line that is not may be a bare secret: never echo it.
 */
bool cli_var_ok(const char *nv);

/*
 * Before a drill begins (and leaves a journal behind): every --var of vars
 * must be one the runbook at path takes (engine_check_vars). Returns 0, or
 * prints the usage error for cmd and returns 2. A runbook that does not load
 * returns 0: the command reports it as it always does.
 */
int cli_check_vars(const char *cmd, const char *path, const char *const *vars, size_t n_vars);

/*
 * Before a headless drill nobody can answer begins: every required input of the runbook at
 * path has a --var or a default (engine_check_inputs_given). Returns 0, or prints the usage
 * error naming all the missing ones and returns 2; a runbook that does not load returns 0.
 */
int cli_check_inputs_given(const char *cmd, const char *path, const char *const *vars,
                           size_t n_vars);

/*
 * Give PGDRILL_BACKUP_URI its one meaning for every command and runbook: the
 * location that holds the class folders (backup_base_uri). A value in the
 * old form (ending in a class folder) is replaced in the environment, with a
 * warning on stderr that names the value to set instead.
 */
void cli_backup_uri_normalize(void);

/*
 * SIGINT and SIGTERM (systemd's stop) as one request to stop: cli_signals_trap
 * replaces their default action with a flag that cli_interrupted reads at the
 * command's safe points; cli_signals_restore puts the previous actions back.
 * cli_interrupted_exit prints "pgdrill WHO: interrupted" and returns 130.
 */
struct cli_signals {
    struct sigaction old_int, old_term;
};

void cli_signals_trap(struct cli_signals *saved);
void cli_signals_restore(const struct cli_signals *saved);
bool cli_interrupted(void);
int cli_interrupted_exit(const char *who);

#endif
