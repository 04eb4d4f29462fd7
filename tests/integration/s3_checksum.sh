#!/bin/bash
# S3 checksums: every part and single PUT carries x-amz-checksum-sha256 (the
# SHA-256 the request is signed with, in base64) and CompleteMultipartUpload
# lists each part's. The signature-checking proxy in front of s3rver checks
# them as S3 does (/__pgdrill/checksums; s3rver ignores them) and damages
# one body in transit (fault kind=flip): that part gets 400 BadDigest, the
# retry succeeds, and the object is byte-identical. A download whose bytes
# do not match the object's checksum fails, naming both values. The HEAD of
# part 1 that a multipart download's check may need is audited.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"
# shellcheck source=tests/integration/audit_lib.sh
. "$TOP/tests/integration/audit_lib.sh"

s3_test_setup s3-checksum
export PGDRILL_TEST_S3_BACKOFF=0.05
head -c $((12 * 1024 * 1024)) /dev/urandom >"$W/big.bin"
printf 'a small object, one PUT\n' >"$W/small.txt"
for f in big.bin small.txt; do
    s3_aws s3 cp "$W/$f" "s3://testbucket/in/$f" --only-show-errors \
        --metadata "sha256=$(sha256sum "$W/$f" | cut -d' ' -f1)"
done
cat >"$W/copy.md" <<'MD'
# Copy an object

```pgdrill
id: s3-checksum
input: src text "the key to read"
input: dst text "the key to write"
```

## Get it

```s3 op=get uri=s3://testbucket/ key=${src} file=object.bin
```

## Put it back

```s3 op=put uri=s3://testbucket/ key=${dst} file=object.bin
```
MD
copy() { # NAME SRC DST: output in $W/out.NAME, the proxy's log in $W/log.NAME
    "$PGDRILL_BIN" run "$W/copy.md" --var "src=$2" --var "dst=$3" --yes >"$W/out.$1" 2>&1
    rc=$?
    s3_proxy_log | grep -v " /__pgdrill/" >"$W/log.$1"
    s3_proxy_ctl clear
}
stored() { s3_aws s3api head-object --bucket testbucket --key "$1" >/dev/null 2>&1; }
s3_proxy_ctl 'checksums?on=1'

# one part damaged in transit: refused with BadDigest, sent again, the object intact
s3_proxy_ctl 'fault?kind=flip&count=1&match=partNumber%3D2%26'
copy big in/big.bin out/big.bin
is "$rc" 0 "damaged part: the copy succeeds"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/out.big"
is "$(grep -c 'partNumber=2&.* 400$' "$W/log.big")" 1 "damaged part: refused once (400 BadDigest)"
is "$(grep -c 'partNumber=2&.* 200$' "$W/log.big")" 1 "damaged part: the retry is stored"
like "$(cat "$W/log.big")" "POST /testbucket/out/big.bin\?uploadId=[^ ]* 200" \
    "complete: every part's ChecksumSHA256 matched what the part came with"
s3_aws s3 cp s3://testbucket/out/big.bin "$W/big.back" --only-show-errors
check "damaged part: the object is byte-identical" cmp "$W/big.bin" "$W/big.back"
s3_aws s3api head-object --bucket testbucket --key out/big.bin --checksum-mode ENABLED >"$W/head.json" 2>&1
like "$(json_get "$W/head.json" ChecksumSHA256)" "^[A-Za-z0-9+/]{43}=-2$" \
    "complete: the object has the composite checksum of its 2 parts"

# a single PUT damaged in transit: the same
s3_proxy_ctl 'fault?kind=flip&count=1&match=PUT%20/testbucket/out/small.txt'
copy small in/small.txt out/small.txt
is "$rc" 0 "damaged PUT: the copy succeeds"
is "$(grep -c '^PUT /testbucket/out/small.txt 400$' "$W/log.small")" 1 "damaged PUT: refused once"
s3_aws s3 cp s3://testbucket/out/small.txt "$W/small.back" --only-show-errors
check "damaged PUT: the object is byte-identical" cmp "$W/small.txt" "$W/small.back"

# a download checked against the object's checksum: intact, then damaged on the way
copy fetch out/small.txt out/again.txt
is "$rc" 0 "download with a checksum: intact, the copy succeeds"
s3_proxy_ctl 'fault?kind=flip&count=1&match=GET%20/testbucket/out/small.txt'
copy broken out/small.txt out/never.txt
isnt_zero() { [ "$1" != 0 ]; }
check "damaged download: fails" isnt_zero "$rc"
like "$(cat "$W/out.broken")" "s3://testbucket/out/small.txt: the bytes received have x-amz-checksum-sha256 [A-Za-z0-9+/]{43}=, S3 says [A-Za-z0-9+/]{43}=" \
    "damaged download: both checksums named"
check "damaged download: nothing put" test "$(stored out/never.txt && echo yes)" = ""

# a multipart object: its composite checksum (of 8 MiB parts) checked the same way
copy fetchbig out/big.bin out/big2.bin
is "$rc" 0 "download of a multipart object: intact, the copy succeeds"
s3_proxy_ctl 'fault?kind=flip&count=1&match=GET%20/testbucket/out/big.bin'
copy brokenbig out/big.bin out/never.bin
check "damaged multipart download: fails" isnt_zero "$rc"
like "$(cat "$W/out.brokenbig")" "s3://testbucket/out/big.bin: the bytes received have x-amz-checksum-sha256 [A-Za-z0-9+/]{43}=-2, S3 says [A-Za-z0-9+/]{43}=-2" \
    "damaged multipart download: both composites named"
like "$(cat "$W/log.brokenbig")" "HEAD /testbucket/out/big.bin\?partNumber=1 206" \
    "damaged multipart download: the part size was confirmed first"
like "$(audit_show "$PGDRILL_HOME/audit.log" | grep '"part-size"')" \
    '^s3\.head s3://testbucket/out/big\.bin ok null \{"purpose":"part-size"\}$' \
    "damaged multipart download: that HEAD is audited"
check "damaged multipart download: nothing put" test "$(stored out/never.bin && echo yes)" = ""

# without the checks (s3rver as it is) the same headers change nothing
s3_proxy_ctl 'checksums?on=0'
copy plain in/big.bin out/plain.bin
is "$rc" 0 "checksums ignored by the server: the copy succeeds"
s3_aws s3 cp s3://testbucket/out/plain.bin "$W/plain.back" --only-show-errors
check "checksums ignored by the server: byte-identical" cmp "$W/big.bin" "$W/plain.back"
unlike "$(cat "$W"/out.*)" "$S3_SECRET" "the S3 secret appears in no output"
done_testing
