/* edit: one-line UTF-8 text editing. */
#include "edit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pd_mem.h"

void
tui_edit_init(struct tui_edit *e, const char *initial)
{
    size_t n = initial ? strlen(initial) : 0;

    e->cap = n + 64;
    e->buf = pd_xmalloc(e->cap);
    memcpy(e->buf, initial ? initial : "", n);
    e->buf[n] = '\0';
    e->len = n;
    e->cursor = n;
}

void
tui_edit_free(struct tui_edit *e)
{
    PD_FREE(e->buf);
    e->len = e->cap = e->cursor = 0;
}

void
tui_edit_insert(struct tui_edit *e, int ch)
{
    char mb[MB_LEN_MAX];
    mbstate_t st;

    memset(&st, 0, sizeof(st));
    size_t n = wcrtomb(mb, (wchar_t)ch, &st);
    if (n == (size_t)-1 || ch < 32 || ch == 127)
        return; // not representable or a control character: nothing to insert
    if (e->len + n + 1 > e->cap) {
        e->cap = (e->len + n + 1) * 2;
        e->buf = pd_xrealloc(e->buf, e->cap);
    }
    memmove(e->buf + e->cursor + n, e->buf + e->cursor, e->len - e->cursor + 1);
    memcpy(e->buf + e->cursor, mb, n);
    e->len += n;
    e->cursor += n;
}

static bool
is_cont(char c)
{
    return ((unsigned char)c & 0xC0) == 0x80;
}

static size_t
prev_char(const struct tui_edit *e, size_t pos)
{
    if (pos == 0)
        return 0;
    pos--;
    while (pos > 0 && is_cont(e->buf[pos]))
        pos--;
    return pos;
}

static size_t
next_char(const struct tui_edit *e, size_t pos)
{
    if (pos >= e->len)
        return e->len;
    pos++;
    while (pos < e->len && is_cont(e->buf[pos]))
        pos++;
    return pos;
}

static void
delete_range(struct tui_edit *e, size_t from, size_t to)
{
    memmove(e->buf + from, e->buf + to, e->len - to + 1);
    e->len -= to - from;
    e->cursor = from;
}

void
tui_edit_apply(struct tui_edit *e, enum tui_request req)
{
    switch (req) {
    case REQ_EDIT_BACKSPACE:
        if (e->cursor > 0)
            delete_range(e, prev_char(e, e->cursor), e->cursor);
        break;
    case REQ_EDIT_DELETE:
        if (e->cursor < e->len) {
            size_t c = e->cursor;
            delete_range(e, c, next_char(e, c));
        }
        break;
    case REQ_EDIT_KILL:
        delete_range(e, 0, e->len);
        break;
    case REQ_EDIT_LEFT:
        e->cursor = prev_char(e, e->cursor);
        break;
    case REQ_EDIT_RIGHT:
        e->cursor = next_char(e, e->cursor);
        break;
    case REQ_EDIT_HOME:
        e->cursor = 0;
        break;
    case REQ_EDIT_END:
        e->cursor = e->len;
        break;
    default:
        break;
    }
}

char *
tui_edit_steal(struct tui_edit *e)
{
    char *s = e->buf;

    e->buf = NULL;
    tui_edit_free(e);
    tui_edit_init(e, "");
    return s;
}
