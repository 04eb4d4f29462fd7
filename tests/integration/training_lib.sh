# shellcheck shell=bash
# The training world (sourced, not run: not executable): `pgdrill sandbox
# traffic`, `incident` and `grade` as a trainee uses them, on a sandbox of
# its own (world_lib.sh's world_up), with the traffic running throughout.
#
#   training_up BRANCH          the sandbox, its default branch named BRANCH
#                               (main, or production as Neon projects made
#                               in the console call it), and `pgdrill
#                               sandbox traffic start`
#   training_needs_s3           skips the script (TAP SKIP) when this build
#                               has no local S3 (sandbox_lib.sh)
#   training_incident KIND SEED `pgdrill sandbox incident KIND --seed SEED`;
#                               TI_LINE: the application's log's length then;
#                               the ticket in $C/ticket, and TA (just before
#                               the command) and IE (a moment before it
#                               returned: after the incident's commit, inside
#                               the quiet moment that follows it): the
#                               trainee's own timings. Checks the ticket
#                               (no second, no key) and the truth's mode.
#   training_restore ARG...     `pgdrill run runbooks/pitr-restore.md ARG...
#                               --yes`; exit status in TR_RC
#   training_selective ARG...   the same with runbooks/selective-recovery.md
#   training_undo TABLE         the right Scenario 1 restore of a row
#                               incident: option B, copy_mode=undo of TABLE
#                               between the trainee's timings TA and IE
#   timeline_times              TARGET and IEND, the restore point and the
#                               incident's end `pgdrill timeline --incident`
#                               gives for the moment the ticket arrived (3 s
#                               and 0.6 s before it), never the ground truth
#   training_selective_undo TABLE  the right Scenario 3 restore: scope table,
#                               copy_mode=undo of TABLE between TARGET and IEND
#   training_restored LABEL     the last restore exited 0 and grades 100 %,
#                               and the application's writes are kept
#                               (training_writes_kept)
#   training_writes_kept LABEL  the visits the application inserted after
#                               the incident, up to the last restore's end
#                               (its private log), are all in production
#   training_grade              `pgdrill sandbox grade --json` into GRADE
#                               (JSON), its exit status in GRADE_RC, its
#                               text in $C/grade.txt
#   grade_field NAME            a field of GRADE
#   grade_keys TABLE WHAT       the keys the grade names for TABLE and WHAT
#   keys_in_truth LABEL TAG TABLE KEY...  each KEY broken by the incident
#   grade_names_broken LABEL TAG TABLE WHAT  the grade names TABLE's rows
#                               WHAT by key, each one broken by the incident
#   grade_names_collateral LABEL TABLE  the grade fails on collateral only,
#                               naming rows the application wrote after it
#   keys_app_wrote LABEL TABLE KEY...  each KEY written by the application
#                               after the incident
#   grade_conflicts_checked LABEL TABLE SQL  the conflicts the grade names
#   training_no_truth_in_reports  no fingerprint of the truth in any report
#   training_traffic_alive LABEL  the traffic still writes (its log grows)
#   training_traffic_running LABEL  that, and `sandbox status` shows it running
#   training_traffic_stalled LABEL WHY  it cannot write: status and log say why
#   training_down_clean         `sandbox down` and no process of it left (by
#                               PID, and no process whose folder, command
#                               line or training folder is the sandbox's)
# Variables: TRUTH (the ground truth file), TRAFFIC_PID, TRAFFIC_LOG (the
# application's private log: "TIME OP TABLE ID MD5" a change).

# shellcheck source=tests/integration/world_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/world_lib.sh"
# shellcheck source=tests/integration/sandbox_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/sandbox_lib.sh"

# the runbooks' sh steps run `pgdrill` (training.md, restore-from-s3's migrate)
PATH=$(dirname "$PGDRILL_BIN"):$PATH
export PATH

PITR=$PGDRILL_TOP/runbooks/pitr-restore.md
SELECTIVE=$PGDRILL_TOP/runbooks/selective-recovery.md
TRUTH=""
TRAFFIC_PID=""
TRAFFIC_LOG=""

now_ms() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

training_up() {
    world_up "$1"
    TRUTH=$PGDRILL_HOME/sandbox/training/truth
    TRAFFIC_LOG=$PGDRILL_HOME/sandbox/training/traffic.log
    "$PGDRILL_BIN" sandbox traffic start >"$W/traffic-start.out" 2>&1 ||
        bail "setup: traffic start" "$(cat "$W/traffic-start.out")"
    TRAFFIC_PID=$(cut -d' ' -f1 "$PGDRILL_HOME/sandbox/traffic.pid")
    like "$("$PGDRILL_BIN" sandbox status 2>&1)" "traffic +running +$TRAFFIC_PID " \
        "sandbox status shows the traffic running with its pid"
    sleep 2
}

training_needs_s3() { sandbox_needs_s3; }

# The ticket never holds the incident's second or a key of the rows it
# broke: checked against the truth itself (its started and ended seconds,
# every key it deleted or changed), not only against a pattern.
_ticket_checks() {
    local kind=$1 text keys k t leak=""
    text=$(cat "$C/ticket")
    unlike "$text" '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$kind: the ticket has no time to the second"
    while read -r t; do
        for k in "$(date -u -d "@$t" +%H:%M:%S)" "${t%%.*}"; do
            [[ $text == *"$k"* ]] && leak="$leak $k"
        done
    done < <(awk '$1 == "started" || $1 == "ended" { print $2 }' "$TRUTH")
    is "$leak" "" "$kind: the ticket holds neither the incident's start nor its end to the second"
    # its numbers besides the ticket's id, the minute noticed and "0,0"
    text=$(sed -E 's/INC-[0-9]+//g; s/[0-9]{2}:[0-9]{2} UTC//g; s/0,0//g' "$C/ticket")
    keys=$(awk '$1 == "d" || $1 == "a" { print $3 }' "$TRUTH" | sort -u)
    k=$(awk '$1 == "gone" { print $2 }' "$TRUTH")
    check "$kind: the truth records what the incident broke ($(wc -w <<<"$keys") keys, gone: ${k:-none})" \
        [ -n "$keys$k" ]
    leak=$(comm -12 <(printf '%s\n' "$keys") <(grep -oE '[0-9]+' <<<"$text" | sort -u) | tr '\n' ' ')
    is "$leak" "" "$kind: the ticket names none of the rows' keys"
    is "$(stat -c %a "$TRUTH")" 600 "$kind: the ground truth file is 0600"
    is "$(stat -c %a "$(dirname "$TRUTH")")" 700 "$kind: its folder is 0700"
}

training_incident() {
    local kind=$1 seed=$2 tb
    TA=$(now_ms)
    if ! "$PGDRILL_BIN" sandbox incident "$kind" --seed "$seed" >"$C/ticket" 2>"$C/ticket.err"; then
        bail "incident $kind" "$(cat "$C/ticket.err")"
    fi
    tb=$(date +%s.%N)
    TI_LINE=$(wc -l <"$TRAFFIC_LOG")
    TICKET_AT=$(date -u -d "@$tb" +%Y-%m-%dT%H:%M:%S.%3NZ)
    IE=$(date -u -d "@$(awk -v t="$tb" 'BEGIN { printf "%.3f", t - 0.6 }')" +%Y-%m-%dT%H:%M:%S.%3NZ)
    diag "incident $kind: the trainee's window $TA .. $IE"
    _ticket_checks "$kind"
}

# _training_run RUNBOOK ARG...: the drill, headless; TR_RC, and TR_FROM and
# TR_TO: the application's log's length before and after it
_training_run() {
    local rb=$1
    shift
    TR_FROM=$(wc -l <"$TRAFFIC_LOG")
    "$PGDRILL_BIN" run "$rb" "$@" --yes >"$C/out.run" 2>&1
    TR_RC=$?
    TR_TO=$(wc -l <"$TRAFFIC_LOG")
    if [ "$TR_RC" != 0 ]; then
        diag "pgdrill run $(basename "$rb" .md) $* exited $TR_RC; its output ends:"
        tail -n 20 "$C/out.run" | sed 's/^/#   /'
    fi
}

training_restore() { _training_run "$PITR" "$@"; }
training_selective() { _training_run "$SELECTIVE" "$@"; }

training_undo() {
    training_restore --var "target_time=$TA" --var outcome_option=B --var "table=$1" \
        --var copy_mode=undo --var "incident_end=$IE"
}

# timeline_target MARGIN: what `pgdrill timeline --incident` recommends as
# the restore point for an incident at TICKET_AT, MARGIN seconds before it
timeline_target() {
    local out
    out=$("$PGDRILL_BIN" timeline --incident "$TICKET_AT" --margin "$1" --json 2>"$C/timeline.err") ||
        bail "timeline --incident $TICKET_AT --margin $1" "$(cat "$C/timeline.err")"
    json_eval <(printf '%s' "$out") 'd["recommendation"]["target_time"]'
}

timeline_times() {
    TARGET=$(timeline_target 3)
    IEND=$(timeline_target 0.6)
    diag "from pgdrill timeline: restore point $TARGET, incident end $IEND"
}

training_selective_undo() {
    training_selective --var "target_time=$TARGET" --var scope=table --var "table=$1" \
        --var copy_mode=undo --var "incident_end=$IEND"
}

training_grade() {
    GRADE=$("$PGDRILL_BIN" sandbox grade --json 2>"$C/grade.err")
    GRADE_RC=$?
    "$PGDRILL_BIN" sandbox grade >"$C/grade.txt" 2>&1
    diag "grade: $GRADE"
}

grade_field() { json_eval <(printf '%s' "$GRADE") "d[\"$1\"]"; }

# grade_keys TABLE WHAT: the keys the grade's text names on its line
# "TABLE: N WHAT (keys K K ...)", WHAT e.g. "rows still missing"
grade_keys() {
    awk -v p="$1: " -v w=" $2 (keys " 'index($0, p) == 1 && (i = index($0, w)) > 0 {
        s = substr($0, i + length(w)); sub(/[).].*/, "", s); print s }' "$C/grade.txt" | xargs
}

# keys_in_truth LABEL TAG TABLE KEY...: each KEY is on a "TAG TABLE KEY"
# line of the truth (d: the incident deleted it, a: it changed it)
keys_in_truth() {
    local label=$1 tag=$2 table=$3 k bad=""
    shift 3
    for k in "$@"; do
        grep -qE "^$tag $table $k( |\$)" "$TRUTH" || bad="$bad $k"
    done
    check "$label ($*)" [ $# -gt 0 ]
    is "$bad" "" "$label: each one is a row the incident broke"
}

# keys_app_wrote LABEL TABLE KEY...: each KEY is a row of TABLE the
# application wrote after the incident began (its private log)
keys_app_wrote() {
    local label=$1 table=$2 started k bad=""
    shift 2
    started=$(awk '$1 == "started" { print $2 }' "$TRUTH")
    for k in "$@"; do
        awk -v s="$started" -v t="$table" -v k="$k" '$1 >= s && $3 == t && $4 == k { f = 1 }
            END { exit !f }' "$PGDRILL_HOME/sandbox/training/traffic.log" || bad="$bad $k"
    done
    check "$label ($*)" [ $# -gt 0 ]
    is "$bad" "" "$label: each one a row the application wrote after the incident"
}

# grade_conflicts_checked LABEL TABLE CHECK-SQL: the rows the grade names as
# conflicts (the incident changed them, the application changed them again
# while the incident's change was in place) are each a row the incident
# changed and the application wrote after it, and CHECK-SQL (a WHERE on
# TABLE) holds for each: the incident's change is still in them, which
# is why the trainee must check them by hand
grade_conflicts_checked() {
    local keys n
    keys=$(grade_keys "$2" "rows the incident changed were changed again by the application (conflicts: check by hand that the incident's change is not still in them)")
    is "$(wc -w <<<"$keys")" "$(grade_field conflicts | awk '{ print ($1 > 8 ? 8 : $1) }')" \
        "$1: the grade names its conflicts ($(grade_field conflicts): ${keys:-none})"
    [ -n "$keys" ] || return 0
    # shellcheck disable=SC2086 # the keys, one word each
    keys_in_truth "$1: conflicts" a "$2" $keys
    # shellcheck disable=SC2086
    keys_app_wrote "$1: conflicts" "$2" $keys
    n=$(sql "$DATABASE_URL" "SELECT count(*) FROM $2 WHERE id IN (${keys// /,}) AND ($3)")
    is "$n" "$(wc -w <<<"$keys")" "$1: the incident's change is still in each conflict"
}

# grade_passes LABEL: exit 0, nothing missing, wrong, collateral or not back
grade_passes() {
    is "$GRADE_RC" 0 "$1: the grade passes (exit 0)"
    is "$(grade_field missing) $(grade_field wrong) $(grade_field collateral) $(grade_field other_changed)" \
        "0 0 0 0" "$1: no row missing, wrong, lost to collateral or changed besides"
    is "$(grade_field not_back)" "" "$1: every table and column is back"
    like "$(grade_field rto_s)" '^[0-9.]+$' "$1: the grade measures the RTO from the drill"
}

training_restored() {
    is "$TR_RC" 0 "$1: the restore passes"
    training_grade
    grade_passes "$1"
    training_writes_kept "$1"
}

# training_writes_kept LABEL: the application's writes survive the restore:
# the visits it inserted after the incident (its log from TI_LINE), some
# while the last restore ran (TR_FROM to TR_TO), are all in production
training_writes_kept() {
    local keys during n
    keys=$(sed -n "$((TI_LINE + 1)),${TR_TO}p" "$TRAFFIC_LOG" | awk '$2 == "insert" && $3 == "visits" { print $4 }' | xargs)
    during=$(sed -n "$((TR_FROM + 1)),${TR_TO}p" "$TRAFFIC_LOG" | awk '$2 == "insert" && $3 == "visits"' | wc -l)
    check "$1: the application inserted visits after the incident ($(wc -w <<<"$keys")), $during while the restore ran" \
        [ "$during" -gt 0 ]
    n=$(sql "$DATABASE_URL" "SELECT count(*) FROM visits WHERE id IN (${keys// /,})")
    is "$n" "$(wc -w <<<"$keys")" "$1: each of them is in production after the restore (${keys%% *} .. ${keys##* })"
}

# grade_names_broken LABEL TAG TABLE WHAT: the grade's text names rows of
# TABLE as WHAT ("rows still missing") by key, and each one is on a "TAG
# TABLE KEY" line of the truth (d: the incident deleted it, a: changed it)
grade_names_broken() {
    local keys k bad=""
    keys=$(grade_keys "$3" "$4")
    for k in $keys; do
        grep -qE "^$2 $3 $k( |\$)" "$TRUTH" || bad="$bad $k"
    done
    if [ -n "$keys" ] && [ -z "$bad" ]; then
        ok "$1 ($keys), each a row the incident broke"
    else
        not_ok "$1 (${keys:-none}), each a row the incident broke" "not in the truth:${bad:- }"
    fi
}

# grade_names_collateral LABEL TABLE: the grade fails, the incident's rows
# are back, and it names the application's rows of TABLE the restore lost
# or overwrote (collateral), each one a row the application wrote after
# the incident
grade_names_collateral() {
    is "$GRADE_RC" 1 "$1: the grade fails"
    is "$(grade_field missing) $(grade_field wrong)" "0 0" "$1: the incident's rows are back"
    check "$1: it counts the application's writes it lost as collateral ($(grade_field collateral))" \
        [ "$(grade_field collateral)" -gt 0 ]
    # shellcheck disable=SC2046 # the keys, one word each
    keys_app_wrote "$1: it names them by key" "$2" \
        $(grade_keys "$2" "rows the application wrote after the incident were lost or overwritten (collateral)")
}

training_no_truth_in_reports() {
    local fps n
    fps=$W/fps
    awk '$1 == "b" || $1 == "a" { print $4 }' "$TRUTH" >"$fps"
    n=$(find "$PGDRILL_HOME/drills" \( -name journal.jsonl -o -name report.json -o -name report.md \) | wc -l)
    check "the truth's fingerprints ($(wc -l <"$fps")) are looked for in $n reports and journals" \
        test -s "$fps" -a "$n" -gt 0
    if grep -rqF -f "$fps" "$PGDRILL_HOME/drills" "$W"/*/grade.txt "$W"/*/out.run 2>/dev/null; then
        not_ok "no fingerprint of the ground truth appears in a drill report or a grade"
    else
        ok "no fingerprint of the ground truth appears in a drill report or a grade"
    fi
}

# The traffic still writes: new lines in its private log within 5 s.
training_traffic_alive() {
    local log=$PGDRILL_HOME/sandbox/training/traffic.log n i
    n=$(wc -l <"$log")
    for ((i = 0; i < 50; i++)); do
        [ "$(wc -l <"$log")" -gt "$n" ] && break
        sleep 0.1
    done
    check "$1: the application is still writing" [ "$(wc -l <"$log")" -gt "$n" ]
}

# training_traffic_running LABEL: still writing, and sandbox status says so
training_traffic_running() {
    training_traffic_alive "$1"
    like "$("$PGDRILL_BIN" sandbox status 2>&1)" "traffic +running +$TRAFFIC_PID " \
        "$1: sandbox status shows the traffic running"
}

# training_traffic_stalled LABEL WHY: the application cannot write (its
# table or column is gone): still running, and both `sandbox status` and
# its log say why (WHY, a pattern), within 5 s
training_traffic_stalled() {
    local st i
    for ((i = 0; i < 50; i++)); do
        st=$("$PGDRILL_BIN" sandbox status 2>&1)
        [[ $st =~ traffic\ not\ writing ]] && break
        sleep 0.1
    done
    like "$st" "traffic +running +$TRAFFIC_PID " "$1: the stalled traffic still runs"
    like "$st" "traffic not writing since [0-9T:.-]+Z: requests fail: .*$2" \
        "$1: sandbox status says why the traffic is not writing"
    like "$(cat "$PGDRILL_HOME/sandbox/traffic.log")" "traffic: [a-z]+ [a-z]+ failed: .*$2" \
        "$1: and so does its log"
}

# Processes whose working folder or command line is in the sandbox's folder,
# or whose training folder (the traffic's environment) is: what down must
# have stopped. This scan's own process is not one of them.
_sandbox_procs() {
    "$WORLD_PY" - "$PGDRILL_HOME/sandbox" <<'PY'
import os, sys
sb = os.path.realpath(sys.argv[1])
def under(p):
    return p == sb or p.startswith(sb + "/")
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) == os.getpid():
        continue
    try:
        with open("/proc/%s/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
        cwd = os.readlink("/proc/%s/cwd" % pid)
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
        with open("/proc/%s/environ" % pid, "rb") as f:
            env = f.read().decode(errors="replace").split("\0")
    except (OSError, IndexError):
        continue
    if under(cwd) or any(under(a) for a in argv) or \
            any(e.startswith("PGDRILL_TRAINING_DIR=") and under(e.split("=", 1)[1]) for e in env):
        print(pid, " ".join(argv).strip())
PY
}

training_down_clean() {
    "$PGDRILL_BIN" sandbox down >"$W/down.out" 2>&1
    is "$?" 0 "sandbox down exits 0"
    like "$(cat "$W/down.out")" "stopped traffic \\(pid $TRAFFIC_PID\\)" "sandbox down stops the traffic"
    # a zombie is gone too: whether it is reaped yet is up to its parent
    # (init in a container may never reap it), not to sandbox down
    check "no traffic process is left" bash -c "! ps -o stat= -p $TRAFFIC_PID | grep -qv '^Z'"
    is "$(_sandbox_procs)" "" "no process of the sandbox is left (by folder, command line, training folder)"
}
