/*
 * gz_tool: core/gz on files, for the benches and shell tests.
 *
 *   gz_tool deflate [LEVEL] <PLAIN >FILE.gz   pgdrill's member format, as a backup writes it
 *   gz_tool test <FILE.gz                     the streamed check of verify (like gzip -t);
 *                                             prints "members N indexed N bytes N"
 *
 * Errors go to stderr as "error: MESSAGE"; the exit code is pd_err's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gz/gz.h"
#include "pd_err.h"
#include "pd_mem.h"

#define CHUNK ((size_t)1 << 20)

static int
stdout_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    (void)payload;
    if (fwrite(data, 1, len, stdout) != len)
        return PD_ERR_SET(err, PD_EIO, "stdout: short write");
    return 0;
}

static int
run_deflate(int level, unsigned char *buf, struct pd_err *err)
{
    struct gz_deflate_options opt = {.level = level};
    struct gz_deflate *z = NULL;
    size_t n;
    int rc;

    if ((rc = gz_deflate_new(&z, &opt, stdout_sink, NULL, err)) != 0)
        return rc;
    while (rc == 0 && (n = fread(buf, 1, CHUNK, stdin)) > 0)
        rc = gz_deflate_write(z, buf, n, err);
    if (rc == 0)
        rc = gz_deflate_finish(z, err);
    if (rc == 0 && fflush(stdout) != 0)
        rc = PD_ERR_SET(err, PD_EIO, "stdout: write failed");
    gz_deflate_free(z);
    return rc;
}

static int
run_test(unsigned char *buf, struct pd_err *err)
{
    struct gz_inflate *z = NULL;
    size_t n;
    int rc;

    if ((rc = gz_inflate_new(&z, NULL, NULL, err)) != 0)
        return rc;
    while (rc == 0 && (n = fread(buf, 1, CHUNK, stdin)) > 0)
        rc = gz_inflate_write(z, buf, n, err);
    if (rc == 0)
        rc = gz_inflate_finish(z, err);
    if (rc == 0)
        printf("members %d indexed %d bytes %llu\n", gz_inflate_members(z),
               gz_inflate_indexed_members(z), (unsigned long long)gz_inflate_bytes_out(z));
    gz_inflate_free(z);
    return rc;
}

int
main(int argc, char **argv)
{
    struct pd_err err = {0};
    unsigned char *buf = pd_xmalloc(CHUNK);
    int level = GZ_LEVEL_DEFAULT, rc;

    if (argc >= 2 && strcmp(argv[1], "deflate") == 0 && argc <= 3) {
        rc = argc == 3 ? gz_parse_level(&level, argv[2], "LEVEL", &err) : 0;
        if (rc == 0)
            rc = run_deflate(level, buf, &err);
    } else if (argc == 2 && strcmp(argv[1], "test") == 0) {
        rc = run_test(buf, &err);
    } else {
        fprintf(stderr, "usage: gz_tool deflate [LEVEL] <in >out.gz | gz_tool test <in.gz\n");
        free(buf);
        return 2;
    }
    free(buf);
    if (rc != 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return pd_err_exit_code(err.kind);
    }
    return 0;
}
