#!/bin/bash
# SIGTERM (systemd's stop) ends `pgdrill verify` and `pgdrill status` as
# Ctrl-C does: at the next safe point, with "interrupted" on stderr, exit
# 130 and no temporary file left. The signature-checking S3 proxy holds the
# request in flight (a delay fault) so the signal lands mid-request: verify
# while it streams the newest backup (a few MB), status while it lists.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/verify_lib.sh"

verify_setup cmd_sigterm

ctl() { curl -sS -X POST "$S3EP/__pgdrill/$1" >/dev/null; }
# leftovers: pd_write_atomic's ".NAME.XXXXXX" files and anything in TMPDIR
leftovers() { find "$PGDRILL_HOME" "$TMPDIR" -name '.*.??????' -o -name '*care-commons*' 2>/dev/null; }
export TMPDIR=$W/tmp
mkdir -p "$TMPDIR"

head -c 6000000 /dev/urandom | gzip -1 >"$W/big.sql.gz"
NEW=weekly/care-commons-backup-$(stamp 0).sql.gz
upload_backup "$NEW" "$W/big.sql.gz"

# term_after SECONDS CMD...: start CMD, SIGTERM it after SECONDS, exit code in $rc
term_after() {
    local s=$1 pid
    shift
    "$@" >"$W/out" 2>"$W/err" &
    pid=$!
    sleep "$s"
    kill -TERM "$pid"
    wait "$pid"
    rc=$?
}

ctl clear
ctl "fault?kind=delay&seconds=3&count=1&match=GET%20/$BUCKET/weekly/care-commons-backup"
term_after 1.5 "$PGDRILL_BIN" verify --skip-neon
is "$rc" 130 "verify: SIGTERM mid-download exits 130"
is "$(cat "$W/err")" "pgdrill verify: interrupted" "verify: one line on stderr says so"
[ "$rc" = 130 ] || sed 's/^/# /' "$W/out" "$W/err"
check "verify: no verdict printed" [ -z "$(grep -E '^verification (passed|failed)' "$W/out")" ]
is "$(leftovers)" "" "verify: no temporary file left"

ctl clear
ctl "fault?kind=delay&seconds=3&count=1&match=list-type"
term_after 1.5 "$PGDRILL_BIN" status --metrics "$W/metrics.prom"
is "$rc" 130 "status: SIGTERM while listing exits 130"
like "$(cat "$W/err")" "^pgdrill status: interrupted$" "status: says interrupted on stderr"
check "status: the metrics file is not written" [ ! -e "$W/metrics.prom" ]
is "$(leftovers)" "" "status: no temporary file left"

# a second SIGTERM is not waited on: a request that hangs cannot keep the command alive
ctl "fault?kind=delay&seconds=20&count=1&match=list-type"
"$PGDRILL_BIN" status >"$W/out" 2>"$W/err" &
pid=$!
sleep 1.5
kill -TERM "$pid"
sleep 0.3
t0=$(date +%s)
kill -TERM "$pid"
wait "$pid"
rc=$?
is "$rc" 143 "status: a second SIGTERM ends it at once (killed by SIGTERM)"
check "status: it did not wait for the hung request" [ $(($(date +%s) - t0)) -lt 5 ]
ctl clear

done_testing
