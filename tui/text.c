/* text: width, Markdown stripping and wrapping for the TUI. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700 // wcwidth (the Makefile sets it through ncursesw cflags)
#endif
#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "pd_buf.h"
#include "pd_mem.h"

/* Decode one character; returns its byte length (>= 1) and its width. */
static size_t
char_at(const char *s, size_t len, int *width)
{
    mbstate_t st;
    wchar_t wc;

    memset(&st, 0, sizeof(st));
    size_t n = mbrtowc(&wc, s, len, &st);
    if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
        *width = 1; // show an undecodable byte as one cell
        return 1;
    }
    int w = wcwidth(wc);
    *width = w < 0 ? 1 : w;
    return n;
}

size_t
tui_text_fit(const char *text, size_t len, int width, int *cols_out)
{
    size_t i = 0;
    int cols = 0;

    while (i < len && text[i]) {
        int w;
        size_t n = char_at(text + i, len - i, &w);
        if (cols + w > width)
            break;
        cols += w;
        i += n;
    }
    if (cols_out)
        *cols_out = cols;
    return i;
}

int
tui_text_width(const char *text)
{
    int cols;

    tui_text_fit(text, strlen(text), 1 << 30, &cols);
    return cols;
}

void
tui_lines_push(struct tui_lines *l, const char *s, size_t len)
{
    l->items = pd_xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
    l->items[l->n++] = pd_xstrndup(s, len);
}

void
tui_lines_free(struct tui_lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static bool
is_word(char c)
{
    return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

/* Strip inline Markdown from one logical line, appending to out. */
static void
plain_inline(struct pd_buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        char prev = i > 0 ? s[i - 1] : ' ';
        char next = i + 1 < len ? s[i + 1] : ' ';

        if (c == '\\' && i + 1 < len && ispunct((unsigned char)next)) {
            pd_buf_append(out, &next, 1, NULL);
            i++;
        } else if (c == '`' || (c == '!' && next == '[')) {
            continue; // code span and image markers
        } else if ((c == '*' || c == '~') && (next == c || prev == c || is_word(next) ||
                                              is_word(prev) || ispunct((unsigned char)next))) {
            // emphasis or strike-through marker; a lone "*" between spaces stays
            if (c == '~' && next != '~' && prev != '~')
                pd_buf_append(out, &c, 1, NULL);
            continue;
        } else if (c == '_' && !(is_word(prev) && is_word(next)) && prev != '\\') {
            // "_" inside an identifier (target_time) is not emphasis
            if (prev == ' ' && next == ' ')
                pd_buf_append(out, &c, 1, NULL);
            continue;
        } else if (c == '[') {
            const char *close = memchr(s + i, ']', len - i);
            if (close && (size_t)(close - s) + 1 < len && close[1] == '(') {
                const char *end = memchr(close, ')', len - (size_t)(close - s));
                if (end) {
                    plain_inline(out, s + i + 1, (size_t)(close - s - (long)i - 1));
                    i = (size_t)(end - s);
                    continue;
                }
            }
            pd_buf_append(out, &c, 1, NULL);
        } else if (c == '<' && (strncmp(s + i, "<http", 5) == 0)) {
            const char *end = memchr(s + i, '>', len - i);
            if (end) {
                pd_buf_append(out, s + i + 1, (size_t)(end - s - (long)i - 1), NULL);
                i = (size_t)(end - s);
                continue;
            }
            pd_buf_append(out, &c, 1, NULL);
        } else {
            pd_buf_append(out, &c, 1, NULL);
        }
    }
}

/* HTML comments (pgdrill stage directives) are not prose; drop them, keeping line breaks. */
static char *
strip_comments(const char *s)
{
    struct pd_buf b;

    pd_buf_init(&b, 0);
    pd_buf_append(&b, "", 0, NULL);
    for (;;) {
        const char *open = strstr(s, "<!--");
        if (!open) {
            pd_buf_append(&b, s, strlen(s), NULL);
            break;
        }
        pd_buf_append(&b, s, (size_t)(open - s), NULL);
        const char *end = strstr(open + 4, "-->");
        if (!end)
            break;
        for (const char *q = open; q < end; q++)
            if (*q == '\n')
                pd_buf_append(&b, "\n", 1, NULL);
        s = end + 3;
    }
    return pd_buf_steal(&b);
}

static bool
starts_block_item(const char *s, size_t len)
{
    size_t i = 0;

    if (len >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && s[1] == ' ')
        return true;
    if (len >= 1 && s[0] == '>')
        return true;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    return i > 0 && i + 1 < len && (s[i] == '.' || s[i] == ')') && s[i + 1] == ' ';
}

char *
tui_text_plain(const char *markdown)
{
    struct pd_buf out;
    bool in_fence = false, in_para = false;
    char *src = strip_comments(markdown ? markdown : "");
    const char *p = src;

    pd_buf_init(&out, 0);
    pd_buf_append(&out, "", 0, NULL);
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *line = p;
        p = nl ? nl + 1 : p + len;

        size_t ind = 0;
        while (ind < len && line[ind] == ' ')
            ind++;
        // cppcheck-suppress knownConditionTrueFalse ; it misreads ind < len above
        if (len - ind >= 3 &&
            (strncmp(line + ind, "```", 3) == 0 || strncmp(line + ind, "~~~", 3) == 0)) {
            in_fence = !in_fence;
            if (in_para)
                pd_buf_append(&out, "\n", 1, NULL);
            in_para = false;
            continue;
        }
        if (in_fence) {
            pd_buf_append(&out, "    ", 4, NULL);
            pd_buf_append(&out, line, len, NULL);
            pd_buf_append(&out, "\n", 1, NULL);
            continue;
        }
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\r'))
            len--;
        while (ind < len && line[ind] == ' ')
            ind++;
        if (ind >= len) {
            if (in_para)
                pd_buf_append(&out, "\n", 1, NULL);
            in_para = false;
            if (out.len > 0 &&
                !(out.len >= 2 && out.data[out.len - 1] == '\n' && out.data[out.len - 2] == '\n'))
                pd_buf_append(&out, "\n", 1, NULL);
            continue;
        }
        const char *text = line + ind;
        size_t tlen = len - ind;
        if (text[0] == '#') {
            size_t h = 0;
            while (h < tlen && text[h] == '#')
                h++;
            if (h < tlen && text[h] == ' ') {
                text += h + 1;
                tlen -= h + 1;
                if (in_para)
                    pd_buf_append(&out, "\n", 1, NULL);
                plain_inline(&out, text, tlen);
                pd_buf_append(&out, "\n", 1, NULL);
                in_para = false;
                continue;
            }
        }
        if (starts_block_item(text, tlen)) {
            if (in_para)
                pd_buf_append(&out, "\n", 1, NULL);
            if (text[0] == '*' || text[0] == '+') {
                pd_buf_append(&out, "- ", 2, NULL);
                text += 2;
                tlen -= 2;
            }
            if (ind > 0)
                pd_buf_append(&out, "  ", 2, NULL);
        } else if (in_para) {
            pd_buf_append(&out, " ", 1, NULL);
        }
        plain_inline(&out, text, tlen);
        in_para = true;
    }
    if (in_para)
        pd_buf_append(&out, "\n", 1, NULL);
    // no trailing blank lines
    while (out.len > 0 && out.data[out.len - 1] == '\n')
        out.data[--out.len] = '\0';
    size_t lead = 0;
    while (lead < out.len && out.data[lead] == '\n')
        lead++;
    char *res = pd_xstrdup(out.data + lead);
    pd_buf_free(&out);
    free(src);
    return res;
}

/* Columns of hanging indent for a wrapped line: list markers and leading spaces. */
static int
hang_indent(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && s[i] == ' ')
        i++;
    if (i + 1 < len && (s[i] == '-' || s[i] == '>') && s[i + 1] == ' ')
        return (int)i + 2;
    size_t d = i;
    while (d < len && isdigit((unsigned char)s[d]))
        d++;
    if (d > i && d + 1 < len && (s[d] == '.' || s[d] == ')') && s[d + 1] == ' ')
        return (int)d + 2;
    return (int)i;
}

static void
wrap_line(struct tui_lines *out, const char *s, size_t len, int width)
{
    int hang = hang_indent(s, len);
    bool first = true;

    if (hang > width / 2)
        hang = 0;
    if (len == 0) {
        tui_lines_push(out, "", 0);
        return;
    }
    while (len > 0) {
        int avail = first ? width : width - hang;
        int cols;
        size_t fit = tui_text_fit(s, len, avail, &cols);
        size_t take = fit, skip = fit;

        if (fit < len) {
            // break at the last space that fits
            size_t sp = fit;
            while (sp > 0 && s[sp] != ' ')
                sp--;
            if (sp > 0 && s[sp] == ' ') {
                take = sp;
                skip = sp + 1;
            }
            if (fit == 0) // a character wider than the line
                take = skip = 1;
        }
        struct pd_buf b;
        pd_buf_init(&b, 0);
        if (!first)
            for (int i = 0; i < hang; i++)
                pd_buf_append(&b, " ", 1, NULL);
        pd_buf_append(&b, s, take, NULL);
        tui_lines_push(out, b.data, b.len);
        pd_buf_free(&b);
        s += skip;
        len -= skip;
        while (!first && len > 0 && *s == ' ')
            s++, len--;
        if (first)
            while (len > 0 && *s == ' ' && take > 0)
                s++, len--;
        first = false;
    }
}

void
tui_text_wrap(struct tui_lines *out, const char *text, int width)
{
    const char *p = text ? text : "";

    if (width < 1)
        width = 1;
    for (;;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        wrap_line(out, p, len, width);
        if (!nl)
            break;
        p = nl + 1;
    }
}
