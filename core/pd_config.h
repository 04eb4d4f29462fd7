/*
 * pd_config: settings from the environment and the optional config file.
 *
 * Precedence: environment, then $XDG_CONFIG_HOME/pgdrill/config (default
 * ~/.config/pgdrill/config), then built-in defaults. The file holds
 * `key = value` lines; `#` starts a comment. Keys: home, environment,
 * operator, runbooks; and allow_plain_http, branch_ttl, compression_level,
 * retention_days,
 * retention_days.<class>, verify.history_days, verify.shrink_ratio,
 * status.backup_days, status.verify_days, status.drill_days and
 * contact.<role>, which set PGDRILL_ALLOW_PLAIN_HTTP, PGDRILL_BRANCH_TTL,
 * PGDRILL_COMPRESSION_LEVEL,
 * PGDRILL_RETENTION_DAYS, PGDRILL_RETENTION_DAYS_<CLASS>,
 * PGDRILL_VERIFY_HISTORY_DAYS, PGDRILL_VERIFY_SHRINK_RATIO,
 * PGDRILL_STATUS_{BACKUP,VERIFY,DRILL}_DAYS and PGDRILL_CONTACT_<ROLE> (and
 * environment, PGDRILL_ENVIRONMENT) in the environment unless already set
 * (the modules that use them read the
 * environment). Secrets do not belong in it and are not read from it.
 *
 * The struct owns its strings; pd_config_free releases them.
 */
#ifndef PD_CONFIG_H
#define PD_CONFIG_H

#include <stddef.h>

struct pd_err;

struct pd_config {
    char *home;          /* PGDRILL_HOME: journals, reports, audit log */
    char *environment;   /* banner: "SANDBOX", "PRODUCTION"... (PGDRILL_ENVIRONMENT); may be NULL */
    char *operator_name; /* PGDRILL_OPERATOR, else the login name */
    char *runbooks;      /* PGDRILL_RUNBOOKS: directory of shipped runbooks */
    char *config_path;   /* the file read, or NULL */
    /*
     * The troubleshooting hints (runbook/hints): PGDRILL_HINTS, else the
     * file "hints" next to the shipped runbooks (../share/pgdrill/runbooks
     * or the source tree's runbooks/, from self_dir); NULL when none.
     */
    char *hints;
};

/*
 * Load the settings. self_path is argv[0]'s resolved directory, used to find
 * the shipped runbooks next to the binary (../share/pgdrill/runbooks or the
 * source tree's runbooks/). A malformed config file is PD_EINPUT with
 * "file:line: message".
 */
int pd_config_load(struct pd_config *out, const char *self_dir, struct pd_err *err);
void pd_config_free(struct pd_config *cfg);

/*
 * The number in environment variable name, def when it is unset or empty;
 * PD_EINPUT naming the variable when it is not a number in [min, max].
 */
int pd_config_env_number(double *out, const char *name, double def, double min, double max,
                         struct pd_err *err);

/* The variable of an emergency contact's role (runbook/contacts): PGDRILL_CONTACT_<ROLE>. */
#define PD_CONFIG_CONTACT_PREFIX "PGDRILL_CONTACT_"

/*
 * The variable prefix + name, name upper-cased with '-' as '_'
 * ("PGDRILL_CONTACT_", "on-call" -> PGDRILL_CONTACT_ON_CALL) into out.
 * Returns 0, or -1 when name is empty, has other characters than a-z and
 * '-', or the result does not fit in size.
 */
int pd_config_env_name(char *out, size_t size, const char *prefix, const char *name);

#endif
