"""acme-dns (joohoi/acme-dns) HTTP API emulator, protocols.md section 7.

  POST /register   201 {"username","password","fulldomain","subdomain","allowfrom"}
  POST /update     X-Api-User, X-Api-Key; {"subdomain","txt"} (keys matched
                   case-insensitively: lego sends "SubDomain"/"Txt")
                   200 {"txt": ..} | 401 {"error":"forbidden"} |
                   400 {"error":"bad_subdomain"} / {"error":"bad_txt"}
  GET  /health     200

Each subdomain keeps its two most recent TXT values; there is no delete.
"""
import re
import secrets
import uuid

from .base import HttpsEmulator, Reply

_TXT = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Account:
    def __init__(self, username, password, subdomain):
        self.username = username
        self.password = password
        self.subdomain = subdomain
        self.txt = []


class AcmeDnsEmulator(HttpsEmulator):
    domain = "auth.acme.test"

    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.accounts = {}

    def add_account(self, username, password, subdomain):
        self.accounts[username] = Account(username, password, subdomain)

    def values(self, subdomain):
        for a in self.accounts.values():
            if a.subdomain == subdomain:
                return list(a.txt)
        return None

    def handle(self, req):
        if req.path == "/health" and req.method == "GET":
            return Reply(200, "")
        if req.path == "/register" and req.method == "POST":
            a = Account(str(uuid.uuid4()), secrets.token_urlsafe(30)[:40], str(uuid.uuid4()))
            self.accounts[a.username] = a
            return Reply.json(201, {"username": a.username, "password": a.password,
                                    "fulldomain": f"{a.subdomain}.{self.domain}",
                                    "subdomain": a.subdomain, "allowfrom": []})
        if req.path != "/update" or req.method != "POST":
            return Reply.json(404, {"error": "not_found"})
        a = self.accounts.get(req.header("X-Api-User") or "")
        if a is None or not secrets.compare_digest(a.password, req.header("X-Api-Key") or ""):
            return Reply.json(401, {"error": "forbidden"})
        try:
            body = {k.lower(): v for k, v in req.json().items()}
        except (ValueError, AttributeError, UnicodeDecodeError):
            return Reply.json(400, {"error": "malformed_json_payload"})
        if body.get("subdomain") != a.subdomain:
            return Reply.json(401, {"error": "forbidden"})
        txt = body.get("txt")
        if not isinstance(txt, str) or not _TXT.match(txt):
            return Reply.json(400, {"error": "bad_txt"})
        a.txt = (a.txt + [txt])[-2:]
        return Reply.json(200, {"txt": txt})
