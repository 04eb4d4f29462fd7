#!/bin/bash
# `make check-valgrind`: memcheck over pgdrill's own code.
#
#   1. every cmocka unit test binary in $BUILD/tests/unit runs under
#      valgrind; it passes when its cases pass and valgrind reports no error
#      (invalid reads/writes, uninitialised values, definite leaks) in any of
#      its processes (forked children write their own report);
#   2. pgdrill itself runs under valgrind for representative commands: lint
#      of the shipped runbooks, a headless post-restore-validation against
#      the test PostgreSQL (clean and broken copies), `pgdrill check`,
#      `report list` / `show`, `audit verify`, and a full `pgdrill backup`
#      into s3rver (pg_dump -> gzip thread -> S3 multipart, libcurl; s3rver
#      needs node, npm and awscli: without them that is a failure); then
#      tests/integration/cli.sh, validation.sh, secrets.sh (backup, verify
#      and a restore drill against the sandbox Neon server and s3rver,
#      headless and in the TUI) and tests/tui/tui-script.sh (a scripted TUI
#      drill in tmux) run with PGDRILL_BIN pointing at a valgrind wrapper. A command passes when its exit status
#      is the expected one and every valgrind report it left is clean.
#
#   tests/valgrind.sh [PART...]   runs only those parts (all without one):
#     units     1.
#     commands  2., the commands (backup included)
#     cli validation tui-script secrets
#               2., that test script with pgdrill under valgrind
#   tests/valgrind.sh --parts     lists the parts, one a line
# tests/run.sh runs the parts side by side, as separate items.
#
# Only leaks inside third-party libraries' one-time initialisation may be
# suppressed, in tests/valgrind.supp. Prints one "ok - ..." / "not ok - ..."
# line per binary or command and ends with "N passed, N failed". Logs of
# failures are printed; VALGRIND_KEEP=1 keeps the work directory.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BUILD=${BUILD:-build}
BIN=$TOP/$BUILD/pgdrill
SUPP=$TOP/tests/valgrind.supp
t_start=$(date +%s)

# The parts, in the order they run; the script parts are tests/DIR/NAME.sh.
PARTS=(units commands cli validation tui-script secrets)
script_of() { # PART: its test script under tests/, or nothing
    case $1 in
    cli | validation | secrets) echo "integration/$1" ;;
    tui-script) echo "tui/$1" ;;
    esac
}
if [ "${1:-}" = --parts ]; then
    printf '%s\n' "${PARTS[@]}"
    exit 0
fi
if [ $# -eq 0 ]; then
    set -- "${PARTS[@]}"
fi
for p in "$@"; do
    if ! printf '%s\n' "${PARTS[@]}" | grep -qxF -- "$p"; then
        echo "tests/valgrind.sh: no part $p (the parts: ${PARTS[*]})" >&2
        exit 2
    fi
done
want() { # PART: is it in this run?
    local p
    for p in "${RUN_PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done
    return 1
}
RUN_PARTS=("$@")
# ok, not_ok (tests/tap.sh); fresh_db, sql, db_url; s3_start
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=tests/s3_lib.sh
. tests/s3_lib.sh

# summary: the failed names, the time taken and "N passed, N failed"
summary() {
    local secs
    secs=$(($(date +%s) - t_start))
    if [ ${#TAP_FAILURES[@]} -gt 0 ]; then
        printf 'failed: %s\n' "${TAP_FAILURES[*]}"
    fi
    printf 'valgrind run took %dm%02ds\n' $((secs / 60)) $((secs % 60))
    echo "$TAP_PASSED passed, $TAP_FAILED failed"
    [ "$TAP_FAILED" -eq 0 ]
}

if ! command -v valgrind >/dev/null 2>&1; then
    not_ok "valgrind is installed (apt-get install valgrind)"
    summary
    exit 1
fi
if [ ! -x "$BIN" ]; then
    not_ok "$BIN is built (make test-bins)"
    summary
    exit 1
fi

WORK=$(mktemp -d /tmp/pgdrill-valgrind.XXXXXX)
chmod 0755 "$WORK"
LOGS=$WORK/logs
mkdir -p "$LOGS"
S3_STARTED=
cleanup() {
    [ -n "$S3_STARTED" ] && s3_stop
    tests/services.sh stop "$WORK" >/dev/null 2>&1
    if [ -n "${VALGRIND_KEEP:-}" ]; then
        echo "# work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

VG=(valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
    --error-exitcode=99 --suppressions="$SUPP" --num-callers=30 --trace-children=no)

# Memory errors proper (not leaks), as valgrind starts their reports.
VG_ERROR_RE='^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function)'

# vg_errors TAG: the error reports of every log named TAG.*.log (empty when
# all are clean); returns 1 when no process reached its summary (nothing
# ran). A forked child that exec'd another program (sh, pg_dump) leaves a
# log without a summary: valgrind stops following it at the exec. A process
# killed by a signal (a step child killed by its timeout before its exec)
# is held to memory errors only: it had no chance to free anything, and
# what it "lost" is its copy of the parent's heap.
vg_errors() {
    local f n=0
    for f in "$LOGS/$1".*.log; do
        [ -e "$f" ] || continue
        grep -q 'ERROR SUMMARY: ' "$f" || continue
        n=$((n + 1))
        grep -q 'ERROR SUMMARY: 0 errors' "$f" && continue
        if grep -q 'Process terminating with default action of signal' "$f" &&
            ! grep -qE "$VG_ERROR_RE" "$f"; then
            continue
        fi
        # the reports without valgrind's banner and the reachable-blocks noise
        sed -n '/^==[0-9]*== \(Invalid\|Conditional\|Use of\|Syscall\|Mismatched\|Source and\|Argument\|.*definitely lost in\)/,/^==[0-9]*== $/p;
                /ERROR SUMMARY/p' "$f" | head -60
        echo "(log: $f)"
    done
    [ "$n" -gt 0 ]
}

# ---- services: the test PostgreSQL -----------------------------------------
echo "== starting test services"
if ! svc=$(tests/services.sh start "$WORK"); then
    not_ok "test services start"
    summary
    exit 1
fi
eval "$svc"
export PGDRILL_BIN=$BIN PGDRILL_BUILD=$TOP/$BUILD PGDRILL_TOP=$TOP PGDRILL_TEST_WORK=$WORK

# ---- 1. unit tests ----------------------------------------------------------
want units && echo "== unit tests under valgrind"
for t in "$BUILD"/tests/unit/*_test; do
    want units || break
    [ -x "$t" ] || continue
    name=$(basename "$t")
    t0=$(date +%s)
    out=$(cd "$WORK" && PGDRILL_UNDER_VALGRIND=1 "${VG[@]}" --log-file="$LOGS/unit-$name.%p.log" "$TOP/$t" 2>&1)
    rc=$?
    cases=$(printf '%s\n' "$out" | grep -o '\[  PASSED  \] [0-9]*' | awk '{s+=$4} END {print s+0}')
    errs=$(vg_errors "unit-$name") || errs="valgrind left no log"
    secs=$(($(date +%s) - t0))
    if [ "$rc" = 0 ] && [ -z "$errs" ]; then
        ok "unit $name: $cases cases, valgrind clean (${secs}s)"
    else
        not_ok "unit $name: $cases cases, valgrind clean (${secs}s)" "exit $rc" \
            "$(printf '%s\n' "$out" | grep -E '^\[  (FAILED|ERROR)|^\[   LINE' | head -20)" "$errs"
    fi
done

# ---- 2. pgdrill itself ------------------------------------------------------
[ "${RUN_PARTS[*]}" = units ] || echo "== pgdrill under valgrind"
# The wrapper scripts use as PGDRILL_BIN: each process writes its own log.
WRAP=$WORK/pgdrill-vg
cat >"$WRAP" <<EOF
#!/bin/sh
exec ${VG[*]} --log-file="$LOGS/\${VG_TAG:-wrapped}.%p.log" "$BIN" "\$@"
EOF
chmod +x "$WRAP"

# vg_cmd NAME WANT-EXIT [ENV=VALUE...] -- ARGS...: pgdrill ARGS under
# valgrind (cwd $WORK); passes on exit WANT-EXIT and clean reports. The
# output goes to $LOGS/cmd-NAME.out.
vg_cmd() {
    local name=$1 want=$2 envs=() rc errs tag t0
    shift 2
    while [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    shift
    tag=cmd-$(printf '%s' "$name" | tr -c 'a-zA-Z0-9_-' '_')
    t0=$(date +%s)
    (cd "$WORK" && env "${envs[@]}" VG_TAG="$tag" "$WRAP" "$@") >"$LOGS/$tag.out" 2>&1 </dev/null
    rc=$?
    errs=$(vg_errors "$tag") || errs="valgrind left no log"
    if [ "$rc" = "$want" ] && [ -z "$errs" ]; then
        ok "pgdrill $name: exit $rc, valgrind clean ($(($(date +%s) - t0))s)"
    else
        not_ok "pgdrill $name: exit $rc (want $want), valgrind clean ($(($(date +%s) - t0))s)" \
            "$(tail -15 "$LOGS/$tag.out")" "$errs"
    fi
}

HOMEDIR=$WORK/home
mkdir -p "$HOMEDIR"
export PGDRILL_HOME=$HOMEDIR
unset DATABASE_URL SLACK_WEBHOOK_URL NEON_API_KEY

# run_commands: part 2's commands
run_commands() {
    vg_cmd "--version" 0 -- --version
    vg_cmd "lint runbooks/*.md" 0 -- lint "$TOP"/runbooks/*.md
    vg_cmd "lint of bad runbooks" 2 -- lint "$TOP"/tests/fixtures/runbooks/bad/*.md
    CLEAN=$(fresh_db valgrind_clean clean) || not_ok "fixture database valgrind_clean"
    BROKEN=$(fresh_db valgrind_broken broken) || not_ok "fixture database valgrind_broken"
    vg_cmd "run post-restore-validation (clean copy)" 0 "DATABASE_URL=$CLEAN" -- \
        run post-restore-validation --yes --report-dir "$WORK/reports"
    vg_cmd "run post-restore-validation --json (broken copy)" 1 "DATABASE_URL=$BROKEN" -- \
        run "$TOP/runbooks/post-restore-validation.md" --yes --json
    vg_cmd "check --url (clean copy)" 0 -- check --url "$CLEAN"
    vg_cmd "check against an unreachable database" 3 -- \
        check --url 'postgresql://u:hunter2secret@127.0.0.1:1/none?connect_timeout=2'
    vg_cmd "report list" 0 -- report list
    id=$(basename "$(first_path "$HOMEDIR"/drills/*)")
    vg_cmd "report show $id" 0 -- report show "$id"
    vg_cmd "audit verify" 0 -- audit verify

    # backup needs s3rver behind the signature-checking proxy: node, npm, awscli
    if s3_start "$WORK/s3" testbucket 2>"$WORK/s3start.err"; then
        S3_STARTED=1
        if ! BIG=$(fresh_db valgrind_backup clean) ||
            ! sql "$BIG" "CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS body FROM generate_series(1, 60000) g" \
                >/dev/null; then
            not_ok "fixture database valgrind_backup"
        fi
        vg_cmd "backup (pg_dump -> gzip -> s3 multipart)" 0 "DATABASE_URL=$BIG" \
            PGDRILL_BACKUP_URI=s3://testbucket -- backup --json
        if [ -n "$(s3_aws s3 ls s3://testbucket/weekly/ 2>/dev/null)" ]; then
            ok "backup: the object is in s3 (the valgrind run did its work)"
        else
            not_ok "backup: the object is in s3 (the valgrind run did its work)"
        fi
        vg_cmd "backup with a failing pg_dump" 1 "DATABASE_URL=$(db_url valgrind_no_such_db)" \
            PGDRILL_BACKUP_URI=s3://testbucket -- backup
    else
        not_ok "s3rver for the backup run" "$(cat "$WORK/s3start.err")"
    fi
}
want commands && run_commands

# Test scripts with pgdrill under valgrind: the command line (cli.sh), the
# validation runbook on clean, broken and unreachable databases
# (validation.sh), the TUI (ncurses, the engine on its own thread) through a
# whole scripted drill in tmux (tui-script.sh), and secrets.sh: backup,
# verify and the restore-from-s3 drill against the sandbox Neon server and
# s3rver, headless and in the TUI (the Neon client, S3 restore, error
# paths). The script's own assertions must pass, and every pgdrill process
# it started must have a clean report.
for part in "${RUN_PARTS[@]}"; do
    s=$(script_of "$part")
    [ -n "$s" ] || continue
    t0=$(date +%s)
    tag=script-${s#*/}
    out=$(VG_TAG=$tag PGDRILL_BIN=$WRAP "tests/$s.sh" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    errs=$(vg_errors "$tag") || errs="valgrind left no log"
    n=$(grep -l 'ERROR SUMMARY' "$LOGS/$tag".*.log 2>/dev/null | wc -l)
    if [ "$rc" = 0 ] && [ "$f" = 0 ] && [ -z "$errs" ]; then
        ok "tests/$s.sh with pgdrill under valgrind: $p ok, $n processes clean ($(($(date +%s) - t0))s)"
    else
        not_ok "tests/$s.sh with pgdrill under valgrind: $p ok, $f not ok, $n processes ($(($(date +%s) - t0))s)" \
            "$(printf '%s\n' "$out" | grep -A5 '^not ok' | head -40)" "$errs"
    fi
done

summary
