#!/bin/bash
# Training, Scenario 3 (runbooks/selective-recovery.md) for the corrupt
# incident (check-in positions set to 0,0), with the traffic running
# throughout. The restore point and the incident's end come from `pgdrill
# timeline --incident` at the moment the ticket arrived (3 s and 0.6 s
# before it), never from the ground truth. Scenario 3 scope table with
# copy_mode=undo grades 100 % with no collateral, and the application is
# still writing; the rows the application edited while they held the
# incident's 0,0 (undo's conflicts, left alone) are named by the grade for
# the trainee to check, and do hold 0,0 still; the window for those closes
# when the restore's drill began (conflicts_until_s). Then a second corrupt incident, restored wrong: revert,
# on a table the application kept editing, puts the application's later
# edits back too; the grade fails and names those rows (collateral), each
# one a row the application wrote after the incident.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case scenario3-corrupt
training_incident corrupt 11
like "$(cat "$C/ticket")" "0,0" "the ticket describes the symptom"
timeline_times
training_selective_undo visits
training_restored "Scenario 3 undo of visits (scope table) after corrupt"
grade_conflicts_checked "Scenario 3 undo after corrupt" visits "check_in_lat = 0 AND check_in_lon = 0"
# a restore run as its own drill closes the conflicts' window when it began,
# before its end (inside the exercise it closes at the end: training_exercise.sh)
until_s=$(grade_field conflicts_until_s)
check "Scenario 3 undo after corrupt: the conflicts' window closes when the restore began ($until_s s, RTO $(grade_field rto_s) s)" \
    awk -v u="$until_s" -v r="$(grade_field rto_s)" 'BEGIN { exit !(u + 0 > 0 && u + 0 < r + 0) }'
training_traffic_running "after Scenario 3"
training_no_truth_in_reports

# wrong: revert of a table the application kept editing
world_case scenario3-revert
training_incident corrupt 23
TARGET=$(timeline_target 3)
sleep 3 # the application edits visits after the incident
training_selective --var "target_time=$TARGET" --var scope=table --var table=visits \
    --var copy_mode=revert
is "$TR_RC" 0 "Scenario 3 revert of visits runs through"
training_grade
grade_names_collateral "revert of a table the application kept editing" visits
training_no_truth_in_reports
training_down_clean
done_testing
