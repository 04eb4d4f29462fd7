#!/bin/bash
# Scenario 2 end to end: `pgdrill run restore-from-s3` against the sandbox
# Neon server and s3rver (behind the signature-checking proxy). Two gzip'd
# pg_dump backups of care_commons are uploaded with awscli, as `pgdrill
# backup` stores them (x-amz-meta-sha256): an older full one and a newer one
# taken after some visits were deleted.
#   - headless (--var … --yes, switch-over): the newest is restored into a
#     new database on branch restore-from-backup-YYYY-MM-DD; its tables equal
#     the source's row for row;
#   - at a terminal (tests/pty_drive.py): the operator picks the older backup
#     by typing its key; the restored counts equal the older source's; the
#     drill deletes the branch;
#   - a corrupt object: the restore fails naming it, and the clean-up (an
#     always stage) deletes the branch it had created;
#   - a custom-format dump (.dump) restored with pg_restore -j 2.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/verify_lib.sh"

verify_setup restore-s3

counts() { # URL: "users clients caregivers visits"
    psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "SELECT (SELECT count(*) FROM users)||' '||(SELECT count(*) FROM clients)||' '||(SELECT count(*) FROM caregivers)||' '||(SELECT count(*) FROM visits)"
}
tables() { # URL: per table its name, row count and the md5 of its rows in id order
    local t
    for t in users clients caregivers visits bulk_notes; do
        psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "SELECT '$t ' || count(*) || ' ' || md5(coalesce(string_agg(x::text, E'\\n' ORDER BY id), '')) FROM $t x"
    done
}

FULL_COUNTS=$(counts "$SRC_URL")
OLD_KEY=care-commons-backup-$(stamp 7).sql.gz
pg_dump "$SRC_URL" | gzip >"$W/full.sql.gz" || { notok "pg_dump"; exit 1; }
upload_backup "weekly/$OLD_KEY" "$W/full.sql.gz"
cc "DELETE FROM visits WHERE id % 5 = 0" >/dev/null
NEW_COUNTS=$(counts "$SRC_URL")
# The newest backup is pgdrill's own: gzip members of 1 MiB of input with their
# lengths in an extra field; bulk rows make the plain dump over 2 MiB, so it
# has several. The runbook restores it (1.) and so does gunzip | psql.
cc "CREATE TABLE bulk_notes AS SELECT g AS id, md5(g::text) || ' note ' || g AS body
    FROM generate_series(1, 40000) g" >/dev/null
tables "$SRC_URL" >"$W/src.tables"
DATABASE_URL=$SRC_URL "$PGDRILL_BIN" backup --min-size 1 --keep-local "$W/new.sql.gz" --json \
    >"$W/new.json" 2>"$W/new.err" || { notok "pgdrill backup"; sed 's/^/# /' "$W/new.err"; exit 1; }
NEW_KEY=$(json_get "$W/new.json" key)
NEW_KEY=${NEW_KEY#weekly/}
t_multi() {
    python3 - "$W/new.sql.gz" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off = n = 0
while off < len(data) and data[off + 12:off + 14] == b"PD":
    off += struct.unpack("<I", data[off + 16:off + 20])[0]
    n += 1
sys.exit(0 if off == len(data) and n >= 2 else 1)
PY
}
check "the newest backup, made by pgdrill backup, is several gzip members with their lengths" t_multi
t_gunzip() {
    local url
    cc "DROP DATABASE IF EXISTS care_commons_gunzip" >/dev/null &&
        cc "CREATE DATABASE care_commons_gunzip" >/dev/null &&
        url=$("$PGC" url "$W/pg" care_commons_gunzip) &&
        gunzip -c "$W/new.sql.gz" | psql "$url" -qX -v ON_ERROR_STOP=1 >/dev/null &&
        tables "$url" >"$W/gunzip.tables" && cmp -s "$W/src.tables" "$W/gunzip.tables"
}
check "gunzip | psql restores pgdrill's backup: row counts and checksums equal the source's" t_gunzip
check "the two backups differ (visits deleted in between: $FULL_COUNTS vs $NEW_COUNTS)" [ "$FULL_COUNTS" != "$NEW_COUNTS" ]

BRANCH=restore-from-backup-$(date -u +%Y-%m-%d)
export DATABASE_URL=$SRC_URL
restored_uri() {
    "$NT" cli action op=connection-uri branch="$BRANCH" database=care_commons_restored role=pgdrill >"$W/out.uri" 2>&1
    sed -n 's/^uri=//p' "$W/out.uri"
}
drop_branch() { "$NT" cli action op=branch-delete branch="$BRANCH" >/dev/null 2>&1; }
# shellcheck disable=SC2016 # expanded by the runbook step's shell, not here
MIG=(--var migrate_status_cmd='echo "status: DATABASE_URL names $(basename "$DATABASE_URL")"' --var migrate_cmd=true)

# 1. Headless, the newest backup, switch-over (manual steps done by --yes).
"$PGDRILL_BIN" run "$TOP/runbooks/restore-from-s3.md" "${MIG[@]}" --var outcome_option=switch \
    --yes >"$W/out.headless" 2>&1
rc=$?
is "$rc" 0 "headless: restore-from-s3 exits 0"
[ "$rc" = 0 ] || tail -40 "$W/out.headless" | sed 's/^/# /'
like "$(cat "$W/out.headless")" "2 objects under s3://$BUCKET/weekly/, newest first:" "headless: the backups are listed"
like "$(cat "$W/out.headless")" "backup_key = newest" "headless: the default choice is the newest"
like "$(cat "$W/out.headless")" "created branch $BRANCH" "headless: the branch is named restore-from-backup-YYYY-MM-DD"
like "$(cat "$W/out.headless")" "created database care_commons_restored" "headless: an empty database on the new branch"
like "$(cat "$W/out.headless")" "progress: [0-9.]+ (B|KiB|MiB) downloaded, [0-9.]+ (B|KiB|MiB) restored" "headless: progress lines"
like "$(cat "$W/out.headless")" "restored .* with psql in [0-9.]+s; sha256 matches" "headless: streamed into psql, sha256 checked"
like "$(cat "$W/out.headless")" "status: DATABASE_URL names care_commons_restored" \
    "headless: the migration status command sees the restored database"
URI=$(restored_uri)
like "$URI" "^postgres" "headless: the restored database is reachable on the branch"
is "$(counts "$URI")" "$NEW_COUNTS" "headless: restored row counts equal the source's ($NEW_COUNTS)"
tables "$URI" >"$W/restored.tables"
check "headless: every table equals the source's: row counts and checksums" cmp -s "$W/src.tables" "$W/restored.tables"
R=$(last_path "$PGDRILL_HOME"/drills/*)/report.json
is "$(json_get "$R" 'checks[name=restored.visits-client-null].result')" 0 "headless: integrity check visits.client_id"
is "$(json_get "$R" 'stages[id=switch].status')" passed "headless: the switch-over steps were confirmed"
check "headless: the branch is kept after a switch-over" "$NT" cli action op=branch-get branch="$BRANCH"
is "$(json_get "$R" 'stages[id=cleanup].steps.1.status')" skipped "headless: its deletion step was skipped"
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"s3.restore","target":"s3://'"$BUCKET/weekly/$NEW_KEY"'","args":\{[^}]*"database":"postgres://[^"@]*/care_commons_restored"\},"outcome":"ok"' \
    "audit: the restore is logged with its object and database, no credentials"
# The same backup again into the now populated database: psql stops at the
# first error (ON_ERROR_STOP) and the step names it.
cat >"$W/again.md" <<MD
# Restore again

\`\`\`pgdrill
id: restore-again
input: target text "database url"
\`\`\`

## Again

\`\`\`s3 op=restore uri=s3://$BUCKET/weekly/ key=$NEW_KEY url=\${target}
\`\`\`
MD
"$PGDRILL_BIN" run "$W/again.md" --var "target=$URI" --yes >"$W/out.again" 2>&1
is "$?" 1 "sql error: restoring over existing tables exits 1"
like "$(cat "$W/out.again")" "restore: psql exited with status 3: .*ERROR: .*already exists" \
    "sql error: psql's exit status and its error are named"
is "$(counts "$URI")" "$NEW_COUNTS" "sql error: the database is unchanged (one transaction)"
drop_branch

# 2. At a terminal: the operator picks the older backup; verify-only deletes the branch.
cat >"$W/compare.sh" <<SH
#!/bin/bash
set -e
"$NT" cli action op=connection-uri branch="$BRANCH" database=care_commons_restored role=pgdrill >"$W/out.uri2"
uri=\$(sed -n 's/^uri=//p' "$W/out.uri2")
got=\$(psql "\$uri" -qAtX -c "SELECT (SELECT count(*) FROM users)||' '||(SELECT count(*) FROM clients)||' '||(SELECT count(*) FROM caregivers)||' '||(SELECT count(*) FROM visits)")
echo "\$got" >"$W/pty.counts"
[ "\$got" = "$FULL_COUNTS" ]
touch "$W/compared"
SH
chmod +x "$W/compare.sh"
cat >"$W/operator.txt" <<TXT
timeout 240
expect Which backup\\?
send $OLD_KEY
expect accept the plan and go on
send yes
expect type '(restore-from-backup-[0-9]{4}-[0-9]{2}-[0-9]{2})' to confirm
run "$W/compare.sh"
send-group 1
expect Anything to record
send restored the older backup as chosen
TXT
python3 "$TOP/tests/pty_drive.py" "$W/operator.txt" "$W/pty.log" -- \
    "$PGDRILL_BIN" run "$TOP/runbooks/restore-from-s3.md" "${MIG[@]}" --var outcome_option=verify-only \
    --var backup_prefix=weekly/ --var restore_db=care_commons_restored --var dump_format=auto \
    --var restore_jobs=4 --var app_dir=. --var restore_target=branch >"$W/out.drive" 2>&1
rc=$?
is "$rc" 0 "terminal: restore-from-s3 (verify-only) exits 0"
[ "$rc" = 0 ] || { sed 's/^/# /' "$W/out.drive"; tail -40 "$W/pty.log" | sed 's/^/# /'; }
check "terminal: the restored counts equal the older backup's source ($FULL_COUNTS)" test -e "$W/compared"
like "$(cat "$W/pty.log")" "backup_key = $OLD_KEY" "terminal: the typed key is taken"
like "$(cat "$W/pty.log")" "Backup used: [^ ]*$OLD_KEY" "terminal: the plan names the typed backup"
like "$(cat "$W/pty.log")" "progress: " "terminal: progress is shown"
"$NT" cli action op=branch-get branch="$BRANCH" >/dev/null 2>&1
check "terminal: clean-up deleted the restore branch" [ $? -ne 0 ]

# 3. A corrupt newest object: the restore fails and nothing is committed.
python3 - "$W/new.sql.gz" "$W/bad.sql.gz" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) * 3 // 4] ^= 0x55; open(sys.argv[2], "wb").write(b)
PY
upload_backup "weekly/$NEW_KEY" "$W/bad.sql.gz" "$(sha256sum "$W/new.sql.gz" | cut -d' ' -f1)"
"$PGDRILL_BIN" run "$TOP/runbooks/restore-from-s3.md" "${MIG[@]}" --yes >"$W/out.corrupt" 2>&1
rc=$?
is "$rc" 1 "corrupt: the restore fails with exit 1"
like "$(cat "$W/out.corrupt")" "s3://$BUCKET/weekly/$NEW_KEY" "corrupt: the object is named"
# (one transaction: the "sql error" case above shows nothing is committed)
"$NT" cli action op=branch-get branch="$BRANCH" >"$W/out.corrupt.get" 2>&1
check "corrupt: the clean-up deleted the failed drill's restore branch" [ $? -ne 0 ]
like "$(cat "$W/out.corrupt.get")" "no branch named or with id $BRANCH" "  (it is not found)"
like "$(cat "$W/out.corrupt")" "deleted branch $BRANCH" "corrupt: the clean-up stage ran after the failure"
drop_branch
upload_backup "weekly/$NEW_KEY" "$W/new.sql.gz"

# 4. Custom format, pg_restore -j 2 (the troubleshooting option).
DUMP_KEY=care-commons-backup-$(stamp 0).dump
pg_dump -Fc "$SRC_URL" >"$W/new.dump"
upload_backup "weekly/$DUMP_KEY" "$W/new.dump"
"$PGDRILL_BIN" run "$TOP/runbooks/restore-from-s3.md" "${MIG[@]}" --var "backup_key=$DUMP_KEY" \
    --var restore_jobs=2 --var outcome_option=switch --yes >"$W/out.custom" 2>&1
rc=$?
is "$rc" 0 "custom format: restore-from-s3 exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.custom" | sed 's/^/# /'
like "$(cat "$W/out.custom")" "running pg_restore -j 2" "custom format: pg_restore -j 2"
URI=$(restored_uri)
is "$(counts "$URI")" "$NEW_COUNTS" "custom format: restored row counts equal the source's"
check "custom format: the temporary directory is gone" [ -z "$(ls -d "${TMPDIR:-/tmp}"/pgdrill-restore.* 2>/dev/null)" ]
drop_branch

if grep -rqF "$(sed -n 's/.*:\(.*\)@.*/\1/p' <<<"$URI")" "$PGDRILL_HOME" "$W/pty.log" "$W"/out.headless "$W"/out.drive "$W"/out.custom; then
    notok "secrets: a database password reached the journal, report or screen"
else
    ok "secrets: no database password in the journal, report or screen"
fi
if grep -rqF "$S3SECRET" "$PGDRILL_HOME" "$W/pty.log" "$W"/out.* 2>/dev/null; then
    notok "secrets: the S3 secret appears in an output or the journal"
else
    ok "secrets: the S3 secret appears in no output or journal"
fi
key_check
done_testing
