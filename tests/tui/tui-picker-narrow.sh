#!/bin/bash
# The picker in a narrow terminal (60x20) over the shipped runbooks: a
# title or a use-case cut to fit ends with an ellipsis, so a cut title is
# not read as a whole one.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 60 20 "PGDRILL_RUNBOOKS=$PGDRILL_TOP/runbooks" LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui
check "the picker opens" t_wait "choose a runbook"
check "a cut title ends with an ellipsis" t_wait_re "^  Scenario 1: restore to a point in time.*… +never drilled$"
check "a cut use-case ends with an ellipsis" t_wait_re "^    Recover from accidental deletion or corruption .*…$"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill exits 0 (got $rc)" test "$rc" = 0
t_done
