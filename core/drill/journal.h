/*
 * journal: an append-only file of JSON records, one per line.
 *
 * The writer opens the file with O_APPEND|O_CREAT (mode 0600) and writes
 * each record with a single write() followed by fsync() before returning,
 * so a record either is durable when journal_append returns 0 or the call
 * fails naming the file. After a failed or short write the writer cuts the
 * torn bytes off again and refuses further appends: nothing is silently
 * lost and no later record is glued to a half-written one.
 *
 * The reader returns records line by line. Every line must be a JSON
 * object; a bad line in the middle is PD_EIO naming file and line, while a
 * bad last line (no trailing newline, or not valid JSON) is the trace of a
 * crash during an append: it is skipped and reported through
 * journal_reader_truncated, and journal_reader_good_size tells where the
 * last complete record ends so a writer can cut the partial line off.
 *
 * Records are plain text here; the drill module builds and reads the JSON.
 */
#ifndef PD_JOURNAL_H
#define PD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pd_err;
struct journal;
struct journal_reader;

/*
 * Open path for appending, creating it 0600. With truncate_to >= 0 the file
 * is first cut to that many bytes (dropping a torn last line found by the
 * reader). The caller owns *out (journal_free).
 */
int journal_open(struct journal **out, const char *path, off_t truncate_to, struct pd_err *err);

/*
 * Append one record: line holds len bytes of JSON without a newline (it
 * must not contain one); the newline is added. Returns once fsync'd.
 */
int journal_append(struct journal *j, const char *line, size_t len, struct pd_err *err);

/* Path as given to journal_open; borrowed until journal_free. */
const char *journal_path(const struct journal *j);

void journal_free(struct journal *j);

/* Open path for reading. The caller owns *out (journal_reader_free). */
int journal_reader_open(struct journal_reader **out, const char *path, struct pd_err *err);

/*
 * Next record: returns 1 with *line (NUL-terminated, without the newline,
 * borrowed until the next call), *len and *lineno (1-based) set; 0 at the
 * end; or a negative PD_E* (PD_EIO "journal PATH:LINE: ...").
 */
int journal_reader_next(struct journal_reader *r, const char **line, size_t *len, size_t *lineno,
                        struct pd_err *err);

/* After the end was reached: true when a partial last line was skipped. */
bool journal_reader_truncated(const struct journal_reader *r);

/* Bytes up to and including the last complete record read so far. */
off_t journal_reader_good_size(const struct journal_reader *r);

void journal_reader_free(struct journal_reader *r);

#endif
