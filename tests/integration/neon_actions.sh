#!/bin/bash
# Every `neon` runbook op through `pgdrill run` against the sandbox Neon
# server behind the contract proxy: listings show one line per item, save=
# defines the documented variables, mutations wait for their operations, and
# a branch-create at a point in time outside the history window (future, or
# older than the window, here older than the parent branch too) is refused
# with a clear message before any mutating call (the proxy sees no POST).
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup actions

export PGDRILL_HOME=$W/home
DB=$(pgq "SELECT current_database()")
ROLE=$(pgq "SELECT current_user")
pgq "CREATE TABLE marker (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())" >/dev/null
pgq "INSERT INTO marker VALUES (1)" >/dev/null
T0=$(pgq "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
sleep 1.2
# a commit later than T0 in the archive, so recovery to T0 can end there
pgq "INSERT INTO marker VALUES (2)" >/dev/null
pgq "SELECT pg_switch_wal()" >/dev/null

cat >"$W/ops.md" <<MD
# Every neon op

\`\`\`pgdrill
id: neon-ops
use-case: Exercise every neon action against a Neon API
expected: 10m
input: t0 timestamp required "A point in time inside the history window"
\`\`\`

## Read the project
<!-- pgdrill id=read -->

\`\`\`neon op=project-get
\`\`\`

\`\`\`neon op=branch-list save=list
\`\`\`

\`\`\`neon op=branch-get branch=\${list_name} save=main
\`\`\`

\`\`\`neon op=database-list branch=\${list_id}
\`\`\`

\`\`\`neon op=role-list
\`\`\`

\`\`\`neon op=endpoint-list branch=\${main_name} save=mainep
\`\`\`

\`\`\`neon op=endpoint-list
\`\`\`

\`\`\`neon op=endpoint-start endpoint=\${mainep_id} save=started
\`\`\`

## A branch, its compute and its connection
<!-- pgdrill id=branch -->

\`\`\`neon op=branch-create name=ops-dev timestamp=\${t0} endpoint=none save=dev
\`\`\`

\`\`\`neon op=endpoint-create branch=\${dev_id} save=devep
\`\`\`

\`\`\`neon op=branch-list
\`\`\`

\`\`\`neon op=connection-uri branch=\${dev_name} database=$DB role=$ROLE save=devc
\`\`\`

\`\`\`sh save=dev_rows
psql "\${devc_uri}" -qAtX -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM marker"
\`\`\`

\`\`\`sh
echo "saved: dev=\${dev_id} devep=\${devep_id} devep_host=\${devep_host} started=\${started_id} mainep=\${mainep_id} main_host=\${main_host} list=\${list_name} rows=\${dev_rows}"
\`\`\`

## Change it
<!-- pgdrill id=change -->

\`\`\`neon op=branch-rename branch=\${dev_id} name=ops-renamed save=ren
\`\`\`

\`\`\`neon op=branch-restore branch=ops-renamed source=\${main_id} preserve=ops-old save=rest
\`\`\`

\`\`\`neon op=branch-set-default branch=ops-renamed
\`\`\`

\`\`\`neon op=branch-list
\`\`\`

\`\`\`neon op=branch-set-default branch=\${main_id}
\`\`\`

\`\`\`neon op=branch-delete branch=\${dev_id}
\`\`\`

\`\`\`neon op=branch-delete branch=ops-old
\`\`\`

\`\`\`neon op=branch-list
\`\`\`
MD

"$PGDRILL_BIN" lint "$W/ops.md" >"$W/out.lint" 2>&1
is "$?" 0 "the runbook using every neon op lints clean"
[ -s "$W/out.lint" ] && sed 's/^/# /' "$W/out.lint"

"$PGDRILL_BIN" run "$W/ops.md" --var "t0=$T0" --yes >"$W/out.run" 2>&1
rc=$?
is "$rc" 0 "pgdrill run of every neon op exits 0"
[ "$rc" = 0 ] || tail -40 "$W/out.run" | sed 's/^/# /'
out=$(cat "$W/out.run")
like "$out" "project $NEON_PROJECT_ID: postgresql 15, history window 86400s" "project-get: summary"
like "$out" 'branch main \(br-[a-z0-9-]+\) ready, default, parent_timestamp -' \
    "branch-list: one line per branch with state, default and parent_timestamp"
like "$out" '1 branch, default main' "branch-list: summary names the default"
like "$out" 'branch main \(br-[a-z0-9-]+\) is ready, the default' "branch-get: summary"
like "$out" "database $DB, owner $ROLE" "database-list: one line per database"
like "$out" "role $ROLE" "role-list: one line per role"
like "$out" 'endpoint ep-[a-z0-9-]+ on br-[a-z0-9-]+: read_write, [a-z]+, host [^ ]+' \
    "endpoint-list: one line per endpoint"
like "$out" '1 endpoint in the project' "endpoint-list without branch=: the whole project"
like "$out" 'started endpoint ep-' "endpoint-start: summary"
like "$out" "created branch ops-dev \\(br-[a-z0-9-]+\\) from main at $T0" "branch-create at t0"
like "$out" 'created read_write endpoint ep-[a-z0-9-]+ on branch ops-dev' "endpoint-create: summary"
like "$out" 'connection uri of ops-dev: postgres(ql)?://[^ ]*\*' "connection-uri: shown masked"
# the point-in-time branch holds the marker row of T0 only, not the later one
is "$(grep -cE '^ *\| saved: dev=br-[a-z0-9-]+ devep=ep-[a-z0-9-]+ devep_host=[^ ]+ started=ep-[a-z0-9-]+ mainep=ep-[a-z0-9-]+ main_host=[^ ]+ list=main rows=1$' "$W/out.run")" 1 \
    "save=: the documented variables are defined for later steps; the branch is at t0"
like "$out" "renamed branch br-[a-z0-9-]+ to ops-renamed" "branch-rename: summary"
like "$out" 'restored branch ops-renamed \(br-[a-z0-9-]+\) from main, old state kept as ops-old' \
    "branch-restore: summary"
like "$out" 'branch ops-renamed \(br-[a-z0-9-]+\) is now the default' "branch-set-default: summary"
like "$out" 'branch ops-renamed \(br-[a-z0-9-]+\) ready, default' \
    "branch-list: the new default is marked"
like "$out" "branch ops-dev \\(br-[a-z0-9-]+\\) ready, parent_timestamp $T0" \
    "branch-list: a branch's parent_timestamp is shown"
like "$out" 'deleted branch ops-renamed' "branch-delete: by saved id"
like "$out" 'deleted branch ops-old' "branch-delete: by name"
last=$(grep -E 'branch(es)?, default' "$W/out.run" | tail -n 1)
like "$last" '1 branch, default main' "after clean-up only main is left, and it is the default"
like "$out" 'operation create_branch [0-9a-f-]+: finished' "mutations wait and show operation progress"
"$NT" cli action op=connection-uri branch=main database="$DB" role="$ROLE" >"$W/uri.main" 2>&1
pw=$(sed -n 's/^uri=[a-z]*:\/\/[^:]*:\([^@]*\)@.*/\1/p' "$W/uri.main")
check "the sandbox's connection uris carry a password" [ -n "$pw" ]
if [ -n "$pw" ] && grep -rqF "$pw" "$W/out.run" "$PGDRILL_HOME"; then
    notok "secrets: the branch password reached the output, journal or report"
else
    ok "secrets: the branch password is in no output, journal or report"
fi

# operation-get / operations-wait, on operations the run above started
mapfile -t ops < <(grep -oE 'operation [a-z_]+ [0-9a-f-]{8,}:' "$W/out.run" | awk '{print $3}' | tr -d : | sort -u)
op1=${ops[0]:-}
opall=$(printf '%s,' "${ops[@]}")
cat >"$W/wait.md" <<MD
# Operations

\`\`\`pgdrill
id: neon-operations
use-case: Look up and wait for Neon operations
expected: 1m
input: one text required "An operation id"
input: all text required "Operation ids, comma separated"
\`\`\`

## Operations
<!-- pgdrill id=ops -->

\`\`\`neon op=operation-get operation=\${one} save=op
\`\`\`

\`\`\`neon op=operations-wait operation=\${all} timeout=2m
\`\`\`

\`\`\`sh
echo "saved: op=\${op_id} status=\${op_name}"
\`\`\`
MD
"$PGDRILL_BIN" run "$W/wait.md" --var "one=$op1" --var "all=$opall" --yes >"$W/out.wait" 2>&1
rc=$?
is "$rc" 0 "pgdrill run of operation-get and operations-wait exits 0"
[ "$rc" = 0 ] || tail -20 "$W/out.wait" | sed 's/^/# /'
n_ops=${#ops[@]}
check "the first run started several operations ($n_ops)" [ "$n_ops" -ge 5 ]
like "$(cat "$W/out.wait")" "operation $op1 \\([a-z_]+\\) is finished" "operation-get: summary"
like "$(cat "$W/out.wait")" "$n_ops operations finished" "operations-wait: every operation waited for"
is "$(grep -c '| operation [0-9a-f-]* ([a-z_]*) on branch br-[a-z0-9-]*: finished$' "$W/out.wait")" \
    "$((n_ops + 1))" "operation lines: one per operation (get + wait)"
like "$(cat "$W/out.wait")" "saved: op=$op1 status=finished" "operation-get saves id and status"

# A point in time outside the window: refused before any mutating call.
refuse() { # NAME TIMESTAMP WANT-MESSAGE-REGEX
    local posts_before posts_after
    cat >"$W/refuse.md" <<MD
# Refusal

\`\`\`pgdrill
id: neon-refuse
use-case: A branch at a point in time outside the history window
expected: 1m
input: at text required "The point in time"
\`\`\`

## Create
<!-- pgdrill id=create -->

\`\`\`neon op=branch-create name=too-far timestamp=\${at}
\`\`\`
MD
    posts_before=$(seen POST .)
    branch_gets=$(seen GET '/branches$')
    "$PGDRILL_BIN" run "$W/refuse.md" --var "at=$2" --yes >"$W/out.refuse.$1" 2>&1
    rc=$?
    check "$1: pgdrill run fails (exit $rc)" [ "$rc" -ne 0 ]
    like "$(cat "$W/out.refuse.$1")" "$3" "$1: the message says why"
    posts_after=$(seen POST .)
    is "$((posts_after - posts_before))" 0 "$1: no mutating call was made (no POST)"
    # the parent is read (its creation bounds the window), nothing else
    is "$(seen GET '/branches$')" "$((branch_gets + 1))" "$1: only the parent was resolved"
}
FUTURE=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
OLD=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%SZ)
refuse future "$FUTURE" "neon: restore point $FUTURE is in the future \\(now is "
refuse too-old "$OLD" "neon: restore point $OLD is before branch main was created: its earliest restorable time is [^ ]+Z \\(UTC\\)"
"$NT" cli action op=branch-list >"$W/out.after" 2>&1
like "$(cat "$W/out.after")" 'summary=1 branch, default main' "no branch was created by the refused steps"

key_check
contract_check 40
done_testing
