/*
 * edit: the one-line text editor behind prompts, confirmations, notes and
 * the : command line. UTF-8 aware, no curses (unit-tested directly).
 */
#ifndef PD_TUI_EDIT_H
#define PD_TUI_EDIT_H

#include <stddef.h>

#include "request.h"

struct tui_edit {
    char *buf;  /* owned, always NUL-terminated */
    size_t len; /* bytes */
    size_t cap;
    size_t cursor; /* byte offset, on a character boundary */
};

void tui_edit_init(struct tui_edit *e, const char *initial);
void tui_edit_free(struct tui_edit *e);
/* Insert a Unicode character at the cursor. */
void tui_edit_insert(struct tui_edit *e, int ch);
/* Apply an editing request (REQ_EDIT_*); other requests are ignored. */
void tui_edit_apply(struct tui_edit *e, enum tui_request req);
/* Hand the text to the caller (who frees it) and clear the editor. */
char *tui_edit_steal(struct tui_edit *e);

#endif
