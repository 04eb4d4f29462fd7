#!/bin/bash
# A whole drill through the TUI at 80x24: banner, stage symbols, the
# input prompt, the confirmation (a wrong target is refused), a note taken
# with `n` while a step runs, the note step, the summary, and the report
# and journal written at the end.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 80 24 PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui "$FIXTURES/tui-basic.md"

check "banner names the sandbox environment" t_wait "SANDBOX"
check "banner shows the RTO clock against the budget" t_wait "/ 01:00:00"
check "first stage is running" t_wait "[>] 1. Prepare the sandbox"
check "later stages are pending" t_wait "[ ] 3. Wrap up"
check "stage prose is shown without Markdown markers" \
    t_wait "This stage prepares the sandbox. It runs sh steps"
check "output pane shows the step's output" t_wait "prepare line 1"

# a note at any time, recorded against the current stage
t_keys n
check "n opens the note editor" t_wait "A note for stage"
t_keys "taken during prepare" Enter
check "note is confirmed" t_wait "note saved"

check "input prompt appears" t_wait "Type the magic word"
check "stage 1 passed" t_wait "[✓] 1. Prepare the sandbox"
check "stage 2 is running" t_wait "[>] 2. Ask the operator"
t_keys Escape
check "Esc in a prompt asks whether to stop the drill" t_wait "Stop the drill here?"
t_keys n
check "n goes back to the prompt" t_wait "Type the magic word"
t_keys "abracadabrX" BSpace "a" Enter

check "confirmation asks for the target" t_wait "Type sandbox-branch to continue."
t_screen >"$T_WORK/confirm.txt"
check "destructive confirmation is labelled" grep -qF "Destructive action: confirm" "$T_WORK/confirm.txt"
t_keys "sandbox-brunch" Enter
check "a wrong target is refused" t_wait "you typed 'sandbox-brunch', not 'sandbox-branch'"
t_keys C-u "sandbox-branch" Enter

check "the input reached the step" t_wait "the word was abracadabra"
check "note step asks its question" t_wait "Anything to remember about this drill?"
t_keys "smooth run" Enter

check "summary screen" t_wait "Drill summary" 20
t_screen >"$T_WORK/summary.txt"
check "summary outcome passed" grep -qF "Outcome: passed" "$T_WORK/summary.txt"
check "summary shows RTO" grep -qE "RTO: +[0-9:]+ / 01:00:00" "$T_WORK/summary.txt"
check "summary lists checks" grep -qF "Checks:  0 passed, 0 failed" "$T_WORK/summary.txt"
check "summary shows all stages passed" \
    test "$(grep -cF "[✓]" "$T_WORK/summary.txt")" -eq 3
# a long report path wraps: join the lines to find it
sed 's/^ //' "$T_WORK/summary.txt" | tr -d '\n' | grep -qF "/report.json"
check "summary names the report" test $? = 0
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 after a passed drill (got $rc)" test "$rc" = 0

dir=$(t_drill_dir)
check "drill directory exists" test -n "$dir" -a -d "$dir"
check "report.json written" test -s "$dir/report.json"
python3 - "$dir/report.json" >"$T_WORK/report-check.txt" 2>&1 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["outcome"] == "passed", r["outcome"]
rb = r["runbook"]
assert (rb.get("id") if isinstance(rb, dict) else rb) in ("tui-basic", "TUI basic drill"), rb
st = r["stages"]
assert [s["title"] for s in st] == ["Prepare the sandbox", "Ask the operator", "Wrap up"], st
assert all(s["status"] == "passed" for s in st), st
assert all(s["duration_s"] >= 0 for s in st), st
assert st[0]["duration_s"] >= 1.0, st[0]
notes = json.dumps(r["notes"])
assert "taken during prepare" in notes, notes
assert "smooth run" in notes, notes
assert r["rto_s"] > 1.0, r["rto_s"]
print("report ok")
PY
check "report.json has outcome, stages, notes, RTO" grep -qx "report ok" "$T_WORK/report-check.txt" \
    || sed 's/^/# /' "$T_WORK/report-check.txt"
python3 - "$dir/journal.jsonl" >"$T_WORK/journal-check.txt" 2>&1 <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
text = json.dumps(lines)
assert "taken during prepare" in text
assert "abracadabra" in text
print("journal ok")
PY
check "journal records the note and the input" grep -qx "journal ok" "$T_WORK/journal-check.txt" \
    || sed 's/^/# /' "$T_WORK/journal-check.txt"
t_done
