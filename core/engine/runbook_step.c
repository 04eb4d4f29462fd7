/*
 * engine: the runbook action, a sub-drill. The child runbook's stages were
 * moved into this runbook by the parser, right after this step's stage
 * (runbook/include.c), so the engine runs them as its own: one journal,
 * one report, resume inside the child, its always stages after its
 * failure. What is left to this step is to give the child its inputs, in
 * the child's scope (its variables are "STAGE-ID.name", vars.c): the
 * body's NAME=VALUE lines, expanded in the parent's variables, then for
 * each header input the body leaves out what `pgdrill run CHILD` would do
 * in this mode: its default, or the operator's answer, or headless a
 * failure naming the input.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.intern.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"

/* One line of the body: the value checked against the child's header input, if it is one. */
static int
give(struct engine *e, const struct runbook *child, const char *name, const char *value,
     struct pd_err *err)
{
    const struct runbook_input *in = runbook_find_input(child, name);
    struct pd_err verr = {0};
    char *shown;
    int rc;

    if (in != NULL && in->required && value[0] == '\0')
        return PD_ERR_SET(err, PD_EINPUT,
                          "runbook %s: input '%s' needs a value: the step's body gives it an "
                          "empty one",
                          child->id, name);
    if (in != NULL && value[0] != '\0' &&
        engine_validate(value, in->type, (const char *const *)in->choices, in->n_choices, NULL,
                        &verr) != 0)
        return PD_ERR_SET(err, PD_EINPUT, "runbook %s: input %s: %s", child->id, name, verr.msg);
    rc = engine_set_var(e, name, value, err);
    if (rc != 0)
        return rc;
    shown = pd_redact(value);
    {
        char *line = pd_xasprintf("%s = %s", name, shown);

        rc = engine_output(e, line, err);
        free(line);
    }
    free(shown);
    return rc;
}

/* A header input of the child the body left out: its default, or asked as run alone. */
static int
give_missing(struct engine *e, const struct runbook *child, const struct runbook_input *in,
             struct pd_err *err)
{
    struct engine_prompt p = engine_input_prompt(in);
    char *value = NULL;
    int rc;

    p.stage = e->stage;
    p.step = e->step;
    if (in->required && in->default_value == NULL && e->ev.prompt_needed == NULL)
        return PD_ERR_SET(err, PD_EINPUT,
                          "runbook %s: input '%s' needs a value: add a line %s=VALUE to the "
                          "step's body",
                          child->id, in->name, in->name);
    rc = engine_obtain_input(e, &p, NULL, in->required, &value, err);
    if (rc == 0)
        rc = give(e, child, in->name, value, err);
    free(value);
    return rc;
}

int
engine_run_runbook(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook *child = e->step->child;
    const char *parent_scope = e->scope, *cur;
    char *body = NULL, *name = NULL, *value = NULL;
    int line = -1, r, rc = 0;
    size_t n = 0;

    if (child == NULL)
        return PD_ERR_SET(err, PD_EBUG, "runbook: '%s' was not loaded",
                          runbook_step_attr(e->step, "name"));
    // the raw body is split first and each value expanded alone (in the parent's
    // scope): a value can never add a line, and an error quotes the line as written
    cur = e->step->body;
    while (rc == 0 && (r = runbook_assign_next(&cur, &line, &name, &value)) != 0) {
        e->scope = parent_scope;
        if (r < 0)
            rc = PD_ERR_SET(err, PD_EINPUT, "runbook: bad line '%s' (expected NAME=VALUE)", name);
        else if ((rc = engine_expand(e, &body, value, false, err)) == 0 &&
                 strchr(body, '\n') != NULL)
            rc = PD_ERR_SET(err, PD_EINPUT, "runbook %s: input %s: its value holds a line break",
                            child->id, name);
        // from here on, the child's variables: its stages' scope is this step's stage id
        e->scope = e->stage->id;
        if (rc == 0)
            rc = give(e, child, name, body, err);
        PD_FREE(name);
        PD_FREE(value);
        PD_FREE(body);
    }
    e->scope = e->stage->id;
    for (size_t i = 0; rc == 0 && i < child->n_inputs; i++)
        if (engine_opt_var(e, child->inputs[i].name) == NULL)
            rc = give_missing(e, child, &child->inputs[i], err);
    for (size_t si = 0; si < e->rb->n_stages; si++)
        n += e->rb->stages[si].scope != NULL && strcmp(e->rb->stages[si].scope, e->scope) == 0;
    if (rc == 0)
        res->summary =
            pd_xasprintf("runbook %s: its %zu stages follow, under %s", child->id, n, e->stage->id);
    e->scope = parent_scope;
    free(body);
    return rc;
}
