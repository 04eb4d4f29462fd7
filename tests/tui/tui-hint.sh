#!/bin/bash
# A step fails with an error a troubleshooting hint knows (pg_dump out of
# memory, runbooks/hints): the failure dialog shows the procedures' advice
# below the error, the output pane keeps it after the dialog closes, and
# the report has it.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 100 30 LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui "$FIXTURES/hint-fail.md"
check "failure dialog opens" t_wait "Step failed"
check "the dialog shows the error" t_wait "exit 1"
check "the dialog shows the hint below it" t_wait "hint (pg-dump-out-of-memory): The backup is too large"
check "the dialog shows the advice" t_wait "pg_dump -Fc"
t_screen >"$T_WORK/dialog.txt"
check "the hint comes after the error" python3 - "$T_WORK/dialog.txt" <<'PY'
import sys
s = open(sys.argv[1]).read()
assert 0 <= s.index("exit 1") < s.index("hint (pg-dump-out-of-memory)"), s
PY
t_keys q
check "summary after stopping" t_wait "Drill summary"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 1 after the failed drill (got $rc)" test "$rc" = 1
dir=$(t_drill_dir)
check "the report keeps the hint" grep -qF '"hint_id":	"pg-dump-out-of-memory"' "$dir/report.json"
done_testing
