/* engine variables: lookup, expansion, SQL bind parameters, input validation. */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The run variable name of scope (scope.name; NULL scope: the runbook's own), or NULL. */
static const char *
scoped_var(const struct engine *e, const char *scope, const char *name)
{
    size_t sl = scope != NULL ? strlen(scope) : 0;

    for (size_t i = 0; i < e->n_vars; i++) {
        const char *vn = e->vars[i].name;

        if (e->vars[i].value == NULL)
            continue;
        if (scope == NULL
                ? strcmp(vn, name) == 0
                : strncmp(vn, scope, sl) == 0 && vn[sl] == '.' && strcmp(vn + sl + 1, name) == 0)
            return e->vars[i].value;
    }
    return NULL;
}

/* The --var value for name, or NULL. */
static const char *
cli_var(const struct engine *e, const char *name)
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
engine_opt_var(const struct engine *e, const char *name)
{
    // a sub-drill's "--var" are the values its runbook step gave (runbook_step.c)
    if (e->scope != NULL)
        return scoped_var(e, e->scope, name);
    return cli_var(e, name);
}

static bool
same_scope(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/*
 * Where PREFIX_NAME lives when a runbook step of scope has save=PREFIX: the child's NAME,
 * in the scope of its stages, the id of the step's stage (runbook/include.c). Returns
 * false when no runbook step of scope exports name.
 */
static bool
exported_var(const struct engine *e, const char **scope, const char **name)
{
    for (size_t si = 0; si < e->rb->n_stages; si++) {
        const struct runbook_stage *st = &e->rb->stages[si];
        const struct runbook_step *sp;
        const char *prefix, *n = *name;
        size_t pl;

        if (st->n_steps == 0 || !same_scope(st->scope, *scope))
            continue;
        sp = &st->steps[st->n_steps - 1];
        prefix = runbook_step_attr(sp, "save");
        if (sp->action != STEP_RUNBOOK || prefix == NULL)
            continue;
        pl = strlen(prefix);
        if (strncmp(n, prefix, pl) == 0 && n[pl] == '_' && n[pl + 1] != '\0') {
            *scope = st->id;
            *name = n + pl + 1;
            return true;
        }
    }
    return false;
}

const char *
engine_lookup_in(const struct engine *e, const char *scope, const char *name)
{
    const char *v, *asked = name;
    const struct runbook_input *in;

    // a loop, not recursion: each export leads one sub-drill down
    for (;;) {
        v = scoped_var(e, scope, name);
        if (v != NULL)
            return v;
        if (scope == NULL) {
            v = cli_var(e, name);
            if (v != NULL)
                return v;
            in = runbook_find_input(e->rb, name);
            if (in != NULL && in->default_value != NULL)
                return in->default_value;
        }
        if (!exported_var(e, &scope, &name))
            break;
    }
    // the environment answers only for the name asked, not for a child's variable
    // an export led to (an unset PREFIX_PGHOST is unset, not the operator's $PGHOST)
    if (name == asked && is_upper_name(name))
        return getenv(name);
    return NULL;
}

const char *
engine_lookup(const struct engine *e, const char *name)
{
    return engine_lookup_in(e, e->scope, name);
}

/* runbook_expand callback: note whether the wanted name is referenced, expand to nothing. */
static int
find_ref(struct pd_buf *out, const char *name, size_t at, size_t ref_len, void *payload,
         struct pd_err *err)
{
    const char **want = payload;

    (void)out;
    (void)at;
    (void)ref_len;
    (void)err;
    if (*want != NULL && strcmp(name, *want) == 0)
        *want = NULL;
    return 0;
}

/* Whether text references ${name} (or, as a list, names it among its comma-separated names). */
static bool
text_refers(const char *text, const char *name, bool list)
{
    const char *want = name;
    char *junk = NULL;
    struct pd_err err;
    size_t nl = strlen(name);

    if (text == NULL)
        return false;
    if (list)
        for (const char *p = text; *p; p += strcspn(p, ","), p += *p == ',')
            if (strncmp(p, name, nl) == 0 && (p[nl] == ',' || p[nl] == '\0'))
                return true;
    pd_err_clear(&err);
    // a malformed reference is the linter's to report; what was read before it counts
    (void)runbook_expand(&junk, text, find_ref, &want, &err);
    free(junk);
    return want == NULL;
}

/* Whether the runbook reads the environment variable name (in a body or an attribute). */
static bool
runbook_reads_env(const struct runbook *rb, const char *name)
{
    if (!is_upper_name(name))
        return false;
    for (size_t i = 0; i < rb->n_stages; i++)
        for (size_t j = 0; j < rb->stages[i].n_steps; j++) {
            const struct runbook_step *st = &rb->stages[i].steps[j];
            const char *act = runbook_action_name(st->action);

            if (text_refers(st->body, name, false))
                return true;
            // sql and check steps without url= connect to ${DATABASE_URL}
            if (strcmp(name, "DATABASE_URL") == 0 && runbook_step_attr(st, "url") == NULL &&
                (strcmp(act, "sql") == 0 || strcmp(act, "check") == 0))
                return true;
            for (size_t k = 0; k < st->n_attrs; k++)
                if (text_refers(st->attrs[k].value, name, strcmp(st->attrs[k].key, "env") == 0))
                    return true;
        }
    return false;
}

/* The name a --var answers for step st (an input step's, a note's name=), or "". */
static const char *
step_answer_name(const struct runbook_step *st)
{
    const char *n = runbook_step_attr(st, "name");

    if (st->input != NULL)
        return st->input->name;
    return n != NULL && strcmp(runbook_action_name(st->action), "note") == 0 ? n : "";
}

/* Append the name to the list in b; remember it when it is the closest yet to want. */
static void
consider_name(struct pd_buf *b, const char *cand, const char *want, const char **best,
              size_t *best_d)
{
    size_t d = runbook_edit_distance(want, cand);

    pd_buf_appendf(b, NULL, "%s%s", b->len ? ", " : "", cand);
    if (d < *best_d) {
        *best_d = d;
        *best = cand;
    }
}

/* The names a --var answers into b ("a, b, c"), header inputs first; the closest in *best. */
static void
input_names(struct pd_buf *b, const struct runbook *rb, const char *name, const char **best)
{
    size_t best_d = (size_t)-1;

    for (size_t i = 0; i < rb->n_inputs; i++)
        consider_name(b, rb->inputs[i].name, name, best, &best_d);
    for (size_t i = 0; i < rb->n_stages; i++)
        for (size_t j = 0; rb->stages[i].scope == NULL && j < rb->stages[i].n_steps; j++)
            if (step_answer_name(&rb->stages[i].steps[j])[0] != '\0')
                consider_name(b, step_answer_name(&rb->stages[i].steps[j]), name, best, &best_d);
    // a suggestion only when it is close: at most 2 edits or a third of the name
    if (best_d > 2 && best_d * 3 > strlen(name))
        *best = NULL;
}

int
engine_check_vars(const struct runbook *rb, const char *const *vars, size_t n_vars,
                  struct pd_err *err)
{
    for (size_t v = 0; v < n_vars; v++) {
        size_t nl = strcspn(vars[v], "=");
        char *name = pd_xstrndup(vars[v], nl);
        bool known = runbook_find_input(rb, name) != NULL || runbook_reads_env(rb, name);
        const char *best = NULL;
        struct pd_buf b;

        // a sub-drill's steps (scope set) read their own variables, never --var
        for (size_t i = 0; !known && i < rb->n_stages; i++)
            for (size_t j = 0; !known && rb->stages[i].scope == NULL && j < rb->stages[i].n_steps;
                 j++)
                known = strcmp(step_answer_name(&rb->stages[i].steps[j]), name) == 0;
        if (known) {
            free(name);
            continue;
        }
        pd_buf_init(&b, 0);
        input_names(&b, rb, name, &best);
        PD_ERR_SET(err, PD_EUSAGE, "--var %s: runbook %s has no input '%s'%s%s%s (%s%s)", name,
                   rb->id ? rb->id : rb->path, name, best ? "; did you mean " : "",
                   best ? best : "", best ? "?" : "", b.len ? "its inputs: " : "it has no inputs",
                   b.len ? b.data : "");
        pd_buf_free(&b);
        free(name);
        return PD_EUSAGE;
    }
    return 0;
}

int
engine_check_var_values(const struct runbook *rb, const char *const *vars, size_t n_vars,
                        struct pd_err *err)
{
    for (size_t v = 0; v < n_vars; v++) {
        const char *eq = strchr(vars[v], '=');
        char *name = pd_xstrndup(vars[v], eq != NULL ? (size_t)(eq - vars[v]) : strlen(vars[v]));
        const struct runbook_input *in = runbook_find_input(rb, name);
        struct pd_err verr = {0};
        int rc = 0;

        if (in != NULL && eq != NULL && !(eq[1] == '\0' && !in->required) &&
            engine_validate(eq + 1, in->type, (const char *const *)in->choices, in->n_choices,
                            in->pattern, &verr) != 0)
            rc = PD_ERR_SET(err, PD_EINPUT, "--var %s: %s", name, verr.msg);
        free(name);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The value the last --var NAME=VALUE of vars gives, or NULL. */
static const char *
given_var(const char *const *vars, size_t n_vars, const char *name)
{
    size_t nl = strlen(name);

    for (size_t i = n_vars; i-- > 0;)
        if (strncmp(vars[i], name, nl) == 0 && vars[i][nl] == '=')
            return vars[i] + nl + 1;
    return NULL;
}

int
engine_check_inputs_given(const struct runbook *rb, const char *const *vars, size_t n_vars,
                          struct pd_err *err)
{
    struct pd_buf names, args;
    const char *first = NULL;
    size_t n = 0;
    int rc = 0;

    pd_buf_init(&names, 0);
    pd_buf_init(&args, 0);
    for (size_t i = 0; i < rb->n_inputs; i++) {
        const struct runbook_input *in = &rb->inputs[i];

        if (!in->required || in->default_value != NULL || given_var(vars, n_vars, in->name) != NULL)
            continue;
        if (n++ == 0)
            first = in->name;
        pd_buf_appendf(&names, NULL, "%s'%s'", n > 1 ? ", " : "", in->name);
        pd_buf_appendf(&args, NULL, "%s--var %s=VALUE", n > 1 ? " " : "", in->name);
    }
    // the words of the engine's own messages (engine_obtain_input, inputs_missing)
    if (n == 1)
        rc = PD_ERR_SET(err, PD_EINPUT, "input '%s' needs a value: pass --var %s=VALUE", first,
                        first);
    else if (n > 1)
        rc = PD_ERR_SET(err, PD_EINPUT, "inputs %s need values: pass %s", pd_buf_str(&names),
                        pd_buf_str(&args));
    pd_buf_free(&names);
    pd_buf_free(&args);
    return rc;
}

int
engine_set_var(struct engine *e, const char *name, const char *value, struct pd_err *err)
{
    struct drill_event ev = {.type = DRILL_EV_VAR, .stage = -1, .step = -1};
    char *redacted, *scoped = NULL;
    size_t i;
    int rc;

    if (e->scope != NULL)
        name = scoped = pd_xasprintf("%s.%s", e->scope, name);
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
    rc = engine_record(e, &ev, err);
    free(scoped);
    return rc;
}

struct expand_ctx {
    const struct engine *e;
    struct shell_splice *sp; /* NULL: values go in as they are */
};

static int
expand_ref(struct pd_buf *out, const char *name, size_t at, size_t ref_len, void *payload,
           struct pd_err *err)
{
    struct expand_ctx *x = payload;
    const char *v = engine_lookup(x->e, name);
    char *q = NULL;
    int rc;

    if (v == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "undefined variable '%s'", name);
    if (x->sp == NULL) {
        pd_buf_append(out, v, strlen(v), NULL);
        return 0;
    }
    // quoted for where it lands: a word, "...", '...', a here-document
    rc = shell_splice_quote(&q, x->sp, at, ref_len, name, v, err);
    if (rc == 0)
        pd_buf_append(out, q, strlen(q), NULL);
    free(q);
    return rc;
}

int
engine_expand(const struct engine *e, char **out, const char *text, bool shell_quote_values,
              struct pd_err *err)
{
    struct shell_splice sp;
    struct expand_ctx x = {.e = e, .sp = NULL};

    shell_splice_init(&sp, text ? text : "");
    if (shell_quote_values)
        x.sp = &sp;
    return runbook_expand(out, text, expand_ref, &x, err);
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

struct bind_ctx {
    const struct engine *e;
    char **names; /* each variable once, in order of first use: $1, $2, ... */
    char **vals;
    size_t n;
};

static int
bind_ref(struct pd_buf *out, const char *name, size_t at, size_t ref_len, void *payload,
         struct pd_err *err)
{
    struct bind_ctx *x = payload;
    size_t k;

    (void)at;
    (void)ref_len;
    for (k = 0; k < x->n; k++)
        if (strcmp(x->names[k], name) == 0)
            break;
    if (k == x->n) {
        const char *v = engine_lookup(x->e, name);

        if (v == NULL)
            return PD_ERR_SET(err, PD_EINPUT, "undefined variable '%s'", name);
        x->names = pd_xrealloc(x->names, (x->n + 1) * sizeof(*x->names));
        x->vals = pd_xrealloc(x->vals, (x->n + 1) * sizeof(*x->vals));
        x->names[x->n] = pd_xstrdup(name);
        x->vals[x->n] = pd_xstrdup(v);
        x->n++;
    }
    // a value is never spliced: it travels as parameter $k+1
    pd_buf_appendf(out, NULL, "$%zu", k + 1);
    return 0;
}

int
engine_sql_bind(const struct engine *e, char **out_sql, char ***params, size_t *n_params,
                const char *sql, struct pd_err *err)
{
    struct bind_ctx x = {.e = e};
    int rc = runbook_expand(out_sql, sql, bind_ref, &x, err);

    *params = NULL;
    *n_params = 0;
    if (rc == 0) {
        *params = x.vals;
        *n_params = x.n;
        x.vals = NULL;
    }
    engine_strv_free(x.names, x.n);
    engine_strv_free(x.vals, x.n);
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

/* t as RFC 3339 UTC, to the second when it has no fraction: "2026-01-31T14:05:00Z". */
static void
utc_text(char *buf, size_t size, double t)
{
    size_t n;

    pd_time_format(buf, size, t);
    n = strlen(buf);
    if (n > 5 && strcmp(buf + n - 5, ".000Z") == 0) {
        buf[n - 5] = 'Z';
        buf[n - 4] = '\0';
    }
}

/*
 * A timestamp input is RFC 3339 in UTC. One with another offset, or with
 * none (local time or UTC, nobody can tell), is refused with the UTC form
 * to write instead.
 */
static int
check_timestamp(const char *value, struct pd_err *err)
{
    double t;
    char utc[40];
    char *zoned;
    int rc;

    if (pd_time_parse_rfc3339(&t, value, 1) == 0)
        return 0;
    if (pd_time_parse_rfc3339(&t, value, 0) == 0) {
        utc_text(utc, sizeof(utc), t);
        return PD_ERR_SET(err, PD_EINPUT,
                          "'%s' is not an RFC 3339 timestamp in UTC: in UTC it is %s", value, utc);
    }
    zoned = pd_xasprintf("%sZ", value);
    rc = pd_time_parse_rfc3339(&t, zoned, 1);
    free(zoned);
    if (rc == 0) {
        utc_text(utc, sizeof(utc), t);
        return PD_ERR_SET(err, PD_EINPUT,
                          "'%s' is not an RFC 3339 timestamp in UTC: it has no time zone; if it "
                          "is UTC write %s, else convert it to UTC first",
                          value, utc);
    }
    return PD_ERR_SET(err, PD_EINPUT,
                      "'%s' is not an RFC 3339 timestamp in UTC (e.g. 2026-01-31T14:05:00Z)",
                      value);
}

int
engine_validate(const char *value, enum input_type type, const char *const *choices,
                size_t n_choices, const char *pattern, struct pd_err *err)
{
    switch (type) {
    case INPUT_TIMESTAMP: {
        int rc = check_timestamp(value, err);

        if (rc != 0)
            return rc;
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
        // choices are matched exactly: 'b' for B is a typo worth naming
        for (size_t i = 0; i < n_choices; i++)
            if (strcasecmp(choices[i], value) == 0) {
                pd_buf_appendf(&b, NULL, "; did you mean %s?", choices[i]);
                break;
            }
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
