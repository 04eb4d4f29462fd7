/*
 * runbook actions: what the runbook layer knows of each action a fenced
 * block can name (`sh`, `sql`, ...), one row per action, indexed by enum
 * step_action.
 *
 * An action's row is split by layer so that every arrow points down. This
 * row holds what can be answered from the runbook and the layers below
 * it: which attributes the action requires and allows, how the linter
 * checks the attributes only it has, what save= defines, how its body is
 * expanded, whether manual=yes replaces it, whether a change it makes
 * reaches a service, whether a step may change something and whether a
 * drill refuses it. How the step runs and is audited is the engine's
 * row, and how the plan shows it the plan's row: both are tables indexed
 * by the same enum in the layers above, which read this one; nothing
 * here names them. (One table holding all three made the runbook include
 * the engine and the plan, and the four folders one include circle.)
 * Adding an action is adding its enum constant and name (RUNBOOK_ACTIONS
 * in runbook.h), its row here and in those two tables, the functions the
 * rows name, and their tests; each table's unit test fails while a row
 * is missing.
 *
 * The ops of a neon or s3 step are rows of neon/action.c and
 * s3/action.c, below this layer. The rows are static: nothing here is
 * allocated or freed.
 */
#ifndef PD_RUNBOOK_ACTION_H
#define PD_RUNBOOK_ACTION_H

#include <stdbool.h>

#include "runbook/runbook.h"

struct rb_ctx;

/* How ${name} in a step's body becomes a value when the step runs. */
enum runbook_body {
    RUNBOOK_BODY_TEXT,  /* spliced as it is */
    RUNBOOK_BODY_SHELL, /* quoted for where it lands in a /bin/sh script */
    RUNBOOK_BODY_SQL,   /* a bind parameter: the body is shown as written */
};

/* What a drill refuses of a step aimed at the project's default branch. */
struct runbook_guard {
    const char *op;          /* as the refusal names it: "confirm", "branch-delete", ... */
    const char *target_attr; /* the attribute naming the branch; absent: the default branch */
    bool always;             /* refused whenever the project has a default branch */
    bool calls_neon;         /* the step itself calls Neon (and says why when it cannot) */
};

struct runbook_action {
    const char *required; /* attributes, space-separated, in the order they are reported */
    const char *allowed;  /* further attributes besides RUNBOOK_COMMON_ATTRS */
    enum runbook_body body;
    bool needs_body;      /* an empty body is a lint error (always for a manual step) */
    bool asks_operator;   /* the step is the operator's own (confirm, input, note): manual=yes
                             does not replace it and it is not audited */
    bool changes_service; /* a change it makes reaches a service: the plan must be accepted */

    /* Lint: check attribute a that only this action has (NULL: none). */
    void (*check_attr)(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a);
    /* Lint: the step's own checks once its attributes are known (NULL: none). */
    void (*check_step)(struct rb_ctx *c, struct runbook_step *sp);
    /* save=PREFIX defines PREFIX_<suffix> for each of these (space-separated); NULL: PREFIX. */
    const char *(*save_suffixes)(const struct runbook_step *sp);

    /* Is the step destructive in a drill? Fill out and say so (NULL: never). */
    bool (*guard)(const struct runbook_step *sp, struct runbook_guard *out);
    /* May the step create or change something? */
    bool (*mutates)(const struct runbook_step *sp);
};

/* The row of action a; NULL for a value outside the enum. Borrowed, static. */
const struct runbook_action *runbook_action(enum step_action a);

#endif
