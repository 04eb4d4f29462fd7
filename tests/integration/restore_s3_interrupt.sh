#!/bin/bash
# Ctrl-C (SIGINT) while the s3 restore step waits for its client to apply a
# downloaded dump: the drill is interrupted at that step (exit 130), not
# failed with the client's "exited with status 143" and sent on to the
# clean-up; its journal has no failed restore step; the resume (given the
# target URI again: it holds a password) runs the restore again and the
# drill passes. The client is a psql stand-in first on
# PATH that reads the dump and is then slow (no real server is that slow on
# purpose), the second time a real one.
set -u
# shellcheck source=tests/integration/verify_lib.sh
. "$(dirname "$0")/verify_lib.sh"

verify_setup restore-s3-intr

KEY=care-commons-backup-$(stamp 1).sql.gz
pg_dump "$SRC_URL" | gzip >"$W/full.sql.gz" || { not_ok "pg_dump"; exit 1; }
upload_backup "weekly/$KEY" "$W/full.sql.gz"
cc "CREATE DATABASE intr_target" >/dev/null
TARGET=${CARE_URL%/care_commons*}/intr_target

mkdir -p "$W/slowbin"
cat >"$W/slowbin/psql" <<SH
#!/bin/sh
cat >/dev/null
touch "$W/slow.mark"
exec sleep 60
SH
chmod +x "$W/slowbin/psql"
cat >"$W/intr.md" <<'MD'
# Restore, interrupted

```pgdrill
id: restore-intr
use-case: Test fixture: an s3 restore stopped by Ctrl-C, then resumed
expected: 5m
input: key text required "The dump's key under weekly/"
input: target text required "The database to restore into"
```

## Restore
<!-- pgdrill id=restore expected=1m -->

```s3 op=restore uri=${PGDRILL_BACKUP_URI}/weekly/ key=${key} url=${target} format=plain
```

## Clean up
<!-- pgdrill id=cleanup expected=5s always -->

```sh
echo cleaned
```
MD

PATH="$W/slowbin:$PATH" "$PGDRILL_BIN" run "$W/intr.md" --var "key=$KEY" --var "target=$TARGET" \
    --yes >"$W/run1.out" 2>&1 &
pid=$!
wait_for "$W/slow.mark" 30
sleep 0.5
kill -INT "$pid"
wait "$pid"
is "$?" 130 "SIGINT while the client applies the dump: exit 130"
run1=$(cat "$W/run1.out")
unlike "$run1" "exited with status" "  not the client's exit status"
unlike "$run1" "failed restore/1" "  the restore step is not failed"
like "$run1" "interrupted; resume with: pgdrill resume" "  says how to resume"
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)
is "$(grep -c '"ev":"step_end".*"status":"failed"' "$PGDRILL_HOME/drills/$id/journal.jsonl")" 0 \
    "  the journal has no failed step"

out=$("$PGDRILL_BIN" resume "$id" --var "target=$TARGET" --yes 2>&1)
is "$?" 0 "the resume restores with the real client and passes"
like "$out" "passed restore/1: restored" "  the restore ran again"
is "$(psql "$TARGET" -qAtX -c 'SELECT count(*) > 0 FROM visits')" t "  the target has the visits"
done_testing
