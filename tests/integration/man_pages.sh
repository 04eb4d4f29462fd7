#!/bin/bash
# The man pages render cleanly: groff (Debian's groff-base, which man uses)
# formats each one for a UTF-8 terminal without a single warning, and no
# page holds a control character other than tab and newline (a Python
# "\f" once slipped in as a form feed and ate a font change).
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
if ! command -v groff >/dev/null 2>&1; then
    not_ok "man pages: groff not found: run 'make deps' (installs groff-base)"
    exit 1
fi
n=0
for page in "$TOP"/man/*.[1-8]; do
    name=${page##*/}
    n=$((n + 1))
    warnings=$(groff -man -ww -z -Tutf8 "$page" 2>&1)
    if [ -z "$warnings" ]; then
        ok "$name: groff -ww renders it without a warning"
    else
        not_ok "$name: groff -ww warns"
        printf '%s\n' "$warnings" | sed 's/^/# /' | head -10
    fi
    bad=$(grep -nP '[\x00-\x08\x0b-\x1f\x7f]' "$page" | cut -d: -f1 | tr '\n' ' ')
    if [ -z "$bad" ]; then
        ok "$name: no control characters"
    else
        not_ok "$name: control characters on lines $bad"
    fi
done
if [ "$n" -ge 2 ]; then
    ok "man pages found: $n"
else
    not_ok "man pages found: $n (expected pgdrill.1 and pgdrill-runbook.5)"
fi
done_testing
