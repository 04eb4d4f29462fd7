#!/bin/bash
# An incident runbook's emergency contacts in the TUI: the help (?) lists
# them first, and the failure dialog says who to tell below the error.
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

t_start 100 40 LANG=C.UTF-8 LC_ALL=C.UTF-8 PGDRILL_CONTACT_SECURITY="Site Security, sec@example.com" \
    -- tui "$FIXTURES/contacts-fail.md"
check "failure dialog opens" t_wait "Step failed"
check "the dialog says who to tell" t_wait "Who to tell:"
check "the dialog names the on-call engineer" t_wait "On-call engineer: Runbook On-Call, +1 555 0100"
check "the dialog names the config's security officer" t_wait "Security officer: Site Security, sec@example.com"
t_keys '?'
check "the help opens" t_wait "pgdrill help"
check "the help starts with the emergency contacts" t_wait "Emergency contacts"
check "the help lists the DBA" t_wait_re "Database administrator +Runbook DBA, dba@example.com"
check "the help lists Neon support" t_wait_re "Neon support +support@neon.tech"
t_keys q
check "back at the failure dialog" t_wait "Step failed"
t_keys q
check "summary after stopping" t_wait "Drill summary"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 1 after the failed drill (got $rc)" test "$rc" = 1
done_testing
