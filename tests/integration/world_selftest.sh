#!/bin/bash
# The incident world's own test (tests/integration/world_lib.sh), on a
# database of the test cluster: the writer inserts, checks in and edits in
# separate transactions, logs a reconnect when its connection is cut and
# stops by PID leaving nothing behind; each incident does what it says; and
# the fingerprints tell a right restore from a wrong one: a deleted row not
# back, a corrupted row not reverted, a writer's row lost, a sequence moved
# back (the writer's next insert then collides). The restores here are done
# by hand in SQL from copies taken at the restore point and at the incident's
# end, so that this test depends on no drill.
set -u
# shellcheck source=tests/integration/world_lib.sh
. "$(dirname "$0")/world_lib.sh"

world_db world_self
world_writer_start
sleep 1.5

# copy TABLE SUFFIX: a copy of TABLE in the same database (world_t0_visits),
# the hand restore's source
copy() { sql "$DATABASE_URL" "DROP TABLE IF EXISTS world_$2_$1; CREATE TABLE world_$2_$1 AS SELECT * FROM $1" >/dev/null; }
# has LINES REGEX: LINES (world_verify_lines output) has a line matching REGEX
has() { grep -qE -- "$2" <<<"$1"; }

# ---- the writer -----------------------------------------------------------------
phase=$(world_writer_phase 0)
n_ins=$(json_eval <(printf '%s' "$phase") 'd["inserts"]')
n_edit=$(json_eval <(printf '%s' "$phase") 'd["edits"]')
check "the writer inserts visits ($n_ins in 1.5 s)" [ "$n_ins" -ge 1 ]
check "and checks in or edits them ($n_edit)" [ "$n_edit" -ge 1 ]
is "$(json_eval <(printf '%s' "$phase") '"; ".join(d["errors"])')" "" "without an error"
own=$(sql "$DATABASE_URL" "SELECT count(*) FROM visits WHERE id > 3005")
check "its inserts took ids from the identity sequence ($own visits above the seed's 3005)" \
    [ "$own" -ge 1 ]
from=$(world_writer_mark)
sql "$DATABASE_URL" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'world-writer'" >/dev/null
sleep 1.2
phase=$(world_writer_phase "$from")
is "$(json_eval <(printf '%s' "$phase") 'd["reconnects"]')" 1 \
    "a cut connection: the writer logs one reconnect"
check "and goes on inserting" [ "$(json_eval <(printf '%s' "$phase") 'd["inserts"]')" -ge 1 ]

# ---- delete and corrupt, then restores by hand -------------------------------------
world_case both
world_restore_point
copy visits t0
world_incident both copy visits t1
deleted=$(json_eval "$C/incident.json" 'len(d["deleted"]["visits"])')
changed=$(json_eval "$C/incident.json" 'len(d["changed"]["visits"])')
check "the incident deleted a day range of visits ($deleted, $RANGE_START to $RANGE_END)" \
    [ "$deleted" -ge 20 ]
check "and corrupted a few hundred ($changed)" [ "$changed" -ge 200 ]
is "$(sql "$DATABASE_URL" "SELECT count(*) FROM visits WHERE created_at >= '$RANGE_START' AND created_at < '$RANGE_END'")" \
    0 "no visit is left in the range"

lines=$(world_verify_lines missing visits)
check "before any restore, the fingerprints miss the deleted rows" \
    has "$lines" $'^not ok\tvisits: deleted rows are back exactly'
# missing, by hand: the rows whose key is gone
world_writer_mode own
sql "$DATABASE_URL" "INSERT INTO visits SELECT * FROM world_t0_visits WHERE id NOT IN (SELECT id FROM visits)" >/dev/null
lines=$(world_verify_lines missing visits)
check "a right missing restore passes every check" no_failure "$lines"
has "$lines" $'^ok\tvisits: missing mode leaves the corrupted rows untouched' &&
    has "$lines" $'^ok\tvisits: deleted rows are back exactly' &&
    has "$lines" $'^ok\tvisits: every row the writer created after the restore point is there'
is "$?" 0 "  its checks: deleted rows back, corrupted untouched, the writer's rows there"
conflicts=$(world_fact visits.conflicts)
like "$conflicts" '^\[[0-9]+, [0-9]+' "the writer edited rows the incident corrupted: conflicts $conflicts"
check "revert mode sees the corrupted rows as not reverted" \
    has "$(world_verify_lines revert visits)" $'^not ok\tvisits: corrupted rows are exactly their restore-point values'

# undo, by hand: rows production still holds as at the incident's end go back to T0
world_writer_mode own
sql "$DATABASE_URL" "UPDATE visits v SET caregiver_id = t0.caregiver_id
    FROM world_t0_visits t0, world_t1_visits t1
    WHERE t0.id = v.id AND t1.id = v.id AND md5(t1::text) <> md5(t0::text) AND md5(v::text) = md5(t1::text)" >/dev/null
lines=$(world_verify_lines undo visits)
check "a right undo passes every check" no_failure "$lines"
has "$lines" $'^ok\tvisits: a row both the incident and the writer changed is left as the writer left it' &&
    has "$lines" $'^ok\tvisits: undo keeps every edit the writer made after the incident'
is "$?" 0 "  its checks: conflicts left as the writer left them, the writer's edits kept"

# a wrong undo that also reverts the conflicts: caught
world_writer_mode own
sql "$DATABASE_URL" "UPDATE visits v SET caregiver_id = t0.caregiver_id, scheduled_end = t0.scheduled_end,
    updated_at = t0.updated_at FROM world_t0_visits t0 WHERE t0.id = v.id AND v.id IN ($(world_fact visits.conflicts | tr -d '[] '))" >/dev/null
check "an undo that overwrites the writer's edits of conflicting rows is caught" \
    has "$(world_verify_lines undo visits)" $'^not ok\tvisits: a row both the incident and the writer changed'
check "and revert mode expects exactly that for the writer's edits" \
    has "$(world_verify_lines revert visits)" $'^not ok\tvisits: revert puts the rows the writer edited back'

# a restore that loses a writer's row and moves the sequence back (pg_dump's setval)
world_writer_mode own
victim=$(sql "$DATABASE_URL" "SELECT max(id) FROM visits")
sql "$DATABASE_URL" "DELETE FROM visits WHERE id = $victim" >/dev/null
lines=$(world_verify_lines missing visits)
check "a writer's row lost by the restore is caught (visit $victim)" \
    has "$lines" $'^not ok\tvisits: every row the writer created after the restore point'
sql "$DATABASE_URL" "SELECT setval(pg_get_serial_sequence('visits', 'id'), $(json_get "$C/s0.json" seq.visits))" >/dev/null
lines=$(world_verify_lines missing visits)
check "a sequence moved back is caught" has "$lines" $'^not ok\tidentity sequences'
from=$(world_writer_mark)
world_writer_mode insert
sleep 1
world_writer_mode pause
like "$(world_writer_phase "$from")" '23505 duplicate key value violates unique constraint' \
    "then the application's next insert collides (duplicate key), as in issue 12 point 1"

# ---- clients with their visits ---------------------------------------------------
world_case cascade
sql "$DATABASE_URL" "SELECT setval(pg_get_serial_sequence('visits', 'id'), (SELECT max(id) FROM visits))" >/dev/null
world_restore_point
copy visits t0
copy clients t0
world_incident cascade
clients=$(json_eval "$C/incident.json" 'len(d["deleted"]["clients"])')
visits=$(json_eval "$C/incident.json" 'd["cascaded_visits"]')
check "the cascade incident deleted clients ($clients) and their visits went with them ($visits)" \
    [ "$clients" -ge 3 ] && [ "$visits" -ge 10 ]
world_writer_mode own
sql "$DATABASE_URL" "INSERT INTO clients SELECT * FROM world_t0_clients WHERE id NOT IN (SELECT id FROM clients)" >/dev/null
lines=$(world_verify_lines missing clients visits)
check "with the clients back but not their visits, the visits are missed" \
    has "$lines" $'^not ok\tvisits: deleted rows are back exactly'
world_writer_mode own
sql "$DATABASE_URL" "INSERT INTO visits SELECT * FROM world_t0_visits WHERE id NOT IN (SELECT id FROM visits)" >/dev/null
lines=$(world_verify_lines missing clients visits)
check "with both back, every check passes" no_failure "$lines"
has "$lines" $'^ok\tclients: deleted rows are back exactly' &&
    has "$lines" $'^ok\tvisits: deleted rows are back exactly' &&
    has "$lines" $'^ok\tusers: not restored, so exactly as the incident and the writer left it'
is "$?" 0 "  clients and visits are back; the other tables were left alone"
world_next_inserts

# ---- whole (option A): the database as at T0 ------------------------------------
world_case whole
world_restore_point
copy visits t0
world_incident delete-range
check "whole mode: before the restore, the lost rows are missed" \
    has "$(world_verify_lines whole)" $'^not ok\tvisits: every row is back exactly'
# option A by hand: every visit of T0 as it was, the writer's since kept
world_writer_mode own
sql "$DATABASE_URL" "INSERT INTO visits SELECT * FROM world_t0_visits WHERE id NOT IN (SELECT id FROM visits);
    UPDATE visits v SET (client_id, caregiver_id, scheduled_start, scheduled_end, check_in_lat,
        check_in_lon, checked_in_at, created_at, updated_at) = (t0.client_id, t0.caregiver_id,
        t0.scheduled_start, t0.scheduled_end, t0.check_in_lat, t0.check_in_lon, t0.checked_in_at,
        t0.created_at, t0.updated_at)
    FROM world_t0_visits t0 WHERE t0.id = v.id" >/dev/null
lines=$(world_verify_lines whole)
check "whole mode: T0 restored, the writer's later rows kept: every check passes" \
    no_failure "$lines"

pid=$WORLD_WRITER_PID
world_writer_stop
pid_running "$pid"
is "$?" 1 "the writer stops by PID"
like "$(tail -n 1 "$W/writer/writer.jsonl")" '"event": "stop"' "and logs that it stopped"
pgrep -f "world.py writer $W/writer" >/dev/null
is "$?" 1 "no writer process is left"
sql "$(db_url postgres)" "DROP DATABASE IF EXISTS world_self WITH (FORCE)" >/dev/null
done_testing
