/* pgdrill verify: the monthly verification checklist, headless. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli.h"
#include "neon/client.h"
#include "notify/notify.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "status/status.h"
#include "verify/verify.h"

static const char verify_help[] =
    "usage: pgdrill verify [--uri s3://BUCKET/PREFIX/] [--count N] [--max-age DAYS]\n"
    "                      [--list-only] [--skip-neon] [--json] [--notify URL]\n"
    "\n"
    "The monthly verification checklist:\n"
    "  neon.default-branch  the Neon project's default branch is there and ready; the\n"
    "                       history (PITR) window is reported\n"
    "  neon.history-window  the history window covers PGDRILL_VERIFY_HISTORY_DAYS\n"
    "                       (default 7)\n"
    "  s3.backups           the last N backups (default 10) with sizes and ages\n"
    "  s3.newest-age        the newest backup is at most DAYS old (default 8)\n"
    "  s3.newest-size       the newest is not below PGDRILL_VERIFY_SHRINK_RATIO (default\n"
    "                       0.5; 0: not checked) x the median size of the four before it\n"
    "  s3.newest-stream     the newest backup streamed once through sha256 and gunzip,\n"
    "                       no temporary file: gzip intact, sha256 equal to its\n"
    "                       x-amz-meta-sha256 (missing metadata fails too)\n"
    "  compliance.backups-encrypted-at-rest\n"
    "                       the listed backups (HEAD each) carry server-side encryption\n"
    "  compliance.tls-outside-loopback\n"
    "                       every service reached outside loopback used TLS\n"
    "  compliance.retention-meets-7-years\n"
    "                       each backup class is kept >= 2557 days; shorter is flagged,\n"
    "                       a warning that does not change the exit code\n"
    "A failed compliance check makes the exit code 1.\n"
    "\n"
    "The backups are under --uri, default $PGDRILL_BACKUP_URI/weekly/. Neon is\n"
    "reached with NEON_API_KEY, NEON_PROJECT_ID (and NEON_API_HOST), S3 with the\n"
    "AWS credential chain (AWS_ENDPOINT_URL_S3 for another endpoint).\n"
    "\n"
    "--list-only skips the streamed check, --skip-neon the Neon one (reported as\n"
    "skipped).\n"
    "\n"
    "When the verification does not pass, a notice naming the checks that failed\n"
    "is posted to the Slack webhook --notify URL (else SLACK_WEBHOOK_URL); a\n"
    "passing run posts nothing. The run is recorded for `pgdrill status` in\n"
    "$PGDRILL_HOME/status/verify.json.\n"
    "\n"
    "Every request to Neon and S3 is recorded in $PGDRILL_HOME/audit.log. When the\n"
    "log cannot be opened nothing is sent (exit 1); when an entry cannot be\n"
    "written the check \"audit\" is an error and nothing more is sent.\n"
    "\n"
    "Exit 0 when every check passed, 1 when a check failed, 3 when a service\n"
    "failed (a check could not be made) or an audit entry could not be written,\n"
    "2 on a usage or configuration error, 130 interrupted (SIGINT, SIGTERM).\n";

static void
print_line(const char *line, void *payload)
{
    (void)payload;
    printf("%s\n", line);
    (void)fflush(stdout); // show each check as it ends; nothing to do if it fails
}

static char *
default_uri(void)
{
    const char *base = getenv("PGDRILL_BACKUP_URI");
    size_t n;

    if (base == NULL || base[0] == '\0')
        return NULL;
    n = strlen(base);
    return pd_xasprintf("%.*s/weekly/", (int)(base[n - 1] == '/' ? n - 1 : n), base);
}

static int
stop_requested(void *payload)
{
    (void)payload;
    return cli_interrupted();
}

/* verify_run with SIGINT and SIGTERM asking it to stop: PD_EINTR then. */
static int
run_trapped(struct verify_report *r, struct verify_opts *o, struct s3_client *s3,
            struct neon_client *neon, const char *neon_problem, struct pd_err *err)
{
    struct cli_signals saved;
    int rc;

    o->cancelled = stop_requested;
    cli_signals_trap(&saved);
    rc = verify_run(r, o, s3, neon, neon_problem, err);
    cli_signals_restore(&saved);
    return rc == 0 && cli_interrupted() ? PD_EINTR : rc;
}

static void
print_report(const struct verify_report *r, const char *uri, double now, int code, int json)
{
    char *text = json ? verify_report_json(r, uri, now, code) : verify_report_text(r, code);

    if (json)
        printf("%s\n", text);
    else
        fputs(text, stdout);
    free(text);
}

/* The record `pgdrill status` reads: the verdict and the checks that did not pass. */
static char *
record_run(const struct cli_ctx *ctx, const struct verify_report *r, int code, double started)
{
    static const char *const verdicts[] = {"passed", "failed", "failed", "error"};
    struct pd_buf b;
    struct pd_err err;
    char *detail;

    pd_buf_init(&b, 4096);
    for (size_t i = 0; i < r->n_checks; i++)
        if (r->checks[i].status == VERIFY_FAIL || r->checks[i].status == VERIFY_ERROR)
            (void)pd_buf_appendf(&b, NULL, "%s%s", b.len ? ", " : "(", r->checks[i].name);
    for (size_t i = 0; i < r->n_compliance; i++)
        if (r->compliance[i].status == COMPLIANCE_FAILED)
            (void)pd_buf_appendf(&b, NULL, "%s%s%s", b.len ? ", " : "(", VERIFY_COMPLIANCE_PREFIX,
                                 r->compliance[i].name);
    if (b.len)
        (void)pd_buf_appendf(&b, NULL, ")");
    detail = pd_buf_steal(&b);
    pd_err_clear(&err);
    if (status_record_verify(ctx->cfg.home, pd_time_wall(), verdicts[code > 3 ? 3 : code],
                             detail[0] ? detail : NULL,
                             code == 0 && r->backups.n ? r->backups.items[0].key : NULL,
                             pd_time_wall() - started, &err) != 0)
        fprintf(stderr, "pgdrill verify: the status record was not written: %s\n", err.msg);
    return detail;
}

/* The Slack notice of a verification that did not pass (built by core/notify). */
static void
send_notice(const char *webhook, const struct verify_report *r, const char *failed, const char *uri,
            const char *home)
{
    struct pd_err err = {0};

    if (webhook != NULL)
        cli_notice_result("pgdrill verify",
                          notify_verify_failure(webhook, r, failed, uri, home, &err), &err, false);
}

int
cli_cmd_verify(struct cli_ctx *ctx, int argc, char **argv)
{
    struct verify_opts o;
    struct verify_report r;
    struct s3_client *s3 = NULL;
    struct neon_client *neon = NULL;
    struct audit *audit = NULL;
    struct pd_err err, nerr;
    char *uri = NULL, *detail;
    struct s3_uri where;
    const char *notify = NULL;
    int json = 0, skip_neon = 0, have_where = 0, rc;

    memset(&o, 0, sizeof(o));
    memset(&r, 0, sizeof(r));
    memset(&where, 0, sizeof(where));
    pd_err_clear(&err);
    pd_err_clear(&nerr);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(verify_help, stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--skip-neon") == 0) {
            skip_neon = 1;
        } else if (strcmp(a, "--list-only") == 0) {
            o.skip_stream = 1;
        } else if (strcmp(a, "--notify") == 0 && i + 1 < argc) {
            notify = argv[++i];
            pd_redact_register(notify);
        } else if ((strcmp(a, "--uri") == 0 || strcmp(a, "--count") == 0 ||
                    strcmp(a, "--max-age") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            char *end;

            if (strcmp(a, "--uri") == 0) {
                free(uri);
                uri = pd_xstrdup(v);
            } else if (strcmp(a, "--count") == 0) {
                long n = strtol(v, &end, 10);

                if (*end != '\0' || n < 1 || n > 1000) {
                    free(uri);
                    return cli_usage_error("verify", "--count wants 1..1000, not '%s'", v);
                }
                o.count = (int)n;
            } else {
                double d = strtod(v, &end);

                if (end == v || (*end != '\0' && strcmp(end, "d") != 0) || d <= 0) {
                    free(uri);
                    return cli_usage_error("verify", "--max-age wants days (e.g. 8), not '%s'", v);
                }
                o.max_age_s = d * 86400.0;
            }
        } else if (i + 1 == argc && (strcmp(a, "--notify") == 0 || strcmp(a, "--uri") == 0 ||
                                     strcmp(a, "--count") == 0 || strcmp(a, "--max-age") == 0)) {
            free(uri);
            return cli_usage_error("verify", "%s needs a value", a);
        } else {
            free(uri);
            return cli_usage_error("verify", "unknown argument '%s'", a);
        }
    }
    if (uri == NULL && (uri = default_uri()) == NULL)
        return cli_usage_error("verify", "no backup location: set PGDRILL_BACKUP_URI or pass "
                                         "--uri s3://BUCKET/PREFIX/");
    rc = s3_uri_parse(&where, uri, &err);
    if (rc != 0)
        goto fail;
    have_where = 1;
    rc = s3_client_new_from_env(&s3, &err);
    if (rc != 0)
        goto fail;
    // before anything is sent: a request that cannot be audited is not made
    rc = audit_open(&audit, ctx->cfg.home, ctx->cfg.operator_name, &err);
    if (rc != 0)
        goto fail;
    // without Neon settings the other checks still run; the Neon one reports why
    if (!skip_neon && neon_client_new_from_env(&neon, &nerr) != 0)
        neon = NULL;
    rc = verify_opts_from_env(&o, &err);
    if (rc != 0)
        goto fail;
    o.skip_neon = skip_neon;
    o.bucket = where.bucket;
    o.prefix = where.key;
    o.now = pd_time_wall();
    o.audit = audit;
    if (!json)
        o.progress = print_line;
    rc = run_trapped(&r, &o, s3, neon, nerr.msg[0] ? nerr.msg : NULL, &err);
    if (rc == PD_EINTR) {
        rc = cli_interrupted_exit("pgdrill verify");
        goto out;
    }
    if (rc != 0)
        goto fail;
    rc = verify_exit_code(&r);
    detail = record_run(ctx, &r, rc, o.now);
    if (rc != 0)
        send_notice(notify_webhook(notify), &r, detail, uri, ctx->cfg.home);
    free(detail);
    print_report(&r, uri, o.now, rc, json);
    goto out;
fail:
    rc = cli_fail(&err);
out:
    verify_report_free(&r);
    audit_close(audit);
    neon_client_free(neon);
    s3_client_free(s3);
    if (have_where)
        s3_uri_free(&where);
    free(uri);
    return rc;
}
