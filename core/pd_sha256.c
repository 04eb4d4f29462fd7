#include "pd_sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pd_err.h"
#include "pd_mem.h"

struct pd_sha256 {
    EVP_MD_CTX *md;
};

struct pd_sha256 *
pd_sha256_new(void)
{
    struct pd_sha256 *ctx = pd_xcalloc(1, sizeof(*ctx));

    ctx->md = EVP_MD_CTX_new();
    if (ctx->md == NULL || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
        pd_run_fatal_hook();
        fprintf(stderr, "pgdrill: openssl: cannot initialise sha256\n");
        abort();
    }
    return ctx;
}

void
pd_sha256_update(struct pd_sha256 *ctx, const void *data, size_t len)
{
    EVP_DigestUpdate(ctx->md, data, len);
}

void
pd_sha256_final(struct pd_sha256 *ctx, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    static const char digits[] = "0123456789abcdef";

    EVP_DigestFinal_ex(ctx->md, md, &n);
    for (size_t i = 0; i < n && i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    hex[64] = '\0';
    EVP_MD_CTX_free(ctx->md);
    free(ctx);
}

void
pd_sha256_hex(char hex[65], const void *data, size_t len)
{
    struct pd_sha256 *ctx = pd_sha256_new();

    pd_sha256_update(ctx, data, len);
    pd_sha256_final(ctx, hex);
}

int
pd_sha256_file(char hex[65], const char *path, struct pd_err *err)
{
    char buf[65536];
    size_t n;
    FILE *f = fopen(path, "rb");
    struct pd_sha256 *ctx;
    int rc = 0;

    if (f == NULL)
        return PD_ERR_SET(err, PD_EIO, "sha256: open %s: %s", path, strerror(errno));
    ctx = pd_sha256_new();
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        pd_sha256_update(ctx, buf, n);
    if (ferror(f))
        rc = PD_ERR_SET(err, PD_EIO, "sha256: read %s: %s", path, strerror(errno));
    (void)fclose(f); // read only: ferror() above caught what matters
    pd_sha256_final(ctx, hex);
    return rc;
}
