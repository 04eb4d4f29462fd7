/* pgdrill report list|show|push: past drills, their reports and their evidence in S3. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "drill/drill.h"
#include "evidence/evidence.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "report/html.h"
#include "report/report.h"
#include "runbook/runbook.h"
#include "session/session.h"

static const char report_help[] =
    "usage: pgdrill report list [--remote | --json]\n"
    "       pgdrill report show DRILL-ID [--json | --html FILE]\n"
    "       pgdrill report push [DRILL-ID]\n"
    "\n"
    "list: every drill under $PGDRILL_HOME, newest first, as a table: id, runbook,\n"
    "      date (UTC), outcome, achieved RTO and RPO ('-' when not known), and for a\n"
    "      training exercise its grade ('100 %' or what is wrong, e.g. 'missing 12,\n"
    "      collateral 3'; '-' for other drills). --json: the same as a JSON array\n"
    "      (with the grade's figures as 'training').\n"
    "      --remote: the drill evidence pushed to $PGDRILL_BACKUP_URI/drills/ instead:\n"
    "      id, time of the newest file, size, files (and any missing).\n"
    "show: print the drill's report.md (or report.json with --json), writing it\n"
    "      first from the journal when it is missing or the drill is unfinished.\n"
    "      --html FILE: write the report as one self-contained HTML page to FILE\n"
    "      (inline SVG charts, no scripts, nothing loaded from elsewhere, printable).\n"
    "      DRILL-ID may be abbreviated: a unique prefix of the id or of its part after\n"
    "      the date (e.g. 103000-pitr-restore); an ambiguous one lists the drills it names.\n"
    "push: upload the drill's report.md, report.json, report.html and journal.sha256\n"
    "      to $PGDRILL_BACKUP_URI/drills/DRILL-ID/ (default: the newest drill), with\n"
    "      the backups' server-side encryption (AES256); each object is checked with a\n"
    "      HEAD and every call is recorded in the audit log.\n"
    "\n"
    "Exit: 0 ok, 1 a check of what landed failed, 2 usage or unknown drill,\n"
    "3 S3 failed.\n";

static int
report_list(const struct cli_ctx *ctx, bool json)
{
    struct report_entry *v = NULL;
    size_t n = 0;
    struct pd_err err;

    pd_err_clear(&err);
    if (report_entries_load(&v, &n, ctx->cfg.home, &err) != 0)
        return cli_fail(&err);
    if (json) {
        char *text = report_entries_json(v, n);

        fputs(text, stdout);
        free(text);
        report_entries_free(v, n);
        return 0;
    }
    printf("%-44s %-24s %-16s %-11s %-10s %-10s %s\n", "ID", "RUNBOOK", "DATE", "OUTCOME", "RTO",
           "RPO", "GRADE");
    for (size_t i = 0; i < n; i++) {
        const struct report_entry *e = &v[i];
        char rto[32] = "-", rpo[32] = "-", date[32] = "?";

        if (e->error != NULL) {
            printf("%-44s (unreadable: %s)\n", e->id, e->error);
            continue;
        }
        if (e->rto_s >= 0)
            pd_time_human(rto, sizeof(rto), e->rto_s);
        if (e->rpo_s >= 0)
            pd_time_human(rpo, sizeof(rpo), e->rpo_s);
        // "2026-11-26T04:05:06.123Z" -> "2026-11-26 04:05"
        if (e->started_at && strlen(e->started_at) >= 16)
            snprintf(date, sizeof(date), "%.10s %.5s", e->started_at, e->started_at + 11);
        printf("%-44s %-24s %-16s %-11s %-10s %-10s %s\n", e->id, e->runbook, date,
               e->outcome ? e->outcome : "unfinished", rto, rpo, e->grade ? e->grade : "-");
    }
    report_entries_free(v, n);
    return 0;
}

/* Open drill id and bring its report up to date (drill_session_ensure_report). */
static int
report_ready(struct drill **out, const struct cli_ctx *ctx, const char *id, struct pd_err *err)
{
    int rc = drill_open(out, ctx->cfg.home, id, false, err);

    if (rc != 0)
        return rc;
    return drill_session_ensure_report(ctx->cfg.home, *out, NULL, NULL, err);
}

static int
report_show(const struct cli_ctx *ctx, const char *id, int json, const char *html)
{
    struct drill *d = NULL;
    struct pd_err err;
    char *path = NULL;
    FILE *f;
    int rc;

    pd_err_clear(&err);
    if (report_ready(&d, ctx, id, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    path = pd_xasprintf("%s/%s", d->dir, json || html ? "report.json" : "report.md");
    if (html != NULL) {
        const char *report_json_path = path;

        rc = report_html_write(ctx->cfg.home, report_json_path, html, &err) == 0 ? 0
                                                                                 : cli_fail(&err);
        if (rc == 0)
            fprintf(stderr, "drill %s: HTML report written to %s\n", d->id, html);
        goto out;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "pgdrill: cannot open %s\n", path);
        rc = 1;
        goto out;
    }
    rc = cli_copy_to_stdout(f, path, &err) == 0 ? 0 : cli_fail(&err);
    (void)fclose(f); // read only
out:
    free(path);
    drill_free(d);
    return rc;
}

/* pgdrill report push [ID]: the drill's evidence to S3 (core/evidence). */
static int
report_push(const struct cli_ctx *ctx, const char *id)
{
    struct evidence_push_result r;
    struct cli_signals saved;
    struct pd_err err;
    char *text;
    int rc;

    pd_err_clear(&err);
    cli_signals_trap(&saved);
    rc = evidence_push_env(&r, ctx->cfg.home, ctx->cfg.operator_name, id, &err);
    cli_signals_restore(&saved);
    text = evidence_push_text(&r);
    if (rc == 0)
        fputs(text, stdout);
    free(text);
    evidence_push_result_free(&r);
    // a stop during the upload: what was stored is listed above, the exit code says it stopped
    if (cli_interrupted())
        return cli_interrupted_exit("pgdrill report push");
    return rc == 0 ? 0 : cli_fail(&err);
}

static int
report_list_remote(const struct cli_ctx *ctx)
{
    struct evidence_remote *v = NULL;
    struct pd_err err;
    size_t n = 0;
    char *uri = NULL, *text;
    int rc;

    pd_err_clear(&err);
    rc = evidence_list_remote_env(&v, &n, &uri, ctx->cfg.home, ctx->cfg.operator_name, &err);
    if (rc == 0) {
        text = evidence_remote_text(v, n, uri);
        fputs(text, stdout);
        free(text);
    }
    evidence_remote_free(v, n);
    free(uri);
    return rc == 0 ? 0 : cli_fail(&err);
}

/* report show's operands: DRILL-ID [--json | --html FILE]. */
static int
report_show_args(const struct cli_ctx *ctx, int argc, char **argv)
{
    int json = 0;
    const char *id = NULL, *html = NULL;

    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--html") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0')
                return cli_usage_error("report", "--html needs a FILE");
            html = argv[++i];
        } else if (id == NULL && argv[i][0] != '-') {
            id = argv[i];
        } else {
            return cli_usage_error("report", "unexpected argument '%s'", argv[i]);
        }
    }
    if (id == NULL)
        return cli_usage_error("report", "show needs a DRILL-ID (see 'pgdrill report list')");
    if (json && html != NULL)
        return cli_usage_error("report", "--json and --html exclude each other");
    return report_show(ctx, id, json, html);
}

int
cli_cmd_report(struct cli_ctx *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(report_help, stdout);
            return 0;
        }
    }
    if (argc < 2)
        return cli_usage_error("report", "missing 'list', 'show DRILL-ID' or 'push [DRILL-ID]'");
    if (strcmp(argv[1], "list") == 0) {
        if (argc == 3 && strcmp(argv[2], "--remote") == 0)
            return report_list_remote(ctx);
        if (argc == 3 && strcmp(argv[2], "--json") == 0)
            return report_list(ctx, true);
        if (argc != 2)
            return cli_usage_error("report", "list takes only --remote or --json");
        return report_list(ctx, false);
    }
    if (strcmp(argv[1], "push") == 0) {
        if (argc > 3 || (argc == 3 && argv[2][0] == '-'))
            return cli_usage_error("report", "push takes one DRILL-ID at most");
        return report_push(ctx, argc == 3 ? argv[2] : NULL);
    }
    if (strcmp(argv[1], "show") != 0)
        return cli_usage_error("report", "unknown action '%s'", argv[1]);
    return report_show_args(ctx, argc, argv);
}
