#!/bin/bash
# Failure notices from pgdrill itself: a verify that fails and a headless
# drill that fails each post one message to the Slack webhook
# (SLACK_WEBHOOK_URL, or --notify URL), naming what failed and where its
# report is; passing runs post nothing. The receiver is tests/tools/
# fake_http.py on loopback, logging every request. No planted secret (the
# webhook's token, the database password, the Neon key, the AWS secret)
# appears in any payload, though the failing step prints them.
set -u
# shellcheck source=tests/integration/sandbox_lib.sh
. "$PGDRILL_TOP/tests/integration/sandbox_lib.sh"
# shellcheck source=tests/integration/webhook_lib.sh
. "$PGDRILL_TOP/tests/integration/webhook_lib.sh"
sandbox_test_home nt
sandbox_test_on_exit() { webhook_stop; }

webhook_start "$H" || bail "webhook receiver" "$(cat "$H/webhook.out")"
TOKEN="xoxPlantedHook$RANDOM$RANDOM$RANDOM"
HOOK="http://127.0.0.1:$WEBHOOK_PORT/services/T0NOTIFY/B0NOTIFY/$TOKEN"
count() { webhook_count; }
payload() { webhook_field "$@"; }
text() { webhook_text "$1"; }

sandbox_test_up 2000
DB_PW=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password or ""))' "$DATABASE_URL")
check "setup: the sandbox's DATABASE_URL carries a password" [ -n "$DB_PW" ]

# ---- verify ---------------------------------------------------------------------
"$PGDRILL_BIN" backup --min-size 1000 >"$H/backup.out" 2>&1 || bail "backup" "$(cat "$H/backup.out")"
SLACK_WEBHOOK_URL=$HOOK "$PGDRILL_BIN" verify >"$H/v1.out" 2>&1
is "$?" 0 "verify passes"
is "$(count)" 0 "a passing verify posts nothing"

SLACK_WEBHOOK_URL=$HOOK PGDRILL_VERIFY_HISTORY_DAYS=400 "$PGDRILL_BIN" verify >"$H/v2.out" 2>"$H/v2.err"
is "$?" 1 "verify fails (the history window is shorter than 400 days)"
is "$(count)" 1 "a failed verify posts one message"
is "$(payload 1 path)" "/services/T0NOTIFY/B0NOTIFY/$TOKEN" "  to SLACK_WEBHOOK_URL"
is "$(payload 1 content_type)" application/json "  as JSON"
like "$(text 1)" "^:x: Monthly backup verification \(pgdrill verify\) failed on [^ ]+
Backups under s3://care-commons-backups/weekly/; checks that did not pass \(neon.history-window\):
- neon.history-window: history window .* is shorter than the required .*
Report: the output of \`pgdrill verify\`; $H/status/verify.json and $H/audit.log$" \
    "  naming what failed, why, and where the record is"
like "$(cat "$H/v2.err")" "failure notice sent to Slack" "  and saying so on stderr"

PGDRILL_VERIFY_HISTORY_DAYS=400 "$PGDRILL_BIN" verify --notify "$HOOK/flag" >/dev/null 2>&1
is "$(count)" 2 "verify --notify URL posts without SLACK_WEBHOOK_URL"
is "$(payload 2 path)" "/services/T0NOTIFY/B0NOTIFY/$TOKEN/flag" "  to the --notify URL"

# ---- headless drills --------------------------------------------------------------
cat >"$H/pass.md" <<'EOF'
# A drill that passes

```pgdrill
id: notify-pass
use-case: A headless drill that passes
environment: sandbox
expected: 1m
```

## Fine
<!-- pgdrill id=fine expected=10s -->

```sh
echo fine
```
EOF
cat >"$H/fail.md" <<'EOF'
# A drill that fails

```pgdrill
id: notify-fail
use-case: A headless drill that fails, printing secrets on the way
environment: sandbox
expected: 1m
```

## Connect
<!-- pgdrill id=connect expected=10s -->

```sh
echo "connecting to $DATABASE_URL with $NEON_API_KEY and $AWS_SECRET_ACCESS_KEY" >&2
exit 4
```
EOF
SLACK_WEBHOOK_URL=$HOOK "$PGDRILL_BIN" run "$H/pass.md" --yes >"$H/r1.out" 2>&1
is "$?" 0 "a headless drill passes"
is "$(count)" 2 "a passing drill posts nothing"

SLACK_WEBHOOK_URL=$HOOK "$PGDRILL_BIN" run "$H/fail.md" --yes >"$H/r2.out" 2>&1
is "$?" 1 "a headless drill fails"
is "$(count)" 3 "a failed headless drill posts one message"
D=$(last_path "$H"/drills/*-notify-fail)
like "$(text 3)" "^:x: Drill $(basename "$D") \(runbook notify-fail\) failed on [^ ]+
outcome failed; failed stage: Connect" "  naming the drill, its runbook, outcome and failed stage"
like "$(text 3)" "
Report: $D/report.md \(and report.json\)$" "  and where its report is"
check "  the report is there" [ -f "$D/report.md" ]

"$PGDRILL_BIN" run "$H/fail.md" --yes --notify "$HOOK" >/dev/null 2>&1
is "$(count)" 4 "run --notify URL posts without SLACK_WEBHOOK_URL"

# ---- nothing secret in any payload ------------------------------------------------
for s in "$TOKEN" "$DB_PW" "$NEON_API_KEY" "$AWS_SECRET_ACCESS_KEY"; do
    [ "${#s}" -ge 8 ] || not_ok "a planted secret is too short to look for: ${#s} characters"
done
leaks=$(python3 - "$WEBHOOK_LOG" "$TOKEN" "$DB_PW" "$NEON_API_KEY" "$AWS_SECRET_ACCESS_KEY" <<'PY'
import json, sys, urllib.parse
bodies = [json.loads(l)["body"] for l in open(sys.argv[1])]
names = ["webhook token", "database password", "NEON_API_KEY", "AWS_SECRET_ACCESS_KEY"]
for name, s in zip(names, sys.argv[2:]):
    forms = {s, urllib.parse.quote(s, safe=""), json.dumps(s)[1:-1]}
    if any(f in b or f in json.loads(b)["text"] for b in bodies for f in forms):
        print(name)
PY
)
is "$leaks" "" "no planted secret in any of the $(count) payloads"
done_testing
