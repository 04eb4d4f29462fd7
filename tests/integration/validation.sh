#!/bin/bash
# runbooks/post-restore-validation.md, headless, against real databases:
#   (a) a clean Care Commons copy: exit 0, every check passes;
#   (b) a copy broken like a bad partial restore (3 NULL e-mails, 5 visits
#       whose client is gone): exit 1 and the failing checks carry the
#       observed counts in report.json, while the untouched ones pass;
#   (c) a wrong password in DATABASE_URL: exit 3, and the password appears
#       nowhere in the output or the drill files.
set -u
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"
require_env PGDRILL_TEST_PGURL PGDRILL_TEST_WORK

RUNBOOK=$PGDRILL_TOP/runbooks/post-restore-validation.md
[ -x "$PGDRILL_BIN" ] || bail "pgdrill binary" "$PGDRILL_BIN is missing: build it first (make)"
[ -f "$RUNBOOK" ] || bail "validation runbook" "$RUNBOOK is missing"
password=$(printf '%s\n' "$PGDRILL_TEST_PGURL" | sed -n 's|^postgresql://[^:]*:\([^@]*\)@.*|\1|p')
[ -n "$password" ] || bail "test url" "PGDRILL_TEST_PGURL has no password"

ALL_OUT=""

# run_validation NAME URL: runs the runbook with DATABASE_URL=URL; sets RC,
# OUT (stdout+stderr), HOME_DIR, REPORT_DIR and REPORT (the report.json).
run_validation() {
    local name=$1 url=$2 reports
    HOME_DIR=$(pgdrill_home "$name")
    REPORT_DIR=$(mktemp -d "$PGDRILL_TEST_WORK/reports-$name.XXXXXX")
    OUT=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_HOME=$HOME_DIR DATABASE_URL=$url \
        timeout 120 "$PGDRILL_BIN" run "$RUNBOOK" --yes --report-dir "$REPORT_DIR" 2>&1 </dev/null)
    RC=$?
    ALL_OUT+=$OUT$'\n'
    # --report-dir gets report.json, directly or in a folder named after the
    # drill id; either way there must be exactly one.
    reports=$(find "$REPORT_DIR" -name report.json)
    REPORT=""
    if [ "$(printf '%s\n' "$reports" | grep -c .)" = 1 ]; then
        REPORT=$reports
    fi
}

# Diagnostics when an expectation on the whole run fails.
show_run() {
    printf '%s\n' "$OUT" | tail -n 40
    [ -n "$REPORT" ] && json_eval "$REPORT" \
        '"\n".join("%s: %s (expected %s) passed=%s" % (c.get("name"), c.get("result"), c.get("expected"), c.get("passed")) for c in d.get("checks", []))'
}

# check_value NAME FIELD WANT: checks[name=NAME].FIELD == WANT
check_value() {
    local got
    got=$(json_get "$REPORT" "checks[name=$1].$2")
    is "$got" "$3" "$CASE: check $1 $2 is $3"
}

# --- (a) clean
CASE=clean
url=$(fresh_db validation_clean clean) || bail "$CASE: fixture" "fresh_db validation_clean failed"
run_validation clean "$url"
if [ "$RC" = 0 ]; then ok "$CASE: pgdrill run exits 0"; else not_ok "$CASE: pgdrill run exits 0" "exit $RC" "$(show_run)"; fi
if [ -z "$REPORT" ]; then
    not_ok "$CASE: exactly one report.json in --report-dir" "$(find "$REPORT_DIR")"
else
    ok "$CASE: exactly one report.json in --report-dir"
    is "$(json_get "$REPORT" outcome)" passed "$CASE: outcome is passed"
    is "$(json_eval "$REPORT" 'len(d["checks"]) >= 5')" true "$CASE: report lists the checks"
    failed=$(json_eval "$REPORT" '", ".join(c["name"] for c in d["checks"] if c.get("passed") is not True)')
    is "$failed" "" "$CASE: every check passed"
    check_value users.email-null result 0
    check_value orphaned-visits result 0
    check_value visits.caregiver_id-null result 0
    check_value null-required-fields passed true
    check_value core-tables-not-empty result "users=60, clients=201, caregivers=40, visits=3005"
    is "$(json_eval "$REPORT" 'all(c.get("sql") for c in d["checks"])')" true "$CASE: every check records its sql"
    is "$(json_eval "$REPORT" 'all(s["status"] == "passed" for s in d["stages"])')" true "$CASE: every stage passed"
    is "$(stat -c %a "$REPORT")" 600 "$CASE: report.json is 0600"
    is "$(find "$HOME_DIR/drills" -name journal.jsonl 2>/dev/null | grep -c .)" 1 "$CASE: one drill journal in PGDRILL_HOME"
fi

# --- (b) broken
CASE=broken
url=$(fresh_db validation_broken broken) || bail "$CASE: fixture" "fresh_db validation_broken failed"
run_validation broken "$url"
if [ "$RC" = 1 ]; then ok "$CASE: pgdrill run exits 1"; else not_ok "$CASE: pgdrill run exits 1" "exit $RC" "$(show_run)"; fi
if [ -z "$REPORT" ]; then
    not_ok "$CASE: exactly one report.json in --report-dir" "$(find "$REPORT_DIR")"
else
    ok "$CASE: exactly one report.json in --report-dir"
    is "$(json_get "$REPORT" outcome)" failed "$CASE: outcome is failed"
    check_value users.email-null result 3
    check_value users.email-null passed false
    check_value orphaned-visits result 5
    check_value orphaned-visits passed false
    check_value null-required-fields passed false
    like "$(json_get "$REPORT" 'checks[name=null-required-fields].result')" 'users\.email=3' \
        "$CASE: null-required-fields shows users.email=3"
    check_value visits.caregiver_id-null result 0
    check_value visits.caregiver_id-null passed true
    # Orphans point at a missing client; their client_id is not NULL.
    check_value visits.client_id-null passed true
    check_value core-tables-not-empty passed true
    is "$(json_get "$REPORT" 'checks[name=orphaned-visits].expected')" "= 0" \
        "$CASE: orphaned-visits records its expectation"
fi

# --- (c) wrong password: the database refuses us, the secret stays secret
CASE=wrong-password
bad_url=${url/:$password@/:wrong-$password-x@}
run_validation wrong-password "$bad_url"
if [ "$RC" = 3 ]; then ok "$CASE: pgdrill run exits 3"; else not_ok "$CASE: pgdrill run exits 3" "exit $RC" "$(show_run)"; fi
like "$OUT" 'password authentication failed' "$CASE: the error says authentication failed"
# The wrong password contains the right one: either would be a leak.
leaks=$( (printf '%s\n' "$ALL_OUT"; find "$PGDRILL_TEST_WORK" -path '*/home-*' -type f -exec cat {} +
    find "$PGDRILL_TEST_WORK" -path '*/reports-*' -type f -exec cat {} +) | grep -c -F -e "$password")
is "$leaks" 0 "the password is in no output, journal, report or audit log of the three runs"

done_testing
