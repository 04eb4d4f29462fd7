#include "http/http.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "pd_time.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void
curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
http_response_init(struct http_response *resp)
{
    resp->status = 0;
    pd_buf_init(&resp->body, 0);
    resp->content_type = NULL;
    resp->retry_after = NULL;
    resp->request_id = NULL;
    resp->fail = HTTP_FAIL_NONE;
    resp->fail_text = NULL;
    resp->fail_name = NULL;
    resp->new_connection = 0;
    resp->attempts = 0;
}

void
http_response_free(struct http_response *resp)
{
    if (resp == NULL)
        return;
    pd_buf_free(&resp->body);
    PD_FREE(resp->content_type);
    PD_FREE(resp->retry_after);
    PD_FREE(resp->request_id);
    PD_FREE(resp->fail_text);
    resp->fail_name = NULL;
    resp->status = 0;
    resp->fail = HTTP_FAIL_NONE;
    resp->new_connection = 0;
}

int
http_plain_http_allowed(void)
{
    const char *v = getenv(HTTP_ALLOW_PLAIN_ENV);

    return v != NULL &&
           (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

/*
 * Scheme and host of url and, when endpoint is not NULL, "scheme://host:port"
 * (the port made explicit), all owned by the caller; -1 when it does not parse.
 */
static int
url_parts(const char *url, char **scheme, char **host, char **endpoint)
{
    CURLU *u = curl_url();
    char *s = NULL, *h = NULL, *p = NULL;
    int rc = -1;

    *scheme = NULL;
    *host = NULL;
    if (endpoint != NULL)
        *endpoint = NULL;
    if (u == NULL)
        return -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &s, 0) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
        goto out;
    if (endpoint != NULL) {
        if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK)
            goto out;
        *endpoint = pd_xasprintf("%s://%s:%s", s, h, p);
    }
    *scheme = pd_xstrdup(s);
    *host = pd_xstrdup(h);
    rc = 0;
out:
    curl_free(s);
    curl_free(h);
    curl_free(p);
    curl_url_cleanup(u);
    return rc;
}

/*
 * The link-local addresses AWS serves credentials on over plain http by
 * design (instance metadata, ECS and EKS Pod Identity agents): reachable
 * only from the host itself, like loopback.
 */
static int
is_aws_metadata_host(const char *host)
{
    static const char *const hosts[] = {"169.254.169.254", "169.254.170.2",   "169.254.170.23",
                                        "fd00:ec2::254",   "[fd00:ec2::254]", "fd00:ec2::23",
                                        "[fd00:ec2::23]"};

    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        if (strcmp(host, hosts[i]) == 0)
            return 1;
    }
    return 0;
}

/* http_check_url, with allow_link_local as struct http_request has it. */
static int
check_url(const char *url, int allow_link_local, struct pd_err *err)
{
    char *scheme = NULL, *host = NULL, *shown = NULL;
    int rc = 0;

    pthread_once(&curl_once, curl_init_once);
    shown = pd_redact(url ? url : "");
    if (url == NULL || url_parts(url, &scheme, &host, NULL) != 0 || host[0] == '\0') {
        rc = PD_ERR_SET(err, PD_EUSAGE, "http: %s: not a valid url", shown);
        goto out;
    }
    if (strcasecmp(scheme, "https") == 0)
        goto out;
    if (strcasecmp(scheme, "http") != 0) {
        rc = PD_ERR_SET(err, PD_EUSAGE, "http: %s: unsupported scheme %s (use https)", shown,
                        scheme);
        goto out;
    }
    if (!pd_host_is_loopback(host) && !(allow_link_local && is_aws_metadata_host(host)) &&
        !http_plain_http_allowed())
        rc = PD_ERR_SET(err, PD_EUSAGE,
                        "http: %s: plain http is allowed only for loopback hosts (use https, "
                        "or set " HTTP_ALLOW_PLAIN_ENV "=1 to override)",
                        shown);
out:
    free(scheme);
    free(host);
    free(shown);
    return rc;
}

int
http_check_url(const char *url, struct pd_err *err)
{
    return check_url(url, 0, err);
}

/* ---- observer ------------------------------------------------------------ */

static http_observer_fn *observer_fn;
static void *observer_payload;

void
http_set_observer(http_observer_fn *fn, void *payload)
{
    observer_fn = fn;
    observer_payload = payload;
}

/*
 * Tell the observer about a request sent, and warn loudly about plain http
 * outside loopback (only possible with the override) on every connection
 * opened for it: a reused connection was named when it was opened.
 */
static void
note_request(const char *url, const char *peer, int allow_link_local, int new_connection)
{
    char *scheme = NULL, *host = NULL, *endpoint = NULL;
    struct http_event ev;

    if (url_parts(url, &scheme, &host, &endpoint) != 0)
        return; /* uncovered: http_check_url parsed it already */
    ev.tls = strcasecmp(scheme, "https") == 0;
    ev.loopback = pd_host_is_loopback(host);
    ev.new_connection = new_connection;
    ev.host = peer != NULL ? peer : host;
    if (peer != NULL) {
        free(endpoint);
        endpoint = pd_xasprintf("%s://%s", ev.tls ? "https" : "http", peer);
    }
    ev.endpoint = endpoint;
    if (!ev.tls && !ev.loopback && !(allow_link_local && is_aws_metadata_host(host)) &&
        new_connection)
        pd_log(PD_LOG_WARN,
               "WARNING: plain http to non-loopback host %s (" HTTP_ALLOW_PLAIN_ENV
               " is set): the connection is not encrypted",
               ev.host);
    if (observer_fn != NULL)
        observer_fn(&ev, observer_payload);
    free(scheme);
    free(host);
    free(endpoint);
}

void
http_note_request(const char *url, const char *peer, int new_connection)
{
    note_request(url, peer, 0, new_connection);
}

/* ---- handles ----------------------------------------------------------- */

#define POOL_MAX 16

struct http_transport {
    pthread_mutex_t lock;
    CURL *pool[POOL_MAX]; /* idle handles, kept for connection reuse */
    size_t n_pool;
};

struct http_transport *
http_transport_new(void)
{
    struct http_transport *t = pd_xcalloc(1, sizeof(*t));

    pthread_mutex_init(&t->lock, NULL);
    return t;
}

void
http_transport_free(struct http_transport *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_pool; i++)
        curl_easy_cleanup(t->pool[i]);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* A handle from t's pool, or a new one; NULL only when libcurl cannot make one. */
static CURL *
handle_take(struct http_transport *t)
{
    CURL *h = NULL;

    if (t != NULL) {
        pthread_mutex_lock(&t->lock);
        if (t->n_pool > 0)
            h = t->pool[--t->n_pool];
        pthread_mutex_unlock(&t->lock);
        if (h != NULL) {
            curl_easy_reset(h); // keeps the connection cache, forgets the options
            return h;
        }
    }
    return curl_easy_init();
}

static void
handle_give(struct http_transport *t, CURL *h)
{
    if (h == NULL)
        return;
    if (t != NULL) {
        pthread_mutex_lock(&t->lock);
        if (t->n_pool < POOL_MAX) {
            t->pool[t->n_pool++] = h;
            h = NULL;
        }
        pthread_mutex_unlock(&t->lock);
    }
    if (h != NULL)
        curl_easy_cleanup(h);
}

struct recv_state {
    const struct http_request *req;
    struct http_response *resp;
    int too_big;
    int aborted;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct recv_state *st = userdata;
    size_t n = size * nmemb;

    if (st->req->on_body != NULL) {
        if (st->req->on_body(ptr, n, st->req->payload) != 0) {
            st->aborted = 1;
            return 0; // makes curl fail with CURLE_WRITE_ERROR
        }
        return n;
    }
    if (pd_buf_append(&st->resp->body, ptr, n, NULL) != 0) {
        st->too_big = 1;
        return 0;
    }
    return n;
}

/* A request body from memory, which libcurl may rewind. */
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

/* Copy of a header value with surrounding blanks removed. */
static char *
header_value(const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    return pd_xstrndup(p, len);
}

static int
header_is(const char *line, size_t len, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);

    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return 0;
    *value = line + n + 1;
    *vlen = len - n - 1;
    return 1;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct recv_state *st = userdata;
    struct http_response *r = st->resp;
    size_t n = size * nmemb;
    const char *v;
    size_t vlen;

    if (st->req->on_header != NULL && st->req->on_header(ptr, n, st->req->payload) != 0) {
        st->aborted = 1;
        return 0;
    }
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        // a new status line (after 100 Continue): forget earlier headers
        PD_FREE(r->content_type);
        PD_FREE(r->retry_after);
        PD_FREE(r->request_id);
    } else if (header_is(ptr, n, "Content-Type", &v, &vlen)) {
        free(r->content_type);
        r->content_type = header_value(v, vlen);
    } else if (header_is(ptr, n, "Retry-After", &v, &vlen)) {
        free(r->retry_after);
        r->retry_after = header_value(v, vlen);
    } else if (header_is(ptr, n, "X-Neon-Ret-Request-Id", &v, &vlen)) {
        free(r->request_id);
        r->request_id = header_value(v, vlen);
    } else if (header_is(ptr, n, "X-Request-Id", &v, &vlen) && r->request_id == NULL) {
        r->request_id = header_value(v, vlen);
    }
    return n;
}

/* curl's messages start with a capital; ours are lowercase. */
static void
lower_first(char *s)
{
    if (s[0] != '\0' && !(s[1] != '\0' && isupper((unsigned char)s[1])))
        s[0] = (char)tolower((unsigned char)s[0]);
}

static const char *
curl_what(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return "could not resolve host";
    case CURLE_COULDNT_CONNECT:
        return "could not connect";
    case CURLE_OPERATION_TIMEDOUT:
        return "timed out";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return "tls failure";
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return "connection dropped";
    default:
        return "request failed";
    }
}

/* Failures worth another attempt: the network, not the request, went wrong. */
static int
curl_transient(CURLcode cc)
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

/* Everything but the body source and the callbacks' data, on a fresh or reset handle. */
static void
set_options(CURL *h, const struct http_request *req, struct curl_slist *hdrs, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms
                                             : HTTP_CONNECT_TIMEOUT_MS_DEFAULT);
    if (req->timeout_ms >= 0)
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                         req->timeout_ms ? req->timeout_ms : HTTP_TIMEOUT_MS_DEFAULT);
    if (req->stall_timeout_s > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, req->stall_timeout_s);
    }
    if (req->user_agent == NULL)
        curl_easy_setopt(h, CURLOPT_USERAGENT, "pgdrill/" PD_VERSION);
    else if (req->user_agent[0] != '\0')
        curl_easy_setopt(h, CURLOPT_USERAGENT, req->user_agent);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    // a loopback server must never be reached through an environment proxy
    if (strncasecmp(req->url, "http://", 7) == 0)
        curl_easy_setopt(h, CURLOPT_PROXY, "");
}

/* How the body goes out: PUT streams it, other methods post it from memory. */
static void
set_method(CURL *h, const struct http_request *req, struct upload *up)
{
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(req->method, "PUT") == 0 && req->body != NULL) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, up);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, up);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
    } else {
        if (req->body != NULL) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        }
        if (strcmp(req->method, "GET") != 0 || req->body != NULL)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

/* Translate a failed transfer into out->fail and err. */
static int
transfer_error(struct http_response *out, const struct http_request *req, const char *shown,
               CURLcode cc, const char *errbuf, const struct recv_state *st, struct pd_err *err)
{
    char tmp[CURL_ERROR_SIZE + 64];
    char *detail;
    int rc;

    if (st->too_big) {
        out->fail = HTTP_FAIL_TOO_BIG;
        return PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: response body larger than %zu bytes",
                          req->method, shown, out->body.cap);
    }
    out->fail_text = pd_redact(errbuf[0] ? errbuf : curl_easy_strerror(cc));
    out->fail_name = curl_easy_strerror(cc);
    if (st->aborted) {
        out->fail = HTTP_FAIL_ABORTED;
        return PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: stopped by the receiver", req->method,
                          shown);
    }
    out->fail = curl_transient(cc) ? HTTP_FAIL_TRANSIENT : HTTP_FAIL_OTHER;
    snprintf(tmp, sizeof(tmp), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    lower_first(tmp);
    detail = pd_redact(tmp);
    rc = PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: %s (%s)", req->method, shown, curl_what(cc),
                    detail);
    pd_log(PD_LOG_DEBUG, "http: %s %s: curl error %d", req->method, shown, (int)cc);
    free(detail);
    return rc;
}

int
http_perform(struct http_transport *t, struct http_response *out, const struct http_request *req,
             struct pd_err *err)
{
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE];
    char *shown = NULL;
    struct recv_state st = {req, out, 0, 0};
    struct upload up = {req->body, req->body_len, 0};
    long connects = 0;
    CURLcode cc;
    double t0;
    int rc;

    http_response_free(out);
    http_response_init(out);
    out->body.cap = req->max_body ? req->max_body : HTTP_MAX_BODY_DEFAULT;
    rc = check_url(req->url, req->allow_link_local, err);
    if (rc != 0)
        return rc;
    shown = pd_redact(req->url);
    if (curl_init_rc != CURLE_OK) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: libcurl initialisation failed", req->method,
                        shown);
        goto out;
    }
    h = handle_take(t);
    if (h == NULL) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: libcurl handle creation failed",
                        req->method, shown);
        goto out;
    }
    for (size_t i = 0; i < req->n_headers; i++)
        hdrs = curl_slist_append(hdrs, req->headers[i]);
    // without this, curl adds "Expect: 100-continue" to larger bodies
    hdrs = curl_slist_append(hdrs, "Expect:");
    errbuf[0] = '\0';
    set_options(h, req, hdrs, errbuf);
    set_method(h, req, &up);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);

    t0 = pd_time_mono();
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
    out->new_connection = connects > 0;
    note_request(req->url, req->peer, req->allow_link_local, out->new_connection);
    if (cc != CURLE_OK || st.too_big) {
        rc = transfer_error(out, req, shown, cc, errbuf, &st, err);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    pd_log(PD_LOG_DEBUG, "http: %s %s -> %ld (%zu bytes, %.3fs)", req->method, shown, out->status,
           out->body.len, pd_time_mono() - t0);
    rc = 0;
out:
    curl_slist_free_all(hdrs);
    handle_give(t, h);
    free(shown);
    return rc;
}

int
http_request(struct http_response *out, const struct http_request *req, struct pd_err *err)
{
    return http_perform(NULL, out, req, err);
}

/* ---- the one retry loop ------------------------------------------------ */

void
http_sleep_default(double seconds, void *payload)
{
    struct timespec ts;

    (void)payload;
    if (seconds <= 0)
        return;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/*
 * Backoff before attempt + 1: base * 2^(attempt-1) capped, with jitter in
 * [d/2, d] so that retries of parallel requests (S3 parts, many clients) do
 * not line up. The seed is per thread: parts upload from several threads.
 */
static double
backoff_delay(const struct http_retry_policy *p, int attempt)
{
    static __thread unsigned int seed;
    double d = p->backoff_base_s;

    if (seed == 0)
        seed = (unsigned int)time(NULL) ^ (unsigned int)getpid() ^ (unsigned int)(uintptr_t)&seed;
    for (int i = 1; i < attempt && d < p->backoff_max_s; i++)
        d *= 2;
    if (d > p->backoff_max_s)
        d = p->backoff_max_s;
    return d * (0.5 + 0.5 * ((double)rand_r(&seed) / (double)RAND_MAX));
}

void
http_retry_wait(const struct http_retry_policy *policy, int attempt)
{
    double delay = backoff_delay(policy, attempt);

    if (policy->sleep != NULL)
        policy->sleep(delay, policy->sleep_payload);
    else
        http_sleep_default(delay, NULL);
}

int
http_exchange(struct http_transport *t, struct http_response *out, struct http_request *req,
              const struct http_retry_policy *policy, const struct http_exchange_ops *ops,
              void *payload, struct pd_err *err)
{
    double waited = 0;

    for (int attempt = 1;; attempt++) {
        struct pd_err herr = {0};
        int rc, retry;
        double delay = -1;

        if (ops->prepare != NULL && (rc = ops->prepare(req, attempt, payload, err)) != 0)
            return rc;
        rc = http_perform(t, out, req, &herr);
        out->attempts = attempt;
        retry = rc != PD_EUSAGE &&
                ops->judge(rc, out, rc != 0 ? &herr : NULL, attempt, payload) == HTTP_RETRY;
        if (retry && policy->honour_retry_after && rc == 0)
            delay = http_retry_after_seconds(out->retry_after, pd_time_wall());
        if (retry && delay < 0)
            delay = backoff_delay(policy, attempt);
        if (!retry || attempt >= policy->max_attempts ||
            (policy->budget_s > 0 && waited + delay > policy->budget_s)) {
            if (ops->finish != NULL)
                return ops->finish(rc, out, rc != 0 ? &herr : NULL, attempt, retry, payload, err);
            if (rc != 0)
                *err = herr;
            return rc;
        }
        if (ops->retrying != NULL)
            ops->retrying(out, attempt, delay, payload);
        if (policy->sleep != NULL)
            policy->sleep(delay, policy->sleep_payload);
        else
            http_sleep_default(delay, NULL);
        waited += delay;
    }
}

double
http_retry_after_seconds(const char *value, double now)
{
    const char *p = value;
    double v = 0;
    time_t t;

    if (value == NULL || *value == '\0')
        return -1;
    if (isdigit((unsigned char)*p)) {
        while (isdigit((unsigned char)*p)) {
            v = v * 10 + (*p - '0');
            if (v > 1e9)
                return -1;
            p++;
        }
        return *p == '\0' ? v : -1;
    }
    t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    v = (double)t - now;
    return v < 0 ? 0 : v;
}

char *
http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = pd_xmalloc(n * 3 + 1);
    char *o = out;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
