/* pgdrill lint: validate runbooks, every problem as file:line:col: message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runbook/runbook.h"

static const char lint_help[] = "usage: pgdrill lint RUNBOOK...\n"
                                "\n"
                                "Validate runbooks (paths, or ids of shipped runbooks) against "
                                "pgdrill-runbook(5). Every problem is printed as\n"
                                "file:line:col: message. Exit 0 when all are valid, 2 otherwise.\n";

int
cli_cmd_lint(struct cli_ctx *ctx, int argc, char **argv)
{
    int bad = 0;
    int files = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(lint_help, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("lint", "unknown option '%s'", argv[i]);
    }
    for (int i = 1; i < argc; i++) {
        struct runbook_diags diags = {0};
        struct runbook *rb = NULL;
        struct pd_err err;
        int rc;

        char *path = cli_resolve_runbook(ctx, argv[i]);

        pd_err_clear(&err);
        files++;
        rc = runbook_load(&rb, path, &diags, &err);
        free(path);
        for (size_t k = 0; k < diags.n; k++)
            printf("%s:%d:%d: %s\n", diags.items[k].file, diags.items[k].pos.line,
                   diags.items[k].pos.col, diags.items[k].msg);
        if (rc != 0) {
            bad++;
            if (diags.n == 0) // e.g. the file cannot be read
                printf("%s\n", err.msg);
        }
        runbook_diags_free(&diags);
        runbook_free(rb);
    }
    if (files == 0)
        return cli_usage_error("lint", "missing RUNBOOK");
    return bad ? 2 : 0;
}
