# shellcheck shell=bash
# A local S3 for tests and benches: s3rver (npm, pinned in
# sandbox/package-lock.json) behind sandbox/s3-proxy.py, which checks every
# signature with botocore. Source it, then:
#
#   s3_start DIR [BUCKET]   start both (data in DIR/s3data); sets S3RVER_PID,
#                           PROXY_PID, S3_EP (http://127.0.0.1:PORT), S3_SECRET
#                           and exports a clean AWS_* environment pointing at it
#                           (HOME=DIR/home so no user profile leaks in);
#                           with S3_SESSION_TOKEN set, the proxy requires that
#                           session token and AWS_SESSION_TOKEN is exported;
#                           with S3_ISSUED=FILE it also accepts the temporary
#                           keys tests/tools/aws_endpoints.py lists there
#   s3_proxy_keys           key ids the proxy accepted ("KEY COUNT"), "expired N"
#   s3_stop                 stop exactly what s3_start started (by PID)
#   s3_test_setup NAME [BUCKET]  a test script's S3 world: W (a new folder
#                           NAME.XXXXXX in the run's work folder), s3_start in
#                           it (bail when it fails), PGDRILL_HOME=$W/home, and
#                           an EXIT trap: s3_stop, then W removed
#   s3_creds_setup NAME     the same for the credential-chain scripts, with
#                           S3_ISSUED=$W/issued.jsonl (the proxy accepts the
#                           keys the endpoints below issue); the EXIT trap
#                           also stops the endpoints
#   s3_endpoints_start      tests/tools/aws_endpoints.py (STS, SSO, container,
#                           IMDS) on loopback with the configuration in
#                           $W/aws-config, reread on every request; sets EP_PID,
#                           EP_PORT and EP (http://127.0.0.1:PORT); bails when it
#                           does not start
#   s3_aws ARGS...          Debian's awscli against the proxy
#   s3_proxy_ctl PATH       POST /__pgdrill/PATH (fault?..., clear)
#   s3_proxy_log            the proxy's request log
# s3_start returns non-zero with a message on stderr when something is missing.

: "${PGDRILL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
S3_PY=/usr/bin/python3 # Debian's, which has python3-botocore
S3_AWSCLI=/usr/bin/aws # Debian's awscli
S3RVER_PID=
PROXY_PID=

_s3_wait_port() {
    local port
    for _ in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | head -1)
        if [ -n "$port" ]; then
            echo "$port"
            return 0
        fi
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

s3_start() {
    local dir=$1 bucket=${2:-testbucket} sb=$PGDRILL_TOP/sandbox port pport v
    for v in node npm; do
        command -v "$v" >/dev/null 2>&1 || { echo "s3_start: $v is required (install nodejs and npm)" >&2; return 1; }
    done
    [ -x "$S3_AWSCLI" ] || { echo "s3_start: $S3_AWSCLI is required (apt-get install awscli)" >&2; return 1; }
    "$S3_PY" -c 'import botocore' 2>/dev/null ||
        { echo "s3_start: $S3_PY cannot import botocore (apt-get install python3-botocore)" >&2; return 1; }
    "$sb/s3rver-install.sh" "$sb" || { echo "s3_start: npm ci in sandbox/ failed" >&2; return 1; }
    mkdir -p "$dir/home"
    # s3rver builds continuation tokens with DES: Node >= 17 needs the legacy provider
    NODE_OPTIONS=--openssl-legacy-provider node "$sb/node_modules/s3rver/bin/s3rver.js" \
        -d "$dir/s3data" -a 127.0.0.1 -p 0 --silent --configure-bucket "$bucket" >"$dir/s3rver.log" 2>&1 &
    S3RVER_PID=$!
    port=$(_s3_wait_port "$dir/s3rver.log" "$S3RVER_PID") ||
        { echo "s3_start: s3rver did not start: $(tail -5 "$dir/s3rver.log")" >&2; return 1; }
    S3_SECRET="pgdrill-test/Secret+$RANDOM$RANDOM"
    "$S3_PY" "$sb/s3-proxy.py" --upstream "127.0.0.1:$port" --data-dir "$dir/s3data" \
        --access-key S3RVER --secret "$S3_SECRET" ${S3_SESSION_TOKEN:+--session-token "$S3_SESSION_TOKEN"} ${S3_ISSUED:+--issued "$S3_ISSUED"} \
        >"$dir/proxy.log" 2>&1 &
    PROXY_PID=$!
    pport=$(_s3_wait_port "$dir/proxy.log" "$PROXY_PID") ||
        { echo "s3_start: s3-proxy did not start: $(tail -5 "$dir/proxy.log")" >&2; return 1; }
    S3_EP=http://127.0.0.1:$pport
    for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
    export HOME=$dir/home AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$S3_SECRET
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL_S3=$S3_EP AWS_PAGER=
    if [ -n "${S3_SESSION_TOKEN:-}" ]; then export AWS_SESSION_TOKEN=$S3_SESSION_TOKEN; fi
}

s3_test_setup() {
    _s3_test_dir "$1"
    _s3_test_start "${2:-testbucket}"
}

s3_creds_setup() {
    _s3_test_dir "$1"
    export S3_ISSUED=$W/issued.jsonl
    _s3_test_start testbucket
}

s3_endpoints_start() {
    "$S3_PY" "$PGDRILL_TOP/tests/tools/aws_endpoints.py" --config "$W/aws-config" \
        --issued "$S3_ISSUED" >"$W/ep.log" 2>&1 &
    EP_PID=$!
    EP_PORT=$(_s3_wait_port "$W/ep.log" "$EP_PID") ||
        bail setup "aws_endpoints.py did not start: $(cat "$W/ep.log")"
    # shellcheck disable=SC2034 # for the scripts sourcing this
    EP=http://127.0.0.1:$EP_PORT
}

_s3_test_dir() {
    [ -x "$PGDRILL_BIN" ] || bail setup "$PGDRILL_BIN is not built (make)"
    EP_PID=
    W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/$1.XXXXXX")
    trap '_s3_test_cleanup' EXIT
    trap 'exit 130' INT TERM
}

_s3_test_start() {
    s3_start "$W" "$1" 2>"$W/s3start.err" || bail "s3 setup" "$(cat "$W/s3start.err")"
    export PGDRILL_HOME=$W/home
}

_s3_test_cleanup() {
    [ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null && wait "$EP_PID" 2>/dev/null
    s3_stop
    rm -rf "$W"
}

s3_stop() {
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
    [ -n "$S3RVER_PID" ] && kill "$S3RVER_PID" 2>/dev/null && wait "$S3RVER_PID" 2>/dev/null
    PROXY_PID=
    S3RVER_PID=
}

s3_aws() {
    "$S3_AWSCLI" --endpoint-url "$S3_EP" "$@"
}

s3_proxy_ctl() { curl -sS -X POST "$S3_EP/__pgdrill/$1" >/dev/null; }
s3_proxy_log() { curl -sS "$S3_EP/__pgdrill/log"; }
s3_proxy_keys() { curl -sS "$S3_EP/__pgdrill/keys"; }
