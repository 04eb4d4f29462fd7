/*
 * picker: the runbook picker. Lists every *.md in the runbook directories
 * that parses, with its use case and the date and outcome of its last
 * drill (read from the journals without taking their locks). Enter picks.
 * Below the list, a panel shows `pgdrill status` from the local records
 * (what ran last, what is overdue); the picker reaches no service.
 *
 * Training exercises (runbook_is_training) come last, under a "Training"
 * heading, and only while the sandbox is up (status_sandbox_up: the check
 * of `pgdrill sandbox status`); while it is down the heading stays, greyed,
 * with the reason, and the exercises are not listed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "screen.h"
#include "status/status.h"
#include "timeline/lines.h"
#include "views.h"

struct picker_entry {
    char *path;
    char *title;
    char *use_case;
    char *id;
    char *error;   /* the runbook does not parse */
    char *last;    /* "last drill 2026-11-20 passed" or NULL */
    bool training; /* a training exercise (runbook_is_training) */
    bool heading;  /* not a runbook: the "Training" heading (title, use_case: its note) */
    bool down;     /* the heading while the sandbox is down */
};

struct picker {
    char **picked;
    struct picker_entry *items;
    size_t n;
    struct lines status; /* the status panel */
};

/* The status panel's lines: local facts only (core/status without S3). */
static void
load_status(struct picker *p, const char *home)
{
    struct status_opts o = {.home = home, .now = pd_time_wall()};
    struct status st;
    struct pd_err err = {0};

    if (home == NULL)
        return;
    if (status_limits_from_env(&o, &err) != 0 || status_load(&st, &o, &err) != 0) {
        lines_push(&p->status, LINE_WARN, err.msg);
        return;
    }
    status_render_lines(&p->status, &st);
    status_free(&st);
}

/* Rows the panel takes at the bottom (its title included); 0 when too small. */
static int
panel_rows(const struct picker *p, int rows)
{
    int want = p->status.n > 0 ? (int)p->status.n + 1 : 0;

    return rows - 3 - want >= 4 ? want : 0;
}

static enum draw_style
status_style(enum line_kind kind)
{
    return kind == LINE_WARN ? STYLE_WARN : kind == LINE_HEADING ? STYLE_TITLE : STYLE_DIM;
}

static void
draw_panel(const struct picker *p, int row, int first, int cols)
{
    const struct line *l;

    if (row == first) {
        draw_fill(row, 0, cols, STYLE_SEPARATOR);
        draw_text(row, 1, cols - 2, STYLE_SEPARATOR, "Status (pgdrill status, local records)");
        return;
    }
    l = &p->status.items[row - first - 1];
    draw_text(row, 2, cols - 3, status_style(l->kind), l->text);
}

/* By title, the training exercises last (under their heading). */
static int
cmp_entry(const void *a, const void *b)
{
    const struct picker_entry *x = a, *y = b;

    if (x->training != y->training)
        return x->training ? 1 : -1;
    return strcmp(x->title, y->title);
}

static void
entry_free(struct picker_entry *e)
{
    free(e->path);
    free(e->title);
    free(e->use_case);
    free(e->id);
    free(e->error);
    free(e->last);
}

/*
 * The training section (the entries are sorted, exercises last): a heading
 * before the exercises while the sandbox is up; else the exercises go and
 * the heading says why.
 */
static void
training_section(struct picker *p)
{
    size_t first = p->n;
    bool up;
    struct picker_entry h = {.heading = true, .title = pd_xstrdup("Training")};

    for (size_t i = 0; i < p->n && first == p->n; i++)
        if (p->items[i].training)
            first = i;
    if (first == p->n) {
        free(h.title);
        return;
    }
    up = status_sandbox_up();
    if (!up) {
        for (size_t i = first; i < p->n; i++)
            entry_free(&p->items[i]);
        p->n = first;
    }
    h.down = !up;
    h.use_case =
        pd_xstrdup(up ? "Exercises on the local sandbox: an incident, your restore, a grade"
                      : "Not available: the sandbox is down (pgdrill sandbox up starts "
                        "it, then open pgdrill again)");
    p->items = pd_xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
    memmove(&p->items[first + 1], &p->items[first], (p->n - first) * sizeof(*p->items));
    p->items[first] = h;
    p->n++;
}

/* Runbooks listed (the heading is not one). */
static size_t
runbooks_listed(const struct picker *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->n; i++)
        n += !p->items[i].heading;
    return n;
}

static void
add_dir(struct picker *p, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".md") != 0 || de->d_name[0] == '.')
            continue;
        struct picker_entry e = {.path = pd_xasprintf("%s/%s", dir, de->d_name)};
        struct runbook *rb = NULL;
        struct pd_err err = {0};
        if (runbook_load(&rb, e.path, NULL, &err) == 0) {
            e.title = pd_xstrdup(rb->title);
            e.use_case = pd_xstrdup(rb->use_case ? rb->use_case : "");
            e.id = pd_xstrdup(rb->id);
            e.training = runbook_is_training(rb);
        } else {
            // lint errors are shown, not hidden: the operator should know
            e.title = pd_xstrdup(de->d_name);
            e.use_case = pd_xstrdup("");
            e.error = pd_xstrdup(err.msg);
        }
        runbook_free(rb);
        p->items = pd_xrealloc(p->items, (p->n + 1) * sizeof(*p->items));
        p->items[p->n++] = e;
    }
    closedir(d);
}

static void
add_history(struct picker *p, const char *home)
{
    char **ids = NULL;
    size_t n = 0;
    struct pd_err err = {0};

    if (!home || drill_list(&ids, &n, home, &err) != 0)
        return;
    for (size_t i = 0; i < n; i++) { // newest first: the first match is the last drill
        struct drill *d = NULL;
        if (drill_open(&d, home, ids[i], false, &err) == 0) {
            for (size_t j = 0; j < p->n; j++) {
                struct picker_entry *e = &p->items[j];
                if (e->last || !e->id || strcmp(e->id, d->runbook_id) != 0)
                    continue;
                e->last = pd_xasprintf("last drill %.10s %s", d->started_at ? d->started_at : "",
                                       d->outcome ? d->outcome : "unfinished");
            }
        }
        drill_free(d);
        free(ids[i]);
    }
    free(ids);
}

static int
picker_open(struct tui *t, struct tui_screen *s, struct pd_err *err)
{
    struct picker *p = pd_xcalloc(1, sizeof(*p));

    (void)err;
    p->picked = s->data;
    for (size_t i = 0; i < t->opts->n_dirs; i++)
        add_dir(p, t->opts->runbook_dirs[i]);
    if (p->n > 1)
        qsort(p->items, p->n, sizeof(*p->items), cmp_entry);
    training_section(p);
    add_history(p, t->opts->home);
    load_status(p, t->opts->home);
    s->data = p;
    s->n_lines = p->n;
    s->has_cursor = true;
    return 0;
}

static void
picker_close(struct tui *t, struct tui_screen *s)
{
    struct picker *p = s->data;

    (void)t;
    for (size_t i = 0; i < p->n; i++)
        entry_free(&p->items[i]);
    free(p->items);
    lines_clear(&p->status);
    free(p);
    s->data = NULL;
}

/* The "Training" heading's two rows: a separator with its title, then its note. */
static void
draw_heading(const struct picker_entry *e, int row, bool first, bool sel, int cols)
{
    const char *right = e->down ? "sandbox down" : "sandbox up";
    int rw = tui_text_width(right);

    if (!first) {
        draw_text(row, 4, cols - 5, STYLE_DIM, e->use_case);
        return;
    }
    // greyed while the sandbox is down: nothing under it can be opened
    enum draw_style st = sel ? STYLE_CURSOR : e->down ? STYLE_DIM : STYLE_SEPARATOR;

    draw_fill(row, 0, cols, st);
    draw_text(row, 2, cols - rw - 5, st, e->title);
    draw_text(row, cols - rw - 1, rw, st, right);
}

static void
picker_draw_line(struct tui *t, struct tui_screen *s, int row)
{
    struct picker *p = s->data;
    int rows = draw_rows(), cols = draw_cols();
    int panel = panel_rows(p, rows);
    char buf[256];

    (void)t;
    s->body_rows = (rows - 3 - panel) / 2 > 0 ? (rows - 3 - panel) / 2 : 1;
    if (row == 0) {
        draw_fill(0, 0, cols, STYLE_STATUS);
        snprintf(buf, sizeof(buf), " pgdrill - choose a runbook (%zu found)", runbooks_listed(p));
        draw_text(0, 0, cols, STYLE_STATUS, buf);
        return;
    }
    if (row == rows - 1) {
        draw_fill(row, 0, cols, STYLE_STATUS);
        draw_text(row, 1, cols - 2, STYLE_STATUS,
                  t->status ? t->status : "Enter open  j/k move  ? help  q quit");
        return;
    }
    if (panel > 0 && row >= rows - 1 - panel) {
        draw_panel(p, row, rows - 1 - panel, cols);
        return;
    }
    if (p->n == 0) {
        if (row == 2)
            draw_text(row, 2, cols - 4, STYLE_DIM,
                      "No runbooks found (*.md in the runbook directories).");
        return;
    }
    if (row < 2 || row >= 2 + s->body_rows * 2)
        return;
    size_t i = s->top + (size_t)(row - 2) / 2;
    if (i >= p->n)
        return;
    const struct picker_entry *e = &p->items[i];
    bool sel = i == s->cursor;
    if (e->heading) {
        draw_heading(e, row, (row - 2) % 2 == 0, sel, cols);
        return;
    }
    if ((row - 2) % 2 == 0) {
        if (sel)
            draw_fill(row, 0, cols, STYLE_CURSOR);
        const char *right = e->error ? "does not parse" : e->last ? e->last : "never drilled";
        int rw = tui_text_width(right);
        draw_text_cut(row, 2, cols - rw - 5, sel ? STYLE_CURSOR : STYLE_TITLE, e->title);
        draw_text(row, cols - rw - 1, rw,
                  sel        ? STYLE_CURSOR
                  : e->error ? STYLE_FAILED
                             : STYLE_DIM,
                  right);
    } else {
        draw_text_cut(row, 4, cols - 5, e->error ? STYLE_FAILED : STYLE_DIM,
                      e->error ? e->error : e->use_case);
    }
}

static enum screen_result
picker_handle(struct tui *t, struct tui_screen *s, enum tui_request req)
{
    struct picker *p = s->data;

    (void)t;
    if (req == REQ_HISTORY && p->n > 0 && p->items[s->cursor].id) {
        tui_history_show(t, p->items[s->cursor].id);
        return t->aborted ? SCREEN_QUIT : SCREEN_OK;
    }
    if (req != REQ_ENTER || p->n == 0)
        return req == REQ_QUIT ? SCREEN_QUIT : SCREEN_UNHANDLED;
    const struct picker_entry *e = &p->items[s->cursor];
    if (e->heading) {
        tui_status(t, "%s", e->use_case);
        return SCREEN_OK;
    }
    if (e->error) {
        tui_status(t, "%s", e->error);
        return SCREEN_OK;
    }
    *p->picked = pd_xstrdup(e->path);
    return SCREEN_CLOSE;
}

const struct screen_ops tui_picker_ops = {
    .name = "picker",
    .keymap = KEYMAP_PICKER,
    .open = picker_open,
    .draw_line = picker_draw_line,
    .handle = picker_handle,
    .close = picker_close,
};
