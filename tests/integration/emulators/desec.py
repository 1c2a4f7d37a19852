"""deSEC emulator, protocols.md §6: the dynDNS endpoint and the REST API.

dynDNS, GET / (also /update and /nic/update), and the same under /v6 for
the IPv6 endpoint (update6.dedyn.io; tests point base-url-v6 there):
  hostname=FQDN, myipv4=, myipv6= : an address sets the record, "preserve"
  keeps it, an empty value deletes it; an absent parameter takes the
  connection's address of that family (none here over IPv4 loopback: the
  AAAA record is deleted, the A set to 127.0.0.1).
  Auth: HTTP Basic (user = the domain, password = token) or
  "Authorization: Token <token>".
  Replies 200 "good"; 401 "badauth"; 400 for a missing or ambiguous
  hostname or a bad address; 404 "nohost" for a host not in the account.

REST under /api/v1 with "Authorization: Token":
  GET    /domains/{d}/                       200 | 404
  GET    /domains/{d}/rrsets/{sub}/{type}/   200 {"subname","type","ttl","records"} | 404 ("@" = apex)
                                             (A and AAAA: what dynDNS wrote, TTL 60)
  POST   /domains/{d}/rrsets/                201; ttl >= 3600 (400 otherwise)
  PATCH  /domains/{d}/rrsets/{sub}/{type}/   200; "records": [] deletes (204)
  DELETE /domains/{d}/rrsets/{sub}/{type}/   204
Errors are {"detail": "..."}; 401 bad token, 404 unknown domain.

Faults per host or domain, fault(name, mode, **args): "ratelimit" (429 +
Retry-After), "server-error" (status=), "garbage" (200 body=).
"""
import base64
import ipaddress
import urllib.parse

from .base import HttpsEmulator, Reply


def detail(status, text, headers=None):
    return Reply.json(status, {"detail": text}, headers)


class DesecEmulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.tokens = {}      # token -> domain it belongs to
        self.hosts = {}       # fqdn -> {"A": ip or None, "AAAA": ip or None}
        self.rrsets = {}      # (domain, subname, type) -> {"ttl", "records"}
        self.faults = {}
        self.writes = 0

    def add_domain(self, domain, token):
        self.tokens[token] = domain
        self.hosts.setdefault(domain, {"A": None, "AAAA": None})

    def add_host(self, fqdn):
        self.hosts.setdefault(fqdn, {"A": None, "AAAA": None})

    def fault(self, name, mode, **args):
        self.faults[name] = (mode, args)

    # -- protocol ---------------------------------------------------------
    def _fault(self, name, req):
        mode, args = self.faults.get(name, (None, {}))
        if mode == "ratelimit":
            return detail(429, "Request was throttled.",
                          [("Retry-After", str(args.get("retry_after", 60)))])
        if mode == "server-error":
            return Reply(args.get("status", 500), "<html>Server Error</html>", "text/html")
        if mode == "garbage":
            return Reply(200, args.get("body", "<html>good</html>"), "text/html")
        return None

    def _token(self, req, basic_ok):
        auth = req.header("Authorization") or ""
        scheme, _, cred = auth.partition(" ")
        if scheme == "Token" and cred in self.tokens:
            return self.tokens[cred], None
        if basic_ok and scheme == "Basic":
            try:
                user, _, pw = base64.b64decode(cred).decode().partition(":")
            except Exception:
                return None, None
            if self.tokens.get(pw) == user:
                return user, user
        return None, None

    def handle(self, req):
        if req.path.startswith("/api/v1/"):
            return self._rest(req)
        path = req.path[3:] if req.path.startswith("/v6/") else req.path
        if path not in ("/", "/update", "/nic/update") or req.method != "GET":
            return Reply(404, "Not found")
        domain, _ = self._token(req, basic_ok=True)
        if domain is None:
            return Reply(401, "badauth")
        hostnames = req.query.get("hostname", [])
        if len(hostnames) != 1 or not hostnames[0]:
            return Reply(400, "ambiguous hostname")
        host = hostnames[0].lower().rstrip(".")
        fault = self._fault(host, req)
        if fault is not None:
            return fault
        if host not in self.hosts or not (host == domain or host.endswith("." + domain)):
            return Reply(404, "nohost")
        new = dict(self.hosts[host])
        for key, rtype, fam in (("myipv4", "A", 4), ("myipv6", "AAAA", 6)):
            vals = req.query.get(key)
            if vals is None:
                new[rtype] = req.client if fam == 4 else None
                continue
            v = vals[-1]
            if v == "preserve":
                continue
            if v == "":
                new[rtype] = None
                continue
            try:
                ip = ipaddress.ip_address(v)
            except ValueError:
                return Reply(400, f"invalid {key}")
            if ip.version != fam:
                return Reply(400, f"invalid {key}")
            new[rtype] = str(ip)
        self.hosts[host] = new
        self.writes += 1
        return Reply(200, "good")

    def _rest(self, req):
        domain_of_token, _ = self._token(req, basic_ok=False)
        if domain_of_token is None:
            return detail(401, "Invalid token.")
        segs = [urllib.parse.unquote(s) for s in req.path[len("/api/v1/"):].split("/")]
        if segs and segs[-1] == "":
            segs = segs[:-1]
        if len(segs) < 2 or segs[0] != "domains":
            return detail(404, "Not found.")
        domain = segs[1]
        if domain != domain_of_token:
            return detail(404, "Not found.")
        fault = self._fault(domain, req)
        if fault is not None:
            return fault
        if len(segs) == 2:
            return Reply.json(200, {"name": domain, "minimum_ttl": 3600})
        if segs[2] != "rrsets":
            return detail(404, "Not found.")
        if len(segs) == 3:
            if req.method != "POST":
                return detail(405, "Method not allowed.")
            body = req.json()
            if not isinstance(body.get("ttl"), int) or body["ttl"] < 3600:
                return Reply.json(400, {"ttl": ["Ensure this value is greater than or equal to 3600."]})
            key = (domain, body.get("subname", ""), body["type"])
            if key in self.rrsets:
                return Reply.json(400, {"non_field_errors": ["Another RRset with the same subdomain and type exists for this domain."]})
            self.rrsets[key] = {"ttl": body["ttl"], "records": list(body["records"])}
            self.writes += 1
            return Reply.json(201, self._rrset(key))
        if len(segs) != 5:
            return detail(404, "Not found.")
        sub = "" if segs[3] == "@" else segs[3]
        key = (domain, sub, segs[4])
        if segs[4] in ("A", "AAAA") and req.method == "GET":
            # the addresses dynDNS wrote: one account, one zone
            addr = self.hosts.get((sub + "." if sub else "") + domain, {}).get(segs[4])
            if addr is None:
                return detail(404, "Not found.")
            name = (sub + "." if sub else "") + domain + "."
            return Reply.json(200, {"domain": domain, "subname": sub, "name": name,
                                    "type": segs[4], "ttl": 60, "records": [addr]})
        if key not in self.rrsets:
            return detail(404, "Not found.")
        if req.method == "GET":
            return Reply.json(200, self._rrset(key))
        if req.method == "DELETE":
            del self.rrsets[key]
            self.writes += 1
            return Reply(204, "")
        if req.method == "PATCH":
            body = req.json()
            self.writes += 1
            if body.get("records") == []:
                del self.rrsets[key]
                return Reply(204, "")
            self.rrsets[key].update({k: body[k] for k in ("ttl", "records") if k in body})
            return Reply.json(200, self._rrset(key))
        return detail(405, "Method not allowed.")

    def _rrset(self, key):
        domain, sub, rtype = key
        rr = self.rrsets[key]
        name = (sub + "." if sub else "") + domain + "."
        return {"domain": domain, "subname": sub, "name": name, "type": rtype,
                "ttl": rr["ttl"], "records": list(rr["records"])}
