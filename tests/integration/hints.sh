#!/bin/bash
# Troubleshooting hints (runbooks/hints, pgdrill-runbook(5) HINTS) in a
# headless run: a step whose error matches a hint (pg_dump out of memory)
# shows the advice right below its failure, and report.json (issues[]:
# hint_id, hint), report.md and the journal keep it; a failure nothing
# matches has none; PGDRILL_HINTS names another file; a malformed one is a
# warning and the drill still runs.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-${TMPDIR:-/tmp}}/hints.XXXXXX")
RB=$PGDRILL_TOP/tests/fixtures/runbooks/hint-fail.md
unset PGDRILL_HINTS

# run_rb HOME RUNBOOK [VAR=VALUE...]: a headless run; stderr in $ERR, exit code in $RC
run_rb() {
    local home=$1 rb=$2
    shift 2
    ERR=$(env PGDRILL_HOME="$home" "$@" "$PGDRILL_BIN" run "$rb" --yes 2>&1 >/dev/null)
    RC=$?
}

run_rb "$W/h1" "$RB"
is "$RC" 1 "hints: the step fails"
is "$(grep -A1 '^   failed dump/1' <<<"$ERR" | tail -1)" \
    "   hint (pg-dump-out-of-memory): The backup is too large to dump this way. Use the custom format (pg_dump -Fc), which compresses as it goes, or compress separately (pg_dump | gzip); for very large databases back up specific schemas (pg_dump -n public)." \
    "hints: the procedures' advice right below the failure"
J=$(last_path "$W"/h1/drills/*/report.json)
is "$(json_get "$J" 'issues.0.hint_id')" pg-dump-out-of-memory "hints: report.json keeps the hint's id"
like "$(json_get "$J" 'issues.0.hint')" "^The backup is too large.*pg_dump -Fc" "hints: report.json keeps the advice"
is "$(json_get "$J" 'issues.0.text')" "step dump/1 failed: exit 1" "hints: the issue's text is unchanged"
like "$(cat "${J%.json}.md")" "step dump/1 failed: exit 1; hint \(pg-dump-out-of-memory\): The backup is too large" \
    "hints: report.md keeps it"
is "$(grep -c '"ev":"hint"' "${J%/report.json}/journal.jsonl")" 1 "hints: the journal records it once"

sed 's/out of memory/something else broke/' "$RB" >"$W/other.md"
run_rb "$W/h2" "$W/other.md"
is "$RC" 1 "hints: an unmatched failure fails too"
unlike "$ERR" "hint \\(" "hints: and shows no hint"
J=$(last_path "$W"/h2/drills/*/report.json)
is "$(json_eval "$J" '"hint" in d["issues"][0]')" false "hints: no hint in its report"

printf '[mine]\nmatch = something else\nadvice = Ask the DBA.\n' >"$W/my-hints"
run_rb "$W/h3" "$W/other.md" PGDRILL_HINTS="$W/my-hints"
like "$ERR" "   failed dump/1: exit 1
   hint \(mine\): Ask the DBA\." "hints: PGDRILL_HINTS names the file"

# Neon unavailable (a PITR outage): the advice points at Scenario 2
cat >"$W/neon503.md" <<'MD'
# Neon down

```pgdrill
id: neon-503
use-case: Test fixture: Neon answers 503 to a branch create
expected: 1m
```

## Create the branch
<!-- pgdrill id=branch expected=10s -->

```sh
echo "neon: POST /projects/p/branches: HTTP 503: service unavailable (request_id r1)" >&2
exit 3
```
MD
run_rb "$W/h5" "$W/neon503.md"
like "$ERR" "   failed branch/1: exit 3
   hint \(neon-unavailable\): Neon does not answer .*restore-from-s3" \
    "hints: Neon's 503 points at Scenario 2, restore-from-s3"

# a table dropped in production (sandbox incident drop-table), then option B
sed -e 's/^echo "neon: .*/echo "postgres: 127.0.0.1:5432\/app: relation \\"users\\" does not exist (SQLSTATE 42P01)" >\&2/' \
    -e 's/^exit 3/exit 1/' "$W/neon503.md" >"$W/dropped.md"
run_rb "$W/h6" "$W/dropped.md"
like "$ERR" "   failed branch/1: exit 1
   hint \(relation-missing\): A table is gone .*A-in-place" \
    "hints: a table gone from production points at option A-in-place"

printf 'advice = no hint yet\n' >"$W/bad-hints"
run_rb "$W/h4" "$RB" PGDRILL_HINTS="$W/bad-hints"
is "$RC" 1 "hints: a malformed file does not stop the drill (the step's own failure)"
like "$ERR" "hints: $W/bad-hints:1: 'advice' before the first \[id\]" "hints: a malformed file is a warning naming the line"

done_testing
