#!/bin/bash
# pgdrill status on a fresh sandbox: everything never done, so overdue
# (exit 1); then a backup, a verify and a quarterly drill headless, and
# nothing is overdue (exit 0). The same facts as --json and as Prometheus
# gauges (--metrics, checked by promtool). A verify that fails afterwards
# keeps the last passing one; a tighter limit makes the backup overdue;
# drill evidence under PGDRILL_BACKUP_URI/drills/ is read when present;
# without S3 the local record of the last backup is used.
set -u
# shellcheck source=tests/integration/sandbox_lib.sh
. "$PGDRILL_TOP/tests/integration/sandbox_lib.sh"
sandbox_test_home st
sandbox_test_up 2000

# ---- a fresh sandbox: never done is overdue ----------------------------------------
"$PGDRILL_BIN" status >"$H/st1.out" 2>&1
is "$?" 1 "fresh: status exits 1"
is "$(cat "$H/st1.out")" "backup:        never: OVERDUE (limit 8 days)
verification:  never: OVERDUE (limit 31 days)
drill quarterly-drill: never: OVERDUE (limit 92 days)
status: 3 overdue" "fresh: backup, verification and quarterly drill never done, all overdue"
"$PGDRILL_BIN" status --json >"$H/st1.json" 2>&1
is "$?" 1 "fresh: status --json exits 1 too"
is "$(json_eval "$H/st1.json" '[d["backup"]["overdue"], d["verification"]["overdue"], d["quarterly_drill"]["overdue"], d["backup"]["last_at"]]')" \
    "[true, true, true, null]" "fresh: --json says the same"

# ---- a backup, a verify and a quarterly drill ---------------------------------------
"$PGDRILL_BIN" backup --min-size 1000 >"$H/backup.out" 2>&1
rc=$?
is "$rc" 0 "pgdrill backup exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$H/backup.out"
"$PGDRILL_BIN" verify >"$H/verify.out" 2>&1
rc=$?
is "$rc" 0 "pgdrill verify exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$H/verify.out"
check "verify left its record, 0600" [ "$(stat -c %a "$H/status/verify.json" 2>/dev/null)" = 600 ]
T0=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1.5
"$PGDRILL_BIN" run quarterly-drill --yes \
    --var drill_date="$(date -u +%F)" --var notice_sent_on="$(date -u -d '8 days ago' +%F)" \
    --var operator="Ada Operator" --var observer="Oscar Observer" --var "target_time=$T0" \
    --var timing="fine" --var issues="none" --var debrief="as planned" \
    --var procedure_updates="none" --var gaps="none" --var improvements="none" >"$H/drill.out" 2>&1
rc=$?
is "$rc" 0 "the quarterly drill runs headless and exits 0"
[ "$rc" = 0 ] || tail -30 "$H/drill.out" | sed 's/^/# /'

"$PGDRILL_BIN" status --metrics "$H/pgdrill.prom" >"$H/st2.out" 2>&1
rc=$?
is "$rc" 0 "after backup, verify and drill: status exits 0"
[ "$rc" = 0 ] || sed 's/^/# /' "$H/st2.out"
like "$(grep '^backup:' "$H/st2.out")" "^backup: +[0-9T:-]+Z \(<1m ago\) weekly/care-commons-backup-[0-9-]+\.sql\.gz, [0-9.]+ [KM]iB, verified, sha256 recorded \(s3\): ok$" \
    "the backup: when, which, its size, verified, sha256 recorded, from S3"
like "$(cat "$H/st2.out")" "
verification: +[0-9T:-]+Z \(<1m ago\) passed: ok
" "the verification and its verdict"
like "$(cat "$H/st2.out")" "
drill quarterly-drill: [0-9T:-]+Z \(<1m ago\) [0-9]+-[0-9]+-quarterly-drill passed, RTO [0-9.hms]+, RPO [0-9.hms]+: ok
" "the quarterly drill, its outcome, RTO and RPO"
like "$(tail -1 "$H/st2.out")" "^status: nothing overdue$" "nothing overdue"

# ---- the metrics file ---------------------------------------------------------------
M=$H/pgdrill.prom
if command -v promtool >/dev/null 2>&1; then
    out=$(promtool check metrics <"$M" 2>&1)
    is "$?" 0 "promtool check metrics accepts the file"
    [ -z "$out" ] || diag "$out"
else
    not_ok "promtool is not installed (Debian package prometheus; scripts/deps.sh)"
fi
like "$(cat "$M")" "
pgdrill_overdue\{procedure=\"backup\"\} 0
pgdrill_overdue\{procedure=\"verification\"\} 0
pgdrill_overdue\{procedure=\"quarterly-drill\"\} 0
" "metrics: nothing overdue"
like "$(cat "$M")" "
pgdrill_drill_last_rto_seconds\{runbook=\"quarterly-drill\"\} [0-9]+\.[0-9]{3}
" "metrics: the RTO of the last drill"
like "$(cat "$M")" "
pgdrill_drill_last_rpo_seconds\{runbook=\"quarterly-drill\"\} [0-9]+\.[0-9]{3}
" "metrics: the RPO of the last drill"
like "$(cat "$M")" "
pgdrill_backup_last_size_bytes [1-9][0-9]*
" "metrics: the backup's size"
like "$(cat "$M")" "
pgdrill_backup_last_verified 1
" "metrics: the backup verified"
like "$(cat "$M")" "pgdrill_verify_last_passed 1" "metrics: the verification passed"
now=$(date +%s)
ts=$(sed -n 's/^pgdrill_verify_last_success_timestamp_seconds \([0-9]*\)\..*/\1/p' "$M")
check "metrics: the verification's timestamp is now ($ts)" [ $((now - ${ts:-0})) -lt 120 ]

# ---- limits, a failed verify, remote evidence, no S3 ---------------------------------
PGDRILL_STATUS_BACKUP_DAYS=0.00001 "$PGDRILL_BIN" status >"$H/st3.out" 2>&1
is "$?" 1 "PGDRILL_STATUS_BACKUP_DAYS=0.00001: the backup is overdue, exit 1"
like "$(cat "$H/st3.out")" "verified, sha256 recorded \(s3\): OVERDUE \(limit 1e-05 days\)" "  the limit is named"
PGDRILL_STATUS_DRILL_DAYS=soon "$PGDRILL_BIN" status >/dev/null 2>&1
is "$?" 2 "a limit that is not a number is a usage error"

PGDRILL_VERIFY_HISTORY_DAYS=400 "$PGDRILL_BIN" verify --list-only >/dev/null 2>&1
is "$?" 1 "a verify that fails (history window below 400 days)"
"$PGDRILL_BIN" status >"$H/st4.out" 2>&1
is "$?" 0 "a failed verify after a passing one: nothing overdue yet"
like "$(cat "$H/st4.out")" "verification: +[^ ]+ \(<1m ago\) failed \(neon.history-window\); last passed [^ ]+ \(<1m ago\): ok" \
    "the failed verify is shown with its failed check and the last passing one"

cat >"$H/remote.json" <<'EOF'
{"drill_id": "20261201-101500-pitr-restore", "runbook": {"id": "pitr-restore"},
 "started_at": "2026-12-01T10:15:00Z", "finished_at": "2026-12-01T10:45:00Z",
 "outcome": "failed", "duration_s": 1800, "rto_s": 1750, "rpo_s": 42}
EOF
/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "$H/remote.json" \
    "$PGDRILL_BACKUP_URI/drills/20261201-101500-pitr-restore/report.json" --only-show-errors
"$PGDRILL_BIN" status --json >"$H/st5.json" 2>&1
is "$(json_eval "$H/st5.json" '[(x["outcome"], x["rto_s"], x["remote"]) for x in d["drills"] if x["runbook"] == "pitr-restore"]')" \
    '[["failed", null, true]]' "remote evidence: the drill under drills/ID/ is read; a failed drill achieved no RTO"
"$PGDRILL_BIN" status >"$H/st5.out" 2>&1
like "$(cat "$H/st5.out")" "
drill pitr-restore: [^ ]+ \([^)]*\) 20261201-101500-pitr-restore failed, RTO -, RPO [0-9.hms]+ \(remote\)
" "a failed drill: RTO - (its report's 1750 s was no RTO achieved), its RPO kept"
like "$(grep '"action":"s3.get"' "$H/audit.log" | tail -1)" "drills/20261201-101500-pitr-restore/report.json" \
    "remote evidence: the read is in the audit log"
like "$(grep '"action":"s3.head"' "$H/audit.log" | tail -1)" '"target":"s3://care-commons-backups/weekly/care-commons-backup-' \
    "the HEAD of the newest backup is in the audit log"

# a failed newest quarterly drill must not hide an earlier passing one within the limit
H2=$(mktemp -d "$PGDRILL_TEST_WORK/st2.XXXXXX")
put_drill() { # DAYS-AGO OUTCOME: prints the drill id
    local id
    id="$(date -u -d "$1 days ago" +%Y%m%d-%H%M%S)-quarterly-drill"
    printf '{"drill_id": "%s", "runbook": {"id": "quarterly-drill"}, "outcome": "%s", "finished_at": "%s"}\n' \
        "$id" "$2" "$(date -u -d "$1 days ago" +%Y-%m-%dT%H:%M:%SZ)" >"$H2/r.json"
    /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3" s3 cp "$H2/r.json" \
        "$PGDRILL_BACKUP_URI/older/drills/$id/report.json" --only-show-errors
    echo "$id"
}
put_drill 1 failed >/dev/null
passed_id=$(put_drill 5 passed)
PGDRILL_HOME=$H2 PGDRILL_BACKUP_URI=$PGDRILL_BACKUP_URI/older "$PGDRILL_BIN" status --json >"$H2/st.json" 2>&1
is "$(json_eval "$H2/st.json" '[d["quarterly_drill"]["overdue"], [x["outcome"] for x in d["drills"]]]')" \
    '[false, ["failed"]]' "remote evidence: a failed newest drill, the passing one before it is read"
PGDRILL_HOME=$H2 PGDRILL_BACKUP_URI=$PGDRILL_BACKUP_URI/older PGDRILL_STATUS_DRILL_DAYS=3 \
    "$PGDRILL_BIN" status --json >"$H2/st.json" 2>&1
is "$(json_eval "$H2/st.json" 'd["quarterly_drill"]["overdue"]')" true \
    "remote evidence: a passing drill beyond the limit does not count"
is "$(grep '"action":"s3.get"' "$H2/audit.log" | grep -c "$passed_id")" 1 \
    "  and is not read (only the first status read it)"
rm -rf "$H2"

env -u PGDRILL_BACKUP_URI "$PGDRILL_BIN" status >"$H/st6.out" 2>&1
is "$?" 0 "without S3: exit 0 from the local records"
like "$(grep '^backup:' "$H/st6.out")" "^backup: .* weekly/care-commons-backup-[0-9-]+\.sql\.gz, [0-9.]+ [KM]iB, verified \(local\): ok" \
    "without S3: the backup from the record pgdrill backup left"
unlike "$(cat "$H/st6.out")" "pitr-restore" "without S3: no remote evidence"
done_testing
