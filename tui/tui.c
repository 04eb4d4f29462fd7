/* tui: entry point, the drill's lifecycle in the TUI (terminal, signals, session), output pane. */
#include "tui.h"

#include <ctype.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drill/drill.h"
#include "engine/engine.h"
#include "pd_err.h"
#include "pd_log.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/runbook.h"
#include "screen.h"
#include "session/session.h"
#include "views.h"

/* ---------------------------------------------------------------- misc */

void
tui_status(struct tui *t, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    free(t->status);
    t->status = pd_xstrdup(buf);
}

void
tui_fmt_clock(char *buf, size_t size, double secs, bool short_form)
{
    long s = secs < 0 ? 0 : (long)secs;

    if (short_form && s < 3600)
        snprintf(buf, size, "%02ld:%02ld", s / 60, s % 60);
    else
        snprintf(buf, size, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

double
tui_total_secs(const struct tui *t)
{
    if (!t->running)
        return t->total_secs;
    return t->base_secs + (pd_time_mono() - t->run_start);
}

void
tui_out_push(struct tui *t, enum draw_style style, const char *text)
{
    if (!t->out)
        t->out = pd_xcalloc(TUI_OUT_MAX, sizeof(*t->out));
    // one pane line per text line
    const char *p = text ? text : "";
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        struct tui_out_line *l;
        if (t->out_len == TUI_OUT_MAX) {
            l = &t->out[t->out_start];
            free(l->text);
            t->out_start = (t->out_start + 1) % TUI_OUT_MAX;
            t->out_len--;
        }
        l = &t->out[(t->out_start + t->out_len) % TUI_OUT_MAX];
        l->text = pd_xstrndup(p, len);
        l->style = style;
        t->out_len++;
        if (t->out_scroll > 0 && t->out_scroll < t->out_len)
            t->out_scroll++; // keep a scrolled-back view where it is
        p = nl ? nl + 1 : NULL;
    } while (p && *p);
}

const struct tui_out_line *
tui_out_at(const struct tui *t, size_t i)
{
    return i < t->out_len ? &t->out[(t->out_start + i) % TUI_OUT_MAX] : NULL;
}

/* ------------------------------------------------------------ tui_run */

static void
fatal_hook(void)
{
    draw_end();
}

static void
log_sink(enum pd_log_level level, const char *msg, void *payload)
{
    struct tui *t = payload;

    if (level <= PD_LOG_WARN) {
        tui_status(t, "%s: %s", pd_log_level_name(level), msg);
        char *line = pd_xasprintf("%s: %s", pd_log_level_name(level), msg);
        tui_out_push(t, level == PD_LOG_ERROR ? STYLE_FAILED : STYLE_DIM, line);
        free(line);
    }
}

/*
 * SIGTERM and SIGHUP stop the drill like q does (the journal allows a
 * resume); in raw mode Ctrl-C is a key, but a SIGINT from kill is handled
 * the same way. The handler only sets a flag and asks the engine to stop.
 */
static volatile sig_atomic_t got_signal;
static struct engine *volatile signal_engine;
static struct sigaction old_actions[3];
static const int stop_signals[3] = {SIGTERM, SIGHUP, SIGINT};

static void
on_signal(int sig)
{
    got_signal = sig;
    if (signal_engine)
        engine_request_stop(signal_engine);
}

static void
signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    got_signal = 0;
    for (size_t i = 0; i < 3; i++)
        sigaction(stop_signals[i], &sa, &old_actions[i]);
}

static void
signals_restore(void)
{
    signal_engine = NULL;
    for (size_t i = 0; i < 3; i++)
        sigaction(stop_signals[i], &old_actions[i], NULL);
}

bool
tui_signalled(struct tui *t)
{
    if (got_signal)
        t->stop = true;
    return got_signal != 0;
}

/* Take over the terminal; diagnostics from core go to the screen from now on. */
static void
start_terminal(struct tui *t)
{
    const char *nc = getenv("NO_COLOR");

    pd_log_set_sink(log_sink, t);
    draw_init(nc && *nc);
}

/*
 * The banner names where pgdrill points (the caller's setting) and, when
 * the runbook was written for another environment, says so: running a
 * sandbox runbook against production must be impossible to miss.
 */
static void
set_environment(struct tui *t)
{
    const char *env = t->opts->environment;
    const char *rb_env = t->rb ? t->rb->environment : NULL;

    if (!env || !*env)
        env = rb_env ? rb_env : "UNKNOWN ENVIRONMENT";
    char *text = rb_env && *rb_env && strcasecmp(env, rb_env) != 0
                     ? pd_xasprintf("%s (runbook: %s)", env, rb_env)
                     : pd_xstrdup(env);
    for (char *c = text; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    t->env_text = text;
    if (strstr(text, "PROD"))
        t->env_style = STYLE_BANNER_PROD;
    else if (strstr(text, "SANDBOX") || strstr(text, "LOCAL") || strstr(text, "TEST"))
        t->env_style = STYLE_BANNER_SANDBOX;
    else
        t->env_style = STYLE_BANNER_OTHER;
}

static int
prepare_drill(struct tui *t, const char *path, struct pd_err *err)
{
    const struct tui_opts *o = t->opts;
    int rc;

    if (o->resume_id)
        rc = drill_session_resume(&t->session, o->home, o->resume_id, err);
    else
        rc = drill_session_begin(&t->session, o->home, path, o->operator_name, err);
    t->rb = t->session.rb;
    t->drill = t->session.drill;
    if (rc != 0)
        return rc;
    size_t n = t->rb->n_stages;
    t->stage_status = pd_xcalloc(n ? n : 1, sizeof(*t->stage_status));
    t->stage_secs = pd_xcalloc(n ? n : 1, sizeof(*t->stage_secs));
    for (size_t i = 0; i < n && i < t->drill->n_stages; i++) {
        t->stage_status[i] = t->drill->stages[i].status;
        t->stage_secs[i] = t->drill->stages[i].duration_s;
        if (t->stage_status[i] == STEP_RUNNING) // interrupted there: it runs again
            t->stage_status[i] = STEP_PENDING;
    }
    set_environment(t);
    return 0;
}

static void
write_report(struct tui *t)
{
    struct pd_err err = {0};

    if (drill_session_report(&t->session, NULL, &err) != 0) {
        tui_status(t, "report not written: %s", err.msg);
        return;
    }
    t->report_path = pd_xasprintf("%s/report.json", t->drill->dir);
}

static int
run_drill(struct tui *t, struct pd_err *err)
{
    const struct tui_opts *o = t->opts;
    struct engine_opts eo = {.vars = o->vars, .n_vars = o->n_vars, .hints_path = o->hints_path};
    struct engine_events ev;
    struct tui_screen *s = NULL;
    int rc;

    tui_engine_events(&ev);
    rc = drill_session_start(&t->session, &eo, &ev, t, err);
    if (rc != 0)
        return rc;
    t->engine = t->session.engine;
    s = tui_screen_new(t, &tui_drill_ops, NULL);
    if (tui_drill_ops.open && (rc = tui_drill_ops.open(t, s, err)) != 0) {
        free(s);
        return rc;
    }
    signal_engine = t->engine;
    t->top = s;
    /*
     * The RTO clock is wall time since the drill began, as in the report:
     * after a resume the time in between counts too (an outage does not
     * pause). The monotonic clock measures this run.
     */
    double began;
    t->run_start = pd_time_mono();
    if (t->drill->started_at && pd_time_parse_rfc3339(&began, t->drill->started_at, 1) == 0 &&
        began <= pd_time_wall())
        t->base_secs = pd_time_wall() - began;
    t->running = true;
    tui_redraw(t);
    rc = drill_session_run(&t->session, err);
    t->total_secs = tui_total_secs(t);
    t->running = false;
    t->drill_rc = rc;
    if (rc != PD_EINTR && !t->aborted) {
        write_report(t);
        tui_screen_run(t, &tui_summary_ops, NULL);
    }
    if (tui_drill_ops.close)
        tui_drill_ops.close(t, s);
    t->top = s->below;
    free(s);
    return rc;
}

static void
tui_free(struct tui *t)
{
    for (size_t i = 0; i < t->out_len; i++)
        free(t->out[(t->out_start + i) % TUI_OUT_MAX].text);
    free(t->out);
    free(t->status);
    free(t->action);
    free(t->hint);
    free(t->stage_status);
    free(t->stage_secs);
    free(t->report_path);
    free(t->answer);
    free(t->answer_name);
    free(t->env_text);
    drill_session_end(&t->session);
    tui_input_close(&t->in);
}

int
tui_run(const struct tui_opts *opts, struct pd_err *err)
{
    struct tui t = {.opts = opts, .cur_stage = -1};
    char *picked = NULL;
    int rc;

    // an unknown locale leaves "C", and the screen draws its ASCII symbols
    (void)setlocale(LC_ALL, "");
    // the test hook works even if a caller forgets to pass it on
    const char *script = opts->script ? opts->script : getenv("PGDRILL_TUI_SCRIPT");
    rc = tui_input_open(&t.in, script, err);
    if (rc != 0)
        return rc;
    signals_install();
    pd_set_fatal_hook(fatal_hook);

    const char *path = opts->runbook_path;
    if (!path && !opts->resume_id) {
        start_terminal(&t);
        enum screen_result r = tui_screen_run(&t, &tui_picker_ops, &picked);
        if (r == SCREEN_QUIT || !picked) {
            rc = t.aborted ? PD_EINPUT : 0;
            goto out;
        }
        path = picked;
    }
    if (!draw_active())
        start_terminal(&t);
    rc = prepare_drill(&t, path, err);
    if (rc != 0) {
        if (!t.aborted && picked)
            tui_message(&t, "Cannot start the drill", err->msg);
        goto out;
    }
    rc = run_drill(&t, err);
    // declining the plan is the operator's choice, not a failure: nothing was changed
    if (rc == PD_ECHECK && t.drill->outcome && strcmp(t.drill->outcome, "declined") == 0)
        rc = 0;
out:
    draw_end();
    pd_log_set_sink(NULL, NULL);
    pd_set_fatal_hook(NULL);
    signals_restore();
    if (t.aborted) { // the test script failed: that is the error to report
        *err = t.in.err;
        rc = PD_EINPUT;
    }
    if (t.drill && (rc == PD_EINTR || t.aborted) && !t.drill->finished_at) {
        fprintf(stderr, "pgdrill: the journal keeps the drill so far: %s/journal.jsonl\n",
                t.drill->dir);
        // engine_run's PD_EINTR error names the resume command (engine.h); do not repeat it
        if (rc != PD_EINTR)
            fprintf(stderr, "pgdrill: drill %s interrupted; resume with: pgdrill resume %s\n",
                    t.drill->id, t.drill->id);
        // the operator was in the TUI: how to go on there
        fprintf(stderr, "pgdrill: to go on in the TUI: pgdrill tui --resume %s\n", t.drill->id);
    }
    free(picked);
    tui_free(&t);
    return rc;
}
