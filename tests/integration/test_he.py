"""Hurricane Electric through the real `dnsward update`, against the dyndns2
emulator in HE mode (user = record FQDN, password = that record's key)."""
import secrets

import pytest

HOST = "home.example.org"
V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        emu.he_mode = True
        self.key = secrets.token_urlsafe(12)
        self.keys = [self.key]

    def config(self, key=None, ipv4=f"static:{V4}", ipv6="off", extra_record=""):
        k = self.ws.secret("key", key or self.key)
        lines = [
            "[provider he]",
            "type = he",
            f"base-url = {self.emu.url}",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            f"[record {HOST}]",
            "provider = he",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
            f"key-file = {k}",
            extra_record,
        ]
        return self.ws.config("\n".join(lines) + "\n")

    def run(self, cfg, *args, expect):
        proc = self.ws.run("-d", "update", *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        for k in self.keys:
            assert k not in out, f"key leaked:\n{out}"
        return proc


@pytest.fixture
def he(ws, dyndns2_emulator, pki):
    return Setup(ws, dyndns2_emulator, pki)


def test_update_uses_record_fqdn_and_key(he):
    he.emu.add_host(HOST, key=he.key, a="192.0.2.1")
    proc = he.run(he.config(), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    req = he.emu.take_requests()[0]
    assert req.query == {"hostname": [HOST], "myip": [V4]}
    assert he.emu.hosts[HOST].a == V4


def test_dual_stack_is_two_requests(he):
    # HE takes one address per request.
    he.emu.add_host(HOST, key=he.key)
    proc = he.run(he.config(ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    assert [r.query["myip"] for r in he.emu.take_requests()] == [[V4], [V6]]


def test_force_gets_nochg(he):
    he.emu.add_host(HOST, key=he.key, a=V4)
    proc = he.run(he.config(), "--force", expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout


def test_wrong_key_is_fatal(he):
    he.emu.add_host(HOST, key="other-key")
    proc = he.run(he.config(), expect=3)
    assert "credentials refused" in proc.stderr
    assert "key-file" in proc.stderr


def test_interval_is_rate_limited(he):
    he.emu.add_host(HOST, key=he.key)
    he.emu.interval_limit = 0
    proc = he.run(he.config(), expect=1)
    assert f"failed {HOST} A {V4} rate-limited" in proc.stdout
    assert "retry after 300 s" in proc.stderr


def test_911_retries(he):
    he.emu.add_host(HOST, key=he.key)
    he.emu.fault("code", host=HOST, code="911")
    proc = he.run(he.config(), expect=1)
    assert "retry after 600 s" in proc.stderr


def test_garbage_retries(he):
    he.emu.fault("garbage", body="<html>goodness</html>")
    proc = he.run(he.config(), expect=1)
    assert "unparsable reply from Hurricane Electric" in proc.stderr


def test_txt_key_file_is_checked(he):
    tk = he.ws.secret("txtkey", "t-" + secrets.token_hex(6))
    he.ws.run("check", config=he.config(extra_record=f"txt-key-file = {tk}"), check=0)
    proc = he.ws.run("check", config=he.config(extra_record="txt-name = _x.example.org"), check=2)
    assert "needs txt-key-file" in proc.stderr
