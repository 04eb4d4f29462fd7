/* session: one drill's lifecycle (load, begin or resume, engine, report), for every front end. */
#include "session/session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "drill/drill.h"
#include "engine/engine.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "report/report.h"
#include "runbook/runbook.h"
#include "timeline/history.h"

static void
session_init(struct drill_session *s, const char *home)
{
    memset(s, 0, sizeof(*s));
    s->home = home;
}

int
drill_session_begin(struct drill_session *s, const char *home, const char *path,
                    const char *operator_name, struct pd_err *err)
{
    int rc;

    session_init(s, home);
    rc = runbook_load(&s->rb, path, NULL, err);
    if (rc == 0)
        rc = drill_begin(&s->drill, home, s->rb, operator_name, err);
    return rc;
}

int
drill_session_resume(struct drill_session *s, const char *home, const char *id, struct pd_err *err)
{
    struct drill *d;
    int rc;

    session_init(s, home);
    rc = drill_open(&s->drill, home, id, true, err);
    if (rc != 0)
        return rc;
    d = s->drill;
    if (d->outcome != NULL)
        return PD_ERR_SET(err, PD_EINPUT, "drill %s already ended (%s); nothing to resume", id,
                          d->outcome);
    rc = runbook_load(&s->rb, d->runbook_path, NULL, err);
    if (rc == 0 && strcmp(s->rb->stages_sha256, d->stages_sha256) != 0)
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "drill %s: the stages of %s changed since the drill began (stages hash "
                        "%.12s then, %.12s now); finish it with the original runbook or start a "
                        "new drill",
                        id, d->runbook_path, d->stages_sha256, s->rb->stages_sha256);
    return rc;
}

int
drill_session_start(struct drill_session *s, const struct engine_opts *opts,
                    const struct engine_events *ev, void *payload, struct pd_err *err)
{
    PD_ASSERT(s->engine == NULL);
    return engine_new(&s->engine, s->rb, s->drill, opts, ev, payload, err);
}

int
drill_session_run(struct drill_session *s, struct pd_err *err)
{
    return engine_run(s->engine, err);
}

int
drill_session_write_report(const char *home, const struct drill *d, const struct runbook *rb,
                           const char *dir, struct pd_err *err)
{
    struct history_regression *regs = NULL;
    struct report_history h = {0};
    size_t n = 0;
    int rc;

    // a drill without a runbook id has no history to compare with
    if (d->runbook_id == NULL)
        return report_write(d, rb, dir, err);
    rc = history_regressions(&regs, &n, home, d->runbook_id, d, err);
    if (rc != 0) {
        // the report still gets written, without the history's part
        struct pd_err werr;
        int wrc;

        pd_err_clear(&werr);
        wrc = report_write(d, rb, dir, &werr);
        if (wrc != 0) {
            *err = werr;
            return wrc;
        }
        return rc;
    }
    h.regressions = regs;
    h.n_regressions = n;
    rc = report_write_history(d, rb, dir, &h, err);
    history_regressions_free(regs, n);
    return rc;
}

/* Largest report.json read back to find the journal hash it names. */
#define SESSION_REPORT_MAX ((size_t)64 * 1024 * 1024)

/* The journal hash report.json in dir names, or "" when there is none. */
static void
report_journal_sha(char out[65], const char *dir)
{
    char *path = pd_xasprintf("%s/report.json", dir), *text = NULL;
    struct pd_err e;
    cJSON *root;
    const cJSON *v;

    out[0] = '\0';
    pd_err_clear(&e);
    if (pd_read_file(&text, NULL, path, SESSION_REPORT_MAX, &e) == 0 &&
        (root = cJSON_Parse(text)) != NULL) {
        v = cJSON_GetObjectItemCaseSensitive(root, "journal_sha256");
        if (cJSON_IsString(v) && strlen(v->valuestring) == 64)
            memcpy(out, v->valuestring, 65);
        cJSON_Delete(root);
    }
    free(text);
    free(path);
}

int
drill_session_ensure_report(const char *home, const struct drill *d, char journal_sha[65],
                            int *written, struct pd_err *err)
{
    char had[65], sha[65];
    char *md = pd_xasprintf("%s/report.md", d->dir);
    struct runbook *rb = NULL;
    struct pd_err e;
    int rc;

    if (written != NULL)
        *written = 0;
    if ((rc = drill_journal_sha256(d, sha, err)) != 0)
        goto out;
    if (journal_sha != NULL)
        memcpy(journal_sha, sha, sizeof(sha));
    report_journal_sha(had, d->dir);
    if (strcmp(had, sha) == 0 && access(md, R_OK) == 0)
        goto out;
    pd_err_clear(&e);
    // the runbook only adds its use case; it may have moved since the drill
    if (d->runbook_path == NULL || runbook_load(&rb, d->runbook_path, NULL, &e) != 0)
        rb = NULL;
    rc = drill_session_write_report(home, d, rb, NULL, err);
    runbook_free(rb);
    if (rc == 0 && written != NULL)
        *written = 1;
out:
    free(md);
    return rc;
}

int
drill_session_report(const struct drill_session *s, const char *dir, struct pd_err *err)
{
    return drill_session_write_report(s->home, s->drill, s->rb, dir, err);
}

void
drill_session_end(struct drill_session *s)
{
    engine_free(s->engine);
    drill_free(s->drill);
    runbook_free(s->rb);
    s->engine = NULL;
    s->drill = NULL;
    s->rb = NULL;
}
