/*
 * runbook: the parsed form of a Markdown runbook (see pgdrill-runbook(5)).
 *
 * runbook_load parses a CommonMark file with libcmark into a read-only tree:
 * header metadata, declared inputs, stages (level-2 headings) and their
 * steps (fenced blocks whose info string names an action). The tree owns
 * every string in it; runbook_free releases the whole tree. It is a plain
 * data model rather than an opaque object because the engine, the linter,
 * the report and the TUI all walk it; nobody but the parser writes it.
 *
 * Problems are collected as diagnostics (file:line:col: message), all of
 * them, so `pgdrill lint` can print every one in a single pass.
 */
#ifndef PD_RUNBOOK_H
#define PD_RUNBOOK_H

#include <stdbool.h>
#include <stddef.h>

struct pd_buf;
struct pd_err;

/*
 * Actions a fenced block can name: _(ENUM, "name"). Everything else about
 * an action is its rows, indexed by the enum: its attributes and lint in
 * runbook/action.h, how it runs in the engine's table, how the plan shows
 * it in the plan's.
 */
#define RUNBOOK_ACTIONS(_)                                                                         \
    _(STEP_SH, "sh")                                                                               \
    _(STEP_SQL, "sql")                                                                             \
    _(STEP_CHECK, "check")                                                                         \
    _(STEP_CONFIRM, "confirm")                                                                     \
    _(STEP_INPUT, "input")                                                                         \
    _(STEP_NOTE, "note")                                                                           \
    _(STEP_NEON, "neon")                                                                           \
    _(STEP_S3, "s3")                                                                               \
    _(STEP_COMPLIANCE, "compliance")                                                               \
    _(STEP_ROWS, "rows")                                                                           \
    _(STEP_RUNBOOK, "runbook")

/*
 * Attributes every step accepts: id, on-fail=stop|retry[:N]|skip, manual, when;
 * report=TITLE (the step's output goes into the drill report under TITLE) and
 * report-json=NAME (its output, one JSON object, goes into report.json as NAME).
 */
#define RUNBOOK_COMMON_ATTRS "id on-fail manual when report report-json"

/* The longest timeout= a step may ask for: the engine keeps it in milliseconds in an int. */
#define RUNBOOK_TIMEOUT_MAX_S (168 * 3600)

/*
 * A file name export= or import= accepts: a plain name in the drill folder,
 * [A-Za-z0-9_][A-Za-z0-9._-]*, so it can neither leave the folder nor hide
 * as a dot file.
 */
bool runbook_valid_file_name(const char *s);

enum step_action {

#define RUNBOOK_ACTION_ENUM(e, name) e,
    RUNBOOK_ACTIONS(RUNBOOK_ACTION_ENUM)
#undef RUNBOOK_ACTION_ENUM
        STEP_ACTION_COUNT,
};

enum input_type {
    INPUT_TEXT,
    INPUT_TIMESTAMP, /* RFC 3339, UTC */
    INPUT_CHOICE,
    INPUT_INTEGER,
};

enum fail_policy {
    FAIL_STOP,     /* the drill stops; the operator may resume later */
    FAIL_RETRY,    /* retry up to retries times, then stop */
    FAIL_SKIP,     /* record a skip with a reason and go on */
    FAIL_CONTINUE, /* keep the failure, go on; the drill fails at the end (checks) */
};

struct runbook_pos {
    int line; /* 1-based */
    int col;  /* 1-based */
};

struct runbook_attr {
    char *key;
    char *value;
    struct runbook_pos pos;
};

struct runbook_input {
    char *name;
    enum input_type type;
    char **choices; /* for INPUT_CHOICE */
    size_t n_choices;
    char *prompt;        /* what the operator is asked */
    char *default_value; /* NULL when none */
    bool required;
    struct runbook_pos pos;
    char *pattern; /* step inputs: POSIX extended regex the answer must match, or NULL */
};

struct runbook_step {
    enum step_action action;
    char *id;    /* "stage-id/N" unless id= given */
    char *body;  /* the fenced block's content without its final newline, not expanded */
    char *prose; /* Markdown source of the prose just before this block, may be "" */
    struct runbook_attr *attrs;
    size_t n_attrs;
    enum fail_policy on_fail;
    int retries;            /* for FAIL_RETRY */
    bool manual;            /* a manual step the operator confirms as done */
    struct runbook_pos pos; /* of the opening fence */
    /* STEP_INPUT: the declaration from name=, type=, choices=, default=, pattern=
     * with the body as prompt; NULL for other actions. */
    struct runbook_input *input;
    /* STEP_RUNBOOK: the runbook name= names, loaded (runbook/include.c); its stages have
     * moved into this runbook's, after this step's stage, so n_stages is 0. NULL for
     * other actions. */
    struct runbook *child;
};

struct runbook_stage {
    char *id;       /* stable: from <!-- pgdrill id=... --> or the slug of the title */
    char *title;    /* heading text */
    char *prose;    /* Markdown source of all prose in the stage */
    int expected_s; /* expected duration, 0 when not given */
    bool always;    /* `always`: runs after a failure too (clean-up); such stages come last */
    struct runbook_step *steps;
    size_t n_steps;
    struct runbook_pos pos;
    /*
     * A stage of a sub-drill: a runbook step's child runbook runs inside this drill as
     * stages spliced in right after the step's stage (runbook/include.c). scope is then the
     * stage id of that step ("restore", "restore/x" when nested), where the child's
     * variables live; parent_stage and parent_step locate the runbook step. NULL scope: a
     * stage of the runbook itself.
     */
    char *scope;
    size_t parent_stage, parent_step;
    int depth; /* 0 for the runbook's own stages, 1 for a child's, 2 for a grandchild's ... */
};

/* A `contact: ROLE TEXT` line of the metadata (runbook/contacts). */
struct runbook_contact {
    char *role; /* "on-call", "dba", "security", "neon-support", "aws-support" */
    char *text; /* who and how: "Jane Doe, +1 555 0100" */
};

struct runbook {
    char *path;
    char *id;
    char *title;
    char *use_case;
    char *environment; /* e.g. "sandbox"; may be NULL (then from config) */
    int expected_s;    /* overall */
    int rto_s;         /* 0 when not given */
    int rpo_s;
    bool drill; /* destructive steps against the default branch are refused */
    struct runbook_input *inputs;
    size_t n_inputs;
    struct runbook_stage *stages;
    size_t n_stages;
    char sha256[65];        /* of the whole file */
    char stages_sha256[65]; /* stage ids, titles, step actions, attributes, bodies: resume guard */
    char *prose;            /* Markdown source of the intro before the first stage, may be "" */
    struct runbook_contact *contacts; /* emergency contacts, in file order */
    size_t n_contacts;
    char *var_names; /* every variable it defines (inputs, input steps, save=), space-separated */
};

struct runbook_diag {
    char *file;
    struct runbook_pos pos;
    char *msg;
};

struct runbook_diags {
    struct runbook_diag *items;
    size_t n;
};

/*
 * Parse path. On success *out is a tree the caller owns (runbook_free).
 * Every problem found is appended to diags (may be NULL); if any problem
 * is an error the call fails with PD_EINPUT and err holds the first one as
 * "file:line:col: message". A missing or unreadable file is PD_EINPUT too.
 */
int runbook_load(struct runbook **out, const char *path, struct runbook_diags *diags,
                 struct pd_err *err);

/* Same, from a string already in memory; path is used for messages. */
int runbook_parse(struct runbook **out, const char *path, const char *text, size_t len,
                  struct runbook_diags *diags, struct pd_err *err);

void runbook_free(struct runbook *rb);
/* Free the diagnostics' contents; the struct itself is the caller's and is left empty. */
void runbook_diags_free(struct runbook_diags *diags);

/* "file:line:col: message" for a diagnostic; the caller owns the string. */
char *runbook_diag_format(const struct runbook_diag *diag);

/* Value of attribute key on step, or NULL. Borrowed from the tree. */
const char *runbook_step_attr(const struct runbook_step *step, const char *key);

/* "sh", "sql", ... Borrowed, static. */
const char *runbook_action_name(enum step_action action);

/*
 * Optimal string alignment distance (transpositions count 1), ASCII
 * case-folded: the "did you mean" of the linter and of --var.
 */
size_t runbook_edit_distance(const char *a, const char *b);

/*
 * A training exercise (id "training" or "training-..."): it runs on the local
 * sandbox only, and the TUI picker lists it apart, while the sandbox is up.
 */
bool runbook_is_training(const struct runbook *rb);

/* Find a declared input by name, or NULL. */
const struct runbook_input *runbook_find_input(const struct runbook *rb, const char *name);

/*
 * Called by runbook_expand for each ${name}: append its value to out, or
 * fail (the error is runbook_expand's). at is the offset of the '$' in the
 * text and ref_len the length of "${name}".
 */
typedef int runbook_expand_fn(struct pd_buf *out, const char *name, size_t at, size_t ref_len,
                              void *payload, struct pd_err *err);

/*
 * Expand the variable references of text (NULL reads as ""): `$${` is a
 * literal `${`, and every `${name}` becomes what fn appends. A malformed
 * reference fails PD_EINPUT ("unterminated variable reference '${x'",
 * "empty variable reference '${}'", "bad variable name 'a b'"). The engine
 * runs steps and the plan shows them through this one reading of a body.
 * On success the caller owns *out; on failure *out is NULL.
 */
int runbook_expand(char **out, const char *text, runbook_expand_fn *fn, void *payload,
                   struct pd_err *err);

/*
 * The body of a runbook step: one NAME=VALUE line per input of the child runbook (the value
 * is the rest of the line, ${...} expanded in the parent's variables when the step runs).
 * Reads the next line from *cursor (advanced), skipping blank lines and lines starting
 * with '#'. Returns 1 with *name and *value set (caller owns both), 0 at the end, -1 for a
 * line that is not NAME=VALUE (*name is then the line, *value NULL). *line counts the
 * body's lines from 0 (start it at -1) and is the line read on return.
 */
int runbook_assign_next(const char **cursor, int *line, char **name, char **value);

/*
 * Sub-drills (runbook steps, runbook/include.c). For stage si of a sub-drill, the runbook
 * step that runs it, with the index of that step's stage in *at (may be NULL); NULL for a
 * stage of the runbook itself. Borrowed from the tree.
 */
const struct runbook_step *runbook_stage_parent(const struct runbook *rb, size_t si, size_t *at);

/*
 * The runbook stage si comes from: the child of its runbook step for a stage of a sub-drill
 * (its header: rto:, rpo:, expected:), else rb itself. Borrowed from the tree.
 */
const struct runbook *runbook_stage_owner(const struct runbook *rb, size_t si);

/* The stages of the sub-drill that stage si's runbook step runs: si + 1 to the result. */
size_t runbook_subdrill_end(const struct runbook *rb, size_t si);

/* Does the drill guard cover stage si: drill: yes in this runbook or in one that runs it. */
bool runbook_stage_is_drill(const struct runbook *rb, size_t si);

/* The environment stage si acts on: its runbook's environment:, else the nearest above. */
const char *runbook_stage_environment(const struct runbook *rb, size_t si);

/*
 * Parse a duration: "90s", "5m", "1h30m", "2h", "45" (seconds). Returns 0
 * and stores seconds in *out, or -1 when malformed.
 */
int runbook_parse_duration(int *out, const char *s);

#endif
