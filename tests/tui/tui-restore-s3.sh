#!/bin/bash
# Scenario 2 in the TUI at 140x100 against the real services: s3rver behind
# the signature-checking proxy (sandbox/s3-proxy.py), the sandbox Neon server
# and its PostgreSQL primary. Two gzip'd pg_dump backups of care_commons are
# in the bucket, as `pgdrill backup` stores them: an older full one and a
# newer one taken after some visits were deleted. The operator takes the
# default inputs but asks for a switch-over, picks the OLDER backup by
# typing its key, reads and accepts the plan shown before the first change
# (the restore branch), watches the backup being streamed into a new database on
# restore-from-backup-YYYY-MM-DD and checked, types the branch name to
# confirm the switch-over, marks the four manual Vercel steps done and leaves
# a note. The restored tables are the older backup's; report.json agrees.
#
# The terminal is tall so that the restore's output (progress, psql, the
# checks) is still on screen when the switch-over confirmation stops the
# drill: the confirmation is modal, the output pane cannot be scrolled then.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/../integration/verify_lib.sh"
verify_setup tui-restore-s3
T_NAME=tui-restore-s3
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"
trap 't_cleanup; neon_teardown; s3_teardown' EXIT

counts() { # URL: "users clients caregivers visits"
    psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "SELECT (SELECT count(*) FROM users)||' '||(SELECT count(*) FROM clients)||' '||(SELECT count(*) FROM caregivers)||' '||(SELECT count(*) FROM visits)"
}

FULL_COUNTS=$(counts "$SRC_URL")
FULL_VISITS=${FULL_COUNTS##* }
OLD_KEY=care-commons-backup-$(stamp 7).sql.gz
pg_dump "$SRC_URL" | gzip >"$W/full.sql.gz" || not_ok "pg_dump of the full database"
upload_backup "weekly/$OLD_KEY" "$W/full.sql.gz"
OLD_SHA=$(sha256sum "$W/full.sql.gz" | cut -d' ' -f1)
cc "DELETE FROM visits WHERE id % 5 = 0" >/dev/null
NEW_COUNTS=$(counts "$SRC_URL")
NEW_KEY=care-commons-backup-$(stamp 0).sql.gz
pg_dump "$SRC_URL" | gzip >"$W/new.sql.gz" || not_ok "pg_dump after the deletion"
upload_backup "weekly/$NEW_KEY" "$W/new.sql.gz"
check "the two backups differ ($FULL_COUNTS vs $NEW_COUNTS)" test "$FULL_COUNTS" != "$NEW_COUNTS"
BRANCH=restore-from-backup-$(date -u +%Y-%m-%d)

# the sandbox's defaults: the migration stage runs `pgdrill sandbox migrate`
# (the pgdrill under test, first on PATH) against the restored database
t_start 140 108 PGDRILL_ENVIRONMENT=sandbox "PATH=$(dirname "$PGDRILL_BIN"):$PATH" LANG=C.UTF-8 LC_ALL=C.UTF-8 "HOME=$HOME" \
    "DATABASE_URL=$SRC_URL" "NEON_API_HOST=$NEON_API_HOST" "NEON_API_KEY=$NEON_API_KEY" \
    "NEON_PROJECT_ID=$NEON_PROJECT_ID" "PGDRILL_BACKUP_URI=$PGDRILL_BACKUP_URI" \
    "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID" "AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
    "AWS_REGION=$AWS_REGION" "AWS_ENDPOINT_URL_S3=$AWS_ENDPOINT_URL_S3" \
    -- tui "$TOP/runbooks/restore-from-s3.md"

check "banner names the sandbox" t_wait "SANDBOX" 30
for q in "backup_prefix" "restore_db" "dump_format" "restore_jobs" "app_dir"; do
    check "input $q is asked, with its default" t_wait "┌─ $q ─" 20
    t_keys Enter
done
# PGDRILL_ENVIRONMENT=sandbox: the migration inputs default to the sandbox's commands
for q in "migrate_status_cmd|pgdrill sandbox migrate --status" "migrate_cmd|pgdrill sandbox migrate"; do
    check "input ${q%%|*} is asked" t_wait "┌─ ${q%%|*} ─" 20
    check "  with the sandbox's default: ${q#*|}" t_wait "Default: ${q#*|} (Enter accepts it)" 5
    t_keys Enter
done
check "the outcome is asked with its choices" t_wait "Choices: switch, verify-only" 20
t_keys switch Enter
check "input restore_target is asked, with its default" t_wait "┌─ restore_target ─" 20
t_keys Enter
check "the backups are listed, newest first" t_wait "2 objects under s3://$BUCKET/weekly/, newest first:" 60
check "the list shows the older backup" t_wait_re "weekly/$OLD_KEY +[0-9.]+ KiB +7d 0h"
check "the operator is asked which backup, newest by default" t_wait "or \"newest\" for weekly/$NEW_KEY" 30
t_keys "$OLD_KEY" Enter
# the plan comes as the first change is due, over the drill screen
check "the plan comes before the first change" t_wait "Plan: restore-from-s3 (nothing has changed yet)" 60
t_screen >"$T_WORK/plan.txt"
words=$(tr -s ' \n' '  ' <"$T_WORK/plan.txt")
check "the plan: the typed key is the backup" grep -qF "input backup_key = $OLD_KEY" <<<"$words"
check "the plan: its HEAD was read" grep -qF "done s3 head s3://$BUCKET/weekly/$OLD_KEY" <<<"$words"
check "the plan: the backup used is the older one" grep -qF "Backup used: s3://$BUCKET/weekly/$OLD_KEY" <<<"$words"
check "the plan: the next change creates the restore branch" \
    grep -qF "Next, the first change (step target/4, stage 2): create branch $BRANCH" <<<"$words"
check "the plan: the chosen backup is streamed into the restore" \
    grep -qF "read s3 restore s3://$BUCKET/weekly/$OLD_KEY" <<<"$words"
t_keys Enter
check "the restore branch is created" t_wait "created branch $BRANCH" 120
check "stage 3 (restore) passed" t_wait_re "\[✓\] 3\. Restore the backup" 120
check "stage 5 (integrity) passed" t_wait_re "\[✓\] 5\. Verify data integrity" 90
check "the switch-over asks to type the branch name" t_wait "Type $BRANCH to continue." 60
t_screen >"$T_WORK/confirm.txt"
check "the restore streamed the older object into psql" \
    grep -qF "restoring s3://$BUCKET/weekly/$OLD_KEY with psql (ON_ERROR_STOP, one transaction)" "$T_WORK/confirm.txt"
check "the restore showed its progress" \
    grep -qE "progress: [0-9.]+ (B|KiB|MiB) downloaded, [0-9.]+ (B|KiB|MiB) restored" "$T_WORK/confirm.txt"
check "the restore ended with the sha256 checked" \
    grep -qE "restored [0-9.]+ KiB \([0-9.]+ KiB\) with psql in [0-9.]+s; sha256 matches" "$T_WORK/confirm.txt"
check "the sandbox's migration status: both pending on the restored database" \
    grep -qF "0 applied, 2 pending" "$T_WORK/confirm.txt"
check "the sandbox's migrations were applied" \
    grep -qE "applied +0002_visit_notes.sql" "$T_WORK/confirm.txt"
check "the integrity counts show the older backup's visits ($FULL_VISITS)" \
    grep -qE "^ visits \| $FULL_VISITS\$" "$T_WORK/confirm.txt"
check "the integrity check on visits passed" \
    grep -qF "check restored.visits: passed (observed $FULL_VISITS, expected > 0)" "$T_WORK/confirm.txt"
check "the confirmation names the database" \
    grep -qF "Point production at database care_commons_restored on branch" "$T_WORK/confirm.txt"
check "the restore branch exists before the switch-over" quiet "$NT" cli action op=branch-get branch="$BRANCH"
t_keys "$BRANCH" Enter
# steps 2 and 3 (the branch is production's now: it must not expire) run by themselves
check "the confirmation is accepted: the drill moves to the first manual step" \
    t_wait "Stage 7/8: Switch to the restored database (step 4/7)" 30
i=0
for step in "set DATABASE_URL to the" "Redeploy the latest deployment" \
    "Test the critical flows: sign in" "Monitor for errors"; do
    i=$((i + 1))
    check "manual switch-over step $i is shown to be done by hand" t_wait "$step" 30
    check "manual switch-over step $i asks for done" t_wait "┌─ Manual step: type done when it is done ─" 10
    t_keys "done" Enter
    if [ "$i" -lt 4 ]; then
        next="Stage 7/8: Switch to the restored database (step $((i + 4))/7)"
    else
        next="Stage 8/8: Clean up"
    fi
    check "manual switch-over step $i is confirmed: the drill moves on" t_wait "$next" 20
done
check "the note is asked at the end" t_wait "Anything to record about this restore" 60
t_screen >"$T_WORK/switch.txt"
check "the four manual steps are recorded as done" test "$(grep -c '\[✓\] passed: done' "$T_WORK/switch.txt")" = 4
check "the clean-up (branch deletion) is skipped after a switch-over" \
    grep -qF "[-] skipped: condition" "$T_WORK/switch.txt"
t_keys "restored the older backup in the tui" Enter
check "summary screen" t_wait "Drill summary" 60
t_screen >"$T_WORK/summary.txt"
check "summary outcome passed" grep -qF "Outcome: passed" "$T_WORK/summary.txt"
check "summary counts the four checks" grep -qF "Checks:  4 passed, 0 failed" "$T_WORK/summary.txt"
check "summary: the integrity checks passed, with the older backup's visits" \
    grep -qzE "\[✓\] restored.users: ${FULL_COUNTS%% *} \(expected > 0\)
 \[✓\] restored.visits: $FULL_VISITS \(expected > 0\)
 \[✓\] restored.users-email-null: 0 \(expected = 0\)
 \[✓\] restored.visits-client-null: 0 \(expected = 0\)" "$T_WORK/summary.txt"
check "summary: the restore stage passed" grep -qE "\[✓\] Restore the backup +[0-9:]+ / 45:00" "$T_WORK/summary.txt"
check "summary: the switch-over stage passed" grep -qE "\[✓\] Switch to the restored database" "$T_WORK/summary.txt"
t_keys q
rc=$(t_wait_exit 30)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0

"$NT" cli action op=connection-uri branch="$BRANCH" database=care_commons_restored role=pgdrill >"$W/out.uri" 2>&1
URI=$(sed -n 's/^uri=//p' "$W/out.uri")
check "the restore branch is kept after the switch-over" test -n "$URI"
is "$(counts "$URI")" "$FULL_COUNTS" "the restored tables hold the older backup's rows ($FULL_COUNTS)"
is "$(psql "$URI" -qAtX -c 'SELECT count(*) FROM pgdrill_sandbox_migrations' 2>&1)/$(psql "$SRC_URL" -qAtX -c "SELECT to_regclass('pgdrill_sandbox_migrations') IS NULL" 2>&1)" \
    "2/t" "the sandbox's migrations went to the restored database, not to production"

dir=$(t_drill_dir)
R=$dir/report.json
is "$(json_get "$R" outcome)" passed "report: outcome passed"
is "$(json_eval "$R" '[c["name"] for c in d["checks"] if c["passed"]]')" \
    '["restored.users", "restored.visits", "restored.users-email-null", "restored.visits-client-null"]' \
    "report: the four integrity checks passed"
is "$(json_get "$R" 'checks[name=restored.visits].result')" "$FULL_VISITS" "report: the visits check saw the older backup's count"
is "$(json_eval "$R" '0 < d["rto_s"] < 7200')" true "report: rto_s is measured and within the 2 h target"
is "$(json_get "$R" 'stages[id=restore].status')" passed "report: the restore stage passed"
is "$(json_get "$R" 'stages[id=switch].status')" passed "report: the switch-over stage passed"
is "$(json_eval "$R" '[s["status"] for s in next(t for t in d["stages"] if t["id"] == "switch")["steps"]]')" \
    '["passed", "passed", "passed", "passed", "passed", "passed", "passed"]' \
    "report: the confirmation, the branch kept without expiry and the four manual steps passed"
check "report: the note is recorded" grep -qF "restored the older backup in the tui" "$R"
check "journal: the typed key was the chosen backup" grep -qF "\"text\":\"backup_key = $OLD_KEY\"" "$dir/journal.jsonl"
check "journal: its HEAD gave the older backup's sha256" grep -qF "sha256 $OLD_SHA, " "$dir/journal.jsonl"
like "$(cat "$T_WORK/home/audit.log")" \
    '"action":"s3.restore","target":"s3://'"$BUCKET/weekly/$OLD_KEY"'"[^}]*\},"outcome":"ok"' \
    "audit: the restore of the older object is logged"
if grep -rqF "$AWS_SECRET_ACCESS_KEY" "$dir" "$T_WORK/stderr" "$T_WORK"/*.txt; then
    not_ok "the S3 secret is nowhere in the drill's files or screens"
else
    ok "the S3 secret is nowhere in the drill's files or screens"
fi
if grep -rqF "$NEON_API_KEY" "$dir" "$T_WORK/stderr" "$T_WORK"/*.txt; then
    not_ok "the API key is nowhere in the drill's files or screens"
else
    ok "the API key is nowhere in the drill's files or screens"
fi
t_done
