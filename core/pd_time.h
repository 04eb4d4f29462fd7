/*
 * pd_time: wall and monotonic clocks, RFC 3339 in UTC.
 */
#ifndef PD_TIME_H
#define PD_TIME_H

#include <stddef.h>
#include <time.h>

/* Seconds on CLOCK_MONOTONIC, for durations. */
double pd_time_mono(void);

/* Wall clock now, seconds since the epoch with sub-second precision. */
double pd_time_wall(void);

/*
 * Format t (seconds since the epoch) as RFC 3339 UTC with milliseconds,
 * "2026-11-26T03:37:01.123Z", into buf (at least 25 bytes).
 */
void pd_time_format(char *buf, size_t size, double t);

/*
 * Parse RFC 3339: "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)"; a space may
 * replace the T. With utc_only, only "Z" or "+00:00" is accepted. Returns 0
 * and stores seconds since the epoch, or -1 when malformed or out of range.
 */
int pd_time_parse_rfc3339(double *out, const char *s, int utc_only);

/* Seconds from one RFC 3339 stamp to a later one; -1 when either is missing or bad or to < from. */
double pd_time_span(const char *from, const char *to);

/* "YYYYMMDD-HHMMSS" of t in UTC into buf (at least 16 bytes). */
void pd_time_stamp(char *buf, size_t size, double t);

/* Human duration "1h02m03s", "4m05s", "12.3s" into buf. */
void pd_time_human(char *buf, size_t size, double seconds);

#endif
