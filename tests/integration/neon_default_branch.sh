#!/bin/bash
# Scenario 1 against a project whose default branch is called `production`
# (as the Neon Console names it), not `main`: pitr-restore finds the default
# branch through the API (op=branch-default), option B copies rows back into
# it, option A-in-place restores it from its own history (same id, same
# connection string, the old state kept as $DEF-backup-…), and option
# A promotes the recovery branch under the production name, keeping the old
# state as $DEF-backup-YYYY-MM-DD-HHMM. The runbook before this change
# renamed a branch called main and failed here, after the operator had
# switched Vercel.
# DEFAULT_BRANCH=NAME names the default branch (neon_default_branch_main.sh
# runs it with main); PITR_RUNBOOK=FILE runs another version of the runbook
# (to show the old one fail).
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"
RB=${PITR_RUNBOOK:-$TOP/runbooks/pitr-restore.md}
DEF=${DEFAULT_BRANCH:-production}

neon_setup "default-$DEF" --default-branch "$DEF"

neon_seed_care_commons
export DATABASE_URL=$CARE_URL
export PGDRILL_HOME=$W/home

"$NT" cli action op=branch-default >"$W/out.def" 2>&1
is "$(field name "$W/out.def")" "$DEF" "sandbox: --default-branch $DEF names the default branch"
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
is "$rc" 0 "option B on a $DEF default branch exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.b" | sed 's/^/# /'
like "$(cat "$W/out.b")" "the default branch is $DEF \($PROD_ID\)" \
    "option B: the default branch is found through the api"
is "$(cc 'SELECT count(*) FROM visits')" "$T0_VISITS" "option B: production has every T0 visit again"
is "$(cc "SELECT count(*) FROM users WHERE email = 'test@example.com'")" 0 \
    "option B (visits) leaves the deleted user deleted"
like "$(cat "$W/out.b")" "created branch recovery-[0-9-]+ .*, expires at " \
    "the recovery branch is created with an expiry"

# Option A-in-place: production restored from its own history; the application's
# connection string ($CARE_URL: same host and port) sees the restored data.
PORT_BEFORE=$("$PGC" status "$W/pg" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var outcome_option=A-in-place \
    --yes >"$W/out.inplace" 2>&1
rc=$?
is "$rc" 0 "option A-in-place on a $DEF default branch exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.inplace" | sed 's/^/# /'
like "$(cat "$W/out.inplace")" "restored branch $DEF \($PROD_ID\) from $DEF at $T0, old state kept as $DEF-backup-[0-9-]+" \
    "option A-in-place: the default branch is restored from its own history"
"$NT" cli action op=branch-default >"$W/out.def.ip" 2>&1
is "$(field id "$W/out.def.ip")" "$PROD_ID" "option A-in-place: the default branch keeps its id"
is "$("$PGC" status "$W/pg" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')" "$PORT_BEFORE" \
    "option A-in-place: and its port (the connection string does not change)"
is "$(psql "$CARE_URL" -qAtX -c "SELECT count(*) FROM users WHERE email = 'test@example.com'" 2>&1)" 1 \
    "option A-in-place: through the same connection string, the deleted user is back"
is "$(cc 'SELECT count(*) FROM visits')" "$T0_VISITS" "option A-in-place: production holds the T0 visits"
like "$(cat "$W/out.inplace")" "check production.expected-user: passed" "option A-in-place: the runbook checks production"
# the restore restarted production: the check connects afresh, no failure and retry
unlike "$(cat "$W/out.inplace")" "check production.expected-user: FAILED|terminating connection" \
    "option A-in-place: the check after the restore needs no retry"
bk=$(sed -n "s/.*old state kept as \($DEF-backup-[0-9-]*\).*/\1/p" "$W/out.inplace" | head -n 1)
"$NT" cli action op=connection-uri branch="$bk" database=care_commons role=pgdrill >"$W/out.bk.uri" 2>&1
bk_uri=$(sed -n 's/^uri=//p' "$W/out.bk.uri")
is "$(psql "$bk_uri" -qAtX -c "SELECT count(*) FROM users WHERE email = 'test@example.com'" 2>&1)" 0 \
    "option A-in-place: the old state (user deleted) is kept as $bk"
ip=$(find "$PGDRILL_HOME/drills" -mindepth 1 -maxdepth 1 -printf '%T@ %f\n' | sort -n | tail -n 1 | cut -d' ' -f2)
is "$(json_get "$PGDRILL_HOME/drills/$ip/report.json" 'stages[id=promote].status')" skipped \
    "option A-in-place: no Vercel step (option A's stage is skipped)"
"$NT" cli action op=branch-list >"$W/out.list.ip" 2>&1
unlike "$(cat "$W/out.list.ip")" "branch recovery-" "option A-in-place: the recovery branch is deleted afterwards"

"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var outcome_option=A \
    --yes >"$W/out.a" 2>&1
rc=$?
is "$rc" 0 "option A on a $DEF default branch exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.a" | sed 's/^/# /'
"$NT" cli action op=branch-default >"$W/out.def2" 2>&1
is "$(field name "$W/out.def2")" "$DEF" "option A: the default branch is still called $DEF"
NEW_ID=$(field id "$W/out.def2")
check "option A: and it is the recovery branch, not the old one" test -n "$NEW_ID" -a "$NEW_ID" != "$PROD_ID"
"$NT" cli action op=branch-get branch="$NEW_ID" >"$W/out.newprod" 2>&1
like "$(field summary "$W/out.newprod")" "the default" "option A: branch-get shows production"
unlike "$(field summary "$W/out.newprod")" "expires" "option A: production does not expire"
like "$(cat "$W/out.a")" "is now the default, its expiry removed" "option A: the promotion removed the expiry"
"$NT" cli action op=connection-uri branch="$NEW_ID" database=care_commons role=pgdrill \
    >"$W/out.prod.uri" 2>&1
prod_uri=$(sed -n 's/^uri=//p' "$W/out.prod.uri")
is "$(psql "$prod_uri" -qAtX -c "SELECT count(*) FROM users WHERE email = 'test@example.com'" 2>&1)" 1 \
    "option A: production now holds the restored data (the deleted user is back)"
"$NT" cli action op=branch-get branch="$PROD_ID" >"$W/out.old" 2>&1
like "$(field name "$W/out.old")" "^$DEF-backup-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}\$" \
    "option A: the old production branch is kept as $DEF-backup-…"
"$NT" cli action op=branch-list >"$W/out.list" 2>&1
[ "$DEF" = main ] || unlike "$(cat "$W/out.list")" 'branch main ' "no branch called main was made or looked for"

key_check
contract_check 10
done_testing
