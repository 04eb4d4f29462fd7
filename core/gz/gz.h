/*
 * gz: gzip streams with zlib, compressed on several cores.
 *
 * gz_deflate turns a byte stream into one standard gzip member, the way
 * pigz does: the input is cut into blocks that worker threads compress
 * independently (each primed with the previous 32 KiB as dictionary, so the
 * ratio stays close to single-threaded gzip), and the caller's thread writes
 * them out in order, combining the CRC-32. Memory is bounded: at most
 * `depth` blocks per thread are in flight. Output goes to a sink callback as it is
 * ready; nothing touches the disk.
 *
 * gz_inflate checks and decompresses a gzip stream fed in pieces (a
 * download, a pipe): concatenated members are accepted, as gunzip does; a
 * stream that ends early, corrupt data, a bad CRC or length, and trailing
 * bytes are errors naming the compressed offset. With a NULL sink it only
 * verifies (gzip -t).
 *
 * The sinks' errors are returned unchanged. z_stream never leaves gz.c.
 */
#ifndef GZ_GZ_H
#define GZ_GZ_H

#include <stddef.h>
#include <stdint.h>

struct pd_err;
struct gz_deflate;
struct gz_inflate;

/* Return 0, or a negative PD_E* with err set to stop the stream. */
typedef int gz_sink_fn(const void *data, size_t len, void *payload, struct pd_err *err);

struct gz_deflate_options {
    int level;         /* 1..9; 0 means 6 (gzip's default) */
    int threads;       /* worker threads; 0 means the online CPUs, at most 8 */
    size_t block_size; /* input per block; 0 means 128 KiB; at least 32 KiB */
    int depth;         /* blocks queued or compressing per thread; 0 means 2, at most 64. A
                          deeper queue keeps the workers busy when the writer waits for the
                          CPU on a busy machine, at block_size * 2 of memory per block */
};

int gz_deflate_new(struct gz_deflate **out, const struct gz_deflate_options *opt, gz_sink_fn *sink,
                   void *payload, struct pd_err *err);

/* Feed input. Blocks when enough blocks are in flight. */
int gz_deflate_write(struct gz_deflate *z, const void *data, size_t len, struct pd_err *err);

/* Flush the last block and write the trailer. Call once. */
int gz_deflate_finish(struct gz_deflate *z, struct pd_err *err);

/* Stops the workers and releases everything (also after an error). */
void gz_deflate_free(struct gz_deflate *z);

uint64_t gz_deflate_bytes_in(const struct gz_deflate *z);
uint64_t gz_deflate_bytes_out(const struct gz_deflate *z);

/* sink may be NULL to only verify. */
int gz_inflate_new(struct gz_inflate **out, gz_sink_fn *sink, void *payload, struct pd_err *err);

int gz_inflate_write(struct gz_inflate *z, const void *data, size_t len, struct pd_err *err);

/* The stream is complete: fails if it ended inside a member or was empty. */
int gz_inflate_finish(struct gz_inflate *z, struct pd_err *err);

void gz_inflate_free(struct gz_inflate *z);

uint64_t gz_inflate_bytes_in(const struct gz_inflate *z);
uint64_t gz_inflate_bytes_out(const struct gz_inflate *z);
int gz_inflate_members(const struct gz_inflate *z);

#endif
