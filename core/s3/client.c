#include "s3/client.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "compliance/compliance.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "s3/sigv4.h"
#include "s3/xml.h"

#define MAX_EXTRA_HEADERS 16
#define LIST_BODY_CAP     ((size_t)16 * 1024 * 1024)
#define ERROR_BODY_CAP    ((size_t)64 * 1024)
#define MAX_PARTS         10000
#define POOL_MAX          16

struct s3_client {
    struct s3_creds creds;
    struct s3_client_options opt;
    char *ca_file;
    pthread_mutex_t pool_lock;
    CURL *pool[POOL_MAX]; /* idle handles, kept for connection reuse */
    size_t n_pool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *
dup_or_null(const char *s)
{
    return s ? pd_xstrdup(s) : NULL;
}

int
s3_client_new(struct s3_client **out, const struct s3_creds *creds,
              const struct s3_client_options *opt, struct pd_err *err)
{
    struct s3_client *c;
    const char *v;

    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return PD_ERR_SET(err, PD_ESERVICE, "s3: cannot initialise libcurl: %s",
                          curl_easy_strerror(curl_init_rc));
    if (creds->access_key_id == NULL || creds->secret_access_key == NULL || creds->region == NULL)
        return PD_ERR_SET(err, PD_EBUG, "s3: client needs loaded credentials");
    c = pd_xcalloc(1, sizeof(*c));
    c->creds.access_key_id = pd_xstrdup(creds->access_key_id);
    c->creds.secret_access_key = pd_xstrdup(creds->secret_access_key);
    c->creds.session_token = dup_or_null(creds->session_token);
    c->creds.profile = dup_or_null(creds->profile);
    c->creds.region = pd_xstrdup(creds->region);
    c->creds.endpoint_url = dup_or_null(creds->endpoint_url);
    c->creds.addressing = creds->addressing;
    c->creds.keys_from = creds->keys_from;
    c->opt.max_retries = 4;
    c->opt.retry_base_s = 0.2;
    c->opt.retry_max_s = 10;
    c->opt.connect_timeout_s = 10;
    c->opt.stall_timeout_s = 60;
    // test knobs: the fault matrix drives retries and stalls through the real binary in seconds
    if ((v = getenv("PGDRILL_TEST_S3_BACKOFF")) != NULL && strtod(v, NULL) > 0)
        c->opt.retry_base_s = strtod(v, NULL);
    if ((v = getenv("PGDRILL_TEST_S3_STALL_TIMEOUT")) != NULL && strtol(v, NULL, 10) > 0)
        c->opt.stall_timeout_s = strtol(v, NULL, 10);
    if (opt) {
        if (opt->max_retries)
            c->opt.max_retries = opt->max_retries < 0 ? 0 : opt->max_retries;
        if (opt->retry_base_s > 0)
            c->opt.retry_base_s = opt->retry_base_s;
        if (opt->retry_max_s > 0)
            c->opt.retry_max_s = opt->retry_max_s;
        if (opt->connect_timeout_s > 0)
            c->opt.connect_timeout_s = opt->connect_timeout_s;
        if (opt->stall_timeout_s > 0)
            c->opt.stall_timeout_s = opt->stall_timeout_s;
        c->ca_file = dup_or_null(opt->ca_file);
    }
    if (c->ca_file == NULL)
        c->ca_file = dup_or_null(creds->ca_bundle); // AWS_CA_BUNDLE
    pthread_mutex_init(&c->pool_lock, NULL);
    pd_redact_register(c->creds.secret_access_key);
    pd_redact_register(c->creds.session_token);
    *out = c;
    return 0;
}

void
s3_client_free(struct s3_client *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->pool_lock);
    s3_creds_free(&c->creds);
    free(c->ca_file);
    free(c);
}

static CURL *
handle_take(struct s3_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->pool_lock);
    if (c->n_pool > 0)
        h = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->pool_lock);
    if (h == NULL) {
        h = curl_easy_init();
        if (h == NULL) { /* uncovered: libcurl out of memory */
            pd_run_fatal_hook();
            fprintf(stderr, "pgdrill: libcurl: cannot create a handle\n");
            abort();
        }
    }
    return h;
}

static void
handle_give(struct s3_client *c, CURL *h)
{
    pthread_mutex_lock(&c->pool_lock);
    if (c->n_pool < POOL_MAX) {
        c->pool[c->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- one request ---------------------------------------------------------- */

struct req {
    const char *method;
    const char *bucket;
    const char *key;   /* "" for bucket-level requests */
    const char *query; /* encoded, or NULL */
    struct s3_sigv4_header extra[MAX_EXTRA_HEADERS];
    size_t n_extra;
    const void *body; /* PUT/POST body, or NULL */
    size_t body_len;
    const char *payload_hash; /* of body; computed once */
    size_t body_cap;          /* for collected response bodies */
    /* streaming GET */
    s3_sink_fn *sink;
    void *sink_payload;
    uint64_t offset;
};

struct resp {
    long status;
    struct pd_buf body;
    int body_overflow;
    char *etag;
    char *content_type;
    char *storage_class;
    char *sse;
    char *last_modified;
    char *content_range;
    uint64_t content_length;
    int have_length;
    char **meta; /* name, value, ... NULL */
    size_t n_meta;
    /* streaming */
    const struct req *rq;
    uint64_t delivered;    /* bytes handed to the sink over all attempts */
    uint64_t skip;         /* bytes to drop (server ignored our Range) */
    uint64_t expect_start; /* first byte this attempt must deliver */
    uint64_t total;        /* object size once a response told it; 0 if unknown */
    int checked;           /* the current attempt's status/range was checked */
    int sink_rc;
    struct pd_err *err;
    int stream_error; /* the range check failed: message in err */
    int attempts;     /* requests sent */
};

static void
resp_clear_headers(struct resp *rs)
{
    PD_FREE(rs->etag);
    PD_FREE(rs->content_type);
    PD_FREE(rs->storage_class);
    PD_FREE(rs->sse);
    PD_FREE(rs->last_modified);
    PD_FREE(rs->content_range);
    for (size_t i = 0; i < rs->n_meta * 2; i++)
        free(rs->meta[i]);
    PD_FREE(rs->meta);
    rs->n_meta = 0;
    rs->have_length = 0;
    rs->content_length = 0;
}

static void
resp_free(struct resp *rs)
{
    resp_clear_headers(rs);
    pd_buf_free(&rs->body);
}

static char *
unquote_etag(const char *v)
{
    size_t n = strlen(v);

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
        return pd_xstrndup(v + 1, n - 2);
    return pd_xstrdup(v);
}

static size_t
on_header(char *line, size_t size, size_t n, void *ud)
{
    struct resp *rs = ud;
    size_t len = size * n, name_len;
    char *colon, *value, *end;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, or the next attempt) */
        char *sp = memchr(line, ' ', len);

        resp_clear_headers(rs);
        rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        return len;
    }
    colon = memchr(line, ':', len);
    if (colon == NULL)
        return len;
    name_len = (size_t)(colon - line);
    value = colon + 1;
    end = line + len;
    while (value < end && (*value == ' ' || *value == '\t'))
        value++;
    while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *v = pd_xstrndup(value, (size_t)(end - value));
#define IS(h) (name_len == sizeof(h) - 1 && strncasecmp(line, h, name_len) == 0)
    if (IS("etag")) {
        free(rs->etag);
        rs->etag = unquote_etag(v);
    } else if (IS("content-type")) {
        free(rs->content_type);
        rs->content_type = pd_xstrdup(v);
    } else if (IS("x-amz-storage-class")) {
        free(rs->storage_class);
        rs->storage_class = pd_xstrdup(v);
    } else if (IS("x-amz-server-side-encryption")) {
        free(rs->sse);
        rs->sse = pd_xstrdup(v);
    } else if (IS("last-modified")) {
        free(rs->last_modified);
        rs->last_modified = pd_xstrdup(v);
    } else if (IS("content-range")) {
        free(rs->content_range);
        rs->content_range = pd_xstrdup(v);
    } else if (IS("content-length")) {
        char *e;

        errno = 0;
        rs->content_length = strtoull(v, &e, 10);
        rs->have_length = errno == 0 && e != v && *e == '\0';
    } else if (name_len > 11 && strncasecmp(line, "x-amz-meta-", 11) == 0) {
        char *name = pd_xstrndup(line + 11, name_len - 11);

        for (char *p = name; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        rs->meta = pd_xrealloc(rs->meta, (rs->n_meta * 2 + 3) * sizeof(char *));
        rs->meta[rs->n_meta * 2] = name;
        rs->meta[rs->n_meta * 2 + 1] = pd_xstrdup(v);
        rs->n_meta++;
        rs->meta[rs->n_meta * 2] = NULL;
    }
#undef IS
    free(v);
    return len;
}

/*
 * The first body bytes of a streamed attempt: check that a resumed request
 * got the range it asked for; a server that ignored Range (200) gets its
 * already-delivered prefix skipped.
 */
/* The first byte of a Content-Range "bytes FIRST-LAST/TOTAL" (RFC 9110 14.4). */
static bool
range_start(const char *content_range, uint64_t *out)
{
    const char *p = content_range;
    char *end;

    if (p == NULL || strncmp(p, "bytes ", 6) != 0 || !isdigit((unsigned char)p[6]))
        return false;
    errno = 0;
    *out = strtoull(p + 6, &end, 10);
    return errno == 0 && *end == '-';
}

static int
check_stream_start(struct resp *rs)
{
    uint64_t start;

    rs->checked = 1;
    rs->skip = 0;
    if (rs->status == 200) {
        if (rs->have_length)
            rs->total = rs->content_length;
        rs->skip = rs->expect_start;
        return 0;
    }
    if (rs->status != 206)
        return 0;
    if (!range_start(rs->content_range, &start) || start != rs->expect_start) {
        rs->stream_error = 1;
        return PD_ERR_SET(rs->err, PD_ESERVICE,
                          "s3: GET s3://%s/%s: asked for bytes from %lu, got range '%.60s'",
                          rs->rq->bucket, rs->rq->key, (unsigned long)rs->expect_start,
                          rs->content_range ? rs->content_range : "");
    }
    const char *slash = strchr(rs->content_range, '/');
    if (slash && slash[1] != '*')
        rs->total = strtoull(slash + 1, NULL, 10);
    return 0;
}

static size_t
on_body(char *data, size_t size, size_t n, void *ud)
{
    struct resp *rs = ud;
    size_t len = size * n;

    if (rs->rq->sink && (rs->status == 200 || rs->status == 206)) {
        if (!rs->checked && check_stream_start(rs) != 0)
            return 0;
        if (rs->skip > 0) {
            size_t drop = rs->skip < len ? (size_t)rs->skip : len;

            rs->skip -= drop;
            data += drop;
            len -= drop;
            if (len == 0)
                return size * n;
        }
        int rc = rs->rq->sink(data, len, rs->rq->sink_payload, rs->err);
        if (rc != 0) {
            rs->sink_rc = rc;
            return 0;
        }
        rs->delivered += len;
        return size * n;
    }
    if (!rs->body_overflow && pd_buf_append(&rs->body, data, len, NULL) != 0)
        rs->body_overflow = 1;
    return size * n;
}

struct upload {
    const char *data;
    size_t len, pos;
};

static size_t
on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct upload *up = ud;
    size_t want = size * n, left = up->len - up->pos;

    if (want > left)
        want = left;
    memcpy(buf, up->data + up->pos, want);
    up->pos += want;
    return want;
}

/* libcurl rewinds an upload when a reused connection turns out dead. */
static int
on_seek(void *ud, curl_off_t offset, int origin)
{
    struct upload *up = ud;

    if (origin != SEEK_SET || offset < 0 || (size_t)offset > up->len)
        return CURL_SEEKFUNC_CANTSEEK;
    up->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static int
is_retryable_status(long status, const char *code)
{
    if (status == 500 || status == 502 || status == 503 || status == 504 || status == 429)
        return 1;
    return code && (strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
                    strcmp(code, "InternalError") == 0);
}

static int
is_retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return 1;
    default:
        return 0;
    }
}

static unsigned
jitter_seed(void)
{
    return (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)&jitter_seed;
}

static void
backoff(const struct s3_client *c, int attempt)
{
    static __thread unsigned seed;
    double d = c->opt.retry_base_s;
    struct timespec ts;

    if (seed == 0)
        seed = jitter_seed();
    for (int i = 0; i < attempt && d < c->opt.retry_max_s; i++)
        d *= 2;
    if (d > c->opt.retry_max_s)
        d = c->opt.retry_max_s;
    // full jitter in [d/2, d): retries from parallel parts do not line up
    seed = seed * 1103515245U + 12345U;
    d = d / 2 + d / 2 * ((seed >> 16) & 0x7fff) / 32768.0;
    ts.tv_sec = (time_t)d;
    ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* "s3://bucket/key" for messages (never a secret). */
static char *
object_name(const struct req *rq)
{
    return pd_xasprintf("s3://%s%s%s", rq->bucket, rq->key && *rq->key ? "/" : "",
                        rq->key ? rq->key : "");
}

/* Sign and perform one attempt. Returns the CURLcode; rs->status holds the HTTP status. */
static CURLcode
perform_once(struct s3_client *c, CURL *h, const struct req *rq, const struct s3_target *t,
             struct resp *rs, const char *range, const char *if_match, char *errbuf,
             struct pd_err *err, int *sign_rc)
{
    struct s3_sigv4_header hs[MAX_EXTRA_HEADERS + 8];
    size_t nh = 0;
    char amz_date[17];
    struct s3_sigv4_result sig;
    struct curl_slist *list = NULL;
    struct upload up = {rq->body, rq->body_len, 0};
    char *url, *line;
    CURLcode cc;

    *sign_rc = 0;
    s3_sigv4_amz_date(amz_date, time(NULL));
    hs[nh++] = (struct s3_sigv4_header){"host", t->host};
    hs[nh++] = (struct s3_sigv4_header){"x-amz-date", amz_date};
    hs[nh++] = (struct s3_sigv4_header){"x-amz-content-sha256", rq->payload_hash};
    if (c->creds.session_token)
        hs[nh++] = (struct s3_sigv4_header){"x-amz-security-token", c->creds.session_token};
    if (range)
        hs[nh++] = (struct s3_sigv4_header){"range", range};
    if (if_match)
        hs[nh++] = (struct s3_sigv4_header){"if-match", if_match};
    for (size_t i = 0; i < rq->n_extra; i++)
        hs[nh++] = rq->extra[i];

    struct s3_sigv4_input in = {
        .method = rq->method,
        .path = t->path,
        .query = rq->query,
        .headers = hs,
        .n_headers = nh,
        .payload_hash = rq->payload_hash,
        .amz_date = amz_date,
        .region = c->creds.region,
        .service = "s3",
        .access_key_id = c->creds.access_key_id,
        .secret_access_key = c->creds.secret_access_key,
    };
    if ((*sign_rc = s3_sigv4_sign(&sig, &in, err)) != 0)
        return CURLE_OK;

    for (size_t i = 0; i < nh; i++) {
        line = pd_xasprintf("%s: %s", hs[i].name, hs[i].value);
        list = curl_slist_append(list, line);
        free(line);
    }
    line = pd_xasprintf("Authorization: %s", sig.authorization);
    list = curl_slist_append(list, line);
    memset(line, 0, strlen(line));
    free(line);
    s3_sigv4_result_free(&sig);
    // no 100-continue round trip; drop headers we did not sign where curl would add them
    list = curl_slist_append(list, "Expect:");
    if (strcmp(rq->method, "POST") == 0 && rq->n_extra == 0)
        list = curl_slist_append(list, "Content-Type:");

    url = rq->query && *rq->query ? pd_xasprintf("%s?%s", t->url, rq->query) : pd_xstrdup(t->url);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, t->https ? "https" : "http");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->opt.connect_timeout_s);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->opt.stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, rs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, rs);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &up);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
    } else if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    errbuf[0] = '\0';
    rs->status = 0;
    rs->checked = 0;
    pd_buf_reset(&rs->body);
    rs->body_overflow = 0;
    cc = curl_easy_perform(h);
    curl_slist_free_all(list);
    free(url);
    return cc;
}

/*
 * Run a request with retries. On return rs holds the final response (the
 * caller judges the status); transport failures and exhausted retries are
 * errors here.
 */
static int
request(struct s3_client *c, const struct req *rq, struct resp *rs, struct pd_err *err)
{
    struct s3_target t;
    CURL *h;
    char errbuf[CURL_ERROR_SIZE];
    char *range = NULL, *if_match = NULL, *name = object_name(rq), *first_etag = NULL;
    int rc, attempt;

    memset(rs, 0, sizeof(*rs));
    pd_buf_init(&rs->body, rq->body_cap ? rq->body_cap : ERROR_BODY_CAP);
    rs->rq = rq;
    rs->err = err;
    if ((rc = s3_creds_target(&t, &c->creds, rq->bucket, rq->key, err)) != 0) {
        free(name);
        return rc;
    }
    h = handle_take(c);
    for (attempt = 0;; attempt++) {
        double t0 = pd_time_mono();
        int sign_rc;
        const char *why = NULL;
        char code_buf[64] = "";
        CURLcode cc;

        PD_FREE(range);
        if (rq->sink) {
            rs->expect_start = rq->offset + rs->delivered;
            if (rs->expect_start > 0)
                range = pd_xasprintf("bytes=%lu-", (unsigned long)rs->expect_start);
        }
        cc = perform_once(c, h, rq, &t, rs, range, if_match, errbuf, err, &sign_rc);
        rs->attempts = attempt + 1;
        if (sign_rc != 0) {
            rc = sign_rc;
            break;
        }
        {
            long connects = 0;

            curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
            s3_target_note(&t, connects > 0); // compliance: endpoint and transport used
        }
        pd_log(PD_LOG_DEBUG, "s3: %s %s%s%s -> %ld%s%s (%.3f s, attempt %d)", rq->method, t.url,
               rq->query ? "?" : "", rq->query ? rq->query : "", rs->status,
               cc != CURLE_OK ? " " : "", cc != CURLE_OK ? curl_easy_strerror(cc) : "",
               pd_time_mono() - t0, attempt + 1);
        if (rs->sink_rc != 0) {
            rc = rs->sink_rc;
            break;
        }
        if (rs->stream_error) {
            rc = PD_ESERVICE;
            break;
        }
        if (rq->sink && first_etag == NULL && rs->etag && (rs->status == 200 || rs->status == 206))
            first_etag = pd_xstrdup(rs->etag);
        if (cc != CURLE_OK) {
            if (!is_retryable_curl(cc) || attempt >= c->opt.max_retries) {
                char *msg = pd_redact(errbuf[0] ? errbuf : curl_easy_strerror(cc));

                rc = PD_ERR_SET(err, PD_ESERVICE, "s3: %s %s: %s%s", rq->method, name, msg,
                                attempt ? " (after retries)" : "");
                free(msg);
                break;
            }
            why = curl_easy_strerror(cc);
        } else if (rs->status >= 400) {
            struct s3_error_doc doc;
            struct pd_err ignore = {0};

            if (rs->body.len > 0 &&
                s3_error_parse(&doc, rs->body.data, rs->body.len, &ignore) == 0) {
                snprintf(code_buf, sizeof(code_buf), "%s", doc.code ? doc.code : "");
                s3_error_doc_free(&doc);
            }
            if (!is_retryable_status(rs->status, code_buf) || attempt >= c->opt.max_retries) {
                rc = 0;
                break;
            }
            why = code_buf[0] ? code_buf : "server error";
        } else {
            rc = 0;
            break;
        }
        if (rq->sink && rs->delivered > 0 && first_etag && if_match == NULL)
            if_match = pd_xasprintf("\"%s\"", first_etag);
        pd_log(PD_LOG_INFO, "s3: %s %s: %s (HTTP %ld), retrying (%d of %d)", rq->method, name, why,
               rs->status, attempt + 1, c->opt.max_retries);
        backoff(c, attempt);
    }
    handle_give(c, h);
    s3_target_free(&t);
    free(range);
    free(if_match);
    free(first_etag);
    free(name);
    return rc;
}

/* Turn a final non-2xx response into an error naming the operation. */
static int
status_error(const char *op, const struct req *rq, const struct resp *rs, struct pd_err *err)
{
    struct s3_error_doc doc;
    struct pd_err ignore = {0};
    char *name = object_name(rq);
    int kind = rs->status == 404 ? PD_ENOENT : PD_ESERVICE, rc;

    if (rs->body.len > 0 && s3_error_parse(&doc, rs->body.data, rs->body.len, &ignore) == 0 &&
        doc.code) {
        char *msg = pd_redact(doc.message ? doc.message : "");

        if (rs->status == 404 && strcmp(doc.code, "NoSuchKey") != 0 &&
            strcmp(doc.code, "NoSuchBucket") != 0 && strcmp(doc.code, "NoSuchUpload") != 0)
            kind = PD_ESERVICE;
        rc = PD_ERR_SET(err, kind, "s3: %s %s: HTTP %ld %s%s%s", op, name, rs->status, doc.code,
                        *msg ? ": " : "", msg);
        free(msg);
        s3_error_doc_free(&doc);
    } else if (rs->status == 404) {
        rc = PD_ERR_SET(err, kind, "s3: %s %s: not found (HTTP 404)", op, name);
    } else {
        rc = PD_ERR_SET(err, kind, "s3: %s %s: HTTP %ld", op, name, rs->status);
    }
    free(name);
    return rc;
}

static void
add_header(struct req *rq, const char *name, const char *value)
{
    PD_ASSERT(rq->n_extra < MAX_EXTRA_HEADERS);
    rq->extra[rq->n_extra].name = name;
    rq->extra[rq->n_extra].value = value;
    rq->n_extra++;
}

/* Headers of s3_put_options; metadata names are built into names[] (freed by the caller). */
static int
add_put_headers(struct req *rq, const struct s3_put_options *opt, char **names, size_t max_names,
                struct pd_err *err)
{
    size_t n = 0;

    if (opt == NULL)
        return 0;
    if (opt->content_type)
        add_header(rq, "content-type", opt->content_type);
    if (opt->sse) {
        if (strcmp(opt->sse, "AES256") != 0 && strcmp(opt->sse, "aws:kms") != 0)
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: server-side encryption '%.40s' is not AES256 or aws:kms",
                              opt->sse);
        add_header(rq, "x-amz-server-side-encryption", opt->sse);
        if (opt->sse_kms_key_id && strcmp(opt->sse, "aws:kms") == 0)
            add_header(rq, "x-amz-server-side-encryption-aws-kms-key-id", opt->sse_kms_key_id);
    }
    if (opt->storage_class)
        add_header(rq, "x-amz-storage-class", opt->storage_class);
    for (const char *const *m = opt->metadata; m && m[0]; m += 2) {
        if (m[1] == NULL || n == max_names || rq->n_extra == MAX_EXTRA_HEADERS)
            return PD_ERR_SET(err, PD_EINPUT, "s3: too many or unpaired metadata entries");
        names[n] = pd_xasprintf("x-amz-meta-%s", m[0]);
        add_header(rq, names[n], m[1]);
        n++;
    }
    return 0;
}

/* ---- operations ----------------------------------------------------------- */

static double
parse_http_date(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
        return 0;
    return (double)timegm(&tm);
}

int
s3_client_head(struct s3_client *c, struct s3_head *out, const char *bucket, const char *key,
               struct pd_err *err)
{
    struct req rq = {
        .method = "HEAD", .bucket = bucket, .key = key, .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct resp rs;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = status_error("HEAD", &rq, &rs, err);
        goto out;
    }
    compliance_note_object(bucket, key, rs.sse);
    out->size = rs.content_length;
    out->etag = rs.etag;
    rs.etag = NULL;
    out->content_type = rs.content_type;
    rs.content_type = NULL;
    out->storage_class = rs.storage_class;
    rs.storage_class = NULL;
    out->sse = rs.sse;
    rs.sse = NULL;
    out->last_modified = parse_http_date(rs.last_modified);
    out->metadata = rs.meta;
    rs.meta = NULL;
    rs.n_meta = 0;
    if (out->metadata == NULL)
        out->metadata = pd_xcalloc(1, sizeof(char *));
out:
    resp_free(&rs);
    return rc;
}

void
s3_head_free(struct s3_head *h)
{
    if (h == NULL)
        return;
    PD_FREE(h->etag);
    PD_FREE(h->content_type);
    PD_FREE(h->storage_class);
    PD_FREE(h->sse);
    for (char **m = h->metadata; m && *m; m++)
        free(*m);
    PD_FREE(h->metadata);
}

int
s3_client_get(struct s3_client *c, const char *bucket, const char *key, uint64_t offset,
              s3_sink_fn *sink, void *payload, uint64_t *bytes_out, struct pd_err *err)
{
    struct req rq = {.method = "GET",
                     .bucket = bucket,
                     .key = key,
                     .payload_hash = S3_SIGV4_EMPTY_SHA256,
                     .sink = sink,
                     .sink_payload = payload,
                     .offset = offset};
    struct resp rs;
    int rc;

    if (bytes_out)
        *bytes_out = 0;
    rc = request(c, &rq, &rs, err);
    if (rc == 0 && rs.status == 416 && rs.delivered > 0 && rs.total == offset + rs.delivered) {
        // the connection dropped right after the last byte; the resume asked for nothing
        rs.status = 206;
    }
    if (rc == 0 && rs.status == 412) {
        char *name = object_name(&rq);

        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: GET %s: the object changed while it was being downloaded", name);
        free(name);
    } else if (rc == 0 && rs.status != 200 && rs.status != 206) {
        rc = status_error("GET", &rq, &rs, err);
    } else if (rc == 0) {
        compliance_note_object(bucket, key, rs.sse);
    }
    if (bytes_out)
        *bytes_out = rs.delivered;
    resp_free(&rs);
    return rc;
}

int
s3_client_put(struct s3_client *c, const char *bucket, const char *key, const void *data,
              size_t len, const struct s3_put_options *opt, char **etag_out, struct pd_err *err)
{
    struct req rq = {.method = "PUT", .bucket = bucket, .key = key, .body = data, .body_len = len};
    char *names[MAX_EXTRA_HEADERS] = {0};
    char hash[65];
    struct resp rs;
    int rc;

    memset(&rs, 0, sizeof(rs));
    if (etag_out)
        *etag_out = NULL;
    pd_sha256_hex(hash, data ? data : "", len);
    rq.payload_hash = hash;
    if ((rc = add_put_headers(&rq, opt, names, MAX_EXTRA_HEADERS, err)) != 0)
        goto out;
    if ((rc = request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = status_error("PUT", &rq, &rs, err);
        goto out;
    }
    if (etag_out) {
        *etag_out = rs.etag;
        rs.etag = NULL;
    }
out:
    for (size_t i = 0; i < MAX_EXTRA_HEADERS; i++)
        free(names[i]);
    resp_free(&rs);
    return rc;
}

int
s3_client_replace_metadata(struct s3_client *c, const char *bucket, const char *key,
                           const struct s3_put_options *opt, const char *if_match,
                           struct pd_err *err)
{
    struct req rq = {.method = "PUT",
                     .bucket = bucket,
                     .key = key,
                     .body = "",
                     .body_len = 0,
                     .payload_hash = S3_SIGV4_EMPTY_SHA256};
    char *names[MAX_EXTRA_HEADERS] = {0};
    char *enc = s3_sigv4_uri_encode(key, strlen(key), 1);
    char *source = pd_xasprintf("/%s/%s", bucket, enc);
    char *match = if_match ? pd_xasprintf("\"%s\"", if_match) : NULL;
    char *root = NULL;
    struct resp rs;
    int rc;

    memset(&rs, 0, sizeof(rs));
    add_header(&rq, "x-amz-copy-source", source);
    add_header(&rq, "x-amz-metadata-directive", "REPLACE");
    if (match)
        add_header(&rq, "x-amz-copy-source-if-match", match);
    if ((rc = add_put_headers(&rq, opt, names, MAX_EXTRA_HEADERS, err)) != 0)
        goto out;
    if ((rc = request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = status_error("COPY", &rq, &rs, err);
        goto out;
    }
    // like Complete, a copy can fail after the 200 status line
    if ((rc = s3_xml_root(&root, "copy response", rs.body.data, rs.body.len, err)) != 0)
        goto out;
    if (strcmp(root, "CopyObjectResult") != 0) {
        rs.status = 500;
        rc = status_error("COPY", &rq, &rs, err);
    }
out:
    for (size_t i = 0; i < MAX_EXTRA_HEADERS; i++)
        free(names[i]);
    free(root);
    free(match);
    free(source);
    free(enc);
    resp_free(&rs);
    return rc;
}

int
s3_client_delete(struct s3_client *c, const char *bucket, const char *key, struct pd_err *err)
{
    struct req rq = {
        .method = "DELETE", .bucket = bucket, .key = key, .payload_hash = S3_SIGV4_EMPTY_SHA256};
    struct resp rs;
    int rc = request(c, &rq, &rs, err);

    if (rc == 0 && rs.status != 204 && rs.status != 200)
        rc = status_error("DELETE", &rq, &rs, err);
    resp_free(&rs);
    return rc;
}

static void
query_add(struct pd_buf *q, const char *name, const char *value)
{
    char *n = s3_sigv4_uri_encode(name, strlen(name), 0);
    char *v = s3_sigv4_uri_encode(value ? value : "", value ? strlen(value) : 0, 0);

    pd_buf_appendf(q, NULL, "%s%s=%s", q->len ? "&" : "", n, v);
    free(n);
    free(v);
}

int
s3_client_list(struct s3_client *c, const char *bucket, const char *prefix, const char *delimiter,
               int max_keys, s3_page_fn *on_page, void *payload, struct pd_err *err)
{
    char *token = NULL;
    int rc = 0, pages = 0;

    do {
        struct pd_buf q;
        struct req rq = {.method = "GET",
                         .bucket = bucket,
                         .key = "",
                         .payload_hash = S3_SIGV4_EMPTY_SHA256,
                         .body_cap = LIST_BODY_CAP};
        struct resp rs;
        struct s3_list_page page;
        char num[16];

        pd_buf_init(&q, 0);
        // sorted, so the wire query is already canonical
        // cppcheck-suppress knownConditionTrueFalse ; the previous page sets token
        if (token)
            query_add(&q, "continuation-token", token);
        if (delimiter)
            query_add(&q, "delimiter", delimiter);
        query_add(&q, "list-type", "2");
        if (max_keys > 0) {
            snprintf(num, sizeof(num), "%d", max_keys);
            query_add(&q, "max-keys", num);
        }
        query_add(&q, "prefix", prefix ? prefix : "");
        rq.query = pd_buf_str(&q);
        for (int attempt = 0;; attempt++) {
            struct pd_err perr = {0};

            rc = request(c, &rq, &rs, err);
            if (rc == 0 && rs.status != 200)
                rc = status_error("LIST", &rq, &rs, err);
            if (rc == 0 && rs.body_overflow)
                rc = PD_ERR_SET(err, PD_ESERVICE, "s3: LIST s3://%s/%s: page larger than %zu bytes",
                                bucket, prefix ? prefix : "", LIST_BODY_CAP);
            if (rc == 0)
                rc = s3_list_parse(&page, rs.body.data, rs.body.len, &perr);
            resp_free(&rs);
            if (rc != PD_EINPUT)
                break;
            /*
             * A 200 whose XML does not parse was cut or mangled on the way
             * (a proxy, a connection dropped behind a load balancer): a
             * service fault, retried like one and never read as a shorter
             * listing. The parser's message keeps what was wrong.
             */
            if (attempt >= c->opt.max_retries) {
                rc = PD_ERR_SET(err, PD_ESERVICE, "s3: LIST s3://%s/%s: %s%s", bucket,
                                prefix ? prefix : "",
                                strncmp(perr.msg, "s3: ", 4) == 0 ? perr.msg + 4 : perr.msg,
                                attempt ? " (after retries)" : "");
                break;
            }
            pd_log(PD_LOG_INFO, "s3: LIST s3://%s/%s: %s, retrying (%d of %d)", bucket,
                   prefix ? prefix : "", perr.msg, attempt + 1, c->opt.max_retries);
            backoff(c, attempt);
        }
        pd_buf_free(&q);
        if (rc != 0)
            break;
        pages++;
        rc = on_page(&page, payload, err);
        PD_FREE(token);
        if (rc == 0 && page.is_truncated) {
            token = page.next_continuation_token;
            page.next_continuation_token = NULL;
        }
        s3_list_page_free(&page);
    } while (rc == 0 && token);
    free(token);
    if (rc != 0 && pages > 0)
        pd_err_prefix(err, "after %d page%s: ", pages, pages == 1 ? "" : "s");
    return rc;
}

/* ---- multipart ---------------------------------------------------------- */

struct s3_multipart {
    struct s3_client *c;
    char *bucket;
    char *key;
    char *upload_id;
    pthread_mutex_t lock;
    char **etags; /* [part - 1], NULL until uploaded */
    int n_parts;  /* highest part number seen */
};

int
s3_multipart_begin(struct s3_multipart **out, struct s3_client *c, const char *bucket,
                   const char *key, const struct s3_put_options *opt, struct pd_err *err)
{
    struct req rq = {.method = "POST",
                     .bucket = bucket,
                     .key = key,
                     .query = "uploads=",
                     .payload_hash = S3_SIGV4_EMPTY_SHA256};
    char *names[MAX_EXTRA_HEADERS] = {0};
    struct resp rs;
    char *id = NULL;
    int rc;

    *out = NULL;
    memset(&rs, 0, sizeof(rs));
    if ((rc = add_put_headers(&rq, opt, names, MAX_EXTRA_HEADERS, err)) != 0)
        goto out;
    if ((rc = request(c, &rq, &rs, err)) != 0)
        goto out;
    if (rs.status != 200) {
        rc = status_error("CREATE-MULTIPART", &rq, &rs, err);
        goto out;
    }
    if ((rc = s3_xml_text(&id, "create multipart response", rs.body.data, rs.body.len,
                          "InitiateMultipartUploadResult/UploadId", err)) != 0)
        goto out;
    if (id == NULL || *id == '\0') {
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: CREATE-MULTIPART s3://%s/%s: no UploadId in the answer", bucket, key);
        goto out;
    }
    struct s3_multipart *m = pd_xcalloc(1, sizeof(*m));
    m->c = c;
    m->bucket = pd_xstrdup(bucket);
    m->key = pd_xstrdup(key);
    m->upload_id = id;
    id = NULL;
    pthread_mutex_init(&m->lock, NULL);
    m->etags = pd_xcalloc(MAX_PARTS, sizeof(char *));
    *out = m;
out:
    free(id);
    for (size_t i = 0; i < MAX_EXTRA_HEADERS; i++)
        free(names[i]);
    resp_free(&rs);
    return rc;
}

const char *
s3_multipart_upload_id(const struct s3_multipart *m)
{
    return m->upload_id;
}

int
s3_multipart_upload_part(struct s3_multipart *m, int part, const void *data, size_t len,
                         struct pd_err *err)
{
    char hash[65];
    struct pd_buf q;
    char num[16];
    struct resp rs;
    int rc;

    if (part < 1 || part > MAX_PARTS)
        return PD_ERR_SET(err, PD_EINPUT, "s3: part number %d is outside 1..%d", part, MAX_PARTS);
    pd_sha256_hex(hash, data ? data : "", len);
    pd_buf_init(&q, 0);
    snprintf(num, sizeof(num), "%d", part);
    query_add(&q, "partNumber", num);
    query_add(&q, "uploadId", m->upload_id);
    struct req rq = {.method = "PUT",
                     .bucket = m->bucket,
                     .key = m->key,
                     .query = pd_buf_str(&q),
                     .body = data,
                     .body_len = len,
                     .payload_hash = hash};
    rc = request(m->c, &rq, &rs, err);
    if (rc == 0 && rs.status != 200)
        rc = status_error("UPLOAD-PART", &rq, &rs, err);
    if (rc == 0 && (rs.etag == NULL || *rs.etag == '\0'))
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: UPLOAD-PART s3://%s/%s part %d: no ETag in the answer", m->bucket,
                        m->key, part);
    if (rc == 0) {
        pthread_mutex_lock(&m->lock);
        free(m->etags[part - 1]);
        m->etags[part - 1] = rs.etag;
        rs.etag = NULL;
        if (part > m->n_parts)
            m->n_parts = part;
        pthread_mutex_unlock(&m->lock);
    } else {
        pd_err_prefix(err, "part %d: ", part);
    }
    resp_free(&rs);
    pd_buf_free(&q);
    return rc;
}

int
s3_multipart_complete(struct s3_multipart *m, char **etag_out, struct pd_err *err)
{
    struct pd_buf body, q;
    char hash[65];
    struct resp rs;
    char *root = NULL, *etag = NULL;
    int rc = 0, sent = 0;

    if (etag_out)
        *etag_out = NULL;
    memset(&rs, 0, sizeof(rs));
    pd_buf_init(&body, 0);
    pd_buf_init(&q, 0);
    if (m->n_parts == 0) {
        rc = PD_ERR_SET(err, PD_EBUG, "s3: COMPLETE-MULTIPART s3://%s/%s: no parts uploaded",
                        m->bucket, m->key);
        goto out;
    }
    pd_buf_appendf(&body, NULL,
                   "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < m->n_parts; i++) {
        if (m->etags[i] == NULL) {
            rc = PD_ERR_SET(err, PD_EBUG, "s3: COMPLETE-MULTIPART s3://%s/%s: part %d is missing",
                            m->bucket, m->key, i + 1);
            goto out;
        }
        pd_buf_appendf(&body, NULL, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
                       i + 1, m->etags[i]);
    }
    pd_buf_appendf(&body, NULL, "</CompleteMultipartUpload>");
    pd_sha256_hex(hash, body.data, body.len);
    query_add(&q, "uploadId", m->upload_id);
    struct req rq = {.method = "POST",
                     .bucket = m->bucket,
                     .key = m->key,
                     .query = pd_buf_str(&q),
                     .body = body.data,
                     .body_len = body.len,
                     .payload_hash = hash};
    add_header(&rq, "content-type", "application/xml");
    for (int attempt = 0;; attempt++) {
        char *code = NULL;
        int retry;

        resp_free(&rs);
        PD_FREE(root);
        if ((rc = request(m->c, &rq, &rs, err)) != 0)
            goto out;
        sent += rs.attempts;
        if (rs.status == 404 && sent > 1) {
            /*
             * An earlier attempt may have completed the upload and only its
             * answer was lost: then the object is there and the upload gone.
             */
            struct s3_head h;
            struct pd_err herr = {0};

            if (s3_client_head(m->c, &h, m->bucket, m->key, &herr) == 0) {
                pd_log(PD_LOG_WARN,
                       "s3: COMPLETE-MULTIPART s3://%s/%s: upload already completed "
                       "by an earlier attempt",
                       m->bucket, m->key);
                etag = pd_xasprintf("\"%s\"", h.etag ? h.etag : "");
                s3_head_free(&h);
                break;
            }
        }
        if (rs.status != 200) {
            rc = status_error("COMPLETE-MULTIPART", &rq, &rs, err);
            goto out;
        }
        // S3 may answer 200 and report the failure in the body; InternalError is worth a retry
        if ((rc = s3_xml_root(&root, "complete multipart response", rs.body.data, rs.body.len,
                              err)) != 0)
            goto out;
        if (strcmp(root, "CompleteMultipartUploadResult") == 0) {
            if ((rc = s3_xml_text(&etag, "complete multipart response", rs.body.data, rs.body.len,
                                  "CompleteMultipartUploadResult/ETag", err)) != 0)
                goto out;
            break;
        }
        if ((rc = s3_xml_text(&code, "complete multipart response", rs.body.data, rs.body.len,
                              "Error/Code", err)) != 0)
            goto out;
        retry = is_retryable_status(0, code) && attempt < m->c->opt.max_retries;
        free(code);
        if (!retry) {
            rs.status = 500;
            rc = status_error("COMPLETE-MULTIPART", &rq, &rs, err);
            goto out;
        }
        backoff(m->c, attempt);
    }
    if (etag == NULL) {
        rc =
            PD_ERR_SET(err, PD_ESERVICE, "s3: COMPLETE-MULTIPART s3://%s/%s: no ETag in the answer",
                       m->bucket, m->key);
        goto out;
    }
    if (etag_out) {
        size_t n = strlen(etag);

        *etag_out = n >= 2 && etag[0] == '"' ? pd_xstrndup(etag + 1, n - 2) : pd_xstrdup(etag);
    }
out:
    free(etag);
    free(root);
    resp_free(&rs);
    pd_buf_free(&body);
    pd_buf_free(&q);
    return rc;
}

int
s3_multipart_abort(struct s3_multipart *m, struct pd_err *err)
{
    return s3_multipart_abort_id(m->c, m->bucket, m->key, m->upload_id, err);
}

int
s3_multipart_abort_id(struct s3_client *c, const char *bucket, const char *key,
                      const char *upload_id, struct pd_err *err)
{
    struct pd_buf q;
    struct resp rs;
    int rc;

    pd_buf_init(&q, 0);
    query_add(&q, "uploadId", upload_id);
    struct req rq = {.method = "DELETE",
                     .bucket = bucket,
                     .key = key,
                     .query = pd_buf_str(&q),
                     .payload_hash = S3_SIGV4_EMPTY_SHA256};
    rc = request(c, &rq, &rs, err);
    if (rc == 0 && rs.status != 204 && rs.status != 200 && rs.status != 404)
        rc = status_error("ABORT-MULTIPART", &rq, &rs, err);
    resp_free(&rs);
    pd_buf_free(&q);
    return rc;
}

void
s3_multipart_free(struct s3_multipart *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < MAX_PARTS; i++)
        free(m->etags[i]);
    free(m->etags);
    pthread_mutex_destroy(&m->lock);
    free(m->bucket);
    free(m->key);
    free(m->upload_id);
    free(m);
}
