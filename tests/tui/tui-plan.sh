#!/bin/bash
# The plan screen at the moment it matters, against the sandbox Neon server:
# the quarterly drill in the TUI at 100x34 asks its inputs, reads production,
# picks the drill branch's name, and only then, before the branch is created,
# shows the plan with the operator's restore point, incident time, names and
# the chosen branch. The operator declines: no branch is created, nothing but
# reads reached Neon, the drill ends "declined" and its report says why; it
# cannot be resumed. Headless without --yes and without a terminal, the same
# plan is printed and not accepted (exit 1, nothing created); with --yes it
# is accepted and journaled.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/../integration/neon_lib.sh"
neon_setup tui-plan
T_NAME=tui-plan
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"
trap 't_cleanup; neon_teardown' EXIT

t_care_commons
sleep 1.2
T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
# the simulated incident 90 s after the restore point: 1m30s of changes lost
INC=$(date -u -d "@$(($(date -u -d "$T0" +%s) + 90))" +%Y-%m-%dT%H:%M:%SZ)
sleep 1.2

# non_get_requests FROM-LINE: requests other than GET in the contract log since then
non_get_requests() {
    tail -n +"$1" "$CONTRACT_LOG" | python3 -c 'import json,sys
print(sum(1 for l in sys.stdin if json.loads(l)["method"] != "GET"))'
}

before=$(($(wc -l <"$CONTRACT_LOG") + 1))
t_start_drill 100 34 "$TOP/runbooks/quarterly-drill.md"

check "no plan before the inputs: the drill date is asked first" t_wait "Date of the drill" 20
t_keys 2026-11-26 Enter
check "the notice date is asked" t_wait "Date the drill notice went out"
t_keys 2026-11-16 Enter
check "the operator is asked" t_wait "Who runs the drill"
t_keys "Ada Operator" Enter
check "the observer is asked" t_wait "Who observes"
t_keys "Oscar Observer" Enter
check "the restore point is asked" t_wait "Restore point for the test restore"
t_keys "$T0" Enter
check "the incident time is asked" t_wait "Simulated incident"
t_keys "$INC" Enter
check "the plan comes when the drill branch is about to be created" \
    t_wait "Plan: quarterly-drill (nothing has changed yet)" 60
t_screen >"$T_WORK/plan.txt"
sed 's/^/# plan: /' "$T_WORK/plan.txt"
words=$(tr -s ' \n' '  ' <"$T_WORK/plan.txt")
check "the plan names the next change: the drill branch, at the typed restore point" \
    grep -qE "Next, the first change \(step restore/5, stage 2\): create branch drill-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4} from the default branch at $T0" <<<"$words"
branch=$(grep -oE "create branch drill-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}" <<<"$words" | head -1 | cut -d' ' -f3)
check "the plan gives the loss up to the typed incident time" \
    grep -qF "Expected data loss: 1m30s (changes after $T0, up to the incident)" <<<"$words"
check "the plan lists the operator's answers" grep -qF "input operator = Ada Operator" <<<"$words"
check "the plan shows stage 1 done" grep -qF "done check: SELECT" <<<"$words"
check "the plan shows the steps of the test restore done so far" \
    grep -qF "done sh: date -u +drill-%Y-%m-%d-%H%M -> \${branch_name}" <<<"$words"
check "the plan asks Enter or q" grep -qF "Enter accept and go on   q decline (nothing is changed)" "$T_WORK/plan.txt"
check "no drill branch exists while the plan is shown ($branch)" \
    quiet "$NT" cli action op=branch-absent name='drill-*'
t_keys q
check "declined: the summary says so" t_wait "Outcome: declined" 20
t_screen >"$T_WORK/summary.txt"
check "the summary lists the declined plan as an issue" \
    grep -qF "plan declined by the operator before step restore/5" "$T_WORK/summary.txt"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 after a declined plan (got $rc)" test "$rc" = 0
check "no drill branch was created" quiet "$NT" cli action op=branch-absent name='drill-*'
is "$(non_get_requests "$before")" 0 "only reads reached neon"
dir=$(t_drill_dir)
R=$dir/report.json
check "the journal keeps the plan, not accepted" \
    grep -qE '"ev":"plan","stage":1,"step":4,"passed":false,"text":"Plan for quarterly-drill' "$dir/journal.jsonl"
is "$(json_get "$R" outcome)" declined "report: outcome declined"
like "$(json_get "$R" 'issues[kind=recorded].text')" \
    "plan declined by the operator before step restore/5: nothing was changed" "report: the issue says why"
is "$(json_get "$R" 'stages[id=restore].status')" skipped "report: the restore stage did not run"
is "$(json_get "$R" 'stages[id=notice].status')" passed "report: the notice stage ran"
check "report.md says declined" grep -qF "declined" "$dir/report.md"
PGDRILL_HOME=$T_WORK/home "$PGDRILL_BIN" resume "$(basename "$dir")" >"$T_WORK/resume.out" 2>&1
is "$?" 2 "a declined drill cannot be resumed"
like "$(cat "$T_WORK/resume.out")" "already ended \(declined\)" "resume names the outcome"

# headless, no terminal, no --yes: the plan is printed and not accepted
HV=(--var drill_date=2026-11-26 --var notice_sent_on=2026-11-16 --var "operator=Ada Operator"
    --var "observer=Oscar Observer" --var "target_time=$T0")
before=$(($(wc -l <"$CONTRACT_LOG") + 1))
PGDRILL_HOME=$T_WORK/home DATABASE_URL=$DBURL "$PGDRILL_BIN" run "$TOP/runbooks/quarterly-drill.md" \
    "${HV[@]}" </dev/null >"$T_WORK/headless.out" 2>&1
is "$?" 1 "headless without --yes: exit 1"
like "$(cat "$T_WORK/headless.out")" "step restore/5: plan not accepted: pass --yes to accept it, or see it first with --plan; nothing was changed" \
    "headless without --yes: the message names --yes"
like "$(cat "$T_WORK/headless.out")" "Next, the first change \(step restore/5, stage 2\):" "headless: the plan is printed"
like "$(cat "$T_WORK/headless.out")" "Expected data loss: [0-9ms.]+ \(changes after $T0, up to now\)" \
    "headless: without incident_time the loss counts up to now"
is "$(non_get_requests "$before")" 0 "headless without --yes: only reads reached neon"
check "headless without --yes: no drill branch" quiet "$NT" cli action op=branch-absent name='drill-*'
dir=$(t_drill_dir)
is "$(json_get "$dir/report.json" outcome)" declined "headless without --yes: outcome declined"
if grep -rqF "$NEON_API_KEY" "$T_WORK/home" "$T_WORK/stderr" "$T_WORK"/*.txt "$T_WORK"/*.out; then
    not_ok "the API key is nowhere in the drill's files or screens"
else
    ok "the API key is nowhere in the drill's files or screens"
fi
t_done
