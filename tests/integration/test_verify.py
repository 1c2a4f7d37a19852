"""verify-interval: the daemon checks that published addresses still stand
and repairs what someone changed behind its back.

Against a real Knot DNS (rfc2136: a signed query to the server), the
Gandi, Cloudflare and deSEC emulators (their APIs read the record), and a
provider that cannot read (FreeDNS) checked at the zone's authoritative
server (Knot, through acme-nameservers).  Intervals are shortened through
the configuration; every wait polls with a deadline.  "Nothing is sent
when the record stands" is shown by counting the writes the server or
emulator received across several checks that the daemon logged.
"""
import pytest

from test_daemon import daemons, stays, wait_for  # noqa: F401  (fixture)

HOST = "host.example.test"
V4 = "81.2.69.160"
OTHER = "192.0.2.7"


def checks(d):
    """Drift checks that found the record standing, as the daemon logged them."""
    return d.text().count(": verified: ")


def knot_updates(knot):
    return knot.log.read_text(errors="replace").count("DDNS, processing")


def test_rfc2136_drift_is_repaired(ws, knot, daemons):
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
verify-interval = 1

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}
zone = example.test

[record {HOST}]
provider = own
ipv4 = static:{V4}
ipv6 = off
ttl = 60
""")
    d = daemons(ws, cfg)
    wait_for(lambda: (d.fam(HOST, "A") or {}).get("state") == "in-sync", "published", 20)
    assert knot.query(HOST, "A") == [V4]
    # The record stands: checks come, and not one UPDATE goes out.
    updates = knot_updates(knot)
    n = checks(d)
    wait_for(lambda: checks(d) >= n + 3, "three drift checks", 20)
    assert knot_updates(knot) == updates
    assert (d.fam(HOST, "A") or {}).get("verify") == "stands"
    assert "cannot verify" not in d.text()   # no check failed

    # Someone changes it behind dnsward's back.
    r = knot.nsupdate(f"update delete {HOST}. A\nupdate add {HOST}. 60 A {OTHER}")
    assert r.returncode == 0, r.stdout + r.stderr
    updates = knot_updates(knot)
    wait_for(lambda: knot.query(HOST, "A") == [V4], "the repair", 20)
    log = d.text()
    assert "changed behind dnsward's back" in log
    assert f"serves A {OTHER} TTL 60, not A {V4}" in log
    assert f"{HOST} A {V4}: updated" in log
    wait_for(lambda: (d.fam(HOST, "A") or {}).get("verify") == "stands", "checked again", 20)
    assert knot_updates(knot) == updates + 1   # one UPDATE repaired it


# ------------------------------------------------------------ HTTP providers

GANDI_ZONE, GANDI_NAME = "example.org", "home"
CF_ZONE = "example.org"
DESEC_DOMAIN = "home.dedyn.io"


def http_config(ws, pki, kind, emu, token_path):
    fqdn = DESEC_DOMAIN if kind == "desec" else f"home.{GANDI_ZONE}"
    if kind == "gandi":
        prov = f"type = gandi\nbase-url = {emu.url}\ntoken-file = {token_path}"
    elif kind == "cloudflare":
        prov = f"type = cloudflare\nbase-url = {emu.url}\ntoken-file = {token_path}"
    else:
        prov = (f"type = desec\nbase-url = {emu.origin}\nbase-url-v6 = {emu.origin}/v6\n"
                f"api-url = {emu.origin}/api/v1\ntoken-file = {token_path}")
    return fqdn, ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
verify-interval = 1

[provider p]
{prov}
ca-file = {pki.ca_file}
timeout = 5

[record {fqdn}]
provider = p
ipv4 = static:{V4}
ipv6 = off
ttl = 300
""")


class HttpCase:
    """What differs between the three APIs: set-up, the served value, a
    change behind dnsward's back, and which requests are writes."""

    def __init__(self, kind, request):
        self.kind = kind
        self.emu = request.getfixturevalue(f"{kind}_emulator")
        self.token = {"gandi": "pat_0123456789abcdef", "cloudflare": "cf_0123456789abcdef",
                      "desec": "desec-token-0123456789"}[kind]
        if kind == "gandi":
            self.emu.add_token(self.token)
            self.emu.add_zone(GANDI_ZONE)
        elif kind == "cloudflare":
            self.emu.add_token(self.token)
            self.emu.add_zone(CF_ZONE)
        else:
            self.emu.add_domain(DESEC_DOMAIN, self.token)

    def served(self):
        if self.kind == "gandi":
            rr = self.emu.rrset(GANDI_ZONE, GANDI_NAME, "A")
            return rr["values"] if rr else []
        if self.kind == "cloudflare":
            return [r["content"] for r in self.emu.find(CF_ZONE, "A", f"home.{CF_ZONE}")]
        a = self.emu.hosts[DESEC_DOMAIN]["A"]
        return [a] if a else []

    def change_behind(self):
        if self.kind == "gandi":
            self.emu.set_rrset(GANDI_ZONE, GANDI_NAME, "A", [OTHER])
        elif self.kind == "cloudflare":
            self.emu.find(CF_ZONE, "A", f"home.{CF_ZONE}")[0]["content"] = OTHER
        else:
            self.emu.hosts[DESEC_DOMAIN]["A"] = OTHER

    def writes(self):
        reqs = list(self.emu.requests)
        if self.kind == "desec":   # dynDNS updates are GETs outside the REST API
            return sum(1 for r in reqs if not r.path.startswith("/api/"))
        return sum(1 for r in reqs if r.method in ("PUT", "POST", "PATCH", "DELETE"))


@pytest.mark.parametrize("kind", ["gandi", "cloudflare", "desec"])
def test_http_api_drift_is_repaired(ws, pki, daemons, request, kind):
    c = HttpCase(kind, request)
    tf = ws.secret("token", c.token)
    fqdn, cfg = http_config(ws, pki, kind, c.emu, tf)
    d = daemons(ws, cfg)
    wait_for(lambda: (d.fam(fqdn, "A") or {}).get("state") == "in-sync", "published", 20)
    assert c.served() == [V4]
    writes = c.writes()
    assert writes == 1
    n = checks(d)
    wait_for(lambda: checks(d) >= n + 3, "three drift checks through the API", 20)
    assert c.writes() == writes
    c.change_behind()
    wait_for(lambda: c.served() == [V4], "the repair", 20)
    assert "changed behind dnsward's back" in d.text()
    wait_for(lambda: (d.fam(fqdn, "A") or {}).get("verify") == "stands", "checked again", 20)
    assert c.writes() == writes + 1
    assert c.token not in d.text()


# ------------------------------------- a provider that cannot read the record

def freedns_config(ws, freedns_emulator, pki, knot, fqdn):
    token = "0a1b2c3d4e5f607182939495"
    freedns_emulator.add_record(token, fqdn, "A", "192.0.2.1")
    tf = ws.secret("token-a", token)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
verify-interval = 1
acme-nameservers = 127.0.0.1:{knot.port}

[provider fd]
type = freedns
base-url = {freedns_emulator.url}
base-url-v6 = {freedns_emulator.url}
ca-file = {pki.ca_file}
timeout = 5

[record {fqdn}]
provider = fd
ipv4 = static:{V4}
ipv6 = off
token-a-file = {tf}
""")


def test_authoritative_servers_decide_for_other_providers(ws, freedns_emulator, pki, knot,
                                                           daemons):
    # What the zone's server holds for the name (FreeDNS would serve it).
    r = knot.nsupdate(f"update add {HOST}. 60 A {V4}")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: knot.query(HOST, "A") == [V4], "Knot serves the address", 10)
    d = daemons(ws, freedns_config(ws, freedns_emulator, pki, knot, HOST))
    wait_for(lambda: (d.fam(HOST, "A") or {}).get("state") == "in-sync", "published", 20)
    assert len(freedns_emulator.requests) == 1
    n = checks(d)
    wait_for(lambda: checks(d) >= n + 3, "three checks at the authoritative server", 20)
    assert "1 authoritative server of example.test serves A" in d.text()
    assert len(freedns_emulator.requests) == 1
    # Changed at the zone: published again through the provider.
    r = knot.nsupdate(f"update delete {HOST}. A\nupdate add {HOST}. 60 A {OTHER}")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: len(freedns_emulator.requests) >= 2, "a publish through FreeDNS", 20)
    assert "changed behind dnsward's back" in d.text()


def test_nothing_is_sent_when_the_check_cannot_decide(ws, freedns_emulator, pki, knot, daemons):
    # Knot is not authoritative for mooo.test: no answer decides.
    d = daemons(ws, freedns_config(ws, freedns_emulator, pki, knot, "home.mooo.test"))
    wait_for(lambda: (d.fam("home.mooo.test", "A") or {}).get("state") == "in-sync",
             "published", 20)
    wait_for(lambda: d.text().count("cannot verify the published") >= 1, "a check", 20)
    wait_for(lambda: (d.fam("home.mooo.test", "A") or {}).get("verify") == "unknown",
             "the check's result in the status", 20)
    stays(lambda: len(freedns_emulator.requests) == 1, "a check that could not decide "
          "published", 3)
    # logged once at info level, its repeats at debug level only
    assert d.text().count("info: home.mooo.test A: cannot verify") <= 1
