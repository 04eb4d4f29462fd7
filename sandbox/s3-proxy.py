#!/usr/bin/python3
"""Signature-checking proxy in front of s3rver (pgdrill's sandbox and tests).

s3rver 3.7.1 never checks SigV4 signatures: any secret works. This proxy
checks every request independently with Debian's python3-botocore before
forwarding it, so a client that signs wrongly, or uses a wrong secret, gets
403 SignatureDoesNotMatch as it would from AWS. It also fills two gaps of
s3rver that pgdrill depends on:

  * AbortMultipartUpload (s3rver answers 405): answered here with 204, and
    the upload's parts are removed from s3rver's data directory;
  * x-amz-server-side-encryption (s3rver drops it): remembered per key and
    returned on HEAD/GET, as AWS does.

For tests it can inject faults, armed through an unsigned control endpoint
on the proxy itself (loopback only):

  POST /__pgdrill/fault?kind=K&count=N[&match=S][&after=BYTES][&seconds=T]
      K = status500 | slowdown | reset | cut | delay | stall | truncate
      the next N requests whose "METHOD /path?query" contains S get the fault:
      status500 and slowdown answer 500 InternalError / 503 SlowDown; reset
      closes the connection unanswered; cut sends the first BYTES of the
      body, then closes (Content-Length promised more); delay waits T
      seconds, then forwards; stall logs "METHOD path?query stalled" at
      once, waits T seconds and closes without forwarding (the request never
      reaches s3rver); truncate forwards, then answers 200 with only the
      first BYTES of the body and a Content-Length that matches (a cut XML
      listing that looks complete to HTTP)
  POST /__pgdrill/clear          drop armed faults and the request log
  GET  /__pgdrill/log            one line per request: METHOD path?query STATUS

Usage:
  s3-proxy.py --upstream 127.0.0.1:4568 [--port 0] [--data-dir DIR]
              [--access-key S3RVER --secret SECRET] [--session-token TOKEN]
              [--tls-cert PEM --tls-key PEM]
With --session-token (temporary credentials) every request must carry that
x-amz-security-token, signed, or gets 400 InvalidToken.
With --issued FILE (JSON lines {key, secret, token, expires} that
tests/tools/aws_endpoints.py writes) the temporary keys listed there are
accepted too, with their token, until they expire: after that 400
ExpiredToken, as AWS answers. s3rver sees them as the main key.
  GET  /__pgdrill/keys           "KEYID COUNT" per key id accepted, then
                                 "expired N": requests refused as expired
With --tls-cert it serves https (to test that clients verify certificates).
Prints "s3-proxy listening on 127.0.0.1:PORT" once it accepts connections.
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import shutil
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIG_MESSAGE = ("The request signature we calculated does not match the signature you "
               "provided. Check your key and signing method.")
MAX_SKEW = datetime.timedelta(minutes=15)
CHUNK = 256 * 1024


def xml_error(code, message, extra=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '%s<RequestId>pgdrill-proxy</RequestId></Error>' % (code, xml_escape(message), extra)
            ).encode()


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.faults = []  # [kind, count, match, after, seconds]
        self.log = []
        self.keys_seen = {}
        self.expired = 0
        self.sse = {}
        self.sse_file = os.path.join(args.data_dir, "pgdrill-sse.json") if args.data_dir else None
        if self.sse_file and os.path.exists(self.sse_file):
            with open(self.sse_file) as f:
                self.sse = json.load(f)

    def take_fault(self, line):
        with self.lock:
            for f in self.faults:
                if f[1] > 0 and f[2] in line:
                    f[1] -= 1
                    return list(f)
        return None

    def remember_sse(self, bucket_key, value):
        with self.lock:
            if value:
                self.sse[bucket_key] = value
            else:
                self.sse.pop(bucket_key, None)
            if self.sse_file:
                tmp = self.sse_file + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(self.sse, f)
                os.replace(tmp, self.sse_file)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pgdrill-s3-proxy"
    # headers and body go out in separate writes: with Nagle on, the body
    # waited for the client's delayed ACK, some 40 ms on every reply that
    # has one (CompleteMultipartUpload, CopyObject, ListObjectsV2, errors)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # quiet; the request log is kept in State
        pass

    # -- plumbing ---------------------------------------------------------
    def reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body and not any(k.lower() == "content-type" for k in (headers or {})):
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.record(status)

    def record(self, status):
        with self.server.state.lock:
            self.server.state.log.append("%s %s %d" % (self.command, self.path, status))

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def hard_close(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- control endpoint -------------------------------------------------
    def control(self, body):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        if url.path == "/__pgdrill/fault" and self.command == "POST":
            with state.lock:
                state.faults.append([q.get("kind", "status500"), int(q.get("count", "1")),
                                     q.get("match", ""), int(q.get("after", "0")),
                                     float(q.get("seconds", "0"))])
            return self.reply(200, b"armed\n", {"Content-Type": "text/plain"})
        if url.path == "/__pgdrill/clear" and self.command == "POST":
            with state.lock:
                state.faults.clear()
                state.log.clear()
            return self.reply(200, b"cleared\n", {"Content-Type": "text/plain"})
        if url.path == "/__pgdrill/keys" and self.command == "GET":
            with state.lock:
                text = "".join("%s %d\n" % kv for kv in sorted(state.keys_seen.items()))
                text += "expired %d\n" % state.expired
            return self.reply(200, text.encode(), {"Content-Type": "text/plain"})
        if url.path == "/__pgdrill/log" and self.command == "GET":
            with state.lock:
                text = "".join(line + "\n" for line in state.log)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())
            return None
        return self.reply(404, b"no such control\n", {"Content-Type": "text/plain"})

    # -- signature check --------------------------------------------------
    def check_signature(self, body):
        """None when the request is signed correctly, else (status, code, message, extra)."""
        args = self.server.state.args
        auth = self.headers.get("Authorization")
        if not auth:
            return (403, "AccessDenied", "anonymous requests are refused by the pgdrill proxy", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return (400, "InvalidRequest", "only AWS4-HMAC-SHA256 is accepted", "")
        try:
            parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
            key_id, date, region, service, term = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
            given = parts["Signature"]
        except (KeyError, ValueError):
            return (400, "AuthorizationHeaderMalformed", "the Authorization header is malformed", "")
        secret, want_token = args.secret, args.session_token
        if key_id != args.access_key:
            issued = self.issued_key(key_id)
            if issued is None:
                return (403, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.", "")
            secret, want_token, expires = issued
            if time.time() > expires:
                with self.server.state.lock:
                    self.server.state.expired += 1
                return (400, "ExpiredToken", "The provided token has expired.", "")
        if want_token is not None:
            # temporary credentials: AWS wants the token, signed, on every request
            token = self.headers.get("x-amz-security-token")
            if token != want_token:
                return (400, "InvalidToken", "The provided token is malformed or otherwise invalid.", "")
            if "x-amz-security-token" not in signed:
                return (403, "AccessDenied", "x-amz-security-token must be signed", "")
        if service != "s3" or term != "aws4_request":
            return (400, "AuthorizationHeaderMalformed", "credential scope must end s3/aws4_request", "")
        amz_date = self.headers.get("x-amz-date")
        if not amz_date:
            return (403, "AccessDenied", "x-amz-date is required by the pgdrill proxy", "")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
        except ValueError:
            return (403, "AccessDenied", "x-amz-date is malformed", "")
        if abs(datetime.datetime.utcnow() - when) > MAX_SKEW:
            return (403, "RequestTimeTooSkewed",
                    "The difference between the request time and the current time is too large.", "")
        if not amz_date.startswith(date):
            return (403, "SignatureDoesNotMatch", "credential date does not match x-amz-date", "")
        if "host" not in signed:
            return (403, "AccessDenied", "the host header must be signed", "")
        payload = self.headers.get("x-amz-content-sha256")
        if payload is None:
            return (400, "InvalidRequest",
                    "Missing required header for this request: x-amz-content-sha256", "")
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(body).hexdigest():
            return (400, "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.", "")
        headers = {}
        for name in signed:
            values = self.headers.get_all(name)
            if values is None:
                return (403, "SignatureDoesNotMatch", "signed header %s was not sent" % name, "")
            headers[name] = ",".join(values)
        request = AWSRequest(method=self.command, url="%s://%s%s" % (
                                 "https" if self.server.state.args.tls_cert else "http",
                                 headers["host"], self.path),
                             headers=headers, data=body)
        request.context["timestamp"] = amz_date
        signer = S3SigV4Auth(Credentials(key_id, secret), "s3", region)
        creq = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, creq), request)
        if expected != given:
            return (403, "SignatureDoesNotMatch", SIG_MESSAGE,
                    "<CanonicalRequest>%s</CanonicalRequest>" % xml_escape(creq))
        with self.server.state.lock:
            self.server.state.keys_seen[key_id] = self.server.state.keys_seen.get(key_id, 0) + 1
        return None

    def issued_key(self, key_id):
        """(secret, token, expires) of a key aws_endpoints.py issued, or None."""
        path = self.server.state.args.issued
        if not path or not os.path.exists(path):
            return None
        with open(path) as f:
            for line in f:
                try:
                    c = json.loads(line)
                except ValueError:
                    continue
                if c.get("key") == key_id:
                    return (c["secret"], c["token"], float(c["expires"]))
        return None

    # -- S3 requests ------------------------------------------------------
    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/__pgdrill/"):
            return self.control(body)
        if body is None:
            self.reply(411, xml_error("MissingContentLength", "send Content-Length"))
            return self.hard_close()
        problem = self.check_signature(body)
        if problem:
            status, code, message, extra = problem
            return self.reply(status, xml_error(code, message, extra))

        state = self.server.state
        fault = state.take_fault("%s %s" % (self.command, self.path))
        if fault:
            kind, _, _, after, seconds = fault
            if kind == "status500":
                return self.reply(500, xml_error("InternalError", "injected by the pgdrill proxy"))
            if kind == "slowdown":
                return self.reply(503, xml_error("SlowDown", "Please reduce your request rate."))
            if kind == "reset":
                self.record(0)
                return self.hard_close()
            if kind == "delay":
                time.sleep(seconds)
            if kind == "stall":
                with state.lock:
                    state.log.append("%s %s stalled" % (self.command, self.path))
                time.sleep(seconds)
                return self.hard_close()
        cut_after = fault[3] if fault and fault[0] == "cut" else None
        truncate_to = fault[3] if fault and fault[0] == "truncate" else None

        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        path = urllib.parse.unquote(url.path)
        bucket_key = path.lstrip("/")
        if self.command == "DELETE" and "uploadId" in query:
            return self.abort_upload(bucket_key, query["uploadId"][0])
        self.forward(body, bucket_key, query, cut_after, truncate_to)

    def abort_upload(self, bucket_key, upload_id):
        data_dir = self.server.state.args.data_dir
        bucket = bucket_key.split("/", 1)[0]
        if data_dir and all(c in "0123456789abcdef" for c in upload_id.lower()):
            shutil.rmtree(os.path.join(data_dir, bucket, "._S3rver_uploads", upload_id),
                          ignore_errors=True)
        self.reply(204)

    def forward(self, body, bucket_key, query, cut_after, truncate_to=None):
        args = self.server.state.args
        host, port = args.upstream.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "expect")}
        for k in list(headers):
            if k.lower() == "authorization" and args.issued:
                # s3rver knows only the main key id (it checks no signature)
                auth = headers[k]
                start = auth.find("Credential=") + len("Credential=")
                headers[k] = auth[:start] + args.access_key + auth[auth.find("/", start):]
        try:
            conn.request(self.command, self.path, body=body if body else None, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            return self.reply(502, xml_error("BadGateway", "s3rver: %s" % e))
        status = resp.status
        out_headers = [(k, v) for k, v in resp.getheaders()
                       if k.lower() not in ("connection", "transfer-encoding", "keep-alive", "date")]
        sse_in = self.headers.get("x-amz-server-side-encryption")
        if status == 200 and self.command == "PUT" and "partNumber" not in query:
            self.server.state.remember_sse(bucket_key, sse_in)
        if status == 200 and self.command == "POST" and "uploads" in query:
            self.server.state.remember_sse(bucket_key, sse_in)
        if self.command in ("GET", "HEAD", "PUT") and status in (200, 206) and "partNumber" not in query:
            sse = self.server.state.sse.get(bucket_key)
            if sse:
                out_headers.append(("x-amz-server-side-encryption", sse))
        if self.command == "DELETE" and status in (200, 204) and not query:
            self.server.state.remember_sse(bucket_key, None)

        length = resp.getheader("Content-Length")
        self.send_response(status)
        for k, v in out_headers:
            if k.lower() != "content-length":
                self.send_header(k, v)
        if self.command == "HEAD":
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            resp.read()
            conn.close()
            return self.record(status)
        if length is None or truncate_to is not None:
            data = resp.read()
            if truncate_to is not None:
                data = data[:truncate_to]
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()
            return self.record(status)
        self.send_header("Content-Length", length)
        self.end_headers()
        sent = 0
        while True:
            chunk = resp.read(CHUNK)
            if not chunk:
                break
            if cut_after is not None and sent + len(chunk) > cut_after:
                self.wfile.write(chunk[:max(0, cut_after - sent)])
                self.wfile.flush()
                conn.close()
                self.record(-1)
                return self.hard_close()
            self.wfile.write(chunk)
            sent += len(chunk)
        conn.close()
        self.record(status)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="s3rver host:port")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--data-dir", help="s3rver's -d directory (for aborts and SSE memory)")
    ap.add_argument("--access-key", default="S3RVER")
    ap.add_argument("--secret", default="S3RVER")
    ap.add_argument("--session-token", help="require this x-amz-security-token")
    ap.add_argument("--issued", help="also accept the temporary keys listed in this file")
    ap.add_argument("--tls-cert", help="serve https with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's private key (PEM)")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.state = State(args)
    print("s3-proxy listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
