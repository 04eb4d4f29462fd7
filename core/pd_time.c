#include "pd_time.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

double
pd_time_mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
pd_time_wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
pd_time_format(char *buf, size_t size, double t)
{
    time_t secs = (time_t)floor(t);
    int ms = (int)((t - (double)secs) * 1000.0);
    struct tm tm;

    if (ms > 999)
        ms = 999;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void
pd_time_stamp(char *buf, size_t size, double t)
{
    time_t secs = (time_t)floor(t);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d%02d%02d-%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int
days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 ? 28 + leap : days[month - 1];
}

int
pd_time_parse_rfc3339(double *out, const char *s, int utc_only)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0;
    double frac = 0.0;
    const char *p;
    struct tm tm;
    time_t t;
    int sign = 1;

    if (strlen(s) < 20)
        return -1;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    p = s + 19;
    if (*p == '.') {
        double scale = 0.1;

        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        p += 6;
        if (utc_only && (oh != 0 || om != 0))
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *out = (double)t + frac - sign * (oh * 3600.0 + om * 60.0);
    return 0;
}

void
pd_time_human(char *buf, size_t size, double seconds)
{
    long s;

    if (seconds < 0)
        seconds = 0;
    if (seconds < 60) {
        snprintf(buf, size, "%.1fs", seconds);
        return;
    }
    s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm%02lds", s / 3600, (s % 3600) / 60, s % 60);
    else
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
}

double
pd_time_span(const char *from, const char *to)
{
    double a, b;

    if (from == NULL || to == NULL || pd_time_parse_rfc3339(&a, from, 0) != 0 ||
        pd_time_parse_rfc3339(&b, to, 0) != 0 || b < a)
        return -1;
    return b - a;
}
