/*
 * pd_file: file helpers every module shares (one definition each).
 *
 * Errors are PD_EIO with "PATH: VERB: strerror" messages (the project's
 * "OBJECT PATH: VERB: why" form once a caller prefixes what the file is with
 * pd_err_prefix: "report ", "journal ", "audit log ").
 */
#ifndef PD_FILE_H
#define PD_FILE_H

#include <stddef.h>

struct pd_err;

/*
 * Write all of buf[0..len) to fd, retrying short writes and EINTR. A write
 * that makes no progress is an error. path names the file in the message
 * ("PATH: write: ..."); it may be NULL ("fd N: write: ...").
 */
int pd_write_all(int fd, const void *buf, size_t len, const char *path, struct pd_err *err);

/*
 * Replace path with data[0..len) so that a reader (or a crash) only ever
 * sees the old file or the whole new one: a temporary file in the same
 * folder created with mode, every byte written, fsync'd, closed, renamed
 * over path, then the folder fsync'd. The temporary file is removed on
 * every failure path.
 */
int pd_write_atomic(const char *path, const void *data, size_t len, unsigned int mode,
                    struct pd_err *err);

/*
 * Read the whole file at path into a new NUL-terminated buffer (*out,
 * owned by the caller; *len_out its length without the NUL, if not NULL).
 * A file larger than max bytes is PD_EINPUT ("PATH: larger than N bytes");
 * a missing file is PD_ENOENT.
 */
int pd_read_file(char **out, size_t *len_out, const char *path, size_t max, struct pd_err *err);

/*
 * mkdir -p, with mode for every component it creates. A failure names the
 * component that could not be made: "mkdir COMPONENT: why".
 */
int pd_mkdir_p(const char *path, unsigned int mode, struct pd_err *err);

/* fsync a folder, so a rename or a new file in it survives a crash. */
int pd_fsync_dir(const char *path, struct pd_err *err);

#endif
