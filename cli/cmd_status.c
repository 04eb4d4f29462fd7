/* pgdrill status: what ran last and what is overdue (core/status). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "status/status.h"

static const char status_help[] =
    "usage: pgdrill status [--json] [--metrics FILE]\n"
    "\n"
    "The procedures' calendar, one line each:\n"
    "  backup        the newest weekly backup: when, its size, whether it verified\n"
    "                (S3 under $PGDRILL_BACKUP_URI/weekly/ when set, else the record\n"
    "                the last `pgdrill backup` left in $PGDRILL_HOME/status/)\n"
    "  verification  the last `pgdrill verify` and its verdict\n"
    "  drill RUNBOOK the last drill of each runbook, its outcome, RTO and RPO (local\n"
    "                drills, and the evidence under $PGDRILL_BACKUP_URI/drills/)\n"
    "Overdue: the backup older than PGDRILL_STATUS_BACKUP_DAYS (8), the last passing\n"
    "verification older than PGDRILL_STATUS_VERIFY_DAYS (31), the last passing\n"
    "quarterly-drill older than PGDRILL_STATUS_DRILL_DAYS (92); never done is\n"
    "overdue.\n"
    "\n"
    "--json prints the same facts as one JSON object; --metrics FILE also writes\n"
    "them as Prometheus gauges (node_exporter's textfile collector), atomically.\n"
    "\n"
    "A source that cannot be read is a problem: line (with --json or --metrics also\n"
    "on stderr, and counted in pgdrill_status_problems).\n"
    "\n"
    "Exit 0 when nothing is overdue, 1 when something is, 2 on a usage or\n"
    "configuration error.\n";

/* S3 when PGDRILL_BACKUP_URI is set: the client, the location and the audit log. */
static int
open_remote(struct status_opts *o, struct s3_uri *where, struct s3_client **s3,
            struct audit **audit, const struct cli_ctx *ctx, struct pd_err *err)
{
    const char *base = getenv("PGDRILL_BACKUP_URI");
    int rc;

    if (base == NULL || base[0] == '\0')
        return 0;
    if ((rc = s3_uri_parse(where, base, err)) != 0) {
        pd_err_prefix(err, "PGDRILL_BACKUP_URI: ");
        return rc;
    }
    if ((rc = s3_client_new_from_env(s3, err)) != 0 ||
        (rc = audit_open(audit, ctx->cfg.home, ctx->cfg.operator_name, err)) != 0)
        return rc;
    o->s3 = *s3;
    o->audit = *audit;
    o->bucket = where->bucket;
    o->prefix = where->key;
    return 0;
}

int
cli_cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
    struct status_opts o;
    struct status st;
    struct s3_uri where;
    struct s3_client *s3 = NULL;
    struct audit *audit = NULL;
    struct pd_err err;
    struct cli_signals saved;
    const char *metrics = NULL;
    char *text = NULL, *prefix = NULL;
    int json = 0, rc;

    memset(&o, 0, sizeof(o));
    memset(&st, 0, sizeof(st));
    memset(&where, 0, sizeof(where));
    pd_err_clear(&err);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(status_help, stdout);
            return 0;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--metrics") == 0 && i + 1 < argc)
            metrics = argv[++i];
        else if (strcmp(argv[i], "--metrics") == 0)
            return cli_usage_error("status", "--metrics needs a FILE");
        else
            return cli_usage_error("status", "unknown argument '%s'", argv[i]);
    }
    cli_signals_trap(&saved);
    if (status_limits_from_env(&o, &err) != 0 ||
        open_remote(&o, &where, &s3, &audit, ctx, &err) != 0)
        goto fail;
    if (o.prefix != NULL && o.prefix[0] != '\0' && o.prefix[strlen(o.prefix) - 1] != '/')
        o.prefix = prefix = pd_xasprintf("%s/", o.prefix);
    o.home = ctx->cfg.home;
    o.now = pd_time_wall();
    if (status_load(&st, &o, &err) != 0 && !cli_interrupted())
        goto fail;
    // the safe point: nothing written yet (the metrics file is written whole or not at all)
    if (cli_interrupted()) {
        rc = cli_interrupted_exit("pgdrill status");
        goto out;
    }
    if (metrics != NULL) {
        char *m = status_metrics(&st);

        int wrc = pd_write_atomic(metrics, m, strlen(m), 0644, &err);

        free(m);
        if (wrc != 0)
            goto fail;
    }
    text = json ? status_json(&st) : status_text(&st);
    if (json)
        printf("%s\n", text);
    else
        fputs(text, stdout);
    // from cron or a timer stdout goes to a file or nowhere: an unreadable
    // source (S3 down, expired keys) must still reach the one who reads errors
    if (json || metrics != NULL)
        for (size_t i = 0; i < st.n_problems; i++)
            fprintf(stderr, "pgdrill status: problem: %s\n", st.problems[i]);
    rc = status_exit_code(&st);
    goto out;
fail:
    rc = cli_interrupted() ? cli_interrupted_exit("pgdrill status") : cli_fail(&err);
out:
    cli_signals_restore(&saved);
    free(text);
    free(prefix);
    status_free(&st);
    audit_close(audit);
    s3_client_free(s3);
    s3_uri_free(&where);
    return rc;
}
