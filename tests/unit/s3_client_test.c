/*
 * Tests for core/s3/client.c.
 *
 * Cmocka cases against a scripted HTTP server on loopback (fake_s3 below),
 * for what a real server cannot be made to do on demand: exact retry
 * sequences, a body cut mid-stream, a 200 that carries an <Error>. Each
 * case asserts the requests the client sent.
 *
 * The command-line driver that tests/integration/s3_roundtrip.sh runs
 * against s3rver is tests/tools/s3_tool.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "gz/gz.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "s3/check.h"
#include "s3/client.h"
#include "s3/client.intern.h"
#include "s3/creds.h"
#include "s3/sigv4.h"
#include "s3/upload.h"

/* ==== a scripted HTTP server on loopback ================================== */

#define FAKE_MAX 16

struct fake_resp {
    int status;          /* 0: close the connection without answering */
    const char *headers; /* extra header lines, each ending "\r\n" */
    const char *body;
    long cut_after; /* >= 0: send only this many body bytes, then close */
};

struct fake_req {
    char method[16];
    char target[1024];
    char headers[8192]; /* lower-cased names, "name: value\n" lines */
    char body[4096];    /* the first 4095 bytes */
    size_t body_len;
};

struct fake_s3 {
    int listen_fd;
    int port;
    pthread_t thread;
    struct fake_resp script[FAKE_MAX];
    size_t body_len[FAKE_MAX]; /* for binary bodies; 0 means strlen(body) */
    size_t n_script;
    struct fake_req seen[FAKE_MAX];
    size_t n_seen;
};

static int
read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    char ch;

    while (n + 1 < size) {
        ssize_t r = read(fd, &ch, 1);

        if (r <= 0)
            return -1;
        if (ch == '\n')
            break;
        if (ch != '\r')
            buf[n++] = ch;
    }
    buf[n] = '\0';
    return (int)n;
}

static void
write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, data, len);

        if (w <= 0)
            return;
        data += w;
        len -= (size_t)w;
    }
}

static void *
fake_main(void *arg)
{
    struct fake_s3 *f = arg;

    for (;;) {
        int fd = accept(f->listen_fd, NULL, NULL);

        if (fd < 0)
            return NULL;
        for (;;) {
            struct fake_req *rq;
            char line[2048];
            size_t clen = 0;

            if (f->n_seen == FAKE_MAX || read_line(fd, line, sizeof(line)) <= 0)
                break;
            rq = &f->seen[f->n_seen++];
            memset(rq, 0, sizeof(*rq));
            // a bad request line leaves both empty, and the test's asserts fail
            (void)sscanf(line, "%15s %1023s", rq->method, rq->target);
            while (read_line(fd, line, sizeof(line)) > 0) {
                for (char *p = line; *p && *p != ':'; p++)
                    if (*p >= 'A' && *p <= 'Z')
                        *p = (char)(*p + 32);
                if (strncmp(line, "content-length:", 15) == 0)
                    clen = strtoul(line + 15, NULL, 10);
                strncat(rq->headers, line, sizeof(rq->headers) - strlen(rq->headers) - 2);
                strcat(rq->headers, "\n");
            }
            for (size_t got = 0; got < clen;) {
                char chunk[4096];
                ssize_t r =
                    read(fd, chunk, clen - got < sizeof(chunk) ? clen - got : sizeof(chunk));
                if (r <= 0)
                    break;
                if (got < sizeof(rq->body) - 1)
                    memcpy(rq->body + got, chunk,
                           (size_t)r < sizeof(rq->body) - 1 - got ? (size_t)r
                                                                  : sizeof(rq->body) - 1 - got);
                got += (size_t)r;
            }
            rq->body_len = clen < sizeof(rq->body) - 1 ? clen : sizeof(rq->body) - 1;

            size_t i = f->n_seen - 1;
            const struct fake_resp *rp =
                i < f->n_script ? &f->script[i] : &f->script[f->n_script - 1];
            if (rp->status == 0)
                break;
            const char *body = rp->body ? rp->body : "";
            size_t blen = i < f->n_script && f->body_len[i] ? f->body_len[i] : strlen(body);
            char *head = pd_xasprintf("HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n", rp->status,
                                      blen, rp->headers ? rp->headers : "");
            write_all(fd, head, strlen(head));
            free(head);
            if (strcmp(rq->method, "HEAD") != 0) {
                if (rp->cut_after >= 0 && (size_t)rp->cut_after < blen) {
                    write_all(fd, body, (size_t)rp->cut_after);
                    break;
                }
                write_all(fd, body, blen);
            }
        }
        close(fd);
    }
}

static void
fake_start(struct fake_s3 *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof(a);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->listen_fd, 8), 0);
    getsockname(f->listen_fd, (struct sockaddr *)&a, &alen);
    f->port = ntohs(a.sin_port);
    pthread_create(&f->thread, NULL, fake_main, f);
}

static void
fake_stop(struct fake_s3 *f)
{
    shutdown(f->listen_fd, SHUT_RDWR);
    close(f->listen_fd);
    pthread_join(f->thread, NULL);
}

/* The value of header name (lower-case) in a recorded request, or NULL. Static buffer. */
static const char *
seen_header(const struct fake_req *rq, const char *name)
{
    static char value[2048];
    size_t n = strlen(name);

    for (const char *p = rq->headers; *p;) {
        const char *end = strchr(p, '\n');

        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(value, sizeof(value), "%.*s", (int)(end - v), v);
            return value;
        }
        p = end + 1;
    }
    return NULL;
}

#define TEST_SECRET "fake/Secret+Key=NEVER-IN-MESSAGES"

static struct s3_client *
fake_client(const struct fake_s3 *f, int retries)
{
    struct s3_creds cr = {0};
    struct s3_client *c;
    struct pd_err err = {0};
    char *ep = pd_xasprintf("http://127.0.0.1:%d", f->port);

    cr.access_key_id = (char *)(uintptr_t) "AKIDFAKE";
    cr.secret_access_key = (char *)(uintptr_t)TEST_SECRET;
    cr.region = (char *)(uintptr_t) "us-east-1";
    cr.endpoint_url = ep;
    struct s3_client_options opt = {.max_retries = retries ? retries : -1,
                                    .retry_base_s = 0.001,
                                    .retry_max_s = 0.01,
                                    .stall_timeout_s = 5};
    assert_int_equal(s3_client_new(&c, &cr, &opt, &err), 0);
    free(ep);
    return c;
}

/* Re-sign a recorded request with our signer and compare with what was sent. */
static void
assert_signed(const struct fake_req *rq, const char *host)
{
    char auth[2048], signed_list[512], *q, *path;
    struct s3_sigv4_header hs[16];
    char names[16][64], values[16][1024];
    size_t nh = 0;
    struct s3_sigv4_result res;
    struct pd_err err = {0};

    snprintf(auth, sizeof(auth), "%s", seen_header(rq, "authorization"));
    assert_non_null(strstr(auth, "AWS4-HMAC-SHA256 Credential=AKIDFAKE/"));
    assert_null(strstr(auth, TEST_SECRET));
    assert_int_equal(sscanf(strstr(auth, "SignedHeaders=") + 14, "%511[^,]", signed_list), 1);
    for (char *tok = strtok(signed_list, ";"); tok; tok = strtok(NULL, ";")) {
        const char *v = seen_header(rq, tok);

        assert_non_null(v);
        snprintf(names[nh], sizeof(names[nh]), "%s", tok);
        snprintf(values[nh], sizeof(values[nh]), "%s", v);
        hs[nh].name = names[nh];
        hs[nh].value = values[nh];
        nh++;
    }
    assert_string_equal(seen_header(rq, "host"), host);
    path = pd_xstrdup(rq->target);
    q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    // the path on the wire is encoded; the signer takes it decoded
    char *dec = pd_xstrdup(path);
    size_t o = 0;
    for (size_t i = 0; path[i]; i++) {
        unsigned hex;
        if (path[i] == '%' && sscanf(path + i + 1, "%2x", &hex) == 1) {
            dec[o++] = (char)hex;
            i += 2;
        } else {
            dec[o++] = path[i];
        }
    }
    dec[o] = '\0';
    struct s3_sigv4_input in = {
        rq->method, dec,         q,
        hs,         nh,          seen_header(rq, "x-amz-content-sha256") ? values[0] : NULL,
        NULL,       "us-east-1", "s3",
        "AKIDFAKE", TEST_SECRET};
    char payload[80], date[20];
    snprintf(payload, sizeof(payload), "%s", seen_header(rq, "x-amz-content-sha256"));
    snprintf(date, sizeof(date), "%s", seen_header(rq, "x-amz-date"));
    in.payload_hash = payload;
    in.amz_date = date;
    assert_int_equal(s3_sigv4_sign(&res, &in, &err), 0);
    if (strcmp(res.authorization, auth) != 0)
        fail_msg("signature differs; canonical request:\n%s", res.canonical_request);
    if (strcmp(payload, S3_SIGV4_UNSIGNED_PAYLOAD) != 0) {
        char h[65];

        pd_sha256_hex(h, rq->body, rq->body_len);
        assert_string_equal(payload, h);
    }
    s3_sigv4_result_free(&res);
    free(dec);
    free(path);
}

static void
test_put_headers_and_signature(void **state)
{
    struct fake_s3 f = {.script = {{200, "ETag: \"abc123\"\r\n", NULL, -1}}, .n_script = 1};
    struct pd_err err = {0};
    const char *meta[] = {"sha256", "feedbeef", "Source", "pgdrill", NULL};
    struct s3_put_options po = {.content_type = "application/gzip",
                                .sse = "aws:kms",
                                .sse_kms_key_id = "alias/backups",
                                .storage_class = "STANDARD_IA",
                                .metadata = meta};
    char *etag = NULL, host[32];

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);
    assert_int_equal(
        s3_client_put(c, "bucket", "weekly/a b+c.sql.gz", "hello", 5, &po, &etag, &err), 0);
    assert_string_equal(etag, "abc123");
    free(etag);
    s3_client_free(c);
    fake_stop(&f);

    assert_int_equal(f.n_seen, 1);
    assert_string_equal(f.seen[0].method, "PUT");
    assert_string_equal(f.seen[0].target, "/bucket/weekly/a%20b%2Bc.sql.gz");
    assert_string_equal(f.seen[0].body, "hello");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-server-side-encryption"), "aws:kms");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-server-side-encryption-aws-kms-key-id"),
                        "alias/backups");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-storage-class"), "STANDARD_IA");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-meta-sha256"), "feedbeef");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-meta-source"), "pgdrill");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-checksum-sha256"),
                        "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=");
    assert_string_equal(seen_header(&f.seen[0], "content-type"), "application/gzip");
    assert_null(seen_header(&f.seen[0], "expect"));
    snprintf(host, sizeof(host), "127.0.0.1:%d", f.port);
    assert_signed(&f.seen[0], host);
}

#define XML_ERR(code, msg) "<Error><Code>" code "</Code><Message>" msg "</Message></Error>"

static void
test_retries(void **state)
{
    struct fake_s3 f = {.script = {{503, NULL, XML_ERR("SlowDown", "Please reduce"), -1},
                                   {0, NULL, NULL, -1},
                                   {500, NULL, XML_ERR("InternalError", "boom"), -1},
                                   {200, "ETag: \"e\"\r\n", NULL, -1}},
                        .n_script = 4};
    struct pd_err err = {0};

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 3);
    if (s3_client_put(c, "bucket", "k", "x", 1, NULL, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    s3_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.n_seen, 4);
    // every attempt is signed afresh and carries the body
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(f.seen[i].body, "x");
}

static void
test_retries_exhausted_and_not_retried(void **state)
{
    struct fake_s3 f = {.script = {{500, NULL, XML_ERR("InternalError", "boom " TEST_SECRET), -1}},
                        .n_script = 1};
    struct fake_s3 g = {.script = {{403, NULL,
                                    XML_ERR("SignatureDoesNotMatch", "The request signature we "
                                                                     "calculated does not match"),
                                    -1}},
                        .n_script = 1};
    struct pd_err err = {0};

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 2);
    assert_int_equal(s3_client_delete(c, "bucket", "k", &err), PD_ESERVICE);
    // the server echoed the secret; it must not reach the message
    assert_string_equal(err.msg, "s3: DELETE s3://bucket/k: HTTP 500 InternalError: boom ********");
    s3_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.n_seen, 3);

    fake_start(&g);
    c = fake_client(&g, 2);
    assert_int_equal(s3_client_delete(c, "bucket", "k", &err), PD_ESERVICE);
    assert_string_equal(err.msg, "s3: DELETE s3://bucket/k: HTTP 403 SignatureDoesNotMatch: The "
                                 "request signature we calculated does not match");
    s3_client_free(c);
    fake_stop(&g);
    assert_int_equal(g.n_seen, 1);
}

/* The region of a recorded request's credential scope ("AKIDFAKE/DATE/REGION/s3/..."). */
static void
seen_region(const struct fake_req *rq, char *out, size_t n)
{
    const char *cred = strstr(seen_header(rq, "authorization"), "Credential=AKIDFAKE/");

    assert_non_null(cred);
    cred = strchr(cred + 20, '/') + 1;
    snprintf(out, n, "%.*s", (int)(strchr(cred, '/') - cred), cred);
}

static void
test_region_redirect_followed_once(void **state)
{
    struct fake_s3 f = {
        .script = {{301, "x-amz-bucket-region: eu-west-1\r\n",
                    "<Error><Code>PermanentRedirect</Code><Message>use the right endpoint"
                    "</Message></Error>",
                    -1},
                   {200, "ETag: \"e1\"\r\n", NULL, -1},
                   {400, NULL,
                    "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region "
                    "'us-east-1' is wrong; expecting 'ap-south-1'</Message>"
                    "<Region>ap-south-1</Region></Error>",
                    -1},
                   {200, "ETag: \"e2\"\r\n", NULL, -1},
                   {200, "ETag: \"e3\"\r\n", NULL, -1},
                   {301, "x-amz-bucket-region: eu-central-1\r\n", NULL, -1},
                   {301, "x-amz-bucket-region: eu-north-1\r\n", NULL, -1}},
        .n_script = 7};
    struct pd_err err = {0};
    char r[32];

    (void)state;
    s3_region_forget_all();
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);
    // a 301 naming the bucket's region in x-amz-bucket-region: signed again for it
    assert_int_equal(s3_client_put(c, "west", "k", "x", 1, NULL, NULL, &err), 0);
    // a 400 AuthorizationHeaderMalformed naming it in <Region>, then remembered for the bucket
    assert_int_equal(s3_client_put(c, "south", "k", "y", 1, NULL, NULL, &err), 0);
    assert_int_equal(s3_client_put(c, "south", "k2", "z", 1, NULL, NULL, &err), 0);
    // a second detour is not followed: the message says what to configure
    assert_int_equal(s3_client_delete(c, "nomad", "k", &err), PD_ESERVICE);
    assert_string_equal(err.msg, "s3: DELETE s3://nomad/k: HTTP 301 (the bucket is in another "
                                 "region: set AWS_REGION to the bucket's region)");
    s3_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.n_seen, 7);
    const char *want[] = {"us-east-1",  "eu-west-1", "us-east-1",   "ap-south-1",
                          "ap-south-1", "us-east-1", "eu-central-1"};
    for (size_t i = 0; i < 7; i++) {
        seen_region(&f.seen[i], r, sizeof(r));
        assert_string_equal(r, want[i]);
    }
    assert_string_equal(f.seen[1].body, "x");
    s3_region_forget_all();
}

static void
test_fips_endpoint(void **state)
{
    struct s3_creds cr = {0};
    struct s3_client *c;
    struct s3_target t;
    struct pd_err err = {0};

    (void)state;
    cr.access_key_id = (char *)(uintptr_t) "AKIDFAKE";
    cr.secret_access_key = (char *)(uintptr_t)TEST_SECRET;
    cr.region = (char *)(uintptr_t) "us-east-1";
    setenv("AWS_USE_FIPS_ENDPOINT", "true", 1);
    assert_int_equal(s3_client_new(&c, &cr, NULL, &err), 0);
    // virtual-host style keeps the bucket label in front of the FIPS host
    assert_int_equal(s3_client_target(&t, c, "us-gov-west-1", "backups", "weekly/a b", &err), 0);
    assert_string_equal(t.host, "backups.s3-fips.us-gov-west-1.amazonaws.com");
    assert_string_equal(t.url, "https://backups.s3-fips.us-gov-west-1.amazonaws.com/weekly/a%20b");
    assert_string_equal(t.path, "/weekly/a b");
    s3_target_free(&t);
    // a dotted bucket goes path style, on the FIPS host too
    assert_int_equal(s3_client_target(&t, c, "us-east-2", "care.backups", "k", &err), 0);
    assert_string_equal(t.host, "s3-fips.us-east-2.amazonaws.com");
    assert_string_equal(t.url, "https://s3-fips.us-east-2.amazonaws.com/care.backups/k");
    s3_target_free(&t);
    s3_client_free(c);
    // without the variable: the ordinary endpoint
    setenv("AWS_USE_FIPS_ENDPOINT", "false", 1);
    assert_int_equal(s3_client_new(&c, &cr, NULL, &err), 0);
    assert_int_equal(s3_client_target(&t, c, "us-east-2", "backups", "k", &err), 0);
    assert_string_equal(t.url, "https://backups.s3.us-east-2.amazonaws.com/k");
    s3_target_free(&t);
    s3_client_free(c);
    // a custom endpoint is used as configured
    setenv("AWS_USE_FIPS_ENDPOINT", "TRUE", 1);
    cr.endpoint_url = (char *)(uintptr_t) "https://minio.example.com";
    assert_int_equal(s3_client_new(&c, &cr, NULL, &err), 0);
    assert_int_equal(s3_client_target(&t, c, "us-east-2", "backups", "k", &err), 0);
    assert_string_equal(t.url, "https://minio.example.com/backups/k");
    s3_target_free(&t);
    s3_client_free(c);
    unsetenv("AWS_USE_FIPS_ENDPOINT");
}

static void
test_head(void **state)
{
    struct fake_s3 f = {
        .script = {{200,
                    "ETag: \"0123\"\r\nx-amz-server-side-encryption: AES256\r\n"
                    "x-amz-storage-class: STANDARD_IA\r\nx-amz-meta-SHA256: ff00\r\n"
                    "Last-Modified: Thu, 26 Nov 2026 04:00:00 GMT\r\n"
                    "Content-Type: application/gzip\r\n",
                    "0123456789", -1},
                   {404, NULL, NULL, -1}},
        .n_script = 2};
    struct s3_head h;
    struct pd_err err = {0};

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);
    assert_int_equal(s3_client_head(c, &h, "bucket", "k", &err), 0);
    assert_int_equal(h.size, 10);
    assert_string_equal(h.etag, "0123");
    assert_string_equal(h.sse, "AES256");
    assert_string_equal(h.storage_class, "STANDARD_IA");
    assert_string_equal(h.content_type, "application/gzip");
    assert_true(h.last_modified == 1795665600.0);
    assert_string_equal(h.metadata[0], "sha256");
    assert_string_equal(h.metadata[1], "ff00");
    assert_null(h.metadata[2]);
    s3_head_free(&h);
    assert_int_equal(s3_client_head(c, &h, "bucket", "gone", &err), PD_ENOENT);
    assert_string_equal(err.msg, "s3: HEAD s3://bucket/gone: not found (HTTP 404)");
    s3_client_free(c);
    fake_stop(&f);
    assert_string_equal(f.seen[0].method, "HEAD");
}

struct collect {
    struct pd_buf buf;
    int fail_at; /* fail when this many bytes have been seen; 0 never */
};

static int
collect_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    struct collect *col = payload;

    if (col->fail_at && col->buf.len + len >= (size_t)col->fail_at)
        return PD_ERR_SET(err, PD_EIO, "sink: disk full");
    return pd_buf_append(&col->buf, data, len, err);
}

static void
test_get_resume(void **state)
{
    static char body[1000];
    struct fake_s3 f = {.n_script = 3};
    struct collect col;
    struct pd_err err = {0};
    uint64_t n = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(body) - 1; i++)
        body[i] = (char)('a' + i % 26);
    f.script[0] = (struct fake_resp){200, "ETag: \"v1\"\r\n", body, 400};
    f.script[1] = (struct fake_resp){206, "ETag: \"v1\"\r\nContent-Range: bytes 400-998/999\r\n",
                                     body + 400, 300};
    f.script[2] = (struct fake_resp){206, "ETag: \"v1\"\r\nContent-Range: bytes 700-998/999\r\n",
                                     body + 700, -1};
    pd_buf_init(&col.buf, 0);
    col.fail_at = 0;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 3);
    assert_int_equal(s3_client_get(c, "bucket", "big", 0, collect_sink, &col, &n, &err), 0);
    assert_int_equal(n, 999);
    assert_int_equal(col.buf.len, 999);
    assert_memory_equal(col.buf.data, body, 999);
    s3_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.n_seen, 3);
    assert_null(seen_header(&f.seen[0], "range"));
    assert_string_equal(seen_header(&f.seen[1], "range"), "bytes=400-");
    assert_string_equal(seen_header(&f.seen[1], "if-match"), "\"v1\"");
    assert_string_equal(seen_header(&f.seen[2], "range"), "bytes=700-");
    pd_buf_free(&col.buf);
}

static void
test_get_checksum(void **state)
{
    // "hello": its SHA-256 in base64, then another object's, then a multipart composite
    struct fake_s3 f = {
        .script = {{200, "x-amz-checksum-sha256: LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\r\n",
                    "hello", 2},
                   {206,
                    "x-amz-checksum-sha256: LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=\r\n"
                    "Content-Range: bytes 2-4/5\r\n",
                    "llo", -1},
                   {200, "x-amz-checksum-sha256: LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=\r\n",
                    "hello", -1},
                   {200,
                    "x-amz-checksum-sha256: LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=-2\r\n",
                    "hello", -1}},
        .n_script = 4};
    struct collect col;
    struct pd_err err = {0};

    (void)state;
    pd_buf_init(&col.buf, 0);
    col.fail_at = 0;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 3);
    // the checksum covers the bytes of both attempts of a resumed download
    assert_int_equal(s3_client_get(c, "bucket", "k", 0, collect_sink, &col, NULL, &err), 0);
    assert_int_equal(col.buf.len, 5);
    // bytes that are not the object S3 checksummed are an error naming both values
    assert_int_equal(s3_client_get(c, "bucket", "k", 0, collect_sink, &col, NULL, &err),
                     PD_ESERVICE);
    assert_string_equal(err.msg,
                        "s3: GET s3://bucket/k: the bytes received have "
                        "x-amz-checksum-sha256 LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=, "
                        "S3 says LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=");
    // a composite (checksum of the parts' checksums) cannot be checked from the bytes
    assert_int_equal(s3_client_get(c, "bucket", "k", 0, collect_sink, &col, NULL, &err), 0);
    s3_client_free(c);
    fake_stop(&f);
    assert_string_equal(seen_header(&f.seen[0], "x-amz-checksum-mode"), "ENABLED");
    pd_buf_free(&col.buf);
}

static void
test_get_changed_and_sink_error(void **state)
{
    static char body[100];
    struct fake_s3 f = {.n_script = 2};
    struct fake_s3 g = {.n_script = 1};
    struct collect col;
    struct pd_err err = {0};

    (void)state;
    memset(body, 'z', sizeof(body) - 1);
    f.script[0] = (struct fake_resp){200, "ETag: \"v1\"\r\n", body, 10};
    f.script[1] = (struct fake_resp){412, NULL, XML_ERR("PreconditionFailed", "etag"), -1};
    pd_buf_init(&col.buf, 0);
    col.fail_at = 0;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 3);
    assert_int_equal(s3_client_get(c, "bucket", "big", 0, collect_sink, &col, NULL, &err),
                     PD_ESERVICE);
    assert_string_equal(
        err.msg, "s3: GET s3://bucket/big: the object changed while it was being downloaded");
    s3_client_free(c);
    fake_stop(&f);
    pd_buf_free(&col.buf);

    g.script[0] = (struct fake_resp){200, NULL, body, -1};
    pd_buf_init(&col.buf, 0);
    col.fail_at = 50;
    fake_start(&g);
    c = fake_client(&g, 3);
    assert_int_equal(s3_client_get(c, "bucket", "big", 0, collect_sink, &col, NULL, &err), PD_EIO);
    assert_string_equal(err.msg, "sink: disk full");
    s3_client_free(c);
    fake_stop(&g);
    assert_int_equal(g.n_seen, 1); // a sink error is not retried
    pd_buf_free(&col.buf);
}

struct pages {
    int n;
    char keys[256];
};

static int
collect_page(const struct s3_list_page *page, void *payload, struct pd_err *err)
{
    struct pages *p = payload;

    (void)err;
    p->n++;
    for (size_t i = 0; i < page->n_objects; i++) {
        strcat(p->keys, page->objects[i].key);
        strcat(p->keys, ",");
    }
    return 0;
}

static void
test_list_continuation(void **state)
{
    struct fake_s3 f = {
        .script = {{200, NULL,
                    "<ListBucketResult><IsTruncated>true</IsTruncated>"
                    "<NextContinuationToken>a+b/c=</NextContinuationToken>"
                    "<Contents><Key>w/1</Key><Size>1</Size></Contents></ListBucketResult>",
                    -1},
                   {200, NULL,
                    "<ListBucketResult><IsTruncated>false</IsTruncated>"
                    "<Contents><Key>w/2</Key><Size>2</Size></Contents></ListBucketResult>",
                    -1},
                   {200, NULL, "<ListBucketResult><IsTruncated>true</IsTruncated>", -1}},
        .n_script = 3};
    struct pages p = {0};
    struct pd_err err = {0};
    char host[32];

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);
    assert_int_equal(s3_client_list(c, "bucket", "w/", "/", 1, collect_page, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.keys, "w/1,w/2,");
    // a 200 with a cut listing: a service fault naming the listing, not a short listing
    assert_int_equal(s3_client_list(c, "bucket", "w/", NULL, 0, collect_page, &p, &err),
                     PD_ESERVICE);
    assert_string_equal(err.msg, "s3: LIST s3://bucket/w/: list response: truncated XML at line "
                                 "1 column 50: no element found");
    s3_client_free(c);
    fake_stop(&f);
    assert_string_equal(f.seen[0].target,
                        "/bucket?delimiter=%2F&list-type=2&max-keys=1&prefix=w%2F");
    assert_string_equal(f.seen[1].target, "/bucket?continuation-token=a%2Bb%2Fc%3D&delimiter=%2F"
                                          "&list-type=2&max-keys=1&prefix=w%2F");
    snprintf(host, sizeof(host), "127.0.0.1:%d", f.port);
    assert_signed(&f.seen[1], host);
}

/* A listing cut short once (a proxy dropped the rest of the body) is fetched again. */
static void
test_list_cut_page_retried(void **state)
{
    struct fake_s3 f = {
        .script = {{200, NULL, "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Ke",
                    -1},
                   {200, NULL,
                    "<ListBucketResult><IsTruncated>false</IsTruncated>"
                    "<Contents><Key>w/1</Key><Size>1</Size></Contents></ListBucketResult>",
                    -1}},
        .n_script = 2};
    struct pages p = {0};
    struct pd_err err = {0};

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 2);
    assert_int_equal(s3_client_list(c, "bucket", "w/", NULL, 0, collect_page, &p, &err), 0);
    assert_int_equal(p.n, 1);
    assert_string_equal(p.keys, "w/1,");
    s3_client_free(c);
    fake_stop(&f);
}

static void
test_multipart(void **state)
{
    struct fake_s3 f = {
        .script = {{200, NULL,
                    "<InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>k</Key>"
                    "<UploadId>UP1</UploadId></InitiateMultipartUploadResult>",
                    -1},
                   {200, "ETag: \"p2\"\r\n", NULL, -1}, // part 2 goes first
                   {200, "ETag: \"p1\"\r\n", NULL, -1},
                   {200, NULL, XML_ERR("InternalError", "We encountered an internal error"), -1},
                   {204, NULL, NULL, -1}},
        .n_script = 5};
    struct s3_multipart *m;
    struct pd_err err = {0};
    char host[32];

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);
    assert_int_equal(
        s3_multipart_begin(&m, c, "bucket", "k", &(struct s3_put_options){.sse = "AES256"}, &err),
        0);
    assert_string_equal(s3_multipart_upload_id(m), "UP1");
    assert_int_equal(s3_multipart_upload_part(m, 0, "x", 1, &err), PD_EINPUT);
    assert_string_equal(err.msg, "s3: part number 0 is outside 1..10000");
    assert_int_equal(s3_multipart_upload_part(m, 2, "second", 6, &err), 0);
    assert_int_equal(s3_multipart_upload_part(m, 1, "first", 5, &err), 0);
    // 200 with an <Error> body is a failure
    assert_int_equal(s3_multipart_complete(m, NULL, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "s3: COMPLETE-MULTIPART s3://bucket/k: HTTP 500 InternalError: "
                                 "We encountered an internal error");
    assert_int_equal(s3_multipart_abort(m, &err), 0);
    s3_multipart_free(m);
    s3_client_free(c);
    fake_stop(&f);

    assert_string_equal(f.seen[0].target, "/bucket/k?uploads=");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-server-side-encryption"), "AES256");
    assert_string_equal(f.seen[1].target, "/bucket/k?partNumber=2&uploadId=UP1");
    assert_string_equal(f.seen[1].body, "second");
    assert_string_equal(f.seen[3].method, "POST");
    assert_string_equal(f.seen[3].target, "/bucket/k?uploadId=UP1");
    assert_string_equal(
        f.seen[3].body,
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Part><PartNumber>1</PartNumber><ETag>\"p1\"</ETag>"
        "<ChecksumSHA256>p5N7ZLjKpY8Dchu2us9ceMsjX+vg5wsbhM2ZVBRhoI4=</ChecksumSHA256></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>\"p2\"</ETag>"
        "<ChecksumSHA256>FjZ6rLZ6SgF8jairlWgsyzkIY3gPcRTdoKDgxVZEx8Q=</ChecksumSHA256></Part>"
        "</CompleteMultipartUpload>");
    // S3 checks each part against the SHA-256 it was signed with, in base64
    assert_string_equal(seen_header(&f.seen[0], "x-amz-checksum-algorithm"), "SHA256");
    assert_string_equal(seen_header(&f.seen[1], "x-amz-checksum-sha256"),
                        "FjZ6rLZ6SgF8jairlWgsyzkIY3gPcRTdoKDgxVZEx8Q=");
    assert_string_equal(f.seen[4].method, "DELETE");
    assert_string_equal(f.seen[4].target, "/bucket/k?uploadId=UP1");
    snprintf(host, sizeof(host), "127.0.0.1:%d", f.port);
    for (size_t i = 0; i < 5; i++)
        assert_signed(&f.seen[i], host);
}

/* Complete is retried on a 200 carrying InternalError, and an upload that an
 * earlier attempt completed (answer lost, then NoSuchUpload) counts as done. */
static void
test_multipart_complete_retries(void **state)
{
    struct fake_s3 f = {
        .script = {{200, NULL,
                    "<InitiateMultipartUploadResult><UploadId>UP2</UploadId>"
                    "</InitiateMultipartUploadResult>",
                    -1},
                   {200, "ETag: \"p1\"\r\n", NULL, -1},
                   {200, NULL, XML_ERR("InternalError", "try again"), -1},
                   {0, NULL, NULL, -1},
                   {404, NULL, XML_ERR("NoSuchUpload", "The specified upload does not exist"), -1},
                   {200, "ETag: \"abc-1\"\r\n", NULL, -1}},
        .n_script = 6};
    struct s3_multipart *m;
    struct pd_err err = {0};
    char *etag = NULL;

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 3);
    assert_int_equal(s3_multipart_begin(&m, c, "bucket", "k", NULL, &err), 0);
    assert_int_equal(s3_multipart_upload_part(m, 1, "only", 4, &err), 0);
    if (s3_multipart_complete(m, &etag, &err) != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(etag, "abc-1");
    free(etag);
    s3_multipart_free(m);
    s3_client_free(c);
    fake_stop(&f);
    assert_int_equal(f.n_seen, 6);
    assert_string_equal(f.seen[2].method, "POST");
    assert_string_equal(f.seen[3].method, "POST");
    assert_string_equal(f.seen[4].method, "POST");
    assert_string_equal(f.seen[5].method, "HEAD");
    assert_string_equal(f.seen[5].target, "/bucket/k");
}

static void
test_replace_metadata(void **state)
{
    struct fake_s3 f = {
        .script = {{200, NULL,
                    "<CopyObjectResult><ETag>\"e1\"</ETag><LastModified>2026-11-26T04:00:00Z"
                    "</LastModified></CopyObjectResult>",
                    -1},
                   {200, NULL, XML_ERR("InternalError", "copy failed late"), -1},
                   {412, NULL,
                    XML_ERR("PreconditionFailed", "At least one of the pre-conditions "
                                                  "you specified did not hold"),
                    -1}},
        .n_script = 3};
    const char *meta[] = {"sha256", "abc", NULL};
    struct s3_put_options po = {.sse = "AES256", .storage_class = "STANDARD_IA", .metadata = meta};
    struct pd_err err = {0};
    char host[32];

    (void)state;
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);
    assert_int_equal(s3_client_replace_metadata(c, "bucket", "weekly/a b.gz", &po, "e0", &err), 0);
    assert_int_equal(s3_client_replace_metadata(c, "bucket", "weekly/a b.gz", &po, NULL, &err),
                     PD_ESERVICE);
    assert_string_equal(
        err.msg, "s3: COPY s3://bucket/weekly/a b.gz: HTTP 500 InternalError: copy failed late");
    assert_int_equal(s3_client_replace_metadata(c, "bucket", "weekly/a b.gz", &po, "old", &err),
                     PD_ESERVICE);
    assert_string_equal(err.msg, "s3: COPY s3://bucket/weekly/a b.gz: HTTP 412 PreconditionFailed: "
                                 "At least one of the pre-conditions you specified did not hold");
    s3_client_free(c);
    fake_stop(&f);
    assert_string_equal(f.seen[0].method, "PUT");
    assert_string_equal(f.seen[0].target, "/bucket/weekly/a%20b.gz");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-copy-source"), "/bucket/weekly/a%20b.gz");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-metadata-directive"), "REPLACE");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-copy-source-if-match"), "\"e0\"");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-meta-sha256"), "abc");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-server-side-encryption"), "AES256");
    assert_string_equal(seen_header(&f.seen[0], "x-amz-storage-class"), "STANDARD_IA");
    assert_string_equal(seen_header(&f.seen[0], "content-length"), "0");
    assert_null(seen_header(&f.seen[1], "x-amz-copy-source-if-match"));
    snprintf(host, sizeof(host), "127.0.0.1:%d", f.port);
    assert_signed(&f.seen[0], host);
}

/* Stream len bytes through s3_upload against f, adding sha256=abc at the end. */
static void
upload_with_late_metadata(struct fake_s3 *f, const void *data, size_t len, int parts,
                          const char *etag_want)
{
    struct s3_put_options po = {.content_type = "application/gzip", .sse = "AES256"};
    struct s3_upload_options uo = {
        .part_size = (size_t)5 * 1024 * 1024, .max_in_flight = 1, .put = &po};
    struct s3_upload *u;
    struct pd_err err = {0};
    char *etag = NULL;

    fake_start(f);
    struct s3_client *c = fake_client(f, 0);
    assert_int_equal(s3_upload_new(&u, c, "bucket", "weekly/k.gz", &uo, &err), 0);
    assert_int_equal(s3_upload_write(u, data, len, &err), 0);
    s3_upload_add_metadata(u, "sha256", "abc");
    s3_upload_add_metadata(u, "plain-size", "42");
    assert_int_equal(s3_upload_finish(u, &etag, &err), 0);
    assert_int_equal(s3_upload_parts(u), parts);
    assert_string_equal(etag, etag_want);
    free(etag);
    s3_upload_free(u);
    s3_client_free(c);
    fake_stop(f);
}

/*
 * Metadata added at the end of a stream (the backup's sha256) goes up with a
 * single PUT; a multipart upload began before it was known and ignores it.
 */
static void
test_upload_late_metadata(void **state)
{
    struct fake_s3 one = {.script = {{200, "ETag: \"s1\"\r\n", NULL, -1}}, .n_script = 1};
    struct fake_s3 mp = {.script = {{200, NULL,
                                     "<InitiateMultipartUploadResult><UploadId>UP3</UploadId>"
                                     "</InitiateMultipartUploadResult>",
                                     -1},
                                    {200, "ETag: \"p1\"\r\n", NULL, -1},
                                    {200, "ETag: \"p2\"\r\n", NULL, -1},
                                    {200, NULL,
                                     "<CompleteMultipartUploadResult><ETag>\"abc-2\"</ETag>"
                                     "</CompleteMultipartUploadResult>",
                                     -1}},
                         .n_script = 4};
    size_t big = (size_t)5 * 1024 * 1024 + 3;
    unsigned char *data = pd_xmalloc(big);
    char host[32];

    (void)state;
    upload_with_late_metadata(&one, "small", 5, 0, "s1");
    assert_int_equal(one.n_seen, 1);
    assert_string_equal(one.seen[0].method, "PUT");
    assert_string_equal(one.seen[0].body, "small");
    assert_string_equal(seen_header(&one.seen[0], "x-amz-meta-sha256"), "abc");
    assert_string_equal(seen_header(&one.seen[0], "x-amz-meta-plain-size"), "42");
    assert_string_equal(seen_header(&one.seen[0], "content-type"), "application/gzip");
    assert_string_equal(seen_header(&one.seen[0], "x-amz-server-side-encryption"), "AES256");
    snprintf(host, sizeof(host), "127.0.0.1:%d", one.port);
    assert_signed(&one.seen[0], host);

    memset(data, 'x', big);
    upload_with_late_metadata(&mp, data, big, 2, "abc-2");
    assert_int_equal(mp.n_seen, 4);
    assert_string_equal(mp.seen[0].target, "/bucket/weekly/k.gz?uploads=");
    assert_string_equal(seen_header(&mp.seen[0], "content-type"), "application/gzip");
    assert_null(seen_header(&mp.seen[0], "x-amz-meta-sha256"));
    assert_string_equal(mp.seen[2].target, "/bucket/weekly/k.gz?partNumber=2&uploadId=UP3");
    assert_int_equal(mp.seen[2].body_len, 3);
    assert_string_equal(mp.seen[3].method, "POST");
    free(data);
}

static int
gz_collect(const void *data, size_t len, void *payload, struct pd_err *err)
{
    return pd_buf_append(payload, data, len, err);
}

static void
test_gzip_check(void **state)
{
    struct pd_buf gz, plain;
    struct gz_deflate *z;
    struct pd_err err = {0};
    struct s3_gzip_check chk;
    char sha[65], *head_ok, *head_bad;
    static const char text[] = "COPY visits FROM stdin;\n1\tcare\n\\.\n";

    (void)state;
    pd_buf_init(&gz, 0);
    assert_int_equal(gz_deflate_new(&z, NULL, gz_collect, &gz, &err), 0);
    assert_int_equal(gz_deflate_write(z, text, sizeof(text) - 1, &err), 0);
    assert_int_equal(gz_deflate_finish(z, &err), 0);
    gz_deflate_free(z);
    pd_sha256_hex(sha, gz.data, gz.len);
    head_ok = pd_xasprintf("x-amz-meta-sha256: %s\r\n", sha);
    head_bad = pd_xasprintf("x-amz-meta-sha256: %064d\r\n", 0);

    struct fake_s3 f = {.n_script = 8};
    f.script[0] = (struct fake_resp){200, head_ok, gz.data, -1};
    f.body_len[0] = gz.len; // HEAD
    f.script[1] = (struct fake_resp){200, head_ok, gz.data, -1};
    f.body_len[1] = gz.len; // GET
    f.script[2] = (struct fake_resp){200, head_bad, gz.data, -1};
    f.body_len[2] = gz.len;
    f.script[3] = (struct fake_resp){200, head_bad, gz.data, -1};
    f.body_len[3] = gz.len;
    f.script[4] = (struct fake_resp){200, NULL, gz.data, -1};
    f.body_len[4] = gz.len - 3; // HEAD: shorter
    f.script[5] = (struct fake_resp){200, NULL, gz.data, -1};
    f.body_len[5] = gz.len - 3; // GET: cut gzip
    fake_start(&f);
    struct s3_client *c = fake_client(&f, 0);

    pd_buf_init(&plain, 0);
    assert_int_equal(s3_gzip_check(&chk, c, "bucket", "w/x.sql.gz", gz_collect, &plain, &err), 0);
    assert_string_equal(chk.sha256, sha);
    assert_string_equal(chk.expected_sha256, sha);
    assert_int_equal(chk.compressed_bytes, gz.len);
    assert_int_equal(chk.uncompressed_bytes, sizeof(text) - 1);
    assert_int_equal(chk.members, 1);
    assert_int_equal(plain.len, sizeof(text) - 1);
    assert_memory_equal(plain.data, text, plain.len);
    s3_gzip_check_free(&chk);

    assert_int_equal(s3_gzip_check(&chk, c, "bucket", "w/x.sql.gz", NULL, NULL, &err), PD_ECHECK);
    char *want = pd_xasprintf("s3: s3://bucket/w/x.sql.gz: sha256 mismatch: the object has %s, "
                              "its metadata says %064d",
                              sha, 0);
    assert_string_equal(err.msg, want);
    free(want);
    s3_gzip_check_free(&chk);

    assert_int_equal(s3_gzip_check(&chk, c, "bucket", "w/x.sql.gz", NULL, NULL, &err), PD_ECHECK);
    want = pd_xasprintf("s3: s3://bucket/w/x.sql.gz: gzip: stream truncated after %zu compressed "
                        "bytes",
                        gz.len - 3);
    assert_string_equal(err.msg, want);
    free(want);
    assert_null(chk.expected_sha256);
    s3_gzip_check_free(&chk);

    s3_client_free(c);
    fake_stop(&f);
    assert_string_equal(f.seen[0].method, "HEAD");
    assert_string_equal(f.seen[1].method, "GET");
    free(head_ok);
    free(head_bad);
    pd_buf_free(&gz);
    pd_buf_free(&plain);
}

/* Nothing secret reaches the log, even at trace level. */
struct log_lines {
    char text[8192];
};

static void
log_sink(enum pd_log_level level, const char *msg, void *payload)
{
    struct log_lines *l = payload;

    (void)level;
    strncat(l->text, msg, sizeof(l->text) - strlen(l->text) - 2);
    strcat(l->text, "\n");
}

static void
test_no_secrets_in_logs(void **state)
{
    struct fake_s3 f = {.script = {{500, NULL, XML_ERR("InternalError", "x"), -1},
                                   {200, "ETag: \"e\"\r\n", NULL, -1}},
                        .n_script = 2};
    struct log_lines lines = {""};
    struct s3_creds cr = {0};
    struct s3_client *c;
    struct pd_err err = {0};
    char *ep, sig[65];
    enum pd_log_level old = pd_log_get_level();

    (void)state;
    fake_start(&f);
    ep = pd_xasprintf("http://127.0.0.1:%d", f.port);
    cr.access_key_id = (char *)(uintptr_t) "AKIDFAKE";
    cr.secret_access_key = (char *)(uintptr_t)TEST_SECRET;
    cr.session_token = (char *)(uintptr_t) "SESSION/token+value==";
    cr.region = (char *)(uintptr_t) "us-east-1";
    cr.endpoint_url = ep;
    assert_int_equal(
        s3_client_new(
            &c, &cr, &(struct s3_client_options){.retry_base_s = 0.001, .retry_max_s = 0.01}, &err),
        0);
    pd_log_set_sink(log_sink, &lines);
    pd_log_set_level(PD_LOG_TRACE);
    assert_int_equal(s3_client_put(c, "bucket", "k", "x", 1, NULL, NULL, &err), 0);
    pd_log_set_level(old);
    pd_log_set_sink(NULL, NULL);
    s3_client_free(c);
    fake_stop(&f);
    free(ep);

    assert_string_equal(seen_header(&f.seen[1], "x-amz-security-token"), "SESSION/token+value==");
    assert_non_null(
        strstr(seen_header(&f.seen[1], "authorization"),
               "SignedHeaders=host;x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;"
               "x-amz-security-token,"));
    snprintf(sig, sizeof(sig), "%s",
             strstr(seen_header(&f.seen[1], "authorization"), "Signature=") + 10);
    assert_non_null(strstr(lines.text, "s3: PUT http://127.0.0.1:"));
    assert_non_null(strstr(lines.text, "retrying (1 of 4)"));
    assert_null(strstr(lines.text, TEST_SECRET));
    assert_null(strstr(lines.text, "SESSION/token"));
    assert_null(strstr(lines.text, "Signature"));
    assert_null(strstr(lines.text, sig));
}

static void
test_transport_errors(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct fake_s3 closed = {0};
    struct pd_err err = {0};
    struct s3_client *c;
    struct s3_creds cr = {0};
    char *want;

    (void)state;
    // a port that was free a moment ago: connections are refused
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    closed.port = ntohs(a.sin_port);
    close(fd);
    c = fake_client(&closed, 1);
    assert_int_equal(s3_client_delete(c, "bucket", "k", &err), PD_ESERVICE);
    want = pd_xasprintf("s3: DELETE s3://bucket/k: Failed to connect to 127.0.0.1 port %d",
                        closed.port);
    if (strncmp(err.msg, want, strlen(want)) != 0 || strstr(err.msg, "(after retries)") == NULL)
        fail_msg("got '%s'", err.msg);
    free(want);
    s3_client_free(c);

    // plain http is for loopback only, checked before any connection
    cr.access_key_id = (char *)(uintptr_t) "AKIDFAKE";
    cr.secret_access_key = (char *)(uintptr_t)TEST_SECRET;
    cr.region = (char *)(uintptr_t) "us-east-1";
    cr.endpoint_url = (char *)(uintptr_t) "http://s3.example.com";
    assert_int_equal(s3_client_new(&c, &cr, NULL, &err), 0);
    assert_int_equal(s3_client_delete(c, "bucket", "k", &err), PD_EINPUT);
    assert_string_equal(err.msg, "s3: endpoint 'http://s3.example.com' uses plain http; only "
                                 "loopback hosts may, use https:// (or set "
                                 "PGDRILL_ALLOW_PLAIN_HTTP=1 to override)");
    // and bad upload options are refused before sending
    assert_int_equal(
        s3_client_put(c, "bucket", "k", "x", 1, &(struct s3_put_options){.sse = "DES"}, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "s3: server-side encryption 'DES' is not AES256 or aws:kms");
    s3_client_free(c);

    cr.secret_access_key = NULL;
    assert_int_equal(s3_client_new(&c, &cr, NULL, &err), PD_EBUG);
    assert_string_equal(err.msg, "s3: client needs loaded credentials");
}

/* A full region cache evicts the bucket remembered longest ago, one after another. */
static void
test_region_cache_evicts_oldest(void **state)
{
    char name[32], *r;

    (void)state;
    s3_region_forget_all();
    for (int i = 0; i < 66; i++) { // the cache holds 64
        snprintf(name, sizeof(name), "bucket-%03d", i);
        s3_region_remember(name, i % 2 ? "eu-west-1" : "us-east-2");
    }
    assert_null(s3_region_cached("bucket-000"));
    assert_null(s3_region_cached("bucket-001"));
    for (int i = 2; i < 66; i++) {
        snprintf(name, sizeof(name), "bucket-%03d", i);
        r = s3_region_cached(name);
        assert_non_null(r);
        assert_string_equal(r, i % 2 ? "eu-west-1" : "us-east-2");
        free(r);
    }
    s3_region_forget_all();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_headers_and_signature),
        cmocka_unit_test(test_retries),
        cmocka_unit_test(test_retries_exhausted_and_not_retried),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_region_redirect_followed_once),
        cmocka_unit_test(test_fips_endpoint),
        cmocka_unit_test(test_get_resume),
        cmocka_unit_test(test_get_checksum),
        cmocka_unit_test(test_get_changed_and_sink_error),
        cmocka_unit_test(test_list_continuation),
        cmocka_unit_test(test_list_cut_page_retried),
        cmocka_unit_test(test_multipart),
        cmocka_unit_test(test_multipart_complete_retries),
        cmocka_unit_test(test_replace_metadata),
        cmocka_unit_test(test_region_cache_evicts_oldest),
        cmocka_unit_test(test_upload_late_metadata),
        cmocka_unit_test(test_gzip_check),
        cmocka_unit_test(test_no_secrets_in_logs),
        cmocka_unit_test(test_transport_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
