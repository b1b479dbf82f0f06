#!/usr/bin/env python3
"""Token server for the rig's bearer-token registry (the flow Docker Hub uses).

GET /token?service=S&scope=repository:NAME:pull,push (or POST /token with an OAuth2 password
grant form) with HTTP Basic credentials answers {"token", "access_token", "expires_in",
"issued_at"}: an RS256 JWT whose header carries the signing certificate in `x5c`, which the
registry (distribution 2.8, auth.token with rootcertbundle = that certificate) accepts.

Only the Python standard library; signing is done by the `openssl` command.
"""

import argparse
import base64
import datetime
import hmac
import json
import secrets
import ssl
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN_TTL = 300


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parse_scope(scope: str):
    # "repository:vendor/base:pull,push" -> type, name, actions (names never hold ':').
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name:
        return None
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class Issuer:
    def __init__(self, args):
        self.key = args.key
        with open(args.cert) as f:
            self.x5c = base64.b64encode(ssl.PEM_cert_to_DER_cert(f.read())).decode()
        with open(args.password_file) as f:
            self.password = f.read().strip()
        self.user = args.user
        self.issuer = args.issuer
        self.service = args.service

    def check(self, user: str, password: str) -> bool:
        return hmac.compare_digest(user.encode(), self.user.encode()) and hmac.compare_digest(
            password.encode(), self.password.encode()
        )

    def token(self, subject: str, scopes) -> dict:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + TOKEN_TTL,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": [s for s in (parse_scope(x) for x in scopes) if s],
        }
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode())
        )
        sig = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", self.key],
            input=signing_input.encode(),
            capture_output=True,
            check=True,
            timeout=10,
        ).stdout
        token = signing_input + "." + b64url(sig)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        return {
            "token": token,
            "access_token": token,
            "expires_in": TOKEN_TTL,
            "issued_at": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


class Handler(BaseHTTPRequestHandler):
    issuer: Issuer

    def log_message(self, fmt, *args):  # quiet: errors only
        pass

    def reply(self, status: int, body: dict, extra=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def basic(self):
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
        except Exception:
            return None
        return user, password

    def issue(self, creds, service, scopes):
        if service and service != self.issuer.service:
            return self.reply(400, {"errors": [{"code": "DENIED", "message": f"unknown service {service}"}]})
        if creds is None or not self.issuer.check(*creds):
            return self.reply(
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "bad or missing credentials"}]},
                {"WWW-Authenticate": 'Basic realm="baton-rig-token"'},
            )
        self.reply(200, self.issuer.token(creds[0], scopes))

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        q = urllib.parse.parse_qs(url.query)
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        self.issue(self.basic(), q.get("service", [""])[0], scopes)

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/token":
            return self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": url.path}]})
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type", [""])[0] != "password":
            return self.reply(400, {"error": "unsupported_grant_type"})
        creds = (form.get("username", [""])[0], form.get("password", [""])[0])
        scopes = [s for v in form.get("scope", []) for s in v.split(" ") if s]
        self.issue(creds, form.get("service", [""])[0], scopes)


def main():
    p = argparse.ArgumentParser(prog="rig-token-server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--service", required=True)
    args = p.parse_args()
    Handler.issuer = Issuer(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
