"""dnsward run: the daemon against a real Knot DNS and real kernel addresses.

Address tests run the daemon and a Knot DNS inside one network namespace
(fixtures/netns.py): "ip addr add" there is seen by the daemon's netlink
socket, and Knot listens on the namespace's own loopback.  Provider-failure
tests run the daemon in the test's namespace against the HTTPS emulators.

Waiting is always polling against a deadline; every daemon is stopped in a
finally block (SIGTERM, then SIGKILL after a deadline).
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import binary
from fixtures.knot import NOBODY, ZONE, Knot

HOST = "host.example.test"
OTHER = "other.example.test"


def wait_for(pred, what, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def stays(pred, what, duration):
    """Asserts pred() holds at every check for `duration` seconds (used only
    to show that something does NOT happen)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert pred(), what
        time.sleep(0.05)


class NetnsKnot(Knot):
    """The Knot fixture, run and queried inside a namespace."""

    def __init__(self, base, ns):
        super().__init__(base)
        self.ns = ns

    def start(self, deadline_s=20.0):
        logf = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns.name, "setpriv", f"--reuid={NOBODY}",
                 f"--regid={NOBODY}", "--clear-groups", "knotd", "-c", str(self.conf)],
                stdout=logf, stderr=subprocess.STDOUT)
        finally:
            logf.close()
        wait_for(lambda: self.proc.poll() is not None or self.query(ZONE, "SOA", timeout=1),
                 "knotd", deadline_s)
        if self.proc.poll() is not None:
            raise RuntimeError(f"knotd exited:\n{self.log_text()}")

    def query(self, name, rtype="A", timeout=2):
        out = subprocess.run(
            ["ip", "netns", "exec", self.ns.name, "kdig", "@127.0.0.1", "-p", str(self.port),
             name, rtype, "+short", f"+time={timeout}", "+retry=0"],
            capture_output=True, text=True, timeout=timeout + 5)
        if out.returncode != 0:
            return []
        return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


@pytest.fixture
def nsknot(netns):
    base = tempfile.mkdtemp(prefix="dnsward-knot-")
    os.chmod(base, 0o755)
    server = NetnsKnot(base, netns)
    try:
        server.write()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


def ddns_count(knot):
    return knot.log_text().count("DDNS, processing")


class Daemon:
    """One "dnsward -d run", optionally inside a namespace."""

    def __init__(self, ws, config, netns=None, env=None):
        self.ws = ws
        self.config = config
        self.netns = netns
        self.env = env or {}
        self.log = ws.path / f"daemon-{time.monotonic_ns()}.log"
        self.proc = None

    def start(self, wait=True):
        cmd = [binary("dnsward"), "-d", "-c", self.config, "run"]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns.name] + cmd
        env = dict(os.environ)
        for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "RUNTIME_DIRECTORY"):
            env.pop(k, None)
        env.update(self.env)
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
        if wait:
            wait_for(lambda: self.proc.poll() is not None or "running:" in self.text(),
                     "the daemon to start")
            assert self.proc.poll() is None, self.text()
        return self

    def text(self):
        return self.log.read_text(errors="replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def status(self):
        p = self.ws.run("status", "--json", config=self.config, check=0)
        return json.loads(p.stdout)

    def fam(self, name, rtype):
        for r in self.status()["records"]:
            if r["name"] == name:
                for f in r["families"]:
                    if f["type"] == rtype:
                        return f
        return None

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            raise AssertionError(f"daemon ignored SIGTERM:\n{self.text()}")

    def check_clean(self):
        t = self.text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in t, f"sanitizer report:\n{t}"


@pytest.fixture
def daemons():
    started = []

    def make(ws, config, netns=None, wait=True, env=None):
        d = Daemon(ws, config, netns, env)
        started.append(d)
        return d.start(wait)

    try:
        yield make
    finally:
        for d in started:
            try:
                d.stop()
            finally:
                if d.proc and d.proc.poll() is None:
                    d.proc.kill()
                    d.proc.wait(timeout=10)
        for d in started:
            d.check_clean()


def knot_config(ws, knot, ipv4="iface:dw0", ipv6="iface:dw0", extra="", record_extra="",
                key="host", name=HOST):
    kf = ws.secret(f"{key}.key", knot.keys[key].keymgr_text)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
{extra}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}
zone = example.test

[record {name}]
provider = own
ipv4 = {ipv4}
ipv6 = {ipv6}
ttl = 60
{record_extra}
""")


# ---- addresses --------------------------------------------------------------


def test_publishes_new_address_within_milliseconds(ws, netns, nsknot, daemons):
    cfg = knot_config(ws, nsknot)
    d = daemons(ws, cfg, netns)
    assert nsknot.query(HOST, "A") == []
    t0 = time.monotonic()
    netns.add("81.2.69.10/24")
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == ["81.2.69.10"], "the A record")
    reaction = time.monotonic() - t0
    print(f"A record published {reaction * 1000:.0f} ms after ip addr add")
    assert reaction < 2.0
    netns.add("2a01:4f8:1:2::10/64", flags=("nodad",))
    wait_for(lambda: nsknot.query(HOST, "AAAA", timeout=1) == ["2a01:4f8:1:2::10"], "AAAA")
    assert ddns_count(nsknot) == 2
    f = d.fam(HOST, "A")
    assert f["state"] == "in-sync" and f["published"] == "81.2.69.10"
    assert f["last_result"] == "done"


def test_tentative_address_waits_for_dad(ws, netns, nsknot, daemons):
    cfg = knot_config(ws, nsknot, ipv4="off")
    # DAD of about 3 s: one probe, a long retransmission time.
    netns.sysctl("net.ipv6.conf.dw0.dad_transmits", 1)
    netns.sysctl("net.ipv6.neigh.dw0.retrans_time_ms", 3000)
    d = daemons(ws, cfg, netns)
    netns.add("2a01:4f8:1:2::20/64")
    assert netns.addr("2a01:4f8:1:2::20").get("tentative")
    # While the kernel says tentative, nothing is published.
    def tentative_and_unpublished():
        a = netns.addr("2a01:4f8:1:2::20")
        if not a or not a.get("tentative"):
            return "done"
        assert nsknot.query(HOST, "AAAA", timeout=1) == [], "published while tentative"
        return None
    wait_for(tentative_and_unpublished, "DAD to finish", timeout=20, interval=0.2)
    t0 = time.monotonic()
    wait_for(lambda: nsknot.query(HOST, "AAAA", timeout=1) == ["2a01:4f8:1:2::20"],
             "AAAA after DAD")
    print(f"AAAA published {(time.monotonic() - t0) * 1000:.0f} ms after DAD was seen done")
    assert ddns_count(nsknot) == 1
    assert "tentative" not in d.fam(HOST, "AAAA")["state"]


def test_several_addresses_one_update(ws, netns, nsknot, daemons):
    cfg = knot_config(ws, nsknot, extra="debounce-ms = 200")
    d = daemons(ws, cfg, netns)
    batch = "".join(f"addr add {a} dev dw0\n" for a in (
        "81.2.69.30/24", "81.2.69.31/24", "81.2.69.32/24"))
    batch += "".join(f"addr add {a} dev dw0 nodad\n" for a in (
        "2a01:4f8:1:2::30/64", "2a01:4f8:1:2::31/64"))
    subprocess.run(["ip", "-n", netns.name, "-batch", "-"], input=batch, text=True, check=True)
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == ["81.2.69.30"], "A")
    wait_for(lambda: nsknot.query(HOST, "AAAA", timeout=1) == ["2a01:4f8:1:2::30"], "AAAA")
    wait_for(lambda: all(d.fam(HOST, t)["state"] == "in-sync" for t in ("A", "AAAA")), "in sync")
    assert ddns_count(nsknot) == 2    # one per family, not one per address
    assert d.text().count("publishing") == 2


def test_removal_and_change_republish(ws, netns, nsknot, daemons):
    # Changes a second apart, each one published: no minimum gap here
    # (test_storm.py has the gap's own tests).
    cfg = knot_config(ws, nsknot, ipv6="off", record_extra="min-publish-gap = 0")
    netns.add("81.2.69.40/24")
    netns.add("81.2.69.41/24")
    d = daemons(ws, cfg, netns)
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == ["81.2.69.40"], "A")
    netns.ip("addr", "del", "81.2.69.40/24", "dev", "dw0")
    # Removing a primary address removes its secondaries too, unless
    # promote_secondaries is set: re-add the other one if it went.
    if not netns.addr("81.2.69.41"):
        netns.add("81.2.69.41/24")
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == ["81.2.69.41"], "A after removal")
    netns.ip("addr", "flush", "dev", "dw0", "scope", "global")
    wait_for(lambda: d.fam(HOST, "A")["state"] == "no-address", "no-address")
    assert nsknot.query(HOST, "A") == ["81.2.69.41"]   # nothing to publish: left alone
    netns.add("81.2.69.42/24")
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == ["81.2.69.42"], "A after change")


def test_status_live_and_offline(ws, netns, nsknot, daemons):
    cfg = knot_config(ws, nsknot, ipv6="off")
    p = ws.run("status", "--json", config=cfg, check=0)
    off = json.loads(p.stdout)
    assert off["daemon"] is False
    assert off["records"][0]["families"][0]["published"] is None
    d = daemons(ws, cfg, netns)
    netns.add("81.2.69.50/24")
    wait_for(lambda: d.fam(HOST, "A")["state"] == "in-sync", "in sync")
    st = d.status()
    assert st["daemon"] is True and st["pid"] == d.proc.pid
    (rec,) = st["records"]
    assert rec["name"] == HOST and rec["provider"] == "own"
    (fam,) = rec["families"]
    assert fam["desired"] == fam["published"] == "81.2.69.50"
    assert fam["last_result"] == "done" and fam["failures"] == 0
    txt = ws.run("status", config=cfg, check=0).stdout
    assert f"{HOST} A state=in-sync desired=81.2.69.50 published=81.2.69.50 last=done" in txt
    sock = ws.state_dir / "dnsward.sock"
    assert (sock.stat().st_mode & 0o777) == 0o600
    # Bounded, validated requests.
    import socket as s
    c = s.socket(s.AF_UNIX, s.SOCK_STREAM)
    c.connect(str(sock))
    c.sendall(b"x" * 5000)
    c.settimeout(5)
    got = b""
    try:
        while True:
            b = c.recv(4096)
            if not b:
                break
            got += b
    except (ConnectionResetError, BrokenPipeError):
        pass
    c.close()
    assert got.startswith(b"error:") or got == b""
    assert d.proc.poll() is None
    assert d.stop() == 0
    assert not sock.exists()
    off = json.loads(ws.run("status", "--json", config=cfg, check=0).stdout)
    assert off["daemon"] is False
    assert off["records"][0]["families"][0]["published"] == "81.2.69.50"


def test_sighup_reload_and_sigusr1_force(ws, netns, nsknot, daemons):
    cfg = knot_config(ws, nsknot, ipv6="off")
    netns.add("81.2.69.60/24")
    d = daemons(ws, cfg, netns)
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == ["81.2.69.60"], "A")
    # A broken configuration is refused; the daemon keeps the old one.
    good = pathlib.Path(cfg).read_text()
    pathlib.Path(cfg).write_text(good + "\n[record broken\n")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in d.text(), "reload refused")
    assert d.proc.poll() is None
    # A good one adding a record: published at once.
    kf = ws.secret("other.key", nsknot.keys["other"].keymgr_text)
    pathlib.Path(cfg).write_text(good.replace("[provider own]", f"""[provider own2]
type = rfc2136
server = 127.0.0.1
port = {nsknot.port}
key-file = {kf}

[provider own]""") + f"""
[record {OTHER}]
provider = own2
ipv4 = iface:dw0
ipv6 = off
""")
    d.signal(signal.SIGHUP)
    wait_for(lambda: nsknot.query(OTHER, "A", timeout=1) == ["81.2.69.60"], "other A")
    assert "configuration reloaded: 2 records" in d.text()
    # SIGUSR1: every record published again (the server already holds it,
    # so the rfc2136 provider sends no UPDATE: it asked first).
    before = d.text().count("already published")
    d.signal(signal.SIGUSR1)
    wait_for(lambda: d.text().count("already published") >= before + 2, "forced pass")
    assert ddns_count(nsknot) == 2


def test_hook_runs_without_shell_and_secrets(ws, netns, nsknot, daemons):
    out = ws.path / "hook.out"
    hook = ws.path / "hook.sh"
    hook.write_text(f"#!/bin/sh\nenv | sort > {out}.tmp\nmv {out}.tmp {out}\n")
    hook.chmod(0o755)
    cfg = knot_config(ws, nsknot, ipv6="off", record_extra=f"on-change = {hook}")
    d = daemons(ws, cfg, netns)
    netns.add("81.2.69.70/24")
    wait_for(lambda: out.exists(), "the hook's output")
    env = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert env["DNSWARD_RECORD"] == HOST
    assert env["DNSWARD_FAMILY"] == "ipv4"
    assert env["DNSWARD_OLD"] == ""
    assert env["DNSWARD_NEW"] == "81.2.69.70"
    assert env["DNSWARD_RESULT"] == "done"
    secret = nsknot.keys["host"].secret
    assert secret not in out.read_text()
    assert not any(k not in ("PATH", "PWD", "SHLVL", "_", "OLDPWD") and not k.startswith("DNSWARD_")
                   for k in env), env
    assert secret not in d.text()


def test_cold_start_matching_dns_sends_nothing(ws, knot, daemons):
    # other.example.test already holds 192.0.2.99 (TTL 300) in the zone.
    kf = ws.secret("other.key", knot.keys["other"].keymgr_text)
    cfg = ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {OTHER}]
provider = own
ipv4 = static:192.0.2.99
ttl = 300
""")
    d = daemons(ws, cfg)
    wait_for(lambda: d.fam(OTHER, "A")["state"] == "in-sync", "in sync")
    assert d.fam(OTHER, "A")["last_result"] == "unchanged"
    assert ddns_count(knot) == 0
    state = json.loads((ws.state_dir / "state.json").read_text())
    assert any(r.get("address") == "192.0.2.99" for r in state["records"])


def test_idle_daemon_does_not_wake(ws, knot, daemons):
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    cfg = ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.80
ipv6 = iface:lo
""")
    d = daemons(ws, cfg)
    wait_for(lambda: d.fam(HOST, "A")["state"] == "in-sync", "in sync")

    def switches():
        total = 0
        for task in pathlib.Path(f"/proc/{d.proc.pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        return total

    # Let the last status client and publish settle (bounded), then measure.
    wait_for(lambda: switches() == switches(), "quiet", timeout=5, interval=0.2)
    a = switches()
    time.sleep(3)   # the measurement window itself
    b = switches()
    print(f"context switches over 3 s idle: {b - a}")
    assert b - a == 0


# ---- providers that fail ----------------------------------------------------


def freedns_config(ws, emu, pki, token, extra=""):
    tf = ws.secret("token-a", token)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
backoff-base = 1
backoff-max = 60
{extra}

[provider fd]
type = freedns
base-url = {emu.url}
base-url-v6 = {emu.url}
ca-file = {pki.ca_file}
timeout = 5

[record home.mooo.test]
provider = fd
ipv4 = static:81.2.69.160
ipv6 = off
token-a-file = {tf}
""")


def test_failing_provider_backs_off(ws, freedns_emulator, pki, daemons):
    token = "a1b2c3d4e5f6a7b8c9d0e1f2"
    freedns_emulator.add_record(token, "home.mooo.test", "A", "192.0.2.1")
    freedns_emulator.fault(token, "server-error", status=500)
    cfg = freedns_config(ws, freedns_emulator, pki, token)
    d = daemons(ws, cfg)
    t0 = time.monotonic()
    wait_for(lambda: len(freedns_emulator.requests) >= 1, "the first request")
    time.sleep(5)   # observation window: backoff 1 s, 2 s, 4 s (each halved at worst)
    n = len(freedns_emulator.requests)
    elapsed = time.monotonic() - t0
    print(f"{n} requests in {elapsed:.1f} s against a failing provider")
    # Without backoff a busy loop would send hundreds; with it: 1 + at most 3.
    assert 2 <= n <= 5, n
    f = d.fam("home.mooo.test", "A")
    assert f["state"] in ("backoff", "publishing") and f["failures"] >= 2
    assert token not in d.text()
    # Recovery: the next attempt succeeds and backoff ends.
    freedns_emulator.clear_fault(token)
    d.signal(signal.SIGUSR1)
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "in-sync", "recovery")


def test_rate_limit_honours_retry_after(ws, freedns_emulator, pki, daemons):
    token = "f1e2d3c4b5a6978877665544"
    freedns_emulator.add_record(token, "home.mooo.test", "A", "192.0.2.1")
    freedns_emulator.fault(token, "ratelimit", retry_after=3600)
    cfg = freedns_config(ws, freedns_emulator, pki, token)
    d = daemons(ws, cfg)
    wait_for(lambda: d.fam("home.mooo.test", "A")["failures"] == 1, "the first failure")
    f = d.fam("home.mooo.test", "A")
    assert f["last_result"] == "rate-limited"
    assert 3500 * 1000 <= f["retry_in_ms"] <= 3600 * 1000
    stays(lambda: len(freedns_emulator.requests) == 1, "retried before Retry-After", 2)


def test_fatal_parks_until_forced(ws, freedns_emulator, pki, daemons):
    token = "0a1b2c3d4e5f607182939495"
    freedns_emulator.add_record(token, "home.mooo.test", "A", "192.0.2.1")
    freedns_emulator.fault(token, "no-record")
    # A reload keeps the minimum gap since the forced publish below; this
    # test is about parking, so there is none.
    cfg = freedns_config(ws, freedns_emulator, pki, token, extra="min-publish-gap = 0")
    d = daemons(ws, cfg)
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "parked", "parked")
    stays(lambda: len(freedns_emulator.requests) == 1, "a parked record was retried", 2)
    # The user fixes it and forces.
    freedns_emulator.clear_fault(token)
    ws.run("status", config=cfg, check=0)
    d.signal(signal.SIGUSR1)
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "in-sync", "published")
    assert len(freedns_emulator.requests) == 2
    # Parking again, then a reload (the user edited something) unparks.
    freedns_emulator.fault(token, "no-record")
    pathlib.Path(cfg).write_text(pathlib.Path(cfg).read_text().replace("81.2.69.160", "81.2.69.161"))
    d.signal(signal.SIGHUP)
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "parked", "parked again")
    n = len(freedns_emulator.requests)
    d.signal(signal.SIGHUP)
    wait_for(lambda: len(freedns_emulator.requests) == n + 1, "a try after reload")


def test_sigterm_is_clean_and_prompt(ws, freedns_emulator, pki, daemons):
    token = "9f8e7d6c5b4a392817065544"
    freedns_emulator.add_record(token, "home.mooo.test", "A", "192.0.2.1")
    cfg = freedns_config(ws, freedns_emulator, pki, token)
    d = daemons(ws, cfg)
    wait_for(lambda: d.fam("home.mooo.test", "A")["state"] == "in-sync", "published")
    t0 = time.monotonic()
    assert d.stop() == 0
    assert time.monotonic() - t0 < 2
    assert "stopping" in d.text()
