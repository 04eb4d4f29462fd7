/*
 * pd_sha256: SHA-256 digests as lowercase hex (OpenSSL EVP underneath).
 */
#ifndef PD_SHA256_H
#define PD_SHA256_H

#include <stddef.h>

struct pd_err;
struct pd_sha256;

/* Streaming digest; the caller owns the context until pd_sha256_final. */
struct pd_sha256 *pd_sha256_new(void);
void pd_sha256_update(struct pd_sha256 *ctx, const void *data, size_t len);
/* Writes 64 hex digits and a NUL to hex and frees ctx. */
void pd_sha256_final(struct pd_sha256 *ctx, char hex[65]);

/* One-shot digest of a buffer. */
void pd_sha256_hex(char hex[65], const void *data, size_t len);

/* Digest of a file's current contents. */
int pd_sha256_file(char hex[65], const char *path, struct pd_err *err);

#endif
