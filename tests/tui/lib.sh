# shellcheck shell=bash
# Helpers for the TUI tests (sourced, not run): each test drives
# `pgdrill tui` inside a private tmux server (its own socket, no user
# config) at a fixed size, types with send-keys and reads the screen with
# capture-pane. TAP lines go to stdout (tests/tap.sh: ok, not_ok, check...).

: "${PGDRILL_BIN:?PGDRILL_BIN is not set}"
: "${PGDRILL_TOP:?PGDRILL_TOP is not set}"
: "${PGDRILL_TEST_WORK:?PGDRILL_TEST_WORK is not set}"

# TAP output (tests/tap.sh) and tmux_kill_server
# shellcheck source=tests/lib.sh
. "$PGDRILL_TOP/tests/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
    bail "tmux is installed (the TUI tests need it)" "apt-get install tmux"
fi

T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_WORK=$PGDRILL_TEST_WORK/$T_NAME
rm -rf "$T_WORK"
mkdir -p "$T_WORK"
T_SOCK=$T_WORK/tmux.sock
# shellcheck disable=SC2034 # the runbooks of the scripts sourcing this
FIXTURES=$PGDRILL_TOP/tests/fixtures/runbooks

t_tmux() {
    tmux -S "$T_SOCK" -f /dev/null "$@"
}

t_cleanup() {
    tmux_kill_server "$T_SOCK"
}
trap t_cleanup EXIT

# t_start COLS ROWS ENV... -- ARGS...: run pgdrill ARGS in a fresh tmux
# session; its exit status goes to $T_WORK/rc and stderr to $T_WORK/stderr.
t_start() {
    local cols=$1 rows=$2
    shift 2
    local envs=()
    while [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    shift
    {
        echo '#!/bin/sh'
        printf 'export PGDRILL_HOME=%q\n' "$T_WORK/home"
        [ ${#envs[@]} -gt 0 ] && printf 'export %q\n' "${envs[@]}"
        printf 'exec 2>%q\n' "$T_WORK/stderr"
        printf '%q ' "$PGDRILL_BIN" "$@"
        echo
        printf 'echo $? >%q\n' "$T_WORK/rc"
        # keep the pane so the last screen can still be captured
        echo 'sleep 600'
    } >"$T_WORK/run.sh"
    chmod +x "$T_WORK/run.sh"
    rm -f "$T_WORK/rc"
    t_tmux new-session -d -s tui -x "$cols" -y "$rows" "$T_WORK/run.sh"
}

t_screen() {
    t_tmux capture-pane -p -t tui
}

# t_screen_escapes: the screen with its colours and attributes (escape sequences)
t_screen_escapes() {
    t_tmux capture-pane -p -e -t tui
}

t_keys() {
    t_tmux send-keys -t tui "$@"
}

# _t_until SECS WHAT TEST [ARG...]: polls the screen (in T_SCR) ten times a
# second until TEST ARG... succeeds: 0; after SECS, 1, with WHAT and the
# screen on stderr.
_t_until() {
    local secs=$1 what=$2 i=0
    shift 2
    while [ "$i" -lt $((secs * 10)) ]; do
        T_SCR=$(t_screen)
        "$@" && return 0
        sleep 0.1
        i=$((i + 1))
    done
    echo "# timed out waiting for$what" >&2
    t_screen | sed 's/^/# /' >&2
    return 1
}

# _t_has GREP-ARG...: the screen polled last matches
_t_has() { grep -q "$@" <<<"$T_SCR"; }

# t_wait TEXT [SECONDS]: wait until the screen shows TEXT; 0 when it does.
t_wait() { _t_until "${2:-15}" ": $1" _t_has -F -- "$1"; }

# t_wait_re REGEX [SECONDS]: like t_wait, for an extended regular expression.
t_wait_re() { _t_until "${2:-15}" " /$1/" _t_has -E -- "$1"; }

# t_answer_until TEXT SECS: wait for TEXT, answering what comes meanwhile:
# a plan is accepted, a confirmation gets the target it names, a failed
# step whose runbook says to retry it (production's first connection after
# an in-place restore) is retried, as its policy says, and a restore's
# closing note is left empty.
t_answer_until() { _t_until "$2" ": $1" _t_answer "$1"; }

# _t_answer TEXT: the polled screen shows TEXT (0), or what it asks is answered
_t_answer() {
    local target
    _t_has -F -- "$1" && return 0
    target=$(grep -oE "Type [^ ]+ to continue\." <<<"$T_SCR" | tail -n 1 | cut -d' ' -f2)
    if [ -n "$target" ]; then
        diag "confirming '$target'"
        t_keys "$target" Enter
    elif _t_has -F "(nothing has changed yet)"; then
        diag "accepting the plan"
        t_keys Enter
    elif _t_has -F "Anything to record about this restore"; then
        diag "leaving the restore's note empty"
        t_keys Enter
    elif _t_has -F "The runbook's policy for this step: retry"; then
        diag "retrying, as the step's policy says"
        t_keys r
    else
        return 1
    fi
    sleep 1
    return 1
}

# t_wait_exit SECONDS: wait for pgdrill to exit; prints its status.
t_wait_exit() {
    local secs=$1 i=0
    while [ "$i" -lt $((secs * 10)) ]; do
        if [ -s "$T_WORK/rc" ]; then
            cat "$T_WORK/rc"
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    echo "timeout"
    return 1
}

# The newest drill directory under the test's PGDRILL_HOME (ids start
# with the time, so the last in name order is the newest).
t_drill_dir() {
    local d
    for d in "$T_WORK"/home/drills/*/; do
        [ -d "$d" ] && echo "${d%/}"
    done | tail -1
}

# The pid of pgdrill running in the tmux pane (a child of the pane's shell).
t_pgdrill_pid() {
    local pane
    pane=$(t_tmux list-panes -t tui -F '#{pane_pid}')
    pgrep -P "$pane" -x "$(basename "$PGDRILL_BIN")"
}

# For drills against the sandbox Neon server (the caller ran neon_setup from
# tests/integration/neon_lib.sh): t_care_commons creates and seeds the
# care_commons database on the primary (cc, psql on it, is neon_lib's) and sets
# DBURL; t_start_drill COLS ROWS RUNBOOK runs `pgdrill tui RUNBOOK` there.
t_care_commons() {
    neon_seed_care_commons
    DBURL=$CARE_URL
}

t_start_drill() {
    t_start "$1" "$2" PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 "DATABASE_URL=$DBURL" \
        "NEON_API_HOST=$NEON_API_HOST" "NEON_API_KEY=$NEON_API_KEY" \
        "NEON_PROJECT_ID=$NEON_PROJECT_ID" -- tui "$3"
}

# t_done: the summary comment; exits 1 when anything failed.
t_done() {
    done_testing
    exit
}
