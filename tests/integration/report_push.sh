#!/bin/bash
# Drill evidence that outlives the laptop: `pgdrill report push`, `run --push`
# and `report list --remote` against s3rver behind the signature-checking
# proxy (tests/s3_lib.sh), Debian's awscli as the independent reader. After
# `rm -rf $PGDRILL_HOME/drills` the evidence is still listed and its files
# are byte-identical to what the drill wrote; every push is in the audit
# log; a bad drill id is refused (exit 2) and a failing S3 fails the push
# (exit 3). Missing services are failures, not skips.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

s3_test_setup report_push
export PGDRILL_TEST_S3_BACKOFF=0.01
# a base with a key prefix: the evidence goes to org/prod/drills/ID/
export PGDRILL_BACKUP_URI=s3://testbucket/org/prod
RB=$TOP/tests/fixtures/runbooks/tui-basic.md
FILES="report.md report.json report.html journal.sha256"
drill() { "$PGDRILL_BIN" run "$RB" --yes --var magic_word=abracadabra "$@"; }
remote_key() { printf 'org/prod/drills/%s/%s' "$1" "$2"; }

# ---- nothing to push yet
"$PGDRILL_BIN" report push >"$W/out.none" 2>&1
is "$?" 2 "push without any drill: exit 2"
like "$(cat "$W/out.none")" "no drill in $PGDRILL_HOME/drills" "push without any drill: says there is none"

# ---- drill A (no push), drill B pushed by run --push
drill >"$W/out.a" 2>&1
is "$?" 0 "drill A passes"
A=$(basename "$(last_path "$PGDRILL_HOME"/drills/*)")
sleep 1 # drill ids have a resolution of one second
drill --push >"$W/out.b" 2>&1
is "$?" 0 "run --push: the drill passes and its evidence is pushed"
B=$(basename "$(last_path "$PGDRILL_HOME"/drills/*)")
check "run --push: two different drills ($A, $B)" [ "$A" != "$B" ]
for f in $FILES; do
    like "$(cat "$W/out.b")" "pushed $f " "run --push: $f pushed"
done
like "$(cat "$W/out.b")" "drill $B: 4 files in s3://testbucket/org/prod/drills/$B/" \
    "run --push: names where the evidence went"

# ---- report push A, its report.md lost locally first: written again from the journal
rm "$PGDRILL_HOME/drills/$A/report.md"
unset PGDRILL_BACKUP_URI
"$PGDRILL_BIN" report push "$A" >"$W/out.nouri" 2>&1
is "$?" 2 "push without PGDRILL_BACKUP_URI: exit 2"
like "$(cat "$W/out.nouri")" "PGDRILL_BACKUP_URI is not set" "push without PGDRILL_BACKUP_URI: says so"
export PGDRILL_BACKUP_URI=s3://testbucket/org/prod
"$PGDRILL_BIN" report push "$A" >"$W/out.pushA" 2>&1
is "$?" 0 "report push A: exit 0"
check "report push A: report.md written again from the journal" [ -s "$PGDRILL_HOME/drills/$A/report.md" ]
like "$(cat "$W/out.pushA")" "pushed report.json +[0-9.]+ [KMGi]*B  sha256 [0-9a-f]{64}  sse AES256" \
    "report push A: each file with its size, sha256 and encryption"

# ---- what landed, read by awscli (one HEAD: each awscli call costs seconds)
for f in $FILES; do
    like "$(grep "pushed $f " "$W/out.pushA")" "sse AES256$" "$f: the HEAD after the PUT says AES256, as for the backups"
done
s3_aws s3api head-object --bucket testbucket --key "$(remote_key "$A" report.html)" >"$W/head.html" 2>&1
is "$(json_get "$W/head.html" ServerSideEncryption)" AES256 "awscli: report.html is encrypted at rest (AES256)"
is "$(json_get "$W/head.html" Metadata.sha256)" \
    "$(sha256sum "$PGDRILL_HOME/drills/$A/report.html" | cut -d' ' -f1)" \
    "awscli: report.html's sha256 is in the object's metadata"
like "$(json_get "$W/head.html" ContentType)" "^text/html" "awscli: report.html is served as text/html"

# ---- keep what the drills wrote, then lose the laptop's drills
mkdir -p "$W/keep"
for id in "$A" "$B"; do
    mkdir -p "$W/keep/$id"
    cp "$PGDRILL_HOME/drills/$id/"report.{md,json,html} "$PGDRILL_HOME/drills/$id/journal.jsonl" "$W/keep/$id/"
done
rm -rf "$PGDRILL_HOME/drills"
"$PGDRILL_BIN" report list >"$W/out.local" 2>&1
unlike "$(cat "$W/out.local")" "$A" "the local list no longer has drill A"
"$PGDRILL_BIN" report list --remote >"$W/out.remote" 2>&1
is "$?" 0 "report list --remote: exit 0"
like "$(cat "$W/out.remote")" "^ID +PUSHED \(UTC\) +SIZE +FILES" "report list --remote: a header"
for id in "$A" "$B"; do
    like "$(cat "$W/out.remote")" "$id +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} +[0-9.]+ [KMGi]*B  journal.sha256 report.html report.json report.md" \
        "report list --remote: $id with its four files, after rm -rf drills"
done
unlike "$(cat "$W/out.remote")" "missing" "report list --remote: nothing missing"
is "$(sed -n 2p "$W/out.remote" | cut -d' ' -f1)" "$B" "report list --remote: newest drill first"

# ---- byte-identical, and the journal hash checks the kept journal
s3_aws s3 cp --only-show-errors --recursive s3://testbucket/org/prod/drills/ "$W/got/"
for id in "$A" "$B"; do
    for f in report.md report.json report.html; do
        check "$id/$f: the remote copy is byte-identical" cmp -s "$W/got/$id/$f" "$W/keep/$id/$f"
    done
    cp "$W/got/$id/journal.sha256" "$W/keep/$id/"
    check "$id/journal.sha256: sha256sum -c accepts the kept journal" \
        sh -c "cd '$W/keep/$id' && sha256sum -c --quiet journal.sha256"
    is "$(cut -d' ' -f1 "$W/keep/$id/journal.sha256")" "$(json_get "$W/keep/$id/report.json" journal_sha256)" \
        "$id: the pushed journal hash is the one its report names"
done
printf 'x' >>"$W/keep/$A/journal.jsonl"
check "journal.sha256: an altered journal fails sha256sum -c" \
    sh -c "! (cd '$W/keep/$A' && sha256sum -c --quiet journal.sha256 2>/dev/null)"

# ---- the audit log has each push, and its chain holds
AUDIT=$PGDRILL_HOME/audit.log
for id in "$A" "$B"; do
    like "$(grep '"action":"report.push"' "$AUDIT")" \
        "\"drill_id\":\"$id\",\"action\":\"report.push\",\"target\":\"s3://testbucket/org/prod/drills/$id/\",\"args\":\{\"files\":4,\"journal_sha256\":\"[0-9a-f]{64}\",\"outcome\":\"passed\"\},\"outcome\":\"ok\"" \
        "audit: the push of $id, with its prefix, files and journal hash"
    is "$(grep -c "\"drill_id\":\"$id\",\"action\":\"s3.put\"" "$AUDIT")" 4 "audit: four PUTs for $id"
done
like "$(cat "$AUDIT")" '"action":"s3.list","target":"s3://testbucket/org/prod/drills/"' "audit: the remote listing"
"$PGDRILL_BIN" audit verify >"$W/out.verify" 2>&1
is "$?" 0 "audit: the chain is intact"

# ---- bad ids: exit 2, clear messages, nothing uploaded
"$PGDRILL_BIN" report push 20261126-040500-no-such-drill >"$W/out.bad" 2>&1
is "$?" 2 "push of an unknown drill: exit 2"
like "$(cat "$W/out.bad")" "^pgdrill: drill 20261126-040500-no-such-drill not found in $PGDRILL_HOME/drills" \
    "push of an unknown drill: names it and where it was looked for"
"$PGDRILL_BIN" report push ../../etc >"$W/out.bad2" 2>&1
is "$?" 2 "push of a malformed id: exit 2"
like "$(cat "$W/out.bad2")" "bad drill id '../../etc'" "push of a malformed id: says so"
"$PGDRILL_BIN" report push a b >"$W/out.bad3" 2>&1
is "$?" 2 "push of two ids: usage error"
is "$("$PGDRILL_BIN" report list --remote | tail -n +2 | wc -l)" 2 "nothing was uploaded for the bad ids"

# ---- S3 failing: a drill that passed but whose evidence could not be pushed exits 3
s3_proxy_ctl "fault?kind=status500&count=50&match=PUT"
drill --push >"$W/out.fail" 2>&1
is "$?" 3 "run --push with S3 failing: exit 3"
like "$(cat "$W/out.fail")" "drill [0-9-]+tui-basic: passed" "run --push with S3 failing: the drill itself passed"
like "$(cat "$W/out.fail")" "pgdrill: push: s3: PUT s3://testbucket/org/prod/drills/[0-9]+-[0-9]+-tui-basic/report.md: HTTP 500" \
    "run --push with S3 failing: names the object and the error"
like "$(tail -1 "$AUDIT")" '"action":"report.push".*"outcome":"failed: s3: PUT' "audit: the failed push too"
s3_proxy_ctl clear

# ---- no secret in any output or in the audit log
if grep -rqF "$S3_SECRET" "$W"/out.* "$AUDIT" "$W/keep"; then
    not_ok "secrets: the AWS secret reached an output, report or the audit log"
else
    ok "secrets: the AWS secret is in no output, report or audit entry"
fi
done_testing
