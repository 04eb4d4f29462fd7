#!/bin/bash
# The test runner behind `make check`: starts what the tests need (a real
# PostgreSQL 15 on loopback, run as an unprivileged user), runs the unit,
# integration, fault-matrix and TUI tests and the analysis, stops what it
# started, and ends with "N passed, N failed" (always the very last line).
#
#   tests/run.sh [GROUP] [PATTERN]
#
#   GROUP     all (the default: what `make check` runs), unit, integration,
#             faults, tui or analysis (make analyze and tests/valgrind.sh,
#             whose parts are items of their own: valgrind.sh:units, ...)
#   PATTERN   runs only the scripts or binaries whose name contains it; it
#             may be a glob: `tests/run.sh integration 'neon_*'`
#
#   tests/run.sh integration neon     the integration scripts named *neon*
#   tests/run.sh unit s3_             the s3_* unit test binaries
#
# Environment:
#   BUILD=build                   the build directory (check-asan: build-asan)
#   PGDRILL_NO_ANALYSIS=1         `all` leaves the analysis group out
#   PGDRILL_TEST_JOBS=N           scripts run N at a time (default: the
#                                 number of CPUs plus one; 1 runs them one by one)
#   PGDRILL_TEST_TIMEOUT=SECONDS  the limit for every script and binary;
#                                 without it 300 s each, 1500 s for
#                                 valgrind.sh's parts and fuzz_smoke.sh, 1800 s for
#                                 make analyze. A script still running at its
#                                 limit is killed and counted as a failure.
#
# Unit tests are cmocka binaries in $BUILD/tests/unit, run one at a time
# first (they share the test database); each of their cases counts. The
# scripts and the analysis then run PGDRILL_TEST_JOBS at a time, the
# analysis first (it takes longest); a result line is printed as each ends.
# Scripts may run side by side: each keeps its files under a directory,
# databases and ports of its own. Integration, fault and TUI tests are
# scripts printing TAP-style "ok - name" / "not ok - name" lines
# (tests/tap.sh); a script that exits non-zero without a "not ok" line
# counts as one failure. Each result line
# ends with the script's time; the ten slowest are listed at the end.
#
# No process may outlive its script: each script runs in a process group of
# its own (GNU timeout's) with PGDRILL_TEST_MARK=<unique value> in its
# environment. When it ends, any process still in that group or carrying the
# mark (a daemon that left the group still inherited the environment) is a
# failure, "not ok - leftover process after NAME: PID CMDLINE", and is
# killed. The services this script starts itself (tests/services.sh) carry
# no mark.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
BUILD=${BUILD:-build}
export BUILD
export PGDRILL_BIN="$TOP/$BUILD/pgdrill"
export PGDRILL_BUILD="$TOP/$BUILD"
export PGDRILL_TOP="$TOP"

usage() {
    echo "usage: tests/run.sh [all|unit|integration|faults|tui|analysis] [PATTERN]"
}
GROUP=${1:-all}
PATTERN=${2:-}
case $GROUP in
all | unit | integration | faults | tui | analysis) ;;
-h | --help)
    usage
    exit 0
    ;;
*)
    usage >&2
    exit 2
    ;;
esac
if [ $# -gt 2 ]; then
    usage >&2
    exit 2
fi
# One more script than CPUs: most scripts wait on servers, sleeps and tmux
# much of their time (make check used 1.1 of 2 cores with 2 at a time)
JOBS=${PGDRILL_TEST_JOBS:-$(($(nproc 2>/dev/null || echo 1) + 1))}
if ! [[ $JOBS =~ ^[1-9][0-9]*$ ]]; then
    echo "tests/run.sh: PGDRILL_TEST_JOBS must be a number of scripts at a time (1 or more)" >&2
    exit 2
fi
if [ -n "${PGDRILL_TEST_TIMEOUT:-}" ] && ! [[ $PGDRILL_TEST_TIMEOUT =~ ^[1-9][0-9]*$ ]]; then
    echo "tests/run.sh: PGDRILL_TEST_TIMEOUT must be a number of seconds" >&2
    exit 2
fi

passed=0
failed=0
failures=()
timings=() # "MILLISECONDS NAME"

WORK=$(mktemp -d /tmp/pgdrill-test.XXXXXX)
chmod 0755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/jobs"
export PGDRILL_TEST_WORK="$WORK"
SERVICES=
cleanup() {
    local f pgid mark
    # interrupted in the middle of scripts: stop what they started
    for f in "$WORK"/jobs/*.running; do
        [ -f "$f" ] || continue
        read -r pgid mark <"$f"
        kill -TERM -- "-$pgid" 2>/dev/null
        reap_marked "$mark" "$pgid" >/dev/null
    done
    [ -n "$SERVICES" ] && tests/services.sh stop "$WORK" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# selected GROUP NAME: is NAME (a script or binary) part of this run?
selected() {
    [ "$GROUP" = all ] || [ "$GROUP" = "$1" ] || return 1
    # PATTERN unquoted on purpose: a glob, and a plain word matches anywhere
    # shellcheck disable=SC2053
    [ -z "$PATTERN" ] || [[ $2 == *$PATTERN* ]]
}

limit_for() { # NAME: its timeout in seconds
    if [ -n "${PGDRILL_TEST_TIMEOUT:-}" ]; then
        echo "$PGDRILL_TEST_TIMEOUT"
        return
    fi
    case $1 in
    analyze) echo 1800 ;;
    valgrind.sh* | fuzz_smoke.sh) echo 1500 ;;
    *) echo 300 ;;
    esac
}

now_ms() { date +%s%3N; }
secs() { printf '%d.%ds' $(($1 / 1000)) $(($1 % 1000 / 100)); } # MS

# marked MARK PGID: "PID" of each process carrying MARK in its environment
# or still in the process group PGID
marked() {
    {
        grep -lzxF -- "PGDRILL_TEST_MARK=$1" /proc/[0-9]*/environ 2>/dev/null |
            sed -n 's#^/proc/\([0-9]*\)/environ$#\1#p'
        pgrep -g "$2" 2>/dev/null
    } | sort -un
}

# reap_marked MARK PGID: prints "PID CMDLINE" of the processes left behind
# and kills them. Exiting ones get two seconds before they count.
reap_marked() {
    local pids p cmd
    for _ in $(seq 1 20); do
        pids=$(marked "$1" "$2")
        [ -z "$pids" ] && return 0
        sleep 0.1
    done
    for p in $pids; do
        cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
        [ -n "$cmd" ] || continue # gone meanwhile, or a zombie
        printf '%s %s\n' "$p" "${cmd% }"
        kill -TERM "$p" 2>/dev/null
    done
    sleep 1
    for p in $(marked "$1" "$2"); do
        kill -KILL "$p" 2>/dev/null
    done
}

# run_item NAME DIR MARK CMD...: runs CMD in DIR under its timeout, in a
# process group of its own with MARK in its environment; sets OUT (its
# output), RC, MS and EXTRA (not ok lines for a timeout and for leftover
# processes, each already counted in EXTRA_FAILED). Writes "PGID MARK" to
# $WORK/jobs/MARK.running while CMD runs, for cleanup after an interrupt.
run_item() {
    local name=$1 dir=$2 mark=$3 limit log t0 pid left running
    shift 3
    limit=$(limit_for "$name")
    log=$WORK/logs/$name.log
    running=$WORK/jobs/$mark.running
    t0=$(now_ms)
    # Output to a file, not a pipe: a process left behind holding the pipe
    # open would block the runner.
    (cd "$dir" && PGDRILL_TEST_MARK=$mark exec timeout -k 10 "$limit" "$@") >"$log" 2>&1 </dev/null &
    pid=$!
    printf '%s %s\n' "$pid" "$mark" >"$running"
    wait "$pid"
    RC=$?
    MS=$(($(now_ms) - t0))
    OUT=$(cat "$log")
    EXTRA=
    EXTRA_FAILED=0
    if { [ "$RC" = 124 ] || [ "$RC" = 137 ]; } && [ "$MS" -ge $((limit * 1000)) ]; then
        EXTRA="not ok - timeout: $name did not finish in ${limit}s (killed)"
        EXTRA_FAILED=1
    fi
    left=$(reap_marked "$mark" "$pid")
    rm -f "$running"
    if [ -n "$left" ]; then
        while IFS= read -r p; do
            EXTRA+="${EXTRA:+$'\n'}not ok - leftover process after $name: $p"
            EXTRA_FAILED=$((EXTRA_FAILED + 1))
        done <<<"$left"
    fi
}

# result NAME P F: counts and prints one result line, with EXTRA and the
# output's tail when something failed
result() {
    local name=$1 p=$2 f=$3 tail_n=${4:-60}
    f=$((f + EXTRA_FAILED))
    passed=$((passed + p))
    failed=$((failed + f))
    timings+=("$MS $name")
    if [ "$f" -ne 0 ]; then
        failures+=("$name")
        printf '%s\n' "$OUT" | tail -"$tail_n"
        [ -n "$EXTRA" ] && printf '%s\n' "$EXTRA"
    fi
    printf '  %-32s %3d passed, %d failed %8s\n' "$name" "$p" "$f" "$(secs "$MS")"
}

# tally GROUP PATH: counts what the item just run (OUT, RC, EXTRA_FAILED)
# passed and failed, the way its kind reports, and prints its result line.
tally() {
    local g=$1 path=$2 name p f
    name=$(basename "$path")
    case $g in
    unit)
        # cmocka's summary lines may share a line with stdout text: match anywhere
        p=$(printf '%s\n' "$OUT" | grep -o '\[  PASSED  \] [0-9]*' | awk '{s+=$4} END {print s+0}')
        f=$(printf '%s\n' "$OUT" | grep -o '\[  FAILED  \] [0-9]*' | awk '{s+=$4} END {print s+0}')
        if [ "$RC" -ne 0 ] && [ "$f" -eq 0 ] && [ "$EXTRA_FAILED" -eq 0 ]; then f=1; fi
        result "$name" "$p" "$f" 40
        ;;
    analysis)
        if [ "$path" = analyze ]; then
            if [ "$RC" -eq 0 ]; then p=1 f=0; else p=0 f=1; fi
            if [ $((f + EXTRA_FAILED)) -ne 0 ] && [ -f "$BUILD/clang-tidy.log" ]; then
                OUT+=$'\n'$(grep -E 'error:|warning:' "$BUILD/clang-tidy.log" | head -40)
            fi
            result analyze "$p" "$f" 80
        else
            tally script "$path"
        fi
        ;;
    *)
        # TAP: a non-zero exit without a "not ok" line counts as one failure
        p=$(printf '%s\n' "$OUT" | grep -c '^ok ')
        f=$(printf '%s\n' "$OUT" | grep -c '^not ok ')
        if [ "$RC" -ne 0 ] && [ "$f" -eq 0 ] && [ "$EXTRA_FAILED" -eq 0 ]; then f=1; fi
        result "$name" "$p" "$f"
        ;;
    esac
}

# run_plan_item IDX: runs plan item IDX in the foreground (sets OUT, RC, MS,
# EXTRA, EXTRA_FAILED)
run_plan_item() {
    local g=${plan[$1]%% *} path=${plan[$1]#* } name mark
    name=$(basename "$path")
    mark="$$.$1.$name"
    case $g in
    unit) run_item "$name" "$WORK" "$mark" "$TOP/$path" ;;
    analysis)
        if [ "$path" = analyze ]; then
            run_item analyze "$TOP" "$mark" make --no-print-directory analyze
        elif [[ $path == *:* ]]; then # a part of a script: SCRIPT:PART
            run_item "$name" "$TOP" "$mark" "$TOP/${path%%:*}" "${path#*:}"
        else
            run_item "$name" "$TOP" "$mark" "$TOP/$path"
        fi
        ;;
    *) run_item "$name" "$TOP" "$mark" "$TOP/$path" ;;
    esac
}

# start_job IDX: runs plan item IDX in the background; its outcome goes to
# $WORK/jobs/IDX.result (RC MS EXTRA_FAILED, then the EXTRA lines)
start_job() {
    (
        run_plan_item "$1"
        {
            printf '%s %s %s\n' "$RC" "$MS" "$EXTRA_FAILED"
            [ -n "$EXTRA" ] && printf '%s\n' "$EXTRA"
        } >"$WORK/jobs/$1.result.tmp"
        mv "$WORK/jobs/$1.result.tmp" "$WORK/jobs/$1.result"
    ) &
    job_idx[$!]=$1
}

# finish_job IDX: reads what start_job left and tallies it
finish_job() {
    local r=$WORK/jobs/$1.result name
    name=$(basename "${plan[$1]#* }")
    if [ -f "$r" ]; then
        read -r RC MS EXTRA_FAILED <"$r"
        EXTRA=$(tail -n +2 "$r")
    else
        RC=1 MS=0 EXTRA_FAILED=1 EXTRA="not ok - $name: the runner lost its result"
    fi
    OUT=$(cat "$WORK/logs/$name.log" 2>/dev/null)
    tally "${plan[$1]%% *}" "${plan[$1]#* }"
}

# What this run holds, in order: "GROUP PATH" lines.
plan=()
for t in "$BUILD"/tests/unit/*_test; do
    [ -x "$t" ] && selected unit "$(basename "$t")" && plan+=("unit $t")
done
for g in integration faults tui; do
    for s in tests/"$g"/*.sh; do
        [ -x "$s" ] && selected "$g" "$(basename "$s")" && plan+=("$g $s")
    done
done
if [ "$GROUP" = analysis ] || { [ "$GROUP" = all ] && [ -z "${PGDRILL_NO_ANALYSIS:-}" ]; }; then
    # Static analysis and memcheck need the plain build: valgrind cannot run
    # ASan binaries, and `make check-asan` runs this script with BUILD=build-asan.
    if [ "$BUILD" = build ]; then
        selected analysis analyze && plan+=("analysis analyze")
        # valgrind.sh's parts run side by side, each an item of its own
        for part in $(tests/valgrind.sh --parts); do
            selected analysis "valgrind.sh:$part" && plan+=("analysis tests/valgrind.sh:$part")
        done
    elif [ "$GROUP" = analysis ]; then
        echo "tests/run.sh: the analysis group needs BUILD=build (not $BUILD)" >&2
    fi
fi
if [ ${#plan[@]} -eq 0 ]; then
    echo "tests/run.sh: nothing matches group $GROUP${PATTERN:+ and pattern $PATTERN}" >&2
    echo "0 passed, 0 failed"
    exit 1
fi

# The services, unless only the analysis group runs (valgrind.sh starts its own).
if printf '%s\n' "${plan[@]}" | grep -qv '^analysis '; then
    echo "== starting test services"
    # services.sh prints export lines (PGDRILL_TEST_PGURL, ...) on stdout
    if ! svc=$(tests/services.sh start "$WORK"); then
        echo "FATAL: test services did not start" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    SERVICES=1
    eval "$svc"
fi


# What runs when: unit binaries one at a time first (they share the test
# database), then every script and the analysis $JOBS at a time, longest
# first as far as known (the analysis, then the order of the plan), then the
# fault matrix's table, which reads what the fault scripts wrote.
serial=()
first=()
rest=()
tail_items=()
for i in "${!plan[@]}"; do
    case ${plan[$i]} in
    unit\ *) serial+=("$i") ;;
    "faults tests/faults/zz_table.sh") tail_items+=("$i") ;;
    analysis\ *) first+=("$i") ;;
    *) rest+=("$i") ;;
    esac
done
pool=("${first[@]}" "${rest[@]}")

if [ ${#serial[@]} -gt 0 ]; then
    echo "== unit tests"
    for i in "${serial[@]}"; do
        run_plan_item "$i"
        tally unit "${plan[$i]#* }"
    done
fi

if [ ${#pool[@]} -gt 0 ]; then
    # s3rver, once, before scripts that need it start side by side (a bench
    # script starts it without installing it)
    if ! sandbox/s3rver-install.sh; then
        echo "tests/run.sh: sandbox/s3rver-install.sh failed: the S3 tests will fail" >&2
    fi
    groups=$(for i in "${pool[@]}"; do echo "${plan[$i]%% *}"; done | sort -u | tr '\n' ' ')
    echo "== ${groups% } (${#pool[@]} scripts, $JOBS at a time, in the order they end)"
    declare -A job_idx=()
    next=0
    while [ "$next" -lt ${#pool[@]} ] || [ ${#job_idx[@]} -gt 0 ]; do
        while [ "$next" -lt ${#pool[@]} ] && [ ${#job_idx[@]} -lt "$JOBS" ]; do
            start_job "${pool[$next]}"
            next=$((next + 1))
        done
        done_pid=
        wait -n -p done_pid "${!job_idx[@]}"
        [ -n "$done_pid" ] || continue
        idx=${job_idx[$done_pid]}
        unset "job_idx[$done_pid]"
        finish_job "$idx"
    done
fi

for i in "${tail_items[@]}"; do
    run_plan_item "$i"
    tally "${plan[$i]%% *}" "${plan[$i]#* }"
done
if [ -f "$WORK/fault-table.txt" ]; then
    echo "== fault matrix"
    cat "$WORK/fault-table.txt"
fi

echo "== slowest"
printf '%s\n' "${timings[@]}" | sort -rn | head -10 | while read -r ms name; do
    printf '  %-32s %8s\n' "$name" "$(secs "$ms")"
done
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
