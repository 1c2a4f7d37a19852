"""dyndns2 ("Remote Access API") emulator, protocols.md §3, configurable per
preset quirk so one emulator plays No-IP, OVH, Strato, ... and Hurricane
Electric.

  GET {path}?hostname=h1[,h2,..]&myip=<IP>[&myipv6=<IP>][&system=..][&txt=..]
  Authorization: Basic base64(user:pass); a User-Agent is required.

Replies are HTTP 200 even on errors, one line per hostname in request order:
"good <ip>" / "nochg <ip>" or a code (nohost, !yours, ...); account-level
failures (badauth, badagent, badsys, numhost) appear once for all hosts.
Without myip the connection's address is used.

Quirks (attributes):
  path              "/nic/update" (3322: "/dyndns/update", Loopia: "/")
  required_query    {"system": "dyndns"} for OVH: a missing or other value
                    answers "badsys"
  v6_style          "separate": myip holds one address of either family;
                    "comma": myip may hold "v4,v6" (Strato, Variomedia);
                    "myipv6": myip holds v4, myipv6 holds v6 (No-IP, Dynu)
  host_list         several hostnames per request allowed (else "numhost")
  he_mode           Hurricane Electric: user = hostname, password = that
                    host's key; "txt=" sets a dynamic TXT record; more than
                    interval_limit updates of one host in interval_window
                    seconds answer "interval"

Data: add_account(user, password); add_host(name, owner=user, a=, aaaa=,
key= (he_mode), txt=).  Faults with fault(mode, host="*", **args):
  "code"          the line args["code"] for that host ("*": once, for all)
  "ratelimit"     429 with Retry-After (retry_after=)
  "server-error"  status= (default 500)
  "garbage"       200 with body=
  "echo"          success line echoing args["ip"] instead of the address
  "echo-request"  200 whose body echoes the Authorization header and the
                  request line (a careless server's error page)
"""
import base64
import ipaddress
import time

from .base import HttpsEmulator, Reply


class Dyndns2Host:
    def __init__(self, name, owner, a, aaaa, key, txt):
        self.name = name
        self.owner = owner
        self.a = a
        self.aaaa = aaaa
        self.key = key
        self.txt = txt
        self.updates = 0
        self.stamps = []


class Dyndns2Emulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self.path = "/nic/update"
        self.required_query = {}
        self.v6_style = "separate"
        self.host_list = False
        self.he_mode = False
        self.interval_limit = 10
        self.interval_window = 120
        self.accounts = {}
        self.hosts = {}
        self.faults = {}

    # -- data -------------------------------------------------------------
    def add_account(self, user, password):
        self.accounts[user] = password

    def add_host(self, name, owner=None, a=None, aaaa=None, key=None, txt=None):
        self.hosts[name] = Dyndns2Host(name, owner, a, aaaa, key, txt)
        return self.hosts[name]

    def fault(self, mode, host="*", **args):
        self.faults[host] = (mode, args)

    def clear_faults(self):
        self.faults.clear()

    # -- protocol ---------------------------------------------------------
    def _auth(self, req):
        h = req.header("Authorization") or ""
        if not h.startswith("Basic "):
            return None
        try:
            user, _, pw = base64.b64decode(h[6:], validate=True).decode("utf-8").partition(":")
        except Exception:
            return None
        return user, pw

    def _addresses(self, req):
        """The addresses asked for, as {4: ip, 6: ip}, or None when invalid."""
        q = req.query
        myip = q.get("myip", [None])[-1]
        out = {}
        if myip is None:
            out[ipaddress.ip_address(req.client).version] = req.client
        else:
            parts = myip.split(",")
            if len(parts) > 1 and self.v6_style != "comma":
                return None
            if len(parts) > 2:
                return None
            for p in parts:
                try:
                    ip = ipaddress.ip_address(p)
                except ValueError:
                    return None
                if ip.version in out:
                    return None
                if ip.version == 6 and self.v6_style == "myipv6":
                    return None
                out[ip.version] = str(ip)
        if self.v6_style == "myipv6" and "myipv6" in q:
            try:
                ip6 = ipaddress.ip_address(q["myipv6"][-1])
            except ValueError:
                return None
            if ip6.version != 6:
                return None
            if myip is None:
                out.pop(4, None)   # only v6 was meant
            out[6] = str(ip6)
        return out

    def handle(self, req):
        if req.method != "GET":
            return Reply(405, "method not allowed")
        if req.path != self.path:
            return Reply(404, "<html><body>404 Not Found</body></html>", "text/html")

        glob_mode, glob_args = self.faults.get("*", (None, {}))
        if glob_mode == "echo-request":
            return Reply(200, f"echo: Authorization: {req.header('Authorization')} "
                              f"{req.method} {req.raw_path}\n")
        if glob_mode == "ratelimit":
            return Reply(429, "Too many requests",
                         headers=[("Retry-After", str(glob_args.get("retry_after", 120)))])
        if glob_mode == "server-error":
            return Reply(glob_args.get("status", 500), "<html>Internal error</html>", "text/html")
        if glob_mode == "garbage":
            return Reply(200, glob_args.get("body", "<html>nogood</html>"), "text/html")

        if not req.header("User-Agent"):
            return Reply(200, "badagent\n")
        for k, v in self.required_query.items():
            if req.query.get(k, [None])[-1] != v:
                return Reply(200, "badsys\n")
        names = req.query.get("hostname", [""])[-1].split(",")
        if names == [""]:
            return Reply(200, "notfqdn\n")
        if len(names) > (20 if self.host_list else 1):
            return Reply(200, "numhost\n")

        auth = self._auth(req)
        if auth is None:
            return Reply(401, "badauth\n", headers=[("WWW-Authenticate", 'Basic realm="dyn"')])
        user, pw = auth
        if self.he_mode:
            h = self.hosts.get(user)
            if h is None or h.key != pw or names != [user]:
                return Reply(200, "badauth\n")
        elif self.accounts.get(user) != pw:
            return Reply(200, "badauth\n")
        if glob_mode == "code":
            return Reply(200, glob_args["code"] + "\n")

        txt = req.query.get("txt", [None])[-1] if self.he_mode else None
        addrs = None
        if txt is None:
            addrs = self._addresses(req)
            if addrs is None:
                return Reply(400, "invalid myip\n")
        lines = [self._one(name, user, addrs, txt) for name in names]
        return Reply(200, "".join(line + "\n" for line in lines))

    def _one(self, name, user, addrs, txt):
        mode, args = self.faults.get(name, (None, {}))
        if mode == "code":
            return args["code"]
        h = self.hosts.get(name)
        if h is None:
            return "nohost"
        if not self.he_mode and h.owner != user:
            return "!yours"
        if self.he_mode:
            now = time.monotonic()
            h.stamps = [t for t in h.stamps if now - t < self.interval_window]
            if len(h.stamps) >= self.interval_limit:
                return "interval"
            h.stamps.append(now)
        if txt is not None:
            changed = h.txt != txt
            h.txt = txt
            if changed:
                h.updates += 1
            return "good" if changed else "nochg"
        changed = False
        if 4 in addrs and h.a != addrs[4]:
            h.a, changed = addrs[4], True
        if 6 in addrs and h.aaaa != addrs[6]:
            h.aaaa, changed = addrs[6], True
        echo = ",".join(addrs[v] for v in (4, 6) if v in addrs)
        if mode == "echo":
            echo = args["ip"]
        if changed:
            h.updates += 1
            return f"good {echo}"
        return f"nochg {echo}"
