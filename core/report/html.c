#include "report/html.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "timeline/history.h"

/* report.json is written by report/; anything much larger is not one. */
#define HTML_JSON_MAX ((size_t)32 * 1024 * 1024)

/* The charts' geometry, in SVG user units (CSS pixels). */
#define CHART_W       720
#define CHART_LABEL_W 230
#define CHART_VALUE_W 150
#define CHART_ROW_H   34
#define CHART_BAR_H   12
#define TREND_H       240
#define TREND_PAD_L   70
#define TREND_PAD_R   30
#define TREND_PAD_T   24
#define TREND_PAD_B   56
/* Longest stage title drawn in the chart; the table below it has the whole title. */
#define CHART_TITLE_MAX 34

#ifndef PD_VERSION
#define PD_VERSION "unknown"
#endif

/* No external font, image, script or style sheet, and rules for print. */
static const char html_style[] =
    "body{font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;color:#1a1a1a;"
    "margin:2em auto;max-width:62em;padding:0 1em;line-height:1.4}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}\n"
    "h2{font-size:1.2em;border-bottom:1px solid #bbb;padding-bottom:.1em;margin-top:1.6em}\n"
    "table{border-collapse:collapse;width:100%;margin:.5em 0}\n"
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#f2f2f2}\n"
    "td.num{text-align:right;white-space:nowrap}\n"
    "code{font-family:\"DejaVu Sans Mono\",\"Liberation Mono\",monospace;"
    "overflow-wrap:anywhere}\n"
    "td.name code{white-space:nowrap}\n"
    ".passed,.met{color:#17612a;font-weight:bold}\n"
    ".failed,.missed,.aborted,.interrupted{color:#a11;font-weight:bold}\n"
    ".flagged,.unknown,.running,.skipped{color:#8a5a00;font-weight:bold}\n"
    "svg{max-width:100%;height:auto;display:block;margin:.5em 0}\n"
    "p.note{color:#555;font-size:.9em}\n"
    "footer{margin-top:2em;color:#555;font-size:.85em;border-top:1px solid #bbb}\n"
    "@page{size:A4;margin:14mm}\n"
    "@media print{body{margin:0;max-width:none;padding:0;font-size:10pt}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "section{break-inside:avoid-page}h2{break-after:avoid}tr,svg{break-inside:avoid}"
    "thead{display:table-header-group}}\n";

struct html {
    struct pd_buf b;
    int rc;
    struct pd_err *err;
};

/* ---- output -------------------------------------------------------------------------------- */

static void
h_put(struct html *h, const char *s)
{
    if (h->rc == 0)
        h->rc = pd_buf_append(&h->b, s, strlen(s), h->err);
}

static void h_printf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Errors are sticky: the first one is returned once the page is complete.
 * For markup and numbers only; text from the report goes through h_text.
 */
static void
h_printf(struct html *h, const char *fmt, ...)
{
    va_list ap;
    char buf[512];
    int n;

    if (h->rc != 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        h->rc = PD_ERR_SET(h->err, PD_EBUG, "report html: format too long");
        return;
    }
    h->rc = pd_buf_append(&h->b, buf, (size_t)n, h->err);
}

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0: overlong forms,
 * surrogates and code points past U+10FFFF are invalid.
 */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n;
    unsigned int cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1FU;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0FU;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07U;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3FU);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
        return 0;
    return n;
}

/* Text (or an attribute value) from the report, escaped; NULL or "" as a dash. */
static void
h_text(struct html *h, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (s == NULL || s[0] == '\0') {
        h_put(h, "\u2014");
        return;
    }
    while (*p != '\0' && h->rc == 0) {
        size_t n = utf8_len(p);

        if (*p == '&')
            h_put(h, "&amp;");
        else if (*p == '<')
            h_put(h, "&lt;");
        else if (*p == '>')
            h_put(h, "&gt;");
        else if (*p == '"')
            h_put(h, "&quot;");
        else if (*p == '\'')
            h_put(h, "&#39;");
        else if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\n') || *p == 0x7f)
            h_put(h, "\ufffd"); // invalid in XML, or not text
        else
            h->rc = pd_buf_append(&h->b, p, n, h->err);
        p += n == 0 ? 1 : n;
    }
}

/* s cut to max code points, with an ellipsis when cut; the caller owns the result. */
static char *
text_cut(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
    size_t chars = 0, n;

    while (*p != '\0' && chars < max) {
        n = utf8_len(p);
        p += n == 0 ? 1 : n;
        chars++;
    }
    if (*p == '\0')
        return pd_xstrdup(s != NULL ? s : "");
    return pd_xasprintf("%.*s\u2026", (int)((const char *)p - s), s);
}

/* Seconds as "12.345 s (12.3s)"; "—" when unknown. Locale-proof (no %f). */
static void
fmt_secs(char *buf, size_t size, double s)
{
    char human[32];
    long long ms;

    if (!(s >= 0) || !isfinite(s)) {
        snprintf(buf, size, "\u2014");
        return;
    }
    ms = llround(s * 1000.0);
    pd_time_human(human, sizeof(human), s);
    snprintf(buf, size, "%lld.%03lld s (%s)", ms / 1000, ms % 1000, human);
}

/* ---- report.json --------------------------------------------------------------------------- */

static const char *
jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A number of seconds, or -1 when null or absent. */
static double
jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : -1;
}

static const cJSON *
jarr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsArray(v) ? v : NULL;
}

/* A stage's title by its id (report.json refers to stages by id); "Drill" for none. */
static const char *
stage_name(const cJSON *root, const char *id)
{
    const cJSON *st;

    if (id == NULL)
        return "Drill";
    cJSON_ArrayForEach(st, jarr(root, "stages"))
    {
        const char *sid = jstr(st, "id");

        if (sid != NULL && strcmp(sid, id) == 0)
            return jstr(st, "title") != NULL ? jstr(st, "title") : id;
    }
    return id;
}

/* A verdict or status word as a styled span; its class is one of a fixed set. */
static void
h_verdict(struct html *h, const char *word)
{
    static const char *const known[] = {"passed",  "failed",      "flagged", "met",
                                        "missed",  "unknown",     "running", "skipped",
                                        "aborted", "interrupted", NULL};
    const char *cls = "plain";

    for (size_t i = 0; word != NULL && known[i] != NULL; i++)
        if (strcmp(word, known[i]) == 0)
            cls = known[i];
    h_printf(h, "<span class=\"%s\">", cls);
    h_text(h, word);
    h_put(h, "</span>");
}

/* ---- sections ------------------------------------------------------------------------------ */

static void
h_fact(struct html *h, const char *name, const char *value, bool code)
{
    h_printf(h, "<tr><th scope=\"row\">%s</th><td>%s", name, code ? "<code>" : "");
    h_text(h, value);
    h_printf(h, "%s</td></tr>\n", code ? "</code>" : "");
}

static void
html_head(struct html *h, const cJSON *root)
{
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(root, "runbook");
    const char *title = jstr(rb, "title") != NULL ? jstr(rb, "title") : jstr(rb, "id");
    char dur[64];

    h_put(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
             "<title>Drill report: ");
    h_text(h, title);
    h_put(h, " (");
    h_text(h, jstr(root, "drill_id"));
    h_put(h, ")</title>\n<style>\n");
    h_put(h, html_style);
    h_put(h, "</style>\n</head>\n<body>\n<header>\n<h1>Drill report: ");
    h_text(h, title);
    h_put(h, "</h1>\n<p>Outcome: ");
    h_verdict(h, jstr(root, "outcome"));
    h_put(h, "</p>\n<table class=\"facts\">\n");
    h_fact(h, "Drill", jstr(root, "drill_id"), true);
    h_fact(h, "Runbook", jstr(rb, "id"), true);
    h_fact(h, "Runbook file", jstr(rb, "path"), true);
    if (jstr(rb, "environment") != NULL)
        h_fact(h, "Environment", jstr(rb, "environment"), false);
    h_fact(h, "Operator", jstr(root, "operator"), false);
    h_fact(h, "Host", jstr(root, "host"), false);
    h_fact(h, "Started (UTC)", jstr(root, "started_at"), false);
    h_fact(h, "Finished (UTC)", jstr(root, "finished_at"), false);
    fmt_secs(dur, sizeof(dur), jnum(root, "duration_s"));
    h_fact(h, "Duration", dur, false);
    h_put(h, "</table>\n</header>\n");
}

/*
 * An objective of object o (the report, or one of its "subdrills"), KEY "rto" or "rpo": the
 * measured value from VALUE_KEY and KEY_target_s as text, and the word of KEY_verdict.
 */
static const char *
objective_texts(char achieved[64], char target[64], const cJSON *o, const char *value_key,
                const char *key)
{
    char k_target[32], k_verdict[32];

    snprintf(k_target, sizeof(k_target), "%s_target_s", key);
    snprintf(k_verdict, sizeof(k_verdict), "%s_verdict", key);
    fmt_secs(achieved, 64, jnum(o, value_key));
    fmt_secs(target, 64, jnum(o, k_target));
    return jstr(o, k_verdict);
}

/* RTO or RPO (key "rto" or "rpo"): report.json's KEY_s, KEY_target_s and KEY_verdict. */
static void
objective_row(struct html *h, const cJSON *root, const char *name, const char *key)
{
    char k_value[32], achieved[64], target[64];
    const char *word;

    snprintf(k_value, sizeof(k_value), "%s_s", key);
    word = objective_texts(achieved, target, root, k_value, key);
    h_printf(h, "<tr><th scope=\"row\">%s</th><td class=\"num\">", name);
    h_text(h, achieved);
    h_put(h, "</td><td class=\"num\">");
    h_text(h, target);
    h_put(h, "</td><td>");
    h_verdict(h, word);
    h_put(h, "</td></tr>\n");
}

static void
html_objectives(struct html *h, const cJSON *root)
{
    h_put(h, "<section id=\"objectives\">\n<h2>Recovery objectives</h2>\n<table>\n"
             "<thead><tr><th></th><th>Measured</th><th>Target</th><th>Verdict</th></tr></thead>\n"
             "<tbody>\n");
    objective_row(h, root, "RTO", "rto");
    objective_row(h, root, "RPO", "rpo");
    h_put(h, "</tbody>\n</table>\n<p class=\"note\">RTO: from the start of the drill (or the "
             "declared incident) to a verified-usable database. RPO: the data the restore "
             "point gives up, where one applies.</p>\n</section>\n");
}

/* One "subdrills" entry's objective as one cell: "measured / target verdict". */
static void
subdrill_cell(struct html *h, const cJSON *sd, const char *value_key, const char *key)
{
    char achieved[64], target[64];
    const char *word = objective_texts(achieved, target, sd, value_key, key);

    h_put(h, "<td class=\"num\">");
    h_text(h, achieved);
    h_put(h, " / ");
    h_text(h, target);
    h_put(h, " ");
    h_verdict(h, word);
    h_put(h, "</td>");
}

/* Each runbook run inside the drill, judged by its own header (report.json's "subdrills"). */
static void
html_subdrills(struct html *h, const cJSON *root)
{
    const cJSON *subs = jarr(root, "subdrills"), *sd;

    if (cJSON_GetArraySize(subs) == 0)
        return;
    h_put(h, "<section id=\"subdrills\">\n<h2>Sub-drills</h2>\n<table>\n"
             "<thead><tr><th>Stage</th><th>Runbook</th><th>Status</th>"
             "<th>RTO: duration / target</th><th>RPO: measured / target</th></tr></thead>\n"
             "<tbody>\n");
    cJSON_ArrayForEach(sd, subs)
    {
        h_put(h, "<tr><td>");
        h_text(h, stage_name(root, jstr(sd, "stage")));
        h_put(h, "</td><td><code>");
        h_text(h, jstr(sd, "runbook"));
        h_put(h, "</code></td><td>");
        h_verdict(h, jstr(sd, "status"));
        h_put(h, "</td>");
        subdrill_cell(h, sd, "duration_s", "rto");
        subdrill_cell(h, sd, "rpo_s", "rpo");
        h_put(h, "</tr>\n");
    }
    h_put(h, "</tbody>\n</table>\n<p class=\"note\">Each runbook run inside this drill, judged "
             "by its own header: its duration against its RTO target, the RPO its checks "
             "measured against its RPO target.</p>\n</section>\n");
}

/* The SVG bar width of value v on a scale where max fills w. */
static int
bar_px(double v, double max, int w)
{
    int px;

    if (!(v > 0) || !(max > 0))
        return 0;
    px = (int)lround(v / max * w);
    return px < 2 ? 2 : px;
}

/* One stage's row of the chart: its title, the expected bar, the actual bar. */
static void
chart_row(struct html *h, const cJSON *st, int y, double max)
{
    int w = CHART_W - CHART_LABEL_W - CHART_VALUE_W;
    double exp_s = jnum(st, "expected_s"), act_s = jnum(st, "duration_s");
    bool over = exp_s > 0 && act_s > exp_s;
    char *label = text_cut(jstr(st, "title") ? jstr(st, "title") : jstr(st, "id"), CHART_TITLE_MAX);
    char v[64];

    h_printf(h, "<text x=\"0\" y=\"%d\">", y + CHART_BAR_H + 3);
    h_text(h, label);
    h_put(h, "</text>\n");
    h_printf(h,
             "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#bdbdbd\"/>"
             "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>\n",
             CHART_LABEL_W, y, bar_px(exp_s, max, w), CHART_BAR_H, CHART_LABEL_W,
             y + CHART_BAR_H + 2, bar_px(act_s, max, w), CHART_BAR_H, over ? "#c0392b" : "#2b6cb0");
    // people's units here; the table below has the seconds
    pd_time_human(v, sizeof(v), exp_s);
    h_printf(h, "<text x=\"%d\" y=\"%d\" font-size=\"10\">expected %s",
             CHART_LABEL_W + bar_px(exp_s, max, w) + 4, y + CHART_BAR_H - 2,
             exp_s > 0 ? v : "none");
    pd_time_human(v, sizeof(v), act_s);
    h_printf(h, "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"10\">actual %s",
             CHART_LABEL_W + bar_px(act_s, max, w) + 4, y + 2 * CHART_BAR_H,
             act_s >= 0 ? v : "none");
    h_put(h, "</text>\n");
    free(label);
}

static void
html_stage_chart(struct html *h, const cJSON *stages)
{
    const cJSON *st;
    int n = cJSON_GetArraySize(stages), y = 24;
    double max = 0;

    cJSON_ArrayForEach(st, stages)
    {
        max = fmax(max, jnum(st, "expected_s"));
        max = fmax(max, jnum(st, "duration_s"));
    }
    h_printf(h,
             "<svg role=\"img\" aria-labelledby=\"stages-chart-title\" width=\"%d\" "
             "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
             "font-size=\"12\">\n<title id=\"stages-chart-title\">Expected and actual time of "
             "each stage</title>\n",
             CHART_W, y + n * CHART_ROW_H, CHART_W, y + n * CHART_ROW_H);
    h_printf(h,
             "<rect x=\"%d\" y=\"2\" width=\"12\" height=\"10\" fill=\"#bdbdbd\"/>"
             "<text x=\"%d\" y=\"11\">expected</text>"
             "<rect x=\"%d\" y=\"2\" width=\"12\" height=\"10\" fill=\"#2b6cb0\"/>"
             "<text x=\"%d\" y=\"11\">actual</text>"
             "<rect x=\"%d\" y=\"2\" width=\"12\" height=\"10\" fill=\"#c0392b\"/>"
             "<text x=\"%d\" y=\"11\">actual, over the expected time</text>\n",
             CHART_LABEL_W, CHART_LABEL_W + 16, CHART_LABEL_W + 90, CHART_LABEL_W + 106,
             CHART_LABEL_W + 165, CHART_LABEL_W + 181);
    cJSON_ArrayForEach(st, stages)
    {
        chart_row(h, st, y, max);
        y += CHART_ROW_H;
    }
    h_put(h, "</svg>\n");
}

static void
html_stages(struct html *h, const cJSON *root)
{
    const cJSON *stages = jarr(root, "stages"), *st;
    int i = 0;

    h_put(h, "<section id=\"stages\">\n<h2>Stages: expected and actual time</h2>\n");
    if (cJSON_GetArraySize(stages) == 0) {
        h_put(h, "<p>The drill has no stages.</p>\n</section>\n");
        return;
    }
    html_stage_chart(h, stages);
    h_put(h, "<table>\n<thead><tr><th>#</th><th>Stage</th><th>Status</th><th>Expected</th>"
             "<th>Actual</th></tr></thead>\n<tbody>\n");
    cJSON_ArrayForEach(st, stages)
    {
        char e[64], a[64];

        fmt_secs(e, sizeof(e), jnum(st, "expected_s"));
        fmt_secs(a, sizeof(a), jnum(st, "duration_s"));
        h_printf(h, "<tr><td class=\"num\">%d</td><td>", ++i);
        h_text(h, jstr(st, "title") ? jstr(st, "title") : jstr(st, "id"));
        h_put(h, "</td><td>");
        h_verdict(h, jstr(st, "status"));
        h_put(h, "</td><td class=\"num\">");
        h_text(h, e);
        h_put(h, "</td><td class=\"num\">");
        h_text(h, a);
        h_put(h, "</td></tr>\n");
    }
    h_put(h, "</tbody>\n</table>\n</section>\n");
}

static void
html_checks(struct html *h, const cJSON *root)
{
    const cJSON *checks = jarr(root, "checks"), *c;
    int n = 0, passed = 0, flagged = 0;

    h_put(h, "<section id=\"checks\">\n<h2>Checks</h2>\n");
    if (cJSON_GetArraySize(checks) == 0) {
        h_put(h, "<p>No checks ran.</p>\n</section>\n");
        return;
    }
    h_put(h, "<table>\n<thead><tr><th>Check</th><th>Stage</th><th>Verdict</th>"
             "<th>Expected</th><th>Observed</th></tr></thead>\n<tbody>\n");
    cJSON_ArrayForEach(c, checks)
    {
        const char *status = jstr(c, "status");

        n++;
        passed += status != NULL && strcmp(status, "passed") == 0;
        flagged += status != NULL && strcmp(status, "flagged") == 0;
        h_put(h, "<tr><td class=\"name\"><code>");
        h_text(h, jstr(c, "name"));
        h_put(h, "</code></td><td>");
        h_text(h, stage_name(root, jstr(c, "stage")));
        h_put(h, "</td><td>");
        h_verdict(h, status);
        h_put(h, "</td><td><code>");
        h_text(h, jstr(c, "expected"));
        h_put(h, "</code></td><td><code>");
        h_text(h, jstr(c, "observed"));
        h_put(h, "</code></td></tr>\n");
    }
    h_printf(h, "</tbody>\n</table>\n<p>%d of %d checks passed", passed, n);
    if (flagged > 0)
        h_printf(h, ", %d flagged (warnings that do not fail the drill)", flagged);
    h_put(h, ".</p>\n</section>\n");
}

/* notes[] or issues[]: stage, time and text of each. */
static void
html_texts(struct html *h, const cJSON *root, const char *key, const char *title)
{
    const cJSON *items = jarr(root, key), *t;

    h_printf(h, "<section id=\"%s\">\n<h2>%s</h2>\n", key, title);
    if (cJSON_GetArraySize(items) == 0) {
        h_put(h, "<p>None.</p>\n</section>\n");
        return;
    }
    h_put(h, "<ul>\n");
    cJSON_ArrayForEach(t, items)
    {
        h_put(h, "<li><strong>");
        h_text(h, stage_name(root, jstr(t, "stage")));
        h_put(h, "</strong> (");
        h_text(h, jstr(t, "at"));
        h_put(h, ")");
        if (jstr(t, "kind") != NULL && strcmp(jstr(t, "kind"), "recorded") != 0) {
            h_put(h, " [");
            h_text(h, jstr(t, "kind"));
            h_put(h, "]");
        }
        h_put(h, ": ");
        h_text(h, jstr(t, "text"));
        h_put(h, "</li>\n");
    }
    h_put(h, "</ul>\n</section>\n");
}

/* ---- the RTO trend ------------------------------------------------------------------------- */

struct trend_point {
    const char *drill_id;
    const char *started_at;
    double rto_s;
    bool current;
};

/* The finished runs with a known RTO up to this drill, the newest REPORT_HTML_TREND_MAX. */
static size_t
trend_points(struct trend_point *out, const struct history *hist, const char *id, double rto_s)
{
    size_t n = 0;
    bool have_current = false;

    for (size_t i = 0; hist != NULL && i < hist->n_runs; i++) {
        const struct history_run *r = &hist->runs[i];

        if (r->outcome == NULL || !(r->rto_s >= 0) || strcmp(r->drill_id, id) > 0)
            continue;
        if (n == REPORT_HTML_TREND_MAX) {
            memmove(out, out + 1, (n - 1) * sizeof(*out));
            n--;
        }
        out[n] = (struct trend_point){r->drill_id, r->started_at, r->rto_s,
                                      strcmp(r->drill_id, id) == 0};
        have_current = have_current || out[n].current;
        n++;
    }
    // this drill belongs on its own trend even when the history did not list it
    if (!have_current && rto_s >= 0) {
        if (n == REPORT_HTML_TREND_MAX) {
            memmove(out, out + 1, (n - 1) * sizeof(*out));
            n--;
        }
        out[n++] = (struct trend_point){id, NULL, rto_s, true};
    }
    return n;
}

/* The x of point i of n, centred in its slot of the plot's width pw. */
static int
trend_x(size_t i, size_t n, int pw)
{
    return TREND_PAD_L + (int)(((long)i * 2 + 1) * pw / ((long)n * 2));
}

static void
trend_svg(struct html *h, const struct trend_point *p, size_t n, double target)
{
    int pw = CHART_W - TREND_PAD_L - TREND_PAD_R, ph = TREND_H - TREND_PAD_T - TREND_PAD_B;
    double max = 0;
    bool target_drawn;
    char v[64];

    for (size_t i = 0; i < n; i++)
        max = fmax(max, p[i].rto_s);
    // a target far above every drill would flatten the trend: then it is only named
    target_drawn = target > 0 && target <= max * 1.5;
    max = fmax(max, target_drawn ? target : 0);
    max = max > 0 ? max * 1.15 : 1;
    h_printf(h,
             "<svg role=\"img\" aria-labelledby=\"trend-chart-title\" width=\"%d\" height=\"%d\" "
             "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
             "<title id=\"trend-chart-title\">RTO of each drill of this runbook</title>\n"
             "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>"
             "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n"
             "<text x=\"4\" y=\"%d\">0 s</text>\n",
             CHART_W, TREND_H, CHART_W, TREND_H, TREND_PAD_L, TREND_PAD_T, TREND_PAD_L,
             TREND_PAD_T + ph, TREND_PAD_L, TREND_PAD_T + ph, TREND_PAD_L + pw, TREND_PAD_T + ph,
             TREND_PAD_T + ph + 4);
    pd_time_human(v, sizeof(v), max);
    h_printf(h, "<text x=\"4\" y=\"%d\">%s</text>\n", TREND_PAD_T + 4, v);
    if (target > 0) {
        int ty = target_drawn ? TREND_PAD_T + ph - (int)lround(target / max * ph) : TREND_PAD_T;

        pd_time_human(v, sizeof(v), target);
        if (target_drawn)
            h_printf(h,
                     "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#a11\" "
                     "stroke-dasharray=\"6 4\"/>",
                     TREND_PAD_L, ty, TREND_PAD_L + pw, ty);
        h_printf(h, "<text x=\"%d\" y=\"%d\" fill=\"#a11\">target %s%s</text>\n", TREND_PAD_L + 4,
                 ty - 4, v, target_drawn ? "" : " (above this scale)");
    }
    if (n > 1) {
        h_put(h, "<polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"2\" points=\"");
        for (size_t i = 0; i < n; i++)
            h_printf(h, "%s%d,%d", i ? " " : "", trend_x(i, n, pw),
                     TREND_PAD_T + ph - (int)lround(p[i].rto_s / max * ph));
        h_put(h, "\"/>\n");
    }
    for (size_t i = 0; i < n; i++) {
        int x = trend_x(i, n, pw);
        int y = TREND_PAD_T + ph - (int)lround(p[i].rto_s / max * ph);

        pd_time_human(v, sizeof(v), p[i].rto_s);
        h_printf(h,
                 "<circle cx=\"%d\" cy=\"%d\" r=\"%d\" fill=\"%s\"/>"
                 "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>"
                 "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\">",
                 x, y, p[i].current ? 6 : 4, p[i].current ? "#c05600" : "#2b6cb0", x, y - 9, v, x,
                 TREND_PAD_T + ph + 16 + (int)(i % 2) * 12);
        h_text(h, p[i].current ? "this drill" : p[i].drill_id != NULL ? p[i].drill_id : "?");
        h_put(h, "</text>\n");
    }
    h_put(h, "</svg>\n");
}

static void
html_trend(struct html *h, const cJSON *root, const struct history *hist)
{
    struct trend_point p[REPORT_HTML_TREND_MAX];
    const char *id = jstr(root, "drill_id") != NULL ? jstr(root, "drill_id") : "";
    size_t n = trend_points(p, hist, id, jnum(root, "rto_s"));

    h_put(h, "<section id=\"trend\">\n<h2>RTO of past drills of this runbook</h2>\n");
    if (n == 0) {
        h_put(h, "<p>No drill of this runbook has a measured RTO yet.</p>\n</section>\n");
        return;
    }
    trend_svg(h, p, n, jnum(root, "rto_target_s"));
    if (n == 1)
        h_put(h, "<p class=\"note\">No earlier drill of this runbook in the local history.</p>\n");
    h_put(h, "<table>\n<thead><tr><th>Drill</th><th>Started (UTC)</th><th>RTO</th></tr></thead>"
             "\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        char v[64];

        fmt_secs(v, sizeof(v), p[i].rto_s);
        h_put(h, "<tr><td><code>");
        h_text(h, p[i].drill_id);
        h_put(h, p[i].current ? "</code> (this drill)</td><td>" : "</code></td><td>");
        h_text(h, p[i].current ? jstr(root, "started_at") : p[i].started_at);
        h_put(h, "</td><td class=\"num\">");
        h_text(h, v);
        h_put(h, "</td></tr>\n");
    }
    h_put(h, "</tbody>\n</table>\n</section>\n");
}

static void
html_integrity(struct html *h, const cJSON *root)
{
    const cJSON *rb = cJSON_GetObjectItemCaseSensitive(root, "runbook");

    h_put(h, "<section id=\"integrity\">\n<h2>Integrity</h2>\n<table>\n"
             "<thead><tr><th></th><th>sha256</th></tr></thead>\n<tbody>\n");
    h_fact(h, "Runbook", jstr(rb, "sha256"), true);
    h_fact(h, "Runbook stages", jstr(rb, "stages_sha256"), true);
    h_fact(h, "Journal", jstr(root, "journal_sha256"), true);
    h_put(h, "</tbody>\n</table>\n<p class=\"note\">The journal (journal.jsonl in the drill's "
             "folder) is the record this report was written from: <code>sha256sum "
             "journal.jsonl</code> must print the hash above.</p>\n</section>\n");
}

/* ---- the page ------------------------------------------------------------------------------ */

int
report_html_string(char **out, const char *report_json, const struct history *h, struct pd_err *err)
{
    struct html p = {.rc = 0, .err = err};
    cJSON *root = cJSON_Parse(report_json);
    int rc;

    *out = NULL;
    if (root == NULL || !cJSON_IsObject(root) || jstr(root, "drill_id") == NULL) {
        cJSON_Delete(root);
        return PD_ERR_SET(err, PD_EINPUT, "report.json: not a drill report (no drill_id)");
    }
    pd_buf_init(&p.b, 0);
    html_head(&p, root);
    h_put(&p, "<main>\n");
    html_objectives(&p, root);
    html_subdrills(&p, root);
    html_stages(&p, root);
    html_checks(&p, root);
    html_texts(&p, root, "notes", "Notes");
    html_texts(&p, root, "issues", "Issues");
    html_trend(&p, root, h);
    html_integrity(&p, root);
    h_put(&p, "</main>\n<footer>\n<p>Written by pgdrill " PD_VERSION " from the drill's "
              "report.json");
    if (h != NULL) {
        h_put(&p, " and the local history of runbook ");
        h_text(&p, h->runbook_id);
        h_printf(&p, " (%zu drill%s)", h->n_runs, h->n_runs == 1 ? "" : "s");
    }
    h_put(&p, ". Self-contained: nothing on this page is loaded from elsewhere.</p>\n"
              "</footer>\n</body>\n</html>\n");
    cJSON_Delete(root);
    rc = p.rc;
    if (rc != 0) {
        pd_buf_free(&p.b);
        return rc;
    }
    *out = pd_buf_steal(&p.b);
    return 0;
}

int
report_html_write(const char *home, const char *report_json_path, const char *out_path,
                  struct pd_err *err)
{
    char *json = NULL, *page = NULL;
    struct history hist;
    bool have_hist = false;
    int rc;

    memset(&hist, 0, sizeof(hist));
    if ((rc = pd_read_file(&json, NULL, report_json_path, HTML_JSON_MAX, err)) != 0)
        goto out;
    {
        cJSON *root = cJSON_Parse(json);
        const char *rb_id = jstr(cJSON_GetObjectItemCaseSensitive(root, "runbook"), "id");
        struct pd_err herr;

        pd_err_clear(&herr);
        if (rb_id != NULL && home != NULL) {
            if (history_load(&hist, home, rb_id, &herr) == 0)
                have_hist = true;
            else
                pd_log(PD_LOG_WARN, "report html: no RTO trend: %s", herr.msg);
        }
        cJSON_Delete(root);
    }
    if ((rc = report_html_string(&page, json, have_hist ? &hist : NULL, err)) != 0) {
        pd_err_prefix(err, "%s: ", report_json_path);
        goto out;
    }
    rc = pd_write_atomic(out_path, page, strlen(page), 0600, err);
out:
    history_clear(&hist); // also after a failed history_load, which may have begun filling it
    free(page);
    free(json);
    return rc;
}
