/*
 * libFuzzer target: runbook_parse on arbitrary bytes, with every
 * diagnostic formatted and the tree walked the way the linter and the
 * engine read it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "runbook/runbook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct runbook_diags diags = {0};
    struct pd_err err = {0};
    struct runbook *rb = NULL;
    // runbook_load hands the parser a NUL-terminated copy: do the same
    char *text = pd_xmalloc(size + 1);

    memcpy(text, data, size);
    text[size] = '\0';
    if (runbook_parse(&rb, "fuzz.md", text, size, &diags, &err) == 0) {
        for (size_t i = 0; i < rb->n_stages; i++) {
            const struct runbook_stage *st = &rb->stages[i];

            for (size_t k = 0; k < st->n_steps; k++) {
                (void)runbook_step_attr(&st->steps[k], "timeout");
                (void)runbook_action_name(st->steps[k].action);
            }
        }
        for (size_t i = 0; i < rb->n_inputs; i++)
            (void)runbook_find_input(rb, rb->inputs[i].name);
    }
    for (size_t i = 0; i < diags.n; i++)
        free(runbook_diag_format(&diags.items[i]));
    runbook_diags_free(&diags);
    runbook_free(rb);
    free(text);
    return 0;
}
