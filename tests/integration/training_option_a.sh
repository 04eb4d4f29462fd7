#!/bin/bash
# Training, a wrong restore: Scenario 1 option A (promote a branch at the
# restore point) while the application writes. The deleted rows come
# back, but everything the application wrote between the incident and
# the promotion is lost: the grade names that collateral and fails. The
# traffic follows production to the promoted branch by itself and logs it.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"

training_up main
world_case option-a
training_incident delete 9
sleep 2 # the application writes after the incident
training_restore --var "target_time=$TA" --var outcome_option=A
is "$TR_RC" 0 "pitr-restore option A passes"
training_traffic_running "after option A"
training_grade
grade_names_collateral "option A while the application writes" visits
for ((i = 0; i < 100; i++)); do
    grep -q "production moved" "$PGDRILL_HOME/sandbox/traffic.log" && break
    sleep 0.1
done
like "$(cat "$PGDRILL_HOME/sandbox/traffic.log")" "traffic: production moved: reconnecting" \
    "the traffic moved to the promoted branch and logged it"
training_no_truth_in_reports
training_down_clean
done_testing
