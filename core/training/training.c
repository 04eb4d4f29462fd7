/* training: finding production, fingerprint sets (see training.h). */
#include "training.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "neon/client.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "pd_time.h"
#include "pg/pg.h"
#include "training.intern.h"

char *
training_path(const char *dir, const char *name)
{
    return pd_xasprintf("%s/%s", dir, name);
}

/* Role and database of a postgresql://ROLE[:PW]@HOST/DB URL; 0 or -1. */
static int
url_role_db(const char *url, char **role, char **db)
{
    const char *p = strstr(url, "://"), *at, *slash, *end;
    size_t n;

    if (p == NULL)
        return -1;
    p += 3;
    at = strchr(p, '@');
    if (at == NULL)
        return -1;
    n = strcspn(p, ":@");
    slash = strchr(at, '/');
    if (slash == NULL)
        return -1;
    end = slash + 1 + strcspn(slash + 1, "?");
    *role = pd_xstrndup(p, n);
    *db = pd_xstrndup(slash + 1, (size_t)(end - slash - 1));
    return 0;
}

/* The default branch's URI from the sandbox Neon server, or NULL (no API, an outage). */
static char *
training_neon_url(const char *fallback)
{
    struct neon_config cfg = {0};
    struct neon_client *c = NULL;
    struct pd_err err;
    char *role = NULL, *db = NULL, *uri = NULL;

    pd_err_clear(&err);
    cfg.host = getenv("NEON_API_HOST");
    cfg.api_key = getenv("NEON_API_KEY");
    cfg.project_id = getenv("NEON_PROJECT_ID");
    cfg.max_attempts = 1; // an outage must not stall the application for a minute
    cfg.timeout_ms = 3000;
    if (cfg.host == NULL || cfg.api_key == NULL || cfg.project_id == NULL ||
        url_role_db(fallback, &role, &db) != 0)
        goto out;
    if (neon_client_new(&c, &cfg, &err) != 0)
        goto out;
    if (neon_connection_uri(c, &uri, NULL, db, role, &err) != 0)
        uri = NULL;
out:
    neon_client_free(c);
    free(role);
    free(db);
    return uri;
}

int
training_url(char **out, const char *dir, struct pd_err *err)
{
    char *path = training_path(dir, "url"), *file = NULL, *neon = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    rc = pd_read_file(&file, &len, path, (size_t)64 * 1024, err);
    if (rc != 0) {
        pd_err_prefix(err, "training: production's URL: ");
        goto out;
    }
    pd_trim(file);
    pd_redact_register_uri(file);
    neon = training_neon_url(file);
    if (neon != NULL) {
        *out = neon;
        neon = NULL;
    } else {
        *out = file;
        file = NULL;
    }
out:
    free(path);
    free(file);
    free(neon);
    return rc;
}

int
training_connect(struct pg_conn **out, const char *dir, struct pd_err *err)
{
    char *url = NULL;
    int rc;

    *out = NULL;
    rc = training_url(&url, dir, err);
    if (rc == 0)
        rc = pg_connect(out, url, err);
    free(url);
    return rc;
}

void
fpset_add(struct fpset *s, long long id, const char *fp)
{
    if (s->n == s->cap) {
        s->cap = s->cap == 0 ? 256 : s->cap * 2;
        s->ids = pd_xrealloc(s->ids, s->cap * sizeof(*s->ids));
        s->fp = pd_xrealloc(s->fp, s->cap * sizeof(*s->fp));
    }
    s->ids[s->n] = id;
    (void)snprintf(s->fp[s->n], sizeof(s->fp[0]), "%s", fp);
    s->n++;
}

long
fpset_find(const struct fpset *s, long long id)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->ids[mid] == id)
            return (long)mid;
        if (s->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void
fpset_free(struct fpset *s)
{
    free(s->ids);
    free(s->fp);
    memset(s, 0, sizeof(*s));
}

int
training_snapshot(struct fpset *out, struct pg_conn *c, const char *table, struct pd_err *err)
{
    struct pg_result *r = NULL;
    char *sql = pd_xasprintf("SELECT id, md5(t::text) FROM %s t ORDER BY id", table);
    int rc;

    memset(out, 0, sizeof(*out));
    rc = pg_query(c, &r, sql, NULL, 0, NULL, err);
    if (rc != 0)
        goto out;
    for (size_t i = 0; i < pg_result_rows(r); i++)
        fpset_add(out, strtoll(pg_result_value(r, i, 0), NULL, 10), pg_result_value(r, i, 1));
out:
    pg_result_free(r);
    free(sql);
    return rc;
}

void
training_nap(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

    (void)nanosleep(&ts, NULL);
}

/* The traffic's recorded PID is alive ($SB/traffic.pid, DIR being $SB/training). */
static bool
traffic_alive(const char *dir)
{
    char *path = training_path(dir, "../traffic.pid"), *s = NULL;
    size_t len = 0;
    struct pd_err err;
    bool alive = false;

    if (pd_read_file(&s, &len, path, 256, &err) == 0) {
        long pid = strtol(s, NULL, 10);

        alive = pid > 0 && kill((pid_t)pid, 0) == 0;
    }
    free(s);
    free(path);
    return alive;
}

void
training_hold(const char *dir)
{
    char *hold = training_path(dir, "hold"), *held = training_path(dir, "held");
    char tok[64];
    struct pd_err err;
    bool alive = traffic_alive(dir);

    (void)snprintf(tok, sizeof(tok), "%ld-%.6f", (long)getpid(), pd_time_wall());
    (void)pd_write_atomic(hold, tok, strlen(tok), 0600, &err);
    for (int i = 0; alive && i < 100; i++) {
        char *s = NULL;
        size_t len = 0;
        bool ok = pd_read_file(&s, &len, held, 256, &err) == 0 && strcmp(s, tok) == 0;

        free(s);
        if (ok)
            break;
        training_nap(0.05);
    }
    free(hold);
    free(held);
}

void
training_release(const char *dir)
{
    char *hold = training_path(dir, "hold"), *held = training_path(dir, "held");

    (void)unlink(hold);
    (void)unlink(held);
    free(hold);
    free(held);
}
