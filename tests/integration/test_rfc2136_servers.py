"""dnsward update and dnsward acme against Knot, BIND and PowerDNS.

One table of cases, run against each of the three real servers
(fixtures/authservers.py), each set up with the configuration that
docs/providers/rfc2136.md shows: host-key may change host.example.org's
A/AAAA and _acme-challenge.host.example.org's TXT, nothing else.  A refusal
looks different on each: Knot answers NOTAUTH with TSIG BADKEY, BIND
REFUSED, and PowerDNS's lua-dnsupdate-policy-script drops the record while
answering a signed NOERROR; dnsward must report each as a refusal (exit 3)
because it confirms every UPDATE with a signed query.
"""
import pathlib
import re

import pytest

from emulators.dnshold import HoldingRelay
from fixtures.authservers import ACME, ACME_OTHER, EXAMPLES, HOST, OTHER, OTHER_V4, ROOT
from test_daemon import daemons, stays, wait_for  # noqa: F401  (fixture)

V4 = "81.2.69.160"
V4_NEW = "81.2.69.161"
V6 = "2a01:4f8:1:2::3"
# dns-01 values: base64url of 32 bytes
V1 = "A" * 42 + "E"
V2 = "B" * 42 + "Q"
FOREIGN = "written-by-another-client"

# How each server refuses, as dnsward reports it (stderr fragments).
REFUSAL = {
    "knot": ["server refused", "NOTAUTH (TSIG BADKEY)"],
    "bind": ["server refused", "REFUSED"],
    "powerdns": ["refused the", "answered NOERROR but does not serve",
                 "lua-dnsupdate-policy-script"],
}
WRONG_SECRET = {
    "knot": ["BADSIG", "does not match"],
    "bind": ["BADSIG", "does not match"],
    "powerdns": ["NOTAUTH, unsigned", "does not know the key"],
}
UNKNOWN_KEY = {
    "knot": ["BADKEY"],
    "bind": ["BADKEY"],
    "powerdns": ["NOTAUTH, unsigned", "does not know the key"],
}


def key_text(srv, which):
    k = srv.host_key
    if which == "host":
        return k.keymgr_text
    if which == "wrong-secret":
        return k.keymgr_text.replace(k.secret, srv.stranger_key.secret)
    if which == "unknown":
        return srv.stranger_key.keymgr_text
    raise ValueError(which)


def update_config(ws, srv, name=HOST, v4=V4, v6=V6, key="host", extra=""):
    kf = ws.secret("dnsward.key", key_text(srv, key))
    return ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {srv.port}
key-file = {kf}
confirm-timeout = 1
{extra}

[record {name}]
provider = own
ipv4 = static:{v4}
ipv6 = {'static:' + v6 if v6 else 'off'}
ttl = 60
""")


def acme_config(ws, srv, key="host"):
    kf = ws.secret("dnsward.key", key_text(srv, key))
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
acme-nameservers = 127.0.0.1:{srv.port}
acme-propagation-timeout = 10
acme-poll-interval = 1

[provider own]
type = rfc2136
server = 127.0.0.1
port = {srv.port}
key-file = {kf}
confirm-timeout = 1
acme-zones = example.org
""")


def assert_all_in(fragments, text):
    for f in fragments:
        assert f in text, f"{f!r} not in:\n{text}"


# ------------------------------------------------------------------- update

def test_accept(ws, authserver):
    srv = authserver
    p = ws.run("update", config=update_config(ws, srv), check=0)
    assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
    assert f"updated {HOST} AAAA {V6}" in p.stdout.splitlines()
    assert srv.query(HOST, "A") == [V4]
    assert srv.query(HOST, "AAAA") == [V6]
    assert srv.ttl(HOST, "A") == 60
    assert srv.query(OTHER, "A") == [OTHER_V4]


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_published_records_survive_a_server_restart(ws, authserver, kill):
    """What an UPDATE added is served after the server restarts, even after
    a crash (each fixture keeps dynamic changes the way its server does)."""
    srv = authserver
    cfg = update_config(ws, srv)
    ws.run("update", config=cfg, check=0)
    srv.restart(kill=kill)
    assert srv.query(HOST, "A") == [V4]
    assert srv.query(HOST, "AAAA") == [V6]
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()
    assert f"unchanged {HOST} AAAA {V6}" in p.stdout.splitlines()


def test_refused_by_policy(ws, authserver):
    """A name the key may not change: refused, whatever the server's way."""
    srv = authserver
    cfg = update_config(ws, srv, name=OTHER, v6=None)
    p = ws.run("update", config=cfg, check=3)
    assert f"failed {OTHER} A {V4} fatal" in p.stdout.splitlines()
    assert f"updated {OTHER}" not in p.stdout
    assert_all_in(REFUSAL[srv.kind], p.stderr)
    assert srv.query(OTHER, "A") == [OTHER_V4]
    # nothing was recorded as published: the next run tries again, and fails again
    p = ws.run("update", config=cfg, check=3)
    assert f"failed {OTHER} A {V4} fatal" in p.stdout.splitlines()


def test_refused_message_names_the_fix(ws, powerdns):
    """The silent drop with the default confirm-timeout: the message says what
    happened, what the server serves instead and which setting to change."""
    srv = powerdns
    cfg = update_config(ws, srv, name=OTHER, v6=None)
    text = pathlib.Path(cfg).read_text().replace("confirm-timeout = 1\n", "")
    pathlib.Path(cfg).write_text(text)
    p = ws.run("update", config=cfg, check=3)
    assert (f"answered NOERROR but does not serve A {V4} after 5 s; its update policy "
            f"dropped it") in p.stderr
    assert "allow key 'host-key' this change, or raise confirm-timeout" in p.stderr
    assert f"it serves A {OTHER_V4} TTL 300" in p.stderr


@pytest.mark.parametrize("which,expect", [("wrong-secret", WRONG_SECRET),
                                          ("unknown", UNKNOWN_KEY)])
def test_bad_key(ws, authserver, which, expect):
    srv = authserver
    p = ws.run("update", config=update_config(ws, srv, key=which, v6=None), check=3)
    assert_all_in(expect[srv.kind], p.stderr)
    assert srv.query(HOST, "A") == []


def test_noop_sends_nothing(ws, authserver):
    srv = authserver
    cfg = update_config(ws, srv)
    ws.run("update", config=cfg, check=0)
    serial, updates = srv.serial(), srv.update_count()
    # unchanged: the state says so, nothing is asked or sent
    p = ws.run("update", config=cfg, check=0)
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()
    # forced: the signed query finds the record as it should be
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()
    assert f"unchanged {HOST} AAAA {V6}" in p.stdout.splitlines()
    assert srv.update_count() == updates
    assert srv.serial() == serial


def test_value_change(ws, authserver):
    srv = authserver
    ws.run("update", config=update_config(ws, srv, v6=None), check=0)
    serial = srv.serial()
    p = ws.run("update", config=update_config(ws, srv, v4=V4_NEW, v6=None), check=0)
    assert f"updated {HOST} A {V4_NEW}" in p.stdout.splitlines()
    assert srv.query(HOST, "A") == [V4_NEW]
    # one UPDATE, one serial step (PowerDNS: SOA-EDIT-DNSUPDATE INCREASE)
    assert srv.serial() == serial + 1


# 7 YXRRSET, 8 NXRRSET: an UPDATE whose prerequisite no longer holds
PREREQ_FAILED = (7, 8)


def relayed_config(ws, srv, relay, v4):
    """update_config() with the messages going through relay, and a
    provider timeout of 3 s: dns.c sends an UPDATE again after a third of
    it when no reply came (and a loaded machine still answers the second
    copy within the rest)."""
    cfg = update_config(ws, srv, v4=v4, v6=None, extra="timeout = 3")
    path = pathlib.Path(cfg)
    path.write_text(path.read_text().replace(f"port = {srv.port}\n", f"port = {relay.port}\n"))
    return cfg


def test_a_late_copy_of_an_older_update_changes_nothing(ws, authserver):
    """The first copy of the UPDATE for V4 is held in the network past the
    timeout; the copy sent again is applied; V4_NEW is sent and applied;
    then the held copy of V4 arrives.  Every server would apply it (its
    TSIG is still in time) and serve the older address while dnsward
    recorded the newer one; the prerequisite each UPDATE carries (the
    RRset as seen before it) makes the late copy fail instead."""
    srv = authserver
    relay = HoldingRelay(srv.port)
    try:
        with relay.lock:
            relay.hold = 1
        p = ws.run("update", config=relayed_config(ws, srv, relay, V4), check=0)
        assert relay.held_count() == 1, "the first UPDATE was not held"
        assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
        p = ws.run("update", config=relayed_config(ws, srv, relay, V4_NEW), check=0)
        assert f"updated {HOST} A {V4_NEW}" in p.stdout.splitlines()
        serial = srv.serial()
        assert relay.release() in ([7], [8]), "the late copy was not refused"
        assert srv.query(HOST, "A") == [V4_NEW]
        assert srv.serial() == serial
    finally:
        relay.close()


def test_a_resent_update_that_was_applied_is_reported_done(ws, authserver):
    """The reply to the first copy of the UPDATE is lost; the copy sent
    again finds its prerequisite gone (the first copy changed the RRset)
    and is refused.  dnsward looks again, finds the address served and
    reports the update, exit 0."""
    srv = authserver
    relay = HoldingRelay(srv.port)
    try:
        with relay.lock:
            relay.swallow = 1
        p = ws.run("-d", "update", config=relayed_config(ws, srv, relay, V4), check=0)
        assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
        assert "an earlier copy of it was applied" in p.stderr, p.stderr
        with relay.lock:
            rcodes = sorted(relay.update_rcodes)
        assert rcodes[0] == 0 and len(rcodes) == 2 and rcodes[1] in PREREQ_FAILED, rcodes
        assert srv.query(HOST, "A") == [V4]
    finally:
        relay.close()


def test_a_name_answered_by_a_wildcard_is_updated(ws, authserver):
    """With *.example.org in the zone the look before the UPDATE sees the
    wildcard's A record at host.example.org, but an UPDATE's prerequisite
    sees only the name's own records (none): the first UPDATE is refused
    (NXRRSET) and the one sent next says "no A RRset", which holds."""
    srv = authserver
    wild = "192.0.2.50"
    r = srv.nsupdate(f"update add *.example.org. 60 A {wild}")
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        srv.wait_served(HOST, "A", [wild])
        p = ws.run("-d", "update", config=update_config(ws, srv, v6=None), check=0)
        assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
        assert "a wildcard's answer" in p.stderr, p.stderr
        assert srv.query(HOST, "A") == [V4]
        assert srv.query("elsewhere.example.org", "A") == [wild]
    finally:
        r = srv.nsupdate("update delete *.example.org. A")
        assert r.returncode == 0, r.stdout + r.stderr
        srv.wait_served("elsewhere.example.org", "A", [])


def test_changed_behind_our_back_force_repairs(ws, authserver):
    srv = authserver
    cfg = update_config(ws, srv, v6=None)
    ws.run("update", config=cfg, check=0)
    r = srv.nsupdate(f"update delete {HOST}. A\nupdate add {HOST}. 60 A 192.0.2.7")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.wait_served(HOST, "A", ["192.0.2.7"])
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
    assert srv.query(HOST, "A") == [V4]


def test_daemon_parks_a_refused_record(ws, authserver, daemons):
    """dnsward run: the refusal parks the record (no retries), the
    published one is in sync; the message is logged."""
    srv = authserver
    kf = ws.secret("dnsward.key", key_text(srv, "host"))
    cfg = ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {srv.port}
key-file = {kf}
confirm-timeout = 1

[record {HOST}]
provider = own
ipv4 = static:{V4}
ipv6 = off

[record {OTHER}]
provider = own
ipv4 = static:{V4}
ipv6 = off
""")
    d = daemons(ws, cfg)
    wait_for(lambda: (d.fam(OTHER, "A") or {}).get("state") == "parked", "parked", timeout=20)
    wait_for(lambda: (d.fam(HOST, "A") or {}).get("state") == "in-sync", "in sync", timeout=20)
    assert_all_in(REFUSAL[srv.kind], d.text())
    assert srv.query(HOST, "A") == [V4]
    assert srv.query(OTHER, "A") == [OTHER_V4]
    updates = srv.update_count()
    stays(lambda: srv.update_count() == updates, "a parked record was retried", 2)


# --------------------------------------------------------------------- acme

def test_acme_several_values_keep_others(ws, authserver):
    srv = authserver
    # another client's value at the same name must survive everything
    r = srv.nsupdate(f'update add {ACME}. 60 TXT "{FOREIGN}"')
    assert r.returncode == 0, r.stdout + r.stderr
    srv.wait_served(ACME, "TXT", [f'"{FOREIGN}"'])
    cfg = acme_config(ws, srv)
    ws.run("acme", "present", ACME + ".", V1, config=cfg, check=0)
    assert srv.txt() == sorted([FOREIGN, V1])
    ws.run("acme", "present", ACME + ".", V2, config=cfg, check=0)
    assert srv.txt() == sorted([FOREIGN, V1, V2])
    ws.run("acme", "cleanup", ACME + ".", V1, config=cfg, check=0)
    assert srv.txt() == sorted([FOREIGN, V2])
    ws.run("acme", "cleanup", ACME + ".", V2, config=cfg, check=0)
    assert srv.txt() == [FOREIGN]
    # removing an absent value succeeds, and sends nothing
    updates = srv.update_count()
    ws.run("acme", "cleanup", ACME + ".", V2, config=cfg, check=0)
    assert srv.update_count() == updates


def test_acme_present_twice_sends_once(ws, authserver):
    srv = authserver
    cfg = acme_config(ws, srv)
    ws.run("acme", "present", ACME, V1, config=cfg, check=0)
    updates, serial = srv.update_count(), srv.serial()
    p = ws.run("-v", "acme", "present", ACME, V1, config=cfg, check=0)
    assert "already holds the value" in p.stderr
    assert srv.update_count() == updates
    assert srv.serial() == serial
    assert srv.txt() == [V1]


def test_acme_refused_by_policy(ws, authserver):
    """Says the server refused, not that propagation timed out."""
    srv = authserver
    cfg = acme_config(ws, srv)
    p = ws.run("acme", "present", ACME_OTHER, V1, config=cfg, check=3)
    assert_all_in(REFUSAL[srv.kind], p.stderr)
    assert "acme-propagation-timeout" not in p.stderr
    assert "still lack" not in p.stderr
    assert srv.txt(ACME_OTHER) == []
    assert not (ws.state_dir / "acme-pending").exists()


@pytest.mark.parametrize("which,expect", [("wrong-secret", WRONG_SECRET),
                                          ("unknown", UNKNOWN_KEY)])
def test_acme_bad_key(ws, authserver, which, expect):
    srv = authserver
    p = ws.run("acme", "present", ACME, V1, config=acme_config(ws, srv, key=which), check=3)
    assert_all_in(expect[srv.kind], p.stderr)
    assert srv.txt() == []


# ------------------------------------------------ the documentation's claims

def test_docs_quote_the_tested_configuration():
    """Every block marked "example: FILE" in rfc2136.md is that file, and
    every file the servers here are built from is quoted."""
    doc = (ROOT / "docs" / "providers" / "rfc2136.md").read_text()
    quoted = re.findall(r"<!-- example: (\S+) -->\n```[a-z]*\n(.*?)```\n", doc, re.S)
    assert quoted, "no marked examples in rfc2136.md"
    for path, text in quoted:
        assert text == (ROOT / path).read_text(), f"rfc2136.md's quote of {path} differs"
    files = {f"examples/rfc2136/{p.name}" for p in EXAMPLES.iterdir()}
    assert files == {path for path, _ in quoted}


def test_powerdns_policy_script_alone_decides(ws, powerdns):
    """With the Lua script, neither allow-dnsupdate-from (set to exclude
    127.0.0.1 by the fixture) nor TSIG-ALLOW-DNSUPDATE (host-key only) is
    consulted: the admin key, which the script allows, changes the zone from
    127.0.0.1; unsigned updates are refused by the script."""
    srv = powerdns
    r = srv.nsupdate(f"update add {HOST}. 60 A 192.0.2.5")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.wait_served(HOST, "A", ["192.0.2.5"])
    r = srv.nsupdate(f"update delete {HOST}. A\nupdate add {HOST}. 60 A 192.0.2.6", key=False)
    assert "NOERROR" in r.stdout + r.stderr or r.returncode == 0, r.stdout + r.stderr
    # PowerDNS applies an UPDATE before it answers: what it serves now is final
    assert srv.query(HOST, "A") == ["192.0.2.5"]


def test_powerdns_zonewide(ws, pdns_zonewide):
    """Without the script: TSIG-ALLOW-DNSUPDATE lets host-key change any name
    of the zone and refuses unsigned updates; a zone without that metadata
    takes UNSIGNED updates from allow-dnsupdate-from."""
    srv = pdns_zonewide
    p = ws.run("update", config=update_config(ws, srv, name=OTHER, v6=None), check=0)
    assert f"updated {OTHER} A {V4}" in p.stdout.splitlines()
    assert srv.query(OTHER, "A") == [V4]
    r = srv.nsupdate(f"update delete {OTHER}. A\nupdate add {OTHER}. 60 A 192.0.2.5", key=False)
    assert "REFUSED" in r.stdout + r.stderr
    assert srv.query(OTHER, "A") == [V4]
    r = srv.nsupdate("update delete other.example.net. A\n"
                     "update add other.example.net. 60 A 192.0.2.5", key=False, zone="example.net")
    assert r.returncode == 0, r.stdout + r.stderr
    srv.wait_served("other.example.net", "A", ["192.0.2.5"])
