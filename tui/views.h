/*
 * views: the read-only text screens of the restorability timeline, the
 * drill history and the plan. Each builds its text in core/timeline and
 * shows it through one scrollable text view (tui_textview_ops) drawn with
 * draw.c; the plan view also asks Enter (accept) or q (decline).
 */
#ifndef PD_TUI_VIEWS_H
#define PD_TUI_VIEWS_H

#include <stdbool.h>

#include "screen.h"

/* The timeline screen; the drill's incident_time/target_time, when set, gets a recommendation. */
void tui_timeline_show(struct tui *t);

/* The history screen of runbook_id (borrowed). */
void tui_history_show(struct tui *t, const char *runbook_id);

/*
 * Show the plan of rb (vars as --var) when it changes something in a
 * service; returns true when the operator accepted it (or there was nothing
 * to accept), false when declined or the TUI is quitting.
 */
struct runbook;
bool tui_plan_accept(struct tui *t, const struct runbook *rb);

/* Shared by the three: show text (borrowed) under title; accept_keys makes Enter accept. */
enum screen_result tui_textview_run(struct tui *t, const char *title, const char *text,
                                    const char *hint, bool accept_keys, bool *accepted);

#endif
