"""DuckDNS emulator, protocols.md §6 and duckdns.org/spec.jsp.

  GET /update?domains=<sub>[,..]&token=T[&ip=][&ipv6=][&verbose=true]
             [&clear=true][&txt=V]

Replies "OK" or "KO" (bad token, or a domain not of that account).  With
verbose=true an OK reply for addresses is "OK\\n<ipv4>\\n<ipv6>\\nUPDATED" (or
NOCHANGE), the address lines holding what this request set (blank when it
set nothing for that family).  "ip" may hold either family; without ip and
ipv6 the connection's IPv4 address is used; ipv6 alone disables that.
clear=true without txt clears both addresses.  TXT: txt=V sets the one TXT
value of the domain, txt=..&clear=true clears it; verbose replies
"OK\\n<txt>\\nUPDATED" (NOCHANGE when equal), the value line empty after a
clear (the TXT verbose form is *unconfirmed* in public documentation).

Data: add_domain(token, sub, a=, aaaa=, txt=).  Faults with fault(mode,
**args): "ratelimit" (429, retry_after=), "server-error" (status=),
"garbage" (200, body=), "echo-token" (200 "KO <token>").
"""
import ipaddress

from .base import HttpsEmulator, Reply


class DuckDomain:
    def __init__(self, token, a, aaaa, txt):
        self.token = token
        self.a = a
        self.aaaa = aaaa
        self.txt = txt
        self.updates = 0


class DuckDnsEmulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.domains = {}
        self.fault_mode = None
        self.fault_args = {}

    def add_domain(self, token, sub, a=None, aaaa=None, txt=""):
        self.domains[sub] = DuckDomain(token, a, aaaa, txt)
        return self.domains[sub]

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
            return Reply(200, args.get("body", "nogood"))
        if mode == "echo-token":
            return Reply(200, f"KO {q.get('token', '')}")

        token = q.get("token", "")
        subs = [s for s in q.get("domains", "").split(",") if s]
        if not subs or any(s not in self.domains or self.domains[s].token != token for s in subs):
            return Reply(200, "KO")
        verbose = q.get("verbose") == "true"
        clear = q.get("clear") == "true"

        if "txt" in q:
            value = "" if clear else q["txt"]
            changed = False
            for s in subs:
                d = self.domains[s]
                if d.txt != value:
                    d.txt, changed = value, True
                    d.updates += 1
            if not verbose:
                return Reply(200, "OK")
            return Reply(200, f"OK\n{value}\n{'UPDATED' if changed else 'NOCHANGE'}")

        if clear:
            for s in subs:
                self.domains[s].a = self.domains[s].aaaa = None
            return Reply(200, "OK\n\n\nUPDATED" if verbose else "OK")

        v4 = v6 = None
        if q.get("ip"):
            try:
                ip = ipaddress.ip_address(q["ip"])
            except ValueError:
                return Reply(200, "KO")
            if ip.version == 4:
                v4 = str(ip)
            else:
                v6 = str(ip)
        if q.get("ipv6"):
            try:
                ip6 = ipaddress.ip_address(q["ipv6"])
            except ValueError:
                return Reply(200, "KO")
            if ip6.version != 6:
                return Reply(200, "KO")
            v6 = str(ip6)
        elif v4 is None and v6 is None:
            v4 = req.client
        changed = False
        for s in subs:
            d = self.domains[s]
            if v4 is not None and d.a != v4:
                d.a, changed = v4, True
            if v6 is not None and d.aaaa != v6:
                d.aaaa, changed = v6, True
            if changed:
                d.updates += 1
        if not verbose:
            return Reply(200, "OK")
        return Reply(200, f"OK\n{v4 or ''}\n{v6 or ''}\n{'UPDATED' if changed else 'NOCHANGE'}")
