"""Netlink storms: thousands of address changes in one burst while
dnsward run watches, and the minimum gap between two publishes of a
record's family (min-publish-gap) under a sustained flap.

The daemon and a Knot DNS run in one network namespace (fixtures/netns.py);
"ip -batch" adds and removes addresses on the veth end dw0 so that the
address the policy picks changes with nearly every operation.  The tests
measure the daemon's CPU time over the storm (utime + stime of the whole
process, all threads, from /proc/PID/stat), count the publishes it starts
("publishing" lines, one per record and family) and the UPDATE messages
Knot processed, and check that the last address of the burst is published.

ENOBUFS: the daemon's receive buffer (1 MiB asked) cannot be made smaller
from outside, so the daemon is stopped (SIGSTOP) while a burst far larger
than the buffer is queued, then continued: the kernel reports ENOBUFS, the
daemon must log the re-dump and still publish the final addresses.

The daemon runs with min-publish-gap = GAP_S (the default, 30 s, would only
make the tests wait longer): publishes of one family start at least GAP_S
apart, so the UPDATEs Knot counts over a storm of any rate stay within
2 x (its length / GAP_S + 1).  Whether a change waited for the gap is
counted from the daemon's "held back" lines, never timed.

Every process and namespace is removed in finally blocks.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BUILD, binary
from fixtures.knot import NOBODY, ZONE, Knot

HOST = "host.example.test"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def sanitizer_build():
    if os.environ.get("DNSWARD_SANITIZE") == "1":
        return True
    try:
        opts = json.loads((BUILD / "meson-info" / "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return False
    return any(o["name"] in ("sanitize", "b_sanitize") and o["value"] not in (False, "none")
               for o in opts)


GAP_S = 2

# CPU seconds the daemon may spend on one storm of 2000 changes (measured:
# docs/hostile.md); sanitizers make everything several times slower.
CPU_BOUND_S = 2.0 * (4 if sanitizer_build() else 1)


def wait_for(pred, what, timeout=20.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class NsKnot(Knot):
    """The Knot fixture, run and queried inside the test's namespace."""

    def __init__(self, base, ns):
        super().__init__(base)
        self.ns = ns

    def start(self, deadline_s=20.0):
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns.name, "setpriv", f"--reuid={NOBODY}",
                 f"--regid={NOBODY}", "--clear-groups", "knotd", "-c", str(self.conf)],
                stdout=logf, stderr=subprocess.STDOUT)
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

    def updates(self):
        return self.log_text_all().count("DDNS, processing")

    def log_text_all(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


@pytest.fixture
def nsknot(netns):
    base = tempfile.mkdtemp(prefix="dnsward-knot-")
    os.chmod(base, 0o755)
    server = NsKnot(base, netns)
    try:
        server.write()
        server.start()
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(base, ignore_errors=True)


class StormDaemon:
    def __init__(self, ws, netns, knot):
        self.ws = ws
        self.knot = knot
        self.netns = netns
        self.log = ws.path / "daemon.log"
        self.proc = None
        self.config = None

    def write_config(self, gap):
        ws, knot = self.ws, self.knot
        kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
        self.config = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
min-publish-gap = {gap}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}
zone = example.test

[record {HOST}]
provider = own
ipv4 = iface:dw0
ipv6 = iface:dw0
ttl = 60
""")

    def start(self, gap=GAP_S):
        self.write_config(gap)
        env = dict(os.environ)
        for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "RUNTIME_DIRECTORY"):
            env.pop(k, None)
        cmd = ["ip", "netns", "exec", self.netns.name, binary("dnsward"), "-d", "-c",
               self.config, "run"]
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: self.proc.poll() is not None or "running:" in self.text(),
                 "the daemon to start")
        assert self.proc.poll() is None, self.text()

    def text(self):
        return self.log.read_text(errors="replace")

    def cpu_s(self):
        """utime + stime of the process (every thread), in seconds."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def run_ns(self):
        """CPU time of every thread in nanoseconds (schedstat): finer than
        the 10 ms ticks of utime + stime, which read 0 for short storms."""
        total = 0
        for t in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                with open(f"/proc/{self.proc.pid}/task/{t}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def publishes(self):
        return self.text().count(": publishing ")

    def held(self):
        """Changes that waited for min-publish-gap (logged once per gap)."""
        return self.text().count(" held back for ")

    def families(self):
        p = self.ws.run("status", "--json", config=self.config, check=0)
        (rec,) = json.loads(p.stdout)["records"]
        return {f["type"]: f for f in rec["families"]}

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGCONT)   # in case a test stopped it
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"daemon ignored SIGTERM:\n{self.text()[-3000:]}")
        assert rc == 0, self.text()[-3000:]
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in self.text(), self.text()[-4000:]


@pytest.fixture
def storm_daemon(ws, netns, nsknot):
    d = StormDaemon(ws, netns, nsknot)
    try:
        yield d
    finally:
        try:
            d.stop()
        finally:
            if d.proc is not None and d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait(timeout=10)


def v4(i):
    """Addresses falling with i: each one added is the lowest, so the
    policy's pick (permanent, then the lowest) moves to it."""
    return f"81.2.{200 - i // 250}.{250 - i % 250}"


def v6(i):
    return f"2a01:4f8:1:2::{0xffff - i:x}"


def flip_batch(pairs, start=0):
    """`pairs` steps per family: add the next (lower) address, remove the
    previous one; 4 * pairs changes, the desired address changing at each
    add.  Returns (batch text, final v4, final v6)."""
    lines = []
    for i in range(start, start + pairs):
        lines.append(f"addr add {v4(i + 1)}/32 dev dw0")
        lines.append(f"addr del {v4(i)}/32 dev dw0")
        lines.append(f"addr add {v6(i + 1)}/128 dev dw0 nodad")
        lines.append(f"addr del {v6(i)}/128 dev dw0")
    return "\n".join(lines) + "\n", v4(start + pairs), v6(start + pairs)


def ip_batch(netns, text):
    t0 = time.monotonic()
    subprocess.run(["ip", "-n", netns.name, "-batch", "-"], input=text, text=True,
                   check=True, capture_output=True, timeout=120)
    return time.monotonic() - t0


def published(knot, a, aaaa):
    return knot.query(HOST, "A", timeout=1) == [a] and knot.query(HOST, "AAAA", timeout=1) == [aaaa]


def test_storm_is_coalesced_with_bounded_cpu(ws, netns, nsknot, storm_daemon):
    d = storm_daemon
    netns.add(f"{v4(0)}/32")
    netns.add(f"{v6(0)}/128", flags=("nodad",))
    d.start()
    wait_for(lambda: published(nsknot, v4(0), v6(0)), "the first addresses")
    wait_for(lambda: d.text().count("updated") >= 2, "both first publishes done")
    time.sleep(0.3)   # let the first round settle before measuring
    pub0, upd0, cpu0, ns0 = d.publishes(), nsknot.updates(), d.cpu_s(), d.run_ns()

    pairs = 500
    batch, a, aaaa = flip_batch(pairs)
    changes = 4 * pairs
    t0 = time.monotonic()
    burst = ip_batch(netns, batch)
    wait_for(lambda: published(nsknot, a, aaaa), "the burst's final addresses", timeout=30)
    settle = time.monotonic() - t0
    time.sleep(0.5)   # anything still queued would show now
    assert published(nsknot, a, aaaa)
    cpu = d.cpu_s() - cpu0
    run_ms = (d.run_ns() - ns0) / 1e6
    pubs = d.publishes() - pub0
    upds = nsknot.updates() - upd0
    dumps = d.text().count("address dump:")
    print(f"storm: {changes} changes in {burst:.2f} s (ip -batch); final addresses published "
          f"{settle:.2f} s after it began; daemon CPU {cpu:.2f} s utime+stime, "
          f"{run_ms:.1f} ms by schedstat; {pubs} publishes "
          f"(A + AAAA), {upds} UPDATEs at Knot, {dumps} dumps in all")
    assert d.proc.poll() is None
    assert cpu < CPU_BOUND_S, f"{cpu:.2f} CPU seconds for {changes} changes"
    # Coalesced: a debounce window (50 ms, from the first event) gives at
    # most one publish per family, so publishes follow the burst's length,
    # not its number of changes.
    windows = burst / 0.05
    assert pubs <= 2 * (windows + 2), (pubs, burst)
    assert pubs <= changes / 50, pubs
    assert upds <= pubs


def test_sustained_storm_publishes_at_most_once_per_gap(ws, netns, nsknot, storm_daemon):
    """A flapping interface: 40 bursts of 100 changes, 50 ms apart (about
    2.5 s, 4000 changes).  The debounce counts from the first event, so the
    storm cannot postpone publishing, and without a minimum gap it published
    once per family per 50 ms window (up to 54 UPDATEs); min-publish-gap
    bounds it to one publish per family and gap, counted at the server, and
    the flap's final addresses are still published (at the end of a gap)."""
    d = storm_daemon
    netns.add(f"{v4(0)}/32")
    netns.add(f"{v6(0)}/128", flags=("nodad",))
    d.start()
    wait_for(lambda: published(nsknot, v4(0), v6(0)), "the first addresses")
    wait_for(lambda: d.text().count("updated") >= 2, "both first publishes done")
    time.sleep(0.3)
    pub0, upd0, cpu0, ns0 = d.publishes(), nsknot.updates(), d.cpu_s(), d.run_ns()
    rounds, pairs = 40, 25
    t0 = time.monotonic()
    for k in range(rounds):
        batch, a, aaaa = flip_batch(pairs, start=k * pairs)
        ip_batch(netns, batch)
        time.sleep(0.05)
    storm = time.monotonic() - t0
    wait_for(lambda: published(nsknot, a, aaaa), "the storm's final addresses", timeout=30)
    span = time.monotonic() - t0   # every publish counted started within it
    time.sleep(0.5)
    assert published(nsknot, a, aaaa)
    cpu = d.cpu_s() - cpu0
    run_ms = (d.run_ns() - ns0) / 1e6
    pubs = d.publishes() - pub0
    upds = nsknot.updates() - upd0
    changes = rounds * pairs * 4
    print(f"sustained storm: {changes} changes over {storm:.2f} s, final addresses published "
          f"{span:.2f} s after it began; daemon CPU {cpu:.2f} s utime+stime, {run_ms:.1f} ms "
          f"by schedstat; {pubs} publishes (A + AAAA), {upds} UPDATEs at Knot, "
          f"{d.held()} held-back lines (min-publish-gap = {GAP_S} s)")
    assert d.proc.poll() is None
    assert cpu < CPU_BOUND_S
    # Per family, publishes start at least GAP_S apart: within span seconds
    # at most span / GAP_S + 1 of them, for A and for AAAA.
    bound = 2 * (int(span // GAP_S) + 1)
    assert upds <= bound, (upds, span)
    assert pubs <= bound, (pubs, span)
    assert upds <= pubs
    assert d.held() >= 1   # changes did wait for the gap


def test_single_change_after_a_quiet_period_goes_out_at_once(ws, netns, nsknot, storm_daemon):
    """The gap holds back only changes that follow a publish closely: after
    a quiet period one change is one publish, never held; a second change
    right after it is held back once and then published."""
    d = storm_daemon
    netns.add(f"{v4(0)}/32")
    netns.add(f"{v6(0)}/128", flags=("nodad",))
    d.start()
    wait_for(lambda: published(nsknot, v4(0), v6(0)), "the first addresses")
    wait_for(lambda: d.text().count("updated") >= 2, "both first publishes done")
    # The quiet period: until the daemon says no gap runs any more.
    wait_for(lambda: not any("gap_in_ms" in f for f in d.families().values()),
             "the gaps after the first publishes to end", timeout=GAP_S + 20)
    assert d.held() == 0
    pub0, upd0 = d.publishes(), nsknot.updates()
    netns.add(f"{v4(1)}/32")          # lower: the policy's pick, A only changes
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == [v4(1)], "the changed A")
    wait_for(lambda: d.text().count("updated") >= 3, "its publish done")
    assert d.held() == 0, d.text()[-2000:]
    assert d.publishes() - pub0 == 1
    assert nsknot.updates() - upd0 == 1
    fams = d.families()
    assert fams["A"]["state"] == "in-sync" and "gap_in_ms" in fams["A"], fams
    assert "gap_in_ms" not in fams["AAAA"], fams   # each family has its own gap
    # A second change right after it waits for the gap, once.
    netns.add(f"{v4(2)}/32")
    wait_for(lambda: d.held() == 1, "the held-back line")
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == [v4(2)], "the held change")
    assert d.publishes() - pub0 == 2
    assert nsknot.updates() - upd0 == 2


def test_force_does_not_wait_for_the_gap(ws, netns, nsknot, storm_daemon):
    """min-publish-gap of an hour: only a force can publish the second
    change while the test runs."""
    d = storm_daemon
    netns.add(f"{v4(0)}/32")
    d.start(gap=3600)
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == [v4(0)], "the first A")
    netns.add(f"{v4(1)}/32")
    wait_for(lambda: d.held() == 1, "the held-back line")
    fam = d.families()["A"]
    assert fam["state"] == "held" and fam["desired"] == v4(1), fam
    assert fam["published"] == v4(0) and fam["gap_in_ms"] > 3000 * 1000, fam
    out = ws.run("status", config=d.config, check=0).stdout
    assert f"{HOST} A state=held desired={v4(1)} published={v4(0)}" in out, out
    assert " held-for=" in out, out
    assert nsknot.query(HOST, "A") == [v4(0)]
    p = ws.run("update", "--force", HOST, config=d.config, check=0)
    assert "through the running daemon" in p.stdout, p.stdout + p.stderr
    wait_for(lambda: nsknot.query(HOST, "A", timeout=1) == [v4(1)], "the forced A")
    assert d.families()["A"]["state"] == "in-sync"


def test_enobufs_redump_recovers(ws, netns, nsknot, storm_daemon):
    d = storm_daemon
    netns.add(f"{v4(0)}/32")
    netns.add(f"{v6(0)}/128", flags=("nodad",))
    d.start()
    wait_for(lambda: published(nsknot, v4(0), v6(0)), "the first addresses")
    # Far more events than a 1 MiB receive buffer holds, queued while the
    # daemon cannot read; many addresses stay, so the dumps are large too.
    n = 3000
    lines = [f"addr add {v4(i)}/32 dev dw0" for i in range(1, n + 1)]
    lines += [f"addr add {v6(i)}/128 dev dw0 nodad" for i in range(1, n + 1)]
    lines += [f"addr del {v4(i)}/32 dev dw0" for i in range(0, n + 1, 2)]
    lines += [f"addr del {v6(i)}/128 dev dw0" for i in range(0, n + 1, 2)]
    a, aaaa = v4(n - 1), v6(n - 1)   # the lowest left: the last odd index
    os.kill(d.proc.pid, signal.SIGSTOP)
    try:
        burst = ip_batch(netns, "\n".join(lines) + "\n")
        cpu0, ns0 = d.cpu_s(), d.run_ns()
    finally:
        os.kill(d.proc.pid, signal.SIGCONT)
    t0 = time.monotonic()
    wait_for(lambda: "events lost (ENOBUFS)" in d.text(), "the ENOBUFS re-dump line")
    wait_for(lambda: published(nsknot, a, aaaa), "the final addresses after ENOBUFS", timeout=30)
    took = time.monotonic() - t0
    time.sleep(0.3)
    cpu = d.cpu_s() - cpu0
    run_ms = (d.run_ns() - ns0) / 1e6
    print(f"ENOBUFS: {len(lines)} changes queued in {burst:.2f} s while stopped; after SIGCONT "
          f"the re-dump published {a} and {aaaa} in {took:.2f} s, CPU {cpu:.2f} s "
          f"utime+stime, {run_ms:.1f} ms by schedstat; "
          f"{d.text().count('events lost (ENOBUFS)')} ENOBUFS line(s)")
    assert d.proc.poll() is None
    assert cpu < CPU_BOUND_S
