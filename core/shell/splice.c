#include "shell/splice.h"

#include <stdlib.h>
#include <string.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "shell/shell.h"

enum {
    K_PLAIN,   /* words */
    K_SQ,      /* '...' */
    K_DQ,      /* "..." */
    K_BQ,      /* `...` */
    K_CMD,     /* $( ... ) */
    K_COMMENT, /* # ... up to the end of the line */
    K_DOC,     /* here-document body, expanded */
    K_DOC_LIT, /* here-document body with a quoted delimiter: literal */
};

void
shell_splice_init(struct shell_splice *s, const char *text)
{
    memset(s, 0, sizeof(*s));
    s->text = text != NULL ? text : "";
    s->depth = 1;
    s->frames[0].kind = K_PLAIN;
}

static struct shell_splice_frame *
top(struct shell_splice *s)
{
    return &s->frames[s->depth - 1];
}

static void
push(struct shell_splice *s, int kind)
{
    if (s->depth == SHELL_SPLICE_DEPTH) {
        s->broken = true;
        return;
    }
    memset(&s->frames[s->depth], 0, sizeof(s->frames[0]));
    s->frames[s->depth++].kind = kind;
    if (kind == K_CMD || kind == K_BQ)
        s->prev = '\0'; // a new command starts: # and keywords are words here
}

static void
pop(struct shell_splice *s)
{
    if (s->depth > 1)
        s->depth--;
    else
        s->broken = true; // a closing quote or paren the lexer never saw open
}

static bool
word_start(char c)
{
    return c == '\0' || strchr(" \t\n;&|()", c) != NULL;
}

/* The next pending here-document body begins (we are at the start of its first line). */
static void
doc_begin(struct shell_splice *s)
{
    if (s->n_pending == 0)
        return;
    if (s->depth == SHELL_SPLICE_DEPTH) {
        s->broken = true;
        return;
    }
    s->frames[s->depth++] = s->pending[0];
    memmove(&s->pending[0], &s->pending[1], (s->n_pending - 1) * sizeof(s->pending[0]));
    s->n_pending--;
}

/* At "<<" in word context: read the delimiter word and queue the body. */
static void
doc_declare(struct shell_splice *s, size_t to)
{
    const char *t = s->text;
    struct shell_splice_frame d;
    size_t j = s->pos + 2, n = 0;
    bool literal = false;

    memset(&d, 0, sizeof(d));
    if (t[j] == '<') { // bash's here-string <<<: no body follows
        s->pos = j + 1;
        s->prev = '<';
        return;
    }
    if (t[j] == '-') {
        d.strip_tabs = true;
        j++;
    }
    while (t[j] == ' ' || t[j] == '\t')
        j++;
    while (t[j] != '\0' && strchr(" \t\n;&|<>()", t[j]) == NULL) {
        char q = t[j];

        if (q == '\'' || q == '"') {
            literal = true;
            for (j++; t[j] != '\0' && t[j] != q; j++)
                if (n < sizeof(d.delim) - 1)
                    d.delim[n++] = t[j];
            if (t[j] == q)
                j++;
            continue;
        }
        if (q == '\\' && t[j + 1] != '\0') {
            literal = true;
            j++;
        }
        if (n < sizeof(d.delim) - 1)
            d.delim[n++] = t[j];
        j++;
    }
    // no delimiter, one too long to compare, a value spliced into it, or too many
    if (n == 0 || n >= sizeof(d.delim) - 1 || j > to || s->n_pending == SHELL_SPLICE_HEREDOC) {
        s->broken = true;
        return;
    }
    d.delim[n] = '\0';
    d.kind = literal ? K_DOC_LIT : K_DOC;
    s->pending[s->n_pending++] = d;
    s->pos = j;
    s->prev = 'x';
}

/* At the start of a body line: when it is the delimiter, step over it and leave the body. */
static bool
doc_end(struct shell_splice *s, size_t to)
{
    const struct shell_splice_frame *f = top(s);
    const char *p = s->text + s->pos;
    size_t n = strlen(f->delim);

    if (f->strip_tabs)
        p += strspn(p, "\t");
    if (strncmp(p, f->delim, n) != 0 || (p[n] != '\n' && p[n] != '\0'))
        return false;
    p += n;
    if (*p == '\n')
        p++;
    if ((size_t)(p - s->text) > to) {
        s->broken = true;
        return true;
    }
    s->pos = (size_t)(p - s->text);
    pop(s);
    s->prev = '\n';
    doc_begin(s);
    return true;
}

/* True when word (a shell keyword) starts at p and ends there. */
static bool
keyword_at(const char *p, const char *word)
{
    size_t n = strlen(word);

    return strncmp(p, word, n) == 0 && (p[n] == '\0' || strchr(" \t\n;&|()", p[n]) != NULL);
}

/* One step of the lexer in word context (plain, `...`, $( )). */
static void
word_char(struct shell_splice *s, size_t to)
{
    struct shell_splice_frame *f = top(s);
    const char *t = s->text;
    size_t i = s->pos;
    char c = t[i];

    if (c == '\\' && t[i + 1] != '\0') {
        s->pos += 2;
        s->prev = 'x';
        return;
    }
    if (c == '#' && word_start(s->prev)) {
        push(s, K_COMMENT);
        s->pos++;
        return;
    }
    if (f->kind == K_CMD && word_start(s->prev)) {
        if (keyword_at(t + i, "case"))
            f->cases++;
        else if (keyword_at(t + i, "esac") && f->cases > 0)
            f->cases--;
    }
    if (c == '<' && t[i + 1] == '<') {
        doc_declare(s, to);
        return;
    }
    s->pos++;
    s->prev = c;
    if (c == '\'') {
        push(s, K_SQ);
    } else if (c == '"') {
        push(s, K_DQ);
    } else if (c == '`') {
        if (f->kind == K_BQ)
            pop(s);
        else
            push(s, K_BQ);
    } else if (c == '$' && t[i + 1] == '(') {
        push(s, K_CMD);
        s->pos++;
        s->prev = '(';
    } else if (c == '(' && f->kind == K_CMD) {
        f->parens++;
    } else if (c == ')' && f->kind == K_CMD) {
        if (f->parens > 0)
            f->parens--;
        else if (f->cases == 0) // else it closes a case pattern
            pop(s);
    } else if (c == '\n' && s->n_pending > 0) {
        doc_begin(s);
    }
}

/* Read the template up to offset to (exclusive). */
static void
advance(struct shell_splice *s, size_t to)
{
    const char *t = s->text;

    while (s->pos < to && !s->broken) {
        struct shell_splice_frame *f = top(s);
        size_t i = s->pos;
        char c = t[i];

        switch (f->kind) {
        case K_SQ:
            if (c == '\'')
                pop(s);
            s->pos++;
            break;
        case K_COMMENT:
            if (c == '\n')
                pop(s); // the newline itself belongs to the enclosing context
            else
                s->pos++;
            break;
        case K_DQ:
            if (c == '\\' && t[i + 1] != '\0') {
                s->pos += 2;
                break;
            }
            if (c == '"')
                pop(s);
            else if (c == '`')
                push(s, K_BQ);
            else if (c == '$' && t[i + 1] == '(') {
                push(s, K_CMD);
                s->pos++;
            }
            s->pos++;
            break;
        case K_DOC:
        case K_DOC_LIT:
            if ((i == 0 || t[i - 1] == '\n') && doc_end(s, to))
                break;
            if (f->kind == K_DOC) {
                if (c == '\\' && t[i + 1] != '\0') {
                    s->pos += 2;
                    break;
                }
                if (c == '`')
                    push(s, K_BQ);
                else if (c == '$' && t[i + 1] == '(') {
                    push(s, K_CMD);
                    s->pos++;
                }
            }
            s->pos++;
            break;
        default:
            word_char(s, to);
            break;
        }
    }
    if (s->pos > to)
        s->broken = true;
}

static void
escape_into(struct pd_buf *b, const char *v, const char *special)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (strchr(special, *p) != NULL)
            pd_buf_append(b, "\\", 1, NULL);
        pd_buf_append(b, p, 1, NULL);
    }
}

int
shell_splice_quote(char **out, struct shell_splice *s, size_t at, size_t ref_len, const char *name,
                   const char *value, struct pd_err *err)
{
    const struct shell_splice_frame *f;
    struct pd_buf b;
    char *q;

    *out = NULL;
    if (at < s->pos)
        s->broken = true;
    advance(s, at);
    if (s->broken)
        return PD_ERR_SET(err, PD_EINPUT,
                          "variable '%s': cannot tell how the sh script quotes it here (unbalanced "
                          "quotes or here-document); write ${%s} as a separate word",
                          name, name);
    f = top(s);
    pd_buf_init(&b, 0);
    switch (f->kind) {
    case K_SQ:
        // close the quote, add the word, reopen it
        q = shell_quote(value);
        pd_buf_appendf(&b, NULL, "'%s'", q);
        free(q);
        break;
    case K_DQ:
        escape_into(&b, value, "\\$`\"");
        break;
    case K_COMMENT:
    case K_DOC:
    case K_DOC_LIT: {
        const char *v = value;

        if (strchr(value, '\n') != NULL) {
            pd_buf_free(&b);
            return PD_ERR_SET(err, PD_EINPUT,
                              "variable '%s': a value with a line break cannot go into %s", name,
                              f->kind == K_COMMENT ? "a comment" : "a here-document");
        }
        if (f->kind != K_COMMENT) {
            if (f->strip_tabs)
                v += strspn(v, "\t");
            // a line that becomes the delimiter would end the document early
            if (*v != '\0' && strstr(f->delim, v) != NULL) {
                pd_buf_free(&b);
                return PD_ERR_SET(err, PD_EINPUT,
                                  "variable '%s': the value could end the here-document '%s'", name,
                                  f->delim);
            }
        }
        if (f->kind == K_DOC)
            escape_into(&b, value, "\\$`");
        else if (f->kind == K_DOC_LIT)
            pd_buf_append(&b, value, strlen(value), NULL);
        else {
            q = shell_quote(value);
            pd_buf_append(&b, q, strlen(q), NULL);
            free(q);
        }
        break;
    }
    default: // words: plain, `...`, $( )
        q = shell_quote(value);
        pd_buf_append(&b, q, strlen(q), NULL);
        free(q);
        break;
    }
    // each enclosing `...` strips one level of \ before \ ` and $
    for (size_t k = s->depth; k-- > 0;) {
        if (s->frames[k].kind == K_BQ) {
            struct pd_buf e;
            char *inner = pd_buf_steal(&b);

            pd_buf_init(&e, 0);
            escape_into(&e, inner != NULL ? inner : "", "\\`$");
            free(inner);
            b = e;
        }
    }
    *out = pd_buf_steal(&b);
    if (*out == NULL)
        *out = pd_xstrdup("");
    pd_buf_free(&b);
    s->pos = at + ref_len;
    s->prev = 'x';
    return 0;
}
