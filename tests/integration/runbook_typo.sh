#!/bin/bash
# A mistyped runbook for run and tui: a bare id that is no shipped runbook
# names the closest one and lists them all; a path whose file name is close
# to a shipped runbook's names that one; exit 2 and no drill begun. A path
# of the operator's own that does not exist keeps the loader's message.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/typo.XXXXXX")
export PGDRILL_HOME="$W/home"
cd "$W" || exit 1

out=$("$PGDRILL_BIN" run pitr-restor --yes 2>&1)
is "$?" 2 "run pitr-restor: exit 2"
like "$out" "pgdrill run: no runbook 'pitr-restor': no such file, nor a shipped runbook; did you mean pitr-restore\\? \\(shipped: .*pitr-restore, .*selective-recovery" \
    "  names the closest shipped runbook and lists them"
out=$("$PGDRILL_BIN" run xyzzy.md --yes 2>&1)
is "$?" 2 "run xyzzy.md: exit 2"
like "$out" "no runbook 'xyzzy.md': no such file, nor a shipped runbook \\(shipped: " "  no suggestion when nothing is close"
out=$("$PGDRILL_BIN" run runbooks/selective-recovery.md --yes 2>&1)
is "$?" 2 "run runbooks/selective-recovery.md outside the tree: exit 2"
like "$out" "did you mean the shipped selective-recovery \\(pgdrill run selective-recovery\\)\\?" \
    "  says how to run the shipped one"
out=$("$PGDRILL_BIN" tui selective-recovry 2>&1)
is "$?" 2 "tui selective-recovry: exit 2"
like "$out" "pgdrill tui: no runbook 'selective-recovry'.*did you mean selective-recovery\\?" \
    "  before the screen is taken over"
out=$("$PGDRILL_BIN" run ./my-own-runbook.md --yes 2>&1)
is "$?" 2 "run ./my-own-runbook.md: exit 2"
like "$out" "my-own-runbook.md: cannot open runbook: No such file or directory" "  the loader's message"
if [ -z "$(ls -A "$PGDRILL_HOME/drills" 2>/dev/null)" ]; then
    ok "none of them began a drill"
else
    not_ok "none of them began a drill"
fi
done_testing
