/*
 * engine: runs a runbook's stages and steps, UI-agnostic.
 *
 * The engine executes steps in order, records every state change through
 * the drill journal (drill_record) before the next action starts, and tells
 * the front end what happens through struct engine_events. The TUI and the
 * headless runner both implement the callbacks; a callback left NULL gets
 * the headless default (prompts fail with PD_EINPUT unless answered by
 * --var, confirmations fail unless opts.yes).
 *
 * Time spent inside prompt_needed, confirm_needed/confirm_typed and
 * failure_decision is counted as the operator's (human) time of the stage;
 * the rest is machine time. Durations use CLOCK_MONOTONIC; timestamps are
 * wall time in UTC.
 *
 * Lifetime: the engine borrows the runbook and the drill for its whole
 * life; engine_free releases only the engine.
 *
 * Behaviour the front ends rely on (details in engine.c and actions.c):
 *   - Headless defaults: an optional input given as --var x= is empty (not
 *     validated against its type); an input without --var takes its
 *     default ("" when optional) or fails PD_EINPUT "input 'x' needs a
 *     value: pass --var x=VALUE"; an invalid --var fails PD_EINPUT
 *     "--var x: <why>" (with
 *     prompt_needed set the operator is asked instead, with last_error); a
 *     note without an answer records nothing; a manual step passes only
 *     with opts.yes; a confirm passes with opts.yes except a
 *     destructive=yes confirm in a runbook whose environment is
 *     "production", which must always be typed.
 *   - prompt_needed for a manual step (action is the step's action, name
 *     NULL): "", "y", "yes" or "done" mean done, anything else fails it.
 *   - Variables are spliced into sh scripts quoted for where they land
 *     (shell/splice.h): a single-quoted word between words, escaped inside
 *     "..." and here-documents, so `echo "a ${x}"` is as safe as
 *     `echo ${x}`; a script the splicer cannot follow fails PD_EINPUT.
 *     env=a,b on a sh step exports those variables instead. In sql/check each ${x} becomes a bind
 *     parameter $N. Every sh step also gets PGDRILL_DRILL_ID.
 *   - Output: every line reaches output_line (redacted); the journal keeps
 *     the first 200 lines of each attempt and then "… N more lines". A sql
 *     step shows a header line, up to 50 rows ("a | b", NULL as NULL) and
 *     "(N rows)"; a command shows its tag ("INSERT 0 1"). A check shows its
 *     rows the same way when the result is more than one value, then
 *     "check NAME: passed|FAILED (observed X, expected E)".
 *   - Resume: engine_run on a drill that already started records
 *     DRILL_EV_RESUME itself (front ends must not). Passed and skipped
 *     steps are not rerun; a step left running is. Variables come back from
 *     the journal, except secret ones (a URI with a password, a registered
 *     secret), which are journaled by name only: they are taken from --var
 *     or asked again through prompt_needed before anything runs, else
 *     PD_EINPUT "variable 'x' holds a secret that is not journaled: pass
 *     --var x=VALUE to resume". The step that produced them is not rerun.
 *   - The plan: in a runbook that changes a service (plan_needs_accept in
 *     timeline/plan.h), the engine stops before the first step that changes
 *     something and will run (its when= holds), builds the plan with every
 *     value known by then (plan_build_at) and calls plan_needed. Accepted,
 *     a DRILL_EV_PLAN (passed) is journaled and the drill goes on; it is not
 *     asked again on resume. Declined (or headless: no plan_needed and no
 *     opts.yes), a DRILL_EV_PLAN (not passed) and an issue are journaled,
 *     the stage ends skipped, the drill ends "declined" and engine_run
 *     fails PD_ECHECK "step STEP-ID: plan declined: nothing was changed"
 *     (headless: "step STEP-ID: plan not accepted: pass --yes to accept it,
 *     or see it first with --plan; nothing was changed"). The operator's
 *     time on the plan counts as the stage's human time.
 *   - Always stages (`always` in the stage comment, runbook.h): after a
 *     step stops the drill (a failure, the operator's stop at a failure, a
 *     declined plan) the ordinary stages left are not run, the always
 *     stages after it are (each whatever the one before did), and then the
 *     drill ends; the first failure stays engine_run's error. In an always
 *     stage a step that names a variable no step has set is skipped
 *     ("clean-up: ${x} was never set ..."). An interruption (PD_EINTR)
 *     runs nothing more: the drill stays resumable and its always stages
 *     run when the resumed drill reaches them.
 *   - Sub-drills (the runbook action, runbook/include.c): the child's stages
 *     are stages of this runbook, after the runbook step's stage, and run
 *     as any other (resume, always stages, the plan). The runbook step
 *     gives the child its inputs (engine/runbook_step.c); in the child's
 *     stages (stage->scope) variables are the child's own, journaled as
 *     "SCOPE.name", --var is replaced by what the runbook step gave, and a
 *     step is skipped ("step ID did not run runbook NAME") when the
 *     runbook step did not pass.
 *   - Failures end with *err = "step STEP-ID: <why>"; kinds: PD_ECHECK (a
 *     failed check, exit status, confirm mismatch, SQL error), PD_ESERVICE
 *     (cannot connect, statement timeout), PD_EINPUT (undefined variable,
 *     bad input), PD_EUSAGE (neon/s3 steps in this build).
 */
#ifndef PD_ENGINE_H
#define PD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "drill/drill.h"
#include "runbook/runbook.h"

struct engine;
struct lines;
struct pd_err;

/*
 * What the operator is asked for (input, note, manual step done?). stage
 * and step are NULL for header inputs and for secrets asked again on
 * resume. An empty answer takes default_value when there is one.
 */
struct engine_prompt {
    const struct runbook_stage *stage;
    const struct runbook_step *step;
    enum step_action action; /* STEP_INPUT, STEP_NOTE, or another for manual steps */
    const char *name;        /* variable being asked for, may be NULL */
    const char *question;    /* expanded prompt text */
    enum input_type type;
    const char *const *choices;
    size_t n_choices;
    const char *default_value; /* may be NULL */
    const char *last_error;    /* why the previous answer was refused, or NULL */
    bool optional;             /* added: an empty answer is accepted (an optional input) */
};

/* A confirmation: the operator must type target exactly. */
struct engine_confirm {
    const struct runbook_stage *stage;
    const struct runbook_step *step;
    const char *message; /* expanded body, secrets masked */
    const char *target;  /* what must be typed */
    bool destructive;
};

/* The plan shown before the first step that changes something (see above). */
struct engine_plan {
    const struct runbook_stage *stage;
    const struct runbook_step *step; /* the first step that changes something */
    const char *text;                /* plan_build_at's text, secrets masked */
    const struct lines *lines;       /* the same as lines with their kinds (timeline/lines.h) */
    bool accepted;                   /* already accepted by opts.yes: show it, ask nothing */
};

enum engine_decision {
    ENGINE_RETRY,
    ENGINE_SKIP, /* with a reason */
    ENGINE_STOP,
    ENGINE_CONTINUE, /* keep the failure and go on; the drill fails at the end */
};

struct engine_events {
    void (*stage_started)(const struct runbook_stage *stage, size_t index, void *payload);
    void (*stage_finished)(const struct runbook_stage *stage, size_t index, enum step_status st,
                           void *payload);
    /* display is the expanded action text with secrets masked. */
    void (*step_started)(const struct runbook_stage *stage, const struct runbook_step *step,
                         const char *display, void *payload);
    /* One line of output or result, secrets masked, no trailing newline. */
    void (*output_line)(const struct runbook_step *step, const char *line, void *payload);
    void (*step_finished)(const struct runbook_step *step, enum step_status st, const char *summary,
                          void *payload);
    /*
     * Ask the operator. Return 0 with *out set to a string the engine takes
     * ownership of, PD_EINTR when the operator quits, or another PD_E*.
     */
    int (*prompt_needed)(const struct engine_prompt *prompt, char **out, void *payload);
    /* Return 0 when the operator typed the target, PD_EINTR to quit. */
    int (*confirm_needed)(const struct engine_confirm *confirm, void *payload);
    /* A step failed and its policy lets the operator decide; *reason owned by the engine. */
    enum engine_decision (*failure_decision)(const struct runbook_step *step, const char *why,
                                             char **reason, void *payload);
    /* Called about every 200 ms during long work; return true to interrupt. */
    bool (*tick)(void *payload);
    /*
     * Added: when set, used instead of confirm_needed. Return 0 with *typed
     * (owned by the engine) set to what the operator typed; the engine
     * compares it with the target and fails the step on a mismatch
     * ("confirm: typed 'x' does not match 'y'"). PD_EINTR to quit.
     */
    int (*confirm_typed)(const struct engine_confirm *confirm, char **typed, void *payload);
    /*
     * Added: show the plan. Return 0 when the operator accepts it, PD_EINTR
     * to quit (the drill stays resumable, the plan is asked again), any
     * other PD_E* to decline (PD_EINPUT: nobody could answer). With
     * plan->accepted the return value is ignored.
     */
    int (*plan_needed)(const struct engine_plan *plan, void *payload);
    /*
     * Added: a failed step's error or output matched a troubleshooting hint
     * (runbook/hints); called right after step_finished, once journaled.
     */
    void (*hint_shown)(const struct runbook_step *step, const char *id, const char *advice,
                       void *payload);
};

struct engine_opts {
    bool yes;                /* confirmations pass without typing (never in a drill's refusal) */
    const char *const *vars; /* "name=value" pairs from --var */
    size_t n_vars;
    int statement_timeout_ms; /* for sql/check; 0 = 30000 */
    int sh_timeout_s;         /* default for sh steps; 0 = 600 */
    /*
     * The troubleshooting hints file (runbook/hints), borrowed for the
     * engine's life; NULL: none. A failed step whose body, error or output
     * matches a hint gets it journaled (DRILL_EV_HINT) and shown (hint_shown).
     * A hints file that does not load is a warning in the log, not an error.
     */
    const char *hints_path;
};

/*
 * Every --var (NAME=VALUE) names an input of rb (header or input step) or an
 * environment variable rb reads (${NAME}, env=NAME). Otherwise PD_EUSAGE:
 * the name, the runbook's inputs and the closest one ("did you mean x?").
 */
int engine_check_vars(const struct runbook *rb, const char *const *vars, size_t n_vars,
                      struct pd_err *err);

/*
 * Every --var that answers a header input of rb holds a value of its type
 * (an optional one may be empty). Otherwise PD_EINPUT, "--var NAME: why",
 * as the drill would say once begun: the front ends call it before one is.
 */
int engine_check_var_values(const struct runbook *rb, const char *const *vars, size_t n_vars,
                            struct pd_err *err);

/*
 * For a run nobody can answer (no terminal): every required header input of rb without a
 * default has a --var in vars. Otherwise PD_EINPUT naming all the missing ones, in the
 * engine's words ("input 'X' needs a value: pass --var X=VALUE"; for several, "inputs 'A',
 * 'B' need values: pass --var A=VALUE --var B=VALUE"): the front end calls it before a
 * drill begins, so that none is begun only to be aborted.
 */
int engine_check_inputs_given(const struct runbook *rb, const char *const *vars, size_t n_vars,
                              struct pd_err *err);

/*
 * Fails PD_EINPUT when the drill's stages no longer match the runbook
 * (stages_sha256 or step counts differ: "drill ID: the runbook's stages
 * changed since the drill began ..."), PD_EUSAGE when a --var is not
 * NAME=VALUE or not one rb takes (engine_check_vars) nor a secret variable
 * the drill's journal keeps by name only (asked again on a resume). ev and opts are
 * copied; payload is passed to every callback.
 */
int engine_new(struct engine **out, const struct runbook *rb, struct drill *drill,
               const struct engine_opts *opts, const struct engine_events *ev, void *payload,
               struct pd_err *err);

/*
 * Run from the first step that has not finished (all of them for a new
 * drill) to the end. Returns 0 when every step passed or was skipped,
 * the failed step's kind (PD_ECHECK, PD_ESERVICE, PD_EINPUT) when the
 * policy stopped the drill or, with on-fail=continue, the first failure's,
 * PD_EINTR when interrupted (the journal allows a resume), or another PD_E*.
 * The drill is ended (DRILL_EV_END) unless interrupted; a new drill whose
 * header inputs cannot be obtained (bad --var) ends as "aborted", while a
 * resumed one that lacks a value stays resumable. On PD_EINTR a
 * DRILL_EV_INTERRUPT is recorded and err reads "drill ID interrupted;
 * resume with: pgdrill resume ID". A drill that has ended already fails
 * with PD_EUSAGE "drill ID has already ended (OUTCOME)".
 */
int engine_run(struct engine *e, struct pd_err *err);

/*
 * Ask the running engine to stop at the next safe point (signal-safe): a
 * running sh step's process group is killed, a running SQL statement ends
 * at the latest at its statement timeout.
 */
void engine_request_stop(struct engine *e);

/*
 * Expand ${name} in text: run variables first, then inputs' defaults, then
 * UPPER_CASE names from the environment. With shell_quote, each value is
 * quoted for its place in a /bin/sh script (shell_splice_quote). Unknown
 * names, and values that cannot be placed safely, fail with PD_EINPUT. Caller owns *out.
 */
int engine_expand(const struct engine *e, char **out, const char *text, bool shell_quote,
                  struct pd_err *err);

void engine_free(struct engine *e);

#endif
