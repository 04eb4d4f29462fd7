# shellcheck shell=bash
# The audit log in tests against the S3 proxy and the sandbox Neon server
# (sourced, not run: not executable; needs tests/lib.sh's is/ok, and
# AWS_ENDPOINT_URL_S3 and CONTRACT_LOG as verify_lib.sh and neon_lib.sh set
# them).
#
# audit_show LOG [FROM]  one line per entry from line FROM (1-based, default
#                        1): ACTION TARGET OUTCOME DRILL_ID ARGS, DRILL_ID
#                        and ARGS as JSON (args with sorted keys, no spaces)
# audit_count LOG        the number of entries (0 when there is no log)
# requests_mark          forget the requests so far (S3 proxy log, Neon
#                        contract log)
# requests_since         those sent since requests_mark, one a line:
#                        "s3 METHOD /path?query" or "neon METHOD /path"
# audit_run_full LOG HOME CMD...
#                        run CMD (stderr to stdout) with PGDRILL_HOME=HOME,
#                        whose audit.log is a fresh copy of LOG, under a file
#                        size limit below that copy's size: the next entry
#                        cannot be written (EFBIG, as on a full disk); LOG
#                        must be 1 KiB or more
# audit_refused NAME HOME CMD...
#                        with HOME/audit.log a directory, CMD must exit 1
#                        with "pgdrill: audit log HOME/audit.log: Is a
#                        directory" and send no request (three test lines)

audit_show() {
    python3 - "$1" "${2:-1}" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    lines = f.read().splitlines()[int(sys.argv[2]) - 1:]
for line in lines:
    e = json.loads(line)
    print(e["action"], e["target"], e["outcome"], json.dumps(e["drill_id"]),
          json.dumps(e["args"], sort_keys=True, separators=(",", ":")))
PY
}

audit_count() {
    if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

AUDIT_NEON_MARK=0
requests_mark() {
    curl -sS -X POST "$AWS_ENDPOINT_URL_S3/__pgdrill/clear" >/dev/null
    AUDIT_NEON_MARK=$(wc -l <"$CONTRACT_LOG")
}

requests_since() {
    curl -sS "$AWS_ENDPOINT_URL_S3/__pgdrill/log" | sed -n 's|^\([A-Z]*\) \(/[^_][^ ]*\) .*|s3 \1 \2|p'
    tail -n +"$((AUDIT_NEON_MARK + 1))" "$CONTRACT_LOG" |
        python3 -c 'import json, sys
for line in sys.stdin:
    e = json.loads(line)
    print("neon", e["method"], e["path"])'
}

audit_run_full() {
    local log=$1 home=$2
    shift 2
    mkdir -p "$home"
    cp "$log" "$home/audit.log"
    (
        trap '' XFSZ # ignored across exec: write() fails with EFBIG instead of a signal
        ulimit -f "$(($(stat -c %s "$home/audit.log") / 1024))" # bash counts 1024-byte blocks
        PGDRILL_HOME=$home exec "$@" 2>&1
    )
}

audit_refused() {
    local name=$1 home=$2 out rc
    shift 2
    mkdir -p "$home/audit.log"
    requests_mark
    out=$(PGDRILL_HOME=$home "$@" 2>&1)
    rc=$?
    is "$rc" 1 "$name: exit 1"
    is "$out" "pgdrill: audit log $home/audit.log: Is a directory" "$name: the log and why are named"
    is "$(requests_since)" "" "$name: no request reached S3 or Neon"
}
