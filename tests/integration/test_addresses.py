"""Real kernel addresses in a network namespace: what "dnsward addr" lists,
which address each record would publish and why the others are rejected,
and what "dnsward update --dry-run" plans from them.

Addresses look global but lie outside documentation ranges (2a01:4f8::/32,
81.2.69.0/24); they exist only inside the test's namespace.  Kernel recipes
for tentative, DAD-failed and temporary addresses are in fixtures/netns.py.
"""
import base64
import re

import pytest

FQDN = "host.example.org"
ADDR_RE = re.compile(
    r"^address (?P<ifname>\S+) (?P<addr>[0-9a-f:.]+)/(?P<plen>\d+) (?P<family>ipv4|ipv6) "
    r"scope=(?P<scope>\S+) flags=(?P<flags>\S+) preferred=(?P<preferred>\d+|forever) "
    r"valid=(?P<valid>\d+|forever) verdict=(?P<verdict>\S+)$")
DEFAULT_RE = re.compile(r"^default (?P<ifname>\S+) (?P<type>A|AAAA) "
                        r"(?:publish (?P<publish>\S+)|(?P<none>no-address))$")
REC_RE = re.compile(
    r"^record (?P<fqdn>\S+) (?P<type>A|AAAA) iface=(?P<iface>\S+) "
    r"(?:publish (?P<publish>\S+)|(?P<none>no-address)|"
    r"reject (?P<addr>[0-9a-f:.]+)/(?P<plen>\d+) (?P<why>\S+) \((?P<text>.+)\))$")


def parse(stdout):
    """Returns (addresses, records): addresses maps (ifname, addr) to the
    fields of its line; records maps (fqdn, type) to {"iface", "publish",
    "rejects": {addr: why}}.  Every line must match one of the formats."""
    addrs, recs = {}, {}
    for line in stdout.splitlines():
        m = ADDR_RE.match(line)
        if m:
            d = m.groupdict()
            d["flags"] = set() if d["flags"] == "none" else set(d["flags"].split(","))
            addrs[(d["ifname"], d["addr"])] = d
            continue
        if DEFAULT_RE.match(line):
            continue                                 # defaults() reads these
        m = REC_RE.match(line)
        assert m, f"unexpected line: {line!r}"
        r = recs.setdefault((m["fqdn"], m["type"]), {"iface": m["iface"], "publish": None,
                                                      "rejects": {}, "none": False})
        if m["publish"]:
            r["publish"] = m["publish"]
        elif m["none"]:
            r["none"] = True
        else:
            r["rejects"][m["addr"]] = m["why"]
    return addrs, recs


def defaults(stdout):
    """The "default IFNAME TYPE ..." lines: (ifname, type) -> address or None."""
    out = {}
    for line in stdout.splitlines():
        m = DEFAULT_RE.match(line)
        if m:
            out[(m["ifname"], m["type"])] = m["publish"]
    return out


def key_file(ws):
    secret = base64.b64encode(bytes(range(32))).decode()
    return ws.secret("k.key", f'key "k" {{ algorithm hmac-sha256; secret "{secret}"; }};')


def config(ws, records):
    return ws.config(f"""[provider p]
type = rfc2136
server = 127.0.0.1
key-file = {key_file(ws)}

{records}""")


def addr_run(ws, ns, *args, conf=None):
    p = ws.run("addr", *args, config=conf, netns=ns.name, check=0)
    assert p.stderr == "" or "error" not in p.stderr, p.stderr
    return parse(p.stdout)


@pytest.fixture
def populated(netns):
    """dw0 with one address of every kind; returns the temporary address."""
    ns = netns
    ns.add("81.2.69.10/24")
    ns.add("81.2.69.20/24")                          # same subnet: IPv4 "secondary"
    ns.add("10.0.0.5/24")
    ns.add("2a01:4f8:1:2::10/64")                    # permanent global
    ns.add("fd12:3456::1/64")                        # ULA
    ns.add("2a01:4f8:1:3::5/64", preferred_lft=0, valid_lft=3600)
    for a in ("2a01:4f8:1:2::10", "fd12:3456::1", "2a01:4f8:1:3::5"):
        ns.wait_dad_done(a)
    ns.wait_addr("2a01:4f8:1:3::5", has=("deprecated",))
    ns.wait(lambda: [a for a in ns.addrs() if a.get("scope") == "link" and not a.get("tentative")],
            "a usable link-local address")
    ns.add_dadfailed("2a01:4f8:1:5::99/64")
    _, temp = ns.add_with_temporary("2a01:4f8:1:4::1/64", preferred_lft=3600, valid_lft=7200)
    ns.add_tentative("2a01:4f8:1:6::7/64")           # last: slows DAD on dw0 from now on
    return temp["local"]


def test_listing_shows_flags_lifetimes_and_default_verdicts(ws, netns, populated):
    temp = populated
    addrs, recs = addr_run(ws, netns)
    assert recs == {}                                # no configuration: no record lines
    dw0 = {a: d for (i, a), d in addrs.items() if i == "dw0"}
    assert ("lo", "127.0.0.1") in addrs and addrs[("lo", "127.0.0.1")]["verdict"] == "loopback"
    assert addrs[("lo", "::1")]["scope"] == "host"

    g4 = dw0["81.2.69.10"]
    assert (g4["family"], g4["plen"], g4["scope"]) == ("ipv4", "24", "global")
    assert g4["flags"] == {"permanent"}
    assert (g4["preferred"], g4["valid"], g4["verdict"]) == ("forever", "forever", "ok")
    assert dw0["81.2.69.20"]["flags"] == {"permanent", "secondary"}
    assert dw0["81.2.69.20"]["verdict"] == "ok"
    assert dw0["10.0.0.5"]["verdict"] == "private"

    assert dw0["2a01:4f8:1:2::10"]["flags"] == {"permanent"}
    assert dw0["2a01:4f8:1:2::10"]["verdict"] == "ok"
    assert dw0["fd12:3456::1"]["verdict"] == "ula"
    ll = [d for a, d in dw0.items() if a.startswith("fe80:")]
    assert len(ll) == 1 and ll[0]["scope"] == "link" and ll[0]["verdict"] == "link-local"

    dep = dw0["2a01:4f8:1:3::5"]
    assert "deprecated" in dep["flags"] and "permanent" not in dep["flags"]
    assert dep["preferred"] == "0" and 0 < int(dep["valid"]) <= 3600
    assert dep["verdict"] == "deprecated"

    assert "dadfailed" in dw0["2a01:4f8:1:5::99"]["flags"]
    assert dw0["2a01:4f8:1:5::99"]["verdict"] == "dad-failed"
    assert "tentative" in dw0["2a01:4f8:1:6::7"]["flags"]
    assert dw0["2a01:4f8:1:6::7"]["verdict"] == "tentative"

    mng = dw0["2a01:4f8:1:4::1"]
    assert "mngtmpaddr" in mng["flags"] and mng["verdict"] == "ok"
    assert 0 < int(mng["preferred"]) <= 3600 and int(mng["preferred"]) <= int(mng["valid"]) <= 7200
    assert "temporary" in dw0[temp]["flags"] and dw0[temp]["verdict"] == "temporary"

    # Sorted: IPv4 before IPv6 on each interface; the filter keeps one interface.
    only, _ = addr_run(ws, netns, "dw1")
    assert {i for i, _ in only} == {"dw1"}
    assert ("dw1", "2a01:4f8:1:5::99") in only        # the copy whose DAD won


def test_publish_choice_and_every_rejection(ws, netns, populated):
    temp = populated
    conf = config(ws, f"""[record {FQDN}]
provider = p
ipv4 = iface:dw0
ipv6 = iface:dw0
""")
    _, recs = addr_run(ws, netns, conf=conf)
    a = recs[(FQDN, "A")]
    assert a["iface"] == "dw0" and a["publish"] == "81.2.69.10" and not a["none"]
    assert a["rejects"] == {"81.2.69.20": "outranked", "10.0.0.5": "private"}

    aaaa = recs[(FQDN, "AAAA")]
    assert aaaa["publish"] == "2a01:4f8:1:2::10"
    rej = dict(aaaa["rejects"])
    ll = [x for x in rej if x.startswith("fe80:")]
    assert len(ll) == 1 and rej.pop(ll[0]) == "link-local"
    assert rej == {
        "fd12:3456::1": "ula",
        "2a01:4f8:1:3::5": "deprecated",
        "2a01:4f8:1:5::99": "dad-failed",
        "2a01:4f8:1:6::7": "tentative",
        "2a01:4f8:1:4::1": "outranked",              # usable, but not permanent
        temp: "temporary",
    }

    p = ws.run("update", "--dry-run", config=conf, netns=netns.name)
    assert f"would-update {FQDN} A 81.2.69.10" in p.stdout.splitlines(), p.stdout + p.stderr
    assert f"would-update {FQDN} AAAA 2a01:4f8:1:2::10" in p.stdout.splitlines(), p.stdout + p.stderr


def test_accept_match_and_prefer_policies(ws, netns, populated):
    temp = populated
    conf = config(ws, """[record ula.example.org]
provider = p
ipv6 = iface:dw0
ipv6-accept = ula,temporary
ipv6-match = fd12:3456::/64

[record temp-high.example.org]
provider = p
ipv6 = iface:dw0
ipv6-accept = temporary
ipv6-match = 2a01:4f8:1:4::/64
ipv6-prefer = highest

[record temp-low.example.org]
provider = p
ipv6 = iface:dw0
ipv6-accept = temporary
ipv6-match = 2a01:4f8:1:4::/64
ipv6-prefer = lowest

[record private.example.org]
provider = p
ipv4 = iface:dw0
ipv4-accept = private
ipv4-prefer = lowest

[record none.example.org]
provider = p
ipv4 = iface:dw1
ipv6 = iface:dw0
ipv6-match = 2a01:4f8:1:6::/64
""")
    _, recs = addr_run(ws, netns, conf=conf)
    ula = recs[("ula.example.org", "AAAA")]
    assert ula["publish"] == "fd12:3456::1"
    assert ula["rejects"]["2a01:4f8:1:2::10"] == "no-match"
    assert ula["rejects"][temp] == "no-match"

    high = recs[("temp-high.example.org", "AAAA")]
    assert high["publish"] == temp                   # random interface id > ::1
    assert high["rejects"]["2a01:4f8:1:4::1"] == "outranked"
    assert high["rejects"]["2a01:4f8:1:2::10"] == "no-match"
    assert high["rejects"]["fd12:3456::1"] == "ula"  # range checked before match
    low = recs[("temp-low.example.org", "AAAA")]
    assert low["publish"] == "2a01:4f8:1:4::1" and low["rejects"][temp] == "outranked"

    priv = recs[("private.example.org", "A")]
    assert priv["publish"] == "10.0.0.5"
    assert priv["rejects"] == {"81.2.69.10": "outranked", "81.2.69.20": "outranked"}

    none4 = recs[("none.example.org", "A")]
    assert none4["none"] and none4["iface"] == "dw1" and none4["rejects"] == {}
    none6 = recs[("none.example.org", "AAAA")]
    assert none6["none"] and none6["rejects"]["2a01:4f8:1:6::7"] == "tentative"
    assert none6["rejects"]["2a01:4f8:1:2::10"] == "no-match"

    # The IFACE argument keeps only dw1 and the records sourced from it.
    addrs, recs1 = addr_run(ws, netns, "dw1", conf=conf)
    assert set(recs1) == {("none.example.org", "A")}

    p = ws.run("update", "--dry-run", config=conf, netns=netns.name)
    lines = p.stdout.splitlines()
    assert "would-update ula.example.org AAAA fd12:3456::1" in lines, p.stdout + p.stderr
    assert f"would-update temp-high.example.org AAAA {temp}" in lines
    assert "would-update temp-low.example.org AAAA 2a01:4f8:1:4::1" in lines
    assert "would-update private.example.org A 10.0.0.5" in lines
    assert any(re.match(r"^no-address none\.example\.org A \(.*dw1.*\)$", x) for x in lines), lines
    # The update names one rejected address (which one follows kernel order).
    assert any(re.match(r"^no-address none\.example\.org AAAA \(.+\)$", x) for x in lines), lines


def test_tentative_without_carrier_then_published(ws, netns):
    """An address added while the link has no carrier stays tentative (DAD
    cannot run); once the peer comes up DAD completes and it is published."""
    ns = netns
    ns.ip("link", "set", ns.peer, "down")
    ns.wait(lambda: "NO-CARRIER" in ns.link(ns.dev)["flags"], "dw0 without carrier")
    ns.add("2a01:4f8:1:7::1/64")
    ns.wait_addr("2a01:4f8:1:7::1", has=("tentative",))
    conf = config(ws, f"""[record {FQDN}]
provider = p
ipv6 = iface:dw0
""")
    _, recs = addr_run(ws, ns, conf=conf)
    r = recs[(FQDN, "AAAA")]
    assert r["none"] and r["rejects"]["2a01:4f8:1:7::1"] == "tentative"
    assert all(why == "link-local" for a, why in r["rejects"].items() if a != "2a01:4f8:1:7::1")
    p = ws.run("update", "--dry-run", config=conf, netns=ns.name)
    assert re.search(rf"^no-address {re.escape(FQDN)} AAAA \(.*tentative.*\)$", p.stdout, re.M), p.stdout

    ns.ip("link", "set", ns.peer, "up")
    ns.wait_dad_done("2a01:4f8:1:7::1")
    _, recs = addr_run(ws, ns, conf=conf)
    assert recs[(FQDN, "AAAA")]["publish"] == "2a01:4f8:1:7::1"
    p = ws.run("update", "--dry-run", config=conf, netns=ns.name)
    assert f"would-update {FQDN} AAAA 2a01:4f8:1:7::1" in p.stdout.splitlines(), p.stdout


def test_deprecating_the_published_address_switches(ws, netns):
    ns = netns
    ns.add("2a01:4f8:1:8::1/64")
    ns.add("2a01:4f8:1:8::2/64", preferred_lft=1800, valid_lft=3600)
    ns.wait_dad_done("2a01:4f8:1:8::1")
    ns.wait_dad_done("2a01:4f8:1:8::2")
    conf = config(ws, f"""[record {FQDN}]
provider = p
ipv6 = iface:dw0
""")
    _, recs = addr_run(ws, ns, conf=conf)
    assert recs[(FQDN, "AAAA")]["publish"] == "2a01:4f8:1:8::1"      # permanent first
    ns.ip("addr", "change", "2a01:4f8:1:8::1/64", "dev", ns.dev, "preferred_lft", "0",
          "valid_lft", "600")
    ns.wait_addr("2a01:4f8:1:8::1", has=("deprecated",))
    _, recs = addr_run(ws, ns, conf=conf)
    r = recs[(FQDN, "AAAA")]
    assert r["publish"] == "2a01:4f8:1:8::2"
    assert r["rejects"]["2a01:4f8:1:8::1"] == "deprecated"


def test_unknown_interface_and_usage(ws, netns):
    p = ws.run("addr", "nosuchif0", netns=netns.name, check=2)
    assert "nosuchif0" in p.stderr and p.stdout == ""
    p = ws.run("addr", "dw0", "dw1", netns=netns.name, check=2)
    assert "usage" in p.stderr


def test_without_configuration_says_what_the_default_policy_publishes(ws, netns, populated):
    """The README promises that `dnsward addr IFACE` shows which address
    would be chosen; without a configuration that is the default policy."""
    p = ws.run("addr", "dw0", netns=netns.name, check=0)
    d = defaults(p.stdout)
    assert d == {("dw0", "A"): "81.2.69.10", ("dw0", "AAAA"): "2a01:4f8:1:2::10"}, p.stdout
    # Every interface listed gets its lines, the loopback one no address.
    d = defaults(ws.run("addr", netns=netns.name, check=0).stdout)
    assert d[("lo", "A")] is None and d[("lo", "AAAA")] is None
    assert d[("dw0", "A")] == "81.2.69.10"
    assert ("dw1", "AAAA") in d
    # With a configuration the record lines say it instead.
    conf = config(ws, f"""[record {FQDN}]
provider = p
ipv4 = iface:dw0
""")
    assert defaults(ws.run("addr", "dw0", config=conf, netns=netns.name, check=0).stdout) == {}


def test_special_purpose_ranges_on_an_interface(ws, netns):
    """Each special-purpose range gets its own verdict from the kernel's
    own addresses; private does not lift DS-Lite or CGN."""
    ns = netns
    for a in ("192.0.0.2/29", "100.64.1.2/10", "198.18.0.5/15", "10.0.0.5/24"):
        ns.add(a)
    for a in ("2002:a00:1::1/64", "2002:5102:450a::1/64", "64:ff9b::1/96"):
        ns.add(a, flags=("nodad",))
    conf = config(ws, f"""[record {FQDN}]
provider = p
ipv4 = iface:dw0
ipv6 = iface:dw0
ipv4-accept = private
""")
    p = ws.run("addr", "dw0", config=conf, netns=ns.name, check=0)
    addrs, recs = parse(p.stdout)
    verdicts = {a: d["verdict"] for (i, a), d in addrs.items() if i == "dw0"}
    assert verdicts["192.0.0.2"] == "ds-lite"
    assert verdicts["100.64.1.2"] == "cgn"
    assert verdicts["198.18.0.5"] == "benchmarking"
    assert verdicts["2002:a00:1::1"] == "wrapped"       # 6to4 around 10.0.0.1
    assert verdicts["2002:5102:450a::1"] == "6to4"
    assert verdicts["64:ff9b::1"] == "nat64"
    a = recs[(FQDN, "A")]
    assert a["publish"] == "10.0.0.5", a             # private, and only that, lifted
    assert a["rejects"]["192.0.0.2"] == "ds-lite" and a["rejects"]["100.64.1.2"] == "cgn"
    # The explanation is the registry row, with the wrapped IPv4 for 6to4.
    assert re.search(r"reject 192\.0\.0\.2/29 ds-lite \(DS-Lite B4 address \(192\.0\.0\.0/29, "
                     r"RFC 6333", p.stdout), p.stdout
    assert re.search(r"reject 2002:a00:1::1/64 wrapped \(6to4 \(2002::/16, RFC 3056\) whose 6to4 "
                     r"gateway is 10\.0\.0\.1: private-use", p.stdout), p.stdout
