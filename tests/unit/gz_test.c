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

/*
 * The largest inputs, smaller under memcheck: tests/valgrind.sh sets
 * PGDRILL_UNDER_VALGRIND, and valgrind runs the same paths (several members,
 * every mode) on fewer bytes at some fifty times the cost of each.
 */
static size_t
scaled(size_t full, size_t under_valgrind)
{
    const char *v = getenv("PGDRILL_UNDER_VALGRIND");

    return v != NULL && *v != '\0' ? under_valgrind : full;
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
    /* the last spans several default (1 MiB) members */
    const size_t sizes[] = {
        0, 1, 32767, 32768, 65537, 131071, 131072, 131073, scaled(3500000, 1200000)};

    static const struct {
        int level, threads;
        size_t block;
        int depth;
        size_t feed;
    } modes[] = {
        {6, 1, 0, 0, 65536},     {1, 2, 32768, 1, 1000},    {9, 4, 0, 0, 7777777},
        {6, 3, 200000, 0, 4096}, {6, 2, 32768, 16, 100000},
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

/* Independent 1 MiB members cost well under 1 % against one zlib stream. */
static void
test_ratio_close_to_single_stream(void **state)
{
    size_t len = scaled((size_t)4, 2) * 1024 * 1024;
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
    size_t len = scaled(1000000, 100000);
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
    int rc;

    (void)state;
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.level = 13}, buf_sink, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "gzip: level 13 is not between 1 and 12");
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.block_size = 1000}, buf_sink, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "gzip: block size 1000 is not between 32 KiB and 64 MiB");
    assert_int_equal(
        gz_deflate_new(&z, &(struct gz_deflate_options){.depth = 65}, buf_sink, NULL, &err),
        PD_EINPUT);
    assert_string_equal(err.msg, "gzip: depth 65 is not between 1 and 64");

    // the sink's error comes back unchanged, and the stream refuses more input
    assert_int_equal(gz_deflate_new(&z,
                                    &(struct gz_deflate_options){.threads = 2, .block_size = 32768},
                                    failing_sink, NULL, &err),
                     0);
    assert_int_equal(gz_deflate_write(z, data, 400000, &err), PD_EIO);
    assert_string_equal(err.msg, "sink: upload failed");
    assert_int_equal(gz_deflate_write(z, data, 10, &err), PD_EBUG);
    assert_string_equal(err.msg, "gzip: write after a failure");
    gz_deflate_free(z); // with blocks still queued: must not hang or leak

    deflate_all(&gz, data, 400000, 6, 2, 0, 0, 400000);
    assert_int_equal(gz_inflate_new(&zi, failing_sink, NULL, &err), 0);
    // a member inflated in parallel reaches the sink when written out: by finish at the latest
    rc = gz_inflate_write(zi, gz.data, gz.len, &err);
    assert_int_equal(rc == 0 ? gz_inflate_finish(zi, &err) : rc, PD_EIO);
    assert_string_equal(err.msg, "sink: upload failed");
    gz_inflate_free(zi);
    pd_buf_free(&gz);
    free(data);
}

static uint32_t
le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The member format: one member per block, each with FEXTRA and the 'P' 'D'
 * subfield holding the member's whole length, so the lengths walk the file.
 */
static void
test_member_format(void **state)
{
    size_t len = (size_t)5 * 100000 + 123, block = 100000, off = 0;
    unsigned char *data = make_data(len, 11);
    struct pd_buf gz, back;
    struct pd_err err = {0};
    struct gz_inflate *z;
    int members = 0;

    (void)state;
    deflate_all(&gz, data, len, 6, 3, block, 2, 77777);
    while (off < gz.len) {
        const unsigned char *m = (const unsigned char *)gz.data + off;
        uint32_t span;

        assert_true(gz.len - off >= 28);
        assert_int_equal(m[0], 0x1f);
        assert_int_equal(m[1], 0x8b);
        assert_int_equal(m[2], 8);
        assert_int_equal(m[3], 4); // FEXTRA only
        assert_int_equal(m[10] | m[11] << 8, 8);
        assert_int_equal(m[12], 'P');
        assert_int_equal(m[13], 'D');
        assert_int_equal(m[14] | m[15] << 8, 4);
        span = le32(m + 16);
        assert_true(span <= gz.len - off);
        // the trailer's length: a whole block, but the last
        assert_int_equal(le32(m + span - 4), members < 5 ? block : 123);
        off += span;
        members++;
    }
    assert_int_equal(off, gz.len);
    assert_int_equal(members, 6);

    // read back in odd pieces: every member goes through the parallel path
    pd_buf_init(&back, 0);
    assert_int_equal(gz_inflate_new(&z, buf_sink, &back, &err), 0);
    for (size_t o = 0; o < gz.len; o += 999)
        assert_int_equal(
            gz_inflate_write(z, gz.data + o, gz.len - o < 999 ? gz.len - o : 999, &err), 0);
    assert_int_equal(gz_inflate_finish(z, &err), 0);
    assert_int_equal(gz_inflate_members(z), 6);
    assert_int_equal(gz_inflate_indexed_members(z), 6);
    assert_int_equal(gz_inflate_bytes_in(z), gz.len);
    gz_inflate_free(z);
    assert_int_equal(back.len, len);
    assert_memory_equal(back.data, data, len);

    // an empty input is one empty member, which gzip(1) reads too
    pd_buf_free(&gz);
    deflate_all(&gz, data, 0, 6, 1, 0, 0, 1);
    assert_true(gz.len > 28 && gz.len < 40);
    assert_int_equal(le32((unsigned char *)gz.data + 16), gz.len);
    pd_buf_free(&gz);
    pd_buf_free(&back);
    free(data);
}

/* Damage in the middle of a multi-member stream, and lengths that lie. */
static void
test_member_errors(void **state)
{
    size_t len = (size_t)4 * 50000, block = 50000;
    unsigned char *data = make_data(len, 13);
    struct pd_buf gz, back;
    struct pd_err err = {0};
    size_t m2, m3; // the offsets of the second and third member
    char *want;

    (void)state;
    deflate_all(&gz, data, len, 6, 2, block, 2, len);
    m2 = le32((unsigned char *)gz.data + 16);
    m3 = m2 + le32((unsigned char *)gz.data + m2 + 16);

    // the second member's CRC: named at its trailer, as zlib does
    gz.data[m3 - 8] ^= 1;
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    want =
        pd_xasprintf("gzip: corrupt stream at compressed byte %zu: incorrect data check", m3 - 4);
    assert_string_equal(err.msg, want);
    free(want);
    gz.data[m3 - 8] ^= 1;
    pd_buf_free(&back);

    // its length field
    gz.data[m3 - 3] ^= 1;
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    want = pd_xasprintf("gzip: corrupt stream at compressed byte %zu: incorrect length check", m3);
    assert_string_equal(err.msg, want);
    free(want);
    gz.data[m3 - 3] ^= 1;
    pd_buf_free(&back);

    // its deflate data: the first block header says block type 3 (reserved)
    gz.data[m2 + 20] |= 6;
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    want =
        pd_xasprintf("gzip: corrupt stream at compressed byte %zu: invalid deflate data", m2 + 20);
    assert_string_equal(err.msg, want);
    free(want);
    pd_buf_free(&back);
    pd_buf_free(&gz);

    // a member length 5 bytes too long: the data ends before it
    deflate_all(&gz, data, len, 6, 2, block, 2, len);
    gz.data[16] = (char)((unsigned char)gz.data[16] + 5);
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    assert_non_null(strstr(err.msg, "the deflate data ends before the member length"));
    pd_buf_free(&back);

    // cut in the middle of the third member, and garbage after the last
    gz.data[16] = (char)((unsigned char)gz.data[16] - 5);
    assert_int_equal(inflate_all(&back, gz.data, m3 + 100, 4096, &err), PD_EINPUT);
    want = pd_xasprintf("gzip: stream truncated after %zu compressed bytes", m3 + 100);
    assert_string_equal(err.msg, want);
    free(want);
    pd_buf_free(&back);
    assert_int_equal(pd_buf_append(&gz, "\0\0\0", 3, &err), 0);
    assert_int_equal(inflate_all(&back, gz.data, gz.len, 4096, &err), PD_EINPUT);
    want =
        pd_xasprintf("gzip: unexpected data after the end of the stream at byte %zu", gz.len - 3);
    assert_string_equal(err.msg, want);
    free(want);
    pd_buf_free(&back);
    pd_buf_free(&gz);
    free(data);
}

/* Headers with a name, a comment, a foreign extra field and a header CRC stream through ISA-L. */
static void
test_foreign_headers(void **state)
{
    static const unsigned char member[] = {
        0x1f, 0x8b, 8,    0x1e, 0,    0, 0,   0, 0,   3, 6, 0,
        'X',  'Y',  2,    0,    1,    2, 'n', 0, 'c', 0, 0, 0, // the header CRC, filled in below
        0x4b, 0x4c, 0x4a, 0x06, 0x00,                          // "abc"
        0xc2, 0x41, 0x24, 0x35, 3,    0, 0,   0,               // CRC-32 and length
    };
    unsigned char copy[sizeof(member)];
    struct pd_buf back;
    struct pd_err err = {0};
    uLong hcrc = crc32(0L, member, 22);

    (void)state;
    memcpy(copy, member, sizeof(copy));
    copy[22] = (unsigned char)hcrc;
    copy[23] = (unsigned char)(hcrc >> 8);
    if (inflate_all(&back, copy, sizeof(copy), 1, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(back.len, 3);
    assert_memory_equal(back.data, "abc", 3);
    pd_buf_free(&back);

    copy[22] ^= 1;
    assert_int_equal(inflate_all(&back, copy, sizeof(copy), 5, &err), PD_EINPUT);
    assert_string_equal(err.msg, "gzip: corrupt stream at compressed byte 24: header crc mismatch");
    pd_buf_free(&back);
    copy[3] = 0x20;
    assert_int_equal(inflate_all(&back, copy, sizeof(copy), 5, &err), PD_EINPUT);
    assert_string_equal(err.msg,
                        "gzip: corrupt stream at compressed byte 4: unknown header flags set");
    pd_buf_free(&back);
    copy[2] = 7;
    assert_int_equal(inflate_all(&back, copy, sizeof(copy), 5, &err), PD_EINPUT);
    assert_string_equal(err.msg,
                        "gzip: corrupt stream at compressed byte 3: unknown compression method");
    pd_buf_free(&back);
}

/* gzip(1)'s members and ours, in any order, in one stream. */
static void
test_mixed_members(void **state)
{
    size_t len = scaled(300000, 140000), n_ours = (len + 65535) / 65536;
    unsigned char *data = make_data(len, 17);
    struct pd_buf ours, mixed, back;
    struct pd_err err = {0};
    uLongf zlen = compressBound((uLong)len) + 18;
    unsigned char *zbuf = pd_xmalloc(zlen);
    z_stream zs;

    (void)state;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = data;
    zs.avail_in = (uInt)len;
    zs.next_out = zbuf;
    zs.avail_out = (uInt)zlen;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    zlen = zs.total_out;
    deflateEnd(&zs);
    deflate_all(&ours, data, len, 6, 2, 65536, 1, len);
    pd_buf_init(&mixed, 0);
    assert_int_equal(pd_buf_append(&mixed, zbuf, zlen, &err), 0);
    assert_int_equal(pd_buf_append(&mixed, ours.data, ours.len, &err), 0);
    assert_int_equal(pd_buf_append(&mixed, zbuf, zlen, &err), 0);
    assert_int_equal(pd_buf_append(&mixed, ours.data, ours.len, &err), 0);
    for (size_t feed = 1; feed <= 1000000; feed *= 97) {
        struct gz_inflate *z;

        pd_buf_init(&back, 0);
        assert_int_equal(gz_inflate_new(&z, buf_sink, &back, &err), 0);
        for (size_t o = 0; o < mixed.len; o += feed)
            assert_int_equal(gz_inflate_write(z, mixed.data + o,
                                              mixed.len - o < feed ? mixed.len - o : feed, &err),
                             0);
        assert_int_equal(gz_inflate_finish(z, &err), 0);
        assert_int_equal(gz_inflate_members(z), 2 + 2 * n_ours);
        assert_int_equal(gz_inflate_indexed_members(z), 2 * n_ours);
        gz_inflate_free(z);
        assert_int_equal(back.len, 4 * len);
        for (int i = 0; i < 4; i++)
            assert_memory_equal(back.data + (size_t)i * len, data, len);
        pd_buf_free(&back);
    }
    pd_buf_free(&ours);
    pd_buf_free(&mixed);
    free(zbuf);
    free(data);
}

static void
test_parse_level(void **state)
{
    struct pd_err err = {0};
    int level = 0;

    (void)state;
    assert_int_equal(gz_parse_level(&level, "12", "--level", &err), 0);
    assert_int_equal(level, 12);
    assert_int_equal(gz_parse_level(&level, "1", "--level", &err), 0);
    assert_int_equal(level, 1);
    assert_int_equal(gz_parse_level(&level, "0", "--level", &err), PD_EINPUT);
    assert_string_equal(err.msg, "--level: '0' is not a compression level (1-12)");
    assert_int_equal(gz_parse_level(&level, "6x", "PGDRILL_COMPRESSION_LEVEL", &err), PD_EINPUT);
    assert_string_equal(err.msg,
                        "PGDRILL_COMPRESSION_LEVEL: '6x' is not a compression level (1-12)");
    assert_int_equal(gz_parse_level(&level, "", "--level", &err), PD_EINPUT);
    assert_int_equal(level, 1);
    assert_int_equal(strncmp(gz_compressor(), "libdeflate 1.", 13), 0);
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
        cmocka_unit_test(test_member_format),
        cmocka_unit_test(test_member_errors),
        cmocka_unit_test(test_foreign_headers),
        cmocka_unit_test(test_mixed_members),
        cmocka_unit_test(test_parse_level),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
