#!/bin/bash
# Clean-up after a failure: pitr-restore fails after its recovery branch
# exists (verification does not find the user the operator expects). The always stage
# "Clean up" still runs: the drill's own branch is deleted, by the id saved
# when it was created, and a branch the drill did not create survives, even
# one with the very name the drill gives its branch. The report shows the
# clean-up stage; the drill still fails, with the first failure's error.
# PITR_RUNBOOK=FILE runs another version of the runbook (to show the old one
# leave its branch behind).
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"
RB=${PITR_RUNBOOK:-$TOP/runbooks/pitr-restore.md}

neon_setup cleanup

neon_seed_care_commons
export DATABASE_URL=$CARE_URL
export PGDRILL_HOME=$W/home

T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 1.2
# A branch someone else made, named as the drill will name its own.
BYSTANDER=$(date -u +recovery-%Y-%m-%d-%H%M)
"$NT" cli action op=branch-create name="$BYSTANDER" >"$W/out.bystander" 2>&1
BYSTANDER_ID=$(field id "$W/out.bystander")
like "$BYSTANDER_ID" '^br-' "a branch not made by the drill exists ($BYSTANDER)"

"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var expected_email=nobody@example.invalid \
    --yes >"$W/out.fail" 2>&1
rc=$?
is "$rc" 1 "the drill fails after its branch was created (exit 1)"
like "$(cat "$W/out.fail")" "created branch recovery-" "the recovery branch had been created"
"$NT" cli action op=branch-list >"$W/out.list" 2>&1
left=$(grep -c 'recovery-' "$W/out.list")
is "$left" 1 "after the failure one recovery-* branch is left: the bystander"
like "$(cat "$W/out.list")" "\($BYSTANDER_ID\)" "the branch the drill did not create survives"
check "and its cluster is the only one left" \
    test "$(find "$W/state/branches" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1

id=$(ls "$PGDRILL_HOME/drills")
R=$PGDRILL_HOME/drills/$id/report.json
is "$(json_get "$R" outcome)" failed "report: the drill failed"
is "$(json_get "$R" 'stages[id=verify].status')" failed "report: the verification stage failed"
is "$(json_get "$R" 'stages[id=promote].status')" pending "report: the ordinary stages after it did not run"
is "$(json_get "$R" 'stages[id=cleanup].status')" passed "report: the clean-up stage ran and passed"
like "$(json_get "$R" 'stages[id=cleanup].steps.1.summary')" '^deleted branch recovery-' \
    "report: the clean-up step says which branch it deleted"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"neon.branch-delete".*"outcome":"ok"' \
    "audit: the deletion is logged"

# A drill that fails before it creates anything skips the deletion: nothing of
# its own to delete, and nothing else is touched.
"$PGDRILL_BIN" run "$RB" --var "target_time=2000-01-01T00:00:00Z" --var outcome_option=B \
    --yes >"$W/out.early" 2>&1
is "$?" 2 "a drill with a restore point outside the window fails before creating a branch"
like "$(cat "$W/out.early")" 'clean-up: \$\{recovery_id\} was never set' \
    "its clean-up skips the deletion: nothing of its own to delete"
"$NT" cli action op=branch-get branch="$BYSTANDER_ID" >"$W/out.by2" 2>&1
is "$?" 0 "the bystander branch is still there"

key_check
contract_check 10
done_testing
