/*
 * drill internals shared by the module's files (drill.c: files, lock and
 * API; event.c: record types and their JSON; reduce.c: the reducer) and
 * with the unit tests. Nothing outside core/drill and its tests includes it.
 */
#ifndef PD_DRILL_INTERN_H
#define PD_DRILL_INTERN_H

#include <stdbool.h>

struct cJSON;
struct drill;
struct drill_event;
struct pd_err;
struct runbook;

#define DRILL_JOURNAL_VERSION 1

/*
 * When not NULL, drill_begin and drill_open use this file as the journal
 * instead of <dir>/journal.jsonl. Tests point it at /dev/full to exercise
 * the ENOSPC path with a real write(2) failure.
 */
extern const char *drill_test_journal_path;

/* ---- reduce.c ---- */

/*
 * Apply one validated event (see drill_event_check) to the state. Used for
 * live records and for replay alike, so a reopened drill equals the live one.
 */
void drill_apply(struct drill *d, const struct drill_event *ev, const char *at);

/* ---- event.c ---- */

/*
 * Refuse an event the reducer cannot apply: unknown type, an index out of
 * range, a missing required field. kind is PD_EBUG for a live record (the
 * caller's mistake) and PD_EIO in replay (a damaged journal).
 */
int drill_event_check(const struct drill *d, const struct drill_event *ev, int kind,
                      struct pd_err *err);

/* ev as a journal record; secret values never reach it. The caller owns it (cJSON_Delete). */
struct cJSON *drill_event_to_json(const struct drill_event *ev, const char *at);

/* Rebuild the event of a record; its strings are borrowed from rec. */
int drill_event_from_json(struct drill_event *ev, const struct cJSON *rec, const char *where,
                          struct pd_err *err);

/* The begin record of a new drill of rb. The caller owns it (cJSON_Delete). */
struct cJSON *drill_begin_to_json(const char *at, const char *id, const struct runbook *rb,
                                  const char *operator_name, const char *host);

/* Size the state from a begin record (the first record of every journal). */
int drill_apply_begin(struct drill *d, const struct cJSON *rec, const char *where,
                      struct pd_err *err);

/* obj[key] as an int (dflt when absent or null); PD_EIO "WHERE: 'key' is not an integer". */
int drill_json_int(int *out, const struct cJSON *obj, const char *key, int dflt, const char *where,
                   struct pd_err *err);

/* obj[key] as a string borrowed from obj (NULL when absent); PD_EIO when not a string. */
int drill_json_str(const char **out, const struct cJSON *obj, const char *key, const char *where,
                   struct pd_err *err);

#endif
