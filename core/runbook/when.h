/*
 * when: the condition of a step, `when="${var} = A"` or `when="${var} != A|B"`.
 *
 * The left side is text with variables (usually one ${var}); the right side
 * is one or more alternatives separated by '|'. `=` holds when the expanded
 * left side equals one alternative, `!=` when it equals none. Parsing keeps
 * both sides unexpanded: the engine expands them when the step is reached.
 */
#ifndef PD_RUNBOOK_WHEN_H
#define PD_RUNBOOK_WHEN_H

#include <stdbool.h>

struct pd_err;

struct when {
    char *left;  /* owned, unexpanded */
    char *right; /* owned, unexpanded alternatives "A|B" */
    bool negate; /* != */
};

/* Parse s into *out (fields owned by out; when_clear frees them). PD_EINPUT when malformed. */
int when_parse(struct when *out, const char *s, struct pd_err *err);

/* Does the expanded left side match the expanded alternatives? */
bool when_holds(const struct when *w, const char *left, const char *right);

void when_clear(struct when *w);

#endif
