#!/bin/bash
# The HTML report of a quarterly drill, as an auditor gets it: two quarterly
# drills headless against the sandbox Neon server (so the second has a past
# drill on its RTO trend), `pgdrill report show ID --html FILE`, then:
#   - the page is well-formed (python3's html.parser: every element closed,
#     in order; xmllint: well-formed XML) and loads nothing from elsewhere
#     (no script, no src/href/srcset, no url() or @import);
#   - Debian's chromium renders it headless: a screenshot (its path is
#     printed) and a PDF whose text (pdftotext) holds every stage name, the
#     measured RTO and the issue's <script> as plain text.
# chromium or pdftotext missing is a failure, not a skip (scripts/deps.sh
# installs both).
set -u
# shellcheck source=tests/integration/neon_lib.sh
. "$(dirname "$0")/neon_lib.sh"

for tool in chromium pdftotext xmllint; do
    command -v "$tool" >/dev/null 2>&1 || bail setup "$tool is not installed (scripts/deps.sh installs it)"
done
neon_setup report_html
neon_seed_care_commons
export DATABASE_URL=$CARE_URL PGDRILL_HOME=$W/home

# The restore point T0 lies 2 s ahead; the newest row is committed now with
# created_at = T0 - 90 s, so the measured RPO is 90 s (target 5 min: met).
T0=$(cc "SELECT to_char((clock_timestamp() + interval '2 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
cc "INSERT INTO visits (id, client_id, caregiver_id, scheduled_start, scheduled_end, created_at, updated_at)
    VALUES (900001, 1, 1, '$T0'::timestamptz + interval '2 days', '$T0'::timestamptz + interval '2 days 1 hour',
            '$T0'::timestamptz - interval '90 seconds', '$T0'::timestamptz - interval '90 seconds')" >/dev/null
sleep 3.5 # past T0, and the WAL holds it
quarterly() {
    "$PGDRILL_BIN" run "$TOP/runbooks/quarterly-drill.md" --yes \
        --var drill_date=2026-11-26 --var notice_sent_on=2026-11-18 \
        --var operator="Ada Operator" --var observer="Oscar Observer" \
        --var "target_time=$T0" --var timing="restore took under a minute" \
        --var issues="$1" --var debrief="went as planned"
}
quarterly "first drill of the quarter" >"$W/out.q1" 2>&1
is "$?" 0 "quarterly drill 1 passes"
sleep 1 # drill ids have a resolution of one second
quarterly "<script>alert('pwned')</script> & the branch took a while" >"$W/out.q2" 2>&1
rc=$?
is "$rc" 0 "quarterly drill 2 passes"
[ "$rc" = 0 ] || tail -30 "$W/out.q2" | sed 's/^/# /'
ID=$(basename "$(last_path "$PGDRILL_HOME"/drills/*quarterly-drill)")
R=$PGDRILL_HOME/drills/$ID/report.json

# Where the rendered report stays after the test (the work dir is removed).
ART=${PGDRILL_ARTIFACTS:-${TMPDIR:-/tmp}/pgdrill-artifacts}/report_html.$(date -u +%Y%m%dT%H%M%SZ).$$
mkdir -p "$ART"
H=$ART/report.html
"$PGDRILL_BIN" report show "$ID" --html "$H" >"$W/out.html" 2>&1
is "$?" 0 "report show --html: exit 0"
is "$(stat -c %a "$H")" 600 "report show --html: the page is 0600 like the reports"

# ---- well-formed, and nothing loaded from elsewhere
check "xmllint: the page is well-formed XML" xmllint --noout "$H"
python3 - "$H" >"$W/parse.out" 2>&1 <<'EOF'
import sys
from html.parser import HTMLParser

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "embed",
        "source", "track", "wbr"}
LOADS = {"src", "href", "xlink:href", "srcset", "poster", "data", "action", "formaction",
         "background"}

class Check(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.style = [], [], []
        self.tags = 0

    def handle_starttag(self, tag, attrs):
        self.tags += 1
        for name, value in attrs:
            # a URL in any attribute (a namespace too) could be fetched; text may hold one
            if name in LOADS or name.startswith("on") or "//" in (value or ""):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name == "style":
                self.style.append(value or "")
        if tag in ("script", "link", "img", "iframe", "object", "embed", "base"):
            self.problems.append(f"<{tag}> element")
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "style":
            self.style.append("")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            self.style[-1] += data

p = Check()
p.feed(open(sys.argv[1], encoding="utf-8").read())
p.close()
css = " ".join(p.style).lower()
for bad in ("url(", "@import", "@font-face"):
    if bad in css:
        p.problems.append(f"css {bad}")
p.problems += [f"<{t}> never closed" for t in p.stack]
print(f"tags={p.tags} problems={len(p.problems)}")
for x in p.problems[:10]:
    print("#", x)
EOF
like "$(cat "$W/parse.out")" "^tags=[0-9]{3,} problems=0$" "html.parser: every element closed in order, nothing loaded, no url()/@import"
[ "$(sed -n 's/.*problems=\([0-9]*\).*/\1/p' "$W/parse.out")" = 0 ] || sed 's/^/# /' "$W/parse.out"
unlike "$(grep -o '<[^>]*>' "$H")" "//" "no tag of the page holds a URL (only text does: the TLS check names endpoints)"
like "$(cat "$H")" "&lt;script&gt;alert\(&#39;pwned&#39;\)&lt;/script&gt; &amp; the branch" "the issue's markup is escaped"
like "$(cat "$H")" "<svg role=\"img\" aria-labelledby=\"stages-chart-title\"" "the stages' chart is inline SVG"
like "$(cat "$H")" "<svg role=\"img\" aria-labelledby=\"trend-chart-title\"" "the RTO trend is inline SVG"
like "$(cat "$H")" "<polyline " "the trend joins the two drills"
like "$(cat "$H")" "@media print\{" "the page has print rules"

# ---- chromium, headless: screenshot and PDF
CHR="timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage
    --no-first-run --user-data-dir=$W/chromium --hide-scrollbars"
# shellcheck disable=SC2086 # CHR is a word list on purpose
HOME=$W/chromium-home $CHR --window-size=1024,3200 --screenshot="$ART/report.png" "file://$H" >"$W/chr.shot.log" 2>&1
check "chromium: the screenshot was taken" [ -s "$ART/report.png" ]
is "$(python3 -c 'import struct,sys; h=open(sys.argv[1],"rb").read(24); print("%s %dx%d" % ((h[:8]==b"\x89PNG\r\n\x1a\n",) + struct.unpack(">II", h[16:24])))' "$ART/report.png")" \
    "True 1024x3200" "chromium: the screenshot is a 1024x3200 PNG"
diag "screenshot of the HTML report: $ART/report.png (HTML $H, PDF $ART/report.pdf)"
# shellcheck disable=SC2086
HOME=$W/chromium-home $CHR --no-pdf-header-footer --print-to-pdf="$ART/report.pdf" "file://$H" >"$W/chr.pdf.log" 2>&1
check "chromium: the PDF was printed" [ -s "$ART/report.pdf" ]
pdftotext -enc UTF-8 "$ART/report.pdf" "$W/report.txt" 2>"$W/pdftotext.err"
is "$?" 0 "pdftotext reads the PDF"
# one line, single spaces: table cells and SVG labels may break lines anywhere
TXT=$(tr -s ' \n\t' '   ' <"$W/report.txt")
n=$(json_eval "$R" 'len(d["stages"])')
check "report: the quarterly drill has its stages ($n)" [ "$n" -ge 8 ]
for i in $(seq 0 $((n - 1))); do
    title=$(json_get "$R" "stages.$i.title")
    if [[ $TXT == *"$title"* ]]; then
        ok "PDF: stage '$title'"
    else
        not_ok "PDF: stage '$title'"
    fi
done
rto=$(json_eval "$R" '"%.3f" % d["rto_s"]')
like "$TXT" "RTO $rto s \([0-9hms.]+\) 3600\.000 s \(1h00m00s\)" "PDF: the measured RTO ($rto s) against its 1 h target"
like "$TXT" "RPO (89|90)\.[0-9]{3} s \(1m30s\) 300\.000 s \(5m00s\)" "PDF: the measured RPO (90 s) against its 5 min target"
OBJ=${TXT#*Recovery objectives}
OBJ=${OBJ%%RTO: from the start*}
is "$(grep -o '\bmet\b' <<<"$OBJ" | wc -l)" 2 "PDF: the RTO and RPO verdicts are both met"
like "$TXT" "<script>alert\('pwned'\)</script> & the branch took a while" "PDF: the issue's <script> is plain text, not run"
like "$TXT" "$(json_get "$R" journal_sha256)" "PDF: the journal's sha256"
like "$TXT" "$(json_get "$R" runbook.sha256)" "PDF: the runbook's sha256"
like "$TXT" "drill.usable" "PDF: the checks"
like "$TXT" "RTO of past drills of this runbook" "PDF: the RTO trend's section"
key_check
done_testing
