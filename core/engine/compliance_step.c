/*
 * The `compliance` action: the HIPAA/EVV checks that are not SQL, judged by
 * core/compliance and recorded as checks named "compliance.<check>", which
 * make up the report's compliance summary with the SQL ones.
 *
 *   check=backups-encrypted-at-rest [uri=s3://b/prefix [count=N]]
 *              every backup object this run has seen carries server-side
 *              encryption; with uri=, the newest N (default 10) objects
 *              under it are listed and HEADed first.
 *   check=tls-outside-loopback
 *              every service this run reached outside loopback used TLS
 *              (https, or a PostgreSQL session with SSL in use).
 *   check=retention-meets-7-years
 *              the retention configured for each backup class is at least
 *              2557 days; shorter is flagged: the step passes and the check
 *              is kept as a warning.
 * A failed check fails the step (use on-fail=continue to run the rest).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/backup.h"
#include "compliance/compliance.h"
#include "drill/drill.h"
#include "engine/engine.intern.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "runbook/runbook.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "verify/verify.h"

static void
head_failed_line(const char *text, void *payload)
{
    engine_output(payload, text, NULL); // a journal failure is kept in e->record_rc
}

/* List uri (newest first) and HEAD the newest count objects to learn their encryption. */
static int
look_at_backups(struct engine *e, const char *uri, const char *count_text, struct pd_err *err)
{
    struct s3_uri where;
    struct s3_client *c = NULL;
    struct verify_backups b;
    long count = COMPLIANCE_HEAD_MAX;
    int have_where = 0, rc;
    char line[512];

    memset(&b, 0, sizeof(b));
    if (count_text != NULL) {
        char *end;

        count = strtol(count_text, &end, 10);
        if (*end != '\0' || count < 1 || count > 1000)
            return PD_ERR_SET(err, PD_EINPUT, "compliance: bad count '%s' (1..1000)", count_text);
    }
    if ((rc = s3_uri_parse(&where, uri, err)) != 0)
        goto out;
    have_where = 1;
    if ((rc = s3_client_new_from_env(&c, err)) != 0)
        goto out;
    if ((rc = verify_list_backups(&b, c, where.bucket, where.key, err)) != 0)
        goto out;
    snprintf(line, sizeof(line), "%zu object%s under %s; checking the encryption of the newest %zu",
             b.n, b.n == 1 ? "" : "s", uri, b.n < (size_t)count ? b.n : (size_t)count);
    if ((rc = engine_output(e, line, err)) != 0)
        goto out;
    verify_head_backups(c, where.bucket, &b, (size_t)count, head_failed_line, e);
out:
    verify_backups_free(&b);
    s3_client_free(c);
    if (have_where)
        s3_uri_free(&where);
    return rc;
}

static int
judge_retention(struct compliance_result *out, struct pd_err *err)
{
    struct compliance_retention r[8];
    size_t n = 0;

    for (size_t i = 0; backup_classes[i] != NULL && n < sizeof(r) / sizeof(r[0]); i++) {
        int days, rc = backup_retention_days(&days, backup_classes[i], err);

        if (rc != 0)
            return rc;
        r[n++] = (struct compliance_retention){backup_classes[i], days};
    }
    compliance_judge_retention(out, r, n);
    return 0;
}

int
engine_run_compliance(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const char *check = runbook_step_attr(e->step, "check");
    char *uri = NULL, *count = NULL, *name = NULL, *line = NULL;
    struct compliance_result c;
    struct drill_event ev;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    if (check == NULL)
        check = "";
    if (strcmp(check, COMPLIANCE_ENCRYPTED) == 0) {
        const char *u = runbook_step_attr(e->step, "uri");
        const char *n = runbook_step_attr(e->step, "count");

        if (u != NULL && (rc = engine_expand(e, &uri, u, false, err)) != 0)
            goto out;
        if (n != NULL && (rc = engine_expand(e, &count, n, false, err)) != 0)
            goto out;
        if (uri != NULL && (rc = look_at_backups(e, uri, count, err)) != 0)
            goto out;
        compliance_judge_encryption(&c);
    } else if (strcmp(check, COMPLIANCE_TLS) == 0) {
        compliance_judge_tls(&c);
    } else if (strcmp(check, COMPLIANCE_RETENTION) == 0) {
        if ((rc = judge_retention(&c, err)) != 0)
            goto out;
    } else {
        rc = PD_ERR_SET(err, PD_EINPUT, "compliance: unknown check '%s' (expected one of: %s)",
                        check, COMPLIANCE_CHECKS);
        goto out;
    }
    name = pd_xasprintf("compliance.%s", c.name);
    memset(&ev, 0, sizeof(ev));
    ev.type = DRILL_EV_CHECK;
    ev.stage = e->si;
    ev.step = e->ti;
    ev.name = name;
    ev.expected = c.expected;
    ev.observed = c.detail;
    ev.passed = c.status == COMPLIANCE_PASSED;
    ev.flagged = c.status == COMPLIANCE_FLAGGED;
    if ((rc = engine_record(e, &ev, err)) != 0)
        goto out;
    line = pd_xasprintf("%s: %s", compliance_status_name(c.status), c.detail);
    if ((rc = engine_output(e, line, err)) != 0)
        goto out;
    res->summary = pd_redact(line);
    if (c.status == COMPLIANCE_FAILED) {
        res->exit_code = 1;
        rc = PD_ERR_SET(err, PD_ECHECK, "check %s: %s", name, c.detail);
    }
out:
    if (rc != 0 && res->summary == NULL)
        res->summary = pd_redact(err->msg);
    compliance_result_free(&c);
    free(uri);
    free(count);
    free(name);
    free(line);
    return rc;
}
