#!/bin/bash
# Two `pgdrill backup` runs that overlap (cron starting the next run while the
# last one still uploads): the second must leave the first's open multipart
# upload alone, and say so, rather than abort it as the leftover of a killed
# backup. Both must then succeed. s3rver behind the signing proxy
# (tests/s3_lib.sh); the first run's pg_dump is a stand-in that writes more
# than one 8 MiB part of poorly compressible text and then waits.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/lib.sh
. "$TOP/tests/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

require_env PGDRILL_TEST_PGURL
[ -x "$PGDRILL_BIN" ] || bail setup "$PGDRILL_BIN is not built (make)"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/backup_overlap.XXXXXX")
BG_PID=
cleanup() {
    touch "$W/go"
    [ -n "$BG_PID" ] && kill -9 "$BG_PID" 2>/dev/null && wait "$BG_PID" 2>/dev/null
    s3_stop
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

s3_start "$W" testbucket 2>"$W/s3start.err" || bail "s3 setup" "$(cat "$W/s3start.err")"
export PGDRILL_HOME
PGDRILL_HOME=$(pgdrill_home backup_overlap)
export DATABASE_URL=$PGDRILL_TEST_PGURL PGDRILL_BACKUP_URI=s3://testbucket
unset SLACK_WEBHOOK_URL

cat >"$W/slow_dump" <<EOF
#!/bin/sh
case "\$*" in *--version*) exec pg_dump --version ;; esac
head -c 24000000 /dev/urandom | base64
for _ in \$(seq 1 300); do [ -e "$W/go" ] && break; sleep 0.1; done
EOF
chmod +x "$W/slow_dump"

PGDRILL_PG_DUMP=$W/slow_dump "$PGDRILL_BIN" backup --json >"$W/first.json" 2>"$W/first.err" &
BG_PID=$!
wait_for "$PGDRILL_HOME/uploads/*.upload" 20
check "the first backup noted its open upload" ls "$PGDRILL_HOME"/uploads/*.upload

sleep 1 # a later second: another key
"$PGDRILL_BIN" backup --json --min-size 1 >"$W/second.json" 2>"$W/second.err"
is "$?" 0 "the overlapping backup succeeds"
like "$(cat "$W/second.err")" \
    'another pgdrill backup is still uploading to s3://testbucket/weekly/care-commons-backup-[0-9-]+\.sql\.gz; left alone' \
    "and says it left the running backup's upload alone"
unlike "$(cat "$W/second.err")" 'aborted the unfinished upload' "without aborting it"

touch "$W/go"
wait "$BG_PID"
rc=$?
BG_PID=
is "$rc" 0 "the first backup completes despite the overlap"
is "$(json_get "$W/first.json" outcome)" ok "its summary says ok" "$(cat "$W/first.err")"
check "its object is there" s3_aws s3api head-object --bucket testbucket \
    --key "$(json_get "$W/first.json" key)"
is "$(ls -A "$PGDRILL_HOME/uploads")" "" "no upload note is left"

# a backup killed between writing its note and renaming it leaves NAME.upload.new,
# whose upload is open all the same: a later backup aborts it once it is a minute old
rm -f "$W/go"
PGDRILL_PG_DUMP=$W/slow_dump "$PGDRILL_BIN" backup --json >"$W/third.json" 2>"$W/third.err" &
BG_PID=$!
wait_for "$PGDRILL_HOME/uploads/*.upload" 20
kill -9 "$BG_PID" && wait "$BG_PID" 2>/dev/null
BG_PID=
touch "$W/go"
note=$(first_path "$PGDRILL_HOME"/uploads/*.upload)
mv "$note" "$note.new"
sleep 1 # a later second: another key
"$PGDRILL_BIN" backup --json --min-size 1 >"$W/fourth.json" 2>"$W/fourth.err"
is "$?" 0 "a backup with a fresh .new note around"
unlike "$(cat "$W/fourth.err")" 'aborted the unfinished upload' \
    "leaves it alone (a running backup may be writing it)"
touch -d '2 minutes ago' "$note.new"
sleep 1
"$PGDRILL_BIN" backup --json --min-size 1 >"$W/fifth.json" 2>"$W/fifth.err"
is "$?" 0 "the next backup, the .new note a minute old"
like "$(cat "$W/fifth.err")" \
    'aborted the unfinished upload to s3://testbucket/weekly/care-commons-backup-[0-9-]+\.sql\.gz that an interrupted backup left' \
    "aborts the upload it names"
is "$(ls -A "$PGDRILL_HOME/uploads")" "" "and removes it"

done_testing
