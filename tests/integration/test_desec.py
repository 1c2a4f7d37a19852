"""deSEC dynDNS through the real `dnsward update`, against the HTTPS emulator.

Every run uses -d and is checked for token leaks in stdout and stderr.
(TXT through the REST API is exercised with the ACME command.)
"""
import base64
import secrets

import pytest

V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"
DOMAIN = "home.dedyn.io"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.token = secrets.token_urlsafe(21)
        self.token_path = ws.secret("desec-token", self.token)

    def config(self, fqdn=DOMAIN, ipv4=f"static:{V4}", ipv6="off", provider_extra=""):
        text = "\n".join([
            "[provider d]",
            "type = desec",
            f"base-url = {self.emu.origin}",
            f"base-url-v6 = {self.emu.origin}/v6",
            f"api-url = {self.emu.origin}/api/v1",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            f"token-file = {self.token_path}",
            provider_extra,
            f"[record {fqdn}]",
            "provider = d",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
        ]) + "\n"
        return self.ws.config(text)

    def run(self, cfg, *args, expect, cmd="update"):
        proc = self.ws.run("-d", cmd, *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        assert self.token not in out, f"token leaked:\n{out}"
        return proc


@pytest.fixture
def d(ws, desec_emulator, pki):
    s = Setup(ws, desec_emulator, pki)
    desec_emulator.add_domain(DOMAIN, s.token)
    return s


def test_ipv4_update_preserves_ipv6(d):
    d.emu.hosts[DOMAIN]["AAAA"] = "2001:db8::9"
    proc = d.run(d.config(), expect=0)
    assert f"updated {DOMAIN} A {V4}" in proc.stdout
    assert "debug:" in proc.stderr
    [r] = d.emu.take_requests()
    assert (r.method, r.path) == ("GET", "/")
    assert r.query == {"hostname": [DOMAIN], "myipv4": [V4], "myipv6": ["preserve"]}
    assert r.header("Authorization") == f"Token {d.token}"
    assert d.emu.hosts[DOMAIN] == {"A": V4, "AAAA": "2001:db8::9"}


def test_ipv6_only_goes_to_ipv6_endpoint(d):
    d.emu.hosts[DOMAIN]["A"] = "192.0.2.7"
    proc = d.run(d.config(ipv4="off", ipv6=f"static:{V6}"), expect=0)
    assert f"updated {DOMAIN} AAAA {V6}" in proc.stdout
    [r] = d.emu.take_requests()
    assert r.path == "/v6/"
    assert r.query == {"hostname": [DOMAIN], "myipv4": ["preserve"], "myipv6": [V6]}
    assert d.emu.hosts[DOMAIN] == {"A": "192.0.2.7", "AAAA": V6}


def test_dual_stack_in_one_request(d):
    proc = d.run(d.config(ipv6=f"static:{V6}"), expect=0)
    assert f"updated {DOMAIN} A {V4}" in proc.stdout
    assert f"updated {DOMAIN} AAAA {V6}" in proc.stdout
    [r] = d.emu.take_requests()
    assert r.path == "/"
    assert r.query == {"hostname": [DOMAIN], "myipv4": [V4], "myipv6": [V6]}
    assert d.emu.hosts[DOMAIN] == {"A": V4, "AAAA": V6}


def test_basic_auth_with_domain_as_user(d):
    sub = "nas." + DOMAIN
    d.emu.add_host(sub)
    proc = d.run(d.config(fqdn=sub, provider_extra=f"auth = basic\nuser = {DOMAIN}"), expect=0)
    assert f"updated {sub} A {V4}" in proc.stdout
    [r] = d.emu.take_requests()
    want = base64.b64encode(f"{DOMAIN}:{d.token}".encode()).decode()
    assert r.header("Authorization") == f"Basic {want}"


def test_second_run_sends_nothing(d):
    cfg = d.config()
    d.run(cfg, expect=0)
    d.emu.take_requests()
    proc = d.run(cfg, expect=0)
    assert f"unchanged {DOMAIN} A {V4}" in proc.stdout
    assert d.emu.take_requests() == []


def test_bad_token_is_fatal(d):
    d.emu.tokens.clear()
    proc = d.run(d.config(), expect=3)
    assert "deSEC refused the credentials (HTTP 401): check token-file" in proc.stderr


def test_unknown_host_is_fatal(d):
    proc = d.run(d.config(fqdn="other.dedyn.io"), expect=3)
    assert "deSEC does not know host other.dedyn.io (HTTP 404)" in proc.stderr


def test_bad_request_is_fatal(d, ws):
    d.emu.fault(DOMAIN, "server-error", status=400)
    proc = d.run(d.config(), expect=3)
    assert "invalid or ambiguous (HTTP 400)" in proc.stderr


def test_rate_limit_shows_delay(d):
    d.emu.fault(DOMAIN, "ratelimit", retry_after=120)
    proc = d.run(d.config(ipv6=f"static:{V6}"), expect=1)
    assert "deSEC rate limit (HTTP 429): retry after 120 s" in proc.stderr
    assert f"failed {DOMAIN} A {V4} rate-limited" in proc.stdout
    assert f"failed {DOMAIN} AAAA {V6} rate-limited" in proc.stdout


@pytest.mark.parametrize("status", [500, 502])
def test_server_error_retries(d, status):
    d.emu.fault(DOMAIN, "server-error", status=status)
    proc = d.run(d.config(), expect=1)
    assert f"deSEC server error (HTTP {status})" in proc.stderr


@pytest.mark.parametrize("body", ["<html>good</html>", "nogood", "good morning", ""])
def test_garbage_retries(d, body):
    d.emu.fault(DOMAIN, "garbage", body=body)
    proc = d.run(d.config(), expect=1)
    assert "unparsable reply from deSEC" in proc.stderr


def test_plain_http_api_url_is_a_config_error(d):
    cfg = d.config(provider_extra="api-url = http://desec.io/api/v1")
    text = open(cfg).read().replace(f"api-url = {d.emu.origin}/api/v1\n", "")
    proc = d.ws.run("check", config=d.ws.config(text, name="plain.conf"), check=2)
    assert "api-url" in proc.stderr and "https://" in proc.stderr


def test_check_touches_no_network(d):
    d.run(d.config(), expect=0, cmd="check")
    assert d.emu.requests == []
