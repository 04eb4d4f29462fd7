#!/bin/bash
# Training, Scenario 3 (runbooks/selective-recovery.md, copy_mode=undo,
# scope table) for the cascade incident (clients deleted with their
# visits), with the traffic running throughout: the runbook twice, parents
# first. The restore point and the incident's end come from `pgdrill
# timeline --incident` at the moment the ticket arrived (3 s and 0.6 s
# before it), never from the ground truth. After the clients the grade
# still names the missing visits; after the visits it grades 100 % with no
# collateral, and the application is still writing.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case scenario3-cascade
training_incident cascade 5
timeline_times

training_selective_undo clients
is "$TR_RC" 0 "Scenario 3 undo of clients passes"
training_grade
is "$GRADE_RC" 1 "the parents alone: the grade fails"
is "$(grade_keys clients "rows still missing")" "" "the clients are back"
# shellcheck disable=SC2046 # the keys, one word each
keys_in_truth "it names the visits still missing" d visits $(grade_keys visits "rows still missing")

training_selective_undo visits
training_restored "Scenario 3 undo of clients, then visits, after cascade"
training_traffic_running "after Scenario 3"
training_no_truth_in_reports
training_down_clean
done_testing
