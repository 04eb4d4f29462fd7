/* timeline: the restorability axis, gaps, ages and the restore recommendation. */
#include "timeline/timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "neon/client.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "timeline/lines.h"

#define DUMP_STEM   "care-commons-backup-"
#define DUMP_SUFFIX ".sql.gz"

void
timeline_init(struct timeline *tl, double now)
{
    memset(tl, 0, sizeof(*tl));
    tl->now = now;
}

void
timeline_clear(struct timeline *tl)
{
    double now = tl->now;

    for (size_t i = 0; i < tl->n_dumps; i++)
        free(tl->dumps[i].key);
    free(tl->dumps);
    free(tl->bucket);
    free(tl->prefix);
    timeline_init(tl, now);
}

void
timeline_set_window(struct timeline *tl, long retention_s, double created_at)
{
    tl->has_window = true;
    tl->retention_s = retention_s;
    tl->window_start = neon_window_start(tl->now, retention_s, created_at);
}

static int
digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
timeline_key_time(double *out, const char *key)
{
    const char *base = strrchr(key, '/');
    size_t stem = strlen(DUMP_STEM), suffix = strlen(DUMP_SUFFIX);
    char ts[32];

    base = base ? base + 1 : key;
    // stem + YYYYMMDD-HHMMSS (15) + suffix, nothing else
    if (strlen(base) != stem + 15 + suffix || strncmp(base, DUMP_STEM, stem) != 0 ||
        strcmp(base + stem + 15, DUMP_SUFFIX) != 0 || base[stem + 8] != '-')
        return -1;
    const char *d = base + stem;
    int y = digits(d, 4), mo = digits(d + 4, 2), da = digits(d + 6, 2);
    int h = digits(d + 9, 2), mi = digits(d + 11, 2), se = digits(d + 13, 2);
    if (y < 0 || mo < 0 || da < 0 || h < 0 || mi < 0 || se < 0)
        return -1;
    // pd_time's parser validates ranges (month 13, hour 25 and the like)
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, da, h, mi, se);
    return pd_time_parse_rfc3339(out, ts, 1) == 0 ? 0 : -1;
}

int
timeline_add_object(struct timeline *tl, const char *key, uint64_t size)
{
    double at;
    size_t i;

    if (timeline_key_time(&at, key) != 0) {
        tl->n_ignored++;
        return -1;
    }
    tl->dumps = pd_xrealloc(tl->dumps, (tl->n_dumps + 1) * sizeof(*tl->dumps));
    // insertion keeps the axis sorted; equal times keep listing order
    for (i = tl->n_dumps; i > 0 && tl->dumps[i - 1].at > at; i--)
        tl->dumps[i] = tl->dumps[i - 1];
    tl->dumps[i] = (struct timeline_dump){.key = pd_xstrdup(key), .at = at, .size = size};
    tl->n_dumps++;
    return 0;
}

double
timeline_dump_age(const struct timeline *tl, size_t i)
{
    return tl->now - tl->dumps[i].at;
}

double
timeline_gap(const struct timeline *tl, size_t i)
{
    return i == 0 || i >= tl->n_dumps ? 0 : tl->dumps[i].at - tl->dumps[i - 1].at;
}

double
timeline_largest_gap(const struct timeline *tl, size_t *index_out)
{
    double best = 0;
    size_t at = 0;

    for (size_t i = 1; i < tl->n_dumps; i++) {
        if (timeline_gap(tl, i) > best) {
            best = timeline_gap(tl, i);
            at = i;
        }
    }
    if (index_out)
        *index_out = at;
    return best;
}

const char *
timeline_source_name(enum timeline_source s)
{
    return s == TIMELINE_PITR ? "PITR" : "dump";
}

int
timeline_recommend(struct timeline_rec *out, const struct timeline *tl, double incident,
                   double margin, struct pd_err *err)
{
    char when[40], now[40], wstart[40], oldest[40];
    size_t best = 0;
    bool found = false;

    memset(out, 0, sizeof(*out));
    if (margin < 0)
        margin = TIMELINE_MARGIN_DEFAULT_S;
    pd_time_format(when, sizeof(when), incident);
    if (incident > tl->now) {
        pd_time_format(now, sizeof(now), tl->now);
        return PD_ERR_SET(err, PD_EINPUT, "timeline: incident time %s is in the future (now %s)",
                          when, now);
    }
    out->incident = incident;
    if (tl->has_window && incident >= tl->window_start) {
        out->source = TIMELINE_PITR;
        out->target = incident - margin;
        if (out->target < tl->window_start) {
            out->target = tl->window_start;
            out->clamped = true;
        }
        out->loss_s = incident - out->target;
        return 0;
    }
    for (size_t i = 0; i < tl->n_dumps; i++) {
        if (tl->dumps[i].at <= incident) {
            best = i;
            found = true;
        }
    }
    if (!found) {
        snprintf(wstart, sizeof(wstart), "none");
        snprintf(oldest, sizeof(oldest), "none");
        if (tl->has_window)
            pd_time_format(wstart, sizeof(wstart), tl->window_start);
        if (tl->n_dumps > 0)
            pd_time_format(oldest, sizeof(oldest), tl->dumps[0].at);
        return PD_ERR_SET(err, PD_EINPUT,
                          "timeline: nothing restorable before the incident at %s: history "
                          "window starts %s, oldest dump %s",
                          when, wstart, oldest);
    }
    out->source = TIMELINE_DUMP;
    out->dump = best;
    out->target = tl->dumps[best].at;
    out->loss_s = incident - out->target;
    return 0;
}

/* ------------------------------------------------------------ rendering */

static void
human_size(char *buf, size_t size, uint64_t n)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)n);
    else
        snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* Coarse durations for ages and gaps: "4d03h", "2h05m", "3m20s", "42s". */
static void
span_text(char *buf, size_t size, double secs)
{
    long s = (long)(secs + 0.5);

    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(buf, size, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
    else if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lds", s);
}

/* "2026-11-26 05:20" (minutes are enough for a table) */
static void
short_time(char *buf, size_t size, double t)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    // 0 means it did not fit and leaves buf undefined
    if (strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0 && size > 0)
        buf[0] = '\0';
}

static void
render_rec(struct pd_buf *b, struct line_marks *m, const struct timeline *tl,
           const struct timeline_rec *rec)
{
    char when[40], target[40], loss[32];

    pd_time_format(when, sizeof(when), rec->incident);
    pd_time_format(target, sizeof(target), rec->target);
    span_text(loss, sizeof(loss), rec->loss_s);
    lines_mark(m, b, LINE_HEADING);
    pd_buf_appendf(b, NULL, "Incident:    %s\n", when);
    lines_mark(m, b, LINE_RECOMMENDED);
    if (rec->source == TIMELINE_PITR) {
        pd_buf_appendf(b, NULL, "Recommended: PITR, a Neon branch at %s%s\n", target,
                       rec->clamped ? " (the start of the history window)" : "");
    } else {
        pd_buf_appendf(b, NULL, "Recommended: dump %s (taken %s)\n", tl->dumps[rec->dump].key,
                       target);
    }
    lines_mark(m, b, LINE_LOSS);
    pd_buf_appendf(b, NULL, "Expected data loss: %s\n", loss);
}

/* The text of timeline_render; m (may be NULL) gets the kinds of its lines. */
static char *
render(const struct timeline *tl, const struct timeline_rec *rec, int days, int width,
       struct line_marks *m)
{
    struct pd_buf b;
    char when[40], age[32], gap[32], size[32], start[40];
    int bar_w;
    double span, from;

    pd_buf_init(&b, 0);
    if (days < 1)
        days = 1;
    bar_w = width - 2;
    if (bar_w < 10)
        bar_w = 10;
    if (bar_w > 200)
        bar_w = 200;
    span = (double)days * 86400.0;
    from = tl->now - span;

    char bar[201];
    for (int i = 0; i < bar_w; i++) {
        // cell i covers [c0, c1)
        double c0 = from + span * i / bar_w, c1 = from + span * (i + 1) / bar_w;
        bool win = tl->has_window && c1 > tl->window_start;
        bool dump = false;

        for (size_t k = 0; k < tl->n_dumps; k++)
            if (tl->dumps[k].at >= c0 &&
                (tl->dumps[k].at < c1 || (i == bar_w - 1 && tl->dumps[k].at <= c1)))
                dump = true;
        bar[i] = dump ? (win ? '*' : '|') : (win ? '=' : '.');
        if (rec && rec->incident >= c0 && (rec->incident < c1 || i == bar_w - 1))
            bar[i] = '!';
    }
    bar[bar_w] = '\0';
    lines_mark(m, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL,
                   "Restorability over the last %d day%s (= history window, | dump, "
                   "* both, ! incident)\n",
                   days, days == 1 ? "" : "s");
    pd_buf_appendf(&b, NULL, "[%s]\n", bar);
    short_time(start, sizeof(start), from);
    short_time(when, sizeof(when), tl->now);
    int pad = bar_w - (int)strlen(when);
    if (pad < (int)strlen(start) + 1)
        pad = (int)strlen(start) + 1;
    pd_buf_appendf(&b, NULL, " %-*s%s\n", pad, start, when);
    pd_buf_appendf(&b, NULL, "\n");
    lines_mark(m, &b, LINE_HEADING);
    if (tl->has_window) {
        pd_time_format(start, sizeof(start), tl->window_start);
        span_text(age, sizeof(age), tl->now - tl->window_start);
        pd_buf_appendf(&b, NULL, "Neon history window: %s to now (%s)\n", start, age);
    } else {
        pd_buf_appendf(&b, NULL, "Neon history window: unknown\n");
    }
    lines_mark(m, &b, LINE_HEADING);
    if (tl->bucket)
        pd_buf_appendf(&b, NULL, "Dumps in s3://%s/%s: %zu\n", tl->bucket,
                       tl->prefix ? tl->prefix : "", tl->n_dumps);
    else
        pd_buf_appendf(&b, NULL, "Dumps: %zu\n", tl->n_dumps);
    if (tl->n_dumps > 0) {
        pd_buf_appendf(&b, NULL, "  %-16s  %-10s  %-10s  %-10s  %s\n", "TAKEN (UTC)", "AGE", "SIZE",
                       "GAP", "KEY");
        for (size_t i = tl->n_dumps; i-- > 0;) {
            short_time(when, sizeof(when), tl->dumps[i].at);
            span_text(age, sizeof(age), timeline_dump_age(tl, i));
            human_size(size, sizeof(size), tl->dumps[i].size);
            if (i > 0)
                span_text(gap, sizeof(gap), timeline_gap(tl, i));
            else
                snprintf(gap, sizeof(gap), "-");
            // the header names the prefix; the rows keep to the part that differs
            const char *key = tl->dumps[i].key;
            size_t pl = tl->prefix ? strlen(tl->prefix) : 0;
            if (pl > 0 && strncmp(key, tl->prefix, pl) == 0)
                key += pl;
            pd_buf_appendf(&b, NULL, "  %-16s  %-10s  %-10s  %-10s  %s\n", when, age, size, gap,
                           key);
        }
        size_t gi;
        double g = timeline_largest_gap(tl, &gi);
        if (g > 0) {
            span_text(gap, sizeof(gap), g);
            short_time(when, sizeof(when), tl->dumps[gi - 1].at);
            short_time(start, sizeof(start), tl->dumps[gi].at);
            lines_mark(m, &b, LINE_HEADING);
            pd_buf_appendf(&b, NULL, "Largest gap: %s (%s to %s)\n", gap, when, start);
        }
        span_text(age, sizeof(age), timeline_dump_age(tl, tl->n_dumps - 1));
        lines_mark(m, &b, LINE_HEADING);
        pd_buf_appendf(&b, NULL, "Newest dump age: %s\n", age);
    }
    if (rec) {
        pd_buf_appendf(&b, NULL, "\n");
        render_rec(&b, m, tl, rec);
    }
    return pd_buf_steal(&b);
}

char *
timeline_render(const struct timeline *tl, const struct timeline_rec *rec, int days, int width)
{
    return render(tl, rec, days, width, NULL);
}

void
timeline_render_lines(struct lines *out, const struct timeline *tl, const struct timeline_rec *rec,
                      int days, int width)
{
    struct line_marks m = {0};
    char *text = render(tl, rec, days, width, &m);

    lines_split(out, text, &m, false);
    lines_marks_clear(&m);
    free(text);
}

static void
add_time(cJSON *o, const char *name, double t)
{
    char buf[40];

    pd_time_format(buf, sizeof(buf), t);
    cJSON_AddStringToObject(o, name, buf);
}

char *
timeline_json(const struct timeline *tl, const struct timeline_rec *rec)
{
    cJSON *root = cJSON_CreateObject(), *dumps;
    char *text, *out;

    add_time(root, "now", tl->now);
    if (tl->has_window) {
        cJSON *w = cJSON_AddObjectToObject(root, "window");
        add_time(w, "start", tl->window_start);
        add_time(w, "end", tl->now);
        cJSON_AddNumberToObject(w, "retention_s", (double)tl->retention_s);
    } else {
        cJSON_AddNullToObject(root, "window");
    }
    if (tl->bucket)
        cJSON_AddStringToObject(root, "bucket", tl->bucket);
    if (tl->prefix)
        cJSON_AddStringToObject(root, "prefix", tl->prefix);
    dumps = cJSON_AddArrayToObject(root, "dumps");
    for (size_t i = 0; i < tl->n_dumps; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "key", tl->dumps[i].key);
        add_time(d, "at", tl->dumps[i].at);
        cJSON_AddNumberToObject(d, "size", (double)tl->dumps[i].size);
        cJSON_AddNumberToObject(d, "age_s", timeline_dump_age(tl, i));
        if (i > 0)
            cJSON_AddNumberToObject(d, "gap_s", timeline_gap(tl, i));
        else
            cJSON_AddNullToObject(d, "gap_s");
        cJSON_AddItemToArray(dumps, d);
    }
    cJSON_AddNumberToObject(root, "largest_gap_s", timeline_largest_gap(tl, NULL));
    cJSON_AddNumberToObject(root, "ignored_objects", (double)tl->n_ignored);
    if (rec) {
        cJSON *r = cJSON_AddObjectToObject(root, "recommendation");
        add_time(r, "incident", rec->incident);
        cJSON_AddStringToObject(r, "source", rec->source == TIMELINE_PITR ? "pitr" : "dump");
        add_time(r, "target_time", rec->target);
        if (rec->source == TIMELINE_DUMP)
            cJSON_AddStringToObject(r, "backup_key", tl->dumps[rec->dump].key);
        cJSON_AddNumberToObject(r, "expected_loss_s", rec->loss_s);
        cJSON_AddBoolToObject(r, "clamped", rec->clamped);
    }
    text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text == NULL) { /* uncovered: cJSON fails only when out of memory */
        pd_run_fatal_hook();
        abort();
    }
    out = pd_xasprintf("%s\n", text);
    cJSON_free(text);
    return out;
}
