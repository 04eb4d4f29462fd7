#!/bin/bash
# pgdrill doctor against the sandbox Neon server, s3rver (behind the
# signature-checking proxy) and the test PostgreSQL: all ok exits 0; then
# each problem doctor detects, one at a time, is a FAIL line saying what to
# do and exit 1: $PGDRILL_HOME readable by others, a pg_dump older than the
# server (a fake pg_dump on PGDRILL_PG_DUMP: a fault no real server makes),
# no pg_dump at all, PostgreSQL, Neon and S3 unreachable, a missing bucket,
# and a clock 2 hours off S3's (tests/tools/fake_http.py as the S3 endpoint,
# its Date header shifted). No secret reaches the output.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/verify_lib.sh"
# shellcheck source=tests/integration/audit_lib.sh
. "$(dirname "$0")/audit_lib.sh"

verify_setup doctor
export DATABASE_URL=$CARE_URL
mkdir -p "$PGDRILL_HOME" && chmod 700 "$PGDRILL_HOME"
FAKE_PID=""
trap 'neon_teardown; s3_teardown; [ -z "$FAKE_PID" ] || { kill "$FAKE_PID"; wait "$FAKE_PID"; } 2>/dev/null' EXIT

# doctor [VAR=VALUE...]: run it with those settings; output in $OUT, exit code in $RC
doctor() {
    OUT=$(env PGDRILL_TEST_NEON_ATTEMPTS=1 PGDRILL_TEST_S3_BACKOFF=0.01 "$@" "$PGDRILL_BIN" doctor 2>&1)
    RC=$?
}

# a port nothing listens on
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

like "$("$PGDRILL_BIN" doctor --help)" "^usage: pgdrill doctor" "doctor --help: its usage"
"$PGDRILL_BIN" doctor --bogus >/dev/null 2>&1
is "$?" 2 "doctor: an unknown argument is a usage error"

doctor
is "$RC" 0 "doctor: all ok exits 0"
[ "$RC" = 0 ] || diag "$OUT"
like "$OUT" "ok    home         $PGDRILL_HOME has mode 0700" "doctor: home is 0700"
like "$OUT" "ok    postgres     postgres://127.0.0.1:[0-9]+/care_commons: PostgreSQL 15\." "doctor: postgres reached, its version"
like "$OUT" "ok    pg_dump      pg_dump \(PostgreSQL\) 15\.[0-9]+.* \(the server is PostgreSQL 15\)" "doctor: pg_dump's major against the server's"
like "$OUT" "ok    psql         psql \(PostgreSQL\) 15" "doctor: psql and its version"
like "$OUT" "ok    neon         $NEON_API_HOST/projects/$NEON_PROJECT_ID: project .*, PostgreSQL 15, history window" "doctor: Neon reached"
like "$OUT" "ok    credentials  AWS: environment, does not expire, region us-east-1, endpoint $S3EP" "doctor: where the AWS keys come from, and that they do not expire"
like "$OUT" "ok    credentials  Neon: NEON_API_KEY from the environment" "doctor: where the Neon key comes from"
like "$OUT" "ok    s3           s3://$BUCKET answers" "doctor: the bucket answers"
like "$OUT" "ok    clock        within [0-9]+ s of S3's Date header" "doctor: the clock agrees with S3's"
if grep -qF -e "$S3SECRET" -e "$NEON_API_KEY" <<<"$OUT"; then
    not_ok "doctor: no secret in the output"
else
    ok "doctor: no secret in the output"
fi
is "$(audit_show "$PGDRILL_HOME/audit.log" | cut -d' ' -f1-3)" "doctor.postgres postgres://127.0.0.1:$(sed -n 's|.*127\.0\.0\.1:\([0-9]*\)/.*|\1|p' <<<"$CARE_URL")/care_commons ok
doctor.neon $NEON_API_HOST/projects/$NEON_PROJECT_ID ok
doctor.s3 s3://$BUCKET ok" "doctor: each request is in the audit log"

chmod 755 "$PGDRILL_HOME"
doctor
is "$RC" 1 "doctor: a home readable by others exits 1"
like "$OUT" "FAIL  home         $PGDRILL_HOME has mode 0755: .*: chmod go-rw $PGDRILL_HOME" \
    "doctor: says to take read and write from others, keeping search"
chmod 744 "$PGDRILL_HOME"
doctor
like "$OUT" "FAIL  home         $PGDRILL_HOME has mode 0744: .*: chmod 700 $PGDRILL_HOME" \
    "doctor: readable without search: says to chmod 700"
# search alone lists nothing; the sandbox run as root sets it for its PostgreSQL
# user, whose WAL archiving breaks without it
chmod 701 "$PGDRILL_HOME"
doctor
is "$RC" 0 "doctor: a home with mode 0701 (search only, as sandbox up leaves it) exits 0"
like "$OUT" "ok    home         $PGDRILL_HOME has mode 0701" "doctor: home 0701 is ok"
chmod 700 "$PGDRILL_HOME"
touch "$W/home-file"
doctor PGDRILL_HOME="$W/home-file"
is "$RC" 1 "doctor: a home that is not a directory exits 1"
like "$OUT" "FAIL  home         $W/home-file is not a directory: set PGDRILL_HOME to a directory" "doctor: says so"

printf '#!/bin/sh\necho "pg_dump (PostgreSQL) 14.9"\n' >"$W/pg_dump14"
chmod +x "$W/pg_dump14"
doctor PGDRILL_PG_DUMP="$W/pg_dump14"
is "$RC" 1 "doctor: a pg_dump older than the server exits 1"
like "$OUT" "FAIL  pg_dump      $W/pg_dump14 is pg_dump \(PostgreSQL\) 14\.9, older than the server's major 15, which it cannot dump: install postgresql-client-15" \
    "doctor: names both majors and the package"
doctor PGDRILL_PG_DUMP="$W/no-such-pg_dump"
is "$RC" 1 "doctor: no pg_dump exits 1"
like "$OUT" "FAIL  pg_dump      cannot start $W/no-such-pg_dump: .*: install postgresql-client" "doctor: says to install it"

doctor DATABASE_URL="postgresql://pgdrill:secret-pw@127.0.0.1:$CLOSED/care_commons"
is "$RC" 1 "doctor: PostgreSQL unreachable exits 1"
like "$OUT" "FAIL  postgres     .*127\.0\.0\.1.*$CLOSED.*: check DATABASE_URL" "doctor: names the server and what to check"
unlike "$OUT" "secret-pw" "doctor: the password stays out of the message"

doctor NEON_API_HOST="http://127.0.0.1:$CLOSED/api/v2"
is "$RC" 1 "doctor: Neon unreachable exits 1"
like "$OUT" "FAIL  neon         neon: GET .*127\.0\.0\.1:$CLOSED.*: check NEON_API_HOST" "doctor: names Neon's host and what to check"

doctor AWS_ENDPOINT_URL_S3="http://127.0.0.1:$CLOSED"
is "$RC" 1 "doctor: S3 unreachable exits 1"
like "$OUT" "FAIL  s3           s3: HEAD s3://$BUCKET: .*127\.0\.0\.1 port $CLOSED.*: check the bucket" "doctor: names the endpoint"
like "$OUT" "skip  clock        S3 sent no Date header" "doctor: no clock comparison without an answer"

doctor PGDRILL_BACKUP_URI=s3://no-such-bucket-here
is "$RC" 1 "doctor: a missing bucket exits 1"
like "$OUT" "FAIL  s3           s3: HEAD s3://no-such-bucket-here.*404" "doctor: the bucket is not there"

python3 "$TOP/tests/tools/fake_http.py" --date-offset 7200 >"$W/fake.log" 2>&1 &
FAKE_PID=$!
FPORT=$(wait_listen "$W/fake.log" "$FAKE_PID") || { notok "setup: fake_http.py did not start"; exit 1; }
doctor AWS_ENDPOINT_URL_S3="http://127.0.0.1:$FPORT"
is "$RC" 1 "doctor: a clock 2 h off S3's exits 1"
like "$OUT" "ok    s3           s3://$BUCKET answers" "doctor: (the skewed endpoint answers)"
like "$OUT" "FAIL  clock        this clock is 7[12][0-9][0-9] s behind S3's \(more than 60 s\): .*synchronise it" \
    "doctor: names the skew and what to do"

done_testing
