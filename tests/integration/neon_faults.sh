#!/bin/bash
# Faults a real Neon produces but the sandbox does not, injected by the
# validating proxy in front of it: 423 then success, 429 with Retry-After, a
# 503 storm beyond the retry budget, dropped connections and Cloudflare's
# HTML 524, for reads and for mutations (which must not be retried blindly).
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup faults
export PGDRILL_TEST_NEON_BACKOFF=0.05 # keep the retry storms short
LOCKED="project already has running conflicting operations, scheduling of new ones is prohibited"
PROJECT_PATH="/projects/$NEON_PROJECT_ID\$"

faults() { printf '%s\n' "$1" >"$FAULTS"; }

MAIN_ID=$("$NT" cli branches 2>/dev/null | sed -n 's/^branch=\([^ ]*\) main .*/\1/p')

# 423 twice, then the real answer
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":2,\"status\":423,\"message\":\"$LOCKED\"}]"
before=$(seen GET "$PROJECT_PATH")
if "$NT" cli project >"$W/out.423" 2>"$W/err.423" && [ "$(field id "$W/out.423")" = "$NEON_PROJECT_ID" ] &&
    [ $(($(seen GET "$PROJECT_PATH") - before)) = 3 ]; then
    ok "423 then success: two locked answers retried, the third request succeeds"
else
    notok "423 then success"
    sed 's/^/# /' "$W/err.423"
fi

# 429 with Retry-After: 2 is waited for, not the short backoff
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":1,\"status\":429,\"retry_after\":\"2\",\"message\":\"rate limit exceeded\"}]"
t0=$(date +%s.%N)
if "$NT" cli project >"$W/out.429" 2>"$W/err.429"; then
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    if awk -v t="$took" 'BEGIN { exit !(t >= 2) }'; then
        ok "429 with Retry-After: 2 waited ${took}s, then succeeded"
    else
        notok "429: retried after ${took}s, before Retry-After"
    fi
else
    notok "429 with Retry-After"
    sed 's/^/# /' "$W/err.429"
fi

# a 503 storm beyond the budget: a clear error, exit 3
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":100,\"status\":503,\"message\":\"service unavailable\"}]"
before=$(seen GET "$PROJECT_PATH")
"$NT" cli project >"$W/out.503" 2>"$W/err.503"
rc=$?
if [ $rc = 3 ] && grep -q "^error: neon: GET /projects/$NEON_PROJECT_ID: HTTP 503: service unavailable (request_id [0-9a-f-]*); gave up after 6 attempts in [0-9.]*s$" "$W/err.503" &&
    [ $(($(seen GET "$PROJECT_PATH") - before)) = 6 ]; then
    ok "503 storm: gives up after 6 attempts with status, message and request id (exit 3)"
else
    notok "503 storm (rc=$rc)"
    sed 's/^/# /' "$W/err.503"
fi

# a mutation is retried on 503 (always safe) and succeeds
faults "[{\"method\":\"PATCH\",\"path\":\"/branches/\",\"times\":1,\"status\":503,\"message\":\"service unavailable\"}]"
before=$(seen PATCH /branches/)
if "$NT" cli rename "$MAIN_ID" main >"$W/out.p503" 2>"$W/err.p503" &&
    [ $(($(seen PATCH /branches/) - before)) = 2 ]; then
    ok "503 on a mutation: retried once, then applied"
else
    notok "503 on a mutation"
    sed 's/^/# /' "$W/err.p503"
fi

# dropped connection: a read is retried, a mutation is not (it may have been applied)
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":1,\"action\":\"drop\"},
         {\"method\":\"PATCH\",\"path\":\"/branches/\",\"times\":1,\"action\":\"drop\"}]"
check "dropped connection on a read: retried, then succeeds" quiet "$NT" cli project
before=$(seen PATCH /branches/)
"$NT" cli rename "$MAIN_ID" main >/dev/null 2>"$W/err.drop"
rc=$?
if [ $rc = 3 ] && grep -q "^error: neon: PATCH /projects/$NEON_PROJECT_ID/branches/$MAIN_ID: http: PATCH http://127.0.0.1:$PROXY_PORT/api/v2/projects/$NEON_PROJECT_ID/branches/$MAIN_ID: connection dropped (empty reply from server)$" "$W/err.drop" &&
    [ $(($(seen PATCH /branches/) - before)) = 1 ]; then
    ok "dropped connection on a mutation: not retried, clear error (exit 3)"
else
    notok "dropped connection on a mutation (rc=$rc)"
    sed 's/^/# /' "$W/err.drop"
fi

# Cloudflare's HTML 524: an error naming the status, never a crash
faults "[{\"method\":\"GET\",\"path\":\"$PROJECT_PATH\",\"times\":100,\"action\":\"html\",\"status\":524}]"
"$NT" cli project >/dev/null 2>"$W/err.524"
rc=$?
if [ $rc = 3 ] && grep -q "^error: neon: GET /projects/$NEON_PROJECT_ID: HTTP 524: non-json body (text/html, [0-9]* bytes) (request_id [0-9a-f-]*); gave up after 6 attempts in" "$W/err.524"; then
    ok "html 524 on a read: retried, then a clear error (exit 3)"
else
    notok "html 524 on a read (rc=$rc)"
    sed 's/^/# /' "$W/err.524"
fi
faults "[{\"method\":\"PATCH\",\"path\":\"/branches/\",\"times\":1,\"action\":\"html\",\"status\":524}]"
before=$(seen PATCH /branches/)
"$NT" cli rename "$MAIN_ID" main >/dev/null 2>"$W/err.p524"
rc=$?
if [ $rc = 3 ] && grep -q "HTTP 524: non-json body (text/html, " "$W/err.p524" &&
    ! grep -q "gave up" "$W/err.p524" && [ $(($(seen PATCH /branches/) - before)) = 1 ]; then
    ok "html 524 on a mutation: not retried (exit 3)"
else
    notok "html 524 on a mutation (rc=$rc)"
    sed 's/^/# /' "$W/err.p524"
fi

faults '[]'
NEON_API_KEY=napi_wrong_key_0123456789 "$NT" cli project >/dev/null 2>"$W/err.401"
rc=$?
if [ $rc = 3 ] && grep -q "^error: neon: GET /projects/$NEON_PROJECT_ID: HTTP 401: authentication required: send Authorization: Bearer <api key> (request_id [0-9a-f-]*); check NEON_API_KEY$" "$W/err.401" &&
    ! grep -q napi_wrong_key "$W/err.401"; then
    ok "wrong key: 401 from the sandbox, a clear error without the key (exit 3)"
else
    notok "wrong key (rc=$rc)"
    sed 's/^/# /' "$W/err.401"
fi
check "after the faults the sandbox still answers" quiet "$NT" cli project
contract_check 20
key_check
done_testing
