#include "pd_redact.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_str.h"

/*
 * The registry: S3 upload threads register renewed keys while other threads
 * redact their log lines, and adding may move the array.
 */
static pthread_rwlock_t secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static char **secrets;
static size_t n_secrets;

static void
add_secret(const char *secret)
{
    pthread_rwlock_wrlock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], secret) == 0)
            goto out;
    secrets = pd_xrealloc(secrets, (n_secrets + 1) * sizeof(*secrets));
    secrets[n_secrets++] = pd_xstrdup(secret);
out:
    pthread_rwlock_unlock(&secrets_lock);
}

/* secret with each byte of special preceded by a backslash, or ' written as '\'' (sq). */
static void
add_escaped(const char *secret, const char *special, bool sq)
{
    struct pd_buf b;
    char *s;

    pd_buf_init(&b, 0);
    for (const char *p = secret; *p != '\0'; p++) {
        if (sq && *p == '\'')
            pd_buf_append(&b, "'\\''", 4, NULL);
        else if (!sq && strchr(special, *p) != NULL)
            pd_buf_appendf(&b, NULL, "\\%c", *p);
        else
            pd_buf_append(&b, p, 1, NULL);
    }
    s = pd_buf_steal(&b);
    if (s != NULL && strcmp(s, secret) != 0)
        add_secret(s);
    free(s);
    pd_buf_free(&b);
}

void
pd_redact_register(const char *secret)
{
    if (secret == NULL || strlen(secret) < 4)
        return;
    add_secret(secret);
    // the forms the value takes once an sh step quotes it (shell/splice.h):
    // the display of the script must not show the secret escaped
    add_escaped(secret, NULL, true);
    add_escaped(secret, "\\$`\"", false);
    add_escaped(secret, "\\$`", false);
}

void
pd_redact_reset(void)
{
    pthread_rwlock_wrlock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    PD_FREE(secrets);
    n_secrets = 0;
    pthread_rwlock_unlock(&secrets_lock);
}

/* Find the password span of "scheme://user:pass@" starting at p; 0 if none. */
static int
uri_password(const char *p, const char **start, size_t *len)
{
    const char *s = strstr(p, "://");
    const char *at, *colon, *end;

    if (s == NULL)
        return 0;
    s += 3;
    end = s + strcspn(s, "/?# \t\r\n\"'");
    at = memchr(s, '@', (size_t)(end - s));
    if (at == NULL)
        return 0;
    // the last '@' before the host ends the userinfo
    for (const char *q = at + 1; q < end; q++)
        if (*q == '@')
            at = q;
    colon = memchr(s, ':', (size_t)(at - s));
    if (colon == NULL || colon + 1 == at)
        return 0;
    *start = colon + 1;
    *len = (size_t)(at - colon - 1);
    return 1;
}

/*
 * Register a password as written and, when it holds %XX escapes, as libpq
 * and every tool will see it once decoded: a script that prints the
 * password it was given prints the decoded form.
 */
static void
register_password(const char *start, size_t len)
{
    char *pw = pd_xstrndup(start, len), *dec = pd_xmalloc(len + 1);
    size_t n = 0;

    pd_redact_register(pw);
    for (size_t i = 0; i < len; i++) {
        int hi, lo;

        if (pw[i] == '%' && i + 2 < len && (hi = pd_hex_digit(pw[i + 1])) >= 0 &&
            (lo = pd_hex_digit(pw[i + 2])) >= 0) {
            dec[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            dec[n++] = pw[i];
        }
    }
    dec[n] = '\0';
    if (n > 0 && memchr(dec, '\0', n) == NULL)
        pd_redact_register(dec);
    free(dec);
    free(pw);
}

/* Every "password=VALUE" parameter of a URI query or a key=value conninfo. */
static void
register_password_params(const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        const char *v, *end;

        if ((p != s && p[-1] != '?' && p[-1] != '&' && p[-1] != ' ' && p[-1] != '\t') ||
            strncasecmp(p, "password", 8) != 0)
            continue;
        v = p + 8;
        v += strspn(v, " \t");
        if (*v != '=')
            continue;
        v++;
        v += strspn(v, " \t");
        if (*v == '\'') {
            // conninfo quoting: \x stands for x; register the value libpq sees
            char *un = pd_xmalloc(strlen(v));
            size_t n = 0;

            for (end = ++v; *end != '\0' && *end != '\''; end++) {
                if (*end == '\\' && end[1] != '\0')
                    end++;
                un[n++] = *end;
            }
            if (n > 0)
                register_password(un, n);
            free(un);
        } else {
            end = v + strcspn(v, "& \t\r\n");
            if (end > v)
                register_password(v, (size_t)(end - v));
        }
        p = end[0] != '\0' ? end : end - 1;
    }
}

void
pd_redact_register_uri(const char *uri)
{
    const char *start;
    size_t len;

    if (uri == NULL)
        return;
    if (uri_password(uri, &start, &len))
        register_password(start, len);
    register_password_params(uri);
}

void
pd_redact_register_env(void)
{
    static const char *const names[] = {
        "NEON_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SLACK_WEBHOOK_URL",
        "PGPASSWORD",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        pd_redact_register(getenv(names[i]));
    pd_redact_register_uri(getenv("DATABASE_URL"));
    pd_redact_register_uri(getenv("PRODUCTION_DATABASE_URL"));
}

static const char *const secret_params[] = {
    "password=",
    "X-Amz-Signature=",
    "X-Amz-Credential=",
    "X-Amz-Security-Token=",
};

/* Length of a secret query parameter name at p (case-insensitive), or 0. */
static size_t
secret_param_at(const char *text, const char *p)
{
    if (p != text && p[-1] != '?' && p[-1] != '&' && p[-1] != ' ')
        return 0;
    for (size_t i = 0; i < sizeof(secret_params) / sizeof(secret_params[0]); i++) {
        size_t n = strlen(secret_params[i]);

        if (strncasecmp(p, secret_params[i], n) == 0)
            return n;
    }
    return 0;
}

char *
pd_redact(const char *text)
{
    struct pd_buf b;
    const char *p;

    if (text == NULL)
        return NULL;
    pd_buf_init(&b, 0);
    p = text;
    while (*p != '\0') {
        const char *start;
        size_t len, n;
        int matched = 0;

        // registered secrets first: longest match wins over shorter prefixes
        size_t best = 0;
        pthread_rwlock_rdlock(&secrets_lock);
        for (size_t i = 0; i < n_secrets; i++) {
            size_t sl = strlen(secrets[i]);
            if (sl > best && strncmp(p, secrets[i], sl) == 0)
                best = sl;
        }
        pthread_rwlock_unlock(&secrets_lock);
        if (best > 0) {
            pd_buf_append(&b, PD_REDACT_MASK, strlen(PD_REDACT_MASK), NULL);
            p += best;
            continue;
        }
        if (p[0] == ':' && p[1] == '/' && p[2] == '/' && uri_password(p, &start, &len)) {
            // copy "://user:" then the mask, continue after the password
            pd_buf_append(&b, p, (size_t)(start - p), NULL);
            pd_buf_append(&b, PD_REDACT_MASK, strlen(PD_REDACT_MASK), NULL);
            p = start + len;
            matched = 1;
        } else if ((n = secret_param_at(text, p)) > 0) {
            pd_buf_append(&b, p, n, NULL);
            pd_buf_append(&b, PD_REDACT_MASK, strlen(PD_REDACT_MASK), NULL);
            p += n;
            p += strcspn(p, "& \t\r\n\"'");
            matched = 1;
        }
        if (!matched) {
            pd_buf_append(&b, p, 1, NULL);
            p++;
        }
    }
    return pd_buf_steal(&b);
}
