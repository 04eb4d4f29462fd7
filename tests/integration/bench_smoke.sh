#!/bin/bash
# The benchmarks at toy sizes inside `make check`, so they cannot rot
# unnoticed: bench/verify once with a 5 MB payload (pgdrill's gzip members:
# also its decompression table against igzip -t and gzip -t), bench/backup once at a
# ~10 MB plain dump, bench/restore once with 5000 rows. Nothing is timed
# against a target here (that is `make bench`); the checks are that each bench runs to its end and prints
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
dl=$(sed -n 's/^ *ratio pgdrill\/download: \([0-9.]*\)x .*/\1/p' "$W/verify.out")
gi=$(sed -n 's/^ *igzip -t (ISA-L): .*ratio pgdrill\/igzip \([0-9.]*\)x$/\1/p' "$W/verify.out")
gz=$(sed -n 's/^ *gzip -t (zlib): .*ratio pgdrill\/gzip \([0-9.]*\)x$/\1/p' "$W/verify.out")
if [ "$rc" -eq 0 ] && positive "$p" && positive "$a" && positive "$r" && positive "$rss" &&
    positive "$dl" && positive "$gi" && positive "$gz" &&
    grep -q '^== decompression of the downloaded object (median of 1; members [0-9]* indexed [1-9]' "$W/verify.out"; then
    ok "bench/verify runs: pgdrill ${p}s, aws ${a}s, ratio ${r}, /download ${dl}, /igzip ${gi}, /gzip ${gz}, RSS ${rss} KiB"
else
    not_ok "bench/verify runs (exit $rc; pgdrill '$p' s, aws '$a' s, ratio '$r', RSS '$rss', /download '$dl', /igzip '$gi', /gzip '$gz')"
    sed 's/^/# /' "$W/verify.out" | tail -15
fi

ls -d /dev/shm/pgdrill-bench-s3.* >"$W/shm.before" 2>/dev/null
BENCH_DIR=$W "$TOP/bench/backup" 10 >"$W/backup.out" 2>"$W/backup.err"
rc=$?
row() { # LABEL: "wall ratio rss cpu" of that table row (its last six columns:
    # wall, ratio, RSS, S3 stack CPU, all CPU, CPU per core)
    awk -v l="$1" 'index($0, l) == 1 { n = NF; print $(n - 5), $(n - 4), $(n - 3), $(n - 1) }' \
        "$W/backup.out"
}
bad=
for label in "pgdrill backup" "seed: pg_dump > f" "pg_dump | gzip | aws" "pg_dump | pigz -p2 | aws" \
    "pg_dump | pigz -p2 > /dev/null" "pg_dump > /dev/null"; do
    read -r wall ratio rss cpu <<<"$(row "$label")"
    if ! positive "${wall:-0}" || ! positive "${ratio:-0}" || ! positive "${rss:-0}" ||
        ! positive "${cpu:-0}"; then
        bad="$bad [$label: '${wall:-}' '${ratio:-}' '${rss:-}' '${cpu:-}']"
    fi
done
if [ "$rc" -eq 0 ] && [ -z "$bad" ] && grep -q '^pgdrill phases: dump+gzip+parts [0-9.]* s' "$W/backup.out" &&
    grep -q '^CPU floor on [0-9]* cores: pgdrill [0-9.]* s' "$W/backup.out" &&
    grep -q '^targets: pgdrill/seed <= 0.50 ([0-9.]*), pgdrill/pigz <= 0.65 ([0-9.]*), pgdrill/dump <= 1.40 ([0-9.]*), size <= gzip -6 ([0-9.]*)' "$W/backup.out"; then
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

BENCH_DIR=$W "$TOP/bench/restore" 5000 >"$W/restore.out" 2>"$W/restore.err"
rc=$?
p=$(sed -n 's/^ *pgdrill rows (COPY + staging, by key) *\([0-9.]*\)s$/\1/p' "$W/restore.out" | tail -1)
d=$(sed -n 's/^ *pg_dump --column-inserts | psql *\([0-9.]*\)s$/\1/p' "$W/restore.out" | tail -1)
r=$(sed -n 's/^ratio pg_dump\/pgdrill: \([0-9.]*\)x (target >= 10)$/\1/p' "$W/restore.out")
if [ "$rc" -eq 0 ] && positive "$p" && positive "$d" && positive "$r"; then
    ok "bench/restore runs: pgdrill ${p}s, pg_dump ${d}s, ratio ${r}, production equal to the branch"
else
    not_ok "bench/restore runs (exit $rc; pgdrill '$p' s, pg_dump '$d' s, ratio '$r')" \
        "$(tail -15 "$W/restore.out" "$W/restore.err")"
fi
done_testing
