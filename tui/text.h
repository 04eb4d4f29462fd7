/*
 * text: terminal-independent text helpers for the TUI (no curses here, so
 * they are unit-tested directly): display width of UTF-8, Markdown to
 * plain prose, and word wrapping.
 */
#ifndef PD_TUI_TEXT_H
#define PD_TUI_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Columns text takes on a terminal (UTF-8 under a UTF-8 locale). */
int tui_text_width(const char *text);

/*
 * Bytes of text that fit in width columns (never splitting a character);
 * *cols_out (may be NULL) gets the columns those bytes take.
 */
size_t tui_text_fit(const char *text, size_t len, int width, int *cols_out);

/*
 * Markdown source to plain prose for the operator: headings lose their #,
 * emphasis markers (*, **, _, __, ~~, `) go, links keep their text, HTML
 * comments and fence lines go (a fenced block's content stays, indented),
 * soft line breaks inside a paragraph are joined. Paragraphs are separated
 * by one empty line. Caller owns the result.
 */
char *tui_text_plain(const char *markdown);

/* Lines of wrapped text: each owned by the struct; tui_lines_free releases all. */
struct tui_lines {
    char **items;
    size_t n;
};

void tui_lines_push(struct tui_lines *l, const char *s, size_t len);
void tui_lines_free(struct tui_lines *l);

/*
 * Wrap text (lines separated by '\n') to width columns, breaking at spaces
 * where possible and hard-breaking words longer than a line. A line that
 * starts with a list marker ("- ", "1. ") or indentation continues under
 * its text. Appends to out.
 */
void tui_text_wrap(struct tui_lines *out, const char *text, int width);

#endif
