/*
 * Unit tests for core/s3/creds.c: the AWS credential/config chain with a
 * temporary HOME, s3:// URIs, endpoint rules and request addressing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pd_buf.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_str.h"
#include "s3/creds.h"
#include "s3/creds.intern.h"

static const char *const aws_vars[] = {
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
};

static char home[256];

static void
write_file(const char *name, const char *text)
{
    char *dir = pd_xasprintf("%s/.aws", home);
    char *path = pd_xasprintf("%s/%s", dir, name);
    FILE *f;

    mkdir(dir, 0700);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    free(path);
    free(dir);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/pgdrill-s3creds.XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    setenv("HOME", home, 1);
    for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++)
        unsetenv(aws_vars[i]);
    return 0;
}

static int
teardown(void **state)
{
    char *cmd = pd_xasprintf("rm -rf '%s'", home);

    (void)state;
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", home);
    free(cmd);
    pd_redact_reset();
    return 0;
}

#define CREDS_FILE                                                                                 \
    "# shared credentials\n"                                                                       \
    "[default]\n"                                                                                  \
    "aws_access_key_id = FILEKEY\n"                                                                \
    "aws_secret_access_key = filesecret\n"                                                         \
    "\n"                                                                                           \
    "[other]\n"                                                                                    \
    "aws_access_key_id=OTHERKEY\n"                                                                 \
    "aws_secret_access_key=othersecret\n"                                                          \
    "aws_session_token = tok/en+x==\n"

#define CONFIG_FILE                                                                                \
    "[default]\n"                                                                                  \
    "region = eu-west-1\n"                                                                         \
    "; a comment\n"                                                                                \
    "[profile other]\n"                                                                            \
    "region = ap-south-1\n"                                                                        \
    "s3 =\n"                                                                                       \
    "  multipart_chunksize = 16MB\n"                                                               \
    "  addressing_style = virtual\n"                                                               \
    "[profile   cfgonly]\n"                                                                        \
    "aws_access_key_id = CFGKEY\n"                                                                 \
    "aws_secret_access_key = cfgsecret\n"                                                          \
    "services = local\n"                                                                           \
    "[profile nested]\n"                                                                           \
    "aws_access_key_id = NKEY\n"                                                                   \
    "aws_secret_access_key = nsecret\n"                                                            \
    "endpoint_url = https://generic.example.com\n"                                                 \
    "s3 =\n"                                                                                       \
    "    endpoint_url = http://127.0.0.1:4568/\n"                                                  \
    "    addressing_style = path\n"                                                                \
    "[profile half]\n"                                                                             \
    "aws_access_key_id = HALF\n"                                                                   \
    "[profile badstyle]\n"                                                                         \
    "aws_access_key_id = B\n"                                                                      \
    "aws_secret_access_key = b\n"                                                                  \
    "s3 =\n"                                                                                       \
    "  addressing_style = sideways\n"                                                              \
    "[services local]\n"                                                                           \
    "s3 =\n"                                                                                       \
    "  endpoint_url = https://minio.internal:9000\n"

struct chain_case {
    const char *name;
    const char *env[8]; /* "NAME=value" */
    const char *override_profile;
    const char *override_region;
    const char *override_endpoint;
    /* expected */
    const char *key;
    const char *secret;
    const char *token;
    const char *region;
    const char *endpoint;
    const char *profile;
    const char *keys_from;
    enum s3_addressing addressing;
    const char *error;
};

static const struct chain_case chain_cases[] = {
    {"default profile from files",
     {NULL},
     NULL,
     NULL,
     NULL,
     "FILEKEY",
     "filesecret",
     NULL,
     "eu-west-1",
     NULL,
     "default",
     "credentials file",
     S3_ADDRESSING_AUTO,
     NULL},
    {"env keys beat files",
     {"AWS_ACCESS_KEY_ID=ENVKEY", "AWS_SECRET_ACCESS_KEY=envsecret", "AWS_SESSION_TOKEN=envtok"},
     NULL,
     NULL,
     NULL,
     "ENVKEY",
     "envsecret",
     "envtok",
     "eu-west-1",
     NULL,
     "default",
     "environment",
     S3_ADDRESSING_AUTO,
     NULL},
    {"AWS_PROFILE selects keys, token and region",
     {"AWS_PROFILE=other"},
     NULL,
     NULL,
     NULL,
     "OTHERKEY",
     "othersecret",
     "tok/en+x==",
     "ap-south-1",
     NULL,
     "other",
     "credentials file",
     S3_ADDRESSING_VIRTUAL,
     NULL},
    {"AWS_DEFAULT_PROFILE is the legacy name",
     {"AWS_DEFAULT_PROFILE=other"},
     NULL,
     NULL,
     NULL,
     "OTHERKEY",
     "othersecret",
     "tok/en+x==",
     "ap-south-1",
     NULL,
     "other",
     "credentials file",
     S3_ADDRESSING_VIRTUAL,
     NULL},
    {"AWS_REGION beats AWS_DEFAULT_REGION",
     {"AWS_REGION=us-west-2", "AWS_DEFAULT_REGION=eu-central-1"},
     NULL,
     NULL,
     NULL,
     "FILEKEY",
     "filesecret",
     NULL,
     "us-west-2",
     NULL,
     "default",
     "credentials file",
     S3_ADDRESSING_AUTO,
     NULL},
    {"AWS_DEFAULT_REGION beats the file",
     {"AWS_DEFAULT_REGION=eu-central-1"},
     NULL,
     NULL,
     NULL,
     "FILEKEY",
     "filesecret",
     NULL,
     "eu-central-1",
     NULL,
     "default",
     "credentials file",
     S3_ADDRESSING_AUTO,
     NULL},
    {"overrides beat everything",
     {"AWS_PROFILE=nope", "AWS_REGION=us-west-2", "AWS_ENDPOINT_URL_S3=https://env.example"},
     "other",
     "sa-east-1",
     "http://localhost:9000",
     "OTHERKEY",
     "othersecret",
     "tok/en+x==",
     "sa-east-1",
     "http://localhost:9000",
     "other",
     "credentials file",
     S3_ADDRESSING_VIRTUAL,
     NULL},
    {"keys from the config file",
     {"AWS_PROFILE=cfgonly"},
     NULL,
     NULL,
     NULL,
     "CFGKEY",
     "cfgsecret",
     NULL,
     "us-east-1",
     "https://minio.internal:9000",
     "cfgonly",
     "config file",
     S3_ADDRESSING_AUTO,
     NULL},
    {"nested s3 endpoint beats the profile's",
     {"AWS_PROFILE=nested"},
     NULL,
     NULL,
     NULL,
     "NKEY",
     "nsecret",
     NULL,
     "us-east-1",
     "http://127.0.0.1:4568",
     "nested",
     "config file",
     S3_ADDRESSING_PATH,
     NULL},
    {"AWS_ENDPOINT_URL_S3 beats AWS_ENDPOINT_URL and files",
     {"AWS_PROFILE=nested", "AWS_ENDPOINT_URL=https://a.example",
      "AWS_ENDPOINT_URL_S3=https://s3.example:8443"},
     NULL,
     NULL,
     NULL,
     "NKEY",
     "nsecret",
     NULL,
     "us-east-1",
     "https://s3.example:8443",
     "nested",
     "config file",
     S3_ADDRESSING_PATH,
     NULL},
    {"AWS_ENDPOINT_URL alone",
     {"AWS_ENDPOINT_URL=https://a.example/"},
     NULL,
     NULL,
     NULL,
     "FILEKEY",
     "filesecret",
     NULL,
     "eu-west-1",
     "https://a.example",
     "default",
     "credentials file",
     S3_ADDRESSING_AUTO,
     NULL},
    {"ignoring configured endpoints",
     {"AWS_PROFILE=nested", "AWS_ENDPOINT_URL_S3=https://s3.example",
      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true"},
     NULL,
     NULL,
     NULL,
     "NKEY",
     "nsecret",
     NULL,
     "us-east-1",
     NULL,
     "nested",
     "config file",
     S3_ADDRESSING_PATH,
     NULL},
    {"unknown profile",
     {"AWS_PROFILE=ghost"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: profile 'ghost' not found in HOME/.aws/credentials or HOME/.aws/config"},
    {"half the env pair",
     {"AWS_ACCESS_KEY_ID=ENVKEY"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"},
    {"half the file pair",
     {"AWS_PROFILE=half"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: profile 'half' in the config file has aws_access_key_id but no aws_secret_access_key"},
    {"plain http to a remote endpoint",
     {"AWS_ENDPOINT_URL_S3=http://s3.example.com"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: endpoint 'http://s3.example.com' uses plain http; only loopback hosts may, use https:// "
     "(or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)"},
    {"endpoint with a path",
     {"AWS_ENDPOINT_URL_S3=https://s3.example.com/base"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: endpoint 'https://s3.example.com/base' must be scheme://host[:port] without a path"},
    {"endpoint with user info",
     {"AWS_ENDPOINT_URL_S3=https://u:pw@s3.example.com"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: endpoint must not contain user information"},
    {"endpoint without scheme",
     {"AWS_ENDPOINT_URL_S3=s3.example.com"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: endpoint 's3.example.com' must start with https://"},
    {"bad region",
     {"AWS_REGION=EU West"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: region 'EU West' is not a valid region name"},
    {"bad addressing style",
     {"AWS_PROFILE=badstyle"},
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     NULL,
     S3_ADDRESSING_AUTO,
     "s3: addressing_style 'sideways' of profile 'badstyle' is not auto, path or virtual"},
};

static void
apply_env(const char *const *envs)
{
    for (size_t i = 0; i < sizeof(aws_vars) / sizeof(aws_vars[0]); i++)
        unsetenv(aws_vars[i]);
    for (size_t i = 0; i < 8 && envs[i]; i++) {
        char *copy = pd_xstrdup(envs[i]);
        char *eq = strchr(copy, '=');

        *eq = '\0';
        setenv(copy, eq + 1, 1);
        free(copy);
    }
}

/* Error messages name $HOME; compare with HOME spelled out. */
static char *
expand_home(const char *msg)
{
    struct pd_buf b;
    const char *p;

    pd_buf_init(&b, 0);
    pd_buf_append(&b, "", 0, NULL);
    while ((p = strstr(msg, "HOME")) != NULL) {
        pd_buf_append(&b, msg, (size_t)(p - msg), NULL);
        pd_buf_append(&b, home, strlen(home), NULL);
        msg = p + 4;
    }
    pd_buf_append(&b, msg, strlen(msg), NULL);
    return pd_buf_steal(&b);
}

static void
test_chain(void **state)
{
    (void)state;
    write_file("credentials", CREDS_FILE);
    write_file("config", CONFIG_FILE);
    for (size_t i = 0; i < sizeof(chain_cases) / sizeof(chain_cases[0]); i++) {
        const struct chain_case *c = &chain_cases[i];
        struct s3_creds_overrides ov = {c->override_profile, c->override_region,
                                        c->override_endpoint};
        struct s3_creds cr;
        struct pd_err err = {0};
        int rc;

        apply_env(c->env);
        rc = s3_creds_load(&cr, &ov, &err);
        if (c->error) {
            char *want = expand_home(c->error);

            if (rc != PD_EINPUT || strcmp(err.msg, want) != 0)
                fail_msg("%s: rc %d, message '%s'", c->name, rc, err.msg);
            assert_null(cr.access_key_id);
            free(want);
            continue;
        }
        if (rc != 0)
            fail_msg("%s: %s", c->name, err.msg);
#define EQ(field)                                                                                  \
    do {                                                                                           \
        if ((c->field == NULL) != (cr.field == NULL) ||                                            \
            (c->field && strcmp(c->field, cr.field) != 0))                                         \
            fail_msg("%s: " #field " is '%s', want '%s'", c->name, cr.field ? cr.field : "(null)", \
                     c->field ? c->field : "(null)");                                              \
    } while (0)
        EQ(profile);
        EQ(region);
#undef EQ
        assert_string_equal(cr.access_key_id, c->key);
        assert_string_equal(cr.secret_access_key, c->secret);
        if (c->token)
            assert_string_equal(cr.session_token, c->token);
        else
            assert_null(cr.session_token);
        if ((c->endpoint == NULL) != (cr.endpoint_url == NULL) ||
            (c->endpoint && strcmp(c->endpoint, cr.endpoint_url) != 0))
            fail_msg("%s: endpoint '%s', want '%s'", c->name,
                     cr.endpoint_url ? cr.endpoint_url : "(null)",
                     c->endpoint ? c->endpoint : "(null)");
        assert_string_equal(cr.keys_from, c->keys_from);
        assert_int_equal(cr.addressing, c->addressing);
        /* the secret is registered for redaction as soon as it is loaded */
        {
            char *line = pd_xasprintf("oops %s", c->secret);
            char *red = pd_redact(line);

            assert_null(strstr(red, c->secret));
            free(red);
            free(line);
        }
        s3_creds_free(&cr);
    }
}

static void
test_no_files_no_env(void **state)
{
    struct s3_creds cr;
    struct pd_err err = {0};
    char *want;

    (void)state;
    apply_env((const char *const[]){"AWS_EC2_METADATA_DISABLED=true", NULL});
    assert_int_equal(s3_creds_load(&cr, NULL, &err), PD_EINPUT);
    want = pd_xasprintf("s3: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                        "web identity, or profile 'default' in %s/.aws/config (keys, role_arn, "
                        "credential_process or SSO)",
                        home);
    assert_string_equal(err.msg, want);
    free(want);

    /* env keys alone suffice; region defaults to us-east-1 */
    setenv("AWS_ACCESS_KEY_ID", "K", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3CRET", 1);
    assert_int_equal(s3_creds_load(&cr, NULL, &err), 0);
    assert_string_equal(cr.region, "us-east-1");
    assert_null(cr.endpoint_url);
    s3_creds_free(&cr);
}

static void
test_file_overrides_and_syntax(void **state)
{
    struct s3_creds cr;
    struct pd_err err = {0};
    char *path = pd_xasprintf("%s/elsewhere", home);
    char *want;
    FILE *f = fopen(path, "w");

    (void)state;
    apply_env((const char *const[]){NULL});
    fputs("[default]\naws_access_key_id = MOVED\naws_secret_access_key = moved\n", f);
    assert_int_equal(fclose(f), 0);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    assert_int_equal(s3_creds_load(&cr, NULL, &err), 0);
    assert_string_equal(cr.access_key_id, "MOVED");
    s3_creds_free(&cr);

    f = fopen(path, "w");
    fputs("[default]\naws_access_key_id MOVED\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(s3_creds_load(&cr, NULL, &err), PD_EINPUT);
    want = pd_xasprintf("s3: %s:2: expected 'key = value'", path);
    assert_string_equal(err.msg, want);
    free(want);

    f = fopen(path, "w");
    fputs("aws_access_key_id = X\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(s3_creds_load(&cr, NULL, &err), PD_EINPUT);
    want = pd_xasprintf("s3: %s:1: setting outside of a [section]", path);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
}

static void
test_uri(void **state)
{
    static const struct {
        const char *uri;
        const char *bucket;
        const char *key;
        const char *error;
    } cases[] = {
        {"s3://care-commons-backups/weekly", "care-commons-backups", "weekly", NULL},
        {"s3://b12/weekly/x y.sql.gz", "b12", "weekly/x y.sql.gz", NULL},
        {"s3://my.bucket.name", "my.bucket.name", "", NULL},
        {"s3://abc/", "abc", "", NULL},
        {"https://b/k", NULL, NULL, "s3: 'https://b/k' is not an s3://bucket/key URI"},
        {"s3:///k", NULL, NULL, "s3: 's3:///k' has no bucket"},
        {"s3://ab/k", NULL, NULL, "s3: bucket 'ab' of 's3://ab/k' must be 3 to 63 characters long"},
        {"s3://My_Bucket/k", NULL, NULL,
         "s3: bucket 'My_Bucket' of 's3://My_Bucket/k' may hold only lowercase letters, digits, "
         "'.' and '-'"},
        {"s3://-abc/k", NULL, NULL,
         "s3: bucket '-abc' of 's3://-abc/k' must start and end with a letter or digit"},
        {"s3://a..b/k", NULL, NULL, "s3: bucket 'a..b' of 's3://a..b/k' must not contain '..'"},
        {"s3://192.168.1.1/k", NULL, NULL,
         "s3: bucket '192.168.1.1' of 's3://192.168.1.1/k' must not look like an IP address"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct s3_uri u;
        struct pd_err err = {0};
        int rc = s3_uri_parse(&u, cases[i].uri, &err);

        if (cases[i].error) {
            assert_int_equal(rc, PD_EINPUT);
            assert_string_equal(err.msg, cases[i].error);
            assert_null(u.bucket);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_string_equal(u.bucket, cases[i].bucket);
        assert_string_equal(u.key, cases[i].key);
        s3_uri_free(&u);
    }
}

static void
test_target(void **state)
{
    static const struct {
        const char *endpoint;
        enum s3_addressing addressing;
        const char *bucket;
        const char *key;
        int https;
        const char *host;
        const char *path;
        const char *url;
    } cases[] = {
        {NULL, S3_ADDRESSING_AUTO, "backups", "weekly/a b.sql.gz", 1,
         "backups.s3.eu-west-1.amazonaws.com", "/weekly/a b.sql.gz",
         "https://backups.s3.eu-west-1.amazonaws.com/weekly/a%20b.sql.gz"},
        {NULL, S3_ADDRESSING_AUTO, "backups", "", 1, "backups.s3.eu-west-1.amazonaws.com", "/",
         "https://backups.s3.eu-west-1.amazonaws.com/"},
        {NULL, S3_ADDRESSING_AUTO, "my.dotted.bucket", "k", 1, "s3.eu-west-1.amazonaws.com",
         "/my.dotted.bucket/k", "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k"},
        {NULL, S3_ADDRESSING_PATH, "backups", "k+1", 1, "s3.eu-west-1.amazonaws.com",
         "/backups/k+1", "https://s3.eu-west-1.amazonaws.com/backups/k%2B1"},
        {"http://127.0.0.1:4568", S3_ADDRESSING_AUTO, "testbucket", "dir/\xc3\xbc.txt", 0,
         "127.0.0.1:4568", "/testbucket/dir/\xc3\xbc.txt",
         "http://127.0.0.1:4568/testbucket/dir/%C3%BC.txt"},
        {"http://127.0.0.1:4568", S3_ADDRESSING_AUTO, "testbucket", "", 0, "127.0.0.1:4568",
         "/testbucket", "http://127.0.0.1:4568/testbucket"},
        {"http://127.0.0.1:4568", S3_ADDRESSING_VIRTUAL, "testbucket", "k", 0, "127.0.0.1:4568",
         "/testbucket/k", "http://127.0.0.1:4568/testbucket/k"},
        {"https://minio.internal:9000", S3_ADDRESSING_VIRTUAL, "b12", "k", 1,
         "b12.minio.internal:9000", "/k", "https://b12.minio.internal:9000/k"},
        {"http://[::1]:9000", S3_ADDRESSING_AUTO, "b12", "k", 0, "[::1]:9000", "/b12/k",
         "http://[::1]:9000/b12/k"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct s3_creds c = {0};
        struct s3_target t;
        struct pd_err err = {0};

        c.region = (char *)(uintptr_t) "eu-west-1";
        c.endpoint_url = (char *)(uintptr_t)cases[i].endpoint;
        c.addressing = cases[i].addressing;
        if (s3_creds_target(&t, &c, cases[i].bucket, cases[i].key, &err) != 0)
            fail_msg("case %zu: %s", i, err.msg);
        assert_int_equal(t.https, cases[i].https);
        assert_string_equal(t.host, cases[i].host);
        assert_string_equal(t.path, cases[i].path);
        assert_string_equal(t.url, cases[i].url);
        s3_target_free(&t);
    }
}

static void
test_loopback(void **state)
{
    (void)state;
    assert_true(pd_host_is_loopback("127.0.0.1"));
    assert_true(pd_host_is_loopback("127.1.2.3"));
    assert_true(pd_host_is_loopback("localhost"));
    assert_true(pd_host_is_loopback("::1"));
    assert_false(pd_host_is_loopback("128.0.0.1"));
    assert_false(pd_host_is_loopback("localhost.example.com"));
    assert_false(pd_host_is_loopback("::2"));
    assert_false(pd_host_is_loopback("10.0.0.1"));
}

/* credential_process command lines: words, quotes, escapes, and the refusals. */
static void
test_split_argv(void **state)
{
    static const struct {
        const char *line;
        const char *want; /* words joined with '|', or NULL for an error */
        const char *msg;
    } cases[] = {
        {"/bin/helper", "/bin/helper", NULL},
        {"  helper  --a  b ", "helper|--a|b", NULL},
        {"\"/opt/my tool\" --profile 'a b'", "/opt/my tool|--profile|a b", NULL},
        {"x \"q\\\"d\" 'no\\esc' a\\ b", "x|q\"d|no\\esc|a b", NULL},
        {"x ''", "x|", NULL},
        {"x 'open", NULL, "s3: credential_process has an unterminated quote"},
        {"   ", NULL, "s3: credential_process is empty"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char **argv = NULL;
        struct pd_err err = {0};
        int rc = creds_split_argv(&argv, cases[i].line, &err);
        char joined[256] = "";

        if (cases[i].want == NULL) {
            assert_int_equal(rc, PD_EINPUT);
            assert_string_equal(err.msg, cases[i].msg);
            assert_null(argv);
            continue;
        }
        assert_int_equal(rc, 0);
        for (size_t w = 0; argv[w]; w++) {
            if (w)
                strcat(joined, "|");
            strcat(joined, argv[w]);
        }
        assert_string_equal(joined, cases[i].want);
        creds_argv_free(argv);
    }
}

/* Where the keys came from, for doctor: source, profile when the profile gave them, expiry. */
static void
test_describe_and_refresh(void **state)
{
    struct s3_creds c = {0};
    struct s3_keys k;
    struct pd_err err = {0};
    char buf[160];

    (void)state;
    c.keys_from = "environment";
    c.profile = pd_xstrdup("default");
    s3_creds_describe(&c, buf, sizeof(buf));
    assert_string_equal(buf, "environment, does not expire");
    c.keys_from = "sso";
    c.keys_by_profile = 1;
    c.expires_at = 1796617800.0; // 2026-12-07T04:30:00Z
    s3_creds_describe(&c, buf, sizeof(buf));
    assert_string_equal(buf, "sso (profile default), expires at 2026-12-07T04:30:00.000Z");

    /* keys far from their expiry are handed out as they are, without reloading the chain */
    c.access_key_id = pd_xstrdup("ASIAKEEP");
    c.secret_access_key = pd_xstrdup("keep-secret");
    c.expires_at = (double)time(NULL) + 3600;
    setenv("PGDRILL_CREDS_REFRESH_MARGIN", "60", 1);
    assert_int_equal(s3_creds_current(&c, &k, &err), 0);
    assert_string_equal(k.access_key_id, "ASIAKEEP");
    assert_null(k.session_token);
    s3_keys_free(&k);

    /* within the margin: the chain is loaded again (here: the environment's keys) */
    apply_env((const char *const[]){"AWS_ACCESS_KEY_ID=AKIANEW", "AWS_SECRET_ACCESS_KEY=new-secret",
                                    "PGDRILL_CREDS_REFRESH_MARGIN=7200", NULL});
    assert_int_equal(s3_creds_current(&c, &k, &err), 0);
    assert_string_equal(k.access_key_id, "AKIANEW");
    assert_string_equal(c.access_key_id, "AKIANEW");
    assert_string_equal(c.keys_from, "environment");
    assert_true(c.expires_at == 0);
    s3_keys_free(&k);

    /* expired keys whose renewal fails: the renewal's error */
    c.expires_at = (double)time(NULL) - 1;
    apply_env((const char *const[]){"AWS_ACCESS_KEY_ID=AKIAONLY", "AWS_EC2_METADATA_DISABLED=true",
                                    NULL});
    assert_int_equal(s3_creds_current(&c, &k, &err), PD_EINPUT);
    assert_string_equal(err.msg, "s3: the credentials from environment expired and cannot be "
                                 "renewed: s3: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY "
                                 "is not");
    assert_null(k.access_key_id);
    unsetenv("PGDRILL_CREDS_REFRESH_MARGIN");
    s3_creds_free(&c);
}

/* credential_process: its JSON, and each way it can fail, as the operator reads it. */
static void
test_process(void **state)
{
    static const struct {
        const char *cmd;
        int rc;
        const char *msg;
    } cases[] = {
        {"/nonexistent/cred-helper --x", PD_ESERVICE,
         "s3: credential_process of profile 'p': cannot start /nonexistent/cred-helper: No such "
         "file or directory"},
        {"sh -c 'exit 3'", PD_ESERVICE,
         "s3: credential_process of profile 'p' failed (exit status 3)"},
        {"sh -c 'echo not json'", PD_ESERVICE,
         "s3: credential_process of profile 'p' printed no JSON object"},
        // a helper that never stops printing is stopped at the cap
        {"yes", PD_ESERVICE,
         "s3: credential_process of profile 'p': yes printed more than 65536 bytes"},
        {NULL, 0, ""}, // cat the JSON file below
    };

    char json[] = "/tmp/pgdrill-proc-XXXXXX";
    const char *body = "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
                       "\"SecretAccessKey\": \"proc-secret-key\"}";
    int fd = mkstemp(json);

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    assert_int_equal(close(fd), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct creds_keys k;
        struct pd_err err = {0};
        char *cmd = cases[i].cmd ? pd_xstrdup(cases[i].cmd) : pd_xasprintf("cat %s", json);

        assert_int_equal(creds_process(&k, cmd, "p", &err), cases[i].rc);
        assert_string_equal(err.msg, cases[i].msg);
        if (cases[i].rc == 0) {
            assert_string_equal(k.access_key_id, "AKIDPROC");
            assert_string_equal(k.secret_access_key, "proc-secret-key");
            assert_null(k.session_token);
        }
        creds_keys_free(&k);
        free(cmd);
    }
    unlink(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_files_no_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_overrides_and_syntax, setup, teardown),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_target),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_split_argv),
        cmocka_unit_test(test_process),
        cmocka_unit_test_setup_teardown(test_describe_and_refresh, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
