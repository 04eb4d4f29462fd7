#!/bin/bash
# contrib/cron/: each job line run as cron runs it (`/bin/sh -c COMMAND`, as
# SHELL= says), with its paths moved into a scratch folder and pgdrill a stub
# that passes or fails. cron mails what a job prints: a failed backup or
# verification must print something (its exit status and the log's end), a
# passing one nothing; the log keeps every run. No `%` (cron turns it into a
# newline), and every pgdrill command and flag named must exist.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/cron_lines.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/etc" "$W/log" "$W/state" "$W/prom"
printf 'PGDRILL_BACKUP_URI=s3://care-commons-backups\n' >"$W/etc/backup.env"
cp "$W/etc/backup.env" "$W/etc/verify.env"
# shellcheck disable=SC2016 # $* and $(...) are the stub's own
printf '#!/bin/sh\necho "pgdrill $*: stub output" >&2\nexit "$(cat "%s/rc")"\n' "$W" >"$W/pgdrill"
chmod +x "$W/pgdrill"

# the command of job line N: the five time fields and the user dropped
job() { grep -E '^[0-9*]' "$1" | sed -n "${2}p" | sed -E 's/^([^ ]+ +){5}[^ ]+ +//'; }
local_paths() {
    sed -e "s#/etc/pgdrill/#$W/etc/#g" -e "s#/var/log/pgdrill/#$W/log/#g" \
        -e "s#/var/lib/pgdrill#$W/state#g" -e "s#/usr/local/bin/pgdrill#$W/pgdrill#g" \
        -e "s#/var/lib/prometheus/node-exporter/#$W/prom/#g"
}

for f in pgdrill-backup pgdrill-verify; do
    cron=$PGDRILL_TOP/contrib/cron/$f
    cmd=$(job "$cron" 1 | local_paths)
    check "$f: SHELL=/bin/sh" grep -qx 'SHELL=/bin/sh' "$cron"
    unlike "$(grep -E '^[0-9*]' "$cron")" '%' "$f: no % in a job line"
    echo 0 >"$W/rc"
    out=$(/bin/sh -c "$cmd" 2>&1)
    is "$out" "" "$f: a passing run prints nothing (no mail)"
    echo 1 >"$W/rc"
    out=$(/bin/sh -c "$cmd" 2>&1)
    like "$out" "failed \\(exit 1\\)" "$f: a failed run prints its exit status (mailed)"
    like "$out" "stub output" "$f: and the end of its log"
    is "$(cat "$W"/log/*"${f#pgdrill-}".log | grep -c "stub output")" 2 \
        "$f: the log keeps both runs"
done

# the commands and flags the job lines give exist (usage errors exit 2)
while read -r line; do
    args=$(printf '%s\n' "$line" | grep -oE '/usr/local/bin/pgdrill [^>|;]*' |
        sed -e 's#^/usr/local/bin/pgdrill ##' -e 's#/var/lib/prometheus/node-exporter/#'"$W"'/prom/#')
    [ -n "$args" ] || continue
    # shellcheck disable=SC2086 # the job's words, split as sh splits them
    PGDRILL_HOME=$W/state "$PGDRILL_BIN" $args --help >/dev/null 2>"$W/help.err"
    is "$?" 0 "pgdrill $args --help: the command and its flags exist" "$(cat "$W/help.err")"
done < <(grep -hE '^[0-9*]' "$PGDRILL_TOP"/contrib/cron/*)

done_testing
