/* pgdrill audit verify: check the audit log's hash chain and sequence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli.h"
#include "pd_mem.h"

static const char audit_help[] =
    "usage: pgdrill audit verify [--path FILE]\n"
    "\n"
    "Verify the audit log (default $PGDRILL_HOME/audit.log): every line a valid\n"
    "entry, seq contiguous from 1, each entry's prev the sha256 of the line before.\n"
    "Exit 0 with \"audit log ok: N entries, chain intact\" and the head hash (keep\n"
    "it elsewhere to detect a later edit of the last entry), 1 naming the first\n"
    "broken line and why (edited, removed, reordered, truncated), 2 when the file\n"
    "is missing or the usage is wrong.\n";

int
cli_cmd_audit(struct cli_ctx *ctx, int argc, char **argv)
{
    struct audit_summary sum;
    struct pd_err err;
    const char *path_arg = NULL;
    char *path;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(audit_help, stdout);
            return 0;
        }
    }
    if (argc < 2)
        return cli_usage_error("audit", "missing sub-command (verify)");
    if (strcmp(argv[1], "verify") != 0)
        return cli_usage_error("audit", "unknown sub-command '%s'", argv[1]);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
            path_arg = argv[++i];
        else if (strncmp(argv[i], "--path=", 7) == 0)
            path_arg = argv[i] + 7;
        else if (strcmp(argv[i], "--path") == 0)
            return cli_usage_error("audit", "--path needs a FILE");
        else
            return cli_usage_error("audit", "unknown argument '%s'", argv[i]);
    }
    path = path_arg ? pd_xstrdup(path_arg) : pd_xasprintf("%s/audit.log", ctx->cfg.home);
    pd_err_clear(&err);
    rc = audit_verify(&sum, path, NULL, NULL, &err);
    free(path);
    if (rc != 0)
        return cli_fail(&err);
    printf("audit log ok: %zu entr%s, chain intact\n", sum.n_entries,
           sum.n_entries == 1 ? "y" : "ies");
    if (sum.n_entries > 0)
        printf("head sha256: %s\n", sum.head);
    return 0;
}
