#include "drill/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "drill/journal.intern.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"

ssize_t (*journal_test_write)(int fd, const void *buf, size_t len);
int (*journal_test_fsync)(int fd);

struct journal {
    int fd;
    char *path;
    bool broken; /* an append failed: refuse the next ones */
};

struct journal_reader {
    FILE *f;
    char *path;
    char *line; /* getline buffer */
    size_t cap;
    size_t lineno;
    off_t good; /* end of the last complete record */
    bool truncated;
};

int
journal_open(struct journal **out, const char *path, off_t truncate_to, struct pd_err *err)
{
    struct journal *j;
    int fd;

    *out = NULL;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return PD_ERR_SET(err, PD_EIO, "journal %s: open: %s", path, strerror(errno));
    if (truncate_to >= 0) {
        if (ftruncate(fd, truncate_to) != 0 || fsync(fd) != 0) {
            int e = errno;

            close(fd);
            return PD_ERR_SET(err, PD_EIO, "journal %s: cut partial last line: %s", path,
                              strerror(e));
        }
    }
    j = pd_xcalloc(1, sizeof(*j));
    j->fd = fd;
    j->path = pd_xstrdup(path);
    *out = j;
    return 0;
}

static ssize_t
do_write(int fd, const void *buf, size_t len)
{
    if (journal_test_write != NULL)
        return journal_test_write(fd, buf, len);
    return write(fd, buf, len);
}

static int
do_fsync(int fd)
{
    if (journal_test_fsync != NULL)
        return journal_test_fsync(fd);
    return fsync(fd);
}

/*
 * A failed append may have left part of the record in the file. We are the
 * only writer (the drill lock), so cutting back to the size seen before the
 * write restores a clean end; if even that fails, the reader will report
 * the torn line as a truncated tail on the next open.
 */
static void
cut_back(struct journal *j, off_t size)
{
    if (size >= 0 && ftruncate(j->fd, size) != 0)
        pd_log(PD_LOG_WARN, "journal %s: cannot cut a failed append: %s", j->path, strerror(errno));
}

int
journal_append(struct journal *j, const char *line, size_t len, struct pd_err *err)
{
    struct stat st;
    off_t before = -1;
    char *rec;
    ssize_t n;
    int rc = 0;

    if (j->broken)
        return PD_ERR_SET(err, PD_EIO, "journal %s: an earlier write failed, not appending",
                          j->path);
    if (memchr(line, '\n', len) != NULL)
        return PD_ERR_SET(err, PD_EBUG, "journal %s: record contains a newline", j->path);
    if (fstat(j->fd, &st) == 0)
        before = st.st_size;
    // One write() for record and newline: a crash leaves at most one partial line.
    rec = pd_xmalloc(len + 1);
    memcpy(rec, line, len);
    rec[len] = '\n';
    errno = 0;
    n = do_write(j->fd, rec, len + 1);
    if (n < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "journal %s: write: %s", j->path, strerror(errno));
        goto fail;
    }
    if ((size_t)n < len + 1) {
        /*
         * A full disk first shows as a short write, without errno: writing
         * the rest says why (ENOSPC), which is what the operator must read.
         */
        ssize_t m;

        errno = 0;
        m = do_write(j->fd, rec + n, len + 1 - (size_t)n);
        if (m < 0) {
            rc = PD_ERR_SET(err, PD_EIO, "journal %s: write: %s", j->path, strerror(errno));
            goto fail;
        }
        n += m;
    }
    if ((size_t)n != len + 1) {
        rc = PD_ERR_SET(err, PD_EIO, "journal %s: short write (%zd of %zu bytes)", j->path, n,
                        len + 1);
        goto fail;
    }
    if (do_fsync(j->fd) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "journal %s: fsync: %s", j->path, strerror(errno));
        goto fail;
    }
    goto out;
fail:
    cut_back(j, before);
    j->broken = true;
out:
    free(rec);
    return rc;
}

const char *
journal_path(const struct journal *j)
{
    return j->path;
}

void
journal_free(struct journal *j)
{
    if (j == NULL)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j);
}

int
journal_reader_open(struct journal_reader **out, const char *path, struct pd_err *err)
{
    struct journal_reader *r;
    FILE *f;

    *out = NULL;
    f = fopen(path, "re");
    if (f == NULL)
        return PD_ERR_SET(err, errno == ENOENT ? PD_ENOENT : PD_EIO, "journal %s: open: %s", path,
                          strerror(errno));
    r = pd_xcalloc(1, sizeof(*r));
    r->f = f;
    r->path = pd_xstrdup(path);
    *out = r;
    return 0;
}

/* s is NUL-terminated at len; cJSON's "require NUL" check wants the NUL inside the length. */
static bool
is_json_object(const char *s, size_t len)
{
    cJSON *j = cJSON_ParseWithLengthOpts(s, len + 1, NULL, 1);
    bool ok = cJSON_IsObject(j);

    cJSON_Delete(j);
    return ok;
}

static bool
at_eof(FILE *f)
{
    int c = getc(f);

    if (c == EOF)
        return true;
    // pushing back the one character just read cannot fail (C11 7.21.7.10)
    (void)ungetc(c, f);
    return false;
}

int
journal_reader_next(struct journal_reader *r, const char **line, size_t *len, size_t *lineno,
                    struct pd_err *err)
{
    ssize_t n;
    size_t l;
    bool newline;

    errno = 0;
    n = getline(&r->line, &r->cap, r->f);
    if (n < 0) {
        if (ferror(r->f))
            return PD_ERR_SET(err, PD_EIO, "journal %s:%zu: read: %s", r->path, r->lineno + 1,
                              strerror(errno));
        return 0;
    }
    r->lineno++;
    l = (size_t)n;
    newline = l > 0 && r->line[l - 1] == '\n';
    if (newline)
        r->line[--l] = '\0';
    // A NUL inside the line (getline keeps it) makes it invalid too.
    if (newline && strlen(r->line) == l && is_json_object(r->line, l)) {
        r->good += n;
        *line = r->line;
        *len = l;
        *lineno = r->lineno;
        return 1;
    }
    if (!newline || at_eof(r->f)) {
        r->truncated = true;
        pd_log(PD_LOG_WARN, "journal %s:%zu: ignoring a partial last line (%zd bytes)", r->path,
               r->lineno, n);
        return 0;
    }
    return PD_ERR_SET(err, PD_EIO, "journal %s:%zu: corrupt record (not a JSON object)", r->path,
                      r->lineno);
}

bool
journal_reader_truncated(const struct journal_reader *r)
{
    return r->truncated;
}

off_t
journal_reader_good_size(const struct journal_reader *r)
{
    return r->good;
}

void
journal_reader_free(struct journal_reader *r)
{
    if (r == NULL)
        return;
    if (r->f != NULL)
        (void)fclose(r->f); // read only
    free(r->line);
    free(r->path);
    free(r);
}
