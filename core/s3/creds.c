#include "s3/creds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "s3/sigv4.h"

#define INI_LINE_MAX 4096

/* ---- a tolerant reader for the AWS INI files ----------------------------- */

struct ini_entry {
    char *section;
    char *key; /* "region", or "s3.endpoint_url" for a nested block */
    char *value;
};

struct ini {
    struct ini_entry *e;
    size_t n;
};

static void
ini_add(struct ini *ini, const char *section, const char *key, const char *value)
{
    ini->e = pd_xrealloc(ini->e, (ini->n + 1) * sizeof(*ini->e));
    ini->e[ini->n].section = pd_xstrdup(section);
    ini->e[ini->n].key = pd_xstrdup(key);
    ini->e[ini->n].value = pd_xstrdup(value);
    ini->n++;
}

static void
ini_free(struct ini *ini)
{
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->e[i].section);
        free(ini->e[i].key);
        free(ini->e[i].value);
    }
    free(ini->e);
    ini->e = NULL;
    ini->n = 0;
}

/* Fold runs of blanks in a section name: "[profile   x]" is "profile x". */
static char *
section_name(const char *s)
{
    char *out = pd_xmalloc(strlen(s) + 1);
    size_t o = 0;
    int blank = 0;

    for (; *s; s++) {
        if (*s == ' ' || *s == '\t') {
            blank = o > 0;
            continue;
        }
        if (blank)
            out[o++] = ' ';
        blank = 0;
        out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

/*
 * Read path into ini. A missing file is not an error (*found = 0). Lines:
 * "[section]", "key = value", comments starting with '#' or ';', and an
 * indented "sub = value" block under a "key =" with an empty value.
 */
static int
ini_load(struct ini *ini, const char *path, int *found, struct pd_err *err)
{
    FILE *f = fopen(path, "r");
    char line[INI_LINE_MAX];
    char *section = NULL, *parent = NULL;
    unsigned lineno = 0;
    int rc = 0;

    *found = 0;
    if (f == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        return PD_ERR_SET(err, PD_EIO, "s3: cannot read %s: %s", path, strerror(errno));
    }
    *found = 1;
    while (fgets(line, sizeof(line), f)) {
        int indented = line[0] == ' ' || line[0] == '\t';
        char *s = pd_trim(line), *eq;

        lineno++;
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (!indented && *s == '[') {
            char *close = strrchr(s, ']');

            if (close == NULL) {
                rc = PD_ERR_SET(err, PD_EINPUT, "s3: %s:%u: section header without ']'", path,
                                lineno);
                goto out;
            }
            *close = '\0';
            free(section);
            section = section_name(s + 1);
            PD_FREE(parent);
            continue;
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            rc = PD_ERR_SET(err, PD_EINPUT, "s3: %s:%u: expected 'key = value'", path, lineno);
            goto out;
        }
        if (section == NULL) {
            rc = PD_ERR_SET(err, PD_EINPUT, "s3: %s:%u: setting outside of a [section]", path,
                            lineno);
            goto out;
        }
        *eq = '\0';
        char *key = pd_trim(s), *value = pd_trim(eq + 1);
        if (indented && parent) {
            char *nested = pd_xasprintf("%s.%s", parent, key);

            ini_add(ini, section, nested, value);
            free(nested);
            continue;
        }
        PD_FREE(parent);
        if (*value == '\0')
            parent = pd_xstrdup(key);
        else
            ini_add(ini, section, key, value);
    }
    if (ferror(f))
        rc = PD_ERR_SET(err, PD_EIO, "s3: cannot read %s: %s", path, strerror(errno));
out:
    free(section);
    free(parent);
    (void)fclose(f); // read only
    return rc;
}

/* The last value of key in section (later lines win), or NULL. Borrowed. */
static const char *
ini_get(const struct ini *ini, const char *section, const char *key)
{
    const char *v = NULL;

    for (size_t i = 0; i < ini->n; i++) {
        if (strcmp(ini->e[i].section, section) == 0 && strcmp(ini->e[i].key, key) == 0)
            v = ini->e[i].value;
    }
    return v;
}

static int
ini_has_section(const struct ini *ini, const char *section)
{
    for (size_t i = 0; i < ini->n; i++) {
        if (strcmp(ini->e[i].section, section) == 0)
            return 1;
    }
    return 0;
}

/* ---- the chain ----------------------------------------------------------- */

static const char *
env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

/* "~/.aws/x" with $HOME, or the override variable's value; caller owns it. */
static char *
aws_file(const char *override_var, const char *name)
{
    const char *o = env(override_var), *home = env("HOME");

    if (o)
        return pd_xstrdup(o);
    return pd_xasprintf("%s/.aws/%s", home ? home : ".", name);
}

/* Look key up in the config file's section for profile. */
static const char *
config_get(const struct ini *cfg, const char *profile, const char *key)
{
    char *section = pd_xasprintf("profile %s", profile);
    const char *v = ini_get(cfg, section, key);

    if (v == NULL && strcmp(profile, "default") == 0)
        v = ini_get(cfg, "default", key);
    free(section);
    return v;
}

static int
config_has_profile(const struct ini *cfg, const char *profile)
{
    char *section = pd_xasprintf("profile %s", profile);
    int has = ini_has_section(cfg, section) ||
              (strcmp(profile, "default") == 0 && ini_has_section(cfg, "default"));

    free(section);
    return has;
}

static int
valid_region(const char *r)
{
    if (*r == '\0' || strlen(r) > 64)
        return 0;
    for (; *r; r++) {
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-'))
            return 0;
    }
    return 1;
}

/*
 * Split "scheme://host[:port][/]" into its parts; reject user info, paths,
 * queries and plain http to anything but loopback.
 */
static int
parse_endpoint(const char *url, int *https, char **hostport, char **hostname, struct pd_err *err)
{
    const char *p, *end;
    char *hp, *name;

    *hostport = *hostname = NULL;
    if (strncasecmp(url, "https://", 8) == 0) {
        *https = 1;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        *https = 0;
        p = url + 7;
    } else {
        return PD_ERR_SET(err, PD_EINPUT, "s3: endpoint '%.200s' must start with https://", url);
    }
    end = p + strcspn(p, "/?#");
    if (end == p)
        return PD_ERR_SET(err, PD_EINPUT, "s3: endpoint '%.200s' has no host", url);
    if (*end == '?' || *end == '#' || (*end == '/' && end[1] != '\0'))
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3: endpoint '%.200s' must be scheme://host[:port] without a path", url);
    if (memchr(p, '@', (size_t)(end - p)))
        return PD_ERR_SET(err, PD_EINPUT, "s3: endpoint must not contain user information");
    hp = pd_xstrndup(p, (size_t)(end - p));
    if (hp[0] == '[') {
        char *close = strchr(hp, ']');

        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            free(hp);
            return PD_ERR_SET(err, PD_EINPUT, "s3: endpoint '%.200s' has a malformed IPv6 host",
                              url);
        }
        name = pd_xstrndup(hp + 1, (size_t)(close - hp - 1));
    } else {
        name = pd_xstrndup(hp, strcspn(hp, ":"));
    }
    if (!*https && !pd_host_is_loopback(name) && !http_plain_http_allowed()) {
        free(hp);
        free(name);
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3: endpoint '%.200s' uses plain http; only loopback hosts may, "
                          "use https:// (or set " HTTP_ALLOW_PLAIN_ENV "=1 to override)",
                          url);
    }
    *hostport = hp;
    *hostname = name;
    return 0;
}

static int
truthy(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* What s3_creds_load reads once and its phases share. */
struct load {
    struct ini creds_ini, cfg_ini;
    char *creds_path, *cfg_path;
    int ignore_endpoints;
};

/* The profile in effect, which must exist when it was asked for by name. */
static int
load_profile(struct s3_creds *out, const struct s3_creds_overrides *ov, struct load *l,
             struct pd_err *err)
{
    const char *profile = ov && ov->profile ? ov->profile : env("AWS_PROFILE");
    int explicit_profile;

    if (profile == NULL)
        profile = env("AWS_DEFAULT_PROFILE");
    explicit_profile = profile != NULL;
    out->profile = pd_xstrdup(profile ? profile : "default");
    if (explicit_profile && !ini_has_section(&l->creds_ini, out->profile) &&
        !config_has_profile(&l->cfg_ini, out->profile))
        return PD_ERR_SET(err, PD_EINPUT, "s3: profile '%s' not found in %s or %s", out->profile,
                          l->creds_path, l->cfg_path);
    if (!l->ignore_endpoints &&
        truthy(config_get(&l->cfg_ini, out->profile, "ignore_configured_endpoint_urls")))
        l->ignore_endpoints = 1;
    return 0;
}

/* Keys from the profile: the credentials file, else the config file. */
static int
load_file_keys(struct s3_creds *out, const struct load *l, struct pd_err *err)
{
    const char *k = ini_get(&l->creds_ini, out->profile, "aws_access_key_id");
    const char *s = ini_get(&l->creds_ini, out->profile, "aws_secret_access_key");
    const char *t = ini_get(&l->creds_ini, out->profile, "aws_session_token");

    out->keys_from = "credentials file";
    if (k == NULL && s == NULL) {
        k = config_get(&l->cfg_ini, out->profile, "aws_access_key_id");
        s = config_get(&l->cfg_ini, out->profile, "aws_secret_access_key");
        t = config_get(&l->cfg_ini, out->profile, "aws_session_token");
        out->keys_from = "config file";
    }
    if (k == NULL && s == NULL)
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3: no AWS credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or give profile '%s' keys in %s",
                          out->profile, l->creds_path);
    if (k == NULL || s == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "s3: profile '%s' in the %s has %s but no %s",
                          out->profile, out->keys_from,
                          k ? "aws_access_key_id" : "aws_secret_access_key",
                          k ? "aws_secret_access_key" : "aws_access_key_id");
    out->access_key_id = pd_xstrdup(k);
    out->secret_access_key = pd_xstrdup(s);
    out->session_token = pd_xstrdup(t);
    return 0;
}

/* Keys: the environment as a set, else the profile's; secrets registered for redaction. */
static int
load_keys(struct s3_creds *out, const struct load *l, struct pd_err *err)
{
    const char *key_id = env("AWS_ACCESS_KEY_ID");
    const char *secret = env("AWS_SECRET_ACCESS_KEY");
    int rc;

    if (key_id && secret) {
        out->access_key_id = pd_xstrdup(key_id);
        out->secret_access_key = pd_xstrdup(secret);
        out->session_token = pd_xstrdup(env("AWS_SESSION_TOKEN"));
        out->keys_from = "environment";
    } else if (key_id || secret) {
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s is set but %s is not",
                          key_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          key_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    } else if ((rc = load_file_keys(out, l, err)) != 0) {
        return rc;
    }
    pd_redact_register(out->secret_access_key);
    pd_redact_register(out->session_token);
    return 0;
}

static int
load_region(struct s3_creds *out, const struct s3_creds_overrides *ov, const struct load *l,
            struct pd_err *err)
{
    const char *v = ov && ov->region ? ov->region : env("AWS_REGION");

    if (v == NULL)
        v = env("AWS_DEFAULT_REGION");
    if (v == NULL)
        v = config_get(&l->cfg_ini, out->profile, "region");
    out->region = pd_xstrdup(v ? v : "us-east-1");
    if (!valid_region(out->region))
        return PD_ERR_SET(err, PD_EINPUT, "s3: region '%.64s' is not a valid region name",
                          out->region);
    return 0;
}

static int
load_endpoint(struct s3_creds *out, const struct s3_creds_overrides *ov, const struct load *l,
              struct pd_err *err)
{
    const char *v = ov && ov->endpoint_url ? ov->endpoint_url : NULL;
    char *hostport, *hostname;
    int https, rc;

    if (v == NULL && !l->ignore_endpoints) {
        const char *services = config_get(&l->cfg_ini, out->profile, "services");

        v = env("AWS_ENDPOINT_URL_S3");
        if (v == NULL)
            v = env("AWS_ENDPOINT_URL");
        if (v == NULL)
            v = config_get(&l->cfg_ini, out->profile, "s3.endpoint_url");
        if (v == NULL && services) {
            char *section = pd_xasprintf("services %s", services);

            v = ini_get(&l->cfg_ini, section, "s3.endpoint_url");
            free(section);
        }
        if (v == NULL)
            v = config_get(&l->cfg_ini, out->profile, "endpoint_url");
    }
    if (v == NULL)
        return 0;
    if ((rc = parse_endpoint(v, &https, &hostport, &hostname, err)) != 0)
        return rc;
    out->endpoint_url = pd_xasprintf("%s://%s", https ? "https" : "http", hostport);
    free(hostport);
    free(hostname);
    return 0;
}

/* The CA bundle (a private CA in front of S3, test servers) and the addressing style. */
static int
load_transport(struct s3_creds *out, const struct load *l, struct pd_err *err)
{
    const char *v = env("AWS_CA_BUNDLE");

    if (v == NULL)
        v = config_get(&l->cfg_ini, out->profile, "ca_bundle");
    if (v != NULL)
        out->ca_bundle = pd_xstrdup(v);

    v = config_get(&l->cfg_ini, out->profile, "s3.addressing_style");
    if (v == NULL || strcmp(v, "auto") == 0)
        out->addressing = S3_ADDRESSING_AUTO;
    else if (strcmp(v, "path") == 0)
        out->addressing = S3_ADDRESSING_PATH;
    else if (strcmp(v, "virtual") == 0)
        out->addressing = S3_ADDRESSING_VIRTUAL;
    else
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3: addressing_style '%.32s' of profile '%s' is not auto, path or "
                          "virtual",
                          v, out->profile);
    return 0;
}

int
s3_creds_load(struct s3_creds *out, const struct s3_creds_overrides *ov, struct pd_err *err)
{
    struct load l = {0};
    int found_creds = 0, found_cfg = 0, rc;

    memset(out, 0, sizeof(*out));
    l.creds_path = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    l.cfg_path = aws_file("AWS_CONFIG_FILE", "config");
    l.ignore_endpoints = truthy(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
    if ((rc = ini_load(&l.creds_ini, l.creds_path, &found_creds, err)) != 0 ||
        (rc = ini_load(&l.cfg_ini, l.cfg_path, &found_cfg, err)) != 0)
        goto out;
    if ((rc = load_profile(out, ov, &l, err)) != 0 || (rc = load_keys(out, &l, err)) != 0 ||
        (rc = load_region(out, ov, &l, err)) != 0 || (rc = load_endpoint(out, ov, &l, err)) != 0)
        goto out;
    rc = load_transport(out, &l, err);
out:
    ini_free(&l.creds_ini);
    ini_free(&l.cfg_ini);
    free(l.creds_path);
    free(l.cfg_path);
    if (rc != 0)
        s3_creds_free(out);
    return rc;
}

static void
free_secret(char **s)
{
    if (*s) {
        memset(*s, 0, strlen(*s));
        PD_FREE(*s);
    }
}

void
s3_creds_free(struct s3_creds *c)
{
    if (c == NULL)
        return;
    PD_FREE(c->access_key_id);
    free_secret(&c->secret_access_key);
    free_secret(&c->session_token);
    PD_FREE(c->profile);
    PD_FREE(c->region);
    PD_FREE(c->endpoint_url);
    PD_FREE(c->ca_bundle);
    memset(c, 0, sizeof(*c));
}

/* ---- s3:// URIs and request targets -------------------------------------- */

/*
 * Bucket names as S3 allows them today: 3-63 of a-z 0-9 . -, starting and
 * ending with a letter or digit, no "..", not an IPv4 address.
 */
static const char *
bucket_problem(const char *b)
{
    size_t n = strlen(b);
    unsigned char a4[4];

    if (n < 3 || n > 63)
        return "must be 3 to 63 characters long";
    for (size_t i = 0; i < n; i++) {
        char c = b[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            return "may hold only lowercase letters, digits, '.' and '-'";
    }
    if (b[0] == '.' || b[0] == '-' || b[n - 1] == '.' || b[n - 1] == '-')
        return "must start and end with a letter or digit";
    if (strstr(b, ".."))
        return "must not contain '..'";
    if (inet_pton(AF_INET, b, a4) == 1)
        return "must not look like an IP address";
    return NULL;
}

int
s3_uri_parse(struct s3_uri *out, const char *uri, struct pd_err *err)
{
    const char *p, *slash;
    const char *why;

    memset(out, 0, sizeof(*out));
    if (uri == NULL || strncmp(uri, "s3://", 5) != 0)
        return PD_ERR_SET(err, PD_EINPUT, "s3: '%.200s' is not an s3://bucket/key URI",
                          uri ? uri : "");
    p = uri + 5;
    slash = strchr(p, '/');
    out->bucket = slash ? pd_xstrndup(p, (size_t)(slash - p)) : pd_xstrdup(p);
    out->key = pd_xstrdup(slash ? slash + 1 : "");
    if (out->bucket[0] == '\0') {
        s3_uri_free(out);
        return PD_ERR_SET(err, PD_EINPUT, "s3: '%.200s' has no bucket", uri);
    }
    if ((why = bucket_problem(out->bucket)) != NULL) {
        PD_ERR_SET(err, PD_EINPUT, "s3: bucket '%.70s' of '%.200s' %s", out->bucket, uri, why);
        s3_uri_free(out);
        return PD_EINPUT;
    }
    if (strlen(out->key) > 1024) {
        s3_uri_free(out);
        return PD_ERR_SET(err, PD_EINPUT, "s3: key of '%.60s...' is longer than 1024 bytes", uri);
    }
    return 0;
}

void
s3_uri_free(struct s3_uri *u)
{
    if (u == NULL)
        return;
    PD_FREE(u->bucket);
    PD_FREE(u->key);
}

int
s3_creds_target(struct s3_target *out, const struct s3_creds *c, const char *bucket,
                const char *key, struct pd_err *err)
{
    char *host_base = NULL, *hostname = NULL, *enc = NULL;
    int https = 1, path_style, rc;
    const char *why = bucket_problem(bucket);

    memset(out, 0, sizeof(*out));
    if (why)
        return PD_ERR_SET(err, PD_EINPUT, "s3: bucket '%.70s' %s", bucket, why);
    if (c->endpoint_url) {
        if ((rc = parse_endpoint(c->endpoint_url, &https, &host_base, &hostname, err)) != 0)
            return rc;
    } else {
        host_base = pd_xasprintf("s3.%s.amazonaws.com", c->region);
    }
    if (c->addressing == S3_ADDRESSING_PATH)
        path_style = 1;
    else if (c->addressing == S3_ADDRESSING_VIRTUAL)
        path_style = 0;
    else
        path_style = c->endpoint_url != NULL || strchr(bucket, '.') != NULL;
    if (!path_style && hostname && pd_host_is_loopback(hostname) &&
        strcmp(hostname, "localhost") != 0)
        path_style = 1; // an IP address cannot carry a bucket label

    out->https = https;
    out->loopback = hostname != NULL && pd_host_is_loopback(hostname);
    if (path_style) {
        out->host = pd_xstrdup(host_base);
        out->path = key && *key ? pd_xasprintf("/%s/%s", bucket, key) : pd_xasprintf("/%s", bucket);
    } else {
        out->host = pd_xasprintf("%s.%s", bucket, host_base);
        out->path = pd_xasprintf("/%s", key ? key : "");
    }
    enc = s3_sigv4_uri_encode(out->path, strlen(out->path), 1);
    out->url = pd_xasprintf("%s://%s%s", https ? "https" : "http", out->host, enc);
    free(enc);
    free(host_base);
    free(hostname);
    return 0;
}

void
s3_target_free(struct s3_target *t)
{
    if (t == NULL)
        return;
    PD_FREE(t->host);
    PD_FREE(t->path);
    PD_FREE(t->url);
}

void
s3_target_note(const struct s3_target *t, int new_connection)
{
    // the transport's own report (core/http): the observer and the plain-http warning
    http_note_request(t->url, t->host, new_connection);
}
