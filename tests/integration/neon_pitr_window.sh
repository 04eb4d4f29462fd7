#!/bin/bash
# A restore point before the production branch was created (a branch younger
# than the project's history retention) is refused by pitr-restore's first
# stage, "Check production and the restore window": exit 2 (input error),
# the earliest restorable time in UTC and what to do instead, and no branch
# is created (neither the audit log nor the Neon branch list has one). The
# sandbox's default branch is created when the sandbox starts, so a point a
# minute before that is before the branch and inside the retention.
# PITR_RUNBOOK=FILE runs another version of the runbook (to show the old one
# fail).
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"
RB=${PITR_RUNBOOK:-$TOP/runbooks/pitr-restore.md}

BEFORE=$(date -u -d '-60 sec' +%Y-%m-%dT%H:%M:%SZ)
neon_setup "pitr-window" --default-branch production
neon_seed_care_commons
export DATABASE_URL=$CARE_URL
export PGDRILL_HOME=$W/home

"$PGDRILL_BIN" run "$RB" --var "target_time=$BEFORE" --var outcome_option=B \
    --var table=visits --yes >"$W/out" 2>&1
rc=$?
is "$rc" 2 "a restore point before the branch was created exits 2 (input error)"
out=$(cat "$W/out")
like "$out" "restore point $BEFORE is before branch production was created: its earliest restorable time is [0-9-]+T[0-9:.]+Z \(UTC\)" \
    "the message names the branch and the earliest restorable time in UTC"
like "$out" "Choose a later restore point, or restore from the S3 backup \(Scenario 2" \
    "the message says what to do instead"
like "$out" "Check production and the restore window" "it fails in the window stage"
unlike "$out" "Create the recovery branch" "the create-branch stage does not start"
[ "$rc" = 2 ] || tail -20 "$W/out" | sed 's/^/# /'

audit=$(cat "$PGDRILL_HOME/audit.log" 2>/dev/null)
unlike "$audit" '"action":"neon.branch-create"' "audit: no branch-create was sent"
"$NT" cli action op=branch-list >"$W/list" 2>&1
unlike "$(cat "$W/list")" "recovery-" "neon: no recovery branch exists"
like "$(cat "$W/list")" "production" "neon: the branch list was read"

done_testing
