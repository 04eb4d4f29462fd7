/*
 * neon action: one `neon` runbook step (op= and its attributes) carried out
 * with the client, independent of the engine that calls it.
 *
 * It resolves branch names the way neonctl does (an id, a name, or the
 * default branch when none is given), checks a point in time against the
 * restore window of the branch it reads from (the project's history
 * retention, and not before that branch was created) before any mutating
 * call, waits for every operation the call started, and returns the values a step saves under
 * save=PREFIX as PREFIX_id, PREFIX_name, PREFIX_host and PREFIX_uri
 * (the neon row in runbook/action.c). A connection URI carries a password: it is
 * registered with pd_redact before it is returned, so only its masked form
 * can be shown.
 *
 * A branch-create with ttl_s sends expires_at (now + ttl_s, to the second).
 * When the API answers 400 naming expires_at (the feature is early access),
 * the branch is created again without it, the step shows one warning line,
 * and no later create of this process sends it. branch-set-default removes
 * the expiry of the branch it promotes first: production never expires.
 *
 * The ops are the rows of one table in action.c (neon_action_op_find,
 * neon_action_op_names); branch-absent passes when no branch name matches
 * the glob name=. A listing returns one display line per item in
 * out->lines besides its summary.
 */
#ifndef PD_NEON_ACTION_H
#define PD_NEON_ACTION_H

#include <stdbool.h>

#include "neon/client.h"

struct pd_buf;
struct pd_err;

/* The step's attributes, borrowed; NULL when absent. */
struct neon_action_args {
    const char *op;
    const char *branch;    /* target: id or name; NULL means the default branch */
    const char *parent;    /* branch-create: id or name of the parent */
    const char *timestamp; /* branch-create, branch-restore, branch-default: RFC 3339 point */
    const char *lsn;
    const char *name;     /* branch-create: new branch; branch-rename: new name */
    const char *source;   /* branch-restore: id or name of the source branch */
    const char *preserve; /* branch-restore: keep the old state under this name */
    const char *endpoint; /* endpoint-start: endpoint id (default: the branch's read_write);
                             branch-create: "none" for a branch without a compute */
    const char *database; /* connection-uri, branch-create: database and role for the uri */
    const char *role;
    const char *operation; /* operation-get, operations-wait: id(s), space or comma separated */
    double timeout_s;      /* wait for operations at most this long; 0: 600 s */
    double ttl_s;          /* branch-create: expires_at this long after now; 0: never expires */
};

/* What the step saves and shows; every string owned, NULL when not applicable. */
struct neon_action_out {
    char *id;
    char *name;
    char *host;
    char *uri;     /* registered with pd_redact */
    char *summary; /* one line for the operator, no secret */
    char **lines;  /* further display lines (one per listed item), no secret */
    size_t n_lines;
};

void neon_action_out_clear(struct neon_action_out *out);

/* How a drill treats an op aimed at the project's default branch (engine/policy.c). */
enum neon_action_guard {
    NEON_GUARD_NONE,   /* never refused */
    NEON_GUARD_BRANCH, /* refused when branch= is the default branch */
    NEON_GUARD_ALWAYS, /* refused whenever there is a default branch: the op moves it */
};

struct neon_action_ctx; /* private to action.c */

/*
 * One op: the row every question about it reads (the engine's run, the
 * linter's op= check, the plan, the drill guard, the report's clean-up
 * proof). Adding an op is adding a row and its function in action.c.
 */
struct neon_action_op {
    const char *name; /* as written in op= */
    int (*run)(struct neon_client *c, const struct neon_action_args *a,
               const struct neon_action_ctx *x, struct neon_action_out *out, struct pd_err *err);
    /* The plan's words for the step; every string of a non-NULL, "" when absent. */
    void (*describe)(struct pd_buf *b, const struct neon_action_args *a);
    enum neon_action_guard guard; /* refused in a drill when aimed at the default branch */
    bool mutates;                 /* creates or changes something: the plan counts it */
    bool cleanup;                 /* removes what a drill made: proof of clean-up in the report */
    bool creates; /* makes a branch the drill owns, saved as PREFIX_id: what clean-up may delete */
};

/* The row of op name, or NULL for an unknown name. Borrowed, static. */
const struct neon_action_op *neon_action_op_find(const char *name);

/* Every op name, space-separated in table order (help texts, lint). Borrowed, static. */
const char *neon_action_op_names(void);

/*
 * Append the plan's words for a step with these attributes to b (every
 * string non-NULL, "" when absent); an unknown op reads "neon OP BRANCH".
 */
void neon_action_describe(struct pd_buf *b, const struct neon_action_args *a);

/*
 * Run one action. now is the wall clock (seconds since the epoch) used for
 * the point-in-time check. progress (may be NULL) sees operation status
 * changes. PD_EUSAGE for an unknown op or a missing attribute, PD_EINPUT for
 * a point in time outside the window, PD_ESERVICE for an API failure.
 */
int neon_action_run(struct neon_client *c, const struct neon_action_args *a, double now,
                    neon_progress_fn *progress, void *payload, struct neon_action_out *out,
                    struct pd_err *err);

#endif
