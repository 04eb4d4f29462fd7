#!/bin/bash
# pgdrill sandbox end to end, in a fresh PGDRILL_HOME: up with a small seed,
# status, env through eval (the database holds exactly the seeded visits,
# the Neon API answers with the key, the local S3 takes signed requests), a
# real point-in-time branch, up again (only what is missing starts), down
# (every recorded PID, the branch cluster included, is gone), up after down,
# and the failure paths: a busy port and a missing binary (exit 3, the
# service and its log named, nothing left running) and usage errors.
set -u
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"
require_env PGDRILL_TEST_WORK PGDRILL_BIN

VISITS=2000
H=$(mktemp -d "$PGDRILL_TEST_WORK/sb.XXXXXX")
SB=$H/sandbox
export PGDRILL_HOME=$H PGDRILL_SANDBOX_FAST=1
# a clean slate: no sandbox variables from the caller's shell
unset DATABASE_URL NEON_API_HOST NEON_API_KEY NEON_PROJECT_ID AWS_ENDPOINT_URL_S3 \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION PGDRILL_BACKUP_URI PGDRILL_ENVIRONMENT
HAVE_S3=0
[ -f "$PGDRILL_TOP/sandbox/s3-proxy.py" ] && HAVE_S3=1
HOLDER=
cleanup() {
    [ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
    "$PGDRILL_BIN" sandbox down --purge >/dev/null 2>&1
    rm -rf "$H"
}
trap cleanup EXIT

sb() { "$PGDRILL_BIN" sandbox "$@"; }

# the PIDs in `status` output (services and branch clusters)
status_pids() { awk '$2 == "running" && $3 ~ /^[0-9]+$/ {print $3} / branch .* running pid / {print $5}'; }

# none of the PIDs is alive (zombies count as gone)
all_gone() {
    local p st
    for p in "$@"; do
        st=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$p/stat" 2>/dev/null)
        [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] || return 1
    done
}

# processes that name the sandbox directory or run in it
sandbox_procs() {
    local p
    for p in /proc/[0-9]*; do
        grep -q '^State:[[:space:]]*Z' "$p/status" 2>/dev/null && continue
        if [[ $(readlink "$p/cwd" 2>/dev/null) == "$SB"* ]] ||
            tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -qF "$SB"; then
            printf '%s ' "${p#/proc/}"
        fi
    done
}

# ---- usage -------------------------------------------------------------------
# ARGS|MESSAGE: usage errors exit 2 and say why
while IFS='|' read -r args msg; do
    # shellcheck disable=SC2086
    out=$(sb $args 2>&1)
    is "$?" 2 "sandbox $args is a usage error (exit 2)"
    like "$out" "$msg" "  and says: $msg"
done <<'EOF_CASES'
up --visits 0|--visits '0' is not a whole number from 1 to 999999999
up --visits -3|--visits '-3' is not a whole number from 1 to 999999999
up --visits=12x|--visits '12x' is not a whole number from 1 to 999999999
up --visits|--visits needs a number
up --default-branch|--default-branch needs a branch name
up --default-branch=a/b|--default-branch 'a/b' is not a branch name
up --fast|up: unknown argument '--fast'
down --force|down: unknown argument '--force'
env extra|env: unknown argument 'extra'
|missing sub-command \(up, down, status, env\)
EOF_CASES
out=$(sb launch 2>&1)
is "$?" 2 "an unknown sub-command is a usage error"
like "$out" "unknown sub-command 'launch'" "  and names it"
out=$(sb --help)
like "$out" "pgdrill sandbox up \[--visits N\]" "--help shows the usage"
out=$(sb status 2>&1)
is "$?" 1 "status without a sandbox exits 1"
like "$out" "no sandbox in $SB" "  and says there is none"

# ---- up ------------------------------------------------------------------------
t0=$SECONDS
out=$(sb up --visits "$VISITS" --default-branch production 2>&1)
rc=$?
is "$rc" 0 "up --visits $VISITS --default-branch production exits 0 ($((SECONDS - t0))s)"
[ "$rc" = 0 ] || bail "up" "$out"
like "$out" "postgresql: seeding care_commons with $VISITS visits" "up seeds the database"
like "$out" "neon-sandbox: started \(pid [0-9]+, port [0-9]+, project sandbox-project\)" \
    "up starts the neon-sandbox"
like "$out" "earliest restorable time \(base backup\) [0-9-]+T[0-9:]+Z" \
    "the summary names the earliest restorable time"
if [ "$HAVE_S3" = 1 ]; then
    like "$out" "s3-proxy: started" "up starts s3rver behind the verifying proxy"
fi

st=$(sb status)
is "$?" 0 "status exits 0 when everything runs"
n_want=2
[ "$HAVE_S3" = 1 ] && n_want=4
is "$(grep -c ' running ' <<<"$st")" "$n_want" "status lists $n_want running services"
like "$st" "postgresql +running +[0-9]+ +[0-9]+ +$SB/pg/server.log" "status shows pid, port and log"
is "$(stat -c %a "$SB/neon.key")" 600 "the api key file is 0600"
[ "$HAVE_S3" = 1 ] && is "$(stat -c %a "$SB/s3.secret")" 600 "the s3 secret file is 0600"

# ---- env -----------------------------------------------------------------------
envout=$(sb env)
is "$?" 0 "env exits 0"
(
    eval "$envout" || exit 9
    for v in DATABASE_URL NEON_API_HOST NEON_API_KEY NEON_PROJECT_ID PGDRILL_ENVIRONMENT; do
        [ -n "${!v:-}" ] || exit 1
    done
    if [ "$HAVE_S3" = 1 ]; then
        for v in AWS_ENDPOINT_URL_S3 AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION \
            PGDRILL_BACKUP_URI; do
            [ -n "${!v:-}" ] || exit 2
        done
        [ "$PGDRILL_BACKUP_URI" = s3://care-commons-backups ] || exit 3
    fi
    [ "$PGDRILL_ENVIRONMENT" = SANDBOX ] || exit 4
)
is "$?" 0 "eval of env sets every variable"
eval "$envout"
count=$(PGCONNECT_TIMEOUT=5 "$PGDRILL_PG_BIN/psql" -X -tA -c 'SELECT count(*) FROM visits' "$DATABASE_URL" 2>&1)
is "$count" "$VISITS" "DATABASE_URL reaches care_commons with $VISITS visits"
like "$("${PGDRILL_BUILD:-$PGDRILL_TOP/build}/tests/tools/neon_tool" cli action op=branch-default 2>&1)" \
    "name=production" "--default-branch production: the project's default branch is production"
like "$(PGCONNECT_TIMEOUT=5 "$PGDRILL_PG_BIN/psql" -X -tA -c \
    "SELECT count(*) FROM users WHERE email = 'test@example.com'" "$DATABASE_URL")" '^1$' \
    "the seed has the procedures' spot-check user"

code() { # code [KEY] PATH: the HTTP status of GET NEON_API_HOST/PATH
    if [ $# -eq 2 ]; then
        curl -s -o /dev/null -w '%{http_code}' -K - <<EOF
url = "$NEON_API_HOST/$2"
header = "Authorization: Bearer $1"
EOF
    else
        curl -s -o /dev/null -w '%{http_code}' "$NEON_API_HOST/$1"
    fi
}
is "$(code "$NEON_API_KEY" "projects/$NEON_PROJECT_ID")" 200 "GET /projects/{id} with the key answers 200"
is "$(code "projects/$NEON_PROJECT_ID")" 401 "without the key it answers 401"

if [ "$HAVE_S3" = 1 ]; then
    if [ -x /usr/bin/aws ]; then
        echo weekly >"$H/probe.txt"
        aws_out=$(HOME=$H /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "$H/probe.txt" \
            "$PGDRILL_BACKUP_URI/probe.txt" --only-show-errors 2>&1 &&
            HOME=$H /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 ls "$PGDRILL_BACKUP_URI/" 2>&1)
        like "$aws_out" "probe.txt" "aws puts and lists an object in the backup bucket with env's credentials"
        aws_out=$(HOME=$H AWS_SECRET_ACCESS_KEY=wrong-secret /usr/bin/aws \
            --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 ls "$PGDRILL_BACKUP_URI/" 2>&1)
        like "$aws_out" "SignatureDoesNotMatch" "a wrong secret is refused (signatures are verified)"
    else
        not_ok "s3: /usr/bin/aws is required (apt-get install awscli)"
    fi
fi

# secrets stay in env's output and their 0600 files
up_out=$out
leaks=
for secret in "$NEON_API_KEY" "${AWS_SECRET_ACCESS_KEY:-}" "${DATABASE_URL#*://pgdrill:}"; do
    secret=${secret%%@*}
    [ -n "$secret" ] || continue
    if grep -rqF -- "$secret" "$SB"/*.log "$SB/pg/server.log" 2>/dev/null ||
        grep -qF -- "$secret" <<<"$up_out$st"; then
        leaks="$leaks ${secret:0:6}..."
    fi
done
is "$leaks" "" "no secret appears in up's or status's output or in a service log"

# ---- a real point-in-time branch --------------------------------------------------
sleep 1
ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
br=$(curl -s -X POST -H 'Content-Type: application/json' -K - \
    -d "{\"branch\":{\"name\":\"drill\",\"parent_timestamp\":\"$ts\"},\"endpoints\":[{\"type\":\"read_write\"}]}" <<EOF
url = "$NEON_API_HOST/projects/$NEON_PROJECT_ID/branches"
header = "Authorization: Bearer $NEON_API_KEY"
EOF
)
br_id=$(sed -n 's/^{"branch":{"id":"\([^"]*\)".*/\1/p' <<<"$br")
like "$br_id" '^br-' "a branch at $ts is created through the api"
for _ in $(seq 1 150); do
    st=$(sb status)
    grep -q " branch $br_id .* running pid " <<<"$st" && break
    sleep 0.2
done
like "$st" " branch $br_id +running pid [0-9]+ port [0-9]+" "status shows the branch cluster running"

# ---- up again: nothing new --------------------------------------------------------
pids_before=$(status_pids <<<"$st" | sort | tr '\n' ' ')
out=$(sb up 2>&1)
is "$?" 0 "a second up exits 0"
like "$out" "postgresql: already running" "  and reports the primary as running"
like "$out" "neon-sandbox: already running" "  and the neon-sandbox"
unlike "$out" "seeding" "  and does not seed again"
is "$(sb status | status_pids | sort | tr '\n' ' ')" "$pids_before" "  and starts nothing new"

# ---- down -------------------------------------------------------------------------
out=$(sb down 2>&1)
is "$?" 0 "down exits 0"
# shellcheck disable=SC2086
check "every recorded pid is gone, the branch cluster's too ($pids_before)" all_gone $pids_before
is "$(sandbox_procs)" "" "no process names or runs in the sandbox directory"
st=$(sb status)
is "$?" 1 "status exits 1 when the sandbox is down"
is "$(grep -c ' stopped ' <<<"$st")" "$n_want" "  and lists every service as stopped"

# ---- up after down ----------------------------------------------------------------------
out=$(sb up 2>&1)
is "$?" 0 "up after down exits 0"
unlike "$out" "seeding" "  keeps the seeded data"
eval "$(sb env)"
is "$(PGCONNECT_TIMEOUT=5 "$PGDRILL_PG_BIN/psql" -X -tA -c 'SELECT count(*) FROM visits' "$DATABASE_URL" 2>&1)" \
    "$VISITS" "  and the database still holds $VISITS visits"
is "$(code "$NEON_API_KEY" "projects/$NEON_PROJECT_ID/branches/$br_id")" 200 "  and the branch is still there"

# a dead service: status says so, up starts only that one
neon_pid=$(read -r p _ <"$SB/neon-sandbox.pid" && echo "$p")
kill -KILL "$neon_pid"
for _ in $(seq 1 50); do all_gone "$neon_pid" && break; sleep 0.1; done
st=$(sb status)
is "$?" 1 "status exits 1 when one service died"
like "$st" "neon-sandbox +stopped" "  and names it"
out=$(sb up 2>&1)
is "$?" 0 "up restarts it"
like "$out" "postgresql: already running" "  leaving the primary alone"
like "$out" "neon-sandbox: started" "  and starting the neon-sandbox"

# ---- failure paths ------------------------------------------------------------------------
pids_before=$(sb status | status_pids | sort | tr '\n' ' ')
sb down >/dev/null 2>&1
# shellcheck disable=SC2086
check "down stops them again" all_gone $pids_before

python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$H/holder.port" &
HOLDER=$!
for _ in $(seq 1 50); do [ -s "$H/holder.port" ] && break; sleep 0.1; done
busy=$(cat "$H/holder.port")
out=$(PGDRILL_SANDBOX_NEON_PORT=$busy sb up 2>&1)
is "$?" 3 "a busy neon port makes up exit 3"
like "$out" "neon-sandbox did not start: port 127.0.0.1:$busy \(PGDRILL_SANDBOX_NEON_PORT\) is already in use" \
    "  naming the service and the port"
like "$out" "see its log: $SB/neon-sandbox.log" "  and its log file"
like "$out" "stopping what this run started: postgresql" "  and stops what it had started"
is "$(sandbox_procs)" "" "  leaving no process behind"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null
HOLDER=

out=$(PGDRILL_NEON_SANDBOX=$H/no-such-neon-sandbox sb up 2>&1)
is "$?" 3 "a missing neon-sandbox binary makes up exit 3"
like "$out" "neon-sandbox did not start: $H/no-such-neon-sandbox not found or not executable" \
    "  naming the binary"
unlike "$out" "postgresql: started" "  before starting anything"

out=$(sb down --purge 2>&1)
is "$?" 0 "down --purge exits 0"
check "  and removes the sandbox directory" test ! -e "$SB"

done_testing
