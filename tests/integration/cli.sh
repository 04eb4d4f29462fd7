#!/bin/bash
# The command line: --help everywhere, --version, usage errors exit 2,
# `pgdrill lint` prints file:line:col: message and exits 2 on a bad runbook.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

export PGDRILL_HOME="$PGDRILL_TEST_WORK/cli-home"
B=$PGDRILL_BIN
BAD=$PGDRILL_TOP/tests/fixtures/runbooks/bad

out=$("$B" --version)
like "$out" '^pgdrill [0-9]+\.[0-9]+\.[0-9]+$' "--version prints the version"

for cmd in run resume lint check report tui backup verify sandbox status; do
    out=$("$B" $cmd --help 2>&1)
    rc=$?
    is "$rc" 0 "$cmd --help exits 0"
    like "$out" "usage: pgdrill" "$cmd --help prints a usage line"
done

out=$("$B" frobnicate 2>&1)
is "$?" 2 "an unknown command exits 2"
like "$out" "unknown command 'frobnicate'" "and names it"

out=$("$B" run 2>&1)
is "$?" 2 "run without a runbook exits 2"
like "$out" "missing RUNBOOK" "and says what is missing"

out=$("$B" run "$PGDRILL_TOP/runbooks/post-restore-validation.md" --var nonsense 2>&1)
is "$?" 2 "a malformed --var exits 2"
like "$out" "--var expects NAME=VALUE" "and says the expected form"

# a malformed --var or --vars-from line may be a bare secret: it is never quoted back
out=$("$B" run "$PGDRILL_TOP/runbooks/post-restore-validation.md" \
    --var 'postgres://app:S3cretPw@db.example/app?sslmode=require' 2>&1)
is "$?" 2 "a bare URI given as --var exits 2"
unlike "$out" "S3cretPw" "and its password is not printed"
printf 'postgres://app:S3cretPw@db.example/app?sslmode=require\n' >"$PGDRILL_TEST_WORK/vf"
chmod 600 "$PGDRILL_TEST_WORK/vf"
out=$("$B" run "$PGDRILL_TOP/runbooks/post-restore-validation.md" --vars-from "$PGDRILL_TEST_WORK/vf" 2>&1)
is "$?" 2 "a --vars-from line that is a bare URI exits 2"
unlike "$out" "S3cretPw" "and its password is not printed"
mkfifo "$PGDRILL_TEST_WORK/vfifo"
out=$(timeout 10 "$B" run "$PGDRILL_TOP/runbooks/post-restore-validation.md" --vars-from "$PGDRILL_TEST_WORK/vfifo" 2>&1)
is "$?" 2 "--vars-from a FIFO is refused at once (no wait for a writer)"
like "$out" "not a regular file" "  as not a regular file"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    chown nobody "$PGDRILL_TEST_WORK/vf"
    out=$("$B" run "$PGDRILL_TOP/runbooks/post-restore-validation.md" --vars-from "$PGDRILL_TEST_WORK/vf" 2>&1)
    is "$?" 2 "--vars-from a file another user owns is refused"
    like "$out" "owned by uid [0-9]+, not by you" "  naming its owner"
fi # as another user, chown is refused: the case is not run (nor counted)
out=$("$B" tui "$PGDRILL_TOP/runbooks/post-restore-validation.md" --var database_url 2>&1 </dev/null)
is "$?" 2 "tui: a --var without '=' is a usage error, not a crash"
like "$out" "--var expects NAME=VALUE" "  and says the expected form"

out=$("$B" run "$PGDRILL_TEST_WORK/no-such-runbook.md" 2>&1)
is "$?" 2 "a missing runbook file exits 2"
like "$out" "no-such-runbook.md" "and names the file"

out=$(cd "$PGDRILL_TOP" && "$B" lint runbooks/*.md 2>&1)
is "$?" 0 "every shipped runbook lints clean"

out=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_RUNBOOKS=$PGDRILL_TOP/runbooks "$B" lint post-restore-validation 2>&1)
is "$?" 0 "lint takes the id of a shipped runbook"

out=$(cd "$BAD/.." && "$B" lint bad/unknown-action.md 2>&1)
is "$?" 2 "lint of a bad runbook exits 2"
like "$out" "^bad/unknown-action.md:9:4: unknown action 'sqll' \(did you mean 'sql'\?\)" \
    "lint names file:line:col and suggests the action"
like "$out" "bad/unknown-action.md:13:4: unknown action 'python'" "lint reports every problem"

out=$(cd "$BAD/.." && "$B" lint bad/dup-stage.md bad/undefined-var.md 2>&1)
is "$?" 2 "lint of several bad runbooks exits 2"
like "$out" "bad/dup-stage.md:[0-9]+:[0-9]+: duplicate stage id" "duplicate stage id reported"
like "$out" "bad/undefined-var.md:[0-9]+:[0-9]+: undefined variable" "undefined variable reported"

RB="$PGDRILL_TEST_WORK/cli-tiny.md"
cat >"$RB" <<'MD'
# Tiny

```pgdrill
id: tiny
```

## Only
```sh
echo hello from tiny
```
MD
out=$("$B" run "$RB" --report-dir "$PGDRILL_TEST_WORK/cli-reports/a/b" 2>&1)
is "$?" 0 "run of a one-step runbook exits 0"
like "$out" "hello from tiny" "its output is shown"
is "$(stat -c %a "$PGDRILL_TEST_WORK/cli-reports/a/b/report.json" 2>&1)" 600 \
    "--report-dir is created and gets a 0600 report.json"
json=$("$B" run "$RB" --json 2>/dev/null)
is "$(printf '%s' "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outcome"])')" \
    passed "--json prints report.json on stdout"

out=$("$B" report list 2>&1)
is "$?" 0 "report list works"
like "$out" "^ID +RUNBOOK" "and prints the table header"
like "$out" "[0-9]{8}-[0-9]{6}-tiny +tiny .* passed" "and lists the drills run"

# history-expired leaves Neon's history window short until the next incident or down/up
out=$("$B" sandbox --help 2>&1)
like "$out" "history-expired.*~2 s the incident took; it stays ~2 s until the next incident or
 *'sandbox down' and 'up' give it back" "sandbox --help: how long history-expired keeps the window short"

out=$("$B" report show 20990101-000000-nothing 2>&1)
is "$?" 2 "report show of an unknown drill exits 2"
newest=$("$B" report list | awk 'NR == 2 {print $1}')
out=$("$B" report show "${newest#*-}" 2>&1)
is "$?" 0 "report show takes the HHMMSS-RUNBOOK part of a drill id (${newest#*-})"
like "$out" "# Drill report: " "  and prints that drill's report"
# the shortest prefix (after the date) that names it alone: drills of one second share more
ids=$("$B" report list | awk 'NR > 1 {print $1}')
n=10
while [ "$(grep -c "^${newest:0:n}" <<<"$ids")" != 1 ] && [ "$n" -lt "${#newest}" ]; do
    n=$((n + 1))
done
"$B" report show --json "${newest:0:n}" >"$PGDRILL_TEST_WORK/cli-show.json" 2>&1
is "$(json_eval "$PGDRILL_TEST_WORK/cli-show.json" 'd["drill_id"]')" "$newest" \
    "report show takes a prefix of the id (${newest:0:n})"
out=$("$B" report show 2 2>&1)
is "$?" 2 "an id that names several drills exits 2"
like "$out" "drill id '2' is ambiguous: it names $newest, [0-9]{8}-[0-9]{6}-tiny" "  and lists them"

out=$("$B" tui </dev/null 2>&1)
is "$?" 2 "tui without a terminal exits 2"
like "$out" "needs a terminal" "and says so"

out=$("$B" check --url 'postgresql://u:hunter2secret@127.0.0.1:1/none?connect_timeout=2' 2>&1)
is "$?" 3 "check against an unreachable database exits 3"
unlike "$out" "hunter2secret" "and the password is not printed"
done_testing
