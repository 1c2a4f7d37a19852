"""Cloudflare API v4 emulator, protocols.md §5.

Served under /client/v4 (emulator.url includes it).

  GET    /zones?name=ZONE                         zones the credentials can see
  GET    /zones/{id}/dns_records?type=&name=&page=&per_page=
  POST   /zones/{id}/dns_records                  {"type","name","content","ttl"[,"proxied"]}
  PUT    /zones/{id}/dns_records/{rid}            whole record
  PATCH  /zones/{id}/dns_records/{rid}            fields given
  DELETE /zones/{id}/dns_records/{rid}            {"result":{"id":rid}}

Every reply is the envelope {"success","errors","messages","result"[,"result_info"]}.
Auth: "Authorization: Bearer <token>" (add_token, optionally limited to zones)
or "X-Auth-Email" + "X-Auth-Key" (add_global_key).  Unknown credentials:
401 code 10000; a token used on a zone outside its list: 403 code 10000 (and
GET /zones does not list such zones).  ttl must be 1 (automatic) or
60..86400 (400 code 9003 otherwise); a proxied record's ttl is stored as 1.
Listings are paginated with per_page capped at max_per_page (tests lower it).

Faults per zone name, fault(zone, mode, **args): "ratelimit" (429 +
Retry-After), "server-error" (status=), "garbage" (200 non-JSON on GET of
records, body=), "write-status" (writes answer status= with an error envelope).
"""
import json
import math
import urllib.parse
import uuid

from .base import HttpsEmulator, Reply

PREFIX = "/client/v4"


def envelope(status, result=None, errors=(), result_info=None, headers=None):
    body = {"success": not errors, "errors": list(errors), "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return Reply.json(status, body, headers)


def error(status, code, message, headers=None):
    return envelope(status, None, [{"code": code, "message": message}], headers=headers)


class CloudflareEmulator(HttpsEmulator):
    url_prefix = PREFIX

    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.tokens = {}          # token -> set of zone names, or None for all
        self.global_keys = set()  # (email, key)
        self.zones = {}           # name -> id
        self.records = {}         # zone id -> list of dicts
        self.faults = {}
        self.max_per_page = 100
        self.writes = 0

    # -- data -------------------------------------------------------------
    def add_token(self, token, zones=None):
        self.tokens[token] = set(zones) if zones is not None else None

    def add_global_key(self, email, key):
        self.global_keys.add((email, key))

    def add_zone(self, name):
        self.zones[name] = uuid.uuid4().hex
        self.records[self.zones[name]] = []
        return self.zones[name]

    def add_record(self, zone, rtype, name, content, ttl=300, proxied=False):
        rec = {"id": uuid.uuid4().hex, "type": rtype, "name": name, "content": content,
               "ttl": 1 if proxied else ttl, "proxied": proxied, "zone_name": zone}
        self.records[self.zones[zone]].append(rec)
        return rec

    def find(self, zone, rtype, name):
        return [r for r in self.records[self.zones[zone]] if r["type"] == rtype and r["name"] == name]

    def fault(self, zone, mode, **args):
        self.faults[zone] = (mode, args)

    # -- protocol ---------------------------------------------------------
    def _who(self, req):
        auth = req.header("Authorization")
        if auth is not None:
            scheme, _, tok = auth.partition(" ")
            if scheme == "Bearer" and tok in self.tokens:
                return ("token", self.tokens[tok])
            return None
        email, key = req.header("X-Auth-Email"), req.header("X-Auth-Key")
        if email is not None and (email, key) in self.global_keys:
            return ("global", None)
        return None

    @staticmethod
    def _can(who, zone):
        return who[1] is None or zone in who[1]

    def handle(self, req):
        if not req.path.startswith(PREFIX + "/"):
            return error(404, 7003, "Could not route to " + req.path)
        segs = [urllib.parse.unquote(s) for s in req.path[len(PREFIX) + 1:].split("/")]
        who = self._who(req)
        if who is None:
            return error(401, 10000, "Authentication error")
        q = {k: v[-1] for k, v in req.query.items()}

        if segs == ["zones"] and req.method == "GET":
            names = [n for n in self.zones if self._can(who, n) and q.get("name") in (None, n)]
            result = [{"id": self.zones[n], "name": n, "status": "active"} for n in names]
            return envelope(200, result, result_info={
                "page": 1, "per_page": 20, "count": len(result), "total_count": len(result),
                "total_pages": 1 if result else 0})

        if len(segs) < 3 or segs[0] != "zones" or segs[2] != "dns_records":
            return error(404, 7003, "Could not route to " + req.path)
        zone = next((n for n, i in self.zones.items() if i == segs[1]), None)
        if zone is None:
            return error(404, 7003, "Could not route, perhaps your object identifier is invalid?")
        if not self._can(who, zone):
            return error(403, 10000, "Authentication error")

        mode, args = self.faults.get(zone, (None, {}))
        if mode == "ratelimit":
            return error(429, 971, "Please wait and consider throttling your request speed",
                         headers=[("Retry-After", str(args.get("retry_after", 60)))])
        if mode == "server-error":
            return Reply(args.get("status", 500), "<html><body>Internal error</body></html>",
                         "text/html")
        if mode == "garbage" and req.method == "GET":
            return Reply(200, args.get("body", "<html>81.2.69.160</html>"), "application/json")
        if mode == "write-status" and req.method != "GET":
            return error(args["status"], args.get("code", 1004), args.get("message", "emulated"))

        recs = self.records[segs[1]]
        if len(segs) == 3:
            if req.method == "GET":
                return self._list(recs, q)
            if req.method == "POST":
                body, err = self._body(req)
                if err:
                    return err
                for k in ("type", "name", "content"):
                    if not isinstance(body.get(k), str):
                        return error(400, 9000, f"{k}: required")
                err = self._check(body)
                if err:
                    return err
                rec = self.add_record(zone, body["type"], body["name"], body["content"],
                                      body.get("ttl", 1), body.get("proxied", False))
                self.writes += 1
                return envelope(200, rec)
            return error(405, 10405, "Method not allowed")

        if len(segs) != 4:
            return error(404, 7003, "Could not route")
        rec = next((r for r in recs if r["id"] == segs[3]), None)
        if rec is None:
            return error(404, 81044, "Record does not exist.")
        if req.method == "GET":
            return envelope(200, rec)
        if req.method == "DELETE":
            recs.remove(rec)
            self.writes += 1
            return envelope(200, {"id": rec["id"]})
        if req.method in ("PUT", "PATCH"):
            body, err = self._body(req)
            if err:
                return err
            if req.method == "PUT" and not all(isinstance(body.get(k), str)
                                               for k in ("type", "name", "content")):
                return error(400, 9000, "PUT needs type, name and content")
            new = dict(rec)
            for k in ("type", "name", "content", "ttl", "proxied"):
                if k in body:
                    new[k] = body[k]
            err = self._check(new)
            if err:
                return err
            if new.get("proxied"):
                new["ttl"] = 1
            rec.update(new)
            self.writes += 1
            return envelope(200, rec)
        return error(405, 10405, "Method not allowed")

    def _list(self, recs, q):
        sel = [r for r in recs if q.get("type") in (None, r["type"]) and
               q.get("name") in (None, r["name"])]
        per_page = min(int(q.get("per_page", 100)), self.max_per_page)
        page = int(q.get("page", 1))
        total_pages = math.ceil(len(sel) / per_page) if sel else 0
        chunk = sel[(page - 1) * per_page:page * per_page]
        return envelope(200, chunk, result_info={
            "page": page, "per_page": per_page, "count": len(chunk),
            "total_count": len(sel), "total_pages": total_pages})

    @staticmethod
    def _body(req):
        ctype = (req.header("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            return None, error(400, 6003, "Invalid request headers")
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            return None, error(400, 9207, "Request body is invalid.")
        if not isinstance(body, dict):
            return None, error(400, 9207, "Request body is invalid.")
        return body, None

    @staticmethod
    def _check(body):
        ttl = body.get("ttl", 1)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or not (ttl == 1 or 60 <= ttl <= 86400):
            return error(400, 9003, "Invalid 'ttl' setting")
        if "proxied" in body and not isinstance(body["proxied"], bool):
            return error(400, 9003, "Invalid 'proxied' setting")
        return None
