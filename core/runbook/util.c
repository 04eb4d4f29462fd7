/* runbook: small helpers of the parser (names, slugs, durations, variables). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/runbook.intern.h"

static bool
is_lower_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool
runbook_valid_id(const char *s)
{
    if (!is_lower_alnum((unsigned char)s[0]))
        return false;
    for (s++; *s; s++)
        if (!is_lower_alnum((unsigned char)*s) && *s != '-')
            return false;
    return true;
}

bool
runbook_valid_step_id(const char *s)
{
    if (!is_lower_alnum((unsigned char)s[0]))
        return false;
    for (s++; *s; s++)
        if (!is_lower_alnum((unsigned char)*s) && !strchr("-._/", *s))
            return false;
    return true;
}

bool
runbook_valid_var(const char *s)
{
    if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (s++; *s; s++)
        if (!is_lower_alnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

bool
runbook_valid_file_name(const char *s)
{
    // ASCII only, whatever the locale
    if (s == NULL || !(is_lower_alnum(s[0] | 0x20) || s[0] == '_'))
        return false;
    for (s++; *s; s++)
        if (!is_lower_alnum(*s | 0x20) && *s != '_' && *s != '.' && *s != '-')
            return false;
    return true;
}

bool
runbook_env_var(const char *s)
{
    if (!((s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

bool
runbook_valid_integer(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!isdigit((unsigned char)*s))
        return false;
    while (isdigit((unsigned char)*s))
        s++;
    return *s == '\0';
}

char *
runbook_slug(const char *title)
{
    char *out = pd_xmalloc(strlen(title) + 1);
    size_t n = 0;
    bool dash = false;

    for (const unsigned char *p = (const unsigned char *)title; *p; p++) {
        if (isalnum(*p) && *p < 0x80) {
            if (dash && n > 0)
                out[n++] = '-';
            dash = false;
            out[n++] = (char)tolower(*p);
        } else {
            dash = true;
        }
    }
    out[n] = '\0';
    return out;
}

size_t
runbook_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *d;
    size_t w = lb + 1;
    size_t r;

    /* Only short words are compared (action names); cap the work anyway. */
    if (la > 64 || lb > 64)
        return la > lb ? la : lb;
    d = pd_xcalloc((la + 1) * w, sizeof *d);
    for (size_t i = 0; i <= la; i++)
        d[i * w] = i;
    for (size_t j = 0; j <= lb; j++)
        d[j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = d[(i - 1) * w + j] + 1;

            if (d[i * w + j - 1] + 1 < best)
                best = d[i * w + j - 1] + 1;
            if (d[(i - 1) * w + j - 1] + cost < best)
                best = d[(i - 1) * w + j - 1] + cost;
            if (i > 1 && j > 1 &&
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
                d[(i - 2) * w + j - 2] + 1 < best)
                best = d[(i - 2) * w + j - 2] + 1;
            d[i * w + j] = best;
        }
    }
    r = d[la * w + lb];
    free(d);
    return r;
}

bool
runbook_word_in(const char *list, const char *word, size_t len)
{
    const char *p = list;

    while (*p) {
        size_t n = strcspn(p, " ");

        if (n == len && memcmp(p, word, len) == 0)
            return true;
        p += n;
        while (*p == ' ')
            p++;
    }
    return false;
}

void
runbook_scan_vars(const char *s, runbook_var_fn *fn, void *payload)
{
    size_t i = 0;

    while (s[i]) {
        size_t j;

        if (s[i] == '$' && s[i + 1] == '$' && s[i + 2] == '{') {
            i += 3; /* a literal "${" */
            continue;
        }
        if (s[i] != '$' || s[i + 1] != '{') {
            i++;
            continue;
        }
        j = i + 2;
        while (isalnum((unsigned char)s[j]) || s[j] == '_')
            j++;
        if (s[j] == '}' && j > i + 2) {
            fn(s + i + 2, j - i - 2, i, false, payload);
            i = j + 1;
            continue;
        }
        /* Malformed: show up to the closing brace when it is near, on the same line. */
        j = i + 2;
        while (s[j] && s[j] != '}' && s[j] != '\n' && j - i < 40)
            j++;
        if (s[j] == '}')
            j++;
        fn(s + i, j - i, i, true, payload);
        i += 2;
    }
}

/* Scan "${name}" at p (p points at '$'): *name_len and *ref_len, or PD_EINPUT. */
static int
scan_ref(const char *p, size_t *name_len, size_t *ref_len, struct pd_err *err)
{
    const char *start = p + 2, *q = start;

    while (*q && *q != '}')
        q++;
    if (*q != '}')
        return PD_ERR_SET(err, PD_EINPUT, "unterminated variable reference '%.20s'", p);
    if (q == start)
        return PD_ERR_SET(err, PD_EINPUT, "empty variable reference '${}'");
    for (const char *c = start; c < q; c++) {
        bool ok =
            isalpha((unsigned char)*c) || *c == '_' || (c > start && isdigit((unsigned char)*c));

        if (!ok || (unsigned char)*c > 127)
            return PD_ERR_SET(err, PD_EINPUT, "bad variable name '%.*s'", (int)(q - start), start);
    }
    *name_len = (size_t)(q - start);
    *ref_len = (size_t)(q - p) + 1;
    return 0;
}

int
runbook_expand(char **out, const char *text, runbook_expand_fn *fn, void *payload,
               struct pd_err *err)
{
    struct pd_buf b;
    const char *p = text ? text : "";
    int rc = 0;

    *out = NULL;
    pd_buf_init(&b, 0);
    while (*p && rc == 0) {
        size_t name_len = 0, ref_len = 0;
        char *name;

        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            pd_buf_append(&b, "${", 2, NULL);
            p += 3;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            size_t n = strcspn(p + 1, "$") + 1;

            pd_buf_append(&b, p, n, NULL);
            p += n;
            continue;
        }
        rc = scan_ref(p, &name_len, &ref_len, err);
        if (rc != 0)
            break;
        name = pd_xstrndup(p + 2, name_len);
        rc = fn(&b, name, (size_t)(p - (text ? text : "")), ref_len, payload, err);
        free(name);
        p += ref_len;
    }
    if (rc == 0) {
        *out = pd_buf_steal(&b);
        if (*out == NULL)
            *out = pd_xstrdup("");
    }
    pd_buf_free(&b);
    return rc;
}

int
runbook_parse_duration(int *out, const char *s)
{
    long total = 0;
    int last_unit = 0; /* 3 h, 2 m, 1 s: units must come in decreasing order */

    if (s == NULL || *s == '\0')
        return -1;
    if (runbook_valid_integer(s) && *s != '-' && *s != '+') {
        if (strlen(s) > 9)
            return -1;
        *out = (int)strtol(s, NULL, 10);
        return 0;
    }
    while (*s) {
        long v = 0;
        int unit;
        long mult;
        size_t nd = 0;

        while (isdigit((unsigned char)*s)) {
            if (++nd > 9)
                return -1;
            v = v * 10 + (*s - '0');
            s++;
        }
        if (nd == 0)
            return -1;
        switch (*s) {
        case 'h':
            unit = 3;
            mult = 3600;
            break;
        case 'm':
            unit = 2;
            mult = 60;
            break;
        case 's':
            unit = 1;
            mult = 1;
            break;
        default:
            return -1;
        }
        if (last_unit != 0 && unit >= last_unit)
            return -1;
        last_unit = unit;
        s++;
        total += v * mult;
        if (total > INT_MAX)
            return -1;
    }
    *out = (int)total;
    return 0;
}
