/*
 * drill internals shared with the unit tests.
 */
#ifndef PD_DRILL_INTERN_H
#define PD_DRILL_INTERN_H

/*
 * When not NULL, drill_begin and drill_open use this file as the journal
 * instead of <dir>/journal.jsonl. Tests point it at /dev/full to exercise
 * the ENOSPC path with a real write(2) failure.
 */
extern const char *drill_test_journal_path;

#endif
