#!/bin/bash
# pgdrill timeline against the sandbox Neon server and s3rver (behind the
# SigV4-verifying proxy): three dumps uploaded with awscli, the axis as text
# and JSON, the recommendation for incidents inside and before the history
# window, an incident in the future, a service failure (exit 3), and
# `run pitr-restore --plan`, which prints the branch it would create and
# sends no mutating request to Neon, and the timeline screen of the TUI.
# Each of their requests is in the audit log; without a writable audit log
# none is sent.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"
# shellcheck source=tests/integration/audit_lib.sh
. "$(dirname "$0")/audit_lib.sh"
SBX=$TOP/sandbox
AWSCLI=/usr/bin/aws
PG=${PGDRILL_BIN:-$BUILD_DIR/pgdrill}

for tool in node "$AWSCLI"; do
    command -v "$tool" >/dev/null 2>&1 || { notok "setup: $tool is required"; exit 1; }
done
"$SBX/s3rver-install.sh" "$SBX" || { notok "setup: npm ci in sandbox/ failed"; exit 1; }

neon_setup timeline

S3RVER_PID=
S3PROXY_PID=
stop_s3() {
    [ -n "$S3PROXY_PID" ] && kill "$S3PROXY_PID" 2>/dev/null && wait "$S3PROXY_PID" 2>/dev/null
    [ -n "$S3RVER_PID" ] && kill "$S3RVER_PID" 2>/dev/null && wait "$S3RVER_PID" 2>/dev/null
    neon_teardown
}
trap stop_s3 EXIT

wait_port() {
    local i port
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" | head -1)
        [ -n "$port" ] && { echo "$port"; return 0; }
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}
NODE_OPTIONS=--openssl-legacy-provider node "$SBX/node_modules/s3rver/bin/s3rver.js" \
    -d "$W/s3data" -a 127.0.0.1 -p 0 --silent --configure-bucket care-commons-backups >"$W/s3rver.log" 2>&1 &
S3RVER_PID=$!
S3PORT=$(wait_port "$W/s3rver.log" "$S3RVER_PID") || { notok "setup: s3rver did not start"; exit 1; }
SECRET="tl-secret+$RANDOM$RANDOM"
python3 "$SBX/s3-proxy.py" --upstream "127.0.0.1:$S3PORT" --data-dir "$W/s3data" \
    --access-key S3RVER --secret "$SECRET" >"$W/s3proxy.log" 2>&1 &
S3PROXY_PID=$!
PPORT=$(wait_port "$W/s3proxy.log" "$S3PROXY_PID") || { notok "setup: s3-proxy did not start"; exit 1; }
for v in $(env | sed -n 's/^\(AWS_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
mkdir -p "$W/home"
export HOME=$W/home AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$PPORT AWS_PAGER=
export PGDRILL_BACKUP_URI=s3://care-commons-backups PGDRILL_HOME=$W/pgdrill-home
ALOG=$PGDRILL_HOME/audit.log

# three dumps: 15, 8 and 1 days old (sizes 100, 2000, 30000 bytes), plus an unrelated object
stamp() { date -u -d "@$(($(date +%s) - $1 * 86400))" +%Y%m%d-%H%M%S; }
D1=$(stamp 15) D2=$(stamp 8) D3=$(stamp 1)
i=0
for d in "$D1:100" "$D2:2000" "$D3:30000"; do
    head -c "${d#*:}" /dev/urandom >"$W/dump.$i"
    "$AWSCLI" --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp --only-show-errors "$W/dump.$i" "s3://care-commons-backups/weekly/care-commons-backup-${d%%:*}.sql.gz" ||
        { notok "setup: aws s3 cp"; exit 1; }
    i=$((i + 1))
done
echo hi | "$AWSCLI" --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp --only-show-errors - s3://care-commons-backups/weekly/README.txt
echo hi | "$AWSCLI" --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp --only-show-errors - "s3://care-commons-backups/other/care-commons-backup-$D3.sql.gz"

WIN_S=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["project"]["history_retention_seconds"])' \
    < <(curl -s -H "Authorization: Bearer $NEON_API_KEY" "$NEON_API_HOST/projects/$NEON_PROJECT_ID"))
diag "sandbox history_retention_seconds=$WIN_S"

"$PG" timeline >"$W/out.text" 2>"$W/out.err"
rc=$?
is "$rc" 0 "timeline: exit 0"
like "$(cat "$W/out.text")" "Dumps in s3://care-commons-backups/weekly/: 3" "timeline: lists the three dumps under the prefix only"
like "$(cat "$W/out.text")" "  care-commons-backup-$D1\\.sql\\.gz" "timeline: the oldest dump in the table (key under the prefix)"
like "$(cat "$W/out.text")" "  [0-9-]+ [0-9:]+  1d00h +29\\.3 KiB +7d00h +care-commons-backup-$D3" "timeline: age, size and gap of the newest dump"
like "$(cat "$W/out.text")" "Largest gap: 7d00h" "timeline: the largest gap"
like "$(cat "$W/out.text")" $'\n\\[[.|=*]+\\]\n' "timeline: the bar"
sed 's/^/# /' "$W/out.text"
NT=$NEON_API_HOST/projects/$NEON_PROJECT_ID
LIST_OK="s3.list s3://care-commons-backups/weekly/ ok null {\"dumps\":3,\"objects\":4}"
is "$(audit_show "$ALOG")" "neon.project-get $NT ok null {\"history_retention_s\":$WIN_S}
$LIST_OK" "audit: the project request and the listing, in order, ok, drill_id null"
"$PG" audit verify >"$W/out.auditv" 2>&1
is "$?" 0 "audit: pgdrill audit verify passes"
like "$(cat "$W/out.auditv")" "^audit log ok: 2 entries, chain intact" "audit: two entries chained"

# inside the window (the sandbox project, and so its window, is only seconds
# old): PITR the margin before the incident
sleep 2
INC=$(date -u -d "@$(($(date +%s) - 2))" +%Y-%m-%dT%H:%M:%SZ)
WANT=$(date -u -d "@$(($(date +%s -d "$INC") - 1))" +%Y-%m-%dT%H:%M:%S.000Z)
"$PG" timeline --incident "$INC" --margin 1 >"$W/out.pitr" 2>&1
like "$(cat "$W/out.pitr")" "Recommended: PITR, a Neon branch at $WANT" "incident in the window: PITR at incident - margin"
like "$(cat "$W/out.pitr")" "Expected data loss: 1s" "incident in the window: the margin is the loss"

# before the window: the newest dump before it
INC2=$(date -u -d "@$(($(date +%s) - 5 * 86400))" +%Y-%m-%dT%H:%M:%SZ)
"$PG" timeline --incident "$INC2" --json >"$W/out.json" 2>&1
is "$(json_get "$W/out.json" recommendation.source)" dump "json: a dump before the window"
is "$(json_get "$W/out.json" recommendation.backup_key)" "weekly/care-commons-backup-$D2.sql.gz" "json: the newest dump before the incident"
is "$(json_eval "$W/out.json" 'int(d["recommendation"]["expected_loss_s"])')" \
    $(($(date -u +%s -d "$INC2") - $(date -u +%s -d "${D2:0:4}-${D2:4:2}-${D2:6:2}T${D2:9:2}:${D2:11:2}:${D2:13:2}Z"))) "json: loss = incident - dump"
is "$(json_eval "$W/out.json" 'len(d["dumps"])')" 3 "json: three dumps"
is "$(json_eval "$W/out.json" 'd["window"]["retention_s"]')" "$WIN_S" "json: the project's retention"

FUT=$(date -u -d "@$(($(date +%s) + 3600))" +%Y-%m-%dT%H:%M:%SZ)
"$PG" timeline --incident "$FUT" >"$W/out.fut" 2>&1
is "$?" 2 "incident in the future: exit 2"
like "$(cat "$W/out.fut")" "pgdrill: timeline: incident time .* is in the future" "incident in the future: message"

DEAD=http://127.0.0.1:$(free_port)/api/v2
n0=$(audit_count "$ALOG")
NEON_API_HOST=$DEAD "$PG" timeline >"$W/out.down" 2>&1
is "$?" 3 "neon unreachable: exit 3"
is "$(audit_show "$ALOG" $((n0 + 1)) | cut -d' ' -f1-3)" "neon.project-get $DEAD/projects/$NEON_PROJECT_ID failed:" \
    "neon unreachable: the failed request is recorded, and no listing after it"
like "$(audit_show "$ALOG" $((n0 + 1)))" " failed: neon: .* null \{\}$" "neon unreachable: with Neon's error"

n0=$(audit_count "$ALOG")
AWS_SECRET_ACCESS_KEY=wrong-$RANDOM "$PG" timeline >"$W/out.badkey" 2>&1
is "$?" 3 "wrong s3 secret: exit 3"
is "$(audit_show "$ALOG" $((n0 + 1)) | sed -n 2p | cut -d' ' -f1-3)" "s3.list s3://care-commons-backups/weekly/ failed:" \
    "wrong s3 secret: the refused listing is recorded"
like "$(audit_show "$ALOG" $((n0 + 2)))" "failed: s3: .*(403|SignatureDoesNotMatch)" "wrong s3 secret: S3's refusal named"

# No audit log, no request: audit.log a directory.
audit_refused "unwritable audit log" "$W/badhome" "$PG" timeline

# An entry that cannot be written (the file size limit, as a full disk):
# the project request was sent and fails the load; the listing is not sent.
requests_mark
out=$(audit_run_full "$ALOG" "$W/fullhome" "$PG" timeline)
is "$?" 1 "audit write fails: exit 1"
is "$out" "pgdrill: audit log $W/fullhome/audit.log: write: File too large" "audit write fails: the error is the audit log's"
is "$(requests_since)" "neon GET /api/v2/projects/$NEON_PROJECT_ID" \
    "audit write fails: Neon got the project request, S3 nothing"
if cmp -s "$ALOG" "$W/fullhome/audit.log"; then
    ok "audit write fails: the log is left as it was"
else
    notok "audit write fails: the log is left as it was"
fi

# --plan: what pitr-restore would do, and no mutating request reaches Neon
before=$(wc -l <"$CONTRACT_LOG")
DATABASE_URL=postgresql://nobody@127.0.0.1:1/none "$PG" run pitr-restore --plan \
    --var "target_time=$INC" >"$W/out.plan" 2>&1
is "$?" 0 "plan: exit 0"
sed 's/^/# /' "$W/out.plan"
like "$(cat "$W/out.plan")" "create branch \\\$\\{branch_name\\} .*at $INC" "plan: names the branch it would create and its time"
like "$(cat "$W/out.plan")" "Expected data loss" "plan: expected data loss"
like "$(cat "$W/out.plan")" "input outcome_option = verify-only \(default; asked before stage 1\)" \
    "plan: an input not given shows its default and when it is asked"
posts=$(tail -n +"$((before + 1))" "$CONTRACT_LOG" | python3 -c 'import json,sys
print(sum(1 for l in sys.stdin if json.loads(l)["method"] != "GET"))')
is "$posts" 0 "plan: zero mutating requests to neon"
n=$(find "$PGDRILL_HOME/drills" -mindepth 1 -maxdepth 1 -not -name '.*' 2>/dev/null | wc -l)
is "$n" 0 "plan: no drill journal started"
is "$(audit_show "$ALOG" | tail -2)" "neon.project-get $NT ok null {\"history_retention_s\":$WIN_S}
$LIST_OK" "plan: the timeline's two requests are in the audit log"
requests_mark
PGDRILL_HOME=$W/badhome DATABASE_URL=postgresql://nobody@127.0.0.1:1/none "$PG" run pitr-restore --plan \
    --var "target_time=$INC" >"$W/out.plan2" 2>"$W/out.plan2.err"
is "$?" 0 "plan, unwritable audit log: still printed"
is "$(cat "$W/out.plan2.err")" "pgdrill: plan without the timeline: audit log $W/badhome/audit.log: Is a directory" \
    "plan, unwritable audit log: said, the timeline left out"
is "$(requests_since)" "" "plan, unwritable audit log: no request to S3 or Neon"

# The TUI: the timeline screen (t in the picker) with the same services. The
# plan screen comes before a drill's first change: tests/tui/tui-plan.sh.
if command -v tmux >/dev/null 2>&1; then
    TS=$W/tmux.sock
    tx() { tmux -S "$TS" -f /dev/null "$@"; }
    twait() { # TEXT SECS
        local i
        for i in $(seq 1 $(($2 * 10))); do
            tx capture-pane -p -t tl 2>/dev/null | grep -qF -- "$1" && return 0
            sleep 0.1
        done
        return 1
    }
    # tui_timeline HOME: the TUI with PGDRILL_HOME=HOME (wide enough for a
    # long path), t pressed in the picker
    tui_timeline() {
        printf '#!/bin/sh\nPGDRILL_HOME=%q %q tui 2>%q; sleep 600\n' "$1" "$PG" "$W/tui.err" >"$W/tui.sh"
        chmod +x "$W/tui.sh"
        PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 tx new-session -d -s tl -x 200 -y 34 "$W/tui.sh"
        twait "choose a runbook" 10 && tx send-keys -t tl t
    }
    tui_timeline "$PGDRILL_HOME"
    if twait "Newest dump age" 20; then
        ok "tui: t in the picker shows the timeline"
    else
        notok "tui: t in the picker shows the timeline"
    fi
    tx capture-pane -p -t tl >"$W/tui-timeline.txt"
    like "$(cat "$W/tui-timeline.txt")" "care-commons-backup-$D3\\.sql\\.gz" "tui: the timeline lists the dumps"
    sed 's/^/# /' "$W/tui-timeline.txt"
    tmux_kill_server "$TS"
    is "$(audit_show "$ALOG" | tail -2)" "neon.project-get $NT ok null {\"history_retention_s\":$WIN_S}
$LIST_OK" "tui: the timeline's two requests are in the audit log"
    "$PG" audit verify >/dev/null 2>&1
    is "$?" 0 "tui: the audit log's chain is intact"

    # without a writable audit log the screen says so and nothing is sent
    requests_mark
    tui_timeline "$W/badhome"
    if twait "audit log $W/badhome/audit.log: Is a directory" 20; then
        ok "tui: an unwritable audit log is named on the timeline screen"
    else
        notok "tui: an unwritable audit log is named on the timeline screen"
        tx capture-pane -p -t tl | sed 's/^/# /'
    fi
    is "$(requests_since)" "" "tui: no request to S3 or Neon without the audit log"
    tmux_kill_server "$TS"
else
    notok "tui: tmux is required for the timeline screen"
fi
key_check
done_testing
