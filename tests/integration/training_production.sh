#!/bin/bash
# Training on a sandbox whose default branch is named production, as Neon
# projects made in the console call it (`pgdrill sandbox up
# --default-branch production`), the traffic running throughout: a delete
# incident restored with Scenario 1 (pitr-restore option B, copy_mode=undo
# between the trainee's timings, as training_delete.sh does on main) and a
# corrupt incident restored with Scenario 3 (selective-recovery, scope
# table, undo, its times from `pgdrill timeline --incident`, as
# training_scenario3_corrupt.sh does on main) each grade 100 % with no
# collateral, and the visits the application inserted after each incident,
# some while the restore ran, are all in production after it.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up production
is "$(world_default_branch)" production "the sandbox's default branch is production"

world_case scenario1-delete
training_incident delete 7
training_undo visits
training_restored "Scenario 1 B undo after delete, on production"
training_traffic_running "after Scenario 1"

world_case scenario3-corrupt
training_incident corrupt 11
timeline_times
training_selective_undo visits
training_restored "Scenario 3 undo after corrupt, on production"
grade_conflicts_checked "Scenario 3 undo after corrupt, on production" visits \
    "check_in_lat = 0 AND check_in_lon = 0"
training_traffic_running "after Scenario 3"
training_no_truth_in_reports
training_down_clean
done_testing
