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
# shellcheck source=tests/integration/webhook_lib.sh
. "$PGDRILL_TOP/tests/integration/webhook_lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-yaml
VWF=$PGDRILL_TOP/contrib/github/verify.yml
RWF=$PGDRILL_TOP/contrib/github/drill-reminder.yml
work=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/wfsched.XXXXXX")
cleanup() {
    webhook_stop
    rm -rf "$work"
}
trap cleanup EXIT

webhook_start "$work" || bail "webhook receiver" "$(cat "$work/webhook.out")"
export SLACK_WEBHOOK_URL="http://127.0.0.1:$WEBHOOK_PORT/services/T0SCHED/hook"
count() { webhook_count; }
text() { webhook_text "$1"; }
step_field() { gha_field "$@"; }
run_step() { gha_run "$1" "$work"; }

# ---- the monthly verification -----------------------------------------------------
verify=$(gha_step_json "$VWF" verify "Verify the backups") || bail "verify.yml: verify step" "$verify"
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
notice=$(gha_step_json "$VWF" verify "Notify when the workflow broke before pgdrill ran")
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
remind=$(gha_step_json "$RWF" remind "Post the drill reminder") || bail "drill-reminder.yml" "$remind"
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
bodies=$(python3 -c 'import json,sys; print("\n".join(json.loads(l)["body"] for l in open(sys.argv[1])))' "$WEBHOOK_LOG")
unlike "$bodies" "workflow-test-secret|T0SCHED" "no secret or webhook path in any payload"
done_testing
