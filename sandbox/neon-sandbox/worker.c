/* pipe2(2) with O_CLOEXEC is a GNU/Linux extension. */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pd_err.h"
#include "pd_proc.h"
#include "pd_str.h"
#include "pd_time.h"

/* A whole decimal number from 1 to max, else 0 (not a port, not a pid). */
static int
positive_int(const char *s, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && v >= 1 && v <= max ? (int)v : 0;
}

int
sb_cluster_meta_read(struct sb_cluster_meta *out, const char *dir, char *err, size_t errsz)
{
    char path[PATH_MAX], line[1024];
    FILE *f;

    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), "%s/pgdrill-cluster.env", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errsz, "no pg-cluster.sh cluster in %s (%s)", dir, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq = strchr(line, '=');

        if (eq == NULL)
            continue;
        *eq = '\0';
        (void)pd_trim(eq + 1);
        if (strcmp(line, "role") == 0)
            snprintf(out->role, sizeof(out->role), "%s", eq + 1);
        else if (strcmp(line, "password") == 0)
            snprintf(out->password, sizeof(out->password), "%s", eq + 1);
        else if (strcmp(line, "os_user") == 0)
            snprintf(out->os_user, sizeof(out->os_user), "%s", eq + 1);
        else if (strcmp(line, "archive") == 0)
            snprintf(out->archive, sizeof(out->archive), "%s", eq + 1);
        else if (strcmp(line, "port") == 0)
            out->port = positive_int(eq + 1, 65535);
    }
    (void)fclose(f); // read only
    if (out->role[0] == '\0') {
        snprintf(err, errsz, "%s has no role", path);
        return -1;
    }
    return 0;
}

/* A child that cannot start exits 127; its caller reports that. */
static void
spawn_failed(enum pd_proc_stage stage, int errnum, void *payload)
{
    (void)stage;
    (void)errnum;
    (void)payload;
}

int
sb_run(const char *os_user, const char *const argv[], char *out, size_t outsz)
{
    const char *full[64];
    char buf[4096];
    size_t n = 0, len = 0;
    int pfd[2], status;
    pid_t pid;

    if (os_user != NULL && os_user[0] != '\0' && geteuid() == 0) {
        full[n++] = "runuser";
        full[n++] = "-u";
        full[n++] = os_user;
        full[n++] = "--";
    }
    for (size_t i = 0; argv[i] != NULL && n < 63; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    // neither end may outlive the exec: a daemon the child starts would hold the pipe open;
    // made close-on-exec at once, so no child another thread starts inherits it either
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    {
        char *args[64];
        struct pd_proc_opts po = {
            .prog = full[0],
            .argv = args,
            .fd_in = -1,
            .fd_out = pfd[1],
            .fd_err = pfd[1],
            .cwd = "/",
            .failed = spawn_failed, // the child exits 127: reported as -1 below
        };
        struct pd_err err = {0};

        for (size_t i = 0; i <= n; i++)
            args[i] = (char *)(uintptr_t)full[i]; // exec takes char *const[], never writes
        if (pd_proc_spawn(&pid, &po, &err) != 0) {
            close(pfd[0]);
            close(pfd[1]);
            return -1;
        }
    }
    close(pfd[1]);
    for (;;) {
        ssize_t r = read(pfd[0], buf + len, sizeof(buf) - 1 - len);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len > sizeof(buf) / 2) {
            // keep the tail: the last lines say what went wrong
            memmove(buf, buf + len - sizeof(buf) / 4, sizeof(buf) / 4);
            len = sizeof(buf) / 4;
        }
    }
    close(pfd[0]);
    buf[len] = '\0';
    pd_proc_wait(pid, &status, false);
    if (out != NULL && outsz > 0) {
        (void)pd_trim(buf);
        const char *tail = buf;
        if (strlen(buf) > outsz - 1)
            tail = buf + strlen(buf) - (outsz - 1);
        snprintf(out, outsz, "%s", tail);
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status) == 127 ? -1 : WEXITSTATUS(status);
    return -1;
}

pid_t
sb_worker_spawn(const char *self, const char *const argv[])
{
    char *args[64];
    size_t i;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    struct pd_proc_opts po = {
        .prog = self,
        .argv = args,
        .fd_in = devnull,
        .fd_out = devnull,
        .fd_err = -1,
        .new_session = true,
        .failed = spawn_failed,
    };
    struct pd_err err = {0};
    pid_t pid = -1;

    for (i = 0; i < 63 && argv[i] != NULL; i++)
        args[i] = (char *)(uintptr_t)argv[i]; // exec takes char *const[], never writes
    args[i] = NULL;
    if (pd_proc_spawn(&pid, &po, &err) != 0)
        pid = -1;
    if (devnull >= 0)
        close(devnull);
    return pid;
}

int
sb_pid_is_postmaster_of(pid_t pid, const char *dir)
{
    char link[64], cwd[PATH_MAX], stat_path[64], buf[512];
    ssize_t n;
    FILE *f;
    char state = 0;
    char *rp;

    if (pid <= 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
    n = readlink(link, cwd, sizeof(cwd) - 1);
    if (n < 0)
        return 0;
    cwd[n] = '\0';
    rp = realpath(dir, NULL);
    if (rp == NULL || strcmp(rp, cwd) != 0) {
        free(rp);
        return 0;
    }
    free(rp);
    snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", (int)pid);
    f = fopen(stat_path, "r");
    if (f == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), f) != NULL) {
        char *p = strrchr(buf, ')');

        if (p != NULL && p[1] == ' ')
            state = p[2];
    }
    (void)fclose(f); // read only
    return state != 0 && state != 'Z' && state != 'X';
}

pid_t
sb_postmaster_pid(const char *dir)
{
    char path[PATH_MAX], line[32];
    FILE *f;
    int pid = 0;

    snprintf(path, sizeof(path), "%s/postmaster.pid", dir);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    // the first line is the postmaster's pid
    if (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        pid = positive_int(line, INT_MAX);
    }
    (void)fclose(f); // read only
    return sb_pid_is_postmaster_of((pid_t)pid, dir) ? (pid_t)pid : 0;
}

/* ---- the worker process ---------------------------------------------- */

struct worker_args {
    const char *kind, *pg_cluster, *primary, *base, *data, *port, *target_time, *target_lsn,
        *errfile, *preserve_to, *preserve_port;
    int replace;
    int primary_in_place; /* --primary-in-place: the primary itself is restored (implies replace) */
};

static char werr[1024];

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(werr, sizeof(werr), fmt, ap);
    va_end(ap);
    return 1;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

static PGconn *
connect_socket(const char *dir, int port, const char *role)
{
    char conninfo[PATH_MAX + 200];

    snprintf(conninfo, sizeof(conninfo),
             "host='%s' port=%d user='%s' dbname=postgres connect_timeout=5", dir, port, role);
    return PQconnectdb(conninfo);
}

static void
first_line(char *dst, size_t size, const char *s)
{
    size_t n = strcspn(s, "\n");

    snprintf(dst, size, "%.*s", (int)(n < size ? n : size - 1), s);
}

/* A commit later than any target in the past, archived: recovery can reach the target. */
static int
archive_marker(const char *primary, const struct sb_cluster_meta *m)
{
    PGconn *c = connect_socket(primary, m->port, m->role);
    PGresult *r = NULL;
    char seg[64], msg[256];
    int rc = 0;

    if (PQstatus(c) != CONNECTION_OK) {
        first_line(msg, sizeof(msg), PQerrorMessage(c));
        rc = fail("cannot connect to the primary: %s", msg);
        goto out;
    }
    r = PQexec(c, "SELECT txid_current()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        first_line(msg, sizeof(msg), PQerrorMessage(c));
        rc = fail("marker commit on the primary failed: %s", msg);
        goto out;
    }
    PQclear(r);
    r = PQexec(c, "SELECT pg_walfile_name(pg_switch_wal())");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        first_line(msg, sizeof(msg), PQerrorMessage(c));
        rc = fail("pg_switch_wal on the primary failed: %s", msg);
        goto out;
    }
    snprintf(seg, sizeof(seg), "%s", PQgetvalue(r, 0, 0));
    for (int i = 0; i < 600; i++) {
        PQclear(r);
        r = PQexec(c, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            first_line(msg, sizeof(msg), PQerrorMessage(c));
            rc = fail("reading pg_stat_archiver failed: %s", msg);
            goto out;
        }
        // same timeline: segment names order as strings
        if (strlen(PQgetvalue(r, 0, 0)) == strlen(seg) && strcmp(PQgetvalue(r, 0, 0), seg) >= 0)
            goto out;
        sleep_ms(100);
    }
    // the archiver's failures (archive_command's errors) are in the server's log
    rc = fail("wal segment %s was not archived within 60s (is archiving on? read %s/server.log)",
              seg, primary);
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* RFC 3339 "…T…Z" as PostgreSQL wants it: "… …+00" ("Z" is refused as a zone name). */
static void
pg_time(char *dst, size_t size, const char *ts)
{
    size_t n = strlen(ts);

    snprintf(dst, size, "%s", ts);
    if (n > 10 && (dst[10] == 'T' || dst[10] == 't'))
        dst[10] = ' ';
    if (n > 0 && (dst[n - 1] == 'Z' || dst[n - 1] == 'z') && n + 2 < size)
        snprintf(dst + n - 1, size - (n - 1), "+00");
}

static int
append_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int
stop_and_remove(const char *pg_cluster, const char *data, const char *move_to)
{
    char out[400];
    struct stat st;

    if (stat(data, &st) != 0)
        return 0; // already gone
    if (access(data, F_OK) == 0) {
        char pv[PATH_MAX];

        snprintf(pv, sizeof(pv), "%s/pgdrill-cluster.env", data);
        if (access(pv, F_OK) == 0) {
            const char *argv[] = {pg_cluster, "stop", data, NULL};

            if (sb_run(NULL, argv, out, sizeof(out)) != 0)
                return fail("stopping the cluster in %s failed: %s", data, out);
        }
    }
    if (sb_postmaster_pid(data) != 0)
        return fail("the cluster in %s is still running", data);
    if (move_to != NULL) {
        if (rename(data, move_to) != 0)
            return fail("cannot move %s to %s: %s", data, move_to, strerror(errno));
        return 0;
    }
    {
        const char *argv[] = {"rm", "-rf", "--", data, NULL};

        if (sb_run(NULL, argv, out, sizeof(out)) != 0)
            return fail("cannot remove %s: %s", data, out);
    }
    return 0;
}

/*
 * Before the recovery: a commit after the target archived (while the primary
 * still runs), then, when the branch is replaced, its cluster stopped and
 * either removed or moved to preserve_to and adopted there on its own port
 * (archiving off: it is a branch now). For the primary restored in place
 * the primary itself is what is stopped and moved.
 */
static int
pitr_prepare(const struct worker_args *a, const struct sb_cluster_meta *m)
{
    char out[600];

    if (archive_marker(a->primary, m) != 0)
        return 1;
    if (a->replace && stop_and_remove(a->pg_cluster, a->data, a->preserve_to) != 0)
        return 1;
    if (a->replace && a->preserve_to != NULL && a->preserve_port != NULL) {
        // the kept state gets its own port: both clusters may run later
        const char *argv[] = {a->pg_cluster, "adopt",          a->preserve_to,
                              "--port",      a->preserve_port, NULL};

        if (sb_run(NULL, argv, out, sizeof(out)) != 0)
            return fail("adopting the preserved cluster failed: %s", out);
    }
    if (a->primary_in_place && a->preserve_to != NULL) {
        // the old production state stays reachable on its own endpoint
        const char *argv[] = {a->pg_cluster, "start", a->preserve_to, NULL};

        if (sb_run(NULL, argv, out, sizeof(out)) != 0)
            return fail("starting the preserved cluster failed: %s", out);
    }
    return 0;
}

/*
 * The base backup copied to the data directory and adopted: a branch on its
 * own port without archiving, or the primary restored in place on its own
 * port, archiving into its archive again (its new timeline is history that
 * later branches replay).
 */
static int
pitr_copy_base(const struct worker_args *a, const struct sb_cluster_meta *m, const char *port)
{
    char out[600];
    const char *cp[] = {"cp", "-a", "--", a->base, a->data, NULL};
    const char *branch[] = {a->pg_cluster, "adopt", a->data, "--port", port, NULL};
    const char *primary[] = {a->pg_cluster, "adopt",     a->data,    "--port",
                             port,          "--archive", m->archive, NULL};

    // the primary's parent directory is its owner's, not the postgres user's: adopt gives
    // the copy to that user
    if (sb_run(a->primary_in_place ? NULL : m->os_user, cp, out, sizeof(out)) != 0)
        return fail("copying the base backup failed: %s", out);
    if (sb_run(NULL, a->primary_in_place ? primary : branch, out, sizeof(out)) != 0)
        return fail("adopting the recovery cluster failed: %s", out);
    return 0;
}

/* recovery.signal and the recovery settings, to the target, promoting at the end. */
static int
pitr_configure(const struct worker_args *a, const struct sb_cluster_meta *m)
{
    char path[PATH_MAX], conf[2048], t[80];

    snprintf(conf, sizeof(conf),
             "\n# point-in-time recovery set up by neon-sandbox\n"
             "restore_command = 'cp \"%s/%%f\" \"%%p\"'\n"
             "%s"
             "recovery_target_action = 'promote'\n",
             m->archive, a->primary_in_place ? "" : "archive_mode = off\n");
    if (a->target_time != NULL) {
        pg_time(t, sizeof(t), a->target_time);
        snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "recovery_target_time = '%s'\n",
                 t);
    } else if (a->target_lsn != NULL) {
        snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "recovery_target_lsn = '%s'\n",
                 a->target_lsn);
    }
    snprintf(path, sizeof(path), "%s/postgresql.auto.conf", a->data);
    if (append_file(path, conf) != 0)
        return fail("cannot write %s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/recovery.signal", a->data);
    if (append_file(path, "") != 0)
        return fail("cannot write %s: %s", path, strerror(errno));
    {
        struct stat st;

        if (geteuid() == 0 && stat(a->data, &st) == 0 && chown(path, st.st_uid, st.st_gid) != 0)
            return fail("cannot chown %s: %s", path, strerror(errno));
    }
    return 0;
}

/* Start the recovery cluster and wait until it is promoted (out of recovery). */
static int
pitr_start(const struct worker_args *a, const struct sb_cluster_meta *m, int port)
{
    char out[600];
    const char *start[] = {a->pg_cluster, "start", a->data, NULL};
    const char *why[] = {
        "sh", "-c", "grep -E 'FATAL|PANIC|could not' \"$0/server.log\" | tail -n 3 | tr '\\n' ' '",
        a->data, NULL};
    int attempt = 0;

    // a failed start is tried again twice: the server log then says why, in
    // the error, rather than pg_ctl's "could not start server"
    while (sb_run(NULL, start, out, sizeof(out)) != 0) {
        if (++attempt == 3) {
            sb_run(NULL, why, out, sizeof(out));
            return fail("starting the recovery cluster failed 3 times: %s",
                        out[0] ? out : "see its server.log");
        }
        sleep_ms(1000);
    }
    // pg_ctl returns once connections are accepted; recovery ends at promotion
    for (int i = 0; i < 1200; i++) {
        PGconn *c = connect_socket(a->data, port, m->role);
        int done = 0;

        if (PQstatus(c) == CONNECTION_OK) {
            PGresult *r = PQexec(c, "SELECT pg_is_in_recovery()");

            done = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "f") == 0;
            PQclear(r);
        } else if (sb_postmaster_pid(a->data) == 0) {
            const char *argv[] = {"sh", "-c", "grep -E 'FATAL|PANIC' \"$0/server.log\" | tail -n 1",
                                  a->data, NULL};

            sb_run(NULL, argv, out, sizeof(out));
            PQfinish(c);
            return fail("recovery cluster stopped: %s", out[0] ? out : "see its server.log");
        }
        PQfinish(c);
        if (done)
            return 0;
        sleep_ms(100);
    }
    return fail("recovery did not finish within 120s");
}

/*
 * A point-in-time recovery into a->data: a new branch, a branch restored in
 * place (--replace), or the primary itself restored in place
 * (--primary-in-place: same directory, same port, archiving again).
 */
static int
worker_pitr(const struct worker_args *a)
{
    struct sb_cluster_meta m;
    char err[512], port[16];
    int p;

    // the primary's settings, read before a restore in place moves them away
    if (sb_cluster_meta_read(&m, a->primary, err, sizeof(err)) != 0)
        return fail("%s", err);
    if (m.archive[0] == '\0')
        return fail("the primary in %s has no wal archive", a->primary);
    p = a->primary_in_place ? m.port : positive_int(a->port, 65535);
    snprintf(port, sizeof(port), "%d", p);
    if (pitr_prepare(a, &m) != 0 || pitr_copy_base(a, &m, port) != 0 || pitr_configure(a, &m) != 0)
        return 1;
    return pitr_start(a, &m, p);
}

int
sb_worker_main(int argc, char **argv)
{
    struct worker_args a = {0};
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(k, "--replace") == 0) {
            a.replace = 1;
            continue;
        }
        if (strcmp(k, "--primary-in-place") == 0) {
            a.replace = a.primary_in_place = 1;
            continue;
        }
        if (v == NULL)
            break;
        if (strcmp(k, "--worker") == 0)
            a.kind = v;
        else if (strcmp(k, "--pg-cluster") == 0)
            a.pg_cluster = v;
        else if (strcmp(k, "--primary") == 0)
            a.primary = v;
        else if (strcmp(k, "--base") == 0)
            a.base = v;
        else if (strcmp(k, "--data") == 0)
            a.data = v;
        else if (strcmp(k, "--port") == 0)
            a.port = v;
        else if (strcmp(k, "--target-time") == 0)
            a.target_time = v;
        else if (strcmp(k, "--target-lsn") == 0)
            a.target_lsn = v;
        else if (strcmp(k, "--errfile") == 0)
            a.errfile = v;
        else if (strcmp(k, "--preserve-to") == 0)
            a.preserve_to = v;
        else if (strcmp(k, "--preserve-port") == 0)
            a.preserve_port = v;
        i++;
    }
    if (a.kind == NULL || a.pg_cluster == NULL || a.data == NULL) {
        rc = fail("worker: missing arguments");
    } else if (strcmp(a.kind, "pitr") == 0) {
        rc = (a.primary && a.base && (a.port || a.primary_in_place))
                 ? worker_pitr(&a)
                 : fail("worker: missing arguments");
    } else if (strcmp(a.kind, "delete") == 0) {
        rc = stop_and_remove(a.pg_cluster, a.data, NULL);
    } else {
        rc = fail("worker: unknown kind %s", a.kind);
    }
    if (rc != 0 && a.errfile != NULL) {
        FILE *f = fopen(a.errfile, "w");

        if (f != NULL) {
            fprintf(f, "%s\n", werr);
            (void)fclose(f); // best effort: the exit code says it failed anyway
        }
    }
    return rc;
}
