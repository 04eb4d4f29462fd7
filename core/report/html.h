/*
 * report/html: a drill's report as one self-contained HTML page, for an
 * auditor's screen and for print.
 *
 * The page is built from report.json's text (the report's facts, as
 * report/report.c wrote them) and, for the RTO trend, the local history of
 * the drill's runbook (timeline/history.h). It loads nothing: no script, no
 * link, no image, no font and no url() or @import; the two charts (the
 * stages' expected against actual time, the RTO of each past drill) are
 * inline SVG, the style is one <style> element with print rules. It holds
 * the drill's facts, the measured RTO and RPO against their targets, the
 * stages, the checks with their verdicts, the notes and issues, the
 * sha256 of the runbook, its stages and the journal.
 *
 * Every text taken from the report is HTML-escaped (& < > " '), control
 * characters other than tab and newline and invalid UTF-8 become U+FFFD,
 * and void elements are written self-closed, so the page is well-formed
 * XML as well as HTML. Numbers are formatted without the locale.
 */
#ifndef PD_REPORT_HTML_H
#define PD_REPORT_HTML_H

struct history;
struct pd_err;

/* Past drills drawn on the RTO trend at most (the newest ones). */
#define REPORT_HTML_TREND_MAX 24

/*
 * The page for report.json's text. h (may be NULL: no earlier drills) is
 * the runbook's history; its finished runs with a known RTO up to this
 * drill (by id) are the trend's points. PD_EINPUT "report.json: ..." when
 * the text is not a report. The caller owns *out.
 */
int report_html_string(char **out, const char *report_json, const struct history *h,
                       struct pd_err *err);

/*
 * Read report_json_path, load the history of its runbook under home (a
 * history that cannot be read is logged and left out) and write the page
 * to out_path: 0600, whole or not at all (pd_write_atomic).
 */
int report_html_write(const char *home, const char *report_json_path, const char *out_path,
                      struct pd_err *err);

#endif
