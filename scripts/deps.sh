#!/bin/sh
# Install the Debian packages pgdrill needs, only those missing.
# Run as root on Debian 12 (CI does); otherwise prints what to install.
set -eu
PKGS="build-essential pkg-config libncurses-dev libpq-dev libcurl4-openssl-dev libcjson-dev
zlib1g-dev libcmark-dev libexpat1-dev libssl-dev libcmocka-dev libmicrohttpd-dev
postgresql postgresql-client tmux awscli python3-botocore python3-yaml python3-psycopg2 pigz util-linux procps time bc
groff-base clang libclang-rt-14-dev clang-tidy cppcheck valgrind shellcheck"
# npm comes with the machine's Node.js; install Debian's only when there is none.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
# gcovr: the per-module table of `make coverage`.
PKGS="$PKGS gcovr"
# chromium, poppler-utils (pdftotext), libxml2-utils (xmllint): the HTML drill
# report rendered headless to a screenshot and a PDF (tests/integration/report_html.sh).
PKGS="$PKGS chromium poppler-utils libxml2-utils"
# prometheus: its promtool checks the metrics file of `pgdrill status --metrics`.
PKGS="$PKGS prometheus"
# zsh: tests/integration/completion.sh completes in zsh with contrib/completion/_pgdrill.
PKGS="$PKGS zsh"
# core/gz: libdeflate writes the gzip members, ISA-L streams any gzip in;
# their tools (libdeflate-gzip, igzip) are the benches' reference lines.
PKGS="$PKGS libdeflate-dev libisal-dev libdeflate-tools isal"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: run 'sudo make deps' (or apt-get install them) and try again" >&2
    exit 2
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
