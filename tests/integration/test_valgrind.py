"""valgrind memcheck over full update cycles of both programs.

  - `dnsward update` publishing to Knot (rfc2136, TSIG), to an HTTPS emulator
    (FreeDNS), failing at another (Gandi answering 502) and refused by a DNS
    server (REFUSED): every provider path, success and failure, in one run;
  - `dnsward run`: start, publish (one record succeeds, one keeps failing
    and backs off), SIGTERM;
  - `dnsward-gateway`: `host add`, then `serve` answering a few dyndns2
    requests (good, nochg, bad credentials, unknown path) into Knot, SIGTERM.

Each must end with no memcheck error and no definite or indirect leak
(--error-exitcode=99).  The seccomp filter is off (valgrind makes system
calls of its own that no allowlist expects), and the tests are skipped for
sanitizer builds (scripts/test.sh --sanitize exports DNSWARD_SANITIZE=1; the
build's own options are checked too), where ASan already checks memory and
valgrind cannot run the binaries.
"""
import base64
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BUILD, binary
from emulators.dnsfault import DnsFaultServer
from emulators.freedns import FreeDnsEmulator
from emulators.gandi import GandiEmulator

VALGRIND = shutil.which("valgrind")
HOST = "host.example.test"
FD_HOST = "home.mooo.test"
G_HOST = "home.example.org"
REF_HOST = "ref.example.test"
V4 = "81.2.69.160"


def sanitizer_build():
    if os.environ.get("DNSWARD_SANITIZE") == "1":
        return True
    try:
        opts = json.loads((BUILD / "meson-info" / "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return False
    return any(o["name"] in ("sanitize", "b_sanitize") and o["value"] not in (False, "none")
               for o in opts)


pytestmark = [
    pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed "
                       "(scripts/deps.sh test installs it)"),
    pytest.mark.skipif(sanitizer_build(), reason="sanitizer build: AddressSanitizer checks "
                       "memory there, and valgrind cannot run ASan binaries"),
]


def vg(log, *cmd):
    return [VALGRIND, "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--num-callers=30", f"--log-file={log}", *cmd]


def check_log(log, proc_rc):
    text = log.read_text(errors="replace") if log.exists() else ""
    assert proc_rc != 99, f"valgrind found errors:\n{text[-20000:]}"
    # --quiet prints only errors and leaks: nothing at all when clean.
    assert not re.search(r"(Invalid|uninitialised|definitely lost|indirectly lost|"
                         r"Mismatched free|Syscall param)", text), text[-20000:]


def env():
    e = dict(os.environ)
    for k in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "RUNTIME_DIRECTORY"):
        e.pop(k, None)
    return e


def wait_for(pred, what, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture
def providers(ws, knot, pki):
    """A configuration with four records on four providers: Knot (works),
    FreeDNS (works), Gandi (502 on every write) and a DNS server that
    refuses everything (fatal)."""
    fd = FreeDnsEmulator(pki.server).start()
    g = GandiEmulator(pki.server).start()
    ref = DnsFaultServer("refuse").start()
    try:
        fd_tok = "a1b2c3d4e5f6a7b8c9d0e1f2"
        fd.add_record(fd_tok, FD_HOST, "A", "192.0.2.1")
        g_tok = "pat_" + "ab" * 20
        g.add_token(g_tok)
        g.add_zone("example.org")
        g.fault("example.org", "put-status", status=502)
        kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
        rk = ws.secret("ref.key", knot.keys["other"].keymgr_text)
        cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
seccomp = no
backoff-base = 1
backoff-max = 2

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[provider refusing]
type = rfc2136
server = 127.0.0.1
port = {ref.port}
key-file = {rk}
zone = example.test
timeout = 1

[provider fd]
type = freedns
base-url = {fd.url}
base-url-v6 = {fd.url}
ca-file = {pki.ca_file}
timeout = 5

[provider g]
type = gandi
base-url = {g.url}
ca-file = {pki.ca_file}
timeout = 5
token-file = {ws.secret("gandi-token", g_tok)}

[record {HOST}]
provider = own
ipv4 = static:{V4}
ipv6 = static:2a01:4f8:1:2::3
ttl = 60

[record {FD_HOST}]
provider = fd
ipv4 = static:{V4}
ipv6 = off
token-a-file = {ws.secret("token-a", fd_tok)}

[record {G_HOST}]
provider = g
ipv4 = static:{V4}
ipv6 = off

[record {REF_HOST}]
provider = refusing
ipv4 = static:{V4}
ipv6 = off
""")
        yield cfg, fd, g, ref
    finally:
        fd.stop()
        g.stop()
        ref.stop()


def test_update_cycle_is_memcheck_clean(ws, knot, providers):
    cfg, fd, g, ref = providers
    log = ws.path / "valgrind-update.log"
    p = subprocess.run(vg(log, binary("dnsward"), "-d", "-c", cfg, "update"),
                       capture_output=True, text=True, timeout=120, env=env())
    check_log(log, p.returncode)
    # Fatal (REFUSED) wins over retry (502): status 3; the others published.
    assert p.returncode == 3, p.stdout + p.stderr
    out = p.stdout.splitlines()
    assert f"updated {HOST} A {V4}" in out and f"updated {FD_HOST} A {V4}" in out
    assert f"failed {G_HOST} A {V4} retry" in out
    assert f"failed {REF_HOST} A {V4} fatal" in out
    assert knot.query(HOST, "A") == [V4]
    # A second pass: state read back, nothing sent, and --force through
    # the "already there" paths.
    log2 = ws.path / "valgrind-update2.log"
    p = subprocess.run(vg(log2, binary("dnsward"), "-c", cfg, "update", "--force", HOST, FD_HOST),
                       capture_output=True, text=True, timeout=120, env=env())
    check_log(log2, p.returncode)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"unchanged {HOST} A {V4}" in p.stdout.splitlines()


def test_daemon_cycle_is_memcheck_clean(ws, knot, providers):
    cfg, fd, g, ref = providers
    log = ws.path / "valgrind-run.log"
    out = ws.path / "run.out"
    with open(out, "wb") as f:
        proc = subprocess.Popen(vg(log, binary("dnsward"), "-d", "-c", cfg, "run"),
                                stdout=f, stderr=subprocess.STDOUT, env=env())
    try:
        def status():
            p = ws.run("status", "--json", config=cfg)
            if p.returncode != 0:
                return None
            st = json.loads(p.stdout)
            if not st.get("daemon"):
                return None
            return {(r["name"], f["type"]): f for r in st["records"] for f in r["families"]}

        def settled():
            st = status()
            return st is not None and \
                st[(HOST, "A")]["state"] == "in-sync" and \
                st[(FD_HOST, "A")]["state"] == "in-sync" and \
                st[(G_HOST, "A")]["failures"] >= 2 and \
                st[(REF_HOST, "A")]["state"] == "parked"
        wait_for(settled, "published, failing and parked records", timeout=60)
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    check_log(log, rc)
    assert rc == 0, out.read_text(errors="replace")
    assert knot.query(HOST, "AAAA") == ["2a01:4f8:1:2::3"]


def test_gateway_cycle_is_memcheck_clean(ws, knot, pki):
    gw = BUILD / "src" / "gateway" / "dnsward-gateway"
    if not gw.exists():
        pytest.fail(f"{gw} is missing: build first")
    key = ws.secret("zone.key", knot.keys["zone"].keymgr_text)
    conf = ws.path / "gateway.conf"
    conf.write_text(f"""[gateway]
listen = 127.0.0.1:0
tls-cert = {pki.server.cert_file}
tls-key = {pki.server.key_file}
database = {ws.path / "gateway.db"}
zones = example.test
seccomp = no
upstream-wait = 3
retry-max = 2

[provider knot]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {key}
zone = example.test
timeout = 1
""")
    log_add = ws.path / "valgrind-gw-add.log"
    p = subprocess.run(vg(log_add, str(gw), "-c", str(conf), "host", "add", HOST,
                          "--provider", "knot"),
                       capture_output=True, text=True, timeout=120, env=env())
    check_log(log_add, p.returncode)
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()

    log = ws.path / "valgrind-gw.log"
    errf = open(ws.path / "gateway.err", "wb")
    proc = subprocess.Popen(vg(log, str(gw), "-c", str(conf), "serve"),
                            stdout=subprocess.PIPE, stderr=errf, env=env())
    try:
        line = proc.stdout.readline().decode()
        m = re.match(r"listening on (https://\S+)", line)
        assert m, (f"no 'listening on' line: {line!r}\n"
                   f"{(ws.path / 'gateway.err').read_text(errors='replace')}\n"
                   f"{log.read_text(errors='replace') if log.exists() else ''}")
        url = m.group(1)
        ctx = ssl.create_default_context(cafile=pki.ca_file)

        def get(path, user, password):
            auth = base64.b64encode(f"{user}:{password}".encode()).decode()
            req = urllib.request.Request(url + path, headers={"Authorization": "Basic " + auth})
            try:
                with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        assert get(f"/nic/update?hostname={HOST}&myip={V4}", HOST, token) == (200, f"good {V4}\n")
        assert get(f"/nic/update?hostname={HOST}&myip={V4}", HOST, token) == (200, f"nochg {V4}\n")
        s, body = get(f"/nic/update?hostname={HOST}&myip={V4}", HOST, token[:-1] + "x")
        assert body.strip() == "badauth", (s, body)
        s, _ = get("/no/such/path", HOST, token)
        assert s in (401, 404), s
        assert knot.query(HOST, "A") == [V4]
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        errf.close()
    check_log(log, rc)
    assert rc == 0, (ws.path / "gateway.err").read_text(errors="replace")
