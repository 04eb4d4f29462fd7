#!/bin/bash
# Fault matrix, S3 and `pgdrill backup`: kill -9 at each stage of a backup
# (during pg_dump, mid-part, after the last part before completion); S3
# answering 500, 503 SlowDown, resetting connections mid-part and
# mid-download, stalling past the timeout, and sending a truncated XML
# listing. S3 is s3rver behind sandbox/s3-proxy.py, whose fault endpoint
# injects each fault; the database is the real PostgreSQL of tests/services.sh.
# Expected: the right exit code and an error naming the object and the
# cause; never an object at the final key unless the backup is whole; no
# local temporary file; the next run completes.
set -u
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$PGDRILL_TOP/tests/s3_lib.sh"

require_env PGDRILL_TEST_PGURL
W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/faults-s3.XXXXXX")
BG=
cleanup() {
    [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null && wait "$BG" 2>/dev/null
    [ -s "$W/dump.pid" ] && kill -9 "$(cat "$W/dump.pid")" 2>/dev/null
    s3_stop
    [ -n "${PGDRILL_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

s3_start "$W" testbucket 2>"$W/s3start.err" || bail "setup" "s3: $(cat "$W/s3start.err")"
SRC=$(fresh_db pgdrill_faults_src) || bail "setup" "cannot create the source database"
# a plain dump over the 1 MiB minimum
sql "$SRC" "CREATE TABLE bulk_notes AS SELECT g AS id, md5(g::text) || ' note ' || g AS body
            FROM generate_series(1, 40000) g" >/dev/null || bail "setup" "cannot add bulk rows"
export PGDRILL_HOME=$W/home DATABASE_URL=$SRC TMPDIR=$W/tmp
export PGDRILL_TEST_S3_BACKOFF=0.05 PGDRILL_TEST_S3_STALL_TIMEOUT=2
unset SLACK_WEBHOOK_URL
mkdir -p "$TMPDIR" "$W/keep"

# The pg_dump pgdrill runs (PGDRILL_PG_DUMP): real pg_dump, or with
# FAULT_DUMP=hang real pg_dump that then keeps its output open (pg_dump
# still running), or FAULT_DUMP=bulk some 15 MB of gzip-resistant text,
# two multipart parts, in no time.
cat >"$W/pg_dump" <<EOF
#!/bin/sh
echo \$\$ >"$W/dump.pid"
case "\${FAULT_DUMP:-}" in
hang) pg_dump "\$@" && touch "$W/dump.mark" && exec sleep 60 ;;
bulk) head -c 15000000 /dev/urandom | base64 -w 76 | sed 's/^/-- /'; exit 0 ;;
*) exec pg_dump "\$@" ;;
esac
EOF
chmod +x "$W/pg_dump"
export PGDRILL_PG_DUMP=$W/pg_dump

keys() { s3_aws s3api list-objects-v2 --bucket testbucket --prefix "$1" --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$'; }
no_key() { [ -z "$(keys "$1")" ]; }
# whole PREFIX JSON: exactly one object under PREFIX, the one JSON names,
# gzip-valid and with the sha256 it reports
whole() {
    local k
    k=$(json_get "$2" key) && [ "$(keys "$1")" = "$k" ] &&
        s3_aws s3 cp "s3://testbucket/$k" "$W/got.gz" --only-show-errors && gzip -t "$W/got.gz" &&
        [ "$(sha256sum <"$W/got.gz" | cut -c1-64)" = "$(json_get "$2" sha256)" ]
}
no_local() { [ -z "$(find "$W/keep" "$TMPDIR" -mindepth 1)" ]; }
# backup NAME [ARGS...]: pgdrill backup into s3://testbucket/NAME (its weekly/); rc in RC
backup() {
    local name=$1
    shift
    PGDRILL_BACKUP_URI=s3://testbucket/$name "$PGDRILL_BIN" backup --json "$@" \
        >"$W/$name.json" 2>"$W/$name.err"
    RC=$?
}
arm() { s3_proxy_ctl clear && s3_proxy_ctl "fault?$1"; }
wait_log() { # REGEX [TRIES]: until the proxy's log has a matching line
    for _ in $(seq 1 "${2:-200}"); do
        s3_proxy_log | grep -qE "$1" && return 0
        sleep 0.05
    done
    return 1
}
# kill_run NAME: kill -9 the background backup, its pg_dump too
kill_run() {
    kill -9 "$BG"
    wait "$BG" 2>/dev/null
    BG=
    [ -s "$W/dump.pid" ] && kill -9 "$(cat "$W/dump.pid")" 2>/dev/null
    rm -f "$W/dump.pid" "$W/dump.mark"
}
# next_run NAME: the fault cleared, the next backup to the same place completes
next_run() {
    s3_proxy_ctl clear
    backup "$1"
    [ "$RC" = 0 ] && whole "$1/" "$W/$1.json"
}
bg_backup() { # NAME: in the background, with a --keep-local copy
    PGDRILL_BACKUP_URI=s3://testbucket/$1 "$PGDRILL_BIN" backup --keep-local "$W/keep/$1.sql.gz" \
        >"$W/$1.out" 2>&1 &
    BG=$!
}

# ---- kill -9 during pg_dump ----------------------------------------------
s3_proxy_ctl clear
FAULT_DUMP=hang bg_backup k-dump
for _ in $(seq 1 200); do [ -e "$W/dump.mark" ] && break; sleep 0.05; done
fact "pg_dump was running" test -e "$W/dump.mark"
kill_run
fact "nothing at the final key" no_key k-dump/
fact "no CompleteMultipartUpload sent" sh -c "! curl -s $S3_EP/__pgdrill/log | grep -q 'uploadId='"
fact "no local temp or partial file" no_local
fact "the next run completes (exit 0, object whole)" next_run k-dump
fault_row "kill -9 of backup during pg_dump"

# ---- kill -9 mid-part ------------------------------------------------------
arm "kind=delay&seconds=3&count=1&match=partNumber=1%26"
FAULT_DUMP=bulk bg_backup k-part
fact "the multipart upload had begun" wait_log '^POST /testbucket/k-part/weekly/[^ ]*\?uploads[= ]'
sleep 0.5 # part 1 is in flight, held by the proxy
kill_run
sleep 3 # the held part reaches s3rver: still no object
fact "nothing at the final key" no_key k-part/
fact "no CompleteMultipartUpload sent" sh -c "! curl -s $S3_EP/__pgdrill/log | grep -q '^POST [^ ]*?uploadId='"
fact "no local temp or partial file" no_local
fact "the next run completes (exit 0, object whole)" next_run k-part
fact "the next run aborted the upload left behind" \
    wait_log '^DELETE /testbucket/k-part/weekly/[^ ]*\?uploadId=[^ ]* 204$' 1
fault_row "kill -9 of backup mid-part"

# ---- kill -9 after the last part, before the upload completes -------------
arm "kind=stall&seconds=3&count=1&match=gz?uploadId="
FAULT_DUMP=bulk bg_backup k-complete
fact "every part was uploaded" wait_log '^POST /testbucket/k-complete/weekly/[^ ]*\?uploadId=[^ ]* stalled' 600
fact "both parts stored" test "$(s3_proxy_log | grep -cE '^PUT /testbucket/k-complete/[^ ]*partNumber=[12]&[^ ]* 200$')" = 2
kill_run
sleep 3 # the stalled Complete is dropped by the proxy, never forwarded
fact "nothing at the final key" no_key k-complete/
fact "no local temp or partial file" no_local
fact "the next run completes (exit 0, object whole)" next_run k-complete
fact "the next run aborted the upload left behind" \
    wait_log '^DELETE /testbucket/k-complete/weekly/[^ ]*\?uploadId=[^ ]* 204$' 1
fact_msg "and says so" "$W/k-complete.err" "aborted the unfinished upload to s3://testbucket/k-complete/weekly/care-commons-backup-[0-9-]+\.sql\.gz that an interrupted backup left"
fact "no upload note is left" test -z "$(ls -A "$PGDRILL_HOME/uploads")"
fault_row "kill -9 of backup between last part and completion"

# ---- 500 and 503 SlowDown bursts -------------------------------------------
arm "kind=status500&count=3&match=partNumber="
s3_proxy_ctl "fault?kind=status500&count=1&match=%3Fuploads"
FAULT_DUMP=bulk backup s500
fact_exit 0 "$RC"
fact "4 answers of 500 were retried" test "$(s3_proxy_log | grep -c ' 500$')" = 4
fact "object whole (gzip -t, sha256 as reported)" whole s500/ "$W/s500.json"
fault_row "S3 500 burst (create + parts)"

arm "kind=slowdown&count=4&match=partNumber="
s3_proxy_ctl "fault?kind=slowdown&count=1&match=%3FuploadId="
FAULT_DUMP=bulk backup slow
fact_exit 0 "$RC"
fact "5 SlowDown answers were retried" test "$(s3_proxy_log | grep -c ' 503$')" = 5
fact "object whole (gzip -t, sha256 as reported)" whole slow/ "$W/slow.json"
fault_row "S3 503 SlowDown burst (parts + complete)"

arm "kind=status500&count=100&match=partNumber=2%26"
FAULT_DUMP=bulk backup storm --keep-local "$W/keep/storm.sql.gz"
fact_exit 3 "$RC"
fact_msg "names part 2, the key and HTTP 500" "$W/storm.err" "part 2: s3: UPLOAD-PART s3://testbucket/storm/weekly/care-commons-backup-[0-9-]+\.sql\.gz: HTTP 500 InternalError"
fact "upload aborted" wait_log '^DELETE /testbucket/storm/weekly/[^ ]*\?uploadId=[0-9a-f]+ 204$' 1
fact "nothing at the final key" no_key storm/
fact "no local temp or partial file" no_local
fact "--json outcome failed" test "$(json_get "$W/storm.json" outcome)" = failed
fault_row "S3 500 storm beyond the retry budget"

# ---- connection reset mid-part ---------------------------------------------
arm "kind=reset&count=2&match=partNumber=1%26"
FAULT_DUMP=bulk backup reset
fact_exit 0 "$RC"
fact "2 resets retried" test "$(s3_proxy_log | grep -c 'partNumber=1&[^ ]* 0$')" = 2
fact "object whole (gzip -t, sha256 as reported)" whole reset/ "$W/reset.json"
fault_row "S3 connection reset mid-part"

# ---- responses stalled past the timeout -----------------------------------
arm "kind=stall&seconds=6&count=1&match=partNumber=2%26"
FAULT_DUMP=bulk backup stall
fact_exit 0 "$RC"
fact "the stalled part was retried after the 2 s stall timeout" test "$(s3_proxy_log | grep -c 'partNumber=2&[^ ]* stalled')" = 1
fact "object whole (gzip -t, sha256 as reported)" whole stall/ "$W/stall.json"
fault_row "S3 response stalled past the timeout (once)"

arm "kind=stall&seconds=4&count=100&match=%3Fuploads"
FAULT_DUMP=bulk backup stalls
fact_exit 3 "$RC"
fact_msg "names the upload and the timeout" "$W/stalls.err" "s3://testbucket/stalls/weekly/care-commons-backup-[0-9-]+\.sql\.gz: .*(too slow|timed out|timeout)"
fact "nothing at the final key" no_key stalls/
fact "no local temp or partial file" no_local
fault_row "S3 responses stalled past the timeout (every attempt)"

# ---- a failure after the upload (the HEAD check) --------------------------------
arm "kind=status500&count=100&match=HEAD%20/testbucket/hd/"
PGDRILL_BACKUP_URI=s3://testbucket/hd "$PGDRILL_BIN" backup >"$W/hd.out" 2>"$W/hd.err"
fact_exit 3 $?
fact_msg "names the failed check" "$W/hd.err" "^pgdrill backup: [a-z]+ failed: .*s3://testbucket/hd/weekly/care-commons-backup-"
fact "no \"backup ok\" summary" sh -c "! grep -q 'backup ok' '$W/hd.out'"
fact_msg "the summary says it failed after the upload" "$W/hd.out" "^backup FAILED at [a-z]+ after the upload: s3://testbucket/hd/weekly/"
s3_proxy_ctl clear
fault_row "S3 HEAD fails after the upload (summary)"

# ---- truncated XML listing ---------------------------------------------------
s3_proxy_ctl clear
PGDRILL_BACKUP_URI=s3://testbucket/s500 "$PGDRILL_BIN" backup --dry-run >"$W/trunc0.out" 2>&1
arm "kind=truncate&after=300&count=100&match=list-type=2"
PGDRILL_BACKUP_URI=s3://testbucket/s500 "$PGDRILL_BIN" backup --dry-run >"$W/trunc.out" 2>&1
fact_exit 3 $?
fact_msg "names the listing and the cut XML" "$W/trunc.out" "retention failed: s3: LIST s3://testbucket/s500/weekly/: list response: truncated XML at line [0-9]+ column [0-9]+: no element found \(after retries\)$"
fact "retried before giving up (5 attempts)" test "$(s3_proxy_log | grep -c '^GET /testbucket?[^ ]*list-type=2')" = 5
s3_proxy_ctl clear
fact "nothing deleted" test "$(keys s500/ | wc -l)" = 1
fault_row "S3 truncated XML listing (retention)"

arm "kind=truncate&after=300&count=100&match=list-type=2"
"$PGDRILL_BIN" verify --skip-neon --uri s3://testbucket/s500/weekly/ >"$W/vtrunc.out" 2>&1
fact_exit 3 $?
fact_msg "names the listing and the cut XML" "$W/vtrunc.out" "^error s3.backups: s3: LIST s3://testbucket/s500/weekly/: list response: truncated XML"
fact "verdict is not passed" sh -c "! grep -q '^verification passed' '$W/vtrunc.out'"
fault_row "S3 truncated XML listing (verify)"

# ---- connection reset mid-download -------------------------------------------
arm "kind=cut&after=1048576&count=2&match=GET%20/testbucket/s500/weekly/care"
"$PGDRILL_BIN" verify --skip-neon --uri s3://testbucket/s500/weekly/ >"$W/vcut.out" 2>&1
fact_exit 0 $?
fact "cut twice, then resumed by Range (206)" test "$(s3_proxy_log | grep -c '^GET /testbucket/s500/[^ ]* -1$') $(s3_proxy_log | grep -c '^GET /testbucket/s500/[^ ]* 206$')" = "2 1"
fact_msg "the streamed sha256 matches" "$W/vcut.out" "pass  s3.newest-stream: .*sha256 $(json_get "$W/s500.json" sha256 | cut -c1-12)"
fault_row "S3 connection reset mid-download (twice)"

arm "kind=cut&after=1048576&count=100&match=GET%20/testbucket/s500/weekly/care"
"$PGDRILL_BIN" verify --skip-neon --uri s3://testbucket/s500/weekly/ >"$W/vcuts.out" 2>&1
fact_exit 3 $?
fact_msg "names the object and the cut" "$W/vcuts.out" "s3.newest-stream: s3: GET s3://testbucket/s500/weekly/care-commons-backup-[0-9-]+\.sql\.gz: "
fact "verdict is not passed" sh -c "! grep -q '^verification passed' '$W/vcuts.out'"
fact "no temp file" no_local
s3_proxy_ctl clear
fact "audit chain intact after all S3 faults" "$PGDRILL_BIN" audit verify
fault_row "S3 connection reset mid-download (every attempt)"
done_testing
