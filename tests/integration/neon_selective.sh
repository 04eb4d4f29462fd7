#!/bin/bash
# Scenario 3 end to end: rows at T0; at T1 some visits of one date range are
# deleted, and a few outside it; `pgdrill run selective-recovery` at T0 for
# the range against the sandbox Neon server brings back exactly the deleted
# rows of the range (row by row), not those outside it, with the preview's
# and the import's counts right, no duplicate, no temp-recovery branch and no
# file left (the rows travel by COPY, never through a file). A second run
# finds every row present (inserted 0). A quote in range_start is refused by
# input validation and never reaches SQL.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup selective

neon_seed_care_commons
export DATABASE_URL=$CARE_URL
dump() { cc "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT"; }

RS=2025-01-10T00:00:00Z
RE=2025-01-12T00:00:00Z
IN_RANGE="created_at >= '$RS' AND created_at < '$RE'"
T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
dump >"$W/t0.visits"
RANGE_ROWS=$(cc "SELECT count(*) FROM visits WHERE $IN_RANGE")
sleep 1.2
# T1: the loss. Half the range's visits, and five visits outside it.
cc "DELETE FROM visits WHERE $IN_RANGE AND id % 2 = 0" >/dev/null
cc "DELETE FROM visits WHERE id IN (5, 6, 7, 2500, 2501)" >/dev/null
dump >"$W/t1.visits"
DELETED_IN=$(comm -23 <(sort "$W/t0.visits") <(sort "$W/t1.visits") |
    awk -F'\t' '$1 != 5 && $1 != 6 && $1 != 7 && $1 != 2500 && $1 != 2501' | wc -l)
is "$DELETED_IN" $((RANGE_ROWS / 2)) "T1 deleted $DELETED_IN of the $RANGE_ROWS visits in the range"
check "the range holds rows ($RANGE_ROWS)" [ "$RANGE_ROWS" -gt 10 ]

export PGDRILL_HOME=$W/home
RB=$TOP/runbooks/selective-recovery.md
run_sel() { # OUT: headless run for the range
    "$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var "range_start=$RS" \
        --var "range_end=$RE" --var table=visits --yes >"$1" 2>&1
}

run_sel "$W/out.1"
rc=$?
is "$rc" 0 "pgdrill run selective-recovery exits 0"
[ "$rc" = 0 ] || tail -40 "$W/out.1" | sed 's/^/# /'

dump >"$W/after.visits"
# exactly T1 plus the deleted rows of the range: T0 minus the five outside it
awk -F'\t' '$1 != 5 && $1 != 6 && $1 != 7 && $1 != 2500 && $1 != 2501' "$W/t0.visits" >"$W/want.visits"
check "production holds exactly the T0 rows except the five outside the range, row by row" \
    cmp -s "$W/want.visits" "$W/after.visits"
is "$(cc "SELECT count(*) FROM visits WHERE id IN (5, 6, 7, 2500, 2501)")" 0 \
    "rows deleted outside the range are not restored"
is "$(cc "SELECT count(*) FROM visits WHERE $IN_RANGE")" "$RANGE_ROWS" "the range is complete again"
like "$(cat "$W/out.1")" "visits \(missing\): $DELETED_IN inserted, 0 reverted, 0 deleted" \
    "the import reports $DELETED_IN inserted"
like "$(cat "$W/out.1")" "preview of visits: $RANGE_ROWS rows at the restore point" \
    "the preview gives the range's row count at the restore point"
like "$(cat "$W/out.1")" "missing from production: $DELETED_IN \(keys: " "the preview counts the missing rows"
is "$(cc "SELECT count(*) FROM (SELECT 1 FROM visits GROUP BY client_id, caregiver_id, scheduled_start HAVING count(*) > 1) d")" \
    0 "no duplicate visit"

id=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)
D=$PGDRILL_HOME/drills/$id
R=$D/report.json
is "$(json_get "$R" outcome)" passed "report: outcome passed"
is "$(json_get "$R" 'checks[name=import.accounted].result')" "$DELETED_IN" \
    "report: check import.accounted: the range grew by $DELETED_IN"
is "$(json_get "$R" 'checks[name=no-duplicate-rows].passed')" true "report: no-duplicate-rows passed"
is "$(json_get "$R" 'checks[name=range.recovered].passed')" true "report: range.recovered passed"
like "$(cat "$W/out.1")" "no branch matches 'temp-recovery-\*'" "the leftover audit found no temporary branch"
like "$(cat "$W/out.1")" "nothing left besides the journal" "the leftover audit found no file"
check "no file is left in the drill folder" [ -z "$(entries_by_mtime "$D" | grep -v -x -e journal.jsonl -e lock -e report.md -e report.json)" ]
"$NT" cli action op=branch-absent name='temp-recovery-*' >"$W/out.absent" 2>&1
is "$?" 0 "no temp-recovery branch is left on the sandbox"
check "and no branch cluster is left" [ -z "$(ls -A "$W/state/branches" 2>/dev/null)" ]
bn=$(grep -o 'temp-recovery-[0-9]\{8\}-[0-9]\{6\}' "$W/out.1" | head -n 1)
like "$bn" '^temp-recovery-[0-9]{8}-[0-9]{6}$' "the branch was named temp-recovery-<timestamp>"
like "$(cat "$D/journal.jsonl")" "\"preview_missing\"" "journal: the preview's counts are recorded"

# A drill stopped before the import: at a terminal, the operator accepts the
# plan (shown before the branch is created) and then refuses the import; the
# clean-up (an always stage) still offers to delete the branch, and the
# operator refuses that too, so the branch stays.
cat >"$W/stop.txt" <<'TXT'
timeout 180
expect the rows created in
send
expect missing puts back rows that are gone
send
expect undo: a moment after the incident
send
expect accept the plan and go on
send yes
expect type 'visits' to confirm
send no
expect type '(temp-recovery-[0-9]{8}-[0-9]{6})' to confirm
send no
TXT
python3 "$TOP/tests/pty_drive.py" "$W/stop.txt" "$W/stop.log" -- \
    "$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var "range_start=$RS" --var "range_end=$RE" \
    --var table=visits >"$W/out.stop" 2>&1
is "$?" 1 "at a terminal, refusing the import confirmation stops the run before the import (exit 1)"
like "$(cat "$W/stop.log")" "Next, the first change \(step create-branch/2, stage 2\):" \
    "the plan came before the branch was created"
sid=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)
check "the stopped drill left no row data in its folder" \
    [ -z "$(entries_by_mtime "$PGDRILL_HOME/drills/$sid" | grep -v -x -e journal.jsonl -e lock -e report.md -e report.json)" ]
# that drill left its branch: the audit of the next drill must say so
"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var "range_start=$RS" --var "range_end=$RE" \
    --var table=visits --yes >"$W/out.2" 2>&1
rc=$?
is "$rc" 1 "a run after an abandoned drill fails its leftover audit (exit 1)"
like "$(cat "$W/out.2")" "1 branch left matching 'temp-recovery-\*': temp-recovery-" \
    "the audit lists the abandoned temporary branch"
like "$(cat "$W/out.2")" "visits \(missing\): 0 inserted, 0 reverted, 0 deleted" \
    "a second import finds every row present (inserted 0)"
cmp -s "$W/after.visits" <(dump)
is "$?" 0 "the second import changed nothing"
# clean the abandoned drill's branch and file by hand, then a run passes
left=$(cat "$W/out.stop" "$W/stop.log" | grep -o 'temp-recovery-[0-9]\{8\}-[0-9]\{6\}' | head -n 1)
"$NT" cli action op=branch-delete branch="$left" >"$W/out.del" 2>&1
is "$?" 0 "delete the abandoned branch $left"
run_sel "$W/out.3"
is "$?" 0 "after clean-up a run passes again"
like "$(cat "$W/out.3")" "visits \(missing\): 0 inserted, 0 reverted, 0 deleted" \
    "it inserts nothing (inserted 0)"

# Input validation: a quote in range_start never reaches SQL.
"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var "range_start=2025-01-10T00:00:00Z' OR '1'='1" \
    --var "range_end=$RE" --var table=visits --yes >"$W/out.q" 2>&1
rc=$?
is "$rc" 2 "a quote in range_start is an input error (exit 2)"
like "$(cat "$W/out.q")" "range_start" "the error names range_start"
like "$(cat "$W/out.q")" "RFC 3339" "the error says a timestamp is expected"
unlike "$(cat "$W/out.q")" "exported|import:|created branch" "nothing ran with it"
"$PGDRILL_BIN" run "$RB" --var "target_time=$T0" --var "range_start=$RS" --var "range_end=$RE" \
    --var 'table=visits"; DROP TABLE visits; --' --yes >"$W/out.t" 2>&1
is "$?" 2 "a table name with a quote is an input error (exit 2)"
is "$(cc 'SELECT count(*) FROM visits')" "$(wc -l <"$W/after.visits")" "visits is untouched"

# A second statement in an export or import body is refused, not run: it
# could otherwise end the transaction and write outside it.
cat >"$W/escape.md" <<'MD'
# Escape

```pgdrill
id: escape
input: how choice(export,import) "which"
```

## S

```sql export=x.csv when="${how} = export"
SELECT 1 AS x; COMMIT; DELETE FROM visits
```

```sh when="${how} = import"
printf '"id"\n' >"$PGDRILL_DRILL_DIR/x.csv"
```

```sql import=x.csv into=visits readonly=no when="${how} = import"
SELECT 1; COMMIT; DELETE FROM visits
```
MD
for how in export import; do
    "$PGDRILL_BIN" run "$W/escape.md" --var how=$how --yes >"$W/out.escape.$how" 2>&1
    is "$?" 1 "$how: a body with several statements fails (exit 1)"
    like "$(cat "$W/out.escape.$how")" "cannot insert multiple commands into a prepared statement" \
        "$how: the server refused the second statement"
    is "$(cc 'SELECT count(*) FROM visits')" "$(wc -l <"$W/after.visits")" "$how: visits is untouched"
done

if grep -rqF "$(sed -n 's/.*:\(.*\)@.*/\1/p' <<<"$DATABASE_URL")" "$PGDRILL_HOME" "$W"/out.*; then
    notok "secrets: a database password reached the journal, report or output"
else
    ok "secrets: no database password in the journal, report or output"
fi
key_check
contract_check 10
done_testing
