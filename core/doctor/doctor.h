/*
 * doctor: is this machine ready for a drill? `pgdrill doctor` and its tests.
 *
 * doctor_run makes each check of its table in turn and hands every finding
 * to the caller as one struct doctor_line: a status, the thing checked
 * ("home", "postgres", "pg_dump", "neon", "credentials", "s3", "clock") and
 * one sentence that says what was found and, when it is not ok, what to do.
 * The checks:
 *   home         $PGDRILL_HOME is a directory of this user with mode 0700
 *                (missing is ok: pgdrill creates it so);
 *   postgres     DATABASE_URL answers; its server's version;
 *   pg_dump, pg_restore, psql
 *                found (pg_dump: PGDRILL_PG_DUMP, else PATH), their
 *                versions; pg_dump's major is not older than the server's;
 *   neon         NEON_API_KEY and NEON_PROJECT_ID reach the project;
 *   credentials  where the AWS and Neon credentials come from;
 *   s3           the bucket of PGDRILL_BACKUP_URI answers a HEAD;
 *   clock        this clock against the Date header of S3's answer, at
 *                most DOCTOR_MAX_SKEW_S apart.
 * A service that is not configured is DOCTOR_SKIP (with what to set), not
 * a failure. Each request to PostgreSQL, Neon and S3 is recorded in the
 * audit log (actions doctor.postgres, doctor.neon, doctor.s3). Messages
 * never hold a secret.
 */
#ifndef PD_DOCTOR_H
#define PD_DOCTOR_H

/* The largest difference between this clock and S3's that is ok, in seconds. */
#define DOCTOR_MAX_SKEW_S 60.0

enum doctor_status {
    DOCTOR_OK,
    DOCTOR_SKIP, /* not configured; the text says what to set */
    DOCTOR_FAIL,
};

struct doctor_line {
    enum doctor_status status;
    const char *name; /* "home", "postgres", ... (static) */
    const char *text; /* borrowed for the call */
};

typedef void doctor_line_fn(const struct doctor_line *line, void *payload);

struct doctor_opts {
    const char *home;          /* $PGDRILL_HOME */
    const char *operator_name; /* for the audit log */
};

/* "ok", "skip" or "FAIL" (static). */
const char *doctor_status_name(enum doctor_status s);

/* Make every check, calling fn for each line. Returns the number of DOCTOR_FAIL lines. */
int doctor_run(const struct doctor_opts *o, doctor_line_fn *fn, void *payload);

#endif
