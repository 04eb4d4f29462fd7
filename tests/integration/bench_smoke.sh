#!/bin/bash
# The benchmarks at toy sizes inside `make check`, so they cannot rot
# unnoticed: bench/verify once with a 5 MB payload, bench/backup once at a
# ~10 MB plain dump. Nothing is timed against a target here (that is
# `make bench`); the checks are that each bench runs to its end and prints
# real figures: non-zero times, the ratios, pgdrill's phases and RSS.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
W=$(mktemp -d "${PGDRILL_TEST_WORK:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf "$W"' EXIT
export PGDRILL_BIN=${PGDRILL_BIN:-$TOP/build/pgdrill}

# positive NUMBER: a number above zero
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }

"$TOP/bench/verify" --size-mb 5 --runs 1 >"$W/verify.out" 2>&1
rc=$?
p=$(sed -n 's/^ *pgdrill verify (list.*: *\([0-9.]*\)s .*/\1/p' "$W/verify.out")
a=$(sed -n 's/^ *aws s3 cp - | gzip -t (no sha256): *\([0-9.]*\)s .*/\1/p' "$W/verify.out")
r=$(sed -n 's/^ *ratio pgdrill\/aws: \([0-9.]*\)x .*/\1/p' "$W/verify.out")
rss=$(sed -n 's/^ *peak RSS pgdrill: \([0-9]*\) KiB.*/\1/p' "$W/verify.out")
if [ "$rc" -eq 0 ] && positive "$p" && positive "$a" && positive "$r" && positive "$rss"; then
    ok "bench/verify runs: pgdrill ${p}s, aws ${a}s, ratio ${r}, RSS ${rss} KiB"
else
    not_ok "bench/verify runs (exit $rc; pgdrill '$p' s, aws '$a' s, ratio '$r', RSS '$rss')"
    sed 's/^/# /' "$W/verify.out" | tail -15
fi

ls -d /dev/shm/pgdrill-bench-s3.* >"$W/shm.before" 2>/dev/null
BENCH_DIR=$W "$TOP/bench/backup" 10 >"$W/backup.out" 2>"$W/backup.err"
rc=$?
row() { # LABEL: "wall ratio rss" of that table row
    awk -v l="$1" 'index($0, l) == 1 { n = NF; print $(n - 3), $(n - 2), $(n - 1) }' "$W/backup.out"
}
bad=
for label in "pgdrill backup" "seed: pg_dump > f" "pg_dump | gzip | aws" "pg_dump | pigz -p2 | aws" \
    "pg_dump | pigz -p2 > /dev/null"; do
    read -r wall ratio rss <<<"$(row "$label")"
    if ! positive "${wall:-0}" || ! positive "${ratio:-0}" || ! positive "${rss:-0}"; then
        bad="$bad [$label: '${wall:-}' '${ratio:-}' '${rss:-}']"
    fi
done
if [ "$rc" -eq 0 ] && [ -z "$bad" ] && grep -q '^pgdrill phases: dump+gzip+parts [0-9.]* s' "$W/backup.out" &&
    grep -q '^targets: pgdrill/seed <= 0.50 ([0-9.]*), pgdrill/pigz <= 1.10 ([0-9.]*)' "$W/backup.out"; then
    ok "bench/backup runs: every line timed, phases and targets printed"
else
    not_ok "bench/backup runs (exit $rc)$bad"
    sed 's/^/# /' "$W/backup.out" "$W/backup.err" | tail -20
fi
# the bench stops what it started: its S3 store in /dev/shm is gone
if [ "$(cat "$W/shm.before")" = "$(ls -d /dev/shm/pgdrill-bench-s3.* 2>/dev/null)" ]; then
    ok "bench/backup removed its S3 store"
else
    not_ok "bench/backup removed its S3 store: $(ls -d /dev/shm/pgdrill-bench-s3.* 2>/dev/null)"
fi
done_testing
