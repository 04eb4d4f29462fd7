#!/bin/bash
# Secret hygiene (issue 6 item 3): known, unique secrets are planted where
# pgdrill meets them in real use, full runs do their work, and then every
# artefact of every run is searched for each secret in the forms it could
# take (as is, URL-encoded, JSON-escaped). Planted:
#   - NEON_API_KEY: the key the sandbox Neon server checks;
#   - AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN: the ones the
#     signature-checking proxy in front of s3rver requires (a request signed
#     with another secret, or without the token, is refused);
#   - the password of role care_app inside DATABASE_URL (URL-encoded there:
#     it holds / + @ :), the role `pgdrill backup` dumps with;
#   - the password inside the branch connection URIs the sandbox Neon server
#     returns (the primary's pgdrill role: production's DATABASE_URL in the
#     drill, so the same secret reaches pgdrill both ways);
#   - SLACK_WEBHOOK_URL, a loopback listener whose path holds a token; a
#     failed backup makes pgdrill post the notice there;
#   - the AWS chain's bearer tokens (issue 14): the web identity token
#     (AWS_WEB_IDENTITY_TOKEN_FILE), the SSO access token (the aws sso login
#     cache) and the container authorization token
#     (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE and _TOKEN), which the loopback
#     STS, SSO portal and container endpoint (tests/tools/aws_endpoints.py)
#     require.
# Runs: backup (ok, --json), backup failing (the Slack notice), backups with
# credentials from web identity, SSO and the container endpoint (ok, and
# refused by the portal), backup
# refused by S3 (wrong secret), verify (text, --json, and refused by Neon),
# `pgdrill check` (and with a wrong password), the restore-from-s3 drill
# headless with --json (its migration command prints its DATABASE_URL and
# the whole environment), `report show` and `report list`, and the same
# drill in the TUI through tmux (pane captures at each prompt and the TUI's
# own :dump-screen). Some runs set PGDRILL_DEBUG=1: its HTTP and S3 lines
# go to stderr too. `pgdrill verify` keeps no journal: its output and the
# audit log are searched.
# Also the TUI's restorability timeline (Neon history window, S3 dumps).
# Artefacts searched: stdout, stderr, journal.jsonl, report.md, report.json,
# the audit log ($PGDRILL_HOME/audit.log), the Slack notice body, screens.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"
# shellcheck source=tests/s3_lib.sh
. "$TOP/tests/s3_lib.sh"

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
urlenc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

BUCKET=care-commons-backups
SLACK_PID=
TMUX_SOCK=
EP_PID=
teardown() {
    [ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null && wait "$EP_PID" 2>/dev/null
    [ -n "$TMUX_SOCK" ] && tmux -S "$TMUX_SOCK" -f /dev/null kill-server >/dev/null 2>&1
    [ -n "$SLACK_PID" ] && kill "$SLACK_PID" 2>/dev/null && wait "$SLACK_PID" 2>/dev/null
    s3_stop
    neon_teardown
}

command -v tmux >/dev/null 2>&1 || { notok "setup: tmux is required (the TUI run)"; exit 1; }
neon_setup secrets --history-retention 2592000 # 30 days, as verify requires 7
trap teardown EXIT
trap 'exit 130' INT TERM

# ---- the planted secrets -----------------------------------------------------
S3_SESSION_TOKEN="IQoJb3JpZ2luX2VjPlantedToken/$(hex 12)+sig=="
export S3_ISSUED=$W/issued.jsonl # the proxy also takes the keys aws_endpoints.py issues
s3_start "$W/s3" "$BUCKET" 2>"$W/s3start.err" || { notok "setup: s3" "$(cat "$W/s3start.err")"; exit 1; }
export NEON_API_HOST NEON_API_KEY NEON_PROJECT_ID
DB_PW="Db/Pw+$(hex 6)@k:9"
SLACK_TOKEN="xoxPlantedHook$(hex 8)"
# secrets that are refused: error paths are where secrets tend to leak
BAD_AWS_SECRET="Refused/AwsSecret+$(hex 8)"
BAD_NEON_KEY="napi_refused_$(hex 12)"
WEB_TOKEN="eyJPlantedWebIdentity.$(hex 12).sig-_"
SSO_TOKEN="aoaPlantedSsoAccess/$(hex 12)+=="
CONTAINER_TOKEN="Basic PlantedContainer/$(hex 10)+"
printf '%s' "$WEB_TOKEN" >"$W/web-token"
printf '%s' "$CONTAINER_TOKEN" >"$W/container-token"
# ep_config SSO-TOKEN: the endpoints' configuration; the portal accepts only SSO-TOKEN
ep_config() {
    python3 -c 'import json, sys; json.dump({"lifetime": 900, "web_token": sys.argv[1],
        "sso_token": sys.argv[2], "container_token": sys.argv[3]}, open(sys.argv[4], "w"))' \
        "$WEB_TOKEN" "$1" "$CONTAINER_TOKEN" "$W/aws-endpoints.json"
}
ep_config "$SSO_TOKEN"
python3 "$TOP/tests/tools/aws_endpoints.py" --config "$W/aws-endpoints.json" --issued "$S3_ISSUED" \
    >"$W/ep.log" 2>&1 &
EP_PID=$!
EP_PORT=$(_s3_wait_port "$W/ep.log" "$EP_PID") || { notok "setup: aws_endpoints.py" "$(cat "$W/ep.log")"; exit 1; }
EP=http://127.0.0.1:$EP_PORT

neon_seed_care_commons
# a plain dump over the 1 MiB minimum of `pgdrill backup`
cc "CREATE TABLE bulk_notes AS SELECT g AS id, md5(g::text) || ' note ' || g AS body
    FROM generate_series(1, 30000) g" >/dev/null
pgq "CREATE ROLE care_app LOGIN PASSWORD '$DB_PW'; GRANT pg_read_all_data TO care_app" >/dev/null
PROD_URL=$("$PGC" url "$W/pg" care_commons)
BRANCH_PW=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password))' "$PROD_URL")
PORT=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).port)' "$PROD_URL")
APP_URL="postgresql://care_app:$(urlenc "$DB_PW")@127.0.0.1:$PORT/care_commons"
t_app_login() { [ "$(psql "$APP_URL" -qAtX -c 'SELECT count(*) > 0 FROM visits')" = t ]; }
check "setup: care_app logs in with its password over TCP and reads the data" t_app_login

# a webhook receiver: each POST's path in slack.body.path, its body in slack.body
python3 "$TOP/tests/tools/fake_http.py" --record "$W/slack.body" >"$W/slack.log" 2>&1 &
SLACK_PID=$!
SPORT=$(_s3_wait_port "$W/slack.log" "$SLACK_PID") || { notok "setup: slack listener"; exit 1; }
SLACK_URL="http://127.0.0.1:$SPORT/services/T0PLANTED/B0PLANTED/$SLACK_TOKEN"

# Every secret in every form worth looking for: as is, URL-encoded (upper
# and lower case escapes), with / and + left alone, and JSON-escaped.
PATTERNS=$W/secret-patterns
NAMES=$W/secret-names
python3 - "$PATTERNS" "$NAMES" <<PY
import json, re, sys, urllib.parse
secrets = {
    "NEON_API_KEY": """$NEON_API_KEY""",
    "AWS_SECRET_ACCESS_KEY": """$S3_SECRET""",
    "AWS_SESSION_TOKEN": """$S3_SESSION_TOKEN""",
    "DATABASE_URL password": """$DB_PW""",
    "branch URI password": """$BRANCH_PW""",
    "SLACK_WEBHOOK_URL token": """$SLACK_TOKEN""",
    "refused AWS_SECRET_ACCESS_KEY": """$BAD_AWS_SECRET""",
    "refused NEON_API_KEY": """$BAD_NEON_KEY""",
    "web identity token": """$WEB_TOKEN""",
    "SSO access token": """$SSO_TOKEN""",
    "container authorization token": """$CONTAINER_TOKEN""",
}
pats, names = [], []
for name, s in secrets.items():
    assert len(s) >= 16, name
    forms = {s, urllib.parse.quote(s, safe=""), urllib.parse.quote(s, safe="/"),
             urllib.parse.quote_plus(s), json.dumps(s)[1:-1], json.dumps(s)[1:-1].replace("/", "\\\\/")}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in forms}
    for f in sorted(forms):
        pats.append(f)
        names.append(name)
open(sys.argv[1], "w").write("".join(p + "\n" for p in pats))
open(sys.argv[2], "w").write("".join(n + "\n" for n in names))
PY
is "$(sort -u "$NAMES" | wc -l)" 11 "setup: eleven planted secrets, $(wc -l <"$PATTERNS") forms to look for"

# find_secrets FILE: one line per secret found, "NAME: the line, masked"
find_secrets() {
    python3 - "$1" "$PATTERNS" "$NAMES" <<'PY'
import sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
pats = open(sys.argv[2]).read().splitlines()
names = open(sys.argv[3]).read().splitlines()
for line in text.splitlines():
    found = [(p, n) for p, n in zip(pats, names) if p in line]
    shown = line
    for p, n in sorted(found, key=lambda f: -len(f[0])):
        shown = shown.replace(p, "<" + n + ">")
    for n in sorted({n for _, n in found}):
        print("%s: %s" % (n, shown[:300]))
PY
}

# The search itself must find what it looks for: the encoded forms too.
printf 'url postgresql://care_app:%s@h/db\n{"k":%s}\nkey=%s\n' "$(urlenc "$DB_PW")" \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]).replace("/", "\\/"))' "$S3_SECRET")" \
    "$(urlenc "$S3_SESSION_TOKEN" | sed 's/%2F/%2f/g; s/%2B/%2b/g; s/%3D/%3d/g')" >"$W/canary"
is "$(find_secrets "$W/canary" | cut -d: -f1 | sort | tr '\n' ,)" \
    "AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN,DATABASE_URL password," \
    "setup: the search finds URL-encoded, JSON-escaped and lower-case-escaped forms"

printf 'Authorization: %s\n{"t":%s}\nWebIdentityToken=%s\n' "$CONTAINER_TOKEN" \
    "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]).replace("/", "\\/"))' "$SSO_TOKEN")" \
    "$(urlenc "$WEB_TOKEN")" >"$W/canary-aws"
is "$(find_secrets "$W/canary-aws" | cut -d: -f1 | sort | tr '\n' ,)" \
    "SSO access token,container authorization token,web identity token," \
    "setup: the search finds the bearer tokens of the AWS chain, as sent and JSON-escaped"

# no_secret RUN ARTEFACT FILE: ok when FILE exists and holds none of the
# forms; a failure names the secret and shows the line with it masked.
no_secret() {
    local run=$1 what=$2 file=$3 hits
    if [ ! -f "$file" ]; then
        notok "$run: $what exists" "no file $file"
        return
    fi
    hits=$(find_secrets "$file")
    if [ -z "$hits" ]; then
        ok "$run: no secret in $what ($(stat -c %s "$file") bytes)"
    else
        notok "$run: no secret in $what ($(stat -c %s "$file") bytes)" "$(printf '%s\n' "$hits" | head -10)"
    fi
}

# the drill folder in a PGDRILL_HOME (exactly one drill per home here)
drill_dir() { find "$1/drills" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -n 1; }

# ---- backup -----------------------------------------------------------
H=$W/home-backup
(cd "$W" && PGDRILL_HOME=$H DATABASE_URL=$APP_URL SLACK_WEBHOOK_URL=$SLACK_URL PGDRILL_DEBUG=1 \
    PGDRILL_BACKUP_URI=s3://$BUCKET "$PGDRILL_BIN" backup --json) >"$W/backup.out" 2>"$W/backup.err"
rc=$?
is "$rc" 0 "backup: exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/backup.err"
KEY=$(json_get "$W/backup.out" key)
is "$(json_get "$W/backup.out" outcome)" ok "backup: the summary says ok"
t_object() {
    s3_aws s3api head-object --bucket "$BUCKET" --key "$KEY" >"$W/head.json" &&
        [ "$(json_get "$W/head.json" Metadata.sha256)" = "$(json_get "$W/backup.out" sha256)" ] &&
        [ "$(json_get "$W/head.json" ContentLength)" = "$(json_get "$W/backup.out" compressed_bytes)" ]
}
check "backup: $KEY is in s3 with its sha256 (aws, with the session token)" t_object
check "backup: no Slack notice after a good backup" test ! -e "$W/slack.body"
no_secret backup stdout "$W/backup.out"
no_secret backup stderr "$W/backup.err"
no_secret backup audit.log "$H/audit.log"

# the proxy really checks the planted secret and token
t_wrong_token() {
    local e
    e=$(AWS_SESSION_TOKEN=not-the-planted-token s3_aws s3api head-object --bucket "$BUCKET" --key "$KEY" 2>&1) && return 1
    [[ $e == *"(400)"* || $e == *InvalidToken* ]]
}
check "s3: the proxy refuses a request with another session token" t_wrong_token
t_wrong_secret() {
    ! AWS_SECRET_ACCESS_KEY=wrong-secret-0123456789 s3_aws s3api head-object --bucket "$BUCKET" --key "$KEY" >/dev/null 2>&1
}
check "s3: the proxy refuses a request signed with another secret" t_wrong_secret

# ---- a failing backup sends the Slack notice -----------------------------
H=$W/home-backup-fail
(cd "$W" && PGDRILL_HOME=$H DATABASE_URL="${APP_URL%/*}/no_such_db" SLACK_WEBHOOK_URL=$SLACK_URL \
    PGDRILL_BACKUP_URI=s3://$BUCKET "$PGDRILL_BIN" backup --json) >"$W/backup-fail.out" 2>"$W/backup-fail.err"
is "$?" 1 "backup-fail: a backup of a missing database exits 1"
for _ in $(seq 1 50); do [ -e "$W/slack.body" ] && break; sleep 0.1; done
is "$(cat "$W/slack.body.path" 2>/dev/null)" "/services/T0PLANTED/B0PLANTED/$SLACK_TOKEN" \
    "backup-fail: the notice was posted to the planted webhook"
like "$(cat "$W/backup-fail.err")" "failure notice sent to Slack" "backup-fail: pgdrill says the notice went out"
no_secret backup-fail stdout "$W/backup-fail.out"
no_secret backup-fail stderr "$W/backup-fail.err"
no_secret backup-fail audit.log "$H/audit.log"
no_secret backup-fail "Slack notice body" "$W/slack.body"

# ---- backups with temporary credentials: web identity, SSO, container -----
mkdir -p "$HOME/.aws/sso/cache"
printf '%s\n' "[profile sso]" "sso_session = corp" "sso_account_id = 123456789012" \
    "sso_role_name = Backup" "[sso-session corp]" "sso_start_url = https://corp.awsapps.com/start" \
    "sso_region = eu-west-1" >"$W/aws-sso-config"
printf '{"accessToken": "%s", "expiresAt": "%s"}\n' "$SSO_TOKEN" "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
    >"$HOME/.aws/sso/cache/$(printf corp | sha1sum | cut -c1-40).json"
# temp_backup RUN WANT-RC VAR=VALUE...: a backup with only these credential variables, debug on
temp_backup() {
    local run=$1 want=$2 rc
    shift 2
    (cd "$W" && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
        PGDRILL_HOME="$W/home-$run" DATABASE_URL="$APP_URL" PGDRILL_BACKUP_URI="s3://$BUCKET/$run" \
        PGDRILL_DEBUG=1 AWS_EC2_METADATA_DISABLED=true "$@" "$PGDRILL_BIN" backup --json) \
        >"$W/$run.out" 2>"$W/$run.err"
    rc=$?
    is "$rc" "$want" "$run: exits $want"
    [ "$rc" = "$want" ] || sed 's/^/# /' "$W/$run.err" | tail -5
    no_secret "$run" stdout "$W/$run.out"
    no_secret "$run" stderr "$W/$run.err"
    [ ! -f "$W/home-$run/audit.log" ] || no_secret "$run" audit.log "$W/home-$run/audit.log"
}
temp_backup webid 0 AWS_WEB_IDENTITY_TOKEN_FILE="$W/web-token" AWS_ROLE_ARN=arn:aws:iam::1:role/b \
    AWS_ENDPOINT_URL_STS="$EP"
temp_backup sso 0 AWS_PROFILE=sso AWS_CONFIG_FILE="$W/aws-sso-config" AWS_ENDPOINT_URL_SSO="$EP"
temp_backup container 0 AWS_CONTAINER_CREDENTIALS_FULL_URI="$EP/container/creds" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$W/container-token"
temp_backup container-env 0 AWS_CONTAINER_CREDENTIALS_FULL_URI="$EP/container/creds" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="$CONTAINER_TOKEN"
ep_config "the-portal-knows-another-token"
temp_backup sso-refused 3 AWS_PROFILE=sso AWS_CONFIG_FILE="$W/aws-sso-config" AWS_ENDPOINT_URL_SSO="$EP"
like "$(cat "$W/sso-refused.err")" "sso GetRoleCredentials: HTTP 401" "sso-refused: the portal's refusal is named"
ep_config "$SSO_TOKEN"

# ---- S3 refuses the signature -------------------------------------------------
# The proxy's SignatureDoesNotMatch answer carries the canonical request,
# session token included, as AWS does.
H=$W/home-backup-denied
(cd "$W" && PGDRILL_HOME=$H DATABASE_URL=$APP_URL AWS_SECRET_ACCESS_KEY=$BAD_AWS_SECRET PGDRILL_DEBUG=1 \
    PGDRILL_BACKUP_URI=s3://$BUCKET "$PGDRILL_BIN" backup --json) >"$W/backup-denied.out" 2>"$W/backup-denied.err"
is "$?" 3 "backup-denied: a backup signed with a wrong secret exits 3"
like "$(cat "$W/backup-denied.out" "$W/backup-denied.err")" "SignatureDoesNotMatch" \
    "backup-denied: S3's refusal is reported"
no_secret backup-denied stdout "$W/backup-denied.out"
no_secret backup-denied stderr "$W/backup-denied.err"
no_secret backup-denied audit.log "$H/audit.log"

export PGDRILL_BACKUP_URI=s3://$BUCKET

# ---- verify (no journal: stdout, stderr and the audit log) --------------------------
H=$W/home-verify
(cd "$W" && PGDRILL_HOME=$H DATABASE_URL=$APP_URL "$PGDRILL_BIN" verify) >"$W/verify.out" 2>"$W/verify.err"
rc=$?
is "$rc" 0 "verify: exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$W/verify.out" "$W/verify.err"
like "$(tail -1 "$W/verify.out")" "^verification passed: 5 checks$" "verify: the five checks passed"
like "$(cat "$W/verify.out")" "pass  s3.newest-stream: $KEY: .*matches metadata" "verify: it streamed the backup of run 1"
no_secret verify stdout "$W/verify.out"
no_secret verify stderr "$W/verify.err"

(cd "$W" && PGDRILL_HOME=$H DATABASE_URL=$APP_URL "$PGDRILL_BIN" verify --json) >"$W/verify-json.out" 2>"$W/verify-json.err"
is "$?" 0 "verify --json: exits 0"
is "$(json_eval "$W/verify-json.out" '[c["status"] for c in d["checks"]]')" '["pass", "pass", "pass", "pass", "pass"]' \
    "verify --json: five checks passed"
no_secret "verify --json" stdout "$W/verify-json.out"
no_secret "verify --json" stderr "$W/verify-json.err"

(cd "$W" && PGDRILL_HOME=$H NEON_API_KEY=$BAD_NEON_KEY PGDRILL_DEBUG=1 "$PGDRILL_BIN" verify) \
    >"$W/verify-denied.out" 2>"$W/verify-denied.err"
is "$?" 3 "verify-denied: verify with a refused Neon key exits 3"
like "$(cat "$W/verify-denied.out")" "error neon.default-branch: neon: GET /projects/$NEON_PROJECT_ID: HTTP 401" \
    "verify-denied: Neon's 401 is reported"
no_secret verify-denied stdout "$W/verify-denied.out"
no_secret verify-denied stderr "$W/verify-denied.err"
like "$(grep '"action":"neon.project-get"' "$H/audit.log" | tail -1)" '"outcome":"failed: neon: GET /projects/'"$NEON_PROJECT_ID"': HTTP 401' \
    "verify-denied: the refused request is in the audit log"
no_secret verify audit.log "$H/audit.log"

# ---- check: the post-restore checks with the app role, then a wrong password ----------
H=$W/home-check
(cd "$W" && PGDRILL_HOME=$H "$PGDRILL_BIN" check --url "$APP_URL" --json) >"$W/check.out" 2>"$W/check.err"
is "$?" 0 "check: the integrity checks pass on care_commons as care_app"
is "$(json_get "$W/check.out" outcome)" passed "check: --json prints the report, outcome passed"
D=$(find "$H/drills" -mindepth 1 -maxdepth 1 -type d | head -n 1)
no_secret check stdout "$W/check.out"
no_secret check stderr "$W/check.err"
no_secret check journal.jsonl "$D/journal.jsonl"
no_secret check report.md "$D/report.md"
no_secret check audit.log "$H/audit.log"
H=$W/home-check-denied
(cd "$W" && PGDRILL_HOME=$H DATABASE_URL="${APP_URL/Db%2FPw/Xx%2FPw}" "$PGDRILL_BIN" check) \
    >"$W/check-denied.out" 2>"$W/check-denied.err"
is "$?" 3 "check-denied: a wrong password exits 3"
like "$(cat "$W/check-denied.out" "$W/check-denied.err")" "password authentication failed" \
    "check-denied: the refusal is reported"
no_secret check-denied stdout "$W/check-denied.out"
no_secret check-denied stderr "$W/check-denied.err"

# ---- the restore-from-s3 drill, headless, --json ------------------------------
# The migration status command prints what a careless tool would: the URL it
# was given and the whole environment.
BRANCH=restore-from-backup-$(date -u +%Y-%m-%d)
# shellcheck disable=SC2016 # expanded by the runbook step's shell, not here
DRILL_VARS=(--var outcome_option=verify-only --var migrate_cmd=true
    --var 'migrate_status_cmd=echo "migrating $DATABASE_URL"; env | sort'
    --var backup_prefix=weekly/ --var restore_db=care_commons_restored --var dump_format=auto
    --var restore_jobs=1 --var app_dir=. --var restore_target=branch)
H=$W/home-drill
(cd "$W" && PGDRILL_HOME=$H DATABASE_URL=$PROD_URL SLACK_WEBHOOK_URL=$SLACK_URL PGDRILL_DEBUG=1 \
    "$PGDRILL_BIN" run "$TOP/runbooks/restore-from-s3.md" "${DRILL_VARS[@]}" --yes --json) \
    >"$W/drill.out" 2>"$W/drill.err" </dev/null
rc=$?
is "$rc" 0 "drill: restore-from-s3 headless exits 0"
[ "$rc" = 0 ] || tail -30 "$W/drill.err" | sed 's/^/# /'
D=$(drill_dir "$H")
is "$(json_get "$W/drill.out" outcome)" passed "drill: --json prints the report, outcome passed"
is "$(json_get "$D/report.json" 'checks[name=restored.users].passed')" true "drill: the restored database was checked"
check "drill: the migration command printed its environment (journal)" \
    grep -q 'NEON_API_KEY=\*\*\*\*\*\*\*\*' "$D/journal.jsonl"
check "drill: and its DATABASE_URL, the restored database on the branch" \
    grep -qE 'migrating postgres(ql)?://pgdrill:\*+@127\.0\.0\.1:[0-9]+/care_commons_restored' "$D/journal.jsonl"
if "$NT" cli action op=branch-get branch="$BRANCH" >/dev/null 2>&1; then
    notok "drill: the restore branch was deleted at the end"
else
    ok "drill: the restore branch was deleted at the end"
fi
no_secret drill stdout "$W/drill.out"
no_secret drill stderr "$W/drill.err"
no_secret drill journal.jsonl "$D/journal.jsonl"
no_secret drill report.md "$D/report.md"
no_secret drill report.json "$D/report.json"
no_secret drill audit.log "$H/audit.log"
PGDRILL_HOME=$H "$PGDRILL_BIN" report show "$(basename "$D")" >"$W/show.out" 2>&1
is "$?" 0 "report show: exits 0"
like "$(cat "$W/show.out")" "restore-from-s3" "report show: shows the drill"
no_secret "report show" output "$W/show.out"
PGDRILL_HOME=$H "$PGDRILL_BIN" report list >"$W/list.out" 2>&1
no_secret "report list" output "$W/list.out"

# ---- the same drill in the TUI (tmux) -------------------------------------------
TMUX_SOCK=$W/tmux.sock
tx() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }
screen_has() { # TEXT SECONDS: wait until the pane shows TEXT
    for _ in $(seq 1 $(($2 * 5))); do
        tx capture-pane -p -t tui | grep -qF -- "$1" && return 0
        sleep 0.2
    done
    tx capture-pane -p -t tui | sed 's/^/# /' >&2
    return 1
}
# tui_session DIR HOME ARGS...: pgdrill ARGS in a fresh 160x100 tmux session
# (100 rows: the output pane keeps a long output in view); stderr and the
# exit status go to DIR. Sets TT=DIR for t_step.
tui_session() {
    TT=$1
    local home=$2
    shift 2
    mkdir -p "$TT"
    tmux_kill_server "$TMUX_SOCK"
    {
        echo '#!/bin/sh'
        printf 'export PGDRILL_HOME=%q DATABASE_URL=%q SLACK_WEBHOOK_URL=%q\n' "$home" "$PROD_URL" "$SLACK_URL"
        printf 'export PGDRILL_RUNBOOKS=%q PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8\n' "$TOP/runbooks"
        printf 'cd %q\n' "$W"
        printf 'exec 2>%q\n' "$TT/stderr"
        printf '%q ' "$PGDRILL_BIN" "$@"
        echo
        printf 'echo $? >%q\n' "$TT/rc"
        echo 'sleep 600'
    } >"$TT/run.sh"
    chmod +x "$TT/run.sh"
    # tall enough that the whole environment the migration command prints
    # (it grows with every variable the test world sets) stays on screen
    tx new-session -d -s tui -x 160 -y 160 "$TT/run.sh"
}
# t_step NAME TEXT SECONDS SCREEN-FILE: wait for TEXT, keep the screen
t_step() {
    if screen_has "$2" "$3"; then
        ok "tui: $1"
    else
        notok "tui: $1"
    fi
    tx capture-pane -p -t tui >"$TT/$4"
}
# t_dump FILE: the TUI's own :dump-screen of the current screen
t_dump() {
    tx send-keys -t tui ":"
    sleep 0.5
    tx send-keys -t tui "dump-screen $TT/$1" Enter
    for _ in $(seq 1 50); do [ -s "$TT/$1" ] && break; sleep 0.1; done
}
t_rc() {
    for _ in $(seq 1 100); do [ -s "$TT/rc" ] && break; sleep 0.1; done
    cat "$TT/rc" 2>/dev/null
}

H=$W/home-tui
tui_session "$W/tui" "$H" tui "$TOP/runbooks/restore-from-s3.md" "${DRILL_VARS[@]}"
t_step "the backup is asked" "Which backup?" 60 input.txt
tx send-keys -t tui Enter
t_step "the plan comes before the first change" "Plan: restore-from-s3" 60 plan.txt
tx send-keys -t tui Enter
t_step "clean-up asks to type the branch name" "Type $BRANCH to continue" 180 confirm.txt
check "tui: the screen shows the environment the migration command printed, masked" \
    grep -qE '^ NEON_API_KEY=\*{8}$' "$TT/confirm.txt"
tx send-keys -t tui "$BRANCH" Enter
t_step "the note is asked" "Anything to record" 60 note.txt
tx send-keys -t tui "restore drill for the secrets test" Enter
t_step "the summary shows" "Drill summary" 60 summary.txt
t_dump dump.txt
check "tui: :dump-screen wrote the summary screen" grep -qF "Drill summary" "$TT/dump.txt"
tx send-keys -t tui q
is "$(t_rc)" 0 "tui: pgdrill tui exits 0"
D=$(drill_dir "$H")
is "$(json_get "$D/report.json" outcome 2>/dev/null)" passed "tui: the drill passed"
check "tui: the migration command printed its environment (journal)" \
    grep -q 'AWS_SECRET_ACCESS_KEY=\*\*\*\*\*\*\*\*' "$D/journal.jsonl"
for f in plan input confirm note summary dump; do
    no_secret tui "screen $f.txt" "$TT/$f.txt"
done
no_secret tui stderr "$TT/stderr"
no_secret tui journal.jsonl "$D/journal.jsonl"
no_secret tui report.md "$D/report.md"
no_secret tui report.json "$D/report.json"
no_secret tui audit.log "$H/audit.log"

# ---- the TUI's restorability timeline: Neon's history window and the S3 dumps ------
tui_session "$W/tui-timeline" "$W/home-timeline" tui
t_step "timeline: the picker opens" "choose a runbook" 30 picker.txt
tx send-keys -t tui t
t_step "timeline: it lists the backup of the backup run" "${KEY##*/}" 60 timeline.txt
t_dump timeline-dump.txt
check "timeline: :dump-screen wrote the timeline" grep -qF "Restorability timeline" "$TT/timeline-dump.txt"
tx send-keys -t tui q
screen_has "choose a runbook" 10 && tx send-keys -t tui q
is "$(t_rc)" 0 "timeline: pgdrill tui exits 0"
for f in picker timeline timeline-dump; do
    no_secret timeline "screen $f.txt" "$TT/$f.txt"
done
no_secret timeline stderr "$TT/stderr"

key_check
done_testing
