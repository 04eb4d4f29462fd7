#!/bin/bash
# The guided exercise, runbooks/training.md, headless: it starts the
# traffic, raises the chosen incident (drop-table), shows the ticket, takes
# the trainee's choices (restore point before the exercise, Scenario 1
# option A-in-place), runs pitr-restore inside the same drill (a runbook
# step: its stages in this drill's report.md and report.json, under the
# exercise's Restore stage, and no second drill) and grades it: the drill
# passes only on a passing grade, its journal holds the ticket and the
# grade (as the steps' output), its report the choices, and `pgdrill
# report list` lists it. Then a wrong restore in the exercise:
# a delete incident undone with copy_mode=revert from a restore point
# before the exercise puts back the rows the application kept editing
# after the incident too: the grade names that collateral and the
# exercise fails.
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
stages=$(python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["stages"]:
    print("%s|%s" % (s["title"], s["status"]))' "$PGDRILL_HOME/drills/$id/report.json" 2>&1)
like "$stages" "Restore[|]passed
Restore / Check production and the restore window[|]passed" \
    "report.json: pitr-restore's stages follow the exercise's Restore stage"
like "$stages" "Restore / Option A-in-place: restore production from its own history[|]passed" \
    "report.json: the restore the trainee chose ran there"
like "$stages" "Restore / Clean up[|]passed
Grade[|]passed" "report.json: then its clean-up, then the grade"
like "$(cat "$rep" 2>/dev/null)" "[|] Restore / Option A-in-place: restore production from its own history [|] passed" \
    "report.md: the restore's stages under the exercise's"
set -- "$PGDRILL_HOME"/drills/*-pitr-restore
check "no second drill for the restore" [ ! -e "$1" ]
TRAFFIC_PID=$(cut -d' ' -f1 "$PGDRILL_HOME/sandbox/traffic.pid")
TRUTH=$PGDRILL_HOME/sandbox/training/truth
training_no_truth_in_reports

world_case exercise-revert
TA=$(now_ms)
sleep 1
"$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/training.md" --var kind=delete --var "target_time=$TA" \
    --var outcome_option=B --var table=visits --var copy_mode=revert --var "incident_end=$TA" \
    --yes >"$C/out" 2>&1
is "$?" 1 "revert of a table the application kept editing: the exercise fails"
like "$(cat "$C/out")" "visits: [0-9]+ rows the application wrote after the incident were lost or overwritten \\(collateral\\)" \
    "the grade names the collateral"
like "$(cat "$C/out")" "rows still missing +0" "while the deleted rows are back"
training_down_clean
done_testing
