/*
 * runbook: the runbook action. A step ```runbook name=ID``` runs another
 * runbook inside the same drill: the parser loads the child (found the way
 * `pgdrill run ID` finds a shipped runbook, next to this one), lints the
 * step's body (NAME=VALUE lines naming the child's inputs) and, once the
 * whole document is walked, moves the child's stages in right after the
 * step's stage, as "stage-id/child-stage-id" with the title "Stage / Child
 * stage". From there on they are stages of this runbook: the journal, the
 * plan, the report and the front ends need nothing of their own for them.
 * What is left of the child (its header: id, inputs, variable names) stays
 * on the step for the engine (engine/runbook_step.c); its drill:,
 * environment: and targets are read from there through the
 * runbook_stage_* helpers at the end of this file.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/parse.intern.h"
#include "runbook/runbook.h"
#include "runbook/runbook.intern.h"

int
runbook_assign_next(const char **cursor, int *line, char **name, char **value)
{
    const char *p = *cursor;

    *name = *value = NULL;
    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, "\n"), k;
        const char *l = p, *eq;

        p += n + (p[n] == '\n');
        *cursor = p;
        (*line)++;
        while (n > 0 && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
            n--;
        k = strspn(l, " \t");
        if (k >= n || l[k] == '#')
            continue;
        eq = memchr(l + k, '=', n - k);
        if (eq == NULL || eq == l + k) {
            *name = pd_xstrndup(l + k, n - k);
            return -1;
        }
        *name = pd_xstrndup(l + k, (size_t)(eq - (l + k)));
        *value = pd_xstrndup(eq + 1, l + n - (eq + 1) > 0 ? (size_t)(l + n - (eq + 1)) : 0);
        return 1;
    }
    return 0;
}

/* Where `pgdrill run NAME` would look, beside the including runbook. Caller owns. */
static char *
child_path(const char *parent, const char *name)
{
    const char *slash = strrchr(parent, '/');
    size_t n = strlen(name);
    const char *ext = n > 3 && strcmp(name + n - 3, ".md") == 0 ? "" : ".md";

    if (name[0] == '/')
        return pd_xstrdup(name);
    if (slash == NULL)
        return pd_xasprintf("%s%s", name, ext);
    return pd_xasprintf("%.*s/%s%s", (int)(slash - parent), parent, name, ext);
}

/* "a.md → b.md → a.md": the chain that would repeat, for the message. Caller owns. */
static char *
chain_text(const struct rb_chain *chain, const char *again)
{
    struct pd_buf b;
    const struct rb_chain *v[64];
    size_t n = 0;

    pd_buf_init(&b, 0);
    for (const struct rb_chain *k = chain; k != NULL && n < 64; k = k->up)
        v[n++] = k;
    while (n-- > 0) {
        const char *s = strrchr(v[n]->path, '/');

        pd_buf_appendf(&b, NULL, "%s \u2192 ", s ? s + 1 : v[n]->path);
    }
    pd_buf_appendf(&b, NULL, "%s", strrchr(again, '/') ? strrchr(again, '/') + 1 : again);
    return pd_buf_steal(&b);
}

/* Is name something the child asks for: a header input or an input step? */
static bool
child_takes(const struct runbook *rb, const char *name)
{
    if (runbook_find_input(rb, name) != NULL)
        return true;
    // its own stages only: a grandchild's, spliced in already, read their own scope
    for (size_t i = 0; i < rb->n_stages; i++)
        for (size_t j = 0; rb->stages[i].scope == NULL && j < rb->stages[i].n_steps; j++)
            if (rb->stages[i].steps[j].input != NULL &&
                strcmp(rb->stages[i].steps[j].input->name, name) == 0)
                return true;
    return false;
}

/* The body: NAME=VALUE lines, each an input the child takes, once; the required ones there. */
static void
check_body(struct rb_ctx *c, const struct runbook_step *sp, const struct runbook *child)
{
    const char *cur = sp->body;
    struct rb_seen_set seen = {0};
    char *name, *value;
    int line = -1, r;

    while ((r = runbook_assign_next(&cur, &line, &name, &value)) != 0) {
        int at = sp->pos.line + 1 + line, first;

        if (r < 0)
            rb_diag(c, at, 1, "runbook: bad line '%s' (expected NAME=VALUE)", name);
        else if (!runbook_valid_var(name))
            rb_diag(c, at, 1, "runbook: bad input name '%s'", name);
        else if (!child_takes(child, name))
            rb_diag(c, at, 1, "runbook: runbook '%s' has no input '%s'", child->id, name);
        else if ((first = rb_seen_add(&seen, name, at)) != 0)
            rb_diag(c, at, 1, "runbook: duplicate input '%s' (first at line %d)", name, first);
        free(name);
        free(value);
    }
    for (size_t i = 0; i < child->n_inputs; i++) {
        const struct runbook_input *in = &child->inputs[i];

        if (in->required && in->default_value == NULL && !rb_seen_has(&seen, in->name))
            rb_diag(c, sp->pos.line, sp->pos.col,
                    "runbook: runbook '%s' needs input '%s': add a line %s=VALUE to the body",
                    child->id, in->name, in->name);
    }
    rb_seen_free(&seen);
}

/*
 * What of the child's header cannot hold inside this drill: an environment: other than this
 * runbook's (one drill acts on one environment), and on-fail=retry (the child's finished
 * steps cannot run again; its own steps retry).
 */
static void
check_header(struct rb_ctx *c, const struct runbook_step *sp, const struct runbook *child)
{
    const char *mine = c->rb->environment, *its = child->environment;

    if (mine != NULL && its != NULL && strcasecmp(mine, its) != 0)
        rb_diag(c, sp->pos.line, sp->pos.col,
                "runbook: runbook '%s' targets environment '%s', this runbook '%s': one drill "
                "acts on one environment",
                child->id, its, mine);
    if (sp->on_fail == FAIL_RETRY)
        rb_diag(c, sp->pos.line, sp->pos.col,
                "runbook: on-fail=retry cannot run a sub-drill again: give its steps on-fail=retry "
                "(stop, continue or skip apply here)");
}

void
rb_runbook_include(struct rb_ctx *c, struct runbook_step *sp)
{
    const char *name = runbook_step_attr(sp, "name");
    struct rb_chain link = {0};
    struct runbook_diags diags = {0};
    struct pd_err err = {0};
    char *path, *real = NULL;

    if (name == NULL || name[0] == '\0')
        return; // reported as a missing attribute
    if (strchr(name, '$') != NULL) {
        rb_diag(c, sp->pos.line, sp->pos.col,
                "runbook: name '%s' must name the runbook itself, not a variable", name);
        return;
    }
    path = child_path(c->path, name);
    real = realpath(path, NULL);
    link.path = real != NULL ? real : path;
    for (const struct rb_chain *k = c->chain; k != NULL; k = k->up) {
        if (strcmp(k->path, link.path) == 0) {
            char *t = chain_text(c->chain, link.path);

            rb_diag(c, sp->pos.line, sp->pos.col, "runbook: '%s' includes itself (%s)", name, t);
            free(t);
            goto out;
        }
    }
    link.up = c->chain;
    if (rb_load_in(&sp->child, path, &link, &diags, &err) != 0) {
        rb_diag(c, sp->pos.line, sp->pos.col, "runbook '%s': %s", name, err.msg);
        goto out;
    }
    check_body(c, sp, sp->child);
    check_header(c, sp, sp->child);
out:
    runbook_diags_free(&diags);
    free(real);
    free(path);
}

const char *
rb_runbook_save_names(const struct runbook_step *sp)
{
    return sp->child != NULL && sp->child->var_names != NULL ? sp->child->var_names : "";
}

/* Child stage st moved under stage parent (at index pi, its runbook step ti). */
static void
adopt(struct runbook_stage *st, const struct runbook_stage *parent, size_t pi, size_t ti,
      size_t base)
{
    char *s;

    s = pd_xasprintf("%s/%s", parent->id, st->id);
    free(st->id);
    st->id = s;
    s = pd_xasprintf("%s / %s", parent->title, st->title);
    free(st->title);
    st->title = s;
    if (st->scope == NULL) {
        st->scope = pd_xstrdup(parent->id);
        st->parent_stage = pi;
        st->parent_step = ti;
    } else {
        s = pd_xasprintf("%s/%s", parent->id, st->scope);
        free(st->scope);
        st->scope = s;
        st->parent_stage += base;
    }
    st->depth++;
    for (size_t j = 0; j < st->n_steps; j++) {
        s = pd_xasprintf("%s/%s", parent->id, st->steps[j].id);
        free(st->steps[j].id);
        st->steps[j].id = s;
    }
}

/* The runbook step of a top-level stage under which stage si runs (its own when top-level). */
static const struct runbook_step *
top_step(const struct runbook *rb, size_t si, const struct runbook_step *sp)
{
    while (rb->stages[si].scope != NULL)
        sp = runbook_stage_parent(rb, si, &si);
    return sp;
}

/*
 * One drill acts on one environment, down the whole tree: every runbook in it that names
 * one against this (the top) runbook's, or the first one the tree names when this one
 * names none. Its own children were compared as they were included (check_header); a
 * grandchild is reported at the step of this runbook that brings it in.
 */
static void
check_environments(struct rb_ctx *c)
{
    const struct runbook *rb = c->rb;
    const char *ref = rb->environment, *ref_id = rb->id;

    for (size_t i = 0; i < rb->n_stages; i++) {
        const struct runbook_stage *st = &rb->stages[i];
        const struct runbook_step *sp = st->n_steps > 0 ? &st->steps[st->n_steps - 1] : NULL;
        const struct runbook_step *top;
        const char *its;

        if (sp == NULL || sp->child == NULL || (its = sp->child->environment) == NULL)
            continue;
        if (ref == NULL) {
            ref = its;
            ref_id = sp->child->id;
            continue;
        }
        if (strcasecmp(ref, its) == 0 || (st->depth == 0 && rb->environment != NULL))
            continue;
        top = top_step(rb, i, sp);
        rb_diag(c, top->pos.line, top->pos.col,
                "runbook: runbook '%s' (under step %s) targets environment '%s', runbook '%s' "
                "environment '%s': one drill acts on one environment",
                sp->child->id, sp->id, its, ref_id != NULL ? ref_id : "?", ref);
    }
}

void
rb_splice_children(struct rb_ctx *c)
{
    struct runbook *rb = c->rb;
    size_t n = 0, cap = rb->n_stages;
    struct runbook_stage *v;

    for (size_t i = 0; i < rb->n_stages; i++)
        for (size_t j = 0; j < rb->stages[i].n_steps; j++)
            if (rb->stages[i].steps[j].child != NULL)
                cap += rb->stages[i].steps[j].child->n_stages;
    v = pd_xcalloc(cap + 1, sizeof(*v));
    for (size_t i = 0; i < rb->n_stages; i++) {
        size_t pi = n;

        v[n++] = rb->stages[i];
        for (size_t j = 0; j < v[pi].n_steps; j++) {
            struct runbook_step *sp = &v[pi].steps[j];
            struct runbook *child = sp->child;
            size_t base = n;

            if (sp->action != STEP_RUNBOOK)
                continue;
            if (j + 1 != v[pi].n_steps)
                rb_diag(c, sp->pos.line, sp->pos.col,
                        "runbook: must be the last step of its stage (the runbook's stages "
                        "run after it, under this one)");
            if (child == NULL)
                continue;
            for (size_t k = 0; k < child->n_stages; k++) {
                v[n] = child->stages[k];
                adopt(&v[n], &v[pi], pi, j, base);
                n++;
            }
            free(child->stages);
            child->stages = NULL;
            child->n_stages = 0;
        }
    }
    free(rb->stages);
    rb->stages = v;
    rb->n_stages = n;
    if (c->chain == NULL || c->chain->up == NULL)
        check_environments(c);
}

const struct runbook_step *
runbook_stage_parent(const struct runbook *rb, size_t si, size_t *at)
{
    const struct runbook_stage *st = &rb->stages[si];

    if (st->scope == NULL)
        return NULL;
    if (at != NULL)
        *at = st->parent_stage;
    return &rb->stages[st->parent_stage].steps[st->parent_step];
}

const struct runbook *
runbook_stage_owner(const struct runbook *rb, size_t si)
{
    const struct runbook_step *rs = runbook_stage_parent(rb, si, NULL);

    return rs != NULL && rs->child != NULL ? rs->child : rb;
}

size_t
runbook_subdrill_end(const struct runbook *rb, size_t si)
{
    size_t end = si + 1;

    // the child's stages, its children's included, follow the stage that runs it, deeper
    while (end < rb->n_stages && rb->stages[end].depth > rb->stages[si].depth)
        end++;
    return end;
}

bool
runbook_stage_is_drill(const struct runbook *rb, size_t si)
{
    const struct runbook_step *rs;
    bool drill = rb->drill;

    while (!drill && (rs = runbook_stage_parent(rb, si, &si)) != NULL)
        drill = rs->child != NULL && rs->child->drill;
    return drill;
}

const char *
runbook_stage_environment(const struct runbook *rb, size_t si)
{
    const struct runbook_step *rs;

    // the innermost runbook that names one: lint holds them all equal where they are given
    while ((rs = runbook_stage_parent(rb, si, &si)) != NULL)
        if (rs->child != NULL && rs->child->environment != NULL)
            return rs->child->environment;
    return rb->environment;
}
