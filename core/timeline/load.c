/* timeline load: the history window from Neon and the dumps from S3. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "neon/client.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "timeline/timeline.h"

static int
on_page(const struct s3_list_page *page, void *payload, struct pd_err *err)
{
    struct timeline *tl = payload;

    (void)err;
    for (size_t i = 0; i < page->n_objects; i++)
        timeline_add_object(tl, page->objects[i].key, page->objects[i].size);
    return 0;
}

/*
 * Record a request after it: its outcome is rc/err. An entry that cannot be
 * written fails the load with the audit log's error (PD_EIO), unless the
 * request had already failed: its error stands, as the backup's do.
 */
static int
record(struct audit *audit, const char *action, const char *target, const struct audit_arg *args,
       size_t n, int rc, struct pd_err *err)
{
    struct pd_err aerr;

    pd_err_clear(&aerr);
    if (audit_record(audit, NULL, action, target, args, n, rc ? err->msg : NULL, &aerr) != 0 &&
        rc == 0)
        rc = PD_ERR_SET(err, aerr.kind, "%s", aerr.msg);
    return rc;
}

static int
load_window(struct timeline *tl, struct audit *audit, struct pd_err *err)
{
    struct neon_client *nc = NULL;
    struct neon_project p = {0};
    double created = 0;
    char *target = NULL;
    int rc;

    rc = neon_client_new_from_env(&nc, err);
    if (rc != 0)
        goto out;
    target = neon_audit_target(getenv("NEON_API_HOST"), neon_client_project_id(nc));
    rc = neon_project_get(nc, &p, err);
    {
        struct audit_arg args[] = {{"history_retention_s", NULL, p.history_retention_seconds}};

        rc = record(audit, "neon.project-get", target, args, rc == 0 ? 1 : 0, rc, err);
    }
    if (rc != 0)
        goto out;
    if (p.created_at && pd_time_parse_rfc3339(&created, p.created_at, 0) != 0)
        created = 0;
    timeline_set_window(tl, p.history_retention_seconds, created);
out:
    free(target);
    neon_project_clear(&p);
    neon_client_free(nc);
    return rc;
}

static int
load_dumps(struct timeline *tl, struct audit *audit, struct pd_err *err)
{
    const char *uri_s = getenv("PGDRILL_BACKUP_URI");
    struct s3_uri uri = {0};
    struct s3_client *sc = NULL;
    char *prefix = NULL, *target = NULL;
    int rc;

    if (uri_s == NULL || !*uri_s)
        return PD_ERR_SET(err, PD_EUSAGE, "timeline: PGDRILL_BACKUP_URI is not set");
    rc = s3_uri_parse(&uri, uri_s, err);
    if (rc != 0)
        goto out;
    rc = s3_client_new_from_env(&sc, err);
    if (rc != 0)
        goto out;
    // the weekly class folder under the base, as verify and restore-from-s3 read it
    prefix = backup_class_prefix(uri.key, "weekly");
    tl->bucket = pd_xstrdup(uri.bucket);
    tl->prefix = pd_xstrdup(prefix);
    rc = s3_client_list(sc, uri.bucket, prefix, NULL, 0, on_page, tl, err);
    target = pd_xasprintf("s3://%s/%s", uri.bucket, prefix);
    {
        struct audit_arg args[] = {{"objects", NULL, (long long)(tl->n_dumps + tl->n_ignored)},
                                   {"dumps", NULL, (long long)tl->n_dumps}};

        rc = record(audit, "s3.list", target, args, rc == 0 ? 2 : 0, rc, err);
    }
out:
    free(target);
    free(prefix);
    s3_client_free(sc);
    s3_uri_free(&uri);
    return rc;
}

int
timeline_load(struct timeline *tl, double now, struct audit *audit, struct pd_err *err)
{
    int rc;

    timeline_init(tl, now);
    if (audit == NULL)
        return PD_ERR_SET(err, PD_EBUG, "timeline: no audit log");
    rc = load_window(tl, audit, err);
    if (rc == 0)
        rc = load_dumps(tl, audit, err);
    if (rc != 0)
        timeline_clear(tl);
    return rc;
}
