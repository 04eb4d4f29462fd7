/*
 * report: the drill report, report.json for tools and report.md for people.
 *
 * Both are built from a drill's state (struct drill, replayed from its
 * journal) alone; the journal's begin record carries the stage and step
 * layout, so a report can be rebuilt later even if the runbook changed.
 * The runbook, when given, only adds its use case and environment.
 *
 * report.json holds: drill_id, runbook {id, title, path, sha256,
 * stages_sha256[, use_case, environment]}, journal_sha256, operator, host,
 * started_at, finished_at, outcome ("passed", "failed", "aborted" as
 * recorded, or "interrupted" / "running" for an unfinished drill),
 * duration_s, stages[] {id, title, status, started_at, finished_at,
 * duration_s, expected_s, machine_s, human_s, steps[] {id, action, status,
 * attempts, started_at, finished_at, duration_s, human_s, exit_code,
 * summary, skip_reason}}, checks[] {name, stage, step, sql, result
 * ("passed"/"failed"), expected, observed, passed, status ("passed", "failed",
 * or "flagged": a warning that does not fail the drill), at}, rto_s (achieved:
 * a DRILL_EV_MEASURE "rto_s" if recorded, else from started_at to the end
 * of the last finished stage; null when no stage finished), rto_target_s,
 * rto_verdict ("met", "missed", "unknown" without an achieved value,
 * "no-target"), rpo_s (null unless measured), rpo_target_s, rpo_verdict,
 * notes[] {stage, at, text}, issues[] {stage, at, text, kind: "recorded",
 * "failed-step" or "skipped-step"; failed and skipped steps are added with
 * their summary or reason}, the review sections of report/review.h (team,
 * deviations, follow_ups, cleanup, compliance), resumes, truncated_tail
 * and, written by report_write_history, regressions[]. Then, added:
 * choices[] {name, value}: the runbook's inputs that were given, in the
 * runbook's order (value null for a secret); sections[] {title, stage, step,
 * text}: the last attempt's output of each step with report=TITLE (as
 * journaled: redacted, at most DRILL_REPORT_OUTPUT_MAX bytes); and for each
 * step with report-json=NAME whose output is one JSON object, that object
 * as the field NAME, unless report.json has a field of that name already
 * (a training exercise keeps `pgdrill sandbox grade --json` as "training").
 * report.md shows the choices as a "Choices" list and each section under
 * its title, after the header.
 * Durations are seconds rounded to 3 decimals; stage references are stage
 * ids (null: the drill).
 */
#ifndef PD_REPORT_H
#define PD_REPORT_H

#include <stddef.h>

struct drill;
struct history_regression;
struct runbook;
struct pd_err;

/* What the drill's history adds to its report (timeline/history.h computes it). */
struct report_history {
    const struct history_regression *regressions; /* borrowed */
    size_t n_regressions;
};

/*
 * Write dir/report.json and dir/report.md (dir NULL: the drill's folder).
 * Each is written to a 0600 temporary file in dir, fsync'd and renamed over
 * the old report, so a reader sees the old or the new report, never half.
 * rb may be NULL.
 */
int report_write(const struct drill *d, const struct runbook *rb, const char *dir,
                 struct pd_err *err);

/*
 * report_write with the history's part: report.json ends with
 * regressions[] {stage, title, duration_s, median_s, earlier_runs} (empty
 * when none regressed) and report.md with a "Regressions" section when
 * some did. h NULL is report_write. The report's files have this one
 * writer: nothing rewrites them afterwards.
 */
int report_write_history(const struct drill *d, const struct runbook *rb, const char *dir,
                         const struct report_history *h, struct pd_err *err);

/* report.json's text (with a final newline); the caller owns *out. */
int report_json_string(char **out, const struct drill *d, const struct runbook *rb,
                       struct pd_err *err);

/* report.md's text; the caller owns *out. */
int report_md_string(char **out, const struct drill *d, const struct runbook *rb,
                     struct pd_err *err);

/*
 * The drills under home for `pgdrill report list`, newest first: what the
 * journal says, and for a training drill (report.json with a "training"
 * object, see above) its grade.
 */
struct report_entry {
    char *id;
    char *error; /* the journal cannot be read (then only id is set), else NULL */
    char *runbook;
    char *started_at;
    char *outcome;  /* NULL while unfinished */
    double rto_s;   /* < 0 when not known */
    double rpo_s;   /* < 0 when not known */
    char *grade;    /* "100 %" or what is wrong ("missing 12, collateral 3"); NULL: none */
    char *training; /* report.json's "training" object as JSON text, or NULL */
};

/* Load them; the caller owns *out (report_entries_free). */
int report_entries_load(struct report_entry **out, size_t *n_out, const char *home,
                        struct pd_err *err);

/*
 * The entries as a JSON array (with a final newline) of {id, runbook,
 * started_at, outcome, rto_s, rpo_s, grade, training} (error instead of
 * all but id for an unreadable one); the caller owns it.
 */
char *report_entries_json(const struct report_entry *v, size_t n);

void report_entries_free(struct report_entry *v, size_t n);

/*
 * The grade of a "training" object (`pgdrill sandbox grade --json`): "100 %"
 * when passed, else its counts that are not zero and what is not back
 * ("missing 12, collateral 3", "not back visits"); "failed" when none is
 * given. The caller owns it.
 */
char *report_training_grade(const char *training_json);

#endif
