#include "pd_mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void (*fatal_hook)(void);

void
pd_set_fatal_hook(void (*hook)(void))
{
    fatal_hook = hook;
}

void
pd_run_fatal_hook(void)
{
    void (*hook)(void) = fatal_hook;

    fatal_hook = NULL; /* never twice */
    if (hook != NULL)
        hook();
}

static _Noreturn void
oom(size_t size)
{
    pd_run_fatal_hook();
    fprintf(stderr, "pgdrill: out of memory allocating %zu bytes\n", size);
    abort();
}

void *
pd_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        oom(size);
    return p;
}

void *
pd_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL)
        oom(n * size);
    return p;
}

void *
pd_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (q == NULL)
        oom(size);
    return q;
}

char *
pd_xstrdup(const char *s)
{
    return s == NULL ? NULL : pd_xstrndup(s, strlen(s));
}

char *
pd_xstrndup(const char *s, size_t n)
{
    char *p;
    size_t len = strnlen(s, n);

    p = pd_xmalloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
pd_xasprintf(const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    p = pd_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

// called through a volatile pointer: the compiler cannot prove the store is dead
static void *(*volatile wipe_memset)(void *, int, size_t) = memset;

void
pd_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        (void)wipe_memset(p, 0, n);
}

void
pd_free_secret(char *s)
{
    if (s == NULL)
        return;
    pd_wipe(s, strlen(s));
    free(s);
}
