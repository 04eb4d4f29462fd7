#!/bin/bash
# Branch expiry: branches pgdrill creates carry expires_at, 24 hours by
# default, PGDRILL_BRANCH_TTL or expires= otherwise, none with expires=none;
# the sandbox deletes a branch when its time has come. A project that
# refuses the field (Neon's early access; the sandbox with
# NEON_SANDBOX_REFUSE_EXPIRES=1) gets one warning and branches without it.
# Every exchange validates against the OpenAPI document.
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

neon_setup expiry
export PGDRILL_HOME=$W/home

cat >"$W/expiry.md" <<'MD'
# Branch expiry

```pgdrill
id: expiry
input: short text default=6s "How long the short-lived branch lives"
```

## Make branches
<!-- pgdrill id=make -->

```neon op=branch-create name=short expires=${short} save=short
```

```neon op=branch-create name=daily save=daily
```

```neon op=branch-create name=kept expires=none save=kept
```
MD
"$PGDRILL_BIN" lint "$W/expiry.md" >"$W/out.lint" 2>&1
is "$?" 0 "lint: expires= takes none, a duration or a variable"

t0=$(date -u +%s)
"$PGDRILL_BIN" run "$W/expiry.md" --yes >"$W/out.run" 2>&1
rc=$?
is "$rc" 0 "a runbook that creates three branches exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.run" | sed 's/^/# /'
unlike "$(cat "$W/out.run")" "warning:" "no warning when the project accepts expires_at"

# expires_at SECONDS-FROM-T0 BRANCH: the branch's expiry is about that far from t0
expiry_near() {
    local want=$1 got
    "$NT" cli action op=branch-get branch="$2" >"$W/out.get.$2" 2>&1
    got=$(sed -n 's/^summary=.*, expires at \(.*\)$/\1/p' "$W/out.get.$2")
    [ -n "$got" ] || return 1
    got=$(date -u -d "$got" +%s) || return 1
    [ $((got - t0 - want)) -ge -5 ] && [ $((got - t0 - want)) -le 30 ]
}
check "daily: expires 24 hours after its creation (the default)" expiry_near 86400 daily
"$NT" cli action op=branch-get branch=kept >"$W/out.kept" 2>&1
unlike "$(field summary "$W/out.kept")" "expires" "kept: expires=none gives a branch without expiry"
like "$(cat "$W/out.run")" "created branch short .*, expires at " "the step says when the branch expires"

# the sandbox deletes the short-lived branch once its time has passed
gone=no
for _ in $(seq 1 60); do
    if ! "$NT" cli action op=branch-get branch=short >/dev/null 2>&1; then
        gone=yes
        break
    fi
    sleep 0.5
done
is "$gone" yes "short: the server deleted the branch when it expired"
clusters_left() { # N: at most N branch clusters remain within 10 s
    local _
    for _ in $(seq 1 100); do
        [ "$(find "$W/state/branches" -mindepth 1 -maxdepth 1 | wc -l)" -le "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
check "and its cluster" clusters_left 2
like "$(cat "$W/sandbox.log")" "expired at .*: deleting it" "the sandbox log says why it deleted it"
"$NT" cli action op=branch-get branch=daily >/dev/null 2>&1
is "$?" 0 "daily: a branch whose time has not come stays"

# PGDRILL_BRANCH_TTL sets the default
t0=$(date -u +%s)
sed -e 's/name=daily/name=daily2/' -e '/name=short/,+1d' -e '/name=kept/,+1d' "$W/expiry.md" >"$W/ttl.md"
PGDRILL_BRANCH_TTL=2h "$PGDRILL_BIN" run "$W/ttl.md" --yes >"$W/out.ttl" 2>&1
is "$?" 0 "PGDRILL_BRANCH_TTL=2h: the run exits 0"
check "daily2: expires 2 hours after its creation" expiry_near 7200 daily2
PGDRILL_BRANCH_TTL=soon "$PGDRILL_BIN" run "$W/ttl.md" --yes >"$W/out.badttl" 2>&1
is "$?" 2 "a bad PGDRILL_BRANCH_TTL is an input error"
like "$(cat "$W/out.badttl")" "neon: bad PGDRILL_BRANCH_TTL 'soon' \(none or a duration such as 24h\)" \
    "and says what it accepts"

# A project that refuses expires_at: one warning, branches without expiry.
stop_sandbox
export NEON_SANDBOX_REFUSE_EXPIRES=1
start_sandbox || { notok "sandbox restart"; sed 's/^/# /' "$W/sandbox.log"; exit 1; }
unset NEON_SANDBOX_REFUSE_EXPIRES
sed -e "s/name=short expires=[^ ]*/name=refused1/" -e 's/name=daily /name=refused2 /' \
    -e '/name=kept/,+1d' "$W/expiry.md" >"$W/refused.md"
"$PGDRILL_BIN" run "$W/refused.md" --yes >"$W/out.refused" 2>&1
rc=$?
is "$rc" 0 "refused: the run goes on and exits 0"
[ "$rc" = 0 ] || tail -30 "$W/out.refused" | sed 's/^/# /'
is "$(grep -c 'warning: the project does not accept expires_at' "$W/out.refused")" 1 \
    "refused: pgdrill says so once"
like "$(cat "$W/out.refused")" "created branch refused1 .*, without an expiry" "refused: the first branch is created without it"
like "$(cat "$W/out.refused")" "created branch refused2 .*, without an expiry" "refused: and the next"
refusals=$(python3 -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) for e in [json.loads(l)]
          if e["method"] == "POST" and e["path"].endswith("/branches") and e.get("status") == 400))' \
    "$CONTRACT_LOG")
is "$refusals" 1 "refused: the field was sent once, then left out"

key_check
contract_check 20
done_testing
