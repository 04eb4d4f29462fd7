/*
 * input: where keys come from: the keyboard, or a PGDRILL_TUI_SCRIPT file.
 *
 * A script has one command per line (blank lines and # comments skipped):
 *   type TEXT        the characters of TEXT, as if typed
 *   key NAME         one key: Enter, Esc, Tab, Backspace, Up, PgDn, Ctrl-U, q, ...
 *   wait-for TEXT    hold further input until the screen shows TEXT (10 s timeout)
 *   dump-screen FILE write the screen as plain text
 *   sleep MS         hold further input for MS milliseconds
 * Reading never blocks the engine: while a script waits, tui_input_get
 * returns TUI_KEY_NONE after at most timeout_ms, so the drill keeps running.
 * When the script ends, keys come from the keyboard again. A failed script
 * line (timeout, bad command) makes tui_input_get return TUI_KEY_ABORT.
 */
#ifndef PD_TUI_INPUT_H
#define PD_TUI_INPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "pd_err.h"

#define TUI_KEY_ABORT (-2)

struct tui_input {
    FILE *script;
    char *path;
    int line_no;
    int queue[512];
    size_t q_head, q_len;
    double hold_until; /* sleep: monotonic deadline, 0 when none */
    char *wait_text;   /* wait-for: owned, NULL when none */
    double wait_deadline;
    struct pd_err err; /* why the script failed */
    bool failed;
};

int tui_input_open(struct tui_input *in, const char *script, struct pd_err *err);
void tui_input_close(struct tui_input *in);

/*
 * The next key, waiting at most timeout_ms (< 0: until a key). Returns a
 * key (see request.h), TUI_KEY_NONE, or TUI_KEY_ABORT. The screen must be
 * painted before calling (wait-for and dump-screen read it).
 */
int tui_input_get(struct tui_input *in, int timeout_ms);

#endif
