"""dnsward-gateway's upstream queue against a real Knot DNS: backoff per
record set, refusals for good that end a row (and reach the host as a code
its client stops on), cleanup of a value that was never published.

A gateway holding the "host" key (Knot lets it update host.example.test's
own A/AAAA/TXT only) meets real refusals: Knot answers REFUSED for
_acme-challenge.host.example.test and for other.example.test.  Real clients
(inadyn, ddclient, dnsward's gateway provider) show what the host sees."""
import json
import re
import socket

import pytest

from emulators.dnshold import HoldingRelay
from test_gateway import (ACME_HOST, HOST, OTHER, TXT1, TXT2, V4, V4B, V6, Gateway,
                          wait_for)
from test_gateway_clients import ddclient_run, dnsward_config, inadyn_run
from test_daemon import daemons  # noqa: F401  (fixture)
from test_gateway_store import metric

OTHER_A = ["192.0.2.99"]   # from the zone file

pytestmark = pytest.mark.usefixtures("gw_backend")   # both store backends


@pytest.fixture
def restricted(ws, knot, pki, gw_backend):
    """A gateway whose provider key may change host.example.test only;
    retry-max 3600 (so a refusal's cool-down is the full 5 minutes)."""
    g = Gateway(ws, knot, pki, extra="retry-max = 3600")
    (ws.path / "zone.key").write_text(knot.keys["host"].keymgr_text + "\n")
    g.add(HOST, "--acme")
    g.add(OTHER, "--acme")
    g.start()
    try:
        yield g
    finally:
        g.stop()


def audit_lines(g, host, *words):
    out = g.cli("audit", "--host", host, "--limit", "1000").stdout
    return [line for line in out.splitlines() if all(w in line for w in words)]


def test_refused_value_ends_failed_and_holds_back_nothing(restricted, knot):
    g = restricted
    s, _, body = g.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT1})
    assert s == 424, (s, body, g.log()[-2000:])
    assert body.startswith("upstream refused:") and "operator" in body
    assert knot.query(ACME_HOST, "TXT") == []
    # The same host's next AAAA is not held back by the refused TXT.
    s, _, body = g.nic(f"hostname={HOST}&myipv6={V6}")
    assert (s, body) == (200, f"good {V6}\n"), g.log()[-2000:]
    assert knot.query(HOST, "AAAA") == [V6]
    # Ended as failed: shown, counted, audited; nothing left to retry.
    listing = g.cli("host", "list").stdout
    assert re.search(rf"  TXT {TXT1} FAILED \(refused for good by the provider after 1 "
                     r"attempt\(s\): .*(REFUSED|NOTAUTH)", listing), listing
    assert metric(g, "dnsward_gateway_records_refused_total") == 1
    assert metric(g, "dnsward_gateway_records_failed") == 1
    assert metric(g, "dnsward_gateway_retry_queue_depth") == 0
    assert len(audit_lines(g, HOST, "upstream-TXT-add", "result=refused")) == 1
    assert "refused for good" in g.log()
    # The same request during the cool-down: refused again without a call
    # to the provider.
    calls = metric(g, "dnsward_gateway_upstream_seconds_count")
    s, _, body = g.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT1})
    assert s == 424
    assert metric(g, "dnsward_gateway_upstream_seconds_count") == calls
    # acme-dns: a 4xx naming the cause too.
    s, _, body = g.acmedns({"subdomain": HOST, "txt": TXT2})
    doc = json.loads(body)
    assert s == 424 and doc["error"] == "upstream_refused" and "operator" in doc["message"]
    # Cleanup of the values that never reached DNS: success, nothing sent.
    calls = metric(g, "dnsward_gateway_upstream_seconds_count")
    for value in (TXT1, TXT2):
        s, _, body = g.httpreq("cleanup", {"fqdn": ACME_HOST + ".", "value": value})
        assert (s, body) == (200, "ok\n"), g.log()[-2000:]
    assert metric(g, "dnsward_gateway_upstream_seconds_count") == calls
    assert "TXT" not in g.cli("host", "list").stdout
    assert metric(g, "dnsward_gateway_records_failed") == 0
    assert len(audit_lines(g, HOST, "txt-del", "result=never-published")) == 2


def test_backoff_is_per_record_set_and_a_new_value_clears_it(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="retry-max = 3600")
    g.add(HOST)
    g.start()
    try:
        knot.stop()
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, "911\n")
        # A retries on its own: the second failure backs it off ~10 s.
        assert wait_for(lambda: len(audit_lines(g, HOST, "upstream-A", "result=retry")) >= 2,
                        30), g.log()[-2000:]
        knot.start()
        # The same host's AAAA is not held back by A's backoff...
        s, _, body = g.nic(f"hostname={HOST}&myipv6={V6}")
        assert (s, body) == (200, f"good {V6}\n"), g.log()[-2000:]
        assert knot.query(HOST, "AAAA") == [V6]
        # ...and a new A value clears A's.
        s, _, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (200, f"good {V4B}\n"), g.log()[-2000:]
        assert knot.query(HOST, "A") == [V4B]
        assert metric(g, "dnsward_gateway_retry_queue_depth") == 0
    finally:
        g.stop()


def test_refused_address_is_a_stop_code(restricted, knot, ws, pki, daemons):  # noqa: F811
    g = restricted
    s, _, body = g.nic(f"hostname={OTHER}&myip={V4}", user=OTHER)
    assert (s, body) == (200, "!active\n"), g.log()[-2000:]
    assert knot.query(OTHER, "A") == OTHER_A
    # Asked again during the cool-down: the same answer, no provider call.
    calls = metric(g, "dnsward_gateway_upstream_seconds_count")
    s, _, body = g.nic(f"hostname={OTHER}&myip={V4}", user=OTHER)
    assert (s, body) == (200, "!active\n")
    assert metric(g, "dnsward_gateway_upstream_seconds_count") == calls
    assert f"  A {V4} FAILED" in g.cli("host", "list").stdout

    # dnsward's gateway provider: a refusal that needs the operator, exit 3.
    cfg = dnsward_config(ws, g, pki, knot, OTHER, OTHER, name="other.conf", ipv6=False)
    p = ws.run("update", config=cfg)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "gateway's operator" in p.stderr, p.stderr
    # ...and "dnsward run" parks the record.
    d = daemons(ws, cfg)
    assert wait_for(lambda: (d.fam(OTHER, "A") or {}).get("state") == "parked", 20), d.text()
    # A TXT value the provider refuses: "dnsward acme" exits 3 as well.
    cfg = dnsward_config(ws, g, pki, knot, HOST, HOST, name="host.conf", ipv6=False)
    p = ws.run("acme", "present", f"{ACME_HOST}.", TXT1, config=cfg)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "HTTP 424" in p.stderr and "gateway's operator" in p.stderr, p.stderr
    assert knot.query(ACME_HOST, "TXT") == []


def test_real_clients_stop_on_a_refusal(restricted, knot, ws, pki):
    g = restricted
    # inadyn (one run in the foreground): a stop code ends it at once with
    # an error; "dnserr" or "911" would make it wait and try again.
    p = inadyn_run(ws, g, pki, "in1", OTHER, g.tokens[OTHER], OTHER, V4)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert "[200 OK] !active" in out and "exiting" in out, out
    # ddclient: FAILED; its next run does not ask again (ddclient 3.10
    # treats every code alike: it waits for min-error-interval, or, as
    # here, for a new address).
    p = ddclient_run(ws, g, pki, "dd1", OTHER, g.tokens[OTHER], OTHER, V4)
    out = p.stdout + p.stderr
    assert f"FAILED:   updating {OTHER}: !active" in out, out
    asked = metric(g, 'dnsward_gateway_requests_total{api="dyndns2",result="refused"}')
    p = ddclient_run(ws, g, pki, "dd1", OTHER, g.tokens[OTHER], OTHER, V4, reuse=True)
    out = p.stdout + p.stderr
    assert "skipping update" in out or "skipped" in out, out
    assert metric(g, 'dnsward_gateway_requests_total{api="dyndns2",result="refused"}') == asked
    assert knot.query(OTHER, "A") == OTHER_A


def test_a_late_copy_of_an_older_update_does_not_replace_a_newer_value(ws, knot, pki):
    """The first copy of the UPDATE for V4 is held in the network (a relay)
    past the provider's timeout; dns.c sends it again and that copy is
    applied; then V4B is sent and applied; then the first copy of V4
    arrives.  Knot applies it (TSIG allows 300 s of delay), so it serves V4
    while the gateway holds V4B as applied, unless the UPDATE carries a
    prerequisite (RFC 2136 2.4: the RRset as the look before it saw it):
    then the late copy fails with NXRRSET or YXRRSET and changes
    nothing.  (The order of the gateway's own calls is checked by
    test_crash, in the audit.)"""
    relay = HoldingRelay(knot.port)
    g = Gateway(ws, knot, pki, provider_port=relay.port)
    g.add(HOST)
    g.start()
    try:
        with relay.lock:
            relay.hold = 1
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert relay.held_count() == 1, "the first UPDATE was not held"
        assert (s, body) == (200, f"good {V4}\n"), g.log()[-2000:]
        s, _, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (200, f"good {V4B}\n"), g.log()[-2000:]
        assert knot.query(HOST, "A") == [V4B]
        # 8 NXRRSET, 7 YXRRSET: the late copy's prerequisite failed
        assert relay.release() in ([7], [8]), "the late copy was not refused"
        assert "A " + V4B + " applied" in g.cli("host", "list").stdout
        assert knot.query(HOST, "A") == [V4B]
    finally:
        g.stop()
        relay.close()


def test_a_killed_instances_hosts_are_taken_over_at_restart(ws, knot, pki):
    """A gateway SIGKILLed while it holds a host's lease (its UPDATE sent to
    a server that never answers) left the lease in the store until
    lease-time ran out (an hour here): after a restart nothing was sent for
    that host.  An instance of this machine whose process is gone hands its
    leases back at the next heartbeat, so the restarted gateway applies the
    stored value at once."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # swallows the UPDATEs
    silent.bind(("127.0.0.1", 0))
    try:
        g = Gateway(ws, knot, pki, extra="lease-time = 3600\nupstream-wait = 1\nretry-max = 2")
        g.add(HOST)
        conf = g.conf.read_text()
        g.conf.write_text(conf.replace(f"port = {knot.port}", f"port = {silent.getsockname()[1]}")
                          .replace("timeout = 1\n", "timeout = 20\n"))
        g.start()
        try:
            s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
            assert (s, body) == (200, "911\n"), body   # stored, not applied yet
            # The worker holds the lease while it waits for the silent server
            # (its first message: the look before the UPDATE).
            assert wait_for(lambda: silent_got_message(silent)), g.log()[-2000:]
        finally:
            g.proc.kill()
            g.proc.wait(timeout=10)
            g.proc.stdout.close()
            g.logf.close()
            g.proc = None
        g.conf.write_text(conf)   # the real server again
        g.start()
        try:
            assert wait_for(lambda: knot.query(HOST, "A") == [V4], deadline=30), \
                g.log()[-3000:]
            assert "ended without leaving" in g.log()
        finally:
            g.stop()
    finally:
        silent.close()


def silent_got_message(sock):
    sock.settimeout(0.2)
    try:
        msg, _ = sock.recvfrom(65535)
    except OSError:
        return False
    return len(msg) >= 12
