/*
 * runbook/contacts: who to tell during an incident (the procedures'
 * "Emergency Contacts"). A runbook names them in its metadata,
 *
 *   contact: on-call Jane Doe, +1 555 0100
 *
 * one line per role of runbook_contact_roles; the config file's
 * contact.ROLE (or PGDRILL_CONTACT_<ROLE>, '-' as '_') names or replaces
 * the person for a role on this site. A runbook with at least one contact
 * line is an incident runbook: the TUI shows its contacts in the help and
 * on a failure, headless runs print them when the drill fails, and the
 * report of a drill with PGDRILL_ENVIRONMENT=PRODUCTION lists them as who
 * was to be told.
 */
#ifndef PD_RUNBOOK_CONTACTS_H
#define PD_RUNBOOK_CONTACTS_H

#include <stdbool.h>
#include <stddef.h>

struct runbook;

struct contact_role {
    const char *name;  /* "on-call" */
    const char *label; /* "On-call engineer" */
};

/* The roles, in the order contacts are shown; n in *n. */
const struct contact_role *runbook_contact_roles(size_t *n);

/* The role called name, or NULL. */
const struct contact_role *runbook_contact_role(const char *name);

struct contact {
    const struct contact_role *role;
    char *text; /* owned */
};

struct contacts {
    struct contact *v; /* in role order */
    size_t n;
};

/*
 * The contacts of rb: its contact lines with the environment's (the
 * config's) PGDRILL_CONTACT_<ROLE> winning for a role, and roles only the
 * environment names added. Empty when rb declares none (not an incident
 * runbook) or rb is NULL. Free with contacts_free.
 */
void runbook_contacts(struct contacts *out, const struct runbook *rb);

void contacts_free(struct contacts *c);

/* PGDRILL_ENVIRONMENT is PRODUCTION (any case): a real incident, not a drill in a sandbox. */
bool contacts_production(void);

#endif
