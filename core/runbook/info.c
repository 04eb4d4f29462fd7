/*
 * runbook: tokenizer for info strings, stage comments and `input:` lines.
 *
 * cmark unescapes backslashes and entities in the info strings it returns,
 * which would change our quoting rules, so the parser hands this tokenizer
 * the raw text from the source line instead.
 */
#include <stdlib.h>
#include <string.h>

#include "pd_mem.h"
#include "runbook/runbook.intern.h"

static bool
is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool
is_key_start(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool
is_key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static void
push(struct runbook_toks *toks, char *key, char *value, bool quoted, int col, int value_col)
{
    struct runbook_tok *t;

    toks->items = pd_xrealloc(toks->items, (toks->n + 1) * sizeof *toks->items);
    t = &toks->items[toks->n++];
    t->key = key;
    t->value = value;
    t->quoted = quoted;
    t->col = col;
    t->value_col = value_col;
}

/*
 * Read a double-quoted string starting at s[*i] == '"'. Returns the
 * unescaped value, or NULL when the closing quote is missing.
 */
static char *
read_quoted(const char *s, size_t *i)
{
    size_t j = *i + 1;
    char *out = pd_xmalloc(strlen(s + j) + 1);
    size_t n = 0;

    while (s[j] && s[j] != '"') {
        if (s[j] == '\\' && (s[j + 1] == '"' || s[j + 1] == '\\')) {
            out[n++] = s[j + 1];
            j += 2;
            continue;
        }
        out[n++] = s[j++];
    }
    if (s[j] != '"') {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    *i = j + 1;
    return out;
}

int
runbook_tokenize(struct runbook_toks *out, const char *s, char **msg, int *col)
{
    size_t i = 0;

    out->items = NULL;
    out->n = 0;
    *msg = NULL;
    *col = 0;
    for (;;) {
        size_t start, k;
        char *key = NULL;
        char *value;
        bool quoted = false;
        size_t vstart;

        while (is_space(s[i]))
            i++;
        if (s[i] == '\0')
            return 0;
        start = i;
        k = i;
        if (is_key_start(s[k])) {
            while (is_key_char(s[k]))
                k++;
            if (s[k] == '=') {
                key = pd_xstrndup(s + i, k - i);
                i = k + 1;
            }
        }
        vstart = i;
        if (s[i] == '"') {
            value = read_quoted(s, &i);
            if (value == NULL) {
                *msg = key ? pd_xasprintf("unterminated quote in attribute '%s'", key)
                           : pd_xstrdup("unterminated quote");
                *col = (int)start;
                free(key);
                return -1;
            }
            quoted = true;
            vstart++;
            if (s[i] != '\0' && !is_space(s[i])) {
                *msg = key ? pd_xasprintf("text after closing quote in attribute '%s'", key)
                           : pd_xstrdup("text after closing quote");
                *col = (int)i;
                free(key);
                free(value);
                return -1;
            }
        } else {
            while (s[i] && !is_space(s[i]))
                i++;
            value = pd_xstrndup(s + vstart, i - vstart);
        }
        push(out, key, value, quoted, (int)start, (int)vstart);
    }
}

void
runbook_toks_free(struct runbook_toks *toks)
{
    for (size_t i = 0; i < toks->n; i++) {
        free(toks->items[i].key);
        free(toks->items[i].value);
    }
    PD_FREE(toks->items);
    toks->n = 0;
}
