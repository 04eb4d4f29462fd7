/*
 * plan internals: how each action's step reads in the plan. The rows of
 * runbook/action.c name these; the walk they append to (struct plan_walk)
 * is private to plan.c. Each appends the step's description to its line,
 * and adds what the step reads or changes to the summary's lists.
 */
#ifndef PD_TIMELINE_PLAN_INTERN_H
#define PD_TIMELINE_PLAN_INTERN_H

struct plan_walk;
struct runbook_step;

void plan_describe_sh(struct plan_walk *w, const struct runbook_step *sp);
/* sql and check */
void plan_describe_sql(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_confirm(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_input(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_note(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_neon(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_s3(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_compliance(struct plan_walk *w, const struct runbook_step *sp);
void plan_describe_rows(struct plan_walk *w, const struct runbook_step *sp);

#endif
