#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "compliance/compliance.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
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
    resp->status = 0;
}

int
http_host_is_loopback(const char *host)
{
    char buf[64];
    size_t len;
    struct in_addr a4;
    struct in6_addr a6;

    if (host == NULL)
        return 0;
    len = strlen(host);
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return 1;
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        if (len - 2 >= sizeof(buf))
            return 0;
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) == 1)
            return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
        return 0;
    }
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
    return 0;
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

int
http_check_url(const char *url, struct pd_err *err)
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
    if (!http_host_is_loopback(host) && !http_plain_http_allowed())
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

/*
 * Record the endpoint for the compliance checks, and warn loudly about
 * plain http outside loopback (only possible with the override): every
 * request opens its own connection, so every such connection is named.
 */
static void
note_endpoint(const char *url)
{
    char *scheme = NULL, *host = NULL, *endpoint = NULL;

    if (url_parts(url, &scheme, &host, &endpoint) != 0)
        return; /* uncovered: http_check_url parsed it already */
    bool tls = strcasecmp(scheme, "https") == 0, loopback = http_host_is_loopback(host) != 0;

    if (!tls && !loopback)
        pd_log(PD_LOG_WARN,
               "WARNING: plain http to non-loopback host %s (" HTTP_ALLOW_PLAIN_ENV
               " is set): the connection is not encrypted",
               host);
    compliance_note_endpoint(endpoint, tls, loopback,
                             tls        ? NULL
                             : loopback ? NULL
                                        : HTTP_ALLOW_PLAIN_ENV);
    free(scheme);
    free(host);
    free(endpoint);
}

struct recv_state {
    struct http_response *resp;
    int too_big;
};

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct recv_state *st = userdata;
    size_t n = size * nmemb;

    if (pd_buf_append(&st->resp->body, ptr, n, NULL) != 0) {
        st->too_big = 1;
        return 0; // makes curl fail with CURLE_WRITE_ERROR
    }
    return n;
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

int
http_request(struct http_response *out, const struct http_request *req, struct pd_err *err)
{
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE];
    char *shown = NULL, *detail = NULL;
    struct recv_state st = {out, 0};
    CURLcode cc;
    double t0;
    int rc;

    http_response_free(out);
    http_response_init(out);
    out->body.cap = req->max_body ? req->max_body : HTTP_MAX_BODY_DEFAULT;
    rc = http_check_url(req->url, err);
    if (rc != 0)
        return rc;
    shown = pd_redact(req->url);
    note_endpoint(req->url);
    if (curl_init_rc != CURLE_OK) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: libcurl initialisation failed", req->method,
                        shown);
        goto out;
    }
    h = curl_easy_init();
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
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    if (strcmp(req->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    if (req->body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     req->connect_timeout_ms ? req->connect_timeout_ms
                                             : HTTP_CONNECT_TIMEOUT_MS_DEFAULT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms ? req->timeout_ms : HTTP_TIMEOUT_MS_DEFAULT);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pgdrill/" PD_VERSION);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &st);
    // a loopback server must never be reached through an environment proxy
    if (strncasecmp(req->url, "http://", 7) == 0)
        curl_easy_setopt(h, CURLOPT_PROXY, "");

    t0 = pd_time_mono();
    cc = curl_easy_perform(h);
    if (st.too_big) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: response body larger than %zu bytes",
                        req->method, shown, out->body.cap);
        goto out;
    }
    if (cc != CURLE_OK) {
        char tmp[CURL_ERROR_SIZE + 64];

        snprintf(tmp, sizeof(tmp), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
        lower_first(tmp);
        detail = pd_redact(tmp);
        rc = PD_ERR_SET(err, PD_ESERVICE, "http: %s %s: %s (%s)", req->method, shown, curl_what(cc),
                        detail);
        pd_log(PD_LOG_DEBUG, "http: %s %s: curl error %d", req->method, shown, (int)cc);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    pd_log(PD_LOG_DEBUG, "http: %s %s -> %ld (%zu bytes, %.3fs)", req->method, shown, out->status,
           out->body.len, pd_time_mono() - t0);
    rc = 0;
out:
    curl_slist_free_all(hdrs);
    if (h != NULL)
        curl_easy_cleanup(h);
    free(shown);
    free(detail);
    return rc;
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
