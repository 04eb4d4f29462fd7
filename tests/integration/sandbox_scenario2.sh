#!/bin/bash
# Scenario 2 in the sandbox with its defaults, as a new user practises it:
# `pgdrill sandbox up`, eval "$(pgdrill sandbox env)", `pgdrill backup`, then
# `pgdrill verify` finds that backup (PGDRILL_BACKUP_URI names the location
# of the class folders; the old form ending in weekly is accepted with a
# warning), and `pgdrill run restore-from-s3 --yes` restores it end to end:
# the migration stage runs `pgdrill sandbox migrate` (PGDRILL_ENVIRONMENT=
# SANDBOX), the restored database records the sandbox's migrations, and the
# verify-only drill deletes its branch.
set -u
# shellcheck source=tests/integration/sandbox_lib.sh
. "$PGDRILL_TOP/tests/integration/sandbox_lib.sh"
sandbox_test_home sb2
# `pgdrill sandbox migrate` in the runbook is the pgdrill under test
PATH=$(dirname "$PGDRILL_BIN"):$PATH
sandbox_test_up 20000
is "$PGDRILL_BACKUP_URI" s3://care-commons-backups "sandbox env: PGDRILL_BACKUP_URI holds the class folders"

# ---- backup, then verify -------------------------------------------------------
"$PGDRILL_BIN" backup >"$H/backup.out" 2>"$H/backup.err"
rc=$?
is "$rc" 0 "pgdrill backup exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$H/backup.err"
like "$(cat "$H/backup.out")" "^backup ok: s3://care-commons-backups/weekly/care-commons-backup-" \
    "  into weekly/ under PGDRILL_BACKUP_URI"
"$PGDRILL_BIN" verify >"$H/verify.out" 2>&1
rc=$?
is "$rc" 0 "pgdrill verify after pgdrill backup exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$H/verify.out"
like "$(cat "$H/verify.out")" "s3.backups: .*s3://care-commons-backups/weekly/" "  and lists weekly/"
like "$(cat "$H/verify.out")" "verification passed: [0-9]+ checks" "  verification passed"
# the old form: accepted, with a warning naming the value to set instead
PGDRILL_BACKUP_URI=s3://care-commons-backups/weekly "$PGDRILL_BIN" verify --skip-neon \
    >"$H/verify-old.out" 2>"$H/verify-old.err"
is "$?" 0 "verify with the old form s3://care-commons-backups/weekly exits 0"
like "$(cat "$H/verify-old.err")" "PGDRILL_BACKUP_URI=s3://care-commons-backups/weekly ends in the class folder weekly/.*set PGDRILL_BACKUP_URI=s3://care-commons-backups$" \
    "  with a warning that names the value to use"
unlike "$(cat "$H/verify-old.out")" "weekly/weekly" "  and does not look under weekly/weekly/"

# ---- sandbox migrate -----------------------------------------------------------
out=$("$PGDRILL_BIN" sandbox migrate --status 2>&1)
is "$?" 0 "sandbox migrate --status exits 0"
like "$out" "pending +0001_visits_scheduled_start_index.sql" "  lists a pending migration"
like "$out" "0 applied, 2 pending" "  and counts them"
out=$("$PGDRILL_BIN" sandbox migrate --bogus 2>&1)
is "$?" 2 "sandbox migrate --bogus is a usage error"

# ---- Scenario 2 headless, with the runbook's defaults ---------------------------
BRANCH=restore-from-backup-$(date -u +%Y-%m-%d)
"$PGDRILL_BIN" run restore-from-s3 --yes >"$H/run.out" 2>&1
rc=$?
is "$rc" 0 "restore-from-s3 with the sandbox's defaults exits 0"
[ "$rc" = 0 ] || tail -30 "$H/run.out" | sed 's/^/# /'
like "$(cat "$H/run.out")" "1 object under s3://care-commons-backups/weekly/" "  finds the backup pgdrill backup wrote"
like "$(cat "$H/run.out")" "pending +0002_visit_notes.sql" "  the migration status is the sandbox's"
like "$(cat "$H/run.out")" "applied +0002_visit_notes.sql" "  the sandbox's migrations are applied"
R=$(last_path "$PGDRILL_HOME"/drills/*)/report.json
is "$(json_get "$R" outcome)" passed "  the report says passed"
is "$(json_get "$R" 'stages[id=migrate].status')" passed "  its migration stage passed"
br=$(curl -s -H "Authorization: Bearer $NEON_API_KEY" "$NEON_API_HOST/projects/$NEON_PROJECT_ID/branches")
unlike "$br" "\"name\": *\"$BRANCH\"" "  the verify-only drill deleted $BRANCH"
# production was not migrated: DATABASE_URL is the primary
out=$("$PGDRILL_BIN" sandbox migrate --status 2>&1)
like "$out" "0 applied, 2 pending" "  production's database was not migrated"
done_testing
