#!/bin/bash
# pitr-restore option B with copy_mode=undo against the sandbox Neon server:
# the runbook creates the recovery branch at T0 and a second branch at
# incident_end (T2), previews, copies, and deletes both branches. After an
# incident at T1 (deletes and a corrupting UPDATE) and the application's
# own work after T2 (an edit of a corrupted visit, an edit of an untouched
# one, new visits), exactly the incident is undone: its deletes are back,
# its changes reverted, the application's edits and inserts kept, the
# doubly-changed visit reported as a conflict and left as the application
# left it, and the application's next INSERT works.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup rows-undo

neon_seed_care_commons
export DATABASE_URL=$CARE_URL
now() { cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"; }
fp() { cc "SELECT count(*) || ':' || md5(string_agg(v::text, ',' ORDER BY id)) FROM visits v WHERE $1"; }

sleep 1.2
T0=$(now)
want_deleted=$(fp "id % 17 = 0")
want_corrupted=$(fp "id % 19 = 0 AND id % 17 <> 0 AND id <> 38")
sleep 1.2
# T1: the incident
cc "DELETE FROM visits WHERE id % 17 = 0;
    UPDATE visits SET scheduled_end = scheduled_end + interval '1 day' WHERE id % 19 = 0" >/dev/null
sleep 1.2
T2=$(now)
sleep 1.2
# after T2: the application edits a corrupted visit (38) and an untouched one (40), adds visits
LAST=$(cc "SELECT last_value FROM visits_id_seq")
cc "UPDATE visits SET checked_in_at = NULL, check_in_lat = NULL, check_in_lon = NULL WHERE id IN (38, 40);
    INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
    SELECT client_id, caregiver_id, now(), now() + interval '1 hour' FROM visits ORDER BY id LIMIT 3" >/dev/null
want_app=$(fp "id IN (38, 40) OR id > $LAST")

export PGDRILL_HOME=$W/home
"$PGDRILL_BIN" run "$TOP/runbooks/pitr-restore.md" --var "target_time=$T0" --var outcome_option=B \
    --var table=visits --var copy_mode=undo --var "incident_end=$T2" --yes >"$W/out" 2>&1
rc=$?
is "$rc" 0 "pitr-restore option B, copy_mode=undo, exits 0"
[ "$rc" = 0 ] || tail -40 "$W/out" | sed 's/^/# /'
is "$(fp "id % 17 = 0")" "$want_deleted" "the incident's deletes are back exactly"
is "$(fp "id % 19 = 0 AND id % 17 <> 0 AND id <> 38")" "$want_corrupted" \
    "the incident's changes are reverted"
is "$(fp "id IN (38, 40) OR id > $LAST")" "$want_app" \
    "the application's later edits and inserts are kept, the conflict left as it left it"
like "$(cat "$W/out")" "leave 1 conflicts \\(keys: 38\\)" "the preview lists the conflict"
like "$(cat "$W/out")" "visits \\(undo\\): [0-9]+ inserted, [0-9]+ reverted, 0 deleted, [0-9]+ left alone \\(1 conflicts\\)" \
    "the report counts it"
like "$(cat "$W/out")" "branch-create.*incident-end|created branch recovery-[0-9-]*-incident-end" \
    "a branch at incident_end was created"
next_id=$(cc "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
              VALUES (1, 1, now(), now() + interval '1 hour') RETURNING id" 2>&1)
like "$next_id" '^[0-9]+$' "the application's next INSERT works"
"$NT" cli action op=branch-absent name='recovery-*' >"$W/out.absent" 2>&1
is "$?" 0 "both branches are deleted afterwards"
contract_check 10
done_testing
