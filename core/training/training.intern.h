/*
 * training internals shared by traffic.c, incident.c and grade.c (and tests):
 * per-row fingerprint sets and the small file helpers of the training folder.
 */
#ifndef PD_TRAINING_INTERN_H
#define PD_TRAINING_INTERN_H

#include <stddef.h>

struct pd_err;
struct pg_conn;

/* The tables the application (traffic) writes: always part of a ground truth. */
#define TRAINING_APP_TABLES "visits clients users"

/* Fingerprints of one table, sorted by id. */
struct fpset {
    size_t n, cap;
    long long *ids;
    char (*fp)[33];
};

/* SELECT id, md5(t::text) FROM t ORDER BY id into *out (fpset_free). */
int training_snapshot(struct fpset *out, struct pg_conn *c, const char *table, struct pd_err *err);

/* Append one row (ids must come in ascending order for fpset_find). */
void fpset_add(struct fpset *s, long long id, const char *fp);

/* The index of id, or -1. */
long fpset_find(const struct fpset *s, long long id);

void fpset_free(struct fpset *s);

/* DIR/NAME; caller frees. */
char *training_path(const char *dir, const char *name);

/* Connect to production (training_url, then pg_connect); caller owns *out. */
int training_connect(struct pg_conn **out, const char *dir, struct pd_err *err);

/*
 * Hold the application: DIR/hold, then wait (5 s at most, and only while
 * the traffic's recorded PID runs) until it echoes the token in DIR/held,
 * having finished and logged its current request. Release removes both.
 */
void training_hold(const char *dir);
void training_release(const char *dir);

/* Sleep s seconds. */
void training_nap(double s);

/* What a kind's hook works with (hooks.c; incident.c's table names the hooks). */
struct pd_buf;

struct training_hook {
    const char *dir;
    double started;       /* when the incident's transaction began; 0 before it */
    struct pd_buf *truth; /* the ground truth's lines so far: a hook may add its own */
};

/* A kind's hook: 0, or an error that stops the incident (before) or is reported (after). */
typedef int training_hook_fn(struct training_hook *h, struct pd_err *err);

/* Before: the weekly backup into the sandbox's S3 ("backup s3://B/K" in the truth). */
training_hook_fn training_hook_backup;
/* After: the sandbox Neon server refuses history requests with 503 until a deadline. */
training_hook_fn training_hook_outage;
/* After: the project's history retention shrunk past the incident's start. */
training_hook_fn training_hook_history;

/* Undo the hooks' effects on Neon (outage, retention); failures are logged. */
void training_neon_heal(const char *dir);

#endif
