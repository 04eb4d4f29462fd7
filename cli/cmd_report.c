/* pgdrill report list|show: past drills and their reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "drill/drill.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "report/report.h"
#include "runbook/runbook.h"
#include "session/session.h"

static const char report_help[] =
    "usage: pgdrill report list\n"
    "       pgdrill report show DRILL-ID [--json]\n"
    "\n"
    "list: every drill under $PGDRILL_HOME, newest first, as a table: id, runbook,\n"
    "      date (UTC), outcome, achieved RTO and RPO ('-' when not known).\n"
    "show: print the drill's report.md (or report.json with --json), writing it\n"
    "first from the journal when it is missing or the drill is unfinished.\n";

static int
report_list(const struct cli_ctx *ctx)
{
    char **ids = NULL;
    size_t n = 0;
    struct pd_err err;
    int rc;

    pd_err_clear(&err);
    rc = drill_list(&ids, &n, ctx->cfg.home, &err);
    if (rc != 0)
        return cli_fail(&err);
    printf("%-44s %-24s %-16s %-11s %-10s %s\n", "ID", "RUNBOOK", "DATE", "OUTCOME", "RTO", "RPO");
    for (size_t i = 0; i < n; i++) {
        struct drill *d = NULL;
        char rto[32] = "-", rpo[32] = "-", date[32] = "?";

        pd_err_clear(&err);
        if (drill_open(&d, ctx->cfg.home, ids[i], false, &err) != 0) {
            printf("%-44s (unreadable: %s)\n", ids[i], err.msg);
        } else {
            // the same value as report.json's rto_s, not only a measured one
            double achieved = drill_rto_achieved(d);

            if (achieved >= 0)
                pd_time_human(rto, sizeof(rto), achieved);
            if (d->rpo_s >= 0)
                pd_time_human(rpo, sizeof(rpo), d->rpo_s);
            // "2026-11-26T04:05:06.123Z" -> "2026-11-26 04:05"
            if (d->started_at && strlen(d->started_at) >= 16)
                snprintf(date, sizeof(date), "%.10s %.5s", d->started_at, d->started_at + 11);
            printf("%-44s %-24s %-16s %-11s %-10s %s\n", d->id, d->runbook_id ? d->runbook_id : "?",
                   date, d->outcome ? d->outcome : "unfinished", rto, rpo);
        }
        drill_free(d);
        free(ids[i]);
    }
    free(ids);
    return 0;
}

static int
report_show(const struct cli_ctx *ctx, const char *id, int json)
{
    struct drill *d = NULL;
    struct runbook *rb = NULL;
    struct pd_err err;
    char *path = NULL;
    FILE *f;
    int rc;

    pd_err_clear(&err);
    rc = drill_open(&d, ctx->cfg.home, id, false, &err);
    if (rc != 0)
        return cli_fail(&err);
    path = pd_xasprintf("%s/%s", d->dir, json ? "report.json" : "report.md");
    f = fopen(path, "r");
    if (f == NULL || d->outcome == NULL) {
        // write it from the journal; the runbook is optional (it may have moved)
        if (f != NULL)
            (void)fclose(f);
        if (runbook_load(&rb, d->runbook_path, NULL, &err) != 0)
            rb = NULL;
        pd_err_clear(&err);
        rc = drill_session_write_report(ctx->cfg.home, d, rb, NULL, &err);
        if (rc != 0) {
            rc = cli_fail(&err);
            goto out;
        }
        f = fopen(path, "r");
    }
    if (f == NULL) {
        fprintf(stderr, "pgdrill: cannot open %s\n", path);
        rc = 1;
        goto out;
    }
    rc = cli_copy_to_stdout(f, path, &err) == 0 ? 0 : cli_fail(&err);
    (void)fclose(f); // read only
out:
    free(path);
    runbook_free(rb);
    drill_free(d);
    return rc;
}

int
cli_cmd_report(struct cli_ctx *ctx, int argc, char **argv)
{
    int json = 0;
    const char *id = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(report_help, stdout);
            return 0;
        }
    }
    if (argc < 2)
        return cli_usage_error("report", "missing 'list' or 'show DRILL-ID'");
    if (strcmp(argv[1], "list") == 0) {
        if (argc != 2)
            return cli_usage_error("report", "list takes no arguments");
        return report_list(ctx);
    }
    if (strcmp(argv[1], "show") != 0)
        return cli_usage_error("report", "unknown action '%s'", argv[1]);
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (id == NULL)
            id = argv[i];
        else
            return cli_usage_error("report", "unexpected argument '%s'", argv[i]);
    }
    if (id == NULL)
        return cli_usage_error("report", "show needs a DRILL-ID (see 'pgdrill report list')");
    return report_show(ctx, id, json);
}
