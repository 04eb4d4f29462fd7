/*
 * training incident hooks: what a kind does besides its SQL (incident.c's
 * table names them). Before the break, with the application held, a kind
 * may take a fresh backup; after it, it may make Neon's history unusable.
 *
 *   backup    the weekly backup of production into the sandbox's S3, the
 *             same pipeline as `pgdrill backup` (backup_run), so that no
 *             change of the application falls between it and the break
 *   outage    the sandbox Neon server answers 503 to every request that
 *             needs the project's history until a deadline: the file
 *             neon/outage in the sandbox's state, next to the training
 *             folder (the server reads it; no API route does)
 *   history   the project's history_retention_seconds shrunk through the
 *             Neon API (PATCH project), so that the moment before the
 *             break lies outside the window; the value before is kept in
 *             DIR/retention for training_neon_heal
 *
 * training_neon_heal undoes both at the start of every incident.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/backup.h"
#include "neon/client.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "pd_time.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "training.h"
#include "training.intern.h"

/* The outage's control file: the Neon server's state is $SB/neon, DIR is $SB/training. */
#define OUTAGE_FILE "../neon/outage"

/* A client of the sandbox's Neon server (sandbox.sh sets NEON_API_* to it, never the caller's). */
static int
hook_neon(struct neon_client **out, struct pd_err *err)
{
    struct neon_config cfg = {0};

    *out = NULL;
    cfg.host = getenv("NEON_API_HOST");
    cfg.api_key = getenv("NEON_API_KEY");
    cfg.project_id = getenv("NEON_PROJECT_ID");
    cfg.max_attempts = 3;
    cfg.timeout_ms = 10000;
    if (cfg.host == NULL || cfg.api_key == NULL || cfg.project_id == NULL)
        return PD_ERR_SET(err, PD_ESERVICE,
                          "the sandbox's Neon server is not running (pgdrill sandbox up)");
    return neon_client_new(out, &cfg, err);
}

int
training_hook_backup(struct training_hook *h, struct pd_err *err)
{
    const char *base = getenv("PGDRILL_BACKUP_URI"), *cls = NULL;
    char *base_uri = NULL, *prefix = NULL, *key = NULL, *url = NULL;
    char name[BACKUP_NAME_LEN];
    struct s3_uri uri = {0};
    struct s3_client *c = NULL;
    struct backup_result res;
    int rc;

    memset(&res, 0, sizeof(res));
    if (base == NULL || base[0] == '\0')
        return PD_ERR_SET(err, PD_ESERVICE,
                          "a fresh backup: the sandbox has no local S3 (PGDRILL_BACKUP_URI)");
    base_uri = backup_base_uri(base, &cls);
    rc = s3_uri_parse(&uri, base_uri, err);
    if (rc == 0)
        rc = training_url(&url, h->dir, err);
    if (rc == 0)
        rc = s3_client_new_from_env(&c, err);
    if (rc == 0) {
        struct backup_options bo = {
            .database_url = url,
            .pg_dump = getenv("PGDRILL_PG_DUMP"),
            .min_size = 1, // the sandbox's data is small on purpose
        };

        prefix = backup_class_prefix(uri.key != NULL ? uri.key : "", "weekly");
        backup_name(name, pd_time_wall());
        key = pd_xasprintf("%s%s", prefix, name);
        bo.bucket = uri.bucket;
        bo.key = key;
        rc = backup_run(&res, c, &bo, err);
    }
    if (rc == 0)
        rc = pd_buf_appendf(h->truth, err, "backup s3://%s/%s\n", uri.bucket, key);
    else
        pd_err_prefix(err, "a fresh backup: ");
    s3_client_free(c);
    s3_uri_free(&uri);
    free(base_uri);
    free(prefix);
    free(key);
    free(url);
    return rc;
}

int
training_hook_outage(struct training_hook *h, struct pd_err *err)
{
    const char *v = getenv("PGDRILL_SANDBOX_OUTAGE_SECONDS");
    char *path = training_path(h->dir, OUTAGE_FILE), *text = NULL, *end = NULL;
    double secs = 3600, until;
    int rc;

    if (v != NULL && v[0] != '\0') {
        secs = strtod(v, &end);
        if (*end != '\0' || !(secs >= 1 && secs <= 604800)) {
            rc = PD_ERR_SET(err, PD_EINPUT,
                            "PGDRILL_SANDBOX_OUTAGE_SECONDS wants seconds from 1 to 604800, not "
                            "'%s'",
                            v);
            goto out;
        }
    }
    until = pd_time_wall() + secs;
    text = pd_xasprintf("%.3f\n", until);
    rc = pd_write_atomic(path, text, strlen(text), 0600, err);
    if (rc == 0)
        rc = pd_buf_appendf(h->truth, err, "outage_until %.3f\n", until);
    else
        pd_err_prefix(err, "the Neon outage: ");
out:
    free(text);
    free(path);
    return rc;
}

int
training_hook_history(struct training_hook *h, struct pd_err *err)
{
    struct neon_client *c = NULL;
    struct neon_project p = {0}, after = {0};
    char *keep = training_path(h->dir, "retention");
    long secs = (long)(pd_time_wall() - h->started);
    int rc;

    if (secs < 1)
        secs = 1;
    rc = hook_neon(&c, err);
    if (rc == 0)
        rc = neon_project_get(c, &p, err);
    // the value to go back to: the first one, when incidents follow each other
    if (rc == 0 && access(keep, F_OK) != 0) {
        char *text = pd_xasprintf("%ld\n", p.history_retention_seconds);

        rc = pd_write_atomic(keep, text, strlen(text), 0600, err);
        free(text);
    }
    if (rc == 0)
        rc = neon_project_set_history_retention(c, secs, &after, err);
    if (rc == 0)
        rc = pd_buf_appendf(h->truth, err, "history_retention %ld\n",
                            after.history_retention_seconds);
    else
        pd_err_prefix(err, "shrinking Neon's history: ");
    neon_project_clear(&p);
    neon_project_clear(&after);
    neon_client_free(c);
    free(keep);
    return rc;
}

void
training_neon_heal(const char *dir)
{
    char *outage = training_path(dir, OUTAGE_FILE), *keep = training_path(dir, "retention");
    char *text = NULL;
    size_t len = 0;
    struct neon_client *c = NULL;
    struct neon_project p = {0};
    struct pd_err err;
    long secs;

    pd_err_clear(&err);
    (void)unlink(outage);
    if (access(keep, F_OK) != 0)
        goto out;
    if (pd_read_file(&text, &len, keep, 64, &err) != 0)
        goto fail;
    secs = strtol(text, NULL, 10);
    if (hook_neon(&c, &err) != 0 || neon_project_set_history_retention(c, secs, &p, &err) != 0)
        goto fail;
    (void)unlink(keep);
    goto out;
fail:
    pd_log(PD_LOG_WARN, "incident: Neon's history retention was not given back: %s", err.msg);
out:
    neon_project_clear(&p);
    neon_client_free(c);
    free(text);
    free(keep);
    free(outage);
}
