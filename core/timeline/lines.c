/* lines: text cut into {kind, text} lines, with the kinds its producer marked. */
#include "timeline/lines.h"

#include <stdlib.h>
#include <string.h>

#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_redact.h"

void
lines_mark(struct line_marks *m, const struct pd_buf *b, enum line_kind kind)
{
    if (m == NULL)
        return;
    m->offsets = pd_xrealloc(m->offsets, (m->n + 1) * sizeof(*m->offsets));
    m->kinds = pd_xrealloc(m->kinds, (m->n + 1) * sizeof(*m->kinds));
    m->offsets[m->n] = b->len;
    m->kinds[m->n] = kind;
    m->n++;
}

void
lines_marks_append(struct line_marks *m, const struct line_marks *src, size_t base)
{
    if (m == NULL || src == NULL || src->n == 0)
        return;
    m->offsets = pd_xrealloc(m->offsets, (m->n + src->n) * sizeof(*m->offsets));
    m->kinds = pd_xrealloc(m->kinds, (m->n + src->n) * sizeof(*m->kinds));
    for (size_t i = 0; i < src->n; i++) {
        m->offsets[m->n + i] = base + src->offsets[i];
        m->kinds[m->n + i] = src->kinds[i];
    }
    m->n += src->n;
}

void
lines_marks_clear(struct line_marks *m)
{
    free(m->offsets);
    free(m->kinds);
    memset(m, 0, sizeof(*m));
}

void
lines_push(struct lines *out, enum line_kind kind, const char *text)
{
    out->items = pd_xrealloc(out->items, (out->n + 1) * sizeof(*out->items));
    out->items[out->n].kind = kind;
    out->items[out->n].text = pd_xstrdup(text != NULL ? text : "");
    out->n++;
}

/* The kind of the non-empty line starting at start: the last mark made for it. */
static enum line_kind
kind_at(const struct line_marks *m, size_t *next, size_t start)
{
    enum line_kind kind = LINE_PLAIN;

    // marks are in offset order; those at or before start fall to this line
    while (m != NULL && *next < m->n && m->offsets[*next] <= start) {
        kind = m->kinds[*next];
        (*next)++;
    }
    return kind;
}

void
lines_split(struct lines *out, const char *text, const struct line_marks *m, bool redact)
{
    size_t next = 0, start = 0, len = strlen(text);

    while (start < len) {
        size_t n = strcspn(text + start, "\n");
        enum line_kind kind = LINE_PLAIN;
        char *line = pd_xstrndup(text + start, n);

        if (n > 0)
            kind = kind_at(m, &next, start);
        if (redact) {
            char *r = pd_redact(line);

            free(line);
            line = r;
        }
        lines_push(out, kind, line);
        free(line);
        start += n + 1;
    }
}

void
lines_clear(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
    memset(l, 0, sizeof(*l));
}
