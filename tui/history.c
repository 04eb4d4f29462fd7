/* history screen: per-stage durations across the drills of one runbook. */
#include "timeline/history.h"

#include <stdlib.h>

#include "pd_mem.h"
#include "views.h"

void
tui_history_show(struct tui *t, const char *runbook_id)
{
    struct history h;
    struct pd_err err = {0};
    char *text, *title;

    if (history_load(&h, t->opts->home, runbook_id, &err) != 0) {
        tui_status(t, "history: %s", err.msg);
        return;
    }
    text = history_render(&h, draw_cols() - 2);
    title = pd_xasprintf("Drill history: %s", runbook_id);
    tui_textview_run(t, title, text, "q close  j/k PgUp/PgDn scroll", false, NULL);
    free(title);
    free(text);
    history_clear(&h);
}
