#!/bin/bash
# The headless runner without a terminal (cron, CI): what it says when an
# input, a confirmation or a manual step cannot be answered, and that
# --yes and --var stand in for the operator.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

export PGDRILL_HOME="$PGDRILL_TEST_WORK/headless-home"
B=$PGDRILL_BIN
RB=$PGDRILL_TEST_WORK/headless-rb.md
cat >"$RB" <<'MD'
# Headless

```pgdrill
id: headless
input: target_time timestamp required "Restore point"
```

## Go
<!-- pgdrill id=go -->

```sh
echo "at ${target_time}"
```

```sh manual=yes
Tell the on-call channel the drill started.
```

```confirm target=staging
Really?
```
MD

out=$("$B" run "$RB" </dev/null 2>&1)
is "$?" 2 "a missing input without a terminal exits 2"
like "$out" "input 'target_time' needs a value: pass --var target_time=VALUE" \
    "and names the --var to pass"

out=$("$B" run "$RB" --var target_time=yesterday </dev/null 2>&1)
is "$?" 2 "an invalid --var without a terminal exits 2"
like "$out" "--var target_time: 'yesterday' is not an RFC 3339 timestamp" "and says why"

# a rejected value is quoted back, but never a password it holds
out=$("$B" run "$RB" --var 'target_time=postgresql://u:Hunter2pw@h/d' </dev/null 2>&1)
is "$?" 2 "an invalid --var holding a URI exits 2"
unlike "$out" "Hunter2pw" "and its password is not printed"

out=$("$B" run "$RB" --var target_time=2026-01-31T14:05:00Z </dev/null 2>&1)
is "$?" 2 "a manual step without a terminal or --yes exits 2"
like "$out" "manual step: the operator must do it; run interactively or pass --yes" \
    "and says to pass --yes"

out=$("$B" run "$RB" --var target_time=2026-01-31T14:05:00Z --yes </dev/null 2>&1)
is "$?" 0 "--yes passes the manual step and the confirmation without a terminal"
like "$out" "passed go/2: done \(--yes\)" "the manual step is done by --yes"
like "$out" "'staging' confirmed by --yes" "the confirmation is passed by --yes"

# report list shows the achieved RTO that report.json gives, not only a measured one.
id=$(basename "$(last_path "$PGDRILL_HOME"/drills/*headless*)")
rto=$(json_get "$PGDRILL_HOME/drills/$id/report.json" rto_s)
like "$rto" '^[0-9.]+$' "report.json of a finished drill has an achieved RTO"
line=$("$B" report list | grep "^$id ")
like "$line" ' passed +[0-9.]+(ms|s) +(-|[0-9.]+(ms|s)) +-$' "report list shows it too (RTO, then RPO; no grade)"

# a report printed into a full disk fails: it must not pass for printed
out=$("$B" report show "$id" --json 2>&1 >/dev/full)
is "$?" 1 "report show into a full disk exits 1"
like "$out" "pgdrill: standard output: No space left on device" "and says why"
# a journal that names no runbook path: report show writes the report without the runbook
J=$PGDRILL_HOME/drills/$id/journal.jsonl
python3 - "$J" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for rec in lines:
    if rec.get("ev") == "begin":
        rec.get("runbook", {}).pop("path", None)
with open(sys.argv[1], "w") as f:
    f.writelines(json.dumps(rec) + "\n" for rec in lines)
PY
rm -f "$PGDRILL_HOME/drills/$id"/report.*
out=$("$B" report show "$id" 2>&1)
is "$?" 0 "report show of a drill whose journal names no runbook path exits 0"
check "  and writes report.json again" [ -s "$PGDRILL_HOME/drills/$id/report.json" ]
out=$("$B" run "$RB" --json --var target_time=2026-01-31T14:05:00Z --yes </dev/null 2>&1 >/dev/full)
is "$?" 1 "run --json into a full disk exits 1"
like "$out" "pgdrill: standard output: No space left on device" "and says why"

# SIGHUP (a closed ssh session) interrupts the drill like SIGINT: the step's
# process group is stopped, the journal says so, the exit code is 130.
HUP=$PGDRILL_TEST_WORK/hup.md
cat >"$HUP" <<MD
# Hangup

\`\`\`pgdrill
id: hup
\`\`\`

## Wait
<!-- pgdrill id=wait -->

\`\`\`sh
echo started; sleep 3; touch '$PGDRILL_TEST_WORK/hup-marker'
\`\`\`
MD
"$B" run "$HUP" >"$PGDRILL_TEST_WORK/hup.log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q started "$PGDRILL_TEST_WORK/hup.log" && break; sleep 0.1; done
kill -HUP "$pid"
wait "$pid"
is "$?" 130 "SIGHUP during a sh step exits 130"
sleep 4
check "and the step's processes were stopped" test ! -e "$PGDRILL_TEST_WORK/hup-marker"
id=$(basename "$(last_path "$PGDRILL_HOME"/drills/*-hup*)")
like "$(tail -1 "$PGDRILL_HOME/drills/$id/journal.jsonl")" '"ev":"interrupt"' \
    "and the journal records the interruption"

# A drill started with a relative runbook path resumes from another directory.
mkdir -p "$PGDRILL_TEST_WORK/rel"
sed 's/^id: hup$/id: rel/; s/sleep 3; touch.*/sleep 3/' "$HUP" >"$PGDRILL_TEST_WORK/rel/rel.md"
(cd "$PGDRILL_TEST_WORK/rel" && exec "$B" run rel.md >"$PGDRILL_TEST_WORK/rel.log" 2>&1) &
pid=$!
for _ in $(seq 50); do grep -q started "$PGDRILL_TEST_WORK/rel.log" && break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
is "$?" 130 "a drill of a relative runbook path is interrupted"
id=$(basename "$(last_path "$PGDRILL_HOME"/drills/*-rel*)")
out=$(cd / && "$B" resume "$id" 2>&1)
is "$?" 0 "and resumes from another directory"
like "$out" "passed wait/1" "and runs its step"

# A drill another pgdrill is running cannot be resumed: a usage error (2),
# not a failed drill (1).
(cd "$PGDRILL_TEST_WORK/rel" && exec "$B" run rel.md >"$PGDRILL_TEST_WORK/lock.log" 2>&1) &
pid=$!
for _ in $(seq 50); do grep -q started "$PGDRILL_TEST_WORK/lock.log" && break; sleep 0.1; done
id=$(basename "$(last_path "$PGDRILL_HOME"/drills/*-rel*)")
out=$("$B" resume "$id" 2>&1)
is "$?" 2 "resuming a drill in use exits 2"
like "$out" "drill $id is in use by another pgdrill \(pid $pid\)" "and names the other process"
wait "$pid"

# A report that cannot be written is said once, with its cause, and fails the run.
mkdir -p "$PGDRILL_TEST_WORK/rdir/report.json"
out=$("$B" run "$RB" --var target_time=2026-01-31T14:05:00Z --yes \
    --report-dir "$PGDRILL_TEST_WORK/rdir" </dev/null 2>&1)
is "$?" 1 "a report that cannot be written exits 1"
is "$(printf '%s\n' "$out" | grep -c "rdir/report.json: rename: Is a directory")" 1 \
    "and the cause is printed once"

# A step without a body (neon, rows, s3) shows its attributes when it starts.
cat >"$PGDRILL_TEST_WORK/attrs.md" <<'MD'
# Attributes

```pgdrill
id: attrs
use-case: Test fixture: a step without a body says what it does
expected: 1m
```

## List
<!-- pgdrill id=list expected=10s -->

```s3 op=list uri=s3://no-such-bucket/weekly/ count=3
```
MD
out=$(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_CONFIG_FILE=/nonexistent \
    AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true \
    "$B" run "$PGDRILL_TEST_WORK/attrs.md" --yes </dev/null 2>&1)
like "$out" "-> s3 list/1: op=list uri=s3://no-such-bucket/weekly/ count=3" \
    "a step without a body shows its attributes"

done_testing
