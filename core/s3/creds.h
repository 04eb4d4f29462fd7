/*
 * s3/creds: where S3 requests go and who signs them.
 *
 * s3_creds_load resolves the AWS credential and config chain the way the
 * AWS CLI does (S3-NOTES §4), environment first:
 *   keys      AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
 *             else the profile's section of the shared credentials file
 *             ([name]), else of the config file ([profile name] / [default]);
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
 * Instance metadata, SSO, assume-role and credential_process are not
 * supported: configure keys or a profile with keys.
 *
 * Addressing: virtual-hosted (bucket.s3.region.amazonaws.com) for AWS,
 * path-style (endpoint/bucket/key) for custom endpoints, for buckets with
 * dots (TLS wildcard certificates do not cover them) and when the profile's
 * s3 addressing_style says path. Endpoints must be https://, except
 * loopback (pd_host_is_loopback: 127.0.0.0/8, ::1, localhost), which may be http://, and any
 * host when PGDRILL_ALLOW_PLAIN_HTTP=1 (every connection then logs a
 * warning, see s3_target_note).
 *
 * Secrets (secret key, session token) are registered with pd_redact when
 * loaded and never appear in a message.
 */
#ifndef S3_CREDS_H
#define S3_CREDS_H

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
    const char *keys_from; /* "environment", "credentials file", "config file" (static) */
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
