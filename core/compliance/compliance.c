/*
 * The compliance recorder and its judges. The record is kept in insertion
 * order, so the details list endpoints and objects in the order they were
 * first used; lists in a detail are cut after DETAIL_NAMES_MAX names.
 */
#include "compliance/compliance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "s3/client.h"

#define DETAIL_NAMES_MAX 12

struct endpoint {
    char *name;
    char *how;
    bool tls, loopback, taken;
    unsigned long calls;
};

struct object {
    char *uri; /* s3://bucket/key */
    char *sse; /* NULL: none */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct endpoint *endpoints;
static size_t n_endpoints;
static struct object *objects;
static size_t n_objects;

void
compliance_note_endpoint(const char *endpoint, bool tls, bool loopback, const char *how)
{
    struct endpoint *e = NULL;

    if (endpoint == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_endpoints; i++) {
        if (endpoints[i].tls == tls && strcmp(endpoints[i].name, endpoint) == 0) {
            e = &endpoints[i];
            break;
        }
    }
    if (e == NULL) {
        endpoints = pd_xrealloc(endpoints, (n_endpoints + 1) * sizeof(*endpoints));
        e = &endpoints[n_endpoints++];
        memset(e, 0, sizeof(*e));
        e->name = pd_xstrdup(endpoint);
        e->how = how != NULL && how[0] != '\0' ? pd_xstrdup(how) : NULL;
        e->tls = tls;
        e->loopback = loopback;
    }
    e->calls++;
    e->taken = false; // used again: the next audit entry names it again
    pthread_mutex_unlock(&lock);
}

static void
on_http_request(const struct http_event *ev, void *payload)
{
    (void)payload;
    compliance_note_endpoint(ev->endpoint, ev->tls != 0, ev->loopback != 0,
                             ev->tls || ev->loopback ? NULL : HTTP_ALLOW_PLAIN_ENV);
}

static void
on_s3_object(const char *bucket, const char *key, const char *sse, void *payload)
{
    (void)payload;
    compliance_note_object(bucket, key, sse);
}

void
compliance_observe(void)
{
    http_set_observer(on_http_request, NULL);
    s3_set_object_observer(on_s3_object, NULL);
}

void
compliance_note_object(const char *bucket, const char *key, const char *sse)
{
    char *uri;
    struct object *o = NULL;

    if (bucket == NULL || key == NULL)
        return;
    uri = pd_xasprintf("s3://%s/%s", bucket, key);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_objects; i++) {
        if (strcmp(objects[i].uri, uri) == 0) {
            o = &objects[i];
            break;
        }
    }
    if (o == NULL) {
        objects = pd_xrealloc(objects, (n_objects + 1) * sizeof(*objects));
        o = &objects[n_objects++];
        o->uri = uri;
        uri = NULL;
    } else {
        PD_FREE(o->sse);
    }
    // the latest answer wins: an object re-uploaded with encryption is encrypted now
    o->sse = sse != NULL && sse[0] != '\0' ? pd_xstrdup(sse) : NULL;
    pthread_mutex_unlock(&lock);
    free(uri);
}

char *
compliance_take_plain_http(void)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_endpoints; i++) {
        struct endpoint *e = &endpoints[i];

        if (e->tls || e->loopback || e->taken)
            continue;
        e->taken = true;
        pd_buf_appendf(&b, NULL, "%s%s", b.len ? ", " : "", e->name);
    }
    pthread_mutex_unlock(&lock);
    if (b.len == 0) {
        pd_buf_free(&b);
        return NULL;
    }
    return pd_buf_steal(&b);
}

void
compliance_reset(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_endpoints; i++) {
        free(endpoints[i].name);
        free(endpoints[i].how);
    }
    PD_FREE(endpoints);
    n_endpoints = 0;
    for (size_t i = 0; i < n_objects; i++) {
        free(objects[i].uri);
        free(objects[i].sse);
    }
    PD_FREE(objects);
    n_objects = 0;
    pthread_mutex_unlock(&lock);
}

size_t
compliance_objects_seen(void)
{
    size_t n;

    pthread_mutex_lock(&lock);
    n = n_objects;
    pthread_mutex_unlock(&lock);
    return n;
}

int
compliance_sse_is_encryption(const char *value)
{
    return value != NULL && (strcmp(value, "AES256") == 0 || strcmp(value, "aws:kms") == 0 ||
                             strcmp(value, "aws:kms:dsse") == 0);
}

const char *
compliance_status_name(enum compliance_status s)
{
    switch (s) {
    case COMPLIANCE_PASSED:
        return "passed";
    case COMPLIANCE_FLAGGED:
        return "flagged";
    case COMPLIANCE_FAILED:
    default:
        return "failed";
    }
}

static void
result_set(struct compliance_result *out, const char *name, enum compliance_status st,
           const char *expected, struct pd_buf *detail)
{
    out->name = pd_xstrdup(name);
    out->status = st;
    out->expected = pd_xstrdup(expected);
    out->detail = pd_buf_steal(detail);
    if (out->detail == NULL)
        out->detail = pd_xstrdup("");
}

/* Append ", name (note)" (note may be NULL), or count it once the list is long. */
static void
list_add(struct pd_buf *b, size_t *shown, size_t *hidden, const char *name, const char *note)
{
    if (*shown >= DETAIL_NAMES_MAX) {
        (*hidden)++;
        return;
    }
    pd_buf_appendf(b, NULL, "%s%s", (*shown)++ > 0 ? ", " : "", name);
    if (note != NULL)
        pd_buf_appendf(b, NULL, " (%s)", note);
}

static void
list_end(struct pd_buf *b, size_t hidden)
{
    if (hidden > 0)
        pd_buf_appendf(b, NULL, " and %zu more", hidden);
}

void
compliance_judge_encryption(struct compliance_result *out)
{
    struct pd_buf b;
    size_t plain = 0, shown = 0, hidden = 0;

    pd_buf_init(&b, 0);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_objects; i++)
        plain += !compliance_sse_is_encryption(objects[i].sse);
    if (n_objects == 0) {
        pd_buf_appendf(&b, NULL, "no backup object was seen: nothing shows they are encrypted");
    } else if (plain > 0) {
        pd_buf_appendf(&b, NULL, "%zu of %zu backup object%s seen not encrypted at rest: ", plain,
                       n_objects, n_objects == 1 ? "" : "s");
        for (size_t i = 0; i < n_objects; i++) {
            if (compliance_sse_is_encryption(objects[i].sse))
                continue;
            list_add(&b, &shown, &hidden, objects[i].uri,
                     objects[i].sse != NULL ? "unknown encryption" : NULL);
        }
        list_end(&b, hidden);
    } else {
        // the names matter when something is wrong; here the kinds of encryption say enough
        pd_buf_appendf(&b, NULL, "%zu backup object%s seen, all encrypted at rest (", n_objects,
                       n_objects == 1 ? "" : "s");
        for (size_t i = 0; i < n_objects; i++) {
            bool first = true;

            for (size_t k = 0; k < i && first; k++)
                first = strcmp(objects[k].sse, objects[i].sse) != 0;
            if (first)
                list_add(&b, &shown, &hidden, objects[i].sse, NULL);
        }
        pd_buf_appendf(&b, NULL, ")");
    }
    result_set(out, COMPLIANCE_ENCRYPTED,
               n_objects > 0 && plain == 0 ? COMPLIANCE_PASSED : COMPLIANCE_FAILED,
               "x-amz-server-side-encryption AES256 or aws:kms on every backup object", &b);
    pthread_mutex_unlock(&lock);
}

static void
endpoint_list(struct pd_buf *b, bool want_loopback, bool want_tls, bool any_tls)
{
    size_t shown = 0, hidden = 0;

    for (size_t i = 0; i < n_endpoints; i++) {
        const struct endpoint *e = &endpoints[i];

        if (e->loopback != want_loopback || (!any_tls && e->tls != want_tls))
            continue;
        list_add(b, &shown, &hidden, e->name, e->how);
    }
    list_end(b, hidden);
}

void
compliance_judge_tls(struct compliance_result *out)
{
    struct pd_buf b;
    size_t remote = 0, plain = 0, local = 0;

    pd_buf_init(&b, 0);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < n_endpoints; i++) {
        if (endpoints[i].loopback)
            local++;
        else if (endpoints[i].tls)
            remote++;
        else
            plain++;
    }
    if (plain > 0) {
        pd_buf_appendf(&b, NULL, "without TLS outside loopback: ");
        endpoint_list(&b, false, false, false);
        if (remote > 0) {
            pd_buf_appendf(&b, NULL, "; with TLS: ");
            endpoint_list(&b, false, true, false);
        }
    } else if (remote > 0) {
        pd_buf_appendf(&b, NULL, "TLS for every endpoint outside loopback: ");
        endpoint_list(&b, false, true, false);
    } else {
        pd_buf_appendf(&b, NULL, "no service outside loopback was contacted");
    }
    if (local > 0) {
        pd_buf_appendf(&b, NULL, "; loopback, exempt: ");
        endpoint_list(&b, true, false, true);
    }
    result_set(out, COMPLIANCE_TLS, plain > 0 ? COMPLIANCE_FAILED : COMPLIANCE_PASSED,
               "https or sslmode=require (or stricter) for every endpoint outside loopback", &b);
    pthread_mutex_unlock(&lock);
}

void
compliance_judge_retention(struct compliance_result *out, const struct compliance_retention *r,
                           size_t n)
{
    struct pd_buf b;
    size_t short_n = 0;
    char expected[96];

    pd_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++)
        short_n += r[i].days < COMPLIANCE_RETENTION_MIN_DAYS;
    if (short_n > 0) {
        size_t k = 0;

        for (size_t i = 0; i < n; i++) {
            if (r[i].days >= COMPLIANCE_RETENTION_MIN_DAYS)
                continue;
            pd_buf_appendf(&b, NULL, "%s%s keeps %d days", k++ ? ", " : "", r[i].cls, r[i].days);
        }
        pd_buf_appendf(&b, NULL,
                       ": shorter than the 7 years (%d days) medical and visit records must be "
                       "kept; configure a long-term archive of these backups for at least %d "
                       "days outside pgdrill's clean-up (e.g. an S3 lifecycle rule on the backup "
                       "bucket moving them to an archive storage class) and set "
                       "PGDRILL_RETENTION_DAYS_<CLASS> or retention_days.<class> to match",
                       COMPLIANCE_RETENTION_MIN_DAYS, COMPLIANCE_RETENTION_MIN_DAYS);
    } else if (n == 0) {
        pd_buf_appendf(&b, NULL, "no backup class configured");
    } else {
        for (size_t i = 0; i < n; i++)
            pd_buf_appendf(&b, NULL, "%s%s keeps %d days", i ? ", " : "", r[i].cls, r[i].days);
        pd_buf_appendf(&b, NULL, ": at least 7 years (%d days)", COMPLIANCE_RETENTION_MIN_DAYS);
    }
    snprintf(expected, sizeof(expected), "every backup class kept >= %d days (7 years)",
             COMPLIANCE_RETENTION_MIN_DAYS);
    result_set(out, COMPLIANCE_RETENTION,
               short_n > 0 || n == 0 ? COMPLIANCE_FLAGGED : COMPLIANCE_PASSED, expected, &b);
}

void
compliance_result_free(struct compliance_result *r)
{
    if (r == NULL)
        return;
    PD_FREE(r->name);
    PD_FREE(r->expected);
    PD_FREE(r->detail);
}
