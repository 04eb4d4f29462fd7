/* pgdrill timeline: what can be restored, and the recommendation for an incident. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli.h"
#include "pd_err.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "timeline/plan.h"
#include "timeline/timeline.h"

static const char timeline_help[] =
    "usage: pgdrill timeline [--incident RFC3339] [--margin SECONDS] [--days N] [--json]\n"
    "\n"
    "Neon's history window and every dump under $PGDRILL_BACKUP_URI/weekly/ on one\n"
    "time axis: a bar over the last N days (default 30), the dumps with their ages and\n"
    "the gaps between them. With --incident, recommends the restore source (PITR\n"
    "inside the window, else the newest dump before the incident), the target\n"
    "time (the incident minus the margin, default 60 s) and the expected data loss.\n"
    "\n"
    "The Neon and S3 requests are recorded in $PGDRILL_HOME/audit.log; when the\n"
    "log cannot be opened or written, nothing (more) is sent and the command fails.\n"
    "\n"
    "Exit codes: 0 success, 1 the audit log cannot be written, 2 usage or input\n"
    "error, 3 a service failed.\n";

int
cli_cmd_timeline(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option opts[] = {
        {"incident", required_argument, NULL, 'i'}, {"margin", required_argument, NULL, 'm'},
        {"days", required_argument, NULL, 'd'},     {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *incident_s = NULL;
    double incident = 0, margin = -1;
    int days = 30, json = 0, c, rc;
    struct timeline tl;
    struct timeline_rec rec;
    struct audit *audit = NULL;
    struct pd_err err;
    char *text = NULL, *end;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "i:m:d:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            incident_s = optarg;
            break;
        case 'm':
            margin = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || margin < 0)
                return cli_usage_error("timeline", "--margin expects seconds >= 0, got '%s'",
                                       optarg);
            break;
        case 'd':
            days = (int)strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || days < 1 || days > 3650)
                return cli_usage_error("timeline", "--days expects 1 to 3650, got '%s'", optarg);
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(timeline_help, stdout);
            return 0;
        default:
            return cli_usage_error("timeline", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("timeline", "unexpected argument '%s'", argv[optind]);
    if (incident_s && pd_time_parse_rfc3339(&incident, incident_s, 0) != 0)
        return cli_usage_error("timeline",
                               "--incident expects RFC 3339, e.g. "
                               "2026-01-31T14:05:00Z, got '%s'",
                               incident_s);

    pd_err_clear(&err);
    // before anything is sent: a request that cannot be audited is not made
    if (audit_open(&audit, ctx->cfg.home, ctx->cfg.operator_name, &err) != 0)
        return cli_fail(&err);
    rc = timeline_load(&tl, pd_time_wall(), audit, &err);
    audit_close(audit);
    if (rc != 0)
        return cli_fail(&err);
    if (incident_s) {
        rc = timeline_recommend(&rec, &tl, incident, margin, &err);
        if (rc != 0) {
            rc = cli_fail(&err);
            goto out;
        }
    }
    if (json)
        text = timeline_json(&tl, incident_s ? &rec : NULL);
    else
        text = timeline_render(&tl, incident_s ? &rec : NULL, days, 80);
    fputs(text, stdout);
    rc = 0;
out:
    free(text);
    timeline_clear(&tl);
    return rc;
}

int
cli_run_plan(const struct cli_ctx *ctx, const char *path, const char **vars, size_t n_vars)
{
    struct runbook *rb = NULL;
    struct runbook_diags diags = {0};
    struct timeline tl;
    struct plan plan;
    struct audit *audit = NULL;
    struct pd_err err;
    bool have_tl;
    int rc;

    pd_err_clear(&err);
    rc = runbook_load(&rb, path, &diags, &err);
    if (rc != 0) {
        for (size_t i = 0; i < diags.n; i++) {
            char *m = runbook_diag_format(&diags.items[i]);
            fprintf(stderr, "%s\n", m);
            free(m);
        }
        runbook_diags_free(&diags);
        return cli_fail(&err);
    }
    runbook_diags_free(&diags);
    // the timeline only sharpens the plan: without the services it still prints
    have_tl = audit_open(&audit, ctx->cfg.home, ctx->cfg.operator_name, &err) == 0 &&
              timeline_load(&tl, pd_time_wall(), audit, &err) == 0;
    audit_close(audit);
    if (!have_tl)
        fprintf(stderr, "pgdrill: plan without the timeline: %s\n", err.msg);
    plan_build(&plan, rb, vars, n_vars, have_tl ? &tl : NULL, pd_time_wall());
    fputs(plan.text, stdout);
    plan_clear(&plan);
    if (have_tl)
        timeline_clear(&tl);
    runbook_free(rb);
    return 0;
}
