#!/bin/bash
# contrib/github/backup.yml fails when the backup fails. Each run: script is
# started the way GitHub starts it (tests/tools/gha_step.py applies the
# documented shell rules: no shell is `bash -e`, which lets `pgdrill backup |
# tee` pass when pgdrill fails), against a database that is not there, so
# the backup fails for real. Then the notice step must be one that runs on
# failure, and pgdrill must come from a pinned pgdrill release rather than
# from the repository the workflow is copied into.
set -u
. "${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib.sh"
# shellcheck source=tests/integration/webhook_lib.sh
. "$PGDRILL_TOP/tests/integration/webhook_lib.sh"

WF=$PGDRILL_TOP/contrib/github/backup.yml
PY=/usr/bin/python3 # Debian's, with python3-yaml
work=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/workflow.XXXXXX")
trap 'rm -rf "$work"' EXIT

step_json() { gha_step_json "$WF" backup "$1"; }
step_field() { gha_field "$@"; }
run_step() { gha_run "$1" "$work"; }

if ! backup=$(step_json "Create and upload backup" 2>&1); then
    bail "workflow: backup step" "$backup"
fi

# A checkout of pgdrill as the workflow lays it out, with our binary in it.
dir=$(step_field "$backup" run | grep -oE '[./A-Za-z_-]*build/pgdrill' | head -1)
mkdir -p "$work/$(dirname "$dir")"
ln -s "$PGDRILL_BIN" "$work/$dir"
export RUNNER_TEMP=$work PGDRILL_HOME=$work/home
export DATABASE_URL='postgresql://nobody:secret@127.0.0.1:9/none?connect_timeout=2'
export AWS_ACCESS_KEY_ID=AKIDWORKFLOWTEST AWS_SECRET_ACCESS_KEY=workflow-test-secret
export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=http://127.0.0.1:9
export PGDRILL_BACKUP_URI=s3://care-commons-backups

rc=$(run_step "$backup")
if [ "$rc" -ne 0 ]; then
    ok "workflow: the backup step fails (exit $rc) when pgdrill backup fails"
else
    not_ok "workflow: the backup step fails when pgdrill backup fails" \
        "the step exited 0 with: $(step_field "$backup" argv | tr '\n' ' ')" "$(tail -5 "$work/out")"
fi
like "$(cat "$work/out")" '"outcome":[[:space:]]*"failed"' "workflow: pgdrill itself ran and reported the failure"

notify=$(step_json "Notify on failure")
is "$(step_field "$notify" if)" "failure()" "workflow: the Slack notice runs when a step failed"
ni=$(step_field "$notify" index)
bi=$(step_field "$backup" index)
check "workflow: the notice comes after the backup" test "$ni" -gt "$bi"

# The notice step itself, run as GitHub runs it, posts the seed's message
# to the webhook (a local receiver, tests/tools/fake_http.py).
mkdir -p "$work/pgdrill/contrib"
cp "$PGDRILL_TOP/contrib/slack-failure.json" "$work/pgdrill/contrib/"
python3 "$PGDRILL_TOP/tests/tools/fake_http.py" --record "$work/slack.body" --record-head \
    >"$work/slack.log" 2>&1 &
hook_pid=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/slack.log")
    [ -n "$port" ] && break
    sleep 0.1
done
export SLACK_WEBHOOK_URL="http://127.0.0.1:$port/services/T0WORKFLOW/hook"
rc=$(run_step "$notify")
for _ in $(seq 1 20); do [ -e "$work/slack.body" ] && break; sleep 0.1; done
kill "$hook_pid" 2>/dev/null
wait "$hook_pid" 2>/dev/null
is "$rc" 0 "workflow: the notice step runs"
is "$(sed -n 1p "$work/slack.body" 2>/dev/null)" /services/T0WORKFLOW/hook \
    "workflow: the notice reached SLACK_WEBHOOK_URL"
is "$(tail -n +3 "$work/slack.body" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["text"])' 2>&1)" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$PGDRILL_TOP/contrib/slack-failure.json")" \
    "workflow: with the seed's Slack message"

# pgdrill comes from a pinned release of pgdrill, not from the application's repository
pin=$("$PY" - "$WF" <<'PY'
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
for s in wf["jobs"]["backup"]["steps"]:
    w = s.get("with") or {}
    if str(s.get("uses", "")).startswith("actions/checkout@") and "pgdrill" in str(w.get("repository", "")):
        print("%s %s %s" % (w.get("repository"), w.get("ref", ""), w.get("path", "")))
PY
)
like "$pin" '^[^ ]*pgdrill[^ ]* v[0-9]+\.[0-9]+\.[0-9]+ [^ ]+$' \
    "workflow: pgdrill is checked out from its own repository at a release tag, into a folder of its own"
done_testing
