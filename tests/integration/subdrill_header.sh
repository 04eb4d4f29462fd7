#!/bin/bash
# What a sub-drill takes from its runbook step and from its own header:
# on-fail= of the runbook step takes a failure inside the child (continue:
# the parent goes on and the drill ends failed; skip: the drill can pass;
# stop: as before), the child's clean-up runs in every case and its stages
# after the failure do not; the child's environment: production holds for
# its own steps; lint refuses an environment other than the top's (down the
# whole tree) and on-fail=retry on a runbook step; report.json and report.md judge each
# sub-drill by its own expected:, rto: and rpo:, the drill's rto_s and
# rpo_s staying the drill's.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_env PGDRILL_TEST_WORK PGDRILL_TEST_PGURL

W=$(mktemp -d "$PGDRILL_TEST_WORK/subhdr.XXXXXX")
export PGDRILL_HOME="$W/home"
F=$PGDRILL_TOP/tests/fixtures/runbooks/subdrill
cp "$F/catch.md" "$F/failing.md" "$W/"
touch "$W/fail.mark"

count() { if [ -e "$W/$1.count" ]; then wc -l <"$W/$1.count"; else echo 0; fi; }
report() { # POLICY: report.json of the newest drill of catch.md run with it
    echo "$PGDRILL_HOME/drills/$(basename "$(first_path "$PGDRILL_HOME"/drills/*-subdrill-catch."$1")")/report.json"
}

for p in continue skip stop; do
    rm -f "$W"/*.count
    "$PGDRILL_BIN" run "$W/catch.md" --var work="$W" --var policy=$p --yes >"$W/out.$p" 2>&1
    echo $? >"$W/rc.$p"
    echo "$(count finish) $(count child-start) $(count child-fail-after) $(count child-after) $(count child-cleanup)" >"$W/counts.$p"
    # shellcheck disable=SC2012 # drill ids are plain words
    d=$(ls -t "$PGDRILL_HOME/drills" | head -n 1)
    mv "$PGDRILL_HOME/drills/$d" "$PGDRILL_HOME/drills/$d.$p"
done
# counts: finish, child start, the failed stage's next step, the child's next stage, clean-up
is "$(cat "$W/rc.continue")" 1 "on-fail=continue: a failed child fails the drill (exit 1) ..."
is "$(cat "$W/counts.continue")" "1 1 0 0 1" \
    "... the parent goes on after the child's clean-up; the child's steps after the failure do not run"
like "$(cat "$W/out.continue")" "skipped cont/after/1: runbook failing stopped at step cont/fail/1: on-fail=continue of step cont/1" \
    "the child's steps left are skipped, naming the failure and the policy"
like "$(cat "$W/out.continue")" "pgdrill: step cont/fail/1: sh: exit 4" "the drill's error is the child's failed step"
R=$(report continue)
is "$(json_get "$R" outcome)" failed "continue: report outcome failed"
is "$(json_get "$R" 'stages[id=cont/fail].steps[id=cont/fail/1].status')" failed "continue: the child's step stays failed"
is "$(json_get "$R" 'stages[id=finish].status')" passed "continue: the parent's next stage passed"

is "$(cat "$W/rc.skip")" 0 "on-fail=skip: the drill passes (exit 0) ..."
is "$(cat "$W/counts.skip")" "1 1 0 0 1" "... after the child's clean-up, without the rest of the child"
R=$(report skip)
is "$(json_get "$R" outcome)" passed "skip: report outcome passed"
is "$(json_get "$R" 'stages[id=skip/fail].steps[id=skip/fail/1].status')" skipped "skip: the failed step is recorded skipped"
like "$(json_get "$R" 'deviations[step=skip/fail/1].reason')" "on-fail=skip of step skip/1" \
    "skip: the report's deviations say why"
is "$(json_get "$R" 'subdrills.1.runbook')/$(json_get "$R" 'subdrills.1.status')" "subdrill-failing/failed" \
    "skip: the sub-drill whose failure was taken is still failed ..."
is "$(json_get "$R" 'subdrills.1.rto_verdict')" missed "... and has missed its RTO"

is "$(cat "$W/rc.stop")" 1 "on-fail=stop (the default): the drill fails (exit 1) ..."
is "$(cat "$W/counts.stop")" "0 1 0 0 1" "... and stops after the child's clean-up, as before"
is "$(json_get "$(report stop)" outcome)" failed "stop: report outcome failed"

# a grandchild's failure goes up through the child's on-fail=stop to on-fail=continue
rm -f "$W"/*.count
"$PGDRILL_BIN" run "$F/nested.md" --var work="$W" --yes >"$W/out.nested" 2>&1
is "$?" 1 "nested: the grandchild's failure fails the drill (exit 1) ..."
is "$(count child-cleanup) $(count mid-after) $(count mid-cleanup) $(count finish)" "1 0 1 1" \
    "... both clean-ups run, the child's next stage does not, the parent goes on"
like "$(cat "$W/out.nested")" "skipped outer/after/1: runbook mid stopped at step outer/inner/fail/1: on-fail=continue of step outer/1" \
    "nested: the child's steps left are skipped, naming the runbook step that took the failure"

# the child's environment: production holds for its own steps
"$PGDRILL_BIN" run "$F/env-none.md" --yes >"$W/out.env" 2>&1
is "$?" 2 "a child with environment: production under a parent without one: --yes does not confirm ..."
like "$(cat "$W/out.env")" "destructive in production, --yes does not apply" "... its destructive confirm"

out=$("$PGDRILL_BIN" lint "$F/bad-header.md" 2>&1)
is "$?" 2 "lint: a child's header that cannot hold in this drill is an error (exit 2)"
like "$out" "bad-header.md:13:1: runbook: runbook 'subdrill-env-child' targets environment 'production', this runbook 'sandbox': one drill acts on one environment" \
    "lint: a child's environment other than the parent's"
like "$out" "bad-header.md:19:1: runbook: on-fail=retry cannot run a sub-drill again" "lint: on-fail=retry on a runbook step"
unlike "$out" "bad-header.md:25:" "lint: the same environment in another case is no error"
is "$(grep -c . <<<"$out")" 2 "lint: two errors, no more"

# a grandchild's environment against the top's, through a child that names none
out=$("$PGDRILL_BIN" lint "$F/env-nested.md" 2>&1)
is "$?" 2 "lint: a grandchild's environment other than the top's is an error (exit 2) ..."
like "$out" "env-nested.md:13:1: runbook: runbook 'subdrill-env-nested-sandbox' [(]under step middle/inner/1[)] targets environment 'sandbox', runbook 'subdrill-env-nested' environment 'production'" \
    "... reported at the top's runbook step"
"$PGDRILL_BIN" run "$F/env-nested.md" --yes >"$W/out.env-nested" 2>&1
is "$?" 2 "a production drill with a sandbox grandchild does not run headless ..."
unlike "$(cat "$W/out.env-nested")" "confirmed by --yes" "... and --yes confirms none of its destructive steps"

# the child's targets against what the sub-drill achieved
R=$(report continue)
is "$(json_get "$R" 'subdrills.0.runbook')/$(json_get "$R" 'subdrills.0.status')" "subdrill-failing/failed" \
    "report: the sub-drill that failed is listed with its status"
is "$(json_get "$R" 'subdrills.0.stages')" '["cont/start", "cont/fail", "cont/after", "cont/cleanup"]' \
    "report: with its stages"
is "$(json_get "$R" 'subdrills.0.rto_target_s')/$(json_get "$R" 'subdrills.0.rto_verdict')" "30/missed" \
    "report: a child that failed missed its RTO, however fast it failed"
is "$(json_get "$R" 'subdrills.1.status')" "not-run" "report: one whose runbook step did not run is not-run"
is "$(json_get "$R" 'subdrills.1.duration_s')" "null" "report: and has no duration"
export DATABASE_URL=$PGDRILL_TEST_PGURL
"$PGDRILL_BIN" run "$F/measured-parent.md" --yes >"$W/out.measured" 2>&1
is "$?" 0 "a parent runs a child that measures its restore point"
like "$(cat "$W/out.measured")" 'RPO achieved: 2m17s between .* \(target 5m00s: met\)' \
    "the RPO line inside the child names the child's rpo: target (the parent has none)"
# shellcheck disable=SC2012 # drill ids are plain words
R=$PGDRILL_HOME/drills/$(ls -t "$PGDRILL_HOME/drills" | head -n 1)/report.json
M=${R%.json}.md
is "$(json_get "$R" 'subdrills.0.stage')/$(json_get "$R" 'subdrills.0.runbook')" "restore/subdrill-measured" \
    "report: the sub-drill, by the stage that runs it"
is "$(json_get "$R" 'subdrills.0.expected_s') $(json_get "$R" 'subdrills.0.rto_target_s') $(json_get "$R" 'subdrills.0.rpo_target_s')" \
    "60 3600 300" "report: the child's expected:, rto: and rpo:"
is "$(json_get "$R" 'subdrills.0.rpo_s') $(json_get "$R" 'subdrills.0.rpo_verdict')" "137 met" \
    "report: the RPO its own check measured, judged by its target"
like "$(json_get "$R" 'subdrills.0.duration_s')" '^[0-9.]+$' "report: its duration ..."
is "$(json_get "$R" 'subdrills.0.rto_verdict')" met "... judged by its RTO target"
is "$(json_get "$R" rto_target_s) $(json_get "$R" rpo_target_s)" "600 null" "report: the drill's own targets stay the parent's"
is "$(json_get "$R" rpo_s)" 137 "report: and its rpo_s stays the drill's measure"
# shellcheck disable=SC2016 # backticks of a Markdown code span, not a command
like "$(cat "$M")" '[|] Restore [|] `subdrill-measured` [|] passed [|] [0-9.]+ [|] 60.000 [|] 3600.000 \(met\) [|] 137.000 [|] 300.000 \(met\) [|]' \
    "report.md: a Sub-drills table with the child's targets and achievements"
"$PGDRILL_BIN" report show "$(basename "$(dirname "$R")")" --html "$W/r.html" >/dev/null 2>&1
is "$?" 0 "report show --html of that drill"
# one table row of the page's Sub-drills section: stage, runbook, status, RTO and RPO cells
like "$(tr -d '\n' <"$W/r.html")" '<section id="subdrills">.*<td>Restore</td><td><code>subdrill-measured</code></td><td><span class="passed">passed</span></td><td class="num">[0-9.]+ s [^<]* / 3600.000 s \(1h00m00s\) <span class="met">met</span></td><td class="num">137.000 s [^<]* / 300.000 s \(5m00s\) <span class="met">met</span></td></tr>' \
    "report.html: a Sub-drills table with the child's targets and verdicts"

# a report written again later judges a sub-drill by its targets as the drill began
mkdir -p "$W/m"
cp "$F/measured-parent.md" "$F/measured.md" "$W/m/"
"$PGDRILL_BIN" run "$W/m/measured-parent.md" --yes >"$W/out.m" 2>&1
is "$?" 0 "a copy of the measured parent runs"
# shellcheck disable=SC2012 # drill ids are plain words
D=$(ls -t "$PGDRILL_HOME/drills" | head -n 1)
R=$PGDRILL_HOME/drills/$D/report.json
sed -i 's/^rto: 1h$/rto: 1s/' "$W/m/measured.md"
rm -f "$PGDRILL_HOME/drills/$D"/report.*
"$PGDRILL_BIN" report show "$D" >/dev/null 2>&1
is "$(json_get "$R" 'subdrills.0.rto_target_s')/$(json_get "$R" 'subdrills.0.rto_verdict')" "3600/met" \
    "report again: an edited child rto: does not change an old drill's verdict"
sed -i 's/AS newest_committed/AS newest/' "$W/m/measured.md"
rm -f "$PGDRILL_HOME/drills/$D"/report.*
"$PGDRILL_BIN" report show "$D" >/dev/null 2>&1
is "$(json_get "$R" 'subdrills')" "[]" "report again: stages changed since the drill, no sub-drill is judged ..."
like "$(cat "${R%.json}.md")" "Not judged: the runbook's stages changed since the drill began" "... report.md says why"

# a child the drill ended before it finished (a declined plan) is stopped, not running
"$PGDRILL_BIN" run "$F/plan-parent.md" --var url=postgresql://nobody@127.0.0.1:1/x </dev/null >"$W/out.plan" 2>&1
is "$?" 1 "a plan not accepted headless ends the drill (exit 1) ..."
R="$(first_path "$PGDRILL_HOME"/drills/*-subdrill-plan-parent)/report.json"
is "$(json_get "$R" outcome)/$(json_get "$R" 'subdrills.0.status')" declined/stopped \
    "... and the sub-drill it cut short is stopped"

# --json --yes: the plan still goes to stderr (a CI log keeps it), stdout is report.json alone
"$PGDRILL_BIN" run "$F/plan-parent.md" --var url=postgresql://nobody@127.0.0.1:1/x --yes --json \
    </dev/null >"$W/out.pj" 2>"$W/err.pj"
like "$(cat "$W/err.pj")" "Plan for subdrill-plan-parent: .*Changes: 2 steps may create or change something.*== plan accepted by --yes" \
    "run --json --yes prints the plan on stderr before the first change"
is "$(json_get "$W/out.pj" runbook.id)" subdrill-plan-parent "... and stdout is one JSON document"
check "... without the plan in it" [ -z "$(grep -F 'Plan for' "$W/out.pj")" ]
done_testing
