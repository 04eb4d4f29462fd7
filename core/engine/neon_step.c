/*
 * The `neon` action: expands the step's attributes, hands them to the Neon
 * action layer (core/neon/action.h), shows its display lines and summary,
 * and saves what it returns under save=PREFIX as PREFIX_id, PREFIX_name,
 * PREFIX_host and PREFIX_uri. The
 * connection URI holds a password: engine_set_var keeps it in memory only
 * and the journal gets its name; a resume asks Neon for it again
 * (engine_neon_refetch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.intern.h"
#include "neon/action.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"

/* Attributes passed through to the action, expanded (no shell quoting). */
static const char *const neon_attrs[] = {
    "op",     "branch",   "parent",   "timestamp", "lsn",  "name",
    "source", "preserve", "endpoint", "database",  "role", "operation",
};

#define N_NEON_ATTRS (sizeof(neon_attrs) / sizeof(neon_attrs[0]))

static void
on_progress(const struct neon_operation *op, double elapsed_s, void *payload)
{
    struct engine *e = payload;
    char line[256];

    snprintf(line, sizeof(line), "operation %s %s: %s (%.1fs)", op->action ? op->action : "?",
             op->id ? op->id : "?", op->status ? op->status : "?", elapsed_s);
    engine_output(e, line, NULL); // a journal failure is kept in e->record_rc
}

/*
 * How long a branch-create's branch lives: expires= (none, or a duration),
 * else PGDRILL_BRANCH_TTL (config key branch_ttl), else 24 hours. 0: no
 * expiry, for a branch meant to become production.
 */
static int
branch_ttl(struct engine *e, double *out, struct pd_err *err)
{
    const char *attr = runbook_step_attr(e->step, "expires");
    const char *env = getenv("PGDRILL_BRANCH_TTL");
    const char *from = attr != NULL ? "expires=" : "PGDRILL_BRANCH_TTL";
    char *v = NULL;
    int secs = 0, rc = 0;

    *out = 0;
    if (attr != NULL)
        rc = engine_expand(e, &v, attr, false, err);
    else
        v = pd_xstrdup(env != NULL && env[0] != '\0' ? env : "24h");
    if (rc == 0 && strcmp(v, "none") != 0) {
        if (runbook_parse_duration(&secs, v) != 0 || secs <= 0)
            rc = PD_ERR_SET(err, PD_EINPUT, "neon: bad %s '%s' (none or a duration such as 24h)",
                            from, v);
        else
            *out = secs;
    }
    free(v);
    return rc;
}

static int
save_result(struct engine *e, const char *prefix, const struct neon_action_out *out,
            struct pd_err *err)
{
    const struct {
        const char *suffix;
        const char *value;
    } vals[] = {{"id", out->id}, {"name", out->name}, {"host", out->host}, {"uri", out->uri}};

    int rc = 0;

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]) && rc == 0; i++) {
        char *name;

        if (vals[i].value == NULL)
            continue;
        name = pd_xasprintf("%s_%s", prefix, vals[i].suffix);
        rc = engine_set_var(e, name, vals[i].value, err);
        free(name);
    }
    return rc;
}

int
engine_run_neon(struct engine *e, struct engine_step_result *res, struct pd_err *err)
{
    const struct runbook_step *step = e->step;
    char *vals[N_NEON_ATTRS] = {0};
    struct neon_action_args args;
    struct neon_action_out out;
    struct neon_client *client = NULL;
    const char *save = runbook_step_attr(step, "save");
    const char *timeout = runbook_step_attr(step, "timeout");
    int rc = 0;

    memset(&args, 0, sizeof(args));
    memset(&out, 0, sizeof(out));
    for (size_t i = 0; i < N_NEON_ATTRS && rc == 0; i++) {
        const char *v = runbook_step_attr(step, neon_attrs[i]);

        if (v != NULL)
            rc = engine_expand(e, &vals[i], v, false, err);
    }
    if (rc != 0)
        goto out;
    args.op = vals[0];
    args.branch = vals[1];
    args.parent = vals[2];
    args.timestamp = vals[3];
    args.lsn = vals[4];
    args.name = vals[5];
    args.source = vals[6];
    args.preserve = vals[7];
    args.endpoint = vals[8];
    args.database = vals[9];
    args.role = vals[10];
    args.operation = vals[11];
    if (timeout != NULL) {
        int secs = 0;

        if (runbook_parse_duration(&secs, timeout) != 0) {
            rc = PD_ERR_SET(err, PD_EINPUT, "neon: bad timeout '%s'", timeout);
            goto out;
        }
        args.timeout_s = secs;
    }
    if (neon_action_op_find(args.op) != NULL && neon_action_op_find(args.op)->creates)
        rc = branch_ttl(e, &args.ttl_s, err);
    if (rc != 0)
        goto out;
    rc = neon_client_new_from_env(&client, err);
    if (rc != 0)
        goto out;
    rc = neon_action_run(client, &args, pd_time_wall(), on_progress, e, &out, err);
    // a restore or promotion may have restarted or moved a database a cached
    // connection points at: the next sql or check step connects afresh
    if (neon_action_op_find(args.op) != NULL && neon_action_op_find(args.op)->mutates)
        engine_conns_reset(e);
    if (rc != 0)
        goto out;
    // a listing's lines first, its summary last (the summary is also the step's result)
    for (size_t i = 0; i < out.n_lines && rc == 0; i++)
        rc = engine_output(e, out.lines[i], err);
    if (rc == 0 && out.summary != NULL)
        rc = engine_output(e, out.summary, err);
    if (rc != 0)
        goto out;
    if (save != NULL)
        rc = save_result(e, save, &out, err);
    if (rc == 0 && out.summary != NULL)
        res->summary = pd_xstrdup(out.summary);
out:
    neon_action_out_clear(&out);
    neon_client_free(client);
    for (size_t i = 0; i < N_NEON_ATTRS; i++)
        free(vals[i]);
    return rc;
}

/*
 * The neon step of stage si that saved variable name (PREFIX_uri under its
 * save=PREFIX, scope.PREFIX_uri in a sub-drill), when the drill passed it;
 * its prefix in *prefix (owned by the caller), else NULL.
 */
static const struct runbook_step *
uri_saver(const struct engine *e, size_t si, const char *name, char **prefix)
{
    const struct runbook_stage *st = &e->rb->stages[si];

    *prefix = NULL;
    for (size_t ti = 0; ti < st->n_steps && si < e->drill->n_stages; ti++) {
        const struct runbook_step *step = &st->steps[ti];
        const char *save = runbook_step_attr(step, "save");
        char *full;
        bool match;

        if (step->action != STEP_NEON || save == NULL || ti >= e->drill->stages[si].n_steps ||
            e->drill->stages[si].steps[ti].status != STEP_PASSED)
            continue;
        full = st->scope != NULL ? pd_xasprintf("%s.%s_uri", st->scope, save)
                                 : pd_xasprintf("%s_uri", save);
        match = strcmp(full, name) == 0;
        free(full);
        if (match) {
            *prefix = pd_xstrdup(save);
            return step;
        }
    }
    return NULL;
}

/*
 * The connection_uri call the step made, for branch id, audited like a step.
 * Returns 0 with *out set, or 0 with *out NULL and why in *why (Neon or the
 * step's attributes did not give it: the operator is asked), or a negative
 * PD_E* when the call cannot be audited (err): the resume stops.
 */
static int
refetch_uri(struct engine *e, const char *branch_id, char **out, struct pd_err *why,
            struct pd_err *err)
{
    struct audit_arg args[] = {
        {.key = "branch", .str = branch_id},
        {.key = "why", .str = "resume"},
    };
    char *db = NULL, *role = NULL, *target = NULL;
    struct neon_client *client = NULL;
    int rc;

    // an action that cannot be audited must not run
    if ((rc = engine_audit_ensure(e, err)) != 0)
        return rc;
    if (engine_expand(e, &db, runbook_step_attr(e->step, "database"), false, why) != 0 ||
        engine_expand(e, &role, runbook_step_attr(e->step, "role"), false, why) != 0 ||
        neon_client_new_from_env(&client, why) != 0)
        goto out;
    if (neon_connection_uri(client, out, branch_id, db, role, why) != 0)
        *out = NULL;
    target = neon_audit_target(getenv("NEON_API_HOST"), getenv("NEON_PROJECT_ID"));
    rc = audit_record(e->audit, e->drill->id, "neon.connection-uri", target, args,
                      sizeof(args) / sizeof(args[0]), *out == NULL ? why->msg : NULL, err);
    if (rc != 0)
        PD_FREE(*out);
out:
    free(target);
    neon_client_free(client);
    free(role);
    free(db);
    return rc;
}

int
engine_neon_refetch(struct engine *e, const char *name, char **out, struct pd_err *err)
{
    const struct runbook_step *step = NULL;
    const struct runbook_stage *stage = NULL;
    const char *saved_scope = e->scope, *id;
    const struct runbook_step *saved_step = e->step;
    char *prefix = NULL, *id_name = NULL, *line = NULL;
    struct pd_err why;
    int rc = 0;

    *out = NULL;
    pd_err_clear(&why);
    for (size_t si = 0; si < e->rb->n_stages && step == NULL; si++) {
        step = uri_saver(e, si, name, &prefix);
        stage = &e->rb->stages[si];
    }
    // a branch-create that took the URI from its own answer, without
    // database= and role=, made no call that can be made again
    if (step == NULL || runbook_step_attr(step, "database") == NULL ||
        runbook_step_attr(step, "role") == NULL)
        goto out;
    e->scope = stage->scope;
    e->step = step;
    id_name = pd_xasprintf("%s_id", prefix);
    id = engine_lookup(e, id_name);
    if (id == NULL || id[0] == '\0')
        goto out;
    if ((rc = refetch_uri(e, id, out, &why, err)) != 0)
        goto out;
    if (*out != NULL) {
        line = pd_xasprintf("%s: fetched again from Neon for branch %s", name, id);
    } else {
        // the branch may be gone (the drill's clean-up ran): the operator
        // can still give the value, so say why and let them be asked
        char *msg = pd_redact(why.msg);

        line = pd_xasprintf("%s: not fetched again from Neon for branch %s: %s", name, id, msg);
        free(msg);
    }
    if (e->ev.output_line != NULL)
        e->ev.output_line(step, line, e->payload);
out:
    free(line);
    e->scope = saved_scope;
    e->step = saved_step;
    free(id_name);
    free(prefix);
    return rc;
}
