#!/bin/bash
# Refused answers, as a hurried operator gives them: a local time for a
# timestamp (the whole reason must be readable, at 80 and 60 columns, and
# the answer stays in the field to be corrected),
# and a confirmation pasted with a trailing space (the error must say what
# is wrong, since the field looks right).
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 60 20 LANG=C.UTF-8 LC_ALL=C.UTF-8 PGDRILL_ENVIRONMENT=sandbox -- tui "$FIXTURES/tui-input.md"
check "the timestamp is asked" t_wait "The restore point (RFC 3339, UTC)"
t_keys "2026-12-07 10:40" Enter
# the reason ends with the example of the right form: all of it is shown
check "the refusal is shown whole at 60 columns" t_wait "2026-01-31T14:05:00Z)"
t_screen >"$T_WORK/refused-60.txt"
check "no line is wider than 60 columns" python3 - "$T_WORK/refused-60.txt" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert max(len(line) for line in lines) <= 60, lines
PY
t_tmux resize-window -t tui -x 80 -y 24
check "the refusal is shown whole at 80 columns" t_wait "2026-01-31T14:05:00Z)"
check "the hints stay on screen" t_wait "Enter accept   Esc stop the drill"
# the refused answer stays in the field, to be corrected rather than retyped
check "the refused answer is kept in the field" t_wait "> 2026-12-07 10:40"
t_keys C-u "2026-12-07T10:40:00Z" Enter
check "the confirmation is asked" t_wait "Type drill-branch to continue."
# pasted with the space after it: the field looks exactly right
t_keys "drill-branch " Enter
check "the refusal says the space is the difference" t_wait "'drill-branch ' has a space at the end"
t_keys BSpace Enter
check "the exact target is accepted: the drill passes" t_wait "Outcome: passed" 20
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0
t_done
