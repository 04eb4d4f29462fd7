#!/bin/bash
# Fault matrix, local faults: the disk fills up (a real, tiny tmpfs) or
# fails (EIO from tests/faults/faultshim.c, an LD_PRELOAD shim: no real
# disk fails on demand) while pgdrill writes its journal or report; a
# journal corrupted in the middle or cut short by a crash; the runbook
# edited between the crash and the resume; a second pgdrill on the same
# drill. Expected: the right exit code, an error naming the file and the
# cause, nothing that looks done when it is not, the journal intact and
# resumable, no temporary files.
set -u
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/faults-local.XXXXXX")
MNT=
BG=
cleanup() {
    [ -n "$BG" ] && kill -9 "$BG" 2>/dev/null && wait "$BG" 2>/dev/null
    rm -f "$W"/hold*
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    [ -n "${PGDRILL_TEST_KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RB=$W/held.md
cp "$PGDRILL_TOP/tests/faults/fixtures/held.md" "$RB"
SHIM=$W/faultshim.so
cc -shared -fPIC -O2 -o "$SHIM" "$PGDRILL_TOP/tests/faults/faultshim.c" -ldl 2>"$W/cc.err" ||
    bail "setup" "cannot build the fault shim: $(cat "$W/cc.err")"
# An ASan build (make check-asan) wants its runtime first in the preload
# list; the shim only forwards to the next write/fsync, so ASan's own
# interceptors still run behind it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# start_held HOME WORK: `pgdrill run` of the fixture in the background (BG),
# held in its middle step until WORK/hold goes away
start_held() {
    mkdir -p "$2"
    touch "$2/hold"
    PGDRILL_HOME=$1 "$PGDRILL_BIN" run "$RB" --var work="$2" --yes >"$2/run.out" 2>&1 &
    BG=$!
    for _ in $(seq 1 100); do
        [ -e "$2/held.mark" ] && return 0
        sleep 0.05
    done
    return 1
}
# finish_bg: wait for the background pgdrill; its exit status in BG_RC
finish_bg() {
    wait "$BG" 2>/dev/null
    BG_RC=$?
    BG=
}
# kill_held HOME WORK: a drill killed -9 in its middle step; prints its id
kill_held() {
    start_held "$1" "$2" || return 1
    kill -9 "$BG"
    finish_bg
    rm -f "$2/hold"
    ls "$1/drills"
}
# journal_ok FILE: every line is a JSON object and the file ends with a newline
journal_ok() {
    python3 -c 'import json,sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n"), "no final newline"
for l in data.decode().splitlines():
    assert isinstance(json.loads(l), dict)' "$1"
}
no_report_tmp() { [ -z "$(find "$1" -name '.report.*' 2>/dev/null)" ]; }
count() { { wc -l <"$1"; } 2>/dev/null || echo 0; }

# ---- a journal corrupted in the middle -----------------------------------
H=$W/h-corrupt
id=$(kill_held "$H" "$W/corrupt") || bail "setup" "the held drill did not start"
J=$H/drills/$id/journal.jsonl
python3 - "$J" <<'PY'
import sys
p = sys.argv[1]
lines = open(p, "rb").read().split(b"\n")
lines[3] = lines[3][:12] + b"\x00\x00\xff" + lines[3][15:]   # a damaged sector
open(p, "wb").write(b"\n".join(lines))
PY
sum=$(sha256sum <"$J")
PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/corrupt.out" 2>&1
fact_exit 1 $?
fact_msg "names the journal line and the cause" "$W/corrupt.out" "journal .*/$id/journal\.jsonl:4: corrupt record"
fact "journal left untouched" test "$(sha256sum <"$J")" = "$sum"
fact "no report written" test ! -e "$H/drills/$id/report.json"
PGDRILL_HOME=$H "$PGDRILL_BIN" report list >"$W/corrupt.list" 2>&1
fact_msg "report list flags it unreadable" "$W/corrupt.list" "$id .*unreadable: journal .*:4: corrupt record"
fault_row "journal corrupted mid-file, then resume"

# ---- a journal cut short (crash during an append) ----------------------
H=$W/h-trunc
id=$(kill_held "$H" "$W/trunc") || bail "setup" "the held drill did not start"
J=$H/drills/$id/journal.jsonl
printf '{"v":1,"at":"2026-01-01T00:00:00.000Z","ev":"out' >>"$J" # torn write, no newline
PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/trunc.out" 2>&1
fact_exit 0 $?
fact_msg "warns about the partial line" "$W/trunc.out" "journal .*: cutting a partial last line after byte [0-9]+"
fact "journal whole again (every line JSON)" journal_ok "$J"
fact "report outcome passed" test "$(json_get "$H/drills/$id/report.json" outcome)" = passed
fact "finished step not rerun" test "$(count "$W/trunc/prepare.count")" = 1
fault_row "journal truncated by a crash, then resume"

# ---- the runbook edited between crash and resume -------------------------
H=$W/h-edit
id=$(kill_held "$H" "$W/edit") || bail "setup" "the held drill did not start"
J=$H/drills/$id/journal.jsonl
cp "$RB" "$W/held.orig"
sed -i 's/echo finished/echo finished, edited/' "$RB"
sum=$(sha256sum <"$J")
PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/edit.out" 2>&1
fact_exit 2 $?
fact_msg "says the stages changed" "$W/edit.out" "drill $id: the stages of .*held\.md changed since the drill began"
fact "journal untouched" test "$(sha256sum <"$J")" = "$sum"
fact "no step ran" test ! -e "$W/edit/finish.count"
cp "$W/held.orig" "$RB"
PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/edit2.out" 2>&1
fact "the original runbook resumes it (exit 0)" test $? = 0
fault_row "runbook edited between crash and resume"

# ---- a second pgdrill resuming the same drill --------------------------
H=$W/h-lock
start_held "$H" "$W/lock" || bail "setup" "the held drill did not start"
id=$(ls "$H/drills")
PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/lock.out" 2>&1
fact_exit 2 $?
fact_msg "names the drill and the holder's pid" "$W/lock.out" "^pgdrill: drill $id is in use by another pgdrill \\(pid $BG\\)$"
PGDRILL_HOME=$H "$PGDRILL_BIN" resume >"$W/lock2.out" 2>&1
fact "resume without an id refused too (exit 2)" test $? = 2
rm -f "$W/lock/hold"
finish_bg
fact "the first pgdrill finishes (exit 0)" test "$BG_RC" = 0
fact "report outcome passed" test "$(json_get "$H/drills/$id/report.json" outcome)" = passed
fact "each step ran once" test "$(count "$W/lock/prepare.count")$(count "$W/lock/finish.count")" = 11
fault_row "second pgdrill resumes a running drill (lock)"

# ---- ENOSPC on the journal: a real, tiny tmpfs fills up mid-drill --------
MNT=$W/tmpfs
mkdir -p "$MNT"
if mount -t tmpfs -o size=1m,mode=0700 pgdrill-faults "$MNT" 2>"$W/mount.err"; then
    H=$MNT/home
    start_held "$H" "$W/nospc" || bail "setup" "the held drill did not start"
    id=$(ls "$H/drills")
    J=$H/drills/$id/journal.jsonl
    dd if=/dev/zero of="$MNT/filler" bs=4k >/dev/null 2>&1 # until the disk is full
    rm -f "$W/nospc/hold"
    finish_bg
    fact_exit 1 "$BG_RC"
    fact_msg "names the journal and ENOSPC" "$W/nospc/run.out" "^pgdrill: journal .*/$id/journal\.jsonl: write: No space left on device$"
    fact_msg "says how to go on" "$W/nospc/run.out" "^drill $id: unfinished; report not written \('pgdrill resume $id' goes on\)$"
    fact "journal intact (every line JSON)" journal_ok "$J"
    fact "no report says passed" test "$(json_get "$H/drills/$id/report.json" outcome 2>/dev/null)" != passed
    fact "no temporary report file" no_report_tmp "$H"
    rm -f "$MNT/filler"
    PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/nospc.resume" 2>&1
    fact "space freed: resume completes (exit 0)" test $? = 0
    fact "report outcome passed" test "$(json_get "$H/drills/$id/report.json" outcome)" = passed
    fact "prepare ran once" test "$(count "$W/nospc/prepare.count")" = 1
    fault_row "ENOSPC writing the journal (tmpfs full)"

    umount "$MNT" && MNT=
else
    not_ok "setup: mount a 1 MiB tmpfs" "$(cat "$W/mount.err")"
fi

# ---- the report: ENOSPC and EIO from the shim ----------------------------
for e in ENOSPC EIO; do
    H=$W/h-report-$e
    case $e in ENOSPC) why="No space left on device" ;; EIO) why="Input/output error" ;; esac
    mkdir -p "$W/rep-$e"
    FAULTSHIM_PATH=/.report.json. FAULTSHIM_ERRNO=$e LD_PRELOAD=$SHIM PGDRILL_HOME=$H \
        "$PGDRILL_BIN" run "$RB" --var work="$W/rep-$e" --yes >"$W/rep-$e.out" 2>&1
    fact_exit 1 $?
    id=$(ls "$H/drills")
    fact_msg "names report.json and $e" "$W/rep-$e.out" "report .*/$id/report\.json: write: $why"
    fact_msg "says so, and how to get it" "$W/rep-$e.out" "^drill $id: passed; report not written \('pgdrill report show $id' writes it from the journal\)$"
    fact "no report.json, no temporary file" test ! -e "$H/drills/$id/report.json" -a -z "$(find "$H" -name '.report.*')"
    fact "journal intact and complete" journal_ok "$H/drills/$id/journal.jsonl"
    PGDRILL_HOME=$H "$PGDRILL_BIN" report show "$id" --json >"$W/rep-$e.json" 2>&1
    fact "report show then writes it: passed" test "$(json_get "$W/rep-$e.json" outcome)" = passed
    fault_row "$e writing report.json"
done

# ---- EIO on the journal's fsync, mid-drill -------------------------------
H=$W/h-eio
mkdir -p "$W/eio"
FAULTSHIM_PATH=journal.jsonl FAULTSHIM_OP=fsync FAULTSHIM_AFTER=6 LD_PRELOAD=$SHIM PGDRILL_HOME=$H \
    "$PGDRILL_BIN" run "$RB" --var work="$W/eio" --yes >"$W/eio.out" 2>&1
fact_exit 1 $?
id=$(ls "$H/drills")
J=$H/drills/$id/journal.jsonl
fact_msg "names the journal and EIO" "$W/eio.out" "journal .*/$id/journal\.jsonl: fsync: Input/output error"
fact "nothing runs after it" test ! -e "$W/eio/finish.count"
fact "no report says passed" test "$(json_get "$H/drills/$id/report.json" outcome 2>/dev/null)" != passed
fact "journal readable" journal_ok "$J"
PGDRILL_HOME=$H "$PGDRILL_BIN" resume "$id" >"$W/eio.resume" 2>&1
fact "resume completes once the disk is back (exit 0)" test $? = 0
fact "report outcome passed" test "$(json_get "$H/drills/$id/report.json" outcome)" = passed
fault_row "EIO on the journal's fsync mid-drill"

done_testing
