/*
 * shell splice: quote a value for the place it takes inside a /bin/sh script.
 *
 * A single-quoted word is only literal where the shell reads words. Inside
 * "...", inside a here-document or inside `...` the same word is taken
 * apart differently, and a value such as $(cmd) would run. A splicer walks
 * the script template from left to right with a small lexer (quotes,
 * backslashes, $( ), backticks, comments, here-documents) and quotes each
 * value for the context it lands in:
 *   - between words and inside $( ): one single-quoted word;
 *   - inside '...': the quote is closed, the word added, the quote reopened;
 *   - inside "...": \ $ ` and " are backslash-escaped;
 *   - in a here-document body: \ $ and ` are escaped (nothing for a quoted
 *     delimiter); a value with a line break is refused, since it could end
 *     the document early;
 *   - each enclosing `...` adds its own level of escaping.
 * The lexer covers POSIX sh as dash reads it; a script it cannot follow
 * (nesting deeper than SHELL_SPLICE_DEPTH) is refused, never guessed.
 *
 * Lifetime: a struct shell_splice borrows the template for its whole use;
 * it holds no heap memory and needs no cleanup.
 */
#ifndef PD_SHELL_SPLICE_H
#define PD_SHELL_SPLICE_H

#include <stdbool.h>
#include <stddef.h>

struct pd_err;

#define SHELL_SPLICE_DEPTH   32
#define SHELL_SPLICE_HEREDOC 8
#define SHELL_SPLICE_DELIM   128

struct shell_splice_frame {
    int kind;   /* internal: plain, '...', "...", `...`, $( ), here-document */
    int parens; /* open ( inside a $( ) frame */
    int cases;  /* open case ... esac inside a $( ) frame: ) ends a pattern there */
    char delim[SHELL_SPLICE_DELIM];
    bool strip_tabs;
};

struct shell_splice {
    const char *text; /* the template, borrowed */
    size_t pos;       /* how far the lexer has read */
    char prev;        /* last character read at word level, '\0' at the start */
    size_t depth;     /* frames in use, >= 1 */
    struct shell_splice_frame frames[SHELL_SPLICE_DEPTH];
    size_t n_pending; /* here-documents whose bodies start at the next line */
    struct shell_splice_frame pending[SHELL_SPLICE_HEREDOC];
    bool broken; /* the lexer lost track: every later value is refused */
};

/* Start at the beginning of text. */
void shell_splice_init(struct shell_splice *s, const char *text);

/*
 * Read the template up to offset at, where a reference of ref_len bytes
 * (e.g. "${name}") stands, quote value for that place and step over the
 * reference. Offsets must grow from call to call. name is only used in
 * messages. Caller owns *out. PD_EINPUT when the value cannot be placed
 * there safely ("variable 'x': ...").
 */
int shell_splice_quote(char **out, struct shell_splice *s, size_t at, size_t ref_len,
                       const char *name, const char *value, struct pd_err *err);

#endif
