#!/bin/bash
# The runbook picker and the training exercises while the sandbox is down:
# the "Training" heading is listed, greyed, with the reason (the check of
# `pgdrill sandbox status`, which finds no sandbox under this PGDRILL_HOME),
# the exercise itself (runbooks/training.md) is not, and Enter on the
# heading says why instead of opening anything. tui-training.sh covers the
# sandbox up (the exercise listed under the heading and run).
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_WORK/runbooks"
cp "$FIXTURES/tui-basic.md" "$PGDRILL_TOP"/runbooks/{training,pitr-restore,restore-from-s3,selective-recovery}.md \
    "$T_WORK/runbooks/" # training.md runs the three as sub-drills
envs=(PGDRILL_ENVIRONMENT=sandbox "PGDRILL_RUNBOOKS=$T_WORK/runbooks" LANG=C.UTF-8 LC_ALL=C.UTF-8)

check "no sandbox here: sandbox status fails" \
    bash -c "! PGDRILL_HOME='$T_WORK/home' '$PGDRILL_BIN' sandbox status >/dev/null 2>&1"
t_start 100 24 "${envs[@]}" -- tui
check "the picker counts only the runbook it can open" t_wait "choose a runbook (4 found)"
t_screen >"$T_WORK/picker-down.txt"
sed 's/^/# picker: /' "$T_WORK/picker-down.txt"
check "the Training heading is listed" grep -qE "^ +Training +sandbox down *$" "$T_WORK/picker-down.txt"
check "with the reason" grep -qF "Not available: the sandbox is down (pgdrill sandbox up starts it" \
    "$T_WORK/picker-down.txt"
if grep -qF "Training: an incident on the sandbox" "$T_WORK/picker-down.txt"; then
    not_ok "the exercise is not listed while the sandbox is down"
else
    ok "the exercise is not listed while the sandbox is down"
fi
check "the other runbook is listed first" grep -qF "TUI basic drill" "$T_WORK/picker-down.txt"
t_keys G
sleep 0.3
t_screen_escapes >"$T_WORK/heading.txt"
esc=$(printf '\033')
check "G moves the selection (reverse video) to the heading" \
    grep -qE "${esc}\[[0-9;]*7m(${esc}\[[0-9;]*m)* +Training" "$T_WORK/heading.txt"
t_keys Enter
sleep 0.3
check "Enter on the heading says why, in the status line" \
    bash -c "tmux -S '$T_SOCK' -f /dev/null capture-pane -p -t tui | tail -n 1 | grep -qF 'Not available: the sandbox is down'"
check "and stays in the picker" t_wait "choose a runbook (4 found)"
t_keys q
rc=$(t_wait_exit 15)
check "q in the picker exits 0 (got $rc)" test "$rc" = 0
t_done
