/*
 * s3/creds internals: how the chain's sources that are not plain keys get
 * temporary credentials (creds_fetch.c): STS, the SSO portal, the container
 * endpoint, IMDSv2 and credential_process. Each fills a struct creds_keys
 * the caller owns (release with creds_keys_free); secrets are registered
 * with pd_redact as soon as they are read. Nothing outside
 * core/s3/creds*.c uses this.
 */
#ifndef S3_CREDS_INTERN_H
#define S3_CREDS_INTERN_H

struct pd_err;

struct creds_keys {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret; NULL when none */
    double expires_at;       /* seconds since the epoch; 0: never */
};

void creds_keys_free(struct creds_keys *k);

/* STS AssumeRoleWithWebIdentity (unsigned POST) at endpoint ("https://sts.REGION.amazonaws.com").
 */
int creds_sts_web_identity(struct creds_keys *out, const char *endpoint, const char *role_arn,
                           const char *session_name, const char *token, struct pd_err *err);

/* STS AssumeRole, signed with src for region; external_id may be NULL. */
int creds_sts_assume_role(struct creds_keys *out, const char *endpoint, const char *region,
                          const char *role_arn, const char *session_name, const char *external_id,
                          const struct creds_keys *src, struct pd_err *err);

/* SSO portal GetRoleCredentials (GET /federation/credentials) with the cached access token. */
int creds_sso_role(struct creds_keys *out, const char *portal, const char *token,
                   const char *account_id, const char *role_name, struct pd_err *err);

/* The container endpoint: GET url with an Authorization header when auth is not NULL. */
int creds_container(struct creds_keys *out, const char *url, const char *auth, struct pd_err *err);

/*
 * IMDSv2 at endpoint ("http://169.254.169.254"): a session token PUT, then
 * the role and its credentials, each request within timeout_ms, tried
 * attempts times.
 */
int creds_imds(struct creds_keys *out, const char *endpoint, long timeout_ms, int attempts,
               struct pd_err *err);

/* Run cmdline (split into argv, no shell) and read its JSON (Version 1). */
int creds_process(struct creds_keys *out, const char *cmdline, const char *profile,
                  struct pd_err *err);

/*
 * Split a credential_process command line into words: blanks separate,
 * '...' and "..." quote, a backslash escapes the next character (not inside
 * '...'). *out is a NULL-terminated array the caller frees with
 * creds_argv_free. PD_EINPUT on an unterminated quote or an empty line.
 */
int creds_split_argv(char ***out, const char *cmdline, struct pd_err *err);

void creds_argv_free(char **argv);

#endif
