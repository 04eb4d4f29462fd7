#!/bin/bash
# shellcheck disable=SC2317 # the functions below run from the EXIT trap and through check
# runbooks/training.md end to end in the TUI (tmux, 120x40), on a sandbox
# of its own (`pgdrill sandbox up`): the picker lists the exercise under
# "Training" (the sandbox is up), the exercise starts the application and
# raises a drop-table incident, the ticket is shown, the trainee reads
# `pgdrill timeline --incident` in a second tmux window, types the
# scenario's choices (restore point before the exercise, Scenario 1 option
# A-in-place), confirms the restore, and the grade screen shows 100 %.
# Then a wrong choice (revert of a table the application kept editing) is
# graded wrong on the same screen.
# Confirmations and plans are answered as they come (the restore may ask
# its own inside the exercise), so the test does not depend on how the
# Restore stage runs the restore.
#
# The screens are kept as artefacts in $T_WORK (ticket.txt, timeline.txt,
# grade.txt: the summary, which keeps the grade on screen) and printed
# when a test fails;
# tests/tui/training_capture.sh runs this test and prints the ticket and
# grade screens.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/../integration/training_lib.sh"
T_NAME=${T_NAME:-tui-training}
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

# On exit: the last screen, and the screens kept printed when a test failed.
t_exit() {
    local f
    t_screen >"$T_WORK/last.txt" 2>/dev/null
    if [ "$TAP_FAILED" -gt 0 ]; then
        for f in ticket timeline grade grade-wrong last; do
            [ -f "$T_WORK/$f.txt" ] && sed "s/^/# $f: /" "$T_WORK/$f.txt"
        done
        [ -s "$T_WORK/stderr" ] && sed 's/^/# stderr: /' "$T_WORK/stderr"
    fi
    t_cleanup
    world_cleanup
}

world_up main
trap t_exit EXIT # after world_up, whose own trap it replaces (t_exit calls it)
TA=$(now_ms)
sleep 1

# t_input PROMPT ANSWER: wait for the input dialog that shows PROMPT, answer it
t_input() {
    t_answer_until "$1" 60 || return 1
    if [ -n "$2" ]; then
        t_keys -l "$2"
    fi
    t_keys Enter
    sleep 0.2
}

t_start 120 40 "PGDRILL_HOME=$PGDRILL_HOME" "PATH=$PATH" "PGDRILL_RUNBOOKS=$PGDRILL_TOP/runbooks" \
    PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui
check "the picker lists the Training heading, the sandbox up" t_wait_re "Training +sandbox up" 20
t_screen >"$T_WORK/picker.txt"
check "the exercise is listed under it" grep -qF "Training: an incident on the sandbox" "$T_WORK/picker.txt"
# the exercises come last: G selects the only one
t_keys G Enter
check "the incident's kind is asked" t_input "The incident to raise" drop-table
# the ticket screen as soon as it is whole: its last lines printed, or the
# first input's dialog, which follows at once, covering part of it (kept as
# it is); a plan meanwhile is accepted
t_ticket() {
    if _t_has -F "TICKET INC-"; then
        printf '%s\n' "$T_SCR" >"$T_WORK/ticket.txt"
        _t_has -F "Noticed around" && return 0
        _t_has -F "┌─ target_time" && return 0
    fi
    if _t_has -F "(nothing has changed yet)"; then
        t_keys Enter
        sleep 1
    fi
    return 1
}
check "the ticket is shown" _t_until 90 ": the whole ticket" t_ticket
check "the ticket screen shows the ticket" grep -qF "reported by: support desk" "$T_WORK/ticket.txt"

# the trainee's other terminal: the restorability timeline around now
INC=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t_tmux new-window -d -n timeline "'$PGDRILL_BIN' timeline --incident '$INC'; sleep 600"
sleep 2
t_tmux capture-pane -p -t tui:timeline >"$T_WORK/timeline.txt"
check "pgdrill timeline --incident recommends a restore point" \
    grep -qE "Recommended: PITR" "$T_WORK/timeline.txt"

check "the scenario is asked" t_input "Scenario: 1 point-in-time restore" ""
check "the restore point is asked" t_input "Restore point: the last moment" "$TA"
check "the option is asked" t_input "Scenario 1 option: B copies" A-in-place
check "the table is asked" t_input "The table to copy back" ""
check "the copy mode is asked" t_input "Option B and Scenario 3: undo exactly" ""
check "the incident's end is asked" t_input "Option B, undo: a moment after" "$TA"
# the last step prints the grade; the summary that follows keeps it on screen
check "the grade screen comes" t_answer_until "Drill summary" 240
sleep 0.5
t_screen >"$T_WORK/grade.txt"
check "the grade screen shows 100 %" grep -qF "Grade: 100 %" "$T_WORK/grade.txt"
check "and the grade's verdict" grep -qF "PASS: fully restored, no collateral damage" "$T_WORK/grade.txt"
check "the exercise passed" grep -qF "Outcome: passed" "$T_WORK/grade.txt"
check "the summary shows the ticket too" grep -qF "TICKET INC-" "$T_WORK/grade.txt"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0
dir=""
for d in "$PGDRILL_HOME"/drills/*-training; do
    [ -d "$d" ] && dir=$d
done
is "$(json_eval "$dir/report.json" 'd["training"]["passed"]' 2>&1)" true \
    "the exercise's report holds the grade"
t_cleanup

# A wrong choice, graded wrong: a delete incident undone by copying the
# table back in revert mode from a restore point before the exercise puts
# back the rows the application kept editing too (collateral).
TA=$(now_ms)
sleep 1
t_start 120 40 "PGDRILL_HOME=$PGDRILL_HOME" "PATH=$PATH" "PGDRILL_RUNBOOKS=$PGDRILL_TOP/runbooks" \
    PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui
check "wrong: the picker again" t_wait_re "Training +sandbox up" 20
t_keys G Enter
check "wrong: a delete incident" t_input "The incident to raise" delete
check "wrong: Scenario 1" t_input "Scenario: 1 point-in-time restore" 1
check "wrong: the restore point" t_input "Restore point: the last moment" "$TA"
check "wrong: option B" t_input "Scenario 1 option: B copies" B
check "wrong: the visits table" t_input "The table to copy back" visits
check "wrong: revert" t_input "Option B and Scenario 3: undo exactly" revert
check "wrong: the incident's end" t_input "Option B, undo: a moment after" "$TA"
check "wrong: the grade fails the step" t_answer_until "Step failed" 240
t_keys q
check "wrong: the grade screen comes" t_answer_until "Drill summary" 60
sleep 0.5
t_screen >"$T_WORK/grade-wrong.txt"
check "wrong: the grade screen shows the failing verdict" \
    grep -qF "FAIL: the restore is not complete" "$T_WORK/grade-wrong.txt"
check "wrong: it names the collateral" \
    grep -qE "collateral +[1-9][0-9]* \(the application's rows" "$T_WORK/grade-wrong.txt"
if grep -qF "Grade: 100 %" "$T_WORK/grade-wrong.txt"; then
    not_ok "wrong: no 100 % on the grade screen"
else
    ok "wrong: no 100 % on the grade screen"
fi
check "wrong: the exercise failed" grep -qF "Outcome: failed" "$T_WORK/grade-wrong.txt"
t_keys q
rc=$(t_wait_exit 15)
check "wrong: pgdrill tui exits 1 (got $rc)" test "$rc" = 1
t_done
