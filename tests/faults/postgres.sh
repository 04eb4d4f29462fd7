#!/bin/bash
# Fault matrix, PostgreSQL: the server restarted under a running check, the
# check's session terminated (pg_terminate_backend from a second
# connection), a statement timeout, a wrong password, the server down. A
# PostgreSQL 15 cluster of its own (sandbox/pg-cluster.sh), so restarting
# it disturbs no other test. Expected: exit 3 (the database failed, not a
# check), an error naming the check and the cause, the report not
# "passed", nothing after the failed step run, no password anywhere.
set -u
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/lib.sh"

PGC=$PGDRILL_TOP/sandbox/pg-cluster.sh
W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/faults-pg.XXXXXX")
chmod 0755 "$W"
BG=
cleanup() {
    [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null && wait "$BG" 2>/dev/null
    [ -f "$W/pg/PG_VERSION" ] && "$PGC" stop "$W/pg" >/dev/null 2>&1
    [ -n "${PGDRILL_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{ "$PGC" init "$W/pg" --fast && "$PGC" start "$W/pg"; } >"$W/pg.log" 2>&1 ||
    bail "setup" "postgresql did not start: $(tail -5 "$W/pg.log")"
"$PGC" psql "$W/pg" -qX -c "CREATE DATABASE care" >>"$W/pg.log" 2>&1 || bail "setup" "create database"
URL=$("$PGC" url "$W/pg" care)
PORT=$("$PGC" status "$W/pg" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
PW=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).password)' "$URL")
export DATABASE_URL=$URL PGCONNECT_TIMEOUT=3
RB=$PGDRILL_TOP/tests/faults/fixtures/slow-check.md
pgq() { "$PGC" psql "$W/pg" -qAtX -c "$1"; }
n=0

# run_bg MODE: the fixture drill in the background (BG) until its check runs
run_bg() {
    n=$((n + 1))
    H=$W/home$n
    mkdir -p "$W/w$n"
    PGDRILL_HOME=$H "$PGDRILL_BIN" run "$RB" --var mode="$1" --var work="$W/w$n" --yes \
        >"$W/run$n.out" 2>&1 &
    BG=$!
    for _ in $(seq 1 100); do
        [ -n "$(pgq "SELECT pid FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(10)%' AND pid <> pg_backend_pid()")" ] &&
            return 0
        sleep 0.05
    done
    return 1
}
finish_bg() {
    wait "$BG"
    BG_RC=$?
    BG=
}
report() { json_get "$H/drills/$(ls "$H/drills")/report.json" "$1"; }
no_secret() { ! grep -rqF "$PW" "$@"; }
ran_after() { [ -e "$W/w$n/after.count" ]; }

# ---- the server restarted mid-check --------------------------------------
run_bg hold || bail "setup" "the check did not start"
fact "the check was running" true
"$PGC" stop "$W/pg" >>"$W/pg.log" 2>&1
"$PGC" start "$W/pg" --port "$PORT" >>"$W/pg.log" 2>&1
finish_bg
fact_exit 3 "$BG_RC"
fact_msg "names the check and the shutdown" "$W/run$n.out" "slow-count.*(terminating connection due to administrator command|server closed the connection)"
fact "report outcome not passed" test "$(report outcome)" != passed
fact "the check is not passed in the report" test "$(report 'checks[name=slow-count].passed')" != true
fact "later steps did not run" sh -c "! test -e $W/w$n/after.count"
mkdir -p "$W/ok"
fact "server back: the next drill passes (exit 0)" env PGDRILL_HOME="$W/h-ok" "$PGDRILL_BIN" run "$RB" --var mode=quick --var work="$W/ok" --yes
fault_row "postgres restarted mid-check"

# ---- the session terminated mid-check ------------------------------------
run_bg hold || bail "setup" "the check did not start"
victim=$(pgq "SELECT pid FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(10)%' AND pid <> pg_backend_pid()")
fact "pg_terminate_backend from a second session" test "$(pgq "SELECT pg_terminate_backend($victim)")" = t
finish_bg
fact_exit 3 "$BG_RC"
fact_msg "names the check and the termination" "$W/run$n.out" "slow-count.*terminating connection due to administrator command"
fact "report outcome not passed" test "$(report outcome)" != passed
fact "later steps did not run" sh -c "! test -e $W/w$n/after.count"
fault_row "postgres session terminated mid-check (pg_terminate_backend)"

# ---- statement timeout ---------------------------------------------------
n=$((n + 1))
H=$W/home$n
mkdir -p "$W/w$n"
PGDRILL_HOME=$H "$PGDRILL_BIN" run "$RB" --var mode=timeout --var work="$W/w$n" --yes >"$W/run$n.out" 2>&1
fact_exit 3 $?
fact_msg "names the check and the 1 s timeout" "$W/run$n.out" "timed-count.*statement timeout after 1000ms"
fact "report outcome not passed" test "$(report outcome)" != passed
fact "later steps did not run" sh -c "! test -e $W/w$n/after.count"
fact "no session left behind" test "$(pgq "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%FROM pg_sleep(5)%' AND pid <> pg_backend_pid()")" = 0
fault_row "postgres statement timeout"

# ---- wrong password -----------------------------------------------------
BAD=${URL/:$PW@/:wrong-$PW@}
PGDRILL_HOME=$W/h-pw "$PGDRILL_BIN" check --url "$BAD" >"$W/pw.out" 2>&1
fact_exit 3 $?
fact_msg "names the server and the refusal" "$W/pw.out" "connect to .*127\.0\.0\.1.*$PORT.*password authentication failed for user \"pgdrill\""
fact "report outcome not passed" test "$(json_get "$(ls -d "$W"/h-pw/drills/*)/report.json" outcome)" != passed
fact "the password appears nowhere" no_secret "$W/pw.out" "$W/h-pw"
fault_row "postgres wrong password"

# ---- the server down -----------------------------------------------------
"$PGC" stop "$W/pg" >>"$W/pg.log" 2>&1
PGDRILL_HOME=$W/h-down "$PGDRILL_BIN" check >"$W/down.out" 2>&1
fact_exit 3 $?
fact_msg "names the server and the refusal" "$W/down.out" "connect to .*127\.0\.0\.1.*$PORT.*(refused|Connection refused)"
fact "the password appears nowhere" no_secret "$W/down.out" "$W/h-down" "$W"/run*.out
fault_row "postgres server down"
done_testing
