/* pgdrill doctor: is this machine ready for a drill? One line per finding. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "doctor/doctor.h"

static const char doctor_help[] =
    "usage: pgdrill doctor\n"
    "\n"
    "Check that this machine is ready for a backup or a drill, one line each:\n"
    "  home         $PGDRILL_HOME is yours with mode 0700 (journals, reports, audit log)\n"
    "  postgres     DATABASE_URL answers; the server's version\n"
    "  pg_dump      found (PGDRILL_PG_DUMP, else PATH) and not older than the server's\n"
    "               major; pg_restore and psql found, with their versions\n"
    "  neon         NEON_API_KEY and NEON_PROJECT_ID reach the project (NEON_API_HOST)\n"
    "  credentials  where the AWS and Neon credentials come from\n"
    "  s3           the bucket of PGDRILL_BACKUP_URI answers\n"
    "  clock        this clock is within 60 s of the Date header of S3's answer\n"
    "Each line starts with ok, skip (not configured: the line says what to set) or\n"
    "FAIL (the line says what to do). Requests are recorded in the audit log.\n"
    "\n"
    "Exit 0 when no line is FAIL, 1 otherwise, 2 on a usage error.\n";

static void
print_line(const struct doctor_line *line, void *payload)
{
    (void)payload;
    printf("%-4s  %-11s  %s\n", doctor_status_name(line->status), line->name, line->text);
    (void)fflush(stdout); // each line as it is found; nothing to do if it fails
}

int
cli_cmd_doctor(struct cli_ctx *ctx, int argc, char **argv)
{
    struct doctor_opts o = {.home = ctx->cfg.home, .operator_name = ctx->cfg.operator_name};
    struct cli_signals saved;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(doctor_help, stdout);
            return 0;
        }
        return cli_usage_error("doctor", "unknown argument '%s'", argv[i]);
    }
    cli_signals_trap(&saved);
    rc = doctor_run(&o, print_line, NULL) > 0 ? 1 : 0;
    cli_signals_restore(&saved);
    // the checks do not stop midway; what was found is printed, the exit says why it is partial
    return cli_interrupted() ? cli_interrupted_exit("pgdrill doctor") : rc;
}
