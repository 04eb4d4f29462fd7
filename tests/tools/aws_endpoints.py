#!/usr/bin/python3
"""Loopback stand-ins for the AWS credential endpoints pgdrill's chain calls.

One http.server on 127.0.0.1 plays, by path and action:

  POST /  Action=AssumeRoleWithWebIdentity   STS, unsigned; the form's
          WebIdentityToken must be the configured web_token
  POST /  Action=AssumeRole                  STS, signed: the SigV4 signature
          is checked with botocore's SigV4Auth against the source keys of
          the config (or keys this server issued), as AWS would
  GET  /federation/credentials?account_id=&role_name=
          the SSO portal's GetRoleCredentials; x-amz-sso_bearer_token must
          be the configured sso_token (else 401)
  GET  /container/...                        the container endpoint; the
          Authorization header must be the configured container_token
  PUT  /latest/api/token                     IMDSv2 session token (needs
          X-aws-ec2-metadata-token-ttl-seconds)
  GET  /latest/meta-data/iam/security-credentials/[ROLE]
          IMDSv2 only: without a token from the PUT above, 401
  GET  /__issued                             what was issued: "SOURCE KEYID"

Every answer that carries credentials issues fresh ones (key ids
"ASIA<SOURCE>..." so a test can tell sources apart) that expire "lifetime"
seconds later, and appends them as one JSON line {source, key, secret,
token, expires} to the issued file, which the S3 proxy (--issued) reads to
accept them until they expire.

The configuration is a JSON file read on every request (so a test can
change the lifetime mid-run): {"lifetime": 900, "web_token": "...",
"sso_token": "...", "container_token": "...", "imds_delay": 0,
"source_keys": {"KEYID": "SECRET"}, "fail": ""}. "fail" set to a source
name makes that endpoint answer 500.

Usage: aws_endpoints.py --config FILE --issued FILE [--port 0]
Prints "aws-endpoints listening on 127.0.0.1:PORT" once it accepts connections.
"""
import argparse
import datetime
import json
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LOCK = threading.Lock()
IMDS_TOKENS = set()


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def config(self):
        with open(self.server.args.config) as f:
            return json.load(f)

    def reply(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def issue(self, source, cfg):
        tag = "".join(c for c in source.upper() if c.isalpha())[:8]
        cred = {
            "source": source,
            "key": "ASIA" + tag + secrets.token_hex(4).upper(),
            "secret": "Issued/Secret+" + secrets.token_urlsafe(18),
            "token": "IssuedSessionToken" + secrets.token_urlsafe(24),
            "expires": time.time() + float(cfg.get("lifetime", 900)),
        }
        with LOCK:
            with open(self.server.args.issued, "a") as f:
                f.write(json.dumps(cred) + "\n")
        return cred

    def issued_keys(self):
        keys = {}
        try:
            with open(self.server.args.issued) as f:
                for line in f:
                    c = json.loads(line)
                    keys[c["key"]] = (c["secret"], c["token"])
        except FileNotFoundError:
            pass
        return keys

    # -- STS ------------------------------------------------------------------
    def sts_error(self, status, code, message):
        self.reply(status, "<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code>"
                   "<Message>%s</Message></Error></ErrorResponse>" % (code, message), "text/xml")

    def sts_ok(self, action, cred):
        self.reply(200, "<%sResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<%sResult><Credentials><AccessKeyId>%s</AccessKeyId>"
                   "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
                   "<Expiration>%s</Expiration></Credentials></%sResult></%sResponse>"
                   % (action, action, cred["key"], cred["secret"], cred["token"],
                      iso(cred["expires"]), action, action), "text/xml")

    def check_sts_signature(self, body, cfg):
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return "the request is not signed"
        try:
            parts = dict(p.strip().split("=", 1) for p in auth[17:].split(","))
            key_id, _date, region, service, _term = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
        except (KeyError, ValueError):
            return "malformed Authorization"
        keys = {k: (v, None) for k, v in cfg.get("source_keys", {}).items()}
        keys.update(self.issued_keys())
        if key_id not in keys or service != "sts":
            return "unknown access key %s or service %s" % (key_id, service)
        secret, token = keys[key_id]
        if token is not None and self.headers.get("x-amz-security-token") != token:
            return "the session token of %s is missing or wrong" % key_id
        headers = {n: ",".join(self.headers.get_all(n) or []) for n in signed}
        req = AWSRequest(method="POST", url="http://%s/" % headers.get("host", ""),
                         headers=headers, data=body)
        req.context["timestamp"] = self.headers.get("x-amz-date", "")
        signer = SigV4Auth(Credentials(key_id, secret, token), "sts", region)
        expected = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
        return None if expected == parts["Signature"] else "SignatureDoesNotMatch"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cfg = self.config()
        form = dict(urllib.parse.parse_qsl(body.decode()))
        action = form.get("Action")
        if cfg.get("fail") == "sts":
            return self.sts_error(500, "InternalFailure", "injected")
        if action == "AssumeRoleWithWebIdentity":
            if form.get("WebIdentityToken") != cfg.get("web_token") or not form.get("RoleArn"):
                return self.sts_error(400, "InvalidIdentityToken", "token refused")
            if "Authorization" in self.headers:
                return self.sts_error(400, "InvalidRequest", "must not be signed")
            return self.sts_ok(action, self.issue("webid", cfg))
        if action == "AssumeRole":
            problem = self.check_sts_signature(body, cfg)
            if problem:
                return self.sts_error(403, "SignatureDoesNotMatch", problem)
            if cfg.get("external_id") and form.get("ExternalId") != cfg["external_id"]:
                return self.sts_error(403, "AccessDenied", "wrong ExternalId")
            return self.sts_ok(action, self.issue("role", cfg))
        return self.sts_error(400, "InvalidAction", "unknown action")

    # -- SSO, container, IMDS -------------------------------------------------
    def do_GET(self):
        cfg = self.config()
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/__issued":
            with LOCK:
                try:
                    lines = [json.loads(x) for x in open(self.server.args.issued)]
                except FileNotFoundError:
                    lines = []
            return self.reply(200, "".join("%s %s\n" % (c["source"], c["key"]) for c in lines),
                              "text/plain")
        if url.path == "/federation/credentials":
            q = dict(urllib.parse.parse_qsl(url.query))
            if self.headers.get("x-amz-sso_bearer_token") != cfg.get("sso_token"):
                return self.reply(401, '{"message":"Session token not found or invalid"}')
            if not q.get("account_id") or not q.get("role_name"):
                return self.reply(400, '{"message":"account_id and role_name are required"}')
            c = self.issue("sso", cfg)
            return self.reply(200, json.dumps({"roleCredentials": {
                "accessKeyId": c["key"], "secretAccessKey": c["secret"],
                "sessionToken": c["token"], "expiration": int(c["expires"] * 1000)}}))
        if url.path.startswith("/container/"):
            if self.headers.get("Authorization") != cfg.get("container_token"):
                return self.reply(401, '{"message":"unauthorized"}')
            c = self.issue("container", cfg)
            return self.reply(200, json.dumps({"AccessKeyId": c["key"], "SecretAccessKey": c["secret"],
                                               "Token": c["token"], "Expiration": iso(c["expires"])}))
        if url.path.startswith("/latest/meta-data/iam/security-credentials/"):
            with LOCK:
                known = self.headers.get("X-aws-ec2-metadata-token") in IMDS_TOKENS
            if not known:
                return self.reply(401, "", "text/plain")
            role = url.path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.reply(200, "pgdrill-instance-role", "text/plain")
            if role != "pgdrill-instance-role":
                return self.reply(404, "", "text/plain")
            c = self.issue("imds", cfg)
            return self.reply(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                                               "AccessKeyId": c["key"], "SecretAccessKey": c["secret"],
                                               "Token": c["token"], "Expiration": iso(c["expires"])}))
        return self.reply(404, '{"message":"no such path"}')

    def do_PUT(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cfg = self.config()
        if self.path != "/latest/api/token":
            return self.reply(404, "", "text/plain")
        time.sleep(float(cfg.get("imds_delay", 0)))
        if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(400, "", "text/plain")
        token = "ImdsToken" + secrets.token_urlsafe(16)
        with LOCK:
            IMDS_TOKENS.add(token)
        return self.reply(200, token, "text/plain")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--issued", required=True)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.args = args
    print("aws-endpoints listening on 127.0.0.1:%d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
