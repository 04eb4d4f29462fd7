#!/bin/bash
# Failed steps: the failure dialog offers retry, skip (a reason is
# required) and stop; the summary and report show the failed outcome and
# the skip reason; pgdrill exits 1.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

# pgdrill points at production, the runbook was written for the sandbox
t_start 80 24 LANG=C.UTF-8 LC_ALL=C.UTF-8 PGDRILL_ENVIRONMENT=production -- tui "$FIXTURES/tui-fail.md"
check "banner names both environments when they differ" t_wait "!! PRODUCTION (RUNBOOK: SANDBOX) !!"
check "failure dialog opens" t_wait "Step failed"
check "failure dialog says why" t_wait "exit"
check "failure dialog shows the runbook's policy" t_wait "policy for this step: retry."
check "failure dialog offers retry, skip and stop" t_wait "r retry   s skip (with a reason)   q stop"
t_keys r
# the first dialog may still be on screen while the retry starts: wait until
# the journal holds the retry's failure, so "Step failed" is the new dialog
# shellcheck disable=SC2317 # reachable: called through check
retry_failed() {
    local j
    for _ in $(seq 1 150); do
        j=$(cat "$T_WORK"/home/drills/*/journal.jsonl 2>/dev/null)
        [ "$(grep -c '"ev":"step_end","stage":0' <<<"$j")" -ge 2 ] && return 0
        sleep 0.1
    done
    return 1
}
check "the retry ran and failed again" retry_failed
# the report below checks that the step ran twice
check "failure dialog again after the retry" t_wait "Step failed"
t_keys s
check "skip asks for a reason" t_wait "Skip: why?"
t_keys Enter
check "an empty reason is refused" t_wait "a reason is required"
t_keys "known flaky in the sandbox" Enter
check "the skipped stage is marked" t_wait "[-] 1. Flaky step"
check "the failing action stays on screen" t_wait 'sh: echo "this one is broken"'
check "second failure dialog" t_wait "Step failed"
t_keys q
check "summary after stopping" t_wait "Drill summary"
t_screen >"$T_WORK/summary.txt"
check "summary outcome failed" grep -qF "Outcome: failed" "$T_WORK/summary.txt"
check "summary marks the failed stage" grep -qF "[x] Broken step" "$T_WORK/summary.txt"
check "summary marks the skipped stage" grep -qF "[-] Flaky step" "$T_WORK/summary.txt"
check "summary leaves the last stage pending" grep -qF "[ ] Never reached" "$T_WORK/summary.txt"
# why it failed, without opening the report: the failed step and its error
check "summary says why: the failed step and its error" \
    grep -qE "^ Failed:  Broken step, step [a-z0-9/-]+: exit" "$T_WORK/summary.txt"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 1 after a failed drill (got $rc)" test "$rc" = 1

dir=$(t_drill_dir)
python3 - "$dir/report.json" >"$T_WORK/report-check.txt" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["outcome"] == "failed", r["outcome"]
st = {s["title"]: s["status"] for s in r["stages"]}
assert st == {"Flaky step": "skipped", "Broken step": "failed", "Never reached": "pending"}, st
assert "known flaky in the sandbox" in json.dumps(r["issues"]), r["issues"]
flaky = r["stages"][0]["steps"][0]
assert flaky["attempts"] == 2, flaky
print("report ok")
PY
check "report.json: outcome failed, skip reason, two attempts" \
    grep -qx "report ok" "$T_WORK/report-check.txt" || sed 's/^/# /' "$T_WORK/report-check.txt"
t_done
