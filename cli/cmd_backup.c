/* pgdrill backup: pg_dump | gzip | S3 with the seed's checks, retention and notice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "cli.h"
#include "gz/gz.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "pd_time.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "status/status.h"

static const char backup_help[] =
    "usage: pgdrill backup [--class weekly|pre-migration|pre-release] [--keep-local FILE]\n"
    "                      [--min-size BYTES] [--retention-days N] [--level N] [--dry-run]\n"
    "                      [--json]\n"
    "\n"
    "Dump DATABASE_URL with pg_dump (plain format), compress it on every core\n"
    "(libdeflate, level 6: a gzip member per MiB, which gunzip reads as one file)\n"
    "and stream it into a multipart upload to\n"
    "  $PGDRILL_BACKUP_URI/<class>/care-commons-backup-YYYYMMDD-HHMMSS.sql.gz  (UTC)\n"
    "with SSE AES256 and storage class STANDARD_IA; no local file unless --keep-local.\n"
    "PGDRILL_BACKUP_URI is the location that holds the class folders (s3://bucket\n"
    "or s3://bucket/prefix); a value ending in a class folder (s3://b/weekly) is\n"
    "taken as its parent, with a warning. A pg_dump failure or a plain dump under\n"
    "--min-size (default 1048576) aborts the upload: nothing at the final key.\n"
    "Afterwards the object's sha256 and plain size are stored as metadata and a HEAD\n"
    "checks size, encryption, checksum.\n"
    "Then backups of the class older than --retention-days (default: the class's\n"
    "PGDRILL_RETENTION_DAYS_<CLASS>, else PGDRILL_RETENTION_DAYS, else 90; age from the\n"
    "timestamp in the key name) are deleted; never the one just made.\n"
    "\n"
    "  --class C          weekly (default), pre-migration or pre-release\n"
    "  --keep-local FILE  also keep the .sql.gz at FILE\n"
    "  --min-size BYTES   smallest acceptable plain dump (default 1048576)\n"
    "  --retention-days N delete backups of the class older than N days (default above)\n"
    "  --level N          compression level 1 (fastest) to 12 (smallest); default\n"
    "                     PGDRILL_COMPRESSION_LEVEL, else 6 (9 is about gzip -9)\n"
    "  --dry-run          change nothing: print the key and what retention would delete\n"
    "  --json             print a summary object on stdout\n"
    "\n"
    "Environment: DATABASE_URL, PGDRILL_BACKUP_URI, AWS_* (credentials, region,\n"
    "AWS_ENDPOINT_URL_S3), SLACK_WEBHOOK_URL (failure notice), PGDRILL_PG_DUMP,\n"
    "PGDRILL_COMPRESSION_LEVEL.\n"
    "Exit: 0 ok, 1 pg_dump failed, dump too small or check failed, 2 usage,\n"
    "3 S3 or database service failure, 130 interrupted.\n";

struct progress_state {
    int tty;
    int shown;
};

static int
show_progress(const struct backup_progress *p, void *payload)
{
    struct progress_state *ps = payload;
    char plain[32], comp[32], rate[32], el[32];

    if (ps->tty) {
        backup_format_bytes(plain, sizeof(plain), (double)p->plain_bytes);
        backup_format_bytes(comp, sizeof(comp), (double)p->compressed_bytes);
        backup_format_bytes(rate, sizeof(rate),
                            p->elapsed_s > 0 ? (double)p->plain_bytes / p->elapsed_s : 0);
        pd_time_human(el, sizeof(el), p->elapsed_s);
        fprintf(stderr, "\r\033[Kdumped %s  gzip %s  parts %d  %s/s  %s", plain, comp, p->parts,
                rate, el);
        (void)fflush(stderr); // progress only: a lost update costs nothing
        ps->shown = 1;
    }
    return cli_interrupted();
}

/* What the command line asked for. */
struct backup_flags {
    const char *cls, *keep_local;
    uint64_t min_size, days;
    int days_given, dry_run, json;
    int level; /* 0: the configured one */
};

/* Parse argv into *f: -1 to go on, else the exit code (help printed, or a usage error). */
static int
parse_flags(struct backup_flags *f, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(backup_help, stdout);
            return 0;
        }
        if (strcmp(a, "--dry-run") == 0) {
            f->dry_run = 1;
        } else if (strcmp(a, "--json") == 0) {
            f->json = 1;
        } else if (strcmp(a, "--class") == 0 || strcmp(a, "--keep-local") == 0 ||
                   strcmp(a, "--min-size") == 0 || strcmp(a, "--retention-days") == 0 ||
                   strcmp(a, "--level") == 0) {
            struct pd_err lerr = {0};

            if (v == NULL)
                return cli_usage_error("backup", "%s needs a value", a);
            i++;
            if (strcmp(a, "--level") == 0) {
                if (gz_parse_level(&f->level, v, "--level", &lerr) != 0)
                    return cli_usage_error("backup", "%s", lerr.msg);
            } else if (strcmp(a, "--class") == 0) {
                if (!backup_class_valid(v))
                    return cli_usage_error(
                        "backup", "unknown class '%s' (weekly, pre-migration or pre-release)", v);
                f->cls = v;
            } else if (strcmp(a, "--keep-local") == 0) {
                f->keep_local = v;
            } else if (strcmp(a, "--min-size") == 0) {
                if (pd_parse_u64(&f->min_size, v, "--min-size", NULL) != 0)
                    return cli_usage_error("backup", "--min-size wants a number of bytes, not '%s'",
                                           v);
            } else if (pd_parse_u64(&f->days, v, "--retention-days", NULL) != 0 || f->days < 1 ||
                       f->days > 36500) {
                return cli_usage_error(
                    "backup", "--retention-days wants a number of days (1-36500), not '%s'", v);
            } else {
                f->days_given = 1;
            }
        } else {
            return cli_usage_error("backup", "unknown argument '%s'", a);
        }
    }
    return -1;
}

/*
 * Abort what a killed backup left behind (its parts are stored and billed
 * until aborted), then run the backup with Ctrl-C turned into an interrupt.
 * *stage says which of the two failed.
 */
static int
run_backup(struct backup_result *res, struct s3_client *client, const struct backup_options *tmpl,
           const char **stage, struct pd_err *err)
{
    struct backup_options bo = *tmpl;
    struct progress_state ps = {0};
    struct cli_signals saved;
    int n_aborted = 0, rc;

    if ((rc = backup_abort_leftovers(client, bo.upload_notes, bo.audit, NULL, &n_aborted, err)) !=
        0) {
        *stage = "setup";
        return rc;
    }
    bo.progress = show_progress;
    bo.payload = &ps;
    ps.tty = isatty(STDERR_FILENO);
    cli_signals_trap(&saved);
    rc = backup_run(res, client, &bo, err);
    cli_signals_restore(&saved);
    if (ps.shown)
        fputs("\r\033[K", stderr);
    return rc;
}

/* The failure on stderr, and the Slack notice when one is configured. */
static void
report_failure(const char *stage, const struct pd_err *err, const char *slack, int dry_run)
{
    char *msg = pd_redact(err->msg);
    struct pd_err serr;

    fprintf(stderr, "pgdrill backup: %s failed: %s\n", stage, msg);
    free(msg);
    if (slack == NULL || dry_run)
        return;
    pd_err_clear(&serr);
    if (backup_notify_slack(slack, &serr) == 0) {
        fprintf(stderr, "pgdrill backup: failure notice sent to Slack\n");
    } else {
        char *smsg = pd_redact(serr.msg);

        fprintf(stderr, "pgdrill backup: the Slack failure notice was not sent: %s\n", smsg);
        free(smsg);
    }
}

/* The settings from the environment; the secrets among them are registered for redaction. */
static void
read_env(const char **db_url, const char **base_uri, const char **slack)
{
    *db_url = getenv("DATABASE_URL");
    *base_uri = getenv("PGDRILL_BACKUP_URI");
    *slack = getenv("SLACK_WEBHOOK_URL");
    if (*slack != NULL && (*slack)[0] == '\0')
        *slack = NULL;
    if (*slack != NULL)
        pd_redact_register(*slack);
    if (*db_url != NULL)
        pd_redact_register_uri(*db_url);
}

/* The record `pgdrill status` reads when S3 cannot be listed. */
static void
record_run(const struct cli_ctx *ctx, const char *key, const struct backup_result *res, int passed)
{
    struct pd_err err;

    pd_err_clear(&err);
    // backup_run checks what landed (HEAD: size and sha256) before it returns 0
    if (status_record_backup(ctx->cfg.home, pd_time_wall(), passed ? "passed" : "failed", key,
                             res->compressed_bytes, passed && res->completed, res->duration_s,
                             &err) != 0)
        fprintf(stderr, "pgdrill backup: the status record was not written: %s\n", err.msg);
}

/*
 * The end of a run, success or not: the summary on stdout (the JSON object
 * with --json, else the lines for people), the failure on stderr and Slack,
 * and the record `pgdrill status` reads.
 */
static void
finish_run(const struct cli_ctx *ctx, const struct backup_summary *sum,
           const struct s3_client *client, const char *slack, int json)
{
    char creds_desc[160] = "";
    struct backup_summary s = *sum;
    char *text;

    if (client != NULL) {
        s3_client_describe_creds(client, creds_desc, sizeof(creds_desc));
        s.credentials = creds_desc;
    }
    text = json ? backup_summary_json(&s) : backup_summary_text(&s);
    if (json)
        puts(text);
    else
        fputs(text, stdout);
    free(text);
    if (sum->failure != NULL)
        report_failure(sum->stage, sum->failure, slack, sum->dry_run);
    if (!sum->dry_run && sum->key != NULL)
        record_run(ctx, sum->key, sum->res, sum->failure == NULL);
}

int
cli_cmd_backup(struct cli_ctx *ctx, int argc, char **argv)
{
    struct backup_flags fl = {.cls = "weekly",
                              .min_size = BACKUP_MIN_SIZE_DEFAULT,
                              .days = BACKUP_RETENTION_DAYS_DEFAULT};
    int rc = 0, exit_code = 0;
    const char *db_url, *base_uri, *slack, *stage = "backup";
    struct s3_uri uri = {0};
    struct s3_client *client = NULL;
    struct audit *audit = NULL;
    struct backup_result res;
    struct backup_expired *expired = NULL;
    size_t n_expired = 0;
    struct pd_err err;
    char name[BACKUP_NAME_LEN];
    char *prefix = NULL, *key = NULL, *notes = NULL;
    double now = pd_time_wall(), retention_s = 0;

    memset(&res, 0, sizeof(res));
    pd_err_clear(&err);
    if ((exit_code = parse_flags(&fl, argc, argv)) >= 0)
        return exit_code;
    exit_code = 0;
    if (!fl.days_given) {
        int d;

        // the configured retention of the class, which the compliance check judges too
        if (backup_retention_days(&d, fl.cls, &err) != 0)
            return cli_fail(&err);
        fl.days = (uint64_t)d;
    }
    if (fl.level == 0 && backup_level(&fl.level, &err) != 0)
        return cli_fail(&err);
    read_env(&db_url, &base_uri, &slack);
    if (base_uri == NULL || base_uri[0] == '\0')
        return cli_usage_error("backup",
                               "PGDRILL_BACKUP_URI is not set (e.g. s3://care-commons-backups)");
    if (!fl.dry_run && (db_url == NULL || db_url[0] == '\0'))
        return cli_usage_error("backup", "DATABASE_URL is not set");
    if (s3_uri_parse(&uri, base_uri, &err) != 0) {
        pd_err_prefix(&err, "PGDRILL_BACKUP_URI: ");
        return cli_fail(&err);
    }
    prefix = backup_class_prefix(uri.key, fl.cls);
    backup_name(name, now);
    key = pd_xasprintf("%s%s", prefix, name);

    if ((rc = s3_client_new_from_env(&client, &err)) != 0 ||
        (rc = audit_open(&audit, ctx->cfg.home, ctx->cfg.operator_name, &err)) != 0) {
        stage = "setup";
        goto out;
    }

    if (!fl.dry_run) {
        struct backup_options bo = {
            .database_url = db_url,
            .pg_dump = getenv("PGDRILL_PG_DUMP"),
            .bucket = uri.bucket,
            .key = key,
            .min_size = fl.min_size ? fl.min_size : 1,
            .keep_local = fl.keep_local,
            .level = fl.level,
            .audit = audit,
            .upload_notes = notes = pd_xasprintf("%s/uploads", ctx->cfg.home),
        };

        if ((rc = run_backup(&res, client, &bo, &stage, &err)) != 0)
            goto out;
    }
    stage = "retention";
    {
        struct backup_retention_options ro = {
            .bucket = uri.bucket,
            .prefix = prefix,
            .retention_days = (int)fl.days,
            .now = now,
            .keep_key = key,
            .dry_run = fl.dry_run,
            .audit = audit,
        };
        double t_ret = pd_time_mono();

        rc = backup_retention(&expired, &n_expired, client, &ro, &err);
        retention_s = pd_time_mono() - t_ret;
    }

out:
    if (rc != 0)
        exit_code = pd_err_exit_code(err.kind);
    {
        struct backup_summary sum = {
            .bucket = uri.bucket,
            .key = key,
            .cls = fl.cls,
            .prefix = prefix,
            .dry_run = fl.dry_run,
            .retention_days = (int)fl.days,
            .res = &res,
            .expired = expired,
            .n_expired = n_expired,
            .retention_s = retention_s,
            .failure = rc != 0 ? &err : NULL,
            .stage = stage,
        };

        finish_run(ctx, &sum, client, slack, fl.json);
    }
    backup_expired_free(expired, n_expired);
    audit_close(audit);
    s3_client_free(client);
    s3_uri_free(&uri);
    free(notes);
    free(prefix);
    free(key);
    return exit_code;
}
