#!/bin/bash
# Drill history: a small runbook run three times, its "work" stage slow the
# third time. The third report flags the regression (regressions[] in
# report.json, a section in report.md), `report list` shows the table, and
# the TUI history screen (h in the picker) charts the stages with the
# regression marked. The timeline screen (t) opens from the picker and says
# what it needs when Neon and S3 are not configured.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_WORK/runbooks"
cat >"$T_WORK/runbooks/history.md" <<'MD'
# History drill

```pgdrill
id: history-drill
use-case: Three quick drills, the third one slow in one stage
environment: sandbox
expected: 1m
input: delay text default=0.1 "Seconds the work stage sleeps"
```

## Prepare
<!-- pgdrill id=prepare expected=10s -->

```sh
echo prepared
```

## Work
<!-- pgdrill id=work expected=10s -->

```sh
sleep ${delay}; echo worked
```
MD
export PGDRILL_HOME=$T_WORK/home PGDRILL_RUNBOOKS=$T_WORK/runbooks
for delay in 0.1 0.2 2.5; do
    "$PGDRILL_BIN" run "$T_WORK/runbooks/history.md" --var "delay=$delay" >/dev/null 2>"$T_WORK/run.err" ||
        not_ok "run with delay $delay" "$(cat "$T_WORK/run.err")"
    sleep 1.1 # drill ids carry the second they started
done
dirs=()
for d in "$T_WORK"/home/drills/*/; do
    [ -d "$d" ] && dirs+=("$d")
done
check "three drills recorded" test "${#dirs[@]}" -eq 3
reg() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(",".join(r["stage"] for r in d["regressions"]))' "$1/report.json"; }
check "first drill: no regressions" test "$(reg "${dirs[0]}")" = ""
check "second drill: no regressions (0.2 s is noise)" test "$(reg "${dirs[1]}")" = ""
check "third drill: the work stage regressed" test "$(reg "${dirs[2]}")" = "work"
check "report.md names the regression" grep -q "^- Work: .*median" "${dirs[2]}/report.md"

"$PGDRILL_BIN" report list >"$T_WORK/list.txt"
check "report list is a table with RTO, RPO and grade" grep -qE "^ID +RUNBOOK +DATE +OUTCOME +RTO +RPO +GRADE$" "$T_WORK/list.txt"
check "report list shows the three drills" test "$(grep -c 'history-drill .* passed' "$T_WORK/list.txt")" -eq 3
sed 's/^/# /' "$T_WORK/list.txt"

t_start 100 30 PGDRILL_ENVIRONMENT=sandbox "PGDRILL_RUNBOOKS=$T_WORK/runbooks" LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui
check "picker" t_wait "choose a runbook (1 found)"
t_keys h
check "h opens the history screen" t_wait "Drill history: history-drill"
check "history lists the three drills" t_wait "Drill history of history-drill: 3 drills"
check "the work stage's third run is a regression" t_wait_re "^ +3 +#+ +2\.[0-9]s +REGRESSION \(median"
check "the prepare stage has no regression" test "$(t_screen | grep -c REGRESSION)" -eq 1
t_screen >"$T_WORK/history-screen.txt"
sed 's/^/# /' "$T_WORK/history-screen.txt"
t_keys q
check "q closes the history screen" t_wait "choose a runbook"
t_keys t
check "t opens the timeline screen" t_wait "Restorability timeline"
check "the timeline says what it needs" t_wait "The timeline needs Neon and S3"
t_screen >"$T_WORK/timeline-screen.txt"
t_keys q
check "q closes the timeline" t_wait "choose a runbook"
t_keys q
rc=$(t_wait_exit 15)
check "q in the picker exits 0 (got $rc)" test "$rc" = 0
t_done
