/*
 * runbook internals shared by the parser's files and its unit tests.
 *
 * Nothing here is part of the runbook contract: the info-string tokenizer,
 * name and slug helpers, the edit distance used for "did you mean", the
 * variable-reference scanner, and the parse context that collects
 * diagnostics while the document is walked once, in order.
 */
#ifndef PD_RUNBOOK_INTERN_H
#define PD_RUNBOOK_INTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "runbook/runbook.h"

/* One token of an info string, a stage comment or an `input:` line. */
struct runbook_tok {
    char *key;     /* for key=value, else NULL */
    char *value;   /* the value, or the bare word / quoted string itself */
    bool quoted;   /* the value was written in double quotes */
    int col;       /* 0-based offset of the token in the tokenized string */
    int value_col; /* 0-based offset of the value's first character */
};

struct runbook_toks {
    struct runbook_tok *items;
    size_t n;
};

/*
 * Split s into whitespace-separated tokens: bare words, "quoted strings"
 * and key=value / key="quoted value" pairs (escapes \" and \\; any other
 * backslash is kept). Keys are [a-z][a-z0-9_-]*. On a problem returns -1
 * with *msg (caller owns) and *col (0-based) set; the tokens before the
 * problem stay in out. Always free out with runbook_toks_free.
 */
int runbook_tokenize(struct runbook_toks *out, const char *s, char **msg, int *col);
void runbook_toks_free(struct runbook_toks *toks);

/* [a-z0-9][a-z0-9-]*: runbook and stage ids. */
bool runbook_valid_id(const char *s);
/* [a-z0-9][a-z0-9._/-]*: step ids (the default ids hold a '/'). */
bool runbook_valid_step_id(const char *s);
/* [a-z_][a-z0-9_]*: names of runbook variables (inputs, save=, baseline=). */
bool runbook_valid_var(const char *s);
/* [A-Z_][A-Z0-9_]*: environment variables, not linted. */
bool runbook_env_var(const char *s);
/* Optional sign and decimal digits. */
bool runbook_valid_integer(const char *s);

/*
 * Slug of a title: ASCII letters lowercased, digits kept, every run of
 * anything else becomes one '-', no '-' at either end. Caller owns; "" when
 * nothing is left.
 */
char *runbook_slug(const char *title);

/* Is word in the space-separated list? */
bool runbook_word_in(const char *list, const char *word, size_t len);

/*
 * Variable references in s: calls fn for each `${name}` (name not yet
 * validated, offset of the '$') and for each malformed `${...` (bad true,
 * name = the text shown in the message). `$${` is a literal and skipped.
 */
typedef void runbook_var_fn(const char *name, size_t len, size_t offset, bool bad, void *payload);
void runbook_scan_vars(const char *s, runbook_var_fn *fn, void *payload);

#endif
