#include "status/status.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "audit/audit.h"
#include "drill/drill.h"
#include "evidence/evidence.h"
#include "pd_buf.h"
#include "pd_config.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "s3/client.h"
#include "verify/verify.h"

#define DAY        86400.0
#define RECORD_MAX ((size_t)1024 * 1024)

/* ---- small helpers ---------------------------------------------------------- */

static void add_problem(struct status *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
add_problem(struct status *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->problems = pd_xrealloc(s->problems, (s->n_problems + 1) * sizeof(*s->problems));
    s->problems[s->n_problems++] = pd_xstrdup(line);
}

static const char *
jstr(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *o, const char *name, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* An RFC 3339 member as epoch seconds, or -1. */
static double
jtime(const cJSON *o, const char *name)
{
    const char *v = jstr(o, name);
    double t;

    return v != NULL && pd_time_parse_rfc3339(&t, v, 0) == 0 ? t : -1;
}

/* home/status/NAME.json parsed, or NULL when absent or unreadable (a problem then). */
static cJSON *
read_record(struct status *s, const char *home, const char *name)
{
    char *path = pd_xasprintf("%s/status/%s.json", home, name);
    char *text = NULL;
    cJSON *root = NULL;
    struct pd_err err;

    pd_err_clear(&err);
    if (pd_read_file(&text, NULL, path, RECORD_MAX, &err) != 0) {
        if (err.kind != PD_ENOENT)
            add_problem(s, "%s", err.msg);
    } else if ((root = cJSON_Parse(text)) == NULL || !cJSON_IsObject(root)) {
        add_problem(s, "%s: not a JSON object", path);
        cJSON_Delete(root);
        root = NULL;
    }
    free(text);
    free(path);
    return root;
}

static int
write_record(const char *home, const char *name, cJSON *root, struct pd_err *err)
{
    char *dir = pd_xasprintf("%s/status", home);
    char *path = pd_xasprintf("%s/%s.json", dir, name);
    char *text = cJSON_Print(root);
    int rc;

    rc = pd_mkdir_p(dir, 0700, err);
    if (rc == 0 && text == NULL)
        rc = PD_ERR_SET(err, PD_EBUG, "status: %s: cannot encode the record", path);
    if (rc == 0)
        rc = pd_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    free(path);
    free(dir);
    return rc;
}

static void
add_time(cJSON *o, const char *name, double t)
{
    char buf[40];

    pd_time_format(buf, sizeof(buf), t);
    cJSON_AddStringToObject(o, name, buf);
}

/*
 * The time of the last passing run: now when this one passed, else the one
 * the previous record kept (or none).
 */
static void
carry_success(cJSON *root, const char *home, const char *name, double at, int passed)
{
    struct status scratch;
    cJSON *prev;
    double last = -1;

    memset(&scratch, 0, sizeof(scratch));
    prev = read_record(&scratch, home, name);
    if (prev != NULL)
        last = jtime(prev, "last_success_at");
    cJSON_Delete(prev);
    for (size_t i = 0; i < scratch.n_problems; i++)
        free(scratch.problems[i]);
    free(scratch.problems);
    if (passed)
        last = at;
    if (last >= 0)
        add_time(root, "last_success_at", last);
}

int
status_record_verify(const char *home, double at, const char *verdict, const char *detail,
                     const char *newest_key, double duration_s, struct pd_err *err)
{
    cJSON *root = cJSON_CreateObject();
    int rc;

    add_time(root, "at", at);
    cJSON_AddStringToObject(root, "verdict", verdict);
    if (detail != NULL)
        cJSON_AddStringToObject(root, "detail", detail);
    if (newest_key != NULL)
        cJSON_AddStringToObject(root, "newest_key", newest_key);
    cJSON_AddNumberToObject(root, "duration_s", duration_s);
    carry_success(root, home, "verify", at, strcmp(verdict, "passed") == 0);
    rc = write_record(home, "verify", root, err);
    cJSON_Delete(root);
    return rc;
}

int
status_record_backup(const char *home, double at, const char *outcome, const char *key,
                     uint64_t size, int verified, double duration_s, struct pd_err *err)
{
    cJSON *root = cJSON_CreateObject();
    int passed = strcmp(outcome, "passed") == 0;
    int rc;

    add_time(root, "at", at);
    cJSON_AddStringToObject(root, "outcome", outcome);
    cJSON_AddStringToObject(root, "key", key);
    cJSON_AddNumberToObject(root, "size", (double)size);
    cJSON_AddBoolToObject(root, "verified", verified);
    cJSON_AddNumberToObject(root, "duration_s", duration_s);
    carry_success(root, home, "backup", at, passed);
    if (passed) {
        // the last good backup, what status reports without S3
        cJSON_AddStringToObject(root, "last_success_key", key);
        cJSON_AddNumberToObject(root, "last_success_size", (double)size);
        cJSON_AddBoolToObject(root, "last_success_verified", verified);
        cJSON_AddNumberToObject(root, "last_success_duration_s", duration_s);
    } else {
        cJSON *prev = NULL;
        struct status scratch;

        memset(&scratch, 0, sizeof(scratch));
        prev = read_record(&scratch, home, "backup");
        if (prev != NULL && jstr(prev, "last_success_key") != NULL) {
            cJSON_AddStringToObject(root, "last_success_key", jstr(prev, "last_success_key"));
            cJSON_AddNumberToObject(root, "last_success_size", jnum(prev, "last_success_size", 0));
            cJSON_AddBoolToObject(
                root, "last_success_verified",
                cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(prev, "last_success_verified")));
            cJSON_AddNumberToObject(root, "last_success_duration_s",
                                    jnum(prev, "last_success_duration_s", -1));
        }
        cJSON_Delete(prev);
        for (size_t i = 0; i < scratch.n_problems; i++)
            free(scratch.problems[i]);
        free(scratch.problems);
    }
    rc = write_record(home, "backup", root, err);
    cJSON_Delete(root);
    return rc;
}

/* ---- limits -------------------------------------------------------------------- */

int
status_limits_from_env(struct status_opts *o, struct pd_err *err)
{
    static const struct {
        const char *name;
        double def;
        size_t offset;
    } rows[] = {
        {"PGDRILL_STATUS_BACKUP_DAYS", 8, offsetof(struct status_opts, backup_limit_s)},
        {"PGDRILL_STATUS_VERIFY_DAYS", 31, offsetof(struct status_opts, verify_limit_s)},
        {"PGDRILL_STATUS_DRILL_DAYS", 92, offsetof(struct status_opts, drill_limit_s)},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        double days;
        int rc = pd_config_env_number(&days, rows[i].name, rows[i].def, 1e-6, 36500, err);

        if (rc != 0)
            return rc;
        *(double *)(void *)((char *)o + rows[i].offset) = days * DAY;
    }
    return 0;
}

/* ---- drills ------------------------------------------------------------------- */

static struct status_drill *
drill_slot(struct status *s, const char *runbook)
{
    struct status_drill *d;

    for (size_t i = 0; i < s->n_drills; i++)
        if (strcmp(s->drills[i].runbook, runbook) == 0)
            return &s->drills[i];
    s->drills = pd_xrealloc(s->drills, (s->n_drills + 1) * sizeof(*s->drills));
    d = &s->drills[s->n_drills++];
    memset(d, 0, sizeof(*d));
    d->runbook = pd_xstrdup(runbook);
    d->at = d->last_success = d->duration_s = d->rto_s = d->rpo_s = -1;
    return d;
}

/* One drill's report.json into its runbook's slot: the newest wins, passing ones count. */
static void
take_report(struct status *s, const cJSON *root, int remote)
{
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(root, "runbook");
    const char *runbook = jstr(rb, "id"), *id = jstr(root, "drill_id");
    const char *outcome = jstr(root, "outcome");
    struct status_drill *d;
    double at = jtime(root, "finished_at");

    if (runbook == NULL || id == NULL)
        return;
    if (at < 0)
        at = jtime(root, "started_at");
    d = drill_slot(s, runbook);
    if (outcome != NULL && strcmp(outcome, "passed") == 0 && at > d->last_success)
        d->last_success = at;
    if (d->drill_id != NULL && strcmp(d->drill_id, id) >= 0)
        return;
    free(d->drill_id);
    free(d->outcome);
    d->drill_id = pd_xstrdup(id);
    d->outcome = pd_xstrdup(outcome != NULL ? outcome : "unknown");
    d->at = at;
    d->duration_s = jnum(root, "duration_s", -1);
    // an RTO is achieved only by a drill that reached a verified, usable database: one
    // that failed or was aborted has none, whatever time its report measured
    d->rto_s = strcmp(d->outcome, "passed") == 0 ? jnum(root, "rto_s", -1) : -1;
    d->rpo_s = jnum(root, "rpo_s", -1);
    d->remote = remote;
}

static void
load_local_drills(struct status *s, const char *home)
{
    char **ids = NULL;
    size_t n = 0;
    struct pd_err err;

    pd_err_clear(&err);
    if (drill_list(&ids, &n, home, &err) != 0) {
        if (err.kind != PD_ENOENT)
            add_problem(s, "%s", err.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *name = pd_xasprintf("../drills/%s/report", ids[i]);
        cJSON *root = read_record(s, home, name);

        if (root != NULL)
            take_report(s, root, 0);
        cJSON_Delete(root);
        free(name);
        free(ids[i]);
    }
    free(ids);
}

/* List everything under prefix (audited as s3.list); a failure is a problem line. */
static int
list_audited(struct status *s, const struct status_opts *o, struct verify_backups *out,
             const char *prefix)
{
    struct pd_err err, aerr;
    char *target = pd_xasprintf("s3://%s/%s", o->bucket, prefix);
    int rc;

    pd_err_clear(&err);
    pd_err_clear(&aerr);
    rc = verify_list_backups(out, o->s3, o->bucket, prefix, &err);
    {
        struct audit_arg args[] = {{"objects", NULL, (long long)out->n}};

        if (audit_record(o->audit, NULL, "s3.list", target, args, rc == 0 ? 1 : 0,
                         rc ? err.msg : NULL, &aerr) != 0) {
            add_problem(s, "%s", aerr.msg);
            if (rc == 0)
                verify_backups_free(out);
            rc = aerr.kind;
        }
    }
    if (rc != 0 && err.msg[0])
        add_problem(s, "%s", err.msg);
    free(target);
    return rc;
}

static int
sink_buf(const void *data, size_t len, void *payload, struct pd_err *err)
{
    return pd_buf_append(payload, data, len, err);
}

/* The time in a drill id (YYYYMMDD-HHMMSS-RUNBOOK), or -1. */
static double
drill_id_time(const char *id)
{
    char ts[32];
    double t;

    if (strlen(id) < 17 || id[8] != '-' || id[15] != '-')
        return -1;
    (void)snprintf(ts, sizeof(ts), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", id, id + 4, id + 6, id + 9,
                   id + 11, id + 13);
    return pd_time_parse_rfc3339(&t, ts, 1) == 0 ? t : -1;
}

/*
 * Whether the remote report of drill id is worth reading: it is newer than
 * what s knows of its runbook, or the runbook has no passing drill within
 * the limit yet and this one is within it.
 */
static int
worth_reading(const struct status *s, const char *id)
{
    double at = drill_id_time(id), since = s->now - s->drill_limit_s;

    if (at < 0)
        return 0;
    for (size_t i = 0; i < s->n_drills; i++) {
        const struct status_drill *d = &s->drills[i];

        if (strcmp(d->runbook, id + 16) != 0)
            continue;
        if (d->drill_id == NULL || strcmp(id, d->drill_id) > 0)
            return 1;
        return strcmp(id, d->drill_id) != 0 && d->last_success < since && at >= since;
    }
    return 1;
}

static void
fetch_remote_report(struct status *s, const struct status_opts *o, const char *key)
{
    struct pd_buf b;
    struct pd_err err, aerr;
    char *target = pd_xasprintf("s3://%s/%s", o->bucket, key);
    uint64_t bytes = 0;
    int rc;

    pd_err_clear(&err);
    pd_err_clear(&aerr);
    pd_buf_init(&b, RECORD_MAX);
    rc = s3_client_get(o->s3, o->bucket, key, 0, sink_buf, &b, &bytes, &err);
    {
        struct audit_arg args[] = {{"bytes", NULL, (long long)bytes}};

        if (audit_record(o->audit, NULL, "s3.get", target, args, 1, rc ? err.msg : NULL, &aerr))
            add_problem(s, "%s", aerr.msg);
    }
    if (rc != 0) {
        add_problem(s, "%s", err.msg);
    } else {
        char *text = pd_buf_steal(&b);
        cJSON *root = cJSON_Parse(text);

        if (root != NULL)
            take_report(s, root, 1);
        else
            add_problem(s, "%s: not JSON", target);
        cJSON_Delete(root);
        free(text);
    }
    pd_buf_free(&b);
    free(target);
}

/*
 * Read the remote drill reports status has not seen, newest drill id first
 * (as evidence_list_remote lists them): for each runbook the ones newer
 * than the local newest, then older ones within the drill limit until one
 * passed, so that a failed newest drill does not hide a passing one.
 */
static void
load_remote_drills(struct status *s, const struct status_opts *o)
{
    struct evidence_remote *v = NULL;
    size_t n = 0;
    struct pd_err err;
    char *prefix = evidence_prefix(o->prefix);

    pd_err_clear(&err);
    if (evidence_list_remote(&v, &n, o->s3, o->audit, o->bucket, o->prefix, &err) != 0)
        add_problem(s, "%s", err.msg);
    for (size_t i = 0; i < n; i++) {
        int has_report = 0;

        for (size_t f = 0; f < v[i].n_files; f++)
            has_report |= strcmp(v[i].files[f], "report.json") == 0;
        if (has_report && worth_reading(s, v[i].drill_id)) {
            char *key = pd_xasprintf("%s%s/report.json", prefix, v[i].drill_id);

            fetch_remote_report(s, o, key);
            free(key);
        }
    }
    evidence_remote_free(v, n);
    free(prefix);
}

/* ---- backup and verification ----------------------------------------------------- */

/* HEAD the newest backup (audited as s3.head): its x-amz-meta-sha256, if any. */
static void
head_backup(struct status *s, const struct status_opts *o)
{
    struct s3_head h;
    struct pd_err err, aerr;
    char *target = pd_xasprintf("s3://%s/%s", o->bucket, s->backup_key);
    int rc;

    pd_err_clear(&err);
    pd_err_clear(&aerr);
    memset(&h, 0, sizeof(h));
    rc = s3_client_head(o->s3, &h, o->bucket, s->backup_key, &err);
    {
        struct audit_arg args[] = {{"bytes", NULL, (long long)h.size}};

        if (audit_record(o->audit, NULL, "s3.head", target, args, rc == 0 ? 1 : 0,
                         rc ? err.msg : NULL, &aerr) != 0)
            add_problem(s, "%s", aerr.msg);
    }
    if (rc == 0) {
        for (char **m = h.metadata; m != NULL && m[0] != NULL; m += 2)
            if (strcmp(m[0], "sha256") == 0)
                s->backup_sha256 = 1;
        s3_head_free(&h);
    } else {
        add_problem(s, "%s", err.msg);
    }
    free(target);
}

static void
load_backup(struct status *s, const struct status_opts *o, const cJSON *rec, const cJSON *vrec)
{
    const char *vkey = jstr(vrec, "newest_key"), *vverdict = jstr(vrec, "verdict");

    s->backup_at = -1;
    s->backup_duration_s = -1;
    if (o->s3 != NULL) {
        struct verify_backups b;
        char *prefix = pd_xasprintf("%sweekly/", o->prefix);

        if (list_audited(s, o, &b, prefix) == 0) {
            if (b.n > 0) {
                s->backup_at = b.items[0].time;
                s->backup_size = b.items[0].size;
                s->backup_key = pd_xstrdup(b.items[0].key);
                s->backup_source = "s3";
                head_backup(s, o);
            }
            verify_backups_free(&b);
        }
        free(prefix);
    }
    if (s->backup_key == NULL && rec != NULL && jstr(rec, "last_success_key") != NULL &&
        jtime(rec, "last_success_at") >= 0) {
        s->backup_at = jtime(rec, "last_success_at");
        s->backup_size = (uint64_t)jnum(rec, "last_success_size", 0);
        s->backup_key = pd_xstrdup(jstr(rec, "last_success_key"));
        s->backup_source = "local";
    }
    if (s->backup_key == NULL)
        return;
    // what the backup that wrote this object said of it (a later failed run kept it)
    if (jstr(rec, "last_success_key") != NULL &&
        strcmp(jstr(rec, "last_success_key"), s->backup_key) == 0) {
        s->backup_verified =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rec, "last_success_verified"));
        s->backup_duration_s = jnum(rec, "last_success_duration_s", -1);
    }
    // a passing verify that streamed this very object verified it too
    if (vkey != NULL && vverdict != NULL && strcmp(vkey, s->backup_key) == 0 &&
        strcmp(vverdict, "passed") == 0)
        s->backup_verified = 1;
}

static void
load_verify(struct status *s, const cJSON *vrec)
{
    s->verify_at = s->verify_last_success = -1;
    if (vrec == NULL)
        return;
    s->verify_at = jtime(vrec, "at");
    s->verify_last_success = jtime(vrec, "last_success_at");
    s->verify_verdict = pd_xstrdup(jstr(vrec, "verdict") ? jstr(vrec, "verdict") : "unknown");
    if (jstr(vrec, "detail") != NULL)
        s->verify_detail = pd_xstrdup(jstr(vrec, "detail"));
    s->verify_duration_s = jnum(vrec, "duration_s", -1);
}

static int
overdue(double last, double now, double limit)
{
    return last < 0 || now - last > limit;
}

int
status_load(struct status *out, const struct status_opts *opt, struct pd_err *err)
{
    struct status_opts o = *opt;
    cJSON *brec, *vrec;
    const struct status_drill *q = NULL;

    memset(out, 0, sizeof(*out));
    if (o.home == NULL || (o.s3 != NULL && (o.bucket == NULL || o.audit == NULL)))
        return PD_ERR_SET(err, PD_EBUG, "status: no home, or s3 without a bucket or audit log");
    if (o.prefix == NULL)
        o.prefix = "";
    out->now = o.now;
    out->backup_limit_s = o.backup_limit_s > 0 ? o.backup_limit_s : 8 * DAY;
    out->verify_limit_s = o.verify_limit_s > 0 ? o.verify_limit_s : 31 * DAY;
    out->drill_limit_s = o.drill_limit_s > 0 ? o.drill_limit_s : 92 * DAY;
    brec = read_record(out, o.home, "backup");
    vrec = read_record(out, o.home, "verify");
    load_backup(out, &o, brec, vrec);
    load_verify(out, vrec);
    load_local_drills(out, o.home);
    if (o.s3 != NULL)
        load_remote_drills(out, &o);
    cJSON_Delete(brec);
    cJSON_Delete(vrec);
    for (size_t i = 0; i < out->n_drills; i++)
        if (strcmp(out->drills[i].runbook, STATUS_QUARTERLY_RUNBOOK) == 0)
            q = &out->drills[i];
    out->backup_overdue = overdue(out->backup_at, o.now, out->backup_limit_s);
    out->verify_overdue = overdue(out->verify_last_success, o.now, out->verify_limit_s);
    out->drill_overdue = overdue(q ? q->last_success : -1, o.now, out->drill_limit_s);
    return 0;
}

int
status_exit_code(const struct status *s)
{
    return s->backup_overdue || s->verify_overdue || s->drill_overdue ? 1 : 0;
}

void
status_free(struct status *s)
{
    if (s == NULL)
        return;
    PD_FREE(s->backup_key);
    PD_FREE(s->verify_verdict);
    PD_FREE(s->verify_detail);
    for (size_t i = 0; i < s->n_drills; i++) {
        free(s->drills[i].runbook);
        free(s->drills[i].drill_id);
        free(s->drills[i].outcome);
    }
    PD_FREE(s->drills);
    s->n_drills = 0;
    for (size_t i = 0; i < s->n_problems; i++)
        free(s->problems[i]);
    PD_FREE(s->problems);
    s->n_problems = 0;
}
