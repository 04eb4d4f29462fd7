/*
 * Unit tests for core/gz/gz.c: parallel deflate round trips, compatibility
 * with gzip(1) both ways, and the integrity errors of the streaming inflate.
 */
#include "gz/gz.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"

static int
buf_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    return pd_buf_append(payload, data, len, err);
}

static int
failing_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    (void)data;
    (void)len;
    (void)payload;
    return PD_ERR_SET(err, PD_EIO, "sink: upload failed");
}

/* Half random bytes, half repetitive SQL-ish text: both kinds a dump has. */
static unsigned char *
make_data(size_t len, unsigned seed)
{
    unsigned char *d = pd_xmalloc(len ? len : 1);
    static const char text[] = "INSERT INTO visits VALUES (42, 'care', '2026-11-26 04:00:00');\n";

    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245U + 12345U;
        d[i] = (i / 4096) % 2 ? (unsigned char)(seed >> 16)
                              : (unsigned char)text[i % (sizeof(text) - 1)];
    }
    return d;
}

static void
deflate_all(struct pd_buf *out, const unsigned char *data, size_t len, int level, int threads,
            size_t block, int depth, size_t feed)
{
    struct gz_deflate *z;
    struct pd_err err = {0};
    struct gz_deflate_options opt = {
        .level = level, .threads = threads, .block_size = block, .depth = depth};

    pd_buf_init(out, (size_t)256 * 1024 * 1024);
    assert_int_equal(gz_deflate_new(&z, &opt, buf_sink, out, &err), 0);
    for (size_t off = 0; off < len; off += feed) {
        size_t n = len - off < feed ? len - off : feed;

        assert_int_equal(gz_deflate_write(z, data + off, n, &err), 0);
    }
    if (gz_deflate_finish(z, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(gz_deflate_bytes_in(z), len);
    assert_int_equal(gz_deflate_bytes_out(z), out->len);
    gz_deflate_free(z);
}

static int
inflate_all(struct pd_buf *out, const void *data, size_t len, size_t feed, struct pd_err *err)
{
    struct gz_inflate *z;
    int rc;

    if (out)
        pd_buf_init(out, (size_t)256 * 1024 * 1024);
    assert_int_equal(gz_inflate_new(&z, out ? buf_sink : NULL, out, err), 0);
    for (size_t off = 0; off < len; off += feed) {
        size_t n = len - off < feed ? len - off : feed;

        if ((rc = gz_inflate_write(z, (const char *)data + off, n, err)) != 0) {
            gz_inflate_free(z);
            return rc;
        }
    }
    rc = gz_inflate_finish(z, err);
    gz_inflate_free(z);
    return rc;
}

static void
test_roundtrip(void **state)
{
    static const size_t sizes[] = {0, 1, 32767, 32768, 65537, 131071, 131072, 131073, 3500000};

    static const struct {
        int level, threads;
        size_t block;
        int depth;
        size_t feed;
    } modes[] = {
        {6, 1, 0, 0, 65536},
        {1, 2, 32768, 1, 1000},
        {9, 4, 0, 0, 7777777},
        {6, 3, 200000, 0, 4096},
        {6, 2, 32768, 16, 100000},
    };

    (void)state;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        unsigned char *data = make_data(sizes[s], (unsigned)s + 1);

        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            struct pd_buf gz, back;
            struct pd_err err = {0};

            deflate_all(&gz, data, sizes[s], modes[m].level, modes[m].threads, modes[m].block,
                        modes[m].depth, modes[m].feed);
            if (inflate_all(&back, gz.data, gz.len, 65536, &err) != 0)
                fail_msg("size %zu mode %zu: %s", sizes[s], m, err.msg);
            assert_int_equal(back.len, sizes[s]);
            if (sizes[s])
                assert_memory_equal(back.data, data, sizes[s]);
            pd_buf_free(&gz);
            pd_buf_free(&back);
        }
        free(data);
    }
}

/* Priming each block with the previous 32 KiB keeps the ratio of one stream. */
static void
test_ratio_close_to_single_stream(void **state)
{
    size_t len = (size_t)4 * 1024 * 1024;
    unsigned char *data = make_data(len, 7);
    uLongf single_len = compressBound((uLong)len);
    unsigned char *single = pd_xmalloc(single_len);
    struct pd_buf gz;

    (void)state;
    assert_int_equal(compress2(single, &single_len, data, (uLong)len, 6), Z_OK);
    deflate_all(&gz, data, len, 6, 4, 0, 0, 1 << 20);
    if ((double)gz.len > (double)single_len * 1.01)
        fail_msg("parallel output %zu bytes vs %lu single-stream", gz.len, single_len);
    pd_buf_free(&gz);
    free(single);
    free(data);
}

static char *
tmp_path(const char *name)
{
    const char *dir = getenv("PGDRILL_TEST_WORK");

    return pd_xasprintf("%s/gz_test.%d.%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

static void
write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* gzip(1) reads what we write, and we read what gzip(1) writes (also concatenated). */
static void
test_gzip_compatibility(void **state)
{
    size_t len = 1000000;
    unsigned char *data = make_data(len, 3);
    char *raw = tmp_path("raw"), *ours = tmp_path("ours.gz"), *theirs = tmp_path("theirs.gz");
    char *cmd;
    struct pd_buf gz, back;
    struct pd_err err = {0};
    size_t glen;
    char *gdata;
    FILE *f;

    (void)state;
    write_bytes(raw, data, len);
    deflate_all(&gz, data, len, 6, 2, 0, 0, len);
    write_bytes(ours, gz.data, gz.len);
    cmd = pd_xasprintf("gzip -t '%s' && gzip -dc '%s' | cmp -s - '%s'", ours, ours, raw);
    assert_int_equal(system(cmd), 0);
    free(cmd);

    // two members, as `gzip -c a >x; gzip -c b >>x` makes
    cmd = pd_xasprintf("gzip -c '%s' >'%s' && gzip -1 -c '%s' >>'%s'", raw, theirs, raw, theirs);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    f = fopen(theirs, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    glen = (size_t)ftell(f);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    gdata = pd_xmalloc(glen);
    assert_int_equal(fread(gdata, 1, glen, f), glen);
    (void)fclose(f); // read only
    struct gz_inflate *z;
    pd_buf_init(&back, 0);
    assert_int_equal(gz_inflate_new(&z, buf_sink, &back, &err), 0);
    for (size_t off = 0; off < glen; off++) // one byte at a time
        assert_int_equal(gz_inflate_write(z, gdata + off, 1, &err), 0);
    assert_int_equal(gz_inflate_finish(z, &err), 0);
    assert_int_equal(gz_inflate_members(z), 2);
    assert_int_equal(gz_inflate_bytes_in(z), glen);
    assert_int_equal(gz_inflate_bytes_out(z), 2 * len);
    gz_inflate_free(z);
    assert_int_equal(back.len, 2 * len);
    assert_memory_equal(back.data, data, len);
    assert_memory_equal(back.data + len, data, len);
    unlink(raw);
    unlink(ours);
    unlink(theirs);
    free(raw);
    free(ours);
    free(theirs);
    free(gdata);
    pd_buf_free(&gz);
    pd_buf_free(&back);
    free(data);
}

static void
test_integrity_errors(void **state)
{
    size_t len = 300000;
    unsigned char *data = make_data(len, 5);
    struct pd_buf gz, back;
    struct pd_err err = {0};
    char *want;

    (void)state;
    deflate_all(&gz, data, len, 6, 2, 0, 0, len);

    // truncated: the last 5 bytes (part of the trailer) never arrive
    assert_int_equal(inflate_all(&back, gz.data, gz.len - 5, 4096, &err), PD_EINPUT);
    want = pd_xasprintf("gzip: stream truncated after %zu compressed bytes", gz.len - 5);
    assert_string_equal(err.msg, want);
    free(want);
    pd_buf_free(&back);

    // a flipped CRC in the trailer
    gz.data[gz.len - 8] ^= 0x55;
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    want = pd_xasprintf("gzip: corrupt stream at compressed byte %zu: incorrect data check",
                        gz.len - 4);
    assert_string_equal(err.msg, want);
    free(want);
    gz.data[gz.len - 8] ^= 0x55;
    pd_buf_free(&back);

    // trailing bytes after a complete member
    assert_int_equal(pd_buf_append(&gz, "junk", 4, &err), 0);
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    want =
        pd_xasprintf("gzip: unexpected data after the end of the stream at byte %zu", gz.len - 4);
    assert_string_equal(err.msg, want);
    free(want);
    pd_buf_free(&back);

    // not gzip at all, and nothing at all (verify-only mode: no sink)
    assert_int_equal(inflate_all(NULL, "plain text\n", 11, 4096, &err), PD_EINPUT);
    assert_string_equal(err.msg,
                        "gzip: corrupt stream at compressed byte 2: incorrect header check");
    assert_int_equal(inflate_all(NULL, "", 0, 4096, &err), PD_EINPUT);
    assert_string_equal(err.msg, "gzip: empty stream");
    pd_buf_free(&gz);
    free(data);
}

static void
test_errors_and_sinks(void **state)
{
    struct gz_deflate *z;
    struct gz_inflate *zi;
    struct pd_err err = {0};
    unsigned char *data = make_data(400000, 9);
    struct pd_buf gz;

    (void)state;
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.level = 10}, buf_sink, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "gzip: level 10 is not between 1 and 9");
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.block_size = 1000}, buf_sink, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "gzip: block size 1000 is not between 32 KiB and 64 MiB");
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.depth = 65}, buf_sink, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "gzip: depth 65 is not between 1 and 64");

    // the sink's error comes back unchanged, and the stream refuses more input
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.threads = 2}, failing_sink, NULL, &err),
        0);
    assert_int_equal(gz_deflate_write(z, data, 400000, &err), PD_EIO);
    assert_string_equal(err.msg, "sink: upload failed");
    assert_int_equal(gz_deflate_write(z, data, 10, &err), PD_EBUG);
    assert_string_equal(err.msg, "gzip: write after a failure");
    gz_deflate_free(z); // with blocks still queued: must not hang or leak

    deflate_all(&gz, data, 400000, 6, 2, 0, 0, 400000);
    assert_int_equal(gz_inflate_new(&zi, failing_sink, NULL, &err), 0);
    assert_int_equal(gz_inflate_write(zi, gz.data, gz.len, &err), PD_EIO);
    assert_string_equal(err.msg, "sink: upload failed");
    gz_inflate_free(zi);
    pd_buf_free(&gz);
    free(data);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_ratio_close_to_single_stream),
        cmocka_unit_test(test_gzip_compatibility),
        cmocka_unit_test(test_integrity_errors),
        cmocka_unit_test(test_errors_and_sinks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
