/*
 * plan screen: what the drill will create or change, shown by the engine
 * when it is about to run the first step that changes something, with
 * every value the operator gave by then. Nothing has changed yet.
 */
#include <stdlib.h>

#include "engine/engine.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/runbook.h"
#include "views.h"

/* text wrapped to the screen: a long step continues indented under its description. */
static char *
wrapped(const char *text)
{
    struct tui_lines lines = {0};
    struct pd_buf b;

    tui_text_wrap(&lines, text, draw_cols() - 2);
    pd_buf_init(&b, 0);
    for (size_t i = 0; i < lines.n; i++)
        pd_buf_appendf(&b, NULL, "%s\n", lines.items[i]);
    tui_lines_free(&lines);
    return pd_buf_steal(&b);
}

int
tui_plan_needed(const struct engine_plan *p, void *payload)
{
    struct tui *t = payload;
    bool accepted = false;
    enum screen_result r;
    char *title, *line, *text = wrapped(p->text);

    title = pd_xasprintf("Plan: %s (nothing has changed yet)", t->rb->id);
    r = tui_textview_run(t, title, text,
                         p->accepted ? "Enter go on (accepted by --yes)"
                                     : "Enter accept and go on   q decline (nothing is changed)",
                         true, &accepted);
    free(title);
    free(text);
    if (r == SCREEN_QUIT || t->aborted || t->stop) {
        t->stop = true;
        return PD_EINTR;
    }
    accepted = accepted || p->accepted;
    line = pd_xasprintf("plan %s before step %s", accepted ? "accepted" : "declined", p->step->id);
    tui_out_push(t, accepted ? STYLE_DIM : STYLE_WARN, line);
    free(line);
    tui_redraw(t);
    return accepted ? 0 : PD_ECHECK;
}
