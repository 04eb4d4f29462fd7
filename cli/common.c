/* cli common: what every sub-command shares: failing, usage errors, runbook names, copying out. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backup/backup.h"
#include "cli.h"
#include "engine/engine.h"
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
cli_check_vars(const char *cmd, const char *path, const char *const *vars, size_t n_vars)
{
    struct runbook *rb = NULL;
    struct pd_err err;
    int code = 0;

    pd_err_clear(&err);
    // a runbook that does not load is reported by the command itself
    if (n_vars == 0 || runbook_load(&rb, path, NULL, &err) != 0)
        return 0;
    if (engine_check_vars(rb, vars, n_vars, &err) != 0)
        code = cli_usage_error(cmd, "%s", err.msg);
    runbook_free(rb);
    return code;
}
