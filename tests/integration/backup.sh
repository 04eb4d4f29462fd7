#!/bin/bash
# pgdrill backup end to end: a real PostgreSQL (tests/services.sh), s3rver
# behind the signature-checking proxy (tests/s3_lib.sh), Debian's awscli to
# cross-check, a loopback HTTP server standing in for Slack. Missing
# services are failures, not skips.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

require_env PGDRILL_TEST_PGURL
[ -x "$PGDRILL_BIN" ] || bail setup "$PGDRILL_BIN is not built (make)"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/backup.XXXXXX")
SLACK_PID=
BG_PID=
cleanup() {
    [ -n "$BG_PID" ] && kill -9 "$BG_PID" 2>/dev/null && wait "$BG_PID" 2>/dev/null
    [ -n "$SLACK_PID" ] && kill "$SLACK_PID" 2>/dev/null && wait "$SLACK_PID" 2>/dev/null
    s3_stop
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

s3_start "$W" testbucket 2>"$W/s3start.err" || bail "s3 setup" "$(cat "$W/s3start.err")"
aws_s3() { s3_aws s3 "$@" --only-show-errors; }
# aws_absent KEY: HEAD of testbucket/KEY fails with 404 (not for another reason)
aws_absent() {
    local e
    e=$(s3_aws s3api head-object --bucket testbucket --key "$1" 2>&1 >/dev/null) && return 1
    printf '%s\n' "$e" | grep -q '(404)'
}
# keys under a prefix, one per line
aws_keys() { s3_aws s3api list-objects-v2 --bucket testbucket --prefix "$1" --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$' | sort; }

# ---- the database: the Care Commons fixture plus bulk rows (plain dump > 1 MiB)
SRC=$(fresh_db pgdrill_backup_src) || bail setup "cannot create the source database"
sql "$SRC" "CREATE TABLE bulk_notes AS SELECT g AS id, md5(g::text) || ' note ' || g AS body
            FROM generate_series(1, 40000) g" >/dev/null || bail setup "cannot add bulk rows"
HOMEDIR=$(pgdrill_home backup)
export PGDRILL_HOME=$HOMEDIR DATABASE_URL=$SRC PGDRILL_BACKUP_URI=s3://testbucket
unset SLACK_WEBHOOK_URL
KEYRE='^weekly/care-commons-backup-[0-9]{8}-[0-9]{6}\.sql\.gz$'

# the pg_dump wrapper records how it was started (argv, whether PGPASSWORD is set)
cat >"$W/pg_dump_spy" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$W/spy.argv"
[ -n "\${PGPASSWORD:-}" ] && echo set >"$W/spy.pw"
exec pg_dump "\$@"
EOF
chmod +x "$W/pg_dump_spy"

# ---- 1. a backup lands at the right key --------------------------------------
(cd "$W" && PGDRILL_PG_DUMP=$W/pg_dump_spy "$PGDRILL_BIN" backup --json --keep-local "$W/local.sql.gz") \
    >"$W/b1.json" 2>"$W/b1.err"
rc=$?
is "$rc" 0 "backup exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/b1.err"
KEY=$(json_get "$W/b1.json" key)
like "$KEY" "$KEYRE" "the key is weekly/care-commons-backup-YYYYMMDD-HHMMSS.sql.gz"
is "$(json_get "$W/b1.json" uri)" "s3://testbucket/$KEY" "the summary names the uri"
is "$(json_get "$W/b1.json" outcome)" ok "the summary says ok"
is "$(aws_keys weekly/)" "$KEY" "aws lists exactly that key"
is "$(json_eval "$W/b1.json" 'sorted(d["phases"])')" \
    '["complete_s", "drain_s", "dump_s", "flush_s", "head_s", "metadata_s", "retention_s"]' \
    "the summary times each phase"
is "$(json_eval "$W/b1.json" 'all(v >= 0 for v in d["phases"].values()) and d["phases"]["dump_s"] > 0 and sum(d["phases"].values()) - d["phases"]["retention_s"] <= d["duration_s"] + 0.01')" \
    true "the phases are non-negative and add up to at most the duration"
PW=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).password)' "$SRC")
spy_argv=$(cat "$W/spy.argv" 2>/dev/null)
if [ -n "$spy_argv" ] && [[ $spy_argv != *"$PW"* ]] && [ "$(cat "$W/spy.pw" 2>/dev/null)" = set ]; then
    ok "pg_dump gets the password in PGPASSWORD, not on its command line"
else
    not_ok "pg_dump gets the password in PGPASSWORD, not on its command line" "argv: $spy_argv"
fi
is "$spy_argv" "--no-password --format=plain" "pg_dump runs plain format with no password prompt"
# the text summary of an object small enough for one PUT says so, not "0 parts"
out=$(PGDRILL_BACKUP_URI=s3://testbucket/text "$PGDRILL_BIN" backup 2>&1)
like "$out" "gzip [0-9.]+ [KM]iB \([0-9]+ bytes, one PUT\) in " "the text summary of a one-PUT backup"

t_download() {
    aws_s3 cp "s3://testbucket/$KEY" "$W/dl.sql.gz" && cmp "$W/dl.sql.gz" "$W/local.sql.gz" &&
        [ "$(sha256sum <"$W/dl.sql.gz" | cut -c1-64)" = "$(json_get "$W/b1.json" sha256)" ] &&
        [ "$(stat -c %s "$W/dl.sql.gz")" = "$(json_get "$W/b1.json" compressed_bytes)" ] &&
        [ "$(gzip -dc "$W/dl.sql.gz" | wc -c)" = "$(json_get "$W/b1.json" plain_bytes)" ]
}
check "aws downloads it byte-identical to --keep-local; sha256 and sizes match the summary" t_download
check "no .partial local copy is left behind" test ! -e "$W/local.sql.gz.partial"

t_head() {
    local sum
    sum=$(sha256sum <"$W/dl.sql.gz" | cut -c1-64)
    s3_aws s3api head-object --bucket testbucket --key "$KEY" >"$W/head.json" &&
        [ "$(json_get "$W/head.json" ServerSideEncryption)" = AES256 ] &&
        [ "$(json_get "$W/head.json" Metadata.sha256)" = "$sum" ] &&
        [ "$(json_get "$W/head.json" Metadata.plain-size)" = "$(json_get "$W/b1.json" plain_bytes)" ] &&
        [ "$(json_get "$W/head.json" StorageClass)" = STANDARD_IA ] &&
        [ "$(json_get "$W/head.json" ContentType)" = application/gzip ]
}
check "HEAD: SSE AES256, STANDARD_IA, x-amz-meta-sha256 = sha256sum of the object, plain-size" t_head

t_restore() {
    local dst t a b
    dst=$(_psql -c "DROP DATABASE IF EXISTS pgdrill_backup_dst" "$(db_url postgres)" >/dev/null &&
        _psql -c "CREATE DATABASE pgdrill_backup_dst" "$(db_url postgres)" >/dev/null &&
        db_url pgdrill_backup_dst) || return 1
    gzip -dc "$W/dl.sql.gz" | _psql "$dst" >/dev/null || return 1
    for t in $(sql "$SRC" "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables ORDER BY 1"); do
        a=$(sql "$SRC" "$(table_sum "$t")")
        b=$(sql "$dst" "$(table_sum "$t")") || return 1
        [ "$a" = "$b" ] || { echo "$t: source $a, restored $b (rows md5)"; return 1; }
    done
    [ "$(sql "$dst" "SELECT count(*) FROM bulk_notes")" = 40000 ]
}
# table_sum TABLE: the SQL for "ROWS MD5" of its rows, in a fixed order
table_sum() {
    printf "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) FROM %s x" "$1"
}
check "gunzip | psql restores it into an empty database: row counts and a checksum per table equal" t_restore

# the object: gzip members of 1 MiB of input, each with its length in the
# 'P' 'D' extra subfield; gzip -t, Python's gzip and the lengths all agree
t_members() {
    gzip -t "$W/dl.sql.gz" &&
        python3 - "$W/dl.sql.gz" "$(json_get "$W/b1.json" plain_bytes)" <<'PY'
import gzip, struct, sys
data = open(sys.argv[1], "rb").read()
off = n = 0
while off < len(data):
    assert data[off:off + 4] == b"\x1f\x8b\x08\x04", ("header", off)
    assert data[off + 10:off + 16] == b"\x08\x00PD\x04\x00", ("subfield", off)
    off += struct.unpack("<I", data[off + 16:off + 20])[0]
    n += 1
assert off == len(data), ("lengths", off, len(data))
plain = gzip.decompress(data)
assert len(plain) == int(sys.argv[2]), ("python gzip", len(plain))
assert n == (len(plain) + 2**20 - 1) // 2**20 and n >= 2, ("members", n)
PY
}
check "the object is several gzip members with their lengths; gzip -t and python3 gzip read it" t_members
is "$(json_eval "$W/b1.json" '[d["compressor"].split()[0], d["level"]]')" '["libdeflate", 6]' \
    "the summary names the compressor and the default level 6"
is "$(json_eval "$W/head.json" '[d["Metadata"]["compressor"].split()[0], d["Metadata"]["level"]]')" \
    '["libdeflate", "6"]' "so does the object's metadata (x-amz-meta-compressor, -level)"

# the level: --level over PGDRILL_COMPRESSION_LEVEL (the config file's compression_level)
PGDRILL_COMPRESSION_LEVEL=1 PGDRILL_BACKUP_URI=s3://testbucket/level1 "$PGDRILL_BIN" backup --json \
    >"$W/l1.json" 2>"$W/l1.err"
PGDRILL_COMPRESSION_LEVEL=1 PGDRILL_BACKUP_URI=s3://testbucket/level9 "$PGDRILL_BIN" backup --level 9 \
    >"$W/l9.out" 2>"$W/l9.err"
is "$(json_get "$W/l1.json" level)" 1 "PGDRILL_COMPRESSION_LEVEL=1 chooses level 1"
like "$(cat "$W/l9.out")" "  compressor libdeflate [0-9.]+, level 9 \(stored as x-amz-meta-compressor, -level\)" \
    "--level 9 wins over the environment, and the summary says so"
check "level 1 makes a larger object than level 6" \
    [ "$(json_get "$W/l1.json" compressed_bytes)" -gt "$(json_get "$W/b1.json" compressed_bytes)" ]
"$PGDRILL_BIN" backup --level 13 >"$W/l13.out" 2>"$W/l13.err"
is "$?" 2 "--level 13 is a usage error"
like "$(cat "$W/l13.err")" "--level: '13' is not a compression level \(1-12\)" "  which names the range"

# ---- 2. classes ------------------------------------------------------------
"$PGDRILL_BIN" backup --class pre-release --json >"$W/b2.json" 2>"$W/b2.err"
like "$(json_get "$W/b2.json" key)" '^pre-release/care-commons-backup-[0-9]{8}-[0-9]{6}\.sql\.gz$' \
    "the class folder goes under PGDRILL_BACKUP_URI: s3://testbucket -> pre-release/"
unlike "$(cat "$W/b2.err")" "warning" "  without a warning"
# the old form, ending in a class folder: its parent, with a warning naming the value to set
PGDRILL_BACKUP_URI=s3://testbucket/old/weekly/ "$PGDRILL_BIN" backup --class pre-release --json \
    >"$W/b2o.json" 2>"$W/b2o.err"
like "$(json_get "$W/b2o.json" key)" '^old/pre-release/care-commons-backup-' \
    "a URI ending in a class folder is taken as its parent: old/weekly/ -> old/pre-release/"
like "$(cat "$W/b2o.err")" "^pgdrill: warning: PGDRILL_BACKUP_URI=s3://testbucket/old/weekly/ ends in the class folder weekly/; .*: set PGDRILL_BACKUP_URI=s3://testbucket/old$" \
    "  with a warning that names the value to use instead"
PGDRILL_BACKUP_URI=s3://testbucket/prod/ "$PGDRILL_BIN" backup --class pre-migration --json \
    >"$W/b3.json" 2>"$W/b3.err"
like "$(json_get "$W/b3.json" key)" '^prod/pre-migration/care-commons-backup-' \
    "any other URI gets the class appended: prod/ -> prod/pre-migration/"
out=$("$PGDRILL_BIN" backup --class monthly 2>&1)
rc=$?
is "$rc" 2 "an unknown class is a usage error (exit 2)"
like "$out" "unknown class 'monthly' \\(weekly, pre-migration or pre-release\\)" "and says which classes exist"

# ---- 3. failures leave nothing at the key ------------------------------------
before=$(aws_keys weekly/)
(cd "$W/cwd" 2>/dev/null || mkdir "$W/cwd" && cd "$W/cwd" &&
    TMPDIR=$W/cwd "$PGDRILL_BIN" backup --min-size 1000000000 --keep-local "$W/small.sql.gz") \
    >"$W/small.out" 2>"$W/small.err"
rc=$?
is "$rc" 1 "a dump under --min-size exits 1"
like "$(cat "$W/small.err")" "^pgdrill backup: backup failed: backup too small: the plain dump is [0-9]+ bytes, the minimum is 1000000000; upload of s3://testbucket/weekly/care-commons-backup-[0-9-]+\\.sql\\.gz aborted" \
    "and says why, naming the key"
is "$(aws_keys weekly/)" "$before" "nothing new at the final key after a too-small dump"
is "$(ls -A "$W/cwd")" "" "no temporary file in the working directory or TMPDIR"
check "no local copy and no .partial file" test ! -e "$W/small.sql.gz" -a ! -e "$W/small.sql.gz.partial"

DATABASE_URL=$(db_url pgdrill_no_such_db) "$PGDRILL_BIN" backup --json >"$W/bad.json" 2>"$W/bad.err"
rc=$?
is "$rc" 1 "pg_dump failing (no such database) exits 1"
like "$(cat "$W/bad.err")" 'pg_dump failed \(exit 1\): pg_dump: error: .*database "pgdrill_no_such_db" does not exist; upload of s3://testbucket/weekly/' \
    "the message carries pg_dump's own error"
is "$(json_get "$W/bad.json" outcome)" failed "the --json summary says failed"
is "$(aws_keys weekly/)" "$before" "nothing new at the final key after pg_dump failed"
unlike "$(cat "$W/bad.err" "$W/bad.json")" "$PW" "the database password appears nowhere"

# ---- 4. kill -9 mid-upload ---------------------------------------------------
# ~24 MB of poorly compressible rows: more than one 8 MiB part of gzip
sql "$SRC" "CREATE TABLE bulk_blobs AS SELECT g AS id, encode(sha512(g::text::bytea), 'hex') ||
            encode(sha512((g + 1)::text::bytea), 'base64') AS b FROM generate_series(1, 100000) g" >/dev/null
s3_proxy_ctl clear
s3_proxy_ctl "fault?kind=delay&seconds=4&count=5&match=partNumber="
mkdir "$W/killdir"
PGDRILL_BACKUP_URI=s3://testbucket/killed "$PGDRILL_BIN" backup --keep-local "$W/killdir/k.sql.gz" \
    >"$W/k.out" 2>&1 &
BG_PID=$!
for _ in $(seq 1 150); do
    s3_proxy_log | grep -q '^POST /testbucket/killed/weekly/.*?uploads' && break
    sleep 0.1
done
sleep 1
{
    kill -9 "$BG_PID"
    wait "$BG_PID"
} 2>/dev/null
BG_PID=
sleep 4.5 # let the delayed parts reach s3rver: they must still not make an object
like "$(s3_proxy_log)" 'POST /testbucket/killed/weekly/care-commons-backup-[0-9-]+\.sql\.gz\?uploads' \
    "the killed run had started its multipart upload"
is "$(aws_keys killed/)" "" "kill -9 mid-upload: nothing at any final key"
unlike "$(s3_proxy_log)" 'POST /testbucket/killed/weekly/[^ ]*\?uploadId=' "and no CompleteMultipartUpload was sent"
is "$(ls -A "$W/killdir")" "" "no local file, not even a partial --keep-local copy"
is "$(find "$W" "${TMPDIR:-/tmp}" -maxdepth 1 -name '*.partial' 2>/dev/null)" "" "no local temp files"
s3_proxy_ctl clear
PGDRILL_BACKUP_URI=s3://testbucket/killed "$PGDRILL_BIN" backup --json >"$W/k2.json" 2>"$W/k2.err"
rc=$?
is "$rc" 0 "the next run completes"
t_next() {
    local k
    k=$(json_get "$W/k2.json" key) && [ "$(aws_keys killed/)" = "$k" ] &&
        [ "$(json_get "$W/k2.json" parts)" -ge 2 ] &&
        aws_s3 cp "s3://testbucket/$k" "$W/k2.sql.gz" && gzip -t "$W/k2.sql.gz" &&
        [ "$(sha256sum <"$W/k2.sql.gz" | cut -c1-64)" = "$(json_get "$W/k2.json" sha256)" ]
}
check "its multipart object is whole (gzip -t, sha256 as reported)" t_next

# SIGTERM (systemd stopping the service) aborts the upload cleanly: exit 130,
# also once pg_dump has ended and only the last parts are still uploading
# (the parts are held 3 s each; the dump is read within the first second)
s3_proxy_ctl clear
s3_proxy_ctl "fault?kind=delay&seconds=3&count=5&match=partNumber="
PGDRILL_BACKUP_URI=s3://testbucket/termed "$PGDRILL_BIN" backup >"$W/t.out" 2>"$W/t.err" &
BG_PID=$!
for _ in $(seq 1 150); do
    s3_proxy_log | grep -q '^POST /testbucket/termed/weekly/.*?uploads' && break
    sleep 0.1
done
sleep 1.5
kill -TERM "$BG_PID"
wait "$BG_PID"
rc=$?
BG_PID=
is "$rc" 130 "SIGTERM mid-upload exits 130"
like "$(cat "$W/t.err")" "backup interrupted; upload of s3://testbucket/termed/weekly/care-commons-backup-[0-9-]+\.sql\.gz aborted" \
    "and says the upload was aborted"
like "$(s3_proxy_log)" 'DELETE /testbucket/termed/weekly/[^ ]*\?uploadId=[0-9a-f]+ 204' "AbortMultipartUpload was sent"
is "$(aws_keys termed/)" "" "nothing at the final key after SIGTERM"
s3_proxy_ctl clear
sql "$SRC" "DROP TABLE bulk_blobs" >/dev/null

# ---- 5. retention --------------------------------------------------------------
# s3rver's LastModified is always "now": the age comes from the key's timestamp.
echo old >"$W/old.txt"
old1=weekly/care-commons-backup-20250101-020000.sql.gz
old2=weekly/care-commons-backup-20240707-020000.sql.gz
recent=weekly/care-commons-backup-$(date -u -d '-30 days' +%Y%m%d-%H%M%S).sql.gz
for k in "$old1" "$old2" "$recent" weekly/care-commons-backup-old.sql.gz weekly/notes-20200101.txt \
    weekly/sub/care-commons-backup-20200101-000000.sql.gz \
    pre-release/care-commons-backup-20200101-000000.sql.gz; do
    aws_s3 cp "$W/old.txt" "s3://testbucket/$k" || not_ok "upload $k"
done
all_before=$(aws_keys "")
out=$("$PGDRILL_BIN" backup --dry-run 2>&1)
rc=$?
is "$rc" 0 "--dry-run exits 0"
is "$(printf '%s\n' "$out" | grep '^would delete' | sed 's/ (.*//')" \
    "would delete s3://testbucket/$old2
would delete s3://testbucket/$old1" "--dry-run lists exactly the two backups older than 90 days, oldest first"
is "$(aws_keys "")" "$all_before" "--dry-run changes nothing in the bucket"
"$PGDRILL_BIN" backup --dry-run --json --retention-days 20 >"$W/dry.json"
is "$(json_eval "$W/dry.json" '" ".join(d["would_delete"])')" "$old2 $old1 $recent" "--retention-days 20 also names the 30-day-old backup"

"$PGDRILL_BIN" backup --json >"$W/b5.json" 2>"$W/b5.err"
rc=$?
is "$rc" 0 "a real run exits 0"
is "$(json_eval "$W/b5.json" '" ".join(d["deleted"])')" "$old2 $old1" "it reports the two deleted backups"
expected=$(printf '%s\n' "$all_before" "$(json_get "$W/b5.json" key)" | grep -vxF -e "$old1" -e "$old2" | sort)
is "$(aws_keys "")" "$expected" "only those two are gone: recent, oddly named, nested and other-class keys stay; the new backup is there"

# ---- 6. the Slack failure notice -----------------------------------------------
# a webhook receiver: each POST as path, Content-Type, body in slack.body
python3 "$TOP/tests/tools/fake_http.py" --record "$W/slack.body" --record-head >"$W/slack.log" 2>&1 &
SLACK_PID=$!
SPORT=$(_s3_wait_port "$W/slack.log" "$SLACK_PID")
HOOK="http://127.0.0.1:$SPORT/services/T0PGDRILL/B0TEST/xoxSecretHookToken$RANDOM"
SLACK_WEBHOOK_URL=$HOOK DATABASE_URL=$(db_url pgdrill_no_such_db) "$PGDRILL_BIN" backup --json \
    >"$W/sl.out" 2>"$W/sl.err"
rc=$?
is "$rc" 1 "a failed backup with SLACK_WEBHOOK_URL set exits 1"
for _ in $(seq 1 20); do [ -e "$W/slack.body" ] && break; sleep 0.1; done
t_slack_body() {
    [ "$(sed -n 1p "$W/slack.body")" = "${HOOK#"http://127.0.0.1:$SPORT"}" ] &&
        [ "$(sed -n 2p "$W/slack.body")" = application/json ] &&
        tail -n +3 "$W/slack.body" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["text"] == "\u274c Weekly database backup failed", d
assert d["blocks"] == [{"type": "section", "text": {"type": "mrkdwn",
    "text": "Weekly database backup failed. Check GitHub Actions logs."}}], d
assert d == json.load(open(sys.argv[1])), "differs from contrib/slack-failure.json"
' "$TOP/contrib/slack-failure.json"
}
check "the webhook receives the seed's Slack message as JSON" t_slack_body
like "$(cat "$W/sl.err")" "failure notice sent to Slack" "pgdrill says the notice went out"
unlike "$(cat "$W/sl.out" "$W/sl.err")" "xoxSecretHookToken|T0PGDRILL" "the webhook URL never appears in the output"
rm -f "$W/slack.body"
"$PGDRILL_BIN" backup --json >/dev/null 2>&1
check "no notice after a successful backup" test ! -e "$W/slack.body"
SLACK_WEBHOOK_URL="http://127.0.0.1:1/services/xoxSecretDead" DATABASE_URL=$(db_url pgdrill_no_such_db) \
    "$PGDRILL_BIN" backup >"$W/sl2.out" 2>"$W/sl2.err"
like "$(cat "$W/sl2.err")" "the Slack failure notice was not sent" "an unreachable webhook is reported"
unlike "$(cat "$W/sl2.out" "$W/sl2.err")" "xoxSecretDead" "without its URL"

# ---- 7. the audit log ----------------------------------------------------------
actions=$(python3 -c '
import json, sys
print(" ".join(sorted({json.loads(l)["action"] for l in open(sys.argv[1])})))' "$HOMEDIR/audit.log")
is "$actions" "pg_dump s3.delete s3.head s3.list s3.replace-metadata s3.upload s3.upload-abort" \
    "the audit log records pg_dump and every S3 action"
check "pgdrill audit verify: the chain is intact" "$PGDRILL_BIN" audit verify
unlike "$(cat "$HOMEDIR/audit.log")" "$PW|xoxSecret" "no secret in the audit log"

# ---- 8. contrib ---------------------------------------------------------------
t_workflow() {
    python3 - "$TOP/contrib/github/backup.yml" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
on = d.get(True, d.get("on"))
assert on["schedule"] == [{"cron": "0 2 * * 0"}], on
assert "workflow_dispatch" in on, on
steps = d["jobs"]["backup"]["steps"]
run = [s for s in steps if "pgdrill backup" in s.get("run", "")]
assert run and "DATABASE_URL" in run[0]["env"], steps
fail = [s for s in steps if s.get("if") == "failure()"]
assert fail and "slack-failure.json" in fail[0]["run"] and "SLACK_WEBHOOK_URL" in fail[0]["env"], steps
PY
}
check "contrib workflow: weekly cron Sunday 02:00 UTC, manual dispatch, Slack notice on failure" t_workflow
t_timer() {
    grep -qx 'OnCalendar=Sun \*-\*-\* 02:00:00 UTC' "$TOP/contrib/systemd/pgdrill-backup.timer" &&
        grep -qx 'ExecStart=/usr/local/bin/pgdrill backup --class weekly' "$TOP/contrib/systemd/pgdrill-backup.service" &&
        grep -q '^0 2 \* \* 0  pgdrill .*pgdrill backup --class weekly' "$TOP/contrib/cron/pgdrill-backup" &&
        grep -qx 'CRON_TZ=UTC' "$TOP/contrib/cron/pgdrill-backup" &&
        { ! command -v systemd-analyze >/dev/null ||
            systemd-analyze calendar 'Sun *-*-* 02:00:00 UTC' | grep -q 'Next elapse: Sun .* 02:00:00 UTC'; }
}
check "contrib systemd timer and cron line: Sunday 02:00 UTC" t_timer

done_testing
