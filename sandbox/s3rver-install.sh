#!/bin/bash
# Installs s3rver, pinned by package-lock.json, into DIR/node_modules (DIR:
# default this script's folder, sandbox/) with `npm ci`, only when what is
# there does not match the lock file. One lock per user serialises every
# install: tests run side by side, and `npm ci` first removes node_modules,
# so a second install must never start while another one's s3rver runs.
#
#   sandbox/s3rver-install.sh [DIR]
#
# Exit 0 when DIR/node_modules matches the lock file, 1 when npm ci failed
# (its output on stderr).
set -u
dir=${1:-$(cd "$(dirname "$0")" && pwd)}
[ -f "$dir/package-lock.json" ] || {
    echo "s3rver-install: no package-lock.json in $dir" >&2
    exit 1
}
sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
stamp=$dir/node_modules/.pgdrill-lock-sha256
(
    flock 9
    # checked under the lock: whoever waited finds the install done
    if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2 || exit 1
        echo "$sum" >"$stamp"
    fi
) 9>"${TMPDIR:-/tmp}/pgdrill-npm-ci.$(id -u).lock"
