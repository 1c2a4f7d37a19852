"""Certificates the client refuses, through the real `dnsward update` and
`dnsward run` against the HTTPS emulators (fixtures/pki.py):

  - from a CA the client does not trust: the message names the issuer (its
    DN) and the trust store that refused it, and says to set `ca-file` in
    that provider's section; one-shot runs exit 3 (needs the user);
  - for another host name: the names the certificate is for, and base-url;
  - expired: the date, and who must act;
  - the daemon logs it once as needing action and keeps backing off (it is
    not parked: a CA bundle update fixes it without a reload), shown here
    by replacing the CA file under a running daemon;
  - a web echo service with an unknown issuer names web-ca-file.

Three providers cover the three request paths (FreeDNS: its own request
code; Gandi: zone probing; dyndns2: the code shared by the simple
protocols).  No request and no token ever reaches a refused server.
"""
import json
import os
import re
import secrets
import shutil
import subprocess
import time

import pytest

from conftest import binary
from emulators.dyndns2 import Dyndns2Emulator
from emulators.echo import HttpsEcho
from emulators.freedns import FreeDnsEmulator
from emulators.gandi import GandiEmulator

V4 = "81.2.69.160"
TEST_CA_DN = "CN=dnsward test CA"


def wait_for(pred, what, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Case:
    """One provider against one emulator, with a chosen CA file."""

    def __init__(self, kind, ws, emu):
        self.kind = kind
        self.ws = ws
        self.emu = emu
        self.secret = secrets.token_hex(12)
        if kind == "freedns":
            self.host = "home.mooo.test"
            emu.add_record(self.secret, self.host, "A", "192.0.2.1")
        elif kind == "gandi":
            self.host = "home.example.org"
            self.secret = "pat_" + self.secret
            emu.add_token(self.secret)
            emu.add_zone("example.org")
        else:
            self.host = "home.dyn.test"
            emu.add_account("user1", self.secret)
            emu.add_host(self.host, owner="user1", a="192.0.2.1")

    def config(self, ca_file, dnsward_extra=""):
        tf = self.ws.secret("secret", self.secret)
        ca = f"ca-file = {ca_file}\n" if ca_file else ""
        if self.kind == "freedns":
            prov = (f"type = freedns\nbase-url = {self.emu.url}\nbase-url-v6 = {self.emu.url}\n"
                    f"{ca}timeout = 5\n")
            rec = f"token-a-file = {tf}\n"
        elif self.kind == "gandi":
            prov = f"type = gandi\nbase-url = {self.emu.url}\n{ca}timeout = 5\ntoken-file = {tf}\n"
            rec = ""
        else:
            prov = (f"type = dyndns2\nbase-url = {self.emu.url}\n{ca}timeout = 5\n"
                    f"username = user1\npassword-file = {tf}\n")
            rec = ""
        return self.ws.config(f"""[dnsward]
state-dir = {self.ws.state_dir}
backoff-base = 1
backoff-max = 2
{dnsward_extra}

[provider p1]
{prov}
[record {self.host}]
provider = p1
ipv4 = static:{V4}
ipv6 = off
{rec}""")

    def update(self, ca_file):
        p = self.ws.run("update", config=self.config(ca_file))
        out = p.stdout + p.stderr
        assert self.secret not in out, out
        assert self.emu.requests == [], "a request got through a refused certificate"
        assert f"failed {self.host} A {V4} needs-action" in p.stdout.splitlines(), out
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) == 1, p.stderr
        assert p.returncode == 3, out
        assert lines[0].endswith("(needs your action)"), lines[0]
        return lines[0]


EMULATORS = {"freedns": FreeDnsEmulator, "gandi": GandiEmulator, "dyndns2": Dyndns2Emulator}


@pytest.fixture(params=sorted(EMULATORS))
def kind(request):
    return request.param


def start(kind, cert):
    return EMULATORS[kind](cert).start()


def test_unknown_issuer_names_the_ca_and_ca_file(ws, pki, kind):
    emu = start(kind, pki.server)
    try:
        line = Case(kind, ws, emu).update(pki.other_ca_file)
    finally:
        emu.stop()
    assert f'was issued by "{TEST_CA_DN}", a CA not in the CA file {pki.other_ca_file}' in line, line
    assert "if you trust that CA, set ca-file in [provider p1] to a PEM file" in line, line
    assert "will retry" not in line


def test_unknown_issuer_with_the_system_store(ws, pki):
    emu = start("freedns", pki.server)
    try:
        line = Case("freedns", ws, emu).update(None)
    finally:
        emu.stop()
    assert f'"{TEST_CA_DN}", a CA not in the system\'s trust store' in line, line
    assert "set ca-file in [provider p1]" in line, line


def test_wrong_host_names_the_certificate_names_and_base_url(ws, pki, kind):
    emu = start(kind, pki.wrong_host)
    try:
        line = Case(kind, ws, emu).update(pki.ca_file)
    finally:
        emu.stop()
    assert "the certificate is for wrong.test, not for 127.0.0.1" in line, line
    assert f'issued by "{TEST_CA_DN}"' in line, line
    assert "check the host in base-url in [provider p1]" in line, line


def test_expired_certificate_says_when_and_who_acts(ws, pki):
    emu = start("freedns", pki.expired)
    try:
        line = Case("freedns", ws, emu).update(pki.ca_file)
    finally:
        emu.stop()
    m = re.search(r'the certificate of 127\.0\.0\.1 \("CN=localhost", issued by '
                  r'"CN=dnsward test CA"\) expired on (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC', line)
    assert m, line
    assert "the server's operator must renew it" in line, line


def test_daemon_reports_once_keeps_trying_and_recovers_on_a_new_bundle(ws, pki):
    """A refused CA is not parked: once the CA file holds the right CA (a
    bundle update, no reload) the next retry publishes."""
    emu = start("freedns", pki.server)
    bundle = ws.path / "bundle.pem"
    shutil.copy(pki.other_ca_file, bundle)
    case = Case("freedns", ws, emu)
    cfg = case.config(str(bundle))
    log = ws.path / "daemon.log"
    env = {k: v for k, v in os.environ.items()
           if k not in ("JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "RUNTIME_DIRECTORY")}
    with open(log, "wb") as logf:
        proc = subprocess.Popen([binary("dnsward"), "-c", cfg, "run"], stdout=logf,
                                stderr=subprocess.STDOUT, env=env)
    try:
        # Several attempts, each refused in the handshake.
        wait_for(lambda: emu.tls_failures >= 3, "three refused handshakes", timeout=20)
        st = ws.run("status", "--json", config=cfg, check=0)
        fam = json.loads(st.stdout)["records"][0]["families"][0]
        assert fam["last_result"] == "needs-action", fam
        assert fam["state"] in ("backoff", "publishing"), fam
        assert "ca-file" in fam["last_message"], fam
        text = log.read_text()
        errors = [l for l in text.splitlines() if case.host in l and ": error: " in l]
        assert len(errors) == 1, text          # once, however many attempts
        assert "needs your action" in errors[0], errors[0]
        assert "set ca-file in [provider p1]" in errors[0], errors[0]
        # The daemon keeps the result in the state file too, for "status"
        # after it stopped.
        kept = json.loads((ws.state_dir / "state.json").read_text())["results"]
        assert [r["outcome"] for r in kept] == ["needs-action"], kept
        # The operator updates the bundle; nothing else.
        tmp = ws.path / "bundle.new"
        shutil.copy(pki.ca_file, tmp)
        os.replace(tmp, bundle)
        wait_for(lambda: f"{case.host} A {V4}: updated" in log.read_text(), "the update",
                 timeout=10)
        assert emu.records[case.secret].ip == V4
        assert case.secret not in log.read_text()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_web_echo_unknown_issuer_names_web_ca_file(ws, pki):
    echo = HttpsEcho(pki.server, "127.0.0.1").start()
    try:
        key = ws.secret("k.key", 'key "k" { algorithm hmac-sha256; secret '
                        '"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; };')
        cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
web-ca-file = {pki.other_ca_file}

[provider p]
type = rfc2136
server = 127.0.0.1
key-file = {key}

[record host.example.test]
provider = p
ipv4 = web
ipv4-web = {echo.url}/
ipv4-accept = loopback
""")
        p = ws.run("update", "--dry-run", config=cfg)
    finally:
        echo.stop()
    assert p.returncode == 1, p.stdout + p.stderr
    assert f'issued by "{TEST_CA_DN}"' in p.stdout, p.stdout
    assert "set web-ca-file to a PEM file" in p.stdout, p.stdout
