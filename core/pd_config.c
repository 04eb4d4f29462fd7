#include "pd_config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_str.h"

static const char *
home_dir(void)
{
    const char *h = getenv("HOME");
    struct passwd *pw;

    if (h != NULL && *h != '\0')
        return h;
    pw = getpwuid(getuid());
    return pw != NULL ? pw->pw_dir : "/";
}

/* Set *slot from the file only when the environment did not set it. */
static void
set_default(char **slot, const char *value)
{
    if (*slot == NULL)
        *slot = pd_xstrdup(value);
}

/*
 * Keys that stand for an environment variable: allow_plain_http
 * (PGDRILL_ALLOW_PLAIN_HTTP), compression_level (PGDRILL_COMPRESSION_LEVEL),
 * retention_days (PGDRILL_RETENTION_DAYS) and
 * retention_days.<class> (PGDRILL_RETENTION_DAYS_<CLASS>, '-' as '_').
 */
static int
env_key(const char *key, char *out, size_t size)
{
    const char *cls;

    if (strcmp(key, "allow_plain_http") == 0)
        return snprintf(out, size, "PGDRILL_ALLOW_PLAIN_HTTP") > 0;
    if (strcmp(key, "retention_days") == 0)
        return snprintf(out, size, "PGDRILL_RETENTION_DAYS") > 0;
    if (strcmp(key, "compression_level") == 0)
        return snprintf(out, size, "PGDRILL_COMPRESSION_LEVEL") > 0;
    if (strncmp(key, "retention_days.", 15) != 0 || key[15] == '\0' || strlen(key) > 40)
        return 0;
    cls = key + 15;
    for (const char *p = cls; *p; p++)
        if (!islower((unsigned char)*p) && *p != '-')
            return 0;
    snprintf(out, size, "PGDRILL_RETENTION_DAYS_%s", cls);
    for (char *p = out + strlen("PGDRILL_RETENTION_DAYS_"); *p; p++)
        *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    return 1;
}

static int
read_config_file(struct pd_config *cfg, const char *path, struct pd_err *err)
{
    FILE *f = fopen(path, "r");
    char line[1024], env_name[64];
    int lineno = 0;
    int rc = 0;

    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        return PD_ERR_SET(err, PD_EINPUT, "%s: %s", path, strerror(errno));
    }
    cfg->config_path = pd_xstrdup(path);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s = pd_trim(line);
        char *eq, *key, *value;

        lineno++;
        if (*s == '\0' || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (eq == NULL) {
            rc = PD_ERR_SET(err, PD_EINPUT, "%s:%d: expected 'key = value'", path, lineno);
            goto out;
        }
        *eq = '\0';
        key = pd_trim(s);
        value = pd_trim(eq + 1);
        if (strcmp(key, "home") == 0) {
            set_default(&cfg->home, value);
        } else if (strcmp(key, "environment") == 0) {
            set_default(&cfg->environment, value);
        } else if (strcmp(key, "operator") == 0) {
            set_default(&cfg->operator_name, value);
        } else if (strcmp(key, "runbooks") == 0) {
            set_default(&cfg->runbooks, value);
        } else if (env_key(key, env_name, sizeof(env_name))) {
            // read where the environment is read (core/http, core/backup); the environment wins
            setenv(env_name, value, 0);
        } else {
            rc = PD_ERR_SET(err, PD_EINPUT, "%s:%d: unknown key '%s'", path, lineno, key);
            goto out;
        }
    }
out:
    fclose(f);
    return rc;
}

static int
is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
pd_config_load(struct pd_config *out, const char *self_dir, struct pd_err *err)
{
    const char *v;
    char *path;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((v = getenv("PGDRILL_HOME")) != NULL && *v != '\0')
        out->home = pd_xstrdup(v);
    if ((v = getenv("PGDRILL_ENVIRONMENT")) != NULL && *v != '\0')
        out->environment = pd_xstrdup(v);
    if ((v = getenv("PGDRILL_OPERATOR")) != NULL && *v != '\0')
        out->operator_name = pd_xstrdup(v);
    if ((v = getenv("PGDRILL_RUNBOOKS")) != NULL && *v != '\0')
        out->runbooks = pd_xstrdup(v);

    if ((v = getenv("XDG_CONFIG_HOME")) != NULL && *v != '\0')
        path = pd_xasprintf("%s/pgdrill/config", v);
    else
        path = pd_xasprintf("%s/.config/pgdrill/config", home_dir());
    rc = read_config_file(out, path, err);
    free(path);
    if (rc != 0)
        return rc;

    if (out->home == NULL) {
        if ((v = getenv("XDG_STATE_HOME")) != NULL && *v != '\0')
            out->home = pd_xasprintf("%s/pgdrill", v);
        else
            out->home = pd_xasprintf("%s/.local/state/pgdrill", home_dir());
    }
    if (out->operator_name == NULL) {
        struct passwd *pw = getpwuid(getuid());

        v = getenv("USER");
        out->operator_name = pd_xstrdup(v != NULL && *v != '\0' ? v : pw ? pw->pw_name : "unknown");
    }
    if (out->runbooks == NULL && self_dir != NULL) {
        // installed layout first, then the source tree (build/pgdrill → runbooks/)
        char *a = pd_xasprintf("%s/../share/pgdrill/runbooks", self_dir);
        char *b = pd_xasprintf("%s/../runbooks", self_dir);

        if (is_dir(a))
            out->runbooks = a, a = NULL;
        else if (is_dir(b))
            out->runbooks = b, b = NULL;
        free(a);
        free(b);
    }
    if (out->runbooks == NULL)
        out->runbooks = pd_xstrdup("/usr/local/share/pgdrill/runbooks");
    return 0;
}

void
pd_config_free(struct pd_config *cfg)
{
    PD_FREE(cfg->home);
    PD_FREE(cfg->environment);
    PD_FREE(cfg->operator_name);
    PD_FREE(cfg->runbooks);
    PD_FREE(cfg->config_path);
}
