# shellcheck shell=bash
# Shared set-up for tests/integration/neon_*.sh (sourced, not run: not executable).
#
# neon_setup NAME [SANDBOX-ARGS...] starts, under $PGDRILL_TEST_WORK:
#   - a PostgreSQL 15 primary with WAL archiving (sandbox/pg-cluster.sh),
#   - build/neon-sandbox in front of it (takes the base backup),
#   - tests/contract/neon_proxy.py in front of the sandbox, validating every
#     request and response against tests/contract/neon-api-v2.json and
#     injecting the faults listed in $FAULTS,
# and exports NEON_API_HOST (the proxy), NEON_API_KEY, NEON_PROJECT_ID for
# the client driver `$NT cli ...`. neon_teardown stops exactly those, by PID.
set -u
TOP=${PGDRILL_TOP:?PGDRILL_TOP is not set}
BUILD_DIR=${PGDRILL_BUILD:-$TOP/build}
WORK_ROOT=${PGDRILL_TEST_WORK:-/tmp}
PGC=${PGDRILL_PG_CLUSTER:-$TOP/sandbox/pg-cluster.sh}
NT=$BUILD_DIR/tests/tools/neon_tool
SB=$BUILD_DIR/neon-sandbox
SPEC=$TOP/tests/contract/neon-api-v2.json
PROXY=$TOP/tests/contract/neon_proxy.py
export NEON_PROJECT_ID=drill-sandbox
NEON_API_KEY="napi_test_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export NEON_API_KEY
SB_PID=""
# The contract proxy's PID. Not PROXY_PID: tests/s3_lib.sh sets that one
# for its S3 proxy, and a script using both would lose this one and leave
# neon_proxy.py running after the test.
NEON_PROXY_PID=""
W=""

# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"

# ok, not_ok, notok, diag, check... come from tests/tap.sh (via lib.sh)
quiet() { "$@" >/dev/null 2>&1; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() { # URL: until it answers at all (any status), 60 s
    for _ in $(seq 1 600); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    return 1
}

pgq() { "$PGC" psql "$W/pg" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

start_sandbox() {
    NEON_SANDBOX_KEY=$NEON_API_KEY "$SB" --port "$SB_PORT" --state "$W/state" --primary "$W/pg" \
        --pg-cluster "$PGC" --project-id "$NEON_PROJECT_ID" "${SB_ARGS[@]}" >>"$W/sandbox.log" 2>&1 &
    SB_PID=$!
    wait_http "http://127.0.0.1:$SB_PORT/api/v2/projects/$NEON_PROJECT_ID"
}

stop_sandbox() {
    if [ -n "$SB_PID" ]; then
        kill -TERM "$SB_PID" 2>/dev/null
        wait "$SB_PID" 2>/dev/null
        SB_PID=""
    fi
}

neon_teardown() {
    stop_sandbox
    if [ -n "$NEON_PROXY_PID" ]; then
        kill -TERM "$NEON_PROXY_PID" 2>/dev/null
        wait "$NEON_PROXY_PID" 2>/dev/null
        NEON_PROXY_PID=""
    fi
    [ -n "$W" ] && [ -f "$W/pg/PG_VERSION" ] && "$PGC" stop "$W/pg" >/dev/null 2>&1
    [ -n "$W" ] && [ -z "${PGDRILL_TEST_KEEP:-}" ] && rm -rf "$W"
}

neon_setup() {
    local name=$1
    shift
    SB_ARGS=("$@")
    trap neon_teardown EXIT
    if [ ! -x "$PGC" ]; then
        notok "setup: $PGC not found (it is sandbox/pg-cluster.sh)"
        exit 1
    fi
    for f in "$NT" "$SB"; do
        if [ ! -x "$f" ]; then
            notok "setup: $f not built (make test-bins)"
            exit 1
        fi
    done
    W=$(mktemp -d "$WORK_ROOT/neon-$name.XXXX")
    chmod 0755 "$W"
    if ! "$PGC" init "$W/pg" --archive "$W/archive" --fast >"$W/pg-init.log" 2>&1 ||
        ! "$PGC" start "$W/pg" >>"$W/pg-init.log" 2>&1; then
        notok "setup: primary postgresql did not start"
        sed 's/^/# /' "$W/pg-init.log"
        exit 1
    fi
    SB_PORT=$(free_port)
    if ! start_sandbox; then
        notok "setup: neon-sandbox did not start"
        sed 's/^/# /' "$W/sandbox.log"
        exit 1
    fi
    PROXY_PORT=$(free_port)
    FAULTS=$W/faults.json
    CONTRACT_LOG=$W/contract.jsonl
    echo '[]' >"$FAULTS"
    : >"$CONTRACT_LOG"
    python3 "$PROXY" --listen "$PROXY_PORT" --upstream "http://127.0.0.1:$SB_PORT" \
        --spec "$SPEC" --log "$CONTRACT_LOG" --faults "$FAULTS" >"$W/proxy.log" 2>&1 &
    NEON_PROXY_PID=$!
    if ! wait_http "http://127.0.0.1:$PROXY_PORT/__proxy/summary"; then
        notok "setup: contract proxy did not start"
        sed 's/^/# /' "$W/proxy.log"
        exit 1
    fi
    export NEON_API_HOST="http://127.0.0.1:$PROXY_PORT/api/v2"
    ok "setup: primary, neon-sandbox and contract proxy running"
}

# neon_seed_care_commons: the care_commons database on the primary, with the
# fixture schema and clean seed; sets CARE_URL, its URL. cc SQL runs one
# statement on it (unaligned, tuples only).
neon_seed_care_commons() {
    pgq "CREATE DATABASE care_commons" >/dev/null
    "$PGC" psql "$W/pg" -d care_commons -qX -v ON_ERROR_STOP=1 \
        -f "$TOP/tests/fixtures/sql/care-commons-schema.sql" \
        -f "$TOP/tests/fixtures/sql/seed-clean.sql" >"$W/seed.log" 2>&1 ||
        { notok "setup: seed care_commons"; sed 's/^/# /' "$W/seed.log"; exit 1; }
    # shellcheck disable=SC2034 # for the scripts sourcing this
    CARE_URL=$("$PGC" url "$W/pg" care_commons)
}
cc() { "$PGC" psql "$W/pg" -d care_commons -qAtX -v ON_ERROR_STOP=1 -c "$1"; }

# contract_summary: every exchange validated against the spec, no violation.
contract_check() {
    local min=$1 summary exchanges violations
    summary=$(curl -s "http://127.0.0.1:$PROXY_PORT/__proxy/summary")
    exchanges=$(printf '%s' "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["exchanges"])')
    violations=$(printf '%s' "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["violations"])')
    if [ "$violations" = 0 ] && [ "$exchanges" -ge "$min" ]; then
        ok "contract: $exchanges requests and responses validate against the openapi document"
    else
        notok "contract: $violations violations in $exchanges exchanges (want 0 in >= $min)"
        python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    for v in e["violations"]: print("#", v)' "$CONTRACT_LOG" | head -40
    fi
}

# The API key must appear in no log, journal or output we produced.
key_check() {
    if grep -rqF "$NEON_API_KEY" "$W"/*.log "$CONTRACT_LOG" "$W"/out.* 2>/dev/null; then
        notok "secrets: the api key appears in a log or output"
    else
        ok "secrets: the api key appears in no log or output"
    fi
}

# pid_gone PID: the process has exited (a zombie counts: its parent may never reap it)
pid_gone() {
    local st
    for _ in $(seq 1 50); do
        st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
        [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] && return 0
        sleep 0.1
    done
    return 1
}

# field KEY FILE: the value of key=value in FILE
field() { sed -n "s/^$1=//p" "$2" | head -n 1; }

# posted METHOD REGEX: how many requests the proxy saw
seen() {
    python3 -c 'import json,re,sys
n=0
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e["method"]==sys.argv[2] and re.search(sys.argv[3], e["path"]): n+=1
print(n)' "$CONTRACT_LOG" "$1" "$2"
}
