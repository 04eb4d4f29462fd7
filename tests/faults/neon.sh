#!/bin/bash
# Fault matrix, Neon: 423 storms, 429, 5xx, an HTML error page, an
# operation ending "failed" and a branch endpoint that never becomes
# reachable, all through `pgdrill run` of tests/faults/fixtures/neon.md
# against the sandbox Neon server behind the contract proxy
# (tests/contract/neon_proxy.py), whose faults file injects each fault.
# Expected: exit 3 with the call, the status and Neon's message named; a
# mutation never retried blindly (one branch at most); the report not
# "passed" and the steps after the failure not run.
# shellcheck source=tests/faults/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/neon_lib.sh
. "$PGDRILL_TOP/tests/integration/neon_lib.sh"

neon_setup faults-matrix
HOLE_PID=
trap 'neon_teardown; [ -n "$HOLE_PID" ] && kill "$HOLE_PID" 2>/dev/null' EXIT
export PGDRILL_TEST_NEON_BACKOFF=0.05 PGCONNECT_TIMEOUT=3
RB=$PGDRILL_TOP/tests/faults/fixtures/neon.md
LOCKED="project already has running conflicting operations, scheduling of new ones is prohibited"
PROJECT_PATH="/projects/$NEON_PROJECT_ID\$"
BRANCHES_PATH="/projects/$NEON_PROJECT_ID/branches\$"
n=0

faults() { printf '%s\n' "$1" >"$FAULTS"; }
# drill MODE [ARGS...]: pgdrill run of the fixture; RC, OUT (its output), H (its home)
drill() {
    local mode=$1
    shift
    n=$((n + 1))
    H=$W/home$n
    OUT=$W/out.drill$n
    mkdir -p "$W/w$n"
    PGDRILL_HOME=$H "$PGDRILL_BIN" run "$RB" --var mode="$mode" --var work="$W/w$n" --yes "$@" \
        >"$OUT" 2>&1
    RC=$?
}
outcome() { json_get "$H/drills/$(ls "$H/drills")/report.json" outcome; }
after_skipped() { [ ! -e "$W/w$n/after.count" ]; }
branches_named() { "$NT" cli branches 2>/dev/null | grep -c " $1 "; }
posts() { seen POST "$BRANCHES_PATH"; }

# ---- 423 storm ---------------------------------------------------------------
faults "[{\"method\":\"POST\",\"path\":\"$BRANCHES_PATH\",\"times\":100,\"status\":423,\"message\":\"$LOCKED\"}]"
before=$(posts)
drill create --var branch=storm-423
fact_exit 3 "$RC"
fact_msg "names the call, 423 and Neon's message" "$OUT" "neon: POST /projects/$NEON_PROJECT_ID/branches: HTTP 423: $LOCKED \\(request_id [0-9a-f-]+\\); gave up after 6 attempts"
fact "6 attempts, then stop" test $(($(posts) - before)) = 6
fact "no branch created" test "$(branches_named storm-423)" = 0
fact "report outcome not passed" test "$(outcome)" != passed
fact "later steps not run" after_skipped
fault_row "Neon 423 storm (project locked) on branch-create"

faults "[{\"method\":\"POST\",\"path\":\"$BRANCHES_PATH\",\"times\":2,\"status\":423,\"message\":\"$LOCKED\"}]"
before=$(posts)
drill create --var branch=after-423
fact_exit 0 "$RC"
fact "3 POSTs: two locked, one applied" test $(($(posts) - before)) = 3
fact "exactly one branch" test "$(branches_named after-423)" = 1
fact "report outcome passed" test "$(outcome)" = passed
fault_row "Neon 423 twice, then the branch is created once"

# ---- 429 ---------------------------------------------------------------------
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":1,\"status\":429,\"retry_after\":\"2\",\"message\":\"rate limit exceeded\"}]"
t0=$(date +%s.%N)
drill project
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
fact_exit 0 "$RC"
fact "waited Retry-After: 2 (took ${took}s)" awk -v t="$took" 'BEGIN { exit !(t >= 2) }'
fact "report outcome passed" test "$(outcome)" = passed
fault_row "Neon 429 with Retry-After"

# ---- 5xx ---------------------------------------------------------------------
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":100,\"status\":503,\"message\":\"service unavailable\"}]"
drill project
fact_exit 3 "$RC"
fact_msg "names the call, 503 and the attempts" "$OUT" "neon: GET /projects/$NEON_PROJECT_ID: HTTP 503: service unavailable \\(request_id [0-9a-f-]+\\); gave up after 6 attempts"
fact "report outcome not passed" test "$(outcome)" != passed
fact "later steps not run" after_skipped
fault_row "Neon 503 storm on a read"

faults "[{\"method\":\"POST\",\"path\":\"$BRANCHES_PATH\",\"times\":1,\"status\":500,\"message\":\"internal error\"}]"
before=$(posts)
drill create --var branch=after-500
fact_exit 3 "$RC"
fact_msg "names the call and the 500" "$OUT" "neon: POST /projects/$NEON_PROJECT_ID/branches: HTTP 500: internal error"
fact "a mutation is not retried on 500 (1 POST)" test $(($(posts) - before)) = 1
fact "report outcome not passed" test "$(outcome)" != passed
fault_row "Neon 500 on branch-create (not retried)"

# ---- HTML error page ---------------------------------------------------------
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":100,\"action\":\"html\",\"status\":524}]"
drill project
fact_exit 3 "$RC"
fact_msg "names the status and the HTML body" "$OUT" "neon: GET /projects/$NEON_PROJECT_ID: HTTP 524: non-json body \\(text/html, [0-9]+ bytes\\)"
fact "no HTML in the output" sh -c "! grep -qi '<html' '$OUT'"
fact "report outcome not passed" test "$(outcome)" != passed
fault_row "Neon HTML error page (Cloudflare 524)"

# ---- an operation that ends "failed" -----------------------------------------
faults '[{"method":"GET","path":"/operations/","times":100,"action":"rewrite","sub":[["\"status\": *\"[a-z_]+\"","\"status\":\"failed\""],["\"failures_count\": *[0-9]+","\"failures_count\":1,\"error\":\"compute node failed to start\""]]}]'
drill create --var branch=op-failed
fact_exit 3 "$RC"
fact_msg "names the operation, its action and Neon's error" "$OUT" "neon: operation [^ ]+ \\([a-z_]+\\) failed: compute node failed to start"
fact "report outcome not passed" test "$(outcome)" != passed
fact "later steps not run" after_skipped
fault_row "Neon operation ending failed"

# ---- a branch endpoint that never becomes reachable --------------------------
# a port that completes TCP handshakes and never answers: libpq's
# connect_timeout, not a quick refusal, has to end the wait
HOLE=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(600)' "$HOLE" &
HOLE_PID=$!
# on a loaded machine python may not listen yet: a refusal would test the wrong fault
for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$HOLE") 2>/dev/null && break
    sleep 0.05
done
faults "[{\"method\":\"POST\",\"path\":\"$BRANCHES_PATH\",\"times\":1,\"action\":\"rewrite\",\"sub\":[[\"@127\\\\.0\\\\.0\\\\.1:[0-9]+\",\"@127.0.0.1:$HOLE\"]]},
         {\"path\":\"/connection_uri\",\"times\":5,\"action\":\"rewrite\",\"sub\":[[\"@127\\\\.0\\\\.0\\\\.1:[0-9]+\",\"@127.0.0.1:$HOLE\"]]}]"
t0=$(date +%s)
drill reach --var branch=unreachable
fact_exit 3 "$RC"
fact_msg "names the check, the endpoint and the timeout" "$OUT" "branch-reachable.*127\\.0\\.0\\.1:$HOLE.*timeout expired"
fact "gave up within 30 s" test $(($(date +%s) - t0)) -lt 30
fact "report outcome not passed" test "$(outcome)" != passed
fact "later steps not run" after_skipped
fact "no password in the output" sh -c "! grep -q 'postgres\\(ql\\)\\?://[^ *]*:[^ *@]*[^*]@' '$OUT'"
fault_row "Neon branch endpoint never reachable"

faults '[]'
contract_check 20
key_check
done_testing
