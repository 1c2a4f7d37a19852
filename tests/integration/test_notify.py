"""dnsward run under a service manager's notification socket: the datagrams
systemd reads for Type=notify and WatchdogSec=, sent without libsystemd
(a socket of the test stands in for systemd's)."""
import os
import signal
import socket
import subprocess

from conftest import binary
from test_daemon import wait_for

HOST = "host.example.test"


class Notifications:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)   # the daemon may be another user by then
        self.sock.setblocking(False)
        self.got = []

    def poll(self):
        while True:
            try:
                self.got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return self.got

    def has(self, msg):
        return msg in self.poll()

    def count(self, prefix):
        return sum(1 for m in self.poll() if m.startswith(prefix))


def test_ready_status_reload_watchdog_stopping(ws, knot):
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.71
""")
    n = Notifications(str(ws.path / "notify.sock"))
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    env.update({"NOTIFY_SOCKET": str(ws.path / "notify.sock"), "WATCHDOG_USEC": "200000"})
    log = open(ws.path / "daemon.log", "wb")
    proc = subprocess.Popen([binary("dnsward"), "-c", cfg, "run"], stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: n.has("READY=1"), "READY=1")
        wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.71"], "the publish")
        wait_for(lambda: any(m.startswith("STATUS=") and ": 1 in sync" in m for m in n.poll()),
                 "a STATUS line saying the record is in sync")
        # Every half of WATCHDOG_USEC (100 ms): several keep-alives.
        wait_for(lambda: n.count("WATCHDOG=1") >= 3, "WATCHDOG=1 keep-alives")
        before = n.count("READY=1")
        proc.send_signal(signal.SIGHUP)
        wait_for(lambda: n.has("RELOADING=1") and n.count("READY=1") > before,
                 "RELOADING=1 then READY=1 again")
        got = n.poll()
        last_ready = len(got) - 1 - got[::-1].index("READY=1")
        assert got.index("RELOADING=1") < last_ready
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert n.has("STOPPING=1")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        n.sock.close()


def test_watchdog_meant_for_another_process_is_ignored(ws, knot):
    """WATCHDOG_PID names the process the interval is for (systemd sets it
    when the variable may be inherited): another pid means no keep-alives."""
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    cfg = ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.72
""")
    n = Notifications(str(ws.path / "notify.sock"))
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    env.update({"NOTIFY_SOCKET": str(ws.path / "notify.sock"), "WATCHDOG_USEC": "100000",
                "WATCHDOG_PID": "1"})
    proc = subprocess.Popen([binary("dnsward"), "-c", cfg, "run"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    try:
        wait_for(lambda: n.has("READY=1"), "READY=1")
        wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.72"], "the publish")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert n.count("WATCHDOG=1") == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        n.sock.close()
