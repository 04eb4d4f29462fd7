/* runbook/hints: the troubleshooting hints file, parsed and matched. */
#include "runbook/hints.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_str.h"

/* The largest hints file read. */
#define HINTS_MAX_BYTES ((size_t)1024 * 1024)

void
hints_free(struct hints *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->v[i].id);
        for (size_t k = 0; k < h->v[i].n_match; k++)
            free(h->v[i].match[k]);
        free(h->v[i].match);
        free(h->v[i].advice);
    }
    PD_FREE(h->v);
    h->n = 0;
}

/* The last hint must have both a match and an advice. */
static int
hint_complete(const struct hints *h, const char *path, struct pd_err *err)
{
    const struct hint *last = h->n > 0 ? &h->v[h->n - 1] : NULL;

    if (last != NULL && (last->n_match == 0 || last->advice == NULL))
        return PD_ERR_SET(err, PD_EINPUT, "%s:%d: hint '%s' needs a match and an advice", path,
                          last->line, last->id);
    return 0;
}

/* One "key = value" line of the current hint. */
static int
hint_line(struct hints *h, char *line, const char *path, int lineno, struct pd_err *err)
{
    char *eq = strchr(line, '='), *key, *value;
    struct hint *cur = h->n > 0 ? &h->v[h->n - 1] : NULL;

    if (eq == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "%s:%d: expected 'key = value' or '[id]'", path, lineno);
    *eq = '\0';
    key = pd_trim(line);
    value = pd_trim(eq + 1);
    if (cur == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "%s:%d: '%s' before the first [id]", path, lineno, key);
    if (value[0] == '\0')
        return PD_ERR_SET(err, PD_EINPUT, "%s:%d: empty %s", path, lineno, key);
    if (strcmp(key, "match") == 0) {
        cur->match = pd_xrealloc(cur->match, (cur->n_match + 1) * sizeof(char *));
        cur->match[cur->n_match++] = pd_xstrdup(value);
    } else if (strcmp(key, "advice") == 0) {
        char *joined = cur->advice ? pd_xasprintf("%s %s", cur->advice, value) : pd_xstrdup(value);

        free(cur->advice);
        cur->advice = joined;
    } else {
        return PD_ERR_SET(err, PD_EINPUT, "%s:%d: unknown key '%s' (match, advice)", path, lineno,
                          key);
    }
    return 0;
}

/* "[id]": a new hint. */
static int
hint_open(struct hints *h, char *line, const char *path, int lineno, struct pd_err *err)
{
    size_t n = strlen(line);
    int rc;

    if (n < 3 || line[n - 1] != ']')
        return PD_ERR_SET(err, PD_EINPUT, "%s:%d: expected '[id]'", path, lineno);
    if ((rc = hint_complete(h, path, err)) != 0)
        return rc;
    line[n - 1] = '\0';
    h->v = pd_xrealloc(h->v, (h->n + 1) * sizeof(*h->v));
    h->v[h->n++] = (struct hint){.id = pd_xstrdup(pd_trim(line + 1)), .line = lineno};
    return 0;
}

int
hints_load(struct hints *out, const char *path, struct pd_err *err)
{
    char *text = NULL;
    int rc, lineno = 0;

    memset(out, 0, sizeof(*out));
    if ((rc = pd_read_file(&text, NULL, path, HINTS_MAX_BYTES, err)) != 0)
        return rc;
    for (char *p = text, *nl; p != NULL && rc == 0; p = nl ? nl + 1 : NULL) {
        char *line;

        nl = strchr(p, '\n');
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        line = pd_trim(p);
        if (line[0] == '\0' || line[0] == '#')
            continue;
        rc = line[0] == '[' ? hint_open(out, line, path, lineno, err)
                            : hint_line(out, line, path, lineno, err);
    }
    if (rc == 0)
        rc = hint_complete(out, path, err);
    free(text);
    if (rc != 0)
        hints_free(out);
    return rc;
}

/* Every " & "-separated term of m occurs in text, ignoring case. */
static bool
match_line(const char *m, const char *text)
{
    while (*m != '\0') {
        const char *amp = strstr(m, " & ");
        size_t len = amp ? (size_t)(amp - m) : strlen(m);
        bool found = false;

        for (const char *t = text; *t != '\0' && !found; t++)
            found = strncasecmp(t, m, len) == 0;
        if (!found)
            return false;
        m += len;
        if (amp != NULL)
            m += 3;
    }
    return true;
}

const struct hint *
hints_match(const struct hints *h, const char *text)
{
    if (h == NULL || text == NULL)
        return NULL;
    for (size_t i = 0; i < h->n; i++)
        for (size_t k = 0; k < h->v[i].n_match; k++)
            if (match_line(h->v[i].match[k], text))
                return &h->v[i];
    return NULL;
}
