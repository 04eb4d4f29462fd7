/*
 * Linked into every fuzz target: core logs through pd_log, whose default
 * is stderr; thousands of identical warnings a second would only slow the
 * fuzzer down and bury its own report.
 */
#include <stddef.h>

#include "pd_log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static void
fuzz_quiet(enum pd_log_level level, const char *msg, void *payload)
{
    (void)level;
    (void)msg;
    (void)payload;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    pd_log_set_sink(fuzz_quiet, NULL);
    return 0;
}
