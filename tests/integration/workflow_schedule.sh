#!/bin/bash
# contrib/github/verify.yml and drill-reminder.yml, their run: scripts
# started the way GitHub starts them (tests/tools/gha_step.py). The verify
# step fails when pgdrill verify fails, and pgdrill itself posts one notice
# to SLACK_WEBHOOK_URL (the workflow's own notice only runs when pgdrill did
# not); the reminder posts the notice a week ahead of the drill, and on the
# drill day, each naming the drill date. The receiver is tests/tools/
# fake_http.py on loopback.
set -u
. "${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-yaml
STEP=$PGDRILL_TOP/tests/tools/gha_step.py
VWF=$PGDRILL_TOP/contrib/github/verify.yml
RWF=$PGDRILL_TOP/contrib/github/drill-reminder.yml
work=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/wfsched.XXXXXX")
hook_pid=""
cleanup() {
    [ -n "$hook_pid" ] && kill "$hook_pid" 2>/dev/null && wait "$hook_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

step_field() { printf '%s' "$1" | "$PY" -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if isinstance(v, (str, int)) else "\n".join(v))' "$2"; }

# run_step JSON: runs the step's script as GitHub would, in $work; prints the exit code
run_step() {
    local script=$work/step.sh argv=() a
    step_field "$1" run >"$script"
    while IFS= read -r a; do argv+=("${a//\{0\}/$script}"); done < <(step_field "$1" argv)
    (cd "$work" && "${argv[@]}" >"$work/out" 2>&1)
    echo $?
}

LOG=$work/slack.jsonl
: >"$LOG"
python3 "$PGDRILL_TOP/tests/tools/fake_http.py" --log "$LOG" >"$work/recv.out" 2>&1 &
hook_pid=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/recv.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || bail "webhook receiver" "$(cat "$work/recv.out")"
export SLACK_WEBHOOK_URL="http://127.0.0.1:$port/services/T0SCHED/hook"
count() { wc -l <"$LOG" | tr -d ' '; }
text() { sed -n "${1}p" "$LOG" | python3 -c 'import json,sys; print(json.loads(json.load(sys.stdin)["body"])["text"])'; }

# ---- the monthly verification -----------------------------------------------------
verify=$("$PY" "$STEP" "$VWF" verify "Verify the backups") || bail "verify.yml: verify step" "$verify"
dir=$(step_field "$verify" run | grep -oE '[./A-Za-z_-]*build/pgdrill' | head -1)
mkdir -p "$work/$(dirname "$dir")"
ln -s "$PGDRILL_BIN" "$work/$dir"
export RUNNER_TEMP=$work PGDRILL_HOME=$work/home
export AWS_ACCESS_KEY_ID=AKIDWORKFLOWTEST AWS_SECRET_ACCESS_KEY=workflow-test-secret
export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=http://127.0.0.1:9
export PGDRILL_BACKUP_URI=s3://care-commons-backups
unset NEON_API_KEY NEON_PROJECT_ID NEON_API_HOST

rc=$(run_step "$verify")
check "verify.yml: the step fails (exit $rc) when pgdrill verify fails" [ "$rc" -ne 0 ]
is "$(count)" 1 "verify.yml: pgdrill posted one notice"
like "$(text 1)" "^:x: Monthly backup verification \(pgdrill verify\) failed on " "  naming the verification"
like "$(text 1)" "s3.backups: " "  and the check that failed"
check "verify.yml: the record for pgdrill status is where the artifact step looks" \
    [ -f "$work/home/status/verify.json" ]
notice=$("$PY" "$STEP" "$VWF" verify "Notify when the workflow broke before pgdrill ran")
is "$(step_field "$notice" if)" "failure() && steps.verify.outcome == 'skipped'" \
    "verify.yml: the workflow's own notice only when pgdrill did not run"
rc=$(RUN_URL=https://github.example/runs/1 run_step "$notice")
[ "$rc" = 0 ] || diag "$(cat "$work/out")"
is "$rc" 0 "verify.yml: that notice step runs"
is "$(count)" 2 "  and posts"
like "$(text 2)" "did not run: the workflow failed before pgdrill verify" "  saying pgdrill did not run"
is "$("$PY" -c 'import sys,yaml; print(yaml.safe_load(open(sys.argv[1]))[True]["schedule"][0]["cron"])' "$VWF")" \
    "0 3 1 * *" "verify.yml: monthly, on the 1st"

# ---- the quarterly drill reminder ---------------------------------------------------
remind=$("$PY" "$STEP" "$RWF" remind "Post the drill reminder") || bail "drill-reminder.yml" "$remind"
crons=$("$PY" -c 'import sys,yaml; print("\n".join(s["cron"] for s in yaml.safe_load(open(sys.argv[1]))[True]["schedule"]))' "$RWF")
is "$crons" "0 9 8 1,4,7,10 *
0 9 15 1,4,7,10 *" "drill-reminder.yml: the notice on the 8th, the drill on the 15th, each quarter"
rc=$(SCHEDULE='0 9 8 1,4,7,10 *' run_step "$remind")
is "$rc" 0 "drill-reminder.yml: the notice step runs"
is "$(count)" 3 "  and posts once"
DAY=$(date -u -d '+7 days' +%F)
TODAY=$(date -u +%F)
like "$(text 3)" "^:calendar: Quarterly restore drill on $DAY, in one week \(notice sent $TODAY\)" \
    "  the notice names the drill a week ahead"
like "$(text 3)" "pgdrill run quarterly-drill --var drill_date=$DAY --var notice_sent_on=$TODAY" \
    "  and the command with the runbook's dates"
rc=$(SCHEDULE='0 9 15 1,4,7,10 *' run_step "$remind")
is "$(count)" 4 "drill-reminder.yml: the drill-day reminder posts once"
like "$(text 4)" "^:rotating_light: Quarterly restore drill today, $TODAY" "  naming today"
bodies=$(python3 -c 'import json,sys; print("\n".join(json.loads(l)["body"] for l in open(sys.argv[1])))' "$LOG")
unlike "$bodies" "workflow-test-secret|T0SCHED" "no secret or webhook path in any payload"
done_testing
