#!/bin/bash
# The rows action when a migration dropped a column from production's table
# (sandbox incident bad-migration, then option B of the table): the rows are
# copied without it and cannot bring it back; the preview and the copy say
# so, in a line and in the step's summary, instead of passing silently.
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
done_testing
