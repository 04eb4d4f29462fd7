#include "runbook/when.h"

#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_mem.h"

static char *
trimmed(const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return pd_xstrndup(s, n);
}

int
when_parse(struct when *out, const char *s, struct pd_err *err)
{
    const char *op = strstr(s, "!=");
    size_t oplen = 2;

    memset(out, 0, sizeof(*out));
    if (op == NULL) {
        op = strchr(s, '=');
        oplen = 1;
    }
    if (op == NULL || strchr(op + oplen, '=') != NULL)
        return PD_ERR_SET(err, PD_EINPUT,
                          "bad condition '%s' (expected '${var} = A' or "
                          "'${var} != A|B')",
                          s);
    out->negate = oplen == 2;
    out->left = trimmed(s, (size_t)(op - s));
    out->right = trimmed(op + oplen, strlen(op + oplen));
    if (out->left[0] == '\0' || out->right[0] == '\0') {
        when_clear(out);
        return PD_ERR_SET(err, PD_EINPUT,
                          "bad condition '%s' (expected '${var} = A' or "
                          "'${var} != A|B')",
                          s);
    }
    return 0;
}

bool
when_holds(const struct when *w, const char *left, const char *right)
{
    bool match = false;

    for (const char *p = right;;) {
        size_t n = strcspn(p, "|");

        if (strlen(left) == n && strncmp(left, p, n) == 0)
            match = true;
        if (p[n] == '\0')
            break;
        p += n + 1;
    }
    return w->negate ? !match : match;
}

void
when_clear(struct when *w)
{
    PD_FREE(w->left);
    PD_FREE(w->right);
}
