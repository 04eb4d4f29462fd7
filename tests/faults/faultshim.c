/*
 * faultshim: an LD_PRELOAD library for the fault matrix that makes write()
 * or fsync() fail on files whose path contains a pattern, the way a dying
 * disk (EIO) or a full one (ENOSPC) would. A real disk cannot be made to
 * produce EIO on demand; a tmpfs gives ENOSPC for real and is used where
 * the timing allows (tests/faults/local.sh).
 *
 *   FAULTSHIM_PATH=report.json   substring of the path (from /proc/self/fd)
 *   FAULTSHIM_OP=write|fsync     which call fails (default write)
 *   FAULTSHIM_ERRNO=EIO|ENOSPC   errno to fail with (default EIO)
 *   FAULTSHIM_AFTER=N            let the first N matching calls succeed
 *
 * Built by tests/faults/local.sh with cc -shared -fPIC; test code only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static long seen;

static int
matches(int fd, const char *op)
{
    const char *want = getenv("FAULTSHIM_PATH");
    const char *which = getenv("FAULTSHIM_OP");
    const char *after = getenv("FAULTSHIM_AFTER");
    char link[64], path[PATH_MAX];
    ssize_t n;

    if (want == NULL || *want == '\0')
        return 0;
    if (strcmp(which != NULL ? which : "write", op) != 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    if (strstr(path, want) == NULL)
        return 0;
    // __atomic: the S3 and gzip threads also write, on other paths
    return __atomic_add_fetch(&seen, 1, __ATOMIC_SEQ_CST) > (after ? atol(after) : 0);
}

static int
fail(void)
{
    const char *e = getenv("FAULTSHIM_ERRNO");

    errno = e != NULL && strcmp(e, "ENOSPC") == 0 ? ENOSPC : EIO;
    return -1;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
    if (real_write == NULL)
        real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (matches(fd, "write"))
        return fail();
    return real_write(fd, buf, len);
}

int
fsync(int fd)
{
    if (real_fsync == NULL)
        real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (matches(fd, "fsync"))
        return fail();
    return real_fsync(fd);
}

int
fdatasync(int fd)
{
    if (real_fdatasync == NULL)
        real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (matches(fd, "fsync"))
        return fail();
    return real_fdatasync(fd);
}
