# shellcheck shell=bash
# Shared helpers of the fault matrix (tests/faults/*.sh; sourced, not run).
#
# Every fault is one row of the table `fault | expected | observed` and one
# TAP line. A row is a list of facts, each a label for the expected column
# and, for the observed column, what was really seen:
#
#   fact_exit WANT RC              "exit WANT" / "exit RC"
#   fact LABEL CMD...              LABEL when CMD succeeds, else "NOT LABEL"
#   fact_msg LABEL FILE REGEX      LABEL plus the matching line (shortened),
#                                  else "NOT LABEL: <first line of FILE>"
#   fault_row NAME                 writes the row and prints ok/not ok
#
# Rows go to $FAULT_TABLE (tab separated, one file for the whole run); the
# last script (zz_table.sh) renders them into $FAULT_TABLE_TXT, which
# tests/run.sh prints. A row passes when every fact holds.
: "${PGDRILL_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"

FAULT_TABLE=${PGDRILL_TEST_WORK:-/tmp}/fault-table.tsv
# shellcheck disable=SC2034 # zz_table.sh renders the table into it
FAULT_TABLE_TXT=${PGDRILL_TEST_WORK:-/tmp}/fault-table.txt
F_EXP=()
F_OBS=()
F_BAD=0
F_DIAG=()

_short() { # TEXT: one line, at most 90 characters
    local s=${1//$'\n'/ }
    s=${s//$'\t'/ }
    [ ${#s} -gt 90 ] && s="${s:0:87}..."
    printf '%s' "$s"
}

fact_exit() {
    F_EXP+=("exit $1")
    F_OBS+=("exit $2")
    [ "$1" = "$2" ] || F_BAD=1
}

fact() {
    local label=$1
    shift
    F_EXP+=("$label")
    if "$@" >/dev/null 2>&1; then
        F_OBS+=("$label")
    else
        F_OBS+=("NOT $label")
        F_BAD=1
        F_DIAG+=("failed: $*")
    fi
}

fact_msg() {
    local label=$1 file=$2 re=$3 line
    F_EXP+=("$label")
    line=$(grep -E -m1 -e "$re" "$file" 2>/dev/null)
    if [ -n "$line" ]; then
        F_OBS+=("\"$(_short "$line")\"")
    else
        F_OBS+=("NOT $label: \"$(_short "$(grep -v '^$' "$file" 2>/dev/null | head -3)")\"")
        F_BAD=1
        F_DIAG+=("want /$re/ in $file:" "$(tail -20 "$file" 2>/dev/null)")
    fi
}

_join() {
    local IFS=$'\x1f' s
    s="$*"
    printf '%s' "${s//$'\x1f'/; }"
}

fault_row() {
    local name=$1 exp obs
    exp=$(_join "${F_EXP[@]}")
    obs=$(_join "${F_OBS[@]}")
    printf '%s\t%s\t%s\t%s\n' "$name" "$exp" "$obs" "$([ "$F_BAD" = 0 ] && echo ok || echo FAIL)" \
        >>"$FAULT_TABLE"
    if [ "$F_BAD" = 0 ]; then
        ok "fault: $name"
    else
        not_ok "fault: $name" "expected: $exp" "observed: $obs" "${F_DIAG[@]}"
    fi
    F_EXP=()
    F_OBS=()
    F_DIAG=()
    F_BAD=0
}

# no_temp_files DIR...: nothing that looks like a temporary file under DIR
no_temp_files() {
    [ -z "$(find "$@" \( -name '*.partial' -o -name '*.tmp' -o -name '.*.tmp' -o -name '*.part' \) 2>/dev/null)" ]
}
