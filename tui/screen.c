/* screen: painting the top screen and its dialog, and the key loop every screen runs in. */
#include "screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "views.h"

/* ------------------------------------------------------------- drawing */

static void
draw_dialog(struct tui_dialog *d)
{
    int cols = draw_cols(), rows = draw_rows();
    int w = cols - 4 > 74 ? 74 : cols - 4;
    struct tui_lines body = {0}, error = {0};

    // cppcheck-suppress knownConditionTrueFalse ; it does not know draw_cols()
    if (w < 20)
        w = cols;
    tui_text_wrap(&body, d->text, w - 4);
    // the reason an answer was refused is wrapped, never cut: it often ends
    // with the form that is expected
    if (d->error)
        tui_text_wrap(&error, d->error, w - 4);
    bool input = d->keymap == KEYMAP_EDIT;
    int extra = (input ? 2 : 0) + (int)error.n + 1; // input, error, hints
    int max_body = rows - 2 - extra - 2;
    if (max_body < 1)
        max_body = 1;
    int n_body = (int)body.n > max_body ? max_body : (int)body.n;
    // text taller than the screen scrolls (Up/Down, PgUp/PgDn): nothing is lost
    if (d->scroll > (int)body.n - n_body)
        d->scroll = (int)body.n - n_body;
    if (d->scroll < 0)
        d->scroll = 0;
    d->page = n_body;
    int h = 2 + n_body + extra + 1;
    if (h > rows)
        h = rows;
    // over the output pane, above the status line: the stage list, the
    // prose and the action stay readable while the operator answers
    int top = rows - 1 - h > 0 ? rows - 1 - h : 0, left = (cols - w) / 2;
    enum draw_style frame = d->warn ? STYLE_WARN : STYLE_DIALOG;

    draw_box(top, left, h, w, frame);
    if (d->title) {
        char title[128];
        snprintf(title, sizeof(title), " %s ", d->title);
        draw_text(top, left + 2, w - 4, d->warn ? STYLE_WARN : STYLE_DIALOG_TITLE, title);
    }
    int r = top + 1;
    for (int i = 0; i < n_body; i++)
        draw_text(r++, left + 2, w - 4, STYLE_DIALOG, body.items[d->scroll + i]);
    // cppcheck-suppress knownConditionTrueFalse ; n_body is capped at max_body
    if ((int)body.n > n_body) {
        bool below = d->scroll + n_body < (int)body.n;
        const char *more = below && d->scroll > 0 ? " PgUp/PgDn more "
                           : below                ? " PgDn more "
                                                  : " PgUp more ";
        int mw = tui_text_width(more);
        draw_text(r - 1, left + w - 4, 1, STYLE_DIALOG, below ? draw_symbol(SYM_ELLIPSIS) : " ");
        if (mw < w - 4)
            draw_text(top + h - 1, left + w - 2 - mw, mw, frame, more);
    }
    if (input) {
        r++;
        int fw = w - 6; // "> " prefix, the field, and room for the cursor
        draw_text(r, left + 2, 2, STYLE_DIALOG_TITLE, "> ");
        draw_fill(r, left + 4, fw, STYLE_INPUT);
        // show the tail when the text is wider than the field
        const char *s = d->edit.buf;
        char *before = pd_xstrndup(s, d->edit.cursor);
        int cw = tui_text_width(before);
        free(before);
        size_t skip = 0;
        while (cw >= fw && s[skip]) {
            int one;
            size_t n = tui_text_fit(s + skip, strlen(s + skip), 1, &one);
            if (n == 0)
                n = 1;
            skip += n;
            cw -= one ? one : 1;
        }
        draw_text(r, left + 4, fw, STYLE_INPUT, s + skip);
        draw_cursor(r, left + 4 + cw);
        r++;
    }
    for (size_t i = 0; i < error.n && r < top + h - 2; i++)
        draw_text(r++, left + 2, w - 4, STYLE_WARN, error.items[i]);
    if (d->hint)
        draw_text(top + h - 2, left + 2, w - 4, STYLE_DIM, d->hint);
    tui_lines_free(&error);
    tui_lines_free(&body);
}

void
tui_redraw(struct tui *t)
{
    int rows = draw_rows();

    draw_begin();
    if (t->top)
        for (int r = 0; r < rows; r++)
            t->top->ops->draw_line(t, t->top, r);
    if (t->dialog)
        draw_dialog(t->dialog);
    draw_finish();
}

/* ------------------------------------------------------------- screens */

static size_t
visible_items(const struct tui_screen *s)
{
    return s->body_rows > 0 ? (size_t)s->body_rows : 1;
}

static void
scroll_to_cursor(struct tui_screen *s)
{
    size_t vis = visible_items(s);

    if (s->cursor < s->top)
        s->top = s->cursor;
    if (s->cursor >= s->top + vis)
        s->top = s->cursor - vis + 1;
}

enum screen_result
tui_screen_generic(struct tui *t, struct tui_screen *s, enum tui_request req)
{
    size_t vis = visible_items(s);
    size_t last = s->n_lines > 0 ? s->n_lines - 1 : 0;
    size_t *pos = s->has_cursor ? &s->cursor : &s->top;
    size_t max = s->has_cursor ? last : (s->n_lines > vis ? s->n_lines - vis : 0);
    size_t step = 0;
    bool up = false;

    switch (req) {
    case REQ_MOVE_UP:
        step = 1, up = true;
        break;
    case REQ_MOVE_DOWN:
        step = 1;
        break;
    case REQ_MOVE_PAGE_UP:
        step = vis, up = true;
        break;
    case REQ_MOVE_PAGE_DOWN:
        step = vis;
        break;
    case REQ_MOVE_HALF_UP:
        step = vis / 2 ? vis / 2 : 1, up = true;
        break;
    case REQ_MOVE_HALF_DOWN:
        step = vis / 2 ? vis / 2 : 1;
        break;
    case REQ_MOVE_FIRST:
        *pos = 0;
        break;
    case REQ_MOVE_LAST:
        *pos = max;
        break;
    case REQ_HELP:
        if (s->ops != &tui_help_ops)
            return tui_screen_run(t, &tui_help_ops, NULL) == SCREEN_QUIT ? SCREEN_QUIT : SCREEN_OK;
        return SCREEN_OK;
    case REQ_PROMPT:
        tui_command_line(t);
        return t->aborted ? SCREEN_QUIT : SCREEN_OK;
    case REQ_TIMELINE:
        tui_timeline_show(t);
        return t->aborted ? SCREEN_QUIT : SCREEN_OK;
    case REQ_REFRESH:
        draw_invalidate();
        return SCREEN_OK;
    default:
        return SCREEN_UNHANDLED;
    }
    if (step) {
        if (up)
            *pos = *pos > step ? *pos - step : 0;
        else
            *pos = *pos + step > max ? max : *pos + step;
    }
    if (s->has_cursor)
        scroll_to_cursor(s);
    return SCREEN_OK;
}

struct tui_screen *
tui_screen_new(struct tui *t, const struct screen_ops *ops, void *data)
{
    struct tui_screen *s = pd_xcalloc(1, sizeof(*s));

    s->ops = ops;
    s->below = t->top;
    s->data = data;
    s->body_rows = 1;
    return s;
}

enum screen_result
tui_screen_run(struct tui *t, const struct screen_ops *ops, void *data)
{
    // on the heap: the stack of screens outlives no frame, but t->top points at it
    struct tui_screen *s = tui_screen_new(t, ops, data);
    struct tui_dialog *saved = t->dialog;
    struct pd_err err = {0};
    enum screen_result res = SCREEN_CLOSE;

    if (ops->open && ops->open(t, s, &err) != 0) {
        tui_status(t, "%s", err.msg);
        free(s);
        return SCREEN_CLOSE;
    }
    t->dialog = NULL;
    t->top = s;
    PD_FREE(t->status);
    for (;;) {
        tui_redraw(t);
        int key = tui_input_get(&t->in, TUI_POLL_MS);
        if (tui_signalled(t)) {
            res = SCREEN_QUIT;
            break;
        }
        if (key == TUI_KEY_ABORT) {
            t->aborted = true;
            res = SCREEN_QUIT;
            break;
        }
        if (key == TUI_KEY_NONE)
            continue;
        if (tui_key_is_resize(key)) {
            draw_invalidate();
            continue;
        }
        enum tui_request req = tui_request_for_key(ops->keymap, key);
        if (req == REQ_NONE)
            continue;
        free(t->status);
        t->status = NULL;
        enum screen_result r = ops->handle ? ops->handle(t, s, req) : SCREEN_UNHANDLED;
        if (r == SCREEN_UNHANDLED)
            r = tui_screen_generic(t, s, req);
        if (r == SCREEN_UNHANDLED && (req == REQ_QUIT || req == REQ_BACK))
            r = SCREEN_CLOSE;
        if (r == SCREEN_CLOSE || r == SCREEN_QUIT) {
            res = r;
            break;
        }
    }
    if (ops->close)
        ops->close(t, s);
    t->top = s->below;
    free(s);
    t->dialog = saved;
    return res;
}

bool
tui_key_is_resize(int key)
{
    return key == TUI_KEY_FN + KEY_RESIZE;
}
