#!/bin/bash
# The AWS credential chain (issue 14), source by source: `pgdrill backup`
# into s3rver behind the signature-checking proxy with credentials from one
# source only, the proxy seeing the temporary key that source issued; then
# the failures (expired SSO token, credential_process exiting 1 or printing
# bad JSON, an IMDS that does not answer within 1 s, mfa_serial): a clear
# message, the right exit code, nothing stored, no secret printed.
# The credential endpoints are tests/tools/aws_endpoints.py on loopback
# (STS checked with botocore's SigV4, the SSO portal, the container endpoint,
# IMDSv2 refusing requests without a token); the S3 proxy accepts the keys it
# issued (S3_ISSUED) until they expire.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

require_env PGDRILL_TEST_PGURL
s3_creds_setup creds

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
STATIC_SECRET=$S3_SECRET
WEB_TOKEN="eyJPlantedWebIdentity.$(hex 12).sig"
SSO_TOKEN="aoaPlantedSsoAccess$(hex 12)"
CONTAINER_TOKEN="Basic PlantedContainer$(hex 10)"
# cfg LIFETIME [EXTRA-JSON]: the endpoint server's configuration (reread on every request)
cfg() {
    cat >"$W/aws-config" <<EOF
{"lifetime": $1, "web_token": "$WEB_TOKEN", "sso_token": "$SSO_TOKEN",
 "container_token": "$CONTAINER_TOKEN", "source_keys": {"S3RVER": "$STATIC_SECRET"}${2:+, $2}}
EOF
}
cfg 900
s3_endpoints_start

SRC=$(fresh_db pgdrill_creds_src) || bail setup "cannot create the source database"
sql "$SRC" "CREATE TABLE bulk_notes AS SELECT g AS id, md5(g::text) || ' note ' || g AS body
            FROM generate_series(1, 30000) g" >/dev/null || bail setup "cannot add bulk rows"
HOMEDIR=$(pgdrill_home creds)
mkdir -p "$HOME/.aws"
printf '%s' "$WEB_TOKEN" >"$W/web-token"
printf '%s' "$CONTAINER_TOKEN" >"$W/container-token"
# pgdrill_src NAME VAR=VALUE...: pgdrill backup --json with only these credential variables
# (with DRY_RUN=1: --dry-run, which signs only the retention listing)
pgdrill_src() {
    local name=$1
    shift
    env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
        PGDRILL_HOME="$HOMEDIR" DATABASE_URL="$SRC" PGDRILL_BACKUP_URI="s3://testbucket/$name" \
        AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$W/config" \
        AWS_SHARED_CREDENTIALS_FILE="$W/credentials" "$@" \
        "$PGDRILL_BIN" backup --json ${DRY_RUN:+--dry-run} >"$W/$name.json" 2>"$W/$name.err"
}
keys_under() { s3_aws s3api list-objects-v2 --bucket testbucket --prefix "$1/" --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -cv '^None$'; }
issued_key() { python3 -c 'import json,sys; ks=[json.loads(l)["key"] for l in open(sys.argv[1]) if json.loads(l)["source"]==sys.argv[2]]; print(ks[-1] if ks else "")' "$S3_ISSUED" "$1"; }
: >"$W/config"
: >"$W/credentials"

# expect_ok NAME ISSUER WHAT: the backup of run NAME worked with the key ISSUER issued last
expect_ok() {
    local name=$1 issuer=$2 what=$3 rc=$4 k
    is "$rc" 0 "${what//\\/}: backup exits 0"
    [ "$rc" = 0 ] || sed 's/^/# /' "$W/$name.err"
    is "$(keys_under "$name")" 1 "  one object stored"
    k=$(issued_key "$issuer")
    like "$k" "^ASIA" "  the endpoint issued a temporary key"
    check "  the proxy saw that key ($k) sign the requests" grep -q "^$k [1-9]" <(s3_proxy_keys)
    like "$(json_get "$W/$name.json" credentials)" "^$what.*, expires at 20[0-9-]+T" \
        "  the summary names the source and the expiry"
}

# ---- 1. environment keys (static) -------------------------------------------
pgdrill_src env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY="$STATIC_SECRET"
is "$?" 0 "environment keys: backup exits 0"
is "$(json_get "$W/env.json" credentials)" "environment, does not expire" "  the summary says so"

# ---- 2. web identity ---------------------------------------------------------
pgdrill_src webid AWS_WEB_IDENTITY_TOKEN_FILE="$W/web-token" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/backup \
    AWS_ROLE_SESSION_NAME=gha AWS_ENDPOINT_URL_STS="$EP"
expect_ok webid webid "web identity" $?

# ---- 3. the profile: role_arn, credential_process, SSO ----------------------
cat >"$W/credentials" <<EOF
[base]
aws_access_key_id = S3RVER
aws_secret_access_key = $STATIC_SECRET
EOF
cat >"$W/config" <<EOF
[profile assumer]
role_arn = arn:aws:iam::123456789012:role/backup
source_profile = base
external_id = pgdrill-ext
[profile proc]
credential_process = "$W/cred proc" --profile 'a b'
[profile sso]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Backup
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile mfa]
role_arn = arn:aws:iam::123456789012:role/backup
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/op
[profile chained]
role_arn = arn:aws:iam::123456789012:role/outer
source_profile = inner
external_id = pgdrill-ext
[profile inner]
role_arn = arn:aws:iam::123456789012:role/inner
credential_source = EcsContainer
external_id = pgdrill-ext
[profile badproc]
credential_process = $W/cred-fail
[profile badjson]
credential_process = $W/cred-badjson
EOF
cfg 900 '"external_id": "pgdrill-ext"'
pgdrill_src role AWS_PROFILE=assumer AWS_ENDPOINT_URL_STS="$EP"
expect_ok role role "assume role \\(profile assumer\\)" $?

# two roles: inner assumed with the container's keys, outer with inner's (a dry run: a listing)
cp "$S3_ISSUED" "$S3_ISSUED.before"
DRY_RUN=1 pgdrill_src chained AWS_PROFILE=chained AWS_ENDPOINT_URL_STS="$EP" \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$EP/container/v2/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$W/container-token"
is "$?" 0 "a role chain (source_profile, then credential_source EcsContainer): exits 0"
is "$(diff "$S3_ISSUED.before" "$S3_ISSUED" | sed -n 's/^> {"source": "\([a-z]*\)".*/\1/p' | tr '\n' ' ')" \
    "container role role " "  the container's keys, then two AssumeRole calls, each signed with the keys before"
k=$(issued_key role)
check "  the proxy saw the outer role's key ($k)" grep -q "^$k [1-9]" <(s3_proxy_keys)

# credential_process: a script (with a space in its path) that asks the endpoint for keys
cat >"$W/cred proc" <<EOF
#!/bin/sh
[ "\$1" = --profile ] && [ "\$2" = 'a b' ] || { echo "bad argv: \$*" >&2; exit 2; }
exec python3 - "$EP" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/container/proc", headers={"Authorization": """$CONTAINER_TOKEN"""})
c = json.load(urllib.request.urlopen(req))
print(json.dumps({"Version": 1, "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                  "SessionToken": c["Token"], "Expiration": c["Expiration"]}))
PY
EOF
chmod +x "$W/cred proc"
pgdrill_src proc AWS_PROFILE=proc
expect_ok proc container "credential_process \\(profile proc\\)" $?

# SSO: the token cache `aws sso login` writes, named by the SHA-1 of the session name
SSO_CACHE=$HOME/.aws/sso/cache
mkdir -p "$SSO_CACHE"
SSO_FILE=$SSO_CACHE/$(printf '%s' corp | sha1sum | cut -c1-40).json
printf '{"startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": "%s", "expiresAt": "%s"}\n' \
    "$SSO_TOKEN" "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" >"$SSO_FILE"
pgdrill_src sso AWS_PROFILE=sso AWS_ENDPOINT_URL_SSO="$EP"
expect_ok sso sso "sso \\(profile sso\\)" $?

# ---- 4. container credentials ------------------------------------------------
pgdrill_src container AWS_CONTAINER_CREDENTIALS_FULL_URI="$EP/container/v2/credentials" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$W/container-token"
expect_ok container container "container" $?

# ---- 5. IMDSv2 -----------------------------------------------------------------
pgdrill_src imds AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$EP"
expect_ok imds imds "instance metadata" $?
t_imds_v1() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$EP/latest/meta-data/iam/security-credentials/")" = 401 ]
}
check "  the IMDS stand-in refuses a request without a session token (IMDSv1)" t_imds_v1

# ---- failures: a clear message, the exit code, nothing stored -----------------
# expect_fail NAME RC REGEX WHAT
expect_fail() {
    local name=$1 want=$2 re=$3 what=$4 rc=$5
    is "$rc" "$want" "$what: exit $want"
    like "$(cat "$W/$name.err")" "$re" "  the message says so"
    is "$(keys_under "$name")" 0 "  nothing stored"
}
printf '{"accessToken": "%s", "expiresAt": "%s"}\n' "$SSO_TOKEN" \
    "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" >"$SSO_FILE"
pgdrill_src ssoexp AWS_PROFILE=sso AWS_ENDPOINT_URL_SSO="$EP"
expect_fail ssoexp 2 "SSO session has expired: run aws sso login --profile sso" "an expired SSO token" $?

printf '#!/bin/sh\necho "cannot reach the vault" >&2\nexit 1\n' >"$W/cred-fail"
printf '#!/bin/sh\necho "{\\"Version\\": 1, \\"AccessKeyId\\": "\n' >"$W/cred-badjson"
chmod +x "$W/cred-fail" "$W/cred-badjson"
pgdrill_src badproc AWS_PROFILE=badproc
expect_fail badproc 3 "credential_process of profile 'badproc' failed \\(exit status 1\\)" \
    "credential_process exiting 1" $?
pgdrill_src badjson AWS_PROFILE=badjson
expect_fail badjson 3 "credential_process of profile 'badjson' printed no JSON object" \
    "credential_process printing bad JSON" $?

cfg 900 '"imds_delay": 5'
t0=$(date +%s.%N)
pgdrill_src imdsslow AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$EP"
rc=$?
took=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$(date +%s.%N)")
expect_fail imdsslow 3 "instance metadata: .*(timed out|timeout)" "an IMDS that does not answer" $rc
check "  it gives up after 1 s (one attempt), no hang (took ${took}s)" \
    python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 3)" "$took"
cfg 900

pgdrill_src mfa AWS_PROFILE=mfa AWS_ENDPOINT_URL_STS="$EP"
expect_fail mfa 2 "profile 'mfa' needs an MFA code \\(mfa_serial\\) and pgdrill runs headless" \
    "a role profile with mfa_serial" $?

# a refused web identity token: STS's own answer, exit 3
printf 'not-the-token' >"$W/wrong-token"
pgdrill_src webbad AWS_WEB_IDENTITY_TOKEN_FILE="$W/wrong-token" AWS_ROLE_ARN=arn:aws:iam::1:role/x \
    AWS_ENDPOINT_URL_STS="$EP"
expect_fail webbad 3 "sts AssumeRoleWithWebIdentity: HTTP 400 InvalidIdentityToken" "a refused web identity token" $?

# ---- no secret in any output ----------------------------------------------------
t_no_secret() {
    local f s
    for f in "$W"/*.json "$W"/*.err "$HOMEDIR"/audit.log; do
        [ -f "$f" ] || continue
        for s in "$WEB_TOKEN" "$SSO_TOKEN" "$CONTAINER_TOKEN" "$STATIC_SECRET" \
            $(python3 -c 'import json,sys; [print(json.loads(l)["secret"], json.loads(l)["token"]) for l in open(sys.argv[1])]' "$S3_ISSUED"); do
            if grep -qF -- "$s" "$f"; then
                echo "a secret in $f"
                return 1
            fi
        done
    done
}
check "no token, secret or issued key secret in any output or the audit log" t_no_secret
is "$(s3_proxy_keys | tail -1)" "expired 0" "the proxy refused nothing as expired"
done_testing
