/* runbook/contacts: the emergency contacts of an incident runbook. */
#include "runbook/contacts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pd_config.h"
#include "pd_mem.h"
#include "runbook/runbook.h"

static const struct contact_role roles[] = {
    {"on-call", "On-call engineer"},  {"dba", "Database administrator"},
    {"security", "Security officer"}, {"devops", "DevOps lead"},
    {"neon-support", "Neon support"}, {"aws-support", "AWS support"},
};

const struct contact_role *
runbook_contact_roles(size_t *n)
{
    *n = sizeof(roles) / sizeof(roles[0]);
    return roles;
}

const struct contact_role *
runbook_contact_role(const char *name)
{
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(roles[i].name, name) == 0)
            return &roles[i];
    return NULL;
}

/* PGDRILL_CONTACT_<ROLE> for role, or NULL when unset or empty. */
static const char *
role_env(const struct contact_role *r)
{
    char name[64];
    const char *v;

    if (pd_config_env_name(name, sizeof(name), PD_CONFIG_CONTACT_PREFIX, r->name) != 0)
        return NULL;
    v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

void
runbook_contacts(struct contacts *out, const struct runbook *rb)
{
    memset(out, 0, sizeof(*out));
    if (rb == NULL || rb->n_contacts == 0)
        return;
    out->v = pd_xcalloc(sizeof(roles) / sizeof(roles[0]), sizeof(*out->v));
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        const char *text = role_env(&roles[i]);

        for (size_t k = 0; text == NULL && k < rb->n_contacts; k++)
            if (strcmp(rb->contacts[k].role, roles[i].name) == 0)
                text = rb->contacts[k].text;
        if (text != NULL)
            out->v[out->n++] = (struct contact){&roles[i], pd_xstrdup(text)};
    }
}

void
contacts_free(struct contacts *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].text);
    PD_FREE(c->v);
    c->n = 0;
}

bool
contacts_production(void)
{
    const char *v = getenv("PGDRILL_ENVIRONMENT");

    return v != NULL && strcasecmp(v, "production") == 0;
}
