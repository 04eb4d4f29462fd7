/*
 * notify: failure notices to a Slack incoming webhook.
 *
 * pgdrill sends them itself (SLACK_WEBHOOK_URL, or --notify URL on verify
 * and run), so that cron, systemd and CI post the same message. The webhook
 * URL is the credential: notify_post registers it for redaction before
 * anything can print it. The text of a notice goes through pd_redact, so a
 * password in a connection URI or a registered secret never reaches Slack.
 */
#ifndef PD_NOTIFY_H
#define PD_NOTIFY_H

#include <stddef.h>

struct drill;
struct pd_err;
struct verify_report;

/*
 * POST body (JSON) to the webhook through core/http. PD_ESERVICE
 * "slack webhook: HTTP N" for a status outside 2xx, the transport's error
 * prefixed with "slack webhook: " otherwise.
 */
int notify_post(const char *webhook_url, const char *body, size_t len, struct pd_err *err);

/*
 * A failure notice {"text": ...}: a headline "<what> failed on <host>",
 * then the detail and where the report is, each on its own line (either may
 * be NULL). Redacted. Caller frees.
 */
char *notify_failure_json(const char *what, const char *detail, const char *report);

/* notify_failure_json posted with notify_post. */
int notify_failure(const char *webhook_url, const char *what, const char *detail,
                   const char *report, struct pd_err *err);

/*
 * The notice of a monthly verification that did not pass: the backups
 * under uri, the checks that failed (failed: their names, as the status
 * record has them) each with its detail, and where to look under home.
 */
int notify_verify_failure(const char *webhook_url, const struct verify_report *r,
                          const char *failed, const char *uri, const char *home,
                          struct pd_err *err);

/*
 * The notice of a headless drill that failed: the drill, its runbook, the
 * stage that failed and error (may be NULL or ""), and where the report
 * is (in its folder when in_folder, else how to write it).
 */
int notify_drill_failure(const char *webhook_url, const struct drill *d, const char *error,
                         int in_folder, struct pd_err *err);

/*
 * The webhook to use: flag (--notify) when given, else SLACK_WEBHOOK_URL, else
 * NULL. An empty value is NULL. Borrowed.
 */
const char *notify_webhook(const char *flag);

#endif
