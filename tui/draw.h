/*
 * draw: the only place that paints. Screens describe what to show with
 * styles and symbols; draw.c maps them to curses attributes and colours
 * (or none at all under NO_COLOR) and to UTF-8 or ASCII glyphs depending
 * on the locale. It also renders the screen back to plain text for
 * :dump-screen and the test script's wait-for.
 */
#ifndef PD_TUI_DRAW_H
#define PD_TUI_DRAW_H

#include <stdbool.h>
#include <stddef.h>

#include "drill/drill.h"

struct pd_err;

enum draw_style {
    STYLE_NORMAL,
    STYLE_TITLE,
    STYLE_BANNER_SANDBOX,
    STYLE_BANNER_PROD,
    STYLE_BANNER_OTHER,
    STYLE_CURSOR,
    STYLE_DIM,
    STYLE_PENDING,
    STYLE_RUNNING,
    STYLE_PASSED,
    STYLE_FAILED,
    STYLE_SKIPPED,
    STYLE_ACTION,
    STYLE_SEPARATOR,
    STYLE_STATUS,
    STYLE_DIALOG,
    STYLE_DIALOG_TITLE,
    STYLE_INPUT,
    STYLE_WARN,
    STYLE_COUNT,
};

/* The style of a stage's or step's status, the same everywhere it is shown. */
enum draw_style draw_status_style(enum step_status st);

enum draw_symbol {
    SYM_PENDING,  /* [ ] */
    SYM_RUNNING,  /* [>] */
    SYM_PASSED,   /* [✓] or [+] */
    SYM_FAILED,   /* [x] */
    SYM_SKIPPED,  /* [-] */
    SYM_ACTION,   /* ▶ or > */
    SYM_HLINE,    /* ─ or - */
    SYM_ELLIPSIS, /* … or ~ */
    SYM_COUNT,
};

/* Start curses on the terminal: raw keys, no echo, colours unless no_color. */
void draw_init(bool no_color);
/* Restore the terminal; safe to call twice and from the fatal hook. */
void draw_end(void);
bool draw_active(void);
bool draw_utf8(void);
bool draw_has_color(void);

int draw_rows(void);
int draw_cols(void);

/* Start a frame (erase) and finish it (paint the differences). */
void draw_begin(void);
void draw_finish(void);
/* Forget what the terminal shows and repaint all of it (Ctrl-L, resize). */
void draw_invalidate(void);

/* Paint text at row, col clipped to width columns; returns the columns used. */
int draw_text(int row, int col, int width, enum draw_style style, const char *text);
/* As draw_text, but text cut to fit ends with an ellipsis. */
int draw_text_cut(int row, int col, int width, enum draw_style style, const char *text);
/* Fill width columns with spaces in style. */
void draw_fill(int row, int col, int width, enum draw_style style);
/* A separator line with an optional title: "── title ──────". */
void draw_separator(int row, int col, int width, enum draw_style style, const char *title);
/* A frame for a dialog; the inside is cleared. */
void draw_box(int top, int left, int height, int width, enum draw_style style);
/* Place (or hide, with row < 0) the terminal cursor after the frame is painted. */
void draw_cursor(int row, int col);

/* The glyph for a symbol, UTF-8 or ASCII by locale. Borrowed, static. */
const char *draw_symbol(enum draw_symbol sym);

/* The screen as plain text, one line per row, trailing spaces trimmed. Caller owns. */
char *draw_screen_text(void);
/* Write draw_screen_text to path. */
int draw_screen_dump(const char *path, struct pd_err *err);

#endif
