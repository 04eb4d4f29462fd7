#!/bin/bash
# kill -9 in the middle of a drill, then `pgdrill resume`: the drill goes on
# at the interrupted step with earlier timings intact; a runbook edited in
# between is refused.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "$PGDRILL_TEST_WORK/kill.XXXXXX")
export PGDRILL_HOME="$W/home"
RB="$W/kill-resume.md"
cp "$PGDRILL_TOP/tests/fixtures/runbooks/kill-resume.md" "$RB"

# kill -9 once the slow step has started (its marker exists)
kill_at_mark "$W/slow.mark" "$W/run1.out" "$PGDRILL_BIN" run "$RB" --var work="$W" --yes
is "$([ -e "$W/slow.mark" ] && echo yes)" "yes" "the slow step was running when killed"

id=$(basename "$(first_path "$PGDRILL_HOME"/drills/*)")
J="$PGDRILL_HOME/drills/$id/journal.jsonl"
like "$(cat "$J")" '"stage_start"' "the journal holds the drill up to the kill"
before=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r.get("ev")=="step_end" and r.get("stage")==0:
        print(r.get("at"), r.get("duration_s")); break' "$J")
if [ -n "$before" ]; then
    ok "stage 1 finished before the kill: $before"
else
    not_ok "stage 1 finished before the kill"
fi

# an edited runbook is refused
cp "$RB" "$W/orig.md"
sed -i 's/echo finished/echo finished again/' "$RB"
out=$("$PGDRILL_BIN" resume "$id" 2>&1)
is "$?" 2 "resume refuses a runbook whose stages changed (exit 2)"
like "$out" "changed since the drill began" "and says why"
cp "$W/orig.md" "$RB"

pgid=$(cat "$W/slow.pgid")
if kill -0 -- "-$pgid" 2>/dev/null; then
    ok "the killed step's process group $pgid outlived pgdrill"
else
    not_ok "the killed step's process group $pgid outlived pgdrill"
fi
is "$(stat -c %a "$PGDRILL_HOME/drills/$id/running.pgid" 2>&1)" 600 "the running group is noted in the drill folder (0600)"

out=$("$PGDRILL_BIN" resume 2>&1)
is "$?" 0 "resume without an id continues the newest unfinished drill"
if kill -0 -- "-$pgid" 2>/dev/null; then
    not_ok "resume stopped the leftover group $pgid"
else
    ok "resume stopped the leftover group $pgid"
fi
like "$out" "was still running .process group $pgid.; stopped it" "and says so"
if [ -e "$PGDRILL_HOME/drills/$id/running.pgid" ]; then
    not_ok "the note is removed"
else
    ok "the note is removed"
fi
is "$(wc -l < "$W/prepare.count")" 1 "the finished step did not run again"
is "$(wc -l < "$W/finish.count")" 1 "the remaining step ran once"

R="$PGDRILL_HOME/drills/$id/report.json"
is "$(json_get "$R" outcome)" passed "report: outcome passed"
is "$(json_get "$R" 'stages.0.status')" passed "report: stage 1 passed"
after=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r.get("ev")=="step_end" and r.get("stage")==0:
        print(r.get("at"), r.get("duration_s")); break' "$J")
is "$after" "$before" "stage 1 timing unchanged after the resume"
is "$(stat -c %a "$R")" 600 "report.json is 0600"
is "$(stat -c %a "$J")" 600 "journal is 0600"
done_testing
