#include "pd_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_mem.h"

void
pd_err_clear(struct pd_err *err)
{
    if (err == NULL)
        return;
    err->kind = 0;
    err->msg[0] = '\0';
    err->file = NULL;
    err->line = 0;
}

int
pd_err_set_at(struct pd_err *err, const char *file, int line, int kind, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->kind = kind;
        err->file = file;
        err->line = line;
    }
    return kind;
}

void
pd_err_prefix(struct pd_err *err, const char *fmt, ...)
{
    char prefix[PD_ERR_MSG_MAX];
    char joined[PD_ERR_MSG_MAX];
    size_t plen;
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    // Build "prefix + msg" by hand: the result is cut at the buffer size.
    plen = strnlen(prefix, sizeof(joined) - 1);
    memcpy(joined, prefix, plen);
    memcpy(joined + plen, err->msg, sizeof(joined) - plen - 1);
    joined[sizeof(joined) - 1] = '\0';
    memcpy(err->msg, joined, sizeof(err->msg));
}

int
pd_err_exit_code(int kind)
{
    switch (kind) {
    case PD_OK:
        return 0;
#define PD_ERR_CODE(name, value, code, str)                                                        \
    case name:                                                                                     \
        return code;
        PD_ERR_KINDS(PD_ERR_CODE) // NOLINT(bugprone-branch-clone): kinds may share an exit code
#undef PD_ERR_CODE
    default:
        return 1;
    }
}

const char *
pd_err_kind_name(int kind)
{
    switch (kind) {
    case PD_OK:
        return "ok";
#define PD_ERR_NAME(name, value, code, str)                                                        \
    case name:                                                                                     \
        return str;
        PD_ERR_KINDS(PD_ERR_NAME)
#undef PD_ERR_NAME
    default:
        return "unknown";
    }
}

void
pd_assert_fail(const char *expr, const char *file, int line)
{
    pd_run_fatal_hook();
    fprintf(stderr, "pgdrill: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
