/*
 * The `neon` action: expands the step's attributes, hands them to the Neon
 * action layer (core/neon/action.h), shows its display lines and summary,
 * and saves what it returns under save=PREFIX as PREFIX_id, PREFIX_name,
 * PREFIX_host and PREFIX_uri. The
 * connection URI holds a password: engine_set_var keeps it in memory only
 * and the journal gets its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.intern.h"
#include "neon/action.h"
#include "pd_err.h"
#include "pd_mem.h"
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
