/*
 * lines: text for people as lines that say what they are.
 *
 * The plan, the timeline and the history are text (what `pgdrill plan`,
 * `pgdrill timeline` and the report print) and, for a front end that
 * styles them, lines of {kind, text}: the producer, which knows what it
 * wrote, gives each line its kind, so no front end searches the text.
 *
 * A producer writes into a struct pd_buf as before and, just before it
 * appends a line of a kind other than LINE_PLAIN, calls lines_mark with
 * the buffer: the mark applies to the first non-empty line that starts at
 * or after the buffer's current end. lines_split then cuts the finished
 * text at '\n' into struct lines with those kinds (unmarked and empty
 * lines are LINE_PLAIN).
 */
#ifndef PD_TIMELINE_LINES_H
#define PD_TIMELINE_LINES_H

#include <stdbool.h>
#include <stddef.h>

struct pd_buf;

enum line_kind {
    LINE_PLAIN,
    LINE_HEADING,     /* a title, a section, a summary figure */
    LINE_CHANGE,      /* a plan step that creates or changes something */
    LINE_CONFIRM,     /* a plan step that asks the operator to confirm */
    LINE_REGRESSION,  /* a history bar that regressed */
    LINE_WARN,        /* something the operator must not miss */
    LINE_RECOMMENDED, /* the timeline's recommendation */
    LINE_LOSS,        /* the expected data loss */
};

struct line {
    enum line_kind kind;
    char *text; /* owned, without the '\n' */
};

struct lines {
    struct line *items; /* owned */
    size_t n;
};

/* Where the kinds of a buffer's lines start (see above). */
struct line_marks {
    size_t *offsets; /* owned */
    enum line_kind *kinds;
    size_t n;
};

/* The next non-empty line appended to b is of kind. m may be NULL (no lines wanted). */
void lines_mark(struct line_marks *m, const struct pd_buf *b, enum line_kind kind);

/* Add src's marks to m, src's text being appended to a buffer at offset base. */
void lines_marks_append(struct line_marks *m, const struct line_marks *src, size_t base);

void lines_marks_clear(struct line_marks *m);

/*
 * Append the lines of text (cut at '\n'; a final '\n' ends the last line)
 * to out with the kinds of m (may be NULL: all LINE_PLAIN). With redact,
 * each line's text goes through pd_redact.
 */
void lines_split(struct lines *out, const char *text, const struct line_marks *m, bool redact);

/* Append one line (text may be NULL: an empty line). */
void lines_push(struct lines *out, enum line_kind kind, const char *text);

void lines_clear(struct lines *l);

#endif
