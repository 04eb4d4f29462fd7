#!/bin/bash
# Training, the history-expired incident (pgdrill sandbox incident
# history-expired) with the traffic running: it takes a fresh backup into
# the sandbox's S3 first, deletes one caregiver's visits over a week, and
# shrinks the project's history retention through the Neon API (PATCH
# project) so that the moment before the incident lies outside the window.
# The ticket says it was noticed days late. Scenario 1 to that moment is
# refused and restores nothing (the grade names the missing visits);
# Scenario 2 into a new database on production's server, copying visits
# back (copy-table, missing), grades 100 % with no collateral. The next
# incident gives the retention back.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"
training_needs_s3
training_up main
project() { # the project's history_retention_seconds, from the Neon API
    curl -s -H "Authorization: Bearer $NEON_API_KEY" "$NEON_API_HOST/projects/$NEON_PROJECT_ID" >"$C/project.json"
    json_eval "$C/project.json" 'd["project"]["history_retention_seconds"]'
}
world_case history
before=$(project)
training_incident history-expired 5
like "$(cat "$C/ticket")" "days after it began" "the ticket says it was noticed days late"
like "$(cat "$C/ticket")" "schedule for a whole week is empty" "  with the data's symptom"
unlike "$(cat "$C/ticket")" "care-commons-backup-" "  and names no backup"
backup=$(sed -n 's/^backup //p' "$TRUTH")
like "$backup" '^s3://care-commons-backups/weekly/care-commons-backup-[0-9]{8}-[0-9]{6}\.sql\.gz$' \
    "the incident took a backup first, and the truth names it"
after=$(project)
check "the project's history retention shrank ($before s -> $after s)" [ "$after" -lt 60 ] && [ "$before" -gt "$after" ]

# wrong: Scenario 1 to the moment before the incident, outside the window
training_restore --var "target_time=$TA" --var outcome_option=B --var table=visits --var copy_mode=missing
check "Scenario 1 to a moment outside the history window fails (exit $TR_RC)" [ "$TR_RC" != 0 ]
like "$(cat "$C/out.run")" "outside the project's history window" "  saying why"
training_grade
is "$GRADE_RC" 1 "Scenario 1 attempted: the grade fails"
grade_names_broken "  it names the missing visits by key" d visits "rows still missing"

# right: Scenario 2 into a new database on production's server, visits copied back
"$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/restore-from-s3.md" --var outcome_option=copy-table \
    --var restore_target=database --var table=visits --var copy_mode=missing --yes >"$C/out.s2" 2>&1
rc=$?
is "$rc" 0 "Scenario 2 into a database on production's server passes"
[ "$rc" = 0 ] || tail -n 20 "$C/out.s2" | sed 's/^/#   /'
like "$(cat "$C/out.s2")" "dropped database care_commons_restored" "  and its clean-up drops the database it created"
training_grade
grade_passes "Scenario 2 copy-table after history-expired"
is "$(grade_field backup)" "$backup" "  the grade names the backup the incident took"
training_traffic_alive "after the restore"
training_no_truth_in_reports

world_case next
training_incident delete 3
is "$(project)" "$before" "the next incident gave the history retention back"
check "  and forgot the value it kept" [ ! -e "$PGDRILL_HOME/sandbox/training/retention" ]
training_down_clean
done_testing
