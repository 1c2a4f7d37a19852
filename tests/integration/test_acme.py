"""dnsward acme: ACME dns-01 through dnsward, end to end.

A real Knot DNS is authoritative for example.test (fixtures/knot.py, key
"acme" may write TXT at _acme-challenge.host only) and is the only DNS
server Pebble asks.  Pebble (Let's Encrypt's test CA, Debian 2.4) runs with
a TLS certificate from the suite's CA.  lego (exec provider), certbot
(manual hooks) and dehydrated (hook script) each obtain a certificate with
dnsward as their DNS hook; the certificates' names and issuer are checked,
and the TXT values must be gone from Knot afterwards.

dnsward finds the zone's servers through "acme-nameservers" (the local
Knot), so nothing here needs the internet.
"""
import json
import os
import pathlib
import shutil
import signal
import ssl
import stat
import subprocess
import time
import urllib.request

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from conftest import binary
from fixtures.knot import free_port

CHALLENGE = "_acme-challenge.host.example.test"
# Two valid dns-01 values (base64url of 32 bytes: last character in AQgw...)
V1 = "A" * 42 + "E"
V2 = "B" * 42 + "Q"
# RFC 8555 style key authorization and its value, computed independently
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEYAUTH = TOKEN + ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"


def keyauth_value(ka):
    import base64
    import hashlib
    return base64.urlsafe_b64encode(hashlib.sha256(ka.encode()).digest()).decode().rstrip("=")


def acme_config(ws, knot, extra_global="", extra_provider="", key="acme"):
    keyfile = ws.secret("acme.key", knot.keys[key].keymgr_text)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
acme-nameservers = 127.0.0.1:{knot.port}
acme-propagation-timeout = 10
acme-poll-interval = 1
{extra_global}

[provider knot]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {keyfile}
acme-zones = example.test
{extra_provider}
""")


def txt(knot, name=CHALLENGE):
    return [v.strip('"') for v in knot.query(name, "TXT")]


# ---------------------------------------------------------------- dnsward alone

def test_present_cleanup_two_values_at_one_name(ws, knot):
    cfg = acme_config(ws, knot)
    ws.run("acme", "present", CHALLENGE + ".", V1, config=cfg, check=0)
    assert txt(knot) == [V1]
    # the wildcard's value joins the name's; it does not replace it
    ws.run("acme", "present", CHALLENGE + ".", V2, config=cfg, check=0)
    assert txt(knot) == sorted([V1, V2])
    ws.run("acme", "cleanup", CHALLENGE + ".", V1, config=cfg, check=0)
    assert txt(knot) == [V2]
    ws.run("acme", "cleanup", CHALLENGE + ".", V2, config=cfg, check=0)
    assert txt(knot) == []
    # removing an absent value succeeds
    ws.run("acme", "cleanup", CHALLENGE + ".", V2, config=cfg, check=0)
    assert not (ws.state_dir / "acme-pending").exists()


def test_hook_success_is_silent_unless_verbose(ws, knot):
    """ACME clients treat a hook's stderr as trouble; success says nothing
    without -v, and still says what happened with it."""
    cfg = acme_config(ws, knot)
    env = {"CERTBOT_DOMAIN": "host.example.test", "CERTBOT_VALIDATION": V1}
    p = ws.run("acme", "certbot-auth", config=cfg, env=env, check=0)
    assert (p.stdout, p.stderr) == ("", ""), p.stderr
    p = ws.run("acme", "certbot-cleanup", config=cfg, env=env, check=0)
    assert (p.stdout, p.stderr) == ("", ""), p.stderr
    p = ws.run("-v", "acme", "present", CHALLENGE, V1, config=cfg, check=0)
    assert f"acme: added {V1} at {CHALLENGE} via" in p.stderr, p.stderr
    p = ws.run("acme", "cleanup", CHALLENGE, V1, config=cfg, check=0)
    assert p.stderr == ""


def test_present_returns_only_once_served(ws, knot):
    cfg = acme_config(ws, knot)
    p = ws.run("-v", "acme", "present", CHALLENGE, V1, config=cfg, check=0)
    # no waiting after dnsward returns: the value is there at once
    assert txt(knot) == [V1]
    assert "every authoritative server serves the value" in p.stderr


def test_lego_raw_mode_computes_the_value(ws, knot):
    cfg = acme_config(ws, knot)
    ws.run("acme", "present", "--", "host.example.test", TOKEN, KEYAUTH, config=cfg, check=0)
    assert txt(knot) == [keyauth_value(KEYAUTH)]
    ws.run("acme", "cleanup", "--", "*.host.example.test", TOKEN, KEYAUTH, config=cfg, check=0)
    assert txt(knot) == []


def test_certbot_environment(ws, knot):
    cfg = acme_config(ws, knot)
    env = {"CERTBOT_DOMAIN": "host.example.test", "CERTBOT_VALIDATION": V1}
    ws.run("acme", "certbot-auth", config=cfg, env=env, check=0)
    assert txt(knot) == [V1]
    ws.run("acme", "certbot-cleanup", config=cfg, env=env, check=0)
    assert txt(knot) == []
    p = ws.run("acme", "certbot-auth", config=cfg, env={"CERTBOT_DOMAIN": "host.example.test"},
               check=2)
    assert "CERTBOT_VALIDATION" in p.stderr


def test_dehydrated_chain_and_other_hooks(ws, knot):
    cfg = acme_config(ws, knot)
    ws.run("acme", "dehydrated", "deploy_challenge", "host.example.test", "tok1", V1,
           "*.host.example.test", "tok2", V2, config=cfg, check=0)
    assert txt(knot) == sorted([V1, V2])
    ws.run("acme", "dehydrated", "clean_challenge", "host.example.test", "tok1", V1,
           config=cfg, check=0)
    assert txt(knot) == [V2]
    for hook in ("startup_hook", "deploy_cert", "exit_hook", "unchanged_cert", "some_new_hook"):
        ws.run("acme", "dehydrated", hook, "x", "y", config=cfg, check=0)
    p = ws.run("acme", "dehydrated", "deploy_challenge", "host.example.test", "tok1",
               config=cfg, check=2)
    assert "DOMAIN TOKEN_FILENAME VALUE" in p.stderr


def test_cname_delegation_is_followed(ws, knot):
    cfg = acme_config(ws, knot)
    ws.run("acme", "present", "_acme-challenge.alias.example.test.", V1, config=cfg, check=0)
    assert txt(knot) == [V1]          # written at the CNAME's target
    ws.run("acme", "cleanup", "_acme-challenge.alias.example.test.", V1, config=cfg, check=0)
    assert txt(knot) == []


@pytest.mark.parametrize("args,what", [
    (["present", CHALLENGE, "short"], "not a dns-01 value"),
    (["present", CHALLENGE, "A" * 42 + "B"], "not a dns-01 value"),  # stray bits
    (["present", CHALLENGE, "A" * 42 + "="], "not a dns-01 value"),
    (["present", "bad name.example.test", V1], "not a valid record name"),
    (["present", "*.example.test", V1], "not a valid record name"),
    (["present", CHALLENGE], "usage"),
    (["present", CHALLENGE, V1, "extra"], "usage"),
    (["present", "--", "host.example.test", TOKEN, "other.thumb"], "key authorization"),
    (["publish", CHALLENGE, V1], "unknown acme action"),
])
def test_arguments_are_strict(ws, knot, args, what):
    cfg = acme_config(ws, knot)
    p = ws.run("acme", *args, config=cfg, check=2)
    assert what in p.stderr
    assert txt(knot) == []


def test_name_outside_every_acme_zone(ws, knot):
    cfg = acme_config(ws, knot)
    p = ws.run("acme", "present", "_acme-challenge.host.example.org", V1, config=cfg, check=2)
    assert "acme-zones" in p.stderr


def test_key_not_allowed_is_fatal(ws, knot):
    cfg = acme_config(ws, knot, key="other")
    p = ws.run("acme", "present", CHALLENGE, V1, config=cfg, check=3)
    assert "refused" in p.stderr
    assert txt(knot) == []


def test_propagation_timeout(ws, knot):
    """A server that never serves the value: present fails after the timeout."""
    cfg = acme_config(ws, knot)
    # Knot serves the zone; a second "authoritative" address answers nothing.
    text = pathlib.Path(cfg).read_text().replace(
        "acme-propagation-timeout = 10", "acme-propagation-timeout = 2").replace(
        f"acme-nameservers = 127.0.0.1:{knot.port}",
        f"acme-nameservers = 127.0.0.1:{knot.port}, 127.0.0.1:{free_port()}")
    pathlib.Path(cfg).write_text(text)
    t0 = time.monotonic()
    p = ws.run("acme", "present", CHALLENGE, V1, config=cfg, check=1)
    assert 1.5 < time.monotonic() - t0 < 15
    assert "still lack" in p.stderr


# ----------------------------------------------------- Gandi and acme-dns: emulators

def gandi_config(ws, emu, pki, zone_key=""):
    token = ws.secret("gandi.token", "pat-acme-1")
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
acme-propagation-timeout = 0

[provider gandi]
type = gandi
base-url = {emu.url}
ca-file = {pki.ca_file}
token-file = {token}
acme-zones = example.org
{zone_key}
""")


def test_gandi_two_values_add_and_delete(ws, gandi_emulator, pki):
    emu = gandi_emulator
    emu.add_token("pat-acme-1")
    emu.add_zone("example.org")
    emu.set_rrset("example.org", "www", "A", ["192.0.2.80"])
    cfg = gandi_config(ws, emu, pki)
    name = "_acme-challenge.host.example.org."
    ws.run("acme", "present", name, V1, config=cfg, check=0)
    rr = emu.rrset("example.org", "_acme-challenge.host", "TXT")
    assert rr["values"] == [f'"{V1}"'] and rr["ttl"] == 300
    ws.run("acme", "present", name, V2, config=cfg, check=0)
    assert emu.rrset("example.org", "_acme-challenge.host", "TXT")["values"] == \
        [f'"{V1}"', f'"{V2}"']
    # the same value again: nothing written
    writes = emu.writes
    ws.run("acme", "present", name, V2, config=cfg, check=0)
    assert emu.writes == writes
    ws.run("acme", "cleanup", name, V1, config=cfg, check=0)
    assert emu.rrset("example.org", "_acme-challenge.host", "TXT")["values"] == [f'"{V2}"']
    ws.run("acme", "cleanup", name, V2, config=cfg, check=0)
    assert emu.rrset("example.org", "_acme-challenge.host", "TXT") is None
    assert emu.rrset("example.org", "www", "A")["values"] == ["192.0.2.80"]
    methods = [r.method for r in emu.take_requests() if "/records/" in r.path]
    assert "DELETE" in methods and "PUT" in methods


def test_gandi_keeps_values_written_bare_by_others(ws, gandi_emulator, pki):
    emu = gandi_emulator
    emu.add_token("pat-acme-1")
    emu.add_zone("example.org")
    emu.set_rrset("example.org", "_acme-challenge.host", "TXT", [V2, "v=other"], ttl=600)
    cfg = gandi_config(ws, emu, pki, zone_key="zone = example.org")
    ws.run("acme", "present", "_acme-challenge.host.example.org", V1, config=cfg, check=0)
    rr = emu.rrset("example.org", "_acme-challenge.host", "TXT")
    assert rr["values"] == [V2, "v=other", f'"{V1}"'] and rr["ttl"] == 600
    ws.run("acme", "cleanup", "_acme-challenge.host.example.org", V2, config=cfg, check=0)
    assert emu.rrset("example.org", "_acme-challenge.host", "TXT")["values"] == \
        ["v=other", f'"{V1}"']


def test_gandi_bad_token_is_fatal(ws, gandi_emulator, pki):
    emu = gandi_emulator
    emu.add_zone("example.org")
    cfg = gandi_config(ws, emu, pki, zone_key="zone = example.org")
    p = ws.run("acme", "present", "_acme-challenge.host.example.org", V1, config=cfg, check=3)
    assert "401" in p.stderr
    assert "pat-acme-1" not in p.stderr


def acmedns_config(ws, knot, emu, pki, password="s3cret-password-0123456789abcdefghijklmn"):
    pw = ws.secret("acmedns.pw", password)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
acme-nameservers = 127.0.0.1:{knot.port}
acme-propagation-timeout = 0

[provider acme-dns]
type = acmedns
base-url = {emu.url}
ca-file = {pki.ca_file}
username = 0f1e2d3c-user
password-file = {pw}
subdomain = sub1
acme-zones = auth.acme.test
""")


def test_acmedns_through_cname(ws, knot, acmedns_emulator, pki):
    emu = acmedns_emulator
    emu.add_account("0f1e2d3c-user", "s3cret-password-0123456789abcdefghijklmn", "sub1")
    cfg = acmedns_config(ws, knot, emu, pki)
    # _acme-challenge.dele.example.test is a CNAME to sub1.auth.acme.test
    ws.run("-d", "acme", "present", "_acme-challenge.dele.example.test.", V1, config=cfg, check=0)
    ws.run("acme", "present", "_acme-challenge.dele.example.test.", V2, config=cfg, check=0)
    assert emu.values("sub1") == [V1, V2]
    # a third value pushes out the oldest (the server keeps two)
    ws.run("acme", "present", "_acme-challenge.dele.example.test.", "C" * 42 + "g",
           config=cfg, check=0)
    assert emu.values("sub1") == [V2, "C" * 42 + "g"]
    # cleanup: no delete in acme-dns, success without a request
    n = len(emu.requests)
    p = ws.run("-v", "acme", "cleanup", "_acme-challenge.dele.example.test.", V2, config=cfg,
               check=0)
    assert len(emu.requests) == n
    assert "no delete" in p.stderr   # said with -v only: hooks succeed in silence
    req = emu.take_requests()[0]
    assert req.header("X-Api-User") == "0f1e2d3c-user"
    assert req.json() == {"subdomain": "sub1", "txt": V1}


def test_acmedns_wrong_password_is_fatal_and_never_logged(ws, knot, acmedns_emulator, pki):
    emu = acmedns_emulator
    emu.add_account("0f1e2d3c-user", "the-right-password", "sub1")
    cfg = acmedns_config(ws, knot, emu, pki, password="a-wrong-password-xyz")
    p = ws.run("-d", "acme", "present", "_acme-challenge.dele.example.test.", V1, config=cfg,
               check=3)
    assert "401" in p.stderr
    assert "a-wrong-password-xyz" not in p.stderr + p.stdout


@pytest.fixture
def acmedns_emulator(pki):
    from emulators.acmedns import AcmeDnsEmulator
    emu = AcmeDnsEmulator(pki.server)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def test_acmedns_name_and_wildcard_in_one_chain(ws, knot, acmedns_emulator, pki):
    """An acme-dns account holds two values: a name and its wildcard."""
    emu = acmedns_emulator
    emu.add_account("0f1e2d3c-user", "s3cret-password-0123456789abcdefghijklmn", "sub1")
    cfg = acmedns_config(ws, knot, emu, pki)
    ws.run("acme", "dehydrated", "deploy_challenge", "dele.example.test", "t1", V1,
           "*.dele.example.test", "t2", V2, config=cfg, check=0)
    assert emu.values("sub1") == [V1, V2]


def test_single_value_provider_refuses_a_second_value_clearly(ws, knot, duckdns_emulator, pki):
    """DuckDNS holds one TXT value per name (DW_CAP_TXT_SINGLE): a name and
    its wildcard would overwrite each other, so the second value fails."""
    emu = duckdns_emulator
    emu.add_domain("duck-token-0123456789", "myhost")
    token = ws.secret("duck.token", "duck-token-0123456789")
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
acme-nameservers = 127.0.0.1:{knot.port}
acme-propagation-timeout = 0

[provider duck]
type = duckdns
base-url = {emu.origin}
ca-file = {pki.ca_file}
token-file = {token}
acme-zones = duckdns.org
""")
    p = ws.run("acme", "dehydrated", "deploy_challenge", "myhost.duckdns.org", "t1", V1,
               "*.myhost.duckdns.org", "t2", V2, config=cfg, check=3)
    assert "holds one TXT value per name" in p.stderr
    assert emu.domains["myhost"].txt == V1
    # across calls too (lego and certbot call once per value)
    p = ws.run("acme", "present", "_acme-challenge.myhost.duckdns.org.", V2, config=cfg, check=3)
    assert "holds one TXT value per name" in p.stderr
    assert emu.domains["myhost"].txt == V1
    ws.run("acme", "cleanup", "_acme-challenge.myhost.duckdns.org.", V1, config=cfg, check=0)
    ws.run("acme", "present", "_acme-challenge.myhost.duckdns.org.", V2, config=cfg, check=0)
    assert emu.domains["myhost"].txt == V2


# ------------------------------------------------------------------ real ACME clients

class Pebble:
    def __init__(self, base, pki, dns_port):
        self.base = pathlib.Path(base)
        self.port = free_port()
        self.mgmt_port = free_port()
        self.dns_port = dns_port
        self.pki = pki
        self.proc = None
        self.log = self.base / "pebble.log"

    @property
    def directory(self):
        return f"https://127.0.0.1:{self.port}/dir"

    def start(self, deadline_s=20):
        cfg = self.base / "pebble.json"
        cfg.write_text(json.dumps({"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": self.pki.server.cert_file,
            "privateKey": self.pki.server.key_file,
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }}))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        logf = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(
                ["pebble", "-config", str(cfg), "-dnsserver", f"127.0.0.1:{self.dns_port}"],
                stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=self.base)
        finally:
            logf.close()
        ctx = ssl.create_default_context(cafile=self.pki.ca_file)
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pebble exited:\n{self.log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(self.directory, context=ctx, timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)   # poll interval
        raise RuntimeError(f"pebble did not answer:\n{self.log.read_text()[-3000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def issuer_names(self):
        """Common names of pebble's intermediate and root (management API)."""
        ctx = ssl.create_default_context(cafile=self.pki.ca_file)
        names = []
        for path in ("intermediates/0", "roots/0"):
            pem = urllib.request.urlopen(f"https://127.0.0.1:{self.mgmt_port}/{path}",
                                         context=ctx, timeout=5).read()
            c = x509.load_pem_x509_certificate(pem)
            names.append(c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
        return names


@pytest.fixture
def pebble(tmp_path, pki, knot):
    d = tmp_path / "pebble"
    d.mkdir()
    p = Pebble(d, pki, knot.port)
    try:
        p.start()
        yield p
    finally:
        p.stop()


def hook_script(ws, cfg, name="hook.sh", words=""):
    """A wrapper as ACME clients want it: one executable, arguments passed on."""
    path = ws.path / name
    path.write_text(f"#!/bin/sh\nexec {binary('dnsward')} -c {cfg} acme {words}\"$@\"\n")
    os.chmod(path, 0o755)
    return str(path)


def check_certificate(pem_path, names, pebble):
    pem = pathlib.Path(pem_path).read_bytes()
    cert = x509.load_pem_x509_certificates(pem)[0] if hasattr(
        x509, "load_pem_x509_certificates") else x509.load_pem_x509_certificate(pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(names)
    issuer_cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert "Pebble" in issuer_cn
    assert issuer_cn == pebble.issuer_names()[0]


def run_client(cmd, env, cwd, timeout=120):
    full = dict(os.environ)
    full.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=full, cwd=cwd, timeout=timeout)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in p.stderr + p.stdout, f"sanitizer report:\n{p.stderr}{p.stdout}"
    assert p.returncode == 0, f"{cmd[0]} exited {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    return p


def test_lego_issues_name_and_wildcard(ws, knot, pebble, pki):
    cfg = acme_config(ws, knot)
    hook = hook_script(ws, cfg)
    lego_dir = ws.path / "lego"
    env = {
        "LEGO_CA_CERTIFICATES": pki.ca_file,
        "EXEC_PATH": hook,
        "EXEC_PROPAGATION_TIMEOUT": "20",
        "EXEC_POLLING_INTERVAL": "1",
        "EXEC_SEQUENCE_INTERVAL": "1",
    }
    run_client(["lego", "--server", pebble.directory, "--accept-tos", "--email", "a@b.test",
                "--path", str(lego_dir), "--dns", "exec",
                "--dns.resolvers", f"127.0.0.1:{knot.port}", "--dns.disable-cp",
                "-d", "host.example.test", "-d", "*.host.example.test", "run"],
               env, ws.path)
    check_certificate(lego_dir / "certificates" / "host.example.test.crt",
                      ["host.example.test", "*.host.example.test"], pebble)
    assert txt(knot) == []
    assert not (ws.state_dir / "acme-pending").exists()


def test_certbot_issues(ws, knot, pebble, pki):
    cfg = acme_config(ws, knot)
    base = ws.path / "certbot"
    auth = ws.path / "auth.sh"
    auth.write_text(f"#!/bin/sh\nexec {binary('dnsward')} -c {cfg} acme certbot-auth\n")
    cleanup = ws.path / "cleanup.sh"
    cleanup.write_text(f"#!/bin/sh\nexec {binary('dnsward')} -c {cfg} acme certbot-cleanup\n")
    for f in (auth, cleanup):
        os.chmod(f, 0o755)
    p = run_client(["certbot", "certonly", "--manual", "--preferred-challenges", "dns",
                    "--manual-auth-hook", str(auth), "--manual-cleanup-hook", str(cleanup),
                    "--server", pebble.directory, "--agree-tos",
                    "--register-unsafely-without-email", "--non-interactive",
                    "--config-dir", str(base / "config"), "--work-dir", str(base / "work"),
                    "--logs-dir", str(base / "logs"),
                    "-d", "host.example.test", "-d", "*.host.example.test"],
                   {"REQUESTS_CA_BUNDLE": pki.ca_file}, ws.path)
    check_certificate(base / "config" / "live" / "host.example.test" / "cert.pem",
                      ["host.example.test", "*.host.example.test"], pebble)
    assert txt(knot) == []
    # A hook that succeeds says nothing: certbot reports any output on
    # stderr as "Hook ... ran with error output" on every renewal.
    log = (base / "logs" / "letsencrypt.log").read_text()
    for text in (p.stdout, p.stderr, log):
        assert "error output" not in text, text[-3000:]
    assert "dnsward" not in p.stderr, p.stderr


def test_dehydrated_issues(ws, knot, pebble, pki):
    cfg = acme_config(ws, knot)
    hook = hook_script(ws, cfg, words="dehydrated ")
    base = ws.path / "dehydrated"
    base.mkdir()
    conf = base / "config"
    conf.write_text(f"""CA="{pebble.directory}"
CHALLENGETYPE="dns-01"
HOOK="{hook}"
HOOK_CHAIN="yes"
BASEDIR="{base}"
CURL_OPTS="--cacert {pki.ca_file}"
KEY_ALGO="secp384r1"
""")
    (base / "domains.txt").write_text("host.example.test *.host.example.test > host\n")
    run_client(["dehydrated", "--register", "--accept-terms", "-f", str(conf)], {}, base)
    run_client(["dehydrated", "--cron", "-f", str(conf)], {}, base)
    check_certificate(base / "certs" / "host" / "cert.pem",
                      ["host.example.test", "*.host.example.test"], pebble)
    assert txt(knot) == []
