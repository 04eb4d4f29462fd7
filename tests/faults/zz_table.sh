#!/bin/bash
# The fault matrix's table: runs last (tests/run.sh takes the scripts in
# name order), renders the rows the other tests/faults scripts wrote into
# $PGDRILL_TEST_WORK/fault-table.txt, which tests/run.sh prints, and
# checks that the matrix has its 25 faults at least, every one as expected.
set -u
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/lib.sh"

[ -s "$FAULT_TABLE" ] || bail "fault table" "no rows in $FAULT_TABLE: run the tests/faults scripts first"
python3 - "$FAULT_TABLE" "$FAULT_TABLE_TXT" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
out = ["fault matrix: %d faults, %d as expected" % (len(rows), sum(r[3] == "ok" for r in rows)),
       "",
       "| # | fault | expected | observed | |",
       "|---|---|---|---|---|"]
for i, (name, exp, obs, verdict) in enumerate(rows, 1):
    cell = lambda s: s.replace("|", "\\|")
    out.append("| %d | %s | %s | %s | %s |" % (i, cell(name), cell(exp), cell(obs), verdict))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
rows=$(grep -c . "$FAULT_TABLE")
bad=$(grep -c $'\tFAIL$' "$FAULT_TABLE")
if [ "$rows" -ge 25 ]; then
    ok "fault matrix: $rows faults injected (at least 25)"
else
    not_ok "fault matrix: $rows faults injected (at least 25)"
fi
is "$bad" 0 "fault matrix: every fault ends as expected"
done_testing
