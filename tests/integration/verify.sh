#!/bin/bash
# pgdrill verify and runbooks/monthly-verification.md against the sandbox
# Neon server and s3rver (behind the signature-checking proxy): gzip'd
# pg_dump backups uploaded with awscli the way `pgdrill backup` stores them
# (x-amz-meta-sha256). A good newest backup passes; a corrupted one (gzip
# header byte: only the sha256 can tell; a deflate byte: gzip tells) fails
# naming the problem; a newest backup older than 8 days is flagged; no
# backups is a clear failure; a dead S3 or missing Neon settings exit 3.
# Every request verify sends is in the audit log, failed ones with their
# error; without a writable audit log no request is sent.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/verify_lib.sh"
# shellcheck source=tests/integration/audit_lib.sh
. "$(dirname "$0")/audit_lib.sh"

verify_setup verify

pg_dump --no-owner "$SRC_URL" | gzip -6 >"$W/dump.sql.gz" || { notok "pg_dump of care_commons"; exit 1; }
NEW=weekly/care-commons-backup-$(stamp 0).sql.gz
OLD14=weekly/care-commons-backup-$(stamp 14).sql.gz
OLD7=weekly/care-commons-backup-$(stamp 7).sql.gz
upload_backup "$OLD14" "$W/dump.sql.gz"
upload_backup "$OLD7" "$W/dump.sql.gz"
upload_backup "$NEW" "$W/dump.sql.gz"
SUM=$(sha256sum "$W/dump.sql.gz" | cut -d' ' -f1)
SIZE=$(stat -c %s "$W/dump.sql.gz")
ALOG=$PGDRILL_HOME/audit.log

"$PGDRILL_BIN" verify >"$W/out.good" 2>&1
rc=$?
is "$rc" 0 "verify: good backups exit 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/out.good"
like "$(cat "$W/out.good")" "pass  neon.default-branch: project $NEON_PROJECT_ID: default branch [^ ]+ \(br-[^)]*\) ready; history window" \
    "verify: the neon default branch is there, with its history window"
is "$(grep -c 'care-commons-backup-.*\.sql\.gz' "$W/out.good" | head -1)" 6 \
    "verify: three backups listed, named again in three checks' details"
like "$(cat "$W/out.good")" "pass  s3.backups: 3 backups under s3://$BUCKET/weekly/" "verify: the backup count"
like "$(grep -m1 '^  weekly/' "$W/out.good")" \
    "^  $NEW +[0-9.]+ (B|KiB) +<1m" "verify: the newest is listed first, with size and age"
like "$(grep '^  weekly/' "$W/out.good" | tail -1)" "14d 0h" "verify: the oldest is 14 days old"
like "$(cat "$W/out.good")" "pass  s3.newest-age: newest backup $NEW is <1m old \(limit 8d 0h\)" \
    "verify: the newest is young enough"
like "$(cat "$W/out.good")" "pass  s3.newest-stream: $NEW: .* gzip ok .* sha256 ${SUM:0:12}… matches metadata" \
    "verify: the newest is streamed, gzip ok, sha256 equal to its metadata"
like "$(tail -1 "$W/out.good")" "^verification passed: 5 checks$" "verify: the verdict"
check "verify: no temporary file left in TMPDIR" [ -z "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -newer "$W/dump.sql.gz" -name '*care-commons*' 2>/dev/null)" ]

# The audit log: one entry per request, in order, after it, not a drill's.
WIN_S=$(curl -s -H "Authorization: Bearer $NEON_API_KEY" "$NEON_API_HOST/projects/$NEON_PROJECT_ID" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["history_retention_seconds"])')
BR_ID=$(sed -n 's/.*default branch main (\(br-[^)]*\)) ready.*/\1/p' "$W/out.good")
NT=$NEON_API_HOST/projects/$NEON_PROJECT_ID
S3T=s3://$BUCKET
is "$(audit_show "$ALOG")" "neon.project-get $NT ok null {\"history_retention_s\":$WIN_S}
neon.branch-get $NT ok null {\"branch\":\"(default)\",\"branch_id\":\"$BR_ID\"}
s3.list $S3T/weekly/ ok null {\"objects\":3}
s3.get $S3T/$NEW ok null {\"bytes\":$SIZE,\"sha256\":\"$SUM\"}
s3.head $S3T/$NEW ok null {\"bytes\":$SIZE,\"sse\":\"AES256\"}
s3.head $S3T/$OLD7 ok null {\"bytes\":$SIZE,\"sse\":\"AES256\"}
s3.head $S3T/$OLD14 ok null {\"bytes\":$SIZE,\"sse\":\"AES256\"}" \
    "audit: verify recorded its 7 requests in order, each ok, drill_id null"
like "$BR_ID" '^br-' "audit: the default branch id is recorded"
"$PGDRILL_BIN" audit verify >"$W/out.auditv" 2>&1
is "$?" 0 "audit: pgdrill audit verify passes after verify"
like "$(cat "$W/out.auditv")" "^audit log ok: 7 entries, chain intact" "audit: the chain holds the 7 entries"

"$PGDRILL_BIN" verify --json >"$W/out.json" 2>&1
is "$?" 0 "verify --json: exit 0"
is "$(json_eval "$W/out.json" '[c["status"] for c in d["checks"]]')" '["pass", "pass", "pass", "pass", "pass"]' \
    "verify --json: five checks passed"
is "$(json_get "$W/out.json" stream.sha256)" "$SUM" "verify --json: the streamed sha256"
is "$(json_get "$W/out.json" backups.0.key)" "$NEW" "verify --json: newest first"
is "$(json_get "$W/out.json" neon.default_branch)" main "verify --json: the default branch"
like "$(json_get "$W/out.json" neon.history_window_s)" '^[0-9]+$' "verify --json: the history window"

# The monthly runbook makes the same checks.
"$PGDRILL_BIN" run "$TOP/runbooks/monthly-verification.md" --yes >"$W/out.rb" 2>&1
rc=$?
is "$rc" 0 "monthly-verification runbook: exit 0 on good backups"
[ "$rc" = 0 ] || tail -30 "$W/out.rb" | sed 's/^/# /'
like "$(cat "$W/out.rb")" "sha256 $SUM matches the metadata" "monthly-verification: the streamed check ran"
like "$(cat "$W/out.rb")" "history window" "monthly-verification: the history window is reported"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"s3.verify".*"target":"s3://'"$BUCKET/$NEW"'".*"outcome":"ok"' \
    "monthly-verification: the s3 verify step is in the audit log"

# Corrupt 1: a byte of the gzip header's mtime changes. gzip -t cannot tell;
# the sha256 recorded at upload can.
python3 - "$W/dump.sql.gz" "$W/mtime.sql.gz" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[5] ^= 0x01; open(sys.argv[2], "wb").write(b)
PY
if gzip -t "$W/mtime.sql.gz"; then
    ok "corrupt 1: gzip -t alone passes it"
else
    not_ok "corrupt 1: gzip -t alone passes it"
fi
upload_backup "$NEW" "$W/mtime.sql.gz" "$SUM"
BADSUM=$(sha256sum "$W/mtime.sql.gz" | cut -d' ' -f1)
"$PGDRILL_BIN" verify >"$W/out.sha" 2>&1
is "$?" 1 "corrupt 1: verify exits 1"
like "$(cat "$W/out.sha")" "fail  s3.newest-stream: s3: s3://$BUCKET/$NEW: sha256 mismatch: the object has $BADSUM, its metadata says $SUM" \
    "corrupt 1: the sha256 mismatch is named with both values"
like "$(tail -1 "$W/out.sha")" "^verification FAILED: 1 of 5 checks did not pass$" "corrupt 1: the verdict"
is "$(grep '"action":"s3.get"' "$ALOG" | tail -1 | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["target"], e["outcome"], e["args"])')" \
    "$S3T/$NEW failed: s3: s3://$BUCKET/$NEW: sha256 mismatch: the object has $BADSUM, its metadata says $SUM {'bytes': $SIZE}" \
    "corrupt 1: the failed stream is in the audit log with its error, without a sha256"

# Corrupt 2: a byte in the middle of the deflate data: gzip itself fails.
python3 - "$W/dump.sql.gz" "$W/mid.sql.gz" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x55; open(sys.argv[2], "wb").write(b)
PY
upload_backup "$NEW" "$W/mid.sql.gz" "$SUM"
"$PGDRILL_BIN" verify --json >"$W/out.mid" 2>&1
is "$?" 1 "corrupt 2: verify exits 1"
like "$(json_get "$W/out.mid" 'checks[name=s3.newest-stream].detail')" "^s3: s3://$BUCKET/$NEW: .*(gzip|crc|corrupt|invalid)" \
    "corrupt 2: the gzip failure is named"
is "$(json_get "$W/out.mid" 'checks[name=s3.newest-stream].status')" fail "corrupt 2: a failed check, not a service error"
"$PGDRILL_BIN" run "$TOP/runbooks/monthly-verification.md" --yes >"$W/out.rb2" 2>&1
is "$?" 1 "corrupt 2: the monthly-verification runbook fails too"
upload_backup "$NEW" "$W/dump.sql.gz"

# The newest backup older than 8 days.
upload_backup "old/care-commons-backup-$(stamp 9).sql.gz" "$W/dump.sql.gz"
upload_backup "old/care-commons-backup-$(stamp 16).sql.gz" "$W/dump.sql.gz"
"$PGDRILL_BIN" verify --uri "s3://$BUCKET/old/" >"$W/out.old" 2>&1
is "$?" 1 "stale: verify exits 1 when the newest backup is 9 days old"
like "$(cat "$W/out.old")" "fail  s3.newest-age: newest backup old/care-commons-backup-[0-9-]+\.sql\.gz is 9d 0h old, older than 8d 0h: the weekly backup is not running" \
    "stale: the age check names the backup and its age"
like "$(cat "$W/out.old")" "pass  s3.newest-stream" "stale: the backup itself still verifies"
"$PGDRILL_BIN" verify --uri "s3://$BUCKET/old/" --max-age 10 >/dev/null 2>&1
is "$?" 0 "stale: --max-age 10 accepts it"

# No backups.
"$PGDRILL_BIN" verify --uri "s3://$BUCKET/nothing/" >"$W/out.none" 2>&1
is "$?" 1 "empty: verify exits 1 when there is no backup"
like "$(cat "$W/out.none")" "fail  s3.backups: no backups under s3://$BUCKET/nothing/" "empty: said plainly"
"$PGDRILL_BIN" run "$TOP/runbooks/monthly-verification.md" --yes --var backup_prefix=nothing/ >"$W/out.rb3" 2>&1
is "$?" 1 "empty: the monthly-verification runbook fails"
like "$(cat "$W/out.rb3")" "no backups under s3://$BUCKET/nothing/" "empty: the runbook says why"

# Services down: S3 unreachable, Neon not configured.
AWS_ENDPOINT_URL_S3=http://127.0.0.1:1 "$PGDRILL_BIN" verify >"$W/out.down" 2>&1
is "$?" 3 "s3 down: verify exits 3"
like "$(cat "$W/out.down")" "error s3.backups: s3: " "s3 down: the listing error is shown"
like "$(audit_show "$ALOG" | tail -1)" "^s3\.list $S3T/weekly/ failed: s3: [^ ].* null \{\}$" \
    "s3 down: the failed listing is in the audit log"

# A wrong secret: S3 refuses the listing; the refusal is recorded, redacted.
n0=$(audit_count "$ALOG")
AWS_SECRET_ACCESS_KEY=wrong-secret-$RANDOM "$PGDRILL_BIN" verify --skip-neon >"$W/out.badkey" 2>&1
is "$?" 3 "wrong secret: verify exits 3"
is "$(audit_show "$ALOG" $((n0 + 1)) | cut -d' ' -f1-3)" "s3.list $S3T/weekly/ failed:" \
    "wrong secret: one entry, the refused listing, nothing after it"
like "$(audit_show "$ALOG" $((n0 + 1)))" "failed: s3: .*(403|SignatureDoesNotMatch)" \
    "wrong secret: the outcome names S3's refusal"

# No audit log, no request: audit.log a directory fails before Neon and S3
# hear anything.
audit_refused "unwritable audit log" "$W/badhome" "$PGDRILL_BIN" verify

# An entry that cannot be written (the file size limit, as a full disk):
# the request it records was sent, nothing after it is.
requests_mark
out=$(audit_run_full "$ALOG" "$W/fullhome" "$PGDRILL_BIN" verify)
is "$?" 3 "audit write fails: verify exits 3"
like "$out" "error audit: audit log $W/fullhome/audit.log: write: File too large; no further request sent" \
    "audit write fails: the audit check names the log and why"
unlike "$out" "neon.default-branch|s3\.backups|s3\.newest" "audit write fails: no check ran after it"
is "$(requests_since)" "neon GET /api/v2/projects/$NEON_PROJECT_ID" \
    "audit write fails: Neon got the project request only, S3 nothing"
if cmp -s "$ALOG" "$W/fullhome/audit.log"; then
    ok "audit write fails: the log is left as it was"
else
    notok "audit write fails: the log is left as it was"
fi
requests_mark
out=$(audit_run_full "$ALOG" "$W/fullhome" "$PGDRILL_BIN" verify --skip-neon)
is "$?" 3 "audit write fails (S3 first): verify exits 3"
like "$(requests_since)" "^s3 GET /$BUCKET\?[^ ]*list-type=2[^ ]*$" \
    "audit write fails (S3 first): the listing only reached S3, no GET or HEAD of a backup"
like "$out" "error audit: audit log $W/fullhome/audit.log: write: File too large" \
    "audit write fails (S3 first): named"
"$PGDRILL_BIN" audit verify --path "$W/fullhome/audit.log" >/dev/null 2>&1
is "$?" 0 "audit write fails: the log's chain is intact"
env -u NEON_API_KEY "$PGDRILL_BIN" verify >"$W/out.noneon" 2>&1
is "$?" 3 "neon not configured: exit 3"
like "$(cat "$W/out.noneon")" "error neon.default-branch: .*NEON_API_KEY" "neon not configured: named"
like "$(cat "$W/out.noneon")" "pass  s3.newest-stream" "neon not configured: the S3 checks still ran"
env -u NEON_API_KEY "$PGDRILL_BIN" verify --skip-neon >"$W/out.skip" 2>&1
is "$?" 0 "--skip-neon: S3 only, exit 0"
like "$(cat "$W/out.skip")" "skip  neon.default-branch: skipped on request" "--skip-neon: reported as skipped"

# Slow failures. The history window shorter than required (the sandbox
# keeps 30 days): both numbers named.
PGDRILL_VERIFY_HISTORY_DAYS=45 "$PGDRILL_BIN" verify --list-only >"$W/out.hist" 2>&1
is "$?" 1 "history window: 30 days against a requirement of 45 fails"
like "$(cat "$W/out.hist")" "fail  neon.history-window: history window [^ ]+ \(2592000 s\) is shorter than the required [^ ]+ \(3888000 s\)" \
    "history window: both numbers named"
like "$(cat "$W/out.good")" "pass  neon.history-window: history window [^ ]+ \(2592000 s\) covers the required [^ ]+ \(604800 s\)" \
    "history window: the default requirement is 7 days"
PGDRILL_VERIFY_HISTORY_DAYS=seven "$PGDRILL_BIN" verify --list-only >"$W/out.hist2" 2>&1
is "$?" 2 "history window: a setting that is not a number is a usage error"

# The newest backup shrank: below half the median of the four before it.
head -c 40000 /dev/urandom | gzip -1 >"$W/big.sql.gz"
head -c 15000 /dev/urandom | gzip -1 >"$W/small.sql.gz"
for d in 28 21 14 7; do upload_backup "shrink/care-commons-backup-$(stamp "$d").sql.gz" "$W/big.sql.gz"; done
upload_backup "shrink/care-commons-backup-$(stamp 0).sql.gz" "$W/small.sql.gz"
"$PGDRILL_BIN" verify --uri "s3://$BUCKET/shrink/" >"$W/out.shrink" 2>&1
is "$?" 1 "shrunk: verify exits 1"
like "$(cat "$W/out.shrink")" "fail  s3.newest-size: newest backup shrink/care-commons-backup-[0-9-]+\.sql\.gz is [^ ]+ KiB \($(stat -c %s "$W/small.sql.gz") B\), below 0\.5 x the median [^ ]+ KiB \($(stat -c %s "$W/big.sql.gz") B\) of the previous four" \
    "shrunk: the size check names both sizes"
like "$(cat "$W/out.shrink")" "pass  s3.newest-stream" "shrunk: the backup itself is readable"
PGDRILL_VERIFY_SHRINK_RATIO=0.3 "$PGDRILL_BIN" verify --uri "s3://$BUCKET/shrink/" >"$W/out.shrink2" 2>&1
is "$?" 0 "shrunk: PGDRILL_VERIFY_SHRINK_RATIO=0.3 accepts 37% of the median"
like "$(cat "$W/out.shrink2")" "pass  s3.newest-size: .* at least 0\.3 x the median" "shrunk: the ratio in use is named"

# A backup without sha256 metadata is a failure, not a note.
aws s3 cp "$W/dump.sql.gz" "s3://$BUCKET/nosha/care-commons-backup-$(stamp 0).sql.gz" --only-show-errors \
    --content-type application/gzip --sse AES256
"$PGDRILL_BIN" verify --uri "s3://$BUCKET/nosha/" >"$W/out.nosha" 2>&1
is "$?" 1 "no sha256: verify exits 1"
like "$(cat "$W/out.nosha")" "fail  s3.newest-stream: nosha/care-commons-backup-[0-9-]+\.sql\.gz: gzip ok .* but the object has no x-amz-meta-sha256" \
    "no sha256: named as a failure"

if grep -rqF "$S3SECRET" "$W"/out.* "$PGDRILL_HOME" "$W/fullhome" 2>/dev/null; then
    notok "secrets: the S3 secret appears in an output or the journal"
else
    ok "secrets: the S3 secret appears in no output or journal"
fi
key_check
done_testing
