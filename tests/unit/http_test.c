/* Tests for core/http/http.c: url rules, requests over loopback, failures, redaction. */
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_url),
        cmocka_unit_test(test_loopback_hosts),
        cmocka_unit_test(test_request_and_response_headers),
        cmocka_unit_test(test_failures_are_service_errors),
        cmocka_unit_test(test_retry_after_values),
        cmocka_unit_test(test_escape),
    };

    return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
