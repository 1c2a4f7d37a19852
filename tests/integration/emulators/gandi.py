"""Gandi LiveDNS v5 emulator, protocols.md §1.

Served under /v5/livedns (emulator.url includes it) and, for convenience,
also at the root, so base-url may be either https://HOST:PORT/v5/livedns or
https://HOST:PORT.

  GET    /domains/{zone}                              200 | 404
  GET    /domains/{zone}/records                      200 [rrsets]
  POST   /domains/{zone}/records                      201 | 409
  GET    /domains/{zone}/records/{name}/{type}        200 rrset | 404
  PUT    /domains/{zone}/records/{name}/{type}        201 {"message":"DNS Record Created"}
  DELETE /domains/{zone}/records/{name}/{type}        204 | 404

Auth: "Authorization: Bearer <PAT>" (and the deprecated "Apikey <key>" form,
accepted for keys added with add_token(..., scheme="Apikey")).  Errors are
JSON {"code","message","object","cause"}: 401 unknown token, 403 expired token
or zone outside the token's allowed list, 404 unknown zone or record.  PUT
and POST need Content-Type application/json and rrset_ttl >= 300 (400
otherwise).  Optional ?sharing_id= is recorded and, when a zone names an
organisation, must match it (404 otherwise).

Faults per zone, with fault(zone, mode, **args): "ratelimit" (429 +
Retry-After), "server-error" (5xx), "garbage" (200 non-JSON body on GET),
"redirect" (302 to location=), "put-status" (PUT answers status= instead).
"""
import urllib.parse

from .base import HttpsEmulator, Reply

PREFIX = "/v5/livedns"


def _error(code, message, obj, cause):
    return Reply.json(code, {"code": code, "message": message, "object": obj, "cause": cause})


def unauthorized():
    return _error(401, "The server could not verify that you are authorized to access the "
                       "document you requested.", "HTTPUnauthorized", "Unauthorized")


def forbidden():
    return _error(403, "Access was denied to this resource.", "HTTPForbidden", "Forbidden")


def not_found(what="The resource could not be found."):
    return _error(404, what, "HTTPNotFound", "Not Found")


def bad_request(what):
    return _error(400, what, "HTTPBadRequest", "Bad Request")


class Token:
    def __init__(self, value, scheme="Bearer", zones=None, expired=False):
        self.value = value
        self.scheme = scheme
        self.zones = zones      # None = every zone of the organisation
        self.expired = expired


class Zone:
    def __init__(self, name, sharing_id=None):
        self.name = name
        self.sharing_id = sharing_id
        self.rrsets = {}        # (name, type) -> {"ttl": int, "values": [str]}


class GandiEmulator(HttpsEmulator):
    url_prefix = PREFIX

    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.tokens = {}
        self.zones = {}
        self.faults = {}
        self.writes = 0

    # -- data -------------------------------------------------------------
    def add_token(self, value, scheme="Bearer", zones=None, expired=False):
        self.tokens[value] = Token(value, scheme, zones, expired)

    def add_zone(self, name, sharing_id=None):
        self.zones[name] = Zone(name, sharing_id)
        return self.zones[name]

    def set_rrset(self, zone, name, rrtype, values, ttl=300):
        self.zones[zone].rrsets[(name, rrtype)] = {"ttl": ttl, "values": list(values)}

    def rrset(self, zone, name, rrtype):
        return self.zones[zone].rrsets.get((name, rrtype))

    def fault(self, zone, mode, **args):
        self.faults[zone] = (mode, args)

    def clear_fault(self, zone):
        self.faults.pop(zone, None)

    # -- protocol ---------------------------------------------------------
    def _auth(self, req, zone):
        value = req.header("Authorization") or ""
        scheme, _, cred = value.partition(" ")
        tok = self.tokens.get(cred)
        if tok is None or scheme != tok.scheme:
            return unauthorized()
        if tok.expired or (zone is not None and tok.zones is not None and zone not in tok.zones):
            return forbidden()
        return None

    def _rrset_json(self, zone, name, rrtype, rr):
        q = urllib.parse.quote
        return {
            "rrset_name": name,
            "rrset_type": rrtype,
            "rrset_ttl": rr["ttl"],
            "rrset_values": list(rr["values"]),
            "rrset_href": f"{self.url}/domains/{q(zone)}/records/{q(name)}/{q(rrtype)}",
        }

    def handle(self, req):
        path = req.path
        if path.startswith(PREFIX + "/"):
            path = path[len(PREFIX):]
        segs = [urllib.parse.unquote(s) for s in path.split("/")]
        # "/domains/zone/records/name/type" -> ["", "domains", zone, "records", name, type]
        if len(segs) < 3 or segs[0] != "" or segs[1] != "domains" or segs[2] == "":
            return not_found()
        zone_name = segs[2]

        denied = self._auth(req, zone_name)
        if denied is not None:
            return denied

        mode, args = self.faults.get(zone_name, (None, {}))
        if mode == "ratelimit":
            return Reply.json(429, {"code": 429, "message": "Too Many Requests",
                                    "object": "HTTPTooManyRequests", "cause": "Too Many Requests"},
                              headers=[("Retry-After", str(args.get("retry_after", 60)))])
        if mode == "server-error":
            return Reply(args.get("status", 500), "<html><body>Internal Server Error</body></html>",
                         "text/html")
        if mode == "redirect":
            return Reply(302, "", headers=[("Location", args["location"])])
        if mode == "garbage" and req.method == "GET":
            return Reply(200, args.get("body", "<html>rrset_values 81.2.69.160</html>"),
                         "application/json")

        zone = self.zones.get(zone_name)
        if zone is None:
            return not_found()
        sid = req.query.get("sharing_id")
        if zone.sharing_id is not None and (not sid or sid[-1] != zone.sharing_id):
            return not_found()

        if len(segs) == 3:
            if req.method != "GET":
                return _error(405, "Method not allowed", "HTTPMethodNotAllowed", "Not Allowed")
            return Reply.json(200, {"fqdn": zone.name, "automatic_snapshots": True,
                                    "domain_records_href": f"{self.url}/domains/{zone.name}/records"})
        if segs[3] != "records":
            return not_found()

        if len(segs) == 4:
            if req.method == "GET":
                return Reply.json(200, [self._rrset_json(zone.name, n, t, rr)
                                        for (n, t), rr in sorted(zone.rrsets.items())])
            if req.method == "POST":
                body, err = self._write_body(req, ("rrset_name", "rrset_type"))
                if err:
                    return err
                key = (body["rrset_name"], body["rrset_type"])
                if key in zone.rrsets:
                    return _error(409, "A record with that name / type pair already exists",
                                  "HTTPConflict", "Conflict")
                zone.rrsets[key] = {"ttl": body["rrset_ttl"], "values": body["rrset_values"]}
                self.writes += 1
                return Reply.json(201, {"message": "DNS Record Created"})
            return _error(405, "Method not allowed", "HTTPMethodNotAllowed", "Not Allowed")

        if len(segs) != 6 or segs[4] == "" or segs[5] == "":
            return not_found()
        key = (segs[4], segs[5])
        if req.method == "GET":
            rr = zone.rrsets.get(key)
            if rr is None:
                return not_found("The resource could not be found.")
            return Reply.json(200, self._rrset_json(zone.name, key[0], key[1], rr))
        if req.method == "PUT":
            if mode == "put-status":
                return Reply.json(args["status"], {"message": "emulated"})
            body, err = self._write_body(req, ())
            if err:
                return err
            zone.rrsets[key] = {"ttl": body["rrset_ttl"], "values": body["rrset_values"]}
            self.writes += 1
            return Reply.json(201, {"message": "DNS Record Created"})
        if req.method == "DELETE":
            if zone.rrsets.pop(key, None) is None:
                return not_found()
            self.writes += 1
            return Reply(204, "")
        return _error(405, "Method not allowed", "HTTPMethodNotAllowed", "Not Allowed")

    @staticmethod
    def _write_body(req, extra):
        ctype = (req.header("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/json":
            return None, bad_request("Content-Type must be application/json")
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            return None, bad_request("invalid JSON")
        if not isinstance(body, dict):
            return None, bad_request("invalid JSON")
        ttl = body.get("rrset_ttl", 10800)
        values = body.get("rrset_values")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 300 or ttl > 2592000:
            return None, bad_request("rrset_ttl: must be between 300 and 2592000")
        if not isinstance(values, list) or not values or \
                not all(isinstance(v, str) for v in values):
            return None, bad_request("rrset_values: must be a non-empty list of strings")
        for k in extra:
            if not isinstance(body.get(k), str):
                return None, bad_request(f"{k}: required")
        body["rrset_ttl"] = ttl
        return body, None
