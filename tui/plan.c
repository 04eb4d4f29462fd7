/*
 * plan screen: what the drill will create or change, shown by the engine
 * when it is about to run the first step that changes something, with
 * every value the operator gave by then. Nothing has changed yet.
 */
#include <stdlib.h>

#include "engine/engine.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/runbook.h"
#include "timeline/lines.h"
#include "views.h"

/* The plan's lines wrapped to the screen: a long step continues indented under its description. */
static void
wrapped(struct lines *out, const struct lines *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        struct tui_lines rows = {0};

        tui_text_wrap(&rows, plan->items[i].text, draw_cols() - 2);
        for (size_t k = 0; k < rows.n; k++)
            lines_push(out, plan->items[i].kind, rows.items[k]);
        tui_lines_free(&rows);
    }
    // the view has always ended with one empty row (the text's final newline)
    lines_push(out, LINE_PLAIN, "");
}

int
tui_plan_needed(const struct engine_plan *p, void *payload)
{
    struct tui *t = payload;
    bool accepted = false;
    enum screen_result r;
    struct lines text = {0};
    char *title, *line;

    wrapped(&text, p->lines);
    title = pd_xasprintf("Plan: %s (nothing has changed yet)", t->rb->id);
    r = tui_textview_run(t, title, &text,
                         p->accepted ? "Enter go on (accepted by --yes)"
                                     : "Enter accept and go on   q decline (nothing is changed)",
                         true, &accepted);
    free(title);
    lines_clear(&text);
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
