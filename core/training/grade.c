/*
 * training grade: production now against the ground truth (see training.h).
 *
 * For each table of the truth, every key of the rows before the incident,
 * of the application's changes since and of production now is judged:
 *   expected  the application's last change after the incident, else the
 *             row before the incident (none: the row must not exist);
 *   a key whose row differs is collateral when the application changed it
 *   after the incident; still missing or still wrong when the incident broke
 *   it (wrong also when it keeps the incident's value); lost to the restore
 *   point (RPO) when the application changed it before the incident; and
 *   otherwise a row nobody touched that the restore changed.
 * A row the incident changed and the application changed again after it is
 * also a conflict: its fingerprints cannot tell whether the incident's change
 * is still in it (undo leaves such rows alone), so the grade names them for
 * the trainee to check by hand, without failing for them.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_str.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "training.h"
#include "training.intern.h"

#define MAX_TABLES 8
#define MAX_NAMED  8 /* keys named per problem */

/* A change the application logged: when, which row, its fingerprint after. */
struct change {
    long long id;
    double t;
    char fp[33];
};

struct gtable {
    char name[64];
    struct fpset before; /* b lines */
    char (*after)[33];   /* per before row: "" same, "-" deleted, else the new md5 */
    bool gone;           /* the incident dropped it */
    char cols[1024];     /* " name:type" of each column before */
    struct change *ch;   /* the application's changes to it, sorted by id then time */
    size_t n_ch, cap_ch;
};

struct truth {
    char kind[32];
    char backup[512]; /* the backup the incident took before it (s3://B/K), or "" */
    double started, ended;
    struct gtable t[MAX_TABLES];
    size_t n;
};

static struct gtable *
truth_table(struct truth *tr, const char *name, bool add)
{
    for (size_t i = 0; i < tr->n; i++)
        if (strcmp(tr->t[i].name, name) == 0)
            return &tr->t[i];
    if (!add || tr->n == MAX_TABLES)
        return NULL;
    (void)snprintf(tr->t[tr->n].name, sizeof(tr->t[0].name), "%s", name);
    return &tr->t[tr->n++];
}

/* One line of the truth file. */
static void
truth_line(struct truth *tr, char *line)
{
    char w[4][128] = {{0}};
    int n = sscanf(line, "%127s %127s %127s %127s", w[0], w[1], w[2], w[3]);
    struct gtable *g = n >= 2 ? truth_table(tr, w[1],
                                            strcmp(w[0], "b") == 0 || strcmp(w[0], "col") == 0 ||
                                                strcmp(w[0], "gone") == 0)
                              : NULL;

    if (n == 2 && strcmp(w[0], "kind") == 0)
        (void)snprintf(tr->kind, sizeof(tr->kind), "%.*s", (int)sizeof(tr->kind) - 1, w[1]);
    else if (strncmp(line, "backup ", 7) == 0)
        (void)snprintf(tr->backup, sizeof(tr->backup), "%.*s", (int)strcspn(line + 7, "\n"),
                       line + 7);
    else if (n == 2 && strcmp(w[0], "started") == 0)
        tr->started = strtod(w[1], NULL);
    else if (n == 2 && strcmp(w[0], "ended") == 0)
        tr->ended = strtod(w[1], NULL);
    else if (g != NULL && n == 4 && strcmp(w[0], "col") == 0)
        pd_words_append(g->cols, sizeof(g->cols), line + 4 + strlen(w[1]) + 1);
    else if (g != NULL && n == 4 && strcmp(w[0], "b") == 0)
        fpset_add(&g->before, strtoll(w[2], NULL, 10), w[3]);
    else if (g != NULL && n == 2 && strcmp(w[0], "gone") == 0)
        g->gone = true;
    else if (g != NULL && (strcmp(w[0], "a") == 0 || strcmp(w[0], "d") == 0)) {
        long i = fpset_find(&g->before, strtoll(w[2], NULL, 10));

        if (g->after == NULL)
            g->after = pd_xcalloc(g->before.n + 1, sizeof(*g->after));
        if (i >= 0)
            (void)snprintf(g->after[i], sizeof(g->after[0]), "%.32s", w[0][0] == 'd' ? "-" : w[3]);
    }
}

static int
truth_load(struct truth *tr, const char *dir, struct pd_err *err)
{
    char *path = training_path(dir, "truth"), *text = NULL, *save = NULL;
    size_t len = 0;
    int rc;

    rc = pd_read_file(&text, &len, path, (size_t)1 << 30, err);
    if (rc != 0) {
        pd_err_clear(err);
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "no incident to grade (raise one with: pgdrill sandbox incident)");
        goto out;
    }
    for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save))
        truth_line(tr, l);
    for (size_t i = 0; i < tr->n; i++)
        if (tr->t[i].after == NULL)
            tr->t[i].after = pd_xcalloc(tr->t[i].before.n + 1, sizeof(*tr->t[i].after));
out:
    free(text);
    free(path);
    return rc;
}

static int
change_cmp(const void *a, const void *b)
{
    const struct change *x = a, *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* The application's private log into each table's changes. */
static void
traffic_load(struct truth *tr, const char *dir)
{
    char *path = training_path(dir, "traffic.log"), *text = NULL, *save = NULL;
    size_t len = 0;
    struct pd_err err;

    if (pd_read_file(&text, &len, path, (size_t)1 << 30, &err) == 0) {
        for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
            char ts[32], op[32], table[64], ids[24], fp[33];
            double t;
            long long id;
            struct gtable *g;

            if (sscanf(l, "%31s %31s %63s %23s %32s", ts, op, table, ids, fp) != 5 ||
                (g = truth_table(tr, table, false)) == NULL)
                continue;
            t = strtod(ts, NULL);
            id = strtoll(ids, NULL, 10);
            if (g->n_ch == g->cap_ch) {
                g->cap_ch = g->cap_ch ? g->cap_ch * 2 : 256;
                g->ch = pd_xrealloc(g->ch, g->cap_ch * sizeof(*g->ch));
            }
            g->ch[g->n_ch].id = id;
            g->ch[g->n_ch].t = t;
            (void)snprintf(g->ch[g->n_ch].fp, sizeof(g->ch[0].fp), "%s", fp);
            g->n_ch++;
        }
    }
    for (size_t i = 0; i < tr->n; i++)
        if (tr->t[i].n_ch > 0)
            qsort(tr->t[i].ch, tr->t[i].n_ch, sizeof(*tr->t[i].ch), change_cmp);
    free(text);
    free(path);
}

/* What the application did to id: its last fingerprint after the incident
 * (NULL: nothing after), the time of its first change after (*first_after)
 * and of its first change before (*first_before, 0: none). */
static const char *
app_changes(const struct gtable *g, long long id, double started, double *first_before,
            double *first_after)
{
    size_t lo = 0, hi = g->n_ch;
    const char *last = NULL;

    *first_before = 0;
    *first_after = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (g->ch[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < g->n_ch && g->ch[i].id == id; i++) {
        if (g->ch[i].t >= started) {
            if (last == NULL)
                *first_after = g->ch[i].t;
            last = g->ch[i].fp;
        } else if (*first_before == 0)
            *first_before = g->ch[i].t;
    }
    return last;
}

/* Per-category counts and named keys of one table. */
struct verdict {
    size_t n[5];       /* missing, wrong, collateral, untouched; conflicts (not failing) */
    char keys[5][256]; /* the first keys of each */
    size_t rpo;        /* rows lost to the restore point */
    double rpo_first;  /* the oldest such change */
};

static void
verdict_add(struct verdict *v, int cat, long long id)
{
    char k[24];

    if (v->n[cat]++ < MAX_NAMED) {
        (void)snprintf(k, sizeof(k), "%lld", id);
        pd_words_append(v->keys[cat], sizeof(v->keys[cat]), k);
    }
}

/* The times that bound a judgement: the incident's start, the restore's. */
struct window {
    double started;  /* the incident began */
    double restored; /* the latest drill begun after it; else the end of the restore in the
                        drill the grade runs in (a sub-drill's); none: never */
};

/* Judge one key (see the top of this file). */
static void
judge(struct verdict *v, const struct gtable *g, const struct fpset *now, long long id,
      const struct window *w)
{
    long bi = fpset_find(&g->before, id), fi = fpset_find(now, id);
    double pre = 0, first_post = 0;
    const char *post = app_changes(g, id, w->started, &pre, &first_post);
    const char *want = post != NULL ? post : bi >= 0 ? g->before.fp[bi] : NULL;
    const char *have = fi >= 0 ? now->fp[fi] : NULL;
    const char *after = bi >= 0 ? g->after[bi] : "";
    bool broke = after[0] != '\0';

    // changed by the application while the incident's change was in place
    if (broke && post != NULL && strcmp(after, "-") != 0 && first_post < w->restored)
        verdict_add(v, 4, id);
    if ((want == NULL && have == NULL) || (want && have && strcmp(want, have) == 0))
        return;
    if (post != NULL) {
        verdict_add(v, 2, id);
    } else if (broke && have == NULL && want != NULL) {
        verdict_add(v, 0, id);
    } else if (broke && (pre == 0 || (have != NULL && strcmp(after, have) == 0))) {
        verdict_add(v, 1, id);
    } else if (pre > 0) {
        if (v->rpo++ == 0 || pre < v->rpo_first)
            v->rpo_first = pre;
    } else {
        verdict_add(v, 3, id);
    }
}

static int
id_cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;

    return x < y ? -1 : x > y;
}

/* Every key of before, the application's changes and now, each once. */
static void
grade_table(struct verdict *v, const struct gtable *g, const struct fpset *now,
            const struct window *w)
{
    size_t n = g->before.n + g->n_ch + now->n, m = 0;
    long long *ids = pd_xmalloc((n + 1) * sizeof(*ids));

    memcpy(ids, g->before.ids, g->before.n * sizeof(*ids));
    for (size_t i = 0; i < g->n_ch; i++)
        ids[g->before.n + i] = g->ch[i].id;
    memcpy(ids + g->before.n + g->n_ch, now->ids, now->n * sizeof(*ids));
    qsort(ids, n, sizeof(*ids), id_cmp);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && ids[m - 1] == ids[i])
            continue;
        ids[m++] = ids[i];
        judge(v, g, now, ids[i], w);
    }
    free(ids);
}

/* The columns of table now, as truth_line recorded them before. */
static int
columns_now(char *out, size_t size, struct pg_conn *c, const char *table, struct pd_err *err)
{
    static const char sql[] = "SELECT column_name || ' ' || data_type FROM "
                              "information_schema.columns WHERE table_schema = 'public' "
                              "AND table_name = $1 ORDER BY ordinal_position";
    const char *params[] = {table};
    struct pg_result *r = NULL;
    int rc = pg_query(c, &r, sql, params, 1, NULL, err);

    out[0] = '\0';
    for (size_t i = 0; rc == 0 && i < pg_result_rows(r); i++)
        pd_words_append(out, size, pg_result_value(r, i, 0));
    pg_result_free(r);
    return rc;
}

/* The latest FIELD ("started_at", "finished_at") after t of the drills' report.json, or 0. */
static double
drill_time(const char *drills, double t, const char *field)
{
    DIR *d = opendir(drills);
    struct dirent *e;
    double best = 0;

    while (d != NULL && (e = readdir(d)) != NULL) {
        char *path = pd_xasprintf("%s/%s/report.json", drills, e->d_name), *text = NULL;
        size_t len = 0;
        struct pd_err err;
        cJSON *j = NULL;
        const cJSON *f;
        double end = 0;

        if (e->d_name[0] != '.' && pd_read_file(&text, &len, path, 16 << 20, &err) == 0 &&
            (j = cJSON_Parse(text)) != NULL &&
            cJSON_IsString(f = cJSON_GetObjectItemCaseSensitive(j, field)) &&
            pd_time_parse_rfc3339(&end, f->valuestring, 0) == 0 && end > t && end > best)
            best = end;
        cJSON_Delete(j);
        free(text);
        free(path);
    }
    if (d != NULL)
        (void)closedir(d);
    return best;
}

static void
problem(struct pd_buf *b, const char *what, const char *table, size_t n, const char *keys)
{
    struct pd_err err;

    if (b->len > 0)
        (void)pd_buf_append(b, "\n", 1, &err);
    (void)pd_buf_appendf(b, &err, "%s: %zu %s (keys %s%s)", table, n, what, keys,
                         n > MAX_NAMED ? " ..." : "");
}

/* One table of the truth against production: counts into out, lines into probs. */
static int
grade_one(struct training_grade *out, struct pd_buf *probs, struct pd_buf *miss,
          struct pd_buf *confl, const struct gtable *g, struct pg_conn *c, const struct window *w,
          struct pd_err *err)
{
    static const char *const what[] = {
        "rows still missing",
        "rows still wrong",
        "rows the application wrote after the incident were lost or overwritten (collateral)",
        "rows nobody touched were changed, lost or added by the restore",
        ("rows the incident changed were changed again by the application (conflicts: check "
         "by hand that the incident's change is not still in them)"),
    };
    struct fpset now = {0};
    struct verdict v = {0};
    char cols[1024];
    struct pd_err e2;

    pd_err_clear(&e2);
    if (columns_now(cols, sizeof(cols), c, g->name, err) != 0)
        return -1;
    if (cols[0] == '\0') {
        (void)pd_buf_appendf(miss, &e2, "%s%s", miss->len ? " " : "", g->name);
        return 0;
    }
    if (strcmp(cols, g->cols) != 0)
        (void)pd_buf_appendf(miss, &e2, "%s%s(columns)", miss->len ? " " : "", g->name);
    if (training_snapshot(&now, c, g->name, err) != 0)
        return -1;
    grade_table(&v, g, &now, w);
    fpset_free(&now);
    for (int k = 0; k < 5; k++)
        if (v.n[k] > 0)
            problem(k < 4 ? probs : confl, what[k], g->name, v.n[k], v.keys[k]);
    out->conflicts += v.n[4];
    out->missing += v.n[0];
    out->wrong += v.n[1];
    out->collateral += v.n[2];
    out->untouched_changed += v.n[3];
    out->rpo_rows += v.rpo;
    if (v.rpo > 0 && (out->rpo_s == 0 || w->started - v.rpo_first > out->rpo_s))
        out->rpo_s = w->started - v.rpo_first;
    return 0;
}

static void
truth_free(struct truth *tr)
{
    for (size_t i = 0; i < tr->n; i++) {
        fpset_free(&tr->t[i].before);
        free(tr->t[i].after);
        free(tr->t[i].ch);
    }
}

int
training_grade_run(struct training_grade *out, const char *dir, const char *drills,
                   const char *running, struct pd_err *err)
{
    struct truth tr = {0};
    struct pg_conn *c = NULL;
    struct pd_buf probs, miss, confl;
    struct window w;
    struct pd_err e2;
    double run_end = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    pd_buf_init(&probs, 0);
    pd_buf_init(&miss, 0);
    pd_buf_init(&confl, 0);
    rc = truth_load(&tr, dir, err);
    if (rc == 0)
        rc = training_connect(&c, dir, err);
    // the application waits while the grade looks: its log and the rows agree
    if (rc == 0) {
        training_hold(dir);
        traffic_load(&tr, dir);
    }
    // the grade as a step of the drill that restored (training.md's sub-drill): that drill
    // has no report yet, and the restore ended at its journal's last record
    if (running != NULL && running[0] != '\0' && drill_journal_last_at(&run_end, running, &e2) != 0)
        run_end = 0;
    w.started = tr.started;
    w.restored = drill_time(drills, tr.started, "started_at");
    if (w.restored == 0 && run_end > tr.started)
        w.restored = run_end;
    if (w.restored == 0)
        w.restored = 1e300; // no restore yet
    for (size_t i = 0; rc == 0 && i < tr.n; i++)
        rc = grade_one(out, &probs, &miss, &confl, &tr.t[i], c, &w, err);
    training_release(dir);
    if (rc == 0) {
        out->kind = pd_xstrdup(tr.kind);
        out->backup = pd_xstrdup(tr.backup);
        out->incident_at = tr.ended;
        out->restored_at = drill_time(drills, tr.ended, "finished_at");
        if (out->restored_at == 0 && run_end > tr.ended)
            out->restored_at = run_end;
        out->conflicts_until = w.restored < 1e300 ? w.restored : 0;
        out->problems = pd_xstrdup(pd_buf_str(&probs));
        out->tables_missing = pd_xstrdup(pd_buf_str(&miss));
        out->conflicts_named = pd_xstrdup(pd_buf_str(&confl));
    } else {
        pd_err_prefix(err, "grade: ");
    }
    pg_conn_free(c);
    pd_buf_free(&probs);
    pd_buf_free(&miss);
    pd_buf_free(&confl);
    truth_free(&tr);
    return rc;
}

bool
training_grade_passed(const struct training_grade *g)
{
    return g->missing == 0 && g->wrong == 0 && g->collateral == 0 && g->untouched_changed == 0 &&
           g->tables_missing[0] == '\0';
}

char *
training_grade_text(const struct training_grade *g)
{
    char at[32], rto[64], rpo[32];
    struct pd_buf b;
    struct pd_err err;
    bool pass = training_grade_passed(g);

    pd_time_format(at, sizeof(at), g->incident_at);
    at[16] = '\0'; // to the minute: the grade does not give the incident's second away
    if (g->restored_at > 0)
        pd_time_human(rto, sizeof(rto), g->restored_at - g->incident_at);
    else
        (void)snprintf(rto, sizeof(rto), "no restore drill since the incident");
    pd_time_human(rpo, sizeof(rpo), g->rpo_s);
    pd_buf_init(&b, 0);
    (void)pd_buf_appendf(
        &b, &err,
        "grade of the %s incident of %s UTC\n"
        "  rows still missing          %zu\n"
        "  rows still wrong            %zu\n"
        "  collateral                  %zu (the application's rows after the incident, lost "
        "or overwritten)\n"
        "  other rows changed          %zu\n"
        "  conflicts to check by hand  %zu\n"
        "  tables or columns not back  %s\n"
        "  RTO                         %s\n"
        "  RPO                         %zu changes of the application before the incident "
        "lost (%s)\n",
        g->kind, at, g->missing, g->wrong, g->collateral, g->untouched_changed, g->conflicts,
        g->tables_missing[0] ? g->tables_missing : "none", rto, g->rpo_rows, rpo);
    if (g->backup != NULL && g->backup[0] != '\0')
        (void)pd_buf_appendf(&b, &err, "  backup taken before it      %s\n", g->backup);
    if (g->problems[0] != '\0')
        (void)pd_buf_appendf(&b, &err, "%s\n", g->problems);
    if (g->conflicts_named != NULL && g->conflicts_named[0] != '\0')
        (void)pd_buf_appendf(&b, &err, "%s\n", g->conflicts_named);
    (void)pd_buf_appendf(&b, &err, "%s\n",
                         pass ? "PASS: fully restored, no collateral damage"
                              : "FAIL: the restore is not complete (see above)");
    return pd_buf_steal(&b);
}

/* Seconds to the millisecond: the figures are measured no finer. */
static double
ms(double s)
{
    return (double)(long long)(s * 1000.0 + 0.5) / 1000.0;
}

char *
training_grade_json(const struct training_grade *g)
{
    cJSON *o = cJSON_CreateObject();
    char *s;

    cJSON_AddStringToObject(o, "kind", g->kind);
    cJSON_AddBoolToObject(o, "passed", training_grade_passed(g));
    cJSON_AddNumberToObject(o, "missing", (double)g->missing);
    cJSON_AddNumberToObject(o, "wrong", (double)g->wrong);
    cJSON_AddNumberToObject(o, "collateral", (double)g->collateral);
    cJSON_AddNumberToObject(o, "other_changed", (double)g->untouched_changed);
    cJSON_AddStringToObject(o, "not_back", g->tables_missing);
    if (g->restored_at > 0)
        cJSON_AddNumberToObject(o, "rto_s", ms(g->restored_at - g->incident_at));
    else
        cJSON_AddNullToObject(o, "rto_s");
    cJSON_AddNumberToObject(o, "rpo_s", ms(g->rpo_s));
    cJSON_AddNumberToObject(o, "rpo_rows", (double)g->rpo_rows);
    cJSON_AddStringToObject(o, "problems", g->problems);
    if (g->backup != NULL && g->backup[0] != '\0')
        cJSON_AddStringToObject(o, "backup", g->backup);
    cJSON_AddNumberToObject(o, "conflicts", (double)g->conflicts);
    cJSON_AddStringToObject(o, "conflicts_named", g->conflicts_named ? g->conflicts_named : "");
    if (g->conflicts_until > 0)
        cJSON_AddNumberToObject(o, "conflicts_until_s", ms(g->conflicts_until - g->incident_at));
    else
        cJSON_AddNullToObject(o, "conflicts_until_s");
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void
training_grade_clear(struct training_grade *g)
{
    free(g->kind);
    free(g->backup);
    free(g->problems);
    free(g->tables_missing);
    free(g->conflicts_named);
    memset(g, 0, sizeof(*g));
}
