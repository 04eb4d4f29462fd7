#!/bin/bash
# A failure dialog taller than a small terminal (60x13): its end, who to
# tell, is not lost; PgDn and Down scroll the dialog's text, PgUp goes back
# to the error, and the keys still answer the dialog. The summary then
# fits 60 columns.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 60 13 LANG=C.UTF-8 LC_ALL=C.UTF-8 PGDRILL_CONTACT_SECURITY="Site Security, sec@example.com" \
    -- tui "$FIXTURES/contacts-fail.md"
check "failure dialog opens" t_wait "Step failed"
check "the dialog starts with the error" t_wait "exit 2"
# the output pane is under the dialog: the step's last output is in it
check "the dialog shows the step's last output" t_wait_re "│ +the restore broke +│"
check "the dialog says there is more below" t_wait "PgDn more"
t_keys PgDn
check "PgDn shows the end: Neon support" t_wait "Neon support: support@neon.tech"
check "at the end, the dialog says there is more above" t_wait "PgUp more"
t_keys PgUp
check "PgUp goes back to the error" t_wait "exit 2"
t_keys Down
check "Down scrolls one line: more above and below" t_wait "PgUp/PgDn more"
t_keys q
check "q still answers the dialog: summary" t_wait "Drill summary"
t_keys G
check "at 60 columns a stage and its times share a line" \
    t_wait_re "\[x\] Restore the table +00:0[0-9] / 00:10$"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 1 after the failed drill (got $rc)" test "$rc" = 1
t_done
