#include "pd_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_mem.h"

#define PD_BUF_DEFAULT_CAP ((size_t)64 * 1024 * 1024)

void
pd_buf_init(struct pd_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->size = 0;
    b->cap = cap ? cap : PD_BUF_DEFAULT_CAP;
}

static int
reserve(struct pd_buf *b, size_t extra, struct pd_err *err)
{
    size_t want;

    if (b->cap == 0)
        b->cap = PD_BUF_DEFAULT_CAP;
    if (extra > b->cap || b->len > b->cap - extra)
        return PD_ERR_SET(err, PD_EINPUT, "buffer: too big (limit %zu bytes)", b->cap);
    want = b->len + extra + 1;
    if (want <= b->size)
        return 0;
    if (want < 64)
        want = 64;
    if (want < b->size * 2)
        want = b->size * 2;
    b->data = pd_xrealloc(b->data, want);
    b->size = want;
    return 0;
}

int
pd_buf_append(struct pd_buf *b, const void *data, size_t len, struct pd_err *err)
{
    int rc = reserve(b, len, err);

    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
pd_buf_appendf(struct pd_buf *b, struct pd_err *err, const char *fmt, ...)
{
    va_list ap;
    int n;
    int rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return PD_ERR_SET(err, PD_EBUG, "buffer: bad format");
    rc = reserve(b, (size_t)n, err);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void
pd_buf_reset(struct pd_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

char *
pd_buf_steal(struct pd_buf *b)
{
    char *p = b->data ? b->data : pd_xstrdup("");

    b->data = NULL;
    b->len = 0;
    b->size = 0;
    return p;
}

void
pd_buf_free(struct pd_buf *b)
{
    PD_FREE(b->data);
    b->len = 0;
    b->size = 0;
}

const char *
pd_buf_str(const struct pd_buf *b)
{
    return b->data ? b->data : "";
}
