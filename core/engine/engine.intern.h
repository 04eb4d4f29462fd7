/*
 * engine internals shared by engine.c, vars.c and actions.c (and tests).
 */
#ifndef PD_ENGINE_INTERN_H
#define PD_ENGINE_INTERN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "audit/audit.h"
#include "engine/engine.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "runbook/hints.h"

struct pg_conn;
struct pg_result;

/* Output lines journaled per step attempt; the rest are counted. */
#define ENGINE_OUTPUT_JOURNAL_MAX 200
/* How much of an attempt's output is kept for matching the hints. */
#define ENGINE_HINT_TEXT_MAX ((size_t)64 * 1024)
/* Result rows shown for a sql step. */
#define ENGINE_SQL_ROWS_MAX 50

struct engine_var {
    char *name;
    char *value; /* the real value, in memory only when secret */
};

struct engine_conn {
    char *url; /* expanded, may hold a password: never shown */
    struct pg_conn *conn;
};

struct engine {
    const struct runbook *rb;
    struct drill *drill;
    struct engine_opts opts;
    struct engine_events ev;
    void *payload;
    volatile sig_atomic_t stop_requested;
    bool quit; /* a callback returned PD_EINTR */

    struct engine_var *vars;
    size_t n_vars;
    struct engine_conn *conns;
    size_t n_conns;

    /* The step being run. */
    int si, ti;
    const struct runbook_stage *stage;
    const struct runbook_step *step;
    const char *scope;      /* the stage's scope (runbook.h): a sub-drill's variables */
    double human_step;      /* operator seconds inside this attempt */
    size_t n_journaled;     /* output lines journaled in this attempt */
    size_t n_unjournaled;   /* lines past ENGINE_OUTPUT_JOURNAL_MAX */
    struct pd_buf out_text; /* this attempt's output (redacted), up to ENGINE_HINT_TEXT_MAX */
    struct hints hints;     /* from opts.hints_path, loaded at the first failure */
    bool hints_loaded;
    int record_rc; /* first drill_record failure of this attempt */
    struct pd_err record_err;

    struct audit *audit; /* $PGDRILL_HOME/audit.log, opened before the first audited action */

    bool plan_pending; /* the plan must be accepted before the next change */
    bool declined;     /* the plan was declined: the drill ends "declined" */
    bool refused;      /* the drill guard refused a step: nothing lets the drill go on */

    size_t n_continued;          /* failures let through by on-fail=continue */
    struct pd_err first_failure; /* the first of them, for the final message */
};

/* vars.c */

/*
 * Value of name in lookup order (run vars, --var, input defaults, what a runbook step's
 * save=PREFIX exports as PREFIX_NAME, env); borrowed or NULL. In a sub-drill's stage
 * (e->scope set) the run variables are the child's own, scope.name, and --var and the
 * header's defaults are the parent's, so not looked at.
 */
const char *engine_lookup(const struct engine *e, const char *name);
/* engine_lookup as seen from the stages of scope (NULL: the runbook's own). */
const char *engine_lookup_in(const struct engine *e, const char *scope, const char *name);
/* The --var value for name, or NULL; in a sub-drill, the value its runbook step gave. */
const char *engine_opt_var(const struct engine *e, const char *name);
/*
 * Set a run variable and journal it (secret values are journaled without value); in a
 * sub-drill's stage it is scope.name.
 */
int engine_set_var(struct engine *e, const char *name, const char *value, struct pd_err *err);
/*
 * Turn each ${name} of sql into a bind parameter $N (the same name reuses
 * its number); $${ stays a literal ${. Caller owns *out_sql and *params
 * (engine_strv_free).
 */
int engine_sql_bind(const struct engine *e, char **out_sql, char ***params, size_t *n_params,
                    const char *sql, struct pd_err *err);
void engine_strv_free(char **v, size_t n);
/*
 * Check value against an input's type, choices and pattern. Returns 0, or
 * PD_EINPUT with a message for the operator ("'x' is not an integer").
 */
int engine_validate(const char *value, enum input_type type, const char *const *choices,
                    size_t n_choices, const char *pattern, struct pd_err *err);
/* "text", "timestamp", ... -> type; -1 when unknown. */
int engine_input_type(const char *name);

/* neon_step.c */

/*
 * On a resume, the value of the secret variable name when a neon step the
 * drill passed saved it (PREFIX_uri of save=PREFIX, with database= and
 * role=) and the journal kept the branch's PREFIX_id: Neon is asked for the
 * branch's connection URI again, the call is audited, and one output line
 * says so. Returns 0 with *out set (caller owns), or 0 with *out NULL when
 * no such step can give it or Neon did not (a line then says why, the
 * branch may be gone): the caller asks the operator. A negative PD_E* when
 * the call could not be audited: the resume stops.
 */
int engine_neon_refetch(struct engine *e, const char *name, char **out, struct pd_err *err);

/* export.c */

struct engine_step_result;
struct pd_buf;
struct runbook_step;

/*
 * engine_sql_bind after splicing the step's ident= variables as quoted
 * identifiers (engine_quote_table). Caller owns what engine_sql_bind gives.
 */
int engine_export_bind(const struct engine *e, char **out_sql, char ***params, size_t *n_params,
                       const char *sql, struct pd_err *err);
/* "visits" -> "\"visits\"", "s.t" -> "\"s\".\"t\""; PD_EINPUT for anything else. */
int engine_quote_table(char **out, const char *name, struct pd_err *err);
/* Append one CSV line (NULL values empty, others quoted) to b. */
int engine_csv_row(struct pd_buf *b, const char *const *values, size_t n);
/* The column names of the CSV header line in s[0..len). Caller owns *out. */
int engine_csv_header(char ***out, size_t *n_out, const char *s, size_t len, struct pd_err *err);
/*
 * Connect to the database the step's attribute key names (dflt when the step
 * has none, e.g. "${DATABASE_URL}"): a connection of the step's own, not the
 * engine's cache. Caller owns *out (pg_conn_free).
 */
int engine_connect_attr(struct engine *e, struct pg_conn **out, const char *key, const char *dflt,
                        struct pd_err *err);
/* The step's timeout= in ms (default: the engine's statement timeout, else 30 s). */
int engine_step_timeout_ms(const struct engine *e, int *out, struct pd_err *err);
/* BEGIN [READ ONLY] with SET LOCAL statement_timeout (the step's timeout=). */
int engine_tx_begin(struct pg_conn *c, struct engine *e, bool read_only, struct pd_err *err);
/*
 * One statement inside the step's transaction, with the extended protocol
 * (a single statement: "...; COMMIT; ..." is refused) and the engine's stop
 * request as the tick. out may be NULL.
 */
int engine_tx_exec(struct pg_conn *c, const char *sql, const char *const *params, size_t n,
                   struct engine *e, struct pg_result **out, struct pd_err *err);
/* ROLLBACK, ignoring any error (the connection may be gone). */
void engine_tx_rollback(struct pg_conn *c);
/* True for a sql step with export= or import=. */
bool engine_is_transfer(const struct runbook_step *step);
/* Run a sql step with export= or import= (export.c explains both). */
int engine_run_transfer(struct engine *e, struct engine_step_result *res, struct pd_err *err);

/* engine.c */

/* The prompt that asks for a header input (its question, type, choices, default). */
struct engine_prompt engine_input_prompt(const struct runbook_input *in);
/* Ask the operator through prompt_needed, counting the time as human. */
int engine_ask(struct engine *e, const struct engine_prompt *p, char **out, struct pd_err *err);
/*
 * A value for an input: --var, else the operator (re-asked with last_error
 * while invalid), else headless the default ("" when optional). Caller owns *out.
 */
int engine_obtain_input(struct engine *e, struct engine_prompt *p, const char *pattern,
                        bool required, char **out, struct pd_err *err);
/* Ask for confirmation (confirm_typed or confirm_needed), counting human time. */
int engine_confirm_ask(struct engine *e, const struct engine_confirm *c, char **typed,
                       struct pd_err *err);
/* A line of step output: redacted, shown, journaled (up to the cap). */
int engine_output(struct engine *e, const char *line, struct pd_err *err);
/* True when a stop was requested or the front end's tick asks for one. */
bool engine_should_stop(struct engine *e);
/* Record an event for the current drill. */
int engine_record(struct engine *e, const struct drill_event *ev, struct pd_err *err);
/* Open $PGDRILL_HOME/audit.log (HOME derived from the drill folder) unless already open. */
int engine_audit_ensure(struct engine *e, struct pd_err *err);
/* Where a running sh step's process group is noted (shell/group.h); NULL without a drill dir. */
char *engine_group_note_path(const struct engine *e);

/* actions.c */

struct engine_step_result {
    int exit_code;
    char *summary; /* owned; redacted */
};

/* Run the current step once (e->step) through its action's rows. 0 on pass, PD_E* on failure. */
int engine_action_run(struct engine *e, struct engine_step_result *res, struct pd_err *err);

/*
 * The actions, each run once for the current step (e->step); the engine's
 * action table (struct engine_action) names them. A failure sets
 * res->exit_code (1 when the action has no status of its own), except an
 * interrupt.
 */
int engine_run_sh(struct engine *e, struct engine_step_result *res, struct pd_err *err);
int engine_run_sql(struct engine *e, struct engine_step_result *res, struct pd_err *err);
int engine_run_check(struct engine *e, struct engine_step_result *res, struct pd_err *err);
int engine_run_confirm(struct engine *e, struct engine_step_result *res, struct pd_err *err);
int engine_run_input(struct engine *e, struct engine_step_result *res, struct pd_err *err);
int engine_run_note(struct engine *e, struct engine_step_result *res, struct pd_err *err);
/* The neon action (neon_step.c). */
int engine_run_neon(struct engine *e, struct engine_step_result *res, struct pd_err *err);
/* The s3 action (s3_step.c). */
int engine_run_s3(struct engine *e, struct engine_step_result *res, struct pd_err *err);
/* The compliance action (compliance_step.c). */
int engine_run_compliance(struct engine *e, struct engine_step_result *res, struct pd_err *err);
/* The rows action (rows_step.c): rows of a table from a branch back into a database. */
int engine_run_rows(struct engine *e, struct engine_step_result *res, struct pd_err *err);
/* The runbook action (runbook_step.c): hand a child runbook its inputs; its stages follow. */
int engine_run_runbook(struct engine *e, struct engine_step_result *res, struct pd_err *err);
#define ENGINE_AUDIT_ARGS_MAX 8

/* One audit record of a step being built (audit/audit.h has the format). */
struct engine_audit {
    char action[64]; /* "sh", "neon.branch-create", ... */
    struct audit_arg args[ENGINE_AUDIT_ARGS_MAX];
    size_t n;
    char *target;                       /* owned; NULL when none */
    char *owned[ENGINE_AUDIT_ARGS_MAX]; /* strings args[i] points to, owned */
    char body_sha[65];                  /* the body's sha256, for args that name it */
};

/*
 * Fill out (zeroed by the caller) with the record of the current step:
 * its action name, "step" first, then the action's own arguments and the
 * target. The audited actions' rows in the engine's action table name these.
 */
void engine_audit_sh(struct engine *e, const struct engine_step_result *res,
                     struct engine_audit *out);
void engine_audit_sql(struct engine *e, const struct engine_step_result *res,
                      struct engine_audit *out);
void engine_audit_check(struct engine *e, const struct engine_step_result *res,
                        struct engine_audit *out);
void engine_audit_neon(struct engine *e, const struct engine_step_result *res,
                       struct engine_audit *out);
void engine_audit_s3(struct engine *e, const struct engine_step_result *res,
                     struct engine_audit *out);
void engine_audit_compliance(struct engine *e, const struct engine_step_result *res,
                             struct engine_audit *out);
void engine_audit_rows(struct engine *e, const struct engine_step_result *res,
                       struct engine_audit *out);
void engine_audit_runbook(struct engine *e, const struct engine_step_result *res,
                          struct engine_audit *out);

/*
 * The engine's part of an action's row, indexed by enum step_action like
 * the runbook's part (runbook/action.h: attributes, lint, body, guard,
 * mutates), which cannot name the engine: the runbook sits below it. The
 * table is in actions.c; the plan's part is in timeline/plan.c.
 */
struct engine_action {
    /* Run the step once. */
    int (*run)(struct engine *e, struct engine_step_result *res, struct pd_err *err);
    /* The audit record's action name and arguments; NULL only for the operator's own
       steps (the runbook row's asks_operator), which are not audited. */
    void (*audit)(struct engine *e, const struct engine_step_result *res, struct engine_audit *out);
};

/* The engine's row of action a; NULL for a value outside the enum. Borrowed, static. */
const struct engine_action *engine_action(enum step_action a);

/* "s3://bucket/key" a step names (audit log); caller owns it; NULL when unknown. */
char *engine_s3_audit_target(struct engine *e);
/* Close the cached database connections and the audit log. */
void engine_conns_free(struct engine *e);
/* Close the cached database connections (the audit log stays open). */
void engine_conns_reset(struct engine *e);

/* policy.c */

/*
 * The drill guard, before the current step runs: 0 to go on, or PD_ECHECK
 * with res and err saying "refused: drill runbooks never change the default
 * branch 'B' (step ID: ...)" (already journaled as an issue and audited).
 * A refusal stops the drill whatever the step's on-fail.
 */
int engine_policy_check(struct engine *e, struct engine_step_result *res, struct pd_err *err);

/* measure.c */

/* After the current step passed: measure RTO (marks=usable) and RPO (rpo=TIME). */
int engine_measure_step(struct engine *e, struct pd_err *err);
/* A timestamptz as PostgreSQL prints it, or RFC 3339; no zone is UTC. 0 or -1. */
int engine_measure_parse_time(double *out, const char *s);

#endif
