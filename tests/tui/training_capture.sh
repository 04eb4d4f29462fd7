# shellcheck shell=bash
# The training exercise's screens as a trainee sees them, for the issue's
# closing note: runs tests/tui/tui-training.sh (runbooks/training.md in
# the TUI, in tmux, on a sandbox of its own) and prints the ticket screen
# and the grade screen it captured. Not run by `make check` (not
# executable); run it from the top of the tree after `make -j2 test-bins`:
#
#   bash tests/tui/training_capture.sh
#
# Exit status: that of the test.
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export PGDRILL_TOP=$TOP
export PGDRILL_BIN=${PGDRILL_BIN:-$TOP/build/pgdrill}
export PGDRILL_BUILD=${PGDRILL_BUILD:-$(dirname "$PGDRILL_BIN")}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/pgdrill-capture.XXXX")
export PGDRILL_TEST_WORK=$WORK
bash "$TOP/tests/tui/tui-training.sh" >"$WORK/tap.log" 2>&1
rc=$?
for f in ticket grade; do
    echo "==== the $f screen (tmux capture-pane, 120x40)"
    if [ -f "$WORK/tui-training/$f.txt" ]; then
        sed -e 's/[[:space:]]*$//' "$WORK/tui-training/$f.txt"
    else
        echo "(not captured: the test ended before it; its log is $WORK/tap.log)"
    fi
done
[ "$rc" = 0 ] || echo "==== the test failed (exit $rc): $WORK/tap.log"
[ "$rc" = 0 ] && rm -rf "$WORK"
exit "$rc"
