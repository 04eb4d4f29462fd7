/*
 * libFuzzer target: the journal reader. Each input is written as
 * HOME/drills/<id>/journal.jsonl and replayed by drill_open with the lock,
 * as `pgdrill resume` does (which also cuts a torn last line off).
 * HOME is a temp dir made once, on /dev/shm when there is one so the
 * rewrites stay in memory.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drill/drill.h"
#include "pd_err.h"

#define FUZZ_DRILL_ID "20261126-030000-fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char home[256];
static char journal[512];

static void
cleanup(void)
{
    char path[512];

    unlink(journal);
    snprintf(path, sizeof(path), "%s/drills/%s/lock", home, FUZZ_DRILL_ID);
    unlink(path);
    snprintf(path, sizeof(path), "%s/drills/%s", home, FUZZ_DRILL_ID);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/drills", home);
    rmdir(path);
    rmdir(home);
}

static void
setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char path[512];

    snprintf(home, sizeof(home), "%s/pgdrill-fuzz-journal.XXXXXX", base);
    if (mkdtemp(home) == NULL)
        abort();
    snprintf(path, sizeof(path), "%s/drills", home);
    if (mkdir(path, 0700) != 0)
        abort();
    snprintf(path, sizeof(path), "%s/drills/%s", home, FUZZ_DRILL_ID);
    if (mkdir(path, 0700) != 0)
        abort();
    snprintf(journal, sizeof(journal), "%s/journal.jsonl", path);
    atexit(cleanup);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pd_err err = {0};
    struct drill *d = NULL;
    int fd;

    if (home[0] == '\0')
        setup();
    fd = open(journal, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
        abort();
    close(fd);
    if (drill_open(&d, home, FUZZ_DRILL_ID, true, &err) == 0) {
        char sha[65];

        for (size_t i = 0; i < d->n_vars; i++)
            (void)drill_var(d, d->vars[i].name);
        for (size_t i = 0; i < d->n_stages; i++)
            (void)step_status_name(d->stages[i].status);
        (void)drill_journal_sha256(d, sha, &err);
    }
    drill_free(d);
    return 0;
}
