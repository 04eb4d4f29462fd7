# shellcheck shell=bash
# Shared set-up for tests/integration/verify*.sh and restore_s3*.sh (sourced,
# not run: not executable).
#
# verify_setup NAME starts, under $PGDRILL_TEST_WORK:
#   - the sandbox Neon server with its primary (tests/integration/neon_lib.sh),
#     holding database care_commons seeded from the fixtures,
#   - s3rver (npm, pinned in sandbox/package-lock.json) behind
#     sandbox/s3-proxy.py, which checks every signature with botocore,
#     with bucket care-commons-backups,
# and exports the AWS_* variables pgdrill and `aws` need (a clean AWS
# environment: no user profile leaks in) and PGDRILL_BACKUP_URI.
# upload_backup KEY FILE [SHA256] puts FILE at KEY with x-amz-meta-sha256
# (default: the file's own sha256) and AES256 encryption, as `pgdrill
# backup` stores it.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/neon_lib.sh"

S3SB=$TOP/sandbox
AWSCLI=/usr/bin/aws
BUCKET=care-commons-backups
S3RVER_PID=""
S3PROXY_PID=""

s3_teardown() {
    if [ -n "$S3PROXY_PID" ]; then
        kill "$S3PROXY_PID" 2>/dev/null
        wait "$S3PROXY_PID" 2>/dev/null
    fi
    if [ -n "$S3RVER_PID" ]; then
        kill "$S3RVER_PID" 2>/dev/null
        wait "$S3RVER_PID" 2>/dev/null
    fi
}

# wait_listen LOGFILE PID: the port from "... listening on 127.0.0.1:PORT"
wait_listen() {
    local port
    for _ in $(seq 1 150); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" | head -1)
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

aws() { "$AWSCLI" --endpoint-url "$S3EP" "$@"; }

upload_backup() { # KEY FILE [SHA256]
    local sum=${3:-$(sha256sum "$2" | cut -d' ' -f1)}
    aws s3 cp "$2" "s3://$BUCKET/$1" --only-show-errors --metadata "sha256=$sum" \
        --content-type application/gzip --sse AES256
}

# stamp DAYS_AGO: the key timestamp YYYYMMDD-HHMMSS that many days ago (UTC)
stamp() { date -u -d "@$(($(date +%s) - $1 * 86400))" +%Y%m%d-%H%M%S; }

verify_setup() {
    local name=$1 f
    for f in node npm; do
        command -v "$f" >/dev/null 2>&1 || { notok "setup: $f is required (nodejs, npm)"; exit 1; }
    done
    [ -x "$AWSCLI" ] || { notok "setup: $AWSCLI is required (apt-get install awscli)"; exit 1; }
    /usr/bin/python3 -c 'import botocore' 2>/dev/null ||
        { notok "setup: python3-botocore is required"; exit 1; }
    command -v psql >/dev/null 2>&1 || { notok "setup: psql is required"; exit 1; }
    "$S3SB/s3rver-install.sh" "$S3SB" || { notok "setup: npm ci in sandbox/ failed"; exit 1; }

    neon_setup "$name" --history-retention 2592000 # the procedures' plan: 30 days
    trap 'neon_teardown; s3_teardown' EXIT
    trap 'exit 130' INT TERM

    NODE_OPTIONS=--openssl-legacy-provider node "$S3SB/node_modules/s3rver/bin/s3rver.js" \
        -d "$W/s3data" -a 127.0.0.1 -p 0 --silent --configure-bucket "$BUCKET" >"$W/s3rver.log" 2>&1 &
    S3RVER_PID=$!
    S3PORT=$(wait_listen "$W/s3rver.log" "$S3RVER_PID") ||
        { notok "setup: s3rver did not start"; sed 's/^/# /' "$W/s3rver.log"; exit 1; }
    S3SECRET="verify-test/Secret+$RANDOM$RANDOM"
    /usr/bin/python3 "$S3SB/s3-proxy.py" --upstream "127.0.0.1:$S3PORT" --data-dir "$W/s3data" \
        --access-key S3RVER --secret "$S3SECRET" >"$W/s3proxy.log" 2>&1 &
    S3PROXY_PID=$!
    S3PPORT=$(wait_listen "$W/s3proxy.log" "$S3PROXY_PID") ||
        { notok "setup: s3-proxy did not start"; sed 's/^/# /' "$W/s3proxy.log"; exit 1; }
    S3EP=http://127.0.0.1:$S3PPORT
    for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
    mkdir -p "$W/awshome"
    export HOME=$W/awshome AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$S3SECRET
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL_S3=$S3EP AWS_PAGER=
    export PGDRILL_BACKUP_URI=s3://$BUCKET
    export PGDRILL_HOME=$W/home

    neon_seed_care_commons
    # shellcheck disable=SC2034 # the source database URL of the scripts using this
    SRC_URL=$CARE_URL
    ok "setup: s3rver behind the signature-checking proxy, bucket $BUCKET, care_commons seeded"
}

