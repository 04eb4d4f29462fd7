#!/bin/bash
# Training, the delete incident (pgdrill sandbox incident delete) with the
# traffic running: before a restore and after one whose restore point lies
# after the incident the grade fails and names the deleted rows; the
# correct restore (pitr-restore option B, copy_mode=undo, from just before
# the incident to just after it) grades 100 % with no collateral. The
# ticket holds no second and no key, the truth is 0600 and appears in no
# report, and sandbox down stops the traffic.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case delete
training_incident delete 7
training_grade
is "$GRADE_RC" 1 "before a restore the grade fails (exit 1)"
check "before a restore it counts the deleted rows missing ($(grade_field missing))" \
    [ "$(grade_field missing)" -gt 0 ]

# wrong: the restore point after the incident brings nothing back
training_restore --var "target_time=$IE" --var outcome_option=B --var table=visits --var copy_mode=missing
training_grade
is "$GRADE_RC" 1 "a restore point after the incident: the grade fails"
grade_names_broken "it names the missing visits by key" d visits "rows still missing"

# right: undo between the trainee's two timings
training_undo visits
training_restored "B undo after delete"
training_traffic_running "after the restore"
training_no_truth_in_reports
training_down_clean
done_testing
