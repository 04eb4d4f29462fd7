#include "pd_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pd_redact.h"

static pd_log_sink_fn *log_sink;
static void *log_payload;
static enum pd_log_level log_level = PD_LOG_WARN;

void
pd_log_set_sink(pd_log_sink_fn *sink, void *payload)
{
    log_sink = sink;
    log_payload = payload;
}

void
pd_log_set_level(enum pd_log_level max_level)
{
    log_level = max_level;
}

enum pd_log_level
pd_log_get_level(void)
{
    return log_level;
}

const char *
pd_log_level_name(enum pd_log_level level)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};

    return (unsigned)level < sizeof(names) / sizeof(names[0]) ? names[level] : "?";
}

void
pd_log(enum pd_log_level level, const char *fmt, ...)
{
    char msg[1024];
    char *red;
    va_list ap;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    // defence in depth: a caller that forgot to redact (a server notice, a
    // foreign error text) still never shows a registered secret
    red = pd_redact(msg);
    if (log_sink != NULL)
        log_sink(level, red, log_payload);
    else
        fprintf(stderr, "pgdrill: %s: %s\n", pd_log_level_name(level), red);
    free(red);
}
