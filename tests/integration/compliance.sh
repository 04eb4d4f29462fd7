#!/bin/bash
# The HIPAA compliance checks against real pieces: s3rver behind the
# signature-checking s3-proxy, the sandbox Neon server and PostgreSQL.
#   - encryption at rest: one backup uploaded by awscli without SSE makes
#     compliance.backups-encrypted-at-rest fail naming it (pgdrill verify and
#     the monthly runbook's report); re-uploaded with SSE it passes;
#   - retention: 90 days (the default) is flagged, 2600 passes, also from the
#     config file;
#   - TLS: loopback endpoints are exempt; S3 reached at a non-loopback
#     address of this machine over https (a certificate for that address,
#     trusted through AWS_CA_BUNDLE) is recorded with TLS and passes;
#   - plain http to a non-loopback host is refused naming the override; with
#     PGDRILL_ALLOW_PLAIN_HTTP=1 it goes through, every connection warns on
#     stderr naming the host, the tls check fails and the audit log names it;
#   - PostgreSQL at a non-loopback address defaults to sslmode=require: a
#     server without SSL is refused, with SSL the session is recorded as TLS.
# The non-loopback address is one of this machine's own (hostname -I), reached
# through a small TCP forwarder because the servers listen on loopback only.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/verify_lib.sh"

verify_setup compliance
B=$PGDRILL_BIN
export PGDRILL_OPERATOR=compliance-test
unset PGDRILL_RETENTION_DAYS PGDRILL_ALLOW_PLAIN_HTTP

# A non-loopback IPv4 address of this machine: the test cannot be made without one.
ADDR=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -1)
if [ -z "$ADDR" ]; then
    notok "setup: this machine has no non-loopback IPv4 address (hostname -I): the TLS and plain-http tests need one"
    exit 1
fi
ok "setup: non-loopback address of this machine: $ADDR"

# forward ADDR:0 -> 127.0.0.1:PORT; prints the port it listens on
cat >"$W/forward.py" <<'PY'
import socket, sys, threading
listen, target = sys.argv[1], int(sys.argv[2])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((listen, 0))
srv.listen(16)
print("forwarding on %s:%d" % (listen, srv.getsockname()[1]), flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
PY
EXTRA_PIDS=()
forward() { # TARGET_PORT NAME -> sets FPORT
    python3 "$W/forward.py" "$ADDR" "$1" >"$W/fwd-$2.log" 2>&1 &
    EXTRA_PIDS+=($!)
    FPORT=
    for _ in $(seq 1 50); do
        FPORT=$(sed -n 's/^forwarding on .*:\([0-9]*\)$/\1/p' "$W/fwd-$2.log" 2>/dev/null)
        [ -n "$FPORT" ] && return 0
        sleep 0.1
    done
    notok "setup: forwarder $2 did not start"
    exit 1
}
stop_all() {
    local p
    for p in "${EXTRA_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    neon_teardown
    s3_teardown
}
trap stop_all EXIT

pg_dump --no-owner "$SRC_URL" | gzip -6 >"$W/dump.sql.gz" || { notok "pg_dump of care_commons"; exit 1; }
OLD=weekly/care-commons-backup-$(stamp 3).sql.gz
PLAIN=weekly/care-commons-backup-$(stamp 2).sql.gz
NEW=weekly/care-commons-backup-$(stamp 0).sql.gz
upload_backup "$OLD" "$W/dump.sql.gz"
upload_backup "$NEW" "$W/dump.sql.gz"
# the same object, but uploaded without server-side encryption
aws s3 cp "$W/dump.sql.gz" "s3://$BUCKET/$PLAIN" --only-show-errors \
    --metadata "sha256=$(sha256sum "$W/dump.sql.gz" | cut -d' ' -f1)"
is "$(aws s3api head-object --bucket "$BUCKET" --key "$PLAIN" --query ServerSideEncryption --output text)" None \
    "setup: awscli sees no encryption on $PLAIN"
is "$(aws s3api head-object --bucket "$BUCKET" --key "$NEW" --query ServerSideEncryption --output text)" AES256 \
    "setup: awscli sees AES256 on $NEW"

cget() { json_eval "$1" "next((c['$3'] for c in d['compliance'] if c['name'] == '$2'), 'missing')"; }

# ---- encryption at rest, pgdrill verify -------------------------------------------------------
"$B" verify --json >"$W/v1.json" 2>"$W/v1.err"
is "$?" 1 "encryption: verify exits 1 when a backup is not encrypted"
is "$(cget "$W/v1.json" backups-encrypted-at-rest status)" failed "encryption: verify --json: failed"
is "$(cget "$W/v1.json" backups-encrypted-at-rest detail)" \
    "1 of 3 backup objects seen not encrypted at rest: s3://$BUCKET/$PLAIN" \
    "encryption: the unencrypted object is named, the others are not"
is "$(json_eval "$W/v1.json" '[c["status"] for c in d["checks"]]')" '["pass", "pass", "pass", "pass", "pass"]' \
    "encryption: the checklist itself still passes"
is "$(cget "$W/v1.json" retention-meets-7-years status)" flagged "retention: 90 days (default) is flagged"
like "$(cget "$W/v1.json" retention-meets-7-years detail)" \
    "^weekly keeps 90 days, pre-migration keeps 90 days, pre-release keeps 90 days: shorter than the 7 years \(2557 days\) .*configure a long-term archive" \
    "retention: the flag names the classes, their days and where an archive is needed"
is "$(cget "$W/v1.json" tls-outside-loopback status)" passed "tls: only loopback endpoints: passed"
like "$(cget "$W/v1.json" tls-outside-loopback detail)" \
    "^no service outside loopback was contacted; loopback, exempt: .*http://127\.0\.0\.1:$S3PPORT" \
    "tls: the loopback S3 endpoint is listed as exempt"
sed -n '/"compliance"/,/^\t\]/p' "$W/v1.json" | sed 's/^/# /'

"$B" verify >"$W/v1.txt" 2>&1
is "$?" 1 "encryption: verify (text) exits 1"
like "$(cat "$W/v1.txt")" "fail  compliance\.backups-encrypted-at-rest: 1 of 3 backup objects seen not encrypted at rest: s3://$BUCKET/$PLAIN" \
    "encryption: the text output names it"
like "$(cat "$W/v1.txt")" "flag  compliance\.retention-meets-7-years: weekly keeps 90 days" "retention: flagged in text"
is "$(tail -2 "$W/v1.txt" | tr '\n' '|')" "compliance: 1 passed, 1 failed, 1 flagged|verification FAILED: 1 compliance check failed|" \
    "verify: the compliance summary and the verdict"

# ---- the monthly runbook: report.json and report.md -------------------------------------------
"$B" run "$TOP/runbooks/monthly-verification.md" --yes >"$W/rb1.out" 2>&1
is "$?" 1 "monthly runbook: exit 1 with an unencrypted backup"
R=$(last_path "$PGDRILL_HOME"/drills/*monthly-verification)/report.json
M=${R%.json}.md
is "$(json_get "$R" compliance.verdict)" failed "monthly report: compliance verdict failed"
is "$(json_get "$R" 'compliance.checks[name=compliance.backups-encrypted-at-rest].status')" failed \
    "monthly report: encryption failed"
is "$(json_get "$R" 'compliance.checks[name=compliance.backups-encrypted-at-rest].detail')" \
    "1 of 3 backup objects seen not encrypted at rest: s3://$BUCKET/$PLAIN" \
    "monthly report: the unencrypted key is named"
is "$(json_get "$R" 'compliance.checks[name=compliance.retention-meets-7-years].status')" flagged \
    "monthly report: retention flagged"
is "$(json_get "$R" 'checks[name=compliance.retention-meets-7-years].status')" flagged \
    "monthly report: checks[] says flagged too"
is "$(json_get "$R" 'stages[id=compliance].steps[id=compliance/3].status')" passed \
    "monthly report: the flagged step itself passed"
like "$(cat "$M")" "## Compliance" "monthly report.md: a Compliance section"
like "$(cat "$M")" "\| compliance\.backups-encrypted-at-rest \| FAILED \| 1 of 3 backup objects seen not encrypted at rest: s3://$BUCKET/$PLAIN \|" \
    "monthly report.md: the failed check and the key"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"compliance".*"check":"backups-encrypted-at-rest".*"outcome":"failed: ' \
    "monthly runbook: the compliance step is audited"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["compliance"], indent=1))' "$R" |
    sed 's/^/# report.json compliance: /'

# ---- encrypted again, retention long enough: everything passes ----------------------------------
upload_backup "$PLAIN" "$W/dump.sql.gz"
PGDRILL_RETENTION_DAYS=2600 "$B" verify --json >"$W/v2.json" 2>&1
is "$?" 0 "encryption: all encrypted and 2600 days: verify exits 0"
is "$(cget "$W/v2.json" backups-encrypted-at-rest status)" passed "encryption: passed once re-uploaded with SSE"
is "$(cget "$W/v2.json" backups-encrypted-at-rest detail)" "3 backup objects seen, all encrypted at rest (AES256)" \
    "encryption: the detail"
is "$(cget "$W/v2.json" retention-meets-7-years status)" passed "retention: 2600 days passes"
is "$(cget "$W/v2.json" retention-meets-7-years detail)" \
    "weekly keeps 2600 days, pre-migration keeps 2600 days, pre-release keeps 2600 days: at least 7 years (2557 days)" \
    "retention: the detail"
mkdir -p "$W/xdg/pgdrill"
printf 'retention_days = 2600\nretention_days.pre-release = 30\n' >"$W/xdg/pgdrill/config"
XDG_CONFIG_HOME=$W/xdg "$B" verify --json >"$W/v3.json" 2>&1
is "$(cget "$W/v3.json" retention-meets-7-years detail | cut -d: -f1)" "pre-release keeps 30 days" \
    "retention: read from the config file, per class"
PGDRILL_RETENTION_DAYS=2600 "$B" run "$TOP/runbooks/monthly-verification.md" --yes >"$W/rb2.out" 2>&1
is "$?" 0 "monthly runbook: exit 0 when every compliance check passes"
R2=$(last_path "$PGDRILL_HOME"/drills/*monthly-verification)/report.json
is "$(json_get "$R2" compliance.verdict)" passed "monthly report: compliance verdict passed"

# ---- TLS to a non-loopback S3 endpoint -------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$ADDR" -addext "subjectAltName=IP:$ADDR" \
    -keyout "$W/tls-key.pem" -out "$W/tls-cert.pem" >/dev/null 2>&1
/usr/bin/python3 "$S3SB/s3-proxy.py" --upstream "127.0.0.1:$S3PORT" --data-dir "$W/s3data" \
    --access-key S3RVER --secret "$S3SECRET" --tls-cert "$W/tls-cert.pem" --tls-key "$W/tls-key.pem" \
    >"$W/s3proxy-tls.log" 2>&1 &
EXTRA_PIDS+=($!)
TLSPORT=$(wait_listen "$W/s3proxy-tls.log" "$!") || { notok "setup: tls s3-proxy"; exit 1; }
forward "$TLSPORT" tls
TLS_FPORT=$FPORT
AWS_ENDPOINT_URL_S3=https://$ADDR:$TLS_FPORT AWS_CA_BUNDLE=$W/tls-cert.pem PGDRILL_RETENTION_DAYS=2600 \
    "$B" verify --json >"$W/tls.json" 2>"$W/tls.err"
is "$?" 0 "tls: verify through https://$ADDR:$TLS_FPORT exits 0"
is "$(cget "$W/tls.json" tls-outside-loopback status)" passed "tls: a non-loopback https endpoint passes"
like "$(cget "$W/tls.json" tls-outside-loopback detail)" \
    "^TLS for every endpoint outside loopback: https://$ADDR:$TLS_FPORT; loopback, exempt: http://127\.0\.0\.1:[0-9]+" \
    "tls: the https endpoint is recorded with TLS, the loopback Neon API as exempt"
AWS_ENDPOINT_URL_S3=https://$ADDR:$TLS_FPORT "$B" verify --skip-neon >"$W/tls-noca.out" 2>&1
is "$?" 3 "tls: without the CA the certificate is refused (exit 3)"
like "$(cat "$W/tls-noca.out")" "certificate" "tls: the refusal says why"

# ---- plain http to a non-loopback host --------------------------------------------------------
forward "$S3PPORT" plain
PL_FPORT=$FPORT
AWS_ENDPOINT_URL_S3=http://$ADDR:$PL_FPORT "$B" verify --skip-neon >"$W/pl1.out" 2>&1
is "$?" 2 "plain http: refused without the override (exit 2)"
is "$(cat "$W/pl1.out")" "pgdrill: s3: endpoint 'http://$ADDR:$PL_FPORT' uses plain http; only loopback hosts may, use https:// (or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)" \
    "plain http: the refusal names the override"
PGDRILL_ALLOW_PLAIN_HTTP=1 AWS_ENDPOINT_URL_S3=http://$ADDR:$PL_FPORT PGDRILL_RETENTION_DAYS=2600 \
    "$B" verify --skip-neon --json >"$W/pl2.json" 2>"$W/pl2.err"
is "$?" 1 "plain http: with the override the checks run, and verify fails on TLS"
like "$(head -1 "$W/pl2.err")" "WARNING: plain http to non-loopback host $ADDR:$PL_FPORT \(PGDRILL_ALLOW_PLAIN_HTTP is set\): the connection is not encrypted" \
    "plain http: a warning on stderr names the host"
check "plain http: the secret key is not on stderr" bash -c "! grep -qF '$S3SECRET' '$W/pl2.err'"
is "$(cget "$W/pl2.json" tls-outside-loopback status)" failed "plain http: tls-outside-loopback fails"
is "$(cget "$W/pl2.json" tls-outside-loopback detail)" \
    "without TLS outside loopback: http://$ADDR:$PL_FPORT (PGDRILL_ALLOW_PLAIN_HTTP)" \
    "plain http: the endpoint is named"
# the Neon client (core/http) too: plain http to a non-loopback API host
forward "$PROXY_PORT" neon
NEON_FPORT=$FPORT
NEON_API_HOST=http://$ADDR:$NEON_FPORT/api/v2 "$B" verify --list-only >"$W/pl3.out" 2>&1
is "$?" 3 "plain http (neon): refused without the override: the neon check cannot run (exit 3)"
like "$(cat "$W/pl3.out")" "plain http is allowed only for loopback hosts \(use https, or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override\)" \
    "plain http (neon): the refusal names the override"
PGDRILL_ALLOW_PLAIN_HTTP=1 NEON_API_HOST=http://$ADDR:$NEON_FPORT/api/v2 "$B" verify --list-only --json \
    >"$W/pl4.json" 2>"$W/pl4.err"
is "$(json_eval "$W/pl4.json" 'd["checks"][0]["status"]')" pass "plain http (neon): with the override the Neon check runs"
like "$(cat "$W/pl4.err")" "WARNING: plain http to non-loopback host $ADDR \(PGDRILL_ALLOW_PLAIN_HTTP is set\)" \
    "plain http (neon): the warning names the host"
is "$(grep -c 'WARNING: plain http' "$W/pl4.err")" "$(grep -c . "$W/pl4.err")" "plain http (neon): stderr holds only the warnings"
like "$(cget "$W/pl4.json" tls-outside-loopback detail)" "^without TLS outside loopback: http://$ADDR:$NEON_FPORT \(PGDRILL_ALLOW_PLAIN_HTTP\)" \
    "plain http (neon): tls-outside-loopback names the Neon endpoint"
check "plain http (neon): the API key is not on stderr" bash -c "! grep -qF '$NEON_API_KEY' '$W/pl4.err'"
# the audit log: the monthly runbook's entries name the plain endpoint
PGDRILL_ALLOW_PLAIN_HTTP=1 AWS_ENDPOINT_URL_S3=http://$ADDR:$PL_FPORT \
    "$B" run "$TOP/runbooks/monthly-verification.md" --yes >"$W/rb3.out" 2>"$W/rb3.err"
is "$?" 1 "plain http: the monthly runbook fails (tls-outside-loopback)"
RB3=$(last_path "$PGDRILL_HOME"/drills/*monthly-verification)
RB3=${RB3##*/}
for a in s3.list s3.head s3.verify compliance; do
    like "$(grep "\"drill_id\":\"$RB3\".*\"action\":\"$a\"" "$PGDRILL_HOME/audit.log" | head -1)" \
        "\"plain_http\":\"http://$ADDR:$PL_FPORT\"" \
        "plain http: the audit entry of the $a step that used it names the endpoint"
done
like "$(grep "\"drill_id\":\"$RB3\".*\"action\":\"neon.project-get\"" "$PGDRILL_HOME/audit.log")" \
    '"args":\{[^}]*\},"outcome"' "plain http: the Neon step (over loopback) names none"
"$B" audit verify >"$W/audit.out" 2>&1
is "$?" 0 "plain http: the audit chain still verifies"

# ---- PostgreSQL outside loopback: sslmode=require by default ------------------------------------
forward "$(sed -n 's/.*@127\.0\.0\.1:\([0-9]*\)\/.*/\1/p' <<<"$SRC_URL")" pg
PG_FPORT=$FPORT
REMOTE_URL=$(sed "s/@127\.0\.0\.1:[0-9]*\//@$ADDR:$PG_FPORT\//" <<<"$SRC_URL")
cat >"$W/pgtls.md" <<'MD'
# PG TLS

```pgdrill
id: pg-tls
```

## Connect

```sql url=${DATABASE_URL}
SELECT 1 AS one
```

```compliance check=tls-outside-loopback
```
MD
DATABASE_URL=$REMOTE_URL "$B" run "$W/pgtls.md" --yes >"$W/pg1.out" 2>&1
is "$?" 3 "postgres: a non-loopback server without SSL is refused (sslmode=require by default)"
like "$(cat "$W/pg1.out")" "server does not support SSL, but SSL was required" "postgres: because SSL was required"
DATABASE_URL=$REMOTE_URL PGDRILL_RETENTION_DAYS=2600 "$B" backup --class pre-release --min-size 1000 \
    >"$W/bk1.out" 2>&1
is "$?" 1 "postgres: pg_dump (backup) to a non-loopback server without SSL fails"
like "$(cat "$W/bk1.out")" "pg_dump failed .*SSL was required" "postgres: pg_dump gets sslmode=require too"
# turn SSL on in the cluster (its files owned by the cluster's user) and try again
OWNER=$(stat -c %U "$W/pg/data" 2>/dev/null || stat -c %U "$W/pg")
cp "$W/tls-cert.pem" "$W/pg/server.crt" && cp "$W/tls-key.pem" "$W/pg/server.key"
chmod 600 "$W/pg/server.key" && chown "$OWNER" "$W/pg/server.crt" "$W/pg/server.key"
pgq "ALTER SYSTEM SET ssl_cert_file = '$W/pg/server.crt'" >/dev/null
pgq "ALTER SYSTEM SET ssl_key_file = '$W/pg/server.key'" >/dev/null
pgq "ALTER SYSTEM SET ssl = on" >/dev/null
pgq "SELECT pg_reload_conf()" >/dev/null
sleep 1
DATABASE_URL=$REMOTE_URL "$B" run "$W/pgtls.md" --yes >"$W/pg2.out" 2>&1
is "$?" 0 "postgres: with SSL on the server the drill runs"
R3=$(last_path "$PGDRILL_HOME"/drills/*pg-tls)/report.json
is "$(json_get "$R3" 'compliance.checks[name=compliance.tls-outside-loopback].detail')" \
    "TLS for every endpoint outside loopback: postgres://$ADDR:$PG_FPORT (sslmode=require, TLS in use)" \
    "postgres: recorded with sslmode=require and TLS in use"
DATABASE_URL=$REMOTE_URL PGDRILL_RETENTION_DAYS=2600 "$B" backup --class pre-release --min-size 1000 \
    >"$W/bk2.out" 2>&1
is "$?" 0 "postgres: with SSL on the server pg_dump (backup) succeeds"
DATABASE_URL="$REMOTE_URL?sslmode=disable" "$B" run "$W/pgtls.md" --yes >"$W/pg3.out" 2>&1
is "$?" 1 "postgres: sslmode=disable asked for outside loopback fails the tls check"
like "$(cat "$W/pg3.out")" "without TLS outside loopback: postgres://$ADDR:$PG_FPORT \(sslmode=disable, no TLS\)" \
    "postgres: the plain session is named"
pgq "ALTER SYSTEM RESET ssl" >/dev/null
pgq "SELECT pg_reload_conf()" >/dev/null

done_testing
