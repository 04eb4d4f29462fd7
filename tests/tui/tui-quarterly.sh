#!/bin/bash
# The quarterly drill in the TUI at 100x30 against the sandbox Neon server:
# the operator gives the schedule and the team, the restore point, watches
# the drill branch being created and verified (RTO and RPO measured), records
# an issue, types the branch name to delete it, and fills in the team review;
# the report holds the measures, the review and the clean-up proof.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/../integration/neon_lib.sh"
neon_setup tui-quarterly
T_NAME=tui-quarterly
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"
trap 't_cleanup; neon_teardown' EXIT

t_care_commons
# the newest committed change is T0 - 137 s: the RPO must come out as 137 s
T0=$(cc "SELECT to_char((clock_timestamp() + interval '2 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
cc "INSERT INTO visits (id, client_id, caregiver_id, scheduled_start, scheduled_end, created_at, updated_at)
    VALUES (900001, 1, 1, '$T0'::timestamptz + interval '2 days', '$T0'::timestamptz + interval '2 days 1 hour',
            '$T0'::timestamptz - interval '137 seconds', '$T0'::timestamptz - interval '137 seconds')" >/dev/null
sleep 3.5

# the first read of the project is refused once: the operator retries it,
# and the report lists the retry as a deviation with the refusal as reason
printf '%s\n' '[{"method": "GET", "path": "^/api/v2/projects/[^/]+$", "times": 1, "status": 403,
  "message": "injected: project read refused once"}]' >"$FAULTS"
t_start_drill 100 30 "$TOP/runbooks/quarterly-drill.md"

check "banner names the sandbox" t_wait "SANDBOX" 20
check "the drill date is asked first" t_wait "Date of the drill" 20
t_keys 2026-11-26 Enter
check "the notice date is asked" t_wait "Date the drill notice went out"
t_keys 2026-11-16 Enter
check "the operator is asked" t_wait "Who runs the drill"
t_keys "Ada Operator" Enter
check "the observer is asked" t_wait "Who observes"
t_keys "Oscar Observer" Enter
check "the restore point is asked" t_wait "Restore point for the test restore"
t_keys "$T0" Enter
check "the incident time is asked (optional)" t_wait "Simulated incident"
check "the dialog says the incident time may stay empty" t_wait "Optional: Enter leaves it empty."
t_keys Enter
check "the refused project read asks what to do" t_wait "Step failed" 30
check "the failure names the step" t_wait "neon step restore/3 failed"
t_keys r
check "the plan comes before the drill branch is created" \
    t_wait "Plan: quarterly-drill (nothing has changed yet)" 60
check "the plan names the restore point typed" t_wait "input target_time = $T0"
t_keys Enter
check "the banner runs the RTO clock against the 1 h target" t_wait_re "RTO [0-9:]+ / [0-9:]+" 20
check "stage 2 (restore) passed" t_wait_re "\[✓\] 2\. Test restore from PITR" 60
check "stage 3 (integrity verification) passed" t_wait_re "\[✓\] 3\. Integrity verification" 60
check "the timing note is asked" t_wait "Anything about the timing" 30
t_keys "restore under a minute" Enter
check "the issues are asked" t_wait "Issues encountered during the drill" 30
t_keys "the drill branch took long to start" Enter
check "clean-up asks to type the branch name" t_wait_re "Type drill-[0-9-]+ to continue" 30
t_screen >"$T_WORK/confirm.txt"
name=$(grep -oE "Type drill-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}" "$T_WORK/confirm.txt" | head -1 | cut -c6-)
check "the confirmation names the drill branch ($name)" test -n "$name"
check "the drill branch exists before the confirmation" quiet "$NT" cli action op=branch-get branch="$name"
t_keys "$name" Enter
check "the debrief is asked" t_wait "Debrief notes" 60
t_keys "went as planned" Enter
check "procedure updates are asked" t_wait "Procedure updates" 30
t_keys "document drill branch names" Enter
check "gaps are asked" t_wait "Gaps to address" 30
t_keys "no PITR window alert" Enter
check "improvements are asked" t_wait "Improvements made or planned" 30
t_keys "automated compliance checks" Enter
check "summary screen" t_wait "Drill summary" 30
t_screen >"$T_WORK/summary.txt"
check "summary outcome passed" grep -qF "Outcome: passed" "$T_WORK/summary.txt"
check "summary shows the measured RTO within the budget" grep -qE "RTO: +[0-9:]+ / [0-9:]+$" "$T_WORK/summary.txt"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0
if "$NT" cli action op=branch-get branch="$name" >/dev/null 2>&1; then
    not_ok "the drill branch is deleted"
else
    ok "the drill branch is deleted"
fi
check "main is still the default branch" grep -q default <("$NT" cli action op=branch-get branch=main 2>&1)
dir=$(t_drill_dir)
R=$dir/report.json
check "the RPO was shown as the drill ran" grep -qF '"text":"RPO achieved: 2m17s' "$dir/journal.jsonl"
check "the RTO was shown as the drill ran" grep -qF '"text":"RTO achieved: ' "$dir/journal.jsonl"
is "$(json_get "$R" outcome)" passed "report: outcome passed"
rpo=$(json_get "$R" rpo_s)
check "report: rpo_s is 137 s (got $rpo)" \
    python3 -c "import sys; sys.exit(0 if abs(float('$rpo') - 137) <= 1 else 1)"
is "$(json_get "$R" rpo_verdict)" met "report: RPO verdict met"
is "$(json_get "$R" rto_verdict)" met "report: RTO verdict met"
is "$(json_get "$R" team.observer)" "Oscar Observer" "report: the observer"
is "$(json_get "$R" 'checks[name=notice.days-in-advance].result')" 10 "report: 10 days of notice"
is "$(json_get "$R" compliance.verdict)" flagged "report: compliance flagged (the 90-day retention), nothing failed"
like "$(json_get "$R" 'issues[kind=recorded].text')" "took long to start" "report: the issue is recorded"
like "$(json_get "$R" 'cleanup[step=cleanup/2].result')" "^deleted branch $name" "report: clean-up proof"
is "$(json_get "$R" 'cleanup[step=cleanup/2].status')" passed "report: clean-up proof: the deletion passed"
is "$(json_get "$R" team.operator)" "Ada Operator" "report: the operator"
is "$(json_get "$R" 'deviations[step=restore/3].kind')" retried "report: the retried read is a deviation"
is "$(json_get "$R" 'deviations[step=restore/3].attempts')" 2 "report: it took two attempts"
like "$(json_get "$R" 'deviations[step=restore/3].reason')" "403.*injected: project read refused once" \
    "report: the reason is the failure that made it run again"
is "$(json_eval "$R" 'len(d["deviations"])')" 1 "report: no other deviation"
like "$(json_get "$R" 'follow_ups.0.text')" "document drill branch names" "report: follow-ups"
M=$dir/report.md
like "$(cat "$M")" "## Deviations from the runbook" "report.md: deviations section"
like "$(cat "$M")" "\| restore/3 \| retried \| 2 \| [^|]*403" "report.md: the retry with its reason"
like "$(cat "$M")" "## Follow-ups" "report.md: follow-ups section"
like "$(cat "$M")" "\| cleanup/2 \| passed \| [^|]+ \| deleted branch $name" "report.md: the clean-up proof"
like "$(cat "$M")" "\| Ada Operator \| Oscar Observer \|" "report.md: operator and observer"
if grep -rqF "$NEON_API_KEY" "$dir" "$T_WORK/stderr" "$T_WORK/summary.txt" "$T_WORK/confirm.txt"; then
    not_ok "the API key is nowhere in the drill's files or screens"
else
    ok "the API key is nowhere in the drill's files or screens"
fi
t_done
