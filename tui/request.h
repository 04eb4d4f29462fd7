/*
 * request: what a key asks the TUI to do, and the default key bindings.
 *
 * One X-macro, TUI_REQUESTS, generates the enum, the request names (used
 * in the help screen) and their help text, so the three never drift apart
 * (tig's REQ_INFO). Bindings are a data table per keymap (keys.c); screens
 * never switch on raw keys, only on requests. A keymap falls back to the
 * generic one, except the line editor's, where unbound keys are text.
 */
#ifndef PD_TUI_REQUEST_H
#define PD_TUI_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* _(ENUM, "name", "help text") */
#define TUI_REQUESTS(_)                                                                            \
    _(REQ_MOVE_UP, "move-up", "Move up one line")                                                  \
    _(REQ_MOVE_DOWN, "move-down", "Move down one line")                                            \
    _(REQ_MOVE_PAGE_UP, "move-page-up", "Move up one page")                                        \
    _(REQ_MOVE_PAGE_DOWN, "move-page-down", "Move down one page")                                  \
    _(REQ_MOVE_HALF_UP, "move-half-page-up", "Move up half a page")                                \
    _(REQ_MOVE_HALF_DOWN, "move-half-page-down", "Move down half a page")                          \
    _(REQ_MOVE_FIRST, "move-first-line", "Move to the first line")                                 \
    _(REQ_MOVE_LAST, "move-last-line", "Move to the last line (output: follow)")                   \
    _(REQ_ENTER, "enter", "Open the selected runbook, or close this screen")                       \
    _(REQ_NOTE, "note", "Write a note against the current stage")                                  \
    _(REQ_TIMELINE, "timeline", "Restorability timeline: Neon window and S3 dumps")                \
    _(REQ_HISTORY, "history", "Drill history of the selected runbook")                             \
    _(REQ_HELP, "help", "Show this help")                                                          \
    _(REQ_PROMPT, "prompt", "Command line (:dump-screen FILE)")                                    \
    _(REQ_REFRESH, "refresh", "Redraw the screen")                                                 \
    _(REQ_BACK, "back", "Close this screen or dialog")                                             \
    _(REQ_QUIT, "quit", "Quit; during a drill asks first (resume later)")                          \
    _(REQ_YES, "yes", "Answer yes")                                                                \
    _(REQ_NO, "no", "Answer no")                                                                   \
    _(REQ_RETRY, "retry", "Retry the failed step")                                                 \
    _(REQ_SKIP, "skip", "Skip the failed step (asks for a reason)")                                \
    _(REQ_STOP, "stop", "Stop the drill at the failed step")                                       \
    _(REQ_PEEK, "peek", "Hide the dialog to read the screen; again to return")                     \
    _(REQ_EDIT_ACCEPT, "edit-accept", "Accept the typed text")                                     \
    _(REQ_EDIT_CANCEL, "edit-cancel", "Cancel the dialog")                                         \
    _(REQ_EDIT_BACKSPACE, "edit-backspace", "Delete the character before the cursor")              \
    _(REQ_EDIT_DELETE, "edit-delete", "Delete the character under the cursor")                     \
    _(REQ_EDIT_KILL, "edit-kill-line", "Delete the whole line")                                    \
    _(REQ_EDIT_LEFT, "edit-left", "Move the cursor left")                                          \
    _(REQ_EDIT_RIGHT, "edit-right", "Move the cursor right")                                       \
    _(REQ_EDIT_HOME, "edit-home", "Move the cursor to the start")                                  \
    _(REQ_EDIT_END, "edit-end", "Move the cursor to the end")

enum tui_request {
    REQ_NONE,

#define TUI_REQ_ENUM(e, name, help) e,
    TUI_REQUESTS(TUI_REQ_ENUM)
#undef TUI_REQ_ENUM
        REQ_COUNT,
};

/* Keymaps: each screen or dialog names the one it reads keys with. */
#define TUI_KEYMAPS(_)                                                                             \
    _(KEYMAP_GENERIC, "generic")                                                                   \
    _(KEYMAP_PICKER, "picker")                                                                     \
    _(KEYMAP_DRILL, "drill")                                                                       \
    _(KEYMAP_PAGER, "help/summary")                                                                \
    _(KEYMAP_YESNO, "question")                                                                    \
    _(KEYMAP_FAILURE, "failure")                                                                   \
    _(KEYMAP_EDIT, "line editor")

enum tui_keymap {

#define TUI_KEYMAP_ENUM(e, name) e,
    TUI_KEYMAPS(TUI_KEYMAP_ENUM)
#undef TUI_KEYMAP_ENUM
        KEYMAP_COUNT,
};

/*
 * A key: a Unicode character, or a curses function key (KEY_*) offset by
 * TUI_KEY_FN so the two never collide. TUI_KEY_NONE means "no key yet".
 */
#define TUI_KEY_NONE (-1)
#define TUI_KEY_FN   0x1000000

static inline bool
tui_key_is_char(int key)
{
    return key >= 0 && key < TUI_KEY_FN;
}

struct tui_binding {
    enum tui_keymap keymap;
    int key;
    enum tui_request request;
};

/* The request bound to key in keymap (falling back to generic), or REQ_NONE. */
enum tui_request tui_request_for_key(enum tui_keymap keymap, int key);

/* "move-up"; borrowed, static. */
const char *tui_request_name(enum tui_request req);
const char *tui_request_help(enum tui_request req);
const char *tui_keymap_name(enum tui_keymap keymap);

/* The default bindings table and its length. Borrowed, static. */
const struct tui_binding *tui_bindings(size_t *n_out);

/* Human name of a key ("j", "Ctrl-D", "PgUp", "Enter") into buf. */
void tui_key_name(char *buf, size_t size, int key);

/* Parse a key name as the script uses it ("Enter", "Esc", "Ctrl-U", "q"); TUI_KEY_NONE if bad. */
int tui_key_parse(const char *name);

#endif
