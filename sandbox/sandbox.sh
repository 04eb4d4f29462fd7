#!/bin/bash
# sandbox.sh — the local pgdrill sandbox, run by `pgdrill sandbox`:
#
#   sandbox.sh up [--visits N] [--default-branch NAME]
#                                start what is missing (seeding on first use);
#                                NAME: the new project's default branch (main)
#   sandbox.sh status            each service: running/stopped, pid, port, log
#   sandbox.sh env               export lines for eval "$(pgdrill sandbox env)"
#   sandbox.sh down [--purge]    stop what up started, by PID; --purge also
#                                removes the state
#   sandbox.sh migrate [--status] [--url URL]
#                                apply (or list) migrations/*.sql on
#                                DATABASE_URL or URL; no service needed
#   sandbox.sh traffic start [--rate N] | traffic stop
#                                the training's application, a service
#   sandbox.sh incident|grade ARGS
#                                pgdrill's own training commands, in the
#                                training environment (training/ below)
#
# Everything lives in $PGDRILL_HOME/sandbox (pgdrill sets PGDRILL_HOME) and
# listens on 127.0.0.1 only:
#
#   pg/             the primary PostgreSQL 15 (sandbox/pg-cluster.sh), with
#                   WAL archiving into wal-archive/; database care_commons
#                   holds the fixtures schema and sandbox/seed.sql's data
#   neon/           state of the Neon-compatible server (neon-sandbox): its
#                   base backup, taken on its first start, right after the
#                   seed, and branches/, one real PostgreSQL cluster per
#                   branch (point-in-time recovery from the archive);
#                   outage, while a training's neon-outage incident runs:
#                   its deadline (removed by the next incident and by down)
#   s3/             s3rver's data (bucket care-commons-backups), served
#                   through s3-proxy.py, which verifies SigV4 signatures
#   training/       0700: url (production's), truth (an incident's ground
#                   truth), traffic.log (the application's changes),
#                   retention (Neon's history retention before the
#                   history-expired incident shrank it): 0600
#   NAME.pid        "PID START-TIME" of each service up started, NAME.port,
#                   NAME.log; neon.key and s3.secret (0600) hold credentials
#
# Only PIDs recorded here are ever signalled, and only after checking the
# process is still the one started (its start time in /proc). The primary and
# the branch clusters are stopped by pg-cluster.sh, which verifies the
# postmaster by its data directory.
#
# Environment (set by pgdrill; each may be overridden):
#   PGDRILL_HOME            required
#   PGDRILL_NEON_SANDBOX    the neon-sandbox binary
#   PGDRILL_PG_CLUSTER      pg-cluster.sh (default: next to this script)
#   PGDRILL_PG_BIN          PostgreSQL 15 programs
#   PGDRILL_PYTHON          a python3 with botocore (default /usr/bin/python3)
#   PGDRILL_SANDBOX_FAST=1  no fsync in the primary (tests; loses durability)
#   PGDRILL_SANDBOX_PG_PORT, PGDRILL_SANDBOX_NEON_PORT,
#   PGDRILL_SANDBOX_S3_PORT fixed ports instead of free ones
#
# A build without the s3 part (no s3-proxy.py next to this script) runs
# without the local S3 and says so.
#
# Exit status: 0 success; 1 status found a service stopped, or down left a
# process behind; 2 usage error; 3 a service did not start (named, with its
# log file; up then stops what it had started); 130 up was interrupted (and
# stopped what it had started).
set -euo pipefail
umask 077

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
PGC=${PGDRILL_PG_CLUSTER:-$HERE/pg-cluster.sh}
PG_BIN=${PGDRILL_PG_BIN:-/usr/lib/postgresql/15/bin}
PY=${PGDRILL_PYTHON:-/usr/bin/python3}
NEONSB=${PGDRILL_NEON_SANDBOX:-$HERE/../build/neon-sandbox}
DB=care_commons
PROJECT=sandbox-project
BUCKET=care-commons-backups
BACKUP_URI=s3://$BUCKET # holds the class folders: weekly/, pre-migration/, pre-release/
S3_ACCESS_KEY=S3RVER # s3rver's own account; the secret is generated
REGION=us-east-1
DEFAULT_VISITS=100000

# The schema is the tests' fixture; an installed sandbox carries a copy.
SCHEMA=$HERE/care-commons-schema.sql
[ -f "$SCHEMA" ] || SCHEMA=$HERE/../tests/fixtures/sql/care-commons-schema.sql
SEED=$HERE/seed.sql

[ -n "${PGDRILL_HOME:-}" ] || {
    echo "sandbox: PGDRILL_HOME is not set (run this through pgdrill sandbox)" >&2
    exit 2
}
SB=$(realpath -m -- "$PGDRILL_HOME/sandbox")
PGDIR=$SB/pg
ARCHIVE=$SB/wal-archive
NEON_STATE=$SB/neon
S3DATA=$SB/s3

# Progress goes to stdout; a reader that went away (up | head) must not cut
# an up short half-way, so a closed stdout is ignored.
trap : PIPE # a handler, not SIG_IGN: children must not inherit an ignored SIGPIPE
say() { printf '%s\n' "$*" 2>/dev/null || true; }
warn() { printf 'pgdrill sandbox: %s\n' "$*" >&2; }
usage_die() {
    warn "$*"
    echo "Try 'pgdrill sandbox --help'." >&2
    exit 2
}

# Quoting for /bin/sh: the env output must survive eval.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# ---- processes --------------------------------------------------------------

# Field 22 of /proc/PID/stat (start time in clock ticks since boot), read
# after the last ')' so a command name with spaces cannot shift it.
proc_start() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    [ $# -ge 20 ] || return 1
    printf '%s\n' "${20}"
}

# Alive and not a zombie (a zombie has exited; its parent may never reap it).
pid_alive() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    case ${s%% *} in
    Z | X | "") return 1 ;;
    esac
    return 0
}

# svc_pid NAME: the PID recorded for NAME, when that process still runs
# (same PID and same start time); nothing otherwise.
svc_pid() {
    local f=$SB/$1.pid pid start
    [ -f "$f" ] || return 0
    read -r pid start <"$f" || true
    [[ ${pid:-} =~ ^[0-9]+$ ]] || return 0
    pid_alive "$pid" || return 0
    [ "$(proc_start "$pid" || true)" = "$start" ] || return 0
    printf '%s\n' "$pid"
}

svc_port() { cat "$SB/$1.port" 2>/dev/null || true; }

record_pid() { printf '%s %s\n' "$2" "$(proc_start "$2")" >"$SB/$1.pid"; }

# stop_pid NAME SECONDS: TERM the recorded process, wait for it to exit,
# KILL it after SECONDS.
stop_pid() {
    local name=$1 secs=$2 pid i
    pid=$(svc_pid "$name")
    if [ -z "$pid" ]; then
        rm -f "$SB/$name.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || break
        sleep 0.1
    done
    if pid_alive "$pid"; then
        warn "$name (pid $pid) did not stop within ${secs}s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            pid_alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$SB/$name.pid"
    say "stopped $name (pid $pid)"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A free port: the one used last time when it is free (so URLs stay the
# same across down/up), else a random free one below the ephemeral range.
pick_port() {
    local prev=$1 p _
    if [[ $prev =~ ^[0-9]+$ ]] && ! port_busy "$prev"; then
        printf '%s\n' "$prev"
        return 0
    fi
    for _ in $(seq 1 100); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        port_busy "$p" || {
            printf '%s\n' "$p"
            return 0
        }
    done
    return 1
}

# ---- up -------------------------------------------------------------------

STARTED=() # services this run started, for the clean-up on failure

# fail SERVICE LOG MESSAGE: report, stop what this run started, exit 3.
fail() {
    local svc=$1 log=$2
    shift 2
    warn "$svc did not start: $*"
    [ -n "$log" ] && warn "see its log: $log"
    if [ -n "$log" ] && [ -f "$log" ]; then
        tail -n 5 "$log" | sed 's/^/    /' >&2
    fi
    stop_started
    exit 3
}

stop_started() {
    local i
    [ ${#STARTED[@]} -gt 0 ] || return 0
    warn "stopping what this run started: ${STARTED[*]}"
    for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
        stop_one "${STARTED[$i]}" >&2 || true
    done
    STARTED=()
}

# Ctrl-C or a TERM during up: leave nothing half-started behind.
on_interrupt() {
    trap - INT TERM
    warn "up interrupted"
    stop_started
    exit 130
}

stop_one() {
    case $1 in
    postgresql) [ -f "$PGDIR/PG_VERSION" ] && "$PGC" stop "$PGDIR" 2>&1 | sed 's/^pg-cluster: //' ;;
    neon-sandbox)
        stop_pid neon-sandbox 60
        stop_branches
        ;;
    *) stop_pid "$1" 10 ;;
    esac
}

# Every branch cluster the neon-sandbox created. The server stops them when
# it exits; this catches any it could not (killed, crashed).
stop_branches() {
    local d
    [ -d "$NEON_STATE/branches" ] || return 0
    for d in "$NEON_STATE"/branches/*/; do
        d=${d%/}
        if [ ! -f "$d/PG_VERSION" ] || [ ! -f "$d/pgdrill-cluster.env" ]; then
            continue
        fi
        "$PGC" stop "$d" 2>&1 | sed 's/^pg-cluster: //' | grep -v 'is not running$' || true
    done
}

# spawn NAME LOG CMD...: start a service in its own session (a Ctrl-C in the
# terminal that ran up must not reach it), stdin from /dev/null, output to
# its log, without the lock descriptor. Sets SPAWNED_PID.
spawn() {
    local name=$1 log=$2
    shift 2
    printf '==== %s: %s starting\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" >>"$log"
    setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
    SPAWNED_PID=$!
    record_pid "$name" "$SPAWNED_PID"
    STARTED+=("$name")
}

# wait_log_port NAME LOG PID SECONDS: the port from the "listening on
# 127.0.0.1:PORT" line the service prints once it accepts connections,
# from the part of LOG written since SINCE (a line count).
wait_log_port() {
    local name=$1 log=$2 pid=$3 secs=$4 since=$5 i port
    for ((i = 0; i < secs * 10; i++)); do
        port=$(tail -n "+$((since + 1))" "$log" |
            sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' | head -n 1)
        if [ -n "$port" ]; then
            printf '%s\n' "$port"
            return 0
        fi
        pid_alive "$pid" || return 1
        sleep 0.1
    done
    return 1
}

lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

preflight() {
    local s3=$1
    { [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_basebackup" ]; } ||
        fail postgresql "" "PostgreSQL 15 not found in $PG_BIN (install postgresql-15, or set PGDRILL_PG_BIN)"
    [ -x "$PGC" ] || fail postgresql "" "$PGC not found"
    [ -f "$SCHEMA" ] || fail postgresql "" "the schema $SCHEMA is missing"
    [ -f "$SEED" ] || fail postgresql "" "the seed $SEED is missing"
    [ -x "$NEONSB" ] ||
        fail neon-sandbox "" "$NEONSB not found or not executable (build it with make, or set PGDRILL_NEON_SANDBOX)"
    command -v curl >/dev/null || fail neon-sandbox "" "curl is required"
    if [ "$s3" = 1 ]; then
        { command -v node >/dev/null && command -v npm >/dev/null; } ||
            fail s3rver "" "node and npm are required (apt-get install nodejs npm)"
        "$PY" -c 'import botocore' 2>/dev/null ||
            fail s3-proxy "" "$PY cannot import botocore (apt-get install python3-botocore)"
    fi
    # branch clusters live in neon/branches/br-...-XXXXXXXX: their unix
    # socket paths must fit in 107 bytes
    [ $((${#NEON_STATE} + 50)) -le 107 ] ||
        fail postgresql "" "$SB is too long a path for PostgreSQL's unix sockets (at most 57 characters; set a shorter PGDRILL_HOME)"
}

# s3 needs the files of the s3 part (s3rver's lock file and the proxy).
have_s3() { [ -f "$HERE/package-lock.json" ] && [ -f "$HERE/s3-proxy.py" ]; }

q() { PGOPTIONS="-c client_min_messages=warning" "$PGC" psql "$PGDIR" -q -v ON_ERROR_STOP=1 "$@"; }

up_postgres() {
    local visits=$1 log=$PGDIR/server.log pid port out
    # A cluster whose init was interrupted holds nothing yet: start over.
    if [ ! -f "$SB/seed.done" ] && [ ! -f "$PGDIR/pgdrill-cluster.env" ] && [ -e "$PGDIR" ]; then
        "$PGC" stop "$PGDIR" >/dev/null 2>&1 || true
        rm -f "$PGDIR/PG_VERSION"
    fi
    if [ ! -f "$PGDIR/PG_VERSION" ]; then
        say "postgresql: creating the primary in $PGDIR (wal archive $ARCHIVE)"
        rm -rf "$PGDIR" "$ARCHIVE" "$NEON_STATE" "$SB/seed.done"
        local -a fast=()
        [ "${PGDRILL_SANDBOX_FAST:-}" = 1 ] && fast=(--fast)
        if ! out=$("$PGC" init "$PGDIR" --archive "$ARCHIVE" "${fast[@]}" 2>&1 9>&-); then
            printf '%s\n' "$out" >"$SB/pg-init.log"
            fail postgresql "$SB/pg-init.log" "initdb failed"
        fi
    fi
    if out=$("$PGC" status "$PGDIR" 2>/dev/null); then
        pid=$(sed -n 's/^running pid=\([0-9]*\) .*/\1/p' <<<"$out")
        port=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"$out")
        say "postgresql: already running (pid $pid, port $port)"
    else
        port=${PGDRILL_SANDBOX_PG_PORT:-}
        if [ -n "$port" ] && port_busy "$port"; then
            fail postgresql "$log" "port 127.0.0.1:$port (PGDRILL_SANDBOX_PG_PORT) is already in use"
        fi
        [ -n "$port" ] || port=$(pick_port "$(svc_port postgresql)") ||
            fail postgresql "$log" "no free port on 127.0.0.1"
        STARTED+=(postgresql)
        if ! out=$("$PGC" start "$PGDIR" --port "$port" 2>&1 9>&-); then
            printf '%s\n' "$out" | sed 's/^/    /' >&2
            fail postgresql "$log" "pg-cluster.sh start failed"
        fi
        pid=$("$PGC" status "$PGDIR" | sed -n 's/^running pid=\([0-9]*\) .*/\1/p')
        say "postgresql: started (pid $pid, port $port)"
    fi
    printf '%s\n' "$port" >"$SB/postgresql.port"

    if [ -f "$SB/seed.done" ]; then
        local had
        had=$(sed -n 's/^visits=//p' "$SB/seed.done")
        if [ -n "$VISITS_GIVEN" ] && [ "$had" != "$visits" ]; then
            warn "care_commons already holds $had visits: --visits $visits ignored (down --purge, then up, to reseed)"
        fi
        return 0
    fi
    # Load under a temporary name and rename when complete, so an
    # interrupted first run never leaves a half-seeded care_commons.
    local t0=$SECONDS tmp=${DB}_loading
    say "postgresql: seeding $DB with $visits visits"
    if ! out=$({
        q -c "DROP DATABASE IF EXISTS $tmp" &&
            q -c "DROP DATABASE IF EXISTS $DB" &&
            q -c "CREATE DATABASE $tmp" &&
            q -d "$tmp" -f "$SCHEMA" &&
            q -d "$tmp" -v visits="$visits" -f "$SEED" &&
            q -c "ALTER DATABASE $tmp RENAME TO $DB"
    } 2>&1 9>&-); then
        printf '%s\n' "$out" >"$SB/seed.log"
        fail postgresql "$SB/seed.log" "seeding $DB failed"
    fi
    printf 'visits=%s\nseeded_at=%s\n' "$visits" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$SB/seed.done"
    say "postgresql: seeded in $((SECONDS - t0))s"
}

neon_key() {
    if [ ! -s "$SB/neon.key" ]; then
        (umask 077 && printf 'napi_sandbox_%s\n' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >"$SB/neon.key")
    fi
    chmod 0600 "$SB/neon.key"
    cat "$SB/neon.key"
}

neon_url() { printf 'http://127.0.0.1:%s/api/v2\n' "$1"; }

# neon_ready PORT KEY: GET /projects/{id} with the key answers 200.
neon_ready() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -K - <<EOF
url = "$(neon_url "$1")/projects/$PROJECT"
header = "Authorization: Bearer $2"
EOF
    ) || true
    [ "$code" = 200 ]
}

up_neon() {
    local log=$SB/neon-sandbox.log pid port key i first=0
    key=$(neon_key)
    pid=$(svc_pid neon-sandbox)
    if [ -n "$pid" ]; then
        say "neon-sandbox: already running (pid $pid, port $(svc_port neon-sandbox))"
        return 0
    fi
    port=${PGDRILL_SANDBOX_NEON_PORT:-}
    if [ -n "$port" ] && port_busy "$port"; then
        fail neon-sandbox "$log" "port 127.0.0.1:$port (PGDRILL_SANDBOX_NEON_PORT) is already in use"
    fi
    [ -n "$port" ] || port=$(pick_port "$(svc_port neon-sandbox)") ||
        fail neon-sandbox "$log" "no free port on 127.0.0.1"
    [ -f "$NEON_STATE/state.json" ] || first=1
    # As root, its base backup and branches belong to the PostgreSQL user,
    # who must be able to traverse the state directory (but not list it).
    mkdir -p "$NEON_STATE"
    if [ "$(id -u)" -eq 0 ]; then
        chmod 0711 "$NEON_STATE"
    else
        chmod 0700 "$NEON_STATE"
    fi
    # A first start that was interrupted leaves a partial base backup and
    # no state: the server must take it again into an empty directory.
    [ "$first" = 0 ] || rm -rf "$NEON_STATE/base"
    if [ "$first" = 1 ]; then
        say "neon-sandbox: starting on port $port (taking the base backup)"
    else
        say "neon-sandbox: starting on port $port"
    fi
    # The key goes through the environment, not the command line (ps).
    NEON_SANDBOX_KEY=$key spawn neon-sandbox "$log" "$NEONSB" --port "$port" \
        --state "$NEON_STATE" --primary "$PGDIR" --pg-cluster "$PGC" --project-id "$PROJECT" \
        --default-branch "$DEFAULT_BRANCH" \
        --history-retention 2592000 # 30 days, the procedures' plan (verify requires 7)
    pid=$SPAWNED_PID
    printf '%s\n' "$port" >"$SB/neon-sandbox.port"
    # The first start takes a base backup of the seeded primary: allow for
    # a large seed.
    for ((i = 0; i < 3000; i++)); do
        neon_ready "$port" "$key" && break
        pid_alive "$pid" || fail neon-sandbox "$log" "it exited"
        sleep 0.1
    done
    neon_ready "$port" "$key" || fail neon-sandbox "$log" "no answer on $(neon_url "$port") after 300s"
    say "neon-sandbox: started (pid $pid, port $port, project $PROJECT)"
}

# npm ci when node_modules does not match the lock file. In a read-only
# installation the modules go under the state directory instead.
NODE_DIR=
npm_install() {
    local dir=$HERE sum
    if [ ! -w "$dir" ]; then
        dir=$SB/npm
        mkdir -p "$dir"
        cp "$HERE/package.json" "$HERE/package-lock.json" "$dir/"
    fi
    sum=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
    if [ "$(cat "$dir/node_modules/.pgdrill-lock-sha256" 2>/dev/null)" != "$sum" ]; then
        say "s3rver: installing it (npm ci in $dir)"
        "$HERE/s3rver-install.sh" "$dir" >"$SB/npm.log" 2>&1 9>&- ||
            fail s3rver "$SB/npm.log" "npm ci in $dir failed"
    fi
    NODE_DIR=$dir
}

s3_secret() {
    if [ ! -s "$SB/s3.secret" ]; then
        (umask 077 && printf 'sandbox/%s\n' "$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')" >"$SB/s3.secret")
    fi
    chmod 0600 "$SB/s3.secret"
    cat "$SB/s3.secret"
}

up_s3() {
    local log pid port since secret restarted=0
    npm_install
    secret=$(s3_secret)
    mkdir -p "$S3DATA"

    log=$SB/s3rver.log
    pid=$(svc_pid s3rver)
    if [ -n "$pid" ]; then
        say "s3rver: already running (pid $pid, port $(svc_port s3rver))"
    else
        since=$(lines "$log")
        # s3rver builds continuation tokens with DES: Node >= 17 needs the
        # legacy provider. --configure-bucket creates the bucket if missing.
        NODE_OPTIONS=--openssl-legacy-provider spawn s3rver "$log" node \
            "$NODE_DIR/node_modules/s3rver/bin/s3rver.js" -d "$S3DATA" -a 127.0.0.1 -p 0 \
            --silent --configure-bucket "$BUCKET"
        pid=$SPAWNED_PID
        port=$(wait_log_port s3rver "$log" "$pid" 60 "$since") ||
            fail s3rver "$log" "it did not report a listening port"
        printf '%s\n' "$port" >"$SB/s3rver.port"
        say "s3rver: started (pid $pid, port $port, bucket $BUCKET)"
        restarted=1
    fi

    log=$SB/s3-proxy.log
    pid=$(svc_pid s3-proxy)
    if [ -n "$pid" ] && [ "$restarted" = 1 ]; then
        # it forwards to the old s3rver port
        stop_pid s3-proxy 10 >/dev/null
        pid=
    fi
    if [ -n "$pid" ]; then
        say "s3-proxy: already running (pid $pid, port $(svc_port s3-proxy))"
        return 0
    fi
    port=${PGDRILL_SANDBOX_S3_PORT:-}
    if [ -n "$port" ] && port_busy "$port"; then
        fail s3-proxy "$log" "port 127.0.0.1:$port (PGDRILL_SANDBOX_S3_PORT) is already in use"
    fi
    [ -n "$port" ] || port=$(pick_port "$(svc_port s3-proxy)") ||
        fail s3-proxy "$log" "no free port on 127.0.0.1"
    since=$(lines "$log")
    spawn s3-proxy "$log" "$PY" "$HERE/s3-proxy.py" --upstream "127.0.0.1:$(svc_port s3rver)" \
        --port "$port" --data-dir "$S3DATA" --access-key "$S3_ACCESS_KEY" --secret "$secret"
    pid=$SPAWNED_PID
    port=$(wait_log_port s3-proxy "$log" "$pid" 30 "$since") ||
        fail s3-proxy "$log" "it did not report a listening port"
    printf '%s\n' "$port" >"$SB/s3-proxy.port"
    say "s3-proxy: started (pid $pid, port $port, verifying SigV4 signatures)"
}

earliest_restorable() {
    local f=$NEON_STATE/state.json t
    [ -f "$f" ] || return 0
    t=$(sed -n 's/^[[:space:]]*"base_backup_at":[[:space:]]*\([0-9.]*\).*/\1/p' "$f" | head -n 1)
    [ -n "$t" ] || return 0
    date -u -d "@${t%.*}" +%Y-%m-%dT%H:%M:%SZ
}

lock() {
    mkdir -p "$SB"
    # PostgreSQL runs as another user when we are root: it must traverse
    # $SB (not list it) to reach its data directories.
    if [ "$(id -u)" -eq 0 ]; then
        chmod 0711 "$SB"
    else
        chmod 0700 "$SB"
    fi
    exec 9>"$SB/.lock"
    flock -w 600 9 || {
        warn "another pgdrill sandbox up/down holds $SB/.lock"
        exit 3
    }
}

VISITS_GIVEN=
DEFAULT_BRANCH=main
cmd_up() {
    local visits=$DEFAULT_VISITS s3=0
    while [ $# -gt 0 ]; do
        case $1 in
        --visits)
            [[ ${2:-} =~ ^[1-9][0-9]{0,8}$ ]] || usage_die "up: --visits needs a whole number from 1 to 999999999"
            visits=$2
            VISITS_GIVEN=1
            shift 2
            ;;
        --visits=*)
            set -- --visits "${1#--visits=}" "${@:2}"
            ;;
        --default-branch)
            [[ ${2:-} =~ ^[^/[:cntrl:]]{1,256}$ ]] || usage_die "up: --default-branch needs a branch name"
            DEFAULT_BRANCH=$2
            shift 2
            ;;
        --default-branch=*)
            set -- --default-branch "${1#--default-branch=}" "${@:2}"
            ;;
        *) usage_die "up: unknown argument '$1'" ;;
        esac
    done
    have_s3 && s3=1
    lock
    trap on_interrupt INT TERM
    preflight "$s3"
    up_postgres "$visits"
    up_neon
    if [ "$s3" = 1 ]; then
        up_s3
    else
        say "s3: not in this build (no $HERE/s3-proxy.py): skipped"
    fi
    STARTED=()
    trap - INT TERM
    say ""
    say "sandbox up in $SB"
    say "  database      care_commons, $(sed -n 's/^visits=//p' "$SB/seed.done") visits, on 127.0.0.1:$(svc_port postgresql)"
    say "  neon api      $(neon_url "$(svc_port neon-sandbox)") (project $PROJECT)"
    local e
    e=$(earliest_restorable)
    [ -z "$e" ] || say "  earliest restorable time (base backup) $e"
    [ "$s3" = 1 ] && say "  s3            http://127.0.0.1:$(svc_port s3-proxy) (bucket $BUCKET)"
    say "point pgdrill at it with:  eval \"\$(pgdrill sandbox env)\""
}

# ---- status ----------------------------------------------------------------

cmd_status() {
    [ $# -eq 0 ] || usage_die "status: unknown argument '$1'"
    local all=1 out pid port d
    if [ ! -d "$SB" ]; then
        say "no sandbox in $SB (start one with: pgdrill sandbox up)"
        return 1
    fi
    printf '%-13s %-8s %-8s %-6s %s\n' SERVICE STATE PID PORT LOG
    if [ -f "$PGDIR/PG_VERSION" ] && out=$("$PGC" status "$PGDIR" 2>/dev/null); then
        pid=$(sed -n 's/^running pid=\([0-9]*\) .*/\1/p' <<<"$out")
        port=$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"$out")
        printf '%-13s %-8s %-8s %-6s %s\n' postgresql running "$pid" "$port" "$PGDIR/server.log"
    else
        printf '%-13s %-8s %-8s %-6s %s\n' postgresql stopped - - "$PGDIR/server.log"
        all=0
    fi
    local -a names=(neon-sandbox)
    have_s3 && names+=(s3rver s3-proxy)
    for d in "${names[@]}"; do
        pid=$(svc_pid "$d")
        if [ -n "$pid" ]; then
            printf '%-13s %-8s %-8s %-6s %s\n' "$d" running "$pid" "$(svc_port "$d")" "$SB/$d.log"
        else
            printf '%-13s %-8s %-8s %-6s %s\n' "$d" stopped - - "$SB/$d.log"
            all=0
        fi
    done
    # The training's application: optional (listed once started; traffic
    # stop and down remove its record), so stopped is not a failure.
    pid=$(svc_pid traffic)
    if [ -n "$pid" ]; then
        printf '%-13s %-8s %-8s %-6s %s\n' traffic running "$pid" - "$SB/traffic.log"
        # running but stalled (its table gone, production unreachable): why
        out=$(head -n 1 "$SB/training/traffic.state" 2>/dev/null || true)
        if [[ $out == "not writing"* ]]; then printf '  traffic %s\n' "$out"; fi
    elif [ -f "$SB/traffic.pid" ]; then
        printf '%-13s %-8s %-8s %-6s %s\n' traffic stopped - - "$SB/traffic.log"
    fi
    # The branch clusters of the neon-sandbox (started by it, stopped by down).
    if [ -d "$NEON_STATE/branches" ]; then
        for d in "$NEON_STATE"/branches/*/; do
            d=${d%/}
            [ -f "$d/pgdrill-cluster.env" ] || continue
            if out=$("$PGC" status "$d" 2>/dev/null); then
                printf '  branch %-27s running pid %s port %s\n' "$(basename "$d")" \
                    "$(sed -n 's/^running pid=\([0-9]*\) .*/\1/p' <<<"$out")" \
                    "$(sed -n 's/.* port=\([0-9]*\) .*/\1/p' <<<"$out")"
            else
                printf '  branch %-27s stopped\n' "$(basename "$d")"
            fi
        done
    fi
    [ "$all" = 1 ]
}

# ---- env -------------------------------------------------------------------

cmd_env() {
    [ $# -eq 0 ] || usage_die "env: unknown argument '$1'"
    if [ ! -f "$PGDIR/PG_VERSION" ] || [ ! -f "$SB/seed.done" ] || [ ! -s "$SB/neon.key" ]; then
        warn "no sandbox in $SB (start one with: pgdrill sandbox up)"
        return 1
    fi
    local url port
    "$PGC" status "$PGDIR" >/dev/null 2>&1 || warn "postgresql is not running (pgdrill sandbox up starts it)"
    [ -n "$(svc_pid neon-sandbox)" ] || warn "neon-sandbox is not running (pgdrill sandbox up starts it)"
    url=$("$PGC" url "$PGDIR" "$DB")
    port=$(svc_port neon-sandbox)
    printf '# the local pgdrill sandbox in %s: credentials of a throw-away local\n' "$SB"
    printf '# sandbox, never of a real service\n'
    printf 'export DATABASE_URL=%s\n' "$(sh_quote "$url")"
    printf 'export NEON_API_HOST=%s\n' "$(sh_quote "$(neon_url "$port")")"
    printf 'export NEON_API_KEY=%s\n' "$(sh_quote "$(cat "$SB/neon.key")")"
    printf 'export NEON_PROJECT_ID=%s\n' "$(sh_quote "$PROJECT")"
    if have_s3 && [ -s "$SB/s3.secret" ]; then
        [ -n "$(svc_pid s3-proxy)" ] || warn "s3-proxy is not running (pgdrill sandbox up starts it)"
        printf 'export AWS_ENDPOINT_URL_S3=%s\n' "$(sh_quote "http://127.0.0.1:$(svc_port s3-proxy)")"
        printf 'export AWS_ACCESS_KEY_ID=%s\n' "$(sh_quote "$S3_ACCESS_KEY")"
        printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$(sh_quote "$(cat "$SB/s3.secret")")"
        printf 'export AWS_REGION=%s\n' "$(sh_quote "$REGION")"
        printf 'export PGDRILL_BACKUP_URI=%s\n' "$(sh_quote "$BACKUP_URI")"
    else
        printf '# no local S3 in this build: AWS_* and PGDRILL_BACKUP_URI are not set\n'
    fi
    printf 'export PGDRILL_ENVIRONMENT=%s\n' "$(sh_quote SANDBOX)"
}

# ---- down ------------------------------------------------------------------

# Live processes of the sandbox's own programs (PostgreSQL, the Neon server
# and its workers, pg_basebackup, node, python) that run in $SB or name a
# path inside it: what down must have stopped. Other programs (a shell
# sitting in the directory, a tail -f of a log) are not ours to judge.
leftovers() {
    local p cwd comm
    for p in /proc/[0-9]*; do
        [ "${p#/proc/}" = $$ ] && continue
        comm=$(cat "$p/comm" 2>/dev/null) || continue
        case $comm in
        postgres | pg_ctl | pg_basebackup | neon-sandbox | pgdrill-neon-sa* | node | python3* | cp) ;;
        *) continue ;;
        esac
        pid_alive "${p#/proc/}" || continue
        cwd=$(readlink "$p/cwd" 2>/dev/null) || cwd=
        if [[ $cwd == "$SB" || $cwd == "$SB"/* ]] ||
            tr '\0' '\n' 2>/dev/null <"$p/cmdline" |
            awk -v sb="$SB" '$0 == sb || index($0, sb "/") == 1 { f = 1 } END { exit !f }'; then
            printf '%s ' "${p#/proc/}"
        fi
    done
}

cmd_down() {
    local purge=0 left _
    while [ $# -gt 0 ]; do
        case $1 in
        --purge) purge=1 ;;
        *) usage_die "down: unknown argument '$1'" ;;
        esac
        shift
    done
    if [ ! -d "$SB" ]; then
        say "no sandbox in $SB: nothing to stop"
        return 0
    fi
    lock
    stop_pid traffic 10
    rm -f "$NEON_STATE/outage" # a training's Neon outage ends with the sandbox
    stop_pid s3-proxy 10
    stop_pid s3rver 10
    stop_pid neon-sandbox 60
    stop_branches
    if [ -f "$PGDIR/PG_VERSION" ]; then
        "$PGC" stop "$PGDIR" 2>&1 | sed 's/^pg-cluster: //'
    fi
    # a worker the server ended may take a moment to go
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        left=$(leftovers)
        [ -n "$left" ] || break
        sleep 0.5
    done
    if [ -n "$left" ]; then
        warn "processes still running in $SB: $left"
        return 1
    fi
    if [ "$purge" = 1 ]; then
        rm -rf -- "$SB"
        say "removed $SB"
    fi
    say "sandbox down"
}

# ---- migrate ---------------------------------------------------------------
# The sandbox application's migrations (migrations/*.sql, in name order),
# recorded in pgdrill_sandbox_migrations of the database migrated.
MIGRATIONS=$HERE/migrations
MIG_TABLE=pgdrill_sandbox_migrations

cmd_migrate() {
    local status=0 url=${DATABASE_URL:-} f name applied n_app=0 n_pend=0
    while [ $# -gt 0 ]; do
        case $1 in
        --status) status=1 ;;
        --url)
            [ $# -ge 2 ] || usage_die "migrate: --url needs a URL"
            url=$2
            shift
            ;;
        *) usage_die "migrate: unknown argument '$1'" ;;
        esac
        shift
    done
    [ -n "$url" ] || usage_die "migrate: no database: set DATABASE_URL or pass --url URL"
    mq() { PGOPTIONS="-c client_min_messages=warning" PGCONNECT_TIMEOUT=10 \
        "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$url" "$@"; }
    if [ "$status" = 0 ]; then
        mq -c "CREATE TABLE IF NOT EXISTS $MIG_TABLE (name text PRIMARY KEY,
               applied_at timestamptz NOT NULL DEFAULT now())" ||
            { warn "migrate: cannot reach or prepare the database"; exit 3; }
    fi
    # --status changes nothing: without the table nothing was applied
    applied=$(mq -c "SELECT CASE WHEN to_regclass('$MIG_TABLE') IS NULL THEN 'none' END") ||
        { warn "migrate: cannot reach the database"; exit 3; }
    if [ "$applied" = none ]; then
        applied=
    else
        applied=$(mq -c "SELECT name FROM $MIG_TABLE ORDER BY name") ||
            { warn "migrate: cannot read $MIG_TABLE"; exit 3; }
    fi
    for f in "$MIGRATIONS"/*.sql; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        if grep -qxF -- "$name" <<<"$applied"; then
            n_app=$((n_app + 1))
            [ "$status" = 1 ] && say "applied  $name"
        elif [ "$status" = 1 ]; then
            n_pend=$((n_pend + 1))
            say "pending  $name"
        else
            mq -1 -f "$f" -c "INSERT INTO $MIG_TABLE (name) VALUES ('$name')" ||
                { warn "migrate: $name failed; nothing of it was applied"; exit 1; }
            n_app=$((n_app + 1))
            say "applied  $name"
        fi
    done
    if [ "$status" = 1 ]; then
        say "$n_app applied, $n_pend pending"
    else
        say "migrations up to date ($n_app applied)"
    fi
}

# ---- training ----------------------------------------------------------------
# pgdrill sandbox traffic|incident|grade: the work is pgdrill's own
# (core/training); this part gives it production's URL ($TRAIN/url, 0600),
# the sandbox's own Neon credentials (never the caller's: training touches
# nothing but the sandbox) and, for the traffic, a recorded service.
TRAIN=$SB/training

training_env() {
    [ -n "${PGDRILL_SELF:-}" ] || usage_die "run this through pgdrill sandbox"
    if [ ! -f "$PGDIR/PG_VERSION" ] || [ ! -f "$SB/seed.done" ]; then
        warn "no sandbox in $SB (start one with: pgdrill sandbox up)"
        exit 3
    fi
    mkdir -p "$TRAIN"
    chmod 0700 "$TRAIN"
    if ! "$PGC" url "$PGDIR" "$DB" >"$TRAIN/url.tmp" 2>/dev/null; then
        rm -f "$TRAIN/url.tmp"
        warn "postgresql is not running (pgdrill sandbox up starts it)"
        exit 3
    fi
    mv "$TRAIN/url.tmp" "$TRAIN/url"
    unset DATABASE_URL NEON_API_HOST NEON_API_KEY NEON_PROJECT_ID
    if [ -n "$(svc_pid neon-sandbox)" ] && [ -s "$SB/neon.key" ]; then
        NEON_API_HOST=$(neon_url "$(svc_port neon-sandbox)")
        NEON_API_KEY=$(cat "$SB/neon.key")
        NEON_PROJECT_ID=$PROJECT
        export NEON_API_HOST NEON_API_KEY NEON_PROJECT_ID
    fi
    # the sandbox's own S3, for the incidents that take a fresh backup first
    unset AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
        AWS_SESSION_TOKEN AWS_PROFILE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_REGION \
        AWS_DEFAULT_REGION PGDRILL_BACKUP_URI
    if have_s3 && [ -n "$(svc_pid s3-proxy)" ] && [ -s "$SB/s3.secret" ]; then
        AWS_ENDPOINT_URL_S3=http://127.0.0.1:$(svc_port s3-proxy)
        AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
        AWS_SECRET_ACCESS_KEY=$(cat "$SB/s3.secret")
        AWS_REGION=$REGION
        PGDRILL_BACKUP_URI=$BACKUP_URI
        export AWS_ENDPOINT_URL_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION PGDRILL_BACKUP_URI
    fi
    export PGDRILL_TRAINING_DIR=$TRAIN
}

cmd_traffic() {
    local sub=${1:-} rate=3 pid i
    [ $# -gt 0 ] && shift
    case $sub in
    start)
        while [ $# -gt 0 ]; do
            case $1 in
            --rate) rate=${2:-} && shift 2 ;;
            --rate=*) rate=${1#--rate=} && shift ;;
            *) usage_die "traffic start: unknown argument '$1'" ;;
            esac
        done
        [[ $rate =~ ^[1-9][0-9]?$|^100$ ]] || usage_die "traffic start: --rate needs a whole number from 1 to 100"
        lock
        training_env
        pid=$(svc_pid traffic)
        if [ -n "$pid" ]; then
            say "traffic: already running (pid $pid)"
            return 0
        fi
        spawn traffic "$SB/traffic.log" "$PGDRILL_SELF" sandbox traffic run --rate "$rate"
        pid=$SPAWNED_PID
        for ((i = 0; i < 10; i++)); do
            sleep 0.1
            pid_alive "$pid" || fail traffic "$SB/traffic.log" "it exited"
        done
        STARTED=()
        say "traffic: started (pid $pid, $rate requests a second, log $SB/traffic.log)"
        ;;
    stop)
        [ $# -eq 0 ] || usage_die "traffic stop: unknown argument '$1'"
        [ -d "$SB" ] || return 0
        lock
        stop_pid traffic 10
        ;;
    *) usage_die "traffic: start or stop" ;;
    esac
}

# incident, grade: pgdrill itself, with the training environment
cmd_training() {
    local cmd=$1
    shift
    training_env
    exec "$PGDRILL_SELF" sandbox "$cmd" "$@"
}

usage() {
    cat <<'EOF'
usage: pgdrill sandbox up [--visits N] [--default-branch NAME] | status | env | down [--purge]
       pgdrill sandbox migrate [--status] [--url URL]
       pgdrill sandbox traffic start [--rate N] | traffic stop | incident [KIND] [--seed N] | grade [--json]
EOF
}

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
    up) cmd_up "$@" ;;
    status) cmd_status "$@" ;;
    env) cmd_env "$@" ;;
    down) cmd_down "$@" ;;
    migrate) cmd_migrate "$@" ;;
    traffic) cmd_traffic "$@" ;;
    incident | grade) cmd_training "$cmd" "$@" ;;
    -h | --help | help) usage ;;
    "") usage_die "missing command" ;;
    *) usage_die "unknown command '$cmd'" ;;
    esac
}

main "$@"
