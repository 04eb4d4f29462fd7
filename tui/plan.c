/* plan screen: what the drill will create or change, accepted before anything runs. */
#include "timeline/plan.h"

#include <stdlib.h>

#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "views.h"

bool
tui_plan_accept(struct tui *t, const struct runbook *rb)
{
    struct plan p;
    bool service = false, accepted = false;
    char *title;

    // only a change to a service needs the operator's go; local sh steps do not
    for (size_t s = 0; s < rb->n_stages; s++)
        for (size_t k = 0; k < rb->stages[s].n_steps; k++)
            if (rb->stages[s].steps[k].action != STEP_SH && plan_step_mutates(rb, s, k))
                service = true;
    if (!service)
        return true;
    plan_build(&p, rb, t->opts->vars, t->opts->n_vars, NULL, pd_time_wall());
    title = pd_xasprintf("Plan: %s (nothing has changed yet)", rb->id);
    tui_textview_run(t, title, p.text, "Enter accept and start   q decline (nothing is changed)",
                     true, &accepted);
    free(title);
    plan_clear(&p);
    return accepted && !t->aborted;
}
