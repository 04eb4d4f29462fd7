/*
 * pager: read-only, scrollable screens made of text lines: the help
 * screen (generated from the request table and the key bindings) and the
 * drill summary.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drill/drill.h"
#include "pd_buf.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "runbook/contacts.h"
#include "runbook/runbook.h"
#include "screen.h"

struct pager {
    const char *title;
    struct tui_lines lines; /* as added */
    enum draw_style *styles;
    struct tui_lines wrapped; /* for the current width */
    enum draw_style *wstyles;
    int width;
};

/* Wrap the lines for the terminal width; called when the width changes. */
static void
rewrap(struct pager *p, int width)
{
    tui_lines_free(&p->wrapped);
    free(p->wstyles);
    p->wstyles = NULL;
    for (size_t i = 0; i < p->lines.n; i++) {
        size_t before = p->wrapped.n;
        tui_text_wrap(&p->wrapped, p->lines.items[i], width);
        p->wstyles = pd_xrealloc(p->wstyles, (p->wrapped.n + 1) * sizeof(*p->wstyles));
        for (size_t j = before; j < p->wrapped.n; j++)
            p->wstyles[j] = p->styles[i];
    }
    p->width = width;
}

static void add(struct pager *p, enum draw_style style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add(struct pager *p, enum draw_style style, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    tui_lines_push(&p->lines, buf, strlen(buf));
    p->styles = pd_xrealloc(p->styles, p->lines.n * sizeof(*p->styles));
    p->styles[p->lines.n - 1] = style;
}

static void
pager_close(struct tui *t, struct tui_screen *s)
{
    struct pager *p = s->data;

    (void)t;
    tui_lines_free(&p->lines);
    tui_lines_free(&p->wrapped);
    free(p->styles);
    free(p->wstyles);
    free(p);
    s->data = NULL;
}

static void
pager_draw_line(struct tui *t, struct tui_screen *s, int row)
{
    struct pager *p = s->data;
    int rows = draw_rows(), cols = draw_cols();

    s->body_rows = rows - 2 > 0 ? rows - 2 : 1;
    if (row == 0 && p->width != cols - 2)
        rewrap(p, cols - 2);
    s->n_lines = p->wrapped.n;
    if (row == 0) {
        draw_fill(0, 0, cols, STYLE_STATUS);
        draw_text(0, 1, cols - 2, STYLE_STATUS, p->title);
    } else if (row == rows - 1) {
        draw_fill(row, 0, cols, STYLE_STATUS);
        draw_text(row, 1, cols - 2, STYLE_STATUS,
                  t->status ? t->status : "q/Enter close  j/k PgUp/PgDn scroll");
    } else {
        size_t i = s->top + (size_t)(row - 1);
        if (i < p->wrapped.n)
            draw_text(row, 1, cols - 2, p->wstyles[i], p->wrapped.items[i]);
    }
}

static enum screen_result
pager_handle(struct tui *t, struct tui_screen *s, enum tui_request req)
{
    (void)t;
    (void)s;
    if (req == REQ_ENTER || req == REQ_QUIT || req == REQ_BACK)
        return SCREEN_CLOSE;
    return SCREEN_UNHANDLED;
}

/* ---------------------------------------------------------------- help */

/* An incident runbook's emergency contacts, first: in an incident they matter most. */
static void
help_contacts(struct pager *p, const struct runbook *rb)
{
    struct contacts c;

    runbook_contacts(&c, rb);
    if (c.n > 0)
        add(p, STYLE_TITLE, "%s", "Emergency contacts");
    for (size_t i = 0; i < c.n; i++)
        add(p, STYLE_NORMAL, "  %-22s %s", c.v[i].role->label, c.v[i].text);
    if (c.n > 0)
        add(p, STYLE_NORMAL, "%s", "");
    contacts_free(&c);
}

static int
help_open(struct tui *t, struct tui_screen *s, struct pd_err *err)
{
    struct pager *p = pd_xcalloc(1, sizeof(*p));
    size_t n_b;
    const struct tui_binding *b = tui_bindings(&n_b);

    (void)err;
    p->title = "pgdrill help";
    help_contacts(p, t->rb);
    for (int km = 0; km < KEYMAP_COUNT; km++) {
        if (km)
            add(p, STYLE_NORMAL, "%s", "");
        add(p, STYLE_TITLE, "%s keys", tui_keymap_name((enum tui_keymap)km));
        bool moves = km == KEYMAP_DRILL || km == KEYMAP_PAGER;
        if (moves)
            add(p, STYLE_NORMAL, "  %-22s %s", "j/k g/G PgUp/PgDn ...",
                km == KEYMAP_DRILL ? "Movement as in the picker: scrolls the output pane"
                                   : "Movement as in the picker: scrolls");
        for (int req = 1; req < REQ_COUNT; req++) {
            char keys[128] = "";
            // cppcheck-suppress knownConditionTrueFalse ; true only while REQ_MOVE_UP comes first
            if (moves && req >= REQ_MOVE_UP && req <= REQ_MOVE_LAST)
                continue;
            size_t used = 0;
            for (size_t i = 0; i < n_b; i++) {
                if ((int)b[i].keymap != km || (int)b[i].request != req)
                    continue;
                char name[32];
                tui_key_name(name, sizeof(name), b[i].key);
                if (b[i].key == '\r' || (b[i].key >= TUI_KEY_FN && strcmp(name, "Enter") == 0))
                    continue; // one "Enter" is enough
                int w = snprintf(keys + used, sizeof(keys) - used, "%s%s", used ? ", " : "", name);
                if (w > 0 && (size_t)w < sizeof(keys) - used)
                    used += (size_t)w;
            }
            if (used == 0)
                continue;
            add(p, STYLE_NORMAL, "  %-22s %s", keys, tui_request_help((enum tui_request)req));
        }
    }
    s->data = p;
    s->n_lines = p->lines.n;
    return 0;
}

const struct screen_ops tui_help_ops = {
    .name = "help",
    .keymap = KEYMAP_PAGER,
    .open = help_open,
    .draw_line = pager_draw_line,
    .handle = pager_handle,
    .close = pager_close,
};

/* ------------------------------------------------------------- summary */

/*
 * The output of the steps with report=TITLE (a training drill's ticket and
 * grade), under their titles, as the report gives them: so the summary that
 * follows the last step still shows what it printed.
 */
static void
summary_sections(struct pager *p, const struct drill *d)
{
    for (size_t i = 0; i < d->n_stages; i++) {
        for (size_t k = 0; k < d->stages[i].n_steps; k++) {
            const struct drill_step_state *sp = &d->stages[i].steps[k];
            const char *line = sp->output;

            if (sp->report_title == NULL || line == NULL)
                continue;
            add(p, STYLE_TITLE, "%s", sp->report_title);
            while (*line != '\0') {
                size_t n = strcspn(line, "\n");

                add(p, STYLE_NORMAL, "  %.*s", (int)n, line);
                line += n + (line[n] == '\n');
            }
            add(p, STYLE_NORMAL, "%s", "");
        }
    }
}

/* Why the drill failed, on its first screen: each failed step and its error. */
static void
summary_failed(struct pager *p, const struct drill *d)
{
    for (size_t i = 0; i < d->n_stages; i++) {
        const struct drill_stage_state *st = &d->stages[i];
        for (size_t j = 0; j < st->n_steps; j++) {
            const struct drill_step_state *sp = &st->steps[j];
            if (sp->status != STEP_FAILED)
                continue;
            add(p, STYLE_FAILED, "Failed:  %s, step %s: %s", st->title ? st->title : "?",
                sp->id ? sp->id : "?", sp->summary ? sp->summary : "(no error recorded)");
        }
    }
}

static int
summary_open(struct tui *t, struct tui_screen *s, struct pd_err *err)
{
    struct pager *p = pd_xcalloc(1, sizeof(*p));
    const struct drill *d = t->drill;
    char clock[32], budget[32];
    size_t passed = 0, failed = 0;

    (void)err;
    p->title = "Drill summary";
    const char *outcome = d->outcome ? d->outcome : t->drill_rc == 0 ? "passed" : "failed";
    add(p, strcmp(outcome, "passed") == 0 ? STYLE_PASSED : STYLE_FAILED, "Outcome: %s", outcome);
    add(p, STYLE_NORMAL, "Runbook: %s (%s)", t->rb->title, t->rb->id);
    add(p, STYLE_NORMAL, "Drill:   %s", d->id);
    for (size_t i = 0; i < d->n_checks; i++)
        d->checks[i].passed ? passed++ : failed++;
    add(p, failed ? STYLE_FAILED : STYLE_NORMAL, "Checks:  %zu passed, %zu failed", passed, failed);
    double rto = d->rto_s >= 0 && d->finished_at ? d->rto_s : t->total_secs;
    tui_fmt_clock(clock, sizeof(clock), rto, false);
    if (t->rb->rto_s > 0) {
        tui_fmt_clock(budget, sizeof(budget), t->rb->rto_s, false);
        add(p, rto > t->rb->rto_s ? STYLE_FAILED : STYLE_NORMAL, "RTO:     %s / %s%s", clock,
            budget, rto > t->rb->rto_s ? " (over budget)" : "");
    } else {
        add(p, STYLE_NORMAL, "RTO:     %s (no budget set)", clock);
    }
    add(p, STYLE_NORMAL, "Report:  %s", t->report_path ? t->report_path : "(not written)");
    summary_failed(p, d);
    add(p, STYLE_NORMAL, "%s", "");
    summary_sections(p, d);
    add(p, STYLE_TITLE, "Stages");
    // the title column leaves room for the symbol and "00:00 / 00:00" on the
    // same line at the width the summary opens at (50 from 80 columns up)
    int tw = draw_cols() - 2 - 4 - 14 - 1;
    if (tw > 50)
        tw = 50;
    if (tw < 10)
        tw = 10;
    for (size_t i = 0; i < t->rb->n_stages; i++) {
        char actual[32], expected[32] = "--:--";
        tui_fmt_clock(actual, sizeof(actual), t->stage_secs[i], true);
        if (t->rb->stages[i].expected_s > 0)
            tui_fmt_clock(expected, sizeof(expected), t->rb->stages[i].expected_s, true);
        const char *sym = t->stage_status[i] == STEP_PASSED    ? draw_symbol(SYM_PASSED)
                          : t->stage_status[i] == STEP_FAILED  ? draw_symbol(SYM_FAILED)
                          : t->stage_status[i] == STEP_SKIPPED ? draw_symbol(SYM_SKIPPED)
                                                               : draw_symbol(SYM_PENDING);
        add(p, STYLE_NORMAL, "%s %-*.*s %s / %s", sym, tw, tw, t->rb->stages[i].title, actual,
            expected);
    }
    if (d->n_checks) {
        add(p, STYLE_NORMAL, "%s", "");
        add(p, STYLE_TITLE, "Checks");
        for (size_t i = 0; i < d->n_checks; i++)
            add(p, d->checks[i].passed ? STYLE_NORMAL : STYLE_FAILED, "%s %s: %s (expected %s)",
                draw_symbol(d->checks[i].passed ? SYM_PASSED : SYM_FAILED), d->checks[i].name,
                d->checks[i].observed ? d->checks[i].observed : "", d->checks[i].expected);
    }
    if (d->n_notes) {
        add(p, STYLE_NORMAL, "%s", "");
        add(p, STYLE_TITLE, "Notes");
        for (size_t i = 0; i < d->n_notes; i++)
            add(p, STYLE_NORMAL, "- %s", d->notes[i].text);
    }
    if (d->n_issues) {
        add(p, STYLE_NORMAL, "%s", "");
        add(p, STYLE_TITLE, "Issues");
        for (size_t i = 0; i < d->n_issues; i++)
            add(p, STYLE_FAILED, "- %s", d->issues[i].text);
    }
    s->data = p;
    s->n_lines = p->lines.n;
    return 0;
}

const struct screen_ops tui_summary_ops = {
    .name = "summary",
    .keymap = KEYMAP_PAGER,
    .open = summary_open,
    .draw_line = pager_draw_line,
    .handle = pager_handle,
    .close = pager_close,
};
