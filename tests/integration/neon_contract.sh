#!/bin/bash
# The Neon client against neon-sandbox through the validating proxy: every
# request and response validates against the OpenAPI document, branches are
# real point-in-time recoveries (exact rows at T0), 423 on a concurrent
# mutation, timestamps outside the window refused, state survives a restart,
# and deleting a branch stops and removes its cluster.
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup contract --page-size 2

# The application table, then T0, then damage at T1.
pgq "CREATE TABLE visits (id int PRIMARY KEY, client_id int NOT NULL, note text,
     created_at timestamptz NOT NULL DEFAULT now());
     INSERT INTO visits (id, client_id, note)
     SELECT g, g % 13, 'visit ' || g FROM generate_series(1, 300) g;"
sleep 1.2
T0=$(pgq "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
LSN0=$(pgq "SELECT pg_current_wal_insert_lsn()")
pgq "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/t0.rows"
sleep 1.2
pgq "DELETE FROM visits WHERE id % 7 = 0; UPDATE visits SET note = 'changed' WHERE id % 5 = 0;"
MAIN_COUNT=$(pgq "SELECT count(*) FROM visits")
diag "T0=$T0, main now has $MAIN_COUNT rows"

# project and branches
if "$NT" cli project >"$W/out.project" 2>"$W/err.project" &&
    [ "$(field history_retention_seconds "$W/out.project")" = 86400 ] &&
    [ "$(field pg_version "$W/out.project")" = 15 ]; then
    ok "project get: pg 15, history_retention_seconds 86400"
else
    notok "project get"
    sed 's/^/# /' "$W/out.project" "$W/err.project"
fi
"$NT" cli branches >"$W/out.branches" 2>&1
MAIN_ID=$(sed -n 's/^branch=\([^ ]*\) main default=1 .*/\1/p' "$W/out.branches")
check "branches list: one default branch main" [ -n "$MAIN_ID" -a "$(field count "$W/out.branches")" = 1 ]
check "find the default branch and main by name" [ "$("$NT" cli find 2>/dev/null | field id /dev/stdin)" = "$MAIN_ID" -a \
    "$("$NT" cli find main 2>/dev/null | field id /dev/stdin)" = "$MAIN_ID" ]

# the client refuses a point in the future before any call
posts=$(seen POST '/branches$')
"$NT" cli create bad --timestamp 2099-01-01T00:00:00Z >"$W/out.future" 2>"$W/err.future"
rc=$?
if [ $rc = 2 ] && grep -q '^error: neon: restore point 2099-01-01T00:00:00Z is in the future (now is ' "$W/err.future" &&
    [ "$(seen POST '/branches$')" = "$posts" ]; then
    ok "pre-check: a future restore point is refused before any api call (exit 2)"
else
    notok "pre-check: future restore point (rc=$rc)"
    sed 's/^/# /' "$W/err.future"
fi

# the server refuses a point before its base backup, as neon refuses one outside the window
EARLY=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
"$NT" cli create early --timestamp "$EARLY" >"$W/out.early" 2>"$W/err.early"
rc=$?
if [ $rc = 3 ] && grep -q "HTTP 400: parent_timestamp $EARLY is outside the history retention window: the earliest restorable time is " "$W/err.early"; then
    ok "sandbox: a timestamp before the base backup is refused with 400 (exit 3)"
else
    notok "sandbox: early timestamp (rc=$rc)"
    sed 's/^/# /' "$W/err.early"
fi

# PITR: a branch at T0 holds exactly the T0 rows
REC_NAME="recovery-$(date -u +%Y-%m-%d-%H%M)"
if "$NT" cli create "$REC_NAME" --timestamp "$T0" >"$W/out.create" 2>"$W/err.create"; then
    REC_ID=$(field id "$W/out.create")
    ok "create branch $REC_NAME at T0: operations finished"
else
    REC_ID=""
    notok "create branch at T0"
    sed 's/^/# /' "$W/err.create" "$W/sandbox.log" | tail -30
fi
"$NT" cli uri "$REC_ID" postgres pgdrill >"$W/uri.create" 2>"$W/err.uri"
REC_URI=$(field uri "$W/uri.create")
if [ -n "$REC_URI" ] && psql "$REC_URI" -qAtX -c "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/rec.rows" 2>"$W/err.psql" &&
    cmp -s "$W/t0.rows" "$W/rec.rows"; then
    ok "pitr: the recovery branch holds exactly the $(wc -l <"$W/t0.rows") rows of T0, row by row"
else
    notok "pitr: recovery branch rows differ from T0"
    diff "$W/t0.rows" "$W/rec.rows" 2>&1 | head -10 | sed 's/^/# /'
    sed 's/^/# /' "$W/err.uri" "$W/err.psql"
fi
check "pitr: main still lacks the deleted rows" [ "$(pgq 'SELECT count(*) FROM visits')" = "$MAIN_COUNT" -a "$MAIN_COUNT" -lt 300 ]
check "pitr: the recovery branch is a promoted cluster on its own port" \
    [ "$(psql "$REC_URI" -qAtX -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]

# a second mutation while one runs: 423, and the client's retry gets through
"$NT" cli create head-a --no-wait >"$W/out.heada" 2>"$W/err.heada"
code=$(curl -s -o "$W/out.423" -w '%{http_code}' -X POST -H "Authorization: Bearer $NEON_API_KEY" \
    -H 'Content-Type: application/json' -d '{"branch":{"name":"head-b"}}' \
    "$NEON_API_HOST/projects/$NEON_PROJECT_ID/branches")
if [ "$code" = 423 ] && grep -q '"message":"project already has running conflicting operations, scheduling of new ones is prohibited"' "$W/out.423" &&
    grep -q '"request_id":"' "$W/out.423"; then
    ok "conflict: a mutation during a running operation gets 423 with neon's message"
else
    notok "conflict: got HTTP $code"
    sed 's/^/# /' "$W/out.423"
fi
if "$NT" cli create head-b >"$W/out.headb" 2>"$W/err.headb"; then
    HEADB_ID=$(field id "$W/out.headb")
    ok "conflict: the client retries the 423 until the running operation finished"
else
    HEADB_ID=""
    notok "conflict: client create after 423"
    sed 's/^/# /' "$W/err.headb"
fi
HEADA_ID=$(field id "$W/out.heada")

# rename, set as default and back, endpoints, databases, roles
"$NT" cli rename "$HEADB_ID" renamed-b >"$W/out.rename" 2>&1
check "rename branch" [ "$(field name "$W/out.rename")" = renamed-b ]
"$NT" cli set-default "$HEADB_ID" >"$W/out.default" 2>&1
"$NT" cli branches >"$W/out.branches2" 2>&1
if [ "$(field default "$W/out.default")" = 1 ] && grep -q "^branch=$MAIN_ID main default=0" "$W/out.branches2" &&
    [ "$(field count "$W/out.branches2")" = 4 ]; then
    ok "set as default moves the flag; list follows pagination.next over 2 pages"
else
    notok "set as default / paginated list"
    sed 's/^/# /' "$W/out.default" "$W/out.branches2"
fi
"$NT" cli set-default "$MAIN_ID" >/dev/null 2>&1
"$NT" cli endpoints >"$W/out.eps" 2>&1
"$NT" cli endpoints "$REC_ID" >"$W/out.eps1" 2>&1
check "endpoints list: project-wide 4, per branch 1 active" \
    [ "$(field count "$W/out.eps")" = 4 -a "$(field count "$W/out.eps1")" = 1 -a \
    "$(grep -c ' read_write active$' "$W/out.eps1")" = 1 ]
REC_EP=$(sed -n 's/^endpoint=\([^ ]*\) .*/\1/p' "$W/out.eps1")
"$NT" cli endpoint-start "$REC_EP" >"$W/out.start" 2>&1
check "endpoint start: operations finish" [ "$(field endpoint "$W/out.start")" = "$REC_EP" ]
"$NT" cli databases "$MAIN_ID" >"$W/out.dbs" 2>&1
"$NT" cli roles "$REC_ID" >"$W/out.roles" 2>&1
check "databases and roles come from the real clusters" \
    grep -qx 'database=postgres owner=pgdrill' "$W/out.dbs"
check "roles list" grep -qx 'role=pgdrill' "$W/out.roles"

# restore in place from main at T0, keeping the old state under a name
pgq "INSERT INTO visits (id, client_id) VALUES (1000, 1)"
if "$NT" cli restore "$HEADB_ID" "$MAIN_ID" --timestamp "$T0" --preserve renamed-b-old >"$W/out.restore" 2>"$W/err.restore"; then
    "$NT" cli uri "$HEADB_ID" postgres pgdrill >"$W/uri.restore" 2>&1
    psql "$(field uri "$W/uri.restore")" -qAtX -c "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/restore.rows" 2>&1
    OLD_ID=$(field parent_id "$W/out.restore")
    "$NT" cli branch "$OLD_ID" >"$W/out.old" 2>&1
    if cmp -s "$W/t0.rows" "$W/restore.rows" && [ "$(field name "$W/out.old")" = renamed-b-old ]; then
        ok "restore: the branch holds the T0 rows; its old state is kept as renamed-b-old"
    else
        notok "restore: rows or preserved branch wrong"
        sed 's/^/# /' "$W/out.restore" "$W/out.old"
    fi
else
    OLD_ID=""
    notok "restore branch"
    sed 's/^/# /' "$W/err.restore"
fi

# the runbook action layer: parent by name, T0 checked first, saved id/name/host/uri
if "$NT" cli action op=branch-create parent=main name=act-t0 timestamp="$T0" database=postgres role=pgdrill >"$W/out.act" 2>"$W/err.act" &&
    [ "$(psql "$(field uri "$W/out.act")" -qAtX -c 'SELECT count(*) FROM visits' 2>/dev/null)" = 300 ] &&
    [ "$(field host "$W/out.act")" = 127.0.0.1 ] &&
    field shown_uri "$W/out.act" | grep -q '^postgresql://pgdrill:\*\*\*\*\*\*\*\*@127\.0\.0\.1:[0-9]*/postgres$' &&
    [ "$(field summary "$W/out.act")" = "created branch act-t0 ($(field id "$W/out.act")) from main at $T0" ]; then
    ok "action branch-create: saves id, name, host and a uri shown only masked"
else
    notok "action branch-create"
    sed 's/^/# /' "$W/out.act" "$W/err.act" | grep -v '^# uri='
fi
"$NT" cli action op=branch-delete branch=act-t0 >"$W/out.actdel" 2>&1
check "action branch-delete by name" [ "$(field summary "$W/out.actdel")" = "deleted branch act-t0 ($(field id "$W/out.act"))" ]

# a branch at an LSN (recovery_target_lsn) holds the same rows
if "$NT" cli action op=branch-create name=at-lsn lsn="$LSN0" database=postgres role=pgdrill >"$W/out.lsn" 2>"$W/err.lsn" &&
    psql "$(field uri "$W/out.lsn")" -qAtX -c "COPY (SELECT * FROM visits ORDER BY id) TO STDOUT" >"$W/lsn.rows" 2>&1 &&
    cmp -s "$W/t0.rows" "$W/lsn.rows"; then
    ok "pitr at lsn $LSN0: the branch holds exactly the T0 rows"
else
    notok "pitr at lsn $LSN0"
    sed 's/^/# /' "$W/err.lsn" | tail -5
fi
"$NT" cli action op=branch-delete branch=at-lsn >/dev/null 2>&1

# state survives a restart of the sandbox (and the branch computes come back)
stop_sandbox
start_sandbox
"$NT" cli uri "$REC_ID" postgres pgdrill >"$W/uri.again" 2>&1
if [ "$(psql "$(field uri "$W/uri.again")" -qAtX -c 'SELECT count(*) FROM visits' 2>/dev/null)" = 300 ] &&
    "$NT" cli branch "$REC_ID" 2>/dev/null | grep -qx "name=$REC_NAME"; then
    ok "restart: branches and their computes survive a sandbox restart"
else
    notok "restart: state lost"
    tail -5 "$W/sandbox.log" | sed 's/^/# /'
fi

# delete: the cluster is stopped and its files removed; a second delete is a 204
REC_DIR=$W/state/branches/$REC_ID
REC_PID=$(head -n 1 "$REC_DIR/postmaster.pid" 2>/dev/null)
if "$NT" cli delete "$REC_ID" >"$W/out.delete" 2>&1 && [ "$(field gone "$W/out.delete")" = 0 ] &&
    [ ! -e "$REC_DIR" ] && [ -n "$REC_PID" ] && pid_gone "$REC_PID"; then
    ok "delete: the branch cluster (pid $REC_PID) is stopped and its directory removed"
else
    notok "delete branch (pid '$REC_PID', dir $(ls -d "$REC_DIR" 2>/dev/null))"
    sed 's/^/# /' "$W/out.delete"
fi
"$NT" cli delete "$REC_ID" >"$W/out.delete2" 2>&1
check "delete again: HTTP 204, already gone" [ "$(field gone "$W/out.delete2")" = 1 ]
"$NT" cli branch "$REC_ID" >/dev/null 2>"$W/err.gone"
rc=$?
check "get a deleted branch: exit 3 with status, message and request id" [ $rc = 3 -a \
    -n "$(grep "^error: neon: GET /projects/$NEON_PROJECT_ID/branches/$REC_ID: HTTP 404: branch $REC_ID not found (request_id [0-9a-f-]*)$" "$W/err.gone")" ]
"$NT" cli delete "$MAIN_ID" >/dev/null 2>"$W/err.delmain"
check "the default branch cannot be deleted" grep -q "HTTP 400: cannot delete the default branch $MAIN_ID" "$W/err.delmain"
for b in "$HEADB_ID" "$OLD_ID" "$HEADA_ID"; do
    [ -n "$b" ] && "$NT" cli delete "$b" >/dev/null 2>&1
done
check "clean-up: no branch cluster left" [ -z "$(ls -A "$W/state/branches")" ]

n_ops=$(curl -s -H "Authorization: Bearer $NEON_API_KEY" "$NEON_API_HOST/projects/$NEON_PROJECT_ID/operations" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["operations"]))')
check "operations list: every operation of the session, validated" [ "${n_ops:-0}" -ge 8 ]
contract_check 40
key_check
done_testing
