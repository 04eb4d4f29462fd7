#!/bin/bash
# The guided exercise, runbooks/training.md, headless, with the two other
# scenarios it offers as sub-drills: a neon-outage incident restored with
# Scenario 2 (restore-from-s3 from the backup the incident took, visits
# copied back with copy-table, missing) and a delete incident restored with
# Scenario 3 (selective-recovery, the whole table, missing). The chosen
# scenario's stages ran under the exercise's and the others' were skipped.
# Scenario 2 grades 100 % (its backup is taken just before the incident).
# Scenario 3 restores from a point fixed before the exercise began (headless,
# the trainee cannot read the ticket first): it grades 100 %, or every row
# still missing is one the application inserted after that point, which no
# restore from it can hold; nothing is wrong and nothing collateral.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"
training_needs_s3

world_up main
TRUTH=$PGDRILL_HOME/sandbox/training/truth

# exercise KIND SCENARIO: runs training.md from a restore point just before
# it; sets RC, ID and EX_TA (that point)
exercise() {
    EX_TA=$(now_ms)
    sleep 1
    "$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/training.md" --var "kind=$1" --var "scenario=$2" \
        --var "target_time=$EX_TA" --var "incident_end=$EX_TA" --var table=visits --var copy_mode=missing \
        --yes >"$C/out" 2>&1
    RC=$?
    [ "$RC" = 0 ] || tail -n 30 "$C/out" | sed 's/^/#   /' >&2
    ID=$(sed -n 's/^drill \([0-9]\{8\}-[0-9]\{6\}-training\): .*/\1/p' "$C/out" | tail -n 1)
}
# stages ID: "title|status" of each stage of the drill's report.json
stages() {
    python3 -c 'import json,sys
for s in json.load(open(sys.argv[1]))["stages"]:
    print("%s|%s" % (s["title"], s["status"]))' "$PGDRILL_HOME/drills/$1/report.json" 2>&1
}

world_case scenario2
PGDRILL_TEST_NEON_BACKOFF=0.05 exercise neon-outage 2
is "$RC" 0 "neon-outage, Scenario 2 in the exercise: it passes"
like "$(cat "$C/out")" "Grade: 100 %" "  graded 100 %"
st=$(stages "$ID")
like "$st" "Restore from S3 / [^|]*[|]passed" "  restore-from-s3's stages ran under the exercise's"
unlike "$st" "Restore / [^|]*[|]passed" "  pitr-restore's did not"
is "$(json_eval "$PGDRILL_HOME/drills/$ID/report.json" 'd["training"]["kind"]')" neon-outage \
    "  report.json: the grade of the neon-outage incident"
like "$(json_eval "$PGDRILL_HOME/drills/$ID/report.json" 'd["training"]["rto_s"]')" '^[0-9.]+$' \
    "  report.json: its RTO, up to the grade inside the exercise"

world_case scenario3
exercise delete 3
late=$(sed -n 's/.*visits: [0-9]* rows still missing (keys \([0-9 ]*\)).*/\1/p' "$C/out" | head -n 1)
if [ "$RC" = 0 ]; then
    like "$(cat "$C/out")" "Grade: 100 %" "delete, Scenario 3 in the exercise: it passes, graded 100 %"
else
    bad=""
    for k in $late; do
        awk -v s="$(date -d "$EX_TA" +%s.%N)" -v k="$k" '$1 >= s && $3 == "visits" && $4 == k { f = 1 }
            END { exit !f }' "$PGDRILL_HOME/sandbox/training/traffic.log" || bad="$bad $k"
    done
    check "delete, Scenario 3 in the exercise: the only rows still missing ($late) exist" [ -n "$late" ]
    is "$bad" "" "  each one inserted by the application after the restore point"
fi
like "$(cat "$C/out")" "rows still wrong +0" "  no row is wrong"
like "$(cat "$C/out")" "collateral +0 " "  nothing collateral"
st=$(stages "$ID")
like "$st" "Recover rows / [^|]*[|]passed" "  selective-recovery's stages ran under the exercise's"
unlike "$st" "Restore from S3 / [^|]*[|]passed" "  restore-from-s3's did not"
training_no_truth_in_reports
TRAFFIC_PID=$(cut -d' ' -f1 "$PGDRILL_HOME/sandbox/traffic.pid")
training_down_clean
done_testing
