# shellcheck shell=bash
# The sandbox as a test script's world (sourced, not run: not executable),
# for the scripts that drive `pgdrill sandbox` as a new user does:
#   sandbox_needs_s3            skips the script (TAP SKIP) when this build has
#                               no local S3 (sandbox/s3-proxy.py)
#   sandbox_test_home NAME      sandbox_needs_s3; then H, a new folder NAME.XXXXXX in
#                               the run's work folder, is PGDRILL_HOME, the
#                               caller's database, Neon, S3, Slack and status
#                               variables are unset, and an EXIT trap runs the
#                               script's sandbox_test_on_exit (when it defines
#                               one), then `sandbox down --purge`, then removes H
#                               (kept with PGDRILL_TEST_KEEP)
#   sandbox_test_up VISITS      `pgdrill sandbox up --visits VISITS` (fast),
#                               bailing with its output when it fails; its
#                               environment exported (eval "$(sandbox env)")

: "${PGDRILL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"

sandbox_needs_s3() {
    [ -f "$PGDRILL_TOP/sandbox/s3-proxy.py" ] || { ok "# SKIP no local S3 in this build"; done_testing; exit 0; }
}

sandbox_test_home() {
    require_env PGDRILL_TEST_WORK PGDRILL_BIN
    sandbox_needs_s3
    H=$(mktemp -d "$PGDRILL_TEST_WORK/$1.XXXXXX")
    export PGDRILL_HOME=$H PGDRILL_SANDBOX_FAST=1
    unset DATABASE_URL NEON_API_HOST NEON_API_KEY NEON_PROJECT_ID AWS_ENDPOINT_URL_S3 \
        AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION PGDRILL_BACKUP_URI PGDRILL_ENVIRONMENT \
        SLACK_WEBHOOK_URL PGDRILL_STATUS_BACKUP_DAYS PGDRILL_STATUS_VERIFY_DAYS \
        PGDRILL_STATUS_DRILL_DAYS
    trap _sandbox_test_cleanup EXIT
}

sandbox_test_up() {
    local out
    out=$("$PGDRILL_BIN" sandbox up --visits "$1" 2>&1) || bail "sandbox up" "$out"
    eval "$("$PGDRILL_BIN" sandbox env)"
}

_sandbox_test_cleanup() {
    if declare -F sandbox_test_on_exit >/dev/null; then sandbox_test_on_exit; fi
    "$PGDRILL_BIN" sandbox down --purge >/dev/null 2>&1
    [ -n "${PGDRILL_TEST_KEEP:-}" ] || rm -rf "$H"
}
