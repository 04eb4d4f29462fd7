/* s3 action: the table of ops an `s3` step can name (action.h). */
#include "s3/action.h"

#include <string.h>

#include "pd_err.h"
#include "pd_str.h"

/*
 * The ops, one row each, indexed by id; the order is the one lint messages
 * list. Nothing else in the tree names an op's properties.
 */
static const struct s3_action_op op_table[S3_OP_COUNT] = {
    /* name, id, mutates */
    [S3_OP_LIST] = {"list", S3_OP_LIST, false},       // the newest objects under uri=
    [S3_OP_GET] = {"get", S3_OP_GET, false},          // an object into the drill folder
    [S3_OP_PUT] = {"put", S3_OP_PUT, true},           // a file of the drill folder up to an object
    [S3_OP_HEAD] = {"head", S3_OP_HEAD, false},       // an object's size, date and checksum
    [S3_OP_DELETE] = {"delete", S3_OP_DELETE, true},  // an object
    [S3_OP_VERIFY] = {"verify", S3_OP_VERIFY, false}, // an object's checksum and gzip stream
    [S3_OP_RESTORE] = {"restore", S3_OP_RESTORE, false}, // an object into a database
};

const struct s3_action_op *
s3_action_op_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < S3_OP_COUNT; i++)
        if (op_table[i].name != NULL && strcmp(op_table[i].name, name) == 0)
            return &op_table[i];
    return NULL;
}

const struct s3_action_op *
s3_action_op(enum s3_action_op_id id)
{
    if ((int)id < 0 || id >= S3_OP_COUNT || op_table[id].name == NULL)
        return NULL;
    return &op_table[id];
}

const char *
s3_action_op_names(void)
{
    static char names[256];

    if (names[0] == '\0') {
        for (size_t i = 0; i < S3_OP_COUNT; i++)
            pd_words_append(names, sizeof(names), op_table[i].name);
    }
    return names;
}
