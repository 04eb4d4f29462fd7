# shellcheck shell=bash
# The training world (sourced, not run: not executable): `pgdrill sandbox
# traffic`, `incident` and `grade` as a trainee uses them, on a sandbox of
# its own (world_lib.sh's world_up), with the traffic running throughout.
#
#   training_up                 the sandbox and `pgdrill sandbox traffic start`
#   training_incident KIND SEED `pgdrill sandbox incident KIND --seed SEED`;
#                               the ticket in $C/ticket, and TA (just before
#                               the command) and IE (a moment before it
#                               returned: after the incident's commit, inside
#                               the quiet moment that follows it): the
#                               trainee's own timings. Checks the ticket
#                               (no second, no key) and the truth's mode.
#   training_restore ARG...     `pgdrill run runbooks/pitr-restore.md ARG...
#                               --yes`; exit status in TR_RC
#   training_grade              `pgdrill sandbox grade --json` into GRADE
#                               (JSON), its exit status in GRADE_RC, its
#                               text in $C/grade.txt
#   grade_field NAME            a field of GRADE
#   training_no_truth_in_reports  no fingerprint of the truth in any report
#   training_down_clean         `sandbox down` and no process of it left
# Variables: TRUTH (the ground truth file), TRAFFIC_PID.

# shellcheck source=tests/integration/world_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/world_lib.sh"

PITR=$PGDRILL_TOP/runbooks/pitr-restore.md
TRUTH=""
TRAFFIC_PID=""

now_ms() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }

training_up() {
    world_up main
    TRUTH=$PGDRILL_HOME/sandbox/training/truth
    "$PGDRILL_BIN" sandbox traffic start >"$W/traffic-start.out" 2>&1 ||
        bail "setup: traffic start" "$(cat "$W/traffic-start.out")"
    TRAFFIC_PID=$(cut -d' ' -f1 "$PGDRILL_HOME/sandbox/traffic.pid")
    like "$("$PGDRILL_BIN" sandbox status 2>&1)" "traffic +running +$TRAFFIC_PID " \
        "sandbox status shows the traffic running with its pid"
    sleep 2
}

# The ticket never holds the incident's second or a key of the rows it broke.
_ticket_checks() {
    local kind=$1 keys k leak=""
    unlike "$(cat "$C/ticket")" '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$kind: the ticket has no time to the second"
    keys=$(awk '$1 == "d" || $1 == "a" { if ($3 >= 100) print $3 }' "$TRUTH" | sort -u | head -n 200)
    for k in $keys; do
        grep -qw -- "$k" "$C/ticket" && leak="$leak $k"
    done
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
    IE=$(date -u -d "@$(awk -v t="$tb" 'BEGIN { printf "%.3f", t - 0.6 }')" +%Y-%m-%dT%H:%M:%S.%3NZ)
    diag "incident $kind: the trainee's window $TA .. $IE"
    _ticket_checks "$kind"
}

training_restore() {
    "$PGDRILL_BIN" run "$PITR" "$@" --yes >"$C/out.run" 2>&1
    TR_RC=$?
    if [ "$TR_RC" != 0 ]; then
        diag "pgdrill run pitr-restore $* exited $TR_RC; its output ends:"
        tail -n 20 "$C/out.run" | sed 's/^/#   /'
    fi
}

training_grade() {
    GRADE=$("$PGDRILL_BIN" sandbox grade --json 2>"$C/grade.err")
    GRADE_RC=$?
    "$PGDRILL_BIN" sandbox grade >"$C/grade.txt" 2>&1
    diag "grade: $GRADE"
}

grade_field() { json_eval <(printf '%s' "$GRADE") "d[\"$1\"]"; }

# grade_passes LABEL: exit 0, nothing missing, wrong, collateral or not back
grade_passes() {
    is "$GRADE_RC" 0 "$1: the grade passes (exit 0)"
    is "$(grade_field missing) $(grade_field wrong) $(grade_field collateral) $(grade_field other_changed)" \
        "0 0 0 0" "$1: no row missing, wrong, lost to collateral or changed besides"
    is "$(grade_field not_back)" "" "$1: every table and column is back"
    like "$(grade_field rto_s)" '^[0-9.]+$' "$1: the grade measures the RTO from the drill"
}

training_no_truth_in_reports() {
    local fps
    fps=$W/fps
    awk '$1 == "b" || $1 == "a" { print $4 }' "$TRUTH" >"$fps"
    if grep -rqF -f "$fps" "$PGDRILL_HOME/drills" "$W"/*/grade.txt 2>/dev/null; then
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

training_down_clean() {
    "$PGDRILL_BIN" sandbox down >"$W/down.out" 2>&1
    is "$?" 0 "sandbox down exits 0"
    like "$(cat "$W/down.out")" "stopped traffic \\(pid $TRAFFIC_PID\\)" "sandbox down stops the traffic"
    # a zombie is gone too: whether it is reaped yet is up to its parent
    # (init in a container may never reap it), not to sandbox down
    check "no traffic process is left" bash -c "! ps -o stat= -p $TRAFFIC_PID | grep -qv '^Z'"
}
