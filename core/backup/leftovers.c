/* Multipart uploads a killed backup left behind: noted while open, aborted by the next run. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
                   struct pd_err *err)
{
    char name[65];
    char *path = NULL, *text = NULL;
    size_t len;
    int fd;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        PD_ERR_SET(err, PD_EIO, "backup: %s: %s", dir, strerror(errno));
        return NULL;
    }
    // the id is the server's text: the note is named by its hash, never by it
    pd_sha256_hex(name, upload_id, strlen(upload_id));
    path = pd_xasprintf("%s/%.16s%s", dir, name, NOTE_SUFFIX);
    text = pd_xasprintf("%s\n%s\n%s\n", bucket, key, upload_id);
    len = strlen(text);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
        PD_ERR_SET(err, PD_EIO, "backup: %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(path);
        free(path);
        free(text);
        return NULL;
    }
    close(fd);
    free(text);
    return path;
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
        size_t nl = strlen(de->d_name), sl = strlen(NOTE_SUFFIX);
        char *path, *bucket = NULL, *key = NULL, *upload_id = NULL, *target;
        struct pd_err aerr = {0};

        if (nl <= sl || strcmp(de->d_name + nl - sl, NOTE_SUFFIX) != 0)
            continue;
        path = pd_xasprintf("%s/%s", dir, de->d_name);
        if (!read_note(path, &bucket, &key, &upload_id)) {
            // torn by a crash while it was written: it names no upload
            unlink(path);
            free(path);
            continue;
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
            (*n_aborted)++;
        } else {
            // the note stays: the next run tries again
            pd_log(PD_LOG_WARN, "backup: cannot abort the unfinished upload to %s: %s", target,
                   aerr.msg);
        }
        free(target);
        free(bucket);
        free(key);
        free(upload_id);
        free(path);
    }
    closedir(d);
    return 0;
}
