/*
 * fake_server: a scripted HTTP server on loopback for unit tests of the
 * HTTP and Neon clients. Each accepted connection gets the next queued
 * response (the last one repeats); "!drop" closes without answering and
 * "!sleep" answers an empty 200 after 1.5 s. Requests are kept as raw text.
 * Faults a real server cannot produce are what it is for.
 */
#ifndef PD_TEST_FAKE_SERVER_H
#define PD_TEST_FAKE_SERVER_H

#include <pthread.h>
#include <stddef.h>

#define FAKE_MAX 32

struct fake_server {
    int fd;
    int port;
    pthread_t thread;
    char *responses[FAKE_MAX]; /* raw HTTP, or "!drop" */
    size_t n_responses;
    size_t served;
    char *requests[FAKE_MAX]; /* raw request text (headers + body) */
    size_t n_requests;
    volatile int stop;
};

/* Listen on 127.0.0.1 (a free port, in s->port) and serve in a thread. */
void fake_start(struct fake_server *s);
/* Stop the thread and free what was queued and recorded. */
void fake_stop(struct fake_server *s);
/* Queue a response: status, content type (or NULL), extra header lines, body. */
void fake_add(struct fake_server *s, int status, const char *ctype, const char *headers,
              const char *body);
void fake_json(struct fake_server *s, int status, const char *body);
void fake_drop(struct fake_server *s);

#endif
