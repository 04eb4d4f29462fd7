/* pd_str: the shared string helpers (trim, dup, hex, numbers, the loopback rule). */
#include "pd_str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_err.h"
#include "pd_mem.h"

char *
pd_trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

char *
pd_dup_or_null(const char *s)
{
    return s ? pd_xstrdup(s) : NULL;
}

int
pd_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void
pd_hex_encode(char *out, const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

int
pd_parse_u64(uint64_t *out, const char *s, const char *what, struct pd_err *err)
{
    unsigned long long v;
    char *end;

    // strtoull accepts spaces and a sign; a count or a size must be plain digits
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return PD_ERR_SET(err, PD_EINPUT, "%s: not a number: '%.64s'", what, s ? s : "");
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return PD_ERR_SET(err, PD_EINPUT, "%s: not a number: '%.64s'", what, s);
    *out = (uint64_t)v;
    return 0;
}

void
pd_words_append(char *buf, size_t size, const char *word)
{
    size_t len = strlen(buf);
    int n = snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);

    // a table's names always fit the buffer its caller sized for it
    if (n <= 0 || (size_t)n >= size - len)
        pd_assert_fail("pd_words_append: list too long", __FILE__, __LINE__);
}

bool
pd_host_is_loopback(const char *host)
{
    char buf[INET6_ADDRSTRLEN + 1];
    struct in_addr a4;
    struct in6_addr a6;
    size_t len;

    if (host == NULL)
        return false;
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return true;
    len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        if (len - 2 >= sizeof(buf))
            return false;
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}
