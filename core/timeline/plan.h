/*
 * plan: what a runbook will create or change, before anything is changed.
 *
 * plan_build walks a parsed runbook with the values known before the run
 * (--var answers and input defaults; values later steps save stay as
 * ${name}) and describes every step in order: reads, and the mutations
 * (Neon branch create/restore/delete/rename/set-default, endpoint start, S3
 * put/delete, sql with readonly=no, sh steps, which may change anything),
 * the confirmations that guard them, the backup a step reads, the tables
 * sql/check/confirm steps name, and the expected data loss when a
 * target_time is known: (incident_time, else now) - target_time, checked
 * against the timeline when one is given. It calls no service.
 */
#ifndef PD_TIMELINE_PLAN_H
#define PD_TIMELINE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

struct runbook;
struct timeline;

struct plan {
    char *text;         /* the plan for people, lines ending in '\n'; owned */
    int first_mutating; /* index of the first mutating step in runbook order, -1 when none */
    size_t n_mutating;  /* steps that create or change something */
};

/*
 * Build the plan of rb. vars are "name=value" strings (as --var); tl may be
 * NULL (no timeline: the loss is not checked against it); now is seconds
 * since the epoch. The caller releases *out with plan_clear.
 */
void plan_build(struct plan *out, const struct runbook *rb, const char *const *vars, size_t n_vars,
                const struct timeline *tl, double now);

void plan_clear(struct plan *p);

/* True when a step of this action and these attributes may change something. */
bool plan_step_mutates(const struct runbook *rb, size_t stage, size_t step);

#endif
