#!/bin/bash
# Issue 12, point 8: the shipped runbooks' checks can fail. Each check is
# taken as it is from its runbook (by name), run in a small runbook against
# a database where it must pass and one where it must fail:
#   selective-recovery import.accounted   production's rows of the range,
#       measured before and after, against what the preview announced
#   selective-recovery no-duplicate-rows  a row under a second key, found by
#       the table's own key, for visits and for another table (clients)
#   post-restore-validation date-ranges   both tables must hold rows
set -u
. "$PGDRILL_TOP/tests/lib.sh"
require_env PGDRILL_TEST_PGURL PGDRILL_TEST_WORK
[ -x "$PGDRILL_BIN" ] || bail "pgdrill binary" "$PGDRILL_BIN is missing: build it first (make)"

SEL=$PGDRILL_TOP/runbooks/selective-recovery.md
VAL=$PGDRILL_TOP/runbooks/post-restore-validation.md
W=$(mktemp -d "$PGDRILL_TEST_WORK/rows-checks.XXXXXX")

# extract RUNBOOK NAME: the check block named NAME, fences included
extract() {
    awk -v name="$2" '
        index($0, "```check name=" name " ") == 1 { on = 1 }
        on { print }
        on && /^```$/ { exit }' "$1"
}

# run_check RUNBOOK NAME DBURL VAR=VALUE...: the check alone; sets OUT, RC
run_check() {
    local rb=$1 name=$2 url=$3 block kv args=()
    shift 3
    block=$(extract "$rb" "$name")
    [ -n "$block" ] || bail "$name" "no check named $name in $rb"
    {
        printf '# one check\n\n```pgdrill\nid: check-%s\n' "${name//./-}"
        for kv in "$@"; do printf 'input: %s text required "%s"\n' "${kv%%=*}" "${kv%%=*}"; done
        printf '```\n\n## Check\n<!-- pgdrill id=check -->\n\n%s\n' "$block"
    } >"$W/$name.md"
    for kv in "$@"; do args+=(--var "$kv"); done
    OUT=$(cd "$PGDRILL_TEST_WORK" && PGDRILL_HOME=$(pgdrill_home "check-$name") DATABASE_URL=$url \
        timeout 60 "$PGDRILL_BIN" run "$W/$name.md" "${args[@]}" --yes 2>&1 </dev/null)
    RC=$?
}

# passes NAME / fails NAME: the last run_check's outcome
passes() { if [ "$RC" = 0 ]; then ok "$1"; else not_ok "$1" "exit $RC" "$OUT"; fi; }
fails() {
    if [ "$RC" = 1 ] && [[ $OUT == *"FAILED"* ]]; then ok "$1"; else not_ok "$1" "exit $RC" "$OUT"; fi
}

url=$(fresh_db rows_checks clean) || bail "fixture" "fresh_db rows_checks failed"
lo=$(sql "$url" "SELECT created_at FROM visits ORDER BY created_at, id OFFSET 100 LIMIT 1")
hi=$(sql "$url" "SELECT created_at FROM visits ORDER BY created_at, id OFFSET 200 LIMIT 1")
in_range=$(sql "$url" "SELECT count(*) FROM visits WHERE created_at >= '$lo' AND created_at < '$hi'")

# --- import.accounted: 100 rows in the range now; before the import there were 90
range=(table=visits scope=range range_start="$lo" range_end="$hi")
run_check "$SEL" import.accounted "$url" "${range[@]}" rows_before=$((in_range - 10)) preview_inserted=10
passes "import.accounted passes when the range grew by what the preview announced"
run_check "$SEL" import.accounted "$url" "${range[@]}" rows_before=$((in_range - 10)) preview_inserted=12
fails "import.accounted fails when 2 announced rows did not arrive"
run_check "$SEL" import.accounted "$url" "${range[@]}" rows_before=$((in_range - 11)) preview_inserted=10
fails "import.accounted fails when the range holds a row the preview did not announce"

# --- no-duplicate-rows: by the table's key, whatever the table
run_check "$SEL" no-duplicate-rows "$url" table=visits
passes "no-duplicate-rows passes on visits without a duplicate"
run_check "$SEL" no-duplicate-rows "$url" table=clients
passes "no-duplicate-rows passes on clients without a duplicate"
sql "$url" "INSERT INTO clients (organization_id, first_name, last_name, date_of_birth, medicaid_id,
                                 created_at, updated_at)
            SELECT organization_id, first_name, last_name, date_of_birth, medicaid_id, created_at,
                   updated_at FROM clients ORDER BY id LIMIT 1" >/dev/null
run_check "$SEL" no-duplicate-rows "$url" table=clients
fails "no-duplicate-rows fails on clients with a row under a second key"
like "$OUT" 'observed 1, expected = 0' "no-duplicate-rows counts the duplicated row"
run_check "$SEL" no-duplicate-rows "$url" table=visits
passes "no-duplicate-rows still passes on visits (it checks the table it is given)"
sql "$url" "INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end, check_in_lat,
                                check_in_lon, checked_in_at, created_at, updated_at)
            SELECT client_id, caregiver_id, scheduled_start, scheduled_end, check_in_lat,
                   check_in_lon, checked_in_at, created_at, updated_at FROM visits ORDER BY id LIMIT 2" >/dev/null
run_check "$SEL" no-duplicate-rows "$url" table=visits
fails "no-duplicate-rows fails on visits with two rows under second keys"

# --- date-ranges: both tables hold rows
url=$(fresh_db rows_checks clean) || bail "fixture" "fresh_db rows_checks failed"
run_check "$VAL" date-ranges "$url"
passes "date-ranges passes when users and visits hold rows"
sql "$url" "DELETE FROM visits" >/dev/null
run_check "$VAL" date-ranges "$url"
fails "date-ranges fails when visits is empty"
like "$OUT" 'visits: 0 is not > 0|visits=0' "date-ranges names the empty table"

rm -rf "$W"
done_testing
