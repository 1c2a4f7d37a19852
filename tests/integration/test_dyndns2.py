"""dyndns2 and its presets through the real `dnsward update`, against one
emulator configured per preset quirk.

Every run uses -d (debug logging) and is checked for password leaks in
stdout and stderr.
"""
import base64
import secrets

import pytest

HOST = "home.example.net"
V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"
USER = "someone@example.net"


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.password = "pw-" + secrets.token_hex(10)
        emu.add_account(USER, self.password)

    def config(self, preset="noip", ipv4=f"static:{V4}", ipv6="off", extra_provider="",
               extra_record="", host=HOST, password=None):
        pw = self.ws.secret("password", password or self.password)
        lines = [
            "[provider dd]",
            "type = dyndns2",
            f"preset = {preset}" if preset else "",
            f"base-url = {self.emu.url}",
            f"ca-file = {self.pki.ca_file}",
            "timeout = 5",
            f"username = {USER}",
            f"password-file = {pw}",
            extra_provider,
            f"[record {host}]",
            "provider = dd",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
            extra_record,
        ]
        return self.ws.config("\n".join(lines) + "\n")

    def run(self, cfg, *args, expect):
        proc = self.ws.run("-d", "update", *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        assert self.password not in out, f"password leaked:\n{out}"
        b64 = base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        assert b64 not in out
        assert "debug:" in proc.stderr
        return proc


@pytest.fixture
def dd(ws, dyndns2_emulator, pki):
    return Setup(ws, dyndns2_emulator, pki)


def only_request(emu):
    reqs = emu.take_requests()
    assert len(reqs) == 1, reqs
    return reqs[0]


def test_update_sends_basic_auth_hostname_and_address(dd):
    dd.emu.add_host(HOST, owner=USER, a="192.0.2.1")
    proc = dd.run(dd.config(), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    req = only_request(dd.emu)
    assert req.path == "/nic/update"
    assert req.query == {"hostname": [HOST], "myip": [V4]}
    assert req.header("User-Agent").startswith("dnsward/")
    want = base64.b64encode(f"{USER}:{dd.password}".encode()).decode()
    assert req.header("Authorization") == f"Basic {want}"
    assert dd.emu.hosts[HOST].a == V4


def test_second_run_sends_nothing_and_force_gets_nochg(dd):
    dd.emu.add_host(HOST, owner=USER, a="192.0.2.1")
    cfg = dd.config()
    dd.run(cfg, expect=0)
    assert len(dd.emu.take_requests()) == 1
    # The state file avoids repeated nochg: no request at all.
    proc = dd.run(cfg, expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    assert dd.emu.take_requests() == []
    proc = dd.run(cfg, "--force", expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    assert len(dd.emu.take_requests()) == 1
    assert dd.emu.hosts[HOST].updates == 1


def test_noip_dual_stack_is_one_request_with_myipv6(dd):
    dd.emu.v6_style = "myipv6"
    dd.emu.add_host(HOST, owner=USER, a="192.0.2.1", aaaa="2001:db8::1")
    proc = dd.run(dd.config(ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    req = only_request(dd.emu)
    assert req.query == {"hostname": [HOST], "myip": [V4], "myipv6": [V6]}
    assert (dd.emu.hosts[HOST].a, dd.emu.hosts[HOST].aaaa) == (V4, V6)


def test_strato_dual_stack_is_one_request_with_comma(dd):
    dd.emu.v6_style = "comma"
    dd.emu.add_host(HOST, owner=USER)
    proc = dd.run(dd.config(preset="strato", ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    req = only_request(dd.emu)
    assert req.query == {"hostname": [HOST], "myip": [f"{V4},{V6}"]}


def test_separate_style_dual_stack_is_two_requests(dd):
    dd.emu.add_host(HOST, owner=USER)
    proc = dd.run(dd.config(preset="dyn", ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    reqs = dd.emu.take_requests()
    assert [r.query["myip"] for r in reqs] == [[V4], [V6]]


def test_ipv6_only_update_with_myipv6_style(dd):
    dd.emu.v6_style = "myipv6"
    dd.emu.add_host(HOST, owner=USER)
    proc = dd.run(dd.config(ipv4="off", ipv6=f"static:{V6}"), expect=0)
    assert f"updated {HOST} AAAA {V6}" in proc.stdout
    assert only_request(dd.emu).query == {"hostname": [HOST], "myipv6": [V6]}


def test_ovh_sends_system_dyndns(dd):
    dd.emu.required_query = {"system": "dyndns"}
    dd.emu.add_host(HOST, owner=USER)
    dd.run(dd.config(preset="ovh"), expect=0)
    assert only_request(dd.emu).query["system"] == ["dyndns"]


def test_generic_base_url_and_path(dd):
    dd.emu.path = "/dyndns/update"
    dd.emu.add_host(HOST, owner=USER)
    proc = dd.run(dd.config(preset=None, extra_provider="path = /dyndns/update"), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    assert only_request(dd.emu).path == "/dyndns/update"


def test_extra_hostnames_one_request_one_line_each(dd):
    dd.emu.host_list = True
    for h in (HOST, "b.example.net", "c.example.net"):
        dd.emu.add_host(h, owner=USER)
    cfg = dd.config(extra_record="extra-hostnames = b.example.net, c.example.net")
    proc = dd.run(cfg, expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    assert only_request(dd.emu).query["hostname"] == [f"{HOST},b.example.net,c.example.net"]
    assert dd.emu.hosts["c.example.net"].a == V4


def test_extra_hostname_failure_names_the_host(dd):
    dd.emu.host_list = True
    dd.emu.add_host(HOST, owner=USER)          # b.example.net unknown: nohost
    proc = dd.run(dd.config(extra_record="extra-hostnames = b.example.net"), expect=3)
    assert "b.example.net: " in proc.stderr
    assert "no such hostname" in proc.stderr


FATAL_CODES = ["badauth", "!donator", "notfqdn", "nohost", "numhost", "abuse", "badagent",
               "!yours", "!active", "badsys"]


@pytest.mark.parametrize("code", FATAL_CODES)
def test_codes_needing_a_human_are_fatal(dd, code):
    dd.emu.add_host(HOST, owner=USER)
    dd.emu.fault("code", host=HOST, code=code)
    proc = dd.run(dd.config(), expect=3)
    assert f"failed {HOST} A {V4} fatal" in proc.stdout
    assert f'("{code}")' in proc.stderr


def test_wrong_password_is_badauth(dd):
    dd.emu.add_host(HOST, owner=USER)
    proc = dd.run(dd.config(password="wrong-" + secrets.token_hex(6)), expect=3)
    assert "credentials refused: check username and password-file of [provider dd]" in proc.stderr


def test_unknown_host_and_host_of_another_account(dd):
    proc = dd.run(dd.config(), expect=3)
    assert "no such hostname" in proc.stderr
    dd.emu.add_host(HOST, owner="other@example.net")
    proc = dd.run(dd.config(), expect=3)
    assert "belongs to another account" in proc.stderr


@pytest.mark.parametrize("code", ["911", "dnserr", "servererror"])
def test_server_side_codes_back_off_30_minutes_for_noip(dd, code):
    dd.emu.add_host(HOST, owner=USER)
    dd.emu.fault("code", host=HOST, code=code)
    proc = dd.run(dd.config(), expect=1)
    assert f"failed {HOST} A {V4} retry" in proc.stdout
    assert "retry after 1800 s" in proc.stderr


def test_911_backs_off_10_minutes_by_default(dd):
    dd.emu.add_host(HOST, owner=USER)
    dd.emu.fault("code", code="911")      # account level, once
    proc = dd.run(dd.config(preset="dyn"), expect=1)
    assert "retry after 600 s" in proc.stderr


@pytest.mark.parametrize("status", [500, 503])
def test_http_5xx_retries(dd, status):
    dd.emu.fault("server-error", status=status)
    proc = dd.run(dd.config(), expect=1)
    assert f"server error (HTTP {status})" in proc.stderr


def test_interval_is_rate_limited(dd):
    dd.emu.add_host(HOST, owner=USER)
    dd.emu.fault("code", host=HOST, code="interval")
    proc = dd.run(dd.config(), expect=1)
    assert f"failed {HOST} A {V4} rate-limited" in proc.stdout
    assert "updates too frequent" in proc.stderr


def test_http_429_retry_after(dd):
    dd.emu.fault("ratelimit", retry_after=77)
    proc = dd.run(dd.config(), expect=1)
    assert f"failed {HOST} A {V4} rate-limited" in proc.stdout
    assert "retry after 77 s" in proc.stderr


@pytest.mark.parametrize("body", ["<html><body>nogood</body></html>", "goodbye", "GOOD " + V4,
                                  "", "good " + V4 + " extra"])
def test_garbage_retries(dd, body):
    dd.emu.fault("garbage", body=body)
    proc = dd.run(dd.config(), expect=1)
    assert "unparsable reply from No-IP" in proc.stderr


def test_echo_of_another_address_is_fatal(dd):
    dd.emu.add_host(HOST, owner=USER)
    dd.emu.fault("echo", host=HOST, ip="127.0.0.1")
    proc = dd.run(dd.config(), expect=3)
    assert "holds another address" in proc.stderr


def test_unknown_preset_is_a_config_error(dd):
    proc = dd.ws.run("check", config=dd.config(preset="google"), check=2)
    assert "unknown preset 'google'" in proc.stderr


def test_ipv4_only_preset_refuses_ipv6(dd):
    proc = dd.ws.run("check", config=dd.config(preset="ovh", ipv6=f"static:{V6}"), check=2)
    assert "IPv4 addresses only" in proc.stderr


def test_extra_hostnames_refused_where_lists_are_not_allowed(dd):
    cfg = dd.config(preset="dynu", extra_record="extra-hostnames = b.example.net")
    proc = dd.ws.run("check", config=cfg, check=2)
    assert "one hostname per request" in proc.stderr


def test_no_preset_needs_base_url(dd):
    cfg = dd.config(preset=None)
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write("\n".join(l for l in text.splitlines() if not l.startswith("base-url")) + "\n")
    proc = dd.ws.run("check", config=cfg, check=2)
    assert "set preset" in proc.stderr
    assert dd.password not in proc.stdout + proc.stderr
