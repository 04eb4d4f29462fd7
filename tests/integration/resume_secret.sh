#!/bin/bash
# A drill interrupted (SIGINT) after a step saved a secret (a URI with a
# password, journaled by name only) resumes headless with --var NAME=VALUE
# for it, as the resume's own message asks (naming every such variable at
# once); the value stays out of the journal and the report.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/rsecret.XXXXXX")
export PGDRILL_HOME="$W/home"
pw="pw-resume-7f3a91"
"$PGDRILL_BIN" run "$PGDRILL_TOP/tests/fixtures/runbooks/resume-secret.md" --var work="$W" \
    --yes >"$W/run1.out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    [ -e "$W/slow.mark" ] && break
    sleep 0.1
done
sleep 0.3
kill -INT "$pid"
wait "$pid"
is "$?" 130 "SIGINT in the slow step: exit 130"
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)

out=$("$PGDRILL_BIN" resume "$id" --yes 2>&1)
is "$?" 2 "resume without the secret: exit 2"
like "$out" "variables 'db', 'db2' hold secrets that are not journaled: pass --var db=VALUE --var db2=VALUE to resume" \
    "  names both variables and their --var at once"
out=$("$PGDRILL_BIN" resume "$id" --var db="postgresql://app:$pw@127.0.0.1:1/app" --yes 2>&1)
is "$?" 2 "resume with one of the two: exit 2"
like "$out" "variable 'db2' holds a secret that is not journaled: pass --var db2=VALUE to resume" \
    "  names the one still missing"

out=$("$PGDRILL_BIN" resume "$id" --var db="postgresql://app:$pw@127.0.0.1:1/app" \
    --var db2="postgresql://app:$pw@127.0.0.1:2/app2" --yes 2>&1)
is "$?" 0 "resume --var db=URI --var db2=URI, as asked: exit 0"
unlike "$out" "has no input 'db" "  --var db and db2 are not refused"
like "$out" "host of db: 127.0.0.1:1/app, of db2: 127.0.0.1:2/app2" "  the last step got the values"
if grep -rq -- "$pw" "$PGDRILL_HOME/drills/$id"; then
    not_ok "the password is in no file of the drill"
else
    ok "the password is in no file of the drill"
fi
help=$("$PGDRILL_BIN" resume --help)
like "$help" "--var NAME=VALUE  answer an input .* or give back a" "resume --help: what --var is for"
like "$help" "130 interrupted again" "resume --help: its exit codes"
like "$("$PGDRILL_BIN" run --help)" "pgdrill run RUNBOOK --plan \[--var NAME=VALUE\]" \
    "run --help: --plan in the usage"
done_testing
