/*
 * The drill guard: in a runbook with `drill: yes`, a destructive step aimed
 * at the project's default (production) branch is refused before it runs,
 * whatever --yes or the step's on-fail say. A drill exercises the
 * procedure on copies; the branch people depend on must come out of it
 * untouched.
 *
 * Which steps are destructive, and which attribute names their branch,
 * the action's row says (runbook/action.c, guard): a confirm with
 * destructive=yes (its target), and the neon ops whose row in
 * neon/action.c has a guard: those that change or replace their branch=
 * (NEON_GUARD_BRANCH), and those refused whenever the project has a
 * default branch (NEON_GUARD_ALWAYS: moving the default away from
 * production changes production).
 * The target is resolved against the Neon project (an id or a name, as the
 * neon action resolves it). Without a Neon project configured, a confirm
 * target can only be compared with the conventional default name "main".
 *
 * A refusal is recorded three ways: the step's failure (its summary), a
 * drill issue (report issues[]) and an audit entry whose outcome names the
 * refusal, so the attempt is visible to an auditor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "engine/engine.intern.h"
#include "neon/client.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "runbook/action.h"

/* The name Neon gives a project's first (default) branch. */
#define POLICY_DEFAULT_NAME "main"

/*
 * Is name_or_id (NULL: what the neon action takes for "no branch", the
 * default) the project's default branch? *default_name gets the default
 * branch's name (caller owns). A target Neon does not know is not the
 * default: the step itself will fail on it.
 */
static int
is_default_branch(const char *name_or_id, bool neon_step, bool *yes, char **default_name,
                  struct pd_err *err)
{
    struct neon_client *c = NULL;
    struct neon_branch def = {0}, b = {0};
    struct pd_err cerr = {0};
    int rc;

    *yes = false;
    *default_name = NULL;
    if (neon_client_new_from_env(&c, &cerr) != 0) {
        if (neon_step) // the neon step cannot run either: let it say why
            return 0;
        *default_name = pd_xstrdup(POLICY_DEFAULT_NAME);
        *yes = name_or_id != NULL && strcmp(name_or_id, POLICY_DEFAULT_NAME) == 0;
        return 0;
    }
    rc = neon_branch_find(c, NULL, &def, err);
    if (rc != 0) {
        pd_err_prefix(err, "drill guard: cannot find the default branch: ");
        goto out;
    }
    *default_name = pd_xstrdup(def.name ? def.name : def.id);
    if (name_or_id == NULL) {
        *yes = true;
        goto out;
    }
    if ((def.id != NULL && strcmp(name_or_id, def.id) == 0) ||
        (def.name != NULL && strcmp(name_or_id, def.name) == 0)) {
        *yes = true;
        goto out;
    }
    {
        struct pd_err ferr = {0};

        // an id wins over a name, as the action resolves it
        if (neon_branch_find(c, name_or_id, &b, &ferr) == 0)
            *yes = b.is_default != 0;
    }
out:
    neon_branch_clear(&b);
    neon_branch_clear(&def);
    neon_client_free(c);
    return rc;
}

static int
audit_refusal(struct engine *e, const char *op, const char *target, const char *why,
              struct pd_err *err)
{
    struct audit_arg args[3];
    size_t n = 0;
    int rc;

    rc = engine_audit_ensure(e, err);
    if (rc != 0)
        return rc;
    args[n++] = (struct audit_arg){.key = "step", .str = e->step->id ? e->step->id : ""};
    args[n++] = (struct audit_arg){.key = "op", .str = op};
    args[n++] = (struct audit_arg){.key = "branch", .str = target ? target : ""};
    return audit_record(e->audit, e->drill->id, "drill.refused", target ? target : "", args, n, why,
                        err);
}

int
engine_policy_check(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    const struct runbook_action *act = runbook_action(step->action);
    const char *attr, *op;
    char *target = NULL, *default_name = NULL, *shown = NULL, *why = NULL;
    struct runbook_guard g;
    bool hit = false;
    int rc = 0;

    // drill: yes of the runbook, or of the sub-drill's runbook the step belongs to
    if (!runbook_stage_is_drill(e->rb, (size_t)e->si) || step->manual)
        return 0;
    if (act == NULL || act->guard == NULL || !act->guard(step, &g))
        return 0;
    op = g.op;
    attr = runbook_step_attr(step, g.target_attr);
    if (attr != NULL) {
        rc = engine_expand(e, &target, attr, false, err);
        if (rc != 0)
            return rc; // the action would fail the same way
    }
    rc = is_default_branch(target, g.calls_neon, &hit, &default_name, err);
    if (rc != 0)
        goto out;
    if (g.always && default_name != NULL)
        hit = true;
    if (!hit)
        goto out;
    shown = pd_redact(target ? target : default_name);
    why = pd_xasprintf("refused: drill runbooks never change the default branch '%s' (step %s: "
                       "%s %s)",
                       default_name, step->id, op, shown);
    {
        struct drill_event ev = {
            .type = DRILL_EV_ISSUE, .stage = e->si, .step = e->ti, .text = why};

        rc = engine_record(e, &ev, err);
    }
    if (rc == 0)
        rc = engine_output(e, why, err);
    if (rc == 0)
        rc = audit_refusal(e, op, shown, why, err);
    if (rc != 0)
        goto out;
    pd_log(PD_LOG_WARN, "engine: %s", why);
    res->exit_code = 1;
    res->summary = pd_xstrdup(why);
    rc = PD_ERR_SET(err, PD_ECHECK, "%s", why);
out:
    free(why);
    free(shown);
    free(default_name);
    if (target != NULL) {
        memset(target, 0, strlen(target));
        free(target);
    }
    return rc;
}
