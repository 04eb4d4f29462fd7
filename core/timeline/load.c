/* timeline load: the history window from Neon and the dumps from S3. */
#include <stdlib.h>
#include <string.h>

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

static int
load_window(struct timeline *tl, struct pd_err *err)
{
    struct neon_client *nc = NULL;
    struct neon_project p = {0};
    double created = 0;
    int rc;

    rc = neon_client_new_from_env(&nc, err);
    if (rc != 0)
        goto out;
    rc = neon_project_get(nc, &p, err);
    if (rc != 0)
        goto out;
    if (p.created_at && pd_time_parse_rfc3339(&created, p.created_at, 0) != 0)
        created = 0;
    timeline_set_window(tl, p.history_retention_seconds, created);
out:
    neon_project_clear(&p);
    neon_client_free(nc);
    return rc;
}

static int
load_dumps(struct timeline *tl, struct pd_err *err)
{
    const char *uri_s = getenv("PGDRILL_BACKUP_URI");
    struct s3_uri uri = {0};
    struct s3_creds creds = {0};
    struct s3_client *sc = NULL;
    char *prefix = NULL;
    int rc;

    if (uri_s == NULL || !*uri_s)
        return PD_ERR_SET(err, PD_EUSAGE, "timeline: PGDRILL_BACKUP_URI is not set");
    rc = s3_uri_parse(&uri, uri_s, err);
    if (rc != 0)
        goto out;
    rc = s3_creds_load(&creds, NULL, err);
    if (rc != 0)
        goto out;
    rc = s3_client_new(&sc, &creds, NULL, err);
    if (rc != 0)
        goto out;
    // a prefix "weekly" lists "weekly/..." only, not "weekly-old/..."
    size_t kl = strlen(uri.key);
    prefix = kl == 0 || uri.key[kl - 1] == '/' ? pd_xstrdup(uri.key) : pd_xasprintf("%s/", uri.key);
    tl->bucket = pd_xstrdup(uri.bucket);
    tl->prefix = pd_xstrdup(prefix);
    rc = s3_client_list(sc, uri.bucket, prefix, NULL, 0, on_page, tl, err);
out:
    free(prefix);
    s3_client_free(sc);
    s3_creds_free(&creds);
    s3_uri_free(&uri);
    return rc;
}

int
timeline_load(struct timeline *tl, double now, struct pd_err *err)
{
    int rc;

    timeline_init(tl, now);
    rc = load_window(tl, err);
    if (rc == 0)
        rc = load_dumps(tl, err);
    if (rc != 0)
        timeline_clear(tl);
    return rc;
}
