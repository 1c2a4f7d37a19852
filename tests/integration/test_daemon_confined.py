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
    assert d.fam(HOST, "A")["state"] == "in-sync"
