/*
 * http: pgdrill's one HTTP transport over libcurl, with its safety rules
 * built in. core/neon and core/s3 build on it and keep only protocol work.
 *
 * http_perform sends one request and fills a caller-owned struct
 * http_response (status, the headers pgdrill cares about, and a body capped
 * in size) or hands headers and body bytes to the caller's callbacks as they
 * arrive (streaming, for S3 GETs). A request body comes from memory; PUT
 * streams it through a read callback that libcurl can rewind.
 *
 * http_exchange runs one request with the one retry and backoff loop: the
 * caller's struct http_retry_policy says how many attempts, how long to wait
 * (exponential backoff with jitter, capped, optionally within a budget and
 * honouring Retry-After), and its ops judge each attempt (retry or not) and
 * prepare the next one (S3 re-signs, resumes a GET with a Range).
 *
 * A struct http_transport keeps idle libcurl handles for connection reuse
 * (S3); a NULL transport uses a fresh handle per request (Neon, Slack).
 *
 * Rules enforced here, not by convention:
 *   - TLS peer and host verification are always on;
 *   - plain http:// is accepted only for loopback hosts (pd_host_is_loopback)
 *     and AWS's link-local credential endpoints (169.254.169.254,
 *     169.254.170.2, 169.254.170.23, fd00:ec2::254, fd00:ec2::23),
 *     anything else is PD_EUSAGE before any connection, unless
 *     PGDRILL_ALLOW_PLAIN_HTTP=1 overrides it: then every new connection logs
 *     a warning naming the host;
 *   - a plain http request never goes through an environment proxy;
 *   - redirects are never followed (they would carry the Authorization
 *     header elsewhere);
 *   - the Authorization header value and every secret registered with
 *     pd_redact never reach a log line or an error message.
 * Every request is reported to the observer (http_set_observer), which is
 * how core/compliance records the endpoints used; http itself knows nothing
 * of compliance.
 * Transport failures (CURLcode) are translated once, here, to PD_ESERVICE
 * with a lowercase message naming the method and the (redacted) URL.
 * Thread-safe: a handle serves one request at a time; the transport's pool
 * is locked; libcurl is initialised once.
 */
#ifndef PD_HTTP_H
#define PD_HTTP_H

#include <stddef.h>

#include "pd_buf.h"

struct pd_err;

#define HTTP_CONNECT_TIMEOUT_MS_DEFAULT 10000L
#define HTTP_TIMEOUT_MS_DEFAULT         60000L
#define HTTP_MAX_BODY_DEFAULT           ((size_t)8 * 1024 * 1024)

/*
 * Streaming callbacks. on_header gets each raw header line (status lines
 * included, CRLF kept); on_body each chunk of the body. Return 0 to go on,
 * anything else to stop the transfer (the attempt then fails with
 * HTTP_FAIL_ABORTED; the callback keeps its own reason).
 */
typedef int http_header_fn(const char *line, size_t len, void *payload);
typedef int http_body_fn(const char *data, size_t len, void *payload);

struct http_request {
    const char *method;         /* "GET", "POST", ... */
    const char *url;            /* absolute http:// or https:// URL */
    const char *const *headers; /* "Name: value" lines, borrowed */
    size_t n_headers;
    const char *body; /* NULL: no body; sent as is (e.g. JSON); PUT streams it */
    size_t body_len;
    long connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_MS_DEFAULT */
    long timeout_ms;         /* 0: HTTP_TIMEOUT_MS_DEFAULT (whole request); < 0: none */
    long stall_timeout_s;    /* > 0: give up when no byte moves for this long */
    size_t max_body;         /* 0: HTTP_MAX_BODY_DEFAULT; larger is an error */
    const char *ca_file;     /* extra CA bundle; NULL for the system's */
    const char *user_agent;  /* NULL: "pgdrill/VERSION"; "": none */
    /*
     * How observers and the plain-http warning name the peer: "host[:port]"
     * as the caller shows it (S3's Host header). NULL: the URL's host, with
     * the endpoint named "scheme://host:port".
     */
    const char *peer;
    /*
     * 1: plain http is also allowed, without the warning, to the link-local
     * addresses AWS serves credentials on (IMDS, ECS and EKS agents). Only
     * the credential fetchers (core/s3/creds_fetch.c) set it: any other
     * client sending its key there would send it in clear.
     */
    int allow_link_local;
    http_header_fn *on_header; /* optional */
    http_body_fn *on_body;     /* optional: then the body is not collected */
    void *payload;             /* for on_header and on_body */
};

/* Why an attempt got no (complete) response; HTTP_FAIL_NONE when it did. */
enum http_fail {
    HTTP_FAIL_NONE,
    HTTP_FAIL_TRANSIENT, /* connect, resolve, timeout, dropped, reset, tls handshake */
    HTTP_FAIL_OTHER,     /* any other transport failure */
    HTTP_FAIL_TOO_BIG,   /* the body was over max_body */
    HTTP_FAIL_ABORTED,   /* a callback stopped the transfer */
};

struct http_response {
    long status;        /* HTTP status, 0 before a response */
    struct pd_buf body; /* owned; NUL-terminated (empty when on_body streams it) */
    char *content_type; /* owned or NULL */
    char *retry_after;  /* owned raw Retry-After value or NULL */
    char *request_id;   /* owned: X-Neon-Ret-Request-Id, else X-Request-Id, or NULL */
    enum http_fail fail;
    char *fail_text;       /* owned: libcurl's own words for the failure (redacted), or NULL */
    const char *fail_name; /* static: libcurl's generic name of the failure, or NULL */
    int new_connection;    /* the attempt opened a connection (not a reused one) */
    int attempts;          /* requests sent by http_exchange */
};

void http_response_init(struct http_response *resp);
/* Release what the response owns; the struct can be reused after init. */
void http_response_free(struct http_response *resp);

/* A pool of idle handles: requests through it reuse connections. */
struct http_transport;

/* Never fails: out of memory aborts. */
struct http_transport *http_transport_new(void);

/* Closes the idle connections; no request may be in flight. NULL is a no-op. */
void http_transport_free(struct http_transport *t);

/* What the observer learns of each request sent. */
struct http_event {
    const char *endpoint; /* "scheme://peer" (no user info, no path) */
    const char *host;     /* the peer as named in the plain-http warning */
    int tls;              /* https */
    int loopback;         /* pd_host_is_loopback(host) */
    int new_connection;   /* a connection was opened for it */
};

typedef void http_observer_fn(const struct http_event *ev, void *payload);

/* Register the one process-wide observer (NULL: none). Set it before requests start. */
void http_set_observer(http_observer_fn *fn, void *payload);

/*
 * Report a request to url (peer as in struct http_request) to the observer,
 * and log the plain-http warning when a connection was opened for it:
 * what http_perform does after each attempt. Layers that check a target
 * before sending (s3_target_note) use it too.
 */
void http_note_request(const char *url, const char *peer, int new_connection);

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

/*
 * Perform req once through t (NULL: a fresh handle). Returns 0 when a
 * response arrived, whatever its status (the caller interprets it);
 * PD_EUSAGE for a refused URL; PD_ESERVICE for a transport failure
 * (connect, TLS, timeout, dropped connection), a body over max_body or a
 * callback's stop, with out->fail saying which. out must have been
 * initialised; it is reset first.
 */
int http_perform(struct http_transport *t, struct http_response *out,
                 const struct http_request *req, struct pd_err *err);

/* http_perform(NULL, out, req, err). */
int http_request(struct http_response *out, const struct http_request *req, struct pd_err *err);

/* Sleep for seconds; tests inject a fake one. */
typedef void http_sleep_fn(double seconds, void *payload);

/* The real one: nanosleep, resumed after signals; payload unused. */
void http_sleep_default(double seconds, void *payload);

/* The retry and backoff policy of http_exchange. */
struct http_retry_policy {
    int max_attempts;       /* requests at most, >= 1 */
    double backoff_base_s;  /* the first wait; doubles each time */
    double backoff_max_s;   /* cap of one wait */
    double budget_s;        /* > 0: give up rather than wait past this much in total */
    int honour_retry_after; /* a Retry-After value replaces the backoff */
    http_sleep_fn *sleep;   /* NULL: nanosleep */
    void *sleep_payload;
};

/* What the judge decides about one attempt. */
enum http_verdict {
    HTTP_DONE,  /* keep this response (or this failure) */
    HTTP_RETRY, /* worth another attempt */
};

/*
 * The protocol's part of http_exchange; every member but judge is optional.
 *   prepare   before each attempt (1, 2, ...): fill *req (sign, add a Range);
 *             non-zero (err set) ends the exchange with that error;
 *   judge     after each attempt: rc is http_perform's result (herr its
 *             error); HTTP_RETRY asks for another attempt; why (when it
 *             returns HTTP_RETRY) names the reason for the log;
 *   retrying  another attempt follows after delay seconds;
 *   finish    the exchange stops after attempt with rc/herr (retry is 1
 *             when the judge wanted more but the policy said no); returns
 *             the exchange's result, setting err. NULL: rc, herr copied.
 */
struct http_exchange_ops {
    int (*prepare)(struct http_request *req, int attempt, void *payload, struct pd_err *err);
    enum http_verdict (*judge)(int rc, const struct http_response *resp, const struct pd_err *herr,
                               int attempt, void *payload);
    void (*retrying)(const struct http_response *resp, int attempt, double delay, void *payload);
    int (*finish)(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
                  int retry, void *payload, struct pd_err *err);
};

/*
 * Sleep the backoff that follows attempt (1, 2, ...) under policy: for a
 * protocol's own retries around whole exchanges (an S3 listing cut short, a
 * Complete that failed inside a 200), which wait like the loop does.
 */
void http_retry_wait(const struct http_retry_policy *policy, int attempt);

/*
 * Run req with the one retry loop: attempt, judge, wait (Retry-After when
 * the policy honours it and the response carries one, else backoff
 * base * 2^(n-1) capped at max, with jitter in [d/2, d]), until the judge is
 * done, max_attempts are spent, or the next wait would pass the budget.
 * out holds the last attempt's response and out->attempts the count.
 */
int http_exchange(struct http_transport *t, struct http_response *out, struct http_request *req,
                  const struct http_retry_policy *policy, const struct http_exchange_ops *ops,
                  void *payload, struct pd_err *err);

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
