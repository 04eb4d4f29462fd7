/* Process groups that outlive a crashed pgdrill: noted while they run, stopped on resume. */
#define _GNU_SOURCE

#include "shell/group.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_time.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* Read a small file into buf (NUL-terminated, trailing newline removed); false on failure. */
static bool
read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return false;
    n = read(fd, buf, size - 1);
    close(fd);
    if (n <= 0) {
        if (n == 0)
            errno = ENODATA; // not ENOENT: the file is there
        return false;
    }
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    return true;
}

/* A decimal number at *p up to max, moving *p past it; false if there is none. */
static bool
take_number(const char **p, unsigned long long max, unsigned long long *out)
{
    char *end;

    if (**p < '0' || **p > '9')
        return false;
    errno = 0;
    *out = strtoull(*p, &end, 10);
    if (errno != 0 || *out > max)
        return false;
    *p = end;
    return true;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot); 0 when unknown. */
static unsigned long long
start_ticks(int pid)
{
    char path[64], buf[1024];
    const char *p;
    unsigned long long t = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    if (!read_small(path, buf, sizeof(buf)))
        return 0;
    // the command name (field 2) may hold spaces and parentheses: fields
    // are counted from the last ')', and field 22 follows its 20th space
    p = strrchr(buf, ')');
    for (int i = 0; i < 20 && p != NULL; i++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return 0;
    p++;
    return take_number(&p, ULLONG_MAX, &t) ? t : 0;
}

int
shell_group_note(const char *path, int pgid, struct pd_err *err)
{
    char boot[64] = "", tmp[4096], line[160];
    unsigned long long t = start_ticks(pgid);
    int fd, len, rc = 0;

    if (!read_small(BOOT_ID_PATH, boot, sizeof(boot)))
        snprintf(boot, sizeof(boot), "-");
    len = snprintf(line, sizeof(line), "%d %llu %s\n", pgid, t, boot);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return PD_ERR_SET(err, PD_EINPUT, "shell: path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return PD_ERR_SET(err, PD_EIO, "shell: %s: %s", tmp, strerror(errno));
    if (write(fd, line, (size_t)len) != len) {
        rc = PD_ERR_SET(err, PD_EIO, "shell: %s: %s", tmp, errno ? strerror(errno) : "short write");
        close(fd);
        unlink(tmp);
        return rc;
    }
    close(fd);
    // no fsync: after a power loss the group is gone as well
    if (rename(tmp, path) != 0) {
        rc = PD_ERR_SET(err, PD_EIO, "shell: %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

void
shell_group_forget(const char *path)
{
    unlink(path);
}

/*
 * Is the group noted as (pgid, ticks) still ours? Linux does not hand out a
 * pid while it is still some group's id, so a live leader with another start
 * time means our group is gone and the number was reused; a missing leader
 * with live members means the leader died and its group lives on.
 */
static bool
group_is_ours(int pgid, unsigned long long ticks)
{
    unsigned long long now_ticks;

    if (kill(-pgid, 0) != 0 && errno == ESRCH)
        return false;
    now_ticks = start_ticks(pgid);
    return now_ticks == 0 || now_ticks == ticks;
}

int
shell_group_reap(const char *path, double grace_s, int *stopped, struct pd_err *err)
{
    char line[160], boot[64] = "", noted_boot[64] = "";
    unsigned long long ticks = 0, pg = 0;
    const char *q = line;
    size_t boot_len;
    int pgid = 0;
    double until;

    *stopped = 0;
    if (!read_small(path, line, sizeof(line))) {
        // missing, or empty after a crash between open and write
        if (errno != ENOENT && unlink(path) != 0 && errno != ENOENT)
            return PD_ERR_SET(err, PD_EIO, "shell: %s: %s", path, strerror(errno));
        return 0;
    }
    // "PGID TICKS BOOT-ID", as shell_group_note wrote it
    if (take_number(&q, INT_MAX, &pg) && *q++ == ' ' && take_number(&q, ULLONG_MAX, &ticks) &&
        *q++ == ' ' && (boot_len = strcspn(q, " ")) > 0 && boot_len < sizeof(noted_boot)) {
        pgid = (int)pg;
        memcpy(noted_boot, q, boot_len);
        noted_boot[boot_len] = '\0';
    }
    if (pgid <= 1) {
        // a torn note names nothing we could safely signal
        unlink(path);
        return 0;
    }
    if (read_small(BOOT_ID_PATH, boot, sizeof(boot)) && strcmp(boot, noted_boot) != 0) {
        unlink(path);
        return 0;
    }
    if (!group_is_ours(pgid, ticks)) {
        unlink(path);
        return 0;
    }
    *stopped = pgid;
    kill(-pgid, SIGTERM);
    until = pd_time_mono() + grace_s;
    while (pd_time_mono() < until) {
        if (kill(-pgid, 0) != 0 && errno == ESRCH)
            break;
        usleep(50 * 1000);
    }
    if (kill(-pgid, 0) == 0)
        kill(-pgid, SIGKILL);
    unlink(path);
    return 0;
}
