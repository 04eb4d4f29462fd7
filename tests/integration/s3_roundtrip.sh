#!/bin/bash
# S3 client end to end: s3rver (npm, pinned in sandbox/package-lock.json)
# behind sandbox/s3-proxy.py, which checks every signature with botocore.
# The C client is driven through `s3_tool tool ...` and every result
# is cross-checked with Debian's awscli. Starts and stops everything itself
# (by PID). Missing node/npm, awscli or botocore is a failure, not a skip.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD_DIR=${PGDRILL_BUILD:-$TOP/build}
DRIVER=$BUILD_DIR/tests/tools/s3_tool
PY=/usr/bin/python3   # Debian's, which has python3-botocore
AWSCLI=/usr/bin/aws   # Debian's awscli
SB=$TOP/sandbox
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"

fail_all() {
    bail "s3 roundtrip setup: $*" "the remaining checks need it"
}

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || fail_all "$tool is required (install nodejs and npm)"
done
[ -x "$AWSCLI" ] || fail_all "$AWSCLI is required (apt-get install awscli)"
"$PY" -c 'import botocore' 2>/dev/null || fail_all "$PY cannot import botocore (apt-get install python3-botocore)"
[ -x "$DRIVER" ] || fail_all "$DRIVER is not built (make test-bins)"

"$SB/s3rver-install.sh" "$SB" || fail_all "npm ci in sandbox/ failed"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/s3-roundtrip.XXXXXX")
S3RVER_PID=
PROXY_PID=
TLS_PID=
cleanup() {
    [ -n "$TLS_PID" ] && kill "$TLS_PID" 2>/dev/null && wait "$TLS_PID" 2>/dev/null
    [ -n "$PROXY_PID" ] && kill "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
    [ -n "$S3RVER_PID" ] && kill "$S3RVER_PID" 2>/dev/null && wait "$S3RVER_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_port LOGFILE PID: print the port from "... listening on 127.0.0.1:PORT"
wait_port() {
    local i port
    for i in $(seq 1 100); do
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

# s3rver builds continuation tokens with DES: Node >= 17 needs the legacy provider
NODE_OPTIONS=--openssl-legacy-provider node "$SB/node_modules/s3rver/bin/s3rver.js" \
    -d "$W/s3data" -a 127.0.0.1 -p 0 --silent --configure-bucket testbucket >"$W/s3rver.log" 2>&1 &
S3RVER_PID=$!
S3PORT=$(wait_port "$W/s3rver.log" "$S3RVER_PID") || fail_all "s3rver did not start: $(tail -5 "$W/s3rver.log")"

SECRET="pgdrill-test/Secret+$RANDOM$RANDOM"
"$PY" "$SB/s3-proxy.py" --upstream "127.0.0.1:$S3PORT" --data-dir "$W/s3data" \
    --access-key S3RVER --secret "$SECRET" >"$W/proxy.log" 2>&1 &
PROXY_PID=$!
PPORT=$(wait_port "$W/proxy.log" "$PROXY_PID") || fail_all "s3-proxy did not start: $(tail -5 "$W/proxy.log")"
EP=http://127.0.0.1:$PPORT

# a clean AWS environment: no user profile or config can leak in
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
mkdir -p "$W/home"
export HOME=$W/home AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=$EP AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=
aws() {
    if [ "$1" = s3 ]; then
        shift
        "$AWSCLI" --endpoint-url "$EP" s3 "$@" --only-show-errors
    else
        "$AWSCLI" --endpoint-url "$EP" "$@"
    fi
}
# aws_absent KEY: aws's HEAD of testbucket/KEY fails with 404 (not for any other reason)
aws_absent() {
    local err
    err=$("$AWSCLI" --endpoint-url "$EP" s3api head-object --bucket testbucket --key "$1" 2>&1 >/dev/null) && return 1
    printf '%s\n' "$err" | grep -q '(404)'
}
drv() { "$DRIVER" tool "$@"; }
proxy_ctl() { curl -sS -X POST "$EP/__pgdrill/$1" >/dev/null; }
proxy_log() { curl -sS "$EP/__pgdrill/log"; }

head -c 3145728 /dev/urandom >"$W/small.bin"
head -c 20971520 /dev/urandom >"$W/twenty.bin"
KEY='dir/a b+c=ü~.bin'

t_put_aws_get() {
    drv put testbucket "$KEY" "$W/small.bin" AES256 STANDARD_IA sha256 "$(sha256sum <"$W/small.bin" | cut -c1-64)" >"$W/put.out" &&
        grep -q '^etag [0-9a-f]\{32\}$' "$W/put.out" &&
        aws s3 cp "s3://testbucket/$KEY" "$W/small.aws" && cmp "$W/small.bin" "$W/small.aws"
}
check "pgdrill PUT of a key with spaces, +, = and utf-8; aws downloads it byte-identical" t_put_aws_get

t_head() {
    local sum
    sum=$(sha256sum <"$W/small.bin" | cut -c1-64)
    drv head testbucket "$KEY" >"$W/head.out" &&
        grep -qx 'size 3145728' "$W/head.out" && grep -qx 'sse AES256' "$W/head.out" &&
        grep -qx 'storage_class STANDARD_IA' "$W/head.out" &&
        grep -qx "meta sha256 $sum" "$W/head.out" &&
        aws s3api head-object --bucket testbucket --key "$KEY" >"$W/head.aws" &&
        grep -q '"ServerSideEncryption": "AES256"' "$W/head.aws" &&
        grep -q "\"sha256\": \"$sum\"" "$W/head.aws"
}
check "HEAD reports size, encryption, storage class and metadata as aws sees them" t_head

t_aws_put_list_get() {
    aws s3 cp "$W/twenty.bin" s3://testbucket/aws/twenty.bin &&
        drv list testbucket aws/ >"$W/list.out" &&
        grep -q '^key aws/twenty.bin 20971520 ' "$W/list.out" &&
        drv get testbucket aws/twenty.bin "$W/twenty.got" >/dev/null &&
        cmp "$W/twenty.bin" "$W/twenty.got"
}
check "aws multipart upload; pgdrill lists it and GETs it byte-identical" t_aws_put_list_get

t_continuation() {
    local i
    for i in 1 2 3 4 5; do echo "$i" | aws s3 cp - "s3://testbucket/cont/k$i+x y" || return 1; done
    echo sub | aws s3 cp - s3://testbucket/cont/sub/z || return 1
    drv list testbucket cont/ - 2 >"$W/cont.out" &&
        [ "$(grep -c '^key ' "$W/cont.out")" = 6 ] && grep -qx 'pages 3' "$W/cont.out" &&
        grep -q '^key cont/k3+x y 2 ' "$W/cont.out" &&
        drv list testbucket cont/ / >"$W/delim.out" &&
        [ "$(grep -c '^key ' "$W/delim.out")" = 5 ] && grep -qx 'prefix cont/sub/' "$W/delim.out"
}
check "ListObjectsV2 follows continuation tokens (pages of 2) and reports common prefixes" t_continuation

t_mpu() {
    drv mpu testbucket mpu/twenty.bin "$W/twenty.bin" 8388608 3 >"$W/mpu.out" &&
        grep -qx 'parts 3' "$W/mpu.out" &&
        aws s3 cp s3://testbucket/mpu/twenty.bin "$W/mpu.aws" && cmp "$W/twenty.bin" "$W/mpu.aws" &&
        drv head testbucket mpu/twenty.bin | grep -qx 'sse AES256'
}
check "pgdrill multipart upload (3 parts, 3 threads); aws downloads it byte-identical" t_mpu

t_mpu_big() {
    head -c 109051904 /dev/urandom >"$W/big.bin" &&
        drv mpu testbucket mpu/big.bin "$W/big.bin" 8388608 4 >"$W/big.out" &&
        grep -qx 'parts 13' "$W/big.out" &&
        aws s3 cp s3://testbucket/mpu/big.bin "$W/big.aws" && cmp "$W/big.bin" "$W/big.aws"
    local rc=$?
    rm -f "$W/big.bin" "$W/big.aws"
    return $rc
}
check "pgdrill multipart upload of 104 MiB (13 parts, 4 threads); aws downloads it byte-identical" t_mpu_big

t_abort() {
    local id rc
    drv mpu testbucket mpu/aborted.bin "$W/twenty.bin" 8388608 2 1 >"$W/abort.out" 2>"$W/abort.err"
    rc=$?
    id=$(sed -n 's/^upload-id //p' "$W/abort.out")
    [ "$rc" = 1 ] && grep -qx 'aborted 0' "$W/abort.out" && [ -n "$id" ] &&
        [ ! -e "$W/s3data/testbucket/._S3rver_uploads/$id" ] &&
        aws_absent mpu/aborted.bin &&
        proxy_log | grep -q "^DELETE /testbucket/mpu/aborted.bin?uploadId=$id 204$"
}
check "an aborted multipart upload leaves nothing at the key and no parts behind" t_abort

t_resume() {
    proxy_ctl clear && proxy_ctl "fault?kind=cut&count=2&after=1048576&match=GET%20/testbucket/aws/twenty.bin" &&
        drv get testbucket aws/twenty.bin "$W/resume.got" >"$W/resume.out" &&
        grep -qx 'bytes 20971520' "$W/resume.out" && cmp "$W/twenty.bin" "$W/resume.got" &&
        [ "$(proxy_log | grep -c '^GET /testbucket/aws/twenty.bin -1$')" = 2 ] &&
        proxy_log | grep -q '^GET /testbucket/aws/twenty.bin 206$'
}
check "a GET cut twice mid-body resumes by Range and delivers identical bytes" t_resume

t_retry() {
    proxy_ctl clear && proxy_ctl "fault?kind=status500&count=2&match=PUT%20/testbucket/retry" &&
        proxy_ctl "fault?kind=slowdown&count=1&match=PUT%20/testbucket/retry" &&
        proxy_ctl "fault?kind=reset&count=1&match=PUT%20/testbucket/retry" &&
        drv put testbucket retry/x.bin "$W/small.bin" >/dev/null &&
        aws s3 cp s3://testbucket/retry/x.bin "$W/retry.aws" && cmp "$W/small.bin" "$W/retry.aws" &&
        [ "$(proxy_log | grep -c '^PUT /testbucket/retry/x.bin ')" = 5 ]
}
check "PUT retried after 500, 500, SlowDown and a reset, then stored intact" t_retry

t_wrong_secret() {
    local rc
    AWS_SECRET_ACCESS_KEY="wrong-$SECRET" drv put testbucket denied.bin "$W/small.bin" >/dev/null 2>"$W/denied.err"
    rc=$?
    [ "$rc" = 3 ] &&
        grep -qx 'error: s3: PUT s3://testbucket/denied.bin: HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your key and signing method.' "$W/denied.err" &&
        ! grep -qF "$SECRET" "$W/denied.err" &&
        aws_absent denied.bin
}
check "a wrong secret is refused with 403 SignatureDoesNotMatch (and nothing stored)" t_wrong_secret

t_aws_wrong_secret() {
    ! AWS_SECRET_ACCESS_KEY=wrong "$AWSCLI" --endpoint-url "$EP" s3 ls s3://testbucket/ >/dev/null 2>"$W/aws.err" &&
        grep -q SignatureDoesNotMatch "$W/aws.err" &&
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$EP/testbucket?list-type=2")" = 403 ]
}
check "the proxy also refuses aws with a wrong secret and anonymous requests" t_aws_wrong_secret

t_delete() {
    local rc
    drv delete testbucket "$KEY" && aws_absent "$KEY" &&
        { drv head testbucket "$KEY" >/dev/null 2>"$W/gone.err"; rc=$?; [ "$rc" = 2 ]; } &&
        grep -qx "error: s3: HEAD s3://testbucket/$KEY: not found (HTTP 404)" "$W/gone.err" &&
        drv delete testbucket "$KEY"
}
check "DELETE removes the object; HEAD then says not found; deleting again succeeds" t_delete

# ---- s3/upload: streams of unknown length, several parts in flight ----
head -c 31457280 /dev/urandom >"$W/thirty.bin"

t_stream_upload() {
    proxy_ctl clear &&
        drv upload testbucket stream/thirty.bin "$W/thirty.bin" 8388608 3 raw >"$W/up.out" &&
        grep -qx 'parts 4' "$W/up.out" && grep -qx 'bytes 31457280' "$W/up.out" &&
        aws s3 cp s3://testbucket/stream/thirty.bin "$W/up.aws" && cmp "$W/thirty.bin" "$W/up.aws" &&
        [ "$(proxy_log | grep -c '^PUT /testbucket/stream/thirty.bin?partNumber=[1-4]&uploadId=[0-9a-f]* 200$')" = 4 ]
}
check "streamed upload of 30 MiB: 4 parts, 3 in flight; aws downloads it byte-identical" t_stream_upload

t_setmeta() {
    local sum etag
    sum=$(sha256sum <"$W/thirty.bin" | cut -c1-64)
    etag=$(drv head testbucket stream/thirty.bin | sed -n 's/^etag //p')
    drv setmeta testbucket stream/thirty.bin sha256 "$sum" "$etag" &&
        drv head testbucket stream/thirty.bin >"$W/sm.out" &&
        grep -qx "meta sha256 $sum" "$W/sm.out" && grep -qx 'sse AES256' "$W/sm.out" &&
        grep -qx 'size 31457280' "$W/sm.out" &&
        aws s3 cp s3://testbucket/stream/thirty.bin "$W/sm.aws" && cmp "$W/thirty.bin" "$W/sm.aws"
}
check "the sha256 known after a streamed upload is stored as metadata; content and encryption kept" t_setmeta

t_stream_small() {
    proxy_ctl clear &&
        drv upload testbucket stream/small.bin "$W/small.bin" 8388608 3 raw >"$W/ups.out" &&
        grep -qx 'parts 0' "$W/ups.out" &&
        proxy_log | grep -qx 'PUT /testbucket/stream/small.bin 200' &&
        ! proxy_log | grep -q uploads &&
        aws s3 cp s3://testbucket/stream/small.bin "$W/ups.aws" && cmp "$W/small.bin" "$W/ups.aws"
}
check "a stream shorter than one part is sent as a single PUT" t_stream_small

t_gzip_pipeline() {
    # ~90 MB of dump-like text that gzips to ~11 MB: two parts of 5 MiB and a tail
    seq 1 1700000 | awk 'BEGIN { srand(42) } { printf "INSERT INTO visits VALUES (%d, %c%.6f%c, now());\n", $1, 39, rand(), 39 }' >"$W/dump.sql" &&
        drv upload testbucket stream/dump.sql.gz "$W/dump.sql" 5242880 2 gzip >"$W/gz.out" &&
        grep -qx 'parts 3' "$W/gz.out" &&
        aws s3 cp s3://testbucket/stream/dump.sql.gz "$W/dump.aws.gz" &&
        gzip -t "$W/dump.aws.gz" && gzip -dc "$W/dump.aws.gz" | cmp - "$W/dump.sql"
}
check "dump | parallel gzip | streamed multipart upload; aws + gunzip give back the dump" t_gzip_pipeline

t_gzip_check() {
    local sum rc
    sum=$(sha256sum <"$W/dump.aws.gz" | cut -c1-64)
    drv setmeta testbucket stream/dump.sql.gz sha256 "$sum" &&
        drv check testbucket stream/dump.sql.gz "$W/restored.sql" >"$W/chk.out" &&
        grep -qx "sha256 $sum" "$W/chk.out" && grep -qx 'metadata match' "$W/chk.out" &&
        grep -qx "uncompressed $(stat -c %s "$W/dump.sql")" "$W/chk.out" &&
        cmp "$W/dump.sql" "$W/restored.sql" || return 1
    # a backup cut short: gzip integrity fails and names the offset
    head -c -100 "$W/dump.aws.gz" >"$W/cut.gz" && aws s3 cp "$W/cut.gz" s3://testbucket/stream/cut.sql.gz || return 1
    drv check testbucket stream/cut.sql.gz >/dev/null 2>"$W/cut.err"
    rc=$?
    [ "$rc" = 1 ] &&
        grep -qx "error: s3: s3://testbucket/stream/cut.sql.gz: gzip: stream truncated after $(stat -c %s "$W/cut.gz") compressed bytes" "$W/cut.err" || return 1
    # metadata that disagrees with the bytes
    drv setmeta testbucket stream/dump.sql.gz sha256 "$(printf '%064d' 0)" &&
        { drv check testbucket stream/dump.sql.gz >/dev/null 2>"$W/sha.err"; [ $? = 1 ]; } &&
        grep -q "^error: s3: s3://testbucket/stream/dump.sql.gz: sha256 mismatch: the object has $sum, its metadata says 0\{64\}$" "$W/sha.err"
}
check "streamed check of a gzip backup: sha256 + gzip in one pass, restore output identical; cut and mismatched backups fail" t_gzip_check

t_parallel_faults() {
    proxy_ctl clear &&
        proxy_ctl "fault?kind=status500&count=2&match=partNumber=2%26" &&
        proxy_ctl "fault?kind=reset&count=1&match=partNumber=3%26" &&
        proxy_ctl "fault?kind=delay&seconds=1&count=1&match=partNumber=1%26" &&
        drv upload testbucket stream/faults.bin "$W/thirty.bin" 8388608 4 raw >/dev/null &&
        aws s3 cp s3://testbucket/stream/faults.bin "$W/faults.aws" && cmp "$W/thirty.bin" "$W/faults.aws" &&
        [ "$(proxy_log | grep -c 'partNumber=2&.* 500$')" = 2 ]
}
check "parts retried after 500s, a reset and a slow answer, uploaded in parallel, object intact" t_parallel_faults

t_producer_fails() {
    local rc id
    proxy_ctl clear
    drv upload testbucket stream/failed.bin "$W/thirty.bin" 8388608 2 raw 20971520 >"$W/pf.out" 2>"$W/pf.err"
    rc=$?
    id=$(proxy_log | sed -n 's/^DELETE \/testbucket\/stream\/failed.bin?uploadId=\([0-9a-f]*\) 204$/\1/p')
    [ "$rc" = 1 ] && grep -qx 'aborted after 20971520 bytes' "$W/pf.out" && [ -n "$id" ] &&
        [ ! -e "$W/s3data/testbucket/._S3rver_uploads/$id" ] && aws_absent stream/failed.bin
}
check "a producer that dies mid-stream: upload aborted, nothing at the key, no parts left" t_producer_fails

t_part_fails() {
    local rc
    proxy_ctl clear &&
        proxy_ctl "fault?kind=status500&count=20&match=partNumber=2%26" || return 1
    drv upload testbucket stream/partfail.bin "$W/thirty.bin" 8388608 2 raw >/dev/null 2>"$W/partfail.err"
    rc=$?
    [ "$rc" = 3 ] &&
        grep -q '^error: part 2: s3: UPLOAD-PART s3://testbucket/stream/partfail.bin: HTTP 500 InternalError: injected by the pgdrill proxy$' "$W/partfail.err" &&
        proxy_log | grep -q '^DELETE /testbucket/stream/partfail.bin?uploadId=[0-9a-f]* 204$' &&
        aws_absent stream/partfail.bin
}
check "a part that keeps failing aborts the whole upload and names the part" t_part_fails

t_kill9() {
    local pid i
    proxy_ctl clear &&
        proxy_ctl "fault?kind=delay&seconds=5&count=1&match=partNumber=2%26" || return 1
    # the driver itself, not a shell function around it: kill -9 must hit the process
    "$DRIVER" tool upload testbucket stream/killed.bin "$W/thirty.bin" 8388608 1 raw >/dev/null 2>&1 &
    pid=$!
    for i in $(seq 1 100); do
        proxy_log | grep -q '^PUT /testbucket/stream/killed.bin?partNumber=1&.* 200$' && break
        sleep 0.1
    done
    sleep 0.5
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    sleep 5.5 # let the delayed part reach s3rver: it must still not create the object
    aws_absent stream/killed.bin && ! proxy_log | grep -q '^POST /testbucket/stream/killed.bin?uploadId='
}
check "kill -9 in the middle of an upload leaves nothing at the final key" t_kill9

# https: a second proxy with a self-signed certificate for 127.0.0.1. Started
# here, not inside check (a subshell), so cleanup knows its PID.
TLSPORT=
if openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$W/tls.key" -out "$W/tls.crt" >"$W/openssl.log" 2>&1; then
    "$PY" "$SB/s3-proxy.py" --upstream "127.0.0.1:$S3PORT" --data-dir "$W/s3data" \
        --access-key S3RVER --secret "$SECRET" --tls-cert "$W/tls.crt" --tls-key "$W/tls.key" \
        >"$W/tls.log" 2>&1 &
    TLS_PID=$!
    TLSPORT=$(wait_port "$W/tls.log" "$TLS_PID")
fi
t_tls() {
    local rc
    [ -n "$TLSPORT" ] || { cat "$W/openssl.log" "$W/tls.log" 2>/dev/null; return 1; }
    # an unknown CA is refused, not retried into success
    AWS_ENDPOINT_URL_S3=https://127.0.0.1:$TLSPORT drv put testbucket tls.bin "$W/small.bin" \
        >/dev/null 2>"$W/tls.err"
    rc=$?
    [ "$rc" = 3 ] && grep -q '^error: s3: PUT s3://testbucket/tls.bin: SSL certificate problem' "$W/tls.err" &&
        aws_absent tls.bin &&
        AWS_ENDPOINT_URL_S3=https://127.0.0.1:$TLSPORT PGDRILL_TEST_S3_CA_FILE=$W/tls.crt \
            drv put testbucket tls.bin "$W/small.bin" >/dev/null &&
        "$AWSCLI" --endpoint-url "https://127.0.0.1:$TLSPORT" --ca-bundle "$W/tls.crt" s3 cp \
            s3://testbucket/tls.bin "$W/tls.aws" --only-show-errors && cmp "$W/small.bin" "$W/tls.aws"
}
check "https: an unknown certificate is refused; with its CA the upload succeeds and aws reads it back" t_tls

done_testing
