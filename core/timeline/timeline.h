/*
 * timeline: what can be restored, and to when.
 *
 * One time axis holds Neon's history window (from the earliest restorable
 * time to now) and every pg_dump export in the backup bucket, as points at
 * the time their key names (care-commons-backup-YYYYMMDD-HHMMSS.sql.gz, the
 * weekly export's naming). From it come the gaps between dumps, the age of
 * each dump and, for an incident time, a recommendation: the restore source
 * (point-in-time recovery on a Neon branch when the incident is inside the
 * window, else the newest dump taken before the incident), the target time
 * and the data that restore would lose.
 *
 * Everything but timeline_load is a pure function of the struct and the
 * "now" it was built with, so it is unit-tested with fixed inputs. The
 * struct owns its strings; timeline_clear releases them.
 */
#ifndef PD_TIMELINE_H
#define PD_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audit;
struct lines;
struct pd_err;

/* The default safety margin before the incident for a PITR target: 1 minute. */
#define TIMELINE_MARGIN_DEFAULT_S 60.0

struct timeline_dump {
    char *key; /* the full S3 key */
    double at; /* from the key's timestamp, seconds since the epoch (UTC) */
    uint64_t size;
};

struct timeline {
    double now;
    bool has_window;     /* Neon's history window is known */
    double window_start; /* earliest restorable time; the window ends at now */
    long retention_s;    /* the project's history_retention_seconds */
    char *bucket;        /* where the dumps were listed; may be NULL */
    char *prefix;
    struct timeline_dump *dumps; /* oldest first */
    size_t n_dumps;
    size_t n_ignored; /* objects under the prefix whose key names no dump time */
};

/* An empty axis at now. */
void timeline_init(struct timeline *tl, double now);

/* Release everything tl owns and leave it empty (at the same now). */
void timeline_clear(struct timeline *tl);

/*
 * Set the history window: it starts at now - retention_s, or at the
 * project's creation (created_at, seconds since the epoch; 0 when unknown)
 * when that is later.
 */
void timeline_set_window(struct timeline *tl, long retention_s, double created_at);

/*
 * The time in a dump key: the last path component must be
 * "care-commons-backup-YYYYMMDD-HHMMSS.sql.gz" (any prefix before it).
 * Returns 0 and stores seconds since the epoch, or -1 when the key is not a
 * dump's.
 */
int timeline_key_time(double *out, const char *key);

/* Add an object; kept sorted by time. Returns 0, or -1 (counted in n_ignored) when not a dump. */
int timeline_add_object(struct timeline *tl, const char *key, uint64_t size);

/* Seconds from dump i to now. */
double timeline_dump_age(const struct timeline *tl, size_t i);

/* Seconds between dump i-1 and dump i (i >= 1); 0 for i == 0. */
double timeline_gap(const struct timeline *tl, size_t i);

/* The largest gap between consecutive dumps and its later dump's index; 0 when fewer than 2. */
double timeline_largest_gap(const struct timeline *tl, size_t *index_out);

enum timeline_source {
    TIMELINE_PITR, /* a Neon branch at the target time */
    TIMELINE_DUMP, /* restore the dump */
};

struct timeline_rec {
    enum timeline_source source;
    double incident;
    double target; /* PITR: the branch's timestamp; dump: the dump's time */
    size_t dump;   /* TIMELINE_DUMP: index into tl->dumps */
    double loss_s; /* expected data loss: incident - target */
    bool clamped;  /* PITR: the margin would leave the window, target is its start */
};

/*
 * Recommend how to restore for an incident at incident (seconds since the
 * epoch), with margin seconds of safety before it for PITR (negative:
 * TIMELINE_MARGIN_DEFAULT_S). PD_EINPUT when the incident is after now
 * ("timeline: incident time T is in the future (now N)") or when nothing
 * restorable precedes it ("timeline: nothing restorable before the incident
 * at T: ...").
 */
int timeline_recommend(struct timeline_rec *out, const struct timeline *tl, double incident,
                       double margin, struct pd_err *err);

/* "PITR" or "dump"; static. */
const char *timeline_source_name(enum timeline_source s);

/*
 * The axis as text for a terminal of width columns over the last days
 * days: a bar ('=' inside the history window, '|' at a dump, '*' both,
 * '!' at the incident when rec is given, '.' elsewhere), a scale line, a
 * table of dumps (key time, age, size, gap to the previous one), the
 * largest gap and the recommendation when rec is not NULL. Lines end with
 * '\n'. Caller owns the string.
 */
char *timeline_render(const struct timeline *tl, const struct timeline_rec *rec, int days,
                      int width);

/* timeline_render's text as lines with their kinds, appended to out (lines.h). */
void timeline_render_lines(struct lines *out, const struct timeline *tl,
                           const struct timeline_rec *rec, int days, int width);

/* The same as JSON (one object, final newline). Caller owns the string. */
char *timeline_json(const struct timeline *tl, const struct timeline_rec *rec);

/*
 * Build the axis from the services: the Neon project (NEON_API_HOST,
 * NEON_API_KEY, NEON_PROJECT_ID) for the window and every object under
 * the weekly class folder of $PGDRILL_BACKUP_URI (backup_class_prefix) for
 * the dumps. PD_EUSAGE when a setting is missing,
 * PD_ESERVICE when a service fails (the message names which).
 *
 * Each request is recorded in audit (required, borrowed) after it, with
 * drill_id null: "neon.project-get" (target "<NEON_API_HOST>/projects/<id>")
 * and "s3.list" (target "s3://bucket/prefix", the objects and dumps
 * counted). When an entry cannot be written the load fails with the audit
 * log's error (PD_EIO) and sends nothing more.
 */
int timeline_load(struct timeline *tl, double now, struct audit *audit, struct pd_err *err);

#endif
