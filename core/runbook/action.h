/*
 * runbook actions: one row of operations per action a fenced block can
 * name (`sh`, `sql`, ...), indexed by enum step_action.
 *
 * Every question about an action is answered by its row: which attributes
 * it requires and allows, how the linter checks the attributes only it
 * has, what save= defines, how its body is expanded, whether manual=yes
 * replaces it, how the engine runs and audits it, whether it may change
 * something and how the plan shows it. Adding an action is adding its
 * enum constant and name (RUNBOOK_ACTIONS in runbook.h), its row in
 * action.c, the functions the row names, and their tests.
 *
 * The rows are static: nothing here is allocated or freed. The row's
 * functions live with the layer that owns them (lint: runbook/, run and
 * audit: engine/, plan: timeline/); this table only names them.
 */
#ifndef PD_RUNBOOK_ACTION_H
#define PD_RUNBOOK_ACTION_H

#include <stdbool.h>

#include "runbook/runbook.h"

struct engine;
struct engine_audit;
struct engine_step_result;
struct pd_err;
struct plan_walk;
struct rb_ctx;

/* How ${name} in a step's body becomes a value when the step runs. */
enum runbook_body {
    RUNBOOK_BODY_TEXT,  /* spliced as it is */
    RUNBOOK_BODY_SHELL, /* quoted for where it lands in a /bin/sh script */
    RUNBOOK_BODY_SQL,   /* a bind parameter: the body is shown as written */
};

/* What the drill guard (engine/policy.c) refuses a step aimed at the default branch. */
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
    bool needs_body;       /* an empty body is a lint error (always for a manual step) */
    bool asks_operator;    /* the step is the operator's own (confirm, input, note): manual=yes
                              does not replace it and it is not audited */
    bool changes_service;  /* a change it makes reaches a service: the plan must be accepted */
    const char *plan_kind; /* the plan's kind column when the step changes nothing */

    /* Lint: check attribute a that only this action has (NULL: none). */
    void (*check_attr)(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a);
    /* Lint: the step's own checks once its attributes are known (NULL: none). */
    void (*check_step)(struct rb_ctx *c, struct runbook_step *sp);
    /* save=PREFIX defines PREFIX_<suffix> for each of these (space-separated); NULL: PREFIX. */
    const char *(*save_suffixes)(const struct runbook_step *sp);

    /* Engine: run the step once (engine.intern.h). */
    int (*run)(struct engine *e, struct engine_step_result *res, struct pd_err *err);
    /* Engine: the audit record's action name and arguments; NULL only with asks_operator. */
    void (*audit)(struct engine *e, const struct engine_step_result *res, struct engine_audit *out);

    /* Engine: is the step destructive in a drill? Fill out and say so (NULL: never). */
    bool (*guard)(const struct runbook_step *sp, struct runbook_guard *out);

    /* Plan: may the step create or change something? */
    bool (*mutates)(const struct runbook_step *sp);
    /* Plan: append the step's description to its line (timeline/plan.intern.h). */
    void (*describe)(struct plan_walk *w, const struct runbook_step *sp);
};

/* The row of action a; NULL for a value outside the enum. Borrowed, static. */
const struct runbook_action *runbook_action(enum step_action a);

#endif
