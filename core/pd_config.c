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
 * Keys that stand for an environment variable: the rows of env_keys and
 * retention_days.<class> (PGDRILL_RETENTION_DAYS_<CLASS>, '-' as '_').
 */
static const struct {
    const char *key;
    const char *env;
} env_keys[] = {
    {"allow_plain_http", "PGDRILL_ALLOW_PLAIN_HTTP"},
    {"retention_days", "PGDRILL_RETENTION_DAYS"},
    {"branch_ttl", "PGDRILL_BRANCH_TTL"},
    {"compression_level", "PGDRILL_COMPRESSION_LEVEL"},
    {"verify.history_days", "PGDRILL_VERIFY_HISTORY_DAYS"},
    {"verify.shrink_ratio", "PGDRILL_VERIFY_SHRINK_RATIO"},
    {"status.backup_days", "PGDRILL_STATUS_BACKUP_DAYS"},
    {"status.verify_days", "PGDRILL_STATUS_VERIFY_DAYS"},
    {"status.drill_days", "PGDRILL_STATUS_DRILL_DAYS"},
};

int
pd_config_env_name(char *out, size_t size, const char *prefix, const char *name)
{
    size_t plen = strlen(prefix), nlen = strlen(name);

    if (nlen == 0 || plen + nlen >= size)
        return -1;
    for (const char *p = name; *p; p++)
        if (!islower((unsigned char)*p) && *p != '-')
            return -1;
    memcpy(out, prefix, plen + 1);
    for (size_t i = 0; i <= nlen; i++)
        out[plen + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
    return 0;
}

static int
env_key(const char *key, char *out, size_t size)
{
    for (size_t i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++)
        if (strcmp(key, env_keys[i].key) == 0)
            return snprintf(out, size, "%s", env_keys[i].env) > 0;
    if (strlen(key) > 40)
        return 0;
    // contact.ROLE: the emergency contacts (runbook/contacts)
    if (strncmp(key, "contact.", 8) == 0)
        return pd_config_env_name(out, size, PD_CONFIG_CONTACT_PREFIX, key + 8) == 0;
    if (strncmp(key, "retention_days.", 15) == 0)
        return pd_config_env_name(out, size, "PGDRILL_RETENTION_DAYS_", key + 15) == 0;
    return 0;
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
            // the report reads it there, as with the variable itself
            setenv("PGDRILL_ENVIRONMENT", value, 0);
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

/* cfg->hints: PGDRILL_HINTS, else the hints file next to the shipped runbooks. */
static void
config_hints(struct pd_config *cfg, const char *self_dir)
{
    static const char *const where[] = {"/../share/pgdrill/runbooks/hints", "/../runbooks/hints"};
    const char *v = getenv("PGDRILL_HINTS");
    struct stat st;

    if (v != NULL && *v != '\0') {
        cfg->hints = pd_xstrdup(v);
        return;
    }
    for (size_t i = 0; self_dir != NULL && i < sizeof(where) / sizeof(where[0]); i++) {
        char *p = pd_xasprintf("%s%s", self_dir, where[i]);

        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            cfg->hints = p;
            return;
        }
        free(p);
    }
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
    config_hints(out, self_dir);
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
    PD_FREE(cfg->hints);
}

int
pd_config_env_number(double *out, const char *name, double def, double min, double max,
                     struct pd_err *err)
{
    const char *v = getenv(name);
    char *end;
    double d;

    *out = def;
    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= min && d <= max))
        return PD_ERR_SET(err, PD_EINPUT, "%s: '%.40s' is not a number from %g to %g", name, v, min,
                          max);
    *out = d;
    return 0;
}
