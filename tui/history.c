/* history screen: per-stage durations across the drills of one runbook. */
#include "timeline/history.h"

#include <stdlib.h>

#include "pd_mem.h"
#include "timeline/lines.h"
#include "views.h"

void
tui_history_show(struct tui *t, const char *runbook_id)
{
    struct history h;
    struct pd_err err = {0};
    struct lines lines = {0};
    char *title;

    if (history_load(&h, t->opts->home, runbook_id, &err) != 0) {
        tui_status(t, "history: %s", err.msg);
        return;
    }
    history_render_lines(&lines, &h, draw_cols() - 2);
    title = pd_xasprintf("Drill history: %s", runbook_id);
    tui_textview_run(t, title, &lines, "q close  j/k PgUp/PgDn scroll", false, NULL);
    free(title);
    lines_clear(&lines);
    history_clear(&h);
}
