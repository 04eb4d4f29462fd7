/* doctor: the checks of `pgdrill doctor`, one row each, in the order they are shown. */
#include "doctor/doctor.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "neon/client.h"
#include "pd_err.h"
#include "pd_mem.h"
#include "pd_proc.h"
#include "pg/pg.h"
#include "s3/client.h"
#include "s3/creds.h"

/* What the checks share while doctor_run goes down the table. */
struct doctor_state {
    const struct doctor_opts *o;
    doctor_line_fn *fn;
    void *payload;
    struct audit *audit; /* opened by the first service check */
    int audit_tried;
    int server_major; /* DATABASE_URL's server; 0 when unknown */
    int failures;
};

const char *
doctor_status_name(enum doctor_status s)
{
    static const char *const names[] = {
        [DOCTOR_OK] = "ok", [DOCTOR_SKIP] = "skip", [DOCTOR_FAIL] = "FAIL"};

    return names[s];
}

static void emit(struct doctor_state *st, enum doctor_status s, const char *name, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void
emit(struct doctor_state *st, enum doctor_status s, const char *name, const char *fmt, ...)
{
    va_list ap;
    char text[1024];
    struct doctor_line line = {.status = s, .name = name, .text = text};

    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (s == DOCTOR_FAIL)
        st->failures++;
    st->fn(&line, st->payload);
}

static const char *
env(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * The audit log, opened on first use: 0, or -1 after a FAIL line for name.
 * A request that cannot be audited must not be sent, so each check calls
 * this before its request and stops on failure.
 */
static int
audit_ready(struct doctor_state *st, const char *name)
{
    struct pd_err err;

    pd_err_clear(&err);
    if (st->audit == NULL && !st->audit_tried) {
        st->audit_tried = 1;
        if (audit_open(&st->audit, st->o->home, st->o->operator_name, &err) != 0)
            st->audit = NULL;
    }
    if (st->audit == NULL) {
        emit(st, DOCTOR_FAIL, name,
             "not checked: the audit log cannot be opened: fix $PGDRILL_HOME");
        return -1;
    }
    return 0;
}

/* Record a request in the audit log (audit_ready first): 0, or -1 after a FAIL line. */
static int
audit_note(struct doctor_state *st, const char *name, const char *target, const struct pd_err *res)
{
    struct pd_err err;

    pd_err_clear(&err);
    if (audit_ready(st, name) != 0)
        return -1;
    char action[32];

    (void)snprintf(action, sizeof(action), "doctor.%s", name);
    if (audit_record(st->audit, NULL, action, target, NULL, 0, res ? res->msg : NULL, &err) != 0) {
        emit(st, DOCTOR_FAIL, name, "%s", err.msg);
        return -1;
    }
    return 0;
}

/* ---- home ----------------------------------------------------------------- */

static void
check_home(struct doctor_state *st)
{
    const char *home = st->o->home;
    struct stat sb;

    if (stat(home, &sb) != 0) {
        if (errno == ENOENT)
            emit(st, DOCTOR_OK, "home", "%s does not exist yet; pgdrill creates it with mode 0700",
                 home);
        else
            emit(st, DOCTOR_FAIL, "home", "%s: %s: fix the path or set PGDRILL_HOME", home,
                 strerror(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        emit(st, DOCTOR_FAIL, "home", "%s is not a directory: set PGDRILL_HOME to a directory",
             home);
    } else if (sb.st_uid != geteuid()) {
        emit(st, DOCTOR_FAIL, "home",
             "%s belongs to uid %u, not to you: chown it or set PGDRILL_HOME", home,
             (unsigned)sb.st_uid);
    } else if ((sb.st_mode & 066) != 0) {
        // search (x) alone lists nothing: the sandbox grants it to its PostgreSQL user
        emit(st, DOCTOR_FAIL, "home",
             "%s has mode %04o: others may read journals, reports and the audit log: chmod %s %s",
             home, (unsigned)(sb.st_mode & 07777), (sb.st_mode & 011) ? "go-rw" : "700", home);
    } else {
        emit(st, DOCTOR_OK, "home", "%s has mode %04o", home, (unsigned)(sb.st_mode & 07777));
    }
}

/* ---- PostgreSQL and the client tools -------------------------------------- */

static void
check_postgres(struct doctor_state *st)
{
    const char *url = env("DATABASE_URL");
    struct pg_conn *c = NULL;
    struct pg_result *r = NULL;
    struct pg_query_opts qo = {.read_only = true, .timeout_ms = 10000};
    struct pd_err err;
    char *target;
    int rc;

    if (url == NULL) {
        emit(st, DOCTOR_SKIP, "postgres",
             "DATABASE_URL is not set: set it to check the database and pg_dump against it");
        return;
    }
    if (audit_ready(st, "postgres") != 0)
        return;
    pd_err_clear(&err);
    target = audit_target_of_url(url);
    rc = pg_connect(&c, url, &err);
    if (rc == 0)
        rc = pg_query(c, &r,
                      "SELECT current_setting('server_version_num'), "
                      "current_setting('server_version')",
                      NULL, 0, &qo, &err);
    if (audit_note(st, "postgres", target, rc ? &err : NULL) != 0)
        goto out;
    if (rc != 0) {
        emit(st, DOCTOR_FAIL, "postgres", "%s: check DATABASE_URL, the network and the server",
             err.msg);
        goto out;
    }
    st->server_major = (int)(strtol(pg_result_value(r, 0, 0), NULL, 10) / 10000);
    emit(st, DOCTOR_OK, "postgres", "%s: PostgreSQL %s", target, pg_result_value(r, 0, 1));
out:
    pg_result_free(r);
    pg_conn_free(c);
    free(target);
}

/* The major of "pg_dump (PostgreSQL) 15.4 (Debian 15.4-1)"; 0 when there is none. */
static int
tool_major(const char *version)
{
    const char *p = strstr(version, "(PostgreSQL) ");

    p = p ? p + strlen("(PostgreSQL) ") : version;
    while (*p != '\0' && (*p < '0' || *p > '9'))
        p++;
    return (int)strtol(p, NULL, 10);
}

/* A PostgreSQL client tool: found, its version, and for pg_dump its major against the server's. */
static void
check_tool(struct doctor_state *st, const char *name, const char *prog, int match_server)
{
    char a_version[] = "--version";
    char *argv[] = {(char *)(uintptr_t)prog, a_version, NULL};
    char *out = NULL;
    int status, major;
    struct pd_err err;

    pd_err_clear(&err);
    if (pd_proc_output(&out, &status, prog, argv, 512, &err) != 0) {
        emit(st, DOCTOR_FAIL, name, "%s: install postgresql-client (the server's major)", err.msg);
        return;
    }
    out[strcspn(out, "\n")] = '\0';
    major = tool_major(out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || major == 0)
        emit(st, DOCTOR_FAIL, name, "%s --version failed or said no version: reinstall it", prog);
    else if (match_server && st->server_major > 0 && major < st->server_major)
        emit(st, DOCTOR_FAIL, name,
             "%s is %s, older than the server's major %d, which it cannot dump: install "
             "postgresql-client-%d or set PGDRILL_PG_DUMP",
             prog, out, st->server_major, st->server_major);
    else if (match_server && st->server_major > 0)
        emit(st, DOCTOR_OK, name, "%s (the server is PostgreSQL %d)", out, st->server_major);
    else
        emit(st, DOCTOR_OK, name, "%s", out);
    free(out);
}

static void
check_tools(struct doctor_state *st)
{
    const char *pg_dump = env("PGDRILL_PG_DUMP");

    check_tool(st, "pg_dump", pg_dump ? pg_dump : "pg_dump", 1);
    check_tool(st, "pg_restore", "pg_restore", 0);
    check_tool(st, "psql", "psql", 0);
}

/* ---- Neon ----------------------------------------------------------------- */

static void
check_neon(struct doctor_state *st)
{
    struct neon_client *c = NULL;
    struct neon_project p;
    struct pd_err err;
    char *target;
    int rc;

    memset(&p, 0, sizeof(p));
    if (env("NEON_API_KEY") == NULL || env("NEON_PROJECT_ID") == NULL) {
        emit(st, DOCTOR_SKIP, "neon",
             "NEON_API_KEY and NEON_PROJECT_ID are not both set: set them for Scenarios 1 and 3");
        return;
    }
    if (audit_ready(st, "neon") != 0)
        return;
    pd_err_clear(&err);
    target = neon_audit_target(env("NEON_API_HOST"), env("NEON_PROJECT_ID"));
    if (neon_client_new_from_env(&c, &err) != 0) {
        emit(st, DOCTOR_FAIL, "neon", "%s: fix NEON_API_HOST", err.msg);
        goto out;
    }
    rc = neon_project_get(c, &p, &err);
    if (audit_note(st, "neon", target, rc ? &err : NULL) != 0)
        goto out;
    if (rc != 0)
        emit(st, DOCTOR_FAIL, "neon",
             "%s: check NEON_API_HOST, NEON_PROJECT_ID, the key and the network", err.msg);
    else
        emit(st, DOCTOR_OK, "neon", "%s: project %s, PostgreSQL %d, history window %.1f days",
             target, p.name ? p.name : p.id, p.pg_version,
             (double)p.history_retention_seconds / 86400.0);
out:
    neon_project_clear(&p);
    neon_client_free(c);
    free(target);
}

/* ---- credentials ---------------------------------------------------------- */

static void
check_credentials(struct doctor_state *st)
{
    struct s3_creds c;
    struct pd_err err;
    char aws[256];
    char *neon_path;

    pd_err_clear(&err);
    if (s3_creds_load(&c, NULL, &err) != 0) {
        emit(st, env("PGDRILL_BACKUP_URI") ? DOCTOR_FAIL : DOCTOR_SKIP, "credentials", "AWS: %s",
             err.msg);
    } else {
        s3_creds_describe(&c, aws, sizeof(aws));
        emit(st, DOCTOR_OK, "credentials", "AWS: %s, region %s%s%s", aws,
             c.region ? c.region : "from the bucket", c.endpoint_url ? ", endpoint " : "",
             c.endpoint_url ? c.endpoint_url : "");
        s3_creds_free(&c);
    }
    neon_path = neon_credentials_path();
    if (env("NEON_API_KEY") != NULL)
        emit(st, DOCTOR_OK, "credentials", "Neon: NEON_API_KEY from the environment");
    else if (neon_path != NULL && access(neon_path, F_OK) == 0)
        emit(st, DOCTOR_OK, "credentials", "Neon: neonctl's saved credentials, %s", neon_path);
    free(neon_path);
}

/* ---- S3 and the clock ----------------------------------------------------- */

static void
check_clock(struct doctor_state *st, double server_time)
{
    double skew;

    if (server_time <= 0) {
        emit(st, DOCTOR_SKIP, "clock", "S3 sent no Date header to compare this clock with");
        return;
    }
    skew = (double)time(NULL) - server_time;
    if (fabs(skew) > DOCTOR_MAX_SKEW_S)
        emit(st, DOCTOR_FAIL, "clock",
             "this clock is %.0f s %s S3's (more than %.0f s): S3 refuses signatures 15 minutes "
             "off and drill times use this clock: synchronise it (timedatectl set-ntp true)",
             fabs(skew), skew > 0 ? "ahead of" : "behind", DOCTOR_MAX_SKEW_S);
    else
        emit(st, DOCTOR_OK, "clock", "within %.0f s of S3's Date header", fabs(skew));
}

static void
check_s3(struct doctor_state *st)
{
    const char *uri = env("PGDRILL_BACKUP_URI");
    struct s3_client *c = NULL;
    struct s3_uri u = {0};
    struct pd_err err;
    double server_time = 0;
    char *target = NULL;
    int rc;

    if (uri == NULL) {
        emit(st, DOCTOR_SKIP, "s3",
             "PGDRILL_BACKUP_URI is not set: set it (s3://BUCKET) for backups");
        emit(st, DOCTOR_SKIP, "clock", "not compared: S3 is not configured");
        return;
    }
    pd_err_clear(&err);
    if ((rc = s3_uri_parse(&u, uri, &err)) == 0)
        rc = s3_client_new_from_env(&c, &err);
    if (rc != 0) {
        emit(st, DOCTOR_FAIL, "s3", "%s: fix PGDRILL_BACKUP_URI or the AWS settings", err.msg);
        emit(st, DOCTOR_SKIP, "clock", "not compared: S3 was not reached");
        goto out;
    }
    target = pd_xasprintf("s3://%s", u.bucket);
    if (audit_ready(st, "s3") != 0) {
        emit(st, DOCTOR_SKIP, "clock", "not compared: S3 was not reached");
        goto out;
    }
    rc = s3_client_head_bucket(c, u.bucket, &server_time, &err);
    if (audit_note(st, "s3", target, rc ? &err : NULL) != 0)
        goto out;
    if (rc != 0)
        emit(st, DOCTOR_FAIL, "s3",
             "%s: check the bucket, the credentials, AWS_ENDPOINT_URL_S3 and the network", err.msg);
    else
        emit(st, DOCTOR_OK, "s3", "%s answers", target);
    check_clock(st, server_time);
out:
    free(target);
    s3_client_free(c);
    s3_uri_free(&u);
}

/* ---- the table ------------------------------------------------------------ */

/* The checks in the order they run: postgres before the tools, which compare with its major. */
static void (*const checks[])(struct doctor_state *st) = {
    check_home, check_postgres, check_tools, check_neon, check_credentials, check_s3,
};

int
doctor_run(const struct doctor_opts *o, doctor_line_fn *fn, void *payload)
{
    struct doctor_state st = {.o = o, .fn = fn, .payload = payload};

    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
        checks[i](&st);
    audit_close(st.audit);
    return st.failures;
}
