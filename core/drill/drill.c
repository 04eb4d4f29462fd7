/* drill: a drill's folder, lock and journal files, and the public API. */
#include "drill/drill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "drill/drill.intern.h"
#include "drill/journal.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_time.h"
#include "runbook/runbook.h"

#define DRILL_ID_MAX 200

const char *drill_test_journal_path;

struct drill_priv {
    int lock_fd; /* flock'd $dir/lock, -1 when opened without lock */
    struct journal *journal;
};

char *
drill_now_rfc3339(void)
{
    char buf[40];

    pd_time_format(buf, sizeof(buf), pd_time_wall());
    return pd_xstrdup(buf);
}

/* ---- files, lock ------------------------------------------------------------------------- */

/* A crash must not lose a new drill's folder or journal; a failed fsync is only worth a warning. */
static void
fsync_dir_warn(const char *path)
{
    struct pd_err e;

    pd_err_clear(&e);
    if (pd_fsync_dir(path, &e) != 0)
        pd_log(PD_LOG_WARN, "drill: %s", e.msg);
}

/*
 * Take $dir/lock with flock: the kernel drops it when the process dies, so
 * a kill -9 never leaves a stale lock. The pid written into the file only
 * serves the message a second opener gets.
 */
static int
lock_take(int *out, const char *dir, const char *id, struct pd_err *err)
{
    char *path = pd_xasprintf("%s/lock", dir);
    char buf[32];
    int fd, rc = 0;

    *out = -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = PD_ERR_SET(err, PD_EIO, "drill %s: lock %s: %s", id, path, strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
            long pid = 0;

            buf[n > 0 ? n : 0] = '\0';
            pid = strtol(buf, NULL, 10);
            if (pid > 0)
                rc = PD_ERR_SET(err, PD_ELOCKED, "drill %s is in use by another pgdrill (pid %ld)",
                                id, pid);
            else
                rc = PD_ERR_SET(err, PD_ELOCKED, "drill %s is in use by another pgdrill", id);
        } else {
            rc = PD_ERR_SET(err, PD_EIO, "drill %s: lock %s: %s", id, path, strerror(errno));
        }
        close(fd);
        goto out;
    }
    snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
        pd_log(PD_LOG_WARN, "drill %s: cannot write pid to %s: %s", id, path, strerror(errno));
    *out = fd;
out:
    free(path);
    return rc;
}

static char *
journal_file(const struct drill *d)
{
    if (drill_test_journal_path != NULL)
        return pd_xstrdup(drill_test_journal_path);
    return pd_xasprintf("%s/journal.jsonl", d->dir);
}

static struct drill *
drill_alloc(const char *dir, const char *id)
{
    struct drill *d = pd_xcalloc(1, sizeof(*d));

    d->dir = pd_xstrdup(dir);
    d->id = pd_xstrdup(id);
    d->rto_s = -1;
    d->rpo_s = -1;
    d->priv = pd_xcalloc(1, sizeof(*d->priv));
    d->priv->lock_fd = -1;
    return d;
}

/* Serialise, append (fsync'd) and free a record. */
static int
append_json(struct drill *d, cJSON *rec, struct pd_err *err)
{
    char *line = cJSON_PrintUnformatted(rec);
    int rc;

    if (line == NULL)
        return PD_ERR_SET(err, PD_EBUG, "drill %s: cannot serialise a journal record", d->id);
    rc = journal_append(d->priv->journal, line, strlen(line), err);
    cJSON_free(line);
    return rc;
}

/* ---- API -------------------------------------------------------------------------------- */

static bool
id_ok(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > DRILL_ID_MAX || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];

        if (c == '/' || c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

int
drill_begin(struct drill **out, const char *home, const struct runbook *rb,
            const char *operator_name, struct pd_err *err)
{
    char stamp[32], host[256];
    char *drills = NULL, *dir = NULL, *id = NULL, *jpath = NULL, *at = NULL;
    struct drill *d = NULL;
    cJSON *rec = NULL;
    int rc;

    *out = NULL;
    if (rb->id == NULL || !id_ok(rb->id))
        return PD_ERR_SET(err, PD_EINPUT, "drill: runbook %s has no usable id",
                          rb->path != NULL ? rb->path : "(unnamed)");
    drills = pd_xasprintf("%s/drills", home);
    if ((rc = pd_mkdir_p(drills, 0700, err)) != 0) {
        pd_err_prefix(err, "drill: ");
        goto out;
    }
    at = drill_now_rfc3339();
    pd_time_stamp(stamp, sizeof(stamp), pd_time_wall());
    // mkdir is atomic: two drills started in the same second get -2, -3, ...
    for (int n = 1;; n++) {
        free(id);
        free(dir);
        id = n == 1 ? pd_xasprintf("%s-%s", stamp, rb->id)
                    : pd_xasprintf("%s-%s-%d", stamp, rb->id, n);
        dir = pd_xasprintf("%s/%s", drills, id);
        if (mkdir(dir, 0700) == 0)
            break;
        if (errno != EEXIST || n >= 1000) {
            rc = PD_ERR_SET(err, PD_EIO, "drill: mkdir %s: %s", dir, strerror(errno));
            goto out;
        }
    }
    d = drill_alloc(dir, id);
    if ((rc = lock_take(&d->priv->lock_fd, dir, id, err)) != 0)
        goto out;
    jpath = journal_file(d);
    if ((rc = journal_open(&d->priv->journal, jpath, -1, err)) != 0)
        goto out;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    rec = drill_begin_to_json(at, id, rb, operator_name, host);
    if ((rc = append_json(d, rec, err)) != 0)
        goto out;
    fsync_dir_warn(dir);
    fsync_dir_warn(drills);
    rc = drill_apply_begin(d, rec, id, err);
out:
    if (rc != 0 && d != NULL) {
        // Leave no half-made drill behind for drill_find_unfinished to trip over.
        if (drill_test_journal_path == NULL && jpath != NULL)
            unlink(jpath);
        free(jpath);
        jpath = pd_xasprintf("%s/lock", dir);
        unlink(jpath);
        rmdir(dir);
        drill_free(d);
        d = NULL;
    }
    cJSON_Delete(rec);
    free(jpath);
    free(at);
    free(id);
    free(dir);
    free(drills);
    *out = d;
    return rc;
}

/* A record's version, checked, and its "at" (borrowed from rec). */
static int
record_at(const char **at, const cJSON *rec, const char *where, struct pd_err *err)
{
    int rc, v = 0;

    *at = NULL;
    if ((rc = drill_json_int(&v, rec, "v", 0, where, err)) != 0 ||
        (rc = drill_json_str(at, rec, "at", where, err)) != 0)
        return rc;
    if (v != DRILL_JOURNAL_VERSION)
        return PD_ERR_SET(err, PD_EIO, "%s: unsupported record version %d", where, v);
    if (*at == NULL)
        return PD_ERR_SET(err, PD_EIO, "%s: record without 'at'", where);
    return 0;
}

/* Replay path into d (sized by its begin record). */
static int
replay(struct drill *d, const char *path, off_t *good, struct pd_err *err)
{
    struct journal_reader *r = NULL;
    const char *line;
    size_t len, lineno;
    int rc, got;
    bool first = true;

    if ((rc = journal_reader_open(&r, path, err)) != 0)
        return rc;
    while ((got = journal_reader_next(r, &line, &len, &lineno, err)) == 1) {
        char where[PD_ERR_MSG_MAX / 2];
        cJSON *rec = cJSON_ParseWithLength(line, len);
        struct drill_event ev;
        const char *at = NULL;

        snprintf(where, sizeof(where), "journal %s:%zu", path, lineno);
        if ((rc = record_at(&at, rec, where, err)) != 0) {
            cJSON_Delete(rec);
            goto out;
        }
        if (first) {
            const char *ev_name = NULL;

            drill_json_str(&ev_name, rec, "ev", where, NULL);
            if (ev_name == NULL || strcmp(ev_name, "begin") != 0)
                rc = PD_ERR_SET(err, PD_EIO, "%s: first record is not 'begin'", where);
            else
                rc = drill_apply_begin(d, rec, where, err);
            first = false;
        } else {
            rc = drill_event_from_json(&ev, rec, where, err);
            if (rc == 0 && ev.type == DRILL_EV_BEGIN)
                rc = PD_ERR_SET(err, PD_EIO, "%s: a second 'begin' record", where);
            if (rc == 0 && (rc = drill_event_check(d, &ev, PD_EIO, err)) != 0)
                pd_err_prefix(err, "%s: ", where);
            if (rc == 0)
                drill_apply(d, &ev, at);
        }
        cJSON_Delete(rec);
        if (rc != 0)
            goto out;
    }
    if (got < 0) {
        rc = got;
        goto out;
    }
    if (first) {
        rc = PD_ERR_SET(err, PD_EIO, "journal %s: no records", path);
        goto out;
    }
    d->truncated_tail = journal_reader_truncated(r);
    *good = journal_reader_good_size(r);
out:
    journal_reader_free(r);
    return rc;
}

/* True when id abbreviates full: a prefix of it, or of its part after "YYYYMMDD-". */
static bool
id_abbreviates(const char *id, const char *full)
{
    size_t n = strlen(id);
    const char *dash = strchr(full, '-');

    return strncmp(full, id, n) == 0 || (dash != NULL && strncmp(dash + 1, id, n) == 0);
}

/* The error for an abbreviation that names several drills: each candidate, newest first. */
static int
id_ambiguous(const char *id, char **ids, size_t n, struct pd_err *err)
{
    struct pd_buf b;
    size_t shown = 0;
    int rc;

    pd_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        if (!id_abbreviates(id, ids[i]))
            continue;
        // the message holds 512 bytes: name as many as fit, then how many more
        if (b.len + strlen(ids[i]) > 380) {
            pd_buf_appendf(&b, NULL, ", ...");
            break;
        }
        pd_buf_appendf(&b, NULL, "%s%s", shown++ ? ", " : "", ids[i]);
    }
    rc = PD_ERR_SET(err, PD_EINPUT, "drill id '%s' is ambiguous: it names %s", id, b.data);
    pd_buf_free(&b);
    return rc;
}

int
drill_resolve_id(char **out, const char *home, const char *id, struct pd_err *err)
{
    char **ids = NULL, *dir;
    size_t n = 0, hits = 0, hit = 0;
    struct stat st;
    int rc;

    *out = NULL;
    if (!id_ok(id))
        return PD_ERR_SET(err, PD_EINPUT, "drill: bad drill id '%s'", id);
    dir = pd_xasprintf("%s/drills/%s", home, id);
    rc = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    if (rc) {
        *out = pd_xstrdup(id);
        return 0;
    }
    if ((rc = drill_list(&ids, &n, home, err)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (id_abbreviates(id, ids[i]) && hits++ == 0)
            hit = i;
    // the whole part after the date names one drill, though it begins another's
    // ("101903-pitr-restore" against "...-101903-pitr-restore-2")
    for (size_t i = 0; hits > 1 && i < n; i++)
        if (strchr(ids[i], '-') != NULL && strcmp(strchr(ids[i], '-') + 1, id) == 0) {
            hits = 1;
            hit = i;
        }
    if (hits == 1)
        *out = pd_xstrdup(ids[hit]);
    else if (hits == 0)
        rc = PD_ERR_SET(err, PD_ENOENT, "drill %s not found in %s/drills", id, home);
    else
        rc = id_ambiguous(id, ids, n, err);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

int
drill_open(struct drill **out, const char *home, const char *id, bool lock, struct pd_err *err)
{
    struct drill *d = NULL;
    char *dir = NULL, *jpath = NULL, *full = NULL;
    off_t good = -1;
    int rc;

    *out = NULL;
    if ((rc = drill_resolve_id(&full, home, id, err)) != 0)
        return rc;
    dir = pd_xasprintf("%s/drills/%s", home, full);
    d = drill_alloc(dir, full);
    // Lock before reading, so the state we replay is the final one.
    if (lock && (rc = lock_take(&d->priv->lock_fd, dir, full, err)) != 0)
        goto out;
    jpath = journal_file(d);
    if ((rc = replay(d, jpath, &good, err)) != 0)
        goto out;
    if (lock) {
        if (d->truncated_tail)
            pd_log(PD_LOG_WARN, "journal %s: cutting a partial last line after byte %lld", jpath,
                   (long long)good);
        rc = journal_open(&d->priv->journal, jpath, d->truncated_tail ? good : -1, err);
    }
out:
    if (rc != 0) {
        drill_free(d);
        d = NULL;
    }
    free(jpath);
    free(dir);
    free(full);
    *out = d;
    return rc;
}

static char *
redact_opt(const char *s)
{
    return s != NULL ? pd_redact(s) : NULL;
}

int
drill_record(struct drill *d, const struct drill_event *ev, struct pd_err *err)
{
    struct drill_event red;
    char *at = NULL, *strs[7] = {0};
    cJSON *rec = NULL;
    int rc;

    if (d->priv == NULL || d->priv->journal == NULL)
        return PD_ERR_SET(err, PD_EBUG, "drill %s: opened without its lock, cannot record", d->id);
    if ((rc = drill_event_check(d, ev, PD_EBUG, err)) != 0)
        return rc;
    // Defence in depth: callers redact, but a registered secret never reaches the journal.
    red = *ev;
    red.name = strs[0] = redact_opt(ev->name);
    red.sql = strs[1] = redact_opt(ev->sql);
    red.expected = strs[2] = redact_opt(ev->expected);
    red.observed = strs[3] = redact_opt(ev->observed);
    red.text = strs[4] = redact_opt(ev->text);
    red.value = strs[5] = redact_opt(ev->value);
    at = drill_now_rfc3339();
    if (ev->type == DRILL_EV_VAR && !ev->secret && ev->value != NULL &&
        strcmp(ev->value, red.value) != 0) {
        // The value holds a secret (e.g. a password in a URI): keep it in memory only.
        red.secret = true;
    }
    rec = drill_event_to_json(&red, at);
    if ((rc = append_json(d, rec, err)) != 0)
        goto out;
    if (ev->type == DRILL_EV_VAR)
        red.value = ev->value; // the real value stays in memory
    drill_apply(d, &red, at);
out:
    cJSON_Delete(rec);
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    free(at);
    return rc;
}

/* Natural order: digit runs compare as numbers, so -10 sorts after -9. */
static int
natcmp(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *ea, *eb;

            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            for (ea = a; *ea >= '0' && *ea <= '9'; ea++)
                ;
            for (eb = b; *eb >= '0' && *eb <= '9'; eb++)
                ;
            if (ea - a != eb - b)
                return ea - a < eb - b ? -1 : 1;
            for (; a < ea; a++, b++) {
                if (*a != *b)
                    return *a < *b ? -1 : 1;
            }
            b = eb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return (*a != '\0') - (*b != '\0');
}

static int
newest_first(const void *pa, const void *pb)
{
    return natcmp(*(char *const *)pb, *(char *const *)pa);
}

int
drill_list(char ***out, size_t *n_out, const char *home, struct pd_err *err)
{
    char *drills = pd_xasprintf("%s/drills", home);
    char **ids = NULL;
    size_t n = 0;
    struct dirent *de;
    DIR *dh;

    *out = NULL;
    *n_out = 0;
    dh = opendir(drills);
    if (dh == NULL) {
        int e = errno;

        free(drills);
        if (e == ENOENT)
            return 0;
        return PD_ERR_SET(err, PD_EIO, "drill: list %s/drills: %s", home, strerror(e));
    }
    while ((de = readdir(dh)) != NULL) {
        char *p;
        struct stat st;
        bool ok;

        if (!id_ok(de->d_name))
            continue;
        p = pd_xasprintf("%s/%s", drills, de->d_name);
        ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
        free(p);
        if (!ok)
            continue;
        ids = pd_xrealloc(ids, (n + 1) * sizeof(*ids));
        ids[n++] = pd_xstrdup(de->d_name);
    }
    closedir(dh);
    free(drills);
    if (n > 0)
        qsort(ids, n, sizeof(*ids), newest_first);
    *out = ids;
    *n_out = n;
    return 0;
}

int
drill_find_unfinished(char **out, const char *home, struct pd_err *err)
{
    char **ids = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if ((rc = drill_list(&ids, &n, home, err)) != 0)
        return rc;
    for (size_t i = 0; i < n && *out == NULL; i++) {
        struct pd_err e = {0};
        struct drill *d = NULL;

        if (drill_open(&d, home, ids[i], false, &e) != 0) {
            pd_log(PD_LOG_WARN, "%s", e.msg);
            continue;
        }
        if (d->outcome == NULL)
            *out = pd_xstrdup(ids[i]);
        drill_free(d);
    }
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (*out == NULL)
        return PD_ERR_SET(err, PD_ENOENT, "no unfinished drill in %s/drills", home);
    return 0;
}

const char *
drill_step_not_taken(const struct drill_step_state *sp)
{
    const char *r = sp->skip_reason;

    if (sp->status != STEP_SKIPPED || r == NULL)
        return NULL;
    if (strncmp(r, DRILL_SKIP_CONDITION_PREFIX, strlen(DRILL_SKIP_CONDITION_PREFIX)) == 0)
        return "condition";
    if (strncmp(r, DRILL_SKIP_CLEANUP_PREFIX, strlen(DRILL_SKIP_CLEANUP_PREFIX)) == 0)
        return "clean-up";
    if (strncmp(r, "step ", 5) == 0 && strstr(r, DRILL_SKIP_SUBDRILL_INFIX) != NULL)
        return "sub-drill";
    return NULL;
}

const char *
drill_var(const struct drill *d, const char *name)
{
    for (size_t i = 0; i < d->n_vars; i++) {
        if (strcmp(d->vars[i].name, name) == 0)
            return d->vars[i].value;
    }
    return NULL;
}

int
drill_journal_sha256(const struct drill *d, char out[65], struct pd_err *err)
{
    char *path = journal_file(d);
    int rc = pd_sha256_file(out, path, err);

    free(path);
    return rc;
}

int
drill_journal_last_at(double *out, const char *dir, struct pd_err *err)
{
    char *path = pd_xasprintf("%s/journal.jsonl", dir), *last = NULL;
    char where[PD_ERR_MSG_MAX / 2];
    struct journal_reader *r = NULL;
    const char *line, *at;
    size_t len, lineno, last_no = 0, cap = 0;
    cJSON *rec = NULL;
    int rc, got;

    *out = 0;
    if ((rc = journal_reader_open(&r, path, err)) != 0)
        goto out;
    // the reader checks every line and skips a torn tail: keep the last good one
    while ((got = journal_reader_next(r, &line, &len, &lineno, err)) == 1) {
        if (last == NULL || len + 1 > cap) {
            cap = len + 1;
            last = pd_xrealloc(last, cap);
        }
        memcpy(last, line, len + 1);
        last_no = lineno;
    }
    if (got < 0) {
        rc = got;
        goto out;
    }
    if (last_no == 0) {
        rc = PD_ERR_SET(err, PD_EIO, "journal %s: no records", path);
        goto out;
    }
    snprintf(where, sizeof(where), "journal %s:%zu", path, last_no);
    rec = cJSON_Parse(last);
    if ((rc = record_at(&at, rec, where, err)) == 0 && pd_time_parse_rfc3339(out, at, 0) != 0)
        rc = PD_ERR_SET(err, PD_EIO, "%s: 'at' is not an RFC 3339 time", where);
out:
    if (rc != 0)
        *out = 0;
    cJSON_Delete(rec);
    journal_reader_free(r);
    free(last);
    free(path);
    return rc;
}

void
drill_free(struct drill *d)
{
    if (d == NULL)
        return;
    if (d->priv != NULL) {
        journal_free(d->priv->journal);
        if (d->priv->lock_fd >= 0)
            close(d->priv->lock_fd); // releases the flock
        free(d->priv);
    }
    for (size_t i = 0; i < d->n_stages; i++) {
        struct drill_stage_state *st = &d->stages[i];

        for (size_t k = 0; k < st->n_steps; k++) {
            struct drill_step_state *sp = &st->steps[k];

            free(sp->started_at);
            free(sp->finished_at);
            free(sp->summary);
            free(sp->skip_reason);
            free(sp->failed_summary);
            free(sp->hint_id);
            free(sp->caught_by);
            free(sp->hint);
            free(sp->id);
            free(sp->action);
            free(sp->report_title);
            free(sp->report_json);
            free(sp->output);
        }
        free(st->steps);
        free(st->started_at);
        free(st->finished_at);
        free(st->id);
        free(st->title);
    }
    free(d->stages);
    for (size_t i = 0; i < d->n_checks; i++) {
        free(d->checks[i].name);
        free(d->checks[i].sql);
        free(d->checks[i].expected);
        free(d->checks[i].observed);
        free(d->checks[i].at);
    }
    free(d->checks);
    for (size_t i = 0; i < d->n_notes; i++) {
        free(d->notes[i].at);
        free(d->notes[i].text);
    }
    free(d->notes);
    for (size_t i = 0; i < d->n_issues; i++) {
        free(d->issues[i].at);
        free(d->issues[i].text);
    }
    free(d->issues);
    for (size_t i = 0; i < d->n_inputs; i++)
        free(d->inputs[i]);
    free(d->inputs);
    for (size_t i = 0; i < d->n_vars; i++) {
        free(d->vars[i].name);
        free(d->vars[i].value);
    }
    free(d->vars);
    free(d->id);
    free(d->dir);
    free(d->runbook_path);
    free(d->runbook_id);
    free(d->runbook_title);
    free(d->operator_name);
    free(d->host);
    free(d->started_at);
    free(d->finished_at);
    free(d->outcome);
    free(d);
}

/* The latest finished_at of any stage, borrowed; NULL when none finished. */
static const char *
last_stage_end(const struct drill *d)
{
    const char *last = NULL;

    // Same format everywhere (UTC, ms), so string order is time order.
    for (size_t i = 0; i < d->n_stages; i++) {
        const char *f = d->stages[i].finished_at;

        if (f != NULL && (last == NULL || strcmp(f, last) > 0))
            last = f;
    }
    return last;
}

double
drill_rto_achieved(const struct drill *d)
{
    if (d->rto_s >= 0)
        return d->rto_s;
    return pd_time_span(d->started_at, last_stage_end(d));
}
