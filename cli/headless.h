/*
 * headless: the engine's events for a terminal-less run (cron, CI, tests).
 * Progress goes to stderr; prompts are answered from --var, from the
 * terminal when stdin is one, or fail with a message naming the flag.
 * The plan (shown before the first change) is printed on stderr and
 * accepted by --yes or by typing yes at the terminal.
 */
#ifndef PD_CLI_HEADLESS_H
#define PD_CLI_HEADLESS_H

#include <stdbool.h>

#include "engine/engine.h"

struct headless {
    bool interactive; /* stdin is a terminal: prompts may be asked there */
    bool quiet;       /* --json: keep stderr to errors and the plan */
};

/* Fill ev with the headless callbacks; payload is a struct headless. */
void headless_events(struct engine_events *ev);

/* Install SIGINT, SIGTERM and SIGHUP handlers that ask engine e to stop. */
void headless_trap_signals(struct engine *e);

#endif
