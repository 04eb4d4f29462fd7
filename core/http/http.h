/*
 * http: one HTTP request over libcurl, with pgdrill's safety rules built in.
 *
 * http_request sends one request and fills a caller-owned struct
 * http_response (status, the headers pgdrill cares about, and a body capped
 * in size). It never retries: retry policy belongs to the API clients above
 * it (core/neon, core/s3), which know which methods and statuses are safe.
 *
 * Rules enforced here, not by convention:
 *   - TLS peer and host verification are always on;
 *   - plain http:// is accepted only for loopback hosts (127.0.0.0/8, ::1,
 *     localhost), anything else is PD_EUSAGE before any connection, unless
 *     PGDRILL_ALLOW_PLAIN_HTTP=1 overrides it: then every such request logs
 *     a warning naming the host and is recorded for the compliance checks
 *     and the audit log (core/compliance);
 *   - redirects are never followed (they would carry the Authorization
 *     header elsewhere);
 *   - the Authorization header value and every secret registered with
 *     pd_redact never reach a log line or an error message.
 * Transport failures (CURLcode) are translated once, here, to PD_ESERVICE
 * with a lowercase message naming the method and the (redacted) URL.
 * Thread-safe: each call uses its own handle; libcurl is initialised once.
 */
#ifndef PD_HTTP_H
#define PD_HTTP_H

#include <stddef.h>

#include "pd_buf.h"

struct pd_err;

#define HTTP_CONNECT_TIMEOUT_MS_DEFAULT 10000L
#define HTTP_TIMEOUT_MS_DEFAULT         60000L
#define HTTP_MAX_BODY_DEFAULT           ((size_t)8 * 1024 * 1024)

struct http_request {
    const char *method;         /* "GET", "POST", ... */
    const char *url;            /* absolute http:// or https:// URL */
    const char *const *headers; /* "Name: value" lines, borrowed */
    size_t n_headers;
    const char *body; /* NULL: no body; sent as is (e.g. JSON) */
    size_t body_len;
    long connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_MS_DEFAULT */
    long timeout_ms;         /* 0: HTTP_TIMEOUT_MS_DEFAULT (whole request) */
    size_t max_body;         /* 0: HTTP_MAX_BODY_DEFAULT; larger is an error */
};

struct http_response {
    long status;        /* HTTP status, 0 before a response */
    struct pd_buf body; /* owned; NUL-terminated */
    char *content_type; /* owned or NULL */
    char *retry_after;  /* owned raw Retry-After value or NULL */
    char *request_id;   /* owned: X-Neon-Ret-Request-Id, else X-Request-Id, or NULL */
};

void http_response_init(struct http_response *resp);
/* Release what the response owns; the struct can be reused after init. */
void http_response_free(struct http_response *resp);

/* The environment variable that allows plain http to non-loopback hosts. */
#define HTTP_ALLOW_PLAIN_ENV "PGDRILL_ALLOW_PLAIN_HTTP"

/* 1 when PGDRILL_ALLOW_PLAIN_HTTP is 1, true or yes. */
int http_plain_http_allowed(void);

/*
 * Check that url is one pgdrill may talk to: scheme http or https, a host,
 * and http only for a loopback host (or any host with the override).
 * PD_EUSAGE otherwise, naming the URL.
 */
int http_check_url(const char *url, struct pd_err *err);

/* 1 when host (as in a URL, "[::1]" allowed) is a loopback address or localhost. */
int http_host_is_loopback(const char *host);

/*
 * Perform req. Returns 0 when a response arrived, whatever its status (the
 * caller interprets it); PD_EUSAGE for a refused URL; PD_ESERVICE for a
 * transport failure (connect, TLS, timeout, dropped connection) or a body
 * over max_body. out must have been initialised; it is reset first.
 */
int http_request(struct http_response *out, const struct http_request *req, struct pd_err *err);

/*
 * Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date
 * (compared with now, seconds since the epoch). -1 when absent or malformed.
 */
double http_retry_after_seconds(const char *value, double now);

/*
 * Percent-encode s for a URL query value or path segment (unreserved
 * characters kept). Caller owns the result.
 */
char *http_escape(const char *s);

#endif
