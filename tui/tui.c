/* tui: entry point, key loops, dialogs and the engine callbacks. */
#include "tui.h"

#include <ctype.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curses.h>

#include "drill/drill.h"
#include "drill/session.h"
#include "engine/engine.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "screen.h"
#include "views.h"

#define KEY_RESIZE_FN (TUI_KEY_FN + KEY_RESIZE)
#define POLL_MS       200

/* ---------------------------------------------------------------- misc */

void
tui_status(struct tui *t, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    free(t->status);
    t->status = pd_xstrdup(buf);
}

void
tui_fmt_clock(char *buf, size_t size, double secs, bool short_form)
{
    long s = secs < 0 ? 0 : (long)secs;

    if (short_form && s < 3600)
        snprintf(buf, size, "%02ld:%02ld", s / 60, s % 60);
    else
        snprintf(buf, size, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

double
tui_total_secs(const struct tui *t)
{
    if (!t->running)
        return t->total_secs;
    return t->base_secs + (pd_time_mono() - t->run_start);
}

void
tui_out_push(struct tui *t, enum draw_style style, const char *text)
{
    if (!t->out)
        t->out = pd_xcalloc(TUI_OUT_MAX, sizeof(*t->out));
    // one pane line per text line
    const char *p = text ? text : "";
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        struct tui_out_line *l;
        if (t->out_len == TUI_OUT_MAX) {
            l = &t->out[t->out_start];
            free(l->text);
            t->out_start = (t->out_start + 1) % TUI_OUT_MAX;
            t->out_len--;
        }
        l = &t->out[(t->out_start + t->out_len) % TUI_OUT_MAX];
        l->text = pd_xstrndup(p, len);
        l->style = style;
        t->out_len++;
        if (t->out_scroll > 0 && t->out_scroll < t->out_len)
            t->out_scroll++; // keep a scrolled-back view where it is
        p = nl ? nl + 1 : NULL;
    } while (p && *p);
}

const struct tui_out_line *
tui_out_at(const struct tui *t, size_t i)
{
    return i < t->out_len ? &t->out[(t->out_start + i) % TUI_OUT_MAX] : NULL;
}

/* ------------------------------------------------------------- drawing */

static void
draw_dialog(const struct tui_dialog *d)
{
    int cols = draw_cols(), rows = draw_rows();
    int w = cols - 4 > 74 ? 74 : cols - 4;
    struct tui_lines body = {0};

    // cppcheck-suppress knownConditionTrueFalse ; it does not know draw_cols()
    if (w < 20)
        w = cols;
    tui_text_wrap(&body, d->text, w - 4);
    bool input = d->keymap == KEYMAP_EDIT;
    int extra = (input ? 2 : 0) + (d->error ? 1 : 0) + 1; // input, error, hints
    int max_body = rows - 2 - extra - 2;
    if (max_body < 1)
        max_body = 1;
    int n_body = (int)body.n > max_body ? max_body : (int)body.n;
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
        draw_text(r++, left + 2, w - 4, STYLE_DIALOG, body.items[i]);
    // cppcheck-suppress knownConditionTrueFalse ; n_body is capped at max_body
    if ((int)body.n > n_body)
        draw_text(r - 1, left + w - 4, 1, STYLE_DIALOG, draw_symbol(SYM_ELLIPSIS));
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
    if (d->error)
        draw_text(r++, left + 2, w - 4, STYLE_WARN, d->error);
    if (d->hint)
        draw_text(top + h - 2, left + 2, w - 4, STYLE_DIM, d->hint);
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

static struct tui_screen *
screen_new(struct tui *t, const struct screen_ops *ops, void *data)
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
    struct tui_screen *s = screen_new(t, ops, data);
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
        int key = tui_input_get(&t->in, POLL_MS);
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
        if (key == KEY_RESIZE_FN) {
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

/* ------------------------------------------------------------- dialogs */

void
tui_dialog_free(struct tui_dialog *d)
{
    PD_FREE(d->text);
    PD_FREE(d->error);
    tui_edit_free(&d->edit);
}

enum tui_request
tui_dialog_run(struct tui *t, struct tui_dialog *d)
{
    struct tui_dialog *saved = t->dialog;
    enum tui_request res = REQ_QUIT;

    if (!d->edit.buf)
        tui_edit_init(&d->edit, "");
    t->dialog = d;
    for (;;) {
        tui_redraw(t);
        int key = tui_input_get(&t->in, POLL_MS);
        if (tui_signalled(t))
            break;
        if (key == TUI_KEY_ABORT) {
            t->aborted = true;
            break;
        }
        if (key == TUI_KEY_NONE)
            continue;
        if (key == KEY_RESIZE_FN) {
            draw_invalidate();
            continue;
        }
        enum tui_request req = tui_request_for_key(d->keymap, key);
        if (d->keymap == KEYMAP_EDIT) {
            if (req == REQ_EDIT_ACCEPT || req == REQ_EDIT_CANCEL) {
                res = req;
                break;
            }
            if (req == REQ_NONE && tui_key_is_char(key))
                tui_edit_insert(&d->edit, key);
            else
                tui_edit_apply(&d->edit, req);
            continue;
        }
        switch (req) {
        case REQ_YES:
        case REQ_NO:
        case REQ_RETRY:
        case REQ_SKIP:
        case REQ_STOP:
            res = req;
            goto out;
        case REQ_NOTE:
            t->dialog = NULL;
            tui_note(t);
            t->dialog = d;
            break;
        case REQ_HELP:
        case REQ_PROMPT:
        case REQ_REFRESH:
            t->dialog = NULL;
            if (t->top)
                tui_screen_generic(t, t->top, req);
            else if (req == REQ_PROMPT)
                tui_command_line(t);
            t->dialog = d;
            break;
        default:
            break;
        }
        if (t->aborted)
            break;
    }
out:
    t->dialog = saved;
    return res;
}

bool
tui_ask(struct tui *t, const char *title, const char *question)
{
    struct tui_dialog d = {
        .title = title,
        .text = pd_xstrdup(question),
        .hint = "y yes   n no",
        .keymap = KEYMAP_YESNO,
    };
    bool yes = tui_dialog_run(t, &d) == REQ_YES;

    tui_dialog_free(&d);
    return yes;
}

static void
tui_message(struct tui *t, const char *title, const char *text)
{
    struct tui_dialog d = {
        .title = title,
        .text = pd_xstrdup(text),
        .hint = "Enter close",
        .keymap = KEYMAP_YESNO,
        .warn = true,
    };

    tui_dialog_run(t, &d);
    tui_dialog_free(&d);
}

void
tui_command_line(struct tui *t)
{
    struct tui_dialog d = {
        .title = "Command",
        .text = pd_xstrdup("dump-screen FILE   write the screen as text"),
        .hint = "Enter run   Esc cancel",
        .keymap = KEYMAP_EDIT,
    };
    struct tui_dialog *saved = t->dialog;

    t->dialog = NULL; // the dump shows the screen, not this dialog
    if (tui_dialog_run(t, &d) == REQ_EDIT_ACCEPT) {
        char *cmd = d.edit.buf;
        while (*cmd == ' ' || *cmd == ':')
            cmd++;
        if (strncmp(cmd, "dump-screen ", 12) == 0 && cmd[12]) {
            struct pd_err err = {0};
            tui_redraw(t);
            if (draw_screen_dump(cmd + 12, &err) != 0)
                tui_status(t, "%s", err.msg);
            else
                tui_status(t, "screen written to %s", cmd + 12);
        } else if (*cmd) {
            tui_status(t, "unknown command '%s'", cmd);
        }
    }
    t->dialog = saved;
    tui_dialog_free(&d);
}

void
tui_note(struct tui *t)
{
    struct tui_dialog d = {
        .title = "Note",
        .keymap = KEYMAP_EDIT,
        .hint = "Enter save   Esc cancel",
    };

    if (!t->drill) {
        tui_status(t, "notes are recorded during a drill");
        return;
    }
    int stage = t->cur_stage;
    d.text = stage >= 0 ? pd_xasprintf("A note for stage '%s':", t->rb->stages[stage].title)
                        : pd_xstrdup("A note for the drill:");
    if (tui_dialog_run(t, &d) == REQ_EDIT_ACCEPT && d.edit.len > 0) {
        struct drill_event ev = {
            .type = DRILL_EV_NOTE,
            .stage = stage,
            .step = -1,
            .text = d.edit.buf,
        };
        struct pd_err err = {0};
        if (drill_record(t->drill, &ev, &err) != 0) {
            tui_status(t, "note not saved: %s", err.msg);
        } else {
            tui_status(t, "note saved");
            char *line = pd_xasprintf("note: %s", d.edit.buf);
            tui_out_push(t, STYLE_DIM, line);
            free(line);
        }
    }
    tui_dialog_free(&d);
}

/* --------------------------------------------------------- engine events */

static void
ev_redraw(struct tui *t)
{
    if (draw_active())
        tui_redraw(t);
}

static void
ev_stage_started(const struct runbook_stage *stage, size_t index, void *payload)
{
    struct tui *t = payload;
    char line[512];

    t->cur_stage = (int)index;
    t->cur_step = -1;
    t->n_steps = (int)stage->n_steps;
    PD_FREE(t->action);
    t->stage_status[index] = STEP_RUNNING;
    t->stage_start = pd_time_mono();
    t->out_scroll = 0;
    snprintf(line, sizeof(line), "Stage %zu/%zu: %s", index + 1, t->rb->n_stages, stage->title);
    tui_out_push(t, STYLE_TITLE, line);
    ev_redraw(t);
}

static void
ev_stage_finished(const struct runbook_stage *stage, size_t index, enum step_status st,
                  void *payload)
{
    struct tui *t = payload;

    (void)stage;
    t->stage_status[index] = st;
    t->stage_secs[index] = pd_time_mono() - t->stage_start;
    if (t->drill && index < t->drill->n_stages && t->drill->stages[index].duration_s > 0)
        t->stage_secs[index] = t->drill->stages[index].duration_s;
    ev_redraw(t);
}

static void
ev_step_started(const struct runbook_stage *stage, const struct runbook_step *step,
                const char *display, void *payload)
{
    struct tui *t = payload;

    free(t->action);
    t->action = pd_xstrdup(display ? display : "");
    t->action_kind = step->action;
    if (step >= stage->steps && step < stage->steps + stage->n_steps) {
        t->cur_step = (int)(step - stage->steps);
        t->n_steps = (int)stage->n_steps;
    }
    const char *nl = strchr(t->action, '\n');
    char *first = pd_xasprintf(
        "%s %s: %.*s%s", draw_symbol(SYM_ACTION), runbook_action_name(step->action),
        (int)(nl ? (size_t)(nl - t->action) : strlen(t->action)), t->action, nl ? " ..." : "");
    tui_out_push(t, STYLE_ACTION, first);
    free(first);
    ev_redraw(t);
}

static void
ev_output_line(const struct runbook_step *step, const char *line, void *payload)
{
    struct tui *t = payload;
    static double last;

    (void)step;
    tui_out_push(t, STYLE_NORMAL, line);
    // a step printing thousands of lines must not spend its time painting
    double now = pd_time_mono();
    if (now - last > 0.05) {
        last = now;
        ev_redraw(t);
    }
}

static enum draw_symbol
status_symbol(enum step_status st)
{
    switch (st) {
    case STEP_PASSED:
        return SYM_PASSED;
    case STEP_FAILED:
        return SYM_FAILED;
    case STEP_SKIPPED:
        return SYM_SKIPPED;
    case STEP_RUNNING:
        return SYM_RUNNING;
    default:
        return SYM_PENDING;
    }
}

static void
ev_step_finished(const struct runbook_step *step, enum step_status st, const char *summary,
                 void *payload)
{
    struct tui *t = payload;

    (void)step;
    char *line = pd_xasprintf("%s %s%s%s", draw_symbol(status_symbol(st)), step_status_name(st),
                              summary && *summary ? ": " : "", summary ? summary : "");
    tui_out_push(t, draw_status_style(st), line);
    free(line);
    // the action stays on screen: a failure dialog comes next and refers to it
    ev_redraw(t);
}

/* Esc in a prompt: the operator may stop the drill (it can be resumed). */
static bool
confirm_stop(struct tui *t)
{
    if (t->aborted)
        return true;
    if (!tui_ask(t, "Stop the drill?",
                 "Stop the drill here? Everything so far is in the journal; "
                 "`pgdrill resume` continues from this point."))
        return t->aborted;
    t->stop = true;
    return true;
}

static int
ev_prompt_needed(const struct engine_prompt *p, char **out, void *payload)
{
    struct tui *t = payload;
    struct tui_dialog d = {.keymap = KEYMAP_EDIT, .hint = "Enter accept   Esc stop the drill"};
    struct pd_buf text;
    int rc = PD_EINTR;

    pd_buf_init(&text, 0);
    pd_buf_appendf(&text, NULL, "%s", p->question ? p->question : "");
    if (p->action == STEP_INPUT && p->type == INPUT_TIMESTAMP)
        pd_buf_appendf(&text, NULL, "\nFormat: RFC 3339 in UTC, e.g. 2026-01-31T14:05:00Z");
    if (p->action == STEP_INPUT && p->type == INPUT_INTEGER)
        pd_buf_appendf(&text, NULL, "\nA whole number.");
    if (p->n_choices > 0) {
        pd_buf_appendf(&text, NULL, "\nChoices:");
        for (size_t i = 0; i < p->n_choices; i++)
            pd_buf_appendf(&text, NULL, "%s %s", i ? "," : "", p->choices[i]);
    }
    if (p->default_value)
        pd_buf_appendf(&text, NULL, "\nDefault: %s (Enter accepts it)", p->default_value);
    else if (p->optional)
        pd_buf_appendf(&text, NULL, "\nOptional: Enter leaves it empty.");
    d.text = pd_buf_steal(&text);
    if (p->last_error)
        d.error = pd_xstrdup(p->last_error);
    if (p->action == STEP_INPUT)
        d.title = p->name ? p->name : "Input";
    else if (p->action == STEP_NOTE)
        d.title = "Note";
    else
        d.title = "Manual step: type done when it is done";
    for (;;) {
        enum tui_request r = tui_dialog_run(t, &d);
        if (r == REQ_EDIT_ACCEPT) {
            if (d.edit.len == 0 && p->default_value)
                *out = pd_xstrdup(p->default_value);
            else
                *out = tui_edit_steal(&d.edit);
            rc = 0;
            break;
        }
        if (r == REQ_QUIT || confirm_stop(t))
            break;
    }
    tui_dialog_free(&d);
    if (rc == PD_EINTR)
        t->stop = true;
    ev_redraw(t);
    return rc;
}

static int
ev_confirm_needed(const struct engine_confirm *c, void *payload)
{
    struct tui *t = payload;
    struct tui_dialog d = {
        .keymap = KEYMAP_EDIT,
        .hint = "type the target, Enter confirm   Esc stop the drill",
        .warn = c->destructive,
        .title = c->destructive ? "Destructive action: confirm" : "Confirm",
    };
    int rc = PD_EINTR;

    d.text = pd_xasprintf("%s\n\nType %s to continue.", c->message ? c->message : "", c->target);
    for (;;) {
        enum tui_request r = tui_dialog_run(t, &d);
        if (r == REQ_EDIT_ACCEPT) {
            if (strcmp(d.edit.buf, c->target) == 0) {
                rc = 0;
                break;
            }
            free(d.error);
            d.error = pd_xasprintf("that is not '%s'; type it exactly", c->target);
            continue;
        }
        if (r == REQ_QUIT || confirm_stop(t))
            break;
    }
    tui_dialog_free(&d);
    if (rc == PD_EINTR)
        t->stop = true;
    ev_redraw(t);
    return rc;
}

static enum engine_decision
ev_failure_decision(const struct runbook_step *step, const char *why, char **reason, void *payload)
{
    struct tui *t = payload;
    struct tui_dialog d = {
        .title = "Step failed",
        .keymap = KEYMAP_FAILURE,
        .hint = "r retry   s skip (with a reason)   q stop   n note",
        .warn = true,
    };
    enum engine_decision dec = ENGINE_STOP;

    const char *policy = step->on_fail == FAIL_RETRY  ? "retry"
                         : step->on_fail == FAIL_SKIP ? "skip"
                                                      : "stop";
    d.text = pd_xasprintf("%s step %s failed:\n%s\n\nThe runbook's policy for this step: %s.",
                          runbook_action_name(step->action), step->id, why ? why : "", policy);
    for (;;) {
        enum tui_request r = tui_dialog_run(t, &d);
        if (r == REQ_RETRY) {
            dec = ENGINE_RETRY;
            break;
        }
        if (r != REQ_SKIP)
            break; // stop, or the script aborted
        struct tui_dialog why_d = {
            .title = "Skip: why?",
            .text = pd_xstrdup("The reason goes into the journal and the report."),
            .keymap = KEYMAP_EDIT,
            .hint = "Enter skip   Esc back",
        };
        enum tui_request wr;
        while ((wr = tui_dialog_run(t, &why_d)) == REQ_EDIT_ACCEPT && why_d.edit.len == 0) {
            free(why_d.error);
            why_d.error = pd_xstrdup("a reason is required");
        }
        if (wr == REQ_EDIT_ACCEPT) {
            *reason = tui_edit_steal(&why_d.edit);
            dec = ENGINE_SKIP;
        }
        tui_dialog_free(&why_d);
        if (wr == REQ_EDIT_ACCEPT || t->aborted)
            break;
    }
    tui_dialog_free(&d);
    ev_redraw(t);
    return dec;
}

static bool
ev_tick(void *payload)
{
    struct tui *t = payload;

    if (!draw_active() || tui_signalled(t))
        return t->stop;
    // drain what was typed; never wait here, the engine is working
    for (int i = 0; i < 16 && !t->stop; i++) {
        tui_redraw(t);
        int key = tui_input_get(&t->in, 0);
        if (key == TUI_KEY_NONE)
            break;
        if (key == TUI_KEY_ABORT) {
            t->aborted = true;
            t->stop = true;
            break;
        }
        if (key == KEY_RESIZE_FN) {
            draw_invalidate();
            continue;
        }
        enum tui_request req = tui_request_for_key(t->top->ops->keymap, key);
        if (req == REQ_NONE)
            continue;
        free(t->status);
        t->status = NULL;
        enum screen_result r = t->top->ops->handle(t, t->top, req);
        if (r == SCREEN_UNHANDLED)
            r = tui_screen_generic(t, t->top, req);
        if (r == SCREEN_QUIT)
            t->stop = true;
    }
    if (t->stop && t->engine)
        engine_request_stop(t->engine);
    tui_redraw(t);
    return t->stop;
}

/* ------------------------------------------------------------ tui_run */

static void
fatal_hook(void)
{
    draw_end();
}

static void
log_sink(enum pd_log_level level, const char *msg, void *payload)
{
    struct tui *t = payload;

    if (level <= PD_LOG_WARN) {
        tui_status(t, "%s: %s", pd_log_level_name(level), msg);
        char *line = pd_xasprintf("%s: %s", pd_log_level_name(level), msg);
        tui_out_push(t, level == PD_LOG_ERROR ? STYLE_FAILED : STYLE_DIM, line);
        free(line);
    }
}

/*
 * SIGTERM and SIGHUP stop the drill like q does (the journal allows a
 * resume); in raw mode Ctrl-C is a key, but a SIGINT from kill is handled
 * the same way. The handler only sets a flag and asks the engine to stop.
 */
static volatile sig_atomic_t got_signal;
static struct engine *volatile signal_engine;
static struct sigaction old_actions[3];
static const int stop_signals[3] = {SIGTERM, SIGHUP, SIGINT};

static void
on_signal(int sig)
{
    got_signal = sig;
    if (signal_engine)
        engine_request_stop(signal_engine);
}

static void
signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    for (size_t i = 0; i < 3; i++)
        sigaction(stop_signals[i], &sa, &old_actions[i]);
}

static void
signals_restore(void)
{
    signal_engine = NULL;
    for (size_t i = 0; i < 3; i++)
        sigaction(stop_signals[i], &old_actions[i], NULL);
}

bool
tui_signalled(struct tui *t)
{
    if (got_signal)
        t->stop = true;
    return got_signal != 0;
}

/* Take over the terminal; diagnostics from core go to the screen from now on. */
static void
start_terminal(struct tui *t)
{
    const char *nc = getenv("NO_COLOR");

    pd_log_set_sink(log_sink, t);
    draw_init(nc && *nc);
}

/*
 * The banner names where pgdrill points (the caller's setting) and, when
 * the runbook was written for another environment, says so: running a
 * sandbox runbook against production must be impossible to miss.
 */
static void
set_environment(struct tui *t)
{
    const char *env = t->opts->environment;
    const char *rb_env = t->rb ? t->rb->environment : NULL;

    if (!env || !*env)
        env = rb_env ? rb_env : "UNKNOWN ENVIRONMENT";
    char *text = rb_env && *rb_env && strcasecmp(env, rb_env) != 0
                     ? pd_xasprintf("%s (runbook: %s)", env, rb_env)
                     : pd_xstrdup(env);
    for (char *c = text; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    t->env_text = text;
    if (strstr(text, "PROD"))
        t->env_style = STYLE_BANNER_PROD;
    else if (strstr(text, "SANDBOX") || strstr(text, "LOCAL") || strstr(text, "TEST"))
        t->env_style = STYLE_BANNER_SANDBOX;
    else
        t->env_style = STYLE_BANNER_OTHER;
}

static int
prepare_drill(struct tui *t, const char *path, struct pd_err *err)
{
    const struct tui_opts *o = t->opts;
    int rc;

    if (o->resume_id)
        rc = drill_session_resume(&t->session, o->home, o->resume_id, err);
    else
        rc = drill_session_begin(&t->session, o->home, path, o->operator_name, err);
    t->rb = t->session.rb;
    t->drill = t->session.drill;
    if (rc != 0)
        return rc;
    size_t n = t->rb->n_stages;
    t->stage_status = pd_xcalloc(n ? n : 1, sizeof(*t->stage_status));
    t->stage_secs = pd_xcalloc(n ? n : 1, sizeof(*t->stage_secs));
    for (size_t i = 0; i < n && i < t->drill->n_stages; i++) {
        t->stage_status[i] = t->drill->stages[i].status;
        t->stage_secs[i] = t->drill->stages[i].duration_s;
        if (t->stage_status[i] == STEP_RUNNING) // interrupted there: it runs again
            t->stage_status[i] = STEP_PENDING;
    }
    set_environment(t);
    return 0;
}

static void
write_report(struct tui *t)
{
    struct pd_err err = {0};

    if (drill_session_report(&t->session, NULL, &err) != 0) {
        tui_status(t, "report not written: %s", err.msg);
        return;
    }
    t->report_path = pd_xasprintf("%s/report.json", t->drill->dir);
}

static int
run_drill(struct tui *t, struct pd_err *err)
{
    const struct tui_opts *o = t->opts;
    struct engine_opts eo = {.vars = o->vars, .n_vars = o->n_vars};
    struct engine_events ev = {
        .stage_started = ev_stage_started,
        .stage_finished = ev_stage_finished,
        .step_started = ev_step_started,
        .output_line = ev_output_line,
        .step_finished = ev_step_finished,
        .prompt_needed = ev_prompt_needed,
        .confirm_needed = ev_confirm_needed,
        .failure_decision = ev_failure_decision,
        .tick = ev_tick,
        .plan_needed = tui_plan_needed,
    };
    struct tui_screen *s = NULL;
    int rc = drill_session_start(&t->session, &eo, &ev, t, err);

    if (rc != 0)
        return rc;
    t->engine = t->session.engine;
    s = screen_new(t, &tui_drill_ops, NULL);
    if (tui_drill_ops.open && (rc = tui_drill_ops.open(t, s, err)) != 0) {
        free(s);
        return rc;
    }
    signal_engine = t->engine;
    t->top = s;
    /*
     * The RTO clock is wall time since the drill began, as in the report:
     * after a resume the time in between counts too (an outage does not
     * pause). The monotonic clock measures this run.
     */
    double began;
    t->run_start = pd_time_mono();
    if (t->drill->started_at && pd_time_parse_rfc3339(&began, t->drill->started_at, 1) == 0 &&
        began <= pd_time_wall())
        t->base_secs = pd_time_wall() - began;
    t->running = true;
    tui_redraw(t);
    rc = drill_session_run(&t->session, err);
    t->total_secs = tui_total_secs(t);
    t->running = false;
    t->drill_rc = rc;
    if (rc != PD_EINTR && !t->aborted) {
        write_report(t);
        tui_screen_run(t, &tui_summary_ops, NULL);
    }
    if (tui_drill_ops.close)
        tui_drill_ops.close(t, s);
    t->top = s->below;
    free(s);
    return rc;
}

static void
tui_free(struct tui *t)
{
    for (size_t i = 0; i < t->out_len; i++)
        free(t->out[(t->out_start + i) % TUI_OUT_MAX].text);
    free(t->out);
    free(t->status);
    free(t->action);
    free(t->stage_status);
    free(t->stage_secs);
    free(t->report_path);
    free(t->env_text);
    drill_session_end(&t->session);
    tui_input_close(&t->in);
}

int
tui_run(const struct tui_opts *opts, struct pd_err *err)
{
    struct tui t = {.opts = opts, .cur_stage = -1};
    char *picked = NULL;
    int rc;

    // an unknown locale leaves "C", and the screen draws its ASCII symbols
    (void)setlocale(LC_ALL, "");
    // the test hook works even if a caller forgets to pass it on
    const char *script = opts->script ? opts->script : getenv("PGDRILL_TUI_SCRIPT");
    rc = tui_input_open(&t.in, script, err);
    if (rc != 0)
        return rc;
    signals_install();
    pd_set_fatal_hook(fatal_hook);

    const char *path = opts->runbook_path;
    if (!path && !opts->resume_id) {
        start_terminal(&t);
        enum screen_result r = tui_screen_run(&t, &tui_picker_ops, &picked);
        if (r == SCREEN_QUIT || !picked) {
            rc = t.aborted ? PD_EINPUT : 0;
            goto out;
        }
        path = picked;
    }
    if (!draw_active())
        start_terminal(&t);
    rc = prepare_drill(&t, path, err);
    if (rc != 0) {
        if (!t.aborted && picked)
            tui_message(&t, "Cannot start the drill", err->msg);
        goto out;
    }
    rc = run_drill(&t, err);
    // declining the plan is the operator's choice, not a failure: nothing was changed
    if (rc == PD_ECHECK && t.drill->outcome && strcmp(t.drill->outcome, "declined") == 0)
        rc = 0;
out:
    draw_end();
    pd_log_set_sink(NULL, NULL);
    pd_set_fatal_hook(NULL);
    signals_restore();
    if (t.aborted) { // the test script failed: that is the error to report
        *err = t.in.err;
        rc = PD_EINPUT;
    }
    if (t.drill && (rc == PD_EINTR || t.aborted) && !t.drill->finished_at) {
        // the engine's error already names the resume command; do not repeat it
        fprintf(stderr, "pgdrill: the journal keeps the drill so far: %s/journal.jsonl\n",
                t.drill->dir);
        if (!strstr(err->msg, "pgdrill resume"))
            fprintf(stderr, "pgdrill: drill %s interrupted; resume with: pgdrill resume %s\n",
                    t.drill->id, t.drill->id);
    }
    free(picked);
    tui_free(&t);
    return rc;
}
