#!/bin/bash
# Scenario 1 in the TUI at 100x30 against the sandbox Neon server: the
# operator types the restore point, takes the defaults, watches the branch
# being created and verified, types the branch name to delete it, leaves a
# note; the report and the sandbox agree.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/../integration/neon_lib.sh"
neon_setup tui-pitr
T_NAME=tui-pitr
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"
trap 't_cleanup; neon_teardown' EXIT

t_care_commons
sleep 1.2
T0=$(cc "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 1.2
cc "DELETE FROM users WHERE email = 'test@example.com'" >/dev/null

t_start_drill 100 30 "$TOP/runbooks/pitr-restore.md"

check "banner names the sandbox" t_wait "SANDBOX" 20
check "the restore point is asked first" t_wait "Restore point" 20
t_keys "$T0" Enter
check "the outcome is asked with its choices" t_wait "Once verified"
t_keys Enter
check "the expected e-mail is asked" t_wait "An e-mail address"
t_keys Enter
check "the table is asked" t_wait "the table to copy back"
t_keys Enter
# the plan comes when the branch is about to be created: the restore point
# typed and the branch name the drill chose are in it, nothing exists yet
check "the plan comes before the first change" \
    t_wait "Plan: pitr-restore (nothing has changed yet)" 60
t_screen >"$T_WORK/plan.txt"
sed 's/^/# plan: /' "$T_WORK/plan.txt"
# long lines wrap on the screen: read it as one line of words
plan_words=$(tr -s ' \n' '  ' <"$T_WORK/plan.txt")
check "the plan names the branch it will create next, at the typed restore point" \
    grep -qE "Next, the first change \(step create-branch/2, stage 2\): create branch recovery-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4} from the default branch at $T0" <<<"$plan_words"
check "the plan gives the expected data loss" grep -qE "Expected data loss: [0-9.]+s \(changes after $T0, up to now\)" <<<"$plan_words"
check "the plan shows stage 1 done" grep -qF "done    neon project-get" "$T_WORK/plan.txt"
check "the plan shows the typed restore point" grep -qF "input target_time = $T0" "$T_WORK/plan.txt"
check "no recovery branch exists while the plan is shown" \
    quiet "$NT" cli action op=branch-absent name='recovery-*'
t_keys Enter
check "stage 1 read the project's history window" t_wait "history window" 30
check "stage 2 passed" t_wait_re "\[✓\] 2\. Create the recovery branch" 60
check "stage 3 (verification) passed" t_wait_re "\[✓\] 3\. Verify the recovery branch" 30
check "option A is skipped" t_wait_re "\[-\] 4\. Option A" 30
check "clean-up asks to type the branch name" t_wait_re "Type recovery-[0-9-]+ to continue" 30
t_screen >"$T_WORK/confirm.txt"
name=$(grep -oE "Type recovery-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}" "$T_WORK/confirm.txt" | head -1 | cut -c6-)
check "the confirmation names the branch ($name)" test -n "$name"
check "the branch exists before the confirmation" quiet "$NT" cli action op=branch-get branch="$name"
t_keys "$name" Enter
check "the note is asked at the end" t_wait "Anything to record" 60
t_keys "tui drill against the sandbox" Enter
check "summary screen" t_wait "Drill summary" 30
t_screen >"$T_WORK/summary.txt"
check "summary outcome passed" grep -qF "Outcome: passed" "$T_WORK/summary.txt"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0
if "$NT" cli action op=branch-get branch="$name" >/dev/null 2>&1; then
    not_ok "the recovery branch is deleted"
else
    ok "the recovery branch is deleted"
fi
dir=$(t_drill_dir)
check "the output showed Neon's operations finishing" \
    grep -qE '"text":"operation create_branch [^"]*: finished' "$dir/journal.jsonl"
check "the deleted user was on the recovery branch" \
    grep -qF 'check recovery.expected-user: passed' "$dir/journal.jsonl"
check "report: outcome passed" grep -qE "\"outcome\":[[:space:]]*\"passed\"" "$dir/report.json"
check "report: the note is recorded" grep -qF "tui drill against the sandbox" "$dir/report.json"
if grep -rqF "$NEON_API_KEY" "$dir" "$T_WORK/stderr" "$T_WORK/summary.txt" "$T_WORK/confirm.txt"; then
    not_ok "the API key is nowhere in the drill's files or screens"
else
    ok "the API key is nowhere in the drill's files or screens"
fi
t_done
