#!/bin/bash
# A runbook step runs another runbook inside the same drill (a sub-drill):
# kill -9 in the middle of the child's slow step, then `pgdrill resume`:
# the drill goes on inside the child at that step, nothing finished runs
# again, and there is one drill, one report, with the child's stages under
# the parent's. Then a child that fails: its clean-up runs, the parent's
# next stage does not, and the exit status is the failed step's.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "$PGDRILL_TEST_WORK/subdrill.XXXXXX")
export PGDRILL_HOME="$W/home"
cp "$PGDRILL_TOP/tests/fixtures/runbooks/subdrill/parent.md" \
    "$PGDRILL_TOP/tests/fixtures/runbooks/subdrill/child.md" "$W/"

out=$("$PGDRILL_BIN" run "$W/parent.md" --var work="$W" --plan 2>&1)
like "$out" "runbook child, its stages below as restore/" "the plan shows the runbook step"
like "$out" "Restore / Slow step" "and the child's stages under it"
# the training exercise's --var reaches only its own inputs, not a sub-drill's
out=$("$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/training.md" --var backup_key=x --plan 2>&1)
like "$out" "--var backup_key: runbook training has no input 'backup_key'" \
    "a --var naming a sub-drill's input is refused, not silently dropped"

kill_at_mark "$W/slow.mark" "$W/run1.out" "$PGDRILL_BIN" run "$W/parent.md" --var work="$W" --yes
is "$([ -e "$W/slow.mark" ] && echo yes)" "yes" "the child's slow step was running when killed"
like "$(cat "$W/run1.out")" "== \\[4\\] Restore / Slow step" "the progress shows the child's stage under Restore"

id=$(basename "$(first_path "$PGDRILL_HOME"/drills/*)")
out=$("$PGDRILL_BIN" resume "$id" 2>&1)
is "$?" 0 "resume finishes the drill"
[ -e "$W/slow.pgid" ] && kill -0 -- "-$(cat "$W/slow.pgid")" 2>/dev/null &&
    not_ok "the killed step's process group is gone"
like "$out" "finished with token-from-parent" "the parent reads the child's saved variable (save=kid)"
set -- "$PGDRILL_HOME"/drills/*
is "$#" 1 "one drill, not two"
is "$(wc -l <"$W/prepare.count")" 1 "the parent's finished stage did not run again"
is "$(wc -l <"$W/child-start.count")" 1 "the child's finished stage did not run again"
is "$(wc -l <"$W/finish.count")" 1 "the parent's last stage ran once"
is "$(wc -l <"$W/child-cleanup.count")" 1 "the child's clean-up ran once"

R="$PGDRILL_HOME/drills/$id/report.json"
M="$PGDRILL_HOME/drills/$id/report.md"
is "$(json_get "$R" outcome)" passed "report: outcome passed"
is "$(json_get "$R" 'stages.1.title')" "Restore" "report: the parent's stage"
is "$(json_get "$R" 'stages.3.title')" "Restore / Slow step" "report: the child's stage under it"
is "$(json_get "$R" 'stages.3.status')" passed "report: the child's stage passed"
is "$(json_get "$R" 'stages.5.title')" "Finish" "report: then the parent's next stage"
like "$(cat "$M")" "[|] 4 [|] Restore / Slow step [|] passed" "report.md lists the child's stage"
like "$(cat "$M")" "restore/slow/1" "and its step"

# a child that fails: its clean-up runs, the parent's Finish does not, exit 1
rm -f "$W"/*.count
touch "$W/fail.mark"
"$PGDRILL_BIN" run "$W/parent.md" --var work="$W" --yes >"$W/run2.out" 2>&1
is "$?" 1 "a failed child step fails the drill with its exit status"
like "$(cat "$W/run2.out")" "step restore/slow/1: sh: exit 4" "naming the child's step"
is "$(wc -l <"$W/child-cleanup.count" 2>/dev/null)" 1 "the child's clean-up ran"
is "$([ -e "$W/finish.count" ] && echo ran)" "" "the parent's next stage did not"
like "$(cat "$W/run2.out")" "parent cleaned up" "the parent's always stage ran"
done_testing
