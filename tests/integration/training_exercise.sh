#!/bin/bash
# The guided exercise, runbooks/training.md, headless: it starts the
# traffic, raises the chosen incident (drop-table), shows the ticket, takes
# the trainee's choices (restore point before the exercise, Scenario 1
# option A-in-place), runs pitr-restore as a second drill and grades it:
# the drill passes only on a passing grade, its journal holds the ticket
# and the grade (as the steps' output), its report the choices, and
# `pgdrill report list` lists it.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

world_up main
PATH=$(dirname "$PGDRILL_BIN"):$PATH # the runbook's sh steps run `pgdrill`
export PATH
world_case exercise
TA=$(now_ms)
sleep 1
"$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/training.md" --var kind=drop-table --var "target_time=$TA" \
    --var outcome_option=A-in-place --var "incident_end=$TA" --yes >"$C/out" 2>&1
rc=$?
is "$rc" 0 "the exercise with a correct restore passes"
[ "$rc" = 0 ] || tail -n 30 "$C/out" | sed 's/^/#   /'
id=$(sed -n 's/^drill \([0-9]\{8\}-[0-9]\{6\}-training\): .*/\1/p' "$C/out" | tail -n 1)
rep=$PGDRILL_HOME/drills/$id/report.md
jnl=$PGDRILL_HOME/drills/$id/journal.jsonl
check "it wrote its report ($id)" [ -n "$id" ] && [ -f "$rep" ]
like "$(cat "$jnl" 2>/dev/null)" "TICKET INC-" "the journal holds the ticket"
like "$(cat "$jnl" 2>/dev/null)" "PASS: fully restored, no collateral damage" "and the grade"
like "$(cat "$rep" 2>/dev/null)" "A-in-place" "the report holds the trainee's choice"
like "$("$PGDRILL_BIN" report list 2>&1)" "$id" "pgdrill report list shows the exercise"
TRAFFIC_PID=$(cut -d' ' -f1 "$PGDRILL_HOME/sandbox/traffic.pid")
TRUTH=$PGDRILL_HOME/sandbox/training/truth
training_no_truth_in_reports
training_down_clean
done_testing
