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
      K = status500 | slowdown | reset | cut | delay | stall | truncate | flip
      the next N requests whose "METHOD /path?query" contains S get the fault:
      status500 and slowdown answer 500 InternalError / 503 SlowDown; reset
      closes the connection unanswered; cut sends the first BYTES of the
      body, then closes (Content-Length promised more); delay waits T
      seconds, then forwards; stall logs "METHOD path?query stalled" at
      once, waits T seconds and closes without forwarding (the request never
      reaches s3rver); truncate forwards, then answers 200 with only the
      first BYTES of the body and a Content-Length that matches (a cut XML
      listing that looks complete to HTTP); flip inverts one byte in the
      middle of the body, of the request after its signature was checked
      (damage in transit) or of the answer to a GET
  POST /__pgdrill/checksums?on=1
      check x-amz-checksum-sha256 as S3 does (s3rver ignores it): a PUT or
      UploadPart whose body does not match gets 400 BadDigest; the values
      are remembered (a multipart object's as the composite "B64-N") and
      sent back on GET and HEAD that ask with x-amz-checksum-mode: ENABLED;
      HEAD ?partNumber=N of such an object answers with that part's size
  POST /__pgdrill/region?region=R&style=S
      answer as a bucket in region R does to requests signed for another
      region: S = 301 (PermanentRedirect with x-amz-bucket-region), 400
      (AuthorizationHeaderMalformed naming R in <Region>; on HEAD, which has
      no body, the x-amz-bucket-region header) or none (301 that names no
      region); an empty R ends it
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
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
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


def flip_byte(data):
    """data with its middle byte inverted: damage a checksum must catch."""
    i = len(data) // 2
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.faults = []  # [kind, count, match, after, seconds]
        self.region = ""  # the buckets' region (/__pgdrill/region); "" answers every region
        self.region_style = "301"
        self.check_sums = False
        self.sums = {}  # "bucket/key" -> x-amz-checksum-sha256; (upload id, part) -> raw digest
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
        if url.path == "/__pgdrill/region" and self.command == "POST":
            with state.lock:
                state.region = q.get("region", "")
                state.region_style = q.get("style", "301")
            return self.reply(200, b"region set\n", {"Content-Type": "text/plain"})
        if url.path == "/__pgdrill/checksums" and self.command == "POST":
            with state.lock:
                state.check_sums = q.get("on", "1") == "1"
            return self.reply(200, b"checksums set\n", {"Content-Type": "text/plain"})
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

    # -- a bucket in another region ---------------------------------------
    def wrong_region(self):
        """Answer as S3 does to a request signed for the wrong region; True when answered."""
        state = self.server.state
        auth = self.headers.get("Authorization") or ""
        try:
            asked = auth.split("Credential=", 1)[1].split("/")[2]
        except IndexError:
            return False
        home = state.region
        if not home or asked == home:
            return False
        bucket = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/").split("/")[0]
        if state.region_style == "none":
            self.reply(301, xml_error("PermanentRedirect", "The bucket you are attempting to access "
                                      "must be addressed using the specified endpoint."))
        elif state.region_style == "400":
            self.reply(400, xml_error(
                "AuthorizationHeaderMalformed",
                "The authorization header is malformed; the region '%s' is wrong; expecting '%s'"
                % (asked, home), "<Region>%s</Region>" % home),
                {"x-amz-bucket-region": home} if self.command == "HEAD" else None)
        else:
            self.reply(301, xml_error(
                "PermanentRedirect", "The bucket you are attempting to access must be addressed "
                "using the specified endpoint.", "<Endpoint>%s.s3.%s.amazonaws.com</Endpoint>"
                "<Bucket>%s</Bucket>" % (bucket, home, bucket)), {"x-amz-bucket-region": home})
        return True

    # -- checksums ----------------------------------------------------------
    def check_checksum(self, body, bucket_key, query):
        """S3's x-amz-checksum-sha256 check; True when the request was answered (refused)."""
        state = self.server.state
        if not state.check_sums or self.command not in ("PUT", "POST"):
            return False
        given = self.headers.get("x-amz-checksum-sha256")
        digest = hashlib.sha256(body).digest()
        if self.command == "PUT" and given is not None:
            if base64.b64encode(digest).decode() != given:
                self.reply(400, xml_error("BadDigest", "The SHA256 you specified did not match the "
                                          "calculated checksum."))
                return True
            with state.lock:
                if "partNumber" in query:
                    state.sums[(query["uploadId"][0], int(query["partNumber"][0]))] = (digest,
                                                                                      len(body))
                else:
                    state.sums[bucket_key] = given
        if self.command == "POST" and "uploadId" in query:
            # CompleteMultipartUpload: every part's ChecksumSHA256 must be the one it came with
            upload = query["uploadId"][0]
            parts = re.findall(rb"<PartNumber>(\d+)</PartNumber>.*?(?:<ChecksumSHA256>([^<]*)"
                               rb"</ChecksumSHA256>)?</Part>", body)
            raw = b""
            sizes = []
            for number, listed in parts:
                have, size = state.sums.get((upload, int(number)), (None, 0))
                if have is None:
                    return False  # a part sent without a checksum: nothing to compare
                sizes.append(size)
                if listed.decode() != base64.b64encode(have).decode():
                    self.reply(400, xml_error("InvalidPart", "part %s: ChecksumSHA256 does not "
                                              "match the part's" % number.decode()))
                    return True
                raw += have
            with state.lock:
                state.sums[bucket_key] = "%s-%d" % (
                    base64.b64encode(hashlib.sha256(raw).digest()).decode(), len(parts))
                state.sums[(bucket_key, "sizes")] = sizes
        return False

    def head_part(self, bucket_key, query):
        """HEAD ?partNumber=N of a multipart object seen completing (s3rver ignores it)."""
        sizes = self.server.state.sums.get((bucket_key, "sizes"))
        if self.command != "HEAD" or "partNumber" not in query or sizes is None:
            return False
        n = int(query["partNumber"][0])
        if not 1 <= n <= len(sizes):
            self.reply(416, xml_error("InvalidPartNumber", "The requested partnumber is not "
                                      "satisfiable"))
            return True
        self.send_response(206)
        self.send_header("Content-Length", str(sizes[n - 1]))
        self.send_header("x-amz-mp-parts-count", str(len(sizes)))
        self.end_headers()
        self.record(206)
        return True

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
        if self.wrong_region():
            return None

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
        flip = fault is not None and fault[0] == "flip"
        if flip and body:
            body = flip_byte(body)
            flip = False

        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        path = urllib.parse.unquote(url.path)
        bucket_key = path.lstrip("/")
        if self.command == "DELETE" and "uploadId" in query:
            return self.abort_upload(bucket_key, query["uploadId"][0])
        if self.check_checksum(body, bucket_key, query) or self.head_part(bucket_key, query):
            return None
        self.forward(body, bucket_key, query, cut_after, truncate_to, flip)

    def abort_upload(self, bucket_key, upload_id):
        data_dir = self.server.state.args.data_dir
        bucket = bucket_key.split("/", 1)[0]
        if data_dir and all(c in "0123456789abcdef" for c in upload_id.lower()):
            shutil.rmtree(os.path.join(data_dir, bucket, "._S3rver_uploads", upload_id),
                          ignore_errors=True)
        self.reply(204)

    def forward(self, body, bucket_key, query, cut_after, truncate_to=None, flip=False):
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
        state = self.server.state
        if (state.check_sums and self.command in ("GET", "HEAD") and status in (200, 206)
                and (self.headers.get("x-amz-checksum-mode") or "").upper() == "ENABLED"
                and "partNumber" not in query and bucket_key in state.sums):
            out_headers.append(("x-amz-checksum-sha256", state.sums[bucket_key]))

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
        if length is None or truncate_to is not None or flip:
            data = resp.read()
            if truncate_to is not None:
                data = data[:truncate_to]
            if flip and data:
                data = flip_byte(data)
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
