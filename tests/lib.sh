# shellcheck shell=bash
# Shared helpers for tests/integration/*.sh and tests/tui/*.sh. Source it:
#
#   . "$PGDRILL_TOP/tests/lib.sh"
#
# TAP output (counted by tests/run.sh): tests/tap.sh, sourced from here
#   (ok, not_ok, check, is, like, unlike, diag, done_testing, bail).
# Environment:
#   require_env VAR...                fail the whole script unless set
#   pgdrill_home [NAME]               prints a fresh, empty PGDRILL_HOME dir
#   entries_by_mtime DIR              the names in DIR, newest first (as ls -t)
#   tmux_kill_server SOCKET           stops that private tmux server and waits
#                                     until it has exited
#   first_path PATH... / last_path PATH...
#                                     the first / last PATH that exists: with a
#                                     glob, the first / last match in name
#                                     order (drill ids start with the time:
#                                     the last is the newest drill)
# PostgreSQL (needs PGDRILL_TEST_PGURL from tests/services.sh):
#   db_url NAME                       the superuser URL of database NAME
#   fresh_db NAME [clean|broken]      (re)creates NAME from the Care Commons
#                                     fixtures, prints its URL
#   sql URL QUERY                     prints the result, unaligned, no header
# report.json:
#   json_get FILE PATH                one value; PATH like
#                                     outcome, stages.0.status,
#                                     checks[name=orphaned-visits].result
#   json_eval FILE PYEXPR             a python expression over `d`, e.g.
#                                     'all(c["passed"] for c in d["checks"])'
# Values print as JSON does, except strings print raw: true, false, null, 3,
# 3.5, text. A missing path prints nothing and returns 1.
# Drills:
#   kill_at_mark MARK OUT CMD...      runs CMD (output to OUT) in the
#                                     background and kills it (-9) once the
#                                     file MARK exists: a crash mid-step

: "${PGDRILL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${PGDRILL_BIN:=$PGDRILL_TOP/build/pgdrill}"
: "${PGDRILL_PG_BIN:=/usr/lib/postgresql/15/bin}"
export PGDRILL_TOP PGDRILL_BIN
# shellcheck source=tests/tap.sh
. "$PGDRILL_TOP/tests/tap.sh"

FIXTURES_SQL=$PGDRILL_TOP/tests/fixtures/sql
# Databases made from the fixtures are copies of this template.
FIXTURE_TEMPLATE=pgdrill_fixture_clean

require_env() {
    local v
    for v in "$@"; do
        if [ -z "${!v:-}" ]; then
            bail "environment" "$v is not set: run this test through tests/run.sh (make check)"
        fi
    done
}

# A new empty directory for PGDRILL_HOME under the test work dir.
pgdrill_home() {
    local base=${PGDRILL_TEST_WORK:-${TMPDIR:-/tmp}}
    mktemp -d "$base/home-${1:-pgdrill}.XXXXXX"
}

# A server told to exit still accepts connections for a moment: a
# new-session sent to it then fails with "server exited unexpectedly". So
# wait (up to 5 s) for the old server's process to be gone.
tmux_kill_server() {
    local pid
    pid=$(tmux -S "$1" -f /dev/null display-message -p '#{pid}' 2>/dev/null)
    tmux -S "$1" -f /dev/null kill-server >/dev/null 2>&1
    [ -n "$pid" ] || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    return 1
}

entries_by_mtime() {
    find "$1" -mindepth 1 -maxdepth 1 -not -name '.*' -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-
}

first_path() {
    local p
    for p in "$@"; do
        if [ -e "$p" ]; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

last_path() {
    local p last=
    for p in "$@"; do
        [ -e "$p" ] && last=$p
    done
    [ -n "$last" ] && printf '%s\n' "$last"
}

db_url() {
    printf '%s/%s\n' "${PGDRILL_TEST_PGURL%/*}" "$1"
}

_psql() {
    PGCONNECT_TIMEOUT=10 PGOPTIONS='-c client_min_messages=warning' "$PGDRILL_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

sql() {
    _psql -tA -c "$2" "$1"
}

# The clean fixture is built once per cluster under a temporary name and
# renamed when complete, so a half-loaded template is never copied.
_fixture_template() {
    local admin tmp exists
    admin=$(db_url postgres)
    exists=$(sql "$admin" "SELECT 1 FROM pg_database WHERE datname = '$FIXTURE_TEMPLATE'") || return 1
    [ "$exists" = 1 ] && return 0
    tmp=${FIXTURE_TEMPLATE}_load_$$
    _psql -c "DROP DATABASE IF EXISTS $tmp" "$admin" >&2 &&
        _psql -c "CREATE DATABASE $tmp" "$admin" >&2 &&
        _psql -f "$FIXTURES_SQL/care-commons-schema.sql" "$(db_url "$tmp")" >/dev/null &&
        _psql -f "$FIXTURES_SQL/seed-clean.sql" "$(db_url "$tmp")" >/dev/null || return 1
    # Another script may have won the race: then ours is dropped.
    if ! _psql -c "ALTER DATABASE $tmp RENAME TO $FIXTURE_TEMPLATE" "$admin" 2>/dev/null; then
        _psql -c "DROP DATABASE IF EXISTS $tmp" "$admin" >&2
    fi
}

# fresh_db NAME [clean|broken]: drops NAME if it exists, creates it as a copy
# of the clean Care Commons fixture, breaks it when asked (break-data.sql),
# refreshes its statistics and prints its URL.
fresh_db() {
    local name=$1 kind=${2:-clean} admin url
    [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || {
        echo "fresh_db: bad database name '$name'" >&2
        return 2
    }
    case $kind in clean | broken) ;; *)
        echo "fresh_db: unknown kind '$kind' (clean or broken)" >&2
        return 2
        ;;
    esac
    [ -n "${PGDRILL_TEST_PGURL:-}" ] || {
        echo "fresh_db: PGDRILL_TEST_PGURL is not set (tests/services.sh start)" >&2
        return 1
    }
    admin=$(db_url postgres)
    url=$(db_url "$name")
    _fixture_template || {
        echo "fresh_db: cannot build the fixture template" >&2
        return 1
    }
    _psql -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" "$admin" >&2 &&
        _psql -c "CREATE DATABASE $name TEMPLATE $FIXTURE_TEMPLATE" "$admin" >&2 || return 1
    if [ "$kind" = broken ]; then
        _psql -f "$FIXTURES_SQL/break-data.sql" "$url" >/dev/null || return 1
    else
        # A copied database starts without statistics: give it exact ones.
        _psql -c "ANALYZE" "$url" >&2 || return 1
    fi
    printf '%s\n' "$url"
}

json_get() {
    python3 - "$1" "$2" <<'PY'
import json, re, sys

def show(v):
    if isinstance(v, str):
        return v
    return json.dumps(v)

path, node = sys.argv[2], None
try:
    with open(sys.argv[1]) as f:
        node = json.load(f)
except (OSError, ValueError) as e:
    print("json_get: %s: %s" % (sys.argv[1], e), file=sys.stderr)
    sys.exit(1)
# Segments: key, index, or key[field=value] (the first element of the array
# `key` whose `field` equals `value` as text).
for seg in re.findall(r'(?:[^.\[]+)?(?:\[[^\]]*\])?', path):
    if not seg:
        continue
    m = re.fullmatch(r'([^.\[]*)(?:\[([^=\]]+)=([^\]]*)\])?', seg)
    key, field, want = m.group(1), m.group(2), m.group(3)
    try:
        if key:
            if isinstance(node, list):
                node = node[int(key)]
            else:
                node = node[key]
        if field is not None:
            node = next(e for e in node if isinstance(e, dict) and field in e
                        and show(e[field]) == want)
    except (KeyError, IndexError, ValueError, TypeError, StopIteration):
        sys.exit(1)
print(show(node))
PY
}

json_eval() {
    python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# wait_for GLOB [SECONDS]: waits (10 s by default) until a file matching
# GLOB exists, say the marker a slow step writes when it starts; 1 if none came
wait_for() {
    local _
    for _ in $(seq 1 $((${2:-10} * 10))); do
        compgen -G "$1" >/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# kill_at_mark MARK OUT CMD...: runs CMD (say `pgdrill run`) in the
# background, output to OUT, waits (10 s at most) until the file MARK exists
# (the step that writes it has started), lets it run 0.3 s more and kills
# CMD with SIGKILL, as a crash would; the step's own process group lives on
kill_at_mark() {
    local mark=$1 out=$2 pid
    shift 2
    "$@" >"$out" 2>&1 &
    pid=$!
    wait_for "$mark"
    sleep 0.3
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
}
