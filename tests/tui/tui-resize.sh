#!/bin/bash
# Colours on and off, ASCII symbols in a non-UTF-8 locale, resizing at any
# time (also while a dialog is open), and the help screen compared with its
# expected dump (written through the :dump-screen command).
# shellcheck source=tests/tui/lib.sh
. "$(dirname "$0")/lib.sh"

esc=$(printf '\033')

# 1. colours: the sandbox banner is green
t_start 80 24 PGDRILL_ENVIRONMENT=sandbox LANG=C.UTF-8 LC_ALL=C.UTF-8 -- tui "$FIXTURES/tui-basic.md"
check "colour run shows the banner" t_wait "SANDBOX"
t_screen_escapes | head -1 >"$T_WORK/banner-colour.txt"
check "sandbox banner has a green background" grep -qE "${esc}\[([0-9;]*;)?42m|48;5;2m" \
    "$T_WORK/banner-colour.txt"
t_keys q
check "q asks before stopping the drill" t_wait "Stop the drill now?"
t_keys y
rc=$(t_wait_exit 15)
check "quitting exits 130 (got $rc)" test "$rc" = 130
t_cleanup
rm -rf "${T_WORK:?}/home"

# 2. NO_COLOR and the C locale: no colour at all, ASCII symbols
t_start 80 24 PGDRILL_ENVIRONMENT=sandbox NO_COLOR=1 LANG=C LC_ALL=C -- tui "$FIXTURES/tui-basic.md"
check "NO_COLOR run shows the banner" t_wait "SANDBOX"
check "ASCII running symbol" t_wait "[>] 1. Prepare the sandbox"
check "ASCII separators" t_wait_re "^-- Stage 1/3: Prepare the sandbox \(step [12]/2\) -+$"
check "ASCII passed symbol" t_wait "[+] 1. Prepare the sandbox"
t_screen_escapes >"$T_WORK/nocolor.txt"
check "NO_COLOR: no colour escape sequences" \
    bash -c "! grep -qE '${esc}\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5;[0-9]+|48;5;[0-9]+)m' '$T_WORK/nocolor.txt'"
check "NO_COLOR: the banner is still set off in reverse video" \
    bash -c "head -1 '$T_WORK/nocolor.txt' | grep -qE '${esc}\[([0-9;]*;)?7m'"

# 3. resize while the input dialog is open
check "input prompt appears" t_wait "Type the magic word"
t_tmux resize-window -t tui -x 60 -y 16
check "after shrinking to 60x16 the banner still names the environment" t_wait "SANDBOX" 5
sleep 0.5
t_screen >"$T_WORK/small.txt"
check "after shrinking no line is wider than 60 columns" \
    test "$(awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }' "$T_WORK/small.txt")" -le 60
check "after shrinking the RTO clock is on the banner" grep -qE "^ SANDBOX .*RTO [0-9:]+ / 01:00:00" "$T_WORK/small.txt"
check "after shrinking the dialog is still there" grep -qF "Type the magic word" "$T_WORK/small.txt"
check "after shrinking the status line is on the last row" \
    bash -c "tail -1 '$T_WORK/small.txt' | grep -qF 'q quit'"
t_tmux resize-window -t tui -x 120 -y 40
# wait for the relayout: the separator spans the new width
check "after growing separators span 120 columns" \
    t_wait_re "^-- Stage 2/3: Ask the operator \(step 1/3\) -{78}$" 5
t_screen >"$T_WORK/big.txt"
check "after growing all stages are listed" grep -qF "[ ] 3. Wrap up" "$T_WORK/big.txt"
check "after growing the status line is on row 40" \
    bash -c "sed -n 40p '$T_WORK/big.txt' | grep -qF 'q quit'"
t_tmux resize-window -t tui -x 80 -y 24
sleep 0.3
t_keys "xyzzy" Enter
check "confirmation after resizes" t_wait "Type sandbox-branch to continue."
t_keys "sandbox-branch" Enter
check "note step" t_wait "Anything to remember about this drill?"
t_keys Enter
check "summary" t_wait "Drill summary" 20

# 4. help, dumped through the command line, compared with the expected file
t_keys "?"
check "help screen opens" t_wait "pgdrill help"
t_keys ":"
check "command line opens" t_wait "dump-screen FILE"
t_keys "dump-screen $T_WORK/help.txt" Enter
check "dump-screen reports the file" t_wait "screen written to"
check "help dump matches tests/tui/expected/help-80x24.txt" \
    diff -u "$PGDRILL_TOP/tests/tui/expected/help-80x24.txt" "$T_WORK/help.txt"
t_keys q
check "help closes back to the summary" t_wait "Drill summary"
t_keys q
rc=$(t_wait_exit 15)
check "pgdrill tui exits 0 (got $rc)" test "$rc" = 0
t_done
