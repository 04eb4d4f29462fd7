/*
 * libFuzzer target: Neon API response bodies. The first byte picks which
 * call's answer the rest is parsed as (enum neon_body, modulo its count);
 * see core/neon/client.intern.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "neon/client.intern.h"
#include "pd_err.h"
#include "pd_redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pd_err err = {0};

    if (size < 1)
        return 0;
    (void)neon_client_parse_body((enum neon_body)(data[0] % NEON_BODY_COUNT),
                                 (const char *)data + 1, size - 1, &err);
    // connection URIs are registered as secrets: do not let them pile up
    pd_redact_reset();
    return 0;
}
