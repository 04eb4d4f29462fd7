/*
 * s3/sigv4: AWS Signature Version 4, computed by our own code.
 *
 * libcurl 7.88's built-in signer gets S3 queries, uploads and several header
 * cases wrong (see S3-NOTES §2), so the S3 client signs every request here
 * and hands libcurl a ready Authorization header. The signer is pure: no
 * clock, no I/O; the caller passes the x-amz-date value, so every piece is
 * reproducible in tests against AWS's published vectors.
 *
 * S3 rules apply: the path is URI-encoded once (slashes kept) and never
 * normalised ("a//b/./c" stays as it is); the query is split on '&', each
 * name and value percent-decoded, re-encoded per RFC 3986 with upper-case
 * hex, and sorted by name then value; a valueless parameter ("?uploads")
 * becomes "uploads=". Headers are lower-cased, values trimmed with inner
 * whitespace runs folded to one space, repeated names joined with ',' in
 * the order given, and sorted by name alone.
 *
 * The secret key and the signature are secrets: neither ever appears in an
 * error message.
 */
#ifndef S3_SIGV4_H
#define S3_SIGV4_H

#include <stddef.h>
#include <time.h>

struct pd_err;

/* SHA-256 of the empty string, the payload hash of a request without a body. */
#define S3_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* The payload hash that tells S3 the body is not part of the signature. */
#define S3_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

struct s3_sigv4_header {
    const char *name;
    const char *value;
};

struct s3_sigv4_input {
    const char *method; /* "GET", "PUT", ... */
    const char *path;   /* decoded path, "/bucket/a b.txt"; NULL or "" means "/" */
    const char *query;  /* wire query without '?', or NULL */
    const struct s3_sigv4_header *headers; /* every header to sign; must include host */
    size_t n_headers;
    const char *payload_hash; /* 64 lowercase hex digits or UNSIGNED-PAYLOAD */
    const char *amz_date;     /* "YYYYMMDDTHHMMSSZ", as sent in x-amz-date */
    const char *region;       /* "us-east-1" */
    const char *service;      /* "s3" */
    const char *access_key_id;
    const char *secret_access_key;
};

/* Everything the signer produced; all strings are owned by the struct. */
struct s3_sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers; /* "host;x-amz-content-sha256;x-amz-date" */
    char *authorization;  /* the full Authorization header value */
    char signature[65];   /* lowercase hex */
};

/*
 * Sign a request. On success fills out (release with s3_sigv4_result_free);
 * on failure out is left empty and err says what input was wrong
 * (PD_EINPUT): a missing host header, a malformed x-amz-date or payload
 * hash, a bad percent-escape in the query, a header name or value that
 * cannot be sent.
 */
int s3_sigv4_sign(struct s3_sigv4_result *out, const struct s3_sigv4_input *in, struct pd_err *err);

void s3_sigv4_result_free(struct s3_sigv4_result *r);

/*
 * Percent-encode len bytes of s per RFC 3986: unreserved A-Z a-z 0-9 - . _ ~
 * stay, '/' stays when keep_slash, every other byte becomes %XX (upper-case).
 * The caller owns the result.
 */
char *s3_sigv4_uri_encode(const char *s, size_t len, int keep_slash);

/*
 * Canonical query string of a wire query (see above); "" for NULL or "".
 * The caller owns *out. Fails with PD_EINPUT on a malformed %-escape.
 */
int s3_sigv4_canonical_query(char **out, const char *query, struct pd_err *err);

/* The x-amz-date value "YYYYMMDDTHHMMSSZ" of t in UTC. */
void s3_sigv4_amz_date(char out[17], time_t t);

#endif
