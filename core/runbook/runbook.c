/*
 * runbook: load a Markdown runbook with libcmark and build the tree.
 *
 * The document is walked once, top-level block by top-level block, in
 * order: the level-1 heading and the `pgdrill` metadata block make the
 * header, each level-2 heading opens a stage, fenced blocks naming an
 * action become steps (step.c), everything else is prose kept as its
 * Markdown source. Every problem becomes a diagnostic; the walk never
 * stops early, so `pgdrill lint` shows all of them at once.
 */
#include "runbook/runbook.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cmark.h>

#include "neon/action.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "runbook/contacts.h"
#include "runbook/parse.intern.h"
#include "runbook/runbook.intern.h"

/* Runbooks are documents, not data dumps: refuse anything bigger. */
#define RUNBOOK_MAX_BYTES ((size_t)4 * 1024 * 1024)

/* Code block languages that are shown, never run (see pgdrill-runbook(5)). */
static const char display_langs[] = "text console bash shell zsh ksh csh ash json yaml yml "
                                    "markdown md plaintext diff csv psql none";

static const char *const action_names[] = {
#define RUNBOOK_ACTION_NAME(e, name) name,
    RUNBOOK_ACTIONS(RUNBOOK_ACTION_NAME)
#undef RUNBOOK_ACTION_NAME
};

const char *
runbook_action_name(enum step_action action)
{
    if ((int)action < 0 || action >= STEP_ACTION_COUNT)
        return "?";
    return action_names[action];
}

/* ---- context helpers ------------------------------------------------------------------- */

void
rb_diag(struct rb_ctx *c, int line, int col, const char *fmt, ...)
{
    struct runbook_diag *d;
    va_list ap;
    char msg[PD_ERR_MSG_MAX];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->diags->items = pd_xrealloc(c->diags->items, (c->diags->n + 1) * sizeof *c->diags->items);
    d = &c->diags->items[c->diags->n++];
    d->file = pd_xstrdup(c->path);
    d->pos.line = line > 0 ? line : 1;
    d->pos.col = col > 0 ? col : 1;
    d->msg = pd_xstrdup(msg);
}

const char *
rb_line(const struct rb_ctx *c, int n, size_t *len)
{
    size_t start, end;

    if (n < 1 || (size_t)n > c->n_lines) {
        *len = 0;  /* uncovered: positions come from cmark and stay inside the document */
        return ""; /* uncovered: as above */
    }
    start = c->lines[n - 1];
    end = start;
    while (end < c->len && c->text[end] != '\n')
        end++;
    if (end > start && c->text[end - 1] == '\r')
        end--;
    *len = end - start;
    return c->text + start;
}

struct runbook_pos
rb_lit_pos(const struct rb_ctx *c, int base, const char *lit, size_t off)
{
    struct runbook_pos pos;
    size_t line_start = 0;
    size_t lit_len, src_len;
    int k = 0;

    for (size_t i = 0; i < off && lit[i]; i++) {
        if (lit[i] == '\n') {
            k++;
            line_start = i + 1;
        }
    }
    lit_len = strcspn(lit + line_start, "\n");
    rb_line(c, base + k, &src_len);
    pos.line = base + k;
    pos.col = (int)(off - line_start) + 1;
    if (src_len >= lit_len)
        pos.col += (int)(src_len - lit_len);
    return pos;
}

int
rb_seen_add(struct rb_seen_set *set, const char *name, int line)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return set->items[i].line;
    set->items = pd_xrealloc(set->items, (set->n + 1) * sizeof *set->items);
    set->items[set->n].name = pd_xstrdup(name);
    set->items[set->n].line = line;
    set->n++;
    return 0;
}

bool
rb_seen_has(const struct rb_seen_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].name, name) == 0)
            return true;
    return false;
}

void
rb_seen_free(struct rb_seen_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->items[i].name);
    PD_FREE(set->items);
    set->n = 0;
}

/* ---- prose ----------------------------------------------------------------------------- */

/* First and last source line of a block; cmark's end positions need a little care. */
static void
node_lines(cmark_node *node, int *first, int *last)
{
    int s = cmark_node_get_start_line(node);
    int e = cmark_node_get_end_line(node);

    if (cmark_node_get_type(node) == CMARK_NODE_HTML_BLOCK) {
        /* cmark 0.30 reports the end of an HTML block before its start; count lines. */
        const char *lit = cmark_node_get_literal(node);
        int n = 0;

        for (const char *p = lit ? lit : ""; *p; p++)
            if (*p == '\n')
                n++;
        e = s + (n > 0 ? n - 1 : 0);
    } else if (cmark_node_get_end_column(node) == 0 && e > s) {
        e--; /* ends at the end of the previous line */
    }
    if (e < s)
        e = s; /* uncovered: cmark reports no other block ending before it starts */
    *first = s;
    *last = e;
}

static void
buf_add(struct pd_buf *b, const char *s, size_t n)
{
    /* Runbooks are capped at RUNBOOK_MAX_BYTES, far below the buffer's cap. */
    (void)pd_buf_append(b, s, n, NULL);
}

static void
prose_chunk(struct pd_buf *b, const char *s, size_t n, bool contiguous)
{
    if (b->len > 0 && !contiguous)
        buf_add(b, "\n\n", 2);
    buf_add(b, s, n);
}

/* Append the Markdown source of node to the prose buffers of where we are. */
static void
prose_add(struct rb_ctx *c, cmark_node *node)
{
    int first, last;
    size_t start, end, n;
    const char *s;

    node_lines(node, &first, &last);
    while (last > first) {
        s = rb_line(c, last, &n);
        if (strspn(s, " \t") < n)
            break;
        last--; /* uncovered: only an unclosed fence at the end of a file ends blank */
    }
    if ((size_t)first > c->n_lines)
        return; /* uncovered: cmark positions stay inside the document */
    start = c->lines[first - 1];
    s = rb_line(c, last, &n);
    end = (size_t)(s - c->text) + n;
    if (end <= start)
        return; /* uncovered: a block's first line is never blank */
    /* Blocks that follow each other keep the source between them (cmark splits
     * e.g. an HTML block around a paragraph); other pieces are joined by a blank line. */
    if (c->prose_end != 0 && c->prose_end <= start)
        start = c->prose_end;
    c->prose_added = true;
    if (c->cur_stage == SIZE_MAX) {
        prose_chunk(&c->intro_prose, c->text + start, end - start, c->prose_end != 0);
    } else {
        prose_chunk(&c->step_prose, c->text + start, end - start, c->prose_end != 0);
        prose_chunk(&c->stage_prose, c->text + start, end - start, c->prose_end != 0);
    }
    c->prose_end = end;
}

/* Plain text of a heading: literal text and code, breaks as spaces, trimmed. */
static char *
heading_text(cmark_node *node)
{
    struct pd_buf b;
    cmark_iter *it = cmark_iter_new(node);
    cmark_event_type ev;
    char *s;
    size_t i, n;

    pd_buf_init(&b, 0);
    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *cur = cmark_iter_get_node(it);
        const char *lit;

        if (ev != CMARK_EVENT_ENTER)
            continue;
        switch (cmark_node_get_type(cur)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE:
            lit = cmark_node_get_literal(cur);
            buf_add(&b, lit, strlen(lit));
            break;
        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK:
            buf_add(&b, " ", 1);
            break;
        default:
            break;
        }
    }
    cmark_iter_free(it);
    s = pd_buf_steal(&b);
    for (i = 0; s[i] == ' ' || s[i] == '\t'; i++)
        ;
    n = strlen(s + i);
    while (n > 0 && (s[i + n - 1] == ' ' || s[i + n - 1] == '\t'))
        n--;
    memmove(s, s + i, n);
    s[n] = '\0';
    return s;
}

/* ---- header ---------------------------------------------------------------------------- */

static void
input_free_choices(struct runbook_input *in)
{
    for (size_t i = 0; i < in->n_choices; i++)
        free(in->choices[i]);
    PD_FREE(in->choices);
    in->n_choices = 0;
}

void
rb_input_clear(struct runbook_input *in)
{
    free(in->name);
    free(in->prompt);
    free(in->default_value);
    free(in->pattern);
    input_free_choices(in);
}

void
rb_check_input_default(struct rb_ctx *c, const struct runbook_input *in, struct runbook_pos pos)
{
    const char *d = in->default_value;
    double t;

    if (d == NULL)
        return;
    switch (in->type) {
    case INPUT_CHOICE:
        for (size_t i = 0; i < in->n_choices; i++)
            if (strcmp(in->choices[i], d) == 0)
                return;
        if (in->n_choices > 0)
            rb_diag(c, pos.line, pos.col, "default '%s' is not one of the choices of input '%s'", d,
                    in->name);
        break;
    case INPUT_INTEGER:
        if (!runbook_valid_integer(d))
            rb_diag(c, pos.line, pos.col, "default '%s' of input '%s' is not an integer", d,
                    in->name);
        break;
    case INPUT_TIMESTAMP:
        if (pd_time_parse_rfc3339(&t, d, 1) != 0)
            rb_diag(c, pos.line, pos.col,
                    "default '%s' of input '%s' is not an RFC 3339 timestamp in UTC", d, in->name);
        break;
    case INPUT_TEXT:
        break;
    }
}

/*
 * Parse "choice(A,B,C)" into in->choices. Returns false (after a diag)
 * when the list is malformed.
 */
static bool
parse_choices(struct rb_ctx *c, struct runbook_input *in, const char *list, struct runbook_pos pos)
{
    const char *p = list;

    in->type = INPUT_CHOICE;
    if (*p == '\0') {
        rb_diag(c, pos.line, pos.col, "choice input '%s' has no choices", in->name);
        return false;
    }
    for (;;) {
        size_t n = strcspn(p, ",");
        const char *s = p;
        char *choice;

        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n == 0) {
            rb_diag(c, pos.line, pos.col, "empty choice in input '%s'", in->name);
            return false;
        }
        choice = pd_xstrndup(s, n);
        for (size_t i = 0; i < in->n_choices; i++) {
            if (strcmp(in->choices[i], choice) == 0) {
                rb_diag(c, pos.line, pos.col, "duplicate choice '%s' in input '%s'", choice,
                        in->name);
                free(choice);
                return false;
            }
        }
        in->choices = pd_xrealloc(in->choices, (in->n_choices + 1) * sizeof *in->choices);
        in->choices[in->n_choices++] = choice;
        p += strcspn(p, ",");
        if (*p == '\0')
            return true;
        p++;
    }
}

/* An `input:` line of the header being parsed (parse_input_decl). */
struct input_decl {
    struct rb_ctx *c;
    const char *lit; /* the metadata block */
    size_t voff;     /* offset of the declaration in lit */
    int base;        /* line of lit's first line */
    struct runbook_toks toks;
    struct runbook_input in;
    struct runbook_pos pos;         /* of the declaration */
    struct runbook_pos default_pos; /* of default=, else pos */
    bool have_flag;                 /* required or optional was given */
};

static struct runbook_pos
decl_pos(const struct input_decl *d, size_t col)
{
    return rb_lit_pos(d->c, d->base, d->lit, d->voff + col);
}

/* The type, token 1 ("choice(A, B)" may span tokens); *i is the token after it. */
static bool
decl_type(struct input_decl *d, size_t *i)
{
    struct rb_ctx *c = d->c;
    struct runbook_tok *t = &d->toks.items[1];
    struct runbook_pos tp = decl_pos(d, (size_t)t->col);
    char *type = pd_xstrdup(t->value);
    bool ok = true;

    /* "choice(A, B)" may have been split at the spaces: join it back. */
    *i = 2;
    if (strncmp(type, "choice(", 7) == 0) {
        while (type[strlen(type) - 1] != ')' && *i < d->toks.n && !d->toks.items[*i].key &&
               !d->toks.items[*i].quoted) {
            char *j = pd_xasprintf("%s %s", type, d->toks.items[*i].value);

            free(type);
            type = j;
            (*i)++;
        }
        if (type[strlen(type) - 1] != ')') {
            rb_diag(c, tp.line, tp.col, "unknown input type '%s'", type);
            ok = false;
        } else {
            type[strlen(type) - 1] = '\0';
            ok = parse_choices(c, &d->in, type + 7, tp);
        }
    } else if (strcmp(type, "text") == 0) {
        d->in.type = INPUT_TEXT;
    } else if (strcmp(type, "timestamp") == 0) {
        d->in.type = INPUT_TIMESTAMP;
    } else if (strcmp(type, "integer") == 0) {
        d->in.type = INPUT_INTEGER;
    } else if (strcmp(type, "choice") == 0) {
        rb_diag(c, tp.line, tp.col, "choice input '%s' has no choices", d->in.name);
        ok = false;
    } else {
        rb_diag(c, tp.line, tp.col, "unknown input type '%s'", type);
        ok = false;
    }
    free(type);
    return ok;
}

/* What follows the type from token i: required|optional, default=, the prompt. */
static bool
decl_options(struct input_decl *d, size_t i)
{
    struct runbook_input *in = &d->in;
    const char *env = getenv("PGDRILL_ENVIRONMENT"), *env_default = NULL;
    struct runbook_pos env_pos = {0};

    in->required = true;
    for (; i < d->toks.n; i++) {
        struct runbook_tok *t = &d->toks.items[i];
        struct runbook_pos tp = decl_pos(d, (size_t)t->col);

        if (in->prompt != NULL) {
            rb_diag(d->c, tp.line, tp.col,
                    "bad input declaration: unexpected '%s%s%s' after the prompt",
                    t->key ? t->key : "", t->key ? "=" : "", t->value);
            return false;
        }
        if (t->key == NULL && !t->quoted && !d->have_flag &&
            (strcmp(t->value, "required") == 0 || strcmp(t->value, "optional") == 0)) {
            d->have_flag = true;
            in->required = strcmp(t->value, "required") == 0;
        } else if (t->key && strcmp(t->key, "default") == 0 && in->default_value == NULL) {
            in->default_value = pd_xstrdup(t->value);
            d->default_pos = tp;
        } else if (t->key && strncmp(t->key, "default-", 8) == 0 && t->key[8] != '\0') {
            // default-ENV=VALUE: the default where PGDRILL_ENVIRONMENT is ENV
            if (env_default == NULL && env != NULL && strcasecmp(env, t->key + 8) == 0) {
                env_default = t->value;
                env_pos = tp;
            }
        } else if (t->key == NULL && t->quoted && in->prompt == NULL) {
            in->prompt = pd_xstrdup(t->value);
        } else {
            rb_diag(d->c, tp.line, tp.col, "bad input declaration: unexpected '%s%s%s'",
                    t->key ? t->key : "", t->key ? "=" : "", t->value);
            return false;
        }
    }
    if (in->prompt == NULL) {
        rb_diag(d->c, d->pos.line, d->pos.col, "bad input declaration: missing prompt");
        return false;
    }
    if (env_default != NULL) {
        free(in->default_value);
        in->default_value = pd_xstrdup(env_default);
        d->default_pos = env_pos;
    }
    if (!d->have_flag && in->default_value != NULL)
        in->required = false;
    return true;
}

/* NAME: the first token, a bare valid variable name. */
static bool
decl_name(struct input_decl *d)
{
    const struct runbook_toks *toks = &d->toks;

    if (toks->n == 0 || toks->items[0].key || toks->items[0].quoted) {
        rb_diag(d->c, d->pos.line, d->pos.col,
                "bad input declaration (expected NAME TYPE [required|optional] "
                "[default=VALUE] \"prompt\")");
        return false;
    }
    d->in.name = pd_xstrdup(toks->items[0].value);
    if (!runbook_valid_var(d->in.name)) {
        rb_diag(d->c, d->pos.line, d->pos.col, "bad input name '%s'", d->in.name);
        return false;
    }
    if (toks->n < 2 || toks->items[1].key || toks->items[1].quoted) {
        rb_diag(d->c, d->pos.line, d->pos.col, "bad input declaration: missing type");
        return false;
    }
    return true;
}

/* `contact: ROLE TEXT`: one emergency contact (runbook/contacts). */
static void
parse_contact(struct rb_ctx *c, struct runbook *rb, const char *value, struct runbook_pos vp)
{
    size_t n = strcspn(value, " \t");
    char *role = pd_xstrndup(value, n);
    const char *text = value + n + strspn(value + n, " \t");

    if (runbook_contact_role(role) == NULL) {
        size_t n_roles;
        const struct contact_role *roles = runbook_contact_roles(&n_roles);
        struct pd_buf names;

        pd_buf_init(&names, 256);
        for (size_t i = 0; i < n_roles; i++)
            (void)pd_buf_appendf(&names, NULL, "%s%s", i ? ", " : "", roles[i].name);
        rb_diag(c, vp.line, vp.col, "unknown contact role '%s' (%s)", role,
                names.len ? names.data : "");
        pd_buf_free(&names);
    } else if (text[0] == '\0') {
        rb_diag(c, vp.line, vp.col, "contact %s: who and how to reach them is missing", role);
    } else {
        rb->contacts = pd_xrealloc(rb->contacts, (rb->n_contacts + 1) * sizeof(*rb->contacts));
        rb->contacts[rb->n_contacts++] = (struct runbook_contact){role, pd_xstrdup(text)};
        role = NULL;
    }
    free(role);
}

/*
 * `input: NAME TYPE [required|optional] [default=VALUE] "prompt"`. The
 * value starts at byte voff of literal line text (base: source line).
 */
static void
parse_input_decl(struct rb_ctx *c, const char *value, const char *lit, size_t voff, int base)
{
    struct input_decl d = {.c = c, .lit = lit, .voff = voff, .base = base};
    struct runbook *rb = c->rb;
    char *msg = NULL;
    int errcol, first;
    size_t i = 0;
    bool ok = false;

    d.pos = decl_pos(&d, 0);
    d.default_pos = d.pos;
    d.in.pos = d.pos;
    if (runbook_tokenize(&d.toks, value, &msg, &errcol) != 0) {
        struct runbook_pos p = decl_pos(&d, (size_t)errcol);

        rb_diag(c, p.line, p.col, "bad input declaration: %s", msg);
        goto out;
    }
    if (!decl_name(&d) || !decl_type(&d, &i) || !decl_options(&d, i))
        goto out;
    rb_check_input_default(c, &d.in, d.default_pos);
    first = rb_seen_add(&c->inputs, d.in.name, d.pos.line);
    if (first) {
        rb_diag(c, d.pos.line, d.pos.col, "duplicate input '%s' (first at line %d)", d.in.name,
                first);
        goto out;
    }
    rb_seen_add(&c->vars, d.in.name, d.pos.line);
    rb->inputs = pd_xrealloc(rb->inputs, (rb->n_inputs + 1) * sizeof *rb->inputs);
    rb->inputs[rb->n_inputs++] = d.in;
    ok = true;
out:
    if (!ok)
        rb_input_clear(&d.in);
    free(msg);
    runbook_toks_free(&d.toks);
}

static const char meta_keys[] =
    "id title use-case environment expected rto rpo drill input contact";

/* The `pgdrill` block: one `key: value` per line, `#` comments. */
static void
parse_metadata(struct rb_ctx *c, cmark_node *node, char **title_override)
{
    const char *lit = cmark_node_get_literal(node);
    int base = cmark_node_get_start_line(node) + 1;
    struct rb_seen_set keys = {0};
    struct runbook *rb = c->rb;
    size_t off = 0;

    if (lit == NULL)
        return; /* uncovered: cmark gives every code block a literal */
    while (lit[off]) {
        size_t n = strcspn(lit + off, "\n");
        char *line = pd_xstrndup(lit + off, n);
        size_t i = strspn(line, " \t");
        size_t k = i, v;
        struct runbook_pos kp = rb_lit_pos(c, base, lit, off + i);
        struct runbook_pos vp;
        char *key = NULL;
        char *value = NULL;
        size_t e = strlen(line);
        int first;
        int d;

        while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t'))
            line[--e] = '\0';
        if (line[i] == '\0' || line[i] == '#')
            goto next;
        while ((line[k] >= 'a' && line[k] <= 'z') || line[k] == '-')
            k++;
        if (k == i || line[k] != ':') {
            rb_diag(c, kp.line, kp.col, "bad metadata line (expected 'key: value')");
            goto next;
        }
        key = pd_xstrndup(line + i, k - i);
        v = k + 1 + strspn(line + k + 1, " \t");
        value = pd_xstrdup(line + v);
        vp = rb_lit_pos(c, base, lit, off + v);
        if (!runbook_word_in(meta_keys, key, strlen(key))) {
            rb_diag(c, kp.line, kp.col, "unknown metadata key '%s'", key);
            goto next;
        }
        if (strcmp(key, "input") != 0 && strcmp(key, "contact") != 0 &&
            (first = rb_seen_add(&keys, key, kp.line)) != 0) {
            rb_diag(c, kp.line, kp.col, "duplicate metadata key '%s' (first at line %d)", key,
                    first);
            goto next;
        }
        if (strcmp(key, "id") == 0) {
            c->meta_has_id = true;
            if (!runbook_valid_id(value))
                rb_diag(c, vp.line, vp.col, "bad runbook id '%s'", value);
            else
                rb->id = pd_xstrdup(value);
        } else if (strcmp(key, "title") == 0) {
            free(*title_override);
            *title_override = pd_xstrdup(value);
        } else if (strcmp(key, "use-case") == 0) {
            rb->use_case = pd_xstrdup(value);
        } else if (strcmp(key, "environment") == 0) {
            rb->environment = pd_xstrdup(value);
        } else if (strcmp(key, "drill") == 0) {
            if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0)
                rb->drill = strcmp(value, "yes") == 0;
            else
                rb_diag(c, vp.line, vp.col, "bad value '%s' for drill (expected yes or no)", value);
        } else if (strcmp(key, "input") == 0) {
            parse_input_decl(c, value, lit, off + v, base);
        } else if (strcmp(key, "contact") == 0) {
            parse_contact(c, rb, value, vp);
        } else {
            if (runbook_parse_duration(&d, value) != 0)
                rb_diag(c, vp.line, vp.col, "bad duration '%s'", value);
            else if (strcmp(key, "expected") == 0)
                rb->expected_s = d;
            else if (strcmp(key, "rto") == 0)
                rb->rto_s = d;
            else
                rb->rpo_s = d;
        }
    next:
        free(key);
        free(value);
        free(line);
        off += n;
        if (lit[off] == '\n')
            off++;
    }
    rb_seen_free(&keys);
}

/* ---- stages ---------------------------------------------------------------------------- */

/* Is node an HTML block holding `<!-- pgdrill ... -->`? Sets *body to what follows "pgdrill". */
static bool
is_pgdrill_comment(cmark_node *node, const char **body)
{
    const char *lit;
    const char *p;

    if (cmark_node_get_type(node) != CMARK_NODE_HTML_BLOCK)
        return false;
    lit = cmark_node_get_literal(node);
    if (lit == NULL)
        return false; /* uncovered: cmark gives every HTML block a literal */
    p = lit + strspn(lit, " \t");
    if (strncmp(p, "<!--", 4) != 0)
        return false;
    p += 4;
    p += strspn(p, " \t\n");
    if (strncmp(p, "pgdrill", 7) != 0 ||
        !(p[7] == ' ' || p[7] == '\t' || p[7] == '\n' || strncmp(p + 7, "-->", 3) == 0))
        return false;
    *body = p + 7;
    return true;
}

/* `<!-- pgdrill id=ID expected=DURATION always -->` right after a stage heading. */
static void
parse_stage_comment(struct rb_ctx *c, cmark_node *node, const char *body, struct runbook_stage *st)
{
    const char *lit = cmark_node_get_literal(node);
    int base = cmark_node_get_start_line(node);
    size_t boff = (size_t)(body - lit);
    const char *end = strstr(body, "-->");
    char *text = pd_xstrndup(body, end ? (size_t)(end - body) : strlen(body));
    struct runbook_toks toks;
    char *msg;
    int errcol;
    struct rb_seen_set keys = {0};

    /* Newlines inside the comment separate attributes like spaces do. */
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (runbook_tokenize(&toks, text, &msg, &errcol) != 0) {
        struct runbook_pos p = rb_lit_pos(c, base, lit, boff + (size_t)errcol);

        rb_diag(c, p.line, p.col, "%s", msg);
        free(msg);
    }
    for (size_t i = 0; i < toks.n; i++) {
        struct runbook_tok *t = &toks.items[i];
        struct runbook_pos p = rb_lit_pos(c, base, lit, boff + (size_t)t->col);
        int d;

        if (t->key == NULL && strcmp(t->value, "always") == 0) {
            if (st->always)
                rb_diag(c, p.line, p.col, "duplicate attribute 'always'");
            st->always = true;
        } else if (t->key == NULL) {
            rb_diag(c, p.line, p.col, "bad attribute '%s' (expected key=value)", t->value);
        } else if (strcmp(t->key, "always") == 0) {
            rb_diag(c, p.line, p.col, "always takes no value (write it alone: always)");
        } else if (rb_seen_add(&keys, t->key, p.line) != 0) {
            rb_diag(c, p.line, p.col, "duplicate attribute '%s'", t->key);
        } else if (strcmp(t->key, "id") == 0) {
            if (!runbook_valid_id(t->value)) {
                rb_diag(c, p.line, p.col, "bad stage id '%s'", t->value);
            } else {
                free(st->id);
                st->id = pd_xstrdup(t->value);
            }
        } else if (strcmp(t->key, "expected") == 0) {
            if (runbook_parse_duration(&d, t->value) != 0)
                rb_diag(c, p.line, p.col, "bad duration '%s'", t->value);
            else
                st->expected_s = d;
        } else {
            rb_diag(c, p.line, p.col, "unknown attribute '%s' for stage", t->key);
        }
    }
    rb_seen_free(&keys);
    runbook_toks_free(&toks);
    free(text);
}

/* The neon op row of a step, or NULL for another action or an unknown op. */
static const struct neon_action_op *
step_neon_op(const struct runbook_step *sp)
{
    if (sp->action != STEP_NEON)
        return NULL;
    return neon_action_op_find(runbook_step_attr(sp, "op"));
}

/* Is ref exactly "${PREFIX_id}" for the save=PREFIX of a step whose op creates a branch? */
static bool
names_created_branch(const struct runbook *rb, const char *ref)
{
    for (size_t i = 0; ref != NULL && i < rb->n_stages; i++) {
        for (size_t j = 0; j < rb->stages[i].n_steps; j++) {
            const struct runbook_step *sp = &rb->stages[i].steps[j];
            const struct neon_action_op *op = step_neon_op(sp);
            const char *save = runbook_step_attr(sp, "save");
            size_t n = save != NULL ? strlen(save) : 0;

            if (op == NULL || !op->creates || n == 0)
                continue;
            if (strncmp(ref, "${", 2) == 0 && strncmp(ref + 2, save, n) == 0 &&
                strcmp(ref + 2 + n, "_id}") == 0)
                return true;
        }
    }
    return false;
}

/*
 * An always stage runs after a failure, unattended more often than not: a
 * clean-up op in it may only remove a branch this drill created, named by
 * the id its creation saved (branch=${PREFIX_id} of a branch-create with
 * save=PREFIX), never by a name that could be another branch's.
 */
static void
check_always_cleanup(struct rb_ctx *c)
{
    for (size_t i = 0; i < c->rb->n_stages; i++) {
        const struct runbook_stage *st = &c->rb->stages[i];

        for (size_t j = 0; st->always && j < st->n_steps; j++) {
            const struct runbook_step *sp = &st->steps[j];
            const struct neon_action_op *op = step_neon_op(sp);

            if (op != NULL && op->cleanup &&
                !names_created_branch(c->rb, runbook_step_attr(sp, "branch")))
                rb_diag(c, sp->pos.line, sp->pos.col,
                        "always stage '%s': %s may only name a branch this drill created "
                        "(branch=${PREFIX_id} of a branch-create with save=PREFIX)",
                        st->id, op->name);
        }
    }
}

static void
stage_finish(struct rb_ctx *c)
{
    struct runbook_stage *st;

    if (c->cur_stage == SIZE_MAX)
        return;
    st = &c->rb->stages[c->cur_stage];
    st->prose = pd_buf_steal(&c->stage_prose);
    pd_buf_reset(&c->step_prose);
}

/* A level-2 heading: open a stage. Returns the node the walk continues after. */
static cmark_node *
stage_begin(struct rb_ctx *c, cmark_node *node)
{
    struct runbook *rb = c->rb;
    struct runbook_stage *st;
    cmark_node *next = cmark_node_next(node);
    const char *body;
    int line = cmark_node_get_start_line(node);
    int col = cmark_node_get_start_column(node);
    int first;

    stage_finish(c);
    rb->stages = pd_xrealloc(rb->stages, (rb->n_stages + 1) * sizeof *rb->stages);
    c->cur_stage = rb->n_stages++;
    st = &rb->stages[c->cur_stage];
    memset(st, 0, sizeof *st);
    st->pos.line = line;
    st->pos.col = col;
    st->title = heading_text(node);
    if (st->title[0] == '\0')
        rb_diag(c, line, col, "empty stage title");
    if (next != NULL && is_pgdrill_comment(next, &body)) {
        parse_stage_comment(c, next, body, st);
        node = next;
    }
    if (st->id == NULL) {
        st->id = runbook_slug(st->title);
        if (st->id[0] == '\0') {
            if (st->title[0] != '\0')
                rb_diag(c, line, col,
                        "cannot derive a stage id from title '%s' (add <!-- pgdrill id=... -->)",
                        st->title);
            free(st->id);
            st->id = pd_xasprintf("stage-%zu", rb->n_stages);
        }
    }
    first = rb_seen_add(&c->stage_ids, st->id, line);
    c->cur_stage_dup = first != 0;
    if (first)
        rb_diag(c, line, col, "duplicate stage id '%s' (first at line %d)", st->id, first);
    return node;
}

/* ---- code blocks ----------------------------------------------------------------------- */

/* Does a fenced block's last line close it? cmark runs an unclosed block to the end. */
static bool
fence_closed(struct rb_ctx *c, cmark_node *node, char fch, size_t flen)
{
    int s = cmark_node_get_start_line(node);
    int e = cmark_node_get_end_line(node);
    size_t n, i, run = 0;
    const char *l;

    if (e <= s)
        return false;
    l = rb_line(c, e, &n);
    /* The closing fence may sit behind container markers ("> ", list indentation). */
    for (i = n; i > 0 && (l[i - 1] == ' ' || l[i - 1] == '\t'); i--)
        ;
    while (i > 0 && l[i - 1] == fch) {
        i--;
        run++;
    }
    return run >= flen;
}

static int
find_action(const char *word, size_t len)
{
    for (int a = 0; a < STEP_ACTION_COUNT; a++)
        if (strlen(action_names[a]) == len && memcmp(action_names[a], word, len) == 0)
            return a;
    return -1;
}

/* The closest action name, or NULL when none is within distance max. */
static const char *
suggest_action(const char *word, size_t max)
{
    const char *best = NULL;
    size_t best_d = max + 1;

    for (int a = 0; a < STEP_ACTION_COUNT; a++) {
        size_t d = runbook_edit_distance(word, action_names[a]);

        if (d < best_d) {
            best_d = d;
            best = action_names[a];
        }
    }
    return best;
}

static void
code_block(struct rb_ctx *c, cmark_node *node, char **title_override, int *meta_line)
{
    int line = cmark_node_get_start_line(node);
    int col = cmark_node_get_start_column(node);
    size_t n, p, flen = 0, wlen;
    const char *l = rb_line(c, line, &n);
    char fch;
    size_t info, info_end;
    char *word = NULL;
    int action;

    p = col > 0 ? (size_t)col - 1 : 0;
    if (p >= n || (l[p] != '`' && l[p] != '~')) {
        prose_add(c, node); /* an indented code block */
        return;
    }
    fch = l[p];
    while (p + flen < n && l[p + flen] == fch)
        flen++;
    if (!fence_closed(c, node, fch, flen))
        rb_diag(c, line, col, "unterminated code block (no closing fence)");
    info = p + flen;
    info += strspn(l + info, " \t");
    info_end = info;
    // a NUL ends the word too: word below is a C string and wlen must be its length
    while (info_end < n && l[info_end] != ' ' && l[info_end] != '\t' && l[info_end] != '\0')
        info_end++;
    wlen = info_end - info;
    if (wlen == 0) {
        prose_add(c, node);
        return;
    }
    word = pd_xstrndup(l + info, wlen);
    if (strcmp(word, "pgdrill") == 0) {
        if (*meta_line) {
            rb_diag(c, line, col, "duplicate metadata block (first at line %d)", *meta_line);
        } else {
            *meta_line = line;
            if (c->cur_stage != SIZE_MAX)
                rb_diag(c, line, col, "metadata block after the first stage");
            parse_metadata(c, node, title_override);
        }
        goto out;
    }
    action = find_action(word, wlen);
    if (action >= 0) {
        if (c->cur_stage == SIZE_MAX)
            rb_diag(c, line, col, "step before the first stage");
        else
            rb_step_add(c, node, (enum step_action)action, (int)info_end);
        goto out;
    }
    {
        /* Not an action: prose, unless it looks like a step that went wrong. */
        char *rest = pd_xstrndup(l + info_end, n - info_end);
        struct runbook_toks toks;
        char *msg;
        int errcol;
        bool has_attrs = false;
        const char *sugg;

        runbook_tokenize(&toks, rest, &msg, &errcol);
        for (size_t i = 0; i < toks.n; i++)
            if (toks.items[i].key)
                has_attrs = true;
        runbook_toks_free(&toks);
        free(msg);
        free(rest);
        if (!has_attrs &&
            (runbook_word_in(display_langs, word, wlen) || suggest_action(word, 1) == NULL)) {
            prose_add(c, node);
            goto out;
        }
        sugg = suggest_action(word, 2);
        if (sugg)
            rb_diag(c, line, (int)info + 1, "unknown action '%s' (did you mean '%s'?)", word, sugg);
        else
            rb_diag(c, line, (int)info + 1, "unknown action '%s'", word);
    }
out:
    free(word);
}

/* Steps only count at the top level: find action blocks hidden in lists and quotes. */
static void
check_nested(struct rb_ctx *c, cmark_node *node)
{
    cmark_iter *it = cmark_iter_new(node);
    cmark_event_type ev;

    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *cur = cmark_iter_get_node(it);
        const char *info;
        size_t w;

        if (ev != CMARK_EVENT_ENTER || cur == node ||
            cmark_node_get_type(cur) != CMARK_NODE_CODE_BLOCK)
            continue;
        info = cmark_node_get_fence_info(cur);
        if (info == NULL)
            continue; /* uncovered: cmark returns "" for a block without info */
        w = strcspn(info, " \t");
        if (find_action(info, w) >= 0 || (w == 7 && strncmp(info, "pgdrill", 7) == 0))
            rb_diag(c, cmark_node_get_start_line(cur), cmark_node_get_start_column(cur),
                    "step inside a list or block quote (steps must be top-level blocks)");
    }
    cmark_iter_free(it);
}

/* ---- the document ---------------------------------------------------------------------- */

static void
walk(struct rb_ctx *c, cmark_node *doc)
{
    char *title_override = NULL;
    int title_line = 0, meta_line = 0;
    struct runbook *rb = c->rb;

    for (cmark_node *node = cmark_node_first_child(doc); node; node = cmark_node_next(node)) {
        int line = cmark_node_get_start_line(node);
        int col = cmark_node_get_start_column(node);
        const char *body;

        c->prose_added = false;
        switch (cmark_node_get_type(node)) {
        case CMARK_NODE_HEADING:
            if (cmark_node_get_heading_level(node) == 2) {
                node = stage_begin(c, node);
            } else if (cmark_node_get_heading_level(node) == 1) {
                if (title_line)
                    rb_diag(c, line, col, "duplicate title (first at line %d)", title_line);
                else if (c->cur_stage != SIZE_MAX)
                    rb_diag(c, line, col, "title after the first stage");
                else {
                    title_line = line;
                    rb->title = heading_text(node);
                    if (rb->title[0] == '\0')
                        rb_diag(c, line, col, "missing title (level-1 heading)");
                }
            } else {
                prose_add(c, node);
            }
            break;
        case CMARK_NODE_CODE_BLOCK:
            code_block(c, node, &title_override, &meta_line);
            break;
        case CMARK_NODE_HTML_BLOCK:
            if (is_pgdrill_comment(node, &body))
                rb_diag(c, line, col, "pgdrill comment must directly follow a level-2 heading");
            else if (strncmp(cmark_node_get_literal(node), "<!--", 4) != 0)
                prose_add(c, node); /* comments are for authors, the rest is shown */
            break;
        default:
            check_nested(c, node);
            prose_add(c, node);
            break;
        }
        if (!c->prose_added)
            c->prose_end = 0;
    }
    stage_finish(c);
    check_always_cleanup(c);
    rb_splice_children(c);

    for (size_t i = 0; i < c->n_undef; i++) {
        const struct rb_undef *u = &c->undef[i];
        int later = 0;

        for (size_t j = 0; j < c->vars.n; j++)
            if (strcmp(c->vars.items[j].name, u->name) == 0)
                later = c->vars.items[j].line;
        if (later)
            rb_diag(c, u->pos.line, u->pos.col, "variable '%s' used before it is defined (line %d)",
                    u->name, later);
        else
            rb_diag(c, u->pos.line, u->pos.col, "undefined variable '%s'", u->name);
    }

    if (!title_line)
        rb_diag(c, 1, 1, "missing title (level-1 heading)");
    if (!meta_line)
        rb_diag(c, 1, 1, "missing metadata block");
    else if (!c->meta_has_id)
        rb_diag(c, meta_line, 1, "missing id in metadata");
    if (rb->n_stages == 0)
        rb_diag(c, 1, 1, "runbook has no stages");
    if (title_override != NULL) {
        free(rb->title);
        rb->title = title_override;
    }
    if (rb->title == NULL)
        rb->title = pd_xstrdup("");
    if (rb->id == NULL)
        rb->id = pd_xstrdup("");
    rb->prose = pd_buf_steal(&c->intro_prose);
}

/* ---- hashes, diagnostics, entry points ------------------------------------------------- */

static void
hash_field(struct pd_sha256 *h, const char *s)
{
    char len[32];
    int n = snprintf(len, sizeof len, "%zu:", strlen(s));

    pd_sha256_update(h, len, (size_t)n);
    pd_sha256_update(h, s, strlen(s));
    pd_sha256_update(h, "\n", 1);
}

/*
 * The resume guard: what a drill's progress refers to. Prose and expected
 * durations are left out on purpose, so fixing a typo in the text does not
 * lock an interrupted drill out of `pgdrill resume`.
 */
static void
hash_stages(struct runbook *rb)
{
    struct pd_sha256 *h = pd_sha256_new();

    for (size_t i = 0; i < rb->n_stages; i++) {
        const struct runbook_stage *st = &rb->stages[i];

        hash_field(h, st->always ? "always stage" : "stage");
        hash_field(h, st->id);
        hash_field(h, st->title);
        for (size_t j = 0; j < st->n_steps; j++) {
            const struct runbook_step *sp = &st->steps[j];

            hash_field(h, "step");
            hash_field(h, runbook_action_name(sp->action));
            for (size_t k = 0; k < sp->n_attrs; k++) {
                hash_field(h, sp->attrs[k].key);
                hash_field(h, sp->attrs[k].value);
            }
            hash_field(h, "body");
            hash_field(h, sp->body);
        }
    }
    pd_sha256_final(h, rb->stages_sha256);
}

static int
diag_cmp(const void *a, const void *b)
{
    const struct runbook_diag *x = a, *y = b;

    if (x->pos.line != y->pos.line)
        return x->pos.line < y->pos.line ? -1 : 1;
    if (x->pos.col != y->pos.col)
        return x->pos.col < y->pos.col ? -1 : 1;
    return 0;
}

/* Stable sort by position (insertion sort keeps equal positions in report order). */
static void
sort_diags(struct runbook_diag *items, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct runbook_diag d = items[i];
        size_t j = i;

        while (j > 0 && diag_cmp(&items[j - 1], &d) > 0) {
            items[j] = items[j - 1];
            j--;
        }
        items[j] = d;
    }
}

char *
runbook_diag_format(const struct runbook_diag *diag)
{
    return pd_xasprintf("%s:%d:%d: %s", diag->file, diag->pos.line, diag->pos.col, diag->msg);
}

/* runbook_parse with the chain of runbooks that include this one (NULL: none). */
static int
parse_in(struct runbook **out, const char *path, const char *text, size_t len,
         struct runbook_diags *diags, const struct rb_chain *chain, struct pd_err *err)
{
    struct runbook_diags local = {0};
    struct rb_ctx c;
    struct runbook *rb = pd_xcalloc(1, sizeof *rb);
    cmark_node *doc = NULL;
    int rc = 0;

    *out = NULL;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.text = text;
    c.len = len;
    c.diags = diags ? diags : &local;
    c.first_diag = c.diags->n;
    c.rb = rb;
    c.cur_stage = SIZE_MAX;
    c.chain = chain;
    pd_buf_init(&c.step_prose, 0);
    pd_buf_init(&c.stage_prose, 0);
    pd_buf_init(&c.intro_prose, 0);
    rb->path = pd_xstrdup(path);
    pd_sha256_hex(rb->sha256, text, len);

    if (len > RUNBOOK_MAX_BYTES) {
        rc = PD_ERR_SET(err, PD_EINPUT, "%s: runbook too big (%zu bytes, limit %zu)", path, len,
                        RUNBOOK_MAX_BYTES);
        goto out;
    }
    c.lines = pd_xmalloc((len + 2) * sizeof *c.lines);
    c.lines[c.n_lines++] = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && i + 1 < len)
            c.lines[c.n_lines++] = i + 1;

    if (memchr(text, '\0', len) != NULL) {
        // cmark reads NUL as U+FFFD while the line table keeps the raw bytes,
        // and the step code would stop at it: refuse it with its position
        size_t off = (size_t)((const char *)memchr(text, '\0', len) - text), start = 0;
        int line = 1;

        for (size_t i = 0; i < off; i++) {
            if (text[i] == '\n') {
                line++;
                start = i + 1;
            }
        }
        rb_diag(&c, line, (int)(off - start) + 1, "NUL byte: a runbook must be a text file");
    } else {
        doc = cmark_parse_document(text, len, CMARK_OPT_DEFAULT);
        walk(&c, doc);
        hash_stages(rb);
    }
    {
        struct pd_buf names;

        pd_buf_init(&names, 0);
        for (size_t i = 0; i < c.vars.n; i++)
            pd_buf_appendf(&names, NULL, "%s%s", i ? " " : "", c.vars.items[i].name);
        rb->var_names = pd_buf_steal(&names);
    }

    // items is NULL while there is no diagnostic: NULL + 0 is undefined too
    if (c.diags->n > c.first_diag) {
        const struct runbook_diag *d;

        sort_diags(c.diags->items + c.first_diag, c.diags->n - c.first_diag);
        d = &c.diags->items[c.first_diag];
        rc = PD_ERR_SET(err, PD_EINPUT, "%s:%d:%d: %s", d->file, d->pos.line, d->pos.col, d->msg);
    }
out:
    if (doc != NULL)
        cmark_node_free(doc);
    free(c.lines);
    pd_buf_free(&c.step_prose);
    pd_buf_free(&c.stage_prose);
    pd_buf_free(&c.intro_prose);
    rb_seen_free(&c.vars);
    rb_seen_free(&c.stage_ids);
    rb_seen_free(&c.step_ids);
    rb_seen_free(&c.checks);
    rb_seen_free(&c.inputs);
    for (size_t i = 0; i < c.n_undef; i++)
        free(c.undef[i].name);
    free(c.undef);
    runbook_diags_free(&local);
    if (rc != 0)
        runbook_free(rb);
    else
        *out = rb;
    return rc;
}

int
runbook_parse(struct runbook **out, const char *path, const char *text, size_t len,
              struct runbook_diags *diags, struct pd_err *err)
{
    char *real = realpath(path, NULL);
    struct rb_chain root = {.path = real != NULL ? real : path};
    int rc = parse_in(out, path, text, len, diags, &root, err);

    free(real);
    return rc;
}

int
runbook_load(struct runbook **out, const char *path, struct runbook_diags *diags,
             struct pd_err *err)
{
    char *real = realpath(path, NULL);
    struct rb_chain root = {.path = real != NULL ? real : path};
    int rc = rb_load_in(out, path, &root, diags, err);

    free(real);
    return rc;
}

int
rb_load_in(struct runbook **out, const char *path, const struct rb_chain *chain,
           struct runbook_diags *diags, struct pd_err *err)
{
    FILE *f;
    struct stat st;
    char *text = NULL;
    size_t len;
    int rc;

    *out = NULL;
    f = fopen(path, "rb");
    if (f == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "%s: cannot open runbook: %s", path, strerror(errno));
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = PD_ERR_SET(err, PD_EINPUT, "%s: not a regular file", path);
        goto out;
    }
    if ((size_t)st.st_size > RUNBOOK_MAX_BYTES) {
        rc = PD_ERR_SET(err, PD_EINPUT, "%s: runbook too big (%lld bytes, limit %zu)", path,
                        (long long)st.st_size, RUNBOOK_MAX_BYTES);
        goto out;
    }
    text = pd_xmalloc((size_t)st.st_size + 1);
    len = fread(text, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        /* uncovered: a read error on a regular file we just opened */
        rc = PD_ERR_SET(err, PD_EINPUT, "%s: cannot read runbook: %s", path,
                        strerror(errno)); /* uncovered: as above */
        goto out;                         /* uncovered: as above */
    }
    text[len] = '\0';
    rc = parse_in(out, path, text, len, diags, chain, err);
out:
    free(text);
    (void)fclose(f); // read only
    return rc;
}

void
runbook_free(struct runbook *rb)
{
    if (rb == NULL)
        return;
    for (size_t i = 0; i < rb->n_stages; i++) {
        struct runbook_stage *st = &rb->stages[i];

        for (size_t j = 0; j < st->n_steps; j++)
            rb_step_clear(&st->steps[j]);
        free(st->steps);
        free(st->id);
        free(st->title);
        free(st->prose);
        free(st->scope);
    }
    free(rb->stages);
    for (size_t i = 0; i < rb->n_inputs; i++)
        rb_input_clear(&rb->inputs[i]);
    free(rb->inputs);
    free(rb->path);
    free(rb->id);
    free(rb->title);
    free(rb->use_case);
    for (size_t i = 0; i < rb->n_contacts; i++) {
        free(rb->contacts[i].role);
        free(rb->contacts[i].text);
    }
    free(rb->contacts);
    free(rb->environment);
    free(rb->prose);
    free(rb->var_names);
    free(rb);
}

void
runbook_diags_free(struct runbook_diags *diags)
{
    if (diags == NULL)
        return;
    for (size_t i = 0; i < diags->n; i++) {
        free(diags->items[i].file);
        free(diags->items[i].msg);
    }
    PD_FREE(diags->items);
    diags->n = 0;
}

const char *
runbook_step_attr(const struct runbook_step *step, const char *key)
{
    for (size_t i = 0; i < step->n_attrs; i++)
        if (strcmp(step->attrs[i].key, key) == 0)
            return step->attrs[i].value;
    return NULL;
}

bool
runbook_is_training(const struct runbook *rb)
{
    return rb != NULL && rb->id != NULL &&
           (strcmp(rb->id, "training") == 0 || strncmp(rb->id, "training-", 9) == 0);
}

const struct runbook_input *
runbook_find_input(const struct runbook *rb, const char *name)
{
    for (size_t i = 0; i < rb->n_inputs; i++)
        if (strcmp(rb->inputs[i].name, name) == 0)
            return &rb->inputs[i];
    return NULL;
}
