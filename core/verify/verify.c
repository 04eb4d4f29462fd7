#include "verify/verify.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "backup/backup.h"
#include "compliance/compliance.h"
#include "neon/client.h"
#include "pd_config.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "s3/check.h"
#include "s3/client.h"

int
verify_key_time(const char *key, double *out)
{
    const char *base = strrchr(key, '/');
    const char *p;
    struct tm tm;
    int v[6];
    static const int width[6] = {4, 2, 2, 2, 2, 2};

    base = base ? base + 1 : key;
    // the last "-YYYYMMDD-HHMMSS" followed by "." or the end of the name
    for (p = base + strlen(base); p > base; p--) {
        const char *s = p - 1;
        size_t i;

        if (*s != '-' || strlen(s) < 16)
            continue;
        for (i = 1; i <= 15; i++) {
            if (i == 9 ? s[i] != '-' : !isdigit((unsigned char)s[i]))
                break;
        }
        if (i <= 15 || (s[16] != '\0' && s[16] != '.'))
            continue;
        {
            const char *d = s + 1;

            for (int k = 0; k < 6; k++) {
                v[k] = 0;
                for (int j = 0; j < width[k]; j++)
                    v[k] = v[k] * 10 + (*d++ - '0');
                if (k == 2)
                    d++; // the '-' between date and time
            }
        }
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = v[0] - 1900;
        tm.tm_mon = v[1] - 1;
        tm.tm_mday = v[2];
        tm.tm_hour = v[3];
        tm.tm_min = v[4];
        tm.tm_sec = v[5];
        if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
            return -1;
        {
            time_t t = timegm(&tm);
            struct tm back;

            // 20250231 normalises to March: not a real date
            if (gmtime_r(&t, &back) == NULL || back.tm_mday != v[2] || back.tm_mon != v[1] - 1)
                return -1;
            *out = (double)t;
        }
        return 0;
    }
    return -1;
}

static int
backup_cmp(const void *a, const void *b)
{
    const struct verify_backup *x = a, *y = b;

    if (x->time != y->time)
        return x->time > y->time ? -1 : 1;
    return -strcmp(x->key, y->key);
}

void
verify_backups_sort(struct verify_backups *b)
{
    if (b->n > 1)
        qsort(b->items, b->n, sizeof(*b->items), backup_cmp);
}

static int
collect_page(const struct s3_list_page *page, void *payload, struct pd_err *err)
{
    struct verify_backups *b = payload;

    (void)err;
    for (size_t i = 0; i < page->n_objects; i++) {
        const struct s3_object *o = &page->objects[i];
        struct verify_backup *vb;
        size_t len = strlen(o->key);

        if (len == 0 || o->key[len - 1] == '/')
            continue;
        b->items = pd_xrealloc(b->items, (b->n + 1) * sizeof(*b->items));
        vb = &b->items[b->n++];
        vb->key = pd_xstrdup(o->key);
        vb->size = o->size;
        vb->time_from_key = verify_key_time(o->key, &vb->time) == 0;
        if (!vb->time_from_key)
            vb->time = o->last_modified;
    }
    return 0;
}

int
verify_list_backups(struct verify_backups *out, struct s3_client *c, const char *bucket,
                    const char *prefix, struct pd_err *err)
{
    int rc;

    memset(out, 0, sizeof(*out));
    rc = s3_client_list(c, bucket, prefix ? prefix : "", NULL, 0, collect_page, out, err);
    if (rc != 0) {
        verify_backups_free(out);
        return rc;
    }
    verify_backups_sort(out);
    return 0;
}

void
verify_backups_free(struct verify_backups *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->items[i].key);
    PD_FREE(b->items);
    b->n = 0;
}

void
verify_format_size(char *buf, size_t size, uint64_t bytes)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes / 1024;
    int u = 0;

    if (bytes < 1024) {
        snprintf(buf, size, "%lu B", (unsigned long)bytes);
        return;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

void
verify_format_age(char *buf, size_t size, double seconds)
{
    long s;

    if (seconds < -60) {
        snprintf(buf, size, "in the future");
        return;
    }
    s = seconds < 0 ? 0 : (long)seconds;
    if (s >= 86400)
        snprintf(buf, size, "%ldd %ldh", s / 86400, (s % 86400) / 3600);
    else if (s >= 3600)
        snprintf(buf, size, "%ldh %ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm", s / 60);
    else
        snprintf(buf, size, "<1m");
}

const char *
verify_status_name(enum verify_status s)
{
    switch (s) {
    case VERIFY_PASS:
        return "pass";
    case VERIFY_FAIL:
        return "fail";
    case VERIFY_ERROR:
        return "error";
    case VERIFY_SKIP:
    default:
        return "skip";
    }
}

static void emit(const struct verify_opts *opt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
emit(const struct verify_opts *opt, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (opt->progress == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    opt->progress(line, opt->payload);
}

/*
 * HEAD each of the newest n backups; with audit, record each HEAD after it
 * (one "s3.head" entry per object). Returns 0, or the audit log's error:
 * then no further HEAD is sent.
 */
static int
head_backups(size_t *failed_out, struct s3_client *c, const char *bucket,
             const struct verify_backups *b, size_t n,
             void (*line)(const char *text, void *payload), void *payload, struct audit *audit,
             struct pd_err *err)
{
    int rc = 0;

    *failed_out = 0;
    for (size_t i = 0; i < n && i < b->n && rc == 0; i++) {
        struct s3_head h;
        struct pd_err herr;
        char *target = pd_xasprintf("s3://%s/%s", bucket, b->items[i].key);
        int hrc;

        pd_err_clear(&herr);
        memset(&h, 0, sizeof(h));
        hrc = s3_client_head(c, &h, bucket, b->items[i].key, &herr);
        if (audit != NULL) {
            struct audit_arg args[] = {{"bytes", NULL, (long long)h.size},
                                       {"sse", h.sse ? h.sse : "absent", 0}};

            rc = audit_record(audit, NULL, "s3.head", target, args, hrc == 0 ? 2 : 0,
                              hrc == 0 ? NULL : herr.msg, err);
        }
        if (hrc == 0) {
            s3_head_free(&h); // s3_client_head recorded the encryption
        } else {
            ++*failed_out;
            if (line != NULL) {
                char *text = pd_xasprintf("encryption of %s not checked: %s", target, herr.msg);

                line(text, payload);
                free(text);
            }
        }
        free(target);
    }
    return rc;
}

size_t
verify_head_backups(struct s3_client *c, const char *bucket, const struct verify_backups *b,
                    size_t n, void (*line)(const char *text, void *payload), void *payload)
{
    size_t failed;

    // without an audit log head_backups cannot fail
    (void)head_backups(&failed, c, bucket, b, n, line, payload, NULL, NULL);
    return failed;
}

static void add_check(struct verify_report *r, const struct verify_opts *opt, const char *name,
                      enum verify_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
add_check(struct verify_report *r, const struct verify_opts *opt, const char *name,
          enum verify_status st, const char *fmt, ...)
{
    struct verify_check *c;
    char detail[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    r->checks = pd_xrealloc(r->checks, (r->n_checks + 1) * sizeof(*r->checks));
    c = &r->checks[r->n_checks++];
    c->name = pd_xstrdup(name);
    c->status = st;
    c->detail = pd_xstrdup(detail);
    emit(opt, "%-5s %s: %s", verify_status_name(st), name, detail);
}

static enum verify_status
status_of(int rc)
{
    return rc == PD_ESERVICE || rc == PD_EIO ? VERIFY_ERROR : VERIFY_FAIL;
}

/*
 * Record one request of this run, after it (failure: its error, or NULL).
 * On PD_EIO the "audit" check is added by verify_run; nothing more is sent.
 */
static int
record(const struct verify_opts *opt, const char *action, const char *target,
       const struct audit_arg *args, size_t n, const struct pd_err *failure, struct pd_err *aerr)
{
    return audit_record(opt->audit, NULL, action, target, args, n,
                        failure != NULL ? failure->msg : NULL, aerr);
}

/* The history window must reach back min_history_s: a shorter one is a plan or setting change. */
static void
check_history(struct verify_report *r, const struct verify_opts *opt, const char *window,
              long window_s)
{
    char need[64];

    pd_time_human(need, sizeof(need), opt->min_history_s);
    if ((double)window_s < opt->min_history_s)
        add_check(r, opt, "neon.history-window", VERIFY_FAIL,
                  "history window %s (%ld s) is shorter than the required %s (%.0f s)", window,
                  window_s, need, opt->min_history_s);
    else
        add_check(r, opt, "neon.history-window", VERIFY_PASS,
                  "history window %s (%ld s) covers the required %s (%.0f s)", window, window_s,
                  need, opt->min_history_s);
}

static int
check_neon(struct verify_report *r, const struct verify_opts *opt, struct neon_client *neon,
           const char *problem, struct pd_err *aerr)
{
    struct neon_project p;
    struct neon_branch b;
    struct pd_err err;
    char window[64];
    char *target = NULL;
    int rc, arc;

    memset(&p, 0, sizeof(p));
    memset(&b, 0, sizeof(b));
    pd_err_clear(&err);
    if (neon == NULL) {
        add_check(r, opt, "neon.default-branch", VERIFY_ERROR, "%s",
                  problem ? problem : "neon is not configured");
        return 0;
    }
    target = neon_audit_target(getenv("NEON_API_HOST"), neon_client_project_id(neon));
    rc = neon_project_get(neon, &p, &err);
    {
        struct audit_arg args[] = {{"history_retention_s", NULL, p.history_retention_seconds}};

        arc =
            record(opt, "neon.project-get", target, args, rc == 0 ? 1 : 0, rc ? &err : NULL, aerr);
    }
    if (arc != 0 && rc == 0)
        goto out; // the check is not complete: verify_run reports the audit log
    if (rc == 0) {
        r->have_project = 1;
        r->project_id = pd_xstrdup(p.id ? p.id : "");
        r->history_window_s = p.history_retention_seconds;
        rc = neon_branch_find(neon, NULL, &b, &err);
        {
            struct audit_arg args[] = {{"branch", "(default)", 0},
                                       {"branch_id", b.id ? b.id : "", 0}};

            arc = record(opt, "neon.branch-get", target, args, rc == 0 ? 2 : 1, rc ? &err : NULL,
                         aerr);
        }
    }
    if (rc != 0) {
        add_check(r, opt, "neon.default-branch", rc == PD_ENOENT ? VERIFY_FAIL : status_of(rc),
                  "%s", err.msg);
        goto out;
    }
    r->default_branch = pd_xstrdup(b.name ? b.name : b.id);
    pd_time_human(window, sizeof(window), (double)p.history_retention_seconds);
    if (b.current_state != NULL && strcmp(b.current_state, "ready") != 0)
        add_check(r, opt, "neon.default-branch", VERIFY_FAIL,
                  "default branch %s (%s) is %s, not ready; history window %s", r->default_branch,
                  b.id ? b.id : "?", b.current_state, window);
    else
        add_check(r, opt, "neon.default-branch", VERIFY_PASS,
                  "project %s: default branch %s (%s) ready; history window %s (%ld s)",
                  r->project_id, r->default_branch, b.id ? b.id : "?", window,
                  p.history_retention_seconds);
    check_history(r, opt, window, p.history_retention_seconds);
out:
    free(target);
    neon_project_clear(&p);
    neon_branch_clear(&b);
    return arc;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int
verify_shrank(const struct verify_backups *b, double ratio, double *median)
{
    double prev[4];

    *median = 0;
    if (b->n < 5)
        return -1;
    for (size_t i = 0; i < 4; i++)
        prev[i] = (double)b->items[i + 1].size;
    qsort(prev, 4, sizeof(prev[0]), cmp_double);
    *median = (prev[1] + prev[2]) / 2;
    return (double)b->items[0].size < ratio * *median;
}

/* A backup that shrank suspiciously is readable but probably not whole. */
static void
check_size(struct verify_report *r, const struct verify_opts *opt)
{
    const struct verify_backup *newest = &r->backups.items[0];
    char sz[32], med[32];
    double median;
    int shrank;

    if (opt->shrink_ratio < 0)
        return;
    shrank = verify_shrank(&r->backups, opt->shrink_ratio, &median);
    verify_format_size(sz, sizeof(sz), newest->size);
    verify_format_size(med, sizeof(med), (uint64_t)median);
    if (shrank < 0) // a new location: nothing to compare with yet, not a check
        emit(opt, "      s3.newest-size: %zu earlier backup%s, fewer than the four to compare with",
             r->backups.n - 1, r->backups.n == 2 ? "" : "s");
    else if (shrank)
        add_check(r, opt, "s3.newest-size", VERIFY_FAIL,
                  "newest backup %s is %s (%lu B), below %g x the median %s (%.0f B) of the "
                  "previous four",
                  newest->key, sz, (unsigned long)newest->size, opt->shrink_ratio, med, median);
    else
        add_check(r, opt, "s3.newest-size", VERIFY_PASS,
                  "newest backup %s is %s, at least %g x the median %s of the previous four",
                  newest->key, sz, opt->shrink_ratio, med);
}

static bool
cancelled(const struct verify_opts *opt)
{
    return opt->cancelled != NULL && opt->cancelled(opt->payload) != 0;
}

static int
stop_sink(const void *data, size_t len, void *payload, struct pd_err *err)
{
    const struct verify_opts *opt = *(const struct verify_opts **)payload;

    (void)data;
    (void)len;
    if (cancelled(opt))
        return PD_ERR_SET(err, PD_EINTR, "interrupted");
    return 0;
}

static int
check_stream(struct verify_report *r, const struct verify_opts *opt, struct s3_client *s3,
             const struct verify_backup *newest, struct pd_err *aerr)
{
    struct s3_gzip_check chk;
    struct pd_err err;
    double t0 = pd_time_mono();
    char sz[32];
    char *target = pd_xasprintf("s3://%s/%s", opt->bucket, newest->key);
    int rc, arc;

    pd_err_clear(&err);
    emit(opt, "streaming %s (sha256 + gzip test, no temp file)", target);
    rc = s3_gzip_check(&chk, s3, opt->bucket, newest->key, stop_sink, &opt, &err);
    r->stream_seconds = pd_time_mono() - t0;
    r->stream_bytes = chk.compressed_bytes;
    r->stream_uncompressed = chk.uncompressed_bytes;
    {
        struct audit_arg args[] = {{"bytes", NULL, (long long)chk.compressed_bytes},
                                   {"sha256", chk.sha256, 0}};

        // the sha256 is of the whole object only when the stream got to its end
        arc = record(opt, "s3.get", target, args, chk.sha256[0] && rc == 0 ? 2 : 1,
                     rc ? &err : NULL, aerr);
    }
    verify_format_size(sz, sizeof(sz), chk.compressed_bytes);
    if (rc != 0) {
        add_check(r, opt, "s3.newest-stream", status_of(rc), "%s", err.msg);
    } else if (chk.expected_sha256 == NULL) {
        snprintf(r->sha256, sizeof(r->sha256), "%s", chk.sha256);
        add_check(r, opt, "s3.newest-stream", VERIFY_FAIL,
                  "%s: gzip ok (%s) but the object has no x-amz-meta-sha256 to compare with",
                  newest->key, sz);
    } else {
        char usz[32];

        snprintf(r->sha256, sizeof(r->sha256), "%s", chk.sha256);
        verify_format_size(usz, sizeof(usz), chk.uncompressed_bytes);
        add_check(r, opt, "s3.newest-stream", VERIFY_PASS,
                  "%s: %s read in %.1fs, gzip ok (%s of SQL), sha256 %.12s… matches metadata",
                  newest->key, sz, r->stream_seconds, usz, chk.sha256);
    }
    s3_gzip_check_free(&chk);
    free(target);
    return arc;
}

static void
add_compliance(struct verify_report *r, const struct verify_opts *opt, struct compliance_result *c)
{
    static const char *const short_names[] = {
        [COMPLIANCE_PASSED] = "pass", [COMPLIANCE_FAILED] = "fail", [COMPLIANCE_FLAGGED] = "flag"};

    emit(opt, "%-5s %s%s: %s", short_names[c->status], VERIFY_COMPLIANCE_PREFIX, c->name,
         c->detail);
    r->compliance = pd_xrealloc(r->compliance, (r->n_compliance + 1) * sizeof(*r->compliance));
    r->compliance[r->n_compliance++] = *c;
    memset(c, 0, sizeof(*c));
}

/* The HIPAA checks on what this run saw and on the configured retention. */
static void
check_compliance(struct verify_report *r, const struct verify_opts *opt)
{
    struct compliance_retention ret[8];
    struct compliance_result c;
    size_t n = 0;

    compliance_judge_encryption(&c);
    add_compliance(r, opt, &c);
    compliance_judge_tls(&c);
    add_compliance(r, opt, &c);
    for (size_t i = 0; backup_classes[i] != NULL && n < sizeof(ret) / sizeof(ret[0]); i++) {
        struct pd_err err;
        int days;

        pd_err_clear(&err);
        if (backup_retention_days(&days, backup_classes[i], &err) != 0) {
            c.name = pd_xstrdup(COMPLIANCE_RETENTION);
            c.status = COMPLIANCE_FAILED;
            c.expected = pd_xstrdup("a valid retention setting");
            c.detail = pd_xstrdup(err.msg);
            add_compliance(r, opt, &c);
            return;
        }
        ret[n++] = (struct compliance_retention){backup_classes[i], days};
    }
    compliance_judge_retention(&c, ret, n);
    add_compliance(r, opt, &c);
}

int
verify_run(struct verify_report *out, const struct verify_opts *opt, struct s3_client *s3,
           struct neon_client *neon, const char *neon_problem, struct pd_err *err)
{
    struct verify_opts o = *opt;
    struct pd_err lerr, aerr;
    char uri[512];
    size_t head_failed;
    int rc, arc;

    memset(out, 0, sizeof(*out));
    if (o.bucket == NULL || s3 == NULL)
        return PD_ERR_SET(err, PD_EBUG, "verify: no bucket or s3 client");
    if (o.audit == NULL)
        return PD_ERR_SET(err, PD_EBUG, "verify: no audit log");
    if (o.count <= 0)
        o.count = 10;
    if (o.max_age_s <= 0)
        o.max_age_s = 8 * 86400.0;
    if (o.min_history_s <= 0)
        o.min_history_s = 7 * 86400.0;
    if (o.shrink_ratio == 0)
        o.shrink_ratio = 0.5;
    if (o.prefix == NULL)
        o.prefix = "";
    snprintf(uri, sizeof(uri), "s3://%s/%s", o.bucket, o.prefix);
    pd_err_clear(&aerr);

    if (o.skip_neon)
        add_check(out, &o, "neon.default-branch", VERIFY_SKIP, "skipped on request");
    else if (check_neon(out, &o, neon, neon_problem, &aerr) != 0)
        goto audit_failed;

    if (cancelled(&o))
        return PD_ERR_SET(err, PD_EINTR, "interrupted");
    pd_err_clear(&lerr);
    rc = verify_list_backups(&out->backups, s3, o.bucket, o.prefix, &lerr);
    {
        struct audit_arg args[] = {{"objects", NULL, (long long)out->backups.n}};

        arc = record(&o, "s3.list", uri, args, rc == 0 ? 1 : 0, rc ? &lerr : NULL, &aerr);
    }
    if (rc != 0) {
        add_check(out, &o, "s3.backups", status_of(rc), "%s", lerr.msg);
        goto stop;
    }
    if (out->backups.n == 0) {
        add_check(out, &o, "s3.backups", VERIFY_FAIL, "no backups under %s", uri);
        goto stop;
    }
    out->shown = out->backups.n < (size_t)o.count ? out->backups.n : (size_t)o.count;
    {
        uint64_t total = 0;
        char tsz[32];

        for (size_t i = 0; i < out->shown; i++) {
            const struct verify_backup *b = &out->backups.items[i];
            char sz[32], age[32];

            total += b->size;
            verify_format_size(sz, sizeof(sz), b->size);
            verify_format_age(age, sizeof(age), o.now - b->time);
            emit(&o, "  %-52s %10s  %s%s", b->key, sz, age,
                 b->time_from_key ? "" : " (LastModified)");
        }
        verify_format_size(tsz, sizeof(tsz), total);
        add_check(out, &o, "s3.backups", VERIFY_PASS, "%zu backup%s under %s; newest %zu: %s",
                  out->backups.n, out->backups.n == 1 ? "" : "s", uri, out->shown, tsz);
    }
    if (arc != 0)
        goto audit_failed;
    {
        const struct verify_backup *newest = &out->backups.items[0];
        double age = o.now - newest->time;
        char a[32], lim[32];

        verify_format_age(a, sizeof(a), age);
        verify_format_age(lim, sizeof(lim), o.max_age_s);
        if (age > o.max_age_s)
            add_check(out, &o, "s3.newest-age", VERIFY_FAIL,
                      "newest backup %s is %s old, older than %s: the weekly backup is not "
                      "running",
                      newest->key, a, lim);
        else
            add_check(out, &o, "s3.newest-age", VERIFY_PASS,
                      "newest backup %s is %s old (limit %s)", newest->key, a, lim);
        check_size(out, &o);
        if (!o.skip_stream && check_stream(out, &o, s3, newest, &aerr) != 0)
            goto audit_failed;
    }
    if (cancelled(&o))
        return PD_ERR_SET(err, PD_EINTR, "interrupted");
    arc = head_backups(&head_failed, s3, o.bucket, &out->backups, out->shown, o.progress, o.payload,
                       o.audit, &aerr);
stop:
    if (arc == 0)
        goto compliance;
audit_failed:
    // an action that cannot be recorded is not taken: nothing more is sent
    add_check(out, &o, "audit", VERIFY_ERROR, "%s; no further request sent", aerr.msg);
compliance:
    check_compliance(out, &o);
    return 0;
}

int
verify_opts_from_env(struct verify_opts *o, struct pd_err *err)
{
    double days, ratio;
    int rc;

    rc = pd_config_env_number(&days, "PGDRILL_VERIFY_HISTORY_DAYS", 7, 0, 36500, err);
    if (rc == 0)
        rc = pd_config_env_number(&ratio, "PGDRILL_VERIFY_SHRINK_RATIO", 0.5, 0, 1, err);
    if (rc != 0)
        return rc;
    o->min_history_s = days > 0 ? days * 86400.0 : 1;
    o->shrink_ratio = ratio > 0 ? ratio : -1;
    return 0;
}

int
verify_exit_code(const struct verify_report *r)
{
    int code = 0;

    for (size_t i = 0; i < r->n_checks; i++) {
        if (r->checks[i].status == VERIFY_ERROR)
            return 3;
        if (r->checks[i].status == VERIFY_FAIL)
            code = 1;
    }
    // a failed compliance check fails the verification; a flagged one does not
    for (size_t i = 0; i < r->n_compliance; i++)
        if (r->compliance[i].status == COMPLIANCE_FAILED)
            code = 1;
    return code;
}

void
verify_report_free(struct verify_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_checks; i++) {
        free(r->checks[i].name);
        free(r->checks[i].detail);
    }
    PD_FREE(r->checks);
    r->n_checks = 0;
    for (size_t i = 0; i < r->n_compliance; i++)
        compliance_result_free(&r->compliance[i]);
    PD_FREE(r->compliance);
    r->n_compliance = 0;
    verify_backups_free(&r->backups);
    PD_FREE(r->project_id);
    PD_FREE(r->default_branch);
}
