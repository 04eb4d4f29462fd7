#!/bin/bash
# Training, the cascade incident (clients deleted with their visits) with
# the traffic running: before the restore the grade names both tables'
# rows; option B undo of clients, then of visits, grades 100 % with no
# collateral, and the application keeps writing.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case cascade
training_incident cascade 5
training_grade
is "$GRADE_RC" 1 "before a restore the grade fails"
like "$(cat "$C/grade.txt")" "clients: [0-9]+ rows still missing" "it names the missing clients"
like "$(cat "$C/grade.txt")" "visits: [0-9]+ rows still missing" "and their missing visits"

training_undo clients
is "$TR_RC" 0 "pitr-restore option B undo of clients passes"
training_undo visits
training_restored "B undo of clients, then visits, after cascade"
training_traffic_running "after the restore"
training_no_truth_in_reports
training_down_clean
done_testing
