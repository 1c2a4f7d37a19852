"""Crash consistency: SIGKILL at random moments, then restart.

dnsward run: records published through a dyndns2 HTTPS emulator that
answers after a random delay (so kills land while requests are in flight,
before or after the provider applied them); addresses change by rewriting
static sources and SIGHUP, or while the daemon is dead.  After every kill
state.json must be valid JSON of the expected layout; after every restart
the daemon must send nothing for an address the state file recorded, and
at most once for one it did not; in the end every record holds its final
address.  The RNG seed is printed (DNSWARD_CRASH_SEED=N replays a run).

dnsward-gateway: threads hammer /nic/update for many hosts, the gateway is
SIGKILLed, the SQLite database must pass integrity_check, every value a
client was told "good" or "911" for (or one sent after it and never
answered: the gateway may have stored it before a kill, also in an earlier
phase) is the stored desired value, and after a restart the background retry
brings each host's stored value into Knot.

Every process is killed and waited for in finally blocks.
"""
import base64
import http.client
import ipaddress
import json
import os
import pathlib
import random
import signal
import sqlite3
import ssl
import subprocess
import threading
import time

import pytest

from conftest import binary
from emulators.dyndns2 import Dyndns2Emulator
from test_gateway import Gateway

USER = "crash@example.net"
RECORDS = [f"r{i}.dyn.test" for i in range(4)]
STATE_KEYS = {"fqdn", "family", "provider", "address", "updated"}


def wait_for(pred, what, timeout=20.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


RESULT_KEYS = {"fqdn", "family", "provider", "outcome", "address", "message", "since"}


def seed_of(name):
    s = os.environ.get("DNSWARD_CRASH_SEED")
    seed = int(s) if s else random.SystemRandom().randrange(1 << 32)
    print(f"{name}: seed {seed} (DNSWARD_CRASH_SEED={seed} replays it)")
    return seed


def check_sanitizers(text, what):
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in text, f"sanitizer report from {what}:\n{text[-4000:]}"


def read_state(state_dir):
    """state.json checked for its layout: {(fqdn, family): address}."""
    p = state_dir / "state.json"
    if not p.exists():
        return {}
    text = p.read_text()
    data = json.loads(text)   # a torn file fails here
    # "results" and "memos" are optional (lib/state.h): the last result of
    # each record and providers' notes.
    assert isinstance(data, dict) and {"version", "records"} <= set(data) <= \
        {"version", "records", "results", "memos"}, text
    assert data["version"] == 1 and isinstance(data["records"], list), text
    for r in data.get("results", []):
        assert isinstance(r, dict) and set(r) == RESULT_KEYS, r
        assert r["family"] in ("ipv4", "ipv6") and isinstance(r["since"], int), r
        assert r["address"] == "" or ipaddress.ip_address(r["address"]), r
    for m in data.get("memos", []):
        assert isinstance(m, dict) and set(m) == {"fqdn", "provider", "memo"}, m
    out = {}
    for e in data["records"]:
        assert isinstance(e, dict) and set(e) == STATE_KEYS, e
        assert e["family"] in ("ipv4", "ipv6") and isinstance(e["updated"], int), e
        ip = ipaddress.ip_address(e["address"])
        assert ip.version == (4 if e["family"] == "ipv4" else 6), e
        key = (e["fqdn"], e["family"])
        assert key not in out, f"duplicate entry {key}: {text}"
        out[key] = e["address"]
    return out


def temp_files(state_dir):
    return sorted(p.name for p in state_dir.iterdir() if p.name.startswith("state.json.tmp"))


class SlowDyndns2(Dyndns2Emulator):
    """Applies an update after a random delay and answers after another:
    a kill in the second delay is "the provider has it, the daemon does not
    know"."""

    def __init__(self, cert, seed):
        super().__init__(cert)
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()
        self.log = []   # (arrival time, hostname, myip, first word of the answer)
        self.active = 0   # requests being handled now

    def delays(self):
        with self.rng_lock:
            return self.rng.uniform(0, 0.08), self.rng.uniform(0, 0.12)

    def handle(self, req):
        before, after = self.delays()
        with self.lock:
            self.active += 1
        try:
            time.sleep(before)
            reply = super().handle(req)
            with self.lock:
                self.log.append((req.time, req.query.get("hostname", [""])[-1],
                                 req.query.get("myip", [""])[-1],
                                 reply.body.decode(errors="replace").split(" ")[0].strip()))
            time.sleep(after)
            return reply
        finally:
            with self.lock:
                self.active -= 1


class DaemonProc:
    """One "dnsward -d run"; kill() is SIGKILL, stop() SIGTERM."""

    def __init__(self, ws, config, tag):
        self.ws = ws
        self.config = config
        self.log = ws.path / f"daemon-{tag}.log"
        self.proc = None

    def start(self):
        env = dict(os.environ)
        for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "RUNTIME_DIRECTORY"):
            env.pop(k, None)
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen([binary("dnsward"), "-d", "-c", self.config, "run"],
                                         stdout=logf, stderr=subprocess.STDOUT, env=env)
        wait_for(lambda: self.proc.poll() is not None or "running:" in self.text(),
                 "the daemon to start")
        assert self.proc.poll() is None, self.text()
        return self

    def text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"daemon ignored SIGTERM:\n{self.text()[-3000:]}")


class CrashSetup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.password = "pw-" + os.urandom(8).hex()
        emu.add_account(USER, self.password)
        for r in RECORDS:
            emu.add_host(r, owner=USER)
        self.pwfile = ws.secret("dd.password", self.password)
        self.serial = 0
        self.desired = {r: self.new_addr() for r in RECORDS}
        self.path = ws.path / "dnsward.conf"
        self.write()

    def new_addr(self):
        """A fresh public address, never used before in the run."""
        self.serial += 1
        return f"81.2.{self.serial // 250}.{self.serial % 250 + 1}"

    def write(self):
        lines = [
            "[dnsward]", f"state-dir = {self.ws.state_dir}", "backoff-base = 1",
            "backoff-max = 2", "",
            "[provider dd]", "type = dyndns2", f"base-url = {self.emu.url}",
            f"ca-file = {self.pki.ca_file}", "timeout = 5", f"username = {USER}",
            f"password-file = {self.pwfile}", "",
        ]
        for r in RECORDS:
            lines += [f"[record {r}]", "provider = dd", f"ipv4 = static:{self.desired[r]}",
                      "ipv6 = off", ""]
        tmp = self.path.with_suffix(".new")
        tmp.write_text("\n".join(lines))
        os.replace(tmp, self.path)   # the daemon never reads half a file

    def change(self, rng):
        for r in rng.sample(RECORDS, rng.randint(1, len(RECORDS))):
            self.desired[r] = self.new_addr()
        self.write()


@pytest.fixture
def crash(ws, pki):
    seed = seed_of("crash")
    emu = SlowDyndns2(pki.server, seed + 1)
    emu.start()
    try:
        yield CrashSetup(ws, emu, pki), random.Random(seed)
    finally:
        emu.stop()


# ---- dnsward run ---------------------------------------------------------------

KILLS = 50


def test_daemon_sigkill_at_random_moments(crash):
    setup, rng = crash
    emu, ws = setup.emu, setup.ws
    lifetimes = []   # (start, end, state recorded at start, daemon)
    kills_in_flight = 0
    orphaned = 0     # applied by the provider, not in state.json after the kill
    leftovers_max = 0
    t_begin = time.monotonic()
    d = None
    try:
        for i in range(KILLS):
            recorded = read_state(ws.state_dir)
            if rng.random() < 0.3:
                setup.change(rng)          # changed while no daemon runs
            d = DaemonProc(ws, str(setup.path), i)
            t0 = time.monotonic()
            d.start()
            for _ in range(rng.randint(0, 3)):
                time.sleep(rng.uniform(0, 0.12))
                setup.change(rng)
                d.proc.send_signal(signal.SIGHUP)
            time.sleep(rng.uniform(0, 0.25))
            in_flight = emu.active > 0
            kills_in_flight += in_flight
            d.kill()
            t1 = time.monotonic()
            check_sanitizers(d.text(), f"daemon {i}")
            lifetimes.append((t0, t1, recorded, d))
            after = read_state(ws.state_dir)       # valid after the kill
            with emu.lock:
                applied = {(h, ip) for (t, h, ip, ans) in emu.log if t0 <= t < t1}
            orphaned += sum(1 for h, ip in applied if after.get((h, "ipv4")) != ip)
            leftovers_max = max(leftovers_max, len(temp_files(ws.state_dir)))
        # The last life: no kill; everything must arrive.
        recorded = read_state(ws.state_dir)
        d = DaemonProc(ws, str(setup.path), "final")
        t0 = time.monotonic()
        d.start()
        want = {(r, "ipv4"): setup.desired[r] for r in RECORDS}
        wait_for(lambda: all(emu.hosts[r].a == setup.desired[r] for r in RECORDS),
                 "every record's final address at the provider")
        wait_for(lambda: {k: v for k, v in read_state(ws.state_dir).items() if k in want} == want,
                 "the state file to record every final address")
        time.sleep(0.3)   # nothing more may be sent once in sync
        assert d.stop() == 0
        lifetimes.append((t0, time.monotonic(), recorded, d))
        check_sanitizers(d.text(), "final daemon")
    finally:
        if d is not None:
            d.kill()
    elapsed = time.monotonic() - t_begin

    # Every request in the life of the daemon that sent it.
    with emu.lock:
        log = list(emu.log)
    assert len(log) == len(emu.requests)
    needless = 0
    for t0, t1, recorded, dp in lifetimes:
        mine = [(h, ip, ans) for (t, h, ip, ans) in log if t0 <= t < t1]
        pairs = [(h, ip) for h, ip, _ in mine]
        dup = {p for p in pairs if pairs.count(p) > 1}
        assert not dup, f"sent twice within one life: {dup}\n{dp.text()[-3000:]}"
        for h, ip, ans in mine:
            assert ans in ("good", "nochg"), (h, ip, ans)
            assert recorded.get((h, "ipv4")) != ip, (
                f"{h} {ip} was in state.json at start, and sent again\n{dp.text()[-3000:]}")
            if ans == "nochg":
                needless += 1
    sent = len(log)
    print(f"{KILLS} kills in {elapsed:.1f} s ({kills_in_flight} with a request in flight), "
          f"{sent} requests, {needless} re-sent after a kill before the state recorded them "
          f"(of {orphaned} applied but not recorded at a kill), "
          f"at most {leftovers_max} temporary state file(s) left at once")
    # A re-send is allowed only for an address the provider applied and the
    # state file had not recorded when the daemon died (checked per life
    # above: nothing recorded is sent again); an address superseded before
    # the restart is not re-sent at all, hence <= rather than ==.
    assert needless <= orphaned
    assert elapsed < 75


def test_stale_state_temp_files_do_not_accumulate(crash):
    """A daemon killed between creating state.json.tmp.PID and renaming it
    leaves that file behind; the next daemon has another pid, so the files
    add up, one per such kill.  Plant two as two killed daemons would."""
    setup, _ = crash
    ws = setup.ws
    dead = []
    for _ in range(2):
        p = subprocess.Popen(["true"])
        p.wait()
        dead.append(p.pid)
    for pid in dead:
        (ws.state_dir / f"state.json.tmp.{pid}").write_text('{"version": 1, "rec')
    d = DaemonProc(ws, str(setup.path), "stale")
    try:
        d.start()
        wait_for(lambda: len(read_state(ws.state_dir)) == len(RECORDS), "every record saved")
        assert d.stop() == 0
    finally:
        d.kill()
    left = temp_files(ws.state_dir)
    print(f"temporary state files after a clean run: {left}")
    assert len(left) <= 1, left


# ---- dnsward-gateway -------------------------------------------------------------

GW_HOSTS = [f"load{i:02d}.example.test" for i in range(32)]
GW_THREADS = 8
GW_PHASES = 6
GW_KNOT_DOWN = (2, 5)   # phases in which Knot stops halfway: 911s, rows left pending


def gw_kill(g):
    """SIGKILL the gateway (if running) and forget the process."""
    if g.proc is None:
        return
    if g.proc.poll() is None:
        g.proc.kill()
    g.proc.wait(timeout=10)
    g.proc.stdout.close()
    g.logf.close()
    g.proc = None


def integrity_of_copy(db, into):
    """PRAGMA integrity_check on a copy of the database and its WAL, as the
    kill left them (the gateway recovers the original itself)."""
    into.mkdir(exist_ok=True)
    for suffix in ("", "-wal"):
        src = pathlib.Path(str(db) + suffix)
        dst = into / ("gateway.db" + suffix)
        if dst.exists():
            dst.unlink()
        if src.exists():
            dst.write_bytes(src.read_bytes())
    con = sqlite3.connect(str(into / "gateway.db"))
    try:
        check = con.execute("PRAGMA integrity_check").fetchall()
        desired = dict(con.execute(
            "SELECT h.fqdn, r.value FROM records r JOIN hosts h ON h.id = r.host_id "
            "WHERE r.rtype = 'A'").fetchall())
        pending = con.execute("SELECT count(*) FROM records WHERE applied = 0").fetchone()[0]
        return check, desired, pending
    finally:
        con.close()


class Hammer:
    """Threads sending one new address after another for their own hosts;
    each remembers per host the last value answered good/911 and the one
    still unanswered when the connection died."""

    def __init__(self, g, seed):
        self.g = g
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.acked = {}        # host -> last value answered good or 911
        # host -> values sent since the last answer, none answered (each
        # may have been stored before a kill; the latest stored one stays)
        self.unanswered = {}
        self.answers = {}
        self.serial = 0

    def value(self):
        with self.lock:
            self.serial += 1
            return f"81.2.{100 + self.serial // 250}.{self.serial % 250 + 1}"

    def client(self, hosts, url, stop):
        hostport = url.split("://", 1)[1]
        ctx = ssl.create_default_context(cafile=self.g.pki.ca_file)
        conn = http.client.HTTPSConnection(hostport, context=ctx, timeout=15)
        k = 0
        try:
            while not stop.is_set():
                h = hosts[k % len(hosts)]
                k += 1
                v = self.value()
                auth = base64.b64encode(f"{h}:{self.g.tokens[h]}".encode()).decode()
                with self.lock:
                    self.unanswered.setdefault(h, []).append(v)
                try:
                    conn.request("GET", f"/nic/update?hostname={h}&myip={v}",
                                 headers={"Authorization": "Basic " + auth})
                    resp = conn.getresponse()
                    body = resp.read().decode()
                except (OSError, http.client.HTTPException):
                    return   # killed: this host's value stays "unanswered"
                word = body.split()[0] if body.split() else f"HTTP {resp.status}"
                with self.lock:
                    self.answers[word] = self.answers.get(word, 0) + 1
                    if word in ("good", "911"):
                        self.acked[h] = v
                        del self.unanswered[h]
                    else:
                        raise AssertionError(f"{h} {v}: unexpected answer {resp.status} {body!r}")
        finally:
            conn.close()

    def phase(self, url, duration):
        stop = threading.Event()
        threads = [threading.Thread(target=self.client,
                                    args=(GW_HOSTS[i::GW_THREADS], url, stop), daemon=True)
                   for i in range(GW_THREADS)]
        for t in threads:
            t.start()
        return stop, threads


def test_gateway_sigkill_under_load(ws, knot, pki):
    seed = seed_of("gateway")
    rng = random.Random(seed)
    g = Gateway(ws, knot, pki, extra="rate = 100000\nrate-source = 1000000\n"
                                     "max-connections = 1000\nmax-connections-per-source = 1000\n"
                                     "upstream-wait = 2\nretry-max = 2")
    for h in GW_HOSTS:
        g.add(h)
    ham = Hammer(g, seed)
    t_begin = time.monotonic()
    threads = []
    stop = threading.Event()
    pending_at_kill = []
    try:
        for phase in range(GW_PHASES):
            if knot.proc.poll() is not None:
                knot.start()
            g.start(debug=False)
            stop, threads = ham.phase(g.url, None)
            if phase in GW_KNOT_DOWN:
                time.sleep(rng.uniform(0.5, 1.0))
                knot.stop()
            time.sleep(rng.uniform(0.8, 2.0))
            gw_kill(g)
            stop.set()
            for t in threads:
                t.join(timeout=20)
                assert not t.is_alive(), "a client thread hangs"
            check_sanitizers(g.log(), "dnsward-gateway serve")
            check, desired, pending_rows = integrity_of_copy(g.db, ws.path / f"copy{phase}")
            pending_at_kill.append(pending_rows)
            assert check == [("ok",)], check
            with ham.lock:
                for h in GW_HOSTS:
                    # A host never answered may have nothing stored: its
                    # requests died queued, before their commit.
                    allowed = {ham.acked.get(h)} | set(ham.unanswered.get(h, []))
                    if allowed:
                        assert desired.get(h) in allowed, (
                            f"{h}: stored {desired.get(h)}, answered {ham.acked.get(h)}, "
                            f"unanswered {ham.unanswered.get(h)}")
        # After the last restart, no clients: the background retry must
        # bring every stored value into Knot.
        assert knot.proc.poll() is not None and pending_at_kill[-1] > 0
        knot.start()
        g.start(debug=False)
        t_restart = time.monotonic()

        def pending():
            con = sqlite3.connect(str(g.db), timeout=10)
            try:
                return con.execute("SELECT count(*) FROM records WHERE applied = 0").fetchone()[0]
            finally:
                con.close()
        wait_for(lambda: pending() == 0, "every stored value applied upstream", timeout=40,
                 interval=0.2)
        con = sqlite3.connect(str(g.db), timeout=10)
        try:
            stored = dict(con.execute(
                "SELECT h.fqdn, r.value FROM records r JOIN hosts h ON h.id = r.host_id "
                "WHERE r.rtype = 'A'").fetchall())
        finally:
            con.close()
        converge = time.monotonic() - t_restart
        wrong = {h: (v, knot.query(h, "A")) for h, v in stored.items() if knot.query(h, "A") != [v]}
        assert not wrong, f"stored value not in Knot: {wrong}\n{g.log()[-3000:]}"
        assert set(ham.acked) <= set(stored) <= set(ham.acked) | set(ham.unanswered)
        g.stop()
    finally:
        stop.set()
        gw_kill(g)
        for t in threads:
            t.join(timeout=20)
    print(f"gateway: {GW_PHASES} kills under load in {time.monotonic() - t_begin:.1f} s, "
          f"{GW_THREADS} client threads, {len(GW_HOSTS)} hosts, answers {ham.answers}, "
          f"integrity_check ok after every kill, rows not yet applied at each kill "
          f"{pending_at_kill}, all {len(stored)} stored values in Knot "
          f"{converge:.1f} s after the last restart")
    for t in g.tokens.values():
        assert t not in g.log()
