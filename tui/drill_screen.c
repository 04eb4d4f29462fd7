/*
 * drill_screen: the screen of a running drill.
 *
 *   row 0      banner: environment, runbook title, RTO clock against budget
 *   stages     one row per stage: status symbol, title, actual / expected
 *   ── Stage 2/5: title
 *   prose      the current stage's prose, plain and wrapped
 *   action     the step about to run (expanded, secrets masked)
 *   ── output
 *   output     scrolling output pane (PgUp/PgDn, j/k, g/G)
 *   last row   key hints or the latest status message
 *
 * The layout is computed for every frame from the terminal size, so a
 * resize only needs a redraw. Prose is cached per stage and width.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "screen.h"

struct drill_view {
    /* layout */
    int stages_top, n_stage_rows;
    size_t first_stage;
    int stage_sep, prose_top, n_prose, action_top, n_action, out_sep, out_top, n_out, status_row;
    /* prose cache */
    int prose_stage, prose_width;
    struct tui_lines prose;
    struct tui_lines action;
};

static int
dview_open(struct tui *t, struct tui_screen *s, struct pd_err *err)
{
    struct drill_view *v = pd_xcalloc(1, sizeof(*v));

    (void)t;
    (void)err;
    v->prose_stage = -2;
    s->data = v;
    return 0;
}

static void
dview_close(struct tui *t, struct tui_screen *s)
{
    struct drill_view *v = s->data;

    (void)t;
    tui_lines_free(&v->prose);
    tui_lines_free(&v->action);
    free(v);
    s->data = NULL;
}

static void
layout(struct tui *t, struct tui_screen *s)
{
    struct drill_view *v = s->data;
    int rows = draw_rows(), cols = draw_cols();
    size_t n = t->rb->n_stages;
    int width = cols - 2;

    if (v->prose_stage != t->cur_stage || v->prose_width != width) {
        tui_lines_free(&v->prose);
        // before the first stage (header inputs) the runbook's intro is shown
        const char *md = t->cur_stage >= 0               ? t->rb->stages[t->cur_stage].prose
                         : t->rb->prose && *t->rb->prose ? t->rb->prose
                                                         : (t->rb->use_case ? t->rb->use_case : "");
        char *plain = tui_text_plain(md);
        if (*plain)
            tui_text_wrap(&v->prose, plain, width);
        free(plain);
        v->prose_stage = t->cur_stage;
        v->prose_width = width;
    }
    tui_lines_free(&v->action);
    if (t->action) {
        char *a = pd_xasprintf("%s %s: %s", draw_symbol(SYM_ACTION),
                               runbook_action_name(t->action_kind), t->action);
        tui_text_wrap(&v->action, a, width);
        free(a);
    }

    // stages take up to a quarter of the screen, at least three rows
    int max_st = (rows - 4) / 4;
    if (max_st < 3)
        max_st = 3;
    if (max_st > rows - 6)
        max_st = rows - 6 > 1 ? rows - 6 : 1;
    v->n_stage_rows = (int)n < max_st ? (int)n : max_st;
    v->first_stage = 0;
    if (t->cur_stage >= 0 && (size_t)t->cur_stage >= (size_t)v->n_stage_rows / 2)
        v->first_stage = (size_t)t->cur_stage - (size_t)v->n_stage_rows / 2;
    if (v->first_stage + (size_t)v->n_stage_rows > n)
        v->first_stage = n - (size_t)v->n_stage_rows;
    v->stages_top = 1;
    v->stage_sep = v->stages_top + v->n_stage_rows;
    v->status_row = rows - 1;

    int avail = rows - 4 - v->n_stage_rows; // banner, two separators, status
    if (avail < 0)
        avail = 0;
    v->n_action = (int)v->action.n < 3 ? (int)v->action.n : 3;
    if (v->n_action > avail)
        v->n_action = avail;
    int out_min = avail / 3 > 3 ? avail / 3 : 3;
    v->n_prose = avail - v->n_action - out_min;
    if (v->n_prose > (int)v->prose.n)
        v->n_prose = (int)v->prose.n;
    if (v->n_prose < 0)
        v->n_prose = 0;
    v->prose_top = v->stage_sep + 1;
    v->action_top = v->prose_top + v->n_prose;
    v->out_sep = v->action_top + v->n_action;
    v->out_top = v->out_sep + 1;
    v->n_out = v->status_row - v->out_top;
    if (v->n_out < 0)
        v->n_out = 0;
    s->body_rows = v->n_out;
    s->n_lines = t->out_len;
}

static void
draw_banner(struct tui *t, int cols)
{
    char clock[32], budget[32], right[128], left[256];
    double total = tui_total_secs(t);
    bool over = t->rb->rto_s > 0 && total > t->rb->rto_s;

    draw_fill(0, 0, cols, t->env_style);
    if (t->env_style == STYLE_BANNER_PROD)
        snprintf(left, sizeof(left), " !! %s !! ", t->env_text);
    else
        snprintf(left, sizeof(left), " %s ", t->env_text);
    int x = draw_text(0, 0, cols, t->env_style, left);
    tui_fmt_clock(clock, sizeof(clock), total, false);
    if (t->rb->rto_s > 0) {
        tui_fmt_clock(budget, sizeof(budget), t->rb->rto_s, false);
        snprintf(right, sizeof(right), " %sRTO %s / %s ", over ? "OVER " : "", clock, budget);
    } else {
        snprintf(right, sizeof(right), " elapsed %s ", clock);
    }
    int rw = tui_text_width(right);
    x += draw_text(0, x, cols - x - rw, STYLE_STATUS, " ");
    draw_text(0, x, cols - x - rw - 1, STYLE_STATUS, t->rb->title);
    int tw = tui_text_width(t->rb->title);
    if (x + tw < cols - rw)
        draw_fill(0, x + tw, cols - rw - x - tw, STYLE_STATUS);
    draw_text(0, cols - rw, rw, over ? STYLE_WARN : t->env_style, right);
}

static const char *
stage_symbol(enum step_status st)
{
    switch (st) {
    case STEP_PASSED:
        return draw_symbol(SYM_PASSED);
    case STEP_FAILED:
        return draw_symbol(SYM_FAILED);
    case STEP_SKIPPED:
        return draw_symbol(SYM_SKIPPED);
    case STEP_RUNNING:
        return draw_symbol(SYM_RUNNING);
    default:
        return draw_symbol(SYM_PENDING);
    }
}

static void
draw_stage(struct tui *t, size_t i, int row, int cols)
{
    const struct runbook_stage *st = &t->rb->stages[i];
    enum step_status status = t->stage_status[i];
    char actual[32] = "--:--", expected[32] = "--:--", timer[80], title[512];

    if (status == STEP_RUNNING && (int)i == t->cur_stage && t->running)
        tui_fmt_clock(actual, sizeof(actual), pd_time_mono() - t->stage_start, true);
    else if (status != STEP_PENDING)
        tui_fmt_clock(actual, sizeof(actual), t->stage_secs[i], true);
    if (st->expected_s > 0)
        tui_fmt_clock(expected, sizeof(expected), st->expected_s, true);
    snprintf(timer, sizeof(timer), " %s / %s ", actual, expected);
    bool late = st->expected_s > 0 && status != STEP_PENDING &&
                ((status == STEP_RUNNING && t->running &&
                  pd_time_mono() - t->stage_start > st->expected_s) ||
                 (status != STEP_RUNNING && t->stage_secs[i] > st->expected_s));
    int tw = tui_text_width(timer);
    int x = draw_text(row, 1, 4, draw_status_style(status), stage_symbol(status));
    // a sub-drill's stages (runbook steps) sit indented under the stage that runs them
    snprintf(title, sizeof(title), " %*s%zu. %s", st->depth * 2, "", i + 1, st->title);
    enum draw_style ts = (int)i == t->cur_stage ? STYLE_TITLE : STYLE_NORMAL;
    if (status == STEP_SKIPPED)
        ts = STYLE_SKIPPED;
    draw_text(row, 1 + x, cols - 1 - x - tw, ts, title);
    draw_text(row, cols - tw, tw, late ? STYLE_WARN : STYLE_DIM, timer);
}

static void
draw_status(struct tui *t, int row, int cols)
{
    draw_fill(row, 0, cols, STYLE_STATUS);
    if (t->status) {
        draw_text(row, 1, cols - 2, STYLE_STATUS, t->status);
        return;
    }
    const char *hint =
        t->running ? "q quit  n note  ? help  PgUp/PgDn output  : command" : "q quit  ? help";
    int w = draw_text(row, 1, cols - 2, STYLE_STATUS, hint);
    if (t->drill) {
        int iw = tui_text_width(t->drill->id);
        if (1 + w + 2 + iw < cols)
            draw_text(row, cols - iw - 1, iw, STYLE_STATUS, t->drill->id);
    }
}

static void
dview_draw_line(struct tui *t, struct tui_screen *s, int row)
{
    struct drill_view *v = s->data;
    int cols = draw_cols();
    char title[512];

    if (row == 0) {
        layout(t, s);
        draw_banner(t, cols);
    } else if (row >= v->stages_top && row < v->stages_top + v->n_stage_rows) {
        draw_stage(t, v->first_stage + (size_t)(row - v->stages_top), row, cols);
    } else if (row == v->stage_sep) {
        if (t->cur_stage >= 0 && t->cur_step >= 0 && t->n_steps > 1)
            snprintf(title, sizeof(title), "Stage %d/%zu: %s (step %d/%d)", t->cur_stage + 1,
                     t->rb->n_stages, t->rb->stages[t->cur_stage].title, t->cur_step + 1,
                     t->n_steps);
        else if (t->cur_stage >= 0)
            snprintf(title, sizeof(title), "Stage %d/%zu: %s", t->cur_stage + 1, t->rb->n_stages,
                     t->rb->stages[t->cur_stage].title);
        else
            snprintf(title, sizeof(title), "%s", t->running ? "Before the first stage" : "");
        draw_separator(row, 0, cols, STYLE_SEPARATOR, title);
    } else if (row >= v->prose_top && row < v->prose_top + v->n_prose) {
        int i = row - v->prose_top;
        bool cut = i == v->n_prose - 1 && (size_t)v->n_prose < v->prose.n;
        int w = draw_text(row, 1, cols - 2 - (cut ? 2 : 0), STYLE_NORMAL, v->prose.items[i]);
        if (cut)
            draw_text(row, 1 + w + 1, 1, STYLE_DIM, draw_symbol(SYM_ELLIPSIS));
    } else if (row >= v->action_top && row < v->action_top + v->n_action) {
        draw_text(row, 1, cols - 2, STYLE_ACTION, v->action.items[row - v->action_top]);
    } else if (row == v->out_sep) {
        if (t->out_scroll > 0)
            snprintf(title, sizeof(title), "output (%zu lines back, G follows)", t->out_scroll);
        else
            snprintf(title, sizeof(title), "output");
        draw_separator(row, 0, cols, STYLE_SEPARATOR, title);
    } else if (row >= v->out_top && row < v->out_top + v->n_out) {
        // the pane shows the last n_out lines, out_scroll lines back
        size_t end = t->out_len > t->out_scroll ? t->out_len - t->out_scroll : 0;
        size_t first = end > (size_t)v->n_out ? end - (size_t)v->n_out : 0;
        size_t i = first + (size_t)(row - v->out_top);
        const struct tui_out_line *l = i < end ? tui_out_at(t, i) : NULL;
        if (l)
            draw_text(row, 1, cols - 2, l->style, l->text);
    } else if (row == v->status_row) {
        draw_status(t, row, cols);
    }
}

static enum screen_result
dview_handle(struct tui *t, struct tui_screen *s, enum tui_request req)
{
    size_t page = s->body_rows > 0 ? (size_t)s->body_rows : 1;
    size_t max = t->out_len > page ? t->out_len - page : 0;
    size_t step = 0;
    bool back = false;

    switch (req) {
    case REQ_MOVE_UP:
        step = 1, back = true;
        break;
    case REQ_MOVE_DOWN:
        step = 1;
        break;
    case REQ_MOVE_PAGE_UP:
        step = page, back = true;
        break;
    case REQ_MOVE_PAGE_DOWN:
        step = page;
        break;
    case REQ_MOVE_HALF_UP:
        step = page / 2 ? page / 2 : 1, back = true;
        break;
    case REQ_MOVE_HALF_DOWN:
        step = page / 2 ? page / 2 : 1;
        break;
    case REQ_MOVE_FIRST:
        t->out_scroll = max;
        return SCREEN_OK;
    case REQ_MOVE_LAST:
        t->out_scroll = 0;
        return SCREEN_OK;
    case REQ_NOTE:
        tui_note(t);
        return t->aborted ? SCREEN_QUIT : SCREEN_OK;
    case REQ_QUIT:
        if (!t->running)
            return SCREEN_CLOSE;
        if (tui_ask_stop(t, "Quit?", "Stop the drill now?"))
            return SCREEN_QUIT;
        return t->aborted ? SCREEN_QUIT : SCREEN_OK;
    default:
        return SCREEN_UNHANDLED;
    }
    if (back)
        t->out_scroll = t->out_scroll + step > max ? max : t->out_scroll + step;
    else
        t->out_scroll = t->out_scroll > step ? t->out_scroll - step : 0;
    return SCREEN_OK;
}

const struct screen_ops tui_drill_ops = {
    .name = "drill",
    .keymap = KEYMAP_DRILL,
    .open = dview_open,
    .draw_line = dview_draw_line,
    .handle = dview_handle,
    .close = dview_close,
};
