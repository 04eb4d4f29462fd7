#!/bin/bash
# The guided exercise, runbooks/training.md, headless: it starts the
# traffic, raises the chosen incident (drop-table), shows the ticket, takes
# the trainee's choices (restore point before the exercise, Scenario 1
# option A-in-place), runs pitr-restore inside the same drill (a runbook
# step: its stages in this drill's report.md and report.json, under the
# exercise's Restore stage, and no second drill) and grades it: the drill
# passes only on a passing grade, its journal holds the ticket and the
# grade (as the steps' output), its report the ticket, the choices and the
# grade (report=, report-json=), and `pgdrill report list` lists it with its
# grade, whose window for conflicts closes at the end of the restore in the
# sub-drill (conflicts_until_s = rto_s). Then a wrong restore in the exercise:
# a delete incident undone with copy_mode=revert from a restore point
# before the exercise puts back the rows the application kept editing
# after the incident too: the grade names that collateral, the exercise
# fails, and `report list` shows that grade beside the first. No report
# holds the ground truth's data.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

world_up main
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
stages=$(python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["stages"]:
    print("%s|%s" % (s["title"], s["status"]))' "$PGDRILL_HOME/drills/$id/report.json" 2>&1)
like "$stages" "Restore[|]passed
Restore / Check production and the restore window[|]passed" \
    "report.json: pitr-restore's stages follow the exercise's Restore stage"
like "$stages" "Restore / Option A-in-place: restore production from its own history[|]passed" \
    "report.json: the restore the trainee chose ran there"
like "$stages" "Restore / Clean up[|]passed
Restore from S3[|]" "report.json: then its clean-up, then the scenarios not chosen"
like "$stages" "Grade[|]passed" "report.json: and the grade"
like "$(cat "$rep" 2>/dev/null)" "[|] Restore / Option A-in-place: restore production from its own history [|] passed" \
    "report.md: the restore's stages under the exercise's"
set -- "$PGDRILL_HOME"/drills/*-pitr-restore
check "no second drill for the restore" [ ! -e "$1" ]
rj=$PGDRILL_HOME/drills/$id/report.json
md=$(cat "$rep" 2>/dev/null)
like "$md" $'## Ticket\n\n```text\n[^`]*TICKET INC-' "report.md: the ticket under its own heading"
like "$md" $'## Choices\n\n[^#]*- `outcome_option`: `A-in-place`' "report.md: the choices list"
like "$md" $'- `target_time`: `'"$TA"'`' "report.md: the restore point chosen"
like "$md" $'## Grade\n\n```text\n[^`]*PASS: fully restored[^`]*Grade: 100 %' "report.md: the grade"
is "$(json_eval "$rj" '[s["title"] for s in d["sections"]]')" '["Ticket", "Grade"]' \
    "report.json: sections[] holds the ticket and the grade"
is "$(json_eval "$rj" '[d["training"][k] for k in ("kind", "passed", "missing", "wrong", "collateral", "not_back")]')" \
    '["drop-table", true, 0, 0, 0, ""]' "report.json: the grade's figures as 'training'"
like "$(json_eval "$rj" 'd["training"]["rto_s"]')" '^[0-9.]+$' "report.json: training.rto_s measured"
is "$(json_eval "$rj" 'd["training"]["conflicts_until_s"]')" "$(json_eval "$rj" 'd["training"]["rto_s"]')" \
    "report.json: the conflicts' window closes at the restore's end (conflicts_until_s = rto_s)"
is "$(json_eval "$rj" '{c["name"]: c["value"] for c in d["choices"]}["outcome_option"]')" A-in-place \
    "report.json: choices[] holds outcome_option"
like "$("$PGDRILL_BIN" report list 2>&1)" "$id +training .* passed .* 100 %" \
    "pgdrill report list shows the exercise with its grade"
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
id2=$(sed -n 's/^drill \([0-9]\{8\}-[0-9]\{6\}-training\): .*/\1/p' "$C/out" | tail -n 1)
check "it wrote its report ($id2)" [ -n "$id2" ] && [ -f "$PGDRILL_HOME/drills/$id2/report.json" ]
is "$(json_eval "$PGDRILL_HOME/drills/$id2/report.json" 'd["training"]["passed"]')" false \
    "report.json of the failed exercise: training.passed false"
rj2=$PGDRILL_HOME/drills/$id2/report.json
like "$(json_eval "$rj2" 'd["training"]["rto_s"]')" '^[0-9.]+$' "report.json of the failed exercise: its RTO"
is "$(json_eval "$rj2" 'd["training"]["conflicts_until_s"]')" "$(json_eval "$rj2" 'd["training"]["rto_s"]')" \
    "report.json of the failed exercise: the conflicts' window closes at the restore's end too"
like "$(cat "$PGDRILL_HOME/drills/$id2/report.md")" $'## Grade\n\n```text\n[^`]*FAIL: the restore is not complete' \
    "report.md of the failed exercise: the failing grade"
"$PGDRILL_BIN" report list >"$C/list" 2>&1
like "$(cat "$C/list")" "$id2 +training .* failed .* collateral [0-9]+" \
    "report list: the failed exercise's grade names the collateral"
like "$(cat "$C/list")" "$id +training .* passed .* 100 %" "report list: and the passed one still 100 %"
"$PGDRILL_BIN" report list --json >"$C/list.json" 2>&1
is "$(json_eval "$C/list.json" '[e["grade"] for e in d if e["id"] == "'"$id"'"]')" '["100 %"]' \
    "report list --json: the grade of the passed exercise"
is "$(json_eval "$C/list.json" '[e["training"]["passed"] for e in d if e["id"] == "'"$id2"'"]')" '[false]' \
    "report list --json: the figures of the failed one"
# the ground truth of this incident: its fingerprints and its exact times
training_no_truth_in_reports
started=$(awk '$1 == "started" { print $2 }' "$TRUTH")
check "the truth gives the incident's start ($started)" [ -n "$started" ]
if grep -rqF -e "$started" -e "pgdrill-training-truth" "$PGDRILL_HOME"/drills/*/report.*; then
    not_ok "no report holds the incident's exact time or the truth's text"
else
    ok "no report holds the incident's exact time or the truth's text"
fi
training_down_clean
done_testing
