/* Tests for core/http/http.c: url rules, requests over loopback, failures, redaction, the retry
 * loop, streaming and the observer. */
#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "support/fake_server.h"

static void
test_check_url(void **state)
{
    static const struct {
        const char *url;
        int rc;
        const char *msg;
    } cases[] = {
        {"https://console.neon.tech/api/v2", 0, ""},
        {"http://127.0.0.1:8080/api/v2", 0, ""},
        {"http://127.5.6.7/x", 0, ""},
        {"http://localhost:1/", 0, ""},
        {"http://[::1]:9/", 0, ""},
        {"http://console.neon.tech/api/v2", PD_EUSAGE,
         "http: http://console.neon.tech/api/v2: plain http is allowed only for loopback hosts "
         "(use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
        {"http://10.0.0.1/", PD_EUSAGE,
         "http: http://10.0.0.1/: plain http is allowed only for loopback hosts "
         "(use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
        {"http://128.0.0.1/", PD_EUSAGE,
         "http: http://128.0.0.1/: plain http is allowed only for loopback hosts "
         "(use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
        {"ftp://127.0.0.1/x", PD_EUSAGE,
         "http: ftp://127.0.0.1/x: unsupported scheme ftp (use https)"},
        {"not a url", PD_EUSAGE, "http: not a url: not a valid url"},
        // the AWS link-local addresses are open only to the credential fetchers
        {"http://169.254.169.254/latest/api/token", PD_EUSAGE,
         "http: http://169.254.169.254/latest/api/token: plain http is allowed only for loopback "
         "hosts (use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
        {"http://169.254.170.2/v2/credentials", PD_EUSAGE,
         "http: http://169.254.170.2/v2/credentials: plain http is allowed only for loopback "
         "hosts (use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
        {"http://u:hunter22@example.com/", PD_EUSAGE,
         "http: http://u:********@example.com/: plain http is allowed only for loopback hosts "
         "(use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pd_err err = {0};

        assert_int_equal(http_check_url(cases[i].url, &err), cases[i].rc);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

static void
test_loopback_hosts(void **state)
{
    static const struct {
        const char *host;
        int loopback;
    } cases[] = {
        {"127.0.0.1", 1},
        {"127.255.255.254", 1},
        {"localhost", 1},
        {"LOCALHOST", 1},
        {"[::1]", 1},
        {"::1", 1},
        {"126.0.0.1", 0},
        {"[::2]", 0},
        {"example.com", 0},
        {"localhost.example.com", 0},
        {"", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(pd_host_is_loopback(cases[i].host), cases[i].loopback);
    assert_int_equal(pd_host_is_loopback(NULL), 0);
}

static char *
url_for(const struct fake_server *s, const char *path)
{
    return pd_xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

static void
test_request_and_response_headers(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct http_request req = {0};
    struct pd_err err = {0};
    const char *headers[] = {"Authorization: Bearer k-secret-1234",
                             "Content-Type: application/json"};
    char *url;

    (void)state;
    fake_start(&s);
    fake_add(&s, 201, "application/json",
             "Retry-After: 3\r\nX-Request-Id: fallback\r\nX-Neon-Ret-Request-Id: rid-9\r\n",
             "{\"ok\":true}");
    url = url_for(&s, "/api/v2/things?x=1");
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.n_headers = 2;
    req.body = "{\"a\":1}";
    req.body_len = 7;
    http_response_init(&resp);
    assert_int_equal(http_request(&resp, &req, &err), 0);
    assert_int_equal(resp.status, 201);
    assert_string_equal(pd_buf_str(&resp.body), "{\"ok\":true}");
    assert_string_equal(resp.content_type, "application/json");
    assert_string_equal(resp.retry_after, "3");
    assert_string_equal(resp.request_id, "rid-9");
    assert_non_null(strstr(s.requests[0], "POST /api/v2/things?x=1 HTTP/1.1\r\n"));
    assert_non_null(strstr(s.requests[0], "Authorization: Bearer k-secret-1234\r\n"));
    assert_non_null(strstr(s.requests[0], "User-Agent: pgdrill/"));
    assert_non_null(strstr(s.requests[0], "\r\n\r\n{\"a\":1}"));
    assert_null(strstr(s.requests[0], "Expect:"));
    http_response_free(&resp);
    free(url);
    fake_stop(&s);
}

static void
test_failures_are_service_errors(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct http_request req = {0};
    struct pd_err err = {0};
    char *url, want[300];
    int port;

    (void)state;
    fake_start(&s);
    fake_drop(&s);
    fake_json(&s, 200, "0123456789abcdef0123456789abcdef");
    s.responses[s.n_responses++] = pd_xstrdup("!sleep");
    http_response_init(&resp);
    pd_redact_register("tok-s3cr3t-value");
    url = url_for(&s, "/x?password=pw1234&t=tok-s3cr3t-value");
    req.method = "GET";
    req.url = url;
    // dropped: named with method and redacted url
    assert_int_equal(http_request(&resp, &req, &err), PD_ESERVICE);
    snprintf(want, sizeof(want),
             "http: GET http://127.0.0.1:%d/x?password=********&t=********: connection dropped "
             "(empty reply from server)",
             s.port);
    assert_string_equal(err.msg, want);
    // a body over the cap is refused, not truncated
    req.max_body = 16;
    assert_int_equal(http_request(&resp, &req, &err), PD_ESERVICE);
    snprintf(want, sizeof(want),
             "http: GET http://127.0.0.1:%d/x?password=********&t=********: response body larger "
             "than 16 bytes",
             s.port);
    assert_string_equal(err.msg, want);
    // the whole-request timeout
    req.max_body = 0;
    req.timeout_ms = 300;
    assert_int_equal(http_request(&resp, &req, &err), PD_ESERVICE);
    assert_non_null(strstr(err.msg, ": timed out (operation timed out after "));
    free(url);
    port = s.port;
    fake_stop(&s);
    // nobody listens any more
    url = pd_xasprintf("http://127.0.0.1:%d/y", port);
    req.url = url;
    req.timeout_ms = 0;
    assert_int_equal(http_request(&resp, &req, &err), PD_ESERVICE);
    snprintf(want, sizeof(want), "http: GET http://127.0.0.1:%d/y: could not connect (", port);
    assert_memory_equal(err.msg, want, strlen(want));
    // refused before any connection
    req.url = "http://example.com/y";
    assert_int_equal(http_request(&resp, &req, &err), PD_EUSAGE);
    http_response_free(&resp);
    free(url);
    pd_redact_reset();
}

static void
test_retry_after_values(void **state)
{
    (void)state;
    assert_true(http_retry_after_seconds("5", 0) == 5.0);
    assert_true(http_retry_after_seconds("0", 0) == 0.0);
    assert_true(http_retry_after_seconds("", 0) == -1.0);
    assert_true(http_retry_after_seconds(NULL, 0) == -1.0);
    assert_true(http_retry_after_seconds("5s", 0) == -1.0);
    assert_true(http_retry_after_seconds("soon", 0) == -1.0);
    // an HTTP-date: 1994-11-06 08:49:37 UTC is 784111777
    assert_true(http_retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", 784111770.0) == 7.0);
    assert_true(http_retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT", 784111800.0) == 0.0);
}

static void
test_escape(void **state)
{
    char *e;

    (void)state;
    e = http_escape("a b/c?d=e&f~g_h.i-j");
    assert_string_equal(e, "a%20b%2Fc%3Fd%3De%26f~g_h.i-j");
    free(e);
    e = http_escape("");
    assert_string_equal(e, "");
    free(e);
}

/* ---- the one retry loop ---------------------------------------------------------------- */

struct loop {
    double sleeps[8];
    size_t n_sleeps;
    int prepared, retried, finished, finish_retry;
};

static void
loop_sleep(double seconds, void *payload)
{
    struct loop *l = payload;

    if (l->n_sleeps < 8)
        l->sleeps[l->n_sleeps++] = seconds;
}

static int
loop_prepare(struct http_request *req, int attempt, void *payload, struct pd_err *err)
{
    struct loop *l = payload;

    (void)req;
    (void)err;
    l->prepared++;
    assert_int_equal(attempt, l->prepared);
    return 0;
}

static enum http_verdict
loop_judge(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
           void *payload)
{
    (void)herr;
    (void)attempt;
    (void)payload;
    return rc != 0 || resp->status >= 500 ? HTTP_RETRY : HTTP_DONE;
}

static void
loop_retrying(const struct http_response *resp, int attempt, double delay, void *payload)
{
    struct loop *l = payload;

    (void)resp;
    (void)delay;
    l->retried++;
    assert_int_equal(attempt, l->retried);
}

static int
loop_finish(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
            int retry, void *payload, struct pd_err *err)
{
    struct loop *l = payload;

    (void)herr;
    l->finished++;
    l->finish_retry = retry;
    if (rc == 0 && resp->status >= 500)
        return PD_ERR_SET(err, PD_ESERVICE, "gave up after %d", attempt);
    return rc;
}

static const struct http_exchange_ops loop_ops = {
    .prepare = loop_prepare,
    .judge = loop_judge,
    .retrying = loop_retrying,
    .finish = loop_finish,
};

/* Retry-After wins over the backoff when the policy honours it; backoff doubles, with jitter. */
static void
test_exchange_retries(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct http_request req = {.method = "GET"};
    struct pd_err err = {0};
    struct loop l = {0};
    struct http_retry_policy p = {.max_attempts = 4,
                                  .backoff_base_s = 0.5,
                                  .backoff_max_s = 8,
                                  .honour_retry_after = 1,
                                  .sleep = loop_sleep,
                                  .sleep_payload = &l};
    char *url;

    (void)state;
    fake_start(&s);
    fake_add(&s, 503, "text/plain", "Retry-After: 2\r\n", "busy");
    fake_add(&s, 500, "text/plain", "Retry-After: 9\r\n", "oops");
    fake_json(&s, 200, "{}");
    url = url_for(&s, "/r");
    req.url = url;
    http_response_init(&resp);
    p.honour_retry_after = 1;
    assert_int_equal(http_exchange(NULL, &resp, &req, &p, &loop_ops, &l, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(l.prepared, 3);
    assert_int_equal(l.retried, 2);
    assert_int_equal(l.finished, 1);
    assert_int_equal(l.finish_retry, 0);
    assert_int_equal(l.n_sleeps, 2);
    assert_true(l.sleeps[0] == 2.0);
    assert_true(l.sleeps[1] == 9.0);
    fake_stop(&s);

    // without Retry-After honoured: base, then twice the base, each in [d/2, d]
    memset(&s, 0, sizeof(s));
    memset(&l, 0, sizeof(l));
    fake_start(&s);
    fake_add(&s, 503, "text/plain", "Retry-After: 2\r\n", "busy");
    fake_add(&s, 503, "text/plain", "Retry-After: 2\r\n", "busy");
    fake_json(&s, 200, "{}");
    free(url);
    url = url_for(&s, "/r");
    req.url = url;
    p.honour_retry_after = 0;
    assert_int_equal(http_exchange(NULL, &resp, &req, &p, &loop_ops, &l, &err), 0);
    assert_int_equal(l.n_sleeps, 2);
    assert_true(l.sleeps[0] >= 0.25 && l.sleeps[0] <= 0.5);
    assert_true(l.sleeps[1] >= 0.5 && l.sleeps[1] <= 1.0);
    http_response_free(&resp);
    free(url);
    fake_stop(&s);
}

/* The loop stops at max_attempts, or before a wait would pass the budget. */
static void
test_exchange_gives_up(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct http_request req = {.method = "GET"};
    struct pd_err err = {0};
    struct loop l = {0};
    struct http_retry_policy p = {.max_attempts = 3,
                                  .backoff_base_s = 0.5,
                                  .backoff_max_s = 8,
                                  .sleep = loop_sleep,
                                  .sleep_payload = &l};
    char *url;

    (void)state;
    fake_start(&s);
    fake_add(&s, 503, "text/plain", "", "busy");
    url = url_for(&s, "/g");
    req.url = url;
    http_response_init(&resp);
    assert_int_equal(http_exchange(NULL, &resp, &req, &p, &loop_ops, &l, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "gave up after 3");
    assert_int_equal(resp.attempts, 3);
    assert_int_equal(l.n_sleeps, 2);
    assert_int_equal(l.finish_retry, 1);

    // the second wait (at least 0.5 s) would pass a 0.6 s budget
    memset(&l, 0, sizeof(l));
    p.max_attempts = 10;
    p.budget_s = 0.6;
    assert_int_equal(http_exchange(NULL, &resp, &req, &p, &loop_ops, &l, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "gave up after 2");
    assert_int_equal(l.n_sleeps, 1);

    // without finish, a transport failure is the exchange's error as http_perform set it
    free(url);
    url = pd_xasprintf("http://127.0.0.1:%d/g", s.port);
    fake_stop(&s);
    req.url = url;
    memset(&l, 0, sizeof(l));
    p.max_attempts = 2;
    p.budget_s = 0;
    struct http_exchange_ops bare = {.judge = loop_judge};
    assert_int_equal(http_exchange(NULL, &resp, &req, &p, &bare, &l, &err), PD_ESERVICE);
    assert_non_null(strstr(err.msg, ": could not connect ("));
    assert_int_equal(resp.attempts, 2);
    assert_int_equal(resp.fail, HTTP_FAIL_TRANSIENT);
    http_response_free(&resp);
    free(url);
}

/* ---- streaming, the observer ------------------------------------------------------------ */

struct chunks {
    struct pd_buf got;
    int headers, stop;
};

static int
on_test_header(const char *line, size_t len, void *payload)
{
    struct chunks *c = payload;

    (void)line;
    (void)len;
    c->headers++;
    return 0;
}

static int
on_test_body(const char *data, size_t len, void *payload)
{
    struct chunks *c = payload;

    if (c->stop)
        return -1;
    pd_buf_append(&c->got, data, len, NULL);
    return 0;
}

/* A PUT streams its body; on_body gets the answer instead of resp.body; a stop fails the attempt.
 */
static void
test_streaming(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct chunks c = {0};
    struct http_request req = {.method = "PUT",
                               .body = "payload-bytes",
                               .body_len = 13,
                               .on_header = on_test_header,
                               .on_body = on_test_body,
                               .payload = &c};
    struct pd_err err = {0};
    char *url;

    (void)state;
    pd_buf_init(&c.got, 0);
    fake_start(&s);
    fake_add(&s, 200, "text/plain", "", "streamed answer");
    url = url_for(&s, "/p");
    req.url = url;
    http_response_init(&resp);
    assert_int_equal(http_perform(NULL, &resp, &req, &err), 0);
    assert_int_equal(resp.status, 200);
    assert_int_equal(resp.body.len, 0);
    assert_string_equal(pd_buf_str(&c.got), "streamed answer");
    assert_true(c.headers >= 2);
    assert_non_null(strstr(s.requests[0], "PUT /p HTTP/1.1\r\n"));
    assert_non_null(strstr(s.requests[0], "Content-Length: 13\r\n"));
    assert_non_null(strstr(s.requests[0], "\r\n\r\npayload-bytes"));
    // cppcheck-suppress unreadVariable ; on_test_body reads it through the payload
    c.stop = 1;
    assert_int_equal(http_perform(NULL, &resp, &req, &err), PD_ESERVICE);
    assert_int_equal(resp.fail, HTTP_FAIL_ABORTED);
    http_response_free(&resp);
    pd_buf_free(&c.got);
    free(url);
    fake_stop(&s);
}

struct seen {
    char endpoint[128], host[64];
    int tls, loopback, new_connection, n;
};

static void
on_event(const struct http_event *ev, void *payload)
{
    struct seen *w = payload;

    snprintf(w->endpoint, sizeof(w->endpoint), "%s", ev->endpoint);
    snprintf(w->host, sizeof(w->host), "%s", ev->host);
    w->tls = ev->tls;
    w->loopback = ev->loopback;
    w->new_connection = ev->new_connection;
    w->n++;
}

/* Every request is reported to the observer, named by the URL or by the caller's peer. */
static void
test_observer(void **state)
{
    struct fake_server s = {0};
    struct http_response resp;
    struct http_request req = {.method = "GET"};
    struct http_transport *t = http_transport_new();
    struct pd_err err = {0};
    struct seen w = {0};
    char *url, *want;

    (void)state;
    fake_start(&s);
    fake_json(&s, 200, "{}");
    url = url_for(&s, "/o?x=1");
    req.url = url;
    http_response_init(&resp);
    http_set_observer(on_event, &w);
    assert_int_equal(http_perform(t, &resp, &req, &err), 0);
    want = pd_xasprintf("http://127.0.0.1:%d", s.port);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.endpoint, want);
    assert_string_equal(w.host, "127.0.0.1");
    assert_int_equal(w.tls, 0);
    assert_int_equal(w.loopback, 1);
    assert_int_equal(w.new_connection, 1);
    req.peer = "bucket.local:9";
    assert_int_equal(http_perform(t, &resp, &req, &err), 0);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.endpoint, "http://bucket.local:9");
    assert_string_equal(w.host, "bucket.local:9");
    assert_int_equal(w.loopback, 1); // the rule reads the URL's host, not the name shown
    http_set_observer(NULL, NULL);
    assert_int_equal(http_perform(t, &resp, &req, &err), 0);
    assert_int_equal(w.n, 2);
    http_response_free(&resp);
    http_transport_free(t);
    free(want);
    free(url);
    fake_stop(&s);
}

/* A request without allow_link_local (a Neon host, a webhook) never goes to IMDS in clear. */
static void
test_link_local_refused(void **state)
{
    static const char *const hdrs[] = {"Authorization: Bearer napi_secret_key"};
    struct http_request req = {
        .method = "GET",
        .url = "http://169.254.169.254/api/v2/projects",
        .headers = hdrs,
        .n_headers = 1,
        .connect_timeout_ms = 200,
        .timeout_ms = 200,
    };
    struct http_response resp;
    struct pd_err err = {0};

    (void)state;
    unsetenv(HTTP_ALLOW_PLAIN_ENV);
    http_response_init(&resp);
    assert_int_equal(http_perform(NULL, &resp, &req, &err), PD_EUSAGE);
    assert_string_equal(err.msg, "http: http://169.254.169.254/api/v2/projects: plain http is "
                                 "allowed only for loopback hosts (use https, or set "
                                 "PGDRILL_ALLOW_PLAIN_HTTP=1 to override)");
    http_response_free(&resp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_url),
        cmocka_unit_test(test_link_local_refused),
        cmocka_unit_test(test_loopback_hosts),
        cmocka_unit_test(test_request_and_response_headers),
        cmocka_unit_test(test_failures_are_service_errors),
        cmocka_unit_test(test_retry_after_values),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_exchange_retries),
        cmocka_unit_test(test_exchange_gives_up),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_observer),
    };

    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
