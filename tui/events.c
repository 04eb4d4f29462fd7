/* events: the TUI's engine_events table, from stage progress to prompts, failures and ticks. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "engine/engine.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/contacts.h"
#include "runbook/runbook.h"
#include "screen.h"
#include "text.h"
#include "views.h"

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
    PD_FREE(t->hint);
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

/* The procedures' advice for the failure just shown: below it, wrapped to the screen. */
static void
ev_hint_shown(const struct runbook_step *step, const char *id, const char *advice, void *payload)
{
    struct tui *t = payload;
    struct tui_lines l = {0};

    (void)step;
    free(t->hint);
    t->hint = pd_xasprintf("hint (%s): %s", id, advice);
    tui_text_wrap(&l, t->hint, draw_cols() > 24 ? draw_cols() - 4 : 20);
    for (size_t i = 0; i < l.n; i++)
        tui_out_push(t, STYLE_WARN, l.items[i]);
    tui_lines_free(&l);
    ev_redraw(t);
}

/* "\n\nWho to tell:\n  Label: text..." for an incident runbook, else "" (caller frees). */
static char *
contacts_text(const struct runbook *rb)
{
    struct contacts c;
    struct pd_buf b;
    struct pd_err ignored;

    pd_buf_init(&b, 0);
    runbook_contacts(&c, rb);
    if (c.n > 0)
        (void)pd_buf_appendf(&b, &ignored, "\n\nWho to tell:");
    for (size_t i = 0; i < c.n; i++)
        (void)pd_buf_appendf(&b, &ignored, "\n  %s: %s", c.v[i].role->label, c.v[i].text);
    contacts_free(&c);
    return pd_buf_steal(&b);
}

/* Esc in a prompt: the operator may stop the drill (it can be resumed). */
static bool
confirm_stop(struct tui *t)
{
    if (t->aborted)
        return true;
    if (!tui_ask_stop(t, "Stop the drill?", "Stop the drill here?"))
        return t->aborted;
    t->stop = true;
    return true;
}

static int
ev_prompt_needed(const struct engine_prompt *p, char **out, void *payload)
{
    struct tui *t = payload;
    struct tui_dialog d = {.keymap = KEYMAP_EDIT,
                           .hint = "Enter accept   Esc stop the drill   Tab peek"};
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
    if (p->last_error) {
        d.error = pd_xstrdup(p->last_error);
        // the refused answer, to be corrected rather than typed again: only when this is
        // the same input asked again (a refused --var is first asked with another's answer)
        if (t->answer && t->answer_name && p->name && strcmp(t->answer_name, p->name) == 0)
            tui_edit_init(&d.edit, t->answer);
    }
    PD_FREE(t->answer);
    PD_FREE(t->answer_name);
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
            t->answer = pd_xstrdup(*out);
            t->answer_name = p->name ? pd_xstrdup(p->name) : NULL;
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

/*
 * Why a typed confirmation is refused. A target pasted with a space around
 * it looks right in the field, so the space is named.
 */
static char *
confirm_refusal(const char *typed, const char *target)
{
    size_t n = strlen(typed);
    bool lead = n > 0 && isspace((unsigned char)typed[0]);
    bool trail = n > 0 && isspace((unsigned char)typed[n - 1]);
    const char *where = lead && trail ? "start and end" : lead ? "start" : "end";

    if (n == 0)
        return pd_xasprintf("nothing typed; type %s exactly", target);
    if (lead || trail)
        return pd_xasprintf("'%s' has a space at the %s; type %s exactly", typed, where, target);
    return pd_xasprintf("you typed '%s', not '%s'; type it exactly", typed, target);
}

static int
ev_confirm_needed(const struct engine_confirm *c, void *payload)
{
    struct tui *t = payload;
    struct tui_dialog d = {
        .keymap = KEYMAP_EDIT,
        .hint = "type the target, Enter confirm   Esc stop the drill   Tab peek",
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
            d.error = confirm_refusal(d.edit.buf, c->target);
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

#define FAILURE_OUTPUT_LINES 3

/*
 * The failed step's last output lines, "\n\nLast output:\n  ..." (owned),
 * or "" when it printed nothing: the dialog covers the output pane.
 */
static char *
failure_output(const struct tui *t)
{
    size_t first = t->out_len, n = 0;
    struct pd_buf b;

    // back from the end to the step's action line, past its result line
    while (first > 0) {
        const struct tui_out_line *l = &t->out[(t->out_start + first - 1) % TUI_OUT_MAX];
        if (l->style == STYLE_ACTION)
            break;
        first--;
    }
    pd_buf_init(&b, 0);
    for (size_t i = first; i < t->out_len; i++) {
        const struct tui_out_line *l = &t->out[(t->out_start + i) % TUI_OUT_MAX];
        if (l->style == STYLE_NORMAL)
            n++;
    }
    size_t skip = n > FAILURE_OUTPUT_LINES ? n - FAILURE_OUTPUT_LINES : 0;
    for (size_t i = first; i < t->out_len && n > 0; i++) {
        const struct tui_out_line *l = &t->out[(t->out_start + i) % TUI_OUT_MAX];
        if (l->style != STYLE_NORMAL)
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        if (b.len == 0)
            pd_buf_appendf(&b, NULL, "\n\nLast output:");
        pd_buf_appendf(&b, NULL, "\n  %s", l->text);
    }
    return pd_buf_steal(&b);
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
    // the procedures' hint, when one matched, right below the error; then who to tell
    char *tell = contacts_text(t->rb), *output = failure_output(t);
    d.text =
        pd_xasprintf("%s step %s failed:\n%s%s%s%s\n\nThe runbook's policy for this step: %s.%s",
                     runbook_action_name(step->action), step->id, why ? why : "", output,
                     t->hint ? "\n\n" : "", t->hint ? t->hint : "", policy, tell);
    free(output);
    free(tell);
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
        if (tui_key_is_resize(key)) {
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

void
tui_engine_events(struct engine_events *ev)
{
    *ev = (struct engine_events){
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
        .hint_shown = ev_hint_shown,
    };
}
