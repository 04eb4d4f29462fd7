#!/bin/bash
# `systemctl stop` (or a unit's TimeoutStartSec) sends SIGTERM to pgdrill and,
# right after, to every other process of the unit: the running sh step dies
# of the same signal. The drill must end interrupted (exit 130, resumable,
# no failure notice), not failed because its step was killed.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/sigterm.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 -- "-$PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
export PGDRILL_HOME="$W/home"
unset SLACK_WEBHOOK_URL
cat >"$W/stop.md" <<'EOF'
# Stopped by systemd

```pgdrill
id: stopped
expected: 1m
drill: no
input: work text required "A scratch directory"
```

## Slow
<!-- pgdrill id=slow expected=30s -->

```sh
touch ${work}/slow.mark
sleep 30
```

## After
<!-- pgdrill id=after expected=1s -->

```sh
echo after
```
EOF

# in a session of its own, like a service's control group
setsid "$PGDRILL_BIN" run "$W/stop.md" --var work="$W" --yes --json \
    </dev/null >"$W/out.json" 2>"$W/err" &
PID=$!
for _ in $(seq 1 100); do
    [ -e "$W/slow.mark" ] && break
    sleep 0.1
done
check "the slow step runs" test -e "$W/slow.mark"
sleep 0.3
pgid=$(awk '{print $1}' "$PGDRILL_HOME"/drills/*/running.pgid)
check "the step runs in a process group of its own" test -n "$pgid"
# systemd's order: the main process first, then the rest of the group
kill -TERM "$PID"
kill -TERM -- "-$pgid" 2>/dev/null
wait "$PID"
rc=$?
PID=
is "$rc" 130 "SIGTERM to pgdrill and its step exits 130 (interrupted)" "$(cat "$W/err")"
is "$(json_get "$W/out.json" outcome)" interrupted "the report says interrupted, not failed"
like "$(cat "$W/err")" 'interrupted; resume with: pgdrill resume [0-9]+-[0-9]+-stopped' \
    "and stderr says how to resume"
unlike "$(cat "$W/err")" 'who to tell' "no failure advice for a stop"

done_testing
