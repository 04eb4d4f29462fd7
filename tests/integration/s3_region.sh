#!/bin/bash
# Buckets in another region: the signature-checking proxy in front of s3rver
# answers as a bucket in eu-west-1 does (/__pgdrill/region). Without a
# configured region pgdrill finds it with HEAD on the bucket; with a wrong
# one it follows one 301 PermanentRedirect or 400 AuthorizationHeaderMalformed
# and warns which region to configure; a redirect that names no region is a
# clear error, exit 3, with nothing stored. The HEAD that finds the region is
# in the audit log, like every request a step asks for.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"
# shellcheck source=tests/integration/audit_lib.sh
. "$TOP/tests/integration/audit_lib.sh"

s3_test_setup s3-region
printf 'an object in eu-west-1\n' >"$W/obj.txt"
s3_aws s3 cp "$W/obj.txt" s3://testbucket/in/obj.txt --only-show-errors \
    --metadata "sha256=$(sha256sum "$W/obj.txt" | cut -d' ' -f1)"
cat >"$W/copy.md" <<'MD'
# Copy an object

```pgdrill
id: s3-region
input: dst text "the key to write"
```

## Get it

```s3 op=get uri=s3://testbucket/in/obj.txt file=object.bin
```

## Put it back

```s3 op=put uri=s3://testbucket/out/ key=${dst} file=object.bin
```
MD
stored() { s3_aws s3api head-object --bucket testbucket --key "$1" >/dev/null 2>&1; }
copy() { # NAME DST: run the copy, leaving output in $W/out.NAME and the proxy log in $W/log.NAME
    s3_proxy_ctl clear
    "$PGDRILL_BIN" run "$W/copy.md" --var "dst=$2" --yes >"$W/out.$1" 2>&1
    rc=$?
    s3_proxy_log | grep -v " /__pgdrill/" >"$W/log.$1"
}

# no region configured: HEAD on the bucket names it, and every request is signed for it
s3_proxy_ctl 'region?region=eu-west-1&style=301'
unset AWS_REGION AWS_DEFAULT_REGION
copy found found.txt
is "$rc" 0 "no region configured: the copy succeeds"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/out.found"
is "$(head -1 "$W/log.found")" "HEAD /testbucket 301" "no region configured: found with HEAD on the bucket"
is "$(grep -c ' 30[0-9]$\| 400$' "$W/log.found")" 1 "no region configured: no request after the HEAD is redirected"
like "$(cat "$W/log.found")" "PUT /testbucket/out/found.txt 200" "no region configured: the object is stored"
unlike "$(cat "$W/out.found")" "warn" "no region configured: no warning"
is "$(audit_show "$PGDRILL_HOME/audit.log" | head -1)" 's3.head s3://testbucket ok null {"purpose":"bucket-region"}' \
    "no region configured: the HEAD on the bucket is audited"
like "$(audit_show "$PGDRILL_HOME/audit.log" | sed -n 2p)" "^s3\.get s3://testbucket/in/obj\.txt ok " \
    "  before the get that needed it"

# a configured region that is wrong: one 400 AuthorizationHeaderMalformed, followed, with a warning
export AWS_REGION=us-east-1
s3_proxy_ctl 'region?region=eu-west-1&style=400'
copy malformed malformed.txt
is "$rc" 0 "wrong region, 400: the copy succeeds"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/out.malformed"
is "$(grep -c ' 400$' "$W/log.malformed")" 1 "wrong region, 400: followed once, then remembered for the bucket"
like "$(cat "$W/out.malformed")" "bucket testbucket is in region eu-west-1, not us-east-1: set AWS_REGION=eu-west-1" \
    "wrong region, 400: the warning names the region to configure"

# the same with a 301 PermanentRedirect
s3_proxy_ctl 'region?region=eu-west-1&style=301'
copy moved moved.txt
is "$rc" 0 "wrong region, 301: the copy succeeds"
is "$(grep -c ' 301$' "$W/log.moved")" 1 "wrong region, 301: followed once"
like "$(cat "$W/out.moved")" "set AWS_REGION=eu-west-1" "wrong region, 301: the warning names the region"

# a redirect that does not say where: exit 3, a clear message, nothing stored
s3_proxy_ctl 'region?region=eu-west-1&style=none'
copy lost lost.txt
is "$rc" 3 "unresolvable region: exits 3"
like "$(cat "$W/out.lost")" "HTTP 301.*set AWS_REGION to the bucket's region" \
    "unresolvable region: the message says what to configure"
s3_proxy_ctl 'region?region='
check "unresolvable region: nothing stored" test "$(stored out/lost.txt && echo yes)" = ""
check "the objects copied are stored" stored out/found.txt
unlike "$(cat "$W"/out.*)" "$S3_SECRET" "the S3 secret appears in no output"
done_testing
