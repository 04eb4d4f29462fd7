#!/bin/bash
# Quitting mid-drill: q asks (n keeps going), y interrupts the running sh
# step, pgdrill exits 130 and says how to resume, the journal holds the
# finished stage and the interrupt but no end, and `pgdrill resume`
# (headless) continues the drill to the end.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

esc=$(printf '\033')
flag=$T_WORK/release-flag

t_start 80 24 PGDRILL_ENVIRONMENT=production LANG=C.UTF-8 LC_ALL=C.UTF-8 "TUI_QUIT_FLAG=$flag" -- tui "$FIXTURES/tui-quit.md"
check "production banner is marked" t_wait "!! PRODUCTION !!"
check "the long stage runs" t_wait "[>] 2. Long wait"
check "the first stage passed" t_wait "[✓] 1. Quick start"
t_screen_escapes | head -1 >"$T_WORK/banner.txt"
check "production banner is red in reverse video" \
    grep -qE "${esc}\[([0-9;]*;)?(31|41)(;[0-9;]*)?m" "$T_WORK/banner.txt"
check "the RTO budget of the runbook is shown" t_wait "/ 00:30:00"

# the output pane scrolls with vi keys and PgUp/PgDn while the step runs
check "output pane follows the newest line" t_wait "wait line 30"
t_keys k
check "k scrolls the output back one line" t_wait "output (1 lines back, G follows)"
t_keys PgUp
check "PgUp scrolls back a page" t_wait_re "output \(1[0-9] lines back, G follows\)"
t_keys g
check "g goes to the first output line" t_wait_re "^ Stage 1/3: Quick start$"
check "g: the newest lines are out of view" bash -c "! tmux -S '$T_SOCK' capture-pane -p -t tui | grep -qF 'wait line 30'"
t_keys C-d
check "Ctrl-D scrolls down half a page" t_wait_re "output \([0-9]+ lines back, G follows\)"
t_keys G
check "G follows the output again" t_wait "── output ───"
check "G: the newest line is in view" t_wait "wait line 30"

t_keys q
check "q asks for confirmation" t_wait "Stop the drill now?"
t_keys n
sleep 0.5
t_screen >"$T_WORK/after-no.txt"
check "n keeps the drill running" grep -qF "[>] 2. Long wait" "$T_WORK/after-no.txt"
check "the question is gone after n" bash -c "! grep -qF 'Stop the drill now?' '$T_WORK/after-no.txt'"

t_keys q
check "q asks again" t_wait "Stop the drill now?"
check "the question names how to go on in the TUI" t_wait_re "--resume [0-9]{8}-[0-9]{6}-tui-quit"
t_keys y
rc=$(t_wait_exit 10)
check "pgdrill tui exits 130 when the operator quits (got $rc)" test "$rc" = 130
dir=$(t_drill_dir)
id=$(basename "$dir")
check "stderr says how to resume" grep -qF "pgdrill resume $id" "$T_WORK/stderr"
# the operator was in the TUI: how to go on there, too
check "stderr says how to resume in the TUI" grep -qF "pgdrill tui --resume $id" "$T_WORK/stderr"
# The step's shell and its sleep inherit TUI_QUIT_FLAG=$flag; so does the
# pane's `sleep 600` that keeps the tmux pane open, which is not a step.
# shellcheck disable=SC2317 # reachable: called through check
no_step_left() {
    python3 - "TUI_QUIT_FLAG=$flag" <<'PY'
import os, sys
want = sys.argv[1].encode()
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        env = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    if want in env and cmd[:2] != [b"sleep", b"600"]:
        left.append((pid, cmd))
if left:
    print("# still running:", left)
sys.exit(1 if left else 0)
PY
}
check "the sh step was stopped, not left running" no_step_left

python3 - "$dir/journal.jsonl" >"$T_WORK/journal-check.txt" 2>&1 <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kinds = [e["ev"] for e in evs]
assert kinds[0] == "begin", kinds
assert "interrupt" in kinds, kinds
assert "end" not in kinds, kinds
ends = [e for e in evs if e["ev"] == "step_end" and e.get("stage") == 0]
assert ends and all(e["status"] == "passed" for e in ends), ends
starts = [e for e in evs if e["ev"] == "step_start" and e.get("stage") == 1]
assert starts, kinds
assert not [e for e in evs if e["ev"] == "step_end" and e.get("stage") == 1 and e["status"] == "passed"]
print("journal ok")
PY
check "journal: stage 1 passed, stage 2 started, interrupted, not ended" \
    grep -qx "journal ok" "$T_WORK/journal-check.txt" || sed 's/^/# /' "$T_WORK/journal-check.txt"

# headless resume continues where the TUI stopped
touch "$flag"
TUI_QUIT_FLAG=$flag PGDRILL_HOME=$T_WORK/home "$PGDRILL_BIN" resume "$id" \
    >"$T_WORK/resume.out" 2>&1 </dev/null
rc=$?
check "pgdrill resume finishes the drill (exit $rc)" test "$rc" = 0 \
    || sed 's/^/# /' "$T_WORK/resume.out"
python3 - "$dir/journal.jsonl" >"$T_WORK/journal-check2.txt" 2>&1 <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kinds = [e["ev"] for e in evs]
assert "resume" in kinds, kinds
assert kinds[-1] == "end" and evs[-1]["outcome"] == "passed", evs[-1]
# stage 1 is not run again after the resume
r = kinds.index("resume")
assert not [e for e in evs[r:] if e["ev"] == "step_start" and e.get("stage") == 0], kinds
print("journal ok")
PY
check "journal after resume: resumed, stage 1 not rerun, ended passed" \
    grep -qx "journal ok" "$T_WORK/journal-check2.txt" || sed 's/^/# /' "$T_WORK/journal-check2.txt"

# SIGTERM stops a drill the way q does: interrupted, resumable
t_cleanup
rm -f "$flag"
sleep 1 # a new drill id (ids have seconds)
t_start 80 24 PGDRILL_ENVIRONMENT=production LANG=C.UTF-8 LC_ALL=C.UTF-8 "TUI_QUIT_FLAG=$flag" -- tui "$FIXTURES/tui-quit.md"
check "second drill reaches the long stage" t_wait "[>] 2. Long wait"
pid=$(t_pgdrill_pid)
check "pgdrill's pid found ($pid)" test -n "$pid"
kill -TERM "$pid"
rc=$(t_wait_exit 10)
check "SIGTERM interrupts the drill (exit $rc)" test "$rc" = 130
dir2=$(t_drill_dir)
check "SIGTERM made a new drill" test "$dir2" != "$dir"
check "SIGTERM: the journal records the interrupt and no end" \
    python3 -c 'import json,sys; k=[json.loads(l)["ev"] for l in open(sys.argv[1])]; sys.exit(not ("interrupt" in k and "end" not in k))' \
    "$dir2/journal.jsonl"
check "SIGTERM: no step left running" no_step_left
t_done
