/* Tests for core/report/html.c: the self-contained HTML report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pd_err.h"
#include "pd_mem.h"
#include "report/html.h"
#include "timeline/history.h"

/* A report.json as report/report.c writes it, with hostile text in every free field. */
static const char report_json[] =
    "{\"drill_id\":\"20261126-040500-quarterly-drill\","
    "\"runbook\":{\"id\":\"quarterly-drill\",\"title\":\"Quarterly <b>drill</b>\","
    "\"path\":\"runbooks/q.md\",\"sha256\":\"" /* 64 hex digits */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
    "\"stages_sha256\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
    "\"journal_sha256\":\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\","
    "\"operator\":\"Ada \\\"the\\\" Operator\",\"host\":\"ops1\","
    "\"started_at\":\"2026-11-26T04:05:00.000Z\",\"finished_at\":\"2026-11-26T04:35:00.000Z\","
    "\"outcome\":\"passed\",\"duration_s\":1800,"
    "\"stages\":[{\"id\":\"restore\",\"title\":\"Test restore from PITR\",\"status\":\"passed\","
    "\"duration_s\":700.5,\"expected_s\":600},"
    "{\"id\":\"verify\",\"title\":\"Integrity verification\",\"status\":\"passed\","
    "\"duration_s\":30,\"expected_s\":900}],"
    "\"checks\":[{\"name\":\"drill.usable\",\"stage\":\"verify\",\"status\":\"passed\","
    "\"expected\":\"= 0\",\"observed\":\"0\"},"
    "{\"name\":\"compliance.retention\",\"stage\":\"verify\",\"status\":\"flagged\","
    "\"expected\":\"> 2557\",\"observed\":\"90 & <i>less</i>\"}],"
    "\"rto_s\":137,\"rto_target_s\":3600,\"rto_verdict\":\"met\","
    "\"rpo_s\":null,\"rpo_target_s\":300,\"rpo_verdict\":\"unknown\","
    "\"notes\":[{\"stage\":\"restore\",\"at\":\"2026-11-26T04:10:00.000Z\","
    "\"text\":\"<script>alert('x')</script> & \\\"q\\\" a\\u0001b\"}],"
    "\"issues\":[{\"stage\":null,\"at\":\"2026-11-26T04:20:00.000Z\","
    "\"text\":\"branch <slow>\",\"kind\":\"recorded\"},"
    "{\"stage\":\"restore\",\"at\":null,\"text\":\"step restore/2 skipped\","
    "\"kind\":\"skipped-step\"}]}";

static char *
render(const struct history *h)
{
    struct pd_err err = {0};
    char *out = NULL;

    if (report_html_string(&out, report_json, h, &err) != 0)
        fail_msg("report_html_string: %s", err.msg);
    return out;
}

/*
 * Every element is closed, in order: the page parses as XML-style markup
 * (void elements are self-closed), so no tag is left open. Returns the
 * first problem, or NULL.
 */
static const char *
unbalanced(const char *s)
{
    static char why[160];
    char stack[64][16];
    size_t depth = 0;

    for (const char *p = strchr(s, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        size_t n = strcspn(p + 1, " \t\n/>");
        bool closing = p[1] == '/';

        if (end == NULL)
            return "a tag is not closed with '>'";
        if (p[1] == '!' || end[-1] == '/')
            continue; // <!DOCTYPE html> or <x .../>
        if (closing)
            n = strcspn(p + 2, " \t\n>");
        if (n == 0 || n >= sizeof(stack[0]))
            return "a tag without a name";
        if (!closing) {
            if (depth == 64)
                return "nested too deep";
            memcpy(stack[depth], p + 1, n);
            stack[depth++][n] = '\0';
        } else if (depth == 0 || strlen(stack[depth - 1]) != n ||
                   strncmp(stack[depth - 1], p + 2, n) != 0) {
            snprintf(why, sizeof(why), "</%.*s> closes <%s>", (int)n, p + 2,
                     depth ? stack[depth - 1] : "nothing");
            return why;
        } else {
            depth--;
        }
    }
    if (depth != 0) {
        snprintf(why, sizeof(why), "<%s> is never closed", stack[depth - 1]);
        return why;
    }
    return NULL;
}

static void
test_escapes_every_text(void **state)
{
    char *html = render(NULL);

    (void)state;
    // the note's markup is text, not a script
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                                 "&quot;q&quot; a\xef\xbf\xbd"
                                 "b</li>"));
    assert_non_null(strstr(html, "<h1>Drill report: Quarterly &lt;b&gt;drill&lt;/b&gt;</h1>"));
    assert_non_null(strstr(html, "Ada &quot;the&quot; Operator"));
    assert_non_null(strstr(html, "<code>90 &amp; &lt;i&gt;less&lt;/i&gt;</code>"));
    assert_non_null(strstr(html, "branch &lt;slow&gt;"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "<i>"));
    assert_null(strstr(html, "<slow>"));
    free(html);
}

static void
test_self_contained_and_well_formed(void **state)
{
    static const char *const never[] = {"<script", "<link",  "<img",    "<iframe",  "<object",
                                        "<embed",  "src=",   "href=",   "url(",     "@import",
                                        "http:",   "https:", "onload=", "onerror=", NULL};
    char *html = render(NULL);
    const char *why;

    (void)state;
    for (size_t i = 0; never[i] != NULL; i++)
        if (strstr(html, never[i]) != NULL)
            fail_msg("the page holds '%s'", never[i]);
    why = unbalanced(html);
    if (why != NULL)
        fail_msg("not well-formed: %s", why);
    assert_non_null(strstr(html, "@media print{"));
    assert_int_equal(strncmp(html, "<!DOCTYPE html>\n<html lang=\"en\">", 32), 0);
    free(html);
}

static void
test_objectives_stages_checks(void **state)
{
    char *html = render(NULL);

    (void)state;
    // RTO and RPO against their targets, with their verdicts
    assert_non_null(strstr(html, "<tr><th scope=\"row\">RTO</th><td class=\"num\">137.000 s "
                                 "(2m17s)</td><td class=\"num\">3600.000 s (1h00m00s)</td>"
                                 "<td><span class=\"met\">met</span></td></tr>"));
    assert_non_null(strstr(html, "<tr><th scope=\"row\">RPO</th><td class=\"num\">\u2014</td>"
                                 "<td class=\"num\">300.000 s (5m00s)</td><td><span "
                                 "class=\"unknown\">unknown</span></td></tr>"));
    // the stage over its expected time has a red bar, the other a blue one
    assert_non_null(strstr(html, "<text x=\"0\" y=\"39\">Test restore from PITR</text>"));
    assert_non_null(strstr(html, "<rect x=\"230\" y=\"38\" width=\"265\" height=\"12\" "
                                 "fill=\"#c0392b\"/>"));
    assert_non_null(strstr(html, "<rect x=\"230\" y=\"72\" width=\"11\" height=\"12\" "
                                 "fill=\"#2b6cb0\"/>"));
    assert_non_null(strstr(html, "<td>Integrity verification</td><td><span "
                                 "class=\"passed\">passed</span></td><td class=\"num\">900.000 "
                                 "s (15m00s)</td><td class=\"num\">30.000 s (30.0s)</td>"));
    assert_non_null(strstr(html, "<p>1 of 2 checks passed, 1 flagged"));
    assert_non_null(strstr(html, "<span class=\"flagged\">flagged</span>"));
    // stage references are shown by title; none is the drill
    assert_non_null(strstr(html, "<li><strong>Drill</strong> (2026-11-26T04:20:00.000Z): "));
    assert_non_null(strstr(html, "<li><strong>Test restore from PITR</strong> (\u2014) "
                                 "[skipped-step]: step restore/2 skipped</li>"));
    assert_non_null(strstr(html, "<code>cccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
                                 "cccccccc</code>"));
    free(html);
}

/* A run of the history: id "2026MMDD-040500-quarterly-drill", outcome NULL: unfinished. */
static void
add_run(struct history *h, const char *mmdd, const char *outcome, double rto_s)
{
    struct history_run *r;

    h->runs = pd_xrealloc(h->runs, (h->n_runs + 1) * sizeof(*h->runs));
    r = &h->runs[h->n_runs++];
    memset(r, 0, sizeof(*r));
    r->drill_id = pd_xasprintf("2026%s-040500-quarterly-drill", mmdd);
    r->started_at = pd_xasprintf("2026-%.2s-%.2sT04:05:00.000Z", mmdd, mmdd + 2);
    r->outcome = outcome != NULL ? pd_xstrdup(outcome) : NULL;
    r->rto_s = rto_s;
    r->rpo_s = -1;
    r->stage_s = pd_xcalloc(1, sizeof(double));
}

static void
test_rto_trend(void **state)
{
    struct history h = {0};

    h.runbook_id = pd_xstrdup("quarterly-drill");
    add_run(&h, "1001", "passed", 200);
    add_run(&h, "1015", NULL, 50);
    add_run(&h, "1101", "failed", -1);
    add_run(&h, "1126", "passed", 137);
    add_run(&h, "1201", "passed", 99);
    char *html = render(&h);

    (void)state;
    // finished drills with an RTO, up to this one; not the unfinished, unmeasured or later ones
    assert_non_null(strstr(html, "<td><code>20261001-040500-quarterly-drill</code></td>"
                                 "<td>2026-10-01T04:05:00.000Z</td><td class=\"num\">200.000 s "
                                 "(3m20s)</td>"));
    assert_non_null(strstr(html, "<td><code>20261126-040500-quarterly-drill</code> (this "
                                 "drill)</td>"));
    assert_null(strstr(html, "20261015-040500"));
    assert_null(strstr(html, "20261101-040500"));
    assert_null(strstr(html, "20261201-040500"));
    assert_non_null(strstr(html, "<polyline fill=\"none\" stroke=\"#2b6cb0\" stroke-width=\"2\" "
                                 "points=\"225,"));
    // the target (1 h) is far above both points: named, not drawn
    assert_non_null(strstr(html, ">target 1h00m00s (above this scale)</text>"));
    assert_non_null(strstr(html, "local history of runbook quarterly-drill (5 drills)"));
    free(html);
    history_clear(&h);

    // without a history, this drill alone, and no line
    html = render(NULL);
    assert_non_null(strstr(html, "No earlier drill of this runbook in the local history."));
    assert_null(strstr(html, "<polyline"));
    free(html);
}

static void
test_not_a_report(void **state)
{
    struct pd_err err = {0};
    char *out = pd_xstrdup("untouched"), *was = out;

    (void)state;
    assert_int_equal(report_html_string(&out, "[1,2]", NULL, &err), PD_EINPUT);
    assert_string_equal(err.msg, "report.json: not a drill report (no drill_id)");
    assert_null(out);
    assert_int_equal(report_html_string(&out, "{\"drill_id\":", NULL, &err), PD_EINPUT);
    free(was);
}

static void
test_invalid_utf8_replaced(void **state)
{
    struct pd_err err = {0};
    char *out = NULL;
    // a lone continuation byte, an overlong '/', a surrogate, then valid é
    const char json[] = "{\"drill_id\":\"x\",\"operator\":\"a\x80"
                        "b\xc0\xaf"
                        "c\xed\xa0\x80"
                        "d\xc3\xa9\"}";

    (void)state;
    assert_int_equal(report_html_string(&out, json, NULL, &err), 0);
    assert_non_null(strstr(out, "<td>a\xef\xbf\xbd"
                                "b\xef\xbf\xbd\xef\xbf\xbd"
                                "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                "d\xc3\xa9</td>"));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escapes_every_text),
        cmocka_unit_test(test_self_contained_and_well_formed),
        cmocka_unit_test(test_objectives_stages_checks),
        cmocka_unit_test(test_rto_trend),
        cmocka_unit_test(test_not_a_report),
        cmocka_unit_test(test_invalid_utf8_replaced),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
