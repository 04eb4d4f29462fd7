/*
 * Tests for core/neon/client.c against a scripted HTTP server on loopback
 * (retries, error messages, pagination, operation waits, redaction). The
 * command-line driver that tests/integration/neon_*.sh run is
 * tests/tools/neon_tool.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "neon/action.h"
#include "neon/client.h"
#include "pd_err.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "pd_time.h"

#include "support/fake_server.h"

/* ---- client fixture ------------------------------------------------------ */

struct fixture {
    struct fake_server srv;
    struct neon_client *c;
    double clock; /* fake monotonic clock, advanced by sleeps */
    double sleeps[64];
    size_t n_sleeps;
};

static void
fake_sleep(double seconds, void *payload)
{
    struct fixture *f = payload;

    if (f->n_sleeps < 64)
        f->sleeps[f->n_sleeps++] = seconds;
    f->clock += seconds;
}

static double
fake_clock(void *payload)
{
    return ((struct fixture *)payload)->clock;
}

#define TEST_KEY "napi_unit_test_key_0123456789"

static int
setup(void **state)
{
    struct fixture *f = pd_xcalloc(1, sizeof(*f));

    fake_start(&f->srv);
    *state = f;
    return 0;
}

static void
client_with(struct fixture *f, int max_attempts)
{
    struct neon_config cfg = {0};
    struct pd_err err = {0};
    char host[64];

    snprintf(host, sizeof(host), "http://127.0.0.1:%d/api/v2", f->srv.port);
    cfg.host = host;
    cfg.api_key = TEST_KEY;
    cfg.project_id = "p";
    cfg.max_attempts = max_attempts;
    assert_int_equal(neon_client_new(&f->c, &cfg, &err), 0);
    neon_client_set_sleep(f->c, fake_sleep, f);
    neon_client_set_clock(f->c, fake_clock, f);
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    fake_stop(&f->srv);
    neon_client_free(f->c);
    free(f);
    pd_redact_reset();
    return 0;
}

static const char *const PROJECT_JSON =
    "{\"project\":{\"id\":\"p\",\"name\":\"care\",\"region_id\":\"aws-us-east-2\","
    "\"pg_version\":15,\"history_retention_seconds\":604800,"
    "\"created_at\":\"2026-01-01T00:00:00Z\"}}";

static const char *const LOCKED_JSON =
    "{\"request_id\":\"req-423\",\"code\":\"\",\"message\":\"project already has running "
    "conflicting operations, scheduling of new ones is prohibited\"}";

/* ---- cases ---------------------------------------------------------------- */

static void
test_new_rejects_bad_config(void **state)
{
    struct neon_client *c = NULL;
    struct pd_err err = {0};
    struct neon_config cfg = {0};

    (void)state;
    cfg.project_id = "p";
    assert_int_equal(neon_client_new(&c, &cfg, &err), PD_EUSAGE);
    assert_string_equal(err.msg, "neon: NEON_API_KEY is not set");
    cfg.api_key = TEST_KEY;
    cfg.project_id = NULL;
    assert_int_equal(neon_client_new(&c, &cfg, &err), PD_EUSAGE);
    assert_string_equal(err.msg, "neon: NEON_PROJECT_ID is not set");
    cfg.project_id = "p";
    cfg.host = "http://console.example.com/api/v2";
    assert_int_equal(neon_client_new(&c, &cfg, &err), PD_EUSAGE);
    assert_string_equal(err.msg, "neon: NEON_API_HOST: http: http://console.example.com/api/v2: "
                                 "plain http is allowed only for loopback hosts (use https, "
                                 "or set PGDRILL_ALLOW_PLAIN_HTTP=1 to override)");
    assert_null(c);
    pd_redact_reset();
}

/* Write path (mode) with text, making its directory first. */
static void
write_creds(const char *path, const char *text, mode_t mode)
{
    char *dir = pd_xstrndup(path, (size_t)(strrchr(path, '/') - path));
    struct pd_err err = {0};
    FILE *fp;

    assert_int_equal(pd_mkdir_p(dir, 0700, &err), 0);
    fp = fopen(path, "w");
    assert_non_null(fp);
    assert_true(fputs(text, fp) >= 0);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, mode), 0);
    free(dir);
}

static void
test_key_from_neonctl_credentials(void **state)
{
    struct fixture *f = *state;
    char dir[] = "/tmp/pgdrill-neonctl-XXXXXX", host[64], msg[600];
    struct pd_err err = {0};
    struct neon_project p;
    char *path, *home = getenv("HOME") ? pd_xstrdup(getenv("HOME")) : NULL;

    assert_non_null(mkdtemp(dir));
    path = pd_xasprintf("%s/.config/neonctl/credentials.json", dir);
    snprintf(host, sizeof(host), "http://127.0.0.1:%d/api/v2", f->srv.port);
    setenv("HOME", dir, 1);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("NEON_API_KEY");
    setenv("NEON_API_HOST", host, 1);
    setenv("NEON_PROJECT_ID", "p", 1);
    // no key and no file: the variable is what is missing
    assert_int_equal(neon_client_new_from_env(&f->c, &err), PD_EUSAGE);
    assert_string_equal(err.msg, "neon: NEON_API_KEY is not set");
    // a file others can read is refused, naming the file and the fix, never the token
    write_creds(path, "{\"access_token\":\"" TEST_KEY "\",\"token_type\":\"bearer\"}", 0644);
    assert_int_equal(neon_client_new_from_env(&f->c, &err), PD_EUSAGE);
    snprintf(msg, sizeof(msg),
             "neon: %s is readable by others (mode 0644): run chmod 600 %s, or set NEON_API_KEY",
             path, path);
    assert_string_equal(err.msg, msg);
    assert_null(f->c);
    // 0600: its access_token is the bearer token
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(neon_client_new_from_env(&f->c, &err), 0);
    fake_json(&f->srv, 200, PROJECT_JSON);
    assert_int_equal(neon_project_get(f->c, &p, &err), 0);
    assert_non_null(strstr(f->srv.requests[0], "Authorization: Bearer " TEST_KEY "\r\n"));
    neon_project_clear(&p);
    neon_client_free(f->c);
    f->c = NULL;
    // NEON_API_KEY wins over the file
    setenv("NEON_API_KEY", "napi_from_the_environment", 1);
    assert_int_equal(neon_client_new_from_env(&f->c, &err), 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), 0);
    assert_non_null(strstr(f->srv.requests[1], "Authorization: Bearer napi_from_the_environment"));
    neon_project_clear(&p);
    neon_client_free(f->c);
    f->c = NULL;
    unsetenv("NEON_API_KEY");
    // XDG_CONFIG_HOME moves the file; one without access_token is refused by name
    setenv("XDG_CONFIG_HOME", dir, 1);
    free(path);
    path = pd_xasprintf("%s/neonctl/credentials.json", dir);
    write_creds(path, "{\"refresh_token\":\"x\"}", 0600);
    assert_int_equal(neon_client_new_from_env(&f->c, &err), PD_EUSAGE);
    snprintf(msg, sizeof(msg),
             "neon: %s has no access_token: run neonctl auth, or set NEON_API_KEY", path);
    assert_string_equal(err.msg, msg);
    unlink(path);
    free(path);
    path = pd_xasprintf("%s/.config/neonctl/credentials.json", dir);
    unlink(path);
    free(path);
    path = pd_xasprintf("%s/.config/neonctl", dir);
    rmdir(path);
    free(path);
    path = pd_xasprintf("%s/neonctl", dir);
    rmdir(path);
    free(path);
    path = pd_xasprintf("%s/.config", dir);
    rmdir(path);
    free(path);
    assert_int_equal(rmdir(dir), 0);
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("NEON_API_HOST");
    unsetenv("NEON_PROJECT_ID");
    if (home != NULL)
        setenv("HOME", home, 1);
    free(home);
}

static void
test_project_after_423(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_json(&f->srv, 423, LOCKED_JSON);
    fake_json(&f->srv, 200, PROJECT_JSON);
    client_with(f, 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), 0);
    assert_string_equal(p.id, "p");
    assert_string_equal(p.name, "care");
    assert_int_equal(p.pg_version, 15);
    assert_int_equal(p.history_retention_seconds, 604800);
    assert_int_equal(f->srv.n_requests, 2);
    assert_int_equal(f->n_sleeps, 1);
    // full jitter within [base/2, base] on the first retry
    assert_true(f->sleeps[0] >= 0.25 && f->sleeps[0] <= 0.5);
    // what went over the wire: the path, the key as a bearer token, a request id
    assert_non_null(strstr(f->srv.requests[0], "GET /api/v2/projects/p HTTP/1.1\r\n"));
    assert_non_null(strstr(f->srv.requests[0], "Authorization: Bearer " TEST_KEY "\r\n"));
    assert_non_null(strstr(f->srv.requests[0], "X-Request-ID: "));
    assert_non_null(strstr(f->srv.requests[0], "Accept: application/json\r\n"));
    neon_project_clear(&p);
}

static void
test_mutation_errors_name_status_message_request_id(void **state)
{
    struct fixture *f = *state;
    struct neon_branch_create opts = {.name = "r"};
    struct neon_result res;
    struct pd_err err = {0};

    fake_json(&f->srv, 423, LOCKED_JSON);
    client_with(f, 3);
    assert_int_equal(neon_branch_create(f->c, &opts, &res, &err), PD_ESERVICE);
    // the time spent depends on the jitter: compare up to it
    assert_non_null(strstr(err.msg,
                           "neon: POST /projects/p/branches: HTTP 423: project already has running "
                           "conflicting operations, scheduling of new ones is prohibited "
                           "(request_id req-423); gave up after 3 attempts in "));
    assert_true(f->clock >= 0.75 && f->clock <= 1.5);
    assert_int_equal(f->srv.n_requests, 3);
}

static void
test_mutation_not_retried_on_500(void **state)
{
    struct fixture *f = *state;
    struct neon_result res;
    struct pd_err err = {0};

    fake_json(&f->srv, 500, "{\"request_id\":\"r5\",\"code\":\"\",\"message\":\"boom\"}");
    fake_json(&f->srv, 200, "{}");
    client_with(f, 0);
    assert_int_equal(neon_branch_rename(f->c, "br-a", "new", &res, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: PATCH /projects/p/branches/br-a: HTTP 500: boom "
                                 "(request_id r5)");
    assert_int_equal(neon_client_last_status(f->c), 500);
    assert_int_equal(f->srv.n_requests, 1);
    assert_non_null(strstr(f->srv.requests[0], "{\"branch\":{\"name\":\"new\"}}"));
}

static void
test_get_retried_on_500_and_drop(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_json(&f->srv, 500, "{\"code\":\"\",\"message\":\"boom\"}");
    fake_drop(&f->srv);
    fake_json(&f->srv, 200, PROJECT_JSON);
    client_with(f, 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), 0);
    assert_int_equal(f->srv.n_requests, 3);
    neon_project_clear(&p);
}

static void
test_post_not_retried_after_drop(void **state)
{
    struct fixture *f = *state;
    struct neon_result res;
    struct pd_err err = {0};
    char want[256];

    fake_drop(&f->srv);
    fake_json(&f->srv, 200, "{}");
    client_with(f, 0);
    assert_int_equal(neon_branch_set_default(f->c, "br-a", &res, &err), PD_ESERVICE);
    snprintf(want, sizeof(want),
             "neon: POST /projects/p/branches/br-a/set_as_default: http: POST "
             "http://127.0.0.1:%d/api/v2/projects/p/branches/br-a/set_as_default: connection "
             "dropped (empty reply from server)",
             f->srv.port);
    assert_string_equal(err.msg, want);
    assert_int_equal(f->srv.n_requests, 1);
    assert_int_equal(neon_client_last_status(f->c), 0);
}

static void
test_503_storm_gives_up(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_json(&f->srv, 503, "{\"request_id\":\"r3\",\"code\":\"\",\"message\":\"unavailable\"}");
    client_with(f, 4);
    assert_int_equal(neon_project_get(f->c, &p, &err), PD_ESERVICE);
    assert_int_equal(pd_err_exit_code(err.kind), 3);
    assert_int_equal(f->srv.n_requests, 4);
    assert_int_equal(f->n_sleeps, 3);
    // exponential: each cap doubles (0.5, 1, 2), the jitter keeps half to all of it
    for (size_t i = 0; i < 3; i++) {
        double cap = 0.5 * (double)(1 << i);

        assert_true(f->sleeps[i] >= cap / 2 && f->sleeps[i] <= cap);
    }
    assert_non_null(strstr(err.msg, "neon: GET /projects/p: HTTP 503: unavailable (request_id "
                                    "r3); gave up after 4 attempts in "));
}

static void
test_retry_after_is_honoured(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_add(&f->srv, 429, "application/json", "Retry-After: 7\r\n",
             "{\"code\":\"\",\"message\":\"rate limited\"}");
    fake_json(&f->srv, 200, PROJECT_JSON);
    client_with(f, 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), 0);
    assert_int_equal(f->n_sleeps, 1);
    assert_true(f->sleeps[0] == 7.0);
    neon_project_clear(&p);
}

static void
test_retry_after_beyond_budget(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_add(&f->srv, 429, "application/json", "Retry-After: 3600\r\n",
             "{\"request_id\":\"r9\",\"code\":\"\",\"message\":\"rate limited\"}");
    client_with(f, 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: GET /projects/p: HTTP 429: rate limited (request_id r9); "
                                 "gave up after 1 attempt in 0.0s");
    assert_int_equal(f->n_sleeps, 0);
}

static void
test_html_524_is_an_error_not_a_crash(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct neon_result res;
    struct pd_err err = {0};
    const char *html = "<html><body><h1>524: A timeout occurred</h1></body></html>";
    char want[200];

    fake_add(&f->srv, 524, "text/html", "X-Neon-Ret-Request-Id: cf-1\r\n", html);
    client_with(f, 2);
    assert_int_equal(neon_project_get(f->c, &p, &err), PD_ESERVICE);
    snprintf(want, sizeof(want),
             "neon: GET /projects/p: HTTP 524: non-json body (text/html, %zu bytes) (request_id "
             "cf-1); gave up after 2 attempts in ",
             strlen(html));
    assert_memory_equal(err.msg, want, strlen(want));
    // a mutation is not retried on a 524: it may have been applied
    f->srv.served = 0;
    f->srv.n_requests = 2;
    assert_int_equal(neon_branch_set_default(f->c, "br-a", &res, &err), PD_ESERVICE);
    assert_int_equal(f->srv.served, 1);
}

static void
test_non_json_success_body(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_add(&f->srv, 200, "text/html", "", "<html>hi</html>");
    client_with(f, 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: GET /projects/p: HTTP 200: response is not json "
                                 "(text/html)");
}

static void
test_key_never_in_errors(void **state)
{
    struct fixture *f = *state;
    struct neon_project p;
    struct pd_err err = {0};

    fake_json(&f->srv, 401,
              "{\"request_id\":\"r1\",\"code\":\"\",\"message\":\"bad key " TEST_KEY "\"}");
    client_with(f, 0);
    assert_int_equal(neon_project_get(f->c, &p, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: GET /projects/p: HTTP 401: bad key ******** "
                                 "(request_id r1); check NEON_API_KEY");
    assert_null(strstr(err.msg, TEST_KEY));
}

static void
test_branches_pagination(void **state)
{
    struct fixture *f = *state;
    struct neon_branch *v = NULL;
    size_t n = 0;
    struct pd_err err = {0};

    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-a\",\"name\":\"main\",\"default\":true,"
              "\"current_state\":\"ready\"}],\"pagination\":{\"next\":\"c 1\"}}");
    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-b\",\"name\":\"dev\",\"parent_id\":\"br-a\","
              "\"parent_timestamp\":\"2026-01-01T00:00:00Z\"}],\"pagination\":{\"next\":\"c2\"}}");
    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-c\",\"name\":\"x\"}],\"pagination\":{\"next\":\"c2\"}}");
    fake_json(&f->srv, 500, "{}");
    client_with(f, 1);
    assert_int_equal(neon_branches_list(f->c, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, "br-a");
    assert_true(v[0].is_default);
    assert_string_equal(v[0].current_state, "ready");
    assert_string_equal(v[1].parent_id, "br-a");
    assert_string_equal(v[1].parent_timestamp, "2026-01-01T00:00:00Z");
    assert_false(v[1].is_default);
    assert_string_equal(v[2].name, "x");
    // the cursor is sent back escaped; a repeated cursor ends the walk
    assert_int_equal(f->srv.n_requests, 3);
    assert_non_null(strstr(f->srv.requests[0], "GET /api/v2/projects/p/branches HTTP/1.1"));
    assert_non_null(strstr(f->srv.requests[1], "GET /api/v2/projects/p/branches?cursor=c%201 "));
    assert_non_null(strstr(f->srv.requests[2], "GET /api/v2/projects/p/branches?cursor=c2 "));
    neon_branches_free(v, n);
}

static void
test_branch_find(void **state)
{
    static const char *const list =
        "{\"branches\":[{\"id\":\"br-a\",\"name\":\"main\",\"default\":true},"
        "{\"id\":\"br-b\",\"name\":\"dev\"},{\"id\":\"br-c\",\"name\":\"dev\"},"
        "{\"id\":\"br-d\",\"name\":\"br-b\"}]}";

    static const struct {
        const char *query;
        int rc;
        const char *id;
        const char *msg;
    } cases[] = {
        {NULL, 0, "br-a", ""},
        {"main", 0, "br-a", ""},
        {"br-b", 0, "br-b", ""}, // an id wins over a branch named like it
        {"dev", PD_EINPUT, NULL, "neon: branch name dev is shared by 2 branches: use its id"},
        {"prod", PD_ENOENT, NULL, "neon: no branch named or with id prod in project p"},
    };
    struct fixture *f = *state;

    fake_json(&f->srv, 200, list);
    client_with(f, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct neon_branch b;
        struct pd_err err = {0};

        assert_int_equal(neon_branch_find(f->c, cases[i].query, &b, &err), cases[i].rc);
        assert_string_equal(err.msg, cases[i].msg);
        if (cases[i].id != NULL)
            assert_string_equal(b.id, cases[i].id);
        else
            assert_null(b.id);
        neon_branch_clear(&b);
    }
}

static void
test_create_branch_request_and_result(void **state)
{
    struct fixture *f = *state;
    struct neon_branch_create opts = {
        .name = "recovery-2026-11-26-0337",
        .parent_timestamp = "2026-11-26T03:37:01Z",
    };
    struct neon_result r;
    struct pd_err err = {0};
    char *shown;

    fake_json(&f->srv, 201,
              "{\"branch\":{\"id\":\"br-new\",\"name\":\"recovery-2026-11-26-0337\","
              "\"parent_id\":\"br-a\",\"current_state\":\"init\"},"
              "\"endpoints\":[{\"id\":\"ep-1\",\"host\":\"ep-1.example\",\"type\":\"read_write\","
              "\"branch_id\":\"br-new\"}],"
              "\"operations\":[{\"id\":\"op-1\",\"action\":\"create_branch\",\"status\":"
              "\"running\"},{\"id\":\"op-2\",\"action\":\"start_compute\",\"status\":"
              "\"scheduling\"}],\"roles\":[],\"databases\":[],"
              "\"connection_uris\":[{\"connection_uri\":\"postgresql://app:pw-s3cret-9@ep-1/db\","
              "\"connection_parameters\":{}}]}");
    client_with(f, 0);
    assert_int_equal(neon_branch_create(f->c, &opts, &r, &err), 0);
    assert_non_null(strstr(f->srv.requests[0], "POST /api/v2/projects/p/branches HTTP/1.1"));
    assert_non_null(strstr(f->srv.requests[0], "Content-Type: application/json\r\n"));
    assert_non_null(strstr(f->srv.requests[0],
                           "\r\n\r\n{\"branch\":{\"name\":\"recovery-2026-11-26-0337\","
                           "\"parent_timestamp\":\"2026-11-26T03:37:01Z\"},"
                           "\"endpoints\":[{\"type\":\"read_write\"}]}"));
    assert_true(r.has_branch);
    assert_string_equal(r.branch.id, "br-new");
    assert_string_equal(r.branch.current_state, "init");
    assert_int_equal(r.n_endpoints, 1);
    assert_string_equal(r.endpoints[0].host, "ep-1.example");
    assert_int_equal(r.n_operations, 2);
    assert_string_equal(r.operations[1].action, "start_compute");
    assert_int_equal(r.n_connection_uris, 1);
    // the password in a returned uri is registered: it can never be shown
    shown = pd_redact("postgresql://app:pw-s3cret-9@ep-1/db and pw-s3cret-9");
    assert_string_equal(shown, "postgresql://app:********@ep-1/db and ********");
    free(shown);
    neon_result_clear(&r);
}

static void
test_create_branch_rejects_both_points(void **state)
{
    struct fixture *f = *state;
    struct neon_branch_create opts = {.parent_timestamp = "2026-11-26T03:37:01Z",
                                      .parent_lsn = "0/1DE2850"};
    struct neon_result r;
    struct pd_err err = {0};

    client_with(f, 0);
    assert_int_equal(neon_branch_create(f->c, &opts, &r, &err), PD_EUSAGE);
    assert_string_equal(err.msg, "neon: create branch: give parent_timestamp or parent_lsn, not "
                                 "both");
    opts.parent_lsn = NULL;
    opts.parent_timestamp = "yesterday";
    assert_int_equal(neon_branch_create(f->c, &opts, &r, &err), PD_EINPUT);
    assert_string_equal(err.msg, "neon: create branch: parent_timestamp yesterday is not an rfc "
                                 "3339 time");
    assert_int_equal(f->srv.n_requests, 0);
}

static void
test_delete_204_means_gone(void **state)
{
    struct fixture *f = *state;
    struct neon_result r;
    struct pd_err err = {0};
    int gone = -1;

    fake_add(&f->srv, 204, NULL, "", "");
    client_with(f, 0);
    assert_int_equal(neon_branch_delete(f->c, "br-x", &r, &gone, &err), 0);
    assert_int_equal(gone, 1);
    assert_false(r.has_branch);
    assert_non_null(strstr(f->srv.requests[0], "DELETE /api/v2/projects/p/branches/br-x "));
}

static void
test_restore_request(void **state)
{
    struct fixture *f = *state;
    struct neon_branch_restore opts = {.source_branch_id = "br-a",
                                       .source_timestamp = "2026-11-26T03:37:01Z",
                                       .preserve_under_name = "main_old"};
    struct neon_result r;
    struct pd_err err = {0};

    fake_json(&f->srv, 200,
              "{\"branch\":{\"id\":\"br-b\",\"name\":\"main\",\"parent_id\":\"br-old\"},"
              "\"operations\":[]}");
    client_with(f, 0);
    assert_int_equal(neon_branch_restore(f->c, "br-b", &opts, &r, &err), 0);
    assert_non_null(strstr(f->srv.requests[0],
                           "\r\n\r\n{\"source_branch_id\":\"br-a\",\"source_timestamp\":"
                           "\"2026-11-26T03:37:01Z\",\"preserve_under_name\":\"main_old\"}"));
    assert_string_equal(r.branch.parent_id, "br-old");
    neon_result_clear(&r);
}

static void
test_connection_uri_is_registered(void **state)
{
    struct fixture *f = *state;
    struct pd_err err = {0};
    char *uri = NULL, *shown;

    fake_json(&f->srv, 200, "{\"uri\":\"postgresql://app:Xyz-pass-42@127.0.0.1:5433/care\"}");
    client_with(f, 0);
    assert_int_equal(neon_connection_uri(f->c, &uri, "br-b", "care db", "app", &err), 0);
    assert_string_equal(uri, "postgresql://app:Xyz-pass-42@127.0.0.1:5433/care");
    assert_non_null(strstr(f->srv.requests[0], "GET /api/v2/projects/p/connection_uri?branch_id="
                                               "br-b&database_name=care%20db&role_name=app "));
    shown = pd_redact("Xyz-pass-42");
    assert_string_equal(shown, "********");
    free(shown);
    free(uri);
}

struct progress_log {
    char lines[8][128];
    size_t n;
};

static void
on_progress(const struct neon_operation *op, double elapsed, void *payload)
{
    struct progress_log *log = payload;

    (void)elapsed;
    if (log->n < 8)
        snprintf(log->lines[log->n++], sizeof(log->lines[0]), "%s %s %s", op->id, op->action,
                 op->status);
}

static void
test_operations_wait(void **state)
{
    struct fixture *f = *state;
    char id1[] = "op-1", act1[] = "create_branch";
    struct neon_operation ops[1] = {{.id = id1, .action = act1}};
    struct progress_log log = {0};
    struct pd_err err = {0};

    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
              "\"status\":\"scheduling\"}}");
    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
              "\"status\":\"running\"}}");
    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
              "\"status\":\"running\"}}");
    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
              "\"status\":\"finished\"}}");
    client_with(f, 0);
    assert_int_equal(neon_operations_wait(f->c, ops, 1, 60, 2, on_progress, &log, &err), 0);
    assert_int_equal(log.n, 3);
    assert_string_equal(log.lines[0], "op-1 create_branch scheduling");
    assert_string_equal(log.lines[1], "op-1 create_branch running");
    assert_string_equal(log.lines[2], "op-1 create_branch finished");
    assert_int_equal(f->srv.n_requests, 4);
    assert_non_null(strstr(f->srv.requests[0], "GET /api/v2/projects/p/operations/op-1 "));
}

static void
test_operations_wait_failure_and_timeout(void **state)
{
    struct fixture *f = *state;
    char id1[] = "op-1", act1[] = "create_branch", id2[] = "op-2", act2[] = "start_compute";
    struct neon_operation ops[2] = {{.id = id1, .action = act1}, {.id = id2, .action = act2}};
    struct pd_err err = {0};

    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
              "\"status\":\"finished\"}}");
    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-2\",\"action\":\"start_compute\","
              "\"status\":\"failed\",\"error\":\"compute did not start\"}}");
    client_with(f, 0);
    assert_int_equal(neon_operations_wait(f->c, ops, 2, 60, 1, NULL, NULL, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: operation op-2 (start_compute) failed: compute did not "
                                 "start");
    // always running: the deadline ends the wait and names what is pending
    f->srv.served = f->srv.n_responses;
    fake_json(&f->srv, 200,
              "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
              "\"status\":\"running\"}}");
    f->srv.served = f->srv.n_responses - 1;
    assert_int_equal(neon_operations_wait(f->c, ops, 1, 5, 1, NULL, NULL, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: operations still pending after 5s: op-1 (create_branch) "
                                 "is running and 0 more");
}

static void
test_terminal_statuses(void **state)
{
    static const struct {
        const char *status;
        int terminal;
    } cases[] = {
        {"scheduling", 0}, {"running", 0},   {"cancelling", 0}, {"finished", 1}, {"failed", 1},
        {"error", 1},      {"cancelled", 1}, {"skipped", 1},    {"", 0},         {"unknown", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(neon_operation_status_is_terminal(cases[i].status), cases[i].terminal);
    assert_int_equal(neon_operation_status_is_terminal(NULL), 0);
}

static void
test_check_timestamp(void **state)
{
    static const struct {
        const char *ts;
        int rc;
        const char *msg;
    } cases[] = {
        {"2026-11-26T03:00:00Z", 0, ""},
        {"2026-11-26T04:00:00+01:00", 0, ""},
        {"2026-11-26T05:00:00Z", PD_EINPUT,
         "neon: restore point 2026-11-26T05:00:00Z is in the future (now is "
         "2026-11-26T04:00:00.000Z)"},
        {"2026-11-24T03:59:59Z", PD_EINPUT,
         "neon: restore point 2026-11-24T03:59:59Z is outside the project's history window of "
         "86400s (oldest restorable time is 2026-11-25T04:00:00.000Z)"},
        {"26/11/2026", PD_EINPUT,
         "neon: restore point 26/11/2026 is not an rfc 3339 time like 2026-11-26T03:37:01Z"},
        {NULL, PD_EINPUT,
         "neon: restore point (none) is not an rfc 3339 time like 2026-11-26T03:37:01Z"},
    };

    double now, created;
    struct pd_err err = {0};

    (void)state;
    assert_int_equal(pd_time_parse_rfc3339(&now, "2026-11-26T04:00:00Z", 1), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pd_err_clear(&err);
        assert_int_equal(neon_check_timestamp(cases[i].ts, now, 86400, 0, "main", &err),
                         cases[i].rc);
        assert_string_equal(err.msg, cases[i].msg);
    }
    // a branch younger than the retention: its creation is the earliest time
    assert_int_equal(pd_time_parse_rfc3339(&created, "2026-11-26T02:00:00Z", 1), 0);
    pd_err_clear(&err);
    assert_int_equal(
        neon_check_timestamp("2026-11-26T02:00:00Z", now, 86400, created, "main", &err), 0);
    assert_int_equal(
        neon_check_timestamp("2026-11-26T01:59:59Z", now, 86400, created, "main", &err), PD_EINPUT);
    assert_string_equal(err.msg,
                        "neon: restore point 2026-11-26T01:59:59Z is before branch main was "
                        "created: its earliest restorable time is 2026-11-26T02:00:00.000Z (UTC). "
                        "Choose a later restore point, or restore from the S3 backup (Scenario 2: "
                        "restore-from-s3; `pgdrill timeline --incident TIME` recommends the "
                        "source)");
    // an older branch: the retention bounds the window, as before
    assert_int_equal((long)neon_window_start(now, 86400, created - 86400), (long)now - 86400);
    assert_int_equal((long)neon_window_start(now, 86400, now + 10), (long)now);
}

static void
test_action_usage_errors(void **state)
{
    static const struct {
        struct neon_action_args args;
        const char *msg;
    } cases[] = {
        {{.op = NULL}, "neon: step needs op="},
        {{.op = "branch-explode"},
         "neon: unknown op branch-explode (one of: project-get branch-list branch-get "
         "branch-default branch-absent branch-create branch-delete branch-rename branch-restore "
         "branch-keep branch-set-default endpoint-list endpoint-create endpoint-start "
         "database-list role-list connection-uri operation-get operations-wait)"},
        {{.op = "branch-delete"}, "neon: branch-delete needs branch="},
        {{.op = "branch-default", .branch = "main"},
         "neon: branch-default takes no branch= (it finds the default branch)"},
        {{.op = "branch-rename", .branch = "dev"}, "neon: branch-rename needs name="},
        {{.op = "branch-set-default"}, "neon: branch-set-default needs branch="},
        {{.op = "branch-restore", .branch = "dev"}, "neon: branch-restore needs source="},
        {{.op = "connection-uri", .role = "app"}, "neon: connection-uri needs database="},
        {{.op = "endpoint-create"}, "neon: endpoint-create needs branch="},
        {{.op = "branch-create", .endpoint = "ep-1"},
         "neon: branch-create: endpoint= may only be none"},
        {{.op = "operation-get"}, "neon: operation-get needs operation="},
        {{.op = "operations-wait", .operation = " , "}, "neon: operations-wait needs operation="},
        {{.op = "branch-create", .timestamp = "2026-11-26T03:00:00Z", .lsn = "0/1"},
         "neon: branch-create: give timestamp= or lsn=, not both"},
    };
    struct fixture *f = *state;

    client_with(f, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct neon_action_out out;
        struct pd_err err = {0};

        assert_int_equal(neon_action_run(f->c, &cases[i].args, 0, NULL, NULL, &out, &err),
                         PD_EUSAGE);
        assert_string_equal(err.msg, cases[i].msg);
        assert_null(out.id);
    }
    assert_int_equal(f->srv.n_requests, 0);
}

static void
test_action_create_refuses_old_point_before_any_mutation(void **state)
{
    struct fixture *f = *state;
    struct neon_action_args a = {.op = "branch-create", .name = "recovery",
                                 .timestamp = "2026-11-18T00:00:00Z"};
    struct neon_action_out out;
    struct pd_err err = {0};
    double now;

    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-main\",\"name\":\"main\",\"default\":true,"
              "\"created_at\":\"2026-01-01T00:00:00Z\"}]}");
    fake_json(&f->srv, 200, PROJECT_JSON);
    client_with(f, 0);
    assert_int_equal(pd_time_parse_rfc3339(&now, "2026-11-26T04:00:00Z", 1), 0);
    assert_int_equal(neon_action_run(f->c, &a, now, NULL, NULL, &out, &err), PD_EINPUT);
    assert_string_equal(err.msg, "neon: restore point 2026-11-18T00:00:00Z is outside the "
                                 "project's history window of 604800s (oldest restorable time "
                                 "is 2026-11-19T04:00:00.000Z)");
    assert_int_equal(f->srv.n_requests, 2);
    assert_non_null(strstr(f->srv.requests[1], "GET /api/v2/projects/p HTTP/1.1"));
}

/* A parent younger than the retention: a point before its creation is refused, nothing made. */
static void
test_action_create_refuses_point_before_parent(void **state)
{
    struct fixture *f = *state;
    struct neon_action_args a = {.op = "branch-create", .name = "recovery",
                                 .timestamp = "2026-11-25T00:00:00Z"};
    struct neon_action_out out;
    struct pd_err err = {0};
    double now;

    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-prod\",\"name\":\"production\",\"default\":"
              "true,\"created_at\":\"2026-11-25T12:00:00Z\"}]}");
    fake_json(&f->srv, 200, PROJECT_JSON);
    client_with(f, 0);
    assert_int_equal(pd_time_parse_rfc3339(&now, "2026-11-26T04:00:00Z", 1), 0);
    assert_int_equal(neon_action_run(f->c, &a, now, NULL, NULL, &out, &err), PD_EINPUT);
    assert_non_null(strstr(err.msg, "before branch production was created: its earliest "
                                    "restorable time is 2026-11-25T12:00:00.000Z (UTC)"));
    assert_int_equal(f->srv.n_requests, 2);
}

static void
test_action_create_resolves_parent_and_saves(void **state)
{
    struct fixture *f = *state;
    struct neon_action_args a = {.op = "branch-create", .name = "recovery", .parent = "main",
                                 .timestamp = "2026-11-26T03:00:00Z"};
    struct neon_action_out out;
    struct pd_err err = {0};
    double now;

    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-x\",\"name\":\"dev\"},{\"id\":\"br-main\","
              "\"name\":\"main\",\"default\":true}]}");
    fake_json(&f->srv, 200, PROJECT_JSON);
    fake_json(&f->srv, 201,
              "{\"branch\":{\"id\":\"br-rec\",\"name\":\"recovery\"},\"endpoints\":[{\"id\":"
              "\"ep-r\",\"host\":\"ep-r.local\",\"type\":\"read_write\"}],\"operations\":[{\"id\":"
              "\"op-9\",\"action\":\"create_branch\",\"status\":\"running\"}],"
              "\"connection_uris\":[{\"connection_uri\":\"postgresql://app:pw-9f8e7d@ep-r.local/"
              "care\"}]}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-9\",\"action\":\"create_branch\","
                            "\"status\":\"finished\"}}");
    client_with(f, 0);
    assert_int_equal(pd_time_parse_rfc3339(&now, "2026-11-26T04:00:00Z", 1), 0);
    assert_int_equal(neon_action_run(f->c, &a, now, NULL, NULL, &out, &err), 0);
    assert_string_equal(out.id, "br-rec");
    assert_string_equal(out.name, "recovery");
    assert_string_equal(out.host, "ep-r.local");
    assert_string_equal(out.uri, "postgresql://app:pw-9f8e7d@ep-r.local/care");
    assert_string_equal(out.summary,
                        "created branch recovery (br-rec) from main at 2026-11-26T03:00:00Z");
    assert_int_equal(f->srv.n_requests, 4);
    assert_non_null(strstr(f->srv.requests[2],
                           "{\"branch\":{\"name\":\"recovery\",\"parent_id\":\"br-main\","
                           "\"parent_timestamp\":\"2026-11-26T03:00:00Z\"},\"endpoints\":[{"
                           "\"type\":\"read_write\"}]}"));
    assert_non_null(strstr(f->srv.requests[3], "GET /api/v2/projects/p/operations/op-9 "));
    neon_action_out_clear(&out);
}

/*
 * ttl_s sends expires_at to the second; a 400 that names expires_at is said
 * once and the branch is created without it, and no later create sends it.
 */
static void
test_action_create_expiry_and_refusal(void **state)
{
    static const char *const branches = "{\"branches\":[{\"id\":\"br-main\",\"name\":\"main\","
                                        "\"default\":true}]}";
    static const char *const created =
        "{\"branch\":{\"id\":\"br-t\",\"name\":\"tmp\"},\"endpoints\":[],\"operations\":[]}";
    struct fixture *f = *state;
    struct neon_action_args a = {.op = "branch-create", .name = "tmp", .ttl_s = 86400};
    struct neon_action_out out;
    struct pd_err err = {0};
    double now;

    assert_int_equal(pd_time_parse_rfc3339(&now, "2026-11-26T04:00:00.250Z", 1), 0);
    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 201, created);
    client_with(f, 0);
    assert_int_equal(neon_action_run(f->c, &a, now, NULL, NULL, &out, &err), 0);
    assert_non_null(strstr(f->srv.requests[1], "\"expires_at\":\"2026-11-27T04:00:00Z\""));
    assert_string_equal(out.summary, "created branch tmp (br-t) from main at its head, expires at "
                                     "2026-11-27T04:00:00Z");
    assert_int_equal(out.n_lines, 0);
    neon_action_out_clear(&out);
    // the project refuses the field: one warning line, created again without it
    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 400,
              "{\"code\":\"\",\"message\":\"expires_at: the feature is limited to the Early "
              "Access Program\"}");
    fake_json(&f->srv, 201, created);
    assert_int_equal(neon_action_run(f->c, &a, now, NULL, NULL, &out, &err), 0);
    assert_int_equal(f->srv.n_requests, 5);
    assert_non_null(strstr(f->srv.requests[3], "\"expires_at\""));
    assert_null(strstr(f->srv.requests[4], "expires_at"));
    assert_int_equal(out.n_lines, 1);
    assert_non_null(strstr(out.lines[0], "warning: the project does not accept expires_at ("));
    assert_string_equal(out.summary,
                        "created branch tmp (br-t) from main at its head, without an expiry");
    neon_action_out_clear(&out);
    // later creates leave it out without asking or warning again
    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 201, created);
    assert_int_equal(neon_action_run(f->c, &a, now, NULL, NULL, &out, &err), 0);
    assert_int_equal(f->srv.n_requests, 7);
    assert_null(strstr(f->srv.requests[6], "expires_at"));
    assert_int_equal(out.n_lines, 0);
    neon_action_out_clear(&out);
}

static void
test_action_branch_list_lines_and_default(void **state)
{
    struct fixture *f = *state;
    struct neon_action_args a = {.op = "branch-list"};
    struct neon_action_out out;
    struct pd_err err = {0};

    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-a\",\"name\":\"dev\",\"current_state\":\"ready\","
              "\"parent_timestamp\":\"2026-11-25T10:00:00Z\"}],\"pagination\":{\"next\":\"c1\"}}");
    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-m\",\"name\":\"main\",\"default\":true,"
              "\"current_state\":\"ready\"}]}");
    client_with(f, 0);
    assert_int_equal(neon_action_run(f->c, &a, 0, NULL, NULL, &out, &err), 0);
    assert_int_equal(out.n_lines, 2);
    assert_string_equal(out.lines[0],
                        "branch dev (br-a) ready, parent_timestamp 2026-11-25T10:00:00Z");
    assert_string_equal(out.lines[1], "branch main (br-m) ready, default, parent_timestamp -");
    assert_string_equal(out.summary, "2 branches, default main");
    assert_string_equal(out.id, "br-m");
    assert_string_equal(out.name, "main");
    assert_null(out.host);
    // the second page was fetched
    assert_int_equal(f->srv.n_requests, 2);
    assert_non_null(strstr(f->srv.requests[1], "GET /api/v2/projects/p/branches?cursor=c1 "));
    neon_action_out_clear(&out);
}

/* The default branch is the one the API marks default, whatever its name and place. */
static void
test_action_branch_default_by_flag_not_name(void **state)
{
    struct fixture *f = *state;
    struct neon_action_args a = {.op = "branch-default"};
    struct neon_action_out out;
    struct pd_err err = {0};

    fake_json(&f->srv, 200,
              "{\"branches\":[{\"id\":\"br-m\",\"name\":\"main\"},{\"id\":\"br-p\","
              "\"name\":\"production\",\"default\":true}]}");
    fake_json(&f->srv, 200,
              "{\"endpoints\":[{\"id\":\"ep-p\",\"branch_id\":\"br-p\",\"host\":\"p.local\","
              "\"type\":\"read_write\",\"current_state\":\"active\"}]}");
    client_with(f, 0);
    assert_int_equal(neon_action_run(f->c, &a, 0, NULL, NULL, &out, &err), 0);
    assert_string_equal(out.id, "br-p");
    assert_string_equal(out.name, "production");
    assert_string_equal(out.host, "p.local");
    assert_string_equal(out.summary,
                        "the default branch is production (br-p), endpoint host p.local");
    assert_non_null(strstr(f->srv.requests[1], "GET /api/v2/projects/p/branches/br-p/endpoints "));
    neon_action_out_clear(&out);
    // a project without a default branch is an error that says so
    fake_json(&f->srv, 200, "{\"branches\":[{\"id\":\"br-m\",\"name\":\"main\"}]}");
    assert_int_equal(neon_action_run(f->c, &a, 0, NULL, NULL, &out, &err), PD_ENOENT);
    assert_string_equal(err.msg, "neon: project p has no default branch");
}

static void
test_action_endpoints_databases_roles(void **state)
{
    static const char *const branches =
        "{\"branches\":[{\"id\":\"br-m\",\"name\":\"main\",\"default\":true},"
        "{\"id\":\"br-d\",\"name\":\"dev\"}]}";
    struct fixture *f = *state;
    struct neon_action_args list = {.op = "endpoint-list", .branch = "dev"};
    struct neon_action_args create = {.op = "endpoint-create", .branch = "dev"};
    struct neon_action_args dbs = {.op = "database-list"};
    struct neon_action_args roles = {.op = "role-list", .branch = "br-d"};
    struct neon_action_out out;
    struct pd_err err = {0};

    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 200,
              "{\"endpoints\":[{\"id\":\"ep-ro\",\"branch_id\":\"br-d\",\"host\":\"ro.local\","
              "\"type\":\"read_only\",\"current_state\":\"idle\"},{\"id\":\"ep-rw\",\"branch_id\":"
              "\"br-d\",\"host\":\"rw.local\",\"type\":\"read_write\",\"current_state\":"
              "\"active\"}]}");
    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 201,
              "{\"endpoint\":{\"id\":\"ep-new\",\"branch_id\":\"br-d\",\"host\":\"new.local\","
              "\"type\":\"read_write\"},\"operations\":[{\"id\":\"op-e\",\"action\":"
              "\"start_compute\",\"status\":\"running\"}]}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-e\",\"action\":\"start_compute\","
                            "\"status\":\"finished\"}}");
    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 200,
              "{\"databases\":[{\"id\":1,\"branch_id\":\"br-m\",\"name\":\"neondb\","
              "\"owner_name\":\"app\"},{\"id\":2,\"branch_id\":\"br-m\",\"name\":\"care\","
              "\"owner_name\":\"care_owner\"}]}");
    fake_json(&f->srv, 200, branches);
    fake_json(&f->srv, 200, "{\"roles\":[{\"branch_id\":\"br-d\",\"name\":\"app\"}]}");
    client_with(f, 0);

    assert_int_equal(neon_action_run(f->c, &list, 0, NULL, NULL, &out, &err), 0);
    assert_int_equal(out.n_lines, 2);
    assert_string_equal(out.lines[0], "endpoint ep-ro on br-d: read_only, idle, host ro.local");
    assert_string_equal(out.lines[1], "endpoint ep-rw on br-d: read_write, active, host rw.local");
    assert_string_equal(out.summary, "2 endpoints on branch dev (br-d)");
    assert_string_equal(out.id, "ep-rw");
    assert_string_equal(out.host, "rw.local");
    assert_non_null(strstr(f->srv.requests[1], "GET /api/v2/projects/p/branches/br-d/endpoints "));
    neon_action_out_clear(&out);

    assert_int_equal(neon_action_run(f->c, &create, 0, NULL, NULL, &out, &err), 0);
    assert_string_equal(out.summary,
                        "created read_write endpoint ep-new on branch dev (br-d), host new.local");
    assert_string_equal(out.id, "ep-new");
    assert_string_equal(out.host, "new.local");
    assert_int_equal(out.n_lines, 0);
    assert_non_null(strstr(f->srv.requests[3], "POST /api/v2/projects/p/endpoints "));
    assert_non_null(strstr(f->srv.requests[3], "\"branch_id\":\"br-d\""));
    assert_non_null(strstr(f->srv.requests[3], "\"type\":\"read_write\""));
    assert_non_null(strstr(f->srv.requests[4], "GET /api/v2/projects/p/operations/op-e "));
    neon_action_out_clear(&out);

    // without branch=: the default branch
    assert_int_equal(neon_action_run(f->c, &dbs, 0, NULL, NULL, &out, &err), 0);
    assert_int_equal(out.n_lines, 2);
    assert_string_equal(out.lines[0], "database neondb, owner app");
    assert_string_equal(out.lines[1], "database care, owner care_owner");
    assert_string_equal(out.summary, "2 databases on branch main (br-m)");
    assert_string_equal(out.id, "br-m");
    assert_non_null(strstr(f->srv.requests[6], "GET /api/v2/projects/p/branches/br-m/databases "));
    neon_action_out_clear(&out);

    assert_int_equal(neon_action_run(f->c, &roles, 0, NULL, NULL, &out, &err), 0);
    assert_int_equal(out.n_lines, 1);
    assert_string_equal(out.lines[0], "role app");
    assert_string_equal(out.summary, "1 role on branch dev (br-d)");
    assert_string_equal(out.name, "dev");
    assert_non_null(strstr(f->srv.requests[8], "GET /api/v2/projects/p/branches/br-d/roles "));
    neon_action_out_clear(&out);
    assert_int_equal(f->srv.n_requests, 9);
}

static void
test_action_operation_get_and_wait(void **state)
{
    struct fixture *f = *state;
    struct neon_action_args get = {.op = "operation-get", .operation = "op-1"};
    struct neon_action_args wait = {.op = "operations-wait", .operation = "op-1, op-2"};
    struct neon_action_args bad = {.op = "operations-wait", .operation = "op-3"};
    struct neon_action_out out;
    struct pd_err err = {0};

    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
                            "\"branch_id\":\"br-r\",\"status\":\"running\"}}");
    // wait: op-1 running then finished, op-2 finished; then the final look-ups
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
                            "\"branch_id\":\"br-r\",\"status\":\"running\"}}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-2\",\"action\":\"start_compute\","
                            "\"branch_id\":\"br-r\",\"status\":\"finished\"}}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
                            "\"branch_id\":\"br-r\",\"status\":\"finished\"}}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-1\",\"action\":\"create_branch\","
                            "\"branch_id\":\"br-r\",\"status\":\"finished\"}}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-2\",\"action\":\"start_compute\","
                            "\"branch_id\":\"br-r\",\"status\":\"finished\"}}");
    fake_json(&f->srv, 200, "{\"operation\":{\"id\":\"op-3\",\"action\":\"delete_timeline\","
                            "\"branch_id\":\"br-r\",\"status\":\"failed\",\"error\":\"disk "
                            "full\"}}");
    client_with(f, 0);

    assert_int_equal(neon_action_run(f->c, &get, 0, NULL, NULL, &out, &err), 0);
    assert_string_equal(out.summary, "operation op-1 (create_branch) is running");
    assert_string_equal(out.lines[0], "operation op-1 (create_branch) on branch br-r: running");
    assert_string_equal(out.id, "op-1");
    assert_string_equal(out.name, "running");
    neon_action_out_clear(&out);

    assert_int_equal(neon_action_run(f->c, &wait, 0, NULL, NULL, &out, &err), 0);
    assert_string_equal(out.summary, "2 operations finished");
    assert_int_equal(out.n_lines, 2);
    assert_string_equal(out.lines[0], "operation op-1 (create_branch) on branch br-r: finished");
    assert_string_equal(out.lines[1], "operation op-2 (start_compute) on branch br-r: finished");
    assert_string_equal(out.id, "op-2");
    neon_action_out_clear(&out);

    assert_int_equal(neon_action_run(f->c, &bad, 0, NULL, NULL, &out, &err), PD_ESERVICE);
    assert_string_equal(err.msg, "neon: operation op-3 (delete_timeline) failed: disk full");
    assert_null(out.summary);
    assert_int_equal(out.n_lines, 0);
    assert_int_equal(f->srv.n_requests, 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_rejects_bad_config),
        cmocka_unit_test_setup_teardown(test_project_after_423, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_from_neonctl_credentials, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutation_errors_name_status_message_request_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_mutation_not_retried_on_500, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_retried_on_500_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_not_retried_after_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503_storm_gives_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_is_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_beyond_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_html_524_is_an_error_not_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_json_success_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_never_in_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branches_pagination, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branch_find, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_branch_request_and_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_branch_rejects_both_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_204_means_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_uri_is_registered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operations_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_operations_wait_failure_and_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_action_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_action_create_refuses_old_point_before_any_mutation,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_action_create_refuses_point_before_parent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_action_create_resolves_parent_and_saves, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_action_create_expiry_and_refusal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_action_branch_default_by_flag_not_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_action_branch_list_lines_and_default, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_action_endpoints_databases_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_action_operation_get_and_wait, setup, teardown),
        cmocka_unit_test(test_terminal_statuses),
        cmocka_unit_test(test_check_timestamp),
    };

    return cmocka_run_group_tests_name("neon", tests, NULL, NULL);
}
