#!/bin/bash
# Training, Scenario 3 (runbooks/selective-recovery.md, copy_mode=undo) for
# the delete incident, with the traffic running throughout. The trainee's
# times come from `pgdrill timeline --incident` at the moment the ticket
# arrived: the restore point 3 s before it, the incident's end 0.6 s before
# it (the application is held about a second after the incident, see
# pgdrill(1)); never from the ground truth. First a wrong restore: Scenario
# 3 on clients for this visits incident grades wrong and names the deleted
# visits. Then Scenario 3 on visits, scope range (the rows created before
# the restore point), grades 100 % with no collateral, and the application
# is still writing. Last, a second delete incident restored with an
# incident end taken late (when the ticket arrived, plus a margin): undo
# takes the application's edits of those seconds for the incident's and
# reverts them; the grade fails and names them (collateral), each one a
# row the application wrote after the incident.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case scenario3-delete
training_incident delete 13
timeline_times

# wrong: the right runbook, the wrong table
training_selective_undo clients
is "$TR_RC" 0 "Scenario 3 undo of clients runs through"
training_grade
is "$GRADE_RC" 1 "Scenario 3 on the wrong table (clients for a visits incident): the grade fails"
check "it counts the deleted visits still missing ($(grade_field missing))" [ "$(grade_field missing)" -gt 0 ]
# shellcheck disable=SC2046 # the keys, one word each
keys_in_truth "it names the missing visits by key" d visits $(grade_keys visits "rows still missing")
is "$(grade_field collateral) $(grade_field other_changed)" "0 0" \
    "the wrong table's undo lost nothing the application wrote and changed no other row"

# right: the visits the incident deleted, among the rows created before the restore point
training_selective --var "target_time=$TARGET" --var scope=range --var table=visits \
    --var range_start=2000-01-01T00:00:00Z --var "range_end=$TARGET" \
    --var copy_mode=undo --var "incident_end=$IEND"
like "$(cat "$C/out.run")" "check import\\.accounted: passed" "its import accounts for every row"
training_restored "Scenario 3 undo of visits (scope range) after delete"
training_traffic_running "after Scenario 3"
training_no_truth_in_reports

# wrong: undo with the incident's end seconds late
world_case scenario3-late-end
training_incident delete 29
TARGET=$(timeline_target 3)
late=$(date -u -d "$TICKET_AT + 4 seconds" +%Y-%m-%dT%H:%M:%S.%3NZ)
sleep 5 # the application edits visits after the incident, up to the late end and on
training_selective --var "target_time=$TARGET" --var scope=table --var table=visits \
    --var copy_mode=undo --var "incident_end=$late"
is "$TR_RC" 0 "Scenario 3 undo with the incident's end 4 s after the ticket runs through"
training_grade
grade_names_collateral "undo with a late incident end" visits
training_no_truth_in_reports
training_down_clean
done_testing
