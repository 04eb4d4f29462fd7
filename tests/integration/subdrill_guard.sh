#!/bin/bash
# The drill guard in a sub-drill, against the sandbox Neon server: a child
# runbook with drill: yes keeps its protection when the parent says
# drill: no (its rename of the default branch is refused, despite --yes and
# its on-fail=skip, while the parent's own steps are not guarded), and a
# parent with drill: yes protects the steps of a child that says drill: no;
# on-fail=skip of a runbook step never takes a refusal, nor does a resume.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup subdrill-guard
export PGDRILL_HOME=$W/home
F=$TOP/tests/fixtures/runbooks/subdrill

# first the parent's drill: yes (it held before sub-drills read their own header)
"$PGDRILL_BIN" run "$F/guard-drill-parent.md" --yes >"$W/out.parent" 2>&1
is "$?" 1 "a drill: no child under a drill: yes parent: the drill fails (exit 1)"
like "$(cat "$W/out.parent")" \
    "refused: drill runbooks never change the default branch 'main' \(step plain/touch/1: branch-rename main\)" \
    "the parent's drill: yes covers the child's steps"

"$PGDRILL_BIN" run "$F/guard-parent.md" --yes >"$W/out.child" 2>&1
is "$?" 1 "a drill: yes child under a drill: no parent: the drill fails (exit 1)"
like "$(cat "$W/out.child")" \
    "refused: drill runbooks never change the default branch 'main' \(step drill/touch/1: branch-rename main\)" \
    "the child's rename of the default branch is refused, despite --yes and on-fail=skip"
like "$(cat "$W/out.child")" "passed own/2: " "the parent's own steps are not the child's drill: it renames its own branch"
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | grep subdrill-guard-parent | tail -n 1)
R=$PGDRILL_HOME/drills/$id/report.json
is "$(json_get "$R" outcome)" failed "report: outcome failed"
is "$(json_get "$R" 'stages[id=drill/touch].steps[id=drill/touch/1].status')" failed \
    "report: the refused step failed, not skipped"
like "$(json_get "$R" 'issues[kind=recorded].text')" "^refused: drill runbooks never change the default branch" \
    "report: the refusal is an issue"

"$NT" cli action op=branch-get branch=main >"$W/out.main" 2>&1
like "$(cat "$W/out.main")" "name=main" "main still exists under its name"
like "$(cat "$W/out.main")" "default" "and is still the default"
"$NT" cli action op=branch-get branch=main-renamed >/dev/null 2>&1
check "no branch main-renamed" [ $? -ne 0 ]
# a refusal under on-fail=skip of the runbook step: not taken, and a resume from a crash
# before the drill's end does not take the refused step as done (it is refused again)
"$PGDRILL_BIN" run "$F/guard-catch.md" --yes >"$W/out.catch" 2>&1
is "$?" 1 "a refusal inside a child is no failure on-fail=skip takes (exit 1)"
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | grep subdrill-guard-catch | tail -n 1)
J=$PGDRILL_HOME/drills/$id/journal.jsonl
n=$(grep -n '"ev":"stage_end","stage":1,' "$J" | tail -n 1 | cut -d: -f1)
head -n "$n" "$J" >"$J.cut" && mv "$J.cut" "$J"
rm -f "$PGDRILL_HOME/drills/$id"/report.*
"$PGDRILL_BIN" resume "$id" --yes >"$W/out.catch-resume" 2>&1
is "$?" 1 "the resume fails the drill again (exit 1) ..."
R=$PGDRILL_HOME/drills/$id/report.json
is "$(json_get "$R" 'stages[id=drill/touch].steps[id=drill/touch/1].status')/$(json_get "$R" 'stages[id=drill/touch].steps[id=drill/touch/1].attempts')" \
    failed/2 "... its refused step tried, and refused, once more"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"drill.refused"' "the refusals are in the audit log"
unlike "$(cat "$PGDRILL_HOME/audit.log")" '"action":"neon.branch-rename",[^}]*"branch":"main"' \
    "no rename of main ever reached Neon"
key_check
done_testing
