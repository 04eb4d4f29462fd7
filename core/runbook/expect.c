/* expect: parse and evaluate check expectations. */
#include "runbook/expect.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_err.h"
#include "pd_mem.h"

/* Observed values and operands are shown up to this many bytes in messages. */
#define EXPECT_SHOW_MAX 120

static const char *const op_names[] = {"=", "!=", ">", ">=", "<", "<="};

const char *
expect_op_name(enum expect_op op)
{
    return op_names[op];
}

bool
expect_number(double *out, const char *s)
{
    const char *p = s;
    bool digits = false;
    char *end;
    double v;

    /* Validate the shape first: strtod also takes hex, inf, nan and spaces. */
    if (*p == '-' || *p == '+')
        p++;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p != '\0')
        return false;
    v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static const char *
skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Case-insensitive keyword followed by whitespace or end (or an operator when op_ok). */
static const char *
keyword(const char *p, const char *kw)
{
    size_t n = strlen(kw);

    if (strncasecmp(p, kw, n) != 0)
        return NULL;
    if (p[n] != '\0' && p[n] != ' ' && p[n] != '\t' && !strchr("=!<>", p[n]))
        return NULL;
    return p + n;
}

static const char *
parse_op(const char *p, enum expect_op *op)
{
    if (p[0] == '>' && p[1] == '=')
        *op = EXPECT_GE;
    else if (p[0] == '<' && p[1] == '=')
        *op = EXPECT_LE;
    else if (p[0] == '!' && p[1] == '=')
        *op = EXPECT_NE;
    else if (p[0] == '=' && p[1] != '=')
        return (*op = EXPECT_EQ, p + 1);
    else if (p[0] == '>' || p[0] == '<')
        return (*op = p[0] == '>' ? EXPECT_GT : EXPECT_LT, p + 1);
    else
        return NULL;
    return p + 2;
}

/* A number, a 'string' or ${name}; NULL when none is there. */
static const char *
parse_operand(const char *p, struct expect_operand *o, bool strings_ok)
{
    if (p[0] == '$' && p[1] == '{') {
        const char *q = p + 2;

        if (!(isalpha((unsigned char)*q) || *q == '_'))
            return NULL;
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        if (*q != '}')
            return NULL;
        o->kind = EXPECT_VAR;
        o->text = pd_xstrndup(p + 2, (size_t)(q - p - 2));
        return q + 1;
    }
    if (p[0] == '\'' && strings_ok) {
        const char *q = p + 1;
        char *s = pd_xmalloc(strlen(p));
        size_t n = 0;

        for (;;) {
            if (*q == '\0') {
                free(s);
                return NULL;
            }
            if (*q == '\'' && q[1] == '\'') {
                s[n++] = '\'';
                q += 2;
                continue;
            }
            if (*q == '\'')
                break;
            s[n++] = *q++;
        }
        s[n] = '\0';
        o->kind = EXPECT_STRING;
        o->text = s;
        return q + 1;
    }
    size_t n = strcspn(p, " \t");
    char *t = pd_xstrndup(p, n);

    if (n == 0 || !expect_number(&o->number, t)) {
        free(t);
        return NULL;
    }
    o->kind = EXPECT_NUMBER;
    o->text = t;
    return p + n;
}

int
expect_parse(struct expect **out, const char *text, struct pd_err *err)
{
    struct expect *e = pd_xcalloc(1, sizeof *e);
    const char *p = skip_ws(text);
    size_t n = strlen(p);
    const char *q;
    int rc = 0;

    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    e->text = pd_xstrndup(p, n);
    p = e->text;
    *out = NULL;

    if ((q = keyword(p, "null")) != NULL && *skip_ws(q) == '\0') {
        e->kind = EXPECT_NULL;
        goto out;
    }
    if ((q = keyword(p, "not")) != NULL && (q = keyword(skip_ws(q), "null")) != NULL &&
        *skip_ws(q) == '\0') {
        e->kind = EXPECT_NOT_NULL;
        goto out;
    }
    if ((q = keyword(p, "rows")) != NULL) {
        const char *d;
        char *end;

        e->kind = EXPECT_ROWS;
        q = parse_op(skip_ws(q), &e->op);
        if (q == NULL)
            goto bad;
        d = skip_ws(q);
        if (!isdigit((unsigned char)*d))
            goto bad;
        e->rows = strtol(d, &end, 10);
        if (e->rows < 0 || end - d > 12 || *skip_ws(end) != '\0')
            goto bad;
        goto out;
    }
    if ((q = keyword(p, "within")) != NULL) {
        size_t k;
        char *t;
        bool ok;

        q = skip_ws(q);
        k = strcspn(q, " \t%");
        t = pd_xstrndup(q, k);
        ok = expect_number(&e->tolerance, t) && e->tolerance >= 0;
        free(t);
        if (!ok)
            goto bad;
        q += k;
        e->kind = EXPECT_WITHIN;
        if (*q == '%') {
            e->kind = EXPECT_WITHIN_PCT;
            q++;
        }
        if (*q != ' ' && *q != '\t')
            goto bad;
        q = keyword(skip_ws(q), "of");
        if (q == NULL || (*q != ' ' && *q != '\t'))
            goto bad;
        q = parse_operand(skip_ws(q), &e->operand, false);
        if (q == NULL || *skip_ws(q) != '\0')
            goto bad;
        goto out;
    }
    e->kind = EXPECT_COMPARE;
    q = parse_op(p, &e->op);
    if (q == NULL)
        goto bad;
    q = parse_operand(skip_ws(q), &e->operand, true);
    if (q == NULL || *skip_ws(q) != '\0')
        goto bad;
    goto out;
bad:
    rc = PD_ERR_SET(err, PD_EINPUT, "bad expectation '%.200s'", e->text);
out:
    if (rc != 0)
        expect_free(e);
    else
        *out = e;
    return rc;
}

void
expect_free(struct expect *e)
{
    if (e == NULL)
        return;
    free(e->operand.text);
    free(e->text);
    free(e);
}

/* How a value is shown in a failure message: numbers bare, text quoted, NULL as NULL. */
static void
show(char *buf, size_t size, const char *v)
{
    double d;

    if (v == NULL)
        snprintf(buf, size, "NULL");
    else if (expect_number(&d, v))
        snprintf(buf, size, "%.*s", EXPECT_SHOW_MAX, v);
    else if (strlen(v) > EXPECT_SHOW_MAX)
        snprintf(buf, size, "'%.*s...'", EXPECT_SHOW_MAX, v);
    else
        snprintf(buf, size, "'%s'", v);
}

static bool
op_holds(enum expect_op op, int cmp)
{
    switch (op) {
    case EXPECT_EQ:
        return cmp == 0;
    case EXPECT_NE:
        return cmp != 0;
    case EXPECT_GT:
        return cmp > 0;
    case EXPECT_GE:
        return cmp >= 0;
    case EXPECT_LT:
        return cmp < 0;
    case EXPECT_LE:
        return cmp <= 0;
    }
    return false; /* uncovered: every enum value is handled above */
}

static int
cmp_num(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int
cmp_str(const char *a, const char *b)
{
    int c = strcmp(a, b);

    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

int
expect_eval(const struct expect *e, const char *observed, long rows, expect_lookup_fn *lookup,
            void *payload, struct pd_err *err)
{
    char obs[EXPECT_SHOW_MAX + 8];
    char ref_show[EXPECT_SHOW_MAX + 16];
    const char *ref = NULL;
    double o, r;
    int cmp;

    show(obs, sizeof obs, observed);
    ref_show[0] = '\0';
    if (e->kind == EXPECT_COMPARE || e->kind == EXPECT_WITHIN || e->kind == EXPECT_WITHIN_PCT) {
        ref = e->operand.text;
        if (e->operand.kind == EXPECT_VAR) {
            char v[EXPECT_SHOW_MAX + 8];

            ref = lookup ? lookup(e->operand.text, payload) : NULL;
            if (ref == NULL)
                return PD_ERR_SET(err, PD_EINPUT, "expect: undefined variable '%s'",
                                  e->operand.text);
            show(v, sizeof v, ref);
            snprintf(ref_show, sizeof ref_show, " (%s)", v);
        }
    }

    switch (e->kind) {
    case EXPECT_NULL:
        if (observed == NULL)
            return 0;
        break;
    case EXPECT_NOT_NULL:
        if (observed != NULL)
            return 0;
        break;
    case EXPECT_ROWS:
        if (op_holds(e->op, cmp_num((double)rows, (double)e->rows)))
            return 0;
        return PD_ERR_SET(err, PD_ECHECK, "observed %ld row%s, expected %s", rows,
                          rows == 1 ? "" : "s", e->text);
    case EXPECT_WITHIN:
    case EXPECT_WITHIN_PCT:
        if (observed == NULL || !expect_number(&o, observed))
            return PD_ERR_SET(err, PD_ECHECK, "observed %s, expected %s%s (not a number)", obs,
                              e->text, ref_show);
        if (!expect_number(&r, ref))
            return PD_ERR_SET(err, PD_ECHECK, "observed %s, expected %s%s (reference not a number)",
                              obs, e->text, ref_show);
        if (fabs(o - r) <=
            (e->kind == EXPECT_WITHIN ? e->tolerance : e->tolerance / 100.0 * fabs(r)))
            return 0;
        break;
    case EXPECT_COMPARE:
        if (observed == NULL)
            break;
        if (e->operand.kind != EXPECT_STRING && expect_number(&o, observed) &&
            expect_number(&r, ref)) {
            cmp = cmp_num(o, r);
        } else if (e->operand.kind == EXPECT_STRING || e->op == EXPECT_EQ || e->op == EXPECT_NE) {
            cmp = cmp_str(observed, ref);
        } else {
            return PD_ERR_SET(err, PD_ECHECK, "observed %s, expected %s%s (not a number)", obs,
                              e->text, ref_show);
        }
        if (op_holds(e->op, cmp))
            return 0;
        break;
    }
    return PD_ERR_SET(err, PD_ECHECK, "observed %s, expected %s%s", obs, e->text, ref_show);
}
