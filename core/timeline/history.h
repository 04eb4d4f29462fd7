/*
 * history: how a runbook's drills went over time, and regressions.
 *
 * history_load reads every drill of one runbook under $PGDRILL_HOME (read
 * only, no lock) into a table of per-stage durations, oldest drill first;
 * history_render draws it as a small text bar chart. A stage of a drill is
 * a regression when it took at least twice the median of the same stage's
 * earlier finished runs (and at least HISTORY_MIN_DELTA_S longer, so
 * sub-second noise in a fast stage is not flagged). history_regressions
 * computes that for one drill; the report writer (report_write_history)
 * puts the result in the drill's report. Nothing here writes a file.
 */
#ifndef PD_TIMELINE_HISTORY_H
#define PD_TIMELINE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

struct drill;
struct lines;
struct pd_err;

#define HISTORY_MIN_DELTA_S 1.0

struct history_run {
    char *drill_id;
    char *started_at;
    char *outcome; /* NULL while unfinished */
    double rto_s;  /* < 0 when not known */
    double rpo_s;
    double *stage_s; /* per stage of struct history; < 0 when the stage did not finish */
};

struct history {
    char *runbook_id;
    char **stage_ids; /* the stages in runbook order (newest drill's first) */
    char **stage_titles;
    size_t n_stages;
    struct history_run *runs; /* oldest first */
    size_t n_runs;
};

/* The median of v (n > 0; v is reordered). */
double history_median(double *v, size_t n);

/* duration >= 2 x median and at least HISTORY_MIN_DELTA_S more. */
bool history_is_regression(double duration_s, double median_s);

/* Every drill of runbook_id under home; unreadable drills are skipped (logged). */
int history_load(struct history *out, const char *home, const char *runbook_id, struct pd_err *err);

void history_clear(struct history *h);

/*
 * Run r's stage s is a regression against the runs before it: sets
 * *median_out (when not NULL) and returns true. False when it did not
 * finish or there are no earlier runs of the stage.
 */
bool history_run_regressed(const struct history *h, size_t r, size_t s, double *median_out);

/* The chart: per stage, one bar per drill (oldest first), REGRESSION marks. Caller owns. */
char *history_render(const struct history *h, int width);

/* history_render's text as lines with their kinds, appended to out (lines.h). */
void history_render_lines(struct lines *out, const struct history *h, int width);

struct history_regression {
    char *stage_id;
    char *title;
    double duration_s;
    double median_s;
    size_t n_earlier;
};

/*
 * The stages of drill that regressed against earlier drills of runbook_id
 * under home (drills with a smaller id). Caller frees with
 * history_regressions_free.
 */
int history_regressions(struct history_regression **out, size_t *n_out, const char *home,
                        const char *runbook_id, const struct drill *drill, struct pd_err *err);

void history_regressions_free(struct history_regression *v, size_t n);

#endif
