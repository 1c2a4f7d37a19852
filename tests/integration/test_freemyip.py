"""freemyip through the real `dnsward update`, against the emulator.  The
token sits in the URL: every run checks it never shows."""
import secrets

import pytest

HOST = "myhome.freemyip.com"
V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.token = secrets.token_hex(12)

    def config(self, ipv4=f"static:{V4}", ipv6="off"):
        t = self.ws.secret("token", self.token)
        lines = [
            "[provider fm]",
            "type = freemyip",
            f"base-url = {self.emu.url}",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            f"[record {HOST}]",
            "provider = fm",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
            f"token-file = {t}",
        ]
        return self.ws.config("\n".join(lines) + "\n")

    def run(self, cfg, *args, expect):
        proc = self.ws.run("-d", "update", *args, config=cfg, check=expect)
        assert self.token not in proc.stdout + proc.stderr
        return proc


@pytest.fixture
def fm(ws, freemyip_emulator, pki):
    return Setup(ws, freemyip_emulator, pki)


def test_update_and_state(fm):
    fm.emu.add_domain(fm.token, HOST)
    cfg = fm.config()
    proc = fm.run(cfg, expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    req = fm.emu.take_requests()[0]
    assert req.query == {"token": [fm.token], "domain": [HOST], "myip": [V4]}
    assert "token=[token]" in proc.stderr
    proc = fm.run(cfg, expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    assert fm.emu.take_requests() == []


def test_dual_stack_is_two_requests(fm):
    fm.emu.add_domain(fm.token, HOST)
    proc = fm.run(fm.config(ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    assert [r.query["myip"] for r in fm.emu.take_requests()] == [[V4], [V6]]
    assert fm.emu.domains[HOST].aaaa == V6


def test_error_is_fatal(fm):
    fm.emu.add_domain("other", HOST)
    proc = fm.run(fm.config(), expect=3)
    assert "freemyip refused the update (ERROR)" in proc.stderr


def test_rate_limit(fm):
    fm.emu.fault("ratelimit", retry_after=42)
    proc = fm.run(fm.config(), expect=1)
    assert "retry after 42 s" in proc.stderr


def test_server_error(fm):
    fm.emu.fault("server-error", status=503)
    proc = fm.run(fm.config(), expect=1)
    assert "HTTP 503" in proc.stderr


@pytest.mark.parametrize("body", ["NOT OK", "OKAY", "<html>OK</html>", ""])
def test_reply_containing_ok_is_not_success(fm, body):
    fm.emu.fault("garbage", body=body)
    proc = fm.run(fm.config(), expect=1)
    assert "unparsable reply from freemyip" in proc.stderr


def test_echoed_token_does_not_leak(fm):
    fm.emu.fault("echo-token")
    fm.run(fm.config(), expect=3)
