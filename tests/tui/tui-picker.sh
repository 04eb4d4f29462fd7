#!/bin/bash
# The runbook picker (`pgdrill tui` without a runbook): lists the
# runbooks of PGDRILL_RUNBOOKS with title and use case, shows the ones
# that do not parse with their error, opens the selected one, and shows
# the last drill's date and outcome the next time.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_WORK/runbooks"
cp "$FIXTURES/tui-basic.md" "$FIXTURES/tui-quit.md" "$T_WORK/runbooks/"
printf '# Broken runbook\n\nno metadata block here\n' >"$T_WORK/runbooks/broken.md"
printf 'not a runbook\n' >"$T_WORK/runbooks/notes.txt"
envs=(PGDRILL_ENVIRONMENT=sandbox "PGDRILL_RUNBOOKS=$T_WORK/runbooks" LANG=C.UTF-8 LC_ALL=C.UTF-8)

t_start 80 24 "${envs[@]}" -- tui
check "picker lists the three Markdown files" t_wait "choose a runbook (3 found)"
t_screen >"$T_WORK/picker.txt"
check "picker shows titles and use cases" \
    grep -qF "Exercise the TUI end to end with short steps" "$T_WORK/picker.txt"
check "picker shows runbooks never drilled" \
    test "$(grep -cF 'never drilled' "$T_WORK/picker.txt")" -eq 2
check "picker marks the runbook that does not parse" grep -qF "does not parse" "$T_WORK/picker.txt"
check "picker shows why it does not parse" grep -qF "broken.md:" "$T_WORK/picker.txt"
# sorted by title: TUI basic drill, TUI quit drill, broken.md
t_keys G Enter
check "Enter on a broken runbook explains instead of opening" t_wait "broken.md:" 5
check "still in the picker" t_wait "choose a runbook"
t_keys g Enter
check "Enter opens the selected runbook" t_wait "[>] 1. Prepare the sandbox"
check "with the environment banner" t_wait "SANDBOX"
t_keys q
check "quit asks" t_wait "Stop the drill now?"
t_keys y
rc=$(t_wait_exit 15)
check "quitting the drill exits 130 (got $rc)" test "$rc" = 130
t_cleanup

t_start 80 24 "${envs[@]}" -- tui
check "picker again" t_wait "choose a runbook (3 found)"
check "picker shows the last drill of TUI basic drill" t_wait "last drill $(date -u +%Y-%m-%d) unfinished"
t_keys j
sleep 0.3
t_screen_escapes >"$T_WORK/cursor.txt"
esc=$(printf '\033')
check "j moves the selection (reverse video) to the second runbook" \
    grep -qE "${esc}\[[0-9;]*7m(${esc}\[[0-9;]*m)* +TUI quit drill" "$T_WORK/cursor.txt"
t_keys q
rc=$(t_wait_exit 15)
check "q in the picker exits 0 (got $rc)" test "$rc" = 0
t_done
