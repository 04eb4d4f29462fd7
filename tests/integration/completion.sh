#!/bin/bash
# Shell completion (contrib/completion/): bash with pgdrill.bash sourced,
# driven through COMP_WORDS / COMP_CWORD as bash's `complete -F` would,
# offers the commands (doctor among them), a command's flags and
# sub-commands, the runbook names (shipped, and any in PGDRILL_RUNBOOKS),
# runbook paths and drill ids; zsh with _pgdrill on fpath (compinit), in a
# private tmux server, lists the runbook names and the commands after TAB.
# `make install` puts both files where the shells look.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-${TMPDIR:-/tmp}}/completion.XXXXXX")
SOCK=$W/tmux.sock
trap 'tmux_kill_server "$SOCK"' EXIT
BIN_DIR=$W/bin
mkdir -p "$BIN_DIR" "$W/runbooks" "$W/zsh" "$W/home/drills/20261201-101010-pitr-restore" \
    "$W/home/drills/20261202-111111-quarterly-drill"
ln -s "$PGDRILL_BIN" "$BIN_DIR/pgdrill"
cp "$PGDRILL_TOP"/runbooks/*.md "$W/runbooks/"
cp "$PGDRILL_TOP/runbooks/post-restore-validation.md" "$W/runbooks/team-extra-drill.md"
export LC_ALL=C PATH=$BIN_DIR:$PATH PGDRILL_HOME=$W/home PGDRILL_RUNBOOKS=$W/runbooks

# shellcheck source=contrib/completion/pgdrill.bash
. "$PGDRILL_TOP/contrib/completion/pgdrill.bash"

# offers WORD...: what completing the last WORD offers, sorted, on one line
offers() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _pgdrill
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

is "$(complete -p pgdrill)" "complete -F _pgdrill pgdrill" "bash: the completion is registered"
like "$(offers pgdrill '')" "audit backup check doctor lint report resume run sandbox status timeline tui verify" \
    "bash: every command (doctor included)"
is "$(offers pgdrill re)" "report resume" "bash: commands by prefix"
mkdir -p "$W/empty"
is "$(cd "$W/empty" && offers pgdrill run '')" "$(printf '%s\n' --help --json --notify --plan --push --report-dir --var --vars-from --yes \
    monthly-verification pitr-restore post-restore-validation quarterly-drill restore-from-s3 \
    selective-recovery team-extra-drill training | sort |
    tr '\n' ' ' | sed 's/ $//')" "bash: run offers its flags and every runbook name, the extra one too"
is "$(offers pgdrill tui p)" "pitr-restore post-restore-validation" "bash: runbook names by prefix"
is "$(cd "$PGDRILL_TOP" && offers pgdrill lint runbooks/pi)" "runbooks/pitr-restore.md" "bash: a runbook by its path"
is "$(offers pgdrill report '')" "--html --json --remote list push show" "bash: report's sub-commands"
is "$(offers pgdrill report show 2026)" "20261201-101010-pitr-restore 20261202-111111-quarterly-drill" \
    "bash: report show offers the drill ids"
is "$(offers pgdrill resume 20261201)" "20261201-101010-pitr-restore" "bash: resume offers the drill ids"
is "$(offers pgdrill tui --resume 2026120)" "20261201-101010-pitr-restore 20261202-111111-quarterly-drill" \
    "bash: --resume takes a drill id"
is "$(offers pgdrill backup --cl)" "--class" "bash: a command's flag"
is "$(offers pgdrill backup --class pre)" "pre-migration pre-release" "bash: the values of --class"
like "$(offers pgdrill sandbox '')" "down env grade incident migrate status traffic up" \
    "bash: sandbox's sub-commands"

if ! command -v zsh >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
    not_ok "zsh: zsh and tmux are installed (apt-get install zsh tmux)"
    done_testing
    exit
fi
cat >"$W/.zshrc" <<ZRC
fpath=($PGDRILL_TOP/contrib/completion \$fpath)
autoload -Uz compinit && compinit -u -d $W/zcompdump
PS1='zsh> '
ZRC
tmux -S "$SOCK" -f /dev/null new-session -d -s z -x 160 -y 30 \
    "cd $W/zsh && env PATH=$PATH PGDRILL_HOME=$PGDRILL_HOME PGDRILL_RUNBOOKS=$PGDRILL_RUNBOOKS ZDOTDIR=$W zsh -d -i"
# screen_has TEXT: wait up to 10 s for TEXT on the screen
screen_has() {
    for _ in $(seq 1 100); do
        tmux -S "$SOCK" capture-pane -p -t z | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    return 1
}
check "zsh: the shell starts" screen_has 'zsh>'
tmux -S "$SOCK" send-keys -t z 'pgdrill run p' Tab
check "zsh: run offers the runbook names" screen_has 'post-restore-validation'
check "zsh: both of them" screen_has 'pitr-restore'
tmux -S "$SOCK" send-keys -t z C-u 'pgdrill report show 20261201' Tab
check "zsh: report show completes a drill id" screen_has 'pgdrill report show 20261201-101010-pitr-restore'
tmux -S "$SOCK" send-keys -t z C-u 'pgdrill doc' Tab
check "zsh: commands complete" screen_has 'pgdrill doctor'
[ "${TAP_FAILURES[*]:-}" = "" ] || tmux -S "$SOCK" capture-pane -p -t z | sed 's/^/# /'

done_testing
