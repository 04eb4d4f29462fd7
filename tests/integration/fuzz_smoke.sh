#!/bin/bash
# The fuzzing smoke run inside `make check`: build the libFuzzer targets
# (tests/fuzz, into build-fuzz/), replay each target's seed corpus and kept
# regression inputs, then fuzz each for FUZZ_SMOKE_SECONDS (default 10),
# two targets at a time. TAP lines, one per target. Without clang and its
# fuzzer runtime the test fails: `make deps` installs them.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
cd "$TOP" || exit 1
export FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
seconds=${FUZZ_SMOKE_SECONDS:-10}

probe=$(mktemp -d /tmp/pgdrill-fuzz-probe.XXXXXX)
trap 'rm -rf "$probe"' EXIT
if ! command -v clang >/dev/null 2>&1; then
    not_ok "fuzz: clang not found: run 'make deps' (installs clang and libclang-rt-14-dev)"
    exit 1
fi
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
    >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >"$probe/log" 2>&1; then
    not_ok "fuzz: clang cannot link a libFuzzer target: run 'make deps' (libclang-rt-14-dev)"
    sed 's/^/# /' "$probe/log" | head -5
    exit 1
fi
if ! make --no-print-directory -s fuzz-bins >"$probe/build.log" 2>&1; then
    not_ok "fuzz: make fuzz-bins failed"
    sed 's/^/# /' "$probe/build.log" | tail -20
    exit 1
fi
ok "fuzz: targets built in $FUZZ_BUILD/fuzz"
names=()
for f in tests/fuzz/*_fuzz.c; do
    n=${f##*/}
    names+=("${n%_fuzz.c}")
done
FUZZ_JOBS=${FUZZ_JOBS:-2} tests/fuzz/run.sh --tap "$seconds" "${names[@]}"
