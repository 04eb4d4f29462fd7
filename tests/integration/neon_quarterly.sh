#!/bin/bash
# The quarterly restore drill headless against the sandbox Neon server, with a
# constructed recovery point: the newest committed row of production is
# T0 - 137 s and the drill restores to T0, so the achieved RPO must be 137 s.
# Then the drill guard: a drill: yes runbook that tries to rename or confirm
# the deletion of the default branch is refused even with --yes, the branch
# is untouched, and the refusal is in the report and the audit log.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup quarterly

neon_seed_care_commons
export DATABASE_URL=$CARE_URL

# T0 lies 2 s ahead; the newest row is committed now with created_at and
# updated_at = T0 - 137 s, and nothing is written between it and T0.
T0=$(cc "SELECT to_char((clock_timestamp() + interval '2 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
cc "INSERT INTO visits (id, client_id, caregiver_id, scheduled_start, scheduled_end, created_at, updated_at)
    VALUES (900001, 1, 1, '$T0'::timestamptz + interval '2 days', '$T0'::timestamptz + interval '2 days 1 hour',
            '$T0'::timestamptz - interval '137 seconds', '$T0'::timestamptz - interval '137 seconds')" >/dev/null
is "$(cc "SELECT max(greatest(created_at, updated_at)) = '$T0'::timestamptz - interval '137 seconds' FROM (SELECT created_at, updated_at FROM users UNION ALL SELECT created_at, updated_at FROM clients UNION ALL SELECT created_at, updated_at FROM caregivers UNION ALL SELECT created_at, updated_at FROM visits) t")" t \
    "constructed case: the newest committed change is T0 - 137 s"
sleep 3.5 # past T0, and the WAL holds it

export PGDRILL_HOME=$W/home
"$PGDRILL_BIN" run "$TOP/runbooks/quarterly-drill.md" --yes \
    --var drill_date=2026-11-26 --var notice_sent_on=2026-11-18 \
    --var operator="Ada Operator" --var observer="Oscar Observer" \
    --var "target_time=$T0" \
    --var timing="restore took under a minute" \
    --var issues="the sandbox branch took a while to start" \
    --var debrief="went as planned" \
    --var procedure_updates="name drill branches drill-YYYY-MM-DD-HHMM in the procedures" \
    --var gaps="no alert when PITR history is shorter than 7 days" \
    --var improvements="automated the compliance checks" >"$W/out.run" 2>&1
rc=$?
is "$rc" 0 "the quarterly drill runs headless and exits 0"
[ "$rc" = 0 ] || tail -40 "$W/out.run" | sed 's/^/# /'
like "$(cat "$W/out.run")" "RPO achieved: 2m17s" "the run shows the achieved RPO"
like "$(cat "$W/out.run")" "RTO achieved: .* from drill start to a verified-usable database \(target 1h00m00s: met\)" \
    "the run shows the achieved RTO and its verdict"
like "$(cat "$W/out.run")" "Next, the first change \(step restore/5, stage 2\):
  create branch drill-[0-9-]+ from the default branch at $T0" \
    "the plan is printed before the drill branch is created, with the restore point and the branch"
like "$(cat "$W/out.run")" "Expected data loss: [0-9.ms]+ \(changes after $T0, up to now\)" \
    "without incident_time (optional, not passed) the plan's loss counts up to now"
like "$(cat "$W/out.run")" "== plan accepted by --yes" "--yes accepts the plan"

id=$(basename "$(first_path "$PGDRILL_HOME"/drills/*)")
R=$PGDRILL_HOME/drills/$id/report.json
M=$PGDRILL_HOME/drills/$id/report.md
is "$(json_get "$R" outcome)" passed "report: outcome passed"
rpo=$(json_get "$R" rpo_s)
check "report: rpo_s is the constructed gap, 137 s (got $rpo)" \
    python3 -c "import sys; sys.exit(0 if abs(float('$rpo') - 137) <= 1 else 1)"
is "$(json_get "$R" rpo_target_s)" 300 "report: the RPO target is 5 minutes"
is "$(json_get "$R" rpo_verdict)" met "report: RPO verdict met (137 s < 5 min)"
rto=$(json_get "$R" rto_s)
dur=$(json_get "$R" duration_s)
check "report: rto_s is measured ($rto s), not longer than the drill ($dur s)" \
    python3 -c "import sys; sys.exit(0 if 0 < float('$rto') <= float('$dur') else 1)"
is "$(json_get "$R" rto_verdict)" met "report: RTO verdict met"
for st in notice restore verify timing issues cleanup team-review improvements; do
    d=$(json_get "$R" "stages[id=$st].duration_s")
    like "$d" '^[0-9.]+$' "report: stage $st has its time ($d s)"
done
is "$(json_get "$R" 'checks[name=notice.days-in-advance].result')" 8 "report: 8 days of notice"
for c in drill.core-tables-not-empty drill.null-required-fields drill.orphaned-visits \
    drill.nothing-after-target compliance.gps-checkin-present compliance.gps-checkin-in-range \
    compliance.no-future-created-at compliance.scheduled-end-after-start drill.usable; do
    is "$(json_get "$R" "checks[name=$c].passed")" true "report: check $c passed"
done
# the four SQL checks and TLS pass; the 90-day retention is flagged (a warning)
is "$(json_get "$R" compliance.verdict)" flagged "report: compliance summary flagged, nothing failed"
is "$(json_get "$R" compliance.passed)" 5 "report: five compliance checks passed"
is "$(json_get "$R" compliance.failed)" 0 "report: no compliance check failed"
is "$(json_get "$R" 'compliance.checks[name=compliance.retention-meets-7-years].status')" flagged \
    "report: the 90-day retention is flagged"
like "$(json_get "$R" 'compliance.checks[name=compliance.retention-meets-7-years].detail')" \
    "^weekly keeps 90 days, pre-migration keeps 90 days, pre-release keeps 90 days: shorter than the 7 years \(2557 days\)" \
    "report: the flag names each class and its days"
like "$(json_get "$R" 'compliance.checks[name=compliance.tls-outside-loopback].detail')" \
    "^no service outside loopback was contacted; loopback, exempt: .*http://127\.0\.0\.1:[0-9]+.*postgres://127\.0\.0\.1:[0-9]+ \(sslmode=prefer, no TLS\)" \
    "report: the sandbox's Neon API and databases are listed as loopback, exempt"
is "$(json_get "$R" team.operator)" "Ada Operator" "report: the operator"
is "$(json_get "$R" team.observer)" "Oscar Observer" "report: the observer"
like "$(json_get "$R" 'issues[kind=recorded].text')" "sandbox branch took a while" \
    "report: the issue noted lands in issues[]"
is "$(python3 -c 'import json,sys; print(" / ".join(f["text"] for f in json.load(open(sys.argv[1]))["follow_ups"]))' "$R")" \
    "name drill branches drill-YYYY-MM-DD-HHMM in the procedures / no alert when PITR history is shorter than 7 days / automated the compliance checks" \
    "report: procedure updates, gaps and improvements are follow-ups"
like "$(json_get "$R" 'cleanup[step=cleanup/2].result')" "^deleted branch drill-" \
    "report: clean-up proof: the drill branch deletion's result"
is "$(json_get "$R" 'cleanup[step=cleanup/2].status')" passed "report: the deletion passed"
is "$(json_get "$R" deviations)" "[]" "report: no deviations from the runbook"
like "$(cat "$M")" "## Compliance" "report.md: compliance section"
like "$(cat "$M")" "Oscar Observer" "report.md: the observer"
like "$(cat "$M")" "RPO achieved" "report.md: RPO row"
like "$(cat "$M")" "## Team" "report.md: team section"
like "$(cat "$M")" "\| Ada Operator \| Oscar Observer \|" "report.md: operator and observer"
like "$(cat "$M")" "## Deviations from the runbook

None: every step ran as written." "report.md: no deviations, said so"
like "$(cat "$M")" "## Follow-ups

- name drill branches drill-YYYY-MM-DD-HHMM in the procedures
- no alert when PITR history is shorter than 7 days
- automated the compliance checks" "report.md: the follow-ups"
like "$(cat "$M")" "## Clean-up

\| Step \| Status \| Finished \| Result \|
\|---\|---\|---\|---\|
\| cleanup/2 \| passed \| [0-9T:.-]+Z \| deleted branch drill-" "report.md: the clean-up proof"
is "$(json_get "$R" 'stages[id=restore].steps[id=restore/5].status')" passed "report: the branch was created after the plan"
check "the journal keeps the accepted plan" grep -qF '"ev":"plan","stage":1,"step":4,"passed":true' \
    "$PGDRILL_HOME/drills/$id/journal.jsonl"
is "$(json_get "$R" 'checks[name=drill.usable].passed')" true "the drill without incident_time reaches usable"

# incident_time given: the RTO clock starts at the incident, 10 minutes ago
INC=$(date -u -d "@$(($(date +%s) - 600))" +%Y-%m-%dT%H:%M:%SZ)
"$PGDRILL_BIN" run "$TOP/runbooks/quarterly-drill.md" --yes \
    --var drill_date=2026-11-26 --var notice_sent_on=2026-11-18 \
    --var operator="Ada Operator" --var observer="Oscar Observer" \
    --var "target_time=$T0" --var "incident_time=$INC" >"$W/out.inc" 2>&1
rc=$?
is "$rc" 0 "the quarterly drill with an incident_time exits 0"
[ "$rc" = 0 ] || tail -40 "$W/out.inc" | sed 's/^/# /'
like "$(cat "$W/out.inc")" "RTO achieved: .* from incident declared to a verified-usable database" \
    "with incident_time the RTO runs from the incident"
like "$(cat "$W/out.inc")" "Expected data loss: [0-9hms.]+ \(changes after $T0, up to the incident\)" \
    "with incident_time the plan's loss runs up to the incident"
id2=$(basename "$(last_path "$PGDRILL_HOME"/drills/*quarterly-drill*)")
rto2=$(json_get "$PGDRILL_HOME/drills/$id2/report.json" rto_s)
check "report: rto_s counts from the incident (>= 600 s, got $rto2)" \
    python3 -c "import sys; sys.exit(0 if 600 <= float('$rto2') < 3600 else 1)"
"$PGDRILL_BIN" run "$TOP/runbooks/quarterly-drill.md" --yes \
    --var drill_date=2026-11-26 --var notice_sent_on=2026-11-18 \
    --var operator="Ada Operator" --var observer="Oscar Observer" \
    --var "target_time=$T0" --var "incident_time=yesterday" >"$W/out.badinc" 2>&1
is "$?" 2 "a malformed incident_time is refused before anything runs (exit 2)"
like "$(cat "$W/out.badinc")" "--var incident_time: 'yesterday' is not an RFC 3339 timestamp" \
    "the refusal names the input"
"$NT" cli action op=branch-get branch=main >"$W/out.main" 2>&1
like "$(cat "$W/out.main")" "name=main" "the default branch is still main"

# The drill guard.
for attempt in rename confirm; do
    "$PGDRILL_BIN" run "$TOP/tests/fixtures/runbooks/drill-guard.md" --yes \
        --var attempt=$attempt >"$W/out.guard.$attempt" 2>&1
    is "$?" 1 "drill guard ($attempt): the drill fails with exit status 1"
done
like "$(cat "$W/out.guard.rename")" \
    "refused: drill runbooks never change the default branch 'main' \(step touch/2: branch-rename main\)" \
    "drill guard: branch-rename branch=main is refused, naming the branch, despite --yes and on-fail=skip"
like "$(cat "$W/out.guard.confirm")" \
    "refused: drill runbooks never change the default branch 'main' \(step touch/3: confirm main\)" \
    "drill guard: a destructive confirm of main is refused despite --yes"
"$NT" cli action op=branch-get branch=main >"$W/out.main2" 2>&1
like "$(cat "$W/out.main2")" "name=main" "drill guard: main still exists under its name"
like "$(cat "$W/out.main2")" "default" "drill guard: and is still the default"
"$NT" cli action op=branch-get branch=main-renamed >/dev/null 2>&1
check "drill guard: no branch main-renamed" [ $? -ne 0 ]
gid=$(entries_by_mtime "$PGDRILL_HOME/drills" | grep drill-guard | tail -n 1)
G=$PGDRILL_HOME/drills/$gid/report.json
is "$(json_get "$G" outcome)" failed "drill guard: report outcome failed"
like "$(json_get "$G" 'issues[kind=recorded].text')" "^refused: drill runbooks never change the default branch 'main'" \
    "drill guard: the refusal is in the report's issues"
is "$(json_get "$G" 'stages[id=touch].steps[id=touch/2].status')" failed \
    "drill guard: the refused step failed, not skipped"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"drill.refused".*"outcome":"failed: refused: drill runbooks never change the default branch' \
    "drill guard: the refusal is in the audit log"
unlike "$(cat "$PGDRILL_HOME/audit.log")" '"action":"neon.branch-rename"' \
    "drill guard: no rename ever reached Neon"
"$PGDRILL_BIN" run "$TOP/tests/fixtures/runbooks/drill-guard.md" --yes \
    --var attempt=own-branch >"$W/out.guard.own" 2>&1
rc=$?
is "$rc" 0 "drill guard: renaming and deleting the drill's own branch is allowed"
[ "$rc" = 0 ] || tail -20 "$W/out.guard.own" | sed 's/^/# /'
"$PGDRILL_BIN" audit verify >"$W/out.audit" 2>&1
is "$?" 0 "audit: the log's hash chain is intact"
if grep -rqF "$(sed -n 's/.*:\(.*\)@.*/\1/p' <<<"$DATABASE_URL")" "$PGDRILL_HOME" "$W/out.run"; then
    notok "secrets: a database password reached the journal, report or output"
else
    ok "secrets: no database password in the journal, report or output"
fi
key_check
contract_check 10
done_testing
