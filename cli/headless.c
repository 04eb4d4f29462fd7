#include "headless.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "pd_redact.h"

static struct engine *trapped_engine;
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
    if (trapped_engine != NULL)
        engine_request_stop(trapped_engine);
}

void
headless_trap_signals(struct engine *e)
{
    struct sigaction sa;

    trapped_engine = e;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    // a closed ssh session must stop the drill too: by default SIGHUP killed
    // pgdrill alone and left the step's process group running unsupervised
    sigaction(SIGHUP, &sa, NULL);
}

static void
stage_started(const struct runbook_stage *stage, size_t index, void *payload)
{
    const struct headless *h = payload;

    if (h->quiet)
        return;
    if (stage->expected_s > 0)
        fprintf(stderr, "== [%zu] %s (expected %ds)\n", index + 1, stage->title, stage->expected_s);
    else
        fprintf(stderr, "== [%zu] %s\n", index + 1, stage->title);
}

static void
step_started(const struct runbook_stage *stage, const struct runbook_step *step,
             const char *display, void *payload)
{
    const struct headless *h = payload;
    const char *nl;

    (void)stage;
    if (h->quiet)
        return;
    if (display == NULL || display[0] == '\0') {
        // no body (neon, rows, s3): the attributes as the runbook writes them say what it does
        fprintf(stderr, "-> %s %s:", runbook_action_name(step->action), step->id);
        for (size_t i = 0; i < step->n_attrs; i++) {
            char *v = pd_redact(step->attrs[i].value); // a literal URI may hold a password

            fprintf(stderr, " %s=%s", step->attrs[i].key, v);
            free(v);
        }
        fputc('\n', stderr);
        return;
    }
    // show the first line of the action; the whole text is in the journal
    nl = strchr(display, '\n');
    fprintf(stderr, "-> %s %s: %.*s%s\n", runbook_action_name(step->action), step->id,
            (int)(nl ? nl - display : (long)strlen(display)), display, nl && nl[1] ? " ..." : "");
}

static void
output_line(const struct runbook_step *step, const char *line, void *payload)
{
    const struct headless *h = payload;

    (void)step;
    if (!h->quiet)
        fprintf(stderr, "   | %s\n", line);
}

static void
step_finished(const struct runbook_step *step, enum step_status st, const char *summary,
              void *payload)
{
    const struct headless *h = payload;

    if (h->quiet && st != STEP_FAILED)
        return;
    fprintf(stderr, "   %s %s%s%s\n", step_status_name(st), step->id, summary ? ": " : "",
            summary ? summary : "");
}

/* The procedures' advice for the failure just shown, right below it. */
static void
hint_shown(const struct runbook_step *step, const char *id, const char *advice, void *payload)
{
    (void)step;
    (void)payload;
    fprintf(stderr, "   hint (%s): %s\n", id, advice);
}

/* Read one line from the terminal; caller owns it. NULL at end of input. */
static char *
read_line(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);

    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static int
prompt_needed(const struct engine_prompt *p, char **out, void *payload)
{
    const struct headless *h = payload;
    char *line;

    if (!h->interactive) {
        if (p->default_value != NULL && p->last_error == NULL) {
            *out = pd_xstrdup(p->default_value); // nobody to ask: the runbook's default
            return 0;
        }
        if (p->action == STEP_NOTE) {
            *out = pd_xstrdup(""); // a note nobody can type is an empty note
            return 0;
        }
        return PD_EINPUT; // the engine names the --var to pass
    }
    if (p->last_error != NULL)
        fprintf(stderr, "   ! %s\n", p->last_error);
    fprintf(stderr, "?? %s", p->question ? p->question : "");
    if (p->n_choices > 0) {
        fprintf(stderr, " [");
        for (size_t i = 0; i < p->n_choices; i++)
            fprintf(stderr, "%s%s", i ? "/" : "", p->choices[i]);
        fprintf(stderr, "]");
    }
    if (p->default_value != NULL)
        fprintf(stderr, " (default %s)", p->default_value);
    else if (p->optional)
        fprintf(stderr, " (optional: Enter leaves it empty)");
    fprintf(stderr, ": ");
    line = read_line();
    if (line == NULL)
        return PD_EINTR;
    if (line[0] == '\0' && p->default_value != NULL) {
        free(line);
        line = pd_xstrdup(p->default_value);
    }
    *out = line;
    return 0;
}

static int
confirm_needed(const struct engine_confirm *c, void *payload)
{
    const struct headless *h = payload;
    char *line;
    int rc;

    if (!h->interactive)
        return PD_EINPUT;
    if (c->message != NULL && *c->message)
        fprintf(stderr, "%s\n", c->message);
    fprintf(stderr, "?? type '%s' to confirm: ", c->target);
    line = read_line();
    if (line == NULL)
        return PD_EINTR;
    rc = strcmp(line, c->target) == 0 ? 0 : PD_EINPUT;
    free(line);
    return rc;
}

/*
 * The plan before the first change: printed on stderr, with --json too (a
 * CI log keeps what the drill was about to change; stdout stays the one
 * report.json), accepted by --yes, by typing yes at a terminal, and not
 * accepted when nobody can answer (the engine names --yes).
 */
static int
plan_needed(const struct engine_plan *p, void *payload)
{
    const struct headless *h = payload;
    char *line;
    int rc;

    fprintf(stderr, "%s", p->text);
    if (p->accepted) {
        fprintf(stderr, "== plan accepted by --yes\n");
        return 0;
    }
    if (!h->interactive)
        return PD_EINPUT;
    fprintf(stderr, "?? accept the plan and go on? type yes (anything else declines): ");
    line = read_line();
    if (line == NULL)
        return PD_EINTR;
    rc = strcmp(line, "yes") == 0 ? 0 : PD_ECHECK;
    free(line);
    return rc;
}

static bool
tick(void *payload)
{
    (void)payload;
    return interrupted != 0;
}

void
headless_events(struct engine_events *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->stage_started = stage_started;
    ev->step_started = step_started;
    ev->output_line = output_line;
    ev->step_finished = step_finished;
    ev->prompt_needed = prompt_needed;
    ev->confirm_needed = confirm_needed;
    ev->plan_needed = plan_needed;
    ev->tick = tick;
    ev->hint_shown = hint_shown;
}
