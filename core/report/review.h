/*
 * report review sections (review.c), shared by report.c only: who ran and
 * observed the drill, deviations from the runbook, follow-ups, clean-up
 * proof and the compliance summary. Both formats are derived from the same
 * drill state as the rest of the report.
 */
#ifndef PD_REPORT_REVIEW_H
#define PD_REPORT_REVIEW_H

#include <cjson/cJSON.h>

struct drill;
struct runbook;

/*
 * Add to root: team {operator, observer}, deviations[] {stage, step, kind
 * ("skipped", "retried", "failed"), attempts, reason}, follow_ups[] {stage,
 * at, text}, cleanup[] {stage, step, status, finished_at, result},
 * compliance {checks[] {name, status ("passed", "failed", "flagged"),
 * passed, expected, observed, detail (= observed)}, passed, failed, flagged,
 * verdict ("failed" if any failed, else "flagged" if any flagged, else
 * "passed"; "not-run" without compliance checks)}.
 */
void report_review_json(cJSON *root, const struct drill *d, const struct runbook *rb);

/* The same as Markdown sections ("## Team", ...); caller owns the text. */
char *report_review_md(const struct drill *d, const struct runbook *rb);

#endif
