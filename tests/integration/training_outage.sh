#!/bin/bash
# Training, the neon-outage incident (pgdrill sandbox incident neon-outage)
# with the traffic running: it takes a fresh backup into the sandbox's S3
# first (the truth names it, the ticket does not), deletes one agency's
# visits, and the sandbox's Neon API answers 503 to the requests that need
# the project's history (a branch at a timestamp, a restore) while the
# others (the project, the branch list, a branch from head) work. Scenario 1
# fails on the 503 and restores nothing; Scenario 2 into a database on
# production's server copying the wrong table back leaves the visits
# missing (named); Scenario 2 into a branch from head copying visits back
# (copy-table, missing) grades 100 % with no collateral. The next incident
# ends the outage, so does its deadline (PGDRILL_SANDBOX_OUTAGE_SECONDS),
# and sandbox down removes it.
set -u
# shellcheck source=tests/integration/training_lib.sh
. "$(dirname "$0")/training_lib.sh"
training_needs_s3
training_up main
OUTAGE=$PGDRILL_HOME/sandbox/neon/outage
world_case outage
training_incident neon-outage 11
like "$(cat "$C/ticket")" "NEON STATUS +Investigating: point-in-time restore unavailable" \
    "the ticket reads like Neon's status page"
like "$(cat "$C/ticket")" "two days of visits are gone" "  with the data's symptom"
unlike "$(cat "$C/ticket")" "care-commons-backup-" "  and names no backup"
backup=$(sed -n 's/^backup //p' "$TRUTH")
like "$backup" '^s3://care-commons-backups/weekly/care-commons-backup-[0-9]{8}-[0-9]{6}\.sql\.gz$' \
    "the incident took a backup first, and the truth names it"
check "the outage's deadline is set in the sandbox's Neon state" [ -s "$OUTAGE" ]

# ---- the Neon API during the outage ----------------------------------------------
P=$NEON_API_HOST/projects/$NEON_PROJECT_ID
api() { # METHOD PATH [BODY]: the status; the body in $C/api.body
    curl -s -o "$C/api.body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $NEON_API_KEY" \
        -H 'Content-Type: application/json' ${3:+-d "$3"} "$P$2"
}
is "$(api GET "")" 200 "outage: GET project answers 200"
is "$(api GET /branches)" 200 "outage: the branch list answers 200"
prod=$(json_eval "$C/api.body" '[b["id"] for b in d["branches"] if b["default"]][0]')
is "$(api POST /branches "{\"branch\":{\"name\":\"probe\",\"parent_timestamp\":\"$TA\"}}")" 503 \
    "outage: a branch at a timestamp answers 503"
like "$(cat "$C/api.body")" '"code":"".*"message":"service unavailable: point-in-time' \
    "  with Neon's error body (code, message)"
is "$(api POST /branches '{"branch":{"name":"probe","parent_lsn":"0/1000000"}}')" 503 \
    "outage: a branch at an LSN answers 503"
is "$(api POST "/branches/$prod/restore" "{\"source_branch_id\":\"$prod\",\"source_timestamp\":\"$TA\"}")" 503 \
    "outage: a branch restore answers 503"

# wrong: Scenario 1 fails on the 503 and restores nothing
PGDRILL_TEST_NEON_BACKOFF=0.05 training_restore --var "target_time=$TA" --var outcome_option=B \
    --var table=visits --var copy_mode=missing
check "Scenario 1 fails during the outage (exit $TR_RC)" [ "$TR_RC" != 0 ]
like "$(cat "$C/out.run")" "HTTP 503" "  on the 503"
training_grade
is "$GRADE_RC" 1 "Scenario 1 attempted: the grade fails"
grade_names_broken "  it names the missing visits by key" d visits "rows still missing"
like "$(cat "$C/grade.txt")" "backup taken before it +${backup//./\\.}" "  and states the backup"

# wrong: Scenario 2 into a database on production's server, the wrong table copied back
s2_restore() {
    "$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/restore-from-s3.md" --var outcome_option=copy-table \
        "$@" --yes >"$C/out.s2" 2>&1
    S2_RC=$?
    [ "$S2_RC" = 0 ] || tail -n 20 "$C/out.s2" | sed 's/^/#   /'
}
s2_restore --var restore_target=database --var table=clients --var copy_mode=missing
is "$S2_RC" 0 "Scenario 2 into a database, copying clients back, passes as a drill"
training_grade
is "$GRADE_RC" 1 "  but the grade fails: the wrong table"
grade_names_broken "  it names the missing visits by key" d visits "rows still missing"

# right: Scenario 2 into a branch from head (no history needed), visits copied back
s2_restore --var restore_target=branch --var table=visits --var copy_mode=missing
is "$S2_RC" 0 "Scenario 2 into a branch from head during the outage passes"
like "$(cat "$C/out.s2")" "created branch restore-from-backup-" "  the branch from head was created"
training_grade
grade_passes "Scenario 2 copy-table after neon-outage"
is "$(grade_field backup)" "$backup" "  the grade names the backup the incident took"
training_traffic_alive "after the restore"
training_no_truth_in_reports

# ---- the outage ends: with the next incident, at its deadline, with down -----------
world_case after
training_incident delete 13
check "the next incident removed the outage" [ ! -e "$OUTAGE" ]
is "$(api POST /branches '{"branch":{"name":"probe","parent_timestamp":"2999-01-01T00:00:00Z"}}')" 400 \
    "after the next incident a branch at a timestamp is no longer refused with 503"
PGDRILL_SANDBOX_OUTAGE_SECONDS=3 training_incident neon-outage 17
is "$(api POST /branches "{\"branch\":{\"name\":\"probe\",\"parent_timestamp\":\"$TA\"}}")" 503 \
    "a 3 s outage: 503 at first"
sleep 3.2
is "$(api POST /branches '{"branch":{"name":"probe","parent_timestamp":"2999-01-01T00:00:00Z"}}')" 400 \
    "  and after its deadline the request is answered again (400: the time is in the future)"
check "its file is still there until down" [ -e "$OUTAGE" ]
training_down_clean
check "sandbox down removed the outage" [ ! -e "$OUTAGE" ]
done_testing
