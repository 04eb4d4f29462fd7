#include "s3/creds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "http/http.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "pd_time.h"
#include "s3/creds.intern.h"
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

/*
 * ---- the credential sources, in the SDKs' order ---------------------------
 *
 * Each source answers 0 (out filled), CREDS_NOT_HERE (not configured: the
 * chain goes on) or a negative PD_E* (configured but failing: the chain
 * stops, as the SDKs do, so a broken source is never silently skipped).
 */
#define CREDS_NOT_HERE  1
#define CREDS_DEPTH_MAX 4
#define CREDS_TOKEN_CAP ((size_t)64 * 1024)
#define IMDS_DEFAULT    "http://169.254.169.254"
#define CONTAINER_HOST  "http://169.254.170.2"
#define IMDS_TIMEOUT_MS 1000L

struct source_ctx {
    const struct load *l;
    const char *region; /* for STS; never NULL */
    const char *from;   /* what filled the keys (static) */
};

/* A file's contents, trimmed, registered as a secret; caller owns it. */
static int
read_token(char **out, const char *path, const char *what, struct pd_err *err)
{
    char *text = NULL;
    int rc = pd_read_file(&text, NULL, path, CREDS_TOKEN_CAP, err);

    *out = NULL;
    if (rc != 0) {
        pd_err_prefix(err, "s3: %s: ", what);
        return rc;
    }
    char *t = pd_trim(text);
    if (*t == '\0') {
        free(text);
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s: %s is empty", what, path);
    }
    *out = pd_xstrdup(t);
    pd_free_secret(text);
    pd_redact_register(*out);
    return 0;
}

/* AWS_ENDPOINT_URL_<SVC>, AWS_ENDPOINT_URL, else the default; no trailing '/'. Caller owns it. */
static char *
service_endpoint(const struct load *l, const char *var, const char *fallback)
{
    const char *v = l->ignore_endpoints ? NULL : env(var);
    char *out;

    if (v == NULL && !l->ignore_endpoints)
        v = env("AWS_ENDPOINT_URL");
    out = pd_xstrdup(v ? v : fallback);
    for (size_t n = strlen(out); n > 0 && out[n - 1] == '/'; n--)
        out[n - 1] = '\0';
    return out;
}

static char *
session_name(const char *configured)
{
    return configured ? pd_xstrdup(configured) : pd_xasprintf("pgdrill-%ld", (long)time(NULL));
}

static int
src_env(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
        struct pd_err *err)
{
    const char *key_id = env("AWS_ACCESS_KEY_ID");
    const char *secret = env("AWS_SECRET_ACCESS_KEY");

    (void)profile;
    (void)depth;
    if (key_id == NULL && secret == NULL)
        return CREDS_NOT_HERE;
    if (key_id == NULL || secret == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s is set but %s is not",
                          key_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          key_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    out->access_key_id = pd_xstrdup(key_id);
    out->secret_access_key = pd_xstrdup(secret);
    out->session_token = pd_dup_or_null(env("AWS_SESSION_TOKEN"));
    sc->from = "environment";
    return 0;
}

/* GitHub Actions OIDC and EKS: a token file exchanged with STS for a role's credentials. */
static int
src_web_identity(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
                 struct pd_err *err)
{
    const char *file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env("AWS_ROLE_ARN");
    char *token = NULL, *endpoint = NULL, *fallback = NULL, *session = NULL;
    int rc;

    (void)profile;
    (void)depth;
    if (file == NULL && role == NULL)
        return CREDS_NOT_HERE;
    if (file == NULL || role == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "s3: %s is set but %s is not",
                          file ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN",
                          file ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE");
    if ((rc = read_token(&token, file, "AWS_WEB_IDENTITY_TOKEN_FILE", err)) != 0)
        return rc;
    fallback = pd_xasprintf("https://sts.%s.amazonaws.com", sc->region);
    endpoint = service_endpoint(sc->l, "AWS_ENDPOINT_URL_STS", fallback);
    session = session_name(env("AWS_ROLE_SESSION_NAME"));
    rc = creds_sts_web_identity(out, endpoint, role, session, token, err);
    sc->from = "web identity";
    pd_free_secret(token);
    free(endpoint);
    free(fallback);
    free(session);
    return rc;
}

static int src_container(struct creds_keys *out, struct source_ctx *sc, const char *profile,
                         int depth, struct pd_err *err);
static int src_imds(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
                    struct pd_err *err);
static int file_static_keys(struct creds_keys *out, struct source_ctx *sc, const char *profile,
                            struct pd_err *err);
static int profile_base(struct creds_keys *out, struct source_ctx *sc, const char *profile,
                        struct pd_err *err);

/* What credential_source may name. */
static const struct {
    const char *name;
    int (*resolve)(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
                   struct pd_err *err);
} credential_sources[] = {
    {"Environment", src_env},
    {"EcsContainer", src_container},
    {"Ec2InstanceMetadata", src_imds},
};

/* The keys the last role profile of a chain is assumed with: credential_source or its own keys. */
static int
role_base(struct creds_keys *out, struct source_ctx *sc, const char *profile, struct pd_err *err)
{
    const char *cs = config_get(&sc->l->cfg_ini, profile, "credential_source");

    if (cs == NULL)
        return file_static_keys(out, sc, profile, err); // source_profile names itself
    for (size_t i = 0; i < sizeof(credential_sources) / sizeof(credential_sources[0]); i++) {
        if (strcmp(cs, credential_sources[i].name) == 0)
            return credential_sources[i].resolve(out, sc, profile, 0, err);
    }
    return PD_ERR_SET(err, PD_EINPUT,
                      "s3: credential_source '%.40s' of profile '%s' is not Environment, "
                      "EcsContainer or Ec2InstanceMetadata",
                      cs, profile);
}

/* role_arn of profile: STS AssumeRole signed with src. */
static int
assume_role(struct creds_keys *out, struct source_ctx *sc, const char *profile,
            const struct creds_keys *src, struct pd_err *err)
{
    const struct ini *cfg = &sc->l->cfg_ini;
    char *fallback = pd_xasprintf("https://sts.%s.amazonaws.com", sc->region);
    char *endpoint = service_endpoint(sc->l, "AWS_ENDPOINT_URL_STS", fallback);
    char *session = session_name(config_get(cfg, profile, "role_session_name"));
    int rc = creds_sts_assume_role(out, endpoint, sc->region, config_get(cfg, profile, "role_arn"),
                                   session, config_get(cfg, profile, "external_id"), src, err);

    sc->from = "assume role";
    free(endpoint);
    free(fallback);
    free(session);
    return rc;
}

/*
 * The role profiles from profile down its source_profile links (chain[0] is
 * profile), checked; *base is the first profile without role_arn, or NULL
 * when the last role profile has credential_source or names itself.
 */
static int
role_chain(const char **chain, size_t *n, const char **base, const struct source_ctx *sc,
           const char *profile, struct pd_err *err)
{
    const struct ini *cfg = &sc->l->cfg_ini;
    const char *p = profile;

    *n = 0;
    *base = NULL;
    while (config_get(cfg, p, "role_arn")) {
        const char *sp = config_get(cfg, p, "source_profile");
        const char *cs = config_get(cfg, p, "credential_source");

        if (*n == CREDS_DEPTH_MAX)
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: source_profile chain through '%s' is too deep (a loop?)", p);
        if (config_get(cfg, p, "mfa_serial"))
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: profile '%s' needs an MFA code (mfa_serial) and pgdrill runs "
                              "headless: use a profile without mfa_serial, or export temporary "
                              "keys (aws configure export-credentials --profile %s --format env)",
                              p, p);
        if (sp && cs)
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: profile '%s' sets both source_profile and credential_source", p);
        if (sp == NULL && cs == NULL)
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: profile '%s' has role_arn but no source_profile or "
                              "credential_source",
                              p);
        chain[(*n)++] = p;
        if (sp == NULL || strcmp(sp, p) == 0)
            return 0;
        p = sp;
    }
    *base = p;
    return 0;
}

/* role_arn profiles: the base keys, then each role assumed in turn, the last one first. */
static int
profile_roles(struct creds_keys *out, struct source_ctx *sc, const char **chain, size_t n,
              const char *base, struct pd_err *err)
{
    struct creds_keys cur = {0};
    int rc = base ? profile_base(&cur, sc, base, err) : role_base(&cur, sc, chain[n - 1], err);

    if (rc == CREDS_NOT_HERE)
        rc = PD_ERR_SET(err, PD_EINPUT, "s3: the source of role profile '%s' has no credentials",
                        chain[n - 1]);
    for (size_t i = n; rc == 0 && i > 0; i--) {
        struct creds_keys next = {0};

        rc = assume_role(&next, sc, chain[i - 1], &cur, err);
        creds_keys_free(&cur);
        cur = next;
    }
    if (rc == 0)
        *out = cur;
    else
        creds_keys_free(&cur);
    return rc;
}

/* SHA-1 of s in lowercase hex: the name of the SSO token cache file. */
static void
sha1_hex(char out[41], const char *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    (void)EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL);
    pd_hex_encode(out, md, n);
}

/* The access token `aws sso login` cached for key (session name or start URL); caller owns it. */
static int
sso_cached_token(char **out, const char *key, const char *profile, struct pd_err *err)
{
    const char *home = env("HOME");
    char hash[41], *path, *text = NULL;
    cJSON *j = NULL;
    double expires = 0;
    int rc;

    *out = NULL;
    sha1_hex(hash, key);
    path = pd_xasprintf("%s/.aws/sso/cache/%s.json", home ? home : ".", hash);
    rc = pd_read_file(&text, NULL, path, CREDS_TOKEN_CAP, err);
    if (rc == PD_ENOENT) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "s3: profile '%s': no SSO session cached: run aws sso login --profile %s",
                        profile, profile);
        goto out;
    }
    if (rc != 0)
        goto out;
    j = cJSON_Parse(text);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(j, "accessToken");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(j, "expiresAt");
    if (!cJSON_IsString(tok) || !cJSON_IsString(exp) ||
        pd_time_parse_rfc3339(&expires, exp->valuestring, 0) != 0) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "s3: profile '%s': the SSO token cache %s is unreadable: run aws sso "
                        "login --profile %s",
                        profile, path, profile);
        goto out;
    }
    pd_redact_register(tok->valuestring);
    if (expires <= pd_time_wall()) {
        rc = PD_ERR_SET(err, PD_EINPUT,
                        "s3: profile '%s': the SSO session has expired: run aws sso login "
                        "--profile %s",
                        profile, profile);
        goto out;
    }
    *out = pd_xstrdup(tok->valuestring);
out:
    cJSON_Delete(j);
    if (text)
        pd_free_secret(text);
    free(path);
    return rc;
}

/* sso_session (or the legacy sso_start_url): the cached token, then GetRoleCredentials. */
static int
profile_sso(struct creds_keys *out, struct source_ctx *sc, const char *profile, struct pd_err *err)
{
    const struct ini *cfg = &sc->l->cfg_ini;
    const char *session = config_get(cfg, profile, "sso_session");
    const char *start = config_get(cfg, profile, "sso_start_url");
    const char *region = config_get(cfg, profile, "sso_region");
    const char *account = config_get(cfg, profile, "sso_account_id");
    const char *role = config_get(cfg, profile, "sso_role_name");
    char *token = NULL, *portal = NULL, *fallback = NULL;
    int rc;

    if (session) {
        char *section = pd_xasprintf("sso-session %s", session);

        if (!ini_has_section(cfg, section)) {
            free(section);
            return PD_ERR_SET(err, PD_EINPUT,
                              "s3: profile '%s' names sso_session '%s' but %s "
                              "has no [sso-session %s]",
                              profile, session, sc->l->cfg_path, session);
        }
        if (ini_get(cfg, section, "sso_region"))
            region = ini_get(cfg, section, "sso_region");
        free(section);
    }
    if (region == NULL || account == NULL || role == NULL)
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3: SSO profile '%s' needs sso_region, sso_account_id and "
                          "sso_role_name",
                          profile);
    if ((rc = sso_cached_token(&token, session ? session : start, profile, err)) != 0)
        return rc;
    fallback = pd_xasprintf("https://portal.sso.%s.amazonaws.com", region);
    portal = service_endpoint(sc->l, "AWS_ENDPOINT_URL_SSO", fallback);
    rc = creds_sso_role(out, portal, token, account, role, err);
    sc->from = "sso";
    pd_free_secret(token);
    free(portal);
    free(fallback);
    return rc;
}

/* Static keys of profile in one file (the credentials file, else the config file). */
static int
file_static_keys(struct creds_keys *out, struct source_ctx *sc, const char *profile,
                 struct pd_err *err)
{
    const struct load *l = sc->l;
    const char *k = ini_get(&l->creds_ini, profile, "aws_access_key_id");
    const char *s = ini_get(&l->creds_ini, profile, "aws_secret_access_key");
    const char *t = ini_get(&l->creds_ini, profile, "aws_session_token");
    const char *from = "credentials file";

    if (k == NULL && s == NULL) {
        k = config_get(&l->cfg_ini, profile, "aws_access_key_id");
        s = config_get(&l->cfg_ini, profile, "aws_secret_access_key");
        t = config_get(&l->cfg_ini, profile, "aws_session_token");
        from = "config file";
    }
    if (k == NULL && s == NULL)
        return CREDS_NOT_HERE;
    if (k == NULL || s == NULL)
        return PD_ERR_SET(err, PD_EINPUT, "s3: profile '%s' in the %s has %s but no %s", profile,
                          from, k ? "aws_access_key_id" : "aws_secret_access_key",
                          k ? "aws_secret_access_key" : "aws_access_key_id");
    out->access_key_id = pd_xstrdup(k);
    out->secret_access_key = pd_xstrdup(s);
    out->session_token = pd_dup_or_null(t);
    sc->from = from;
    return 0;
}

/* A profile without role_arn: SSO, keys in the credentials file, credential_process, config keys.
 */
static int
profile_base(struct creds_keys *out, struct source_ctx *sc, const char *profile, struct pd_err *err)
{
    const struct load *l = sc->l;
    const char *process = config_get(&l->cfg_ini, profile, "credential_process");

    if (config_get(&l->cfg_ini, profile, "sso_session") ||
        config_get(&l->cfg_ini, profile, "sso_start_url"))
        return profile_sso(out, sc, profile, err);
    if (ini_get(&l->creds_ini, profile, "aws_access_key_id") ||
        ini_get(&l->creds_ini, profile, "aws_secret_access_key") || process == NULL)
        return file_static_keys(out, sc, profile, err);
    sc->from = "credential_process";
    return creds_process(out, process, profile, err);
}

/* The profile's own source: role_arn (down its source_profile links), else the base kinds. */
static int
src_profile(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
            struct pd_err *err)
{
    const char *chain[CREDS_DEPTH_MAX];
    const char *base;
    size_t n;
    int rc;

    (void)depth;
    if ((rc = role_chain(chain, &n, &base, sc, profile, err)) != 0)
        return rc;
    if (n == 0)
        return profile_base(out, sc, profile, err);
    return profile_roles(out, sc, chain, n, base, err);
}

/* ECS and EKS Pod Identity: a local endpoint, perhaps with an authorization token. */
static int
src_container(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
              struct pd_err *err)
{
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *tfile = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    char *url, *auth = NULL;
    int rc = 0;

    (void)profile;
    (void)depth;
    if (rel == NULL && full == NULL)
        return CREDS_NOT_HERE;
    url = rel ? pd_xasprintf("%s%s%s", CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel)
              : pd_xstrdup(full);
    if (tfile)
        rc = read_token(&auth, tfile, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", err);
    else if (env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
        auth = pd_xstrdup(env("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
    if (rc == 0)
        rc = creds_container(out, url, auth, err);
    sc->from = "container";
    if (auth)
        pd_free_secret(auth);
    free(url);
    return rc;
}

/*
 * IMDSv2 only. The default address that does not answer means "not an EC2
 * instance" (the chain ends without credentials); an endpoint configured in
 * AWS_EC2_METADATA_SERVICE_ENDPOINT that fails is an error.
 */
static int
src_imds(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
         struct pd_err *err)
{
    const char *configured = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    char *endpoint;
    struct pd_err e2 = {0};
    int rc, attempts;

    (void)profile;
    (void)depth;
    if (truthy(env("AWS_EC2_METADATA_DISABLED")))
        return CREDS_NOT_HERE;
    endpoint = pd_xstrdup(configured ? configured : IMDS_DEFAULT);
    for (size_t n = strlen(endpoint); n > 0 && endpoint[n - 1] == '/'; n--)
        endpoint[n - 1] = '\0';
    // one attempt by default, as the SDKs make: a host that is not on EC2 waits 1 s at most
    attempts = (int)strtol(
        env("AWS_METADATA_SERVICE_NUM_ATTEMPTS") ? env("AWS_METADATA_SERVICE_NUM_ATTEMPTS") : "1",
        NULL, 10);
    rc = creds_imds(out, endpoint, IMDS_TIMEOUT_MS, attempts >= 1 && attempts <= 5 ? attempts : 1,
                    configured ? err : &e2);
    if (rc != 0 && !configured) {
        pd_log(PD_LOG_DEBUG, "s3: no instance metadata: %s", e2.msg);
        rc = CREDS_NOT_HERE;
    }
    sc->from = "instance metadata";
    free(endpoint);
    return rc;
}

/* The chain: name, resolver, whether what it gives expires. */
static const struct creds_source {
    const char *name;
    int (*resolve)(struct creds_keys *out, struct source_ctx *sc, const char *profile, int depth,
                   struct pd_err *err);
    int expires;    /* what it gives may carry an expiration */
    int by_profile; /* it reads the profile (doctor names the profile) */
} creds_chain[] = {
    {"environment", src_env, 0, 0},
    {"web identity", src_web_identity, 1, 0},
    {"shared files profile", src_profile, 1, 1},
    {"container", src_container, 1, 0},
    {"instance metadata", src_imds, 1, 0},
};

/* Walk the chain; the first source that is configured gives the keys (or the error). */
static int
load_keys(struct s3_creds *out, const struct load *l, struct pd_err *err)
{
    struct source_ctx sc = {.l = l, .region = out->region ? out->region : "us-east-1"};
    struct creds_keys k = {0};
    int rc = CREDS_NOT_HERE;

    for (size_t i = 0; i < sizeof(creds_chain) / sizeof(creds_chain[0]); i++) {
        rc = creds_chain[i].resolve(&k, &sc, out->profile, 0, err);
        if (rc == 0 && !creds_chain[i].expires)
            k.expires_at = 0;
        out->keys_by_profile = creds_chain[i].by_profile;
        pd_log(PD_LOG_DEBUG, "s3: credential source %s: %s", creds_chain[i].name,
               rc == CREDS_NOT_HERE ? "not configured"
               : rc == 0            ? "used"
                                    : "failed");
        if (rc != CREDS_NOT_HERE)
            break;
    }
    if (rc == CREDS_NOT_HERE)
        return PD_ERR_SET(err, PD_EINPUT,
                          "s3: no AWS credentials: set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, web identity, or profile '%s' in %s (keys, "
                          "role_arn, credential_process or SSO)",
                          out->profile, l->cfg_path);
    if (rc != 0) {
        creds_keys_free(&k);
        return rc;
    }
    out->access_key_id = k.access_key_id;
    out->secret_access_key = k.secret_access_key;
    out->session_token = k.session_token;
    out->expires_at = k.expires_at;
    out->keys_from = sc.from;
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
    if ((rc = load_profile(out, ov, &l, err)) != 0 || (rc = load_region(out, ov, &l, err)) != 0 ||
        (rc = load_keys(out, &l, err)) != 0 || (rc = load_endpoint(out, ov, &l, err)) != 0)
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
    pd_free_secret(*s);
    *s = NULL;
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

/* ---- refresh ------------------------------------------------------------- */

static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;

static double
refresh_margin(void)
{
    const char *v = env("PGDRILL_CREDS_REFRESH_MARGIN");
    char *end = NULL;
    double m = v ? strtod(v, &end) : -1;

    return v && end && *end == '\0' && m >= 0 ? m : 300.0;
}

static void
keys_swap(struct s3_creds *c, struct s3_creds *fresh)
{
    char *t;

    t = c->access_key_id, c->access_key_id = fresh->access_key_id, fresh->access_key_id = t;
    t = c->secret_access_key, c->secret_access_key = fresh->secret_access_key,
    fresh->secret_access_key = t;
    t = c->session_token, c->session_token = fresh->session_token, fresh->session_token = t;
    c->keys_from = fresh->keys_from;
    c->keys_by_profile = fresh->keys_by_profile;
    c->expires_at = fresh->expires_at;
}

/* Under the lock: load the chain again and take its keys. */
static int
renew(struct s3_creds *c, double now, struct pd_err *err)
{
    struct s3_creds fresh;
    char when[40], desc[160];
    int rc = s3_creds_load(&fresh, NULL, err);

    if (rc != 0) {
        if (now < c->expires_at) {
            pd_log(PD_LOG_WARN, "s3: cannot renew the credentials from %s yet: %s", c->keys_from,
                   err->msg);
            memset(err, 0, sizeof(*err));
            return 0;
        }
        pd_err_prefix(err,
                      "s3: the credentials from %s expired and cannot be renewed: ", c->keys_from);
        return rc;
    }
    keys_swap(c, &fresh);
    s3_creds_free(&fresh);
    s3_creds_describe(c, desc, sizeof(desc));
    pd_time_format(when, sizeof(when), now);
    pd_log(PD_LOG_INFO, "s3: renewed the credentials at %s: now from %s", when, desc);
    return 0;
}

int
s3_creds_current(struct s3_creds *c, struct s3_keys *out, struct pd_err *err)
{
    double now = pd_time_wall();
    int rc = 0;

    memset(out, 0, sizeof(*out));
    (void)pthread_mutex_lock(&refresh_lock);
    if (c->expires_at > 0 && now + refresh_margin() >= c->expires_at)
        rc = renew(c, now, err);
    if (rc == 0) {
        out->access_key_id = pd_xstrdup(c->access_key_id);
        out->secret_access_key = pd_xstrdup(c->secret_access_key);
        out->session_token = pd_dup_or_null(c->session_token);
    }
    (void)pthread_mutex_unlock(&refresh_lock);
    return rc;
}

void
s3_keys_free(struct s3_keys *k)
{
    if (k == NULL)
        return;
    PD_FREE(k->access_key_id);
    free_secret(&k->secret_access_key);
    free_secret(&k->session_token);
}

void
s3_creds_describe(const struct s3_creds *c, char *buf, size_t size)
{
    char when[40];
    const char *from = c->keys_from ? c->keys_from : "unknown";
    char prof[96] = "";

    if (c->keys_by_profile && c->profile)
        (void)snprintf(prof, sizeof(prof), " (profile %.64s)", c->profile);
    if (c->expires_at > 0) {
        pd_time_format(when, sizeof(when), c->expires_at);
        (void)snprintf(buf, size, "%s%s, expires at %s", from, prof, when);
    } else {
        (void)snprintf(buf, size, "%s%s, does not expire", from, prof);
    }
}

void
s3_creds_describe_current(const struct s3_creds *c, char *buf, size_t size)
{
    (void)pthread_mutex_lock(&refresh_lock);
    s3_creds_describe(c, buf, size);
    (void)pthread_mutex_unlock(&refresh_lock);
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
