# shellcheck shell=bash
# The restore runbooks end to end in the incident world (sourced, not run:
# not executable). incident_modes_BRANCH.sh runs the first three cases,
# incident_scenarios_BRANCH.sh the others, each on a sandbox of its own whose
# default branch is named BRANCH (main, production): a writer behaves like the
# application the whole time, and for each incident the matching runbook
# runs headless to a restore point just before it; every row is then checked
# against the ground truth (world_lib.sh):
#
#   delete a day range   pitr-restore B, copy_mode=missing
#   corrupt a column     pitr-restore B, copy_mode=revert
#   both at once         pitr-restore B, copy_mode=undo, incident_end
#   delete a day range   selective-recovery, scope range, copy_mode=missing
#   both at once         selective-recovery, scope table, copy_mode=undo
#   delete clients       pitr-restore B for visits (the preview names the
#   (visits cascade)     missing parents, or the parents come first), then
#                        for clients and visits
#   delete clients       pitr-restore A-in-place: the default branch, in place
#   both at once         pitr-restore A: the recovery branch becomes BRANCH
#
# Every drill leaves no branch of its own behind, and the application's next
# inserts succeed.
#
# shellcheck source=tests/integration/world_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/world_lib.sh"

PITR=pitr-restore.md
SELECTIVE=selective-recovery.md

# report_text: what the operator and the report saw of the case's last drill
report_text() {
    cat "$C/out.run"
    if [ -n "${WORLD_REPORT:-}" ]; then
        cat "${WORLD_REPORT%.json}.md" "$WORLD_REPORT" 2>/dev/null
    fi
}

# says_count WORD N NAME: a line of the output or report holds WORD and the
# number N as a word of its own
says_count() {
    if report_text | grep -iE -- "$1" | grep -qwE -- "$2"; then
        ok "$3"
    else
        not_ok "$3" "no line with /$1/ and the number $2 in the output or the report" \
            "$(report_text | grep -iE -- "$1" | head -n 5)"
    fi
}

# lists_keys NAME WORD KEY...: each KEY is, as a number of its own, on a line
# of the output or report that holds WORD
lists_keys() {
    local name=$1 word=$2 k missing=()
    shift 2
    for k in "$@"; do
        report_text | grep -iE -- "$word" | grep -qw -- "$k" || missing+=("$k")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        ok "$name ($*)"
    else
        not_ok "$name" "not on a line with /$word/ in the output or report: ${missing[*]}"
    fi
}

# lists_changed_keys NAME: the output or report lists keys of the changed
# rows ("changed ...: N (keys: K K K)"), each one the incident or the writer
# changed: the preview counts the writer's edits among the rows revert puts
# back (it cannot tell them apart: the count includes them, says_count)
lists_changed_keys() {
    local keys bad
    keys=$(report_text | sed -n 's/.*changed[^:]*: [0-9][0-9]* (keys: \([0-9 ,]*\)).*/\1/p' | tr -s ', ' '\n' | grep . | sort -u)
    if [ -z "$keys" ]; then
        not_ok "$1: the report lists keys of the changed rows" "no 'changed ...: N (keys: ...)' line"
        return
    fi
    bad=$(comm -23 <(printf '%s\n' "$keys") <(json_eval "$C/facts.json" \
        '"\n".join(str(k) for k in d["visits"]["changed_keys"])' | sort))
    is "$bad" "" "$1: the report lists keys of the changed rows, each one changed since T0 ($(tr '\n' ' ' <<<"$keys"))"
}

# run_passed NAME: the drill exited 0 and its report says passed
run_passed() {
    is "$WORLD_RC" 0 "$1: pgdrill run exits 0"
    is "$(json_get "${WORLD_REPORT:-/nonexistent}" outcome 2>/dev/null)" passed "$1: report outcome passed"
}

# no_drill_branch NAME: only the default branch and kept backups are left;
# a branch left behind is deleted, so that the next case starts clean
no_drill_branch() {
    local left b
    left=$(wpy branches | awk '{print $1}' | grep -E '^(recovery|temp-recovery|incident|restore)-' || true)
    is "$left" "" "$1: no branch of the drill is left behind"
    for b in $left; do
        wpy delete-branch "$b" || diag "could not delete $b"
    done
}

incident_b_missing() {
    world_case b-missing
    world_restore_point
    world_incident delete-range
    world_run "$PITR" --var "target_time=$T0" --var outcome_option=B --var table=visits \
        --var copy_mode=missing
    run_passed "B missing"
    world_verify missing visits
    says_count missing "$(world_fact visits.deleted)" "B missing: the preview counts the rows missing from production"
    says_count changed "$(world_fact visits.changed_since_restore_point)" \
        "B missing: the report says how many changed rows were left"
    no_drill_branch "B missing"
    world_next_inserts
}

incident_b_revert() {
    local edited
    world_case b-revert
    world_restore_point
    world_incident corrupt
    world_run "$PITR" --var "target_time=$T0" --var outcome_option=B --var table=visits \
        --var copy_mode=revert
    run_passed "B revert"
    world_verify revert visits
    says_count changed "$(world_fact visits.changed_since_restore_point)" \
        "B revert: the preview counts the changed rows, the writer's edits included"
    edited=$(world_fact visits.writer_edited | tr -d '[],')
    # shellcheck disable=SC2086 # the keys, one word each
    check "B revert: the application edited rows the incident did not touch ($edited)" \
        [ -n "$(comm -23 <(printf '%s\n' $edited | sort) \
            <(json_eval "$C/incident.json" '"\n".join(str(i) for i in d["changed"]["visits"])' | sort))" ]
    lists_changed_keys "B revert"
    no_drill_branch "B revert"
    world_next_inserts
}

incident_b_undo() {
    local conflicts
    world_case b-undo
    world_restore_point
    world_incident both
    world_run "$PITR" --var "target_time=$T0" --var outcome_option=B --var table=visits \
        --var copy_mode=undo --var "incident_end=$T1"
    run_passed "B undo"
    world_verify undo visits
    conflicts=$(world_fact visits.conflicts | tr -d '[],')
    # shellcheck disable=SC2086
    says_count conflict "$(set -- $conflicts && echo $#)" "B undo: the report counts the conflicts"
    # the writer's random edits may add conflicts; the report lists a few
    # keys: the two it made on purpose are the lowest
    # shellcheck disable=SC2086
    lists_keys "B undo: the report lists the conflicting rows" conflict $WORLD_CONFLICTS
    no_drill_branch "B undo"
    world_next_inserts
}

incident_selective() {
    world_case selective
    world_restore_point
    world_incident delete-range
    world_run "$SELECTIVE" --var "target_time=$T0" --var scope=range --var table=visits \
        --var "range_start=$RANGE_START" --var "range_end=$RANGE_END" --var copy_mode=missing
    run_passed "selective"
    world_verify missing visits
    no_drill_branch "selective"
    world_next_inserts
}

incident_selective_undo() {
    world_case selective-undo
    world_restore_point
    world_incident both
    world_run "$SELECTIVE" --var "target_time=$T0" --var scope=table --var table=visits \
        --var copy_mode=undo --var "incident_end=$T1"
    run_passed "selective undo"
    world_verify undo visits
    # shellcheck disable=SC2086
    lists_keys "selective undo: the report lists the conflicting rows" conflict $WORLD_CONFLICTS
    no_drill_branch "selective undo"
    world_next_inserts
}

incident_cascade_b() {
    world_case cascade-b
    world_restore_point
    world_incident cascade
    world_run "$PITR" --var "target_time=$T0" --var outcome_option=B --var table=visits \
        --var copy_mode=missing
    grep -q 'violates foreign key constraint' "$C/out.run"
    is "$?" 1 "B of visits whose clients are gone: never a foreign-key error half-way"
    if [ "$WORLD_RC" = 0 ] && ! grep -qi 'clients' "$C/out.run"; then
        not_ok "B of visits: the preview names the missing parent table (clients)"
    else
        says_count clients "$(json_eval "$C/incident.json" 'len(d["deleted"]["clients"])')" \
            "B of visits: the preview names the parent table and how many parents are missing"
    fi
    no_drill_branch "B of visits"
    if [ "$WORLD_RC" != 0 ]; then
        # the operator restores the parents first, then the visits
        world_run "$PITR" --var "target_time=$T0" --var outcome_option=B --var table=clients \
            --var copy_mode=missing
        run_passed "B clients"
        world_run "$PITR" --var "target_time=$T0" --var outcome_option=B --var table=visits \
            --var copy_mode=missing
        run_passed "B visits after clients"
    fi
    world_verify missing clients visits
    no_drill_branch "B clients, then visits"
    world_next_inserts
}

incident_a_in_place() {
    local branch=$1 before after from phase
    world_case a-in-place
    before=$(wpy default-uri care_commons pgdrill 2>&1)
    world_restore_point
    world_incident cascade
    from=$(world_writer_mark)
    world_run "$PITR" --var "target_time=$T0" --var outcome_option=A-in-place
    run_passed "A-in-place"
    is "$(world_default_branch)" "$branch" "A-in-place: the default branch is still $branch"
    after=$(wpy default-uri care_commons pgdrill 2>&1)
    is "${after#*@}" "${before#*@}" "A-in-place: its connection string did not change"
    like "$(wpy branches | awk '{print $1}' | tr '\n' ' ')" '-backup-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}' \
        "A-in-place: the old state is kept under a *-backup-YYYY-MM-DD-HHMM branch"
    world_verify whole
    phase=$(world_writer_phase "$from")
    check "A-in-place: the application lost its connection and reconnected" \
        [ "$(json_eval <(printf '%s' "$phase") 'd["reconnects"]')" -ge 1 ]
    no_drill_branch "A-in-place"
    world_next_inserts
}

incident_a() {
    local branch=$1 url
    world_case a
    world_restore_point
    world_incident both
    world_run "$PITR" --var "target_time=$T0" --var outcome_option=A
    run_passed "A"
    is "$(world_default_branch)" "$branch" "A: the restored branch is now the default, named $branch"
    like "$(wpy branches | awk '{print $1}' | tr '\n' ' ')" "${branch}-backup-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{4}" \
        "A: the old $branch is kept as ${branch}-backup-…"
    # In Vercel the operator points the application at the new branch.
    url=$(wpy default-uri care_commons pgdrill 2>&1) || url=$DATABASE_URL
    world_writer_retarget "$url"
    WORLD_URL=$url world_verify whole
    DATABASE_URL=$url
    world_next_inserts
    like "$(world_writer_phase "$WORLD_MARK")" '"retargets": 1' \
        "A: the application moved to the new production"
}

# incident_world BRANCH CASE...: one sandbox whose default branch is BRANCH,
# the writer, and the CASEs (b_missing, b_revert, b_undo, selective,
# cascade_b, a_in_place, a) in turn
incident_world() {
    local branch=$1 c start
    shift
    if [ "$branch" = main ]; then world_up; else world_up "$branch"; fi
    is "$(world_default_branch)" "$branch" "the sandbox's default branch is named $branch"
    world_writer_start
    sleep 1
    for c in "$@"; do
        start=$SECONDS
        "incident_$c" "$branch"
        diag "case $c took $((SECONDS - start)) s"
    done
    world_writer_stop
}
