#!/bin/bash
# The rows action (core/engine/rows_step.c) between two databases of the test
# cluster: a "branch" at the restore point and "production", headless.
# Reproduces issue 12's points 1 and 2 and the action's own rules:
#   seq      point 1: after the restore the application's next INSERT
#            without an id succeeds (pg_dump --data-only carried setval and
#            moved the sequence back), and a sequence behind max(id) moves
#            forward, never back
#   missing  deleted rows come back exactly, corrupted rows are left and
#            counted; rows added since are untouched; the preview changes
#            nothing
#   revert   point 2: corrupted rows are their restore-point values again
#   undo     only what the incident did: its deletes back, its changes
#            reverted, a row the application changed again is a conflict
#            (listed, left as the application left it), the application's
#            other edits are kept, the incident's inserts are listed and
#            deleted only with delete-inserted=yes
#   fk       restored rows whose parent is missing too: the preview names the
#            parent table, the apply refuses before any change
#   nokey    a table without a primary or unique NOT NULL key is refused
#   range    only the rows of the range; the typed values are parameters
# ROWS_OLD=1 runs the restores through the old path (pg_dump --data-only
# --column-inserts --on-conflict-do-nothing | psql) to see these fail.
set -u
. "$PGDRILL_TOP/tests/lib.sh"
require_env PGDRILL_TEST_PGURL PGDRILL_TEST_WORK

RB=$PGDRILL_TOP/tests/fixtures/runbooks/rows-restore.md
RANGE_RB=$PGDRILL_TOP/tests/fixtures/runbooks/rows-range.md
[ -x "$PGDRILL_BIN" ] || bail "pgdrill binary" "$PGDRILL_BIN is missing: build it first (make)"
ADMIN=$(db_url postgres)

# copy_db NAME TEMPLATE: NAME as a copy of database TEMPLATE; prints its URL
copy_db() {
    _psql -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" "$ADMIN" >&2 &&
        _psql -c "CREATE DATABASE $1 TEMPLATE $2" "$ADMIN" >&2 && db_url "$1"
}

# fp URL WHERE: a fingerprint of the visits matching WHERE (every column)
fp() {
    sql "$1" "SELECT count(*) || ':' || coalesce(md5(string_agg(v::text, ',' ORDER BY id)), '-')
              FROM visits v WHERE $2"
}

# restore NAME PROD VAR=VALUE...: the fixture runbook against PROD; sets OUT, RC
restore() {
    local name=$1 prod=$2 home
    shift 2
    home=$(pgdrill_home "rows-$name")
    if [ -n "${ROWS_OLD:-}" ]; then
        local b
        b=$(printf '%s\n' "$@" | sed -n 's/^branch_url=//p')
        OUT=$("$PGDRILL_PG_BIN/pg_dump" --data-only --column-inserts --on-conflict-do-nothing \
            -t visits "$b" 2>&1 | _psql --single-transaction "$prod" 2>&1)
        RC=$?
        return
    fi
    local args=() kv
    for kv in "$@"; do args+=(--var "$kv"); done
    OUT=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_HOME=$home DATABASE_URL=$prod \
        timeout 120 "$PGDRILL_BIN" run "$RB" "${args[@]}" --yes 2>&1 </dev/null)
    RC=$?
}

base=$(fresh_db rows_base clean) || bail "fixture" "fresh_db rows_base failed"

# --- seq: point 1, the application's next insert
CASE=seq
branch=$(copy_db rows_seq_b rows_base) || bail "$CASE: branch" "copy failed"
prod=$(copy_db rows_seq_p rows_base) || bail "$CASE: production" "copy failed"
for _ in 1 2 3; do
    sql "$prod" "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
                 SELECT client_id, caregiver_id, now(), now() + interval '1 hour'
                 FROM visits ORDER BY id LIMIT 50" >/dev/null
done
sql "$prod" "DELETE FROM visits WHERE id IN (SELECT id FROM visits ORDER BY id LIMIT 10 OFFSET 100)" >/dev/null
want_deleted=$(fp "$branch" "id IN (SELECT id FROM visits ORDER BY id LIMIT 10 OFFSET 100)")
want_new=$(fp "$prod" "id > 3005")
restore seq "$prod" branch_url="$branch"
is "$RC" 0 "$CASE: the restore exits 0"
is "$(fp "$prod" "id IN (SELECT id FROM visits ORDER BY id LIMIT 10 OFFSET 100)")" "$want_deleted" \
    "$CASE: the 10 deleted visits are back exactly"
is "$(fp "$prod" "id > 3005")" "$want_new" "$CASE: the 150 visits written since are untouched"
ins=$(sql "$prod" "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
                   SELECT client_id, caregiver_id, now(), now() + interval '1 hour'
                   FROM visits ORDER BY id LIMIT 1 RETURNING id" 2>&1)
like "$ins" '^3156$' "$CASE: the application's next INSERT without an id succeeds (id 3156)"

# an incident that truncated the table and restarted its identity: the
# application's new rows took ids 1 and 2, the sequence is behind max(id)
prod=$(copy_db rows_seq2_p rows_base) || bail "$CASE: production" "copy failed"
sql "$prod" "TRUNCATE visits RESTART IDENTITY;
             INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
             SELECT 1, 1, now(), now() + interval '1 hour' FROM generate_series(1, 2)" >/dev/null
restore seq2 "$prod" branch_url="$branch"
is "$RC" 0 "$CASE: restore after a truncate exits 0"
like "$OUT" 'sequence public\.visits_id_seq moved forward from 2 to 3005' \
    "$CASE: the sequence moved forward to max(id), and says so"
like "$OUT" 'visits \(missing\): 3003 inserted, 0 reverted, 0 deleted, 2 left alone' \
    "$CASE: the two new rows whose ids collide are left alone"
ins=$(sql "$prod" "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
                   VALUES (1, 1, now(), now() + interval '1 hour') RETURNING id" 2>&1)
is "$ins" 3006 "$CASE: the next INSERT after a forward move succeeds"

# --- missing and revert: point 2, corrupted rows
incident="UPDATE visits SET check_in_lat = 0, check_in_lon = 0, checked_in_at = now()
          WHERE id BETWEEN 501 AND 520;
          DELETE FROM visits WHERE id BETWEEN 1001 AND 1005"
for mode in missing revert; do
    CASE=$mode
    prod=$(copy_db "rows_${mode}_p" rows_base) || bail "$CASE: production" "copy failed"
    sql "$prod" "$incident" >/dev/null
    sql "$prod" "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
                 VALUES (1, 1, now(), now() + interval '1 hour')" >/dev/null
    corrupted=$(fp "$prod" "id BETWEEN 501 AND 520")
    before_all=$(fp "$prod" "true")
    restore "$mode" "$prod" branch_url="$branch" copy_mode="$mode"
    is "$RC" 0 "$CASE: the restore exits 0"
    is "$(fp "$prod" "id BETWEEN 1001 AND 1005")" "$(fp "$branch" "id BETWEEN 1001 AND 1005")" \
        "$CASE: the deleted visits are back exactly"
    is "$(fp "$prod" "id = 3006")" "1:$(sql "$prod" "SELECT md5(string_agg(v::text, ',')) FROM visits v WHERE id = 3006")" \
        "$CASE: the visit added since is still there"
    like "$OUT" 'changed since the restore point: 20 \(keys: 501 502 503 504 505\)' \
        "$CASE: the preview counts the 20 changed rows, with sample keys"
    like "$OUT" 'missing from production: 5 \(keys: 1001 1002 1003 1004 1005\)' \
        "$CASE: the preview counts the 5 missing rows, with their keys"
    like "$OUT" 'added since the restore point: 1, never touched \(keys: 3006\)' \
        "$CASE: the preview counts the row added since"
    like "$OUT" 'mode revert would insert 5 and revert 20' "$CASE: the preview says what revert would do"
    [ -n "${ROWS_OLD:-}" ] || unlike "$before_all" "^$(fp "$prod" "true")$" "$CASE: production changed"
    if [ "$mode" = missing ]; then
        is "$(fp "$prod" "id BETWEEN 501 AND 520")" "$corrupted" "$CASE: corrupted rows are left"
        like "$OUT" '5 inserted, 0 reverted, 0 deleted, 20 left alone' \
            "$CASE: the report says 20 changed rows were left alone"
    else
        is "$(fp "$prod" "id BETWEEN 501 AND 520")" "$(fp "$branch" "id BETWEEN 501 AND 520")" \
            "$CASE: corrupted rows are their restore-point values again"
        like "$OUT" '5 inserted, 20 reverted, 0 deleted, 0 left alone' "$CASE: the report counts them"
    fi
done

# the preview alone changes nothing (a runbook stopped at the confirmation)
CASE=preview
prod=$(copy_db rows_prev_p rows_base) || bail "$CASE: production" "copy failed"
sql "$prod" "$incident" >/dev/null
before_all=$(fp "$prod" "true")
home=$(pgdrill_home rows-preview)
OUT=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_HOME=$home DATABASE_URL=$prod timeout 60 \
    "$PGDRILL_BIN" run "$RB" --var branch_url="$branch" --var copy_mode=revert 2>&1 </dev/null)
RC=$?
if [ "$RC" != 0 ]; then
    ok "$CASE: without --yes the run stops at the confirmation"
else
    not_ok "$CASE: without --yes the run stops at the confirmation" "$OUT"
fi
is "$(fp "$prod" "true")" "$before_all" "$CASE: production is unchanged after the preview"
journal=$(find "$home" -name journal.jsonl | head -1)
if grep -q '"preview_changed"' "$journal" && grep -q '"preview_missing_keys"' "$journal" &&
    ! grep -q 'check_in_lat\|2025-' "$journal"; then
    ok "$CASE: the journal holds the preview's counts and keys, no row data"
else
    not_ok "$CASE: the journal holds the preview's counts and keys, no row data" "$(head -c 2000 "$journal")"
fi

# --- undo: a branch at the incident's end
CASE=undo
for del in no yes; do
    inc=$(copy_db "rows_undo_${del}_i" rows_base) || bail "$CASE: incident end" "copy failed"
    sql "$inc" "$incident;
                INSERT INTO visits (id, client_id, caregiver_id, scheduled_start, scheduled_end)
                OVERRIDING SYSTEM VALUE
                SELECT g, 1, 1, now(), now() + interval '1 hour' FROM generate_series(9001, 9003) g" >/dev/null
    prod=$(copy_db "rows_undo_${del}_p" "rows_undo_${del}_i") || bail "$CASE: production" "copy failed"
    # after the incident: the application edits two corrupted rows again, one
    # untouched row, one inserted row, and adds a visit
    sql "$prod" "UPDATE visits SET scheduled_end = scheduled_end + interval '5 min' WHERE id IN (501, 502, 77, 9003);
                 INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
                 VALUES (1, 1, now(), now() + interval '1 hour')" >/dev/null
    after_app=$(fp "$prod" "id IN (501, 502, 77, 9003) OR id > 3005 AND id < 9000")
    restore "undo-$del" "$prod" branch_url="$branch" incident_url="$inc" copy_mode=undo delete_inserted=$del
    is "$RC" 0 "$CASE ($del): the restore exits 0"
    is "$(fp "$prod" "id BETWEEN 1001 AND 1005")" "$(fp "$branch" "id BETWEEN 1001 AND 1005")" \
        "$CASE ($del): the incident's deletes are back exactly"
    is "$(fp "$prod" "id BETWEEN 503 AND 520")" "$(fp "$branch" "id BETWEEN 503 AND 520")" \
        "$CASE ($del): the incident's changes are reverted"
    is "$(fp "$prod" "id IN (501, 502, 77, 9003) OR id > 3005 AND id < 9000")" "$after_app" \
        "$CASE ($del): conflicts and the application's later edits and inserts are kept"
    like "$OUT" 'leave 3 conflicts \(keys: 501 502 9003\)' \
        "$CASE ($del): the preview lists the 3 conflicts (2 changed rows, 1 inserted row edited since)"
    if [ "$del" = no ]; then
        is "$(sql "$prod" "SELECT count(*) FROM visits WHERE id IN (9001, 9002)")" 2 \
            "$CASE ($del): the incident's inserts are kept"
        like "$OUT" 'keep 2 rows the incident inserted \(keys: 9001 9002\)' \
            "$CASE ($del): and listed"
        like "$OUT" 'visits \(undo\): 5 inserted, 18 reverted, 0 deleted, [0-9]+ left alone \(3 conflicts\)' \
            "$CASE ($del): the report counts inserted, reverted and conflicts"
    else
        is "$(sql "$prod" "SELECT count(*) FROM visits WHERE id IN (9001, 9002)")" 0 \
            "$CASE ($del): the incident's inserts are deleted when asked"
        like "$OUT" '5 inserted, 18 reverted, 2 deleted' "$CASE ($del): the report counts the deletes"
    fi
done

# --- fk: parents missing from production too
CASE=fk
prod=$(copy_db rows_fk_p rows_base) || bail "$CASE: production" "copy failed"
sql "$prod" "DELETE FROM visits WHERE client_id IN (3, 4); DELETE FROM clients WHERE id IN (3, 4)" >/dev/null
n_gone=$(sql "$branch" "SELECT count(*) FROM visits WHERE client_id IN (3, 4)")
before_all=$(fp "$prod" "true")
restore fk "$prod" branch_url="$branch"
if [ "$RC" = 1 ]; then ok "$CASE: the restore fails (exit 1)"; else not_ok "$CASE: the restore fails (exit 1)" "exit $RC" "$OUT"; fi
like "$OUT" "foreign key visits_client_id_fkey: $n_gone rows to restore reference 2 rows of clients that production lacks too: restore table clients first" \
    "$CASE: the preview names the parent table and how many parents are missing"
like "$OUT" 'restore the parent table first \(nothing changed\)' "$CASE: the apply refuses before any change"
is "$(fp "$prod" "true")" "$before_all" "$CASE: production is unchanged"
restore fk-parent "$prod" branch_url="$branch" table=clients
is "$RC" 0 "$CASE: restoring clients first succeeds"
restore fk-child "$prod" branch_url="$branch"
is "$RC" 0 "$CASE: then visits succeed"
is "$(fp "$prod" "true")" "$(fp "$branch" "true")" "$CASE: and production's visits equal the branch's"

# --- nokey: rows cannot be matched
CASE=nokey
for db in "$branch" "$prod"; do sql "$db" "CREATE TABLE IF NOT EXISTS notes_nokey (body text)" >/dev/null; done
restore nokey "$prod" branch_url="$branch" table=notes_nokey
like "$OUT" 'table notes_nokey has no primary key and no unique index on NOT NULL columns: rows cannot be matched, refused' \
    "$CASE: a table without a key is refused with a clear error"
if [ "$RC" != 0 ]; then ok "$CASE: and the run fails"; else not_ok "$CASE: and the run fails" "$OUT"; fi

# --- types: json (no equality operator), a dropped and a generated column
CASE=types
for db in "$branch" "$prod"; do
    sql "$db" "DROP TABLE IF EXISTS typed; CREATE TABLE typed (id int PRIMARY KEY, dropme int, j json,
               doubled int GENERATED ALWAYS AS (id * 2) STORED, t text);
               ALTER TABLE typed DROP COLUMN dropme;
               INSERT INTO typed (id, j, t) SELECT g, json_build_object('g', g), 'row ' || g
               FROM generate_series(1, 10) g" >/dev/null
done
sql "$prod" "DELETE FROM typed WHERE id IN (2, 3); UPDATE typed SET j = '{\"g\": 0}' WHERE id = 5" >/dev/null
restore types "$prod" branch_url="$branch" table=typed copy_mode=revert
is "$RC" 0 "$CASE: the restore exits 0"
like "$OUT" 'typed \(revert\): 2 inserted, 1 reverted' "$CASE: 2 rows inserted, the json change reverted"
is "$(sql "$prod" "SELECT string_agg(typed::text, ' ' ORDER BY id) FROM typed")" \
    "$(sql "$branch" "SELECT string_agg(typed::text, ' ' ORDER BY id) FROM typed")" \
    "$CASE: production's rows equal the branch's, generated column included"

# --- range: only the rows of the range, the values as parameters
CASE=range
prod=$(copy_db rows_range_p rows_base) || bail "$CASE: production" "copy failed"
lo=$(sql "$branch" "SELECT created_at FROM visits ORDER BY created_at, id OFFSET 100 LIMIT 1")
hi=$(sql "$branch" "SELECT created_at FROM visits ORDER BY created_at, id OFFSET 200 LIMIT 1")
sql "$prod" "DELETE FROM visits WHERE id IN (SELECT id FROM visits ORDER BY created_at, id LIMIT 300)" >/dev/null
in_range="created_at >= '$lo' AND created_at < '$hi'"
home=$(pgdrill_home rows-range)
OUT=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_HOME=$home DATABASE_URL=$prod timeout 60 "$PGDRILL_BIN" run "$RANGE_RB" \
    --var branch_url="$branch" --var range_start="$lo" --var range_end="$hi" --yes 2>&1 </dev/null)
is "$?" 0 "$CASE: the restore of a range exits 0"
is "$(fp "$prod" "$in_range")" "$(fp "$branch" "$in_range")" "$CASE: the range is back exactly"
is "$(sql "$prod" "SELECT count(*) FROM visits WHERE created_at < '$lo'")" 0 \
    "$CASE: deleted rows outside the range stay deleted"
before_all=$(fp "$prod" "true")
OUT=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_HOME=$home DATABASE_URL=$prod timeout 60 "$PGDRILL_BIN" run "$RANGE_RB" \
    --var branch_url="$branch" --var "range_start=2020-01-01'::timestamptz OR true; --" \
    --var range_end="$hi" --yes 2>&1 </dev/null)
RC=$?
if [ "$RC" != 0 ]; then ok "$CASE: a value with SQL in it fails"; else not_ok "$CASE: a value with SQL in it fails" "$OUT"; fi
like "$OUT" 'invalid input syntax for type timestamp with time zone' \
    "$CASE: as a bad timestamp: the value is a parameter, never SQL text"
is "$(fp "$prod" "true")" "$before_all" "$CASE: and nothing changed"

done_testing
