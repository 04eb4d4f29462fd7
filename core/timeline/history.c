/* history: per-stage durations across drills of one runbook, and regressions. */
#include "timeline/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "pd_time.h"
#include "timeline/lines.h"

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double
history_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool
history_is_regression(double duration_s, double median_s)
{
    return duration_s >= 2 * median_s && duration_s - median_s >= HISTORY_MIN_DELTA_S;
}

void
history_clear(struct history *h)
{
    for (size_t i = 0; i < h->n_runs; i++) {
        free(h->runs[i].drill_id);
        free(h->runs[i].started_at);
        free(h->runs[i].outcome);
        free(h->runs[i].stage_s);
    }
    for (size_t i = 0; i < h->n_stages; i++) {
        free(h->stage_ids[i]);
        free(h->stage_titles[i]);
    }
    free(h->runs);
    free(h->stage_ids);
    free(h->stage_titles);
    free(h->runbook_id);
    memset(h, 0, sizeof(*h));
}

static size_t
stage_index(struct history *h, const char *id, const char *title)
{
    for (size_t i = 0; i < h->n_stages; i++)
        if (strcmp(h->stage_ids[i], id) == 0)
            return i;
    h->stage_ids = pd_xrealloc(h->stage_ids, (h->n_stages + 1) * sizeof(char *));
    h->stage_titles = pd_xrealloc(h->stage_titles, (h->n_stages + 1) * sizeof(char *));
    h->stage_ids[h->n_stages] = pd_xstrdup(id);
    h->stage_titles[h->n_stages] = pd_xstrdup(title ? title : id);
    for (size_t r = 0; r < h->n_runs; r++) {
        h->runs[r].stage_s = pd_xrealloc(h->runs[r].stage_s, (h->n_stages + 1) * sizeof(double));
        h->runs[r].stage_s[h->n_stages] = -1;
    }
    return h->n_stages++;
}

int
history_load(struct history *out, const char *home, const char *runbook_id, struct pd_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->runbook_id = pd_xstrdup(runbook_id);
    rc = drill_list(&ids, &n, home, err);
    if (rc != 0)
        return rc;
    // newest first: the newest drill's stage order wins; runs are stored oldest first
    for (size_t k = 0; k < n; k++) {
        struct drill *d = NULL;
        struct pd_err e;

        pd_err_clear(&e);
        if (drill_open(&d, home, ids[k], false, &e) != 0) {
            pd_log(PD_LOG_WARN, "history: skipping drill %s: %s", ids[k], e.msg);
            continue;
        }
        if (d->runbook_id && strcmp(d->runbook_id, runbook_id) == 0) {
            for (size_t s = 0; s < d->n_stages; s++)
                if (d->stages[s].id)
                    stage_index(out, d->stages[s].id, d->stages[s].title);
            out->runs = pd_xrealloc(out->runs, (out->n_runs + 1) * sizeof(*out->runs));
            memmove(out->runs + 1, out->runs, out->n_runs * sizeof(*out->runs));
            struct history_run *r = &out->runs[0];
            out->n_runs++;
            r->drill_id = pd_xstrdup(d->id);
            r->started_at = pd_dup_or_null(d->started_at);
            r->outcome = pd_dup_or_null(d->outcome);
            r->rto_s = drill_rto_achieved(d);
            r->rpo_s = d->rpo_s;
            r->stage_s = pd_xmalloc((out->n_stages ? out->n_stages : 1) * sizeof(double));
            for (size_t s = 0; s < out->n_stages; s++)
                r->stage_s[s] = -1;
            for (size_t s = 0; s < d->n_stages; s++) {
                const struct drill_stage_state *st = &d->stages[s];
                if (st->id && st->finished_at && st->status != STEP_SKIPPED)
                    r->stage_s[stage_index(out, st->id, st->title)] = st->duration_s;
            }
        }
        drill_free(d);
    }
    for (size_t k = 0; k < n; k++)
        free(ids[k]);
    free(ids);
    return 0;
}

bool
history_run_regressed(const struct history *h, size_t r, size_t s, double *median_out)
{
    double *v, med;
    size_t m = 0;
    bool reg;

    if (r >= h->n_runs || s >= h->n_stages || h->runs[r].stage_s[s] < 0)
        return false;
    v = pd_xmalloc((r ? r : 1) * sizeof(*v));
    for (size_t i = 0; i < r; i++)
        if (h->runs[i].stage_s[s] >= 0)
            v[m++] = h->runs[i].stage_s[s];
    if (m == 0) {
        free(v);
        return false;
    }
    med = history_median(v, m);
    free(v);
    reg = history_is_regression(h->runs[r].stage_s[s], med);
    if (median_out)
        *median_out = med;
    return reg;
}

/* The text of history_render; marks (may be NULL) gets the kinds of its lines. */
static char *
render(const struct history *h, int width, struct line_marks *marks)
{
    struct pd_buf b;
    double max = 0;
    int bar_w = width - 40;

    if (bar_w < 10)
        bar_w = 10;
    pd_buf_init(&b, 0);
    lines_mark(marks, &b, LINE_HEADING);
    pd_buf_appendf(&b, NULL, "Drill history of %s: %zu drill%s\n\n", h->runbook_id, h->n_runs,
                   h->n_runs == 1 ? "" : "s");
    pd_buf_appendf(&b, NULL, "  %-3s %-34s %-10s %-9s %s\n", "#", "DRILL", "OUTCOME", "RTO", "RPO");
    for (size_t r = 0; r < h->n_runs; r++) {
        char rto[32] = "-", rpo[32] = "-";
        if (h->runs[r].rto_s >= 0)
            pd_time_human(rto, sizeof(rto), h->runs[r].rto_s);
        if (h->runs[r].rpo_s >= 0)
            pd_time_human(rpo, sizeof(rpo), h->runs[r].rpo_s);
        pd_buf_appendf(&b, NULL, "  %-3zu %-34s %-10s %-9s %s\n", r + 1, h->runs[r].drill_id,
                       h->runs[r].outcome ? h->runs[r].outcome : "unfinished", rto, rpo);
        for (size_t s = 0; s < h->n_stages; s++)
            if (h->runs[r].stage_s[s] > max)
                max = h->runs[r].stage_s[s];
    }
    for (size_t s = 0; s < h->n_stages; s++) {
        lines_mark(marks, &b, LINE_HEADING);
        pd_buf_appendf(&b, NULL, "\n%s\n", h->stage_titles[s]);
        for (size_t r = 0; r < h->n_runs; r++) {
            double d = h->runs[r].stage_s[s], med = 0;
            bool reg;
            char dur[32];
            if (d < 0) {
                pd_buf_appendf(&b, NULL, "  %-3zu %-*s  -\n", r + 1, bar_w, "");
                continue;
            }
            int n = max > 0 ? (int)(d / max * bar_w + 0.5) : 0;
            if (n < 1)
                n = 1;
            pd_time_human(dur, sizeof(dur), d);
            reg = history_run_regressed(h, r, s, &med);
            if (reg)
                lines_mark(marks, &b, LINE_REGRESSION);
            pd_buf_appendf(&b, NULL, "  %-3zu ", r + 1);
            for (int i = 0; i < bar_w; i++)
                pd_buf_append(&b, i < n ? "#" : " ", 1, NULL);
            pd_buf_appendf(&b, NULL, "  %s", dur);
            if (reg) {
                char m[32];
                pd_time_human(m, sizeof(m), med);
                pd_buf_appendf(&b, NULL, "  REGRESSION (median %s)", m);
            }
            pd_buf_appendf(&b, NULL, "\n");
        }
    }
    return pd_buf_steal(&b);
}

char *
history_render(const struct history *h, int width)
{
    return render(h, width, NULL);
}

void
history_render_lines(struct lines *out, const struct history *h, int width)
{
    struct line_marks m = {0};
    char *text = render(h, width, &m);

    lines_split(out, text, &m, false);
    lines_marks_clear(&m);
    free(text);
}

void
history_regressions_free(struct history_regression *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].stage_id);
        free(v[i].title);
    }
    free(v);
}

int
history_regressions(struct history_regression **out, size_t *n_out, const char *home,
                    const char *runbook_id, const struct drill *drill, struct pd_err *err)
{
    struct history h;
    int rc;

    *out = NULL;
    *n_out = 0;
    rc = history_load(&h, home, runbook_id, err);
    if (rc != 0)
        return rc;
    for (size_t s = 0; s < drill->n_stages; s++) {
        const struct drill_stage_state *st = &drill->stages[s];
        double *v, med;
        size_t m = 0, si;

        if (!st->id || !st->finished_at || st->status == STEP_SKIPPED)
            continue;
        for (si = 0; si < h.n_stages && strcmp(h.stage_ids[si], st->id) != 0; si++)
            ;
        if (si == h.n_stages)
            continue;
        v = pd_xmalloc((h.n_runs ? h.n_runs : 1) * sizeof(*v));
        // earlier drills only: ids start with the start time, so they sort by it
        for (size_t r = 0; r < h.n_runs; r++)
            if (strcmp(h.runs[r].drill_id, drill->id) < 0 && h.runs[r].stage_s[si] >= 0)
                v[m++] = h.runs[r].stage_s[si];
        if (m > 0 && history_is_regression(st->duration_s, med = history_median(v, m))) {
            *out = pd_xrealloc(*out, (*n_out + 1) * sizeof(**out));
            (*out)[*n_out] = (struct history_regression){
                .stage_id = pd_xstrdup(st->id),
                .title = pd_xstrdup(st->title ? st->title : st->id),
                .duration_s = st->duration_s,
                .median_s = med,
                .n_earlier = m,
            };
            (*n_out)++;
        }
        free(v);
    }
    history_clear(&h);
    return 0;
}
