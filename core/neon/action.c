#include "neon/action.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "pd_time.h"

#define WAIT_DEFAULT_S 600.0
#define POLL_S         1.0

/* What a call passes to every op besides the client and the attributes. */
struct neon_action_ctx {
    double now; /* wall clock for the point-in-time check */
    neon_progress_fn *progress;
    void *payload;
};

void
neon_action_out_clear(struct neon_action_out *out)
{
    if (out == NULL)
        return;
    free(out->id);
    free(out->name);
    free(out->host);
    free(out->uri);
    free(out->summary);
    for (size_t i = 0; i < out->n_lines; i++)
        free(out->lines[i]);
    free(out->lines);
    memset(out, 0, sizeof(*out));
}

/* Append one display line (owned, from pd_xasprintf) to out->lines. */
static void
add_line(struct neon_action_out *out, char *line)
{
    out->lines = pd_xrealloc(out->lines, (out->n_lines + 1) * sizeof(*out->lines));
    out->lines[out->n_lines++] = line;
}

static const char *
or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static int
need(const char *v, const char *attr, const char *op, struct pd_err *err)
{
    if (v == NULL || v[0] == '\0')
        return PD_ERR_SET(err, PD_EUSAGE, "neon: %s needs %s=", op, attr);
    return 0;
}

static double
wait_s(const struct neon_action_args *a)
{
    return a->timeout_s > 0 ? a->timeout_s : WAIT_DEFAULT_S;
}

static int
wait_ops(struct neon_client *c, const struct neon_action_args *a, const struct neon_result *r,
         const struct neon_action_ctx *x, struct pd_err *err)
{
    return neon_operations_wait(c, r->operations, r->n_operations, wait_s(a), POLL_S, x->progress,
                                x->payload, err);
}

/* The host of the branch's read_write endpoint, owned, or NULL. */
static int
branch_host(struct neon_client *c, const char *branch_id, char **host, char **endpoint_id,
            struct pd_err *err)
{
    struct neon_endpoint *v = NULL;
    size_t n = 0;
    int rc = neon_endpoints_list(c, branch_id, &v, &n, err);

    *host = NULL;
    if (endpoint_id != NULL)
        *endpoint_id = NULL;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (v[i].type != NULL && strcmp(v[i].type, "read_write") == 0) {
            *host = pd_xstrdup(v[i].host);
            if (endpoint_id != NULL)
                *endpoint_id = pd_xstrdup(v[i].id);
            break;
        }
    }
    neon_endpoints_free(v, n);
    return rc;
}

/*
 * A point in time in b's history (the branch the restore reads from) must be
 * inside its window: the project's history retention, and not before b was
 * created (neon_window_start). No call when ts is NULL.
 */
static int
check_point(struct neon_client *c, const struct neon_branch *b, const char *ts, double now,
            struct pd_err *err)
{
    struct neon_project p;
    double created = 0;
    int rc;

    if (ts == NULL)
        return 0;
    rc = neon_project_get(c, &p, err);
    if (rc == 0) {
        if (b->created_at == NULL || pd_time_parse_rfc3339(&created, b->created_at, 0) != 0)
            created = 0;
        rc = neon_check_timestamp(ts, now, p.history_retention_seconds, created,
                                  b->name != NULL ? b->name : b->id, err);
    }
    neon_project_clear(&p);
    return rc;
}

/*
 * Set once the API refused expires_at (early access): later creates of this
 * process leave it out rather than fail and warn again.
 */
static bool expiry_refused_once;

/* expires_at ttl_s after now, to the second as Neon wants it ("…:SSZ"); "" when ttl_s is 0. */
static void
expiry_at(char *buf, size_t size, double now, double ttl_s)
{
    buf[0] = '\0';
    if (ttl_s <= 0 || expiry_refused_once)
        return;
    pd_time_format(buf, size, now + ttl_s); // "YYYY-MM-DDTHH:MM:SS.mmmZ"
    if (strlen(buf) > 20) {
        buf[19] = 'Z';
        buf[20] = '\0';
    }
}

/*
 * Create the branch; when the API refuses expires_at with a 400 that names
 * it, say so once (a warning line and a log line) and create it without.
 */
static int
create_with_expiry(struct neon_client *c, struct neon_branch_create *opts,
                   struct neon_action_out *out, struct neon_result *r, struct pd_err *err)
{
    int rc = neon_branch_create(c, opts, r, err);

    if (rc == 0 || opts->expires_at == NULL || neon_client_last_status(c) != 400 ||
        strstr(err->msg, "expires_at") == NULL)
        return rc;
    add_line(out, pd_xasprintf("warning: the project does not accept expires_at (%s); branches are "
                               "created without an expiry: delete them when done",
                               err->msg));
    pd_log(PD_LOG_WARN, "neon: expires_at refused, branches are created without it: %s", err->msg);
    expiry_refused_once = true;
    opts->expires_at = NULL;
    pd_err_clear(err);
    neon_result_clear(r);
    return neon_branch_create(c, opts, r, err);
}

static void
take_branch(struct neon_action_out *out, struct neon_branch *b)
{
    out->id = b->id;
    out->name = b->name;
    b->id = NULL;
    b->name = NULL;
}

static int
op_branch_create(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch parent = {0};
    struct neon_result r = {0};
    struct neon_branch_create opts = {0};
    char expires[40];
    int rc;

    if (a->endpoint != NULL && strcmp(a->endpoint, "none") != 0)
        return PD_ERR_SET(err, PD_EUSAGE, "neon: branch-create: endpoint= may only be none");
    rc = neon_branch_find(c, a->parent, &parent, err);
    // before any mutating call: a point in time outside the parent's window fails here
    if (rc == 0)
        rc = check_point(c, &parent, a->timestamp, x->now, err);
    if (rc != 0)
        goto out;
    opts.name = a->name;
    opts.parent_id = parent.id;
    opts.parent_timestamp = a->timestamp;
    opts.parent_lsn = a->lsn;
    // endpoint=none: a branch without a compute (endpoint-create adds one later)
    opts.no_endpoint = a->endpoint != NULL && strcmp(a->endpoint, "none") == 0;
    expiry_at(expires, sizeof(expires), x->now, a->ttl_s);
    opts.expires_at = expires[0] != '\0' ? expires : NULL;
    rc = create_with_expiry(c, &opts, out, &r, err);
    if (rc == 0)
        rc = wait_ops(c, a, &r, x, err);
    if (rc != 0)
        goto out;
    take_branch(out, &r.branch);
    for (size_t i = 0; i < r.n_endpoints; i++)
        if (r.endpoints[i].type && strcmp(r.endpoints[i].type, "read_write") == 0)
            out->host = pd_xstrdup(r.endpoints[i].host);
    if (a->database != NULL && a->role != NULL)
        rc = neon_connection_uri(c, &out->uri, out->id, a->database, a->role, err);
    else if (r.n_connection_uris > 0)
        out->uri = pd_xstrdup(r.connection_uris[0]);
    if (rc == 0)
        out->summary = pd_xasprintf("created branch %s (%s) from %s%s%s%s%s", out->name, out->id,
                                    parent.name ? parent.name : parent.id,
                                    a->timestamp ? " at "
                                    : a->lsn     ? " at lsn "
                                                 : " at its head",
                                    a->timestamp ? a->timestamp
                                    : a->lsn     ? a->lsn
                                                 : "",
                                    a->ttl_s <= 0     ? ""
                                    : opts.expires_at ? ", expires at "
                                                      : ", without an expiry",
                                    opts.expires_at ? opts.expires_at : "");
out:
    neon_branch_clear(&parent);
    neon_result_clear(&r);
    return rc;
}

static int
op_branch_restore(struct neon_client *c, const struct neon_action_args *a,
                  const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch target = {0}, source = {0};
    struct neon_result r = {0};
    struct neon_branch_restore opts = {0};
    int rc;

    rc = need(a->branch, "branch", a->op, err);
    if (rc == 0)
        rc = need(a->source, "source", a->op, err);
    if (rc == 0)
        rc = neon_branch_find(c, a->branch, &target, err);
    if (rc == 0)
        rc = neon_branch_find(c, a->source, &source, err);
    if (rc == 0)
        rc = check_point(c, &source, a->timestamp, x->now, err);
    if (rc != 0)
        goto out;
    opts.source_branch_id = source.id;
    opts.source_timestamp = a->timestamp;
    opts.source_lsn = a->lsn;
    opts.preserve_under_name = a->preserve;
    rc = neon_branch_restore(c, target.id, &opts, &r, err);
    if (rc == 0)
        rc = wait_ops(c, a, &r, x, err);
    if (rc != 0)
        goto out;
    take_branch(out, &r.branch);
    out->summary =
        pd_xasprintf("restored branch %s (%s) from %s%s%s%s%s", out->name, out->id,
                     source.name ? source.name : source.id, a->timestamp ? " at " : "",
                     a->timestamp ? a->timestamp : "", a->preserve ? ", old state kept as " : "",
                     a->preserve ? a->preserve : "");
out:
    neon_branch_clear(&target);
    neon_branch_clear(&source);
    neon_result_clear(&r);
    return rc;
}

/*
 * The ops that change one branch (delete, rename, set-default, keep,
 * endpoint-create) share one skeleton, branch_change: branch= is required
 * (a change never falls back to the default branch) and resolved, the op's
 * call makes the change, its operations are waited for, and the op's done
 * says what was done. The state they share:
 */
struct change {
    struct neon_branch b; /* the target, as resolved */
    struct neon_result r; /* what the call returned */
    int gone;             /* branch-delete: it was already gone */
};

typedef int change_call_fn(struct neon_client *c, const struct neon_action_args *a,
                           const struct neon_action_ctx *x, struct change *ch, struct pd_err *err);
typedef void change_done_fn(struct change *ch, struct neon_action_out *out);

static int
branch_change(struct neon_client *c, const struct neon_action_args *a,
              const struct neon_action_ctx *x, change_call_fn *call, change_done_fn *done,
              struct neon_action_out *out, struct pd_err *err)
{
    struct change ch = {0};
    int rc = need(a->branch, "branch", a->op, err);

    if (rc == 0)
        rc = neon_branch_find(c, a->branch, &ch.b, err);
    if (rc == 0)
        rc = call(c, a, x, &ch, err);
    if (rc == 0)
        rc = wait_ops(c, a, &ch.r, x, err);
    if (rc == 0)
        done(&ch, out);
    neon_branch_clear(&ch.b);
    neon_result_clear(&ch.r);
    return rc;
}

/* The branch as the call's answer shows it, else as it was resolved. */
static void
take_changed(struct neon_action_out *out, struct change *ch)
{
    take_branch(out, ch->r.has_branch ? &ch->r.branch : &ch->b);
}

static int
call_delete(struct neon_client *c, const struct neon_action_args *a,
            const struct neon_action_ctx *x, struct change *ch, struct pd_err *err)
{
    (void)a;
    (void)x;
    return neon_branch_delete(c, ch->b.id, &ch->r, &ch->gone, err);
}

static void
done_delete(struct change *ch, struct neon_action_out *out)
{
    take_changed(out, ch);
    out->summary = pd_xasprintf("deleted branch %s (%s)%s", out->name, out->id,
                                ch->gone ? ": it was already gone" : "");
}

static int
call_rename(struct neon_client *c, const struct neon_action_args *a,
            const struct neon_action_ctx *x, struct change *ch, struct pd_err *err)
{
    (void)x;
    return neon_branch_rename(c, ch->b.id, a->name, &ch->r, err);
}

static void
done_rename(struct change *ch, struct neon_action_out *out)
{
    take_changed(out, ch);
    out->summary = pd_xasprintf("renamed branch %s to %s", out->id, out->name);
}

/* The default branch never expires: remove its expiry (and wait), then make it the default. */
static int
call_set_default(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct change *ch, struct pd_err *err)
{
    int rc = 0;

    if (ch->b.expires_at != NULL) {
        struct neon_result u = {0};

        rc = neon_branch_set_expiry(c, ch->b.id, NULL, &u, err);
        if (rc == 0)
            rc = wait_ops(c, a, &u, x, err);
        neon_result_clear(&u);
    }
    if (rc == 0)
        rc = neon_branch_set_default(c, ch->b.id, &ch->r, err);
    return rc;
}

static void
done_set_default(struct change *ch, struct neon_action_out *out)
{
    take_changed(out, ch);
    out->summary = pd_xasprintf("branch %s (%s) is now the default%s", out->name, out->id,
                                ch->b.expires_at ? ", its expiry removed" : "");
}

/*
 * branch-keep: remove the branch's expiry (a branch that becomes what the
 * application uses must not vanish); a branch without one is left alone.
 */
static int
call_keep(struct neon_client *c, const struct neon_action_args *a, const struct neon_action_ctx *x,
          struct change *ch, struct pd_err *err)
{
    (void)a;
    (void)x;
    return ch->b.expires_at != NULL ? neon_branch_set_expiry(c, ch->b.id, NULL, &ch->r, err) : 0;
}

static void
done_keep(struct change *ch, struct neon_action_out *out)
{
    const struct neon_branch *b = &ch->b;

    out->summary = b->expires_at != NULL
                       ? pd_xasprintf("branch %s (%s) no longer expires (it was to expire at %s)",
                                      or_dash(b->name), b->id, b->expires_at)
                       : pd_xasprintf("branch %s (%s) has no expiry: nothing to remove",
                                      or_dash(b->name), b->id);
    take_branch(out, &ch->b);
}

/* endpoint-create: a read_write endpoint on branch= (required: it is a change). */
static int
call_endpoint_create(struct neon_client *c, const struct neon_action_args *a,
                     const struct neon_action_ctx *x, struct change *ch, struct pd_err *err)
{
    (void)a;
    (void)x;
    return neon_endpoint_create(c, ch->b.id, "read_write", &ch->r, err);
}

static void
done_endpoint_create(struct change *ch, struct neon_action_out *out)
{
    out->id = pd_xstrdup(ch->r.endpoint.id);
    out->host = pd_xstrdup(ch->r.endpoint.host);
    out->name = pd_xstrdup(ch->b.name);
    out->summary =
        pd_xasprintf("created read_write endpoint %s on branch %s (%s), host %s", or_dash(out->id),
                     or_dash(ch->b.name), ch->b.id, or_dash(out->host));
}

static int
op_endpoint_start(struct neon_client *c, const struct neon_action_args *a,
                  const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch b = {0};
    struct neon_result r = {0};
    char *ep = NULL, *host = NULL;
    int rc = 0;

    if (a->endpoint != NULL) {
        ep = pd_xstrdup(a->endpoint);
    } else {
        rc = neon_branch_find(c, a->branch, &b, err);
        if (rc == 0)
            rc = branch_host(c, b.id, &host, &ep, err);
        if (rc == 0 && ep == NULL)
            rc = PD_ERR_SET(err, PD_ESERVICE, "neon: branch %s has no read_write endpoint",
                            b.name ? b.name : b.id);
    }
    if (rc == 0)
        rc = neon_endpoint_start(c, ep, &r, err);
    if (rc == 0)
        rc = wait_ops(c, a, &r, x, err);
    if (rc == 0) {
        out->id = pd_xstrdup(r.endpoint.id ? r.endpoint.id : ep);
        out->host = pd_xstrdup(r.endpoint.host ? r.endpoint.host : host);
        out->summary = pd_xasprintf("started endpoint %s", out->id);
    }
    neon_branch_clear(&b);
    neon_result_clear(&r);
    free(ep);
    free(host);
    return rc;
}

/* branch-list: every branch (all pages), one line each; saves the default branch. */
static int
op_branch_list(struct neon_client *c, const struct neon_action_args *a,
               const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch *v = NULL;
    size_t n = 0;
    const struct neon_branch *def = NULL;
    int rc = neon_branches_list(c, &v, &n, err);

    (void)a;
    (void)x;
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        add_line(out,
                 pd_xasprintf("branch %s (%s) %s%s, parent_timestamp %s", or_dash(v[i].name),
                              or_dash(v[i].id), or_dash(v[i].current_state),
                              v[i].is_default ? ", default" : "", or_dash(v[i].parent_timestamp)));
        if (v[i].is_default && def == NULL)
            def = &v[i];
    }
    if (def != NULL) {
        out->id = pd_xstrdup(def->id);
        out->name = pd_xstrdup(def->name);
    }
    out->summary = pd_xasprintf("%zu branch%s, default %s", n, n == 1 ? "" : "es",
                                def != NULL ? or_dash(def->name) : "none");
    neon_branches_free(v, n);
    return 0;
}

/*
 * endpoint-list: the endpoints of branch= (every endpoint of the project
 * without it), one line each; with branch= it saves the branch's read_write
 * endpoint as id and host.
 */
static int
op_endpoint_list(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch b = {0};
    struct neon_endpoint *v = NULL;
    size_t n = 0;
    int rc = 0;

    (void)x;
    if (a->branch != NULL)
        rc = neon_branch_find(c, a->branch, &b, err);
    if (rc == 0)
        rc = neon_endpoints_list(c, b.id, &v, &n, err);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int rw = v[i].type != NULL && strcmp(v[i].type, "read_write") == 0;

        add_line(out, pd_xasprintf("endpoint %s on %s: %s, %s, host %s", or_dash(v[i].id),
                                   or_dash(v[i].branch_id), or_dash(v[i].type),
                                   or_dash(v[i].current_state), or_dash(v[i].host)));
        if (b.id != NULL && rw && out->id == NULL) {
            out->id = pd_xstrdup(v[i].id);
            out->host = pd_xstrdup(v[i].host);
        }
    }
    if (b.id != NULL) {
        out->name = pd_xstrdup(b.name);
        out->summary = pd_xasprintf("%zu endpoint%s on branch %s (%s)", n, n == 1 ? "" : "s",
                                    or_dash(b.name), b.id);
    } else {
        out->summary = pd_xasprintf("%zu endpoint%s in the project", n, n == 1 ? "" : "s");
    }
out:
    neon_endpoints_free(v, n);
    neon_branch_clear(&b);
    return rc;
}

/* database-list and role-list: the branch's (default: the default branch's), one line each. */
static int
db_role_list(struct neon_client *c, const struct neon_action_args *a, bool roles,
             struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch b = {0};
    size_t n = 0;
    int rc = neon_branch_find(c, a->branch, &b, err);

    if (rc != 0)
        goto out;
    if (roles) {
        struct neon_role *v = NULL;

        rc = neon_roles_list(c, b.id, &v, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            add_line(out, pd_xasprintf("role %s", or_dash(v[i].name)));
        neon_roles_free(v, n);
    } else {
        struct neon_database *v = NULL;

        rc = neon_databases_list(c, b.id, &v, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            add_line(out, pd_xasprintf("database %s, owner %s", or_dash(v[i].name),
                                       or_dash(v[i].owner_name)));
        neon_databases_free(v, n);
    }
    if (rc != 0)
        goto out;
    out->summary = pd_xasprintf("%zu %s%s on branch %s (%s)", n, roles ? "role" : "database",
                                n == 1 ? "" : "s", or_dash(b.name), b.id);
    take_branch(out, &b);
out:
    neon_branch_clear(&b);
    return rc;
}

/* The ids in operation= (separated by spaces or commas), as operations to wait for. */
static size_t
parse_op_ids(const char *list, struct neon_operation **ops)
{
    char *copy = pd_xstrdup(list), *save = NULL;
    size_t n = 0;

    *ops = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        *ops = pd_xrealloc(*ops, (n + 1) * sizeof(**ops));
        memset(&(*ops)[n], 0, sizeof(**ops));
        (*ops)[n++].id = pd_xstrdup(t);
    }
    free(copy);
    return n;
}

/*
 * operation-get: the status of each operation, one line each (a failed one
 * is shown, not an error). operations-wait: poll them until every one is
 * terminal, failing on a failed one or at timeout=.
 */
static int
operations(struct neon_client *c, const struct neon_action_args *a, const struct neon_action_ctx *x,
           bool wait, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_operation *ops = NULL;
    size_t n = 0;
    int rc = need(a->operation, "operation", a->op, err);

    if (rc == 0) {
        n = parse_op_ids(a->operation, &ops);
        if (n == 0)
            rc = need(NULL, "operation", a->op, err);
    }
    if (rc == 0 && wait)
        rc = neon_operations_wait(c, ops, n, wait_s(a), POLL_S, x->progress, x->payload, err);
    // the final state of each, for the lines and what the step saves
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct neon_operation o;

        rc = neon_operation_get(c, ops[i].id, &o, err);
        if (rc != 0)
            break;
        add_line(out, pd_xasprintf("operation %s (%s) on branch %s: %s%s%s", or_dash(o.id),
                                   or_dash(o.action), or_dash(o.branch_id), or_dash(o.status),
                                   o.error != NULL && o.error[0] ? ": " : "",
                                   o.error != NULL && o.error[0] ? o.error : ""));
        if (i == n - 1) {
            out->id = pd_xstrdup(o.id);
            out->name = pd_xstrdup(o.status);
            out->summary =
                n == 1 ? pd_xasprintf("operation %s (%s) is %s", or_dash(o.id), or_dash(o.action),
                                      or_dash(o.status))
                       : pd_xasprintf("%zu operations%s", n, wait ? " finished" : " looked up");
        }
        neon_operation_clear(&o);
    }
    for (size_t i = 0; i < n; i++)
        neon_operation_clear(&ops[i]);
    free(ops);
    return rc;
}

/*
 * branch-absent name=GLOB: the leftover audit after a clean-up. Passes when
 * no branch name matches the glob; otherwise fails with PD_ECHECK listing
 * every match, so the operator sees what is still there.
 */
static int
op_branch_absent(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch *v = NULL;
    struct pd_buf left;
    size_t n = 0, found = 0;
    int rc;

    (void)x;
    rc = need(a->name, "name", "branch-absent", err);
    if (rc != 0)
        return rc;
    rc = neon_branches_list(c, &v, &n, err);
    if (rc != 0)
        return rc;
    pd_buf_init(&left, 0);
    for (size_t i = 0; i < n; i++) {
        if (v[i].name == NULL || fnmatch(a->name, v[i].name, 0) != 0)
            continue;
        pd_buf_appendf(&left, NULL, "%s%s (%s)", found ? ", " : "", v[i].name,
                       v[i].id ? v[i].id : "?");
        found++;
    }
    if (found > 0)
        rc = PD_ERR_SET(err, PD_ECHECK, "neon: %zu branch%s left matching '%s': %s", found,
                        found == 1 ? "" : "es", a->name, pd_buf_str(&left));
    else
        out->summary = pd_xasprintf("no branch matches '%s' (%zu branch%s checked)", a->name, n,
                                    n == 1 ? "" : "es");
    pd_buf_free(&left);
    neon_branches_free(v, n);
    return rc;
}

static int
op_branch_delete(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    return branch_change(c, a, x, call_delete, done_delete, out, err);
}

static int
op_branch_rename(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    // branch= is asked for first, as by every change; then the new name
    int rc = a->branch != NULL ? need(a->name, "name", a->op, err) : 0;

    if (rc != 0)
        return rc;
    return branch_change(c, a, x, call_rename, done_rename, out, err);
}

static int
op_branch_set_default(struct neon_client *c, const struct neon_action_args *a,
                      const struct neon_action_ctx *x, struct neon_action_out *out,
                      struct pd_err *err)
{
    return branch_change(c, a, x, call_set_default, done_set_default, out, err);
}

static int
op_database_list(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    (void)x;
    return db_role_list(c, a, false, out, err);
}

static int
op_role_list(struct neon_client *c, const struct neon_action_args *a,
             const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    (void)x;
    return db_role_list(c, a, true, out, err);
}

static int
op_operation_get(struct neon_client *c, const struct neon_action_args *a,
                 const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    return operations(c, a, x, false, out, err);
}

static int
op_operations_wait(struct neon_client *c, const struct neon_action_args *a,
                   const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    return operations(c, a, x, true, out, err);
}

static int
op_project_get(struct neon_client *c, const struct neon_action_args *a,
               const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_project p;
    int rc;

    (void)a;
    (void)x;
    rc = neon_project_get(c, &p, err);
    if (rc == 0) {
        out->id = pd_xstrdup(p.id);
        out->name = pd_xstrdup(p.name);
        out->summary = pd_xasprintf("project %s: postgresql %d, history window %lds", p.id,
                                    p.pg_version, p.history_retention_seconds);
    }
    neon_project_clear(&p);
    return rc;
}

static int
op_branch_get(struct neon_client *c, const struct neon_action_args *a,
              const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch b;
    int rc;

    (void)x;
    rc = neon_branch_find(c, a->branch, &b, err);
    if (rc == 0)
        rc = branch_host(c, b.id, &out->host, NULL, err);
    if (rc == 0) {
        out->summary =
            pd_xasprintf("branch %s (%s) is %s%s%s%s", b.name, b.id,
                         b.current_state ? b.current_state : "in an unknown state",
                         b.is_default ? ", the default" : "", b.expires_at ? ", expires at " : "",
                         b.expires_at ? b.expires_at : "");
        take_branch(out, &b);
    }
    neon_branch_clear(&b);
    return rc;
}

static int
op_branch_keep(struct neon_client *c, const struct neon_action_args *a,
               const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    return branch_change(c, a, x, call_keep, done_keep, out, err);
}

static int
op_endpoint_create(struct neon_client *c, const struct neon_action_args *a,
                   const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    return branch_change(c, a, x, call_endpoint_create, done_endpoint_create, out, err);
}

/*
 * branch-default: the project's default branch as the API marks it
 * (default: true), never a name written in a runbook; saves its id, name
 * and the host of its read_write endpoint. branch= is refused: the op
 * exists to find the branch, not to check one. With timestamp=, the point
 * must be inside the branch's restore window (check_point), so a runbook
 * refuses it before it creates anything.
 */
static int
op_branch_default(struct neon_client *c, const struct neon_action_args *a,
                  const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch b = {0};
    int rc = 0;

    (void)x;
    if (a->branch != NULL)
        return PD_ERR_SET(err, PD_EUSAGE,
                          "neon: branch-default takes no branch= (it finds the default branch)");
    rc = neon_branch_find(c, NULL, &b, err);
    // timestamp=: the restore point must be in its window (checked before any branch exists)
    if (rc == 0)
        rc = check_point(c, &b, a->timestamp, x->now, err);
    if (rc == 0)
        rc = branch_host(c, b.id, &out->host, NULL, err);
    if (rc == 0) {
        out->summary = pd_xasprintf("the default branch is %s (%s), endpoint host %s",
                                    or_dash(b.name), b.id, or_dash(out->host));
        take_branch(out, &b);
    }
    neon_branch_clear(&b);
    return rc;
}

static int
op_connection_uri(struct neon_client *c, const struct neon_action_args *a,
                  const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err)
{
    struct neon_branch b = {0};
    int rc;

    (void)x;
    rc = need(a->database, "database", a->op, err);
    if (rc == 0)
        rc = need(a->role, "role", a->op, err);
    if (rc == 0)
        rc = neon_branch_find(c, a->branch, &b, err);
    if (rc == 0)
        rc = neon_connection_uri(c, &out->uri, b.id, a->database, a->role, err);
    if (rc == 0) {
        char *shown = pd_redact(out->uri);

        out->summary = pd_xasprintf("connection uri of %s: %s", b.name ? b.name : b.id, shown);
        free(shown);
        take_branch(out, &b);
    }
    neon_branch_clear(&b);
    return rc;
}

/* ---- how the plan shows an op (every string non-NULL, "" when absent) ---- */

static void
plan_branch_create(struct pd_buf *b, const struct neon_action_args *a)
{
    pd_buf_appendf(b, NULL, "create branch %s from %s%s%s", *a->name ? a->name : "(named by Neon)",
                   *a->parent ? a->parent : "the default branch", *a->timestamp ? " at " : " (now)",
                   a->timestamp);
}

static void
plan_branch_restore(struct pd_buf *b, const struct neon_action_args *a)
{
    pd_buf_appendf(b, NULL, "restore branch %s from %s%s%s", a->branch,
                   *a->source ? a->source : "itself", *a->timestamp ? " at " : "", a->timestamp);
}

static void
plan_branch_delete(struct pd_buf *b, const struct neon_action_args *a)
{
    pd_buf_appendf(b, NULL, "delete branch %s", a->branch);
}

static void
plan_branch_rename(struct pd_buf *b, const struct neon_action_args *a)
{
    pd_buf_appendf(b, NULL, "rename branch %s to %s", a->branch, a->name);
}

static void
plan_branch_set_default(struct pd_buf *b, const struct neon_action_args *a)
{
    pd_buf_appendf(b, NULL, "make branch %s the default (production)", a->branch);
}

/* Ops the plan shows as "neon OP BRANCH". */
static void
plan_generic(struct pd_buf *b, const struct neon_action_args *a)
{
    pd_buf_appendf(b, NULL, "neon %s%s%s", a->op, *a->branch ? " " : "", a->branch);
}

/*
 * The ops, one row each; the order is the one help texts and lint messages
 * list. Nothing else in the tree names an op's properties.
 */
static const struct neon_action_op op_table[] = {
    /* name, run, plan words, drill guard, mutates, cleanup, creates */
    {"project-get", op_project_get, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"branch-list", op_branch_list, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"branch-get", op_branch_get, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"branch-default", op_branch_default, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"branch-absent", op_branch_absent, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"branch-create", op_branch_create, plan_branch_create, NEON_GUARD_NONE, true, false, true},
    {"branch-delete", op_branch_delete, plan_branch_delete, NEON_GUARD_BRANCH, true, true, false},
    {"branch-rename", op_branch_rename, plan_branch_rename, NEON_GUARD_BRANCH, true, false, false},
    {"branch-restore", op_branch_restore, plan_branch_restore, NEON_GUARD_BRANCH, true, false,
     false},
    {"branch-keep", op_branch_keep, plan_generic, NEON_GUARD_NONE, true, false, false},
    {"branch-set-default", op_branch_set_default, plan_branch_set_default, NEON_GUARD_ALWAYS, true,
     false, false},
    {"endpoint-list", op_endpoint_list, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"endpoint-create", op_endpoint_create, plan_generic, NEON_GUARD_NONE, true, false, false},
    {"endpoint-start", op_endpoint_start, plan_generic, NEON_GUARD_NONE, true, false, false},
    {"database-list", op_database_list, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"role-list", op_role_list, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"connection-uri", op_connection_uri, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"operation-get", op_operation_get, plan_generic, NEON_GUARD_NONE, false, false, false},
    {"operations-wait", op_operations_wait, plan_generic, NEON_GUARD_NONE, false, false, false},
};

#define N_OPS (sizeof(op_table) / sizeof(op_table[0]))

const struct neon_action_op *
neon_action_op_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < N_OPS; i++)
        if (strcmp(op_table[i].name, name) == 0)
            return &op_table[i];
    return NULL;
}

const char *
neon_action_op_names(void)
{
    static char names[512];

    if (names[0] == '\0') {
        for (size_t i = 0; i < N_OPS; i++)
            pd_words_append(names, sizeof(names), op_table[i].name);
    }
    return names;
}

void
neon_action_describe(struct pd_buf *b, const struct neon_action_args *a)
{
    const struct neon_action_op *op = neon_action_op_find(a->op);

    (op != NULL ? op->describe : plan_generic)(b, a);
}

int
neon_action_run(struct neon_client *c, const struct neon_action_args *a, double now,
                neon_progress_fn *progress, void *payload, struct neon_action_out *out,
                struct pd_err *err)
{
    const struct neon_action_ctx x = {.now = now, .progress = progress, .payload = payload};
    const struct neon_action_op *op;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = need(a->op, "op", "step", err);
    if (rc != 0)
        return rc;
    if (a->timestamp != NULL && a->lsn != NULL)
        return PD_ERR_SET(err, PD_EUSAGE, "neon: %s: give timestamp= or lsn=, not both", a->op);
    op = neon_action_op_find(a->op);
    if (op == NULL)
        return PD_ERR_SET(err, PD_EUSAGE, "neon: unknown op %s (one of: %s)", a->op,
                          neon_action_op_names());
    rc = op->run(c, a, &x, out, err);
    if (rc != 0)
        neon_action_out_clear(out);
    return rc;
}
