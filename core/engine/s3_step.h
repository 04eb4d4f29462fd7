/*
 * s3 step ops: the table of what op= of an `s3` step can name (s3_step.c).
 *
 * One row per op: its name, the function that carries it out and whether
 * it changes something in the bucket. The runbook linter checks op=
 * against it, the plan asks it which steps change something, and the
 * engine runs the row's function. Adding an op is adding a row and its
 * function in s3_step.c. The rows are static: nothing here is freed.
 */
#ifndef PD_ENGINE_S3_STEP_H
#define PD_ENGINE_S3_STEP_H

#include <stdbool.h>

struct engine;
struct engine_step_result;
struct pd_err;
struct s3_client;
struct s3_step_args; /* private to s3_step.c */

struct engine_s3_op {
    const char *name; /* as written in op= */
    int (*run)(struct engine *e, struct s3_client *c, struct s3_step_args *a,
               struct engine_step_result *res, struct pd_err *err);
    bool mutates; /* writes or removes an object: the plan counts it as a change */
};

/* The row of op name, or NULL for an unknown name. Borrowed, static. */
const struct engine_s3_op *engine_s3_op_find(const char *name);

/* Every op name, space-separated in table order (lint messages). Borrowed, static. */
const char *engine_s3_op_names(void);

#endif
