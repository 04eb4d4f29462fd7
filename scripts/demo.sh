#!/bin/bash
# `make demo`: the local sandbox and the TUI on the post-restore validation
# runbook against it.
#
#   scripts/demo.sh BIN [--broken]
#
# State lives in $PGDRILL_HOME, by default
# ${XDG_STATE_HOME:-$HOME/.local/state}/pgdrill-demo: the drills, and the
# sandbox (`BIN sandbox up`: the primary PostgreSQL seeded with Care Commons
# data, $PGDRILL_DEMO_VISITS visits, default 100000; the Neon-compatible
# server; the local S3). The sandbox is created on first use, started when
# it is not running, and left running for the next demo; the script prints
# how to stop it.
#
# The runbook runs against the sandbox's care_commons database (DATABASE_URL
# from `BIN sandbox env`). --broken points it at care_commons_broken instead,
# a copy with what a bad partial restore leaves behind (NULL e-mails,
# orphaned visits: tests/fixtures/sql/break-data.sql), made on first use.
#
# With a terminal this opens `BIN tui RUNBOOK`; without one (CI, a pipe) it
# says so and runs the same runbook headless with `BIN run RUNBOOK --yes`.
set -euo pipefail

usage() {
    echo "usage: scripts/demo.sh PGDRILL-BINARY [--broken]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
BIN=$1
shift
broken=0
while [ $# -gt 0 ]; do
    case $1 in
    --broken) broken=1 ;;
    *) usage ;;
    esac
    shift
done

TOP=$(cd "$(dirname "$0")/.." && pwd)
PG_BIN=${PGDRILL_PG_BIN:-/usr/lib/postgresql/15/bin}
RUNBOOK=$TOP/runbooks/post-restore-validation.md
[ -x "$BIN" ] || {
    echo "demo: $BIN is not an executable (run make first)" >&2
    exit 2
}
BIN=$(realpath -- "$BIN")

export PGDRILL_HOME=${PGDRILL_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/pgdrill-demo}
mkdir -p "$PGDRILL_HOME"
export PGDRILL_RUNBOOKS=${PGDRILL_RUNBOOKS:-$TOP/runbooks}

say() { printf 'demo: %s\n' "$*" >&2; }

if [ -f "$PGDRILL_HOME/pg/PG_VERSION" ]; then
    say "the cluster of earlier demos in $PGDRILL_HOME/pg is no longer used (the sandbox replaces it);"
    say "stop it with: $TOP/sandbox/pg-cluster.sh stop $PGDRILL_HOME/pg"
fi

say "bringing the sandbox up in $PGDRILL_HOME/sandbox"
rc=0
"$BIN" sandbox up --visits "${PGDRILL_DEMO_VISITS:-100000}" >&2 || rc=$?
if [ "$rc" -ne 0 ]; then
    say "the sandbox did not come up (exit $rc): see the messages above"
    exit "$rc"
fi
# DATABASE_URL, NEON_*, AWS_*, PGDRILL_BACKUP_URI and PGDRILL_ENVIRONMENT
# (the TUI's banner shows SANDBOX)
eval "$("$BIN" sandbox env)"

if [ "$broken" = 1 ]; then
    admin=${DATABASE_URL%/*}/postgres
    q() { PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
    if [ "$(q -tA -c "SELECT 1 FROM pg_database WHERE datname = 'care_commons_broken'" "$admin")" != 1 ]; then
        # built under a temporary name and renamed when complete, so an
        # interrupted run never leaves a half-broken copy behind
        say "making care_commons_broken (a copy of care_commons after a bad partial restore)"
        q -c "DROP DATABASE IF EXISTS care_commons_broken_loading" "$admin"
        q -c "CREATE DATABASE care_commons_broken_loading TEMPLATE care_commons" "$admin"
        q -f "$TOP/tests/fixtures/sql/break-data.sql" "${DATABASE_URL%/*}/care_commons_broken_loading" >/dev/null
        q -c "ALTER DATABASE care_commons_broken_loading RENAME TO care_commons_broken" "$admin"
    fi
    DATABASE_URL=${DATABASE_URL%/*}/care_commons_broken
fi

hostport=${DATABASE_URL#*@}
say "DATABASE_URL points at ${DATABASE_URL##*/} on ${hostport%%/*} (the sandbox's primary)"
say "drills and reports go to $PGDRILL_HOME/drills"
say "stop the sandbox with: PGDRILL_HOME=$PGDRILL_HOME $BIN sandbox down"

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
