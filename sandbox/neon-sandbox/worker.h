/*
 * neon-sandbox workers: the slow, real work behind an operation (a point in
 * time recovery into a new cluster, stopping and removing a cluster), run
 * as a separate process ("neon-sandbox --worker ...") so that the server
 * keeps answering and the operation's status reflects what really happens.
 * A worker exits 0 on success; on failure it writes one lowercase line to
 * its --errfile and exits 1.
 */
#ifndef NEON_SANDBOX_WORKER_H
#define NEON_SANDBOX_WORKER_H

#include <stddef.h>
#include <sys/types.h>

/* Settings of a pg-cluster.sh cluster, read from DIR/pgdrill-cluster.env. */
struct sb_cluster_meta {
    char role[64];
    char password[128];
    char os_user[64];
    char archive[512];
    int port;
};

/* 0, or -1 with a message in err. */
int sb_cluster_meta_read(struct sb_cluster_meta *out, const char *dir, char *err, size_t errsz);

/*
 * Run argv (argv[0] looked up in PATH) from "/", as os_user when running
 * as root and os_user is not NULL. Returns the exit status (0 ok), -1 when
 * it could not run; the tail of its output goes to out (may be NULL).
 */
int sb_run(const char *os_user, const char *const argv[], char *out, size_t outsz);

/* Entry point of "neon-sandbox --worker KIND ARGS..."; returns the exit code. */
int sb_worker_main(int argc, char **argv);

/* Start a worker process; its pid, or -1. self is the sandbox binary. */
pid_t sb_worker_spawn(const char *self, const char *const argv[]);

/* pid is a live postmaster whose working directory is dir. */
int sb_pid_is_postmaster_of(pid_t pid, const char *dir);

/* Postmaster pid of dir from postmaster.pid, verified; 0 when not running. */
pid_t sb_postmaster_pid(const char *dir);

#endif
