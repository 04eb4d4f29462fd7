/* Tests for tui/text.c, tui/edit.c and tui/keys.c: the TUI's curses-free parts. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../tui/edit.h"
#include "../../tui/request.h"
#include "../../tui/text.h"

struct plain_case {
    const char *md;
    const char *want;
};

static void
test_plain(void **state)
{
    static const struct plain_case cases[] = {
        {"This is **bold** and *em* and `code`.", "This is bold and em and code."},
        {"__strong__ _em_ keep target_time and snake_case_name",
         "strong em keep target_time and snake_case_name"},
        {"See [the docs](https://example.com/x) now.", "See the docs now."},
        {"### Heading\nBody line one\nline two", "Heading\nBody line one line two"},
        {"para one\n\npara two", "para one\n\npara two"},
        {"- a\n- b\n* c\n1. d", "- a\n- b\n- c\n1. d"},
        {"<!-- pgdrill id=x expected=2m -->\nProse.", "Prose."},
        {"before <!-- hidden --> after", "before  after"},
        {"```text\nSELECT 1;\n```\nafter", "    SELECT 1;\nafter"},
        {"~~gone~~ 5 * 3 = 15", "gone 5 * 3 = 15"},
        {"escaped \\*star\\*", "escaped *star*"},
        {"", ""},
        {"\n\n\ntrailing\n\n\n", "trailing"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = tui_text_plain(cases[i].md);
        if (strcmp(got, cases[i].want) != 0)
            print_error("case %zu: got '%s' want '%s'\n", i, got, cases[i].want);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

struct wrap_case {
    const char *text;
    int width;
    const char *want; /* lines joined with '|' */
};

static void
test_wrap(void **state)
{
    static const struct wrap_case cases[] = {
        {"the quick brown fox jumps", 10, "the quick|brown fox|jumps"},
        {"abcdefghijkl", 5, "abcde|fghij|kl"},
        {"- item that wraps around", 12, "- item that|  wraps|  around"},
        {"12. numbered item text", 12, "12. numbered|    item|    text"},
        {"a\n\nb", 10, "a||b"},
        {"ééé ééé", 4, "ééé|ééé"},
        {"", 10, ""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tui_lines l = {0};
        char joined[256] = "";
        tui_text_wrap(&l, cases[i].text, cases[i].width);
        for (size_t j = 0; j < l.n; j++) {
            if (j)
                strcat(joined, "|");
            strcat(joined, l.items[j]);
            assert_true(tui_text_width(l.items[j]) <= cases[i].width);
        }
        if (strcmp(joined, cases[i].want) != 0)
            print_error("case %zu: got '%s' want '%s'\n", i, joined, cases[i].want);
        assert_string_equal(joined, cases[i].want);
        tui_lines_free(&l);
    }
}

static void
test_width(void **state)
{
    int cols;

    (void)state;
    assert_int_equal(tui_text_width("abc"), 3);
    assert_int_equal(tui_text_width("[✓] ok"), 6);
    assert_int_equal(tui_text_width("日本"), 4);
    // never split a character: 3 columns hold one wide character and a half
    assert_int_equal(tui_text_fit("日本", strlen("日本"), 3, &cols), 3);
    assert_int_equal(cols, 2);
}

static void
test_edit(void **state)
{
    struct tui_edit e;

    (void)state;
    tui_edit_init(&e, "");
    for (const char *c = "héllo"; *c;) {
        // insert code points, not bytes
        int cp = (unsigned char)*c;
        if (cp == 0xc3) {
            cp = 0xe9;
            c += 2;
        } else {
            c++;
        }
        tui_edit_insert(&e, cp);
    }
    assert_string_equal(e.buf, "héllo");
    tui_edit_apply(&e, REQ_EDIT_BACKSPACE);
    assert_string_equal(e.buf, "héll");
    tui_edit_apply(&e, REQ_EDIT_HOME);
    tui_edit_apply(&e, REQ_EDIT_RIGHT);
    tui_edit_apply(&e, REQ_EDIT_DELETE); // deletes the two-byte é
    assert_string_equal(e.buf, "hll");
    tui_edit_insert(&e, 'e');
    assert_string_equal(e.buf, "hell");
    tui_edit_insert(&e, 3); // control characters are not text
    assert_string_equal(e.buf, "hell");
    tui_edit_apply(&e, REQ_EDIT_END);
    tui_edit_apply(&e, REQ_EDIT_LEFT);
    tui_edit_apply(&e, REQ_EDIT_BACKSPACE);
    assert_string_equal(e.buf, "hel");
    tui_edit_apply(&e, REQ_EDIT_KILL);
    assert_string_equal(e.buf, "");
    assert_int_equal(e.cursor, 0);
    tui_edit_apply(&e, REQ_EDIT_BACKSPACE); // nothing to delete: no underflow
    tui_edit_insert(&e, 'x');
    char *s = tui_edit_steal(&e);
    assert_string_equal(s, "x");
    assert_string_equal(e.buf, "");
    free(s);
    tui_edit_free(&e);
}

struct key_case {
    enum tui_keymap keymap;
    const char *key;
    enum tui_request want;
};

static void
test_keys(void **state)
{
    static const struct key_case cases[] = {
        {KEYMAP_DRILL, "j", REQ_MOVE_DOWN},
        {KEYMAP_DRILL, "Ctrl-D", REQ_MOVE_HALF_DOWN},
        {KEYMAP_DRILL, "Ctrl-U", REQ_MOVE_HALF_UP},
        {KEYMAP_DRILL, "PgUp", REQ_MOVE_PAGE_UP},
        {KEYMAP_DRILL, "n", REQ_NOTE},
        {KEYMAP_DRILL, "q", REQ_QUIT}, /* from the generic keymap */
        {KEYMAP_DRILL, "?", REQ_HELP},
        {KEYMAP_DRILL, ":", REQ_PROMPT},
        {KEYMAP_PICKER, "Enter", REQ_ENTER},
        {KEYMAP_PICKER, "n", REQ_NONE},
        {KEYMAP_EDIT, "Ctrl-U", REQ_EDIT_KILL},
        {KEYMAP_EDIT, "Esc", REQ_EDIT_CANCEL},
        {KEYMAP_EDIT, "Backspace", REQ_EDIT_BACKSPACE},
        {KEYMAP_EDIT, "q", REQ_NONE}, /* typed text, not quit */
        {KEYMAP_EDIT, "?", REQ_NONE},
        {KEYMAP_FAILURE, "r", REQ_RETRY},
        {KEYMAP_FAILURE, "s", REQ_SKIP},
        {KEYMAP_FAILURE, "q", REQ_STOP},
        {KEYMAP_YESNO, "y", REQ_YES},
        {KEYMAP_YESNO, "Esc", REQ_NO},
    };
    char name[32];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int key = tui_key_parse(cases[i].key);
        assert_int_not_equal(key, TUI_KEY_NONE);
        assert_int_equal(tui_request_for_key(cases[i].keymap, key), cases[i].want);
        tui_key_name(name, sizeof(name), key);
        assert_string_equal(name, cases[i].key);
    }
    assert_int_equal(tui_key_parse("NoSuchKey"), TUI_KEY_NONE);
    assert_string_equal(tui_request_name(REQ_NOTE), "note");
    assert_string_equal(tui_request_help(REQ_QUIT),
                        "Quit; during a drill asks first (resume later)");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain), cmocka_unit_test(test_wrap), cmocka_unit_test(test_width),
        cmocka_unit_test(test_edit),  cmocka_unit_test(test_keys),
    };

    // the width cases need UTF-8; without it they fail and say so
    (void)setlocale(LC_ALL, "C.UTF-8");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
