#include "evidence/evidence.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "pd_str.h"
#include "pd_time.h"
#include "report/html.h"
#include "runbook/runbook.h"
#include "s3/client.h"
#include "s3/creds.h"
#include "session/session.h"

/* A report file larger than this is not one pgdrill wrote. */
#define EVIDENCE_FILE_MAX ((size_t)64 * 1024 * 1024)

/*
 * What each file of the evidence is: _(name, content type, made from the
 * journal's hash rather than read from the drill's folder), in upload order.
 */
#define EVIDENCE_FILES(_)                                                                          \
    _("report.md", "text/markdown; charset=utf-8", false)                                          \
    _("report.json", "application/json", false)                                                    \
    _("report.html", "text/html; charset=utf-8", false)                                            \
    _("journal.sha256", "text/plain; charset=utf-8", true)

static const struct evidence_file_row {
    const char *name;
    const char *content_type;
    bool from_journal;
} evidence_rows[] = {

#define EVIDENCE_ROW(name, type, journal) {name, type, journal},
    EVIDENCE_FILES(EVIDENCE_ROW)
#undef EVIDENCE_ROW
};

#define N_EVIDENCE (sizeof(evidence_rows) / sizeof(evidence_rows[0]))

const char *const evidence_files[] = {
#define EVIDENCE_NAME(name, type, journal) name,
    EVIDENCE_FILES(EVIDENCE_NAME)
#undef EVIDENCE_NAME
        NULL,
};

char *
evidence_prefix(const char *base_key)
{
    size_t len = base_key != NULL ? strlen(base_key) : 0;

    while (len > 0 && base_key[len - 1] == '/')
        len--;
    if (len == 0)
        return pd_xstrdup(EVIDENCE_DIR "/");
    return pd_xasprintf("%.*s/" EVIDENCE_DIR "/", (int)len, base_key);
}

void
evidence_push_result_free(struct evidence_push_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_files; i++) {
        free(r->files[i].uri);
        free(r->files[i].sse);
    }
    free(r->files);
    free(r->drill_id);
    free(r->uri);
    memset(r, 0, sizeof(*r));
}

/* ---- push ---------------------------------------------------------------------------------- */

struct push_job {
    struct evidence_push_result *out;
    struct s3_client *c;
    struct audit *a;
    const char *home;
    const char *bucket;
    char *dir_key; /* <prefix><id>/ */
    struct drill *d;
};

static int
audited(struct push_job *j, int rc, const char *action, const char *target,
        const struct audit_arg *args, size_t n, struct pd_err *err)
{
    struct pd_err aerr;
    int arc;

    if (j->a == NULL)
        return rc;
    pd_err_clear(&aerr);
    arc = audit_record(j->a, j->out->drill_id, action, target, args, n, rc != 0 ? err->msg : NULL,
                       &aerr);
    // an action that cannot be audited fails, but never hides the action's own error
    if (rc == 0 && arc != 0) {
        *err = aerr;
        return arc;
    }
    return rc;
}

/* The newest drill under home; caller owns it. */
static int
newest_drill(char **out, const char *home, struct pd_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    int rc = drill_list(&ids, &n, home, err);

    *out = NULL;
    if (rc != 0)
        return rc;
    if (n == 0)
        rc = PD_ERR_SET(err, PD_ENOENT, "no drill in %s/drills", home);
    else
        *out = ids[0];
    for (size_t i = rc == 0 ? 1 : 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

/* The report brought up to date for the journal being pushed, and report.html next to it. */
static int
push_prepare(struct push_job *j, struct pd_err *err)
{
    struct drill *d = j->d;
    char *json = pd_xasprintf("%s/report.json", d->dir);
    char *html = pd_xasprintf("%s/report.html", d->dir);
    int rc;

    if ((rc = drill_session_ensure_report(j->home, d, j->out->journal_sha256,
                                          &j->out->report_written, err)) != 0)
        goto out;
    rc = report_html_write(j->home, json, html, err);
out:
    free(html);
    free(json);
    return rc;
}

/* What HEAD says against what was sent: size, encryption, checksum. */
static int
head_matches(const struct s3_head *h, const struct evidence_pushed *f, const char *sse,
             struct pd_err *err)
{
    const char *meta_sha = NULL;

    for (char **m = h->metadata; m != NULL && m[0] != NULL && m[1] != NULL; m += 2)
        if (strcmp(m[0], "sha256") == 0)
            meta_sha = m[1];
    if (h->size != f->bytes)
        return PD_ERR_SET(err, PD_ECHECK, "%s: %llu bytes stored, %llu sent", f->uri,
                          (unsigned long long)h->size, (unsigned long long)f->bytes);
    if (h->sse == NULL || strcmp(h->sse, sse) != 0)
        return PD_ERR_SET(err, PD_ECHECK,
                          "%s: not encrypted at rest as requested (server-side encryption %s, %s "
                          "requested)",
                          f->uri, h->sse != NULL ? h->sse : "absent", sse);
    if (meta_sha == NULL || strcmp(meta_sha, f->sha256) != 0)
        return PD_ERR_SET(err, PD_ECHECK, "%s: sha256 metadata %s, %s sent", f->uri,
                          meta_sha != NULL ? meta_sha : "absent", f->sha256);
    return 0;
}

/* PUT one file of the evidence, then HEAD it; both audited. */
static int
push_file(struct push_job *j, const struct evidence_file_row *row, struct pd_err *err)
{
    struct evidence_pushed *f = &j->out->files[j->out->n_files];
    const char *meta[] = {"sha256", f->sha256, NULL};
    struct s3_put_options po = {
        .content_type = row->content_type, .sse = BACKUP_SSE_DEFAULT, .metadata = meta};
    struct s3_head head;
    char *key = pd_xasprintf("%s%s", j->dir_key, row->name), *data = NULL, *path = NULL;
    size_t len = 0;
    int rc;

    memset(&head, 0, sizeof(head));
    f->name = row->name;
    f->uri = pd_xasprintf("s3://%s/%s", j->bucket, key);
    if (row->from_journal) {
        // sha256sum's own format: `sha256sum -c journal.sha256` checks a journal
        data = pd_xasprintf("%s  journal.jsonl\n", j->out->journal_sha256);
        len = strlen(data);
    } else {
        path = pd_xasprintf("%s/%s", j->d->dir, row->name);
        if ((rc = pd_read_file(&data, &len, path, EVIDENCE_FILE_MAX, err)) != 0)
            goto out;
    }
    f->bytes = len;
    pd_sha256_hex(f->sha256, data, len);
    {
        struct audit_arg args[] = {
            {"bytes", NULL, (long long)len}, {"sse", po.sse, 0}, {"sha256", f->sha256, 0}};

        rc = s3_client_put(j->c, j->bucket, key, data, len, &po, NULL, err);
        if ((rc = audited(j, rc, "s3.put", f->uri, args, 3, err)) != 0)
            goto out;
    }
    rc = s3_client_head(j->c, &head, j->bucket, key, err);
    if (rc == 0) {
        f->sse = pd_dup_or_null(head.sse);
        rc = head_matches(&head, f, po.sse, err);
    }
    {
        struct audit_arg args[] = {{"bytes", NULL, (long long)head.size}};

        rc = audited(j, rc, "s3.head", f->uri, args, 1, err);
    }
    if (rc == 0)
        j->out->n_files++;
out:
    if (rc != 0) {
        // the result lists only what was pushed and checked
        free(f->uri);
        free(f->sse);
        memset(f, 0, sizeof(*f));
    }
    s3_head_free(&head);
    free(data);
    free(path);
    free(key);
    return rc;
}

int
evidence_push(struct evidence_push_result *out, struct s3_client *c, struct audit *a,
              const char *home, const char *id, const char *bucket, const char *base_key,
              struct pd_err *err)
{
    struct push_job j = {.out = out, .c = c, .a = a, .home = home, .bucket = bucket};
    char *newest = NULL, *prefix = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (id == NULL && (rc = newest_drill(&newest, home, err)) != 0)
        return rc;
    if ((rc = drill_open(&j.d, home, id != NULL ? id : newest, false, err)) != 0)
        goto out;
    out->drill_id = pd_xstrdup(j.d->id);
    prefix = evidence_prefix(base_key);
    j.dir_key = pd_xasprintf("%s%s/", prefix, j.d->id);
    out->uri = pd_xasprintf("s3://%s/%s", bucket, j.dir_key);
    out->files = pd_xcalloc(N_EVIDENCE, sizeof(*out->files));
    if ((rc = push_prepare(&j, err)) != 0)
        goto out;
    for (size_t i = 0; i < N_EVIDENCE && rc == 0; i++)
        rc = push_file(&j, &evidence_rows[i], err);
    {
        struct audit_arg args[] = {
            {"files", NULL, (long long)out->n_files},
            {"journal_sha256", out->journal_sha256, 0},
            {"outcome", j.d->outcome != NULL ? j.d->outcome : "unfinished", 0}};

        rc = audited(&j, rc, "report.push", out->uri, args, 3, err);
    }
out:
    drill_free(j.d);
    free(j.dir_key);
    free(prefix);
    free(newest);
    return rc;
}

/* The bucket and base key of PGDRILL_BACKUP_URI, its S3 client and the audit log. */
struct env_setup {
    struct s3_uri uri;
    struct s3_client *c;
    struct audit *a;
};

static int
env_open(struct env_setup *e, const char *home, const char *operator_name, struct pd_err *err)
{
    const char *v = getenv("PGDRILL_BACKUP_URI");
    int rc;

    memset(e, 0, sizeof(*e));
    if (v == NULL || v[0] == '\0')
        return PD_ERR_SET(err, PD_EUSAGE,
                          "PGDRILL_BACKUP_URI is not set: drill evidence goes to its drills/ "
                          "folder (e.g. s3://care-commons-backups)");
    if ((rc = s3_uri_parse(&e->uri, v, err)) != 0) {
        pd_err_prefix(err, "PGDRILL_BACKUP_URI: ");
        return rc;
    }
    if ((rc = s3_client_new_from_env(&e->c, err)) != 0)
        return rc;
    return audit_open(&e->a, home, operator_name, err);
}

static void
env_close(struct env_setup *e)
{
    audit_close(e->a);
    s3_client_free(e->c);
    s3_uri_free(&e->uri);
}

int
evidence_push_env(struct evidence_push_result *out, const char *home, const char *operator_name,
                  const char *id, struct pd_err *err)
{
    struct env_setup e;
    struct drill *d = NULL;
    char *newest = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&e, 0, sizeof(e));
    // the drill first: a wrong id is named as such, whatever S3 says
    if (id == NULL && (rc = newest_drill(&newest, home, err)) != 0)
        return rc;
    if ((rc = drill_open(&d, home, id != NULL ? id : newest, false, err)) != 0)
        goto out;
    if ((rc = env_open(&e, home, operator_name, err)) != 0)
        goto out;
    rc = evidence_push(out, e.c, e.a, home, d->id, e.uri.bucket, e.uri.key, err);
out:
    env_close(&e);
    drill_free(d);
    free(newest);
    return rc;
}

char *
evidence_push_text(const struct evidence_push_result *r)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    for (size_t i = 0; i < r->n_files; i++) {
        const struct evidence_pushed *f = &r->files[i];
        char size[32];

        backup_format_bytes(size, sizeof(size), (double)f->bytes);
        pd_buf_appendf(&b, NULL, "pushed %-15s %10s  sha256 %s  sse %s\n", f->name, size, f->sha256,
                       f->sse != NULL ? f->sse : "none");
    }
    pd_buf_appendf(&b, NULL, "drill %s: %zu files in %s (journal sha256 %s)\n",
                   r->drill_id != NULL ? r->drill_id : "?", r->n_files, r->uri ? r->uri : "?",
                   r->journal_sha256);
    return pd_buf_steal(&b);
}

/* ---- remote listing ------------------------------------------------------------------------ */

struct list_state {
    const char *prefix;
    struct evidence_remote *v;
    size_t n;
};

/* The entry of drill id (keys come in order: the last one, or a new one). */
static struct evidence_remote *
remote_entry(struct list_state *s, const char *id, size_t len)
{
    for (size_t i = s->n; i > 0; i--)
        if (strlen(s->v[i - 1].drill_id) == len && strncmp(s->v[i - 1].drill_id, id, len) == 0)
            return &s->v[i - 1];
    s->v = pd_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
    memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
    s->v[s->n].drill_id = pd_xstrndup(id, len);
    return &s->v[s->n++];
}

static int
list_page(const struct s3_list_page *page, void *payload, struct pd_err *err)
{
    struct list_state *s = payload;
    size_t plen = strlen(s->prefix);

    (void)err;
    for (size_t i = 0; i < page->n_objects; i++) {
        const struct s3_object *o = &page->objects[i];
        const char *rest, *slash;
        struct evidence_remote *r;

        if (strncmp(o->key, s->prefix, plen) != 0)
            continue;
        rest = o->key + plen;
        slash = strchr(rest, '/');
        // only DRILL/FILE: nothing else is evidence pgdrill wrote
        if (slash == NULL || slash == rest || slash[1] == '\0' || strchr(slash + 1, '/') != NULL)
            continue;
        r = remote_entry(s, rest, (size_t)(slash - rest));
        r->files = pd_xrealloc(r->files, (r->n_files + 1) * sizeof(*r->files));
        r->files[r->n_files++] = pd_xstrdup(slash + 1);
        r->bytes += o->size;
        if (o->last_modified > r->last_modified)
            r->last_modified = o->last_modified;
    }
    return 0;
}

static int
remote_cmp(const void *pa, const void *pb)
{
    const struct evidence_remote *a = pa, *b = pb;

    return strcmp(b->drill_id, a->drill_id); // newest id first
}

int
evidence_list_remote(struct evidence_remote **out, size_t *n_out, struct s3_client *c,
                     struct audit *a, const char *bucket, const char *base_key, struct pd_err *err)
{
    struct list_state s = {0};
    char *prefix = evidence_prefix(base_key);
    char *target = pd_xasprintf("s3://%s/%s", bucket, prefix);
    int rc;

    *out = NULL;
    *n_out = 0;
    s.prefix = prefix;
    rc = s3_client_list(c, bucket, prefix, NULL, 0, list_page, &s, err);
    if (a != NULL) {
        struct audit_arg args[] = {{"drills", NULL, (long long)s.n}};
        struct pd_err aerr;

        pd_err_clear(&aerr);
        if (audit_record(a, NULL, "s3.list", target, args, 1, rc != 0 ? err->msg : NULL, &aerr) !=
                0 &&
            rc == 0) {
            *err = aerr;
            rc = aerr.kind;
        }
    }
    if (rc != 0) {
        evidence_remote_free(s.v, s.n);
    } else {
        if (s.n > 1)
            qsort(s.v, s.n, sizeof(*s.v), remote_cmp);
        *out = s.v;
        *n_out = s.n;
    }
    free(target);
    free(prefix);
    return rc;
}

int
evidence_list_remote_env(struct evidence_remote **out, size_t *n_out, char **uri_out,
                         const char *home, const char *operator_name, struct pd_err *err)
{
    struct env_setup e;
    int rc;

    *out = NULL;
    *n_out = 0;
    *uri_out = NULL;
    if ((rc = env_open(&e, home, operator_name, err)) == 0) {
        char *prefix = evidence_prefix(e.uri.key);

        *uri_out = pd_xasprintf("s3://%s/%s", e.uri.bucket, prefix);
        free(prefix);
        rc = evidence_list_remote(out, n_out, e.c, e.a, e.uri.bucket, e.uri.key, err);
    }
    env_close(&e);
    return rc;
}

void
evidence_remote_free(struct evidence_remote *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < v[i].n_files; k++)
            free(v[i].files[k]);
        free(v[i].files);
        free(v[i].drill_id);
    }
    free(v);
}

char *
evidence_remote_text(const struct evidence_remote *v, size_t n, const char *uri)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    if (n == 0) {
        pd_buf_appendf(&b, NULL, "no drill evidence in %s\n", uri != NULL ? uri : "S3");
        return pd_buf_steal(&b);
    }
    pd_buf_appendf(&b, NULL, "%-44s %-16s %10s  %s\n", "ID", "PUSHED (UTC)", "SIZE", "FILES");
    for (size_t i = 0; i < n; i++) {
        char when[32] = "-", size[32], missing[256] = "";

        if (v[i].last_modified > 0) {
            char rfc[32];

            pd_time_format(rfc, sizeof(rfc), v[i].last_modified);
            snprintf(when, sizeof(when), "%.10s %.5s", rfc, rfc + 11);
        }
        backup_format_bytes(size, sizeof(size), (double)v[i].bytes);
        pd_buf_appendf(&b, NULL, "%-44s %-16s %10s ", v[i].drill_id, when, size);
        for (size_t k = 0; k < v[i].n_files; k++)
            pd_buf_appendf(&b, NULL, " %s", v[i].files[k]);
        for (size_t f = 0; evidence_files[f] != NULL; f++) {
            bool found = false;

            for (size_t k = 0; k < v[i].n_files && !found; k++)
                found = strcmp(v[i].files[k], evidence_files[f]) == 0;
            if (!found)
                pd_words_append(missing, sizeof(missing), evidence_files[f]);
        }
        if (missing[0] != '\0')
            pd_buf_appendf(&b, NULL, " (missing: %s)", missing);
        pd_buf_appendf(&b, NULL, "\n");
    }
    return pd_buf_steal(&b);
}
