/* pgdrill run / resume / check: the headless runner. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "drill/drill.h"
#include "engine/engine.h"
#include "evidence/evidence.h"
#include "headless.h"
#include "notify/notify.h"
#include "pd_buf.h"
#include "pd_file.h"
#include "pd_mem.h"
#include "pd_redact.h"
#include "runbook/contacts.h"
#include "session/session.h"

struct run_args {
    const char **vars;
    size_t n_vars;
    char *vars_text; /* --vars-from's text, owned: vars point into it */
    bool yes;
    bool json;
    bool plan;
    bool push; /* --push: the drill's evidence to S3 once it ended */
    const char *report_dir;
    const char *notify; /* --notify URL: the Slack webhook for a failure notice */
};

static const char run_help[] =
    "usage: pgdrill run RUNBOOK [--var NAME=VALUE]... [--vars-from FILE|-] [--yes]\n"
    "                   [--report-dir DIR] [--json] [--push]\n"
    "                   [--notify URL]\n"
    "       pgdrill run RUNBOOK --plan [--var NAME=VALUE]...\n"
    "\n"
    "Run a runbook headless with the same engine as the TUI. RUNBOOK is a path or\n"
    "the id of a shipped runbook. Progress goes to stderr; the drill's journal and\n"
    "report are written under $PGDRILL_HOME/drills/<id>/.\n"
    "\n"
    "  --var NAME=VALUE  answer an input (repeatable); without a terminal, a required\n"
    "                    input with no --var and no default is named (exit 2)\n"
    "                    before any drill begins. The command line is visible to\n"
    "                    every user: give a secret with --vars-from instead\n"
    "  --vars-from FILE  read NAME=VALUE lines (one a line, # comments) from FILE,\n"
    "                    which only its owner may read (mode 0600), or from stdin\n"
    "                    when FILE is -; as many --var, off the command line\n"
    "  --yes             pass confirmations without typing the target and accept the\n"
    "                    plan shown before the first change\n"
    "  --report-dir DIR  also write report.md and report.json into DIR\n"
    "  --json            print report.json on stdout; stderr keeps only errors\n"
    "  --notify URL      post a notice to this Slack webhook when the drill fails\n"
    "                    (default SLACK_WEBHOOK_URL; a passing drill posts nothing)\n"
    "  --plan            print what the run would create or change, change nothing\n"
    "  --push            once the drill ended (passed or failed), push its report to\n"
    "                    $PGDRILL_BACKUP_URI/drills/<id>/ as 'pgdrill report push' does\n"
    "  --help            this text\n"
    "\n"
    "Exit codes: 0 passed, 1 a check or step failed, 2 usage or input error,\n"
    "3 an external service failed, 130 interrupted (resume with 'pgdrill resume').\n";

static const char resume_help[] =
    "usage: pgdrill resume [DRILL-ID] [--var NAME=VALUE]... [--vars-from FILE|-] [--yes]\n"
    "                      [--report-dir DIR] [--json] [--push] [--notify URL]\n"
    "\n"
    "Continue an interrupted drill from its journal, at the step that was\n"
    "interrupted, with earlier timings, results and notes intact. Without an id,\n"
    "the newest unfinished drill. Refuses when the runbook's stages changed since\n"
    "the drill began, or when another pgdrill holds the drill.\n"
    "\n"
    "  --var NAME=VALUE  answer an input the drill has not had yet, or give back a\n"
    "                    value a step saved; not for a secret: the command line is\n"
    "                    visible to every user\n"
    "  --vars-from FILE  the same as NAME=VALUE lines read from FILE (mode 0600) or\n"
    "                    from stdin when FILE is -: how a secret a step saved (a\n"
    "                    connection URI) is given back. The journal keeps secrets\n"
    "                    by name only; a branch's URI that a neon step saved is\n"
    "                    asked of Neon again, and the resume names each other one\n"
    "                    it needs\n"
    "  --yes, --report-dir DIR, --json, --push, --notify URL\n"
    "                    as for 'pgdrill run'\n"
    "  --help            this text\n"
    "\n"
    "Exit codes: 0 passed, 1 a check or step failed, 2 usage or input error,\n"
    "3 an external service failed, 130 interrupted again.\n";

static const char check_help[] =
    "usage: pgdrill check [--url URL] [--report-dir DIR] [--json]\n"
    "\n"
    "Run the post-restore integrity checks (runbook post-restore-validation)\n"
    "against URL, or against $DATABASE_URL.\n";

/* The text of --vars-from: stdin for "-", else a file only its owner may read. */
static int
vars_text_read(char **out, const char *cmd, const char *path)
{
    struct pd_buf b;
    struct stat st;
    char chunk[4096];
    ssize_t n;
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    int code = 0;

    *out = NULL;
    pd_buf_init(&b, (size_t)64 * 1024);
    if (fd < 0)
        return cli_usage_error(cmd, "--vars-from %s: %s", path, strerror(errno));
    if (fd == STDIN_FILENO && isatty(fd))
        // typed at a terminal, a secret would be echoed on the screen
        code = cli_usage_error(cmd, "--vars-from -: standard input is a terminal; pipe the lines "
                                    "in, or give a file of mode 0600");
    else if (fd != STDIN_FILENO && fstat(fd, &st) != 0)
        code = cli_usage_error(cmd, "--vars-from %s: %s", path, strerror(errno));
    else if (fd != STDIN_FILENO && !S_ISREG(st.st_mode))
        code = cli_usage_error(cmd, "--vars-from %s: not a regular file", path);
    else if (fd != STDIN_FILENO && st.st_uid != geteuid())
        // another user's file would choose this drill's inputs
        code = cli_usage_error(cmd, "--vars-from %s: owned by uid %u, not by you (uid %u)", path,
                               (unsigned)st.st_uid, (unsigned)geteuid());
    else if (fd != STDIN_FILENO && (st.st_mode & 077) != 0)
        code = cli_usage_error(cmd,
                               "--vars-from %s: mode %04o lets others read it; it may hold "
                               "secrets: chmod 600 %s",
                               path, (unsigned)(st.st_mode & 07777), path);
    while (code == 0 && (n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || pd_buf_append(&b, chunk, (size_t)n, NULL) != 0)
            code = cli_usage_error(cmd, "--vars-from %s: %s", path,
                                   n < 0 ? strerror(errno) : "larger than 64 KiB");
    }
    if (fd != STDIN_FILENO)
        (void)close(fd); // read only
    if (code == 0)
        *out = pd_xstrdup(pd_buf_str(&b));
    pd_buf_free(&b);
    return code;
}

/* --vars-from: each NAME=VALUE line becomes a var, as a --var would. */
static int
vars_from(struct run_args *a, const char *cmd, const char *path)
{
    char *line, *next;
    int code;

    if (a->vars_text != NULL)
        return cli_usage_error(cmd, "--vars-from: one at most");
    code = vars_text_read(&a->vars_text, cmd, path);
    for (line = a->vars_text; code == 0 && line != NULL && *line != '\0'; line = next) {
        size_t len = strcspn(line, "\n");

        next = line[len] != '\0' ? line + len + 1 : NULL;
        line[len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        if (!cli_var_ok(line)) {
            // the line may be a bare secret: name its place, never its text
            code = cli_usage_error(cmd, "--vars-from %s: a line is not NAME=VALUE", path);
            break;
        }
        a->vars = pd_xrealloc(a->vars, (a->n_vars + 1) * sizeof(*a->vars));
        a->vars[a->n_vars++] = line;
    }
    return code;
}

/* Parse the options shared by run, resume and check; returns the index of the first operand. */
static int
parse_args(struct run_args *a, int argc, char **argv, const char *help, const char **url,
           int *exit_code)
{
    static const struct option opts[] = {
        {"var", required_argument, NULL, 'v'},
        {"yes", no_argument, NULL, 'y'},
        {"json", no_argument, NULL, 'j'},
        {"report-dir", required_argument, NULL, 'r'},
        {"url", required_argument, NULL, 'u'},
        {"help", no_argument, NULL, 'h'},
        {"plan", no_argument, NULL, 'p'},
        {"push", no_argument, NULL, 'P'},
        {"notify", required_argument, NULL, 'n'},
        {"vars-from", required_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(a, 0, sizeof(*a));
    *exit_code = -1;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":v:yjr:u:hpn:", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            a->notify = optarg;
            pd_redact_register(optarg); // the webhook URL is the credential
            break;
        case 'v':
            if (!cli_var_ok(optarg)) {
                // never quoted back: a mistyped --var may be a bare secret
                *exit_code = cli_usage_error(argv[0], "--var expects NAME=VALUE (NAME: letters, "
                                                      "digits, '_' and '.')");
                return -1;
            }
            a->vars = pd_xrealloc(a->vars, (a->n_vars + 1) * sizeof(*a->vars));
            a->vars[a->n_vars++] = optarg;
            break;
        case 'V':
            *exit_code = vars_from(a, argv[0], optarg);
            if (*exit_code != 0)
                return -1;
            *exit_code = -1;
            break;
        case 'y':
            a->yes = true;
            break;
        case 'j':
            a->json = true;
            break;
        case 'p':
            a->plan = true;
            break;
        case 'P':
            a->push = true;
            break;
        case 'r':
            a->report_dir = optarg;
            break;
        case 'u':
            if (url == NULL) {
                *exit_code = cli_usage_error(argv[0], "unknown option '--url'");
                return -1;
            }
            *url = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            *exit_code = 0;
            return -1;
        case ':': // the leading ':' of the option string: a value is missing
            if (optopt == 'u' && url == NULL)
                *exit_code = cli_usage_error(argv[0], "unknown option '--url'");
            else
                *exit_code = cli_usage_error(argv[0], "%s needs a value", argv[optind - 1]);
            return -1;
        default:
            *exit_code = cli_usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    return optind;
}

/* The drill's report.json on stdout, if it was written. */
static int
print_json_report(const struct drill *d, struct pd_err *err)
{
    char *path = pd_xasprintf("%s/report.json", d->dir);
    FILE *f = fopen(path, "r");
    int rc = 0;

    if (f != NULL) {
        rc = cli_copy_to_stdout(f, path, err);
        (void)fclose(f); // read only
    }
    free(path);
    return rc;
}

/*
 * Print "pgdrill: MSG" for err with secrets masked and return its exit code.
 * Messages may quote what the operator passed (an invalid --var holding a
 * connection URI), and they end on the screen and in CI logs.
 */
static int
fail_redacted(const struct pd_err *err)
{
    struct pd_err e = *err;
    char *r = pd_redact(err->msg);

    snprintf(e.msg, sizeof(e.msg), "%s", r);
    free(r);
    return cli_fail(&e);
}

/*
 * --push: the ended drill's evidence to S3. A failed push fails a drill that
 * passed (exit 3: the evidence is not where it must be); after a failed
 * drill it is reported and the drill's own error stays.
 */
static int
push_evidence(const struct drill *d, const char *home, bool quiet, int rc, struct pd_err *err)
{
    struct evidence_push_result r;
    struct pd_err perr;
    int prc;

    if (d->outcome == NULL)
        return rc; // unfinished: resume it, then push
    pd_err_clear(&perr);
    prc = evidence_push_env(&r, home, d->operator_name, d->id, &perr);
    if (prc == 0 && !quiet) {
        char *text = evidence_push_text(&r);

        fputs(text, stderr);
        free(text);
    }
    evidence_push_result_free(&r);
    if (prc == 0)
        return rc;
    pd_err_prefix(&perr, "push: ");
    if (rc == 0) {
        *err = perr;
        return prc;
    }
    fail_redacted(&perr);
    return rc;
}

/* An incident runbook failed: who to tell (runbook/contacts), on stderr. */
static void
print_contacts(const struct runbook *rb)
{
    struct contacts c;

    runbook_contacts(&c, rb);
    if (c.n > 0)
        fprintf(stderr, "who to tell:\n");
    for (size_t i = 0; i < c.n; i++)
        fprintf(stderr, "  %-22s %s\n", c.v[i].role->label, c.v[i].text);
    contacts_free(&c);
}

/* The Slack notice of a headless drill that failed (built by core/notify). */
static void
send_notice(const char *webhook, const struct drill *d, const struct pd_err *err, bool in_folder,
            bool quiet)
{
    struct pd_err nerr = {0};
    char *who;

    if (webhook == NULL)
        return;
    who = pd_xasprintf("drill %s", d->id);
    cli_notice_result(who, notify_drill_failure(webhook, d, err->msg, in_folder, &nerr), &nerr,
                      quiet);
    free(who);
}

/* Run (or continue) the session's drill to the end and write its report. */
static int
drive(struct drill_session *s, const struct run_args *a, const char *hints_path, struct pd_err *err)
{
    struct engine_events ev;
    struct engine_opts eo;
    struct headless h = {.interactive = isatty(STDIN_FILENO) != 0, .quiet = a->json};
    const struct drill *d = s->drill;
    struct pd_err werr;
    bool in_folder;
    int rc, wrc;

    memset(&eo, 0, sizeof(eo));
    eo.yes = a->yes;
    eo.vars = a->vars;
    eo.n_vars = a->n_vars;
    eo.hints_path = hints_path;
    headless_events(&ev);
    if (!h.interactive) {
        // nobody can answer (cron, CI): the engine's own headless rules name
        // the --var or --yes to pass instead of failing with "prompt failed"
        ev.prompt_needed = NULL;
        ev.confirm_needed = NULL;
    }
    rc = drill_session_start(s, &eo, &ev, &h, err);
    if (rc != 0)
        return rc;
    headless_trap_signals(s->engine);
    if (!a->json)
        fprintf(stderr, "drill %s (journal %s/journal.jsonl)\n", d->id, d->dir);
    rc = drill_session_run(s, err);
    headless_trap_signals(NULL);
    if (rc != 0 && rc != PD_EINTR)
        print_contacts(s->rb);

    // the report is written whatever happened: an interrupted drill gets an interim one
    pd_err_clear(&werr);
    wrc = drill_session_report(s, NULL, &werr);
    in_folder = wrc == 0;
    if (wrc == 0 && a->report_dir != NULL) {
        wrc = pd_mkdir_p(a->report_dir, 0700, &werr);
        if (wrc == 0)
            wrc = drill_session_report(s, a->report_dir, &werr);
    }
    if (wrc != 0) {
        if (rc == 0) {
            // the caller prints it, once
            *err = werr;
            rc = wrc;
        } else {
            fail_redacted(&werr);
        }
    }
    if (a->json) {
        struct pd_err perr = {0};
        int prc = print_json_report(d, &perr);

        if (prc != 0 && rc == 0) {
            *err = perr;
            rc = prc;
        } else if (prc != 0) {
            fail_redacted(&perr);
        }
    }
    if (a->push && in_folder)
        rc = push_evidence(d, s->home, a->json, rc, err);
    if (rc != 0 && rc != PD_EINTR)
        send_notice(notify_webhook(a->notify), d, err, in_folder, a->json);
    if (rc == PD_EINTR)
        fail_redacted(err);
    else if (!a->json && in_folder)
        fprintf(stderr, "drill %s: %s; report %s/report.md\n", d->id,
                d->outcome ? d->outcome : "unfinished", d->dir);
    else if (!a->json && d->outcome != NULL)
        // the journal holds everything: say how to get the report once the disk is back
        fprintf(stderr,
                "drill %s: %s; report not written ('pgdrill report show %s' writes it from the "
                "journal)\n",
                d->id, d->outcome, d->id);
    else if (!a->json)
        fprintf(stderr, "drill %s: unfinished; report not written ('pgdrill resume %s' goes on)\n",
                d->id, d->id);
    return rc;
}

static int
run_path(struct cli_ctx *ctx, const char *path, const struct run_args *a)
{
    struct drill_session s;
    struct pd_err err;
    char *abs;
    int rc;

    pd_err_clear(&err);
    // the journal keeps the runbook's path for resume, which may run elsewhere
    abs = realpath(path, NULL);
    rc = drill_session_begin(&s, ctx->cfg.home, abs != NULL ? abs : path, ctx->cfg.operator_name,
                             &err);
    free(abs);
    if (rc == 0)
        rc = drive(&s, a, ctx->cfg.hints, &err);
    if ((rc != 0 && rc != PD_EINTR && rc != PD_ECHECK) || (rc == PD_ECHECK && err.msg[0] != '\0'))
        fail_redacted(&err);
    drill_session_end(&s);
    return pd_err_exit_code(rc);
}

int
cli_cmd_run(struct cli_ctx *ctx, int argc, char **argv)
{
    struct run_args a;
    int code, first;
    char *path;

    first = parse_args(&a, argc, argv, run_help, NULL, &code);
    if (first < 0)
        goto out;
    if (argc - first != 1) {
        code = cli_usage_error("run", argc == first ? "missing RUNBOOK" : "one RUNBOOK only");
        goto out;
    }
    path = cli_resolve_runbook(ctx, argv[first]);
    code = cli_runbook_unknown(ctx, "run", argv[first], path);
    if (code == 0)
        code = cli_check_vars("run", path, a.vars, a.n_vars);
    // nobody can answer a prompt: a missing input would only begin a drill to abort it
    if (code == 0 && !a.plan && !isatty(STDIN_FILENO))
        code = cli_check_inputs_given("run", path, a.vars, a.n_vars);
    if (code == 0)
        code = a.plan ? cli_run_plan(ctx, path, a.vars, a.n_vars) : run_path(ctx, path, &a);
    free(path);
out:
    free(a.vars);
    free(a.vars_text);
    return code;
}

int
cli_cmd_check(struct cli_ctx *ctx, int argc, char **argv)
{
    struct run_args a;
    const char *url = NULL;
    int code, first;
    char *path;

    first = parse_args(&a, argc, argv, check_help, &url, &code);
    if (first < 0)
        goto out;
    if (argc != first) {
        code = cli_usage_error("check", "unexpected argument '%s'", argv[first]);
        goto out;
    }
    if (url != NULL) {
        pd_redact_register_uri(url); // its password may also appear outside URI syntax
        setenv("DATABASE_URL", url, 1);
    }
    if (getenv("DATABASE_URL") == NULL) {
        code = cli_usage_error("check", "no database: pass --url URL or set DATABASE_URL");
        goto out;
    }
    a.yes = true;
    path = cli_resolve_runbook(ctx, "post-restore-validation");
    code = cli_check_vars("check", path, a.vars, a.n_vars);
    if (code == 0)
        code = run_path(ctx, path, &a);
    free(path);
out:
    free(a.vars);
    free(a.vars_text);
    return code;
}

int
cli_cmd_resume(struct cli_ctx *ctx, int argc, char **argv)
{
    struct run_args a;
    struct drill_session s = {0};
    struct pd_err err;
    char *id = NULL;
    int code, first, rc;

    pd_err_clear(&err);
    first = parse_args(&a, argc, argv, resume_help, NULL, &code);
    if (first < 0)
        goto out;
    if (argc - first > 1) {
        code = cli_usage_error("resume", "one DRILL-ID at most");
        goto out;
    }
    if (argc - first == 1) {
        id = pd_xstrdup(argv[first]);
    } else if (drill_find_unfinished(&id, ctx->cfg.home, &err) != 0) {
        code = fail_redacted(&err);
        goto out;
    }
    rc = drill_session_resume(&s, ctx->cfg.home, id, &err);
    if (rc == 0) {
        if (!a.json)
            fprintf(stderr, "resuming drill %s\n", id);
        rc = drive(&s, &a, ctx->cfg.hints, &err);
        if (rc != 0 && rc != PD_EINTR && rc != PD_ECHECK)
            fail_redacted(&err);
        code = pd_err_exit_code(rc);
    } else {
        code = fail_redacted(&err);
    }
out:
    drill_session_end(&s);
    free(id);
    free(a.vars);
    free(a.vars_text);
    return code;
}
