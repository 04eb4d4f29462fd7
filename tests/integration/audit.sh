#!/bin/bash
# The audit log end to end: a runbook's sql, check and sh steps against the
# test PostgreSQL (URL with a password) are each one chained entry in
# $PGDRILL_HOME/audit.log; the password never reaches it; `pgdrill audit
# verify` passes, then names the line after each kind of tampering.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
require_env PGDRILL_TEST_WORK PGDRILL_TEST_PGURL

B=$PGDRILL_BIN
PGDRILL_HOME=$(pgdrill_home audit)
export PGDRILL_HOME
LOG=$PGDRILL_HOME/audit.log
export DATABASE_URL=$PGDRILL_TEST_PGURL
password=$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).password or "")' \
    "$PGDRILL_TEST_PGURL")
[ ${#password} -ge 4 ] || bail "password" "PGDRILL_TEST_PGURL has no password to look for"
hostport=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print("%s:%s%s" % (p.hostname, p.port, p.path))' \
    "$PGDRILL_TEST_PGURL")

RB=$PGDRILL_TEST_WORK/audit-rb.md
cat >"$RB" <<'MD'
# Audit drill

```pgdrill
id: audit-drill
```

## Database
<!-- pgdrill id=db -->

```sql id=who url=${DATABASE_URL}
SELECT current_database()
```

```check id=one name=one-is-one expect="= 1" url=${DATABASE_URL}
SELECT 1
```

```check id=two name=two-is-three expect="= 3" url=${DATABASE_URL} on-fail=continue
SELECT 2
```

```sh id=echo
echo done
```
MD

out=$("$B" run "$RB" --yes 2>&1)
is "$?" 1 "the drill runs and fails on its failing check"
[ -f "$LOG" ] || bail "audit log" "no $LOG after the run: $out"
is "$(stat -c %a "$LOG")" 600 "audit.log is 0600"
is "$(wc -l <"$LOG" | tr -d ' ')" 4 "one entry per sql, check and sh step"
if grep -qF -- "$password" "$LOG"; then
    not_ok "the database password is not in audit.log" "$(cat "$LOG")"
else
    ok "the database password is not in audit.log"
fi
summary=$(python3 - "$LOG" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    a = e["args"]
    print(e["seq"], e["action"], e["target"], a.get("step"), a.get("check", "-"),
          len(a.get("sql_sha256", "")) or a.get("exit_code"), e["outcome"].split(":")[0])
PY
)
is "$summary" "1 sql postgres://$hostport who - 64 ok
2 check postgres://$hostport one one-is-one 64 ok
3 check postgres://$hostport two two-is-three 64 failed
4 sh None echo - 0 ok" "entries name action, redacted target, step, check and outcome"
drill=$(ls "$PGDRILL_HOME/drills")
is "$(json_get <(head -n 1 "$LOG") drill_id)" "$drill" "entries carry the drill id"

out=$("$B" audit verify)
is "$?" 0 "audit verify exits 0 on an intact log"
like "$out" "^audit log ok: 4 entries, chain intact" "and says so"

# a second run appends to the same chain
"$B" run "$RB" --yes >/dev/null 2>&1
out=$("$B" audit verify)
like "$out" "^audit log ok: 8 entries, chain intact" "a second drill continues the chain"

out=$("$B" audit --help)
is "$?" 0 "audit --help exits 0"
like "$out" "usage: pgdrill audit verify" "audit --help prints a usage line"
out=$("$B" audit frob 2>&1)
is "$?" 2 "an unknown audit sub-command exits 2"
out=$("$B" audit verify --path "$PGDRILL_TEST_WORK/no-such-audit.log" 2>&1)
is "$?" 2 "verify of a missing file exits 2"
like "$out" "no-such-audit.log: no such file" "and names the file"

# tamper with copies, each checked with --path
tamper() { # NAME PYTHON: PYTHON edits `lines` (a list of byte lines with newlines)
    local copy=$PGDRILL_TEST_WORK/audit-$1.log
    python3 - "$LOG" "$copy" "$2" <<'PY'
import sys
lines = open(sys.argv[1], "rb").read().splitlines(keepends=True)
exec(sys.argv[3])
open(sys.argv[2], "wb").write(b"".join(lines))
PY
    printf '%s\n' "$copy"
}

copy=$(tamper edit 'lines[2] = lines[2].replace(b"two-is-three", b"two-is-thre3")')
out=$("$B" audit verify --path "$copy" 2>&1)
is "$?" 1 "verify exits 1 after an entry was edited"
is "$out" "pgdrill: audit log $copy: line 3: hash chain broken (entry edited or replaced)" \
    "and names the edited line"

copy=$(tamper delete 'del lines[4]')
out=$("$B" audit verify --path "$copy" 2>&1)
is "$?" 1 "verify exits 1 after an entry was removed"
is "$out" "pgdrill: audit log $copy: line 5: 1 entry removed before this line (seq jumps from 4 to 6)" \
    "and names where the entry is missing"

copy=$(tamper reorder 'lines[5], lines[6] = lines[6], lines[5]')
out=$("$B" audit verify --path "$copy" 2>&1)
is "$?" 1 "verify exits 1 after entries were reordered"
is "$out" "pgdrill: audit log $copy: line 6: entries reordered (seq 7 where 6 was expected)" \
    "and names the first line out of order"

copy=$(tamper truncate 'lines[-1] = lines[-1][:-15]')
out=$("$B" audit verify --path "$copy" 2>&1)
is "$?" 1 "verify exits 1 on a truncated last line"
is "$out" "pgdrill: audit log $copy: line 8: truncated last line (incomplete write)" \
    "and says the last line is truncated"

# a connection that fails is audited too, with the target from the URL alone
H3=$(pgdrill_home audit-conn)
RB3=$PGDRILL_TEST_WORK/audit-rb3.md
cat >"$RB3" <<'MD'
# Unreachable

```pgdrill
id: audit-unreachable
```

## Only
<!-- pgdrill id=only -->

```sql id=nowhere url=postgresql://app:Zz-Secret-77@127.0.0.1:1/nodb?connect_timeout=2
SELECT 1
```
MD
PGDRILL_HOME=$H3 "$B" run "$RB3" --yes >/dev/null 2>&1
is "$?" 3 "a run against an unreachable database exits 3"
out=$(python3 -c 'import json, sys; e = json.loads(open(sys.argv[1]).readline()); print(e["target"], e["outcome"][:25])' \
    "$H3/audit.log")
is "$out" "postgres://127.0.0.1:1/nodb failed: postgres: connect" \
    "the failed connection is audited with its target"
if grep -qF "Zz-Secret-77" "$H3/audit.log"; then
    not_ok "the password of a failed connection is not in audit.log" "$(cat "$H3/audit.log")"
else
    ok "the password of a failed connection is not in audit.log"
fi

# an action that cannot be audited does not run
H2=$(pgdrill_home audit-ro)
mkdir "$H2/audit.log"
mark=$PGDRILL_TEST_WORK/audit-marker
RB2=$PGDRILL_TEST_WORK/audit-rb2.md
cat >"$RB2" <<MD
# Unauditable

\`\`\`pgdrill
id: audit-refuse
\`\`\`

## Only
<!-- pgdrill id=only -->

\`\`\`sh id=touch
touch '$mark'
\`\`\`
MD
out=$(PGDRILL_HOME=$H2 "$B" run "$RB2" --yes 2>&1)
rc=$?
is "$rc" 1 "a run whose audit log cannot be opened fails"
like "$out" "audit log $H2/audit.log: Is a directory" "and says why"
check "the unauditable sh step did not run" test ! -e "$mark"

done_testing
