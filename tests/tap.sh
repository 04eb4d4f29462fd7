# shellcheck shell=bash
# The one TAP library of the shell tests (sourced, not run). tests/lib.sh and
# tests/tui/lib.sh source it; a script that needs nothing else sources it
# alone:
#
#   . "$PGDRILL_TOP/tests/tap.sh"
#
# Result lines are "ok - NAME" / "not ok - NAME": tests/run.sh and CI count
# exactly those. Diagnostics are "# " comments.
#
#   ok NAME                       one passing result
#   not_ok NAME [DIAG...]         one failing result; each DIAG (may be
#                                 several lines) is printed as "#   " lines
#   notok NAME [DIAG...]          the same (the Neon scripts' spelling)
#   diag TEXT...                  a "# " comment line per line of TEXT
#   check NAME CMD...             ok when CMD succeeds; otherwise not_ok with
#                                 CMD's exit status and output; returns 1 then
#   is GOT WANT NAME              ok when the strings are equal
#   like GOT REGEX NAME           ok when GOT matches the extended regex
#   unlike GOT REGEX NAME         ok when it does not
#   done_testing                  prints "# N passed, N failed"; returns 1
#                                 when anything failed (end a script with it)
#   bail NAME MESSAGE             not_ok, done_testing and exit 1: the rest
#                                 of the script is pointless
#
# Counters: TAP_PASSED, TAP_FAILED, and TAP_FAILURES (the failed names).

# Sourced twice (lib.sh and tui/lib.sh in one script): keep the counters.
if [ -n "${TAP_SH_LOADED:-}" ]; then
    return 0
fi
TAP_SH_LOADED=1
TAP_PASSED=0
TAP_FAILED=0
TAP_FAILURES=()

ok() {
    TAP_PASSED=$((TAP_PASSED + 1))
    printf 'ok - %s\n' "$1"
}

not_ok() {
    local name=$1 line
    shift
    TAP_FAILED=$((TAP_FAILED + 1))
    TAP_FAILURES+=("$name")
    printf 'not ok - %s\n' "$name"
    for line in "$@"; do
        printf '%s\n' "$line" | sed 's/^/#   /'
    done
}

notok() { not_ok "$@"; }

diag() {
    printf '%s\n' "$*" | sed 's/^/# /'
}

check() {
    local name=$1 out rc
    shift
    if out=$("$@" 2>&1); then
        ok "$name"
    else
        rc=$?
        not_ok "$name" "command failed (exit $rc): $*" "$out"
        return 1
    fi
}

is() {
    if [ "$1" = "$2" ]; then
        ok "$3"
    else
        not_ok "$3" "got:  '$1'" "want: '$2'"
    fi
}

like() {
    if [[ $1 =~ $2 ]]; then
        ok "$3"
    else
        not_ok "$3" "got:  '$1'" "want match: /$2/"
    fi
}

unlike() {
    if [[ $1 =~ $2 ]]; then
        not_ok "$3" "got:  '$1'" "want no match: /$2/"
    else
        ok "$3"
    fi
}

done_testing() {
    printf '# %d passed, %d failed\n' "$TAP_PASSED" "$TAP_FAILED"
    [ "$TAP_FAILED" -eq 0 ]
}

bail() {
    not_ok "$1" "$2"
    done_testing
    exit 1
}
