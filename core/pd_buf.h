/*
 * pd_buf: a growing byte buffer with an explicit size cap.
 *
 * The buffer owns its storage; pd_buf_free releases it. data is always
 * NUL-terminated (the terminator is not counted in len). Appending past
 * cap fails with PD_EINPUT ("too big") instead of growing without bound.
 */
#ifndef PD_BUF_H
#define PD_BUF_H

#include <stddef.h>

struct pd_err;

struct pd_buf {
    char *data;  /* owned; NULL until the first append */
    size_t len;  /* bytes used */
    size_t size; /* bytes allocated */
    size_t cap;  /* maximum len; 0 means 64 MiB */
};

void pd_buf_init(struct pd_buf *b, size_t cap);
int pd_buf_append(struct pd_buf *b, const void *data, size_t len, struct pd_err *err);
int pd_buf_appendf(struct pd_buf *b, struct pd_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pd_buf_reset(struct pd_buf *b);
/* Hand the string over to the caller (who frees it); the buffer is empty after. */
char *pd_buf_steal(struct pd_buf *b);
void pd_buf_free(struct pd_buf *b);
/* Borrowed view; "" when empty. Valid until the next append or free. */
const char *pd_buf_str(const struct pd_buf *b);

#endif
