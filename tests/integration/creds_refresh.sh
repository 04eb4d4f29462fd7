#!/bin/bash
# Credentials renewed mid-upload (issue 14): web identity keys that expire
# 20 s after issue, a backup of at least 6 parts that the S3 proxy slows
# (10 s per part) so that it outlasts them. The backup completes and is
# byte-identical, pgdrill's log shows the renewal, and the proxy, which
# refuses expired temporary keys (400 ExpiredToken), refused nothing: every
# part was signed with keys valid at that moment. The renewal margin is
# PGDRILL_CREDS_REFRESH_MARGIN=10 (5 minutes in real use).
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

require_env PGDRILL_TEST_PGURL
s3_creds_setup credsr

WEB_TOKEN="eyJRefreshWebIdentity.$RANDOM$RANDOM.sig"
printf '{"lifetime": 20, "web_token": "%s"}\n' "$WEB_TOKEN" >"$W/aws-config"
printf '%s' "$WEB_TOKEN" >"$W/web-token"
s3_endpoints_start

# ~70 MB of poorly compressible rows: more than 5 parts of 8 MiB once gzipped
SRC=$(fresh_db pgdrill_credsr_src) || bail setup "cannot create the source database"
sql "$SRC" "CREATE TABLE bulk_blobs AS SELECT g AS id,
            encode(sha512(g::text::bytea) || sha512((g + 1)::text::bytea) ||
                   sha512((g + 2)::text::bytea) || sha512((g + 3)::text::bytea), 'base64') AS b
            FROM generate_series(1, 200000) g" >/dev/null || bail setup "cannot add bulk rows"
HOMEDIR=$(pgdrill_home credsr)

s3_proxy_ctl clear
s3_proxy_ctl "fault?kind=delay&seconds=10&count=6&match=partNumber="
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    PGDRILL_HOME="$HOMEDIR" DATABASE_URL="$SRC" PGDRILL_BACKUP_URI=s3://testbucket \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_WEB_IDENTITY_TOKEN_FILE="$W/web-token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/backup \
    AWS_ENDPOINT_URL_STS="http://127.0.0.1:$EP_PORT" PGDRILL_CREDS_REFRESH_MARGIN=10 PGDRILL_DEBUG=1 \
    "$PGDRILL_BIN" backup --json --keep-local "$W/local.sql.gz" >"$W/b.json" 2>"$W/b.err"
rc=$?
is "$rc" 0 "a backup that outlasts its 20 s credentials completes"
[ "$rc" = 0 ] || grep -v '^pgdrill: debug' "$W/b.err" | sed 's/^/# /' | tail -20
KEY=$(json_get "$W/b.json" key)
check "  with at least 6 parts ($(json_get "$W/b.json" parts))" test "$(json_get "$W/b.json" parts)" -ge 6
t_took() { python3 -c 'import sys; sys.exit(float(sys.argv[1]) <= 20)' "$(json_get "$W/b.json" duration_s)"; }
check "  that took longer than the credentials lived ($(json_get "$W/b.json" duration_s) s)" t_took
t_same() { s3_aws s3 cp "s3://testbucket/$KEY" "$W/dl.sql.gz" --only-show-errors && cmp "$W/dl.sql.gz" "$W/local.sql.gz"; }
check "  the stored object is byte-identical to the dump" t_same
RENEWALS=$(grep -c 'renewed the credentials at .*: now from web identity, expires at ' "$W/b.err")
check "  the log shows the renewal, naming the source ($RENEWALS)" test "$RENEWALS" -ge 1
grep 'renewed the credentials' "$W/b.err" | sed 's/^/# /'
n_keys=$(grep -c '"source": "webid"' "$S3_ISSUED")
check "  STS issued more than one set of keys ($n_keys)" test "$n_keys" -ge 2
used=$(s3_proxy_keys | grep -c '^ASIAWEBID')
check "  the proxy accepted requests signed with more than one of them ($used)" test "$used" -ge 2
is "$(s3_proxy_keys | tail -1)" "expired 0" "  no request (no part) came with expired credentials"
unlike "$(s3_proxy_log | grep partNumber= | grep -v ' 200$')" "." "  every part was answered 200"
t_no_secret() {
    ! grep -qF -e "$WEB_TOKEN" "$W/b.err" "$W/b.json" &&
        ! python3 -c 'import json,sys; [print(json.loads(l)["secret"]); print(json.loads(l)["token"]) for l in open(sys.argv[1])]' "$S3_ISSUED" |
        grep -qFf - "$W/b.err" "$W/b.json"
}
check "  no token or issued secret in its output, even with PGDRILL_DEBUG=1" t_no_secret
done_testing
