#!/bin/bash
# The botocore-signed SigV4 cases that tests/unit/s3_sigv4_test.c checks
# must really come from botocore: re-sign them with Debian's python3-botocore
# and compare with the committed fixture. Fails (never skips) when botocore
# is missing.
set -u
TOP=${PGDRILL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/tap.sh
. "$TOP/tests/tap.sh"
FIX=$TOP/tests/fixtures/s3/sigv4-botocore
# Debian's python: a pyenv or venv python3 earlier in PATH may lack botocore
PY=/usr/bin/python3

if ! "$PY" -c 'import botocore' 2>/dev/null; then
    not_ok "botocore fixture: $PY cannot import botocore (install python3-botocore)"
    exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$PY" "$FIX/gen.py" >"$out" && diff -u "$FIX/cases.txt" "$out"; then
    ok "botocore re-signs every case in sigv4-botocore/cases.txt identically"
else
    not_ok "sigv4-botocore/cases.txt differs from what botocore signs now"
    exit 1
fi
done_testing
