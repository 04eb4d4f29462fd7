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
 * Time spent inside prompt_needed, confirm_needed and failure_decision is
 * counted as the operator's (human) time of the stage; the rest is machine
 * time. Durations use CLOCK_MONOTONIC; timestamps are wall time in UTC.
 *
 * Lifetime: the engine borrows the runbook and the drill for its whole
 * life; engine_free releases only the engine.
 */
#ifndef PD_ENGINE_H
#define PD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "drill/drill.h"
#include "runbook/runbook.h"

struct pd_err;
struct engine;

/* What the operator is asked for (input, note, manual step done?). */
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
};

/* A confirmation: the operator must type target exactly. */
struct engine_confirm {
    const struct runbook_stage *stage;
    const struct runbook_step *step;
    const char *message; /* expanded body, secrets masked */
    const char *target;  /* what must be typed */
    bool destructive;
};

enum engine_decision {
    ENGINE_RETRY,
    ENGINE_SKIP, /* with a reason */
    ENGINE_STOP,
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
    void (*step_finished)(const struct runbook_step *step, enum step_status st,
                          const char *summary, void *payload);
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
};

struct engine_opts {
    bool yes;                  /* confirmations pass without typing (never in a drill's refusal) */
    const char *const *vars;   /* "name=value" pairs from --var */
    size_t n_vars;
    int statement_timeout_ms;  /* for sql/check; 0 = 30000 */
    int sh_timeout_s;          /* default for sh steps; 0 = 600 */
};

int engine_new(struct engine **out, const struct runbook *rb, struct drill *drill,
               const struct engine_opts *opts, const struct engine_events *ev, void *payload,
               struct pd_err *err);

/*
 * Run from the first step that has not finished (all of them for a new
 * drill) to the end. Returns 0 when every step passed or was skipped,
 * PD_ECHECK when a check or step failed and the policy stopped the drill,
 * PD_EINTR when interrupted (the journal allows a resume), or another PD_E*.
 * The drill is ended (DRILL_EV_END) unless interrupted.
 */
int engine_run(struct engine *e, struct pd_err *err);

/* Ask the running engine to stop at the next safe point (signal-safe). */
void engine_request_stop(struct engine *e);

/*
 * Expand ${name} in text: run variables first, then inputs' defaults, then
 * UPPER_CASE names from the environment. With shell_quote, each value is
 * quoted for /bin/sh. Unknown names fail with PD_EINPUT. Caller owns *out.
 */
int engine_expand(const struct engine *e, char **out, const char *text, bool shell_quote,
                  struct pd_err *err);

void engine_free(struct engine *e);

#endif
