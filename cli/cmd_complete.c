/*
 * pgdrill __complete: the words shell completion offers, asked of pgdrill
 * itself so that the completion scripts (contrib/completion/) cannot drift
 * from the program. Hidden: not in the command list, not for people.
 *
 *   __complete commands          the sub-commands, one a line
 *   __complete words CMD [SUB]   CMD's sub-words and --flags, read from
 *                                `pgdrill CMD [SUB] --help`
 *   __complete runbooks          the ids of the runbooks in the runbooks dir
 *   __complete drills            the drill ids under $PGDRILL_HOME/drills
 */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "pd_mem.h"
#include "pd_proc.h"

/* How much of a --help text is read. */
#define COMPLETE_HELP_MAX ((size_t)64 * 1024)

struct words {
    char **v;
    size_t n;
};

static void
words_add(struct words *w, const char *s, size_t len)
{
    for (size_t i = 0; i < w->n; i++)
        if (strlen(w->v[i]) == len && strncmp(w->v[i], s, len) == 0)
            return;
    w->v = pd_xrealloc(w->v, (w->n + 1) * sizeof(char *));
    w->v[w->n++] = pd_xstrndup(s, len);
}

static void
words_print_free(struct words *w)
{
    for (size_t i = 0; i < w->n; i++) {
        printf("%s\n", w->v[i]);
        free(w->v[i]);
    }
    free(w->v);
}

static int
word_char(char c)
{
    return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-';
}

/*
 * The sub-words of a usage line "pgdrill CMD a|b [--x]...": the word right
 * after CMD, split at '|', when it is lower case (not RUNBOOK, not [--flag]).
 */
static void
usage_subwords(struct words *w, const char *line, const char *cmd)
{
    char prefix[64];
    const char *p;

    (void)snprintf(prefix, sizeof(prefix), "pgdrill %s ", cmd);
    if ((p = strstr(line, prefix)) == NULL)
        return;
    p += strlen(prefix);
    while (islower((unsigned char)*p)) {
        const char *s = p;

        while (word_char(*p))
            p++;
        if (*p != '|' && *p != ' ' && *p != '\0' && *p != '\n')
            return; // "report show DRILL-ID" is fine; "x=y" is not a word
        words_add(w, s, (size_t)(p - s));
        if (*p != '|')
            return;
        p++;
    }
}

/* Every "--flag" of a help text. */
static void
help_flags(struct words *w, const char *text)
{
    for (const char *p = strstr(text, "--"); p != NULL; p = strstr(p, "--")) {
        const char *s = p;

        p += 2;
        if (!islower((unsigned char)*p) || (s > text && (word_char(s[-1]) || s[-1] == '$')))
            continue;
        while (word_char(*p))
            p++;
        words_add(w, s, (size_t)(p - s));
    }
}

static int
complete_words(int argc, char **argv)
{
    char self[PATH_MAX], a_help[] = "--help";
    char *args[5] = {self, NULL, NULL, NULL, NULL}, *text = NULL, *line, *save = NULL;
    struct words subs = {0}, flags = {0};
    struct pd_err err;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    int status, i = 1;

    if (n <= 0 || argc < 3)
        return 2;
    self[n] = '\0';
    args[i++] = argv[2];
    if (argc > 3)
        args[i++] = argv[3];
    args[i] = a_help;
    pd_err_clear(&err);
    if (pd_proc_output(&text, &status, self, args, COMPLETE_HELP_MAX, &err) != 0)
        return 3;
    help_flags(&flags, text);
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
        if (argc == 3)
            usage_subwords(&subs, line, argv[2]);
    words_print_free(&subs);
    words_print_free(&flags);
    free(text);
    return 0;
}

/* The entries of dir ending in suffix (which is dropped), or all entries when suffix is NULL. */
static void
list_dir(const char *dir, const char *suffix)
{
    struct dirent *e;
    DIR *d = opendir(dir);
    size_t sl = suffix ? strlen(suffix) : 0;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);

        if (e->d_name[0] == '.')
            continue;
        if (suffix == NULL)
            printf("%s\n", e->d_name);
        else if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0)
            printf("%.*s\n", (int)(len - sl), e->d_name);
    }
    closedir(d);
}

int
cli_cmd_complete(struct cli_ctx *ctx, const char *const *commands, int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";

    if (strcmp(what, "commands") == 0) {
        for (size_t i = 0; commands[i] != NULL; i++)
            printf("%s\n", commands[i]);
    } else if (strcmp(what, "words") == 0) {
        return complete_words(argc, argv);
    } else if (strcmp(what, "runbooks") == 0) {
        if (ctx->cfg.runbooks != NULL)
            list_dir(ctx->cfg.runbooks, ".md");
    } else if (strcmp(what, "drills") == 0) {
        char *dir = pd_xasprintf("%s/drills", ctx->cfg.home);

        list_dir(dir, NULL);
        free(dir);
    } else {
        fprintf(stderr, "usage: pgdrill __complete commands|words CMD [SUB]|runbooks|drills\n");
        return 2;
    }
    return 0;
}
