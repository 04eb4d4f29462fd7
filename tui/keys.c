/* keys: the request table and the default key bindings (data, not switches). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curses.h>

#include "request.h"

#define FN(k)   (TUI_KEY_FN + (k))
#define CTRL(c) ((c)&0x1f)

static const struct {
    const char *name;
    const char *help;
} request_info[] = {[REQ_NONE] = {"none", ""},

#define TUI_REQ_INFO(e, n, h) [e] = {n, h},
                    TUI_REQUESTS(TUI_REQ_INFO)
#undef TUI_REQ_INFO
};

static const char *const keymap_names[] = {
#define TUI_KEYMAP_NAME(e, n) [e] = (n),
    TUI_KEYMAPS(TUI_KEYMAP_NAME)
#undef TUI_KEYMAP_NAME
};

/*
 * Default bindings. Movement is shared by the picker, the drill screen
 * (where it scrolls the output pane) and the pagers; vi keys and arrows.
 */
#define MOVEMENT(km)                                                                               \
    {km, 'k', REQ_MOVE_UP}, {km, FN(KEY_UP), REQ_MOVE_UP}, {km, 'j', REQ_MOVE_DOWN},               \
        {km, FN(KEY_DOWN), REQ_MOVE_DOWN}, {km, FN(KEY_PPAGE), REQ_MOVE_PAGE_UP},                  \
        {km, FN(KEY_NPAGE), REQ_MOVE_PAGE_DOWN}, {km, ' ', REQ_MOVE_PAGE_DOWN},                    \
        {km, CTRL('u'), REQ_MOVE_HALF_UP}, {km, CTRL('d'), REQ_MOVE_HALF_DOWN},                    \
        {km, 'g', REQ_MOVE_FIRST}, {km, FN(KEY_HOME), REQ_MOVE_FIRST}, {km, 'G', REQ_MOVE_LAST},   \
    {                                                                                              \
        km, FN(KEY_END), REQ_MOVE_LAST                                                             \
    }

/* A dialog's text taller than the screen scrolls; these keys answer no dialog. */
#define DIALOG_SCROLL(km)                                                                          \
    {km, FN(KEY_UP), REQ_MOVE_UP}, {km, FN(KEY_DOWN), REQ_MOVE_DOWN},                              \
        {km, FN(KEY_PPAGE), REQ_MOVE_PAGE_UP},                                                     \
    {                                                                                              \
        km, FN(KEY_NPAGE), REQ_MOVE_PAGE_DOWN                                                      \
    }

static const struct tui_binding bindings[] = {
    {KEYMAP_GENERIC, '?', REQ_HELP},
    {KEYMAP_GENERIC, FN(KEY_F(1)), REQ_HELP},
    {KEYMAP_GENERIC, ':', REQ_PROMPT},
    {KEYMAP_GENERIC, CTRL('l'), REQ_REFRESH},
    {KEYMAP_GENERIC, 'q', REQ_QUIT},
    {KEYMAP_GENERIC, CTRL('c'), REQ_QUIT},
    {KEYMAP_GENERIC, 27, REQ_BACK},
    MOVEMENT(KEYMAP_PICKER),
    {KEYMAP_PICKER, '\n', REQ_ENTER},
    {KEYMAP_PICKER, '\r', REQ_ENTER},
    {KEYMAP_PICKER, FN(KEY_ENTER), REQ_ENTER},
    {KEYMAP_PICKER, 't', REQ_TIMELINE},
    {KEYMAP_PICKER, 'h', REQ_HISTORY},
    MOVEMENT(KEYMAP_DRILL),
    {KEYMAP_DRILL, 'n', REQ_NOTE},
    {KEYMAP_DRILL, 't', REQ_TIMELINE},
    MOVEMENT(KEYMAP_PAGER),
    {KEYMAP_PAGER, '\n', REQ_ENTER},
    {KEYMAP_PAGER, '\r', REQ_ENTER},
    {KEYMAP_YESNO, 'y', REQ_YES},
    {KEYMAP_YESNO, 'Y', REQ_YES},
    {KEYMAP_YESNO, 'n', REQ_NO},
    {KEYMAP_YESNO, 'N', REQ_NO},
    {KEYMAP_YESNO, 'q', REQ_NO},
    {KEYMAP_YESNO, 27, REQ_NO},
    {KEYMAP_YESNO, '\n', REQ_NO},
    {KEYMAP_YESNO, '\r', REQ_NO},
    {KEYMAP_FAILURE, 'r', REQ_RETRY},
    {KEYMAP_FAILURE, 's', REQ_SKIP},
    {KEYMAP_FAILURE, 'q', REQ_STOP},
    {KEYMAP_FAILURE, 'n', REQ_NOTE},
    {KEYMAP_YESNO, '\t', REQ_PEEK},
    {KEYMAP_FAILURE, '\t', REQ_PEEK},
    {KEYMAP_EDIT, '\t', REQ_PEEK},
    DIALOG_SCROLL(KEYMAP_YESNO),
    DIALOG_SCROLL(KEYMAP_FAILURE),
    DIALOG_SCROLL(KEYMAP_EDIT),
    {KEYMAP_EDIT, '\n', REQ_EDIT_ACCEPT},
    {KEYMAP_EDIT, '\r', REQ_EDIT_ACCEPT},
    {KEYMAP_EDIT, FN(KEY_ENTER), REQ_EDIT_ACCEPT},
    {KEYMAP_EDIT, 27, REQ_EDIT_CANCEL},
    {KEYMAP_EDIT, CTRL('c'), REQ_EDIT_CANCEL},
    {KEYMAP_EDIT, FN(KEY_BACKSPACE), REQ_EDIT_BACKSPACE},
    {KEYMAP_EDIT, 127, REQ_EDIT_BACKSPACE},
    {KEYMAP_EDIT, CTRL('h'), REQ_EDIT_BACKSPACE},
    {KEYMAP_EDIT, FN(KEY_DC), REQ_EDIT_DELETE},
    {KEYMAP_EDIT, CTRL('u'), REQ_EDIT_KILL},
    {KEYMAP_EDIT, FN(KEY_LEFT), REQ_EDIT_LEFT},
    {KEYMAP_EDIT, FN(KEY_RIGHT), REQ_EDIT_RIGHT},
    {KEYMAP_EDIT, FN(KEY_HOME), REQ_EDIT_HOME},
    {KEYMAP_EDIT, CTRL('a'), REQ_EDIT_HOME},
    {KEYMAP_EDIT, FN(KEY_END), REQ_EDIT_END},
    {KEYMAP_EDIT, CTRL('e'), REQ_EDIT_END},
};

static const struct {
    const char *name;
    int key;
} key_names[] = {
    {"Enter", '\n'},
    {"Esc", 27},
    {"Tab", '\t'},
    {"Space", ' '},
    {"Backspace", FN(KEY_BACKSPACE)},
    {"Del", FN(KEY_DC)},
    {"Up", FN(KEY_UP)},
    {"Down", FN(KEY_DOWN)},
    {"Left", FN(KEY_LEFT)},
    {"Right", FN(KEY_RIGHT)},
    {"PgUp", FN(KEY_PPAGE)},
    {"PgDn", FN(KEY_NPAGE)},
    {"Home", FN(KEY_HOME)},
    {"End", FN(KEY_END)},
    {"F1", FN(KEY_F(1))},
};

enum tui_request
tui_request_for_key(enum tui_keymap keymap, int key)
{
    for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
        if (bindings[i].keymap == keymap && bindings[i].key == key)
            return bindings[i].request;
    if (keymap == KEYMAP_EDIT)
        return REQ_NONE;
    for (size_t i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
        if (bindings[i].keymap == KEYMAP_GENERIC && bindings[i].key == key)
            return bindings[i].request;
    return REQ_NONE;
}

const char *
tui_request_name(enum tui_request req)
{
    return (unsigned)req < REQ_COUNT ? request_info[req].name : "?";
}

const char *
tui_request_help(enum tui_request req)
{
    return (unsigned)req < REQ_COUNT ? request_info[req].help : "";
}

const char *
tui_keymap_name(enum tui_keymap keymap)
{
    return (unsigned)keymap < KEYMAP_COUNT ? keymap_names[keymap] : "?";
}

const struct tui_binding *
tui_bindings(size_t *n_out)
{
    *n_out = sizeof(bindings) / sizeof(bindings[0]);
    return bindings;
}

void
tui_key_name(char *buf, size_t size, int key)
{
    if (key == '\r') // shown once, as Enter
        key = '\n';
    for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
        if (key_names[i].key == key) {
            snprintf(buf, size, "%s", key_names[i].name);
            return;
        }
    }
    if (key == 127 || key == CTRL('h')) {
        snprintf(buf, size, "Backspace");
    } else if (key >= 0 && key < 32) {
        snprintf(buf, size, "Ctrl-%c", (char)('A' + key - 1));
    } else if (tui_key_is_char(key) && key < 127) {
        snprintf(buf, size, "%c", (char)key);
    } else if (key == FN(KEY_ENTER)) {
        snprintf(buf, size, "Enter");
    } else {
        snprintf(buf, size, "key-%d", key);
    }
}

int
tui_key_parse(const char *name)
{
    for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++)
        if (strcasecmp(key_names[i].name, name) == 0)
            return key_names[i].key;
    if (strcasecmp(name, "Escape") == 0)
        return 27;
    if (strcasecmp(name, "Return") == 0)
        return '\n';
    if (strncasecmp(name, "Ctrl-", 5) == 0 && name[5] && !name[6]) {
        char c = name[5];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c >= 'a' && c <= 'z')
            return CTRL(c);
        return TUI_KEY_NONE;
    }
    if (name[0] && !name[1])
        return (unsigned char)name[0];
    return TUI_KEY_NONE;
}
