/* s3/creds: temporary credentials from STS, the SSO portal, containers, IMDSv2 and processes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "http/http.h"
#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_proc.h"
#include "pd_redact.h"
#include "pd_sha256.h"
#include "pd_str.h"
#include "pd_time.h"
#include "s3/creds.intern.h"
#include "s3/sigv4.h"
#include "s3/xml.h"

#define CREDS_BODY_CAP    ((size_t)256 * 1024)
#define CREDS_PROCESS_CAP ((size_t)64 * 1024)

void
creds_keys_free(struct creds_keys *k)
{
    if (k == NULL)
        return;
    PD_FREE(k->access_key_id);
    pd_free_secret(k->secret_access_key);
    pd_free_secret(k->session_token);
    k->secret_access_key = k->session_token = NULL;
    k->expires_at = 0;
}

/* Take the three values (copied), registering the secrets for redaction. */
static int
keys_set(struct creds_keys *out, const char *id, const char *secret, const char *token,
         const char *expiration, const char *what, struct pd_err *err)
{
    double when = 0;

    if (secret)
        pd_redact_register(secret);
    if (token)
        pd_redact_register(token);
    if (id == NULL || *id == '\0' || secret == NULL || *secret == '\0')
        return PD_ERR_SET(err, PD_ESERVICE, "s3: %s: the answer holds no access key and secret",
                          what);
    if (expiration && *expiration && pd_time_parse_rfc3339(&when, expiration, 0) != 0)
        return PD_ERR_SET(err, PD_ESERVICE, "s3: %s: expiration '%.40s' is not an RFC 3339 time",
                          what, expiration);
    out->access_key_id = pd_xstrdup(id);
    out->secret_access_key = pd_xstrdup(secret);
    out->session_token = token && *token ? pd_xstrdup(token) : NULL;
    out->expires_at = when;
    return 0;
}

/* ---- one HTTP call, with a few retries on transient failures --------------- */

static enum http_verdict
judge(int rc, const struct http_response *resp, const struct pd_err *herr, int attempt,
      void *payload)
{
    (void)herr;
    (void)attempt;
    (void)payload;
    if (rc != 0)
        return resp->fail == HTTP_FAIL_TRANSIENT ? HTTP_RETRY : HTTP_DONE;
    return resp->status >= 500 || resp->status == 429 ? HTTP_RETRY : HTTP_DONE;
}

static const struct http_exchange_ops creds_http_ops = {.judge = judge};

struct call {
    const char *method, *url, *body;
    const char *const *headers;
    size_t n_headers;
    long timeout_ms;
    int attempts;
};

static int
call_http(struct http_response *resp, const struct call *c, const char *what, struct pd_err *err)
{
    struct http_request req = {
        .method = c->method,
        .url = c->url,
        .headers = c->headers,
        .n_headers = c->n_headers,
        .body = c->body,
        .body_len = c->body ? strlen(c->body) : 0,
        .connect_timeout_ms = c->timeout_ms,
        .timeout_ms = c->timeout_ms,
        .max_body = CREDS_BODY_CAP,
        // IMDS and the ECS/EKS agents serve plain http on link-local addresses
        .allow_link_local = 1,
    };
    struct http_retry_policy policy = {
        .max_attempts = c->attempts,
        .backoff_base_s = 0.2,
        .backoff_max_s = 2,
    };
    int rc = http_exchange(NULL, resp, &req, &policy, &creds_http_ops, NULL, err);

    if (rc != 0)
        pd_err_prefix(err, "s3: %s: ", what);
    return rc;
}

/* ---- STS ---------------------------------------------------------------- */

static void
form_add(struct pd_buf *b, const char *name, const char *value)
{
    char *v = s3_sigv4_uri_encode(value, strlen(value), 0);

    (void)pd_buf_appendf(b, NULL, "%s%s=%s", b->len ? "&" : "", name, v);
    free(v);
}

/* Credentials (or the error) of an STS answer to action. */
static int
sts_answer(struct creds_keys *out, const char *action, const struct http_response *resp,
           struct pd_err *err)
{
    const char *xml = pd_buf_str(&resp->body);
    size_t len = resp->body.len;
    char *f[4] = {NULL, NULL, NULL, NULL};
    static const char *const names[4] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                         "Expiration"};
    char what[64];
    int rc = 0;

    (void)snprintf(what, sizeof(what), "sts %s", action);
    if (resp->status != 200) {
        char *code = NULL, *msg = NULL;

        (void)s3_xml_text(&code, what, xml, len, "ErrorResponse/Error/Code", NULL);
        (void)s3_xml_text(&msg, what, xml, len, "ErrorResponse/Error/Message", NULL);
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: %s: HTTP %ld%s%s%s%.200s", what, resp->status,
                        code ? " " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
        free(code);
        free(msg);
        return rc;
    }
    for (int i = 0; i < 4 && rc == 0; i++) {
        char *path = pd_xasprintf("%sResponse/%sResult/Credentials/%s", action, action, names[i]);

        rc = s3_xml_text(&f[i], what, xml, len, path, err);
        free(path);
    }
    if (rc == 0)
        rc = keys_set(out, f[0], f[1], f[2], f[3], what, err);
    for (int i = 0; i < 4; i++) {
        pd_free_secret(f[i]);
    }
    return rc;
}

int
creds_sts_web_identity(struct creds_keys *out, const char *endpoint, const char *role_arn,
                       const char *session_name, const char *token, struct pd_err *err)
{
    struct pd_buf body;
    struct http_response resp;
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/xml"};
    char *url = pd_xasprintf("%s/", endpoint);
    int rc;

    memset(out, 0, sizeof(*out));
    pd_buf_init(&body, 0);
    form_add(&body, "Action", "AssumeRoleWithWebIdentity");
    form_add(&body, "Version", "2011-06-15");
    form_add(&body, "RoleArn", role_arn);
    form_add(&body, "RoleSessionName", session_name);
    form_add(&body, "WebIdentityToken", token);
    http_response_init(&resp);
    struct call c = {"POST", url, pd_buf_str(&body), headers, 2, 10000, 3};
    rc = call_http(&resp, &c, "sts AssumeRoleWithWebIdentity", err);
    if (rc == 0)
        rc = sts_answer(out, "AssumeRoleWithWebIdentity", &resp, err);
    http_response_free(&resp);
    pd_wipe(body.data, body.len);
    pd_buf_free(&body);
    free(url);
    return rc;
}

/* The host[:port] of an endpoint URL, for the signed Host header. Caller owns it. */
static char *
endpoint_host(const char *endpoint)
{
    const char *p = strstr(endpoint, "://");

    p = p ? p + 3 : endpoint;
    return pd_xstrndup(p, strcspn(p, "/"));
}

/* Sign an STS POST with src into lines[] (caller frees each); returns how many. */
static int
sts_sign(char **lines, const char *host, const char *region, const char *body,
         const struct creds_keys *src, struct pd_err *err)
{
    struct s3_sigv4_header hs[5];
    struct s3_sigv4_result sig;
    char amz_date[17], hash[65];
    size_t nh = 0;
    int n = 0, rc;

    s3_sigv4_amz_date(amz_date, time(NULL));
    pd_sha256_hex(hash, body, strlen(body));
    hs[nh++] = (struct s3_sigv4_header){"host", host};
    hs[nh++] = (struct s3_sigv4_header){"content-type", "application/x-www-form-urlencoded"};
    hs[nh++] = (struct s3_sigv4_header){"x-amz-date", amz_date};
    if (src->session_token)
        hs[nh++] = (struct s3_sigv4_header){"x-amz-security-token", src->session_token};
    struct s3_sigv4_input in = {
        .method = "POST",
        .path = "/",
        .headers = hs,
        .n_headers = nh,
        .payload_hash = hash,
        .amz_date = amz_date,
        .region = region,
        .service = "sts",
        .access_key_id = src->access_key_id,
        .secret_access_key = src->secret_access_key,
    };
    if ((rc = s3_sigv4_sign(&sig, &in, err)) != 0)
        return rc;
    for (size_t i = 1; i < nh; i++) // curl sends Host itself, from the URL
        lines[n++] = pd_xasprintf("%s: %s", hs[i].name, hs[i].value);
    lines[n++] = pd_xasprintf("Authorization: %s", sig.authorization);
    lines[n++] = pd_xstrdup("Accept: application/xml");
    s3_sigv4_result_free(&sig);
    return n;
}

int
creds_sts_assume_role(struct creds_keys *out, const char *endpoint, const char *region,
                      const char *role_arn, const char *session_name, const char *external_id,
                      const struct creds_keys *src, struct pd_err *err)
{
    struct pd_buf body;
    struct http_response resp;
    char *lines[8] = {NULL};
    char *url = pd_xasprintf("%s/", endpoint), *host = endpoint_host(endpoint);
    int n, rc;

    memset(out, 0, sizeof(*out));
    pd_buf_init(&body, 0);
    form_add(&body, "Action", "AssumeRole");
    form_add(&body, "Version", "2011-06-15");
    form_add(&body, "RoleArn", role_arn);
    form_add(&body, "RoleSessionName", session_name);
    if (external_id)
        form_add(&body, "ExternalId", external_id);
    http_response_init(&resp);
    n = sts_sign(lines, host, region, pd_buf_str(&body), src, err);
    if (n < 0) {
        rc = n;
        goto out;
    }
    // signed once: a retry within the same few seconds reuses the signature
    struct call c = {"POST", url, pd_buf_str(&body), (const char *const *)lines, (size_t)n,
                     10000,  3};
    rc = call_http(&resp, &c, "sts AssumeRole", err);
    if (rc == 0)
        rc = sts_answer(out, "AssumeRole", &resp, err);
out:
    for (int i = 0; i < 8; i++) {
        pd_free_secret(lines[i]);
    }
    http_response_free(&resp);
    pd_buf_free(&body);
    free(url);
    free(host);
    return rc;
}

/* ---- JSON answers: SSO, container, IMDS, credential_process ---------------- */

static const char *
json_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* {AccessKeyId, SecretAccessKey, Token (or SessionToken), Expiration} as the container and IMDS
 * send. */
static int
json_keys(struct creds_keys *out, const char *text, const char *token_name, const char *what,
          struct pd_err *err)
{
    cJSON *j = cJSON_Parse(text);
    int rc;

    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return PD_ERR_SET(err, PD_ESERVICE, "s3: %s: the answer is not a JSON object", what);
    }
    rc = keys_set(out, json_str(j, "AccessKeyId"), json_str(j, "SecretAccessKey"),
                  json_str(j, token_name), json_str(j, "Expiration"), what, err);
    cJSON_Delete(j);
    return rc;
}

int
creds_sso_role(struct creds_keys *out, const char *portal, const char *token,
               const char *account_id, const char *role_name, struct pd_err *err)
{
    struct http_response resp;
    char *acc = http_escape(account_id), *role = http_escape(role_name);
    char *url =
        pd_xasprintf("%s/federation/credentials?account_id=%s&role_name=%s", portal, acc, role);
    char *hdr = pd_xasprintf("x-amz-sso_bearer_token: %s", token);
    const char *headers[] = {hdr, "Accept: application/json"};
    cJSON *j = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    http_response_init(&resp);
    struct call c = {"GET", url, NULL, headers, 2, 10000, 3};
    if ((rc = call_http(&resp, &c, "sso GetRoleCredentials", err)) != 0)
        goto out;
    if (resp.status == 401 || resp.status == 403) {
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: sso GetRoleCredentials: HTTP %ld: the SSO session was refused "
                        "(run aws sso login)",
                        resp.status);
        goto out;
    }
    if (resp.status != 200) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: sso GetRoleCredentials: HTTP %ld", resp.status);
        goto out;
    }
    j = cJSON_Parse(pd_buf_str(&resp.body));
    const cJSON *rcj = cJSON_GetObjectItemCaseSensitive(j, "roleCredentials");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(rcj, "expiration");
    if (!cJSON_IsObject(rcj)) {
        rc = PD_ERR_SET(err, PD_ESERVICE,
                        "s3: sso GetRoleCredentials: the answer holds no roleCredentials");
        goto out;
    }
    rc = keys_set(out, json_str(rcj, "accessKeyId"), json_str(rcj, "secretAccessKey"),
                  json_str(rcj, "sessionToken"), NULL, "sso GetRoleCredentials", err);
    if (rc == 0 && cJSON_IsNumber(exp))
        out->expires_at = exp->valuedouble / 1000.0; // milliseconds since the epoch
out:
    cJSON_Delete(j);
    http_response_free(&resp);
    pd_free_secret(hdr);
    free(url);
    free(acc);
    free(role);
    return rc;
}

int
creds_container(struct creds_keys *out, const char *url, const char *auth, struct pd_err *err)
{
    struct http_response resp;
    char *hdr = auth ? pd_xasprintf("Authorization: %s", auth) : NULL;
    const char *headers[] = {"Accept: application/json", hdr};
    int rc;

    memset(out, 0, sizeof(*out));
    http_response_init(&resp);
    struct call c = {"GET", url, NULL, headers, hdr ? 2 : 1, 5000, 3};
    if ((rc = call_http(&resp, &c, "container credentials", err)) != 0)
        goto out;
    if (resp.status != 200)
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: container credentials: HTTP %ld", resp.status);
    else
        rc = json_keys(out, pd_buf_str(&resp.body), "Token", "container credentials", err);
out:
    http_response_free(&resp);
    if (hdr)
        pd_free_secret(hdr);
    return rc;
}

/* One IMDS request; *body_out (caller owns) is the answer of a 200. */
static int
imds_call(char **body_out, const char *method, const char *url, const char *header, long timeout_ms,
          int attempts, struct pd_err *err)
{
    struct http_response resp;
    const char *headers[] = {header};
    struct call c = {method, url, method[0] == 'P' ? "" : NULL, headers, 1, timeout_ms, attempts};
    int rc;

    *body_out = NULL;
    http_response_init(&resp);
    rc = call_http(&resp, &c, "instance metadata", err);
    if (rc == 0 && resp.status != 200)
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: instance metadata: %s %s: HTTP %ld", method,
                        strstr(url, "/latest"), resp.status);
    if (rc == 0)
        *body_out = pd_xstrdup(pd_buf_str(&resp.body));
    pd_wipe(resp.body.data, resp.body.len); // a session token, or keys
    http_response_free(&resp);
    return rc;
}

int
creds_imds(struct creds_keys *out, const char *endpoint, long timeout_ms, int attempts,
           struct pd_err *err)
{
    char *token = NULL, *roles = NULL, *answer = NULL, *hdr = NULL, *url = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    url = pd_xasprintf("%s/latest/api/token", endpoint);
    rc = imds_call(&token, "PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", timeout_ms,
                   attempts, err);
    if (rc != 0)
        goto out;
    pd_redact_register(pd_trim(token));
    hdr = pd_xasprintf("X-aws-ec2-metadata-token: %s", pd_trim(token));
    free(url);
    url = pd_xasprintf("%s/latest/meta-data/iam/security-credentials/", endpoint);
    if ((rc = imds_call(&roles, "GET", url, hdr, timeout_ms, attempts, err)) != 0)
        goto out;
    char *role = pd_trim(roles);
    role[strcspn(role, "\r\n")] = '\0';
    if (*role == '\0') {
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: instance metadata: the instance has no IAM role");
        goto out;
    }
    free(url);
    url = pd_xasprintf("%s/latest/meta-data/iam/security-credentials/%s", endpoint, role);
    if ((rc = imds_call(&answer, "GET", url, hdr, timeout_ms, attempts, err)) != 0)
        goto out;
    rc = json_keys(out, answer, "Token", "instance metadata", err);
out:
    pd_free_secret(answer);
    free(roles);
    pd_free_secret(token);
    pd_free_secret(hdr);
    free(url);
    return rc;
}

/* ---- credential_process --------------------------------------------------- */

int
creds_split_argv(char ***out, const char *cmdline, struct pd_err *err)
{
    size_t n = 0, len = strlen(cmdline);
    char **argv = pd_xcalloc(len / 2 + 2, sizeof(*argv));
    char *word = pd_xmalloc(len + 1);
    const char *p = cmdline;

    *out = NULL;
    while (*p) {
        size_t w = 0;
        int have = 0;

        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
            char q = *p;

            have = 1;
            if (q == '\'' || q == '"') {
                const char *close = p + 1;

                while (*close && *close != q) {
                    if (q == '"' && *close == '\\' && close[1])
                        close++;
                    word[w++] = *close++;
                }
                if (*close != q)
                    goto unterminated;
                p = close + 1;
                continue;
            }
            if (q == '\\' && p[1])
                p++;
            word[w++] = *p++;
        }
        if (have) {
            word[w] = '\0';
            argv[n++] = pd_xstrdup(word);
        }
    }
    free(word);
    if (n == 0) {
        creds_argv_free(argv);
        return PD_ERR_SET(err, PD_EINPUT, "s3: credential_process is empty");
    }
    *out = argv;
    return 0;
unterminated:
    free(word);
    creds_argv_free(argv);
    return PD_ERR_SET(err, PD_EINPUT, "s3: credential_process has an unterminated quote");
}

void
creds_argv_free(char **argv)
{
    if (argv == NULL)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static int
process_json(struct creds_keys *out, const char *text, const char *what, struct pd_err *err)
{
    cJSON *j = cJSON_Parse(text);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "Version");
    int rc;

    if (!cJSON_IsObject(j))
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: %s printed no JSON object", what);
    else if (!cJSON_IsNumber(ver) || ver->valueint != 1)
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: %s printed JSON without \"Version\": 1", what);
    else
        rc = keys_set(out, json_str(j, "AccessKeyId"), json_str(j, "SecretAccessKey"),
                      json_str(j, "SessionToken"), json_str(j, "Expiration"), what, err);
    cJSON_Delete(j);
    return rc;
}

int
creds_process(struct creds_keys *out, const char *cmdline, const char *profile, struct pd_err *err)
{
    // its stderr is the operator's, as with the AWS CLI; its stdout holds the keys
    static const struct pd_proc_output_opts po = {
        .keep_stderr = true, .fail_over_max = true, .secret = true};
    char **argv = NULL, *text = NULL;
    int status = 0, rc;
    struct pd_err proc_err = {0};
    char what[160];

    memset(out, 0, sizeof(*out));
    (void)snprintf(what, sizeof(what), "credential_process of profile '%.100s'", profile);
    if ((rc = creds_split_argv(&argv, cmdline, err)) != 0)
        goto out;
    if (pd_proc_output_with(&text, &status, argv[0], argv, CREDS_PROCESS_CAP, &po, &proc_err) !=
        0) {
        // the helper is an outside service that could not start or misbehaved
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: %s: %s", what, proc_err.msg);
        goto out;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = PD_ERR_SET(err, PD_ESERVICE, "s3: %s failed (%s %d)", what,
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        goto out;
    }
    rc = process_json(out, text, what, err);
out:
    pd_free_secret(text);
    creds_argv_free(argv);
    return rc;
}
