/* engine variables: lookup, expansion, SQL bind parameters, input validation. */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.intern.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"
#include "shell/shell.h"
#include "shell/splice.h"

static bool
is_upper_name(const char *name)
{
    if (!(isupper((unsigned char)name[0]) || name[0] == '_'))
        return false;
    for (const char *p = name; *p; p++)
        if (!(isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_'))
            return false;
    return true;
}

const char *
engine_opt_var(const struct engine *e, const char *name)
{
    size_t nl = strlen(name);

    // the last --var for a name wins, as on most command lines
    for (size_t i = e->opts.n_vars; i-- > 0;) {
        const char *kv = e->opts.vars[i];

        if (strncmp(kv, name, nl) == 0 && kv[nl] == '=')
            return kv + nl + 1;
    }
    return NULL;
}

const char *
engine_lookup(const struct engine *e, const char *name)
{
    const char *v;
    const struct runbook_input *in;

    for (size_t i = 0; i < e->n_vars; i++)
        if (strcmp(e->vars[i].name, name) == 0 && e->vars[i].value != NULL)
            return e->vars[i].value;
    v = engine_opt_var(e, name);
    if (v != NULL)
        return v;
    in = runbook_find_input(e->rb, name);
    if (in != NULL && in->default_value != NULL)
        return in->default_value;
    if (is_upper_name(name))
        return getenv(name);
    return NULL;
}

int
engine_set_var(struct engine *e, const char *name, const char *value, struct pd_err *err)
{
    struct drill_event ev = {.type = DRILL_EV_VAR, .stage = -1, .step = -1};
    char *redacted;
    size_t i;

    // a password inside a URI becomes a registered secret before anything shows it
    pd_redact_register_uri(value);
    for (i = 0; i < e->n_vars; i++)
        if (strcmp(e->vars[i].name, name) == 0)
            break;
    if (i == e->n_vars) {
        e->vars = pd_xrealloc(e->vars, (e->n_vars + 1) * sizeof(*e->vars));
        e->vars[e->n_vars].name = pd_xstrdup(name);
        e->vars[e->n_vars].value = NULL;
        e->n_vars++;
    }
    free(e->vars[i].value);
    e->vars[i].value = pd_xstrdup(value);
    redacted = pd_redact(value);
    ev.name = name;
    // a value that changes under redaction holds a secret: the journal gets
    // the name only, and a resume asks for the value again
    ev.secret = strcmp(redacted, value) != 0;
    ev.value = ev.secret ? NULL : value;
    free(redacted);
    return engine_record(e, &ev, err);
}

/* Scan "${name}" at p (p points at '$'); on success *name_out is owned. */
static int
scan_ref(const char *p, char **name_out, size_t *len_out, struct pd_err *err)
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
    *name_out = pd_xstrndup(start, (size_t)(q - start));
    *len_out = (size_t)(q - p) + 1;
    return 0;
}

int
engine_expand(const struct engine *e, char **out, const char *text, bool shell_quote_values,
              struct pd_err *err)
{
    struct pd_buf b;
    struct shell_splice sp;
    const char *p = text ? text : "";
    int rc = 0;

    *out = NULL;
    pd_buf_init(&b, 0);
    shell_splice_init(&sp, p);
    while (*p) {
        char *name = NULL;
        size_t len = 0;
        const char *v;

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
        rc = scan_ref(p, &name, &len, err);
        if (rc != 0)
            goto out;
        v = engine_lookup(e, name);
        if (v == NULL) {
            rc = PD_ERR_SET(err, PD_EINPUT, "undefined variable '%s'", name);
            free(name);
            goto out;
        }
        if (shell_quote_values) {
            // quoted for where it lands: a word, "...", '...', a here-document
            char *q = NULL;

            rc = shell_splice_quote(&q, &sp, (size_t)(p - sp.text), len, name, v, err);
            free(name);
            if (rc != 0)
                goto out;
            pd_buf_append(&b, q, strlen(q), NULL);
            free(q);
            p += len;
            continue;
        }
        pd_buf_append(&b, v, strlen(v), NULL);
        free(name);
        p += len;
    }
    *out = pd_buf_steal(&b);
    if (*out == NULL)
        *out = pd_xstrdup("");
out:
    pd_buf_free(&b);
    return rc;
}

void
engine_strv_free(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int
engine_sql_bind(const struct engine *e, char **out_sql, char ***params, size_t *n_params,
                const char *sql, struct pd_err *err)
{
    struct pd_buf b;
    const char *p = sql ? sql : "";
    char **names = NULL;
    char **vals = NULL;
    size_t n = 0;
    int rc = 0;

    *out_sql = NULL;
    *params = NULL;
    *n_params = 0;
    pd_buf_init(&b, 0);
    while (*p) {
        char *name = NULL;
        size_t len = 0, k;
        const char *v;

        if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
            pd_buf_append(&b, "${", 2, NULL);
            p += 3;
            continue;
        }
        if (!(p[0] == '$' && p[1] == '{')) {
            size_t m = strcspn(p + 1, "$") + 1;

            pd_buf_append(&b, p, m, NULL);
            p += m;
            continue;
        }
        rc = scan_ref(p, &name, &len, err);
        if (rc != 0)
            goto out;
        for (k = 0; k < n; k++)
            if (strcmp(names[k], name) == 0)
                break;
        if (k == n) {
            v = engine_lookup(e, name);
            if (v == NULL) {
                rc = PD_ERR_SET(err, PD_EINPUT, "undefined variable '%s'", name);
                free(name);
                goto out;
            }
            names = pd_xrealloc(names, (n + 1) * sizeof(*names));
            vals = pd_xrealloc(vals, (n + 1) * sizeof(*vals));
            names[n] = pd_xstrdup(name);
            vals[n] = pd_xstrdup(v);
            n++;
        }
        // a value is never spliced: it travels as parameter $k+1
        pd_buf_appendf(&b, NULL, "$%zu", k + 1);
        free(name);
        p += len;
    }
    *out_sql = pd_buf_steal(&b);
    if (*out_sql == NULL)
        *out_sql = pd_xstrdup("");
    *params = vals;
    *n_params = n;
    vals = NULL;
out:
    pd_buf_free(&b);
    engine_strv_free(names, n);
    engine_strv_free(vals, n);
    return rc;
}

int
engine_input_type(const char *name)
{
    if (name == NULL || strcmp(name, "text") == 0)
        return INPUT_TEXT;
    if (strcmp(name, "timestamp") == 0)
        return INPUT_TIMESTAMP;
    if (strcmp(name, "integer") == 0)
        return INPUT_INTEGER;
    if (strcmp(name, "choice") == 0)
        return INPUT_CHOICE;
    return -1;
}

int
engine_validate(const char *value, enum input_type type, const char *const *choices,
                size_t n_choices, const char *pattern, struct pd_err *err)
{
    switch (type) {
    case INPUT_TIMESTAMP: {
        double t;

        if (pd_time_parse_rfc3339(&t, value, 1) != 0)
            return PD_ERR_SET(err, PD_EINPUT,
                              "'%s' is not an RFC 3339 timestamp in UTC "
                              "(e.g. 2026-01-31T14:05:00Z)",
                              value);
        break;
    }
    case INPUT_INTEGER: {
        const char *p = value;

        if (*p == '-' || *p == '+')
            p++;
        if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 18)
            return PD_ERR_SET(err, PD_EINPUT, "'%s' is not an integer", value);
        break;
    }
    case INPUT_CHOICE: {
        struct pd_buf b;
        int rc;

        for (size_t i = 0; i < n_choices; i++)
            if (strcmp(choices[i], value) == 0)
                return 0;
        pd_buf_init(&b, 0);
        for (size_t i = 0; i < n_choices; i++)
            pd_buf_appendf(&b, NULL, "%s%s", i ? ", " : "", choices[i]);
        rc = PD_ERR_SET(err, PD_EINPUT, "'%s' is not one of %s", value, pd_buf_str(&b));
        pd_buf_free(&b);
        return rc;
    }
    case INPUT_TEXT:
        break;
    }
    if (pattern != NULL && pattern[0] != '\0') {
        regex_t re;
        char *anchored = pd_xasprintf("^(%s)$", pattern);
        int bad = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
        int rc = 0;

        free(anchored);
        if (bad != 0)
            return PD_ERR_SET(err, PD_EINPUT, "bad pattern '%s'", pattern);
        if (regexec(&re, value, 0, NULL, 0) != 0)
            rc = PD_ERR_SET(err, PD_EINPUT, "'%s' does not match the pattern %s", value, pattern);
        regfree(&re);
        return rc;
    }
    return 0;
}
