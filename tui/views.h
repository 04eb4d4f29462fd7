/*
 * views: the read-only text screens of the restorability timeline, the
 * drill history and the plan. Each gets its lines, with their kinds, from
 * core/timeline and shows them through one scrollable text view
 * (tui_textview_ops) drawn with draw.c, a style for each kind; the plan view, shown by the engine
 * before the drill's first change, also asks Enter (accept) or q (decline).
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
 * The engine's plan_needed (engine.h): the plan screen over the drill
 * screen. Enter accepts (0), q declines (PD_ECHECK); PD_EINTR when the TUI
 * is quitting. payload is the struct tui.
 */
struct engine_plan;
int tui_plan_needed(const struct engine_plan *p, void *payload);

/*
 * Shared by the three: show lines (borrowed; each styled by its kind, one
 * screen row each) under title; accept_keys makes Enter accept.
 */
struct lines;
enum screen_result tui_textview_run(struct tui *t, const char *title, const struct lines *lines,
                                    const char *hint, bool accept_keys, bool *accepted);

#endif
