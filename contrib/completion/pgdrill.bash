# shellcheck shell=bash
# bash completion for pgdrill: commands, their sub-commands and flags,
# runbook names and drill ids. The words come from pgdrill itself
# (`pgdrill __complete ...`, which reads each command's --help), so they
# follow the program. `make install` puts this file in
# $PREFIX/share/bash-completion/completions/pgdrill; or source it.

# _pgdrill_words PROG ARGS...: the lines of `PROG __complete ARGS...`
_pgdrill_words() {
    local prog=$1
    shift
    "$prog" __complete "$@" 2>/dev/null
}

_pgdrill() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prog=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]:-} sub="" words="" w
    COMPREPLY=()
    if [ "$COMP_CWORD" -eq 1 ]; then
        words="$(_pgdrill_words "$prog" commands) --help --version"
        mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
        return 0
    fi
    case $prev in
    --report-dir | --keep-local | --path)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return 0
        ;;
    --resume)
        mapfile -t COMPREPLY < <(compgen -W "$(_pgdrill_words "$prog" drills)" -- "$cur")
        return 0
        ;;
    --class)
        mapfile -t COMPREPLY < <(compgen -W "weekly pre-migration pre-release" -- "$cur")
        return 0
        ;;
    --var | --url | --uri | --count | --max-age | --min-size | --retention-days | --visits | \
        --incident | --margin | --days)
        return 0 # a value of the user's
        ;;
    esac
    # a word after the command that is one of its sub-commands ("report show")
    words=$(_pgdrill_words "$prog" words "$cmd")
    for w in "${COMP_WORDS[@]:2:COMP_CWORD-2}"; do
        case $w in -*) continue ;; esac
        if grep -qxF -- "$w" <<<"$words"; then
            sub=$w
            break
        fi
    done
    if [ -n "$sub" ]; then
        words=$(_pgdrill_words "$prog" words "$cmd" "$sub" | grep -- '^-')
        case $cmd in report) [ "$sub" = list ] || words="$words $(_pgdrill_words "$prog" drills)" ;; esac
    else
        case $cmd in
        run | tui | lint) words="$words $(_pgdrill_words "$prog" runbooks)" ;;
        resume) words="$words $(_pgdrill_words "$prog" drills)" ;;
        esac
    fi
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
    case $cmd in
    run | tui | lint) # or a runbook by its path
        case $cur in -*) ;; *) mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X '!*.md' -- "$cur"; compgen -d -- "$cur") ;; esac
        ;;
    esac
    return 0
}

complete -F _pgdrill pgdrill
