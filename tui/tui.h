/*
 * tui: the ncurses front end of pgdrill.
 *
 * tui_run owns the terminal from start to end: it opens the runbook picker
 * (when no runbook is given), begins or resumes a drill, runs the engine on
 * the calling thread with the TUI's engine_events, and shows the summary.
 * The engine calls back into the TUI for every event; the TUI redraws and,
 * for prompts, confirmations and failures, runs a modal key loop. The
 * terminal is restored on every exit path, including fatal errors (the
 * endwin hook is registered with pd_set_fatal_hook).
 *
 * Nothing here is a curses type: cli/ includes this header only.
 */
#ifndef PD_TUI_H
#define PD_TUI_H

#include <stddef.h>

struct pd_err;

struct tui_opts {
    const char *runbook_path;        /* NULL: open the runbook picker */
    const char *const *runbook_dirs; /* where the picker looks for *.md */
    size_t n_dirs;
    const char *home;        /* PGDRILL_HOME: drills live in home/drills */
    const char *environment; /* banner text ("SANDBOX", "PRODUCTION"); NULL: runbook's */
    const char *resume_id;   /* resume this drill instead of beginning one */
    const char *const *vars; /* "name=value" pairs, as --var */
    size_t n_vars;
    const char *script;        /* PGDRILL_TUI_SCRIPT: read keys from this file */
    const char *operator_name; /* recorded in the journal */
    const char *hints_path;    /* the troubleshooting hints (engine_opts.hints_path); may be NULL */
};

/*
 * Run the TUI. Returns like engine_run: 0 when the drill passed, PD_ECHECK
 * when a step or check failed, PD_EINTR when the operator quit (the drill
 * can be resumed; how is printed on stderr after the terminal is restored),
 * or another PD_E* with err set. Quitting from the picker returns 0, and
 * so does a drill the operator ended by declining its plan (nothing was
 * changed; the drill's outcome is "declined").
 */
int tui_run(const struct tui_opts *opts, struct pd_err *err);

#endif
