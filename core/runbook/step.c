/*
 * runbook: steps. Builds a step from a fenced block, validates its
 * attributes against the action's row (runbook/action.h) and lints the
 * variables it uses against those defined earlier in the document.
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmark.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/action.h"
#include "runbook/expect.h"
#include "runbook/parse.intern.h"
#include "runbook/runbook.intern.h"
#include "runbook/when.h"

/* on-fail=retry without a count. */
#define RUNBOOK_DEFAULT_RETRIES 3
#define RUNBOOK_MAX_RETRIES     100

void
rb_step_clear(struct runbook_step *step)
{
    free(step->id);
    free(step->body);
    free(step->prose);
    for (size_t i = 0; i < step->n_attrs; i++) {
        free(step->attrs[i].key);
        free(step->attrs[i].value);
    }
    free(step->attrs);
    if (step->input != NULL) {
        rb_input_clear(step->input);
        free(step->input);
    }
    runbook_free(step->child);
}

/* Where a variable reference was found: a body (lit) or an attribute value (col). */
struct var_site {
    struct rb_ctx *c;
    const char *lit; /* body literal, or NULL for an attribute */
    int line;        /* body: first body line; attribute: the fence line */
    int col;         /* attribute: 1-based column of the value's first byte */
};

static void
var_ref(const char *name, size_t len, size_t offset, bool bad, void *payload)
{
    struct var_site *site = payload;
    struct rb_ctx *c = site->c;
    struct runbook_pos pos;
    char *n;

    if (site->lit != NULL) {
        pos = rb_lit_pos(c, site->line, site->lit, offset);
    } else {
        pos.line = site->line;
        pos.col = site->col + (int)offset;
    }
    if (bad) {
        rb_diag(c, pos.line, pos.col, "bad variable reference '%.*s' (use $${ for a literal ${)",
                (int)len, name);
        return;
    }
    n = pd_xstrndup(name, len);
    if (runbook_env_var(n)) {
        /* from the environment: not known until run time */
    } else if (!runbook_valid_var(n)) {
        rb_diag(c, pos.line, pos.col, "bad variable reference '${%s}' (use $${ for a literal ${)",
                n);
    } else if (!rb_seen_has(&c->vars, n)) {
        /* Reported at the end of the walk: it may be defined further down. */
        c->undef = pd_xrealloc(c->undef, (c->n_undef + 1) * sizeof *c->undef);
        c->undef[c->n_undef].name = pd_xstrdup(n);
        c->undef[c->n_undef].pos = pos;
        c->n_undef++;
    }
    free(n);
}

static void
define(struct rb_ctx *c, const char *name, int line)
{
    rb_seen_add(&c->vars, name, line);
}

static bool
yes_no(struct rb_ctx *c, const struct runbook_attr *a, bool *out)
{
    if (strcmp(a->value, "yes") == 0 || strcmp(a->value, "no") == 0) {
        *out = strcmp(a->value, "yes") == 0;
        return true;
    }
    rb_diag(c, a->pos.line, a->pos.col, "bad value '%s' for %s (expected yes or no)", a->value,
            a->key);
    return false;
}

/* N of "retry:N": 1 to RUNBOOK_MAX_RETRIES in at most three plain digits, else 0. */
static int
retry_count(const char *s)
{
    char *end;
    long n;

    if (!isdigit((unsigned char)s[0]) || strlen(s) > 3)
        return 0;
    n = strtol(s, &end, 10);
    return *end == '\0' && n >= 1 && n <= RUNBOOK_MAX_RETRIES ? (int)n : 0;
}

static void
check_on_fail(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    const char *v = a->value;

    if (strcmp(v, "stop") == 0) {
        sp->on_fail = FAIL_STOP;
    } else if (strcmp(v, "skip") == 0) {
        sp->on_fail = FAIL_SKIP;
    } else if (strcmp(v, "continue") == 0) {
        sp->on_fail = FAIL_CONTINUE;
    } else if (strcmp(v, "retry") == 0) {
        sp->on_fail = FAIL_RETRY;
        sp->retries = RUNBOOK_DEFAULT_RETRIES;
    } else if (strncmp(v, "retry:", 6) == 0 && retry_count(v + 6) > 0) {
        sp->on_fail = FAIL_RETRY;
        sp->retries = retry_count(v + 6);
    } else {
        rb_diag(
            c, a->pos.line, a->pos.col,
            "bad on-fail '%s' (expected stop, continue, skip, retry or retry:N with N from 1 to "
            "%d)",
            v, RUNBOOK_MAX_RETRIES);
    }
}

/* Position of attribute key on step, or of the fence when it is absent. */
static struct runbook_pos
attr_pos(const struct runbook_step *sp, const char *key)
{
    for (size_t i = 0; i < sp->n_attrs; i++)
        if (strcmp(sp->attrs[i].key, key) == 0)
            return sp->attrs[i].pos;
    return sp->pos;
}

void
rb_input_build(struct rb_ctx *c, struct runbook_step *sp)
{
    struct runbook_input *in = pd_xcalloc(1, sizeof *in);
    const char *name = runbook_step_attr(sp, "name");
    const char *type = runbook_step_attr(sp, "type");
    const char *choices = runbook_step_attr(sp, "choices");
    const char *pattern = runbook_step_attr(sp, "pattern");
    struct runbook_pos name_at = attr_pos(sp, "name");
    struct runbook_pos type_at = attr_pos(sp, "type");
    struct runbook_pos choices_at = attr_pos(sp, "choices");
    struct runbook_pos default_at = attr_pos(sp, "default");
    struct runbook_pos pattern_at = attr_pos(sp, "pattern");
    int first;

    in->name = pd_xstrdup(name ? name : "");
    in->prompt = pd_xstrdup(sp->body);
    in->default_value = pd_xstrdup(runbook_step_attr(sp, "default"));
    in->required = in->default_value == NULL;
    in->pos = sp->pos;
    in->type = choices ? INPUT_CHOICE : INPUT_TEXT;
    sp->input = in;
    if (name != NULL && *name != '\0' && !runbook_valid_var(name))
        rb_diag(c, name_at.line, name_at.col, "bad variable name '%s' for name", name);
    if (type != NULL) {
        if (strcmp(type, "text") == 0)
            in->type = INPUT_TEXT;
        else if (strcmp(type, "timestamp") == 0)
            in->type = INPUT_TIMESTAMP;
        else if (strcmp(type, "integer") == 0)
            in->type = INPUT_INTEGER;
        else if (strcmp(type, "choice") == 0)
            in->type = INPUT_CHOICE;
        else
            rb_diag(c, type_at.line, type_at.col, "unknown input type '%s'", type);
    }
    if (choices != NULL) {
        const char *p = choices;

        if (in->type != INPUT_CHOICE)
            rb_diag(c, choices_at.line, choices_at.col, "choices given for input '%s' of type %s",
                    in->name, type);
        while (*p) {
            size_t n = strcspn(p, "|");
            char *choice = pd_xstrndup(p, n);
            bool dup = false;

            for (size_t i = 0; i < in->n_choices; i++)
                dup = dup || strcmp(in->choices[i], choice) == 0;
            if (n == 0 || dup) {
                if (n == 0)
                    rb_diag(c, choices_at.line, choices_at.col, "empty choice in input '%s'",
                            in->name);
                else
                    rb_diag(c, choices_at.line, choices_at.col,
                            "duplicate choice '%s' in input '%s'", choice, in->name);
                free(choice);
                break;
            }
            in->choices = pd_xrealloc(in->choices, (in->n_choices + 1) * sizeof *in->choices);
            in->choices[in->n_choices++] = choice;
            p += n;
            if (*p == '|' && *++p == '\0')
                rb_diag(c, choices_at.line, choices_at.col, "empty choice in input '%s'", in->name);
        }
    }
    if (in->type == INPUT_CHOICE && in->n_choices == 0 && choices == NULL)
        rb_diag(c, type_at.line, type_at.col, "choice input '%s' has no choices", in->name);
    rb_check_input_default(c, in, default_at);
    if (pattern != NULL) {
        regex_t re;
        char *anchored = pd_xasprintf("^(%s)$", pattern);

        in->pattern = pd_xstrdup(pattern);
        if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0) {
            rb_diag(c, pattern_at.line, pattern_at.col, "bad pattern '%s'", pattern);
        } else {
            if (in->default_value && regexec(&re, in->default_value, 0, NULL, 0) != 0)
                rb_diag(c, default_at.line, default_at.col,
                        "default '%s' does not match the pattern of input '%s'", in->default_value,
                        in->name);
            regfree(&re);
        }
        free(anchored);
    }
    if (name != NULL && runbook_valid_var(name)) {
        first = rb_seen_add(&c->inputs, name, sp->pos.line);
        if (first)
            rb_diag(c, name_at.line, name_at.col, "duplicate input '%s' (first at line %d)", name,
                    first);
    }
}

/* Checks of one attribute's value; those only one action has are its row's. */
static void
check_attr(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    const char *k = a->key;
    const char *v = a->value;
    bool b;
    int d;

    if (strcmp(k, "on-fail") == 0) {
        check_on_fail(c, sp, a);
    } else if (strcmp(k, "manual") == 0) {
        if (yes_no(c, a, &b))
            sp->manual = b;
    } else if (strcmp(k, "readonly") == 0 || strcmp(k, "destructive") == 0) {
        yes_no(c, a, &b);
    } else if (strcmp(k, "id") == 0) {
        if (!runbook_valid_step_id(v))
            rb_diag(c, a->pos.line, a->pos.col, "bad step id '%s'", v);
    } else if (strcmp(k, "timeout") == 0) {
        if (runbook_parse_duration(&d, v) != 0 || d == 0)
            rb_diag(c, a->pos.line, a->pos.col, "bad duration '%s'", v);
        // the engine turns it into milliseconds in an int; no step waits a week
        else if (d > RUNBOOK_TIMEOUT_MAX_S)
            rb_diag(c, a->pos.line, a->pos.col, "timeout '%s' too long (at most 168h)", v);
    } else if (strcmp(k, "save") == 0 || strcmp(k, "baseline") == 0) {
        if (!runbook_valid_var(v))
            rb_diag(c, a->pos.line, a->pos.col, "bad variable name '%s' for %s", v, k);
    } else if (strcmp(k, "report") == 0) {
        if (v[0] == '\0' || strpbrk(v, "\r\n") != NULL)
            rb_diag(c, a->pos.line, a->pos.col, "bad report title '%s' (one line of text)", v);
    } else if (strcmp(k, "report-json") == 0) {
        if (!runbook_valid_var(v))
            rb_diag(c, a->pos.line, a->pos.col, "bad name '%s' for report-json", v);
    } else if (strcmp(k, "when") == 0) {
        struct when w;
        struct pd_err err = {0};

        if (when_parse(&w, v, &err) != 0)
            rb_diag(c, a->pos.line, a->pos.col, "%s", err.msg);
        when_clear(&w);
    } else if (strcmp(k, "expect") == 0) {
        struct expect *e = NULL;
        struct pd_err err = {0};

        if (expect_parse(&e, v, &err) != 0)
            rb_diag(c, a->pos.line, a->pos.col, "%s", err.msg);
        expect_free(e);
    } else if (strcmp(k, "export") == 0 || strcmp(k, "import") == 0) {
        if (!runbook_valid_file_name(v))
            rb_diag(c, a->pos.line, a->pos.col,
                    "bad file name '%s' for %s (a plain name in the drill folder)", v, k);
        if (strcmp(k, "import") == 0 && runbook_step_attr(sp, "export") != NULL)
            rb_diag(c, a->pos.line, a->pos.col, "sql: export= and import= exclude each other");
        if (strcmp(k, "import") == 0 && runbook_step_attr(sp, "into") == NULL)
            rb_diag(c, a->pos.line, a->pos.col, "sql: import= needs into=TABLE");
        // it writes into production: the author says so, the default stays read-only
        if (strcmp(k, "import") == 0 && (runbook_step_attr(sp, "readonly") == NULL ||
                                         strcmp(runbook_step_attr(sp, "readonly"), "no") != 0))
            rb_diag(c, a->pos.line, a->pos.col, "sql: import= writes: add readonly=no");
    } else if (strcmp(k, "into") == 0) {
        if (runbook_step_attr(sp, "import") == NULL)
            rb_diag(c, a->pos.line, a->pos.col, "sql: into= needs import=FILE");
    } else if (strcmp(k, "ident") == 0) {
        char *list = pd_xstrdup(v);
        char *save = NULL;

        for (char *n = strtok_r(list, ", ", &save); n; n = strtok_r(NULL, ", ", &save))
            if (!runbook_valid_var(n))
                rb_diag(c, a->pos.line, a->pos.col, "bad variable name '%s' in ident", n);
        free(list);
    } else if (strcmp(k, "marks") == 0) {
        if (strcmp(v, "usable") != 0)
            rb_diag(c, a->pos.line, a->pos.col, "bad value '%s' for marks (expected usable)", v);
    } else if (strcmp(k, "kind") == 0) {
        if (!runbook_word_in("note issue follow-up", v, strlen(v)) || *v == '\0')
            rb_diag(c, a->pos.line, a->pos.col,
                    "bad note kind '%s' (expected note, issue or follow-up)", v);
    } else if (strcmp(k, "env") == 0) {
        char *list = pd_xstrdup(v);
        char *save = NULL;

        for (char *n = strtok_r(list, ", ", &save); n; n = strtok_r(NULL, ", ", &save))
            if (!runbook_valid_var(n) && !runbook_env_var(n))
                rb_diag(c, a->pos.line, a->pos.col, "bad variable name '%s' in env", n);
        free(list);
    } else if (runbook_action(sp->action)->check_attr != NULL) {
        runbook_action(sp->action)->check_attr(c, sp, a);
    }
}

/* Variables a step defines for the steps after it. */
static void
step_defines(struct rb_ctx *c, const struct runbook_step *sp)
{
    const char *save = runbook_step_attr(sp, "save");
    const char *baseline = runbook_step_attr(sp, "baseline");
    const struct runbook_action *act = runbook_action(sp->action);
    const char *p = save && act->save_suffixes ? act->save_suffixes(sp) : NULL;
    int line = sp->pos.line;

    if (save && runbook_valid_var(save) && p != NULL) {
        while (*p) {
            size_t n = strcspn(p, " ");
            char *v = pd_xasprintf("%s_%.*s", save, (int)n, p);

            define(c, v, line);
            free(v);
            p += n;
            p += strspn(p, " ");
        }
    } else if (save && runbook_valid_var(save)) {
        define(c, save, line);
    }
    if (baseline && runbook_valid_var(baseline))
        define(c, baseline, line);
    // an input step declares its variable (rb_input_build)
    if (sp->input && runbook_valid_var(sp->input->name))
        define(c, sp->input->name, line);
}

static bool
blank(const char *s)
{
    return s[strspn(s, " \t\r\n")] == '\0';
}

/* A step being built from its fenced block (rb_step_add). */
struct step_build {
    struct runbook_step sp;
    const struct runbook_action *act;
    const char *name; /* the action's */
    const char *lit;  /* the block's content, "" when none */
    int info_off;     /* byte offset of the attributes in the fence line */
    int *value_cols;  /* 1-based column of each attribute's value */
    bool tok_failed;  /* a quoting problem: the rest of the line is unknown */
};

/* The fence line's attributes: tokenized, each known to the action and given once. */
static void
step_attrs(struct rb_ctx *c, struct step_build *b)
{
    struct runbook_step *sp = &b->sp;
    int line = sp->pos.line;
    size_t n;
    const char *l = rb_line(c, line, &n);
    char *rest = pd_xstrndup(l + b->info_off, n - (size_t)b->info_off);
    struct runbook_toks toks;
    char *msg;
    int errcol;

    if (runbook_tokenize(&toks, rest, &msg, &errcol) != 0) {
        rb_diag(c, line, b->info_off + errcol + 1, "%s", msg);
        free(msg);
        b->tok_failed = true;
    }
    b->value_cols = pd_xcalloc(toks.n + 1, sizeof *b->value_cols);
    for (size_t i = 0; i < toks.n; i++) {
        struct runbook_tok *t = &toks.items[i];
        int tcol = b->info_off + t->col + 1;
        struct runbook_attr *a;

        if (t->key == NULL) {
            rb_diag(c, line, tcol, "bad attribute '%s' (expected key=value)", t->value);
            continue;
        }
        if (runbook_step_attr(sp, t->key) != NULL) {
            rb_diag(c, line, tcol, "duplicate attribute '%s'", t->key);
            continue;
        }
        if (!runbook_word_in(RUNBOOK_COMMON_ATTRS, t->key, strlen(t->key)) &&
            !runbook_word_in(b->act->required, t->key, strlen(t->key)) &&
            !runbook_word_in(b->act->allowed, t->key, strlen(t->key)))
            rb_diag(c, line, tcol, "unknown attribute '%s' for %s", t->key, b->name);
        sp->attrs = pd_xrealloc(sp->attrs, (sp->n_attrs + 1) * sizeof *sp->attrs);
        a = &sp->attrs[sp->n_attrs];
        b->value_cols[sp->n_attrs] = b->info_off + t->value_col + 1;
        sp->n_attrs++;
        a->key = t->key;
        a->value = t->value;
        a->pos.line = line;
        a->pos.col = tcol;
        t->key = NULL; /* moved into the step */
        t->value = NULL;
    }
    runbook_toks_free(&toks);
    free(rest);
}

/* The attributes' values and the step as a whole, as its action's row says. */
static void
step_check(struct rb_ctx *c, struct step_build *b)
{
    struct runbook_step *sp = &b->sp;

    /* Required attributes, in the order the action's row lists them; after a
     * quoting problem the rest of the line is unknown, so say nothing. */
    for (const char *p = b->tok_failed ? "" : b->act->required; *p;) {
        size_t k = strcspn(p, " ");
        char *key = pd_xstrndup(p, k);
        const char *v = runbook_step_attr(sp, key);

        if (v == NULL)
            rb_diag(c, sp->pos.line, sp->pos.col, "%s: missing required attribute '%s'", b->name,
                    key);
        else if (*v == '\0')
            rb_diag(c, sp->pos.line, sp->pos.col, "%s: empty attribute '%s'", b->name, key);
        free(key);
        p += k;
        p += strspn(p, " ");
    }
    for (size_t i = 0; i < sp->n_attrs; i++)
        check_attr(c, sp, &sp->attrs[i]);
    if (b->act->check_step != NULL)
        b->act->check_step(c, sp);
    if (blank(sp->body) && (sp->manual || b->act->needs_body))
        rb_diag(c, sp->pos.line, sp->pos.col, "%s: empty body", b->name);
}

/* Variables: what the step uses must be defined by now; then what it defines. */
static void
step_vars(struct rb_ctx *c, struct step_build *b)
{
    struct runbook_step *sp = &b->sp;
    int line = sp->pos.line;

    for (size_t i = 0; i < sp->n_attrs; i++) {
        struct var_site site = {c, NULL, line, b->value_cols[i]};

        runbook_scan_vars(sp->attrs[i].value, var_ref, &site);
        if (strcmp(sp->attrs[i].key, "env") == 0 || strcmp(sp->attrs[i].key, "ident") == 0) {
            char *list = pd_xstrdup(sp->attrs[i].value);
            char *save = NULL;

            for (char *v = strtok_r(list, ", ", &save); v; v = strtok_r(NULL, ", ", &save)) {
                char *ref = pd_xasprintf("${%s}", v);

                site.col = b->value_cols[i] + (int)(v - list);
                if (runbook_valid_var(v))
                    runbook_scan_vars(ref, var_ref, &site);
                free(ref);
            }
            free(list);
        }
    }
    {
        struct var_site site = {c, b->lit, line + 1, 0};

        runbook_scan_vars(b->lit, var_ref, &site);
    }
    step_defines(c, sp);
}

/* The step's id (id= or "stage/N"), unique in the runbook, and the step into its stage. */
static void
step_append(struct rb_ctx *c, struct step_build *b)
{
    struct runbook_stage *st = &c->rb->stages[c->cur_stage];
    struct runbook_step *sp = &b->sp;
    const char *id = runbook_step_attr(sp, "id");
    int first;

    if (id != NULL && runbook_valid_step_id(id))
        sp->id = pd_xstrdup(id);
    else
        sp->id = pd_xasprintf("%s/%zu", st->id, st->n_steps + 1);
    first = rb_seen_add(&c->step_ids, sp->id, sp->pos.line);
    /* Default ids of a duplicated stage clash too; the stage was reported already. */
    if (first && !(id == NULL && c->cur_stage_dup))
        rb_diag(c, sp->pos.line, sp->pos.col, "duplicate step id '%s' (first at line %d)", sp->id,
                first);
    sp->prose = pd_buf_steal(&c->step_prose);
    st->steps = pd_xrealloc(st->steps, (st->n_steps + 1) * sizeof *st->steps);
    st->steps[st->n_steps++] = *sp;
}

void
rb_step_add(struct rb_ctx *c, cmark_node *node, enum step_action action, int info_off)
{
    struct step_build b;
    size_t n;

    memset(&b, 0, sizeof b);
    b.act = runbook_action(action);
    b.name = runbook_action_name(action);
    b.lit = cmark_node_get_literal(node);
    b.lit = b.lit ? b.lit : "";
    b.info_off = info_off;
    b.sp.action = action;
    b.sp.pos.line = cmark_node_get_start_line(node);
    b.sp.pos.col = cmark_node_get_start_column(node);
    b.sp.on_fail = FAIL_STOP;
    n = strlen(b.lit);
    b.sp.body = pd_xstrndup(b.lit, n > 0 && b.lit[n - 1] == '\n' ? n - 1 : n);
    step_attrs(c, &b);
    step_check(c, &b);
    step_vars(c, &b);
    step_append(c, &b);
    free(b.value_cols);
}
