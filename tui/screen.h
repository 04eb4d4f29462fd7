/*
 * screen: the TUI's internal model, shared by tui.c and the screens.
 *
 * A screen is a struct screen_ops table (tig's view_ops): open prepares
 * its lines, draw_line paints one terminal row through draw.c, handle acts
 * on a request and close releases what open made. Screens stack: the help
 * screen opens over the drill screen and closes back to it. Dialogs
 * (prompt, confirmation, failure, note, quit, command line) are overlays
 * drawn over the top screen with their own modal key loop.
 */
#ifndef PD_TUI_SCREEN_H
#define PD_TUI_SCREEN_H

#include <stdbool.h>
#include <stddef.h>

#include "draw.h"
#include "edit.h"
#include "engine/engine.h"
#include "input.h"
#include "request.h"
#include "session/session.h"
#include "text.h"
#include "tui.h"

struct tui;
struct tui_screen;

enum screen_result {
    SCREEN_UNHANDLED, /* the generic loop handles it (movement, help, :) */
    SCREEN_OK,
    SCREEN_CLOSE, /* close this screen */
    SCREEN_QUIT,  /* leave the TUI */
};

struct screen_ops {
    const char *name;
    enum tui_keymap keymap;
    int (*open)(struct tui *t, struct tui_screen *s, struct pd_err *err);
    /* Paint terminal row `row` (0-based) of the screen. */
    void (*draw_line)(struct tui *t, struct tui_screen *s, int row);
    enum screen_result (*handle)(struct tui *t, struct tui_screen *s, enum tui_request req);
    void (*close)(struct tui *t, struct tui_screen *s);
};

/* A screen instance: generic list state plus the screen's own data. */
struct tui_screen {
    const struct screen_ops *ops;
    struct tui_screen *below; /* the screen under this one, or NULL */
    size_t n_lines;           /* list screens: content lines */
    size_t top;               /* first content line shown */
    size_t cursor;            /* selected line (picker) */
    bool has_cursor;
    int body_top, body_rows; /* where the list body is, set by the screen's layout */
    void *data;
};

/* A modal dialog drawn over the top screen. */
struct tui_dialog {
    const char *title;
    char *text;             /* owned: message, wrapped when drawn */
    const char *hint;       /* key hints on the last line */
    enum tui_keymap keymap; /* KEYMAP_EDIT for text input */
    struct tui_edit edit;
    bool warn;   /* destructive: warning colours */
    char *error; /* owned: shown in the warning style, or NULL */
    int scroll;  /* first line of the text shown, when it is taller than the screen */
    int page;    /* lines of the text shown (set when drawn) */
};

/* One line of the output pane. */
struct tui_out_line {
    char *text;
    enum draw_style style;
};

struct tui {
    const struct tui_opts *opts;
    struct tui_input in;
    struct tui_screen *top;    /* stack of screens */
    struct tui_dialog *dialog; /* active overlay or NULL */
    char *status;              /* transient status-line message, owned */

    /* the drill being run: the session owns them, rb, drill and engine borrow */
    struct drill_session session;
    struct runbook *rb;
    struct drill *drill;
    struct engine *engine;
    char *env_text; /* owned, upper case */
    enum draw_style env_style;
    enum step_status *stage_status;
    double *stage_secs;    /* finished stages: duration */
    int cur_stage;         /* -1 before the first */
    int cur_step, n_steps; /* in the current stage; cur_step -1 before its first */
    double stage_start;    /* monotonic */
    double run_start;      /* monotonic */
    double base_secs;      /* wall time from the drill's start to this run's */
    double total_secs;     /* frozen when the drill ends */
    bool running;
    char *action; /* owned: "sh: ..." of the current step */
    char *hint;   /* owned: "hint (id): advice" for the current step's failure, or NULL */
    enum step_action action_kind;
    struct tui_out_line *out; /* output pane, ring of TUI_OUT_MAX */
    size_t out_start, out_len;
    size_t out_scroll; /* lines scrolled back from the end; 0 follows */
    bool stop;         /* the operator quit: tick returns true */
    bool aborted;      /* the test script failed */
    char *report_path; /* owned: report written at the end */
    char *answer;      /* owned: the last input answered, shown again if refused */
    char *answer_name; /* owned: the input it answered (NULL: none named) */
    int drill_rc;
};

#define TUI_OUT_MAX 5000

/* Screens. */
extern const struct screen_ops tui_picker_ops;
extern const struct screen_ops tui_drill_ops;
extern const struct screen_ops tui_help_ops;
extern const struct screen_ops tui_summary_ops;

/* Paint the top screen and the dialog (if any). */
void tui_redraw(struct tui *t);

/*
 * Push a screen and run its key loop until it closes (SCREEN_CLOSE) or the
 * TUI quits; returns SCREEN_CLOSE or SCREEN_QUIT. The screen is closed and
 * popped before returning.
 */
enum screen_result tui_screen_run(struct tui *t, const struct screen_ops *ops, void *data);

/* A screen of ops over the top one (not run yet): run_drill pushes the drill screen itself. */
struct tui_screen *tui_screen_new(struct tui *t, const struct screen_ops *ops, void *data);

/* How long a key loop waits for a key before it redraws (ms). */
#define TUI_POLL_MS 200

/* True for the key tui_input_get returns when the terminal was resized. */
bool tui_key_is_resize(int key);

/* Handle a request on a screen the generic way (movement, help, :, refresh). */
enum screen_result tui_screen_generic(struct tui *t, struct tui_screen *s, enum tui_request req);

/*
 * Run a dialog until one of its closing requests (accept, cancel, yes, no,
 * retry, skip, stop); returns that request, or REQ_QUIT when the script
 * aborted. The dialog is not freed.
 */
enum tui_request tui_dialog_run(struct tui *t, struct tui_dialog *d);
void tui_dialog_free(struct tui_dialog *d);

/* A message with one key to close it, in the warning style. */
void tui_message(struct tui *t, const char *title, const char *text);

/* Yes/no question; true for yes. */
bool tui_ask(struct tui *t, const char *title, const char *question);

/*
 * Whether to stop the running drill: question, then how it goes on later,
 * in the TUI and headless, with the drill's id. True for yes.
 */
bool tui_ask_stop(struct tui *t, const char *title, const char *question);

/* The : command line. */
void tui_command_line(struct tui *t);

/* True (and the drill is stopping) once SIGTERM, SIGHUP or SIGINT arrived. */
bool tui_signalled(struct tui *t);

/* Set the transient status message. */
void tui_status(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open the note editor and record the note against the current stage. */
void tui_note(struct tui *t);

/* Fill ev with the TUI's engine callbacks (events.c); their payload is the struct tui. */
void tui_engine_events(struct engine_events *ev);

/* Seconds spent on the drill so far (live while running). */
double tui_total_secs(const struct tui *t);

/* "01:02:03" (or "02:03" with short) into buf. */
void tui_fmt_clock(char *buf, size_t size, double secs, bool short_form);

/* Append a line to the output pane. */
void tui_out_push(struct tui *t, enum draw_style style, const char *text);
const struct tui_out_line *tui_out_at(const struct tui *t, size_t i);

#endif
