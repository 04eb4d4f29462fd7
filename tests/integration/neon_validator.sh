#!/bin/bash
# The contract checker has teeth: a response breaking the spec in known ways
# is rejected with exactly those violations, a conforming one passes, and bad
# requests (wrong enum, bad date-time, missing query parameter) are caught.
set -u
TOP=${PGDRILL_TOP:?PGDRILL_TOP is not set}
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
CHK=$TOP/tests/contract/openapi_check.py
SPEC=$TOP/tests/contract/neon-api-v2.json
FIX=$TOP/tests/fixtures/neon

out=$(python3 "$CHK" "$SPEC" GET /api/v2/projects/p/branches/b 200 "$FIX/bad-branch-response.json")
rc=$?
want="GET /projects/{project_id}/branches/{branch_id} response 200 \$.branch: missing required property 'protected'
GET /projects/{project_id}/branches/{branch_id} response 200 \$.branch.id: 'BR_UPPER' does not match ^[a-z0-9-]{1,60}\$
GET /projects/{project_id}/branches/{branch_id} response 200 \$.branch.state_changed_at: 'yesterday' is not a date-time
GET /projects/{project_id}/branches/{branch_id} response 200 \$.branch.default: expected boolean, got str
GET /projects/{project_id}/branches/{branch_id} response 200 \$.annotation.value.k: expected string, got int"
if [ $rc = 1 ] && [ "$out" = "$want" ]; then
    ok "validator: a non-conforming branch response is rejected with each violation"
else
    not_ok "validator: bad response (rc=$rc)"
    printf '%s\n' "$out" | sed 's/^/# /'
fi

if python3 "$CHK" "$SPEC" GET /api/v2/projects/p/branches/b 200 "$FIX/good-branch-response.json" >/dev/null; then
    ok "validator: the spec's own example branch passes"
else
    not_ok "validator: good response rejected"
fi

out=$(cd "$TOP/tests/contract" && python3 - "$SPEC" <<'PY'
import sys
import openapi_check as oc
s = oc.Spec(sys.argv[1])
for e in s.check_request("POST", "/api/v2/projects/p/branches", {},
                         b'{"branch":{"parent_timestamp":"2024-01-01 00:00"},"endpoints":[{"type":"rw"}]}'):
    print(e)
for e in s.check_request("GET", "/api/v2/projects/p/connection_uri", {"database_name": ["d"], "x": ["1"]}, b""):
    print(e)
for e in s.check_request("POST", "/api/v2/projects/p/branches/b/restore", {}, b""):
    print(e)
for e in s.check_response("DELETE", "/api/v2/projects/p/branches/b", 423, "text/html", b"<html>"):
    print(e)
for e in s.check_response("GET", "/api/v2/projects/p/operations/o", 200, "application/json",
                          b'{"operation":{"id":"nope","project_id":"p","action":"create_branch","status":"done",'
                          b'"failures_count":0,"created_at":"2026-11-26T04:00:00Z","updated_at":"2026-11-26T04:00:00Z",'
                          b'"total_duration_ms":1}}'):
    print(e)
PY
)
want="POST /projects/{project_id}/branches request \$.endpoints[0].type: 'rw' is not one of ['read_only', 'read_write']
POST /projects/{project_id}/branches request \$.branch.parent_timestamp: '2024-01-01 00:00' is not a date-time
GET /projects/{project_id}/connection_uri request: unknown query parameter 'x'
GET /projects/{project_id}/connection_uri request: missing required query parameter 'role_name'
POST /projects/{project_id}/branches/{branch_id}/restore request: body is required
DELETE /projects/{project_id}/branches/{branch_id} response 423: content type 'text/html' is not application/json
GET /projects/{project_id}/operations/{operation_id} response 200 \$.operation.id: 'nope' is not a uuid
GET /projects/{project_id}/operations/{operation_id} response 200 \$.operation.status: 'done' is not one of ['scheduling', 'running', 'finished', 'failed', 'error', 'cancelling', 'cancelled', 'skipped']"
if [ "$out" = "$want" ]; then
    ok "validator: bad requests (enum, date-time, query parameters, missing body) and bad responses are caught"
else
    not_ok "validator: request checks"
    diff <(printf '%s\n' "$want") <(printf '%s\n' "$out") | sed 's/^/# /'
fi

# the copy of /work/shared/neon/neon-api-v2.json (api-client 2.7.3), unchanged
if [ "$(sha256sum <"$SPEC" | cut -d' ' -f1)" = 03801bc6ea442b826333cf1d8fb12228595795fe2b760d239055fb15b4b2572f ] &&
    [ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["openapi"], len(d["paths"]), len(d["components"]["schemas"]))' "$SPEC")" = "3.0.3 111 249" ]; then
    ok "spec: the official document (openapi 3.0.3, 111 paths, 249 schemas)"
else
    not_ok "spec: unexpected document"
fi
done_testing
