/*
 * training: the sandbox's training world (pgdrill sandbox traffic, incident, grade).
 *
 * Three parts share one private folder, the training directory
 * ($PGDRILL_HOME/sandbox/training, mode 0700, every file in it 0600):
 *
 *   traffic   an application that keeps writing to the sandbox's production
 *             (visits inserted, check-ins with GPS positions, edits of visits,
 *             clients and users; one transaction each). Every committed change
 *             is appended to traffic.log ("EPOCH OP TABLE ID FINGERPRINT"), the
 *             private record the grade needs to tell collateral damage apart.
 *   incident  one kind from the table in incident.c: holds the traffic, takes
 *             per-row fingerprints of the tables involved, breaks the data in
 *             one transaction, records the ground truth in truth (0600, never
 *             shown), releases the traffic and returns the ticket the on-call
 *             engineer reads: symptoms and roughly when, never keys or seconds.
 *   grade     production now against the ground truth and the traffic's record.
 *
 * Production is found the same way by all three (training_url): the sandbox
 * Neon server's default branch when NEON_API_* are set, else the URL the
 * sandbox wrote to the training directory's url file. Only keys, fingerprints
 * (md5 of a row's text) and counts are written, never row data.
 */
#ifndef PD_TRAINING_H
#define PD_TRAINING_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct pd_err;

/*
 * The connection URI of production (see above); caller owns *out. It may
 * carry a password, registered with pd_redact. PD_ESERVICE when neither
 * source gives one.
 */
int training_url(char **out, const char *dir, struct pd_err *err);

/*
 * The writer loop: rate transactions per second until *stop is set. It
 * reconnects after a lost connection (re-resolving production with
 * training_url, which a restore may have moved) and logs each disconnect
 * and reconnect through pd_log at info level. While the file DIR/hold holds
 * a token, it writes nothing and echoes the token to DIR/held. Returns 0
 * when stopped; PD_EIO when its log cannot be written.
 */
int training_traffic_run(const char *dir, double rate, const volatile sig_atomic_t *stop,
                         struct pd_err *err);

/* The incident kinds, in table order, for --help and errors: "delete, corrupt, ...". */
const char *training_incident_kinds(void);

/*
 * Raise one incident: kind NULL picks one at random (from seed). The ground
 * truth goes to DIR/truth (0600); *ticket (caller owns) is the text for the
 * trainee. PD_EINPUT for an unknown kind, PD_ESERVICE when production
 * cannot be reached, PD_ECHECK when the incident's SQL fails.
 */
int training_incident(char **ticket, const char *dir, const char *kind, unsigned long seed,
                      struct pd_err *err);

/* What the grade found; every figure from the data. */
struct training_grade {
    char *kind;               /* the incident graded */
    double incident_at;       /* its commit (epoch seconds) */
    double restored_at;       /* end of the latest drill after it, 0 when none */
    size_t missing, wrong;    /* rows the incident broke, still missing or wrong */
    size_t collateral;        /* the application's rows after the incident, lost or overwritten */
    size_t untouched_changed; /* rows neither touched changed, gone or appeared */
    size_t rpo_rows;          /* the application's changes before the incident, lost */
    double rpo_s;             /* incident minus the oldest of those, 0 when none */
    size_t conflicts;         /* rows the incident changed and the application changed since */
    double conflicts_until;   /* a change by the application after it counts as no conflict:
                                 the latest restore's start (its end when it ran inside the
                                 drill the grade runs in); 0 when no restore closes it */
    char *problems;           /* "; "-joined lines naming what is wrong (keys), or "" */
    char *conflicts_named;    /* lines naming the conflicts (keys), "" or NULL when none */
    char *tables_missing;     /* space-joined "table" or "table.column" not back, or "" */
    char *backup;             /* the backup the incident took first (s3://B/K), "" or NULL */
};

/*
 * Grade production against DIR/truth; drills is $PGDRILL_HOME/drills (the
 * reports give the restore's end for the RTO). running, when not NULL, is
 * the folder of the drill the grade runs in as a step: when no drill has
 * finished (or, for the conflicts, begun) since the incident, the restore
 * ended at that drill's latest journal record (the exercise restored in a
 * sub-drill). PD_EINPUT when no
 * incident was raised. out is filled on success (training_grade_clear).
 */
int training_grade_run(struct training_grade *out, const char *dir, const char *drills,
                       const char *running, struct pd_err *err);

/* True when fully restored with no collateral. */
bool training_grade_passed(const struct training_grade *g);

/* The grade as text (for the terminal) or JSON; caller owns the string. */
char *training_grade_text(const struct training_grade *g);
char *training_grade_json(const struct training_grade *g);

void training_grade_clear(struct training_grade *g);

#endif
