#!/bin/bash
# Emergency contacts (pgdrill-runbook(5) contact:, the config's contact.ROLE):
# a failing incident runbook prints who to tell, the config and
# PGDRILL_CONTACT_<ROLE> name or replace a role's person; the report of a
# PGDRILL_ENVIRONMENT=PRODUCTION drill lists them (report.json contacts[],
# report.md "Who to tell"), a sandbox drill's report does not; a runbook
# without contacts prints none; lint names an unknown role; the shipped
# Scenarios 1-3 declare them.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"

W=$(mktemp -d "${PGDRILL_TEST_WORK:-${TMPDIR:-/tmp}}/contacts.XXXXXX")
RB=$PGDRILL_TOP/tests/fixtures/runbooks/contacts-fail.md
mkdir -p "$W/xdg/pgdrill"
printf 'contact.dba = Site DBA, +1 555 0199\ncontact.security = Site Security, sec@example.com\n' \
    >"$W/xdg/pgdrill/config"
for v in $(env | sed -n 's/^\(PGDRILL_CONTACT_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
unset PGDRILL_ENVIRONMENT

# run_rb HOME RUNBOOK [VAR=VALUE...]: a headless run; stderr in $ERR, exit code in $RC
run_rb() {
    local home=$1 rb=$2
    shift 2
    ERR=$(env PGDRILL_HOME="$home" XDG_CONFIG_HOME="$W/xdg" "$@" "$PGDRILL_BIN" run "$rb" --yes 2>&1 >/dev/null)
    RC=$?
}

run_rb "$W/h1" "$RB" PGDRILL_CONTACT_ON_CALL="Env On-Call, +1 555 0111"
is "$RC" 1 "contacts: the incident runbook fails"
is "$(sed -n '/^who to tell:$/,$p' <<<"$ERR" | grep '^  ')" \
    "  On-call engineer       Env On-Call, +1 555 0111
  Database administrator Site DBA, +1 555 0199
  Security officer       Site Security, sec@example.com
  Neon support           support@neon.tech" \
    "contacts: who to tell, in role order; PGDRILL_CONTACT_ and the config win over the runbook"
J=$(last_path "$W"/h1/drills/*/report.json)
is "$(json_eval "$J" '"contacts" in d')" false "contacts: a sandbox drill's report lists none"

run_rb "$W/h2" "$RB" PGDRILL_ENVIRONMENT=PRODUCTION
J=$(last_path "$W"/h2/drills/*/report.json)
is "$(json_eval "$J" '[(c["role"], c["contact"]) for c in d["contacts"]]')" \
    '[["on-call", "Runbook On-Call, +1 555 0100"], ["dba", "Site DBA, +1 555 0199"], ["security", "Site Security, sec@example.com"], ["neon-support", "support@neon.tech"]]' \
    "contacts: a PRODUCTION report lists who was to be told"
is "$(json_get "$J" 'contacts.0.label')" "On-call engineer" "contacts: with the role's label"
like "$(cat "${J%.json}.md")" "## Who to tell

- \*\*On-call engineer\*\*: Runbook On-Call, \+1 555 0100
- \*\*Database administrator\*\*: Site DBA, \+1 555 0199" "contacts: report.md has them"

run_rb "$W/h3" "$PGDRILL_TOP/tests/fixtures/runbooks/hint-fail.md" PGDRILL_ENVIRONMENT=PRODUCTION
is "$RC" 1 "contacts: a runbook without contacts fails too"
unlike "$ERR" "who to tell" "contacts: and names nobody"
J=$(last_path "$W"/h3/drills/*/report.json)
is "$(json_eval "$J" '"contacts" in d')" false "contacts: nor does its report"

sed 's/^contact: dba/contact: janitor/' "$RB" >"$W/bad.md"
like "$("$PGDRILL_BIN" lint "$W/bad.md")" "bad.md:9:10: unknown contact role 'janitor' \(on-call, dba, security" \
    "contacts: lint names an unknown role"
for r in pitr-restore restore-from-s3 selective-recovery; do
    like "$(grep '^contact: ' "$PGDRILL_TOP/runbooks/$r.md" | cut -d' ' -f2 | tr '\n' ' ')" \
        "^on-call dba security neon-support aws-support $" "contacts: $r names the procedures' contacts"
done

done_testing
