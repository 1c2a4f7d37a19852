"""A DS-Lite host: `ipv4 = iface:wan0` on an interface whose only IPv4
address is the B4 address 192.0.0.2 (RFC 6333), beside a global IPv6
address, publishing to a real Knot DNS inside the same network namespace.

Such a host has no public IPv4 address of its own, on this run or any
later one: the message says so and what to set (ipv4 = off, or web), and
while the other family is published the run exits 0, so a systemd timer
unit does not end up failed every five minutes.  With nothing else
published it stays a failure (exit 1).
"""
import re

from test_daemon import NetnsKnot, knot_config, nsknot  # noqa: F401  (fixture)

HOST = "host.example.test"
V6 = "2a01:4f8:1:2::10"


def dslite(ns):
    ns.add("192.0.0.2/29")
    ns.add(f"{V6}/64", flags=("nodad",))


def test_dslite_only_ipv4_is_expected_not_a_failure(ws, netns, nsknot):
    dslite(netns)
    cfg = knot_config(ws, nsknot)
    p = ws.run("update", config=cfg, netns=netns.name)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    lines = p.stdout.splitlines()
    assert f"updated {HOST} AAAA {V6}" in lines, out
    (na,) = [l for l in lines if l.startswith(f"no-address {HOST} A ")]
    assert "no public IPv4 address on dw0: it has only the DS-Lite address 192.0.0.2" in na, na
    assert "set ipv4 = off, or ipv4 = web" in na, na
    # A notice, not a warning or an error.
    assert re.search(r": notice: .*no public IPv4 address on dw0.*AAAA published", p.stderr), p.stderr
    assert ": warning: " not in p.stderr and ": error: " not in p.stderr, p.stderr
    assert nsknot.query(HOST, "AAAA") == [V6]
    # The next timer run: the same, still 0, nothing sent.
    p = ws.run("update", config=cfg, netns=netns.name, check=0)
    assert f"unchanged {HOST} AAAA {V6}" in p.stdout.splitlines(), p.stdout
    # And status says why there is no A record.
    st = ws.run("status", config=cfg, netns=netns.name, check=0).stdout
    line = next(l for l in st.splitlines() if l.startswith(f"{HOST} A "))
    assert "last=no-address" in line and "DS-Lite" in line, st


def test_dslite_without_another_family_published_fails(ws, netns, nsknot):
    dslite(netns)
    cfg = knot_config(ws, nsknot, ipv6="off")
    p = ws.run("update", config=cfg, netns=netns.name, check=1)
    assert "no public IPv4 address on dw0" in p.stdout and ": warning: " in p.stderr


def test_private_accept_does_not_publish_dslite(ws, netns, nsknot):
    """ipv4-accept = private used to take 192.0.0.0/24 for private."""
    dslite(netns)
    cfg = knot_config(ws, nsknot, record_extra="ipv4-accept = private")
    p = ws.run("update", config=cfg, netns=netns.name, check=0)
    assert any(l.startswith(f"no-address {HOST} A (no public IPv4") for l in p.stdout.splitlines())
    assert nsknot.query(HOST, "A") == []


def test_cgn_only_ipv4_names_the_nat(ws, netns, nsknot):
    netns.add("100.64.7.9/10")
    netns.add(f"{V6}/64", flags=("nodad",))
    cfg = knot_config(ws, nsknot)
    p = ws.run("update", config=cfg, netns=netns.name, check=0)
    assert "only the carrier-grade NAT address 100.64.7.9" in p.stdout, p.stdout
