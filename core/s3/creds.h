/*
 * s3/creds: where S3 requests go and who signs them.
 *
 * s3_creds_load resolves the AWS credential and config chain the way the
 * AWS SDKs and CLI do (S3-NOTES §4). Keys come from the first source of the
 * chain that is configured (a configured source that fails stops the
 * chain with its error, as in the SDKs, rather than falling through):
 *   1. environment   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *                    (+ AWS_SESSION_TOKEN); static;
 *   2. web identity  AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *                    (+ AWS_ROLE_SESSION_NAME): STS AssumeRoleWithWebIdentity
 *                    (GitHub Actions OIDC, EKS);
 *   3. the profile   of the shared files, in this order: role_arn (STS
 *                    AssumeRole signed with source_profile's credentials or
 *                    credential_source Environment / EcsContainer /
 *                    Ec2InstanceMetadata; external_id, role_session_name;
 *                    mfa_serial is refused: pgdrill cannot prompt);
 *                    sso_session / sso_start_url (the token `aws sso login`
 *                    cached in ~/.aws/sso/cache/SHA1.json, exchanged with
 *                    the portal's GetRoleCredentials; an expired token asks
 *                    for `aws sso login --profile X`); keys in the
 *                    credentials file; credential_process (run without a
 *                    shell, JSON Version 1 with Expiration); keys in the
 *                    config file;
 *   4. container     AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
 *                    169.254.170.2) or _FULL_URI, with
 *                    AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
 *   5. IMDSv2        a session token PUT, then the instance role's keys,
 *                    1 s per request, one attempt (AWS_METADATA_SERVICE_NUM_ATTEMPTS
 *                    up to 5); AWS_EC2_METADATA_DISABLED=true skips
 *                    it; AWS_EC2_METADATA_SERVICE_ENDPOINT moves it (and
 *                    makes a silent endpoint an error, not "no credentials").
 *   STS goes to AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
 *   https://sts.REGION.amazonaws.com; the SSO portal to
 *   AWS_ENDPOINT_URL_SSO, else AWS_ENDPOINT_URL, else
 *   https://portal.sso.SSO_REGION.amazonaws.com. All through core/http.
 *   profile   the override, AWS_PROFILE, AWS_DEFAULT_PROFILE, "default";
 *   region    the override, AWS_REGION, AWS_DEFAULT_REGION, the profile's
 *             region, else us-east-1;
 *   endpoint  the override, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
 *             profile's "s3 =" block endpoint_url, its services section's
 *             s3 endpoint_url, the profile's endpoint_url; none means AWS.
 *             AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips env and files.
 *   files     AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
 *             AWS_CONFIG_FILE (~/.aws/config).
 *   CAs       AWS_CA_BUNDLE, else the profile's ca_bundle: the certificate
 *             bundle TLS verification uses instead of the system's.
 *
 * Refresh: keys that carry an expiration are renewed by s3_creds_current
 * (before every signed request) once they are within the margin of it:
 * 300 s, or PGDRILL_CREDS_REFRESH_MARGIN seconds (tests). The renewal
 * reruns the chain and logs one info line naming the source.
 *
 * Addressing: virtual-hosted (bucket.s3.region.amazonaws.com) for AWS,
 * path-style (endpoint/bucket/key) for custom endpoints, for buckets with
 * dots (TLS wildcard certificates do not cover them) and when the profile's
 * s3 addressing_style says path. Endpoints must be https://, except
 * loopback (pd_host_is_loopback: 127.0.0.0/8, ::1, localhost), which may be http://, and any
 * host when PGDRILL_ALLOW_PLAIN_HTTP=1 (every connection then logs a
 * warning, see s3_target_note).
 *
 * Secrets (secret key, session token, web identity, SSO and container
 * tokens) are registered with pd_redact when loaded and never appear in a
 * message.
 */
#ifndef S3_CREDS_H
#define S3_CREDS_H

#include <stddef.h>

struct pd_err;

enum s3_addressing {
    S3_ADDRESSING_AUTO,
    S3_ADDRESSING_PATH,
    S3_ADDRESSING_VIRTUAL,
};

struct s3_creds {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret; NULL when none */
    char *profile;           /* the profile name in effect */
    char *region;
    char *endpoint_url; /* NULL for AWS; else "scheme://host[:port]" without a trailing slash */
    enum s3_addressing addressing;
    char *ca_bundle; /* AWS_CA_BUNDLE or the profile's ca_bundle: extra CAs to trust; or NULL */
    /*
     * The source the keys came from (static): "environment", "web identity",
     * "assume role", "sso", "credentials file", "credential_process",
     * "config file", "container", "instance metadata".
     */
    const char *keys_from;
    int keys_by_profile; /* keys_from is a source of the profile's */
    double expires_at;   /* seconds since the epoch; 0: the keys do not expire */
};

/* Command-line values that win over everything; any field may be NULL. */
struct s3_creds_overrides {
    const char *profile;
    const char *region;
    const char *endpoint_url;
};

/* Resolve the chain. On failure out is empty and err names what is missing. */
int s3_creds_load(struct s3_creds *out, const struct s3_creds_overrides *ov, struct pd_err *err);

void s3_creds_free(struct s3_creds *c);

/* A copy of the keys to sign one request with; owned by the caller (s3_keys_free). */
struct s3_keys {
    char *access_key_id;
    char *secret_access_key; /* secret */
    char *session_token;     /* secret; NULL when none */
};

/*
 * The keys of c to sign a request with now: when they expire within the
 * refresh margin, the chain is loaded again first and c's keys, source and
 * expiry replaced (logged at info level, naming the source). Thread-safe:
 * one process-wide lock covers the check, the renewal and the copy. When
 * the renewal fails, keys that are still valid are kept (with a warning);
 * expired ones give the renewal's error.
 */
int s3_creds_current(struct s3_creds *c, struct s3_keys *out, struct pd_err *err);

void s3_keys_free(struct s3_keys *k);

/*
 * "SOURCE[ (profile P)], expires at RFC3339" or "SOURCE, does not expire":
 * where c's keys came from, for `pgdrill doctor` and summaries. Never a
 * value of a key. Writes at most size bytes into buf.
 */
void s3_creds_describe(const struct s3_creds *c, char *buf, size_t size);

/*
 * s3_creds_describe for keys that s3_creds_current may renew on another
 * thread (an S3 client's): holds the refresh lock while it reads them.
 */
void s3_creds_describe_current(const struct s3_creds *c, char *buf, size_t size);

/* An s3://bucket/key URI; key may be "" (the whole bucket) or a prefix. */
struct s3_uri {
    char *bucket;
    char *key;
};

/* Parse and validate "s3://bucket[/key]". PD_EINPUT with the reason on failure. */
int s3_uri_parse(struct s3_uri *out, const char *uri, struct pd_err *err);

void s3_uri_free(struct s3_uri *u);

/* Where one request goes. */
struct s3_target {
    int https;    /* 0 only for loopback endpoints (or with PGDRILL_ALLOW_PLAIN_HTTP) */
    int loopback; /* the endpoint is a loopback host (AWS never is) */
    char *host;   /* Host header value: "b.s3.eu-west-1.amazonaws.com", "127.0.0.1:4568" */
    char *path;   /* decoded path: "/key" (virtual) or "/bucket/key" (path-style) */
    char *url;    /* scheme://host + URI-encoded path, without a query */
};

/*
 * The target of a request on bucket/key (key may be "" for bucket-level
 * requests such as ListObjectsV2). Fails with PD_EINPUT on an endpoint that
 * is malformed or plain http to a non-loopback host.
 */
int s3_creds_target(struct s3_target *out, const struct s3_creds *c, const char *bucket,
                    const char *key, struct pd_err *err);

void s3_target_free(struct s3_target *t);

/*
 * Report a request to t as core/http does for every request it sends
 * (http_note_request): to the observer (core/compliance records it) and,
 * with new_connection, a warning naming the host for plain http outside
 * loopback.
 */
void s3_target_note(const struct s3_target *t, int new_connection);

#endif
