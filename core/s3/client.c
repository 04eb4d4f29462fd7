/*
 * s3 client: the client's lifetime (options, credentials, connections), the
 * object observer, the auditor of the client's own requests.
 */
#include "s3/client.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "s3/client.intern.h"

#define REGION_CACHE_MAX 64

static s3_object_observer_fn *object_observer;
static void *object_observer_payload;

void
s3_set_object_observer(s3_object_observer_fn *fn, void *payload)
{
    object_observer = fn;
    object_observer_payload = payload;
}

void
s3_note_object(const char *bucket, const char *key, const char *sse)
{
    if (object_observer != NULL)
        object_observer(bucket, key, sse, object_observer_payload);
}

// set by core/audit as a log opens and closes, read by any upload thread: under own_lock
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static s3_own_request_fn *own_auditor;
static void *own_auditor_payload;

void
s3_set_own_request_auditor(s3_own_request_fn *fn, void *payload)
{
    pthread_mutex_lock(&own_lock);
    own_auditor = fn;
    own_auditor_payload = payload;
    pthread_mutex_unlock(&own_lock);
}

int
s3_audit_own(const struct s3_req *rq, const char *purpose, int rc, const struct s3_resp *rs,
             struct pd_err *err)
{
    struct pd_err aerr = {0};
    char status[32];
    const char *outcome = NULL;
    char *target;
    int arc;
    s3_own_request_fn *fn;
    void *payload;

    pthread_mutex_lock(&own_lock);
    fn = own_auditor;
    payload = own_auditor_payload;
    pthread_mutex_unlock(&own_lock);
    if (fn == NULL)
        return rc;
    if (rc != 0) {
        outcome = err->msg;
    } else if (rs->status >= 400) {
        snprintf(status, sizeof(status), "HTTP %ld", rs->status);
        outcome = status;
    }
    target = s3_object_name(rq);
    arc = fn(rq->method, target, purpose, outcome, payload, &aerr);
    free(target);
    if (arc != 0 && rc == 0) {
        *err = aerr;
        rc = arc;
    }
    return rc;
}

/* ---- the buckets' regions, for the run ---------------------------------------- */

static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    char *bucket;
    char *region;
} region_cache[REGION_CACHE_MAX];

static size_t region_n;
static size_t region_oldest; // once full: the slot filled longest ago (round robin)

char *
s3_region_cached(const char *bucket)
{
    char *r = NULL;

    pthread_mutex_lock(&region_lock);
    for (size_t i = 0; i < region_n && r == NULL; i++)
        if (strcmp(region_cache[i].bucket, bucket) == 0)
            r = pd_xstrdup(region_cache[i].region);
    pthread_mutex_unlock(&region_lock);
    return r;
}

void
s3_region_remember(const char *bucket, const char *region)
{
    size_t i;

    pthread_mutex_lock(&region_lock);
    for (i = 0; i < region_n; i++)
        if (strcmp(region_cache[i].bucket, bucket) == 0)
            break;
    if (i == REGION_CACHE_MAX) { // full (a run touches a bucket or two): reuse the oldest
        i = region_oldest;
        region_oldest = (region_oldest + 1) % REGION_CACHE_MAX;
        PD_FREE(region_cache[i].bucket);
    }
    if (i == region_n)
        region_n++;
    if (region_cache[i].bucket == NULL)
        region_cache[i].bucket = pd_xstrdup(bucket);
    free(region_cache[i].region);
    region_cache[i].region = pd_xstrdup(region);
    pthread_mutex_unlock(&region_lock);
}

void
s3_region_forget_all(void)
{
    pthread_mutex_lock(&region_lock);
    for (size_t i = 0; i < region_n; i++) {
        PD_FREE(region_cache[i].bucket);
        PD_FREE(region_cache[i].region);
    }
    region_n = 0;
    region_oldest = 0;
    pthread_mutex_unlock(&region_lock);
}

int
s3_client_target(struct s3_target *out, const struct s3_client *c, const char *region,
                 const char *bucket, const char *key, struct pd_err *err)
{
    // only what the target reads: the keys may be renewed meanwhile on another thread
    struct s3_creds view = {
        .region = (char *)(uintptr_t)region,
        .endpoint_url = c->creds.endpoint_url,
        .addressing = c->creds.addressing,
    };
    char *aws, *fips, *host, *url;
    size_t hl, al, scheme;
    int rc;

    if ((rc = s3_creds_target(out, &view, bucket, key, err)) != 0 || !c->fips ||
        c->creds.endpoint_url != NULL)
        return rc;
    // AWS hosts end in s3.REGION.amazonaws.com, with or without the bucket in front
    aws = pd_xasprintf("s3.%s.amazonaws.com", region);
    hl = strlen(out->host);
    al = strlen(aws);
    if (hl >= al && strcmp(out->host + hl - al, aws) == 0) {
        fips = pd_xasprintf("s3-fips.%s.amazonaws.com", region);
        host = pd_xasprintf("%.*s%s", (int)(hl - al), out->host, fips);
        scheme = strlen("https://");
        url = pd_xasprintf("https://%s%s", host, out->url + scheme + hl);
        free(out->host);
        free(out->url);
        out->host = host;
        out->url = url;
        free(fips);
    }
    free(aws);
    return 0;
}

/* 1 when AWS_REGION, AWS_DEFAULT_REGION or the profile named a region. */
static int
region_configured(const struct s3_creds *creds)
{
    const char *v;

    if (((v = getenv("AWS_REGION")) != NULL && *v) ||
        ((v = getenv("AWS_DEFAULT_REGION")) != NULL && *v))
        return 1;
    // s3/creds falls back to us-east-1; any other region came from the profile
    return strcmp(creds->region, "us-east-1") != 0;
}

/* Defaults, then the test knobs, then what the caller set. */
static void
options_resolve(struct s3_client_options *o, const struct s3_client_options *opt)
{
    const char *v;

    o->max_retries = 4;
    o->retry_base_s = 0.2;
    o->retry_max_s = 10;
    o->connect_timeout_s = 10;
    o->stall_timeout_s = 60;
    // test knobs: the fault matrix drives retries and stalls through the real binary in seconds
    if ((v = getenv("PGDRILL_TEST_S3_BACKOFF")) != NULL && strtod(v, NULL) > 0)
        o->retry_base_s = strtod(v, NULL);
    if ((v = getenv("PGDRILL_TEST_S3_STALL_TIMEOUT")) != NULL && strtol(v, NULL, 10) > 0)
        o->stall_timeout_s = strtol(v, NULL, 10);
    if (opt == NULL)
        return;
    if (opt->max_retries)
        o->max_retries = opt->max_retries < 0 ? 0 : opt->max_retries;
    if (opt->retry_base_s > 0)
        o->retry_base_s = opt->retry_base_s;
    if (opt->retry_max_s > 0)
        o->retry_max_s = opt->retry_max_s;
    if (opt->connect_timeout_s > 0)
        o->connect_timeout_s = opt->connect_timeout_s;
    if (opt->stall_timeout_s > 0)
        o->stall_timeout_s = opt->stall_timeout_s;
}

int
s3_client_new(struct s3_client **out, const struct s3_creds *creds,
              const struct s3_client_options *opt, struct pd_err *err)
{
    struct s3_client *c;
    const char *fips;

    *out = NULL;
    if (creds->access_key_id == NULL || creds->secret_access_key == NULL || creds->region == NULL)
        return PD_ERR_SET(err, PD_EBUG, "s3: client needs loaded credentials");
    c = pd_xcalloc(1, sizeof(*c));
    c->creds.access_key_id = pd_xstrdup(creds->access_key_id);
    c->creds.secret_access_key = pd_xstrdup(creds->secret_access_key);
    c->creds.session_token = pd_dup_or_null(creds->session_token);
    c->creds.profile = pd_dup_or_null(creds->profile);
    c->creds.region = pd_xstrdup(creds->region);
    c->creds.endpoint_url = pd_dup_or_null(creds->endpoint_url);
    c->creds.addressing = creds->addressing;
    c->creds.keys_from = creds->keys_from;
    c->creds.keys_by_profile = creds->keys_by_profile;
    c->creds.expires_at = creds->expires_at; // s3_creds_current renews them before signing
    options_resolve(&c->opt, opt);
    fips = getenv("AWS_USE_FIPS_ENDPOINT");
    c->fips = fips != NULL && strcasecmp(fips, "true") == 0;
    c->ca_file =
        pd_dup_or_null(opt != NULL && opt->ca_file != NULL ? opt->ca_file : creds->ca_bundle);
    c->http = http_transport_new();
    // S3 answers are judged by status and error code (request.c), not by Retry-After
    c->retry = (struct http_retry_policy){
        .max_attempts = c->opt.max_retries + 1,
        .backoff_base_s = c->opt.retry_base_s,
        .backoff_max_s = c->opt.retry_max_s,
    };
    pd_redact_register(c->creds.secret_access_key);
    pd_redact_register(c->creds.session_token);
    *out = c;
    return 0;
}

int
s3_client_new_from_env(struct s3_client **out, struct pd_err *err)
{
    struct s3_creds creds;
    int rc;

    *out = NULL;
    memset(&creds, 0, sizeof(creds));
    rc = s3_creds_load(&creds, NULL, err);
    if (rc != 0)
        return rc;
    rc = s3_client_new(out, &creds, NULL, err);
    if (rc == 0)
        (*out)->find_region = !region_configured(&creds);
    s3_creds_free(&creds);
    return rc;
}

void
s3_client_describe_creds(const struct s3_client *c, char *buf, size_t size)
{
    s3_creds_describe_current(&c->creds, buf, size);
}

void
s3_client_free(struct s3_client *c)
{
    if (c == NULL)
        return;
    http_transport_free(c->http);
    s3_creds_free(&c->creds);
    free(c->ca_file);
    free(c);
}
