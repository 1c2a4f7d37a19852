"""ACME scope (issue 10, fault 3): the _acme-challenge name of X also
validates *.X, so ACME rights for X must never cover another configured
host.  "host add" keeps names strictly inside [gateway] zones, refuses the
apex and labels starting with '_' (unless --allow-any-name, warned), and
never lets an ACME host have another host below it; every ACME request
checks that last rule again (for databases made before it).  The end-to-end
proof is lego httpreq against pebble: a certificate one host's token gets
is checked with `openssl verify -verify_hostname` against every other
configured host."""
import os
import subprocess

import pytest

from test_gateway import Gateway, HOST, OTHER, ACME_HOST, TXT1
from test_gateway_clients import lego, need, pebble  # noqa: F401 (pebble is a fixture)

ZONE = "example.test"


# Both store backends (conftest.py's gw_backend).
pytestmark = pytest.mark.usefixtures("gw_backend")


@pytest.fixture
def gwc(ws, knot, pki, gw_backend):
    return Gateway(ws, knot, pki)


def add(g, fqdn, *args, check=0):
    p = g.cli("host", "add", fqdn, "--provider", "knot", *args, check=check)
    if p.returncode == 0:
        g.tokens[fqdn] = p.stdout.strip()
    return p


@pytest.mark.parametrize("name,why", [
    (ZONE, "is the apex of zone example.test"),
    ("host.elsewhere.test", "is outside the zones"),
    ("example.test.evil.test", "is outside the zones"),
    ("test", "is outside the zones"),
    (f"_acme-challenge.{OTHER}", "label starting with '_'"),
    (f"_dmarc.{ZONE}", "label starting with '_'"),
    ("a._tcp.example.test", "label starting with '_'"),
])
def test_host_add_refuses_names_a_token_should_not_own(gwc, name, why):
    for extra in ([], ["--acme"]):
        p = add(gwc, name, *extra, check=2)
        assert why in p.stderr and "--allow-any-name" in p.stderr, p.stderr
        assert p.stdout == ""
    # The documented override: added, with a warning saying what it allows.
    p = add(gwc, name, "--allow-any-name")
    assert why in p.stderr and "added anyway (--allow-any-name)" in p.stderr
    assert name in gwc.cli("host", "list").stdout


def test_host_add_without_zones_refuses(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="zones =")
    p = add(g, HOST, check=2)
    assert "none set" in p.stderr


@pytest.mark.parametrize("first,second", [
    ((HOST, "--acme"), (f"www.{HOST}",)),               # a host below an ACME host
    ((HOST, "--acme"), (f"a.b.{HOST}", "--acme")),
    ((f"www.{HOST}",), (HOST, "--acme")),               # an ACME host above a host
    ((f"x.y.{HOST}",), (HOST, "--acme")),
])
def test_no_acme_host_above_another_host(gwc, first, second):
    add(gwc, *first)
    for extra in ([], ["--allow-any-name"]):   # no option lifts this rule
        p = add(gwc, *second, *extra, check=2)
        assert "refused" in p.stderr and "would cover" in p.stderr, p.stderr
    listed = [l.split()[0] for l in gwc.cli("host", "list").stdout.splitlines()
              if not l.startswith(" ")]
    assert listed == [first[0]]


def test_siblings_and_non_acme_parents_are_fine(gwc):
    add(gwc, HOST, "--acme")
    add(gwc, OTHER, "--acme")
    add(gwc, f"lan.{ZONE}")
    add(gwc, f"pc.lan.{ZONE}", "--acme")   # below a host that has no ACME rights
    assert len(gwc.cli("host", "list").stdout.splitlines()) >= 4


def insert_host_below(g, fqdn):
    """What a database from before the rule may hold (either backend)."""
    g.sql("INSERT INTO hosts (fqdn, provider, acme, created) VALUES (?, 'knot', 0, 1)", (fqdn,))


def test_acme_request_refused_while_a_host_is_below(gwc, knot):
    add(gwc, HOST, "--acme")
    insert_host_below(gwc, f"www.{HOST}")
    gwc.start()
    try:
        s, _, body = gwc.acmedns({"subdomain": HOST, "txt": TXT1})
        assert s == 401 and "forbidden" in body
        s, _, _ = gwc.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT1})
        assert s == 403
        assert knot.query(ACME_HOST, "TXT") == []
        assert f"www.{HOST} is a host below it" in gwc.log()
        # Its address updates are not affected.
        s, _, body = gwc.nic(f"hostname={HOST}&myip=81.2.69.160")
        assert body == "good 81.2.69.160\n"
    finally:
        gwc.stop()


def openssl_verify(crt, root, name):
    """True when the certificate (lego's bundle: leaf, then issuer) is valid
    for name under pebble's root."""
    pems = crt.read_text().split("-----END CERTIFICATE-----")
    leaf = crt.with_suffix(".leaf.pem")
    chain = crt.with_suffix(".chain.pem")
    leaf.write_text(pems[0] + "-----END CERTIFICATE-----\n")
    chain.write_text("-----END CERTIFICATE-----".join(pems[1:]).strip() + "\n")
    p = subprocess.run(["openssl", "verify", "-CAfile", str(root), "-untrusted", str(chain),
                        "-verify_hostname", name, str(leaf)], capture_output=True, text=True,
                       timeout=30)
    return p.returncode == 0, p.stdout + p.stderr


def httpreq_env(g, user):
    return {"HTTPREQ_ENDPOINT": g.url, "HTTPREQ_USERNAME": user,
            "HTTPREQ_PASSWORD": g.tokens[user], "HTTPREQ_POLLING_INTERVAL": "1",
            "HTTPREQ_PROPAGATION_TIMEOUT": "20"}


def test_a_token_never_certifies_another_configured_host(ws, knot, pki, pebble):  # noqa: F811
    need("lego")
    g = Gateway(ws, knot, pki)
    add(g, HOST, "--acme")
    add(g, OTHER, "--acme")
    add(g, f"lan.{ZONE}")
    add(g, f"pc.lan.{ZONE}")
    # The apex with ACME rights (its name validates *.example.test) cannot
    # be added while hosts exist below it, not even with the override.
    assert "would cover" in add(g, ZONE, "--acme", "--allow-any-name", check=2).stderr
    hosts = [HOST, OTHER, f"lan.{ZONE}", f"pc.lan.{ZONE}"]
    g.start()
    try:
        # The most a token can get: its own name and the wildcard below it.
        p, d = lego(ws, knot, pebble, pki, "lego-host", "httpreq", httpreq_env(g, HOST),
                    [HOST, f"*.{HOST}"])
        assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:] + g.log()[-2000:]
        crt = d / "certificates" / f"{HOST}.crt"
        root = ws.path / "pebble-root.pem"   # written by lego_env
        ok, out = openssl_verify(crt, root, HOST)
        assert ok, out
        for other in hosts[1:]:
            ok, out = openssl_verify(crt, root, other)
            assert not ok and "hostname mismatch" in out, (other, out)
        # Names of other hosts (and names below them) are refused.
        for i, names in enumerate([[OTHER], [f"*.{ZONE}"], [f"*.lan.{ZONE}"], [ZONE]]):
            p, d = lego(ws, knot, pebble, pki, f"lego-bad{i}", "httpreq", httpreq_env(g, HOST),
                        names)
            assert p.returncode != 0, names
            assert not any((d / "certificates").glob("*.crt")) if (d / "certificates").exists() \
                else True
    finally:
        g.stop()
    # A database from before the rule: a host below the ACME host.  Then
    # even the host's own name is refused, since its wildcard would cover
    # that host.
    insert_host_below(g, f"www.{HOST}")
    g.start()
    try:
        p, d = lego(ws, knot, pebble, pki, "lego-below", "httpreq", httpreq_env(g, HOST),
                    [HOST, f"*.{HOST}"])
        assert p.returncode != 0
        assert not (d / "certificates" / f"{HOST}.crt").exists()
        assert knot.query(ACME_HOST, "TXT") == []
    finally:
        g.stop()
    assert os.path.exists(root)
