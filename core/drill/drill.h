/*
 * drill: the state of one drill and its journal, the source of truth.
 *
 * A drill lives in $PGDRILL_HOME/drills/<id>/ (id YYYYMMDD-HHMMSS-<runbook>).
 * Every state change is one struct drill_event: drill_record applies it to
 * the in-memory state with the same reducer used when replaying, appends it
 * to journal.jsonl as one JSON line and fsyncs before returning, so the
 * next action starts only once the change is durable. drill_open replays a
 * journal (a truncated last line is ignored and reported) and takes the
 * drill's lock, so two processes never resume the same drill.
 *
 * The state is a plain read-only model (struct drill) for the engine, the
 * report and the TUI. Secrets never reach the journal: drill_record refuses
 * nothing, but callers pass redacted text, and variables marked secret are
 * kept in memory only.
 *
 * Journal records (one JSON object per line, see event.c's ev_infos):
 *   {"v":1,"at":"2026-11-26T04:05:06.123Z","ev":"step_end","stage":0,"step":1,
 *    "status":"passed","duration_s":1.5,"human_s":0,"exit_code":0,"summary":"exit 0"}
 * "at" is the wall time of drill_record (RFC 3339 UTC, ms). "ev" is one of
 * begin, stage_start, stage_end, step_start, step_end, step_skip, output,
 * check, var, note, issue, human, measure, interrupt, resume, end, plan; each
 * carries the struct drill_event fields listed next to its type below, with
 * text under "summary" (step_end), "reason" (step_skip, interrupt),
 * "outcome" (end) or "text". The begin record holds the id, the runbook
 * (path, id, title, sha256, stages_sha256, expected_s, rto_s, rpo_s), the
 * operator, the host, the names of the runbook's inputs ("inputs": the
 * header's, then the input steps') and every stage's id, title, expected_s
 * and steps (id, action, and report / report_json when the step has
 * report= / report-json=), so a journal can be replayed and reported
 * without the runbook.
 *
 * Secrets: a DRILL_EV_VAR with secret=true is written as
 * {"ev":"var","name":"x","secret":true} with no value; after a replay the
 * variable exists with value NULL and the caller asks for it again. Every
 * string of an event is also passed through pd_redact before it is
 * journaled (and kept that way in memory); a variable whose value changes
 * under pd_redact (a URI with a password) is treated as secret.
 *
 * Durations: a step's duration_s and human_s add up over its attempts
 * (each DRILL_EV_STEP_END gives one attempt's). DRILL_EV_HUMAN adds operator
 * time not already inside a step_end: to the step when step >= 0, else to
 * the stage (operator_s). A stage's duration_s and human_s are the sums of
 * its steps' plus operator_s; machine time is duration_s - human_s.
 *
 * Stage status is derived from the steps: any failed -> failed, any running
 * -> running, all done -> passed (skipped when all were skipped); a stage
 * without steps, or ended with steps still pending, takes the status given
 * by DRILL_EV_STAGE_END; a started stage otherwise is running.
 */
#ifndef PD_DRILL_H
#define PD_DRILL_H

#include <stdbool.h>
#include <stddef.h>

struct pd_err;
struct runbook;

enum step_status {
    STEP_PENDING,
    STEP_RUNNING,
    STEP_PASSED,
    STEP_FAILED,
    STEP_SKIPPED,
};

/* A note recorded as a follow-up starts with this; the report lists them apart. */
#define DRILL_FOLLOW_UP_PREFIX "follow-up: "

/*
 * How the engine words the reason of a step it did not take because the runbook says so
 * (not a deviation): its when= does not hold, a clean-up step's variable was never set,
 * the sub-drill it belongs to never started ("step ID did not run runbook NAME").
 * drill_step_not_taken reads them back; nothing else compares these texts.
 */
#define DRILL_SKIP_CONDITION_PREFIX "condition "
#define DRILL_SKIP_CLEANUP_PREFIX   "clean-up: "
#define DRILL_SKIP_SUBDRILL_INFIX   " did not run runbook "

enum drill_event_type {
    DRILL_EV_BEGIN,       /* written by drill_begin */
    DRILL_EV_STAGE_START, /* stage */
    DRILL_EV_STAGE_END,   /* stage, status */
    DRILL_EV_STEP_START,  /* stage, step, attempt */
    DRILL_EV_STEP_END,    /* stage, step, status, duration_s, human_s, exit_code, text=summary */
    DRILL_EV_STEP_SKIP,   /* stage, step, text=reason */
    DRILL_EV_OUTPUT,      /* stage, step, text=one output line (redacted) */
    DRILL_EV_CHECK,       /* stage, step, name, sql, expected, observed, passed, flagged */
    DRILL_EV_VAR,         /* name, value (never for a secret: value stays in memory) */
    DRILL_EV_NOTE,        /* stage, text ("follow-up: ..." for a follow-up) */
    DRILL_EV_ISSUE,       /* stage, text */
    DRILL_EV_HUMAN,       /* stage, human_s: time spent waiting for the operator */
    DRILL_EV_MEASURE,     /* name ("rto_s"/"rpo_s"), value_s */
    DRILL_EV_INTERRUPT,   /* text=reason, stage, step, duration_s: quit or signal; the drill
                             can be resumed; duration_s is the machine time of the attempt it
                             cut short (added to the step, which has no step_end for it) */
    DRILL_EV_RESUME,      /* a later process continued the drill */
    DRILL_EV_END,         /* text=outcome: "passed", "failed", "aborted", "declined" */
    DRILL_EV_PLAN,        /* stage, step (the first step that changes something), passed
                             (accepted), text=the plan as shown (redacted); "declined" ends
                             the drill before that step */
    DRILL_EV_HINT,        /* stage, step, name=hint id, text=the advice: the procedures'
                             troubleshooting hint for the step's failure (runbook/hints) */
    DRILL_EV_CATCH,       /* stage, step (the sub-drill's failed step), name=id of the runbook
                             step whose on-fail=continue|skip took the failure, text=reason;
                             written before the skips that end the sub-drill, so a resume
                             finishes them (added: older journals have none) */
};

struct drill_event {
    enum drill_event_type type;
    int stage; /* index into runbook stages, -1 when not about a stage */
    int step;  /* index into the stage's steps, -1 when not about a step */
    enum step_status status;
    int attempt;
    int exit_code;
    double duration_s; /* monotonic, machine + human */
    double human_s;
    double value_s;
    bool passed;
    bool flagged; /* DRILL_EV_CHECK: not passed, but a warning that does not fail the drill */
    bool secret;  /* DRILL_EV_VAR: keep in memory only */
    const char *name;
    const char *value;
    const char *sql;
    const char *expected;
    const char *observed;
    const char *text;
};

struct drill_check {
    int stage, step;
    char *name;
    char *sql;
    char *expected;
    char *observed;
    bool passed;
    bool flagged; /* not passed, a warning only (e.g. compliance.retention-meets-7-years) */
    char *at;
};

struct drill_step_state {
    enum step_status status;
    int attempts;
    char *started_at; /* RFC 3339 UTC with milliseconds; NULL until started */
    char *finished_at;
    double duration_s;
    double human_s;
    int exit_code;
    char *summary; /* short result text, e.g. "exit 0" or "observed 3, expected = 0" */
    char *skip_reason;
    char *failed_summary; /* summary of the last failed attempt, kept when a retry passes */
    /* Added: copied from the runbook into DRILL_EV_BEGIN, so a journal is self-contained. */
    char *id;      /* runbook step id */
    char *action;  /* "sh", "sql", ... */
    char *hint_id; /* DRILL_EV_HINT of the last attempt: the hint's id and advice; or NULL */
    char *hint;
    /* The step's report=TITLE and report-json=NAME (from DRILL_EV_BEGIN), or NULL; with
     * either, output holds the last attempt's DRILL_EV_OUTPUT lines ("\n" after each,
     * redacted as journaled, at most DRILL_REPORT_OUTPUT_MAX bytes), else NULL. */
    char *report_title;
    char *report_json;
    char *output;
    /* A DRILL_EV_CATCH for the last attempt's failure: the runbook step named by caught_by
     * (or NULL) took it with its on-fail; the sub-drill stopped there. */
    bool caught;
    char *caught_by;
};

/* The most of a step's output a drill keeps for its report (report=, report-json=). */
#define DRILL_REPORT_OUTPUT_MAX ((size_t)64 * 1024)

struct drill_stage_state {
    enum step_status status;
    char *started_at;
    char *finished_at;
    double duration_s; /* sum of its steps' durations */
    double human_s;    /* of which waiting for the operator */
    struct drill_step_state *steps;
    size_t n_steps;
    /* Added fields. */
    char *id; /* runbook stage id (from DRILL_EV_BEGIN) */
    char *title;
    int expected_s;    /* 0 when the runbook gives none */
    double operator_s; /* DRILL_EV_HUMAN time not tied to a step (in duration_s and human_s) */
    enum step_status end_status; /* as given by DRILL_EV_STAGE_END; STEP_PENDING before */
    /* The RPO an rpo= check of this stage measured (DRILL_EV_MEASURE "rpo_s" with a stage):
     * a sub-drill's own, for the report. */
    bool rpo_measured;
    double rpo_s;
    /* Its last step runs a sub-drill: that runbook's targets as the drill began (from
     * DRILL_EV_BEGIN, added: false in older journals), 0 when it gives none. */
    bool has_subdrill;
    int sub_expected_s;
    int sub_rto_s;
    int sub_rpo_s;
};

struct drill_text {
    int stage;
    char *at;
    char *text;
};

struct drill_var {
    char *name;
    char *value;
    bool secret;
};

struct drill {
    char *id;
    char *dir; /* $PGDRILL_HOME/drills/<id> */
    char *runbook_path;
    char *runbook_id;
    char *runbook_title;
    char runbook_sha256[65];
    char stages_sha256[65];
    char *operator_name;
    char *host;
    char *started_at;
    char *finished_at; /* NULL while running */
    char *outcome;     /* NULL while running */
    double rto_s;      /* < 0 when not measured */
    double rpo_s;
    struct drill_stage_state *stages;
    size_t n_stages;
    struct drill_check *checks;
    size_t n_checks;
    struct drill_text *notes;
    size_t n_notes;
    struct drill_text *issues;
    size_t n_issues;
    struct drill_var *vars;
    size_t n_vars;
    int n_resumes;
    bool truncated_tail; /* replay found and ignored a partial last line */
    /* Added fields. */
    int expected_s; /* runbook targets, 0 when not given (from DRILL_EV_BEGIN) */
    int rto_target_s;
    int rpo_target_s;
    bool interrupted;   /* last lifecycle event was DRILL_EV_INTERRUPT (no resume since) */
    bool plan_accepted; /* a DRILL_EV_PLAN with passed=true was recorded */
    char **inputs;      /* the runbook's inputs (header and input steps), in order */
    size_t n_inputs;
    struct drill_priv *priv; /* internal: lock and journal writer */
};

/*
 * Start a new drill of rb under home: create the folder (0700) and the
 * journal (0600), take the lock and record DRILL_EV_BEGIN. operator_name is
 * recorded as given. The caller owns *out (drill_free).
 */
int drill_begin(struct drill **out, const char *home, const struct runbook *rb,
                const char *operator_name, struct pd_err *err);

/*
 * Open an existing drill by id and replay its journal. With lock, take the
 * drill's lock first (PD_ELOCKED "drill ID is in use by another pgdrill
 * (pid N)" when another process holds it) and open the journal for
 * appending; a partial last line (truncated_tail) is then cut off so new
 * records start on a clean line. Without lock the drill is read-only
 * (drill_record fails). drill_open does not record DRILL_EV_RESUME: the
 * caller does when it continues the drill. A corrupt record before the last
 * line is PD_EIO "journal PATH:LINE: ...". The caller owns *out.
 */
int drill_open(struct drill **out, const char *home, const char *id, bool lock, struct pd_err *err);

/*
 * The full id of the drill under home that id names (caller owns *out): the id itself when
 * its folder exists, else the one drill whose id starts with it or whose part after the
 * date (HHMMSS-RUNBOOK) does, as git takes an abbreviated hash. PD_ENOENT "drill ID not
 * found in HOME/drills" when none does; PD_EINPUT "drill id 'ID' is ambiguous: it names A,
 * B" (newest first) when several do. drill_open resolves its id so.
 */
int drill_resolve_id(char **out, const char *home, const char *id, struct pd_err *err);

/*
 * Apply ev to d and append it to the journal, fsync'd, stamped with the
 * current time. An event that does not fit the drill (index out of range,
 * missing name) is PD_EBUG and changes nothing; a failed write is PD_EIO
 * naming the journal, leaves d unchanged and makes later records fail too.
 */
int drill_record(struct drill *d, const struct drill_event *ev, struct pd_err *err);

/*
 * Id of the newest drill under home that has no DRILL_EV_END; caller owns
 * it. PD_ENOENT "no unfinished drill in HOME/drills" when there is none;
 * drills whose journal cannot be read are skipped with a warning.
 */
int drill_find_unfinished(char **out, const char *home, struct pd_err *err);

/* Ids of all drills under home, newest first; caller owns the array and strings. */
int drill_list(char ***out, size_t *n_out, const char *home, struct pd_err *err);

/* Value of a variable or NULL. Borrowed until the next drill_record. */
const char *drill_var(const struct drill *d, const char *name);

/*
 * Why a skipped step was not taken as the runbook is written: "condition" (its when= does
 * not hold), "clean-up" (a variable it acts on was never set), "sub-drill" (its sub-drill
 * never started); NULL for any other step (not skipped, or skipped by the operator or an
 * on-fail=: a deviation). The string is static.
 */
const char *drill_step_not_taken(const struct drill_step_state *sp);

/* sha256 of the journal file as it is on disk now (64 hex digits + NUL). */
int drill_journal_sha256(const struct drill *d, char out[65], struct pd_err *err);

/*
 * The wall time (epoch seconds) of the last record of the journal in dir, a
 * drill's folder, read without the lock: the drill may be running (the one a
 * step runs in, PGDRILL_DRILL_DIR). A partial last line is skipped as in
 * drill_open (the record before it counts). PD_ENOENT "journal PATH: open:
 * ..." when there is no journal; PD_EIO "journal PATH: no records" when it
 * holds no complete record, or naming the line when a record is corrupt or
 * its "at" is not a time.
 */
int drill_journal_last_at(double *out, const char *dir, struct pd_err *err);

void drill_free(struct drill *d);

const char *step_status_name(enum step_status st);

/* Current wall time as RFC 3339 UTC with milliseconds; caller owns it. */
char *drill_now_rfc3339(void);

/*
 * The achieved RTO in seconds as report.json gives it: a DRILL_EV_MEASURE
 * "rto_s" when recorded, else from the drill's start to the end of its last
 * finished stage; -1 when no stage finished.
 */
double drill_rto_achieved(const struct drill *d);

#endif
