#!/bin/bash
# TLS verification is always on: the client refuses an HTTPS server whose
# certificate it cannot verify (self-signed, on loopback), and refuses plain
# http:// to anything but loopback before connecting.
set -u
TOP=${PGDRILL_TOP:?PGDRILL_TOP is not set}
BUILD_DIR=${PGDRILL_BUILD:-$TOP/build}
NT=$BUILD_DIR/tests/tools/neon_tool
W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/neon-tls.XXXX")
SRV_PID=""
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
export NEON_API_KEY=napi_tls_test_key_0123456789 NEON_PROJECT_ID=p

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$W/key.pem" -out "$W/cert.pem" >/dev/null 2>&1
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$TOP/tests/tools/fake_http.py" --port "$PORT" --tls "$W/cert.pem" "$W/key.pem" \
    --content-type application/json --body '{"project":{"id":"p"}}' >"$W/server.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 1 50); do
    curl -sk -o /dev/null "https://127.0.0.1:$PORT/" && break
    sleep 0.1
done
if curl -s --cacert "$W/cert.pem" "https://127.0.0.1:$PORT/x" | grep -q '"id":"p"'; then
    ok "setup: an https server with a self-signed certificate on loopback"
else
    not_ok "setup: https test server"
fi

NEON_API_HOST="https://127.0.0.1:$PORT/api/v2" PGDRILL_TEST_NEON_ATTEMPTS=1 "$NT" cli project >/dev/null 2>"$W/err"
rc=$?
if [ $rc = 3 ] && grep -q "^error: neon: GET /projects/p: http: GET https://127.0.0.1:$PORT/api/v2/projects/p: tls failure (SSL certificate problem: self-signed certificate); gave up after 1 attempt in [0-9.]*s$" "$W/err"; then
    ok "tls: an unverifiable certificate is refused, even on loopback (exit 3)"
else
    not_ok "tls: self-signed certificate accepted or wrong error (rc=$rc)"
    sed 's/^/# /' "$W/err"
fi

NEON_API_HOST="http://console.neon.tech/api/v2" "$NT" cli project >/dev/null 2>"$W/err2"
rc=$?
if [ $rc = 2 ] && grep -qx "error: neon: NEON_API_HOST: http: http://console.neon.tech/api/v2: plain http is allowed only for loopback hosts (use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)" "$W/err2"; then
    ok "plain http to a non-loopback host is refused before connecting (exit 2)"
else
    not_ok "plain http refused (rc=$rc)"
    sed 's/^/# /' "$W/err2"
fi
done_testing
