#!/bin/bash
# What the rows action cannot restore by itself, said in a line and in the
# step's summary instead of passing silently:
#   - a column a migration dropped from production's table (sandbox incident
#     bad-migration, then option B of the table): rows cannot bring it back;
#   - parents deleted with their children (ON DELETE CASCADE in the test
#     world, both deleted by the sandbox's cascade incident), then option B
#     of clients: the tables that reference it must follow.
set -u
. "$PGDRILL_TOP/tests/lib.sh"
require_env PGDRILL_TEST_PGURL PGDRILL_TEST_WORK

W=$(mktemp -d "$PGDRILL_TEST_WORK/rows-columns.XXXXXX")
prod=$(fresh_db rows_cols_prod clean) || bail "fixture" "fresh_db rows_cols_prod failed"
branch=$(fresh_db rows_cols_branch clean) || bail "fixture" "fresh_db rows_cols_branch failed"
sql "$prod" "ALTER TABLE users DROP COLUMN role" >/dev/null

cat >"$W/cols.md" <<'MD'
# Copy users

```pgdrill
id: rows-columns
use-case: Test fixture: option B of a table a migration took a column from
expected: 1m
input: branch text required "The branch's URI"
```

## Copy
<!-- pgdrill id=copy expected=30s -->

```rows table=users from=${branch} mode=missing preview=yes save=preview
```

```rows table=users from=${branch} mode=missing save=copied
```
MD
out=$(cd "$W" && PGDRILL_HOME="$W/home" DATABASE_URL=$prod "$PGDRILL_BIN" run "$W/cols.md" \
    --var "branch=$branch" --yes 2>&1 </dev/null)
rc=$?
is "$rc" 0 "the copy itself still runs: exit 0"
like "$out" "columns of users on the branch but not in production: role; copying rows does not bring columns back" \
    "the preview says which column it cannot bring back"
like "$out" "passed copy/1: preview users \\(missing\\): .*; columns not in production: role" \
    "  in the preview's summary"
like "$out" "passed copy/2: users \\(missing\\): .*; columns not in production: role" \
    "  and in the copy's summary"
# clients deleted with their visits (ON DELETE CASCADE)
prod=$(fresh_db rows_casc_prod clean) || bail "fixture" "fresh_db rows_casc_prod failed"
branch=$(fresh_db rows_casc_branch clean) || bail "fixture" "fresh_db rows_casc_branch failed"
for u in "$prod" "$branch"; do
    psql -qX -v ON_ERROR_STOP=1 -f "$PGDRILL_TOP/tests/fixtures/sql/world-cascade.sql" "$u" >/dev/null ||
        bail "fixture" "world-cascade.sql"
done
sql "$prod" "DELETE FROM clients WHERE id IN (1, 2)" >/dev/null
sed 's/table=users/table=clients/' "$W/cols.md" >"$W/casc.md"
out=$(cd "$W" && PGDRILL_HOME="$W/home" DATABASE_URL=$prod "$PGDRILL_BIN" run "$W/casc.md" \
    --var "branch=$branch" --yes 2>&1 </dev/null)
is "$?" 0 "clients deleted with their visits: the copy of clients passes"
like "$out" "tables referencing clients: visits; their rows that belonged to the 2 rows to insert are gone or lost the reference too: restore them after clients" \
    "the preview names the child table to restore next"
like "$out" "passed copy/2: clients \(missing\): 2 inserted.*; restore next \(they reference clients\): visits" \
    "  and so does the copy's summary"
out=$(cd "$W" && PGDRILL_HOME="$W/home" DATABASE_URL=$prod "$PGDRILL_BIN" run "$W/casc.md" \
    --var "branch=$branch" --yes 2>&1 </dev/null)
unlike "$out" "tables referencing|restore next" "run again, nothing left to insert: no word of the children"
done_testing
