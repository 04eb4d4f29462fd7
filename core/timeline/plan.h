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
 *
 * Inputs not known yet stay ${name} and say when they are asked ("asked
 * before stage 1" for the header's, "asked at stage N" for an input step);
 * UPPER_CASE names come from the environment. The text is redacted
 * (pd_redact): a password in a connection URI never shows.
 *
 * The engine shows the plan when it is about to run the first step that
 * changes something (plan_build_at, every value known by then), and only
 * for runbooks where plan_needs_accept holds.
 */
#ifndef PD_TIMELINE_PLAN_H
#define PD_TIMELINE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "timeline/lines.h"

struct drill;
struct runbook;
struct timeline;

struct plan {
    char *text;         /* the plan for people, lines ending in '\n'; owned */
    struct lines lines; /* the same text as lines with their kinds (lines.h); owned */
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

/*
 * The plan of drill d (its runbook rb) as it stands before step `step` of
 * stage `stage` runs: vars are the drill's values so far ("name=value"),
 * steps d has finished are marked done, skipped or failed, and the header
 * names the step about to run.
 */
void plan_build_at(struct plan *out, const struct runbook *rb, const char *const *vars,
                   size_t n_vars, const struct drill *d, size_t stage, size_t step, double now);

void plan_clear(struct plan *p);

/*
 * True when a step of rb changes a service (Neon, S3, sql readonly=no):
 * the operator must accept the plan before its first change. A runbook
 * whose only changes are local sh steps runs without asking.
 */
bool plan_needs_accept(const struct runbook *rb);

/* True when a step of this action and these attributes may change something. */
bool plan_step_mutates(const struct runbook *rb, size_t stage, size_t step);

#endif
