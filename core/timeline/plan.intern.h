/*
 * plan internals: the plan's part of each action's row, indexed by enum
 * step_action (plan.c holds the table; timeline_test checks it is whole).
 *
 * The runbook's part of the row (runbook/action.h) says whether a step
 * changes something and whether the change reaches a service; the plan
 * reads it from here, above it. This part says how the step reads in the
 * plan, which only the plan knows, so the runbook below never names it.
 */
#ifndef PD_TIMELINE_PLAN_INTERN_H
#define PD_TIMELINE_PLAN_INTERN_H

#include "runbook/runbook.h"

struct plan_walk; /* private to plan.c */

struct plan_action {
    const char *kind; /* the kind column when the step changes nothing: "read", "run", ... */
    /* Append the step's description to its line, and what it reads or changes to the
       summary's lists. */
    void (*describe)(struct plan_walk *w, const struct runbook_step *sp);
};

/* The plan's row of action a; NULL for a value outside the enum. Borrowed, static. */
const struct plan_action *plan_action(enum step_action a);

#endif
