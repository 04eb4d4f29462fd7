/* A scripted HTTP server for unit tests: see fake_server.h. */
#include "fake_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pd_mem.h"
static char *
fake_read_request(int cfd)
{
    char buf[65536];
    size_t len = 0;
    long want = -1;

    for (;;) {
        ssize_t r = read(cfd, buf + len, sizeof(buf) - 1 - len);
        char *hend;

        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        hend = strstr(buf, "\r\n\r\n");
        if (hend != NULL && want < 0) {
            char *cl = strstr(buf, "\r\nContent-Length:");

            want = (long)(hend + 4 - buf) + (cl && cl < hend ? atol(cl + 17) : 0);
        }
        if (want >= 0 && (long)len >= want)
            break;
        if (len >= sizeof(buf) - 1)
            break;
    }
    buf[len] = '\0';
    return pd_xstrdup(buf);
}

static void *
fake_main(void *arg)
{
    struct fake_server *s = arg;

    while (!s->stop) {
        int cfd = accept(s->fd, NULL, NULL);
        const char *resp;

        if (cfd < 0)
            break;
        if (s->n_requests < FAKE_MAX)
            s->requests[s->n_requests++] = fake_read_request(cfd);
        resp = s->served < s->n_responses ? s->responses[s->served]
               : s->n_responses > 0       ? s->responses[s->n_responses - 1]
                                          : "HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\n";
        s->served++;
        if (strncmp(resp, "!sleep", 6) == 0) {
            struct timespec ts = {1, 500000000L};

            nanosleep(&ts, NULL);
            resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        }
        if (strcmp(resp, "!drop") != 0) {
            size_t off = 0, n = strlen(resp);

            while (off < n) {
                ssize_t w = write(cfd, resp + off, n - off);

                if (w <= 0)
                    break;
                off += (size_t)w;
            }
        }
        shutdown(cfd, SHUT_RDWR);
        close(cfd);
    }
    return NULL;
}

void
fake_start(struct fake_server *s)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    getsockname(s->fd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, fake_main, s), 0);
}

void
fake_stop(struct fake_server *s)
{
    s->stop = 1;
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    for (size_t i = 0; i < s->n_responses; i++)
        free(s->responses[i]);
    for (size_t i = 0; i < s->n_requests; i++)
        free(s->requests[i]);
}

/* Queue a response: status, extra header lines ("" or "Name: v\r\n..."), body. */
void
fake_add(struct fake_server *s, int status, const char *ctype, const char *headers,
         const char *body)
{
    assert_true(s->n_responses < FAKE_MAX);
    s->responses[s->n_responses++] = pd_xasprintf(
        "HTTP/1.1 %d Status\r\nContent-Length: %zu\r\nConnection: close\r\n%s%s%s%s\r\n%s", status,
        strlen(body), ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
        headers, body);
}

void
fake_json(struct fake_server *s, int status, const char *body)
{
    fake_add(s, status, "application/json", "", body);
}

void
fake_drop(struct fake_server *s)
{
    s->responses[s->n_responses++] = pd_xstrdup("!drop");
}

