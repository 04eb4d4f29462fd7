/* draw: curses painting behind styles and symbols, and screen dumps. */
#include "draw.h"

#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <curses.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "text.h"

static bool active;
static bool utf8;
static bool color;
static int cursor_row = -1, cursor_col;
static attr_t style_attr[STYLE_COUNT];
static short style_pair[STYLE_COUNT];

static const char *const sym_utf8[SYM_COUNT] = {
    [SYM_PENDING] = "[ ]", [SYM_RUNNING] = "[>]", [SYM_PASSED] = "[✓]", [SYM_FAILED] = "[x]",
    [SYM_SKIPPED] = "[-]", [SYM_ACTION] = "▶",    [SYM_HLINE] = "─",    [SYM_ELLIPSIS] = "…",
};

static const char *const sym_ascii[SYM_COUNT] = {
    [SYM_PENDING] = "[ ]", [SYM_RUNNING] = "[>]", [SYM_PASSED] = "[+]", [SYM_FAILED] = "[x]",
    [SYM_SKIPPED] = "[-]", [SYM_ACTION] = ">",    [SYM_HLINE] = "-",    [SYM_ELLIPSIS] = "~",
};

/* Style table: colour pair (0 = none) and attributes with and without colour. */
static const struct {
    short fg, bg;
    attr_t color_attr;
    attr_t mono_attr;
} styles[STYLE_COUNT] = {
    [STYLE_NORMAL] = {0, 0, A_NORMAL, A_NORMAL},
    [STYLE_TITLE] = {0, 0, A_BOLD, A_BOLD},
    [STYLE_BANNER_SANDBOX] = {COLOR_BLACK, COLOR_GREEN, A_BOLD, A_REVERSE},
    [STYLE_BANNER_PROD] = {COLOR_RED, -1, A_BOLD | A_REVERSE, A_BOLD | A_REVERSE},
    [STYLE_BANNER_OTHER] = {COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE},
    [STYLE_CURSOR] = {0, 0, A_REVERSE, A_REVERSE},
    [STYLE_DIM] = {0, 0, A_DIM, A_DIM},
    [STYLE_PENDING] = {0, 0, A_NORMAL, A_NORMAL},
    [STYLE_RUNNING] = {COLOR_YELLOW, -1, A_BOLD, A_BOLD},
    [STYLE_PASSED] = {COLOR_GREEN, -1, A_NORMAL, A_NORMAL},
    [STYLE_FAILED] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_UNDERLINE},
    [STYLE_SKIPPED] = {0, 0, A_DIM, A_DIM},
    [STYLE_ACTION] = {COLOR_CYAN, -1, A_BOLD, A_BOLD},
    [STYLE_SEPARATOR] = {COLOR_BLUE, -1, A_NORMAL, A_NORMAL},
    [STYLE_STATUS] = {0, 0, A_REVERSE, A_REVERSE},
    [STYLE_DIALOG] = {0, 0, A_NORMAL, A_NORMAL},
    [STYLE_DIALOG_TITLE] = {0, 0, A_BOLD, A_BOLD},
    [STYLE_INPUT] = {0, 0, A_UNDERLINE, A_UNDERLINE},
    [STYLE_WARN] = {COLOR_RED, -1, A_BOLD, A_BOLD | A_REVERSE},
};

void
draw_init(bool no_color)
{
    const char *cs = nl_langinfo(CODESET);

    utf8 = cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    initscr();
    raw(); // Ctrl-C and Ctrl-Z are keys: q-confirmation guards the drill
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    color = !no_color && has_colors();
    if (color) {
        start_color();
        use_default_colors();
    }
    for (int s = 0; s < STYLE_COUNT; s++) {
        style_attr[s] = color ? styles[s].color_attr : styles[s].mono_attr;
        if (color && (styles[s].fg || styles[s].bg)) {
            init_pair((short)s, styles[s].fg, styles[s].bg);
            style_pair[s] = (short)s;
        }
    }
    active = true;
}

void
draw_end(void)
{
    if (!active)
        return;
    active = false;
    curs_set(1);
    endwin();
}

bool
draw_active(void)
{
    return active;
}

bool
draw_utf8(void)
{
    return utf8;
}

bool
draw_has_color(void)
{
    return color;
}

int
draw_rows(void)
{
    return LINES;
}

int
draw_cols(void)
{
    return COLS;
}

void
draw_begin(void)
{
    cursor_row = -1;
    erase();
}

void
draw_finish(void)
{
    if (cursor_row >= 0) {
        move(cursor_row, cursor_col);
        curs_set(1);
    } else {
        curs_set(0);
    }
    refresh();
}

void
draw_invalidate(void)
{
    clearok(curscr, TRUE);
}

int
draw_text(int row, int col, int width, enum draw_style style, const char *text)
{
    int cols;

    if (row < 0 || row >= LINES || col >= COLS || width <= 0)
        return 0;
    if (col + width > COLS)
        width = COLS - col;
    size_t n = tui_text_fit(text, strlen(text), width, &cols);
    // control characters would move the cursor: paint them as '?'
    char *copy = pd_xstrndup(text, n);
    for (char *c = copy; *c; c++)
        if ((unsigned char)*c < 32 || *c == 127)
            *c = '?';
    attr_set(style_attr[style], style_pair[style], NULL);
    mvaddnstr(row, col, copy, (int)n);
    attr_set(A_NORMAL, 0, NULL);
    free(copy);
    return cols;
}

int
draw_text_cut(int row, int col, int width, enum draw_style style, const char *text)
{
    if (width < 2 || tui_text_width(text) <= width)
        return draw_text(row, col, width, style, text);
    int n = draw_text(row, col, width - 1, style, text);
    return n + draw_text(row, col + n, 1, style, draw_symbol(SYM_ELLIPSIS));
}

void
draw_fill(int row, int col, int width, enum draw_style style)
{
    if (row < 0 || row >= LINES || col >= COLS || width <= 0)
        return;
    if (col + width > COLS)
        width = COLS - col;
    attr_set(style_attr[style], style_pair[style], NULL);
    mvhline(row, col, ' ', width);
    attr_set(A_NORMAL, 0, NULL);
}

void
draw_separator(int row, int col, int width, enum draw_style style, const char *title)
{
    const char *h = draw_symbol(SYM_HLINE);
    int x = col;

    for (int i = 0; i < 2 && x < col + width; i++)
        x += draw_text(row, x, col + width - x, style, h);
    if (title && *title) {
        x += draw_text(row, x, col + width - x, style, " ");
        x += draw_text(row, x, col + width - x, STYLE_TITLE, title);
        x += draw_text(row, x, col + width - x, style, " ");
    }
    while (x < col + width) {
        int w = draw_text(row, x, col + width - x, style, h);
        if (w == 0)
            break;
        x += w;
    }
}

void
draw_box(int top, int left, int height, int width, enum draw_style style)
{
    for (int r = top; r < top + height; r++)
        draw_fill(r, left, width, style);
    attr_set(style_attr[style], style_pair[style], NULL);
    if (utf8) {
        mvwhline_set(stdscr, top, left + 1, WACS_HLINE, width - 2);
        mvwhline_set(stdscr, top + height - 1, left + 1, WACS_HLINE, width - 2);
        mvwvline_set(stdscr, top + 1, left, WACS_VLINE, height - 2);
        mvwvline_set(stdscr, top + 1, left + width - 1, WACS_VLINE, height - 2);
        mvadd_wch(top, left, WACS_ULCORNER);
        mvadd_wch(top, left + width - 1, WACS_URCORNER);
        mvadd_wch(top + height - 1, left, WACS_LLCORNER);
        mvadd_wch(top + height - 1, left + width - 1, WACS_LRCORNER);
    } else {
        mvhline(top, left, '-', width);
        mvhline(top + height - 1, left, '-', width);
        mvvline(top, left, '|', height);
        mvvline(top, left + width - 1, '|', height);
        mvaddch(top, left, '+');
        mvaddch(top, left + width - 1, '+');
        mvaddch(top + height - 1, left, '+');
        mvaddch(top + height - 1, left + width - 1, '+');
    }
    attr_set(A_NORMAL, 0, NULL);
}

void
draw_cursor(int row, int col)
{
    cursor_row = row;
    cursor_col = col;
}

const char *
draw_symbol(enum draw_symbol sym)
{
    return utf8 ? sym_utf8[sym] : sym_ascii[sym];
}

/* Line-drawing characters come back from curses as ACS; dump them as text. */
static void
append_cell(struct pd_buf *b, const cchar_t *cc)
{
    wchar_t wch[CCHARW_MAX + 1];
    attr_t attrs;
    short pair;
    char mb[MB_LEN_MAX * (CCHARW_MAX + 1) + 1];

    if (getcchar(cc, wch, &attrs, &pair, NULL) == ERR || wch[0] == L'\0') {
        pd_buf_append(b, " ", 1, NULL);
        return;
    }
    if (attrs & A_ALTCHARSET) {
        char c = (char)wch[0];
        const char *s = c == 'q'                                         ? "-"
                        : c == 'x'                                       ? "|"
                        : (c == 'l' || c == 'k' || c == 'm' || c == 'j') ? "+"
                                                                         : " ";
        pd_buf_append(b, s, strlen(s), NULL);
        return;
    }
    size_t n = wcstombs(mb, wch, sizeof(mb));
    if (n == (size_t)-1)
        pd_buf_append(b, "?", 1, NULL);
    else
        pd_buf_append(b, mb, n, NULL);
}

char *
draw_screen_text(void)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    pd_buf_append(&b, "", 0, NULL);
    for (int r = 0; r < LINES; r++) {
        size_t start = b.len;
        for (int c = 0; c < COLS; c++) {
            cchar_t cc;
            if (mvin_wch(r, c, &cc) == ERR) {
                pd_buf_append(&b, " ", 1, NULL);
                continue;
            }
            wchar_t wch[CCHARW_MAX + 1];
            attr_t attrs;
            short pair;
            if (getcchar(&cc, wch, &attrs, &pair, NULL) != ERR) {
                int w = wcwidth(wch[0]);
                append_cell(&b, &cc);
                if (w > 1)
                    c += w - 1;
                continue;
            }
            append_cell(&b, &cc);
        }
        while (b.len > start && b.data[b.len - 1] == ' ')
            b.data[--b.len] = '\0';
        pd_buf_append(&b, "\n", 1, NULL);
    }
    return pd_buf_steal(&b);
}

int
draw_screen_dump(const char *path, struct pd_err *err)
{
    char *text = draw_screen_text();
    int rc = 0;
    FILE *f = fopen(path, "w");

    if (!f) {
        rc = PD_ERR_SET(err, PD_EIO, "dump-screen: %s: %s", path, strerror(errno));
        goto out;
    }
    if (fputs(text, f) == EOF)
        rc = PD_ERR_SET(err, PD_EIO, "dump-screen: %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = PD_ERR_SET(err, PD_EIO, "dump-screen: %s: %s", path, strerror(errno));
out:
    free(text);
    return rc;
}

enum draw_style
draw_status_style(enum step_status st)
{
    switch (st) {
    case STEP_PASSED:
        return STYLE_PASSED;
    case STEP_FAILED:
        return STYLE_FAILED;
    case STEP_SKIPPED:
        return STYLE_SKIPPED;
    case STEP_RUNNING:
        return STYLE_RUNNING;
    default:
        return STYLE_PENDING;
    }
}
