/* pd_file: the shared file helpers (whole writes, atomic replace, whole reads, mkdir -p). */
#include "pd_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"

int
pd_write_all(int fd, const void *buf, size_t len, const char *path, struct pd_err *err)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const char *why = n < 0 ? strerror(errno) : "no progress";

            if (path)
                return PD_ERR_SET(err, PD_EIO, "%s: write: %s", path, why);
            return PD_ERR_SET(err, PD_EIO, "fd %d: write: %s", fd, why);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
pd_fsync_dir(const char *path, struct pd_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return PD_ERR_SET(err, PD_EIO, "%s: open: %s", path, strerror(errno));
    if (fsync(fd) != 0)
        rc = PD_ERR_SET(err, PD_EIO, "%s: fsync: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = PD_ERR_SET(err, PD_EIO, "%s: close: %s", path, strerror(errno));
    return rc;
}

/* The folder part of path ("." when it has none), owned by the caller. */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return pd_xstrdup(".");
    if (slash == path)
        return pd_xstrdup("/");
    return pd_xstrndup(path, (size_t)(slash - path));
}

int
pd_write_atomic(const char *path, const void *data, size_t len, unsigned int mode,
                struct pd_err *err)
{
    char *dir = dir_of(path);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char *tmp = pd_xasprintf("%s/.%s.XXXXXX", dir, base);
    int fd, rc;

    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "%s: create temporary file: %s", path, strerror(errno));
        goto out;
    }
    if (fchmod(fd, (mode_t)mode) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "%s: chmod: %s", path, strerror(errno));
        goto fail;
    }
    rc = pd_write_all(fd, data, len, path, err);
    if (rc < 0)
        goto fail;
    if (fsync(fd) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "%s: fsync: %s", path, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = PD_ERR_SET(err, PD_EIO, "%s: close: %s", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "%s: rename: %s", path, strerror(errno));
        goto fail;
    }
    rc = pd_fsync_dir(dir, err);
    goto out;
fail:
    if (fd >= 0)
        (void)close(fd);
    (void)unlink(tmp);
out:
    free(tmp);
    free(dir);
    return rc;
}

int
pd_read_file(char **out, size_t *len_out, const char *path, size_t max, struct pd_err *err)
{
    struct pd_buf b;
    char chunk[8192];
    int fd, rc = 0;

    pd_buf_init(&b, max);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = PD_ERR_SET(err, errno == ENOENT ? PD_ENOENT : PD_EIO, "%s: open: %s", path,
                        strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = PD_ERR_SET(err, PD_EIO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > max) {
            rc = PD_ERR_SET(err, PD_EINPUT, "%s: larger than %zu bytes", path, max);
            goto out;
        }
        pd_buf_append(&b, chunk, (size_t)n, NULL);
    }
    if (len_out)
        *len_out = b.len;
    *out = pd_buf_steal(&b);
out:
    if (fd >= 0)
        (void)close(fd);
    pd_buf_free(&b);
    return rc;
}

int
pd_mkdir_p(const char *path, unsigned int mode, struct pd_err *err)
{
    char *p = pd_xstrdup(path);
    int rc = 0;

    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;

        *s = '\0';
        if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
            rc = PD_ERR_SET(err, PD_EIO, "mkdir %s: %s", p, strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return rc;
}
