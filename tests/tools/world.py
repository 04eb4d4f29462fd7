#!/usr/bin/python3
"""The incident world of the restore tests (driven by tests/integration/world_lib.sh).

    world.py writer STATE-DIR           the application: writes until told to stop
    world.py snapshot URL OUT [TABLE...] per-row fingerprints, one JSON file
    world.py incident KIND URL OUT      one incident, in one transaction
    world.py verify ARGS...             the restored world against its ground truth
    world.py writer-phase LOG FROM [TO] what the writer did between two log lines
    world.py default-uri DATABASE ROLE  the Neon default branch's connection URI
    world.py branches                   "NAME default|-" per branch of the project
    world.py delete-branch NAME         deletes it, waits until it is gone

Fingerprints are md5 of a row's text (time zone UTC), keyed by primary key.
Only keys, fingerprints and counts are written to files, never row data.

The writer behaves like the Care Commons application: every PERIOD seconds one
transaction, in turn an insert of a visit (no id: the identity sequence picks
it), a check-in (EVV time and position) and an edit. It reads:

    STATE/url     the database it writes to; re-read on every reconnect and
                  checked every turn: a new value makes it reconnect there
    STATE/mode    all      inserts, check-ins and edits of any visit
                  own      inserts, and check-ins and edits of visits it
                           created since it last paused (after the restore
                           point: never a row a restore touches)
                  insert   inserts only
                  pause    nothing (a drill's restore point, a verification)
                  stop     exit
    STATE/requests/*.ids  ids of visits to edit next (one transaction each);
                  *.burst  a number of visits to insert at once (one
                  transaction each); the file is removed when done

and writes STATE/ack (the mode of the last completed turn) and appends to
STATE/writer.jsonl one JSON object per event: {"t", "op", "id", "fp",
"rows"} for a committed insert/checkin/edit, {"t", "op", "error"} for a
statement the database refused, {"t", "event": "disconnect"|"reconnect"|
"retarget"|"start"|"stop"} for its connection. SIGTERM stops it between
transactions.
"""
import datetime
import json
import os
import random
import signal
import sys
import time
import urllib.parse
import urllib.request

try:
    import psycopg2
    import psycopg2.extensions
except ImportError:  # uncovered: scripts/deps.sh installs python3-psycopg2
    sys.exit("world.py: python3-psycopg2 is missing (run scripts/deps.sh)")

TABLES = ("organizations", "users", "clients", "caregivers", "visits")
OPTIONS = "-c TimeZone=UTC -c DateStyle=ISO -c statement_timeout=30000"


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def connect(url):
    conn = psycopg2.connect(url, connect_timeout=3, options=OPTIONS,
                            application_name="world-writer")
    return conn


# ---- the writer ---------------------------------------------------------------

# A visit is unique by (client, caregiver, start) for the application (the
# procedures' duplicate check): every insert starts at a moment of its own.
INSERT = """
INSERT INTO visits (client_id, caregiver_id, scheduled_start, scheduled_end)
SELECT (SELECT id FROM clients ORDER BY random() LIMIT 1),
       (SELECT id FROM caregivers ORDER BY random() LIMIT 1),
       date_trunc('milliseconds', clock_timestamp()) + interval '2 days',
       date_trunc('milliseconds', clock_timestamp()) + interval '2 days 1 hour'
RETURNING id, md5(visits::text)"""
CHECKIN = """
UPDATE visits SET checked_in_at = clock_timestamp(),
       check_in_lat = 39.9 + %(r)s * 0.1, check_in_lon = -83.0 + %(r)s * 0.1,
       updated_at = clock_timestamp()
WHERE id = %(id)s AND checked_in_at IS NULL
RETURNING id, md5(visits::text)"""
EDIT = """
UPDATE visits SET scheduled_end = scheduled_end + interval '15 minutes',
       updated_at = clock_timestamp()
WHERE id = %(id)s
RETURNING id, md5(visits::text)"""
PICK_SCHEDULED = "SELECT id FROM visits WHERE checked_in_at IS NULL ORDER BY random() LIMIT 1"
PICK_ANY = "SELECT id FROM visits ORDER BY random() LIMIT 1"


class Writer:
    def __init__(self, state):
        self.state = state
        self.conn = None
        self.url = None
        self.own = []  # ids of the visits it created
        self.turn = 0
        self.lost = False
        self.stopping = False
        self.log = open(os.path.join(state, "writer.jsonl"), "a", buffering=1)

    def event(self, **kw):
        kw["t"] = now()
        self.log.write(json.dumps(kw, sort_keys=True) + "\n")

    def read(self, name, default=""):
        try:
            with open(os.path.join(self.state, name)) as f:
                return f.read().strip()
        except OSError:
            return default

    def ack(self, mode):
        tmp = os.path.join(self.state, "ack.tmp")
        with open(tmp, "w") as f:
            f.write(mode + "\n")
        os.replace(tmp, os.path.join(self.state, "ack"))

    def drop(self, why):
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
        self.conn = None
        if not self.lost:
            self.event(event="disconnect", error=why.strip().splitlines()[0] if why else "")
        self.lost = True

    def ensure(self):
        url = self.read("url")
        if self.conn is not None and url != self.url:
            self.conn.close()
            self.conn = None
            self.event(event="retarget")
        if self.conn is None:
            try:
                self.conn = connect(url)
            except psycopg2.Error as e:
                self.drop(str(e))
                return False
            self.url = url
            if self.lost:
                self.event(event="reconnect")
            self.lost = False
        return True

    def one(self, op, sql, args=None):
        """One statement in its own transaction; logs what it did."""
        try:
            with self.conn:
                with self.conn.cursor() as cur:
                    cur.execute(sql, args)
                    row = cur.fetchone()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
            self.drop(str(e))
            return None
        except psycopg2.Error as e:
            code = e.pgcode or ""
            msg = e.diag.message_primary or str(e).strip().splitlines()[0]
            self.event(op=op, error="%s %s" % (code, msg))
            return None
        if row is None:
            self.event(op=op, rows=0, id=args.get("id") if args else None)
            return None
        self.event(op=op, rows=1, id=row[0], fp=row[1])
        return row[0]

    def pick(self, sql):
        try:
            with self.conn:
                with self.conn.cursor() as cur:
                    cur.execute(sql)
                    row = cur.fetchone()
        except (psycopg2.OperationalError, psycopg2.InterfaceError) as e:
            self.drop(str(e))
            return None
        except psycopg2.Error:
            return None
        return row[0] if row else None

    def requests(self):
        """STATE/requests/*.ids: edit those visits; *.burst: insert N visits."""
        d = os.path.join(self.state, "requests")
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            path = os.path.join(d, name)
            if not name.endswith((".ids", ".burst")):
                continue
            with open(path) as f:
                words = [int(x) for x in f.read().split()]
            if name.endswith(".ids"):
                for i in words:
                    self.one("edit", EDIT, {"id": i})
            else:
                for _ in range(words[0]):
                    vid = self.one("insert", INSERT)
                    if vid is not None:
                        self.own.append(vid)
            if self.conn is not None:
                os.unlink(path)

    def step(self, mode):
        self.turn += 1
        kind = self.turn % 3
        if mode == "insert" or kind == 1:
            vid = self.one("insert", INSERT)
            if vid is not None:
                self.own.append(vid)
            return
        if mode == "own":
            if not self.own:
                return
            vid = random.choice(self.own)
        elif kind == 2:
            vid = self.pick(PICK_SCHEDULED)
        else:
            vid = self.pick(PICK_ANY)
        if vid is None or self.conn is None:
            return
        if kind == 2:
            self.one("checkin", CHECKIN, {"id": vid, "r": random.random()})
        else:
            self.one("edit", EDIT, {"id": vid})

    def run(self, period):
        self.event(event="start")
        while not self.stopping:
            mode = self.read("mode", "all")
            if mode == "stop":
                break
            if mode == "pause":
                # "own" rows are those created since the last pause (the
                # restore point): a restore never has a reason to touch them
                self.own = []
            if mode != "pause" and self.ensure():
                self.requests()
                if self.conn is not None:
                    self.step(mode)
            self.ack(mode)
            time.sleep(period)
        if self.conn is not None:
            self.conn.close()
        self.event(event="stop")
        self.ack("stopped")


def cmd_writer(argv):
    state = argv[0]
    period = float(argv[1]) if len(argv) > 1 else 0.25
    w = Writer(state)

    def term(_sig, _frame):
        w.stopping = True

    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    w.run(period)


# ---- snapshots and incidents ----------------------------------------------------

def snapshot(conn, tables):
    out = {"tables": {}, "seq": {}}
    conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
            out["at"] = cur.fetchone()[0]
            for t in tables:
                ident = psycopg2.extensions.quote_ident(t, cur)
                cur.execute("SELECT id, md5(%s::text) FROM %s" % (ident, ident))
                out["tables"][t] = {str(k): fp for k, fp in cur.fetchall()}
                cur.execute("SELECT s.last_value FROM pg_sequences s WHERE "
                            "format('%%I.%%I', s.schemaname, s.sequencename)::regclass "
                            "= pg_get_serial_sequence(%s, 'id')::regclass", (t,))
                row = cur.fetchone()
                out["seq"][t] = row[0] if row else None
    return out


def cmd_snapshot(argv):
    url, path = argv[0], argv[1]
    tables = argv[2:] or list(TABLES)
    conn = connect(url)
    snap = snapshot(conn, tables)
    conn.close()
    write_json(path, snap)
    print(snap["at"])


# A day range of visits: three whole days (by created_at) from the day of the
# visit at the 40th percentile of creation time.
RANGE = """
SELECT date_trunc('day', percentile_disc(0.4) WITHIN GROUP (ORDER BY created_at))
FROM visits"""
CORRUPT = """
UPDATE visits SET caregiver_id = caregiver_id % (SELECT max(id) FROM caregivers) + 1
WHERE id % 7 = 3 AND created_at < now() - interval '1 hour'
RETURNING id"""
DELETE_RANGE = """
DELETE FROM visits WHERE created_at >= %(start)s AND created_at < %(end)s RETURNING id"""
# Five clients with visits (their visits go with them).
CASCADE = """
DELETE FROM clients WHERE id IN (
    SELECT DISTINCT client_id FROM visits WHERE created_at < now() - interval '1 hour'
    ORDER BY client_id LIMIT 5 OFFSET 6)
RETURNING id"""


def cmd_incident(argv):
    kind, url, path = argv[0], argv[1], argv[2]
    if kind not in ("delete-range", "corrupt", "both", "cascade"):
        sys.exit("world.py: unknown incident %r (delete-range, corrupt, both, cascade)" % kind)
    conn = connect(url)
    rec = {"kind": kind, "deleted": {}, "changed": {}}
    with conn:
        with conn.cursor() as cur:
            if kind in ("delete-range", "both"):
                cur.execute(RANGE)
                start = cur.fetchone()[0]
                end = start + datetime.timedelta(days=3)
                rec["range"] = [start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                end.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")]
                cur.execute(DELETE_RANGE, {"start": start, "end": end})
                rec["deleted"]["visits"] = sorted(r[0] for r in cur.fetchall())
            if kind in ("corrupt", "both"):
                cur.execute(CORRUPT)
                rec["changed"]["visits"] = sorted(r[0] for r in cur.fetchall())
            if kind == "cascade":
                cur.execute("SELECT count(*) FROM visits")
                before = cur.fetchone()[0]
                cur.execute(CASCADE)
                rec["deleted"]["clients"] = sorted(r[0] for r in cur.fetchall())
                cur.execute("SELECT count(*) FROM visits")
                rec["cascaded_visits"] = before - cur.fetchone()[0]
                if rec["cascaded_visits"] == 0:
                    raise SystemExit("world.py: cascade deleted no visit: is the "
                                     "fixture world-cascade.sql loaded?")
    conn.close()
    write_json(path, rec)
    summary = {"kind": kind}
    summary.update({k: v for k, v in rec.items() if k in ("range", "cascaded_visits")})
    summary["deleted"] = {t: len(v) for t, v in rec["deleted"].items()}
    summary["changed"] = {t: len(v) for t, v in rec["changed"].items()}
    print(json.dumps(summary))


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, sort_keys=True)
    os.replace(tmp, path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


# ---- what the writer did ------------------------------------------------------

def writer_events(log, first, last=None):
    """The events of lines [first, last) of the writer's log (1-based counts)."""
    out = []
    with open(log) as f:
        for n, line in enumerate(f):
            if n < first:
                continue
            if last is not None and n >= last:
                break
            out.append(json.loads(line))
    return out


def writer_phase(events):
    ok = [e for e in events if e.get("rows") == 1]
    return {
        "inserts": sum(1 for e in ok if e["op"] == "insert"),
        "edits": sum(1 for e in ok if e["op"] != "insert"),
        "errors": [e["error"] for e in events if "error" in e and "op" in e],
        "reconnects": sum(1 for e in events if e.get("event") == "reconnect"),
        "retargets": sum(1 for e in events if e.get("event") == "retarget"),
        "disconnects": sum(1 for e in events if e.get("event") == "disconnect"),
    }


def cmd_writer_phase(argv):
    log, first = argv[0], int(argv[1])
    last = int(argv[2]) if len(argv) > 2 else None
    print(json.dumps(writer_phase(writer_events(log, first, last)), sort_keys=True))


# ---- verification -----------------------------------------------------------------

class Verdict:
    def __init__(self):
        self.lines = []

    def check(self, name, bad, total=None, what=""):
        """bad: the keys that are wrong; empty means ok."""
        if total is not None:
            name = "%s (%d rows)" % (name, total)
        if not bad:
            self.lines.append("ok\t%s" % name)
        else:
            sample = ", ".join(str(k) for k in sorted(bad, key=key_order)[:8])
            self.lines.append("not ok\t%s\t%d wrong%s: %s" % (name, len(bad), what, sample))


def key_order(k):
    return int(k) if str(k).isdigit() else 0


def cmd_verify(argv):
    """verify MODE S0 INC AFTER FINAL WRITER-LOG FROM TO FACTS TABLE...

    MODE: missing, revert or undo (rows of TABLEs copied back), or whole (the
    database is the restore point, plus the writer's rows after the restore).
    S0 the snapshot at the restore point, INC the incident's record, AFTER the
    snapshot right after the incident, FINAL the snapshot now; the writer's
    log lines [FROM, TO) are what it did after the incident. Prints
    "ok\\tNAME" or "not ok\\tNAME\\tDIAG" lines; FACTS gets the counts a test
    compares with the drill's report (changed rows left, conflicts, edits
    reverted, and their keys).
    """
    mode, s0p, incp, i1p, finp, log = argv[:6]
    first, last, factsp = int(argv[6]), int(argv[7]), argv[8]
    restored = argv[9:]
    s0 = read_json(s0p)["tables"]
    inc = read_json(incp)
    i1 = read_json(i1p)["tables"]
    fin_all = read_json(finp)
    fin = fin_all["tables"]
    events = writer_events(log, first, last)
    v = Verdict()
    facts = {}

    # The writer's last word on each visit it touched (after the incident).
    wlast, created, edited = {}, set(), set()
    for e in events:
        if e.get("rows") != 1:
            continue
        k = str(e["id"])
        wlast[k] = e["fp"]
        if e["op"] == "insert":
            created.add(k)
        elif k in s0.get("visits", {}):
            edited.add(k)
    created_ever = set(created)
    # A row it created then lost (option A) is not its row any more unless it
    # created the key again afterwards: only keys in the final table count.
    if mode == "whole":
        created = {k for k in created if k in fin.get("visits", {})}

    for t in sorted(fin):
        a, b, f = s0.get(t, {}), i1.get(t, {}), fin[t]
        deleted = {k for k in a if k not in b}
        changed = {k for k in a if k in b and a[k] != b[k]}
        w = wlast if t == "visits" else {}
        wcreated = created if t == "visits" else set()
        wedited = edited if t == "visits" else set()
        conflicts = changed & wedited
        if mode == "whole":
            v.check("%s: every row is back exactly at its restore-point value" % t,
                    {k for k in a if f.get(k) != a[k]}, len(a))
            extra = {k for k in f if k not in a}
            v.check("%s: the only rows besides are the writer's, as it left them" % t,
                    {k for k in extra if k not in wcreated or f[k] != w.get(k)}, len(extra))
            continue
        if t not in restored:
            # Left alone by the drill: as after the incident, plus the writer.
            want = dict(b)
            want.update({k: w[k] for k in w})
            bad = {k for k in set(want) | set(f) if f.get(k) != want.get(k)}
            v.check("%s: not restored, so exactly as the incident and the writer left it" % t,
                    bad, len(f))
            continue
        if deleted:
            v.check("%s: deleted rows are back exactly" % t,
                    {k for k in deleted if f.get(k) != a[k]}, len(deleted))
        plain = changed - wedited
        if changed:
            if mode == "missing":
                v.check("%s: missing mode leaves the corrupted rows untouched" % t,
                        {k for k in plain if f.get(k) != b[k]}, len(plain))
            else:
                v.check("%s: corrupted rows are exactly their restore-point values" % t,
                        {k for k in plain if f.get(k) != a[k]}, len(plain))
        if wcreated:
            v.check("%s: every row the writer created after the restore point is there, "
                    "unchanged" % t, {k for k in wcreated if f.get(k) != w[k]}, len(wcreated))
        if mode == "revert":
            v.check("%s: revert puts the rows the writer edited back to the restore point" % t,
                    {k for k in wedited if f.get(k) != a[k]}, len(wedited))
        elif wedited:
            what = "undo keeps" if mode == "undo" else "missing keeps"
            v.check("%s: %s every edit the writer made after the incident" % (t, what),
                    {k for k in wedited if f.get(k) != w[k]}, len(wedited))
        if mode == "undo" and conflicts:
            v.check("%s: a row both the incident and the writer changed is left as the "
                    "writer left it" % t, {k for k in conflicts if f.get(k) != w[k]},
                    len(conflicts))
        touched = deleted | changed | wcreated | wedited
        others = {k for k in set(a) | set(f) if k not in touched}
        v.check("%s: no other row changed, none appeared" % t,
                {k for k in others if f.get(k) != a.get(k)}, len(others))
        facts[t] = {
            "deleted": len(deleted),
            "changed_by_incident": len(changed),
            "writer_edited": sorted(int(k) for k in wedited),
            "writer_created": len(wcreated),
            "conflicts": sorted(int(k) for k in conflicts),
            # rows whose value differs from the restore point in production
            # when the drill looks: what missing leaves, what revert reverts
            "changed_since_restore_point": len(changed | wedited),
            "changed_keys": sorted(int(k) for k in changed | wedited),
        }
    seq_bad = []
    for t, last_value in fin_all["seq"].items():
        mx = max((int(k) for k in fin.get(t, {})), default=0)
        if last_value is not None and last_value < mx:
            seq_bad.append("%s: sequence at %s, max(id) %d" % (t, last_value, mx))
    if mode != "whole":
        # a copy of rows never moves a sequence backwards
        for t, before in read_json(i1p)["seq"].items():
            now_at = fin_all["seq"].get(t)
            if before is not None and (now_at is None or now_at < before):
                seq_bad.append("%s: sequence moved back from %s to %s" % (t, before, now_at))
    v.check("identity sequences are at least max(id) and never moved back", seq_bad)
    facts["writer_created_ever"] = len(created_ever)
    write_json(factsp, facts)
    print("\n".join(v.lines))


# ---- the Neon API (sandbox) ------------------------------------------------------

def api(path, method="GET"):
    host = os.environ["NEON_API_HOST"].rstrip("/")
    url = "%s/projects/%s/%s" % (host, os.environ["NEON_PROJECT_ID"], path)
    req = urllib.request.Request(url, method=method, headers={
        "Authorization": "Bearer " + os.environ["NEON_API_KEY"],
        "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def cmd_default_uri(argv):
    db, role = argv[0], argv[1]
    q = urllib.parse.urlencode({"database_name": db, "role_name": role})
    print(api("connection_uri?" + q)["uri"])


def cmd_branches(_argv):
    for b in api("branches")["branches"]:
        print("%s %s" % (b["name"], "default" if b.get("default") else "-"))


def cmd_delete_branch(argv):
    """Deletes the branch named argv[0] and waits (60 s) until it is gone."""
    ids = [b["id"] for b in api("branches")["branches"] if b["name"] == argv[0]]
    for bid in ids:
        api("branches/" + bid, method="DELETE")
    for _ in range(600):
        if not any(b["name"] == argv[0] for b in api("branches")["branches"]) and \
                not any(o.get("status") in ("scheduling", "running")
                        for o in api("operations").get("operations", [])):
            return
        time.sleep(0.1)
    sys.exit("world.py: branch %s is still there" % argv[0])


COMMANDS = {
    "writer": cmd_writer,
    "snapshot": cmd_snapshot,
    "incident": cmd_incident,
    "verify": cmd_verify,
    "writer-phase": cmd_writer_phase,
    "default-uri": cmd_default_uri,
    "branches": cmd_branches,
    "delete-branch": cmd_delete_branch,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except (psycopg2.Error, OSError, ValueError, KeyError) as e:
        # one line naming what failed (a database down, an API error), no
        # traceback; a URL's password is never part of these messages
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.exit("world.py %s: %s" % (sys.argv[1], msg))
