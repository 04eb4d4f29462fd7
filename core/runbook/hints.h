/*
 * runbook/hints: the procedures' troubleshooting advice as data. When a
 * step fails, the engine looks its error and output up here and shows the
 * operator what the procedures advise (pgdrill-runbook(5), HINTS).
 *
 * The file (runbooks/hints, installed next to the shipped runbooks; or
 * PGDRILL_HINTS) is a tiny line format:
 *
 *   # a comment
 *   [pg-dump-out-of-memory]          a hint's id starts it
 *   match = out of memory            any match line may match; within one,
 *   match = pg_dump & cannot allocate all terms joined by " & " must occur
 *   advice = Dump in custom format   advice lines are joined by a space
 *
 * Matching ignores case. The first hint (in file order) that matches wins.
 * struct hints owns every string; hints_free releases them.
 */
#ifndef PD_RUNBOOK_HINTS_H
#define PD_RUNBOOK_HINTS_H

#include <stddef.h>

struct pd_err;

struct hint {
    char *id;
    char **match; /* each "a & b" line, as written */
    size_t n_match;
    char *advice;
    int line; /* of its [id] */
};

struct hints {
    struct hint *v;
    size_t n;
};

/*
 * Parse the hints at path into out (emptied first). PD_EINPUT
 * "PATH:LINE: message" for a malformed file (a key outside a hint, an
 * unknown key, a hint without match or advice), PD_EIO when it cannot be
 * read. On failure out is empty.
 */
int hints_load(struct hints *out, const char *path, struct pd_err *err);

/* The first hint one of whose match lines matches text; borrowed from h, or NULL. */
const struct hint *hints_match(const struct hints *h, const char *text);

void hints_free(struct hints *h);

#endif
