/* Small helpers all files share: parsing, copies, log lines, clocks, ids, JSON fields. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pd_time.h"
#include "sandbox.h"

bool
sb_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || !(isdigit((unsigned char)s[0]) || s[0] == '-'))
        return false;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

void
sb_scpy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memmove(dst, src, n);
    dst[n] = '\0';
}

unsigned int sb_seed;

void
sb_log(const char *fmt, ...)
{
    char ts[40];
    va_list ap;

    pd_time_format(ts, sizeof(ts), pd_time_wall());
    fprintf(stderr, "neon-sandbox: %s ", ts);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void
sb_now_str(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    if (strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 && size > 0)
        buf[0] = '\0'; // did not fit: the contents would be undefined
}

void
sb_rand_hex(char *buf, size_t nbytes)
{
    unsigned char r[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (nbytes > sizeof(r))
        nbytes = sizeof(r);
    if (fd < 0 || read(fd, r, nbytes) != (ssize_t)nbytes)
        for (size_t i = 0; i < nbytes; i++)
            r[i] = (unsigned char)rand_r(&sb_seed);
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(buf + 2 * i, "%02x", r[i]);
}

void
sb_new_uuid(char *buf)
{
    char h[33];

    sb_rand_hex(h, 16);
    h[12] = '4';
    h[16] = "89ab"[h[16] % 4];
    snprintf(buf, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

void
sb_jset_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddStringToObject(o, k, v);
}

const char *
sb_jbody_str(const cJSON *o, const char *k, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

    if (v == NULL || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}
