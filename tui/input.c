/* input: keyboard and scripted keys. */
#include "input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <curses.h>

#include "draw.h"
#include "pd_mem.h"
#include "pd_time.h"
#include "request.h"

#define WAIT_FOR_TIMEOUT_S 10.0

int
tui_input_open(struct tui_input *in, const char *script, struct pd_err *err)
{
    memset(in, 0, sizeof(*in));
    if (!script || !*script)
        return 0;
    in->script = fopen(script, "r");
    if (!in->script)
        return PD_ERR_SET(err, PD_EINPUT, "tui script %s: %s", script, strerror(errno));
    in->path = pd_xstrdup(script);
    return 0;
}

void
tui_input_close(struct tui_input *in)
{
    if (in->script)
        (void)fclose(in->script); // read only
    in->script = NULL;
    PD_FREE(in->path);
    PD_FREE(in->wait_text);
}

static void
push(struct tui_input *in, int key)
{
    if (in->q_len < sizeof(in->queue) / sizeof(in->queue[0]))
        in->queue[(in->q_head + in->q_len++) % (sizeof(in->queue) / sizeof(in->queue[0]))] = key;
}

static int
pop(struct tui_input *in)
{
    int key = in->queue[in->q_head];

    in->q_head = (in->q_head + 1) % (sizeof(in->queue) / sizeof(in->queue[0]));
    in->q_len--;
    return key;
}

static void
fail(struct tui_input *in, const char *what, const char *arg)
{
    PD_ERR_SET(&in->err, PD_EINPUT, "tui script %s:%d: %s%s%s", in->path, in->line_no, what,
               arg ? " " : "", arg ? arg : "");
    in->failed = true;
    (void)fclose(in->script); // read only
    in->script = NULL;
}

static void
push_text(struct tui_input *in, const char *s)
{
    mbstate_t st;
    size_t len = strlen(s);

    memset(&st, 0, sizeof(st));
    while (len > 0) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, len, &st);
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
            wc = (unsigned char)*s;
            n = 1;
            memset(&st, 0, sizeof(st));
        }
        push(in, (int)wc);
        s += n;
        len -= n;
    }
}

/* Run script lines until a key is queued, a wait starts, or the script ends. */
static void
step_script(struct tui_input *in)
{
    char line[4096];

    while (in->script && in->q_len == 0 && !in->wait_text && in->hold_until == 0) {
        if (!fgets(line, sizeof(line), in->script)) {
            (void)fclose(in->script); // read only
            in->script = NULL;
            return;
        }
        in->line_no++;
        size_t len = strlen(line);
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *arg = strchr(line, ' ');
        if (arg)
            *arg++ = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (strcmp(line, "type") == 0) {
            push_text(in, arg ? arg : "");
        } else if (strcmp(line, "key") == 0) {
            int key = arg ? tui_key_parse(arg) : TUI_KEY_NONE;
            if (key == TUI_KEY_NONE)
                return fail(in, "bad key", arg);
            push(in, key);
        } else if (strcmp(line, "wait-for") == 0 && arg && *arg) {
            in->wait_text = pd_xstrdup(arg);
            in->wait_deadline = pd_time_mono() + WAIT_FOR_TIMEOUT_S;
        } else if (strcmp(line, "dump-screen") == 0 && arg && *arg) {
            struct pd_err e = {0};
            if (draw_screen_dump(arg, &e) != 0)
                return fail(in, e.msg, NULL);
        } else if (strcmp(line, "sleep") == 0 && arg) {
            in->hold_until = pd_time_mono() + strtod(arg, NULL) / 1000.0;
        } else {
            return fail(in, "bad command", line);
        }
    }
}

/* Whether a pending wait or sleep is over (then further lines may run). */
static void
check_hold(struct tui_input *in)
{
    double now = pd_time_mono();

    if (in->hold_until != 0 && now >= in->hold_until)
        in->hold_until = 0;
    if (in->wait_text) {
        char *screen = draw_screen_text();
        bool found = strstr(screen, in->wait_text) != NULL;
        free(screen);
        if (found) {
            PD_FREE(in->wait_text);
        } else if (now >= in->wait_deadline) {
            char *what = pd_xasprintf("wait-for '%s' timed out", in->wait_text);
            PD_FREE(in->wait_text);
            fail(in, what, NULL);
            free(what);
        }
    }
}

static int
read_keyboard(int timeout_ms)
{
    wint_t wch;

    timeout(timeout_ms);
    int rc = get_wch(&wch);
    if (rc == KEY_CODE_YES)
        return TUI_KEY_FN + (int)wch;
    if (rc == OK)
        return (int)wch;
    return TUI_KEY_NONE;
}

int
tui_input_get(struct tui_input *in, int timeout_ms)
{
    if (in->failed)
        return TUI_KEY_ABORT;
    if (!in->script && in->q_len == 0 && !in->wait_text && in->hold_until == 0)
        return read_keyboard(timeout_ms);
    check_hold(in);
    if (in->failed)
        return TUI_KEY_ABORT;
    step_script(in);
    if (in->failed)
        return TUI_KEY_ABORT;
    if (in->q_len > 0) {
        // a resize must still reach the screens while a script types
        int real = read_keyboard(0);
        if (real == TUI_KEY_FN + KEY_RESIZE)
            return real;
        return pop(in);
    }
    // waiting: let the engine run, but keep the terminal responsive
    int slice = timeout_ms < 0 || timeout_ms > 50 ? 50 : timeout_ms;
    return read_keyboard(slice);
}
