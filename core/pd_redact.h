/*
 * pd_redact: keep secrets off the screen, the journal, the report and logs.
 *
 * Two mechanisms, applied together by pd_redact:
 *   - registered secrets (an API key, an AWS secret, a password learned from
 *     a connection URI) are replaced wherever they occur;
 *   - the password part of any URI "scheme://user:password@host" is masked,
 *     and so are query parameters named password, X-Amz-Signature,
 *     X-Amz-Credential and X-Amz-Security-Token.
 * pd_redact_register_env registers the values of the environment variables
 * known to hold secrets (NEON_API_KEY, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, SLACK_WEBHOOK_URL, PGPASSWORD, and the password inside
 * DATABASE_URL). The registry is process-wide and guarded by a
 * reader-writer lock: any thread may register (S3 upload threads register
 * renewed keys) while others redact.
 */
#ifndef PD_REDACT_H
#define PD_REDACT_H

#define PD_REDACT_MASK "********"

/* Register a secret (copied). Strings shorter than 4 bytes are ignored. */
void pd_redact_register(const char *secret);

/*
 * Register the passwords of a connection string: the userinfo password of
 * a URI and any password=VALUE of its query or of a key=value conninfo,
 * each as written and, when it holds %XX escapes, decoded.
 */
void pd_redact_register_uri(const char *uri);

/* Register the secrets held by the well-known environment variables. */
void pd_redact_register_env(void);

/* Forget every registered secret (tests). */
void pd_redact_reset(void);

/* A redacted copy of text; the caller owns it. pd_redact(NULL) is NULL. */
char *pd_redact(const char *text);

#endif
