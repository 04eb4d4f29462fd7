#!/bin/bash
# Test services for `make check` (called by tests/run.sh):
#
#   tests/services.sh start WORKDIR   start them; prints export lines on stdout
#   tests/services.sh stop WORKDIR    stop exactly what start started
#
# Today that is one PostgreSQL 15 cluster in WORKDIR/pg (sandbox/pg-cluster.sh:
# loopback only, run as an unprivileged user, no fsync) with an empty
# database `pgdrill_test`. start prints:
#
#   export PGDRILL_TEST_PGURL='postgresql://pgdrill:PASSWORD@127.0.0.1:PORT/pgdrill_test'
#   export PGDRILL_TEST_PGDIR='WORKDIR/pg'
#   export PGDRILL_TEST_PGPORT='PORT'
#
# Diagnostics go to stderr. When start fails it stops whatever it had
# started and exits 1.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
PGC=$TOP/sandbox/pg-cluster.sh
PG_BIN=${PGDRILL_PG_BIN:-/usr/lib/postgresql/15/bin}
TEST_DB=pgdrill_test

die() {
    printf 'services: %s\n' "$*" >&2
    exit 1
}

start() {
    local work=$1 dir url port out
    [ -d "$work" ] || die "no directory $work"
    work=$(realpath -- "$work")
    dir=$work/pg
    if [ -e "$dir" ]; then
        die "$dir exists: stop and remove the previous services first"
    fi
    # The cluster runs as another user when we are root: it must reach WORKDIR.
    chmod go+x "$work"
    # From here on, any failure stops what was started.
    trap 'echo "services: start failed: stopping what was started" >&2
          stop "$work" >/dev/null 2>&1 || true' ERR
    "$PGC" init "$dir" --fast >&2
    "$PGC" start "$dir" >&2
    "$PGC" psql "$dir" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $TEST_DB" >&2
    url=$("$PGC" url "$dir" "$TEST_DB")
    port=$("$PGC" status "$dir" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
    [ -n "$port" ] || die "cannot read the port of $dir"
    # Prove the URL works the way the tests will use it: TCP with the password.
    if ! out=$(PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -tA -c 'SELECT 1' "$url" 2>&1) ||
        [ "$out" != 1 ]; then
        die "cannot connect to the test database over TCP: $out"
    fi
    trap - ERR
    printf "export PGDRILL_TEST_PGURL='%s'\n" "$url"
    printf "export PGDRILL_TEST_PGDIR='%s'\n" "$dir"
    printf "export PGDRILL_TEST_PGPORT='%s'\n" "$port"
}

stop() {
    local work=$1 dir
    dir=$work/pg
    # Nothing was started (or start failed before initdb): nothing to stop.
    [ -f "$dir/PG_VERSION" ] || return 0
    "$PGC" stop "$dir" >&2
}

case ${1:-} in
start | stop)
    [ $# -eq 2 ] || die "usage: services.sh $1 WORKDIR"
    "$1" "$2"
    ;;
*)
    die "usage: services.sh start|stop WORKDIR"
    ;;
esac
