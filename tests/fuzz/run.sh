#!/bin/bash
# Run libFuzzer targets built by `make fuzz-bins` and report on each.
#
#   tests/fuzz/run.sh [--tap] SECONDS NAME...
#
# For every NAME: replay tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME
# (each input once; a crash there is a regression), then fuzz for SECONDS
# starting from those inputs. New inputs accumulate in $FUZZ_BUILD/work/NAME/corpus
# (kept between runs, never in the repository); crashers land in
# $FUZZ_BUILD/work/NAME/crashes/. FUZZ_JOBS targets run at once (default:
# online CPUs). Prints one line per target: executions, coverage, crashes;
# with --tap the lines are TAP ("ok - fuzz NAME: ..."). Exits 1 when any
# target crashed or failed to run.
set -u
cd "$(dirname "$0")/../.." || exit 1
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
tap=0
if [ "${1:-}" = "--tap" ]; then
    tap=1
    shift
fi
seconds=${1:-}
case $seconds in
'' | *[!0-9]* | 0)
    echo "usage: run.sh [--tap] SECONDS NAME... (SECONDS a positive integer, got '$seconds')" >&2
    exit 2
    ;;
esac
shift
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

# One target, in the background: writes $work/result as
# "status|replayed|execs|secs|cov|ft|corpus|crashes|detail".
run_one() {
    local name=$1 bin=$FUZZ_BUILD/fuzz/$1 work=$FUZZ_BUILD/work/$1 inputs=() f
    local rc execs cov ft corp crashes detail replayed t0 t1

    mkdir -p "$work/corpus" "$work/crashes"
    rm -f "$work/result"
    for f in tests/fuzz/corpus/"$name"/* tests/fuzz/regressions/"$name"/*; do
        [ -f "$f" ] && inputs+=("$f")
    done
    replayed=${#inputs[@]}
    if [ ! -x "$bin" ]; then
        echo "fail|0|0|0|0|0|0|0|$bin not built (make fuzz-bins)" >"$work/result"
        return
    fi
    # Replay: every seed and regression input once, in this process.
    if [ "$replayed" -gt 0 ] && ! "$bin" -rss_limit_mb=2048 -timeout=25 "${inputs[@]}" \
        >"$work/replay.log" 2>&1; then
        detail=$(grep -m1 -E 'ERROR: |runtime error|Running: ' "$work/replay.log" | tail -1)
        f=$(grep 'Running: ' "$work/replay.log" | tail -1 | sed 's/.*Running: //')
        echo "crash|$replayed|0|0|0|0|0|1|replaying $f: ${detail:-see $work/replay.log}" >"$work/result"
        return
    fi
    find "$work/crashes" -mindepth 1 -maxdepth 1 -printf '%f\n' >"$work/crashes.before"
    t0=$(date +%s)
    "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=25 \
        -artifact_prefix="$work/crashes/" "$work/corpus" \
        tests/fuzz/corpus/"$name" tests/fuzz/regressions/"$name" >"$work/fuzz.log" 2>&1
    rc=$?
    t1=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
    cov=$(grep -oE 'cov: [0-9]+' "$work/fuzz.log" | tail -1 | awk '{print $2}')
    ft=$(grep -oE 'ft: [0-9]+' "$work/fuzz.log" | tail -1 | awk '{print $2}')
    corp=$(grep -oE 'corp: [0-9]+' "$work/fuzz.log" | tail -1 | awk '{print $2}')
    crashes=$(find "$work/crashes" -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -cvxF -f "$work/crashes.before")
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        detail=$(grep -m1 -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error|ERROR: LeakSanitizer' \
            "$work/fuzz.log")
        f=$(find "$work/crashes" -mindepth 1 -maxdepth 1 -printf '%T@ %f\n' | sort -rn | head -1 | cut -d' ' -f2-)
        echo "crash|$replayed|${execs:-0}|$((t1 - t0))|${cov:-0}|${ft:-0}|${corp:-0}|$((crashes > 0 ? crashes : 1))|${detail:-exit $rc}${f:+ ($work/crashes/$f)}" \
            >"$work/result"
        return
    fi
    echo "ok|$replayed|${execs:-0}|$((t1 - t0))|${cov:-0}|${ft:-0}|${corp:-0}|0|" >"$work/result"
}

names=("$@")
running=0
for name in "${names[@]}"; do
    run_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

failed=0
for name in "${names[@]}"; do
    IFS='|' read -r status replayed execs secs cov ft corp crashes detail \
        <"$FUZZ_BUILD/work/$name/result" || status=fail
    summary="$execs runs in ${secs}s (cov $cov, ft $ft, corpus $corp; replayed $replayed inputs)"
    if [ "$status" = ok ]; then
        line="fuzz $name: $summary, no crash"
    else
        failed=1
        line="fuzz $name: $summary, $crashes crash(es): $detail"
    fi
    if [ "$tap" -eq 1 ]; then
        [ "$status" = ok ] && echo "ok - $line" || echo "not ok - $line"
    else
        printf '%-4s %s\n' "$([ "$status" = ok ] && echo ok || echo FAIL)" "$line"
    fi
done
exit "$failed"
