/*
 * libFuzzer target: the streaming gzip verifier (gz_inflate, as
 * s3_gzip_check drives it) on arbitrary bytes. The first byte decides how
 * the rest is cut into writes (downloads arrive in pieces of any size) and
 * whether a sink receives the output (restore) or not (verify only).
 * The seeds cover both readers: gzip(1)'s members (streamed through ISA-L)
 * and pgdrill's members with their length subfield (libdeflate on worker
 * threads), alone, mixed, and with a length that lies (members-*.gz.bin).
 */
#include <stddef.h>
#include <stdint.h>

#include "gz/gz.h"
#include "pd_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
count_sink(const void *buf, size_t len, void *payload, struct pd_err *err)
{
    (void)buf;
    (void)err;
    *(uint64_t *)payload += len;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gz_inflate *z = NULL;
    struct pd_err err = {0};
    uint64_t seen = 0;
    size_t piece;
    int with_sink, rc;

    if (size < 1)
        return 0;
    piece = (size_t)(data[0] & 0x7f) + 1;
    with_sink = (data[0] & 0x80) != 0;
    rc = gz_inflate_new(&z, with_sink ? count_sink : NULL, &seen, &err);
    data++;
    size--;
    while (rc == 0 && size > 0) {
        size_t n = size < piece ? size : piece;

        rc = gz_inflate_write(z, data, n, &err);
        data += n;
        size -= n;
    }
    // what was handed to the sink is what the verifier counted
    if (rc == 0 && gz_inflate_finish(z, &err) == 0 && with_sink && seen != gz_inflate_bytes_out(z))
        __builtin_trap();
    gz_inflate_free(z);
    return 0;
}
