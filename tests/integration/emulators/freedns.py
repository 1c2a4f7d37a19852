"""FreeDNS (freedns.afraid.org) dynamic update v2 emulator, protocols.md §2.

  GET /u/<TOKEN>/[?address=<IP>]   (both sync.afraid.org and v6.sync.afraid.org:
                                    one emulator can play both endpoints)

The address is the connection's source address unless ?address= is given.
Replies are plain text, HTTP 200:
  Updated <host> from <old> to <new>
  No IP change detected for <host> with IP <ip>, skipping update
  Couldn't find any matching DNS records ...      (token of a deleted record)
  ERROR: ...                                      (unknown or malformed token)

Data: add_record(token, host, rrtype, ip) makes a token known; faults are set
per token with fault(token, mode, **args):
  "ratelimit"      429 with Retry-After (retry_after=seconds or an HTTP date)
  "server-error"   500 (status=5xx to choose)
  "garbage"        200 with an unparsable body (body= to choose)
  "redirect"       302 to another origin (location= to choose)
  "redirect-same"  302 to the same origin, /redirected/u/<TOKEN>/?..., which is
                   then served normally
  "no-record"      the token's record was deleted: "Couldn't find ..."
  "echo-token"     an "ERROR: " line that repeats the token
"""
import ipaddress

from .base import HttpsEmulator, Reply

NOT_FOUND_TEXT = "Couldn't find any matching DNS records ..."
BAD_TOKEN_TEXT = "ERROR: Invalid update URL (2)"


class FreeDnsRecord:
    def __init__(self, host, rrtype, ip):
        self.host = host
        self.rrtype = rrtype
        self.ip = ip
        self.updates = 0


class FreeDnsEmulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.records = {}   # token -> FreeDnsRecord
        self.faults = {}    # token -> (mode, args)

    # -- data -------------------------------------------------------------
    def add_record(self, token, host, rrtype="A", ip=None):
        if ip is None:
            ip = "192.0.2.1" if rrtype == "A" else "2001:db8::1"
        self.records[token] = FreeDnsRecord(host, rrtype, ip)
        return self.records[token]

    def fault(self, token, mode, **args):
        self.faults[token] = (mode, args)

    def clear_fault(self, token):
        self.faults.pop(token, None)

    # -- protocol ---------------------------------------------------------
    def handle(self, req):
        if req.method != "GET":
            return Reply(405, "method not allowed")
        path = req.path
        redirected = False
        if path.startswith("/redirected/"):
            path = path[len("/redirected"):]
            redirected = True
        parts = path.split("/")
        # "/u/<TOKEN>/" -> ["", "u", TOKEN, ""]
        if len(parts) != 4 or parts[1] != "u" or parts[2] == "" or parts[3] != "":
            return Reply(404, "<html><body>404 Not Found</body></html>", "text/html")
        token = parts[2]

        mode, args = self.faults.get(token, (None, {}))
        if mode == "ratelimit":
            ra = args.get("retry_after", 120)
            return Reply(429, "Too many requests", headers=[("Retry-After", str(ra))])
        if mode == "server-error":
            return Reply(args.get("status", 500), "<html><body>Internal error</body></html>",
                         "text/html")
        if mode == "garbage":
            return Reply(200, args.get("body", "<html><body>nogood Updated</body></html>"),
                         "text/html")
        if mode == "redirect":
            loc = args["location"]
            return Reply(302, "", headers=[("Location", loc)])
        if mode == "redirect-same" and not redirected:
            target = f"/redirected{req.path}"
            if req.raw_query:
                target += "?" + req.raw_query
            return Reply(302, "", headers=[("Location", target)])
        if mode == "echo-token":
            return Reply(200, f"ERROR: Unable to locate this record for token {token}\n")

        rec = self.records.get(token)
        if rec is None:
            return Reply(200, BAD_TOKEN_TEXT + "\n")
        if mode == "no-record":
            return Reply(200, NOT_FOUND_TEXT + "\n")

        given = req.query.get("address")
        address = given[-1] if given else req.client
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return Reply(200, f"ERROR: Address {address} is not a valid address.\n")
        if (ip.version == 4) != (rec.rrtype == "A"):
            return Reply(200, f"ERROR: Address {address} does not match the record type.\n")
        new = str(ip)
        if new == rec.ip:
            return Reply(200, f"No IP change detected for {rec.host} with IP {new}, "
                              f"skipping update\n")
        old, rec.ip = rec.ip, new
        rec.updates += 1
        return Reply(200, f"Updated {rec.host} from {old} to {new}\n")
