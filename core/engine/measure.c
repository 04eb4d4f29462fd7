/*
 * Measured RTO and RPO: the runbook says which step proves what, the engine
 * measures when that step passes and records DRILL_EV_MEASURE.
 *
 *   marks=usable (check, sql, sh): the database is verified usable once
 *     this step passes. Achieved RTO is the time from the incident (the
 *     variable incident_time when it holds a timestamp: "incident
 *     declared") or else from the drill's start, to the end of the step.
 *   rpo=TIME (check): the check's single observed value is the newest
 *     committed timestamp in the restored data (e.g. MAX(created_at));
 *     achieved RPO is TIME (normally ${target_time} or ${incident_time})
 *     minus that value, at least 0: the data written in between is lost.
 *
 * A later marking step overwrites an earlier measure (the reducer keeps the
 * last), so a runbook can mark several steps and the last to pass counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.intern.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"

/*
 * A timestamp as PostgreSQL prints timestamptz ("2026-11-26 05:20:00.1+00",
 * "+05:30") or as RFC 3339. A value without zone is taken as UTC.
 */
int
engine_measure_parse_time(double *out, const char *s)
{
    char buf[64];
    size_t n;

    if (s == NULL)
        return -1;
    n = strlen(s);
    if (n < 19 || n + 4 >= sizeof(buf))
        return -1;
    memcpy(buf, s, n + 1);
    {
        // find the zone: the first + or - after the seconds
        char *z = buf + 19;

        while (*z != '\0' && *z != '+' && *z != '-' && *z != 'Z' && *z != 'z')
            z++;
        if (*z == '\0') {
            memcpy(buf + n, "Z", 2);
        } else if ((*z == '+' || *z == '-') && strlen(z) == 3) {
            memcpy(buf + n, ":00", 4); // "+00" -> "+00:00"
        } else if ((*z == '+' || *z == '-') && strlen(z) == 9 && strcmp(z + 6, ":00") == 0) {
            z[6] = '\0'; // "+00:00:00" -> "+00:00"
        }
    }
    return pd_time_parse_rfc3339(out, buf, 0);
}

static int
record_measure(struct engine *e, const char *name, double value, struct pd_err *err)
{
    // the stage says whose it is: a sub-drill's stages have their own in the report
    struct drill_event ev = {
        .type = DRILL_EV_MEASURE, .stage = e->si, .step = -1, .name = name, .value_s = value};

    return engine_record(e, &ev, err);
}

static const char *
verdict(double achieved, int target)
{
    if (target <= 0)
        return "no target";
    return achieved <= target ? "met" : "missed";
}

static int
measure_rto(struct engine *e, struct pd_err *err)
{
    const char *incident = engine_lookup(e, "incident_time");
    double start = 0, now = pd_time_wall(), rto;
    const char *from = "drill start";
    char human[32], target[32], line[200];
    int rc;

    if (incident != NULL && incident[0] != '\0') {
        if (engine_measure_parse_time(&start, incident) != 0)
            return PD_ERR_SET(err, PD_EINPUT, "rto: incident_time '%s' is not a timestamp",
                              incident);
        from = "incident declared";
    } else if (e->drill->started_at == NULL ||
               pd_time_parse_rfc3339(&start, e->drill->started_at, 0) != 0) {
        return PD_ERR_SET(err, PD_EBUG, "rto: the drill has no start time");
    }
    rto = now - start;
    if (rto < 0)
        rto = 0;
    rc = record_measure(e, "rto_s", rto, err);
    if (rc != 0)
        return rc;
    // the drill's measure (from its start or the incident), so the drill's target, even
    // inside a sub-drill: the report judges a sub-drill by its own duration instead
    pd_time_human(human, sizeof(human), rto);
    pd_time_human(target, sizeof(target), e->rb->rto_s);
    snprintf(line, sizeof(line),
             "RTO achieved: %s from %s to a verified-usable database (target %s: %s)", human, from,
             e->rb->rto_s > 0 ? target : "none", verdict(rto, e->rb->rto_s));
    return engine_output(e, line, err);
}

static int
measure_rpo(struct engine *e, const char *ref_attr, struct pd_err *err)
{
    const struct drill_check *c = NULL;
    char *ref = NULL;
    double t_ref, t_newest, rpo;
    const struct runbook *own;
    char human[32], target[32], line[256];
    int rc;

    for (size_t i = e->drill->n_checks; i-- > 0;) {
        if (e->drill->checks[i].stage == e->si && e->drill->checks[i].step == e->ti) {
            c = &e->drill->checks[i];
            break;
        }
    }
    if (c == NULL)
        return PD_ERR_SET(err, PD_EBUG, "rpo: the check recorded no result");
    rc = engine_expand(e, &ref, ref_attr, false, err);
    if (rc != 0)
        return rc;
    if (engine_measure_parse_time(&t_ref, ref) != 0) {
        rc = PD_ERR_SET(err, PD_EINPUT, "rpo: '%s' is not a timestamp", ref);
        goto out;
    }
    if (engine_measure_parse_time(&t_newest, c->observed) != 0) {
        rc = PD_ERR_SET(err, PD_ECHECK,
                        "rpo: observed '%s' is not a timestamp (the query must return the newest "
                        "committed time)",
                        c->observed ? c->observed : "NULL");
        goto out;
    }
    // data newer than the reference cannot be lost: the restore reaches past it
    rpo = t_ref - t_newest;
    if (rpo < 0)
        rpo = 0;
    rc = record_measure(e, "rpo_s", rpo, err);
    if (rc != 0)
        goto out;
    // inside a sub-drill, its own rpo: target, as the report's subdrills[] judge it
    own = runbook_stage_owner(e->rb, (size_t)e->si);
    pd_time_human(human, sizeof(human), rpo);
    pd_time_human(target, sizeof(target), own->rpo_s);
    snprintf(line, sizeof(line),
             "RPO achieved: %s between the newest restored data (%s) and %s (target %s: %s)", human,
             c->observed, ref, own->rpo_s > 0 ? target : "none", verdict(rpo, own->rpo_s));
    rc = engine_output(e, line, err);
out:
    free(ref);
    return rc;
}

int
engine_measure_step(struct engine *e, struct pd_err *err)
{
    const char *marks = runbook_step_attr(e->step, "marks");
    const char *rpo = runbook_step_attr(e->step, "rpo");
    int rc = 0;

    if (rpo != NULL && e->step->action == STEP_CHECK)
        rc = measure_rpo(e, rpo, err);
    if (rc == 0 && marks != NULL && strcmp(marks, "usable") == 0)
        rc = measure_rto(e, err);
    return rc;
}
