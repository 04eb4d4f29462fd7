#!/bin/bash
# The status panel of the runbook picker: on a fresh PGDRILL_HOME it shows
# the backup, the verification and the quarterly drill never done, each
# OVERDUE (in the warning style), and "status: 3 overdue"; with the records
# a backup, a verify and a quarterly drill leave, nothing overdue, the same
# lines as `pgdrill status` prints (on a screen wide enough for them).
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p "$T_WORK/runbooks"
cp "$FIXTURES/tui-basic.md" "$FIXTURES/tui-quit.md" "$T_WORK/runbooks/"
envs=(PGDRILL_ENVIRONMENT=sandbox "PGDRILL_RUNBOOKS=$T_WORK/runbooks" LANG=C.UTF-8 LC_ALL=C.UTF-8)

t_start 100 24 "${envs[@]}" -- tui
check "picker with its status panel" t_wait "Status (pgdrill status, local records)"
check "  the panel's verdict" t_wait "status: 3 overdue"
t_screen >"$T_WORK/fresh.txt"
check "  backup never done, overdue" grep -qF "backup:        never: OVERDUE (limit 8 days)" "$T_WORK/fresh.txt"
check "  verification never done, overdue" grep -qF "verification:  never: OVERDUE (limit 31 days)" "$T_WORK/fresh.txt"
check "  quarterly drill never done, overdue" grep -qF "drill quarterly-drill: never: OVERDUE (limit 92 days)" "$T_WORK/fresh.txt"
check "  the runbooks are still listed above it" grep -qF "TUI basic drill" "$T_WORK/fresh.txt"
t_screen_escapes >"$T_WORK/fresh-esc.txt"
esc=$(printf '\033')
# the attributes in force where the line's text starts
attrs() { grep -F "$1" "$2" | head -1 | sed "s/$1.*//" | grep -oE "${esc}\[[0-9;]*m" | tr -d '\n'; }
overdue=$(attrs "backup:        never" "$T_WORK/fresh-esc.txt")
t_keys q
rc=$(t_wait_exit 15)
check "q in the picker exits 0 (got $rc)" test "$rc" = 0
t_cleanup

# The records pgdrill backup, verify and a quarterly drill leave.
H=$T_WORK/home
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
id=$(date -u +%Y%m%d-%H%M%S)-quarterly-drill
mkdir -p "$H/status" "$H/drills/$id"
cat >"$H/status/backup.json" <<JSON
{"at": "$now", "outcome": "passed", "key": "weekly/care-commons-backup-$(date -u +%Y%m%d-%H%M%S).sql.gz",
 "size": 1048576, "verified": true, "duration_s": 12, "last_success_at": "$now",
 "last_success_key": "weekly/care-commons-backup-$(date -u +%Y%m%d-%H%M%S).sql.gz", "last_success_size": 1048576,
 "last_success_verified": true, "last_success_duration_s": 12}
JSON
printf '{"at": "%s", "verdict": "passed", "duration_s": 3, "last_success_at": "%s"}\n' "$now" "$now" \
    >"$H/status/verify.json"
printf '{"drill_id": "%s", "runbook": {"id": "quarterly-drill"}, "started_at": "%s", "finished_at": "%s", "outcome": "passed", "duration_s": 600, "rto_s": 540, "rpo_s": 137}\n' \
    "$id" "$now" "$now" >"$H/drills/$id/report.json"

t_start 160 24 "${envs[@]}" -- tui
check "after backup, verify and drill: nothing overdue" t_wait "status: nothing overdue"
t_screen >"$T_WORK/done.txt"
check "  the backup, 1.0 MiB, verified" grep -qE "backup: +[0-9T:-]+Z \(<1m ago\) weekly/care-commons-backup-[0-9-]+\.sql\.gz, 1\.0 MiB, verified \(local\): ok" "$T_WORK/done.txt"
check "  the verification passed" grep -qE "verification: +[0-9T:-]+Z \(<1m ago\) passed: ok" "$T_WORK/done.txt"
check "  the quarterly drill, RTO and RPO" grep -qE "drill quarterly-drill: .* $id passed, RTO 9m00s, RPO 2m17s: ok" "$T_WORK/done.txt"
t_screen_escapes >"$T_WORK/done-esc.txt"
fine=$(attrs "backup:        " "$T_WORK/done-esc.txt")
check "  an overdue line is styled apart from one that is fine ($(printf %q "$overdue") vs $(printf %q "$fine"))" \
    test -n "$overdue" -a "$overdue" != "$fine"
PGDRILL_HOME=$H "$PGDRILL_BIN" status >"$T_WORK/cli.txt"
check "  the same lines as pgdrill status" \
    diff <(sed 's/^ *//; s/ *$//' "$T_WORK/cli.txt") <(grep -A5 'Status (pgdrill status' "$T_WORK/done.txt" | tail -n +2 | sed 's/^ *//; s/ *$//' | grep -v '^$' | head -4)
t_keys q
rc=$(t_wait_exit 15)
check "q exits 0 (got $rc)" test "$rc" = 0
t_done
