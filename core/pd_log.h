/*
 * pd_log: diagnostics from core/ (never operator events, never secrets).
 *
 * core/ never writes to stdout or stderr; it calls pd_log and the front end
 * installs a sink (stderr line, TUI log pane, JSON). Without a sink, logs
 * at or above the threshold go to stderr. Callers redact before logging;
 * pd_log passes every line through pd_redact once more before the sink.
 */
#ifndef PD_LOG_H
#define PD_LOG_H

enum pd_log_level {
    PD_LOG_ERROR,
    PD_LOG_WARN,
    PD_LOG_INFO,
    PD_LOG_DEBUG,
    PD_LOG_TRACE,
};

typedef void pd_log_sink_fn(enum pd_log_level level, const char *msg, void *payload);

void pd_log_set_sink(pd_log_sink_fn *sink, void *payload);
void pd_log_set_level(enum pd_log_level max_level);
enum pd_log_level pd_log_get_level(void);
const char *pd_log_level_name(enum pd_log_level level);
void pd_log(enum pd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
