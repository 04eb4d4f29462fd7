/*
 * pgdrill sandbox traffic|incident|grade: the training world (core/training).
 *
 * sandbox.sh prepares each of these (production's URL in the training
 * folder, the sandbox's own Neon credentials in the environment, the traffic
 * as a recorded sandbox service) and runs pgdrill again with
 * PGDRILL_TRAINING_DIR set; then the work below runs. Flags are checked
 * first, before the script, so usage errors read like other commands'.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "training/training.h"

/* A whole number in [lo, hi] from v, or -1 after a usage error. */
static long
training_number(const char *v, const char *what, long lo, long hi)
{
    char *end = NULL;
    long n;

    errno = 0;
    n = strtol(v != NULL ? v : "", &end, 10);
    if (v == NULL || errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
        (void)cli_usage_error("sandbox", "%s needs a whole number from %ld to %ld", what, lo, hi);
        return -1;
    }
    return n;
}

/* The value of --NAME V or --NAME=V at argv[i], else NULL; *skip: 1 for
 * "--NAME V" (V is argv[i + 1]); *missing: --NAME without a value. */
static const char *
training_opt(int argc, char **argv, int i, const char *name, int *skip, bool *missing)
{
    const char *a = argv[i];
    size_t len = strlen(name);

    *skip = 0;
    if (a == NULL)
        return NULL;
    if (strcmp(a, name) == 0) {
        if (i + 1 >= argc || argv[i + 1] == NULL) {
            *missing = true;
            return NULL;
        }
        *skip = 1;
        return argv[i + 1];
    }
    if (strncmp(a, name, len) == 0 && a[len] == '=')
        return a + len + 1;
    return NULL;
}

int
cli_training_check(int argc, char **argv, long *number, const char **kind, bool *json)
{
    const char *sub = argv[1];
    bool traffic = strcmp(sub, "traffic") == 0;
    int first = traffic ? 3 : 2;

    *number = -1;
    if (traffic && (argc < 3 || (strcmp(argv[2], "start") != 0 && strcmp(argv[2], "stop") != 0 &&
                                 strcmp(argv[2], "run") != 0)))
        return cli_usage_error("sandbox", "traffic: start, stop (or run, for sandbox.sh)");
    for (int i = first; i < argc && argv[i] != NULL; i++) {
        bool missing = false;
        const char *v = NULL, *arg = argv[i];
        int skip = 0;

        if (traffic && strcmp(argv[2], "stop") != 0 &&
            (v = training_opt(argc, argv, i, "--rate", &skip, &missing)) != NULL) {
            if ((*number = training_number(v, "--rate", 1, 100)) < 0)
                return 2;
        } else if (strcmp(sub, "incident") == 0 &&
                   (v = training_opt(argc, argv, i, "--seed", &skip, &missing)) != NULL) {
            if ((*number = training_number(v, "--seed", 0, 999999999)) < 0)
                return 2;
        } else if (missing) {
            return cli_usage_error("sandbox", "%s needs a value", arg);
        } else if (strcmp(sub, "incident") == 0 && arg[0] != '-' && *kind == NULL) {
            *kind = arg;
        } else if (strcmp(sub, "grade") == 0 && strcmp(arg, "--json") == 0) {
            *json = true;
        } else {
            return cli_usage_error("sandbox", "%s: unknown argument '%s'", sub, arg);
        }
        i += skip;
    }
    return 0;
}

static volatile sig_atomic_t traffic_stop;

static void
traffic_on_signal(int sig)
{
    (void)sig;
    traffic_stop = 1;
}

/* Log lines of the traffic, with the time: its log file is read by people. */
static void
traffic_sink(enum pd_log_level level, const char *msg, void *payload)
{
    char ts[32];

    (void)level;
    (void)payload;
    pd_time_format(ts, sizeof(ts), pd_time_wall());
    fprintf(stderr, "%s %s\n", ts, msg);
    (void)fflush(stderr);
}

static int
training_traffic(const char *dir, long rate)
{
    struct sigaction sa;
    struct pd_err err;
    int rc;

    pd_err_clear(&err);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = traffic_on_signal;
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGINT, &sa, NULL);
    pd_log_set_sink(traffic_sink, NULL);
    rc = training_traffic_run(dir, rate > 0 ? (double)rate : 3.0, &traffic_stop, &err);
    return rc != 0 ? cli_fail(&err) : 0;
}

int
cli_training_run(const struct cli_ctx *ctx, const char *dir, int argc, char **argv)
{
    const char *kind = NULL;
    bool json = false;
    long n = -1;
    struct pd_err err;
    int rc = cli_training_check(argc, argv, &n, &kind, &json);

    pd_err_clear(&err);
    if (rc != 0)
        return rc;
    if (strcmp(argv[1], "traffic") == 0)
        return training_traffic(dir, n);
    if (strcmp(argv[1], "incident") == 0) {
        char *ticket = NULL;
        unsigned long seed = n >= 0 ? (unsigned long)n : (unsigned long)time(NULL);

        rc = training_incident(&ticket, dir, kind, seed, &err);
        if (rc != 0)
            return cli_fail(&err);
        fputs(ticket, stdout);
        free(ticket);
        return 0;
    }
    {
        struct training_grade g;
        char *drills = pd_xasprintf("%s/drills", ctx->cfg.home), *s;

        // a step of a drill (training.md) grades the restore that drill ran
        rc = training_grade_run(&g, dir, drills, getenv("PGDRILL_DRILL_DIR"), &err);
        free(drills);
        if (rc != 0)
            return cli_fail(&err);
        s = json ? training_grade_json(&g) : training_grade_text(&g);
        printf("%s%s", s, json ? "\n" : "");
        free(s);
        rc = training_grade_passed(&g) ? 0 : 1;
        training_grade_clear(&g);
    }
    return rc;
}
