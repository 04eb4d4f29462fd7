#!/bin/bash
# pg-cluster.sh — one local PostgreSQL 15 cluster in a directory, for the
# tests, `make demo` and the sandbox.
#
#   pg-cluster.sh init DIR [--port N] [--archive ARCHIVE_DIR] [--fast]
#   pg-cluster.sh adopt DIR [--port N] [--archive ARCHIVE_DIR]
#   pg-cluster.sh start DIR [--port N]
#   pg-cluster.sh stop DIR [--timeout SECONDS]
#   pg-cluster.sh status DIR
#   pg-cluster.sh url DIR [DB] [--socket]
#   pg-cluster.sh psql DIR [PSQL-ARGS...]
#
# DIR is the data directory itself (PGDATA). The server listens on 127.0.0.1
# and on a unix socket inside DIR (which is 0700, so only its owner and root
# can reach the socket). Local socket connections are trusted; TCP
# connections need the password of the superuser role `pgdrill`, generated at
# init (scram-sha-256), so a wrong password is refused for real.
#
# PostgreSQL refuses to run as root. When this script runs as root it creates
# a system user `pgdrill` (or $PGDRILL_PG_OSUSER) if missing, gives it the
# directories and runs every PostgreSQL program as that user; otherwise it
# runs them as the current user.
#
# Files this script keeps in DIR next to PostgreSQL's own:
#   pgdrill-cluster.env  settings of this cluster (key=value, 0600)
#   pgdrill.conf         server settings we manage, rewritten on every start
#                        and included from postgresql.conf
#   server.log           the server's log
#
# adopt takes over a copy of a stopped pg-cluster.sh cluster (cp -a, or a
# base backup restored into DIR, as the sandbox does for a branch): it gives
# the copy to the PostgreSQL user and resets what must not be shared with
# the original: the port, the pid, and WAL archiving (off unless --archive
# names a new archive). Role and password stay those of the original.
#
# --fast skips fsync (initdb --no-sync, fsync=off): for throw-away clusters in
# tests, where durability across an OS crash does not matter but speed does.
#
# Exit status: 0 success, 1 failure, 2 usage error, 3 (status) not running,
# 4 no cluster in DIR.
set -euo pipefail

PG_BIN=${PGDRILL_PG_BIN:-/usr/lib/postgresql/15/bin}
DB_ROLE=pgdrill
META_NAME=pgdrill-cluster.env
CONF_NAME=pgdrill.conf

die() {
    printf 'pg-cluster: %s\n' "$*" >&2
    exit 1
}
usage_die() {
    printf 'pg-cluster: %s\n' "$*" >&2
    printf 'usage: pg-cluster.sh init|adopt|start|stop|status|url|psql DIR [options] (see the header of %s)\n' "$0" >&2
    exit 2
}
note() { printf 'pg-cluster: %s\n' "$*" >&2; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# The OS user that runs PostgreSQL.
os_user() {
    if is_root; then
        printf '%s\n' "${PGDRILL_PG_OSUSER:-pgdrill}"
    else
        id -un
    fi
}

ensure_os_user() {
    is_root || return 0
    local u
    u=$(os_user)
    getent passwd "$u" >/dev/null && return 0
    # Another process may create it at the same moment: re-check on failure.
    useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --user-group "$u" 2>/dev/null ||
        getent passwd "$u" >/dev/null || die "cannot create system user '$u'"
}

# Runs a command as the PostgreSQL OS user, from / so that a working
# directory it cannot enter does not matter.
as_pg() {
    if is_root; then
        (cd / && runuser -u "$(os_user)" -- "$@")
    else
        "$@"
    fi
}

give_to_pg() {
    is_root || return 0
    local u
    u=$(os_user)
    chown "$u:$(id -gn "$u")" "$@"
}

# The PostgreSQL user must be able to traverse every ancestor of PATH. A
# mktemp directory or root's home is 0700: grant search permission (x only,
# no listing) to others on the ancestors that block it, and say so.
ensure_reachable() {
    is_root || return 0
    local path=$1 d="" part
    local -a parts
    IFS=/ read -r -a parts <<<"${path#/}"
    for part in "${parts[@]}"; do
        [ -n "$part" ] || continue
        d="$d/$part"
        [ -d "$d" ] || break
        if ! as_pg test -x "$d"; then
            chmod o+x "$d"
            note "granted search permission (o+x) on $d so that user $(os_user) can reach $path"
        fi
    done
}

abs_dir() {
    [ -n "$1" ] || usage_die "missing DIR"
    realpath -m -- "$1"
}

meta_file() { printf '%s/%s\n' "$1" "$META_NAME"; }

# meta_get DIR KEY: the value of KEY in DIR's settings ("" when unset).
meta_get() {
    local f
    f=$(meta_file "$1")
    [ -f "$f" ] || return 0
    sed -n "s/^$2=//p" "$f" | tail -n 1
}

# meta_set DIR KEY VALUE: replaces or adds KEY.
meta_set() {
    local f tmp
    f=$(meta_file "$1")
    tmp="$f.tmp.$$"
    : >"$tmp"
    if [ -f "$f" ]; then
        grep -v "^$2=" "$f" >"$tmp" || true
    fi
    printf '%s=%s\n' "$2" "$3" >>"$tmp"
    chmod 0600 "$tmp"
    give_to_pg "$tmp"
    mv -f "$tmp" "$f"
}

require_cluster() {
    if [ ! -f "$1/PG_VERSION" ] || [ ! -f "$(meta_file "$1")" ]; then
        printf 'pg-cluster: no cluster in %s (run: pg-cluster.sh init %s)\n' "$1" "$1" >&2
        exit 4
    fi
}

# Quoting for a postgresql.conf string value.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }
# Quoting for /bin/sh.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

port_ok() {
    [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1024 ] && [ "$1" -le 65535 ]
}

# True when something listens on 127.0.0.1:PORT.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port nobody listens on, below the kernel's ephemeral range so outgoing
# connections do not collide with it. A race with another process is
# handled by start, which retries on "address in use".
pick_port() {
    local p _
    for _ in $(seq 1 50); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        port_busy "$p" || {
            printf '%s\n' "$p"
            return 0
        }
    done
    die "no free port found on 127.0.0.1"
}

# The postmaster PID of DIR, verified: alive, not a zombie, and its working
# directory is DIR (the postmaster chdirs into its data directory). Prints
# nothing when DIR's cluster is not running, so a stale postmaster.pid or a
# reused PID never makes us signal a stranger.
postmaster_pid() {
    local dir=$1 pid="" cand
    for cand in "$(head -n 1 "$dir/postmaster.pid" 2>/dev/null || true)" "$(meta_get "$dir" pid)"; do
        [[ $cand =~ ^[0-9]+$ ]] || continue
        if pid_is_postmaster_of "$cand" "$dir"; then
            pid=$cand
            break
        fi
    done
    [ -n "$pid" ] && printf '%s\n' "$pid"
    return 0
}

pid_alive() {
    local state
    [ -e "/proc/$1" ] || return 1
    # Field 3 of /proc/PID/stat; a zombie has exited already (its parent,
    # often a container's PID 1, may never reap it).
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

pid_is_postmaster_of() {
    local pid=$1 dir=$2 cwd
    pid_alive "$pid" || return 1
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    [ "$cwd" = "$dir" ] || return 1
    grep -q postgres "/proc/$pid/comm" 2>/dev/null || grep -qa postgres "/proc/$pid/cmdline" 2>/dev/null
}

# PIDs of live processes whose working directory is DIR (postmaster and
# backends), to prove nothing is left after stop.
pids_in_dir() {
    local dir=$1 p cwd
    for p in /proc/[0-9]*; do
        cwd=$(readlink "$p/cwd" 2>/dev/null) || continue
        [ "$cwd" = "$dir" ] || continue
        pid_alive "${p#/proc/}" && printf '%s\n' "${p#/proc/}"
    done
    return 0
}

write_conf() {
    local dir=$1 port=$2 archive fast tmp
    archive=$(meta_get "$dir" archive)
    fast=$(meta_get "$dir" fast)
    tmp="$dir/$CONF_NAME.tmp.$$"
    {
        echo "# Managed by pg-cluster.sh: rewritten on every start. Do not edit."
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = $(conf_quote "$dir")"
        echo "timezone = 'UTC'"
        echo "log_timezone = 'UTC'"
        echo "wal_level = replica"
        if [ -n "$archive" ]; then
            local a=${archive//%/%%}
            echo "archive_mode = on"
            echo "archive_command = $(conf_quote "test ! -f $(sh_quote "$a")/%f && cp %p $(sh_quote "$a")/%f")"
        else
            echo "archive_mode = off"
        fi
        if [ "$fast" = 1 ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$tmp"
    chmod 0600 "$tmp"
    give_to_pg "$tmp"
    mv -f "$tmp" "$dir/$CONF_NAME"
}

cmd_init() {
    local dir port="" archive="" fast=0
    dir=$(abs_dir "${1:-}")
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --port)
            port=${2:-}
            port_ok "$port" || usage_die "bad port '${port}'"
            shift 2
            ;;
        --archive)
            [ -n "${2:-}" ] || usage_die "--archive needs a directory"
            archive=$(realpath -m -- "$2")
            shift 2
            ;;
        --fast)
            fast=1
            shift
            ;;
        *) usage_die "init: unknown option '$1'" ;;
        esac
    done
    [ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 not found in $PG_BIN (install postgresql-15)"
    if [ -e "$dir/PG_VERSION" ]; then
        die "$dir already holds a cluster"
    fi
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
        die "$dir exists and is not empty"
    fi
    # A unix socket path is limited to 107 bytes: DIR/.s.PGSQL.NNNNN
    if [ $((${#dir} + 18)) -gt 107 ]; then
        die "$dir is too long for a unix socket path (at most 89 characters)"
    fi

    ensure_os_user
    mkdir -p "$dir"
    chmod 0700 "$dir"
    give_to_pg "$dir"
    ensure_reachable "$dir"
    if [ -n "$archive" ]; then
        mkdir -p "$archive"
        chmod 0700 "$archive"
        give_to_pg "$archive"
        ensure_reachable "$archive"
    fi

    local password pwfile out
    password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    pwfile=$(mktemp /tmp/pg-cluster-pw.XXXXXX)
    printf '%s\n' "$password" >"$pwfile"
    give_to_pg "$pwfile"
    local -a opts=(-D "$dir" -U "$DB_ROLE" --pwfile="$pwfile" --auth-local=trust
        --auth-host=scram-sha-256 -E UTF8 --locale=C)
    [ "$fast" = 1 ] && opts+=(--no-sync)
    if ! out=$(as_pg "$PG_BIN/initdb" "${opts[@]}" 2>&1); then
        rm -f "$pwfile"
        printf '%s\n' "$out" >&2
        die "initdb failed for $dir"
    fi
    rm -f "$pwfile"
    printf "\ninclude_if_exists = '%s'\n" "$CONF_NAME" >>"$dir/postgresql.conf"

    meta_set "$dir" role "$DB_ROLE"
    meta_set "$dir" password "$password"
    meta_set "$dir" os_user "$(os_user)"
    meta_set "$dir" fixed_port "$port"
    meta_set "$dir" port "$port"
    meta_set "$dir" archive "$archive"
    meta_set "$dir" fast "$fast"
    meta_set "$dir" pid ""
}

cmd_adopt() {
    local dir port="" archive=""
    dir=$(abs_dir "${1:-}")
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --port)
            port=${2:-}
            port_ok "$port" || usage_die "bad port '${port}'"
            shift 2
            ;;
        --archive)
            [ -n "${2:-}" ] || usage_die "--archive needs a directory"
            archive=$(realpath -m -- "$2")
            shift 2
            ;;
        *) usage_die "adopt: unknown option '$1'" ;;
        esac
    done
    require_cluster "$dir"
    [ -z "$(postmaster_pid "$dir")" ] || die "$dir is running: stop it before adopting it"
    if [ $((${#dir} + 18)) -gt 107 ]; then
        die "$dir is too long for a unix socket path (at most 89 characters)"
    fi
    ensure_os_user
    if is_root; then
        chown -R "$(os_user):$(id -gn "$(os_user)")" "$dir"
    fi
    chmod 0700 "$dir"
    ensure_reachable "$dir"
    if [ -n "$archive" ]; then
        mkdir -p "$archive"
        chmod 0700 "$archive"
        give_to_pg "$archive"
        ensure_reachable "$archive"
    fi
    # A copy of a running cluster (a base backup) may carry its pid file.
    rm -f "$dir/postmaster.pid" "$dir/$CONF_NAME"
    grep -q "^include_if_exists = '$CONF_NAME'" "$dir/postgresql.conf" ||
        printf "\ninclude_if_exists = '%s'\n" "$CONF_NAME" >>"$dir/postgresql.conf"
    meta_set "$dir" os_user "$(os_user)"
    meta_set "$dir" fixed_port "$port"
    meta_set "$dir" port "$port"
    meta_set "$dir" archive "$archive"
    meta_set "$dir" pid ""
}

cmd_start() {
    local dir port="" fixed pid attempt out
    dir=$(abs_dir "${1:-}")
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --port)
            port=${2:-}
            port_ok "$port" || usage_die "bad port '${port}'"
            shift 2
            ;;
        *) usage_die "start: unknown option '$1'" ;;
        esac
    done
    require_cluster "$dir"
    pid=$(postmaster_pid "$dir")
    if [ -n "$pid" ]; then
        note "$dir is already running (pid $pid, port $(meta_get "$dir" port))"
        return 0
    fi
    if [ -f "$dir/postmaster.pid" ]; then
        # Not a live postmaster of DIR (verified above): stale after a crash.
        rm -f "$dir/postmaster.pid"
    fi
    fixed=${port:-$(meta_get "$dir" fixed_port)}
    for attempt in 1 2 3 4 5; do
        port=${fixed:-$(pick_port)}
        write_conf "$dir" "$port"
        if out=$(as_pg "$PG_BIN/pg_ctl" start -D "$dir" -l "$dir/server.log" -w -t 60 -s 2>&1); then
            pid=$(head -n 1 "$dir/postmaster.pid")
            meta_set "$dir" pid "$pid"
            meta_set "$dir" port "$port"
            note "$dir running (pid $pid, port $port)"
            return 0
        fi
        # Someone took the port between the check and the bind: try another.
        if [ -z "$fixed" ] && tail -n 20 "$dir/server.log" 2>/dev/null | grep -q 'could not bind\|could not create any TCP/IP sockets'; then
            note "port $port taken, retrying ($attempt)"
            continue
        fi
        break
    done
    printf '%s\n' "$out" >&2
    tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
    die "could not start the cluster in $dir"
}

cmd_stop() {
    local dir timeout=30 pid i
    dir=$(abs_dir "${1:-}")
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --timeout)
            timeout=${2:-}
            [[ $timeout =~ ^[0-9]+$ ]] || usage_die "bad timeout '$timeout'"
            shift 2
            ;;
        *) usage_die "stop: unknown option '$1'" ;;
        esac
    done
    require_cluster "$dir"
    pid=$(postmaster_pid "$dir")
    if [ -z "$pid" ]; then
        note "$dir is not running"
        return 0
    fi
    # SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit.
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        note "fast shutdown of pid $pid timed out after ${timeout}s: immediate shutdown"
        kill -QUIT "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
        if pid_alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Backends exit with the postmaster; wait until none is left.
    for ((i = 0; i < 50; i++)); do
        [ -z "$(pids_in_dir "$dir")" ] && break
        sleep 0.1
    done
    local left
    left=$(pids_in_dir "$dir" | tr '\n' ' ')
    [ -z "$left" ] || die "processes still running in $dir: $left"
    rm -f "$dir/postmaster.pid"
    meta_set "$dir" pid ""
    note "$dir stopped (pid $pid)"
}

cmd_status() {
    local dir pid
    dir=$(abs_dir "${1:-}")
    require_cluster "$dir"
    pid=$(postmaster_pid "$dir")
    if [ -n "$pid" ]; then
        printf 'running pid=%s port=%s dir=%s\n' "$pid" "$(meta_get "$dir" port)" "$dir"
        return 0
    fi
    printf 'stopped dir=%s\n' "$dir"
    exit 3
}

cmd_url() {
    local dir db=postgres socket=0 port
    dir=$(abs_dir "${1:-}")
    shift
    while [ $# -gt 0 ]; do
        case $1 in
        --socket)
            socket=1
            shift
            ;;
        -*) usage_die "url: unknown option '$1'" ;;
        *)
            db=$1
            shift
            ;;
        esac
    done
    [[ $db =~ ^[A-Za-z0-9_][A-Za-z0-9_-]*$ ]] || usage_die "bad database name '$db'"
    require_cluster "$dir"
    port=$(meta_get "$dir" port)
    [ -n "$port" ] || die "$dir has no port yet: start it first"
    if [ "$socket" = 1 ]; then
        printf 'postgresql://%s@/%s?host=%s&port=%s\n' "$(meta_get "$dir" role)" "$db" "$dir" "$port"
    else
        printf 'postgresql://%s:%s@127.0.0.1:%s/%s\n' "$(meta_get "$dir" role)" \
            "$(meta_get "$dir" password)" "$port" "$db"
    fi
}

# psql over the unix socket (trusted), so no password appears in a process
# listing.
cmd_psql() {
    local dir
    dir=$(abs_dir "${1:-}")
    shift
    require_cluster "$dir"
    [ -n "$(postmaster_pid "$dir")" ] || die "$dir is not running"
    PGHOST=$dir PGPORT=$(meta_get "$dir" port) PGUSER=$(meta_get "$dir" role) \
        PGDATABASE=postgres "$PG_BIN/psql" -X "$@"
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
    init) cmd_init "$@" ;;
    adopt) cmd_adopt "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    url) cmd_url "$@" ;;
    psql) cmd_psql "$@" ;;
    -h | --help | help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        ;;
    "") usage_die "missing command" ;;
    *) usage_die "unknown command '$cmd'" ;;
    esac
}

main "$@"
