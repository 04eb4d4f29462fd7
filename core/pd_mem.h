/*
 * pd_mem: allocation that never returns NULL.
 *
 * Out of memory is not an error path in pgdrill: the pd_x* functions run the
 * registered fatal hook (the TUI restores the terminal there), print one
 * line and abort. PD_FREE frees and clears the pointer.
 */
#ifndef PD_MEM_H
#define PD_MEM_H

#include <stddef.h>

void *pd_xmalloc(size_t size);
void *pd_xcalloc(size_t n, size_t size);
void *pd_xrealloc(void *p, size_t size);
/* Caller owns the copy; pd_xstrdup(NULL) returns NULL. */
char *pd_xstrdup(const char *s);
char *pd_xstrndup(const char *s, size_t n);
/* printf into a new string the caller owns. */
char *pd_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Overwrite n bytes at p with zeros in a way the compiler cannot drop (a
 * memset before free may be optimised away): for secrets about to be freed.
 */
void pd_wipe(void *p, size_t n);

/* Wipe the string s (up to its NUL) and free it; NULL is a no-op. */
void pd_free_secret(char *s);

/* Hook run before aborting (OOM, assertion); e.g. endwin(). */
void pd_set_fatal_hook(void (*hook)(void));
void pd_run_fatal_hook(void);

#define PD_FREE(p)                                                                                 \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = NULL;                                                                                \
    } while (0)

#endif
