/* cli common: what every sub-command shares: failing, usage errors, runbook names, copying out. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/backup.h"
#include "cli.h"
#include "engine/engine.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "runbook/runbook.h"

void
cli_notice_result(const char *who, int rc, const struct pd_err *err, bool quiet)
{
    char *msg;

    if (rc == 0) {
        if (!quiet)
            fprintf(stderr, "%s: failure notice sent to Slack\n", who);
        return;
    }
    msg = pd_redact(err->msg);
    fprintf(stderr, "%s: the Slack failure notice was not sent: %s\n", who, msg);
    free(msg);
}

int
cli_fail(const struct pd_err *err)
{
    fprintf(stderr, "pgdrill: %s\n", err->msg[0] ? err->msg : pd_err_kind_name(err->kind));
    return pd_err_exit_code(err->kind);
}

int
cli_copy_to_stdout(FILE *f, const char *path, struct pd_err *err)
{
    char buf[8192];
    size_t n;

    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        if (fwrite(buf, 1, n, stdout) != n)
            return PD_ERR_SET(err, PD_EIO, "standard output: %s", strerror(errno));
    if (ferror(f))
        return PD_ERR_SET(err, PD_EIO, "read %s: %s", path, strerror(errno));
    if (fflush(stdout) != 0)
        return PD_ERR_SET(err, PD_EIO, "standard output: %s", strerror(errno));
    return 0;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "pgdrill %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'pgdrill %s --help'.\n", cmd);
    return 2;
}

char *
cli_resolve_runbook(const struct cli_ctx *ctx, const char *arg)
{
    struct stat st;

    if (stat(arg, &st) == 0 || strchr(arg, '/') != NULL)
        return pd_xstrdup(arg);
    if (strlen(arg) > 3 && strcmp(arg + strlen(arg) - 3, ".md") == 0)
        return pd_xasprintf("%s/%s", ctx->cfg.runbooks, arg);
    return pd_xasprintf("%s/%s.md", ctx->cfg.runbooks, arg);
}

/* The ids of the runbooks in dir ("a, b, c", by name) into b; the closest to want in *best. */
static void
shipped_ids(struct pd_buf *b, const char *dir, const char *want, char **best)
{
    struct dirent **ents = NULL;
    int n = dir != NULL ? scandir(dir, &ents, NULL, alphasort) : -1;
    size_t best_d = (size_t)-1;

    for (int i = 0; i < n; i++) {
        size_t len = strlen(ents[i]->d_name);

        if (len > 3 && strcmp(ents[i]->d_name + len - 3, ".md") == 0) {
            char *id = pd_xstrndup(ents[i]->d_name, len - 3);
            size_t d = runbook_edit_distance(want, id);

            pd_buf_appendf(b, NULL, "%s%s", b->len ? ", " : "", id);
            if (d < best_d) {
                best_d = d;
                free(*best);
                *best = pd_xstrdup(id);
            }
            free(id);
        }
        free(ents[i]);
    }
    free(ents);
    // a suggestion only when it is close: at most 2 edits or a third of the name
    if (best_d > 2 && best_d * 3 > strlen(want))
        PD_FREE(*best);
}

int
cli_runbook_unknown(const struct cli_ctx *ctx, const char *cmd, const char *arg, const char *path)
{
    struct stat st;
    struct pd_buf b;
    const char *base = strrchr(arg, '/') != NULL ? strrchr(arg, '/') + 1 : arg;
    char *want, *best = NULL;
    size_t len = strlen(base);

    if (stat(path, &st) == 0)
        return 0;
    want = pd_xstrndup(base, len > 3 && strcmp(base + len - 3, ".md") == 0 ? len - 3 : len);
    pd_buf_init(&b, 0);
    shipped_ids(&b, ctx->cfg.runbooks, want, &best);
    if (base != arg && best == NULL) {
        // a path of the operator's own: the command says it cannot open it
        pd_buf_free(&b);
        free(want);
        return 0;
    }
    if (base != arg)
        cli_usage_error(
            cmd, "no runbook '%s': no such file; did you mean the shipped %s (pgdrill %s %s)?", arg,
            best, cmd, best);
    else
        cli_usage_error(cmd, "no runbook '%s': no such file, nor a shipped runbook%s%s%s (%s%s)",
                        arg, best ? "; did you mean " : "", best ? best : "", best ? "?" : "",
                        b.len ? "shipped: " : "none shipped in ",
                        b.len ? b.data : ctx->cfg.runbooks);
    pd_buf_free(&b);
    free(best);
    free(want);
    return 2;
}

void
cli_backup_uri_normalize(void)
{
    const char *value = getenv("PGDRILL_BACKUP_URI"), *cls = NULL;
    char *base;

    if (value == NULL || value[0] == '\0')
        return;
    base = backup_base_uri(value, &cls);
    if (cls != NULL)
        fprintf(stderr,
                "pgdrill: warning: PGDRILL_BACKUP_URI=%s ends in the class folder %s/; it names "
                "the location that holds the class folders: set PGDRILL_BACKUP_URI=%s\n",
                value, cls, base);
    if (strcmp(base, value) != 0)
        setenv("PGDRILL_BACKUP_URI", base, 1);
    free(base);
}

int
cli_check_inputs_given(const char *cmd, const char *path, const char *const *vars, size_t n_vars)
{
    struct runbook *rb = NULL;
    struct pd_err err;
    int code = 0;

    pd_err_clear(&err);
    // a runbook that does not load is reported by the command itself
    if (runbook_load(&rb, path, NULL, &err) != 0)
        return 0;
    if (engine_check_inputs_given(rb, vars, n_vars, &err) != 0)
        code = cli_usage_error(cmd, "%s", err.msg);
    runbook_free(rb);
    return code;
}

bool
cli_var_ok(const char *nv)
{
    if (!isalpha((unsigned char)nv[0]) && nv[0] != '_')
        return false;
    while (isalnum((unsigned char)*nv) || *nv == '_' || *nv == '.')
        nv++;
    return *nv == '=';
}

int
cli_check_vars(const char *cmd, const char *path, const char *const *vars, size_t n_vars)
{
    struct runbook *rb = NULL;
    struct pd_err err;
    int code = 0;

    pd_err_clear(&err);
    // a runbook that does not load is reported by the command itself
    if (n_vars == 0 || runbook_load(&rb, path, NULL, &err) != 0)
        return 0;
    // a message may quote a value back: a password in it never is
    for (size_t i = 0; i < n_vars; i++)
        if (strchr(vars[i], '=') != NULL)
            pd_redact_register_uri(strchr(vars[i], '=') + 1);
    if (engine_check_vars(rb, vars, n_vars, &err) != 0 ||
        engine_check_var_values(rb, vars, n_vars, &err) != 0) {
        char *msg = pd_redact(err.msg);

        code = cli_usage_error(cmd, "%s", msg);
        free(msg);
    }
    runbook_free(rb);
    return code;
}

static volatile sig_atomic_t cli_stop;

/* The first SIGINT/SIGTERM asks for a stop at the next safe point; a second one is not
 * waited on (a hung request): the default action, as before the trap. */
static void
cli_on_signal(int sig)
{
    if (cli_stop) {
        (void)signal(sig, SIG_DFL);
        (void)raise(sig);
        return;
    }
    cli_stop = 1;
}

void
cli_signals_trap(struct cli_signals *saved)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cli_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &saved->old_int);
    sigaction(SIGTERM, &sa, &saved->old_term);
}

void
cli_signals_restore(const struct cli_signals *saved)
{
    sigaction(SIGINT, &saved->old_int, NULL);
    sigaction(SIGTERM, &saved->old_term, NULL);
}

bool
cli_interrupted(void)
{
    return cli_stop != 0;
}

int
cli_interrupted_exit(const char *who)
{
    fprintf(stderr, "%s: interrupted\n", who);
    return pd_err_exit_code(PD_EINTR);
}
