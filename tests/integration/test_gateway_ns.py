"""A zone's nameserver names are not hosts (issue 10, fault 3: "the zone's NS
host").  The addresses of the names a zone's NS records and SOA MNAME point
at tell resolvers where the zone is served (glue, or in-zone records): a
token for one of them could move the zone's nameserver address, and with
it every name in the zone.  A name at or below a delegation inside the zone
belongs to another zone (or is its glue).

"dnsward-gateway host add" asks where the provider's updates go: the
rfc2136 provider's own server with a query signed by its key; for HTTP
providers the zone's authoritative servers ([gateway] nameservers here, a
real Knot).  The zone below has in-zone NS names, an SOA MNAME that is no NS
name, an NS outside the zone, and a delegation with glue.  A lookup that
fails refuses the name too, saying how to override; --allow-any-name adds
with a warning."""
import os
import shutil
import socket
import tempfile

import pytest

from fixtures.knot import Knot
from test_gateway import Gateway

ZONE = "example.test"
ZONEFILE = """$ORIGIN example.test.
$TTL 300
@       SOA   primary.example.test. hostmaster.example.test. 1 3600 900 604800 300
@       NS    ns1
@       NS    ns2.example.test.
@       NS    ns.elsewhere.test.
ns1     A     127.0.0.1
ns2     AAAA  ::1
primary A     192.0.2.2
www     A     192.0.2.80
; a delegation inside the zone, with glue
sub     NS    ns.sub
ns.sub  A     192.0.2.53
"""

REFUSED = [
    ("ns1.example.test", "is a nameserver (NS) of zone example.test"),
    ("ns2.example.test", "is a nameserver (NS) of zone example.test"),
    ("primary.example.test", "is the primary nameserver (SOA MNAME) of zone example.test"),
    ("sub.example.test", "lies at or below sub.example.test, a delegation inside zone"),
    ("ns.sub.example.test", "lies at or below sub.example.test, a delegation inside zone"),
    ("a.b.sub.example.test", "lies at or below sub.example.test, a delegation inside zone"),
]
FINE = ["host.example.test", "www.example.test", "ns1.lan.example.test", "nsx.example.test"]


@pytest.fixture
def nsknot():
    base = tempfile.mkdtemp(prefix="dnsward-knot-")
    os.chmod(base, 0o755)
    server = Knot(base, zonefile=ZONEFILE)
    try:
        server.write()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def closed_port():
    """A UDP and TCP port on 127.0.0.1 that nothing listens on (briefly bound
    and released: a query there gets no answer, or an ICMP refusal)."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    u.close()
    return port


def http_provider(g, pki):
    """Adds an HTTP provider (gandi: no nameserver lookup of its own) to the
    gateway's configuration; no request reaches its API in these tests."""
    token = g.ws.secret("gandi-token", "x" * 24)
    with open(g.conf, "a") as f:
        f.write(f"""
[provider g]
type = gandi
base-url = https://127.0.0.1:9
ca-file = {pki.ca_file}
token-file = {token}
timeout = 2
""")


def add(g, name, provider="knot", *extra, check=0):
    return g.cli("host", "add", name, "--provider", provider, *extra, check=check)


def listed(g):
    return [line.split()[0] for line in g.cli("host", "list").stdout.splitlines()
            if line and not line.startswith(" ")]


@pytest.mark.parametrize("provider", ["knot", "g"])
def test_nameserver_names_are_refused(ws, nsknot, pki, provider):
    g = Gateway(ws, nsknot, pki, extra=f"nameservers = 127.0.0.1:{nsknot.port}")
    http_provider(g, pki)
    asked = f"127.0.0.1 port {nsknot.port}"
    for name, why in REFUSED:
        p = add(g, name, provider, check=2)
        assert why in p.stderr and f"as {asked} serves it" in p.stderr, p.stderr
        assert "refused (--allow-any-name overrides this" in p.stderr, p.stderr
        assert p.stdout == ""
        p = add(g, name, provider, "--acme", check=2)
        assert why in p.stderr, p.stderr
    assert listed(g) == []
    for name in FINE:
        p = add(g, name, provider)
        assert p.stdout.startswith("dwg_"), p.stdout
        assert "nameserver" not in p.stderr, p.stderr
    # The documented override: added, with a warning naming what it allows.
    name, why = REFUSED[0]
    p = add(g, name, provider, "--allow-any-name")
    assert why in p.stderr and "added anyway (--allow-any-name)" in p.stderr, p.stderr
    assert sorted(listed(g)) == sorted(FINE + [name])


def test_the_signed_query_is_what_decides_for_rfc2136(ws, nsknot, pki):
    """rfc2136 asks its own server with its key: a key the server does not
    know refuses every name (the lookup failed), even with nameservers set
    to a server that would answer."""
    g = Gateway(ws, nsknot, pki, extra=f"nameservers = 127.0.0.1:{nsknot.port}")
    ws.secret("zone.key", 'key "zone-key" { algorithm hmac-sha256; secret '
              '"4orY654sOAITD+TnpAQ2xwlU3WVFZrZ/1vwjCzMymIQ="; };')
    p = add(g, "host.example.test", check=2)
    assert "cannot tell whether host.example.test is a nameserver name of its zone" in p.stderr
    assert "key 'zone-key'" in p.stderr, p.stderr
    assert "--allow-any-name adds it without this check" in p.stderr, p.stderr
    assert listed(g) == []


@pytest.mark.parametrize("where", ["rfc2136-server", "nameservers", "resolvers"])
def test_a_failed_lookup_refuses(ws, nsknot, pki, where):
    """No answer: refused with a message that says so and how to override;
    with --allow-any-name added, warned."""
    port = closed_port()
    extra = {"rfc2136-server": "", "nameservers": f"nameservers = 127.0.0.1:{port}",
             "resolvers": f"resolvers = 127.0.0.1:{port}"}[where]
    g = Gateway(ws, nsknot, pki, extra=extra,
                provider_port=port if where == "rfc2136-server" else None)
    http_provider(g, pki)
    provider = "knot" if where == "rfc2136-server" else "g"
    p = add(g, "host.example.test", provider, check=2)
    assert "cannot tell whether host.example.test is a nameserver name of its zone" in p.stderr
    assert "refused (--allow-any-name adds it without this check" in p.stderr, p.stderr
    assert p.stdout == "" and listed(g) == []
    p = add(g, "host.example.test", provider, "--allow-any-name")
    assert "cannot tell whether" in p.stderr and "added anyway (--allow-any-name)" in p.stderr
    assert listed(g) == ["host.example.test"]


def test_bad_server_lists_are_configuration_errors(ws, nsknot, pki):
    g = Gateway(ws, nsknot, pki, extra="nameservers = 127.0.0.1:99999")
    p = g.cli("check", check=2)
    assert "nameservers" in p.stderr, p.stderr
