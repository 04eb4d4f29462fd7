/* backup/summary: what one `pgdrill backup` run did, as JSON and as text. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "backup/backup.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"

void
backup_format_bytes(char *buf, size_t size, double b)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;

    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, size, u ? "%.1f %s" : "%.0f %s", b, units[u]);
}

static void
add_phases(cJSON *o, const struct backup_summary *s)
{
    const struct backup_result *res = s->res;
    cJSON *ph = cJSON_AddObjectToObject(o, "phases");

    cJSON_AddNumberToObject(ph, "dump_s", res->phases.dump_s);
    cJSON_AddNumberToObject(ph, "flush_s", res->phases.flush_s);
    cJSON_AddNumberToObject(ph, "drain_s", res->phases.drain_s);
    cJSON_AddNumberToObject(ph, "complete_s", res->phases.complete_s);
    cJSON_AddNumberToObject(ph, "metadata_s", res->phases.metadata_s);
    cJSON_AddNumberToObject(ph, "head_s", res->phases.head_s);
    cJSON_AddNumberToObject(ph, "retention_s", s->retention_s);
}

char *
backup_summary_json(const struct backup_summary *s)
{
    const struct backup_result *res = s->res;
    cJSON *o = cJSON_CreateObject(), *del = cJSON_CreateArray();
    char *uri_s = pd_xasprintf("s3://%s/%s", s->bucket, s->key);
    char *text;

    cJSON_AddStringToObject(o, "key", s->key);
    cJSON_AddStringToObject(o, "uri", uri_s);
    cJSON_AddStringToObject(o, "class", s->cls);
    cJSON_AddNumberToObject(o, "plain_bytes", (double)res->plain_bytes);
    cJSON_AddNumberToObject(o, "compressed_bytes", (double)res->compressed_bytes);
    if (res->completed)
        cJSON_AddStringToObject(o, "sha256", res->sha256);
    else
        cJSON_AddNullToObject(o, "sha256");
    cJSON_AddNumberToObject(o, "parts", res->parts);
    if (res->compressor[0] != '\0') {
        cJSON_AddStringToObject(o, "compressor", res->compressor);
        cJSON_AddNumberToObject(o, "level", res->level);
    } else {
        cJSON_AddNullToObject(o, "compressor");
        cJSON_AddNullToObject(o, "level");
    }
    cJSON_AddNumberToObject(o, "duration_s", res->duration_s);
    add_phases(o, s);
    for (size_t i = 0; i < s->n_expired; i++)
        if (s->expired[i].deleted || s->dry_run)
            cJSON_AddItemToArray(del, cJSON_CreateString(s->expired[i].key));
    cJSON_AddItemToObject(o, s->dry_run ? "would_delete" : "deleted", del);
    cJSON_AddBoolToObject(o, "dry_run", s->dry_run);
    cJSON_AddStringToObject(o, "outcome", s->failure == NULL ? "ok" : "failed");
    if (s->credentials != NULL)
        cJSON_AddStringToObject(o, "credentials", s->credentials);
    if (s->failure != NULL) {
        char *msg = pd_redact(s->failure->msg);

        cJSON_AddStringToObject(o, "stage", s->stage);
        cJSON_AddStringToObject(o, "error", msg);
        free(msg);
    }
    text = cJSON_Print(o);
    free(uri_s);
    cJSON_Delete(o);
    return text ? text : pd_xstrdup("null");
}

char *
backup_summary_text(const struct backup_summary *s)
{
    const struct backup_result *res = s->res;
    struct pd_buf b;

    pd_buf_init(&b, 0);
    // appends cannot fail below the default cap: a summary is a few lines per backup
    if (s->dry_run && s->failure == NULL) {
        pd_buf_appendf(&b, NULL, "dry run: would write s3://%s/%s\n", s->bucket, s->key);
        pd_buf_appendf(&b, NULL,
                       "dry run: retention %d days under s3://%s/%s: %zu backup%s would be "
                       "deleted\n",
                       s->retention_days, s->bucket, s->prefix, s->n_expired,
                       s->n_expired == 1 ? "" : "s");
        for (size_t i = 0; i < s->n_expired; i++)
            pd_buf_appendf(&b, NULL, "would delete s3://%s/%s (%.0f days old)\n", s->bucket,
                           s->expired[i].key, s->expired[i].age_days);
    } else if (!s->dry_run && (s->failure == NULL || res->completed)) {
        char plain[32], comp[32], el[32];

        backup_format_bytes(plain, sizeof(plain), (double)res->plain_bytes);
        backup_format_bytes(comp, sizeof(comp), (double)res->compressed_bytes);
        pd_time_human(el, sizeof(el), res->duration_s);
        // a backup that failed after its upload is not ok, whatever the object looks like
        if (s->failure == NULL)
            pd_buf_appendf(&b, NULL, "backup ok: s3://%s/%s\n", s->bucket, s->key);
        else
            pd_buf_appendf(&b, NULL, "backup FAILED at %s after the upload: s3://%s/%s\n", s->stage,
                           s->bucket, s->key);
        // parts counts a multipart upload's parts; 0 is one plain PUT, not "0 parts"
        if (res->parts > 0)
            pd_buf_appendf(&b, NULL,
                           "  dump %s (%" PRIu64 " bytes), gzip %s (%" PRIu64
                           " bytes, multipart upload of %d part%s) in %s\n",
                           plain, res->plain_bytes, comp, res->compressed_bytes, res->parts,
                           res->parts == 1 ? "" : "s", el);
        else
            pd_buf_appendf(&b, NULL,
                           "  dump %s (%" PRIu64 " bytes), gzip %s (%" PRIu64
                           " bytes, one PUT) in %s\n",
                           plain, res->plain_bytes, comp, res->compressed_bytes, el);
        pd_buf_appendf(&b, NULL, "  sha256 %s (stored as x-amz-meta-sha256)\n", res->sha256);
        pd_buf_appendf(&b, NULL,
                       "  compressor %s, level %d (stored as x-amz-meta-compressor, -level)\n",
                       res->compressor, res->level);
        for (size_t i = 0; i < s->n_expired; i++)
            if (s->expired[i].deleted)
                pd_buf_appendf(&b, NULL, "deleted old backup s3://%s/%s (%.0f days old)\n",
                               s->bucket, s->expired[i].key, s->expired[i].age_days);
    }
    return pd_buf_steal(&b);
}
