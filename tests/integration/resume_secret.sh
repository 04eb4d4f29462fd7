#!/bin/bash
# A drill interrupted (SIGINT) after a step saved a secret (a URI with a
# password, journaled by name only) resumes headless. A neon step's URI is
# asked of Neon again for the branch the journal names, with no --var and
# no password on any command line; an sh step's is given back with --var
# NAME=VALUE, as the resume's own message asks (naming every such variable
# at once). The value stays out of the journal and the report.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

# watch_argv PID FILE: until PID ends, every 50 ms, the argv (as ps shows it
# to every user) of PID and of each of its descendants, appended to FILE.
watch_argv() {
    while kill -0 "$1" 2>/dev/null; do
        ps -e -o pid=,ppid=,args= | awk -v root="$1" '
            { pid = $1; pp[pid] = $2; $1 = ""; $2 = ""; args[pid] = $0 }
            END { for (x in args) { y = x; n = 0
                      while (y != root && (y in pp) && n++ < 64) y = pp[y]
                      if (y == root) print x ":" args[x] } }' >>"$2"
        sleep 0.05
    done
}

# interrupt_in_slow_step: SIGINT to the run started in the background as
# $pid once its slow step has begun (the marker file exists).
interrupt_in_slow_step() {
    wait_for "$1/slow.mark" 60
    sleep 0.3
    kill -INT "$pid"
    wait "$pid"
}

neon_setup resume-secret
neon_seed_care_commons
export PGDRILL_HOME="$W/home"
pw="pw-resume-7f3a91"
"$PGDRILL_BIN" run "$PGDRILL_TOP/tests/fixtures/runbooks/resume-secret.md" --var work="$W" \
    --yes >"$W/run1.out" 2>&1 &
pid=$!
interrupt_in_slow_step "$W"
is "$?" 130 "SIGINT in the slow step: exit 130"
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)

out=$("$PGDRILL_BIN" resume "$id" --yes 2>&1)
is "$?" 2 "resume without the secret: exit 2"
like "$out" "variables 'db', 'db2' hold secrets that are not journaled: give the lines db=VALUE, db2=VALUE on stdin with --vars-from - to resume" \
    "  names both variables and points at --vars-from, not --var"

# --var still works, but puts the password where every user can read it:
# the control for the argv checks below
"$PGDRILL_BIN" resume "$id" --var db="postgresql://app:$pw@127.0.0.1:1/app" --yes \
    >"$W/resume0.out" 2>&1 &
pid=$!
watch_argv "$pid" "$W/argv0"
wait "$pid"
is "$?" 2 "resume with one of the two by --var: exit 2"
like "$(cat "$W/resume0.out")" "variable 'db2' holds a secret that is not journaled: give the line db2=VALUE on stdin with --vars-from - to resume" \
    "  names the one still missing"
like "$(cat "$W/argv0")" "resume $id --var db=postgresql://app:$pw@" \
    "  (control) ps shows the password a --var gave"

printf 'db=postgresql://app:%s@127.0.0.1:1/app\n' "$pw" >"$W/vars"
chmod 0644 "$W/vars"
out=$("$PGDRILL_BIN" resume "$id" --vars-from "$W/vars" --yes 2>&1)
is "$?" 2 "--vars-from a file others may read: exit 2"
like "$out" "--vars-from $W/vars: mode 0644 lets others read it; it may hold secrets: chmod 600" \
    "  names the mode"
unlike "$out" "$pw" "  and not the file's text"
chmod 0600 "$W/vars"
out=$("$PGDRILL_BIN" resume "$id" --vars-from "$W/vars" --yes 2>&1)
is "$?" 2 "--vars-from a 0600 file with db only: exit 2"
like "$out" "variable 'db2' holds a secret that is not journaled" "  db came from the file, db2 is named"
printf 'db=x\nnot-a-pair\n' | "$PGDRILL_BIN" resume "$id" --vars-from - --yes >"$W/bad.out" 2>&1
is "$?" 2 "--vars-from - with a line that is not NAME=VALUE: exit 2"
like "$(cat "$W/bad.out")" "--vars-from -: a line is not NAME=VALUE" "  says so without the line"

printf '# the secrets the resume asked for\ndb=postgresql://app:%s@127.0.0.1:1/app\n\ndb2=postgresql://app:%s@127.0.0.1:2/app2\n' \
    "$pw" "$pw" | "$PGDRILL_BIN" resume "$id" --vars-from - --yes >"$W/resume1.out" 2>&1 &
pid=$!
watch_argv "$pid" "$W/argv1"
wait "$pid"
is "$?" 0 "resume --vars-from - with db and db2 on stdin: exit 0"
out=$(cat "$W/resume1.out")
unlike "$out" "has no input 'db" "  db and db2 are not refused"
like "$out" "host of db: 127.0.0.1:1/app, of db2: 127.0.0.1:2/app2" "  the last step got the values"
like "$(cat "$W/argv1")" " sh -c " "  the argv of its children was watched (sh steps seen)"
if grep -qF -- "$pw" "$W/argv1"; then
    not_ok "  no password in the argv of the resume or of the sh step that uses it"
    grep -F -- "$pw" "$W/argv1" | head -3 | sed 's/^/# /'
else
    ok "  no password in the argv of the resume or of the sh step that uses it"
fi
if grep -rq -- "$pw" "$PGDRILL_HOME/drills/$id"; then
    not_ok "the password is in no file of the drill"
else
    ok "the password is in no file of the drill"
fi
# A neon step saved the secret: the resume asks Neon for it again.
export PGDRILL_HOME="$W/home-neon"
mkdir -p "$W/neon"
"$PGDRILL_BIN" run "$PGDRILL_TOP/tests/fixtures/runbooks/resume-neon-secret.md" \
    --var work="$W/neon" --yes >"$W/neon-run1.out" 2>&1 &
pid=$!
interrupt_in_slow_step "$W/neon"
is "$?" 130 "neon: SIGINT in the slow step after branch-create: exit 130"
id=$(entries_by_mtime "$PGDRILL_HOME/drills" | head -n 1)
branch=$(sed -n 's/.*created branch resec-rec (\(br-[^)]*\)).*/\1/p' "$W/neon-run1.out" | head -n 1)
like "$branch" "^br-" "neon: the run created branch resec-rec ($branch)"
"$NT" cli action op=connection-uri branch=resec-rec database=care_commons role=pgdrill \
    >"$W/neon.uri" 2>&1
npw=$(sed -n 's/^uri=[a-z]*:\/\/[^:]*:\([^@]*\)@.*/\1/p' "$W/neon.uri")
check "neon: the branch's URI has a password" [ -n "$npw" ]

# Neon does not give it (the branch gone, say): the operator is asked
printf '[{"method":"GET","path":"connection_uri","times":1,"status":404,"message":"branch not found"}]\n' >"$FAULTS"
out=$("$PGDRILL_BIN" resume "$id" --yes 2>&1)
is "$?" 2 "neon: Neon answers 404: exit 2"
like "$out" "rec_uri: not fetched again from Neon for branch $branch: .*404" "  says why"
like "$out" "give the line rec_uri=VALUE on stdin with --vars-from - to resume" \
    "  and asks for it as for any other secret"
echo '[]' >"$FAULTS"

"$PGDRILL_BIN" resume "$id" --yes >"$W/neon-resume.out" 2>&1 &
pid=$!
watch_argv "$pid" "$W/argv2"
wait "$pid"
rc=$?
out=$(cat "$W/neon-resume.out")
is "$rc" 0 "neon: resume with no --var: exit 0" || diag "$out"
like "$out" "rec_uri: fetched again from Neon for branch $branch" \
    "  says the URI was fetched again from Neon for the branch"
like "$out" "check restored.visits: passed" "  the check on the branch passed with it"
like "$(cat "$W/argv2")" " sh -c " "  the argv of its children was watched (sh steps seen)"
if [ -n "$npw" ] && grep -qF -- "$npw" "$W/argv2"; then
    not_ok "  no password in the argv of the resume or any child"
    grep -F -- "$npw" "$W/argv2" | head -3 | sed 's/^/# /'
else
    ok "  no password in the argv of the resume or any child"
fi
if [ -n "$npw" ] && grep -rqF -- "$npw" "$PGDRILL_HOME"; then
    not_ok "  the password is in no file of the drill nor the audit log"
else
    ok "  the password is in no file of the drill nor the audit log"
fi
like "$(cat "$PGDRILL_HOME/audit.log")" '"action":"neon.connection-uri".*"why":"resume"' \
    "  the call to Neon is in the audit log"

help=$("$PGDRILL_BIN" resume --help)
like "$help" "--var NAME=VALUE  answer an input .* or give back a" "resume --help: what --var is for"
like "$help" "130 interrupted again" "resume --help: its exit codes"
like "$help" "--vars-from FILE  the same as NAME=VALUE lines read from FILE \(mode 0600\) or" \
    "resume --help: --vars-from"
like "$("$PGDRILL_BIN" run --help)" "--vars-from FILE  read NAME=VALUE lines" "run --help: --vars-from"
like "$("$PGDRILL_BIN" run --help)" "pgdrill run RUNBOOK --plan \[--var NAME=VALUE\]" \
    "run --help: --plan in the usage"
done_testing
