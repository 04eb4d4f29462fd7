/*
 * pd_err: the one error mechanism of pgdrill.
 *
 * A function that can fail returns int: 0 on success or a negative PD_E*
 * kind, and fills the caller-owned struct pd_err passed as its last
 * parameter. The kinds, their names and the process exit codes they map to
 * live in one table, PD_ERR_KINDS. Messages are lowercase, have no final
 * period, name the object, and never contain a secret.
 */
#ifndef PD_ERR_H
#define PD_ERR_H

#include <stdarg.h>

/* _(NAME, value, exit code, short name) */
#define PD_ERR_KINDS(_)                                                                            \
    _(PD_ECHECK, -1, 1, "check")                                                                   \
    _(PD_EUSAGE, -2, 2, "usage")                                                                   \
    _(PD_EINPUT, -3, 2, "input")                                                                   \
    _(PD_ESERVICE, -4, 3, "service")                                                               \
    _(PD_EINTR, -5, 130, "interrupted")                                                            \
    _(PD_EIO, -6, 1, "io")                                                                         \
    _(PD_EBUG, -7, 1, "bug")                                                                       \
    _(PD_ENOENT, -8, 2, "not-found")                                                               \
    _(PD_ELOCKED, -9, 2, "locked")

enum pd_err_kind {
    PD_OK = 0,

#define PD_ERR_ENUM(name, value, code, str) name = (value),
    PD_ERR_KINDS(PD_ERR_ENUM)
#undef PD_ERR_ENUM
};

#define PD_ERR_MSG_MAX 512

struct pd_err {
    int kind;                 /* 0 or a PD_E* value */
    char msg[PD_ERR_MSG_MAX]; /* lowercase, no final period, no secrets */
    const char *file;         /* where it was set (static string) */
    int line;
};

/* Clear an error so the struct can be reused. */
void pd_err_clear(struct pd_err *err);

/* Set err (if not NULL) and return kind; use through PD_ERR_SET. */
int pd_err_set_at(struct pd_err *err, const char *file, int line, int kind, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#ifndef __clang_analyzer__
#define PD_ERR_SET(err, kind, ...) pd_err_set_at((err), __FILE__, __LINE__, (kind), __VA_ARGS__)
#else
/*
 * clang's static analyzer (make analyze) does not look into pd_err.c, so it
 * would not know the call returns kind and would follow "error returned 0"
 * paths that cannot happen. Spell the result out for it; kind is evaluated
 * twice here, which is harmless for the analysis.
 */
#define PD_ERR_SET(err, kind, ...)                                                                 \
    (pd_err_set_at((err), __FILE__, __LINE__, (kind), __VA_ARGS__), (kind))
#endif

/* Prefix context to an existing message: pd_err_prefix(err, "stage %s: ", t). */
void pd_err_prefix(struct pd_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Process exit code for an error kind (0 for PD_OK). */
int pd_err_exit_code(int kind);

/* Short name of a kind ("check", "service", ...); "ok" for 0. Borrowed, static. */
const char *pd_err_kind_name(int kind);

#ifndef NDEBUG
#define PD_ASSERT(cond) ((cond) ? (void)0 : pd_assert_fail(#cond, __FILE__, __LINE__))
#else
#define PD_ASSERT(cond) ((void)0)
#endif

_Noreturn void pd_assert_fail(const char *expr, const char *file, int line);

#endif
