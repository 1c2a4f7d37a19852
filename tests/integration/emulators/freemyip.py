"""freemyip emulator, protocols.md §6.

  GET /update?token=T&domain=D[&myip=IP]

Replies "OK" when the token belongs to the domain (the address is the
connection's unless myip is given; either family), else "ERROR".  There is
no separate "unchanged" reply.

Data: add_domain(token, domain, ip=).  Faults with fault(mode, **args):
"ratelimit" (429, retry_after=), "server-error" (status=), "garbage" (200,
body=), "echo-token" (200 "ERROR <token>" on the first line's successor).
"""
import ipaddress

from .base import HttpsEmulator, Reply


class FreemyipDomain:
    def __init__(self, token, a, aaaa):
        self.token = token
        self.a = a
        self.aaaa = aaaa
        self.updates = 0


class FreemyipEmulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.domains = {}
        self.fault_mode = None
        self.fault_args = {}

    def add_domain(self, token, domain, a=None, aaaa=None):
        self.domains[domain] = FreemyipDomain(token, a, aaaa)
        return self.domains[domain]

    def fault(self, mode, **args):
        self.fault_mode, self.fault_args = mode, args

    def handle(self, req):
        if req.method != "GET" or req.path != "/update":
            return Reply(404, "<html>not found</html>", "text/html")
        q = {k: v[-1] for k, v in req.query.items()}
        mode, args = self.fault_mode, self.fault_args
        if mode == "ratelimit":
            return Reply(429, "slow down", headers=[("Retry-After", str(args.get("retry_after", 60)))])
        if mode == "server-error":
            return Reply(args.get("status", 500), "<html>error</html>", "text/html")
        if mode == "garbage":
            return Reply(200, args.get("body", "NOT OK"))
        if mode == "echo-token":
            return Reply(200, f"ERROR\ninvalid token {q.get('token', '')}\n")
        d = self.domains.get(q.get("domain", ""))
        if d is None or d.token != q.get("token"):
            return Reply(200, "ERROR\n")
        try:
            ip = ipaddress.ip_address(q.get("myip") or req.client)
        except ValueError:
            return Reply(200, "ERROR\n")
        if ip.version == 4:
            if d.a != str(ip):
                d.updates += 1
            d.a = str(ip)
        else:
            if d.aaaa != str(ip):
                d.updates += 1
            d.aaaa = str(ip)
        return Reply(200, "OK\n")
