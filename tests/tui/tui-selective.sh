#!/bin/bash
# Scenario 3 in the TUI at 110x40 against the sandbox Neon server: the
# operator gives the point in time and the date range, reads the review of
# the export (row count, columns, first rows, in the output pane behind the
# import confirmation), types the table name, then the branch name; the
# lost rows of the range are back, nothing is left.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/../integration/neon_lib.sh"
neon_setup tui-selective
T_NAME=tui-selective
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"
trap 't_cleanup; neon_teardown' EXIT

t_care_commons
IN_RANGE="created_at >= '2025-01-10T00:00:00Z' AND created_at < '2025-01-12T00:00:00Z'"
sleep 1.2
T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 1.2
cc "DELETE FROM visits WHERE $IN_RANGE AND id % 3 = 0" >/dev/null
ALL_AFTER_LOSS=$(cc "SELECT count(*) FROM visits")

t_start_drill 110 40 "$TOP/runbooks/selective-recovery.md"

check "the point in time is asked first" t_wait "Point in time before the data was lost" 20
t_keys "$T0" Enter
check "the scope is asked with its choices" t_wait "range: the rows created"
t_keys Enter
check "the table is asked" t_wait "Table to recover rows of"
t_keys Enter
check "the range start is asked" t_wait "First moment of the range"
t_keys "2025-01-10T00:00:00Z" Enter
check "the range end is asked" t_wait "End of the range"
t_keys "2025-01-12T00:00:00Z" Enter
check "the plan comes before the temporary branch is created" \
    t_wait "Plan: selective-recovery (nothing has changed yet)" 60
t_screen >"$T_WORK/plan.txt"
words=$(tr -s ' \n' '  ' <"$T_WORK/plan.txt")
check "the plan names the temporary branch at the typed point in time" \
    grep -qE "create branch temp-recovery-[0-9]{8}-[0-9]{6} from the default branch at $T0" <<<"$words"
check "the plan shows the range typed" grep -qF "input range_start = 2025-01-10T00:00:00Z" <<<"$words"
t_keys Enter
check "the import asks to type the table name" t_wait_re "Type visits to continue" 90
t_screen >"$T_WORK/confirm.txt"
check "the confirmation says how many rows (24)" grep -qF "Import 24 rows" "$T_WORK/confirm.txt"
check "the review gives the row count" grep -qF "review: 24 rows exported to recovered.csv" "$T_WORK/confirm.txt"
check "the review lists the columns" grep -qF "review: 10 columns: id, client_id" "$T_WORK/confirm.txt"
check "the review shows the first rows" grep -qF "review: first 10 rows:" "$T_WORK/confirm.txt"
t_keys visits Enter
check "clean-up asks to type the branch name" t_wait_re "Type temp-recovery-[0-9-]+ to continue" 60
t_screen >"$T_WORK/cleanup.txt"
name=$(grep -oE "Type temp-recovery-[0-9]{8}-[0-9]{6}" "$T_WORK/cleanup.txt" | head -1 | cut -c6-)
check "the confirmation names the branch ($name)" test -n "$name"
t_keys "$name" Enter
check "the note is asked at the end" t_wait "Anything to record" 60
t_keys "visits of 10-11 January recovered" Enter
check "summary screen" t_wait "Drill summary" 30
t_screen >"$T_WORK/summary.txt"
check "summary outcome passed" grep -qF "Outcome: passed" "$T_WORK/summary.txt"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0
check "the range is complete again (24 visits)" test "$(cc "SELECT count(*) FROM visits WHERE $IN_RANGE")" = 24
check "exactly the lost rows came back (8)" test "$(cc "SELECT count(*) FROM visits")" = $((ALL_AFTER_LOSS + 8))
dir=$(t_drill_dir)
check "the import is in the journal: 8 inserted, 16 skipped" \
    grep -qF "import: 8 inserted, 16 skipped as already present" "$dir/journal.jsonl"
check "report: no-duplicate-visits passed" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if [c for c in d["checks"] if c["name"]=="no-duplicate-visits" and c["passed"]] else 1)' "$dir/report.json"
check "no temporary branch is left" quiet "$NT" cli action op=branch-absent name='temp-recovery-*'
check "no export file is left" test ! -e "$dir/recovered.csv"
if grep -rqF "$NEON_API_KEY" "$dir" "$T_WORK/stderr" "$T_WORK"/*.txt; then
    not_ok "the API key is nowhere in the drill's files or screens"
else
    ok "the API key is nowhere in the drill's files or screens"
fi
t_done
