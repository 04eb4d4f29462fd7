/*
 * runbook actions: the runbook's table of rows (action.h), the lint checks
 * of the attributes only one action has, and the static properties of a
 * step that the layers above ask about.
 */
#include "runbook/action.h"

#include <string.h>

#include "compliance/compliance.h"
#include "neon/action.h"
#include "runbook/parse.intern.h"
#include "runbook/runbook.intern.h"
#include "s3/action.h"

/* ---- lint: attributes only one action has ---- */

static bool
valid_check_name(const char *s)
{
    const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    if (*s == '\0' || !strchr(ok, *s))
        return false;
    for (; *s; s++)
        if (!strchr(ok, *s) && !strchr("_.:-", *s))
            return false;
    return true;
}

static void
check_check_attr(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    int first;

    (void)sp;
    if (strcmp(a->key, "name") != 0)
        return;
    if (!valid_check_name(a->value)) {
        rb_diag(c, a->pos.line, a->pos.col, "bad check name '%s'", a->value);
    } else if ((first = rb_seen_add(&c->checks, a->value, a->pos.line)) != 0) {
        rb_diag(c, a->pos.line, a->pos.col, "duplicate check name '%s' (first at line %d)",
                a->value, first);
    }
}

static void
neon_check_attr(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    int secs = 0;

    (void)sp;
    if (strcmp(a->key, "op") == 0 && neon_action_op_find(a->value) == NULL)
        rb_diag(c, a->pos.line, a->pos.col, "bad neon op '%s' (expected one of: %s)", a->value,
                neon_action_op_names());
    else if (strcmp(a->key, "expires") == 0 && strcmp(a->value, "none") != 0 &&
             strstr(a->value, "${") == NULL &&
             (runbook_parse_duration(&secs, a->value) != 0 || secs <= 0))
        rb_diag(c, a->pos.line, a->pos.col,
                "bad value '%s' for expires (expected none or a duration such as 24h)", a->value);
}

static void
s3_check_attr(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    (void)sp;
    if (strcmp(a->key, "op") == 0 && s3_action_op_find(a->value) == NULL)
        rb_diag(c, a->pos.line, a->pos.col, "bad s3 op '%s' (expected one of: %s)", a->value,
                s3_action_op_names());
    else if (strcmp(a->key, "file") == 0 && !runbook_valid_file_name(a->value))
        rb_diag(c, a->pos.line, a->pos.col,
                "bad file name '%s' for file (a plain name in the drill folder)", a->value);
}

static void
compliance_check_attr(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    const char *v = a->value;

    (void)sp;
    if (strcmp(a->key, "check") == 0 &&
        (!runbook_word_in(COMPLIANCE_CHECKS, v, strlen(v)) || *v == '\0'))
        rb_diag(c, a->pos.line, a->pos.col,
                "bad compliance check '%s' (expected one of: " COMPLIANCE_CHECKS ")", v);
}

static void
rows_check_attr(struct rb_ctx *c, struct runbook_step *sp, const struct runbook_attr *a)
{
    const char *v = a->value;

    (void)sp;
    if (strchr(v, '$') != NULL)
        return; // a variable: the engine checks the value it takes
    if (strcmp(a->key, "mode") == 0 && strcmp(v, "missing") != 0 && strcmp(v, "revert") != 0 &&
        strcmp(v, "undo") != 0)
        rb_diag(c, a->pos.line, a->pos.col, "bad rows mode '%s' (expected missing, revert or undo)",
                v);
    else if ((strcmp(a->key, "preview") == 0 || strcmp(a->key, "delete-inserted") == 0) &&
             strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
        rb_diag(c, a->pos.line, a->pos.col, "bad value '%s' for %s (expected yes or no)", v,
                a->key);
}

/* ---- what save= defines ---- */

static const char *
neon_save_suffixes(const struct runbook_step *sp)
{
    (void)sp;
    return "id name host uri"; // neon_step.c saves these from struct neon_action_out
}

static const char *
sql_save_suffixes(const struct runbook_step *sp)
{
    // an import saves the rows in the file, the rows it added and the rows it skipped
    return runbook_step_attr(sp, "import") != NULL ? "rows inserted skipped" : NULL;
}

static const char *
rows_save_suffixes(const struct runbook_step *sp)
{
    (void)sp;
    // engine/rows_step.c (rows_save) saves these, counts first, then sample keys
    return "staged missing changed added inserted reverted deleted conflicts left sequences "
           "fk_missing missing_keys changed_keys added_keys conflict_keys inserted_keys mode";
}

/* ---- may the step change something? ---- */

static bool
never_mutates(const struct runbook_step *sp)
{
    (void)sp;
    return false;
}

static bool
sh_mutates(const struct runbook_step *sp)
{
    // a command may change anything, unless it only captures a value (save=) or the
    // operator does the work by hand (manual)
    return !sp->manual && runbook_step_attr(sp, "save") == NULL;
}

static bool
sql_mutates(const struct runbook_step *sp)
{
    const char *v = runbook_step_attr(sp, "readonly");

    return v && (strcmp(v, "no") == 0 || strcmp(v, "false") == 0);
}

static bool
neon_mutates(const struct runbook_step *sp)
{
    const struct neon_action_op *op = neon_action_op_find(runbook_step_attr(sp, "op"));

    return op != NULL && op->mutates;
}

static bool
s3_mutates(const struct runbook_step *sp)
{
    const struct s3_action_op *op = s3_action_op_find(runbook_step_attr(sp, "op"));

    return op != NULL && op->mutates;
}

static bool
rows_mutates(const struct runbook_step *sp)
{
    const char *v = runbook_step_attr(sp, "preview");

    return v == NULL || strcmp(v, "yes") != 0;
}

/* ---- the drill guard: which steps are destructive ---- */

static bool
confirm_guard(const struct runbook_step *sp, struct runbook_guard *out)
{
    const char *d = runbook_step_attr(sp, "destructive");

    *out = (struct runbook_guard){.op = "confirm", .target_attr = "target"};
    return d != NULL && strcmp(d, "yes") == 0;
}

static bool
neon_guard(const struct runbook_step *sp, struct runbook_guard *out)
{
    const char *op = runbook_step_attr(sp, "op");
    const struct neon_action_op *row = neon_action_op_find(op);

    *out = (struct runbook_guard){
        .op = op,
        .target_attr = "branch",
        .always = row != NULL && row->guard == NEON_GUARD_ALWAYS,
        .calls_neon = true,
    };
    return row != NULL && row->guard != NEON_GUARD_NONE;
}

/* ---- the table ---- */

static const struct runbook_action actions[STEP_ACTION_COUNT] = {
    [STEP_SH] =
        {
            .required = "",
            .allowed = "timeout save env marks",
            .body = RUNBOOK_BODY_SHELL,
            .needs_body = true,
            .mutates = sh_mutates,
        },
    [STEP_SQL] =
        {
            .required = "",
            .allowed = "url timeout save readonly export import into ident marks",
            .body = RUNBOOK_BODY_SQL,
            .needs_body = true,
            .changes_service = true,
            .save_suffixes = sql_save_suffixes,
            .mutates = sql_mutates,
        },
    [STEP_CHECK] =
        {
            .required = "name expect",
            .allowed = "url timeout baseline ident marks rpo",
            .body = RUNBOOK_BODY_SQL,
            .needs_body = true,
            .changes_service = true,
            .check_attr = check_check_attr,
            .mutates = never_mutates,
        },
    [STEP_CONFIRM] =
        {
            .required = "target",
            .allowed = "destructive",
            .asks_operator = true,
            .guard = confirm_guard,
            .mutates = never_mutates,
        },
    [STEP_INPUT] =
        {
            .required = "name",
            .allowed = "type choices default pattern",
            .asks_operator = true,
            .check_step = rb_input_build,
            .mutates = never_mutates,
        },
    [STEP_NOTE] =
        {
            .required = "",
            .allowed = "name kind",
            .asks_operator = true,
            .mutates = never_mutates,
        },
    [STEP_NEON] =
        {
            .required = "op",
            .allowed = "branch parent timestamp lsn name save source preserve endpoint database "
                       "role operation timeout expires",
            .changes_service = true,
            .check_attr = neon_check_attr,
            .save_suffixes = neon_save_suffixes,
            .guard = neon_guard,
            .mutates = neon_mutates,
        },
    [STEP_S3] =
        {
            .required = "op",
            .allowed = "uri key save count max-age url format jobs file",
            .changes_service = true,
            .check_attr = s3_check_attr,
            .mutates = s3_mutates,
        },
    [STEP_COMPLIANCE] =
        {
            .required = "check",
            .allowed = "uri count",
            .changes_service = true,
            .check_attr = compliance_check_attr,
            .mutates = never_mutates,
        },
    [STEP_ROWS] =
        {
            .required = "table from",
            .allowed = "url mode incident delete-inserted preview save timeout",
            .body = RUNBOOK_BODY_SQL,
            .changes_service = true,
            .check_attr = rows_check_attr,
            .save_suffixes = rows_save_suffixes,
            .mutates = rows_mutates,
        },
    [STEP_RUNBOOK] =
        {
            // the child's own steps say what they change; this one only hands it its inputs
            .required = "name",
            .allowed = "save",
            .body = RUNBOOK_BODY_TEXT,
            .check_step = rb_runbook_include,
            .save_suffixes = rb_runbook_save_names,
            .mutates = never_mutates,
        },
};

const struct runbook_action *
runbook_action(enum step_action a)
{
    if ((int)a < 0 || a >= STEP_ACTION_COUNT)
        return NULL;
    return &actions[a];
}
