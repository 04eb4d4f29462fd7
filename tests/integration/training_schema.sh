#!/bin/bash
# Training, drop-table and bad-migration with Scenario 1 option A-in-place
# (production restored from its own history), the traffic running: the
# application is down after each incident (every request authenticates a
# user), the grade names the table or column not back, option B (one
# table's rows) is graded wrong with it still named, and after the
# A-in-place restore it grades 100 % with no collateral; the traffic reconnects by
# itself and logs it. While it cannot write, `sandbox status` and its log
# say why; after the restore the status shows it running and writing.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
for kind in drop-table bad-migration; do
    world_case "$kind"
    training_incident "$kind" 3
    training_grade
    is "$GRADE_RC" 1 "$kind: before a restore the grade fails"
    like "$(grade_field not_back)" "users" "$kind: it names what is not back: $(grade_field not_back)"
    why='relation "users" does not exist'
    [ "$kind" = bad-migration ] && why='column "role" does not exist'
    training_traffic_stalled "$kind" "$why"
    # wrong: option B copies one table's rows; it cannot bring back a table or a column
    training_restore --var "target_time=$TA" --var outcome_option=B --var table=users \
        --var copy_mode=missing
    training_grade
    is "$GRADE_RC" 1 "$kind: option B instead of A-in-place: the grade fails"
    like "$(grade_field not_back)" "users" "$kind:   and still names what is not back"
    training_restore --var "target_time=$TA" --var outcome_option=A-in-place
    is "$TR_RC" 0 "$kind: pitr-restore option A-in-place passes"
    training_traffic_running "$kind: after A-in-place"
    unlike "$("$PGDRILL_BIN" sandbox status 2>&1)" "not writing" \
        "$kind: after A-in-place sandbox status no longer says the traffic is stalled"
    training_grade
    grade_passes "$kind, A-in-place"
    training_no_truth_in_reports
done
like "$(cat "$PGDRILL_HOME/sandbox/traffic.log")" "traffic: reconnected to" \
    "the traffic logged its reconnect after the restore"
training_down_clean
done_testing
