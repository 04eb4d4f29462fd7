#!/bin/bash
# Training, the corrupt incident (check-in positions set to 0,0) with the
# traffic running: copy_mode=missing leaves the corrupted rows as they are
# and the grade names them; copy_mode=undo grades 100 % with no collateral.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case corrupt
training_incident corrupt 11
like "$(cat "$C/ticket")" "0,0" "the ticket describes the symptom"

# wrong: missing mode puts back only rows that are gone
training_restore --var "target_time=$TA" --var outcome_option=B --var table=visits \
    --var copy_mode=missing
training_grade
is "$GRADE_RC" 1 "missing mode on a corrupt incident: the grade fails"
check "it counts the corrupted rows still wrong ($(grade_field wrong))" [ "$(grade_field wrong)" -gt 0 ]
grade_names_broken "it names them by key" a visits "rows still wrong"

training_undo visits
training_restored "B undo after corrupt"
grade_conflicts_checked "B undo after corrupt" visits "check_in_lat = 0 AND check_in_lon = 0"
training_traffic_running "after the restore"
training_no_truth_in_reports
training_down_clean
done_testing
