/*
 * gz: the one compression module. gzip written with libdeflate on several
 * cores, read with ISA-L (any gzip) or libdeflate (pgdrill's members, in
 * parallel).
 *
 * gz_deflate turns a byte stream into a series of independent gzip
 * members, one per block of input (RFC 1952 allows any number; gunzip,
 * gzip -t, zlib readers that loop over members and Python's gzip read
 * them as one file). Worker threads compress the blocks; the caller's
 * thread writes them out in order. Each member's header carries an extra
 * field, subfield 'P' 'D' (as BGZF's 'B' 'C'), whose 4 bytes hold the
 * member's whole length, header and trailer included, little-endian:
 *
 *   1f 8b 08 04 | mtime 0 | xfl os | xlen=8 | 'P' 'D' 04 00 | length (4) |
 *   deflate data | crc32 | isize
 *
 * so that a reader can cut the stream into members without inflating it.
 * Memory is bounded: at most `depth` blocks per thread are in flight.
 * Output goes to a sink callback as it is ready; nothing touches the disk.
 *
 * gz_inflate checks and decompresses a gzip stream fed in pieces (a
 * download, a pipe). Members with the length subfield are inflated by
 * libdeflate on worker threads and written out in order; any other member
 * (gzip(1)'s, older pgdrill's single member) is inflated as it streams in
 * by ISA-L. Concatenated members are accepted, as gunzip does; a stream
 * that ends early, corrupt data, a bad CRC or length, and trailing bytes
 * are errors naming the compressed offset. With a NULL sink it only
 * verifies (gzip -t).
 *
 * The sinks' errors are returned unchanged. No libdeflate or ISA-L type
 * leaves gz.c. zlib is not used here: it stays linked only because libcurl
 * and libpq need it, and as the unit test's reference for gzip(1)'s format.
 */
#ifndef GZ_GZ_H
#define GZ_GZ_H

#include <stddef.h>
#include <stdint.h>

struct pd_err;
struct gz_deflate;
struct gz_inflate;

#define GZ_LEVEL_DEFAULT 6
#define GZ_LEVEL_MAX     12 /* libdeflate's scale: 1 fastest .. 9 like gzip -9 .. 12 smallest */

/* Return 0, or a negative PD_E* with err set to stop the stream. */
typedef int gz_sink_fn(const void *data, size_t len, void *payload, struct pd_err *err);

struct gz_deflate_options {
    int level;         /* 1..GZ_LEVEL_MAX; 0 means GZ_LEVEL_DEFAULT */
    int threads;       /* worker threads; 0 means the online CPUs, at most 8 */
    size_t block_size; /* input per member; 0 means 1 MiB; 32 KiB .. 64 MiB */
    int depth;         /* blocks queued or compressing per thread; 0 means 2, at most 64. A
                          deeper queue keeps the workers busy when the writer waits for the
                          CPU on a busy machine, at block_size * 2 of memory per block */
};

/* The compressor's name and version, for summaries and metadata ("libdeflate 1.14"). Static. */
const char *gz_compressor(void);

/* The level a string names (1..GZ_LEVEL_MAX); PD_EINPUT naming `what` otherwise. */
int gz_parse_level(int *out, const char *s, const char *what, struct pd_err *err);

int gz_deflate_new(struct gz_deflate **out, const struct gz_deflate_options *opt, gz_sink_fn *sink,
                   void *payload, struct pd_err *err);

/* Feed input. Blocks when enough blocks are in flight. */
int gz_deflate_write(struct gz_deflate *z, const void *data, size_t len, struct pd_err *err);

/* Flush the last block. Call once. */
int gz_deflate_finish(struct gz_deflate *z, struct pd_err *err);

/* Stops the workers and releases everything (also after an error). */
void gz_deflate_free(struct gz_deflate *z);

uint64_t gz_deflate_bytes_in(const struct gz_deflate *z);
uint64_t gz_deflate_bytes_out(const struct gz_deflate *z);
int gz_deflate_level(const struct gz_deflate *z);

/* sink may be NULL to only verify. */
int gz_inflate_new(struct gz_inflate **out, gz_sink_fn *sink, void *payload, struct pd_err *err);

int gz_inflate_write(struct gz_inflate *z, const void *data, size_t len, struct pd_err *err);

/* The stream is complete: fails if it ended inside a member or was empty. */
int gz_inflate_finish(struct gz_inflate *z, struct pd_err *err);

void gz_inflate_free(struct gz_inflate *z);

uint64_t gz_inflate_bytes_in(const struct gz_inflate *z);
uint64_t gz_inflate_bytes_out(const struct gz_inflate *z);
int gz_inflate_members(const struct gz_inflate *z);
/* How many of those members carried the length subfield (inflated in parallel). */
int gz_inflate_indexed_members(const struct gz_inflate *z);

#endif
