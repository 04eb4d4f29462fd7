# shellcheck shell=bash
# The incident world of every restore test (sourced, not run: not executable).
# DESIGN.md, "Restores are judged by the data": the application keeps writing
# while the drill runs, an incident deletes and corrupts rows, and the test
# compares per-row fingerprints with the ground truth taken before it.
#
# A world (one per script):
#   world_up [DEFAULT-BRANCH]   `pgdrill sandbox up` (small, fast) in a fresh
#                               PGDRILL_HOME, its environment exported
#                               (DATABASE_URL is production), the cascade
#                               fixture loaded; with DEFAULT-BRANCH, up
#                               --default-branch NAME. Torn down on exit.
#   world_db NAME               instead: database NAME on the test cluster
#                               (tests/services.sh), for the helper's self-test
# The writer (tests/tools/world.py writer), one per world:
#   world_writer_start          starts it against DATABASE_URL, mode all
#   world_writer_mode MODE      all, own, insert or pause; returns once the
#                               writer has finished a turn in that mode
#   world_writer_edit ID...     it edits these visits next (one transaction
#                               each); returns when done
#   world_writer_burst N        it inserts N visits at once
#   world_writer_retarget URL   it reconnects to URL (option A moved production)
#   world_writer_stop           stops it by PID and waits for it
# A case (one incident and one drill):
#   world_case NAME             a folder $C for the case's files
#   world_restore_point         pauses the writer, records the ground truth
#                               (s0.json: fingerprints of every table) and T0
#   world_incident KIND [CMD...] delete-range, corrupt, both or cascade, right
#                               after T0 and with the writer still paused;
#                               records what it did (incident.json), the
#                               table after it (after.json) and T1 (its end,
#                               for copy_mode=undo), runs CMD while the
#                               writer is still paused; the writer then writes
#                               and edits (conflicting with the incident on
#                               two corrupted rows), inserts 40 visits at
#                               once, and goes on for a moment
#   world_run RUNBOOK ARG...    `pgdrill run RUNBOOK ARG... --yes` while the
#                               writer keeps inserting (and editing its own
#                               rows); exit status in WORLD_RC, output in
#                               $C/out.run, report in WORLD_REPORT
#   world_verify MODE TABLE...  pauses the writer and checks every row (TAP
#                               lines): MODE missing, revert or undo (the
#                               TABLEs were copied back) or whole (the
#                               database went back to T0); production is
#                               DATABASE_URL, or WORLD_URL when set; facts
#                               for the report's numbers in $C/facts.json
#                               (world_fact PATH)
#   world_verify_lines MODE TABLE...  the same as lines "ok<TAB>NAME" and
#                               "not ok<TAB>NAME<TAB>DIAG" (no_failure LINES)
#   world_next_inserts          the writer's next inserts succeed (no key
#                               collision)
# Also: world_writer_mark (the writer log's length: a phase's bound),
# world_writer_phase FROM [TO] (JSON: inserts, edits, errors, reconnects,
# retargets since FROM), world_default_branch (its name, from the Neon API).
# Variables: W (the world's folder), C, T0, T1, RANGE_START, RANGE_END,
# WORLD_CONFLICTS (the corrupted visits the writer edited on purpose),
# WORLD_RC, WORLD_REPORT, WORLD_OUT (the run's output as text).
#
# Fingerprints, keys and counts go to files; row data never does.

: "${PGDRILL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"

WORLD_PY=${PGDRILL_PYTHON:-/usr/bin/python3}
WORLD_TOOL=$PGDRILL_TOP/tests/tools/world.py
WORLD_VISITS=${WORLD_VISITS:-2000}
WORLD_PERIOD=${WORLD_PERIOD:-0.25}
W=""
C=""
WORLD_SANDBOX=0
WORLD_WRITER_PID=""

wpy() { "$WORLD_PY" "$WORLD_TOOL" "$@"; }

world_cleanup() {
    world_writer_stop
    if [ "$WORLD_SANDBOX" = 1 ]; then
        "$PGDRILL_BIN" sandbox down --purge >"$W/sandbox-down.log" 2>&1 ||
            sed 's/^/# sandbox down: /' "$W/sandbox-down.log"
    fi
    [ -n "$W" ] && [ -z "${PGDRILL_TEST_KEEP:-}" ] && rm -rf "$W"
}

_world_dir() {
    require_env PGDRILL_TEST_WORK PGDRILL_BIN
    "$WORLD_PY" -c 'import psycopg2' 2>/dev/null ||
        bail "setup" "$WORLD_PY has no psycopg2: install python3-psycopg2 (scripts/deps.sh)"
    # short: the sandbox's socket path must stay under PostgreSQL's limit
    W=$(mktemp -d "$PGDRILL_TEST_WORK/w-${1:0:6}.XXXX")
    chmod 0755 "$W"
    mkdir -p "$W/writer/requests"
    trap world_cleanup EXIT
}

_world_fixture() {
    _psql -f "$FIXTURES_SQL/world-cascade.sql" "$DATABASE_URL" >"$W/fixture.log" 2>&1 ||
        bail "setup: load world-cascade.sql" "$(cat "$W/fixture.log")"
}

world_up() {
    local args=(--visits "$WORLD_VISITS")
    [ $# -gt 0 ] && args+=(--default-branch "$1")
    _world_dir "${1:-main}"
    export PGDRILL_HOME=$W/h PGDRILL_SANDBOX_FAST=1
    WORLD_SANDBOX=1
    if ! "$PGDRILL_BIN" sandbox up "${args[@]}" >"$W/sandbox-up.log" 2>&1; then
        bail "setup: pgdrill sandbox up ${args[*]}" "$(tail -n 20 "$W/sandbox-up.log")"
    fi
    eval "$("$PGDRILL_BIN" sandbox env)"
    _world_fixture
    ok "setup: sandbox up ${args[*]}, the cascade fixture loaded"
}

world_db() {
    _world_dir "$1"
    require_env PGDRILL_TEST_PGURL
    DATABASE_URL=$(fresh_db "$1") || bail "setup" "fresh_db $1 failed"
    export DATABASE_URL
    _world_fixture
    ok "setup: database $1 with the cascade fixture"
}

# ---- the writer ---------------------------------------------------------------

world_writer_start() {
    printf '%s\n' "$DATABASE_URL" >"$W/writer/url"
    echo all >"$W/writer/mode"
    rm -f "$W/writer/ack"
    "$WORLD_PY" "$WORLD_TOOL" writer "$W/writer" "$WORLD_PERIOD" >>"$W/writer/stderr" 2>&1 &
    WORLD_WRITER_PID=$!
    world_writer_mode all || bail "writer" "the writer did not start: $(cat "$W/writer/stderr")"
}

# world_writer_mode MODE: sets it and waits (30 s at most) for a turn in it.
world_writer_mode() {
    local i
    echo "$1" >"$W/writer/mode.tmp" && mv "$W/writer/mode.tmp" "$W/writer/mode"
    rm -f "$W/writer/ack"
    for ((i = 0; i < 300; i++)); do
        [ "$(cat "$W/writer/ack" 2>/dev/null)" = "$1" ] && return 0
        kill -0 "$WORLD_WRITER_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

world_writer_edit() {
    local f i
    f=$W/writer/requests/$(date +%s%N).ids
    printf '%s\n' "$@" >"$f.tmp" && mv "$f.tmp" "$f"
    for ((i = 0; i < 300; i++)); do
        [ -e "$f" ] || return 0
        sleep 0.1
    done
    return 1
}

# world_writer_burst N: it inserts N visits at once, one transaction each
world_writer_burst() {
    local f i
    f=$W/writer/requests/$(date +%s%N).burst
    printf '%s\n' "$1" >"$f.tmp" && mv "$f.tmp" "$f"
    for ((i = 0; i < 300; i++)); do
        [ -e "$f" ] || return 0
        sleep 0.1
    done
    return 1
}

world_writer_retarget() {
    printf '%s\n' "$1" >"$W/writer/url.tmp" && mv "$W/writer/url.tmp" "$W/writer/url"
}

world_writer_stop() {
    local i
    [ -n "$WORLD_WRITER_PID" ] || return 0
    kill -TERM "$WORLD_WRITER_PID" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$WORLD_WRITER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$WORLD_WRITER_PID" 2>/dev/null
    wait "$WORLD_WRITER_PID" 2>/dev/null
    WORLD_WRITER_PID=""
}

# Lines in the writer's log so far: the bounds of a phase.
world_writer_mark() { wc -l <"$W/writer/writer.jsonl"; }

# world_writer_phase FROM [TO]: JSON counts of what it did in that phase
world_writer_phase() { wpy writer-phase "$W/writer/writer.jsonl" "$@"; }

# ---- a case -----------------------------------------------------------------------

world_case() {
    C=$W/$1
    mkdir -p "$C"
    diag "case $1"
}

world_restore_point() {
    world_writer_mode pause || bail "writer" "the writer did not pause"
    sleep 0.05
    T0=$(wpy snapshot "$DATABASE_URL" "$C/s0.json") || bail "restore point" "snapshot failed"
    sleep 0.05
}

world_incident() {
    local kind=$1 out ids
    shift
    out=$(wpy incident "$kind" "$DATABASE_URL" "$C/incident.json" 2>&1) ||
        bail "incident $kind" "$out"
    sleep 0.05
    T1=$(wpy snapshot "$DATABASE_URL" "$C/after.json") || bail "incident $kind" "snapshot failed"
    # shellcheck disable=SC2034 # RANGE_START, RANGE_END: for the scripts that source this
    RANGE_START=$(json_get "$C/incident.json" range.0 2>/dev/null)
    # shellcheck disable=SC2034
    RANGE_END=$(json_get "$C/incident.json" range.1 2>/dev/null)
    diag "incident $kind at $T0..$T1: $out"
    if [ $# -gt 0 ]; then "$@"; fi
    WORLD_MARK=$(world_writer_mark)
    world_writer_mode all || bail "writer" "the writer did not resume"
    # the application edits two rows the incident corrupted: conflicts
    ids=$(json_eval "$C/incident.json" '" ".join(str(i) for i in (d["changed"].get("visits") or [])[:2])')
    # shellcheck disable=SC2034 # for the scripts that source this
    WORLD_CONFLICTS=$ids
    # shellcheck disable=SC2086
    [ -n "$ids" ] && { world_writer_edit $ids || bail "writer" "the writer did not edit $ids"; }
    # and inserts a batch: more than the 32 values a sequence logs ahead in
    # the WAL, so a sequence put back to the restore point collides
    world_writer_burst 40 || bail "writer" "the writer did not insert"
    sleep 0.6
}

# world_run RUNBOOK ARG...: the drill, headless, while the application writes
world_run() {
    local rb=$1 id
    shift
    world_writer_mode own || bail "writer" "the writer is not writing"
    "$PGDRILL_BIN" run "$PGDRILL_TOP/runbooks/$rb" "$@" --yes >"$C/out.run" 2>&1
    WORLD_RC=$?
    # shellcheck disable=SC2034 # WORLD_OUT, WORLD_REPORT: for the scripts that source this
    WORLD_OUT=$(cat "$C/out.run")
    id=$(sed -n 's/^drill \([0-9]\{8\}-[0-9]\{6\}-[a-z0-9-]*\): .*/\1/p' "$C/out.run" | tail -n 1)
    WORLD_REPORT=""
    # shellcheck disable=SC2034
    [ -n "$id" ] && WORLD_REPORT=$PGDRILL_HOME/drills/$id/report.json
    if [ "$WORLD_RC" != 0 ]; then
        diag "pgdrill run $rb $* exited $WORLD_RC; its output ends:"
        tail -n 25 "$C/out.run" | sed 's/^/#   /'
    fi
    sleep 0.5
}

# world_verify_lines MODE TABLE...: pauses the writer, snapshots production
# and prints world.py verify's lines ("ok<TAB>NAME", "not ok<TAB>NAME<TAB>DIAG")
world_verify_lines() {
    local mode=$1 url=${WORLD_URL:-$DATABASE_URL}
    shift
    world_writer_mode pause || bail "writer" "the writer did not pause"
    WORLD_MARK_END=$(world_writer_mark)
    wpy snapshot "$url" "$C/final.json" >/dev/null || {
        printf 'not ok\tsnapshot of production after the drill\n'
        return 1
    }
    wpy verify "$mode" "$C/s0.json" "$C/incident.json" "$C/after.json" "$C/final.json" \
        "$W/writer/writer.jsonl" "$WORLD_MARK" "$WORLD_MARK_END" "$C/facts.json" "$@" 2>&1 ||
        printf 'not ok\tverify\tworld.py verify failed\n'
}

# world_verify MODE TABLE...: every row against the ground truth, as TAP
world_verify() {
    local label="${C##*/} ($1)" status name diagnostic
    while IFS=$'\t' read -r status name diagnostic; do
        case $status in
        ok) ok "$label: $name" ;;
        "not ok") not_ok "$label: $name" "$diagnostic" ;;
        *) not_ok "$label: verify" "$status $name $diagnostic" ;;
        esac
    done < <(world_verify_lines "$@")
}

# no_failure LINES: world_verify_lines output without a "not ok" line
no_failure() { ! grep -q '^not ok' <<<"$1"; }

# pid_running PID: alive and not a zombie
pid_running() {
    local st
    st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# world_fact PATH: a number or list from the case's facts.json
world_fact() { json_get "$C/facts.json" "$1"; }

world_next_inserts() {
    local from phase n=0 i
    from=$(world_writer_mark)
    world_writer_mode insert || bail "writer" "the writer did not resume"
    for ((i = 0; i < 50 && n < 3; i++)); do # three inserts, 5 s at most
        sleep 0.1
        n=$(grep -c '"op": "insert"' <(tail -n +"$((from + 1))" "$W/writer/writer.jsonl"))
    done
    world_writer_mode pause
    phase=$(world_writer_phase "$from")
    n=$(json_eval <(printf '%s' "$phase") 'd["inserts"]')
    check "the application's next inserts succeed ($n)" [ "$n" -ge 2 ]
    is "$(json_eval <(printf '%s' "$phase") '"; ".join(d["errors"])')" "" \
        "the application's inserts hit no error (no key collision)"
}

# world_default_branch: the name of the project's default branch
world_default_branch() { wpy branches | awk '$2 == "default" {print $1}'; }
