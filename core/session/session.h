/*
 * session: one drill from start to report, the lifecycle every front end
 * shares (the TUI and the headless runner of run, resume and check).
 *
 * A session owns a runbook and a drill: drill_session_begin loads the
 * runbook and begins a new drill of it; drill_session_resume opens an
 * unfinished drill (locked) and loads the runbook it was begun with,
 * refusing a drill that has ended or whose runbook's stages changed.
 * drill_session_start creates the engine with the front end's events table
 * (so the front end can hand s->engine to its signal handlers), and
 * drill_session_run runs it to the end. drill_session_report
 * writes the report (report.json, report.md) with the drill's history
 * regressions, in one write by core/report; drill_session_end releases
 * everything. Front ends keep only what is theirs: flags and printing, or
 * screens and keys.
 *
 * The fields are read-only for the front end; the session owns them.
 */
#ifndef PD_SESSION_H
#define PD_SESSION_H

struct drill;
struct engine;
struct engine_events;
struct engine_opts;
struct pd_err;
struct runbook;

struct drill_session {
    const char *home;      /* borrowed: PGDRILL_HOME */
    struct runbook *rb;    /* owned; NULL until loaded */
    struct drill *drill;   /* owned; NULL until begun or opened */
    struct engine *engine; /* owned; from drill_session_start to drill_session_end */
};

/*
 * Load the runbook at path (recorded in the journal as given) and begin a
 * new drill of it under home. s is initialised here; call drill_session_end
 * whatever this returns.
 */
int drill_session_begin(struct drill_session *s, const char *home, const char *path,
                        const char *operator_name, struct pd_err *err);

/*
 * Open drill id under home for continuing it (its lock taken) and load its
 * runbook. PD_EINPUT "drill ID already ended (OUTCOME); nothing to resume"
 * when it ended, and "drill ID: the stages of PATH changed since the drill
 * began ..." when the runbook's stages are not the drill's. s is
 * initialised here; call drill_session_end whatever this returns.
 */
int drill_session_resume(struct drill_session *s, const char *home, const char *id,
                         struct pd_err *err);

/*
 * Create the engine for the session's drill: opts and ev are copied (see
 * engine_new), payload goes to every callback.
 */
int drill_session_start(struct drill_session *s, const struct engine_opts *opts,
                        const struct engine_events *ev, void *payload, struct pd_err *err);

/*
 * Run the engine to the end (engine_run's result and error). The engine
 * stays until drill_session_end, so a signal handler holding it never
 * sees it freed.
 */
int drill_session_run(struct drill_session *s, struct pd_err *err);

/*
 * Write report.json and report.md of drill d (runbook rb, may be NULL) into
 * dir (NULL: the drill's folder), with the stages that regressed against
 * earlier drills of its runbook under home. The one place a report is
 * written: the session's front ends and `pgdrill report show` use it.
 */
int drill_session_write_report(const char *home, const struct drill *d, const struct runbook *rb,
                               const char *dir, struct pd_err *err);

/*
 * Bring drill d's report up to date: written from the journal (with the
 * runbook at d->runbook_path when it still loads) when report.json or
 * report.md is missing or report.json names another journal hash (the
 * drill went on after it was written). journal_sha (may be NULL) gets the
 * journal's sha256 in hex; *written (may be NULL) whether it was written.
 * The one rule for `pgdrill report show` and `pgdrill report push`.
 */
int drill_session_ensure_report(const char *home, const struct drill *d, char journal_sha[65],
                                int *written, struct pd_err *err);

/* drill_session_write_report for the session's drill. */
int drill_session_report(const struct drill_session *s, const char *dir, struct pd_err *err);

/* Release the engine, the drill (and its lock) and the runbook. */
void drill_session_end(struct drill_session *s);

#endif
