/*
 * timeline screen, and the text view shared with the history and plan
 * screens: lines scrolled with the movement keys, each styled by the kind
 * core gave it (one table), painted only through draw.c.
 */
#include "timeline/timeline.h"

#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "drill/drill.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "timeline/lines.h"
#include "views.h"

struct textview {
    const char *title;
    const char *hint;
    struct tui_lines lines;
    enum line_kind *kinds; /* one per line */
    bool accept_keys;
    bool *accepted;
};

/* How each kind of line looks. */
static const enum draw_style line_styles[] = {
    [LINE_PLAIN] = STYLE_NORMAL,       [LINE_HEADING] = STYLE_TITLE,   [LINE_CHANGE] = STYLE_WARN,
    [LINE_CONFIRM] = STYLE_RUNNING,    [LINE_REGRESSION] = STYLE_WARN, [LINE_WARN] = STYLE_WARN,
    [LINE_RECOMMENDED] = STYLE_PASSED, [LINE_LOSS] = STYLE_PASSED,
};

static enum draw_style
line_style(enum line_kind kind)
{
    if ((unsigned)kind < sizeof(line_styles) / sizeof(line_styles[0]))
        return line_styles[kind];
    return STYLE_NORMAL;
}

static void
tv_draw_line(struct tui *t, struct tui_screen *s, int row)
{
    struct textview *v = s->data;
    int rows = draw_rows(), cols = draw_cols();

    s->body_top = 1;
    s->body_rows = rows - 2 > 0 ? rows - 2 : 1;
    s->n_lines = v->lines.n;
    if (row == 0) {
        draw_fill(0, 0, cols, STYLE_STATUS);
        draw_text(0, 1, cols - 2, STYLE_STATUS, v->title);
    } else if (row == rows - 1) {
        draw_fill(row, 0, cols, STYLE_STATUS);
        draw_text(row, 1, cols - 2, STYLE_STATUS, t->status ? t->status : v->hint);
    } else {
        size_t i = s->top + (size_t)(row - 1);
        if (i < v->lines.n)
            draw_text(row, 1, cols - 2, line_style(v->kinds[i]), v->lines.items[i]);
    }
}

static enum screen_result
tv_handle(struct tui *t, struct tui_screen *s, enum tui_request req)
{
    struct textview *v = s->data;

    (void)t;
    if (req == REQ_ENTER) {
        if (v->accepted)
            *v->accepted = v->accept_keys;
        return SCREEN_CLOSE;
    }
    if (req == REQ_QUIT || req == REQ_BACK) {
        if (v->accepted)
            *v->accepted = false;
        return SCREEN_CLOSE;
    }
    return SCREEN_UNHANDLED;
}

static void
tv_close(struct tui *t, struct tui_screen *s)
{
    struct textview *v = s->data;

    (void)t;
    tui_lines_free(&v->lines);
    PD_FREE(v->kinds);
}

static const struct screen_ops tui_textview_ops = {
    .name = "text",
    .keymap = KEYMAP_PAGER,
    .draw_line = tv_draw_line,
    .handle = tv_handle,
    .close = tv_close,
};

enum screen_result
tui_textview_run(struct tui *t, const char *title, const struct lines *lines, const char *hint,
                 bool accept_keys,
                 bool *accepted) // NOLINT(readability-non-const-parameter): tv_handle writes it
{
    struct textview v = {
        .title = title, .hint = hint, .accept_keys = accept_keys, .accepted = accepted};

    v.kinds = pd_xcalloc(lines->n ? lines->n : 1, sizeof(*v.kinds));
    for (size_t i = 0; i < lines->n; i++) {
        tui_lines_push(&v.lines, lines->items[i].text, strlen(lines->items[i].text));
        v.kinds[i] = lines->items[i].kind;
    }
    return tui_screen_run(t, &tui_textview_ops, &v);
}

void
tui_timeline_show(struct tui *t)
{
    struct timeline tl;
    struct timeline_rec rec;
    struct audit *audit = NULL;
    struct pd_err err = {0};
    struct lines lines = {0};
    const char *inc_s = NULL;
    double incident;
    bool have_rec = false;
    int rc;

    tui_status(t, "reading Neon's history window and the S3 dumps...");
    tui_redraw(t);
    free(t->status);
    t->status = NULL;
    // the log is opened for this load only: nothing is sent when it cannot be
    if (t->opts->home == NULL)
        rc = PD_ERR_SET(&err, PD_EUSAGE, "timeline: no PGDRILL_HOME for the audit log");
    else if ((rc = audit_open(&audit, t->opts->home, t->opts->operator_name, &err)) == 0)
        rc = timeline_load(&tl, pd_time_wall(), audit, &err);
    audit_close(audit);
    if (rc != 0) {
        lines_push(&lines, LINE_HEADING, "The timeline needs Neon and S3:");
        lines_push(&lines, LINE_PLAIN, "");
        lines_push(&lines, LINE_HEADING, err.msg);
        tui_textview_run(t, "Restorability timeline", &lines, "q close", false, NULL);
        lines_clear(&lines);
        return;
    }
    if (t->drill) {
        inc_s = drill_var(t->drill, "incident_time");
        if (!inc_s)
            inc_s = drill_var(t->drill, "target_time");
    }
    if (inc_s && pd_time_parse_rfc3339(&incident, inc_s, 0) == 0)
        have_rec = timeline_recommend(&rec, &tl, incident, -1, &err) == 0;
    timeline_render_lines(&lines, &tl, have_rec ? &rec : NULL, 30, draw_cols() - 2);
    if (inc_s && !have_rec && err.msg[0]) {
        lines_push(&lines, LINE_PLAIN, "");
        lines_push(&lines, LINE_HEADING, err.msg);
    }
    tui_textview_run(t, "Restorability timeline", &lines, "q close  j/k PgUp/PgDn scroll", false,
                     NULL);
    lines_clear(&lines);
    timeline_clear(&tl);
}
