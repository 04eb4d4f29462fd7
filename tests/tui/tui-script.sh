#!/bin/bash
# The PGDRILL_TUI_SCRIPT input hook: the whole drill is driven by a key
# script (type, key, wait-for, sleep, dump-screen); no key comes from
# tmux. The dumps of the drill screen at the confirmation and of the
# summary, with clocks and ids masked, must match the expected files.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

script=$T_WORK/keys.txt
cat >"$script" <<KEYS
# answer everything tui-basic.md asks
wait-for [>] 1. Prepare the sandbox
wait-for Type the magic word
type open sesame
key Enter
wait-for Type sandbox-branch to continue.
type sandbox-branch
key Enter
wait-for Anything to remember about this drill?
sleep 100
type scripted note
key Enter
wait-for Drill summary
dump-screen $T_WORK/summary.txt
key q
KEYS

# the confirmation dialog is dumped from a second script line set: wait
# for it, dump, then continue (a dump needs the screen painted first)
sed -i "s|^type sandbox-branch$|dump-screen $T_WORK/confirm.txt\ntype sandbox-branch|" "$script"

t_start 80 24 PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 "PGDRILL_TUI_SCRIPT=$script" -- tui "$FIXTURES/tui-basic.md"
rc=$(t_wait_exit 30)
check "scripted drill exits 0 (got $rc)" test "$rc" = 0 || sed 's/^/# /' "$T_WORK/stderr"

# clocks and drill ids change from run to run
mask() {
    sed -E 's/[0-9]{2}:[0-9]{2}(:[0-9]{2})?/HH:MM/g; s/[0-9]{8}-[0-9]{6}-/YYYYMMDD-HHMMSS-/g' "$1"
}
check "confirmation dump written" test -s "$T_WORK/confirm.txt"
mask "$T_WORK/confirm.txt" >"$T_WORK/confirm.masked"
check "confirmation screen matches expected/drill-confirm-80x24.txt" \
    diff -u "$PGDRILL_TOP/tests/tui/expected/drill-confirm-80x24.txt" "$T_WORK/confirm.masked"
check "summary dump written" test -s "$T_WORK/summary.txt"
# the report path wraps where the temporary directory's length puts it:
# join the lines to find it, and leave it and empty lines out of the diff
dir=$(t_drill_dir)
sed 's/^ //' "$T_WORK/summary.txt" | tr -d '\n' | grep -qF "$dir/report.json"
check "summary names the report ($dir/report.json)" test $? = 0
mask "$T_WORK/summary.txt" | sed '/^ Report:/,/^$/{/^$/!d}; /^$/d' >"$T_WORK/summary.masked"
check "summary screen matches expected/summary-80x24.txt" \
    diff -u "$PGDRILL_TOP/tests/tui/expected/summary-80x24.txt" "$T_WORK/summary.masked"

# a script that waits for text that never comes fails the run with a clear message
bad=$T_WORK/bad.txt
printf 'wait-for this text never appears\n' >"$bad"
t_cleanup
rm -rf "${T_WORK:?}/home"
t_start 80 24 PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 "PGDRILL_TUI_SCRIPT=$bad" -- tui "$FIXTURES/tui-quit.md"
rc=$(t_wait_exit 30)
check "a failed wait-for exits 2 (got $rc)" test "$rc" = 2
check "a failed wait-for names the script line" \
    grep -qF "tui script $bad:1: wait-for 'this text never appears' timed out" "$T_WORK/stderr"
t_done
