/*
 * shell/group: process groups that outlive a crashed pgdrill.
 *
 * When pgdrill is killed (kill -9, a lost terminal) while a step runs, the
 * step's process group keeps running: a quiet `sleep`, a long psql. A resume
 * that ran the step again would then run it twice at once. So while a
 * group runs, its id, its leader's start time and the boot id are noted in
 * a small file; the note is removed once the group has been reaped. A
 * resume reaps any noted group that is provably still the same one
 * (same boot, same leader start time, or a leaderless group under the
 * same id, which Linux never reuses while members live): SIGTERM, then
 * SIGKILL after a grace period.
 */
#ifndef PD_SHELL_GROUP_H
#define PD_SHELL_GROUP_H

struct pd_err;

/* Note that process group pgid runs (path is written atomically, 0600). */
int shell_group_note(const char *path, int pgid, struct pd_err *err);
/* The group of the note at path has been reaped: remove the note. */
void shell_group_forget(const char *path);
/*
 * Stop the group noted at path if it still runs, and remove the note.
 * *stopped is its id when one was stopped, else 0. A missing note is not
 * an error.
 */
int shell_group_reap(const char *path, double grace_s, int *stopped, struct pd_err *err);

#endif
