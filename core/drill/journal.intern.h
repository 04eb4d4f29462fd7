/*
 * journal internals shared with the unit tests: fault injection for the
 * write and fsync calls, so that short writes and EIO can be tested
 * without a failing disk. NULL (the default) means the real call.
 */
#ifndef PD_JOURNAL_INTERN_H
#define PD_JOURNAL_INTERN_H

#include <stddef.h>
#include <sys/types.h>

extern ssize_t (*journal_test_write)(int fd, const void *buf, size_t len);
extern int (*journal_test_fsync)(int fd);

#endif
