/*
 * Multipart uploads a killed backup left behind: noted while open, aborted by the next run.
 * The running backup holds an flock on its note, so a backup that overlaps it (cron starting
 * the next run while this one still uploads) leaves its upload alone: only the note of a
 * process that is gone can be locked, and only that upload is aborted.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_sha256.h"
#include "s3/client.h"

#define NOTE_SUFFIX ".upload"

char *
backup_upload_note(const char *dir, const char *bucket, const char *key, const char *upload_id,
                   int *lock_fd, struct pd_err *err)
{
    char name[65];
    char *path = NULL, *tmp = NULL, *text = NULL;
    size_t len;
    int fd;

    *lock_fd = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        PD_ERR_SET(err, PD_EIO, "backup: %s: %s", dir, strerror(errno));
        return NULL;
    }
    // the id is the server's text: the note is named by its hash, never by it
    pd_sha256_hex(name, upload_id, strlen(upload_id));
    path = pd_xasprintf("%s/%.16s%s", dir, name, NOTE_SUFFIX);
    // written and locked under another name, then renamed: another backup
    // never sees a note that is not whole, nor one that is not locked
    tmp = pd_xasprintf("%s.new", path);
    text = pd_xasprintf("%s\n%s\n%s\n", bucket, key, upload_id);
    len = strlen(text);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 || write(fd, text, len) != (ssize_t)len ||
        fsync(fd) != 0 || rename(tmp, path) != 0) {
        PD_ERR_SET(err, PD_EIO, "backup: %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        free(path);
        path = NULL;
        goto out;
    }
    *lock_fd = fd;
out:
    free(tmp);
    free(text);
    return path;
}

#define NOTE_HELD (-2)

/*
 * Lock the note at path without waiting. Returns the locked descriptor (the
 * caller closes it, which unlocks), NOTE_HELD when a running backup holds it,
 * or -1 when it cannot be opened or was removed meanwhile (its backup ended).
 */
static int
lock_note(const char *path)
{
    struct stat held, now;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        close(fd);
        return e == EWOULDBLOCK ? NOTE_HELD : -1;
    }
    if (fstat(fd, &held) != 0 || stat(path, &now) != 0 || held.st_ino != now.st_ino ||
        held.st_dev != now.st_dev) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A note's three lines; false when it is torn or unreadable. */
static bool
read_note(const char *path, char **bucket, char **key, char **upload_id)
{
    char buf[4096];
    char *save = NULL, *b, *k, *u;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0 || buf[n - 1] != '\n')
        return false;
    buf[n] = '\0';
    b = strtok_r(buf, "\n", &save);
    k = strtok_r(NULL, "\n", &save);
    u = strtok_r(NULL, "\n", &save);
    if (b == NULL || k == NULL || u == NULL)
        return false;
    *bucket = pd_xstrdup(b);
    *key = pd_xstrdup(k);
    *upload_id = pd_xstrdup(u);
    return true;
}

/*
 * Abort the upload one note names, unless the backup that wrote it still runs
 * (it holds the note's lock). Returns 1 when it was aborted, else 0.
 */
static int
abort_noted(struct s3_client *c, const char *path, struct audit *a, const char *drill_id)
{
    char *bucket = NULL, *key = NULL, *upload_id = NULL, *target = NULL;
    struct pd_err aerr = {0};
    int fd = lock_note(path), done = 0;

    if (fd == NOTE_HELD) {
        if (read_note(path, &bucket, &key, &upload_id))
            target = pd_xasprintf("s3://%s/%s", bucket, key);
        pd_log(PD_LOG_WARN, "backup: another pgdrill backup is still uploading to %s; left alone",
               target != NULL ? target : path);
        goto out;
    }
    if (fd < 0)
        goto out;
    if (!read_note(path, &bucket, &key, &upload_id)) {
        // torn by a crash while it was written: it names no upload
        unlink(path);
        goto out;
    }
    target = pd_xasprintf("s3://%s/%s", bucket, key);
    if (s3_multipart_abort_id(c, bucket, key, upload_id, &aerr) == 0) {
        struct audit_arg args[] = {{"reason", "left by an interrupted backup", 0}};
        struct pd_err rerr = {0};

        pd_log(PD_LOG_WARN,
               "backup: aborted the unfinished upload to %s that an interrupted backup left",
               target);
        if (a != NULL &&
            audit_record(a, drill_id, "s3.upload-abort", target, args, 1, NULL, &rerr) != 0)
            pd_log(PD_LOG_WARN, "backup: %s", rerr.msg);
        unlink(path);
        done = 1;
    } else {
        // the note stays: the next run tries again
        pd_log(PD_LOG_WARN, "backup: cannot abort the unfinished upload to %s: %s", target,
               aerr.msg);
    }
out:
    if (fd >= 0)
        close(fd); // unlocks
    free(target);
    free(bucket);
    free(key);
    free(upload_id);
    return done;
}

/* A note, or one a crash left before its rename (NAME.upload.new: the upload exists). */
static bool
note_name(const char *name)
{
    static const char *const suffixes[] = {NOTE_SUFFIX, NOTE_SUFFIX ".new"};
    size_t nl = strlen(name);

    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        size_t sl = strlen(suffixes[i]);

        if (nl > sl && strcmp(name + nl - sl, suffixes[i]) == 0)
            return true;
    }
    return false;
}

/*
 * A .new note a running backup may be writing right now (created, not yet
 * locked): one younger than a minute is left to it. Its rename takes
 * milliseconds, so an older one was left by a crash.
 */
static bool
unfinished_note(const char *path)
{
    struct stat st;
    size_t pl = strlen(path);

    if (pl < 4 || strcmp(path + pl - 4, ".new") != 0)
        return false;
    return stat(path, &st) != 0 || st.st_mtime > time(NULL) - 60;
}

int
backup_abort_leftovers(struct s3_client *c, const char *dir, struct audit *a, const char *drill_id,
                       int *n_aborted, struct pd_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    *n_aborted = 0;
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        return PD_ERR_SET(err, PD_EIO, "backup: %s: %s", dir, strerror(errno));
    }
    while ((de = readdir(d)) != NULL) {
        char *path;

        if (!note_name(de->d_name))
            continue;
        path = pd_xasprintf("%s/%s", dir, de->d_name);
        if (!unfinished_note(path))
            *n_aborted += abort_noted(c, path, a, drill_id);
        free(path);
    }
    closedir(d);
    return 0;
}
