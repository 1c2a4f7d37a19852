"""dnsward run drops root and filters its system calls once its sockets are
open, and still publishes under both."""
import os

from test_daemon import wait_for, daemons  # noqa: F401  (fixture)

HOST = "host.example.test"


def proc_status(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        out[k] = v.split()
    return out


def test_daemon_runs_as_nobody_under_seccomp(ws, knot, daemons):  # noqa: F811
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    os.chown(ws.state_dir, 65534, 65534)   # the state dir belongs to the daemon's user
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
user = nobody

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.70
""")
    d = daemons(ws, cfg)
    wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.70"], "published through the filter")
    for task in os.listdir(f"/proc/{d.proc.pid}/task"):
        st = proc_status(f"{d.proc.pid}/task/{task}")
        assert st["Seccomp"] == ["2"], st["Seccomp"]
        assert st["NoNewPrivs"] == ["1"]
        assert st["Uid"] == ["65534"] * 4 and st["Gid"] == ["65534"] * 4
        assert st["CapEff"] == ["0000000000000000"]
        # The bounding set is empty too: nothing could be regained by exec.
        assert st["CapBnd"] == ["0000000000000000"], st["CapBnd"]
        assert st["CapInh"] == ["0000000000000000"] and st["CapAmb"] == ["0000000000000000"]
    assert d.fam(HOST, "A")["state"] == "in-sync"


def test_update_force_goes_through_the_running_daemon(ws, freedns_emulator, pki, daemons):  # noqa: F811
    """With a daemon running, "update --force" asks it to publish (one writer
    of the state file) and releases a parked record; without one it runs the
    pass itself."""
    from test_daemon import freedns_config
    token = "5a5a5a5a5a5a5a5a5a5a5a5a"
    freedns_emulator.add_record(token, "home.mooo.test", "A", "192.0.2.1")
    freedns_emulator.fault(token, "no-record")
    cfg = freedns_config(ws, freedns_emulator, pki, token)
    d = daemons(ws, cfg)
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "parked", "parked")
    freedns_emulator.clear_fault(token)
    p = ws.run("update", "--force", "home.mooo.test", config=cfg, check=0)
    assert "forced the named records through the running daemon" in p.stdout
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "in-sync", "published by the daemon")
    assert len(freedns_emulator.requests) == 2
    d.stop()
    p = ws.run("update", "--force", config=cfg, check=0)
    # Sent by this process (FreeDNS already holds it, so "unchanged").
    assert "unchanged home.mooo.test A 81.2.69.160" in p.stdout
    assert "through the running daemon" not in p.stdout
    assert len(freedns_emulator.requests) == 3
