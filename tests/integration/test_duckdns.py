"""DuckDNS through the real `dnsward update`, against the emulator.  The
token sits in the URL: every run checks it never shows."""
import secrets

import pytest

SUB = "myhome"
HOST = f"{SUB}.duckdns.org"
V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.token = secrets.token_hex(16)

    def config(self, token=None, ipv4=f"static:{V4}", ipv6="off", host=HOST):
        t = self.ws.secret("token", token or self.token)
        lines = [
            "[provider duck]",
            "type = duckdns",
            f"base-url = {self.emu.url}",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            f"token-file = {t}",
            f"[record {host}]",
            "provider = duck",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
        ]
        return self.ws.config("\n".join(lines) + "\n")

    def run(self, cfg, *args, expect):
        proc = self.ws.run("-d", "update", *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        assert self.token not in out, f"token leaked:\n{out}"
        assert "debug:" in proc.stderr
        return proc


@pytest.fixture
def duck(ws, duckdns_emulator, pki):
    return Setup(ws, duckdns_emulator, pki)


def test_update_v4(duck):
    duck.emu.add_domain(duck.token, SUB)
    proc = duck.run(duck.config(), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    req = duck.emu.take_requests()[0]
    assert req.query == {"domains": [SUB], "token": [duck.token], "ip": [V4],
                         "verbose": ["true"]}
    assert "token=[token]" in proc.stderr
    assert duck.emu.domains[SUB].a == V4


def test_dual_stack_is_one_request(duck):
    duck.emu.add_domain(duck.token, SUB)
    proc = duck.run(duck.config(ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    reqs = duck.emu.take_requests()
    assert len(reqs) == 1
    assert reqs[0].query["ip"] == [V4] and reqs[0].query["ipv6"] == [V6]


def test_ipv6_only(duck):
    duck.emu.add_domain(duck.token, SUB, a="192.0.2.1")
    proc = duck.run(duck.config(ipv4="off", ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    assert "ip" not in duck.emu.take_requests()[0].query
    assert duck.emu.domains[SUB].a == "192.0.2.1"


def test_nochange_and_state(duck):
    duck.emu.add_domain(duck.token, SUB, a=V4)
    cfg = duck.config()
    proc = duck.run(cfg, expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    duck.emu.take_requests()
    duck.run(cfg, expect=0)
    assert duck.emu.take_requests() == []


def test_ko_is_fatal(duck):
    duck.emu.add_domain("another-token", SUB)
    proc = duck.run(duck.config(), expect=3)
    assert "KO" in proc.stderr and "token-file" in proc.stderr


def test_rate_limit(duck):
    duck.emu.fault("ratelimit", retry_after=90)
    proc = duck.run(duck.config(), expect=1)
    assert f"failed {HOST} A {V4} rate-limited" in proc.stdout
    assert "retry after 90 s" in proc.stderr


def test_server_error(duck):
    duck.emu.fault("server-error", status=502)
    proc = duck.run(duck.config(), expect=1)
    assert "HTTP 502" in proc.stderr


@pytest.mark.parametrize("body", ["OKAY", "NOT OK", "ok", "OK\n1.2.3.4\nUPDATED", ""])
def test_garbage(duck, body):
    duck.emu.fault("garbage", body=body)
    proc = duck.run(duck.config(), expect=1)
    assert "unparsable reply from DuckDNS" in proc.stderr


def test_echoed_token_does_not_leak(duck):
    duck.emu.fault("echo-token")
    duck.run(duck.config(), expect=1)      # run() asserts no leak


def test_record_must_be_a_duckdns_subdomain(duck):
    proc = duck.ws.run("check", config=duck.config(host="home.example.com"), check=2)
    assert "SUB.duckdns.org" in proc.stderr
    assert ":7:" in proc.stderr or "dnsward.conf:" in proc.stderr
    proc = duck.ws.run("check", config=duck.config(host="a.b.duckdns.org"), check=2)
    assert "SUB.duckdns.org" in proc.stderr
