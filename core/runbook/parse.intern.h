/*
 * runbook parse context: shared by parse.c (document walk, header, stages)
 * and step.c (steps, attributes, variables). Not for other modules.
 */
#ifndef PD_RUNBOOK_PARSE_INTERN_H
#define PD_RUNBOOK_PARSE_INTERN_H

#include <stdbool.h>
#include <stddef.h>

#include "pd_buf.h"
#include "runbook/runbook.h"

struct cmark_node;

/* The runbooks being loaded, innermost first: a runbook step may not name one of them. */
struct rb_chain {
    const char *path; /* as realpath(3) gives it, else as given */
    const struct rb_chain *up;
};

/* A name seen once already, for "duplicate ... (first at line N)". */
struct rb_seen {
    char *name;
    int line;
};

struct rb_seen_set {
    struct rb_seen *items;
    size_t n;
};

struct rb_ctx {
    const char *path;
    const char *text;
    size_t len;
    size_t *lines; /* byte offset where each line starts; lines[0] is line 1 */
    size_t n_lines;
    struct runbook_diags *diags;
    size_t first_diag; /* diags of this parse start here */
    struct runbook *rb;
    size_t cur_stage;          /* index into rb->stages, or SIZE_MAX before the first stage */
    struct pd_buf step_prose;  /* prose since the previous step of the stage */
    struct pd_buf stage_prose; /* all prose of the current stage */
    struct pd_buf intro_prose; /* prose before the first stage */
    size_t prose_end;        /* end offset of the last prose block when the last block was prose */
    bool prose_added;        /* the current block was added as prose */
    struct rb_seen_set vars; /* variables defined so far, in document order */
    struct rb_seen_set stage_ids, step_ids, checks, inputs;
    bool cur_stage_dup;           /* the current stage's id repeats an earlier one */
    bool meta_has_id;             /* the metadata block has an id: line (maybe a bad one) */
    const struct rb_chain *chain; /* this runbook and those that include it */

    struct rb_undef {
        char *name;
        struct runbook_pos pos;
    } * undef; /* references to variables not defined at that point */

    size_t n_undef;
};

/* Append a diagnostic at line:col. */
void rb_diag(struct rb_ctx *c, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Source line n (1-based) without its line ending; *len its length. "" past the end. */
const char *rb_line(const struct rb_ctx *c, int n, size_t *len);

/*
 * Position of byte off of a block's literal whose first line is source
 * line base. Lines of a literal are suffixes of their source lines (cmark
 * strips indentation and container markers), which gives the column.
 */
struct runbook_pos rb_lit_pos(const struct rb_ctx *c, int base, const char *lit, size_t off);

/* Remember name at line; returns the earlier line when it was seen already, else 0. */
int rb_seen_add(struct rb_seen_set *set, const char *name, int line);
bool rb_seen_has(const struct rb_seen_set *set, const char *name);
void rb_seen_free(struct rb_seen_set *set);

/* Validate an input's default against its type and choices; diag at pos when wrong. */
void rb_check_input_default(struct rb_ctx *c, const struct runbook_input *in,
                            struct runbook_pos pos);

/*
 * Build a step from a fenced block whose info string starts with an action
 * (info_off: byte offset of the attributes in the fence line), validate it,
 * lint its variables and append it to the current stage.
 */
void rb_step_add(struct rb_ctx *c, struct cmark_node *node, enum step_action action, int info_off);

/* Free the contents of a step / an input (not the struct itself). */
void rb_step_clear(struct runbook_step *step);
void rb_input_clear(struct runbook_input *in);

/* The declaration an `input` step makes (name=, type=, choices=, default=, pattern=, body). */
void rb_input_build(struct rb_ctx *c, struct runbook_step *sp);

/*
 * runbook_load of a runbook that chain includes (a runbook step's): the same parse, with
 * the chain its own runbook steps are checked against.
 */
int rb_load_in(struct runbook **out, const char *path, const struct rb_chain *chain,
               struct runbook_diags *diags, struct pd_err *err);

/* include.c: the runbook action's lint (check_step): load the child, check the body. */
void rb_runbook_include(struct rb_ctx *c, struct runbook_step *sp);
/* include.c: what save= of a runbook step defines (the child's variables). */
const char *rb_runbook_save_names(const struct runbook_step *sp);
/* include.c: after the walk, move each child's stages in after its runbook step's stage. */
void rb_splice_children(struct rb_ctx *c);

#endif
