/*
 * s3 action: the ops op= of an `s3` runbook step can name, one row each.
 *
 * This table holds what an op is, below every layer that asks about it:
 * its name and whether it writes or removes an object. The runbook linter
 * checks op= against it and the plan counts the steps that change
 * something; the engine carries an op out through its own table, indexed
 * by the row's id (the run functions need the engine, so they live there,
 * in engine/s3_step.c). Adding an op is adding its id and row here, its
 * function and row in the engine's table, and their tests. The rows are
 * static: nothing here is freed.
 */
#ifndef S3_ACTION_H
#define S3_ACTION_H

#include <stdbool.h>

/* One id per op, in the order lint messages list them. */
enum s3_action_op_id {
    S3_OP_LIST,
    S3_OP_GET,
    S3_OP_PUT,
    S3_OP_HEAD,
    S3_OP_DELETE,
    S3_OP_VERIFY,
    S3_OP_RESTORE,
    S3_OP_COUNT,
};

struct s3_action_op {
    const char *name;        /* as written in op= */
    enum s3_action_op_id id; /* the op's row in the engine's table */
    bool mutates;            /* writes or removes an object: the plan counts it as a change */
};

/* The row of op name, or NULL for an unknown name. Borrowed, static. */
const struct s3_action_op *s3_action_op_find(const char *name);

/* The row of op id, or NULL for a value outside the enum. Borrowed, static. */
const struct s3_action_op *s3_action_op(enum s3_action_op_id id);

/* Every op name, space-separated in table order (lint messages). Borrowed, static. */
const char *s3_action_op_names(void);

#endif
