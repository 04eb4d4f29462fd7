#!/bin/bash
# A flag given without its value, as a cron line or a workflow whose variable
# came out empty leaves it (`--metrics $FILE` with FILE unset): the message
# must say the value is missing, not that the flag is unknown, which reads
# as "this pgdrill is too old for it". Exit 2 either way.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/cli_missing.XXXXXX")
trap 'rm -rf "$W"' EXIT
export PGDRILL_HOME="$W/home"

t() { # t WANT ARGS...: the first stderr line and the exit status
    local want=$1
    shift
    "$PGDRILL_BIN" "$@" </dev/null >"$W/out" 2>"$W/err"
    is "$? $(head -n 1 "$W/err")" "2 $want" "pgdrill $*"
}
t "pgdrill status: --metrics needs a FILE" status --metrics
t "pgdrill verify: --uri needs a value" verify --uri
t "pgdrill verify: --notify needs a value" verify --json --notify
t "pgdrill run: --var needs a value" run post-restore-validation --var
t "pgdrill run: --report-dir needs a value" run post-restore-validation --report-dir
t "pgdrill check: --url needs a value" check --url
# a flag that does not exist is still called unknown
t "pgdrill run: unknown option '--url'" run post-restore-validation --url
t "pgdrill verify: unknown argument '--bogus'" verify --bogus

done_testing
