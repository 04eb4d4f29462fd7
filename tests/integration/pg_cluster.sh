#!/bin/bash
# sandbox/pg-cluster.sh against itself: a second cluster with WAL archiving,
# next to the test cluster tests/services.sh started. Proves init, start,
# status, url, archiving, a refused wrong password, and that stop ends that
# cluster and only that one, leaving no process behind.
set -u
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"
require_env PGDRILL_TEST_WORK PGDRILL_TEST_PGDIR PGDRILL_TEST_PGURL

PGC=$PGDRILL_TOP/sandbox/pg-cluster.sh
base=$(mktemp -d "$PGDRILL_TEST_WORK/pgc.XXXXXX")
chmod 0755 "$base"
dir=$base/c2
archive=$base/archive
main_pid=$(head -n 1 "$PGDRILL_TEST_PGDIR/postmaster.pid")
stranger=""
cleanup() {
    "$PGC" stop "$dir" >/dev/null 2>&1
    [ -n "$stranger" ] && kill "$stranger" 2>/dev/null
    rm -rf "$base"
}
trap cleanup EXIT

# Processes whose working directory is DIR: a postmaster and its children.
procs_in() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/cwd" 2>/dev/null)" = "$1" ] || continue
        grep -q '^State:[[:space:]]*Z' "$p/status" 2>/dev/null && continue
        printf '%s ' "${p#/proc/}"
    done
}

# init
out=$("$PGC" init "$dir" --archive "$archive" --fast 2>&1)
is "$?" 0 "init with archiving exits 0"
check "init created a data directory" test -f "$dir/PG_VERSION"
is "$(stat -c %a "$dir")" 700 "data directory is 0700"
if [ "$(id -u)" = 0 ]; then
    is "$(stat -c %U "$dir")" pgdrill "as root, the data directory belongs to user pgdrill"
    is "$(stat -c %U "$archive")" pgdrill "as root, the archive directory belongs to user pgdrill"
fi
out=$("$PGC" init "$dir" 2>&1)
is "$?" 1 "init on an existing cluster fails"
is "$out" "pg-cluster: $dir already holds a cluster" "init on an existing cluster says why"
out=$("$PGC" status "$dir" 2>&1)
is "$?" 3 "status before start exits 3"
is "$out" "stopped dir=$dir" "status before start says stopped"
out=$("$PGC" status "$base/none" 2>&1)
is "$?" 4 "status of a directory without a cluster exits 4"

# start
"$PGC" start "$dir" 2>/dev/null
is "$?" 0 "start exits 0"
st=$("$PGC" status "$dir")
like "$st" "^running pid=[0-9]+ port=[0-9]+ dir=$dir\$" "status says running with pid and port"
pid=$(printf '%s\n' "$st" | sed -n 's/.* pid=\([0-9]*\) .*/\1/p')
port=$(printf '%s\n' "$st" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
is "$(head -n 1 "$dir/postmaster.pid")" "$pid" "status pid is the postmaster.pid pid"
is "$(readlink "/proc/$pid/cwd")" "$dir" "that pid is a postmaster of the new cluster"
unlike "$pid" "^$main_pid\$" "the new cluster is not the test cluster"
check "unix socket inside the data directory" test -S "$dir/.s.PGSQL.$port"

url=$("$PGC" url "$dir")
is "$url" "postgresql://pgdrill:$(sed -n 's/^password=//p' "$dir/pgdrill-cluster.env")@127.0.0.1:$port/postgres" \
    "url gives the superuser on loopback"
is "$(sql "$url" "SELECT current_user || ' ' || rolsuper FROM pg_roles WHERE rolname = current_user")" \
    "pgdrill true" "the url connects over TCP as a superuser"
is "$(sql "$url" "SHOW listen_addresses")" "127.0.0.1" "listens on loopback only"
is "$(sql "$("$PGC" url "$dir" postgres --socket)" "SELECT inet_server_addr() IS NULL")" "t" \
    "the --socket url connects through the unix socket"
bad=${url/:$(sed -n 's/^password=//p' "$dir/pgdrill-cluster.env")@/:wrong-password@}
out=$(sql "$bad" "SELECT 1" 2>&1)
like "$out" 'password authentication failed for user "pgdrill"' "a wrong password is refused"

out=$("$PGC" start "$dir" 2>&1)
is "$out" "pg-cluster: $dir is already running (pid $pid, port $port)" "start on a running cluster is a no-op"
is "$(head -n 1 "$dir/postmaster.pid")" "$pid" "and keeps the same postmaster"

# WAL archiving
is "$(sql "$url" "SHOW archive_mode")" "on" "archive_mode is on"
seg=$(sql "$url" "CREATE TABLE t AS SELECT generate_series(1, 1000) AS x;
                  SELECT pg_walfile_name(pg_current_wal_lsn())")
sql "$url" "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 1 100); do
    [ -f "$archive/$seg" ] && break
    sleep 0.1
done
check "the switched WAL segment $seg is in the archive" test -f "$archive/$seg"

# stop ends this cluster only
children=$(procs_in "$dir")
like "$children" "^([0-9]+ ){3,}$" "the cluster runs a postmaster and its children"
"$PGC" stop "$dir" 2>/dev/null
is "$?" 0 "stop exits 0"
check "the postmaster is gone" sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status"
is "$(procs_in "$dir")" "" "no process of the stopped cluster is left"
check "no postmaster.pid after stop" test ! -e "$dir/postmaster.pid"
check "the test cluster still runs" kill -0 "$main_pid"
is "$(sql "$PGDRILL_TEST_PGURL" "SELECT 1")" 1 "the test cluster still answers"
out=$("$PGC" status "$dir" 2>&1)
is "$?" 3 "status after stop exits 3"
out=$("$PGC" stop "$dir" 2>&1)
is "$?:$out" "0:pg-cluster: $dir is not running" "stop of a stopped cluster is a no-op"

# A stale postmaster.pid naming a live process that is not this cluster's
# postmaster (a reused PID): status must not believe it, stop must not
# signal it, start must replace it.
sleep 300 &
stranger=$!
printf '%s\n%s\n' "$stranger" "$dir" >"$dir/postmaster.pid"
out=$("$PGC" status "$dir" 2>&1)
is "$?" 3 "a stale pid file naming another process reads as stopped"
"$PGC" stop "$dir" >/dev/null 2>&1
check "stop does not signal the process a stale pid file names" kill -0 "$stranger"

# Restart on a port we choose.
for _ in 1 2 3 4 5; do
    # below the ephemeral range (32768-60999), where a client socket on
    # the port would make the bind fail although nothing listens there
    want=$((20000 + RANDOM % 8000))
    (exec 3<>"/dev/tcp/127.0.0.1/$want") 2>/dev/null || break
done
"$PGC" start "$dir" --port "$want" 2>/dev/null
is "$?" 0 "start over a stale pid file, on a given port"
is "$(sql "$("$PGC" url "$dir")" "SELECT current_setting('port') || ' ' || count(*) FROM t")" "$want 1000" \
    "restarted cluster listens on the given port and kept its data"
pid2=$(head -n 1 "$dir/postmaster.pid")
unlike "$pid2" "^$pid\$" "the restart has a new postmaster"
"$PGC" stop "$dir" 2>/dev/null
is "$(procs_in "$dir")" "" "second stop leaves no process"
check "the test cluster survived both stops" kill -0 "$main_pid"

# adopt: a copy of the stopped cluster runs next to the original, without
# archiving into the original's archive.
copy=$base/c3
cp -a "$dir" "$copy"
"$PGC" adopt "$copy" 2>/dev/null
is "$?" 0 "adopt a copy of a stopped cluster"
"$PGC" start "$dir" 2>/dev/null && "$PGC" start "$copy" 2>/dev/null
is "$?" 0 "the original and the copy start side by side"
curl_copy=$("$PGC" url "$copy")
orig_port=$("$PGC" status "$dir" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')
like "$orig_port" '^[0-9]+$' "the original runs again"
unlike "$curl_copy" ":$orig_port/" "the copy got its own port"
is "$(sql "$curl_copy" "SELECT count(*) || ' ' || current_setting('archive_mode') FROM t")" "1000 off" \
    "the copy has the data and does not archive"
is "$(sql "$curl_copy" "SHOW unix_socket_directories")" "$copy" "the copy's socket is in its own directory"
copy_pid=$(head -n 1 "$copy/postmaster.pid")
"$PGC" stop "$copy" 2>/dev/null
is "$(procs_in "$copy")" "" "stopping the copy leaves none of its processes"
check "stopping the copy leaves the original running" kill -0 "$(head -n 1 "$dir/postmaster.pid")"
check "the copy's postmaster is gone" sh -c "! kill -0 $copy_pid 2>/dev/null || grep -q '^State:.*Z' /proc/$copy_pid/status"
"$PGC" stop "$dir" 2>/dev/null
is "$(procs_in "$dir")" "" "and the original stops too"

done_testing
