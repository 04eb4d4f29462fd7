#!/bin/bash
# `pgdrill status --metrics FILE >/dev/null` from cron (contrib/cron/pgdrill-verify):
# when S3 cannot be reached (down, wrong endpoint, expired keys) the problem
# must reach stderr, which cron mails, and the metrics must count it, since
# the other gauges then come from the local records and look fine.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/status_problems.XXXXXX")
trap 'rm -rf "$W"' EXIT
export PGDRILL_HOME="$W/home"
for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_ACCESS_KEY_ID=AKIDSTATUSTEST AWS_SECRET_ACCESS_KEY=status-test-secret
export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=http://127.0.0.1:9 # nothing listens
export PGDRILL_BACKUP_URI=s3://care-commons-backups

"$PGDRILL_BIN" status --metrics "$W/pgdrill.prom" >/dev/null 2>"$W/err"
like "$(cat "$W/err")" '^pgdrill status: problem: s3: .*127\.0\.0\.1' \
    "the cron line's stderr names the S3 problem"
like "$(cat "$W/pgdrill.prom")" $'\npgdrill_status_problems [1-9]' \
    "the metrics count it (pgdrill_status_problems)"
unlike "$(cat "$W/err")" 'status-test-secret' "no secret on stderr"

"$PGDRILL_BIN" status --json >"$W/out.json" 2>"$W/err2"
check "--json: stdout is one JSON document" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/out.json"
like "$(cat "$W/err2")" '^pgdrill status: problem: s3: ' "--json: the problem on stderr too"

# and with every source read, no problem at all
unset PGDRILL_BACKUP_URI
"$PGDRILL_BIN" status --metrics "$W/ok.prom" >/dev/null 2>"$W/err3"
is "$(cat "$W/err3")" "" "nothing on stderr when every source was read"
like "$(cat "$W/ok.prom")" $'\npgdrill_status_problems 0' "and pgdrill_status_problems 0"

done_testing
