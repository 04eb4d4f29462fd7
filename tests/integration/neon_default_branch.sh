#!/bin/bash
# Scenario 1 against a project whose default branch is called `production`
# (as the Neon Console names it), not `main`: pitr-restore finds the default
# branch through the API (op=branch-default), option B copies rows back into
# it, and option A promotes the recovery branch under the production name,
# keeping the old state as production-backup-YYYY-MM-DD-HHMM. The runbook
# before this change renamed a branch called main and failed here, after
# the operator had switched Vercel.
# PITR_RUNBOOK=FILE runs another version of the runbook (to show the old one fail).
set -u
. "$(dirname "$0")/neon_lib.sh"
RB=${PITR_RUNBOOK:-$TOP/runbooks/pitr-restore.md}

neon_setup default-branch --default-branch production

neon_seed_care_commons
export DATABASE_URL=$CARE_URL
export PGDRILL_HOME=$W/home

"$NT" cli action op=branch-default >"$W/out.def" 2>&1
is "$(field name "$W/out.def")" production "sandbox: --default-branch production names the default branch"
PROD_ID=$(field id "$W/out.def")

T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
T0_VISITS=$(cc "SELECT count(*) FROM visits")
sleep 1.2
cc "DELETE FROM visits WHERE id % 11 = 0" >/dev/null
cc "DELETE FROM users WHERE email = 'test@example.com'" >/dev/null

# Option B first: the sandbox branches only off the primary, which option A replaces.
"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var outcome_option=B \
    --var table=visits --yes >"$W/out.b" 2>&1
rc=$?
is "$rc" 0 "option B on a production default branch exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.b" | sed 's/^/# /'
like "$(cat "$W/out.b")" "the default branch is production \($PROD_ID\)" \
    "option B: the default branch is found through the api"
is "$(cc 'SELECT count(*) FROM visits')" "$T0_VISITS" "option B: production has every T0 visit again"

"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var outcome_option=A \
    --yes >"$W/out.a" 2>&1
rc=$?
is "$rc" 0 "option A on a production default branch exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.a" | sed 's/^/# /'
"$NT" cli action op=branch-default >"$W/out.def2" 2>&1
is "$(field name "$W/out.def2")" production "option A: the default branch is still called production"
NEW_ID=$(field id "$W/out.def2")
check "option A: and it is the recovery branch, not the old one" test -n "$NEW_ID" -a "$NEW_ID" != "$PROD_ID"
"$NT" cli action op=connection-uri branch=production database=care_commons role=pgdrill \
    >"$W/out.prod.uri" 2>&1
prod_uri=$(sed -n 's/^uri=//p' "$W/out.prod.uri")
is "$(psql "$prod_uri" -qAtX -c "SELECT count(*) FROM users WHERE email = 'test@example.com'" 2>&1)" 1 \
    "option A: production now holds the restored data (the deleted user is back)"
"$NT" cli action op=branch-get branch="$PROD_ID" >"$W/out.old" 2>&1
like "$(field name "$W/out.old")" '^production-backup-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}$' \
    "option A: the old production branch is kept as production-backup-…"
"$NT" cli action op=branch-list >"$W/out.list" 2>&1
unlike "$(cat "$W/out.list")" 'branch main ' "no branch called main was made or looked for"

key_check
contract_check 10
done_testing
