/*
 * expect: the expectation of a `check` step (its expect= attribute).
 *
 * expect_parse turns the text into a small struct; expect_eval applies it
 * to an observed value and a row count. Both are pure: no I/O, no global
 * state; variables are resolved through a caller-supplied lookup. Forms
 * (see pgdrill-runbook(5)):
 *
 *   = V   != V   > V   >= V   < V   <= V      V: number, 'string' or ${var}
 *   rows OP N                                  OP as above, N a whole number
 *   within N% of V   within N of V             V: ${var} or a number
 *   null   not null
 *
 * Keywords are case-insensitive. In a 'string', '' stands for one quote.
 */
#ifndef PD_EXPECT_H
#define PD_EXPECT_H

#include <stdbool.h>

struct pd_err;

enum expect_kind {
    EXPECT_COMPARE,    /* OP V on the observed value */
    EXPECT_ROWS,       /* rows OP N on the row count */
    EXPECT_WITHIN,     /* |observed - V| <= tolerance */
    EXPECT_WITHIN_PCT, /* |observed - V| <= tolerance% of |V| */
    EXPECT_NULL,       /* observed is SQL NULL */
    EXPECT_NOT_NULL,
};

enum expect_op {
    EXPECT_EQ,
    EXPECT_NE,
    EXPECT_GT,
    EXPECT_GE,
    EXPECT_LT,
    EXPECT_LE,
};

enum expect_operand_kind {
    EXPECT_NUMBER,
    EXPECT_STRING, /* a 'quoted string': always compared as text */
    EXPECT_VAR,    /* ${name}: looked up at evaluation time */
};

struct expect_operand {
    enum expect_operand_kind kind;
    char *text;    /* the number as written, the unquoted string, or the variable name */
    double number; /* EXPECT_NUMBER */
};

struct expect {
    enum expect_kind kind;
    enum expect_op op;             /* EXPECT_COMPARE and EXPECT_ROWS */
    struct expect_operand operand; /* EXPECT_COMPARE, EXPECT_WITHIN, EXPECT_WITHIN_PCT */
    long rows;                     /* EXPECT_ROWS */
    double tolerance;              /* EXPECT_WITHIN (absolute), EXPECT_WITHIN_PCT (percent) */
    char *text;                    /* the expectation as written, trimmed */
};

/*
 * Parse text. On success *out is owned by the caller (expect_free). On a
 * malformed text fails with PD_EINPUT and "bad expectation '<text>'".
 */
int expect_parse(struct expect **out, const char *text, struct pd_err *err);

void expect_free(struct expect *e);

/* Value of variable name, or NULL when it has none. Borrowed by expect_eval. */
typedef const char *expect_lookup_fn(const char *name, void *payload);

/*
 * Apply e to observed (NULL for SQL NULL) and rows (the result's row
 * count). Returns 0 when the expectation holds; PD_ECHECK when it does not,
 * with err saying why ("observed 3, expected = 0"); PD_EINPUT when a
 * variable has no value ("expect: undefined variable 'base'").
 *
 * Comparison is numeric when both sides are numbers; a 'string' operand
 * compares as text (byte order for < <= > >=). = and != fall back to text
 * when either side is not a number; the other operators then fail.
 */
int expect_eval(const struct expect *e, const char *observed, long rows, expect_lookup_fn *lookup,
                void *payload, struct pd_err *err);

/* Strict decimal number ("3", "-2.5", "1e3", " 4 " not allowed). Returns true and sets *out. */
bool expect_number(double *out, const char *s);

/* "=", "!=", ">", ... Borrowed, static. */
const char *expect_op_name(enum expect_op op);

#endif
