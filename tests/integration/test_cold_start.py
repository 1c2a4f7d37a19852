"""cold-start-check: with nothing in the state, dnsward asks the zone's
authoritative servers (a real Knot here) before publishing, and sends no
update when every one of them already serves the address."""
import json

from test_daemon import wait_for, daemons  # noqa: F401  (fixture)

TOKEN = "c0ffee00c0ffee00c0ffee00"
NAME = "other.example.test"   # the Knot fixture's zone holds 192.0.2.99 here


def config(ws, knot, emu, pki, address, check="yes"):
    tf = ws.secret("token-a", TOKEN)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
cold-start-check = {check}
acme-nameservers = 127.0.0.1:{knot.port}

[provider fd]
type = freedns
base-url = {emu.url}
base-url-v6 = {emu.url}
ca-file = {pki.ca_file}
timeout = 5

[record {NAME}]
provider = fd
ipv4 = static:{address}
token-a-file = {tf}
""")


def state_addresses(ws):
    return [r["address"] for r in json.loads((ws.state_dir / "state.json").read_text())["records"]]


def test_update_sends_nothing_when_dns_already_serves_it(ws, knot, freedns_emulator, pki):
    freedns_emulator.add_record(TOKEN, NAME, "A", "192.0.2.99")
    p = ws.run("-v", "update", config=config(ws, knot, freedns_emulator, pki, "192.0.2.99"),
               check=0)
    assert f"unchanged {NAME} A 192.0.2.99" in p.stdout
    assert "every authoritative server already serves 192.0.2.99" in p.stderr
    assert freedns_emulator.take_requests() == []
    assert state_addresses(ws) == ["192.0.2.99"]


def test_update_publishes_when_dns_differs(ws, knot, freedns_emulator, pki):
    freedns_emulator.add_record(TOKEN, NAME, "A", "192.0.2.99")
    p = ws.run("update", config=config(ws, knot, freedns_emulator, pki, "81.2.69.161"), check=0)
    assert f"updated {NAME} A 81.2.69.161" in p.stdout
    assert len(freedns_emulator.take_requests()) == 1


def test_check_off_by_default_publishes(ws, knot, freedns_emulator, pki):
    freedns_emulator.add_record(TOKEN, NAME, "A", "192.0.2.1")
    cfg = config(ws, knot, freedns_emulator, pki, "192.0.2.99", check="no")
    p = ws.run("update", config=cfg, check=0)
    assert f"updated {NAME} A 192.0.2.99" in p.stdout
    assert len(freedns_emulator.take_requests()) == 1


def test_daemon_cold_start_sends_nothing(ws, knot, freedns_emulator, pki, daemons):  # noqa: F811
    freedns_emulator.add_record(TOKEN, NAME, "A", "192.0.2.99")
    d = daemons(ws, config(ws, knot, freedns_emulator, pki, "192.0.2.99"))
    wait_for(lambda: d.fam(NAME, "A")["state"] == "in-sync", "in sync")
    assert d.fam(NAME, "A")["last_result"] == "unchanged"
    assert freedns_emulator.take_requests() == []
    assert state_addresses(ws) == ["192.0.2.99"]
