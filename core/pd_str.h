/*
 * pd_str: small string helpers every module shares (one definition each).
 *
 * Nothing here allocates except pd_dup_or_null; no function keeps a pointer
 * it was given.
 */
#ifndef PD_STR_H
#define PD_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pd_err;

/*
 * Strip leading and trailing white space (isspace) in place: writes a NUL
 * after the last non-space and returns a pointer into s past the leading
 * spaces. Borrowed: points into s.
 */
char *pd_trim(char *s);

/* A copy of s, or NULL when s is NULL. Owned by the caller (free). */
char *pd_dup_or_null(const char *s);

/* The value of one hexadecimal digit (either case), or -1 when c is not one. */
int pd_hex_digit(char c);

/*
 * Write the lowercase hex form of data[0..len) to out, which must hold
 * 2 * len + 1 bytes; out is NUL-terminated.
 */
void pd_hex_encode(char *out, const void *data, size_t len);

/*
 * Parse s as a whole unsigned decimal number: digits only (no sign, no
 * white space, no empty string), no overflow. PD_EINPUT on anything else,
 * with "what: not a number: 's'"; err may be NULL.
 */
int pd_parse_u64(uint64_t *out, const char *s, const char *what, struct pd_err *err);

/*
 * Append word to the space-separated list in buf (size bytes, NUL-
 * terminated, "" to start): for the lists of names messages show. The
 * list must fit (asserted): buf is sized for a fixed table.
 */
void pd_words_append(char *buf, size_t size, const char *word);

/*
 * The one loopback rule (plain http is allowed only to these): "localhost"
 * and "localhost." in any case, 127.0.0.0/8, ::1, and [::1] in URL
 * brackets. Anything else, including NULL and names that merely resolve to
 * loopback, is not.
 */
bool pd_host_is_loopback(const char *host);

#endif
