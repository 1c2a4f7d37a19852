"""RFC 2136 provider against a real Knot DNS, through the dnsward binary."""
import re
import socket
import time

import pytest

from fixtures.knot import free_port

HOST = "host.example.test"
V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"


def config(ws, knot, key_text, port=None, extra="", record_extra="", v6=True):
    kf = ws.secret("host.key", key_text)
    return ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {port or knot.port}
key-file = {kf}
{extra}

[record {HOST}]
provider = own
ipv4 = static:{V4}
ipv6 = {'static:' + V6 if v6 else 'off'}
ttl = 60
{record_extra}
""")


def ddns_count(knot):
    return knot.log_text().count("DDNS, processing")


def test_publishes_a_and_aaaa(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text)
    p = ws.run("update", config=cfg, check=0)
    assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
    assert f"updated {HOST} AAAA {V6}" in p.stdout.splitlines()
    assert knot.query(HOST, "A") == [V4]
    assert knot.query(HOST, "AAAA") == [V6]
    assert knot.ttl(HOST, "A") == 60
    # the rest of the zone is untouched
    assert knot.query("www.example.test", "A") == ["192.0.2.80"]


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
def test_published_records_survive_a_knot_restart(ws, knot, kill):
    # Tests that restart Knot (the gateway's crash and outage tests) rely on
    # it: what an UPDATE added is served after a restart, even after a crash.
    cfg = config(ws, knot, knot.keys["host"].keymgr_text)
    ws.run("update", config=cfg, check=0)
    serial = knot.serial()
    knot.restart(kill=kill)
    assert knot.query(HOST, "A") == [V4]
    assert knot.query(HOST, "AAAA") == [V6]
    assert knot.serial() == serial
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()


def test_second_run_sends_nothing(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text)
    ws.run("update", config=cfg, check=0)
    serial, updates = knot.serial(), ddns_count(knot)
    p = ws.run("update", config=cfg, check=0)
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()
    assert f"unchanged {HOST} AAAA {V6}" in p.stdout.splitlines()
    assert knot.serial() == serial
    assert ddns_count(knot) == updates


def test_force_republishes(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text)
    ws.run("update", config=cfg, check=0)
    # someone changes the A record behind our back
    r = knot.nsupdate(f"update delete {HOST}. A\nupdate add {HOST}. 60 A 192.0.2.7")
    assert r.returncode == 0, r.stdout + r.stderr
    assert knot.query(HOST, "A") == ["192.0.2.7"]
    # the state still says published: nothing is sent
    ws.run("update", config=cfg, check=0)
    assert knot.query(HOST, "A") == ["192.0.2.7"]
    # --force goes to the server, which gets the address back
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
    assert knot.query(HOST, "A") == [V4]
    # the AAAA RRset was right: the pre-check query finds it, no UPDATE
    assert f"unchanged {HOST} AAAA {V6}" in p.stdout.splitlines()
    serial, updates = knot.serial(), ddns_count(knot)
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()
    assert knot.serial() == serial
    assert ddns_count(knot) == updates


def test_ttl_change_is_an_update(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, v6=False)
    ws.run("update", config=cfg, check=0)
    r = knot.nsupdate(f"update delete {HOST}. A\nupdate add {HOST}. 3600 A {V4}")
    assert r.returncode == 0, r.stdout + r.stderr
    p = ws.run("update", "--force", config=cfg, check=0)
    assert f"updated {HOST} A {V4}" in p.stdout.splitlines()
    assert knot.ttl(HOST, "A") == 60


def test_zone_discovered_by_soa(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, v6=False)
    p = ws.run("-d", "update", config=cfg, check=0)
    assert "zone example.test found" in p.stderr
    assert knot.query(HOST, "A") == [V4]


@pytest.mark.parametrize("where", ["provider", "record"])
def test_zone_configured(ws, knot, where):
    extra = "zone = example.test" if where == "provider" else ""
    rextra = "zone = example.test" if where == "record" else ""
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, extra=extra, record_extra=rextra, v6=False)
    p = ws.run("-d", "update", config=cfg, check=0)
    assert "found at" not in p.stderr   # no SOA discovery
    assert knot.query(HOST, "A") == [V4]


def test_zone_not_containing_record_is_config_error(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, extra="zone = example.org")
    p = ws.run("update", config=cfg, check=2)
    assert "not inside zone example.org" in p.stderr


def test_zone_not_served_is_fatal(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, extra="zone = test", v6=False)
    p = ws.run("update", config=cfg, check=3)
    assert "not authoritative for zone test" in p.stderr


def test_key_for_another_name_refused(ws, knot):
    cfg = config(ws, knot, knot.keys["other"].keymgr_text, v6=False)
    p = ws.run("update", config=cfg, check=3)
    assert f"update of {HOST} A" in p.stderr
    assert "key 'other-key'" in p.stderr
    assert "NOTAUTH (TSIG BADKEY)" in p.stderr
    assert "ACL/update-policy" in p.stderr
    assert knot.query(HOST, "A") == []


def test_wrong_secret_reported(ws, knot):
    good, other = knot.keys["host"], knot.keys["other"]
    text = good.keymgr_text.replace(good.secret, other.secret)
    cfg = config(ws, knot, text, v6=False)
    p = ws.run("update", config=cfg, check=3)
    assert "key 'host-key'" in p.stderr
    assert "BADSIG" in p.stderr
    assert "does not match" in p.stderr
    assert knot.query(HOST, "A") == []


def test_server_down_is_retryable(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, port=free_port(), v6=False)
    p = ws.run("update", config=cfg, check=1)
    assert f"{HOST}" in p.stderr
    assert "refused" in p.stderr.lower()


def test_silent_server_times_out_retryable(ws, knot):
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))   # receives, never answers
    try:
        cfg = config(ws, knot, knot.keys["host"].keymgr_text, port=hole.getsockname()[1],
                     extra="timeout = 1", v6=False)
        start = time.monotonic()
        p = ws.run("update", config=cfg, check=1)
        assert time.monotonic() - start < 15
        assert "no reply" in p.stderr
    finally:
        hole.close()


@pytest.mark.parametrize("fmt", ["keymgr", "bind"])
def test_key_file_formats(ws, knot, fmt):
    k = knot.keys["host"]
    cfg = config(ws, knot, k.keymgr_text if fmt == "keymgr" else k.bind_text())
    ws.run("update", config=cfg, check=0)
    assert knot.query(HOST, "A") == [V4]
    assert knot.query(HOST, "AAAA") == [V6]


@pytest.mark.parametrize("name", ["host-sha384", "host-sha512", "host-sha224", "host-sha1"])
def test_other_algorithms(ws, knot, name):
    k = knot.keys[name]
    cfg = config(ws, knot, k.bind_text(), v6=False)
    p = ws.run("update", config=cfg, check=0)
    assert knot.query(HOST, "A") == [V4]
    if name == "host-sha1":
        assert "legacy" in p.stderr


def test_key_name_picks_among_several(ws, knot):
    text = knot.keys["other"].bind_text() + knot.keys["host"].bind_text()
    cfg = config(ws, knot, text, v6=False)
    p = ws.run("update", config=cfg, check=2)
    assert "holds 2 keys" in p.stderr and "key-name" in p.stderr
    cfg = config(ws, knot, text, extra="key-name = host-key", v6=False)
    ws.run("update", config=cfg, check=0)
    assert knot.query(HOST, "A") == [V4]


def test_md5_key_refused(ws, knot):
    text = f'key "old" {{ algorithm hmac-md5; secret "{knot.keys["host"].secret}"; }};\n'
    cfg = config(ws, knot, text)
    p = ws.run("check", config=cfg, check=2)
    assert "hmac-md5" in p.stderr and "hmac-sha256" in p.stderr
    assert knot.keys["host"].secret not in p.stderr + p.stdout


def test_secret_file_0644_refused(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text)
    import os
    os.chmod(ws.path / "host.key", 0o644)
    p = ws.run("update", config=cfg, check=2)
    assert "chmod 600" in p.stderr
    assert knot.query(HOST, "A") == []


def test_check_touches_no_network(ws, knot):
    cfg = config(ws, knot, knot.keys["host"].keymgr_text, port=free_port())
    ws.run("check", config=cfg, check=0)
    assert ddns_count(knot) == 0


def test_debug_output_never_shows_the_secret(ws, knot):
    k = knot.keys["host"]
    outputs = []
    cfg = config(ws, knot, k.keymgr_text)
    outputs.append(ws.run("-d", "update", config=cfg, check=0))
    outputs.append(ws.run("-d", "update", "--force", config=cfg, check=0))
    # a failing exchange (wrong secret) and a failing parse
    bad = knot.keys["other"].secret
    cfg = config(ws, knot, k.keymgr_text.replace(k.secret, bad), v6=False)
    outputs.append(ws.run("-d", "update", "--force", config=cfg, check=3))
    cfg = config(ws, knot, k.bind_text().replace("algorithm", "algoritm"))
    outputs.append(ws.run("-d", "update", config=cfg, check=2))
    for p in outputs:
        text = p.stdout + p.stderr
        for secret in (k.secret, bad):
            assert secret not in text
            # nor a recognisable part of it
            assert not re.search(re.escape(secret[:16]), text)
