/* dialog: the modal overlays (questions, messages, : command line, notes), their key loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/runbook.h"
#include "screen.h"
#include "views.h"

/* ------------------------------------------------------------- dialogs */

void
tui_dialog_free(struct tui_dialog *d)
{
    PD_FREE(d->text);
    PD_FREE(d->error);
    tui_edit_free(&d->edit);
}

/* Scroll a dialog's text (drawing clamps it); false for any other request. */
static bool
dialog_scroll(struct tui_dialog *d, enum tui_request req)
{
    int page = d->page > 1 ? d->page - 1 : 1;

    switch (req) {
    case REQ_MOVE_UP:
        d->scroll--;
        return true;
    case REQ_MOVE_DOWN:
        d->scroll++;
        return true;
    case REQ_MOVE_PAGE_UP:
        d->scroll -= page;
        return true;
    case REQ_MOVE_PAGE_DOWN:
        d->scroll += page;
        return true;
    default:
        return false;
    }
}

/*
 * Redraw, then wait for one key. False when the dialog must end: a signal,
 * or the abort key (t->aborted). *key is TUI_KEY_NONE when none came in
 * time or the terminal was resized (the next redraw is whole).
 */
static bool
dialog_key(struct tui *t, int *key)
{
    tui_redraw(t);
    *key = tui_input_get(&t->in, TUI_POLL_MS);
    if (tui_signalled(t))
        return false;
    if (*key == TUI_KEY_ABORT) {
        t->aborted = true;
        return false;
    }
    if (tui_key_is_resize(*key)) {
        draw_invalidate();
        *key = TUI_KEY_NONE;
    }
    return true;
}

/*
 * Tab in a dialog: hide it to read the screen under it (the output pane
 * holds what the question is about), scrolling the output, until Tab or Esc.
 */
static void
dialog_peek(struct tui *t)
{
    struct tui_dialog *saved = t->dialog;

    t->dialog = NULL;
    tui_status(t, "Tab back to the question   PgUp/PgDn j/k scroll the output");
    for (;;) {
        int key;

        if (!dialog_key(t, &key) || key == '\t' || key == 27)
            break;
        if (key == TUI_KEY_NONE || !t->top)
            continue;
        enum tui_request req = tui_request_for_key(t->top->ops->keymap, key);
        if (req < REQ_MOVE_UP || req > REQ_MOVE_LAST)
            continue;
        if (!t->top->ops->handle || t->top->ops->handle(t, t->top, req) == SCREEN_UNHANDLED)
            tui_screen_generic(t, t->top, req);
    }
    PD_FREE(t->status);
    t->dialog = saved;
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
        int key;

        if (!dialog_key(t, &key))
            break;
        if (key == TUI_KEY_NONE)
            continue;
        enum tui_request req = tui_request_for_key(d->keymap, key);
        if (dialog_scroll(d, req))
            continue;
        if (req == REQ_PEEK) {
            dialog_peek(t);
            if (t->aborted)
                break;
            continue;
        }
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

bool
tui_ask_stop(struct tui *t, const char *title, const char *question)
{
    const char *id = t->drill && t->drill->id ? t->drill->id : "DRILL-ID";
    char *text = pd_xasprintf("%s The journal keeps everything so far; `pgdrill tui --resume %s` "
                              "goes on from here later (headless: `pgdrill resume %s`).",
                              question, id, id);
    bool yes = tui_ask(t, title, text);

    free(text);
    return yes;
}

void
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
