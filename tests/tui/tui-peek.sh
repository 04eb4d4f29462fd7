#!/bin/bash
# While a question is open it covers the output pane, where the operator
# reads what to answer (the training ticket). Tab hides the dialog to read
# the screen, PgUp/PgDn scroll the output meanwhile, Tab brings the
# question back with what was typed.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 60 20 PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui "$FIXTURES/tui-basic.md"
check "input prompt appears" t_wait "Type the magic word"
check "the dialog names the key to peek" t_wait "Tab peek"
t_keys "xyz"
t_keys Tab
check "Tab hides the dialog: the output is readable" t_wait "second step done"
check "the status line says how to go back" t_wait "Tab back to the question"
t_keys PgUp
check "PgUp scrolls the output while peeking" t_wait "prepare line 1"
t_keys Tab
check "Tab brings the question back" t_wait "Type the magic word"
check "with what was typed" t_wait "> xyz"
t_keys BSpace BSpace BSpace "xyzzy" Enter
check "the answer goes on to the confirmation" t_wait "Type sandbox-branch to continue."
t_keys Escape
check "Esc asks to stop" t_wait "Stop the drill here?"
t_keys y
rc=$(t_wait_exit 15)
check "pgdrill tui exits 130 (got $rc)" test "$rc" = 130
t_done
