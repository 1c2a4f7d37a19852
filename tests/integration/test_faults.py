"""Fault injection: providers and DNS servers that misbehave on the wire.

Faults come from the HTTPS emulators' wire modes (emulators/base.py:
hang, slow, reset, truncate, oversize, raw), their provider faults (429
with Retry-After, 5xx), certificates (expired, wrong host: fixtures/pki.py),
a DNS server that refuses, fails or never answers (emulators/dnsfault.py)
and a real Knot DNS that goes away and comes back.

For each fault:
  - `dnsward update` reports it once (one line on stderr), clearly, with
    the exit status of its class (1 retry, 3 needs the user) and no secret;
  - `dnsward run` keeps running and backs off with jitter: the number of
    requests it sends in an observation window is bounded by the backoff
    (base 1 s, doubling, each delay uniformly in [d/2, d]) and Retry-After
    is honoured to the second.

The daemon cases share one observation window (module fixture `storm`):
every faulty daemon runs at once, so the whole file stays well under a
minute.  docs/hostile.md has the matrix.
"""
import json
import os
import secrets
import signal
import subprocess
import time

import pytest

from conftest import Workspace, binary
from emulators.dnsfault import DnsFaultServer
from emulators.freedns import FreeDnsEmulator
from emulators.gandi import GandiEmulator

FD_HOST = "home.mooo.test"
G_ZONE = "example.org"
G_HOST = "home.example.org"
DNS_HOST = "host.example.test"
V4 = "81.2.69.160"

# A TSIG key for servers that never check it (dnsfault.py).
TSIG_SECRET = "c2VjcmV0LWtleS1mb3ItZmF1bHQtdGVzdHMtb25seS0xMjM0NTY3OA=="
TSIG_TEXT = f'key "fault-key" {{ algorithm hmac-sha256; secret "{TSIG_SECRET}"; }};'

WINDOW = 10.0         # daemon observation window, seconds
BACKOFF_BASE = 1.0    # backoff-base of the daemons below


def wait_for(pred, what, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---- configurations ---------------------------------------------------------


def daemon_section(ws):
    return (f"[dnsward]\nstate-dir = {ws.state_dir}\nbackoff-base = {int(BACKOFF_BASE)}\n"
            f"backoff-max = 60\n\n")


def fd_config(ws, emu, ca_file, token, timeout=2):
    tf = ws.secret("token-a", token)
    return ws.config(daemon_section(ws) + f"""[provider fd]
type = freedns
base-url = {emu.url}
base-url-v6 = {emu.url}
ca-file = {ca_file}
timeout = {timeout}

[record {FD_HOST}]
provider = fd
ipv4 = static:{V4}
ipv6 = off
token-a-file = {tf}
""")


def gandi_config(ws, emu, ca_file, token, timeout=2):
    tf = ws.secret("gandi-token", token)
    return ws.config(daemon_section(ws) + f"""[provider g]
type = gandi
base-url = {emu.url}
ca-file = {ca_file}
timeout = {timeout}
token-file = {tf}

[record {G_HOST}]
provider = g
ipv4 = static:{V4}
ipv6 = off
""")


def dns_config(ws, port, key_text=TSIG_TEXT, zone=True, timeout=1):
    kf = ws.secret("fault.key", key_text)
    return ws.config(daemon_section(ws) + f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {port}
key-file = {kf}
timeout = {timeout}
{"zone = example.test" if zone else ""}

[record {DNS_HOST}]
provider = own
ipv4 = static:{V4}
ipv6 = off
ttl = 60
""")


def new_fd_token():
    return secrets.token_hex(12)


def new_gandi_token():
    return "pat_" + secrets.token_hex(20)


# ---- `dnsward update`: one clear report, the right exit status --------------


def problem_lines(text):
    """Lines at notice level or above (the default log level): what a user
    or the journal sees."""
    return [line for line in text.splitlines() if line.strip()]


def check_report(proc, status, needles, secret_values, record):
    """Exactly one line on stderr, naming the record and the cause (every
    needle, or any of a tuple), printable ASCII, no secret."""
    out = proc.stdout + proc.stderr
    for s in secret_values:
        assert s not in out, f"secret leaked:\n{out}"
    assert proc.returncode == status, f"exit {proc.returncode}, expected {status}\n{out}"
    lines = problem_lines(proc.stderr)
    assert len(lines) == 1, f"expected one report, got:\n{proc.stderr}"
    line = lines[0]
    print(f"exit {proc.returncode}: {line}")
    assert record in line, line
    assert ": error: " in line, line
    for n in needles:
        alts = n if isinstance(n, tuple) else (n,)
        assert any(a in line for a in alts), f"{alts} not in {line!r}"
    assert all(0x20 <= ord(c) < 0x7f for c in line), f"non-ASCII byte reached the log: {line!r}"
    # The delay is said once (it used to come twice: "rate-limited, retry
    # after 7 s: FreeDNS rate limit (HTTP 429): retry after 7 s").
    assert line.count("retry after") <= 1 and line.count("rate-limited") == 0, line
    assert f"failed {record} A {V4}" in proc.stdout, proc.stdout


@pytest.fixture
def fd_emu(pki):
    e = FreeDnsEmulator(pki.server).start()
    yield e
    e.stop()


@pytest.fixture
def g_emu(pki):
    e = GandiEmulator(pki.server).start()
    yield e
    e.stop()


def fd_update(ws, emu, pki, setup, timeout=2, ca_file=None):
    tok = new_fd_token()
    emu.add_record(tok, FD_HOST, "A", "192.0.2.1")
    setup(emu, tok)
    cfg = fd_config(ws, emu, ca_file or pki.ca_file, tok, timeout=timeout)
    t0 = time.monotonic()
    proc = ws.run("update", config=cfg)
    return proc, tok, time.monotonic() - t0


# name -> (set-up on the emulator, exit status, what the line must say)
FD_FAULTS = {
    "slower-than-timeout": (lambda e, t: e.set_wire_fault("hang"), 1,
                            ["FreeDNS request failed", "timed out"]),
    "reset-mid-reply": (lambda e, t: e.set_wire_fault("reset", size=4096), 1,
                        ["FreeDNS request failed", ("reset", "Connection reset")]),
    "truncated-body": (lambda e, t: e.set_wire_fault("truncate", size=4096, sent=16), 1,
                       ["FreeDNS request failed",
                        ("remaining to read", "unexpected eof", "closed")]),
    "oversized-body": (lambda e, t: e.set_wire_fault("oversize", size=300 * 1024), 1,
                       ["reply larger than 262144 bytes"]),
    "oversized-chunked": (lambda e, t: e.set_wire_fault("oversize", size=300 * 1024,
                                                        chunked=True), 1,
                          ["reply larger than 262144 bytes"]),
    "trickle": (lambda e, t: e.set_wire_fault("trickle", interval=0.2), 1,
                ["FreeDNS request failed", "timed out"]),
    "invalid-utf8": (lambda e, t: e.set_wire_fault(
        "raw", status=200, headers=[("Content-Type", "text/plain; charset=utf-8")],
        body=b"Updated \xff\xfe\xc3\x28 from \xed\xa0\x80 to \xf8\x88\x80\x80\x80\n"), 1,
                     ["unparsable reply from FreeDNS"]),
    "nul-in-body": (lambda e, t: e.set_wire_fault(
        "raw", status=200, body=f"Updated {FD_HOST}\x00 from 192.0.2.1 to {V4}\n"), 1,
                    ["unparsable reply from FreeDNS"]),
    "429-retry-after": (lambda e, t: e.fault(t, "ratelimit", retry_after=7), 1,
                        ["FreeDNS rate limit (HTTP 429): retry after 7 s"]),
    "503": (lambda e, t: e.fault(t, "server-error", status=503), 1,
            ["FreeDNS server error (HTTP 503)"]),
}


@pytest.mark.parametrize("fault", list(FD_FAULTS))
def test_update_reports_http_fault_once(ws, fd_emu, pki, fault):
    setup, status, needles = FD_FAULTS[fault]
    proc, tok, took = fd_update(ws, fd_emu, pki, setup)
    check_report(proc, status, needles, [tok], FD_HOST)
    assert took < 10, f"{fault}: took {took:.1f} s with a 2 s timeout"
    assert len(fd_emu.requests) == 1     # one request, no retry inside a pass
    assert fd_emu.records and all(r.updates == 0 for r in fd_emu.records.values())


def test_update_slow_within_timeout_succeeds(ws, fd_emu, pki):
    proc, tok, took = fd_update(ws, fd_emu, pki,
                                lambda e, t: e.set_wire_fault("slow", delay=0.5), timeout=3)
    assert proc.returncode == 0, proc.stderr
    assert f"updated {FD_HOST} A {V4}" in proc.stdout
    assert problem_lines(proc.stderr) == []
    assert took >= 0.5


def test_update_slow_reply_is_cut_at_the_timeout(ws, fd_emu, pki):
    proc, tok, took = fd_update(ws, fd_emu, pki, lambda e, t: e.set_wire_fault("hang"),
                                timeout=1)
    check_report(proc, 1, ["timed out"], [tok], FD_HOST)
    assert 0.9 <= took < 5, took


def test_update_connection_refused(ws, pki):
    from fixtures.knot import free_port

    class Nobody:                    # a URL nobody listens on
        url = f"https://127.0.0.1:{free_port()}"

    tok = new_fd_token()
    proc = ws.run("update", config=fd_config(ws, Nobody, pki.ca_file, tok))
    check_report(proc, 1, ["FreeDNS request failed", ("Connection refused", "Couldn't connect")],
                 [tok], FD_HOST)


@pytest.mark.parametrize("which", ["expired", "wrong-host"])
def test_update_bad_certificate(ws, pki, which):
    emu = FreeDnsEmulator(pki.expired if which == "expired" else pki.wrong_host).start()
    try:
        proc, tok, _ = fd_update(ws, emu, pki, lambda e, t: None)
        needles = ["TLS verification failed", "needs your action"]
        needles.append("expired on" if which == "expired" else "the certificate is for wrong.test")
        check_report(proc, 3, needles, [tok], FD_HOST)
        assert emu.requests == []       # no HTTP request (and no token) got through
        if which == "expired":
            # Refused inside the handshake (the server thread notices on its
            # own time).  A wrong host name may be checked by the client
            # after a completed handshake: then the connection just closes.
            wait_for(lambda: emu.tls_failures >= 1, "the refused handshake", timeout=5)
    finally:
        emu.stop()


def g_rrset_get(req):
    return req.method == "GET" and req.path.endswith("/records/home/A")


G_FAULTS = {
    "invalid-json": (lambda e: e.set_wire_fault(
        "raw", when=g_rrset_get, status=200, headers=[("Content-Type", "application/json")],
        body=b'{"rrset_name": "home", "rrset_values": ["81.2.69.160"'), 1,
                     ["unparsable reply from Gandi"]),
    "invalid-utf8-json": (lambda e: e.set_wire_fault(
        "raw", when=g_rrset_get, status=200, headers=[("Content-Type", "application/json")],
        body=b'{"rrset_name": "home", "rrset_type": "A", "rrset_ttl": 300, '
             b'"rrset_values": ["81.2.69.160\xff\xfe"]}'), 1,
                          ["unparsable reply from Gandi"]),
    "json-wrong-types": (lambda e: e.set_wire_fault(
        "raw", when=g_rrset_get, status=200, headers=[("Content-Type", "application/json")],
        body=b'{"rrset_name": 5, "rrset_type": ["A"], "rrset_ttl": "300", '
             b'"rrset_values": {"a": 1}}'), 1,
                         ["unparsable reply from Gandi"]),
    "error-json-invalid": (lambda e: e.set_wire_fault(
        "raw", when=lambda r: r.method == "PUT", status=400,
        headers=[("Content-Type", "application/json")], body=b'{"code": 400, "message": \xff'),
                           3, ["Gandi refused the request (HTTP 400)"]),
    "502-on-put": (lambda e: e.fault(G_ZONE, "put-status", status=502), 1,
                   ["Gandi server error (HTTP 502)"]),
    "429-retry-after": (lambda e: e.fault(G_ZONE, "ratelimit", retry_after=30), 1,
                        ["Gandi rate limit (HTTP 429): retry after 30 s"]),
}


@pytest.mark.parametrize("fault", list(G_FAULTS))
def test_update_reports_json_fault_once(ws, g_emu, pki, fault):
    setup, status, needles = G_FAULTS[fault]
    tok = new_gandi_token()
    g_emu.add_token(tok)
    g_emu.add_zone(G_ZONE)
    setup(g_emu)
    proc = ws.run("update", config=gandi_config(ws, g_emu, pki.ca_file, tok))
    check_report(proc, status, needles, [tok], G_HOST)
    assert g_emu.writes == 0


@pytest.fixture
def dns_fault():
    servers = []

    def make(mode):
        s = DnsFaultServer(mode).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


# mode, zone configured, exit status, needles, messages the server may see.
# With a zone configured the first message is the signed look that comes
# before each UPDATE (its answer becomes the UPDATE's prerequisite): a
# server that refuses it or fails on it gets no UPDATE.
DNS_FAULTS = {
    "refused": ("refuse", True, 3, ["REFUSED", "query the zone"], (1, 1)),
    "refused-no-zone": ("refuse", False, 3, ["not authoritative for any zone", "REFUSED"], (4, 4)),
    "servfail": ("servfail", True, 1, ["SERVFAIL"], (1, 1)),
    "silent": ("silent", True, 1, ["no reply"], (1, 4)),
    "tcp-never-answers": ("tc-hang", True, 1, ["no reply", "TCP"], (2, 5)),
    "garbage-reply": ("garbage", True, 1, [("malformed", "unparsable", "unexpected reply")],
                      (1, 1)),
    "spoofed-id": ("wrong-id", True, 1, ["no reply"], (1, 4)),
}


@pytest.mark.parametrize("fault", list(DNS_FAULTS))
def test_update_reports_dns_fault_once(ws, dns_fault, fault):
    mode, zone, status, needles, (lo, hi) = DNS_FAULTS[fault]
    srv = dns_fault(mode)
    cfg = dns_config(ws, srv.port, zone=zone)
    t0 = time.monotonic()
    proc = ws.run("update", config=cfg)
    took = time.monotonic() - t0
    check_report(proc, status, needles, [TSIG_SECRET, TSIG_SECRET[:16]], DNS_HOST)
    assert lo <= srv.count() <= hi, (srv.count(), srv.messages)
    assert took < 6, took


# ---- `dnsward run`: bounded retries, jitter, Retry-After, no tight loop -----


class Daemon:
    def __init__(self, ws, config, name):
        self.ws = ws
        self.config = config
        self.name = name
        self.log = ws.path / "daemon.log"
        self.proc = None

    def start(self):
        env = dict(os.environ)
        for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "RUNTIME_DIRECTORY"):
            env.pop(k, None)
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen([binary("dnsward"), "-d", "-c", self.config, "run"],
                                         stdout=logf, stderr=subprocess.STDOUT, env=env)
        self.started = time.monotonic()
        return self

    def text(self):
        return self.log.read_text(errors="replace")

    def status(self):
        p = self.ws.run("status", "--json", config=self.config, check=0)
        return json.loads(p.stdout)

    def fam(self):
        (rec,) = self.status()["records"]
        (fam,) = rec["families"]
        return fam

    def stop(self, timeout=10):
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=timeout)
            raise AssertionError(f"{self.name}: daemon ignored SIGTERM")

    def error_lines(self, record):
        """Lines at warning level or above about record."""
        return [line for line in self.text().splitlines()
                if (": error: " in line or ": warning: " in line) and record in line]


def max_attempts(window, base=BACKOFF_BASE, floor=0.0, duration=0.0, cap=3600.0):
    """Most attempts that fit in window when every delay is at least half
    its nominal value (min(cap, base * 2^(n-1))) and at least floor
    (Retry-After), each attempt taking at least duration."""
    t, n, d = 0.0, 0, base
    while t <= window:
        n += 1
        t += duration + max(min(d, cap) / 2, floor)
        d *= 2
    return n


def gaps(times):
    return [b - a for a, b in zip(times, times[1:])]


class Scenario:
    """One daemon facing one fault; counted at the end of the window."""

    def __init__(self, name, record, daemon, count, times, per_attempt, kind, secret,
                 emulator=None, retry_after=None):
        self.name = name
        self.record = record
        self.daemon = daemon
        self.count = count              # callable: requests the fault saw so far
        self.times = times              # callable: their arrival times
        self.per_attempt = per_attempt  # (min, max) requests per attempt
        self.kind = kind                # "retry", "ratelimit", "fatal" or "needs-action"
        self.secret = secret
        self.emulator = emulator
        self.retry_after = retry_after


@pytest.fixture(scope="module")
def storm(pki, tmp_path_factory):
    """Starts one daemon per fault, all at once, watches them for WINDOW
    seconds, then records what each sent and logged."""
    closers = []
    scen = {}

    def workspace(name):
        p = tmp_path_factory.mktemp(f"storm-{name}")
        os.chmod(p, 0o755)
        return Workspace(p)

    def fd_case(name, setup, kind="retry", cert=None, timeout=2, retry_after=None,
                count_tls=False):
        emu = FreeDnsEmulator(cert or pki.server).start()
        closers.append(emu.stop)
        tok = new_fd_token()
        emu.add_record(tok, FD_HOST, "A", "192.0.2.1")
        setup(emu, tok)
        ws = workspace(name)
        d = Daemon(ws, fd_config(ws, emu, pki.ca_file, tok, timeout=timeout), name)
        if count_tls:
            # No HTTP request ever arrives: count TCP connections (a wrong
            # host name may be refused after a completed handshake).
            count, times = (lambda: emu.connections), (lambda: [])
        else:
            count, times = (lambda: len(emu.requests)), (lambda: [r.time for r in emu.requests])
        scen[name] = Scenario(name, FD_HOST, d, count, times, (1, 1), kind, tok, emu,
                              retry_after)

    def g_case(name, setup, kind="retry"):
        emu = GandiEmulator(pki.server).start()
        closers.append(emu.stop)
        tok = new_gandi_token()
        emu.add_token(tok)
        emu.add_zone(G_ZONE)
        setup(emu)
        ws = workspace(name)
        d = Daemon(ws, gandi_config(ws, emu, pki.ca_file, tok), name)
        # one GET of the record set per attempt (plus one zone probe,
        # whose answer is kept)
        scen[name] = Scenario(name, G_HOST, d, lambda: len(emu.requests),
                              lambda: [r.time for r in emu.requests if g_rrset_get(r)],
                              (1, 1), kind, tok, emu)
        scen[name].extra = 1

    def dns_case(name, mode, kind, per_attempt):
        srv = DnsFaultServer(mode).start()
        closers.append(srv.stop)
        ws = workspace(name)
        d = Daemon(ws, dns_config(ws, srv.port), name)
        scen[name] = Scenario(name, DNS_HOST, d, srv.count, srv.times, per_attempt, kind,
                              TSIG_SECRET)

    fd_case("5xx-storm", lambda e, t: e.fault(t, "server-error", status=503))
    fd_case("429-retry-after", lambda e, t: e.fault(t, "ratelimit", retry_after=3),
            kind="ratelimit", retry_after=3)
    fd_case("429-retry-after-0", lambda e, t: e.fault(t, "ratelimit", retry_after=0),
            kind="ratelimit")
    fd_case("slower-than-timeout", lambda e, t: e.set_wire_fault("hang"), timeout=1)
    fd_case("reset-mid-reply", lambda e, t: e.set_wire_fault("reset"))
    fd_case("truncated-body", lambda e, t: e.set_wire_fault("truncate"))
    fd_case("oversized-body", lambda e, t: e.set_wire_fault("oversize"))
    # A refused certificate needs the user but is not parked: a renewed
    # certificate or a CA bundle update fixes it, so it keeps backing off.
    fd_case("expired-certificate", lambda e, t: None, kind="needs-action", cert=pki.expired,
            count_tls=True)
    fd_case("wrong-host-certificate", lambda e, t: None, kind="needs-action",
            cert=pki.wrong_host, count_tls=True)
    g_case("invalid-json", G_FAULTS["invalid-json"][0])
    g_case("invalid-utf8-json", G_FAULTS["invalid-utf8-json"][0])
    dns_case("dns-refused", "refuse", "fatal", (1, 1))   # the look only, no UPDATE
    dns_case("dns-servfail", "servfail", "retry", (2, 2))
    dns_case("dns-silent", "silent", "retry", (1, 4))

    try:
        for s in scen.values():
            s.daemon.start()
        for s in scen.values():
            wait_for(lambda: s.daemon.proc.poll() is not None or "running:" in s.daemon.text(),
                     f"{s.name}: the daemon to start")
        end = max(s.daemon.started for s in scen.values()) + WINDOW
        # The observation window itself: "no more than N requests in T".
        while time.monotonic() < end:
            for s in scen.values():
                assert s.daemon.proc.poll() is None, f"{s.name}: daemon exited\n{s.daemon.text()}"
            time.sleep(0.2)
        result = {}
        for name, s in scen.items():
            s.window = time.monotonic() - s.daemon.started
            s.sent = s.count()
            s.arrivals = list(s.times())
            s.fam = s.daemon.fam()
            s.alive = s.daemon.proc.poll() is None
            t0 = time.monotonic()
            s.exit = s.daemon.stop()
            s.stop_took = time.monotonic() - t0
            s.log = s.daemon.text()
            result[name] = s
        yield result
    finally:
        for s in scen.values():
            if s.daemon.proc is not None and s.daemon.proc.poll() is None:
                s.daemon.proc.kill()
                s.daemon.proc.wait(timeout=10)
        for c in closers:
            c()


STORM = ["5xx-storm", "429-retry-after", "429-retry-after-0", "slower-than-timeout", "reset-mid-reply",
         "truncated-body", "oversized-body", "expired-certificate", "wrong-host-certificate",
         "invalid-json", "invalid-utf8-json", "dns-refused", "dns-servfail", "dns-silent"]

# Time one attempt takes at least (the timeout it waits out).
ATTEMPT_DURATION = {"slower-than-timeout": 1.0, "dns-silent": 1.0}


@pytest.mark.parametrize("name", STORM)
def test_daemon_survives_and_bounds_requests(storm, name):
    s = storm[name]
    print(f"{name}: {s.sent} requests in {s.window:.1f} s; gaps "
          f"{[round(g, 2) for g in gaps(s.arrivals)]}; state {s.fam['state']}, "
          f"failures {s.fam['failures']}")
    assert s.alive, s.log
    assert s.exit == 0 and s.stop_took < 6, (s.exit, s.stop_took)
    assert s.secret not in s.log
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in s.log
    lo, hi = s.per_attempt
    if s.kind == "fatal":
        # Parked after the first attempt: nothing more until the user acts.
        assert s.fam["state"] == "parked", s.fam
        assert lo <= s.sent <= hi, s.sent
        return
    floor = s.retry_after or 0.0
    bound = max_attempts(s.window, floor=floor, duration=ATTEMPT_DURATION.get(name, 0.0))
    # extra: requests outside the attempts (Gandi's one zone probe)
    extra = getattr(s, "extra", 0)
    assert s.sent <= bound * hi + extra, f"{s.sent} requests in {s.window:.1f} s: bound {bound}"
    assert s.sent >= 2 * lo, f"{name}: gave up retrying ({s.sent} requests)"
    assert s.fam["state"] in ("backoff", "publishing", "pending"), s.fam
    assert s.fam["failures"] >= 2
    expected = {"ratelimit": "rate-limited", "needs-action": "needs-action"}.get(s.kind, "retry")
    assert s.fam["last_result"] == expected, s.fam


def test_daemon_backoff_doubles_with_jitter(storm):
    """Gaps between attempts follow base * 2^(n-1), each anywhere in
    [d/2, d]: never shorter (no tight loop) and, across the faults, not all
    at the same point of the range (jitter)."""
    ratios = []
    for name in ("5xx-storm", "429-retry-after-0", "reset-mid-reply", "truncated-body",
                 "oversized-body", "invalid-json", "invalid-utf8-json"):
        s = storm[name]
        for n, g in enumerate(gaps(s.arrivals), start=1):
            d = BACKOFF_BASE * 2 ** (n - 1)
            assert g >= d / 2 - 0.05, f"{name}: retry {n} after {g:.2f} s, backoff {d} s"
            assert g <= d + 1.0, f"{name}: retry {n} after {g:.2f} s, backoff {d} s"
            ratios.append(g / d)
    print("gap / nominal delay:", [round(r, 2) for r in ratios])
    assert len(ratios) >= 6
    assert min(ratios) < 0.9 and max(ratios) - min(ratios) > 0.1, ratios


def test_daemon_honours_retry_after_exactly(storm):
    s = storm["429-retry-after"]
    g = gaps(s.arrivals)
    assert len(g) >= 2, s.arrivals
    for n, x in enumerate(g, start=1):
        # Retry-After: 3 is a floor over the backoff (1 s, 2 s, 4 s ...
        # nominal): the first two retries come exactly when it has passed;
        # later ones when the longer of the two has.
        d = BACKOFF_BASE * 2 ** (n - 1)
        assert 3.0 - 0.05 <= x <= max(3.0, d) + 0.6, g
        if d <= 3.0:
            assert x <= 3.0 + 0.6, g


def test_daemon_certificate_failures_send_no_request(storm):
    for name in ("expired-certificate", "wrong-host-certificate"):
        s = storm[name]
        assert s.emulator.requests == [], f"{name}: an HTTP request got through"
        assert "TLS verification failed" in s.log


def test_daemon_dns_refused_parks_once(storm):
    s = storm["dns-refused"]
    assert "REFUSED" in s.log and "parked" in s.log
    assert len(s.daemon.error_lines(DNS_HOST)) == 1


@pytest.mark.parametrize("name", [n for n in STORM if n != "dns-refused"])
def test_daemon_logs_each_problem_once(storm, name):
    s = storm[name]
    lines = s.daemon.error_lines(s.record)
    assert len(lines) == 1, f"{len(lines)} lines for one problem:\n" + "\n".join(lines)


def test_daemon_knot_down_then_back(ws, knot):
    """A real Knot DNS that goes away: the daemon retries with backoff while
    it is down and publishes on the first retry after it is back."""
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
backoff-base = 1
backoff-max = 2

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}
zone = example.test
timeout = 1

[record {DNS_HOST}]
provider = own
ipv4 = static:{V4}
ipv6 = off
ttl = 60
""")
    knot.stop()
    d = Daemon(ws, cfg, "knot-down").start()
    try:
        wait_for(lambda: d.proc.poll() is not None or "running:" in d.text(), "start")
        wait_for(lambda: d.fam()["failures"] >= 2, "two failed attempts", timeout=10)
        assert d.proc.poll() is None
        down_for = time.monotonic() - d.started
        knot.start()
        back = time.monotonic()
        wait_for(lambda: d.fam()["state"] == "in-sync", "published after Knot came back",
                 timeout=10)
        print(f"published {time.monotonic() - back:.1f} s after Knot was back "
              f"(down for {down_for:.1f} s)")
        # Backoff at most 2 s: the first retry after Knot is back publishes.
        assert time.monotonic() - back < 2.0 + 2.0
        assert knot.query(DNS_HOST, "A") == [V4]
        fails = [line for line in d.error_lines(DNS_HOST)]
        assert len(fails) <= max_attempts(time.monotonic() - d.started, cap=2.0), fails
        assert knot.keys["host"].secret not in d.text()
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(timeout=10)
