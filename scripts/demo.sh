#!/bin/bash
# `make demo`: a local Care Commons database and the TUI on the post-restore
# validation runbook.
#
#   scripts/demo.sh BIN [--broken]
#
# State lives in $PGDRILL_HOME, by default
# ${XDG_STATE_HOME:-$HOME/.local/state}/pgdrill-demo: the drills, and a
# PostgreSQL 15 cluster in pg/ (sandbox/pg-cluster.sh, loopback only) holding
# two copies of the Care Commons fixtures: care_commons (clean) and
# care_commons_broken (3 NULL e-mails, 5 orphaned visits), picked with
# --broken. The cluster is created and seeded on first use, started when it
# is not running, and left running for the next demo.
#
# With a terminal this opens `BIN tui RUNBOOK`; without one (CI, a pipe) it
# says so and runs the same runbook headless with `BIN run RUNBOOK --yes`.
# The sandbox (Neon, S3) replaces this cluster later.
set -euo pipefail

usage() {
    echo "usage: scripts/demo.sh PGDRILL-BINARY [--broken]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
BIN=$1
shift
db=care_commons
while [ $# -gt 0 ]; do
    case $1 in
    --broken) db=care_commons_broken ;;
    *) usage ;;
    esac
    shift
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
PGC=$TOP/sandbox/pg-cluster.sh
FIXTURES=$TOP/tests/fixtures/sql
RUNBOOK=$TOP/runbooks/post-restore-validation.md
[ -x "$BIN" ] || {
    echo "demo: $BIN is not an executable (run make first)" >&2
    exit 2
}
BIN=$(realpath -- "$BIN")

export PGDRILL_HOME=${PGDRILL_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/pgdrill-demo}
PGDIR=$PGDRILL_HOME/pg
mkdir -p "$PGDRILL_HOME"
# The TUI's banner names the target; the picker finds the repo's runbooks.
export PGDRILL_ENVIRONMENT=${PGDRILL_ENVIRONMENT:-SANDBOX}
export PGDRILL_RUNBOOKS=${PGDRILL_RUNBOOKS:-$TOP/runbooks}

say() { printf 'demo: %s\n' "$*" >&2; }

if [ ! -f "$PGDIR/PG_VERSION" ]; then
    say "creating a PostgreSQL 15 cluster in $PGDIR"
    "$PGC" init "$PGDIR"
fi
"$PGC" start "$PGDIR"

q() { PGOPTIONS="-c client_min_messages=warning" "$PGC" psql "$PGDIR" -q -v ON_ERROR_STOP=1 "$@"; }

# Loads one fixture database under a temporary name and renames it when
# complete, so an interrupted first run never leaves a half-seeded database.
seed() {
    local name=$1 kind=$2 tmp=${1}_loading
    [ "$(q -tA -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" = 1 ] && return 0
    say "seeding database $name ($kind)"
    q -c "DROP DATABASE IF EXISTS $tmp"
    q -c "CREATE DATABASE $tmp"
    q -d "$tmp" -f "$FIXTURES/care-commons-schema.sql" >/dev/null
    q -d "$tmp" -f "$FIXTURES/seed-clean.sql" >/dev/null
    if [ "$kind" = broken ]; then
        q -d "$tmp" -f "$FIXTURES/break-data.sql" >/dev/null
    fi
    q -c "ALTER DATABASE $tmp RENAME TO $name"
}
seed care_commons clean
seed care_commons_broken broken

DATABASE_URL=$("$PGC" url "$PGDIR" "$db")
export DATABASE_URL

say "DATABASE_URL points at $db on 127.0.0.1:$("$PGC" status "$PGDIR" | sed -n 's/.* port=\([0-9]*\) .*/\1/p')"
say "drills and reports go to $PGDRILL_HOME/drills"
say "stop the demo database with: $PGC stop $PGDIR"

if [ -t 0 ] && [ -t 1 ]; then
    exec "$BIN" tui "$RUNBOOK"
fi

say "stdin or stdout is not a terminal, so the TUI cannot open here:"
say "running the same runbook headless instead: pgdrill run $RUNBOOK --yes"
say "(run 'make demo' from a terminal for the TUI)"
rc=0
"$BIN" run "$RUNBOOK" --yes || rc=$?
say "pgdrill run exited $rc"
exit "$rc"
