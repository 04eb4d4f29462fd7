#!/usr/bin/env python3
"""fake_http.py: the one scripted HTTP(S) server of the shell tests.

It answers every request (any method) with one fixed response and can
record what it was sent; for a webhook receiver or an API endpoint that a
test needs to exist, not for the real services (sandbox/s3-proxy.py and
tests/contract/neon_proxy.py stand in front of those).

  fake_http.py [--port N] [--tls CERT KEY] [--status N] [--content-type T]
               [--body TEXT] [--record FILE [--record-head]] [--log FILE]
               [--date-offset S]

  --port N        listen on 127.0.0.1:N (default 0: a free port)
  --tls CERT KEY  serve HTTPS with this certificate chain and key
  --status N      the response status (default 200)
  --content-type  the response Content-Type header (default: none)
  --body TEXT     the response body (default "ok")
  --record FILE   after each request, FILE.path holds its path and FILE
                  its body; FILE appears at once (written aside, renamed)
  --record-head   FILE starts with two lines: the path and the request's
                  Content-Type, then the body
  --log FILE      append one JSON line per request to FILE: method, path,
                  content_type and body (text); a webhook receiver that keeps
                  every message, so a test can count them
  --date-offset S the Date header is this many seconds off the real time
                  (a server with a wrong clock, for the clock-skew check)

HEAD is answered like the other methods, without the body.

Prints "listening on 127.0.0.1:PORT" once it listens; runs until killed.
"""
import argparse
import http.server
import json
import os
import ssl
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description="a scripted HTTP(S) server on loopback")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--content-type")
    p.add_argument("--body", default="ok")
    p.add_argument("--record")
    p.add_argument("--record-head", action="store_true")
    p.add_argument("--log")
    p.add_argument("--date-offset", type=float, default=0.0)
    return p.parse_args()


def record(args, handler, body):
    path = handler.path
    with open(args.record + ".path", "w") as f:
        f.write(path)
    with open(args.record + ".tmp", "wb") as f:
        if args.record_head:
            ctype = handler.headers.get("Content-Type", "")
            f.write(path.encode() + b"\n" + ctype.encode() + b"\n")
        f.write(body)
    os.replace(args.record + ".tmp", args.record)


def log(args, handler, body):
    entry = {"method": handler.command, "path": handler.path,
             "content_type": handler.headers.get("Content-Type", ""),
             "body": body.decode("utf-8", "replace")}
    with open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def handler_class(args):
    answer = args.body.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if args.record:
                record(args, self, body)
            if args.log:
                log(args, self, body)
            self.send_response(args.status)
            if args.content_type:
                self.send_header("Content-Type", args.content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = answer

        def date_time_string(self, timestamp=None):
            if timestamp is None:
                timestamp = time.time()
            return super().date_time_string(timestamp + args.date_offset)

        def log_message(self, format, *a):  # pylint: disable=redefined-builtin
            pass

    return Handler


def main():
    args = parse_args()
    srv = http.server.HTTPServer(("127.0.0.1", args.port), handler_class(args))
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening on 127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
