#!/bin/bash
# Scenario 1 end to end: T0, damage at T1, `pgdrill run pitr-restore` to T0
# against the sandbox Neon server. An operator at a terminal (tests/pty_drive.py)
# compares the recovery branch with T0 row by row before confirming its
# deletion; production still lacks the rows; clean-up deletes the branch and
# its cluster; every Neon exchange validates against the OpenAPI document.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup pitr-runbook

neon_seed_care_commons
export DATABASE_URL=$CARE_URL

T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
cc "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/t0.visits"
cc "COPY (SELECT * FROM users ORDER BY id) TO STDOUT" >"$W/t0.users"
sleep 1.2
# T1: the incident
cc "DELETE FROM visits WHERE id % 11 = 0; UPDATE visits SET scheduled_start = scheduled_start + interval '1 hour', scheduled_end = scheduled_end + interval '1 hour' WHERE id % 13 = 0" >/dev/null
cc "DELETE FROM users WHERE email = 'test@example.com'" >/dev/null
MAIN_VISITS=$(cc "SELECT count(*) FROM visits")
T0_VISITS=$(wc -l <"$W/t0.visits")
check "the incident removed visits ($T0_VISITS at T0, $MAIN_VISITS now)" [ "$MAIN_VISITS" -lt "$T0_VISITS" ]

# What the operator runs before confirming the deletion of the branch.
cat >"$W/compare.sh" <<SH
#!/bin/bash
set -e
name=\$(cat "$W/branch.name")
"$NT" cli action op=connection-uri branch="\$name" database=care_commons role=pgdrill >"$W/out.uri"
uri=\$(sed -n 's/^uri=//p' "$W/out.uri")
psql "\$uri" -qAtX -c "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/rec.visits"
psql "\$uri" -qAtX -c "COPY (SELECT * FROM users ORDER BY id) TO STDOUT" >"$W/rec.users"
cmp -s "$W/t0.visits" "$W/rec.visits"
cmp -s "$W/t0.users" "$W/rec.users"
ls "$W/state/branches" | grep -q . # the branch's cluster is there while we look
touch "$W/compared"
SH
chmod +x "$W/compare.sh"
cat >"$W/operator.txt" <<TXT
timeout 180
expect An e-mail address that must exist
send
expect the table to copy back
send
expect accept the plan and go on
send yes
expect type '(recovery-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4})' to confirm
run printf '%s' "\$(sed -n "s/.*type '\\\\(recovery-[0-9-]*\\\\)' to confirm.*/\\\\1/p" "$W/pty.log" | tail -n 1)" >"$W/branch.name"
run "$W/compare.sh"
send-group 1
expect \\?\\? Anything to record
send restored rows matched T0
TXT

export PGDRILL_HOME=$W/home
python3 "$TOP/tests/pty_drive.py" "$W/operator.txt" "$W/pty.log" -- \
    "$PGDRILL_BIN" run "$TOP/runbooks/pitr-restore.md" --var "target_time=$T0" \
    --var outcome_option=verify-only >"$W/out.drive" 2>&1
rc=$?
is "$rc" 0 "pgdrill run pitr-restore (verify-only) exits 0"
[ "$rc" = 0 ] || { sed 's/^/# /' "$W/out.drive"; tail -40 "$W/pty.log" | sed 's/^/# /'; }
like "$(tr -d '\r' <"$W/pty.log")" "Next, the first change \(step create-branch/2, stage 2\):
  create branch recovery-[0-9-]+ from the default branch at $T0" \
    "the plan before the branch, with the restore point given, was accepted at the terminal"

check "the recovery branch held exactly the T0 visits and users, row by row" test -e "$W/compared"
is "$(cc 'SELECT count(*) FROM visits')" "$MAIN_VISITS" "production still lacks the deleted visits"
is "$(cc "SELECT count(*) FROM users WHERE email = 'test@example.com'")" 0 \
    "production still lacks the deleted user"

name=$(cat "$W/branch.name" 2>/dev/null)
like "$name" '^recovery-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}$' "the branch is named recovery-YYYY-MM-DD-HHMM"
"$NT" cli action op=branch-get branch="$name" >"$W/out.gone" 2>&1
check "clean-up deleted the recovery branch" [ $? -ne 0 ]
check "and its cluster is gone: no files" [ -z "$(ls -A "$W/state/branches" 2>/dev/null)" ]
check "and no server process" [ -z "$(pgrep -f "$W/state/branches" || true)" ]

id=$(ls "$PGDRILL_HOME/drills")
R=$PGDRILL_HOME/drills/$id/report.json
is "$(json_get "$R" outcome)" passed "report: outcome passed"
is "$(json_get "$R" 'checks[name=recovery.expected-user].passed')" true \
    "report: the expected user is on the recovery branch"
is "$(json_get "$R" 'checks[name=recovery.nothing-after-target].result')" 0 \
    "report: nothing newer than the restore point"
is "$(json_get "$R" 'stages[id=promote].status')" skipped "report: option A was skipped"
like "$(cat "$PGDRILL_HOME/drills/$id/journal.jsonl")" 'created branch recovery-' \
    "journal: the branch creation is recorded"
# Option B, headless: the rows of visits come back into production from the
# branch; rows still there are left alone; the branch is deleted afterwards.
"$PGDRILL_BIN" run "$TOP/runbooks/pitr-restore.md" --var "target_time=$T0" --var outcome_option=B \
    --var table=visits --yes >"$W/out.b" 2>&1
rc=$?
is "$rc" 0 "pitr-restore option B (copy a table) exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.b" | sed 's/^/# /'
cc "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/b.visits"
is "$(wc -l <"$W/b.visits")" "$T0_VISITS" "option B: production has every T0 visit again"
is "$(cut -f1 "$W/b.visits" | sort -n | uniq -d | wc -l)" 0 "option B: no visit is there twice"
# rows changed after T0 and still in production are left alone (on conflict do nothing):
# exactly the updated ones differ from T0
updated=$(awk -F'\t' '$1 % 13 == 0 && $1 % 11 != 0' "$W/t0.visits" | wc -l)
differ=$(comm -13 <(sort "$W/t0.visits") <(sort "$W/b.visits") | wc -l)
is "$differ" "$updated" "option B: production keeps its own newer versions of $updated rows"
like "$(cat "$W/out.b")" "copied table visits" "option B: the copy step ran"
like "$(cat "$W/out.b")" "deleted branch" "option B: the recovery branch is deleted afterwards"

# Option A, headless: the recovery branch becomes main and the default.
"$PGDRILL_BIN" run "$TOP/runbooks/pitr-restore.md" --var "target_time=$T0" --var outcome_option=A \
    --yes >"$W/out.a" 2>&1
rc=$?
is "$rc" 0 "pitr-restore option A (promote) exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.a" | sed 's/^/# /'
"$NT" cli action op=branch-get branch=main >"$W/out.main" 2>&1
like "$(cat "$W/out.main")" "name=main" "option A: a branch is named main"
"$NT" cli action op=connection-uri branch=main database=care_commons role=pgdrill >"$W/out.main.uri" 2>&1
main_uri=$(sed -n 's/^uri=//p' "$W/out.main.uri")
is "$(psql "$main_uri" -qAtX -c "SELECT count(*) FROM users WHERE email = 'test@example.com'" 2>&1)" 1 \
    "option A: main is now the restored data (the deleted user is back)"
like "$(cat "$W/out.a")" "main-backup-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}" \
    "option A: the old production branch is kept as main-backup-…"

A=$PGDRILL_HOME/audit.log
like "$(cat "$A")" '"action":"neon.branch-create".*"timestamp":"'"$T0"'".*"outcome":"ok"' \
    "audit: the branch creation at T0 is logged"
like "$(cat "$A")" '"action":"neon.branch-delete".*"outcome":"ok"' "audit: the branch deletion is logged"
like "$(cat "$A")" '"action":"neon.branch-set-default"' "audit: the promotion is logged"
"$PGDRILL_BIN" audit verify >"$W/out.audit" 2>&1
is "$?" 0 "audit: the log's hash chain is intact"
if grep -rqF "$(sed -n 's/.*:\(.*\)@.*/\1/p' <<<"$DATABASE_URL")" "$PGDRILL_HOME" "$W/pty.log" "$W/out.drive" "$W/out.a" "$W/out.b"; then
    notok "secrets: a database password reached the journal, report or screen"
else
    ok "secrets: no database password in the journal, report or screen"
fi
key_check
contract_check 20
done_testing
