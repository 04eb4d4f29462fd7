# shellcheck shell=bash
# Shared by the tests of Slack notices and GitHub workflows (sourced, not
# run: not executable).
#
# webhook_start DIR starts tests/tools/fake_http.py on loopback, logging
# every request as one JSON line to DIR/webhook.jsonl; sets WEBHOOK_PID,
# WEBHOOK_PORT and WEBHOOK_LOG (returns 1 when it does not listen).
# webhook_stop stops it. webhook_count is the number of requests so far,
# webhook_text N the "text" of the Nth request's JSON body.
#
# gha_step_json WORKFLOW JOB STEP prints how GitHub runs the step
# (tests/tools/gha_step.py); gha_field JSON NAME one of its fields;
# gha_run JSON DIR runs the step's script as GitHub would, in DIR (output
# in DIR/out), and prints its exit code.

WEBHOOK_PID=""

webhook_start() {
    WEBHOOK_LOG=$1/webhook.jsonl
    : >"$WEBHOOK_LOG"
    python3 "$PGDRILL_TOP/tests/tools/fake_http.py" --log "$WEBHOOK_LOG" >"$1/webhook.out" 2>&1 &
    WEBHOOK_PID=$!
    WEBHOOK_PORT=""
    for _ in $(seq 1 100); do
        WEBHOOK_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1/webhook.out")
        [ -n "$WEBHOOK_PORT" ] && return 0
        sleep 0.1
    done
    return 1
}

webhook_stop() {
    [ -n "$WEBHOOK_PID" ] || return 0
    kill "$WEBHOOK_PID" 2>/dev/null
    wait "$WEBHOOK_PID" 2>/dev/null
    WEBHOOK_PID=""
}

webhook_count() { wc -l <"$WEBHOOK_LOG" | tr -d ' '; }

# webhook_field N NAME: method, path, content_type or body of the Nth request
webhook_field() {
    sed -n "${1}p" "$WEBHOOK_LOG" | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}

webhook_text() { webhook_field "$1" body | python3 -c 'import json,sys; print(json.load(sys.stdin)["text"])'; }

gha_step_json() { /usr/bin/python3 "$PGDRILL_TOP/tests/tools/gha_step.py" "$@"; }

gha_field() { printf '%s' "$1" | /usr/bin/python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if isinstance(v, (str, int)) else "\n".join(v))' "$2"; }

gha_run() {
    local script=$2/step.sh argv=() a
    gha_field "$1" run >"$script"
    while IFS= read -r a; do argv+=("${a//\{0\}/$script}"); done < <(gha_field "$1" argv)
    (cd "$2" && "${argv[@]}" >"$2/out" 2>&1)
    echo $?
}
