#!/bin/bash
# The s3 step's get and put against s3rver behind the signature-checking
# proxy: get streams an object into a 0600 file in the drill folder, checked
# against x-amz-meta-sha256; put uploads a drill-folder file (multipart when
# large) with its sha256 and SSE; what goes wrong leaves nothing behind.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

s3_test_setup s3-get-put
aws_put() { # KEY FILE [SHA256]
    s3_aws s3 cp "$2" "s3://testbucket/$1" --only-show-errors \
        --metadata "sha256=${3:-$(sha256sum "$2" | cut -d' ' -f1)}"
}
newest_drill() { last_path "$PGDRILL_HOME"/drills/*/; }

# a 12 MiB object (two parts on the way back up), uploaded by aws with its sha256
head -c $((12 * 1024 * 1024)) /dev/urandom >"$W/big.bin"
aws_put in/big.bin "$W/big.bin"
cat >"$W/copy.md" <<'MD'
# Copy an object

```pgdrill
id: s3-copy
input: src text "the key to copy"
input: dst text "the key to write"
```

## Get it

```s3 op=get uri=s3://testbucket/in/ key=${src} file=object.bin
```

## Put it back

```s3 op=put uri=s3://testbucket/out/ key=${dst} file=object.bin
```
MD
check "lint: get and put with file= are valid" "$PGDRILL_BIN" lint "$W/copy.md"
"$PGDRILL_BIN" run "$W/copy.md" --var src=big.bin --var dst=copy.bin --yes >"$W/out.copy" 2>&1
rc=$?
is "$rc" 0 "get then put exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/out.copy"
D=$(newest_drill)
like "$(cat "$W/out.copy")" "12.0 MiB saved as object.bin; sha256 matches" "get: saved, sha256 checked"
check "get: the file is byte-identical" cmp "$W/big.bin" "$D/object.bin"
is "$(stat -c %a "$D/object.bin")" 600 "get: the file is 0600"
check "get: no .part file is left" test ! -e "$D/object.bin.part"
SUM=$(sha256sum "$W/big.bin" | cut -d' ' -f1)
like "$(cat "$W/out.copy")" "12.0 MiB uploaded to s3://testbucket/out/copy.bin \(2 parts\), sha256 $SUM" \
    "put: uploaded in two parts, with its sha256"
s3_aws s3api head-object --bucket testbucket --key out/copy.bin >"$W/head.json" 2>&1
is "$(json_get "$W/head.json" Metadata.sha256)" "$SUM" "put: x-amz-meta-sha256 is the file's sha256"
is "$(json_get "$W/head.json" ServerSideEncryption)" AES256 "put: encrypted at rest (AES256)"
s3_aws s3 cp s3://testbucket/out/copy.bin "$W/back.bin" --only-show-errors
check "put: aws downloads it byte-identical" cmp "$W/big.bin" "$W/back.bin"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"s3.get","target":"s3://testbucket/in/big.bin"' \
    "audit: the get is logged with its object"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"s3.put","target":"s3://testbucket/out/copy.bin"' \
    "audit: the put is logged with its object"

# a small object goes up as one PUT
printf 'small object\n' >"$W/small.txt"
aws_put in/small.txt "$W/small.txt"
"$PGDRILL_BIN" run "$W/copy.md" --var src=small.txt --var dst=small.txt --yes >"$W/out.small" 2>&1
is "$?" 0 "small: get then put exits 0"
like "$(cat "$W/out.small")" "13 B uploaded to s3://testbucket/out/small.txt \(0 parts\)" "small: one PUT"
s3_aws s3api head-object --bucket testbucket --key out/small.txt >"$W/head2.json" 2>&1
is "$(json_get "$W/head2.json" Metadata.sha256)" "$(sha256sum "$W/small.txt" | cut -d' ' -f1)" \
    "small: x-amz-meta-sha256 set by the PUT itself"

# a damaged object: the sha256 recorded is not the one of the bytes
aws_put in/bad.bin "$W/small.txt" "$(printf '%064d' 7)"
"$PGDRILL_BIN" run "$W/copy.md" --var src=bad.bin --var dst=never.bin --yes >"$W/out.bad" 2>&1
is "$?" 1 "sha256 mismatch: exits 1"
like "$(cat "$W/out.bad")" "s3 get: s3://testbucket/in/bad.bin: sha256 [0-9a-f]{64}, x-amz-meta-sha256 says 0{63}7" \
    "sha256 mismatch: both sums named"
D=$(newest_drill)
check "sha256 mismatch: no file and no .part file" test ! -e "$D/object.bin" -a ! -e "$D/object.bin.part"
absent() { ! s3_aws s3api head-object --bucket testbucket --key "$1" >/dev/null 2>&1; }
check "sha256 mismatch: nothing was put" absent out/never.bin

# a missing object, and file names that would leave the drill folder
"$PGDRILL_BIN" run "$W/copy.md" --var src=nope.bin --var dst=never.bin --yes >"$W/out.missing" 2>&1
is "$?" 2 "missing object: exits 2 (input error)"
like "$(cat "$W/out.missing")" "s3://testbucket/in/nope.bin: not found" "missing object: named"
sed 's/file=object.bin/file=..\/escape/' "$W/copy.md" >"$W/escape.md"
out=$("$PGDRILL_BIN" lint "$W/escape.md" 2>&1)
is "$?" 2 "lint: a file= outside the drill folder is refused"
like "$out" "bad file name '../escape' for file \(a plain name in the drill folder\)" "lint: and says why"
cat >"$W/twice.md" <<'MD'
# Get twice

```pgdrill
id: s3-twice
```

## Get

```s3 op=get uri=s3://testbucket/in/small.txt file=x.txt
```

```s3 op=get uri=s3://testbucket/in/big.bin file=x.txt
```
MD
"$PGDRILL_BIN" run "$W/twice.md" --yes >"$W/out.twice" 2>&1
is "$?" 2 "get onto an existing file: exits 2 (input error)"
like "$(cat "$W/out.twice")" "s3 get: x.txt exists already; not overwritten" "get onto an existing file: refused"
D=$(newest_drill)
check "get onto an existing file: the first file is intact" cmp "$W/small.txt" "$D/x.txt"
unlike "$(cat "$W"/out.* "$PGDRILL_HOME/audit.log")" "$S3_SECRET" "the S3 secret appears in no output"
done_testing
