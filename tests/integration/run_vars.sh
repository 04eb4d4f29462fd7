#!/bin/bash
# A mistyped --var is an error (exit 2) for run, resume, check and tui: the
# message names the runbook's inputs and suggests the closest one; no drill
# is begun. Names the runbook reads from the environment (${NAME}, and
# DATABASE_URL for sql and check steps without url=) stay accepted.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "$PGDRILL_TEST_WORK/vars.XXXXXX")
export PGDRILL_HOME="$W/home"
RB=$PGDRILL_TOP/runbooks
unset DATABASE_URL
no_drills() { [ -z "$(ls -A "$PGDRILL_HOME/drills" 2>/dev/null)" ]; }

# ARGS|EXIT MESSAGE
while IFS='|' read -r args msg; do
    # shellcheck disable=SC2086
    out=$("$PGDRILL_BIN" $args 2>&1)
    is "$?" 2 "$args: exit 2"
    like "$out" "$msg" "  says: $msg"
done <<EOF_CASES
run $RB/post-restore-validation.md --var no_such_input=1 --yes|--var no_such_input: runbook post-restore-validation has no input 'no_such_input' \(its inputs: 
run $RB/pitr-restore.md --var outcome_optoin=B --yes|has no input 'outcome_optoin'; did you mean outcome_option\? \(its inputs: target_time, outcome_option,
run $RB/selective-recovery.md --var tabel=visits --yes|did you mean table\?
run $RB/pitr-restore.md --var target_time=2026-01-01T00:00:00Z --var copy_mod=undo --yes|has no input 'copy_mod'
run $RB/restore-from-s3.md --var backup_keyy=x --yes|did you mean backup_key\? \(its inputs: .*backup_key[,)]
run $RB/pitr-restore.md --var NEON_API_KEY=x --yes|has no input 'NEON_API_KEY' \(its inputs
run $RB/pitr-restore.md --var outcome_optoin=B --plan|did you mean outcome_option\?
check --url postgresql://127.0.0.1:1/none --var foo=1|pgdrill check: --var foo: runbook post-restore-validation has no input 'foo'
tui $RB/pitr-restore.md --var outcome_optoin=B|pgdrill tui: --var outcome_optoin: .*did you mean outcome_option\?
EOF_CASES
check "none of them began a drill" no_drills

# a restore point with an offset or without a zone: the message gives the UTC form
out=$("$PGDRILL_BIN" run "$RB/pitr-restore.md" --var target_time=2026-12-07T10:45:00+01:00 --yes 2>&1)
is "$?" 2 "target_time with an offset: exit 2"
like "$out" "'2026-12-07T10:45:00\+01:00' is not an RFC 3339 timestamp in UTC: in UTC it is 2026-12-07T09:45:00Z" \
    "  gives the same time in UTC"
out=$("$PGDRILL_BIN" run "$RB/pitr-restore.md" --var target_time=2026-12-07T09:45:00 --yes 2>&1)
is "$?" 2 "target_time without a zone: exit 2"
like "$out" "it has no time zone; if it is UTC write 2026-12-07T09:45:00Z, else convert it to UTC first" \
    "  says the zone is missing and what to write"
# a choice in the wrong case: the message names the right one
out=$("$PGDRILL_BIN" run "$RB/pitr-restore.md" --var target_time=2026-12-07T09:45:00Z \
    --var outcome_option=b --yes 2>&1)
is "$?" 2 "outcome_option=b: exit 2"
like "$out" "'b' is not one of A, A-in-place, B, verify-only; did you mean B\?" "  suggests B"

check "a --var value of the wrong form begins no drill either" no_drills
out=$("$PGDRILL_BIN" run "$RB/pitr-restore.md" --var target_time=yesterday --yes 2>&1)
unlike "$out" "who to tell" "  and prints no contacts before the error"

# several required inputs missing: all named at once, one alone as before
out=$("$PGDRILL_BIN" run "$RB/quarterly-drill.md" --var operator=ada --yes 2>&1)
is "$?" 2 "quarterly-drill with one of its required inputs: exit 2"
like "$out" "inputs 'drill_date', 'notice_sent_on', 'observer', 'target_time' need values: pass --var drill_date=VALUE --var notice_sent_on=VALUE --var observer=VALUE --var target_time=VALUE" \
    "  names every one still missing"
out=$("$PGDRILL_BIN" run "$RB/pitr-restore.md" --yes 2>&1 </dev/null)
is "$?" 2 "pitr-restore without target_time: exit 2"
like "$out" "input 'target_time' needs a value: pass --var target_time=VALUE" "  one missing: named alone"
unlike "$out" "who to tell|journal" "  and begins nothing: no contacts, no journal named"
check "a missing required input begins no drill (checked before drill_begin)" no_drills
is "$("$PGDRILL_BIN" report list | tail -n +2)" "" "  and leaves no 'aborted' entry in report list"
rm -rf "$PGDRILL_HOME/drills"

# environment variables the runbook reads are not inputs but stay accepted
cat >"$W/env.md" <<'MD'
# Env

```pgdrill
id: env-vars
use-case: Test fixture: a --var for an environment variable the runbook reads
expected: 1m
input: word text default=x "A word"
```

## Show
<!-- pgdrill id=show expected=5s -->

```sh env=PGDRILL_TEST_TOKEN
echo "token=$PGDRILL_TEST_TOKEN"
```

```sh
echo "area=${PGDRILL_TEST_AREA} word=${word}"
```
MD
out=$("$PGDRILL_BIN" run "$W/env.md" --var PGDRILL_TEST_AREA=north --var PGDRILL_TEST_TOKEN=t1 \
    --var word=y --yes 2>&1)
is "$?" 0 "--var for \${NAME} and env=NAME the runbook reads: exit 0"
like "$out" "token=t1" "  env= gets the value"
like "$out" "area=north word=y" "  \${NAME} gets the value"
out=$("$PGDRILL_BIN" run "$W/env.md" --var PGDRILL_TEST_OTHER=1 --yes 2>&1)
is "$?" 2 "an environment name the runbook does not read: exit 2"
like "$out" "has no input 'PGDRILL_TEST_OTHER' \(its inputs: word\)" "  lists the input"
out=$("$PGDRILL_BIN" run "$RB/post-restore-validation.md" --var DATABASE_URL=postgresql://127.0.0.1:1/none \
    --yes 2>&1)
unlike "$out" "has no input" "DATABASE_URL is read by the sql steps: not refused"

# resume: an interrupted drill, then a mistyped --var
cp "$PGDRILL_TOP/tests/fixtures/runbooks/kill-resume.md" "$W/kr.md"
kill_at_mark "$W/slow.mark" "$W/run1.out" "$PGDRILL_BIN" run "$W/kr.md" --var work="$W" --yes
[ -s "$W/slow.pgid" ] && kill -9 -- "-$(cat "$W/slow.pgid")" 2>/dev/null
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)
out=$("$PGDRILL_BIN" resume "$id" --var wrok=x --yes 2>&1)
is "$?" 2 "resume --var wrok=x: exit 2"
like "$out" "has no input 'wrok'; did you mean work\? \(its inputs: work\)" "  suggests work"
out=$("$PGDRILL_BIN" resume "$id" --yes 2>&1)
is "$?" 0 "the drill is still resumable and ends"
done_testing
