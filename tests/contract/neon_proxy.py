#!/usr/bin/env python3
"""Recording, validating and fault-injecting HTTP proxy for the Neon contract tests.

    neon_proxy.py --listen PORT --upstream http://127.0.0.1:N --spec SPEC --log FILE
                  [--faults FILE]

Every request is checked against the OpenAPI document before it is
forwarded, and every upstream response after; each exchange is appended to
--log as one JSON line {"method", "path", "status", "violations": [...],
"injected": ...}. Faults come from --faults, a JSON list re-read on every
request; a rule {"method": "POST", "path": "regex", "times": N, "action":
"status", "status": 423, "retry_after": "1", "message": "..."} answers in
place of the server (as a GeneralError body), "action": "drop" closes the
connection without a response, and "action": "html" answers with an HTML
page (Cloudflare's 524), and "action": "rewrite" forwards the request and
applies "sub": [[regex, replacement], ...] (re.sub) to the server's answer,
e.g. an operation's status turned "failed" or a connection URI pointed at a
dead port; the rewritten answer is validated like any other. "times"
counts down in the file; 0 rules are spent. Control: GET /__proxy/summary
returns {"exchanges", "violations"}.
"""
import argparse
import http.client
import http.server
import json
import os
import re
import socket
import sys
import threading
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openapi_check  # noqa: E402

LOCK = threading.Lock()
ARGS = None
SPEC = None
COUNTS = {"exchanges": 0, "violations": 0}

HTML_524 = (b"<!DOCTYPE html>\n<html><head><title>524: A timeout occurred</title></head>"
            b"<body><h1>A timeout occurred</h1><p>Error code 524</p></body></html>\n")


def take_fault(method, path):
    """The first matching fault rule with times left (decremented), or None."""
    if not ARGS.faults or not os.path.exists(ARGS.faults):
        return None
    with LOCK:
        with open(ARGS.faults) as f:
            rules = json.load(f)
        for rule in rules:
            if rule.get("times", 1) <= 0:
                continue
            if rule.get("method", method) != method:
                continue
            if not re.search(rule.get("path", ""), path):
                continue
            rule["times"] = rule.get("times", 1) - 1
            tmp = ARGS.faults + ".tmp"
            with open(tmp, "w") as f:
                json.dump(rules, f)
            os.replace(tmp, ARGS.faults)
            return rule
    return None


def record(entry):
    with LOCK:
        COUNTS["exchanges"] += 1
        COUNTS["violations"] += len(entry["violations"])
        with open(ARGS.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body are separate writes: without this the body waits for
    # the client's delayed ACK (about 40 ms a reply)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # keep stderr quiet; the log file has it all
        pass

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _handle(self):
        method = self.command
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/__proxy/summary":
            with LOCK:
                data = json.dumps(COUNTS).encode()
            self._send(200, [("Content-Type", "application/json")], data)
            return
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        violations = SPEC.check_request(method, url.path, query, body)
        entry = {"method": method, "path": url.path, "query": url.query, "violations": violations}
        rule = take_fault(method, url.path)
        rewrite = None
        if rule is not None and rule.get("action") == "rewrite":
            rewrite, rule = rule, None
            entry["injected"] = "rewrite"
        if rule is not None:
            action = rule.get("action", "status")
            entry["injected"] = action
            if action == "drop":
                entry["status"] = None
                record(entry)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if action == "html":
                entry["status"] = rule.get("status", 524)
                record(entry)
                self._send(entry["status"], [("Content-Type", "text/html")], HTML_524)
                return
            status = rule.get("status", 503)
            rid = self.headers.get("X-Request-ID") or str(uuid.uuid4())
            data = json.dumps({"request_id": rid, "code": "",
                               "message": rule.get("message", "injected fault")}).encode()
            headers = [("Content-Type", "application/json"), ("X-Request-ID", rid)]
            if "retry_after" in rule:
                headers.append(("Retry-After", str(rule["retry_after"])))
            entry["status"] = status
            entry["violations"] += SPEC.check_response(method, url.path, status,
                                                       "application/json", data)
            record(entry)
            self._send(status, headers, data)
            return
        up = urllib.parse.urlsplit(ARGS.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
        fwd = {k: v for k, v in self.headers.items()
               if k.lower() in ("authorization", "content-type", "accept", "x-request-id")}
        try:
            conn.request(method, self.path, body=body or None, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
        except OSError as e:
            entry["status"] = 502
            entry["violations"].append("upstream failed: %s" % e)
            record(entry)
            self._send(502, [("Content-Type", "application/json")],
                       json.dumps({"code": "", "message": "proxy: upstream failed"}).encode())
            return
        finally:
            conn.close()
        ctype = resp.getheader("Content-Type", "")
        if rewrite is not None:
            text = data.decode("utf-8", "replace")
            for pattern, repl in rewrite.get("sub", []):
                text = re.sub(pattern, repl, text)
            data = text.encode()
        entry["status"] = resp.status
        entry["violations"] += SPEC.check_response(method, url.path, resp.status, ctype, data)
        record(entry)
        headers = [(k, v) for k, v in resp.getheaders()
                   if k.lower() in ("content-type", "x-request-id", "x-neon-ret-request-id",
                                    "retry-after")]
        self._send(resp.status, headers, data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle


def main():
    global ARGS, SPEC
    p = argparse.ArgumentParser()
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--faults")
    ARGS = p.parse_args()
    SPEC = openapi_check.Spec(ARGS.spec)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.listen), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
