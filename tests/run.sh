#!/bin/bash
# The test runner behind `make check`: starts what the tests need (a real
# PostgreSQL 15 on loopback, run as an unprivileged user), runs every unit,
# integration and TUI test, stops what it started, and ends with
# "N passed, N failed".
#
# Unit tests are cmocka binaries in $BUILD/tests/unit; each of their cases
# counts. Integration and TUI tests are scripts in tests/integration and
# tests/tui printing TAP-style "ok - name" / "not ok - name" lines; a script
# that exits non-zero without a "not ok" line counts as one failure. The
# fault matrix (tests/faults) runs the same way and its table is printed.
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
BUILD=${BUILD:-build}
export PGDRILL_BIN="$TOP/$BUILD/pgdrill"
export PGDRILL_BUILD="$TOP/$BUILD"
export PGDRILL_TOP="$TOP"
passed=0
failed=0
failures=()

WORK=$(mktemp -d /tmp/pgdrill-test.XXXXXX)
chmod 0755 "$WORK"
export PGDRILL_TEST_WORK="$WORK"
cleanup() {
    [ -x tests/services.sh ] && tests/services.sh stop "$WORK" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -x tests/services.sh ]; then
    echo "== starting test services"
    # services.sh prints export lines (PGDRILL_TEST_PGURL, ...) on stdout
    if ! svc=$(tests/services.sh start "$WORK"); then
        echo "FATAL: test services did not start" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    eval "$svc"
fi

echo "== unit tests"
for t in "$BUILD"/tests/unit/*_test; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out=$(cd "$WORK" && "$TOP/$t" 2>&1)
    rc=$?
    # cmocka's summary lines may share a line with stdout text: match anywhere
    p=$(printf '%s\n' "$out" | grep -o '\[  PASSED  \] [0-9]*' | awk '{s+=$4} END {print s+0}')
    f=$(printf '%s\n' "$out" | grep -o '\[  FAILED  \] [0-9]*' | awk '{s+=$4} END {print s+0}')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures+=("$name")
        printf '%s\n' "$out" | tail -40
    fi
    printf '  %-32s %3d passed, %d failed\n' "$name" "$p" "$f"
done

# run_script SCRIPT: run it, count its TAP lines (a non-zero exit without a
# "not ok" counts as one failure) and show its tail when something failed
run_script() {
    local s=$1 out rc p f
    out=$("$s" 2>&1)
    rc=$?
    p=$(printf '%s\n' "$out" | grep -c '^ok ')
    f=$(printf '%s\n' "$out" | grep -c '^not ok ')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        failures+=("$(basename "$s")")
        printf '%s\n' "$out" | tail -60
    fi
    printf '  %-32s %3d passed, %d failed\n' "$(basename "$s")" "$p" "$f"
}

run_scripts() {
    local s
    for s in "$1"/*.sh; do
        if [ -x "$s" ]; then run_script "$s"; fi
    done
}

echo "== integration tests"
run_scripts tests/integration
echo "== fault matrix"
run_scripts tests/faults
[ -f "$WORK/fault-table.txt" ] && cat "$WORK/fault-table.txt"
echo "== tui tests"
run_scripts tests/tui

# Static analysis and memcheck need the plain build: valgrind cannot run
# ASan binaries, and `make check-asan` runs this script with BUILD=build-asan.
if [ "$BUILD" = build ] && [ -z "${PGDRILL_NO_ANALYSIS:-}" ]; then
    echo "== analysis (make analyze: cppcheck and clang-tidy)"
    if out=$(make --no-print-directory analyze 2>&1); then
        passed=$((passed + 1))
        echo "  analyze                            1 passed, 0 failed"
    else
        failed=$((failed + 1))
        failures+=(analyze)
        printf '%s\n' "$out" | tail -40
        [ -f "$BUILD/clang-tidy.log" ] && grep -E 'error:|warning:' "$BUILD/clang-tidy.log" | head -40
        echo "  analyze                            0 passed, 1 failed"
    fi
    echo "== valgrind memcheck (tests/valgrind.sh)"
    BUILD=$BUILD run_script tests/valgrind.sh
fi

if [ ${#failures[@]} -gt 0 ]; then
    echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
