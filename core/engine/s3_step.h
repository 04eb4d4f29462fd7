/*
 * s3 step ops: the engine's part of each op an `s3` step can name.
 *
 * What an op is (its name, whether it mutates) is its row in s3/action.c,
 * below the runbook linter and the plan that ask about it. This table,
 * indexed by the same id, holds only what needs the engine: the function
 * that carries the op out (s3_step.c). Adding an op is adding its row
 * there, its function and row here, and their tests. The rows are static:
 * nothing here is freed.
 */
#ifndef PD_ENGINE_S3_STEP_H
#define PD_ENGINE_S3_STEP_H

#include "s3/action.h"

struct engine;
struct engine_step_result;
struct pd_err;
struct s3_client;
struct s3_step_args; /* private to s3_step.c */

struct engine_s3_op {
    int (*run)(struct engine *e, struct s3_client *c, struct s3_step_args *a,
               struct engine_step_result *res, struct pd_err *err);
};

/* The engine's row of op id, or NULL when it has none. Borrowed, static. */
const struct engine_s3_op *engine_s3_op(enum s3_action_op_id id);

#endif
