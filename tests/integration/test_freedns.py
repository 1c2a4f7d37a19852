"""FreeDNS v2 through the real `dnsward update`, against the HTTPS emulator.

Every run uses -d (debug logging) and is checked for token leaks in stdout
and stderr: the token sits in the URL path, the place clients leak it most.
"""
import secrets

import pytest

from emulators.freedns import FreeDnsEmulator

HOST = "home.mooo.test"
V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"


def new_token():
    # FreeDNS tokens are random letters and digits.
    return secrets.token_hex(12)


class Setup:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.pki = pki
        self.tokens = []

    def token_file(self, name, value):
        self.tokens.append(value)
        return self.ws.secret(name, value)

    def config(self, token_a=None, token_aaaa=None, ipv4=f"static:{V4}", ipv6="off",
               base_v6=None, ca_file=None, extra_provider="", extra_record="", host=HOST):
        lines = [
            "[provider fd]",
            "type = freedns",
            f"base-url = {self.emu.url}",
            f"base-url-v6 = {base_v6 or self.emu.url}",
            f"ca-file = {ca_file or self.pki.ca_file}",
            "timeout = 5",
            extra_provider,
            f"[record {host}]",
            "provider = fd",
            f"ipv4 = {ipv4}",
            f"ipv6 = {ipv6}",
        ]
        if token_a is not None:
            lines.append(f"token-a-file = {self.token_file('token-a', token_a)}")
        if token_aaaa is not None:
            lines.append(f"token-aaaa-file = {self.token_file('token-aaaa', token_aaaa)}")
        lines.append(extra_record)
        return self.ws.config("\n".join(lines) + "\n")

    def run(self, cfg, *args, expect):
        proc = self.ws.run("-d", "update", *args, config=cfg, check=expect)
        out = proc.stdout + proc.stderr
        for t in self.tokens:
            assert t not in out, f"token leaked:\n{out}"
        assert "debug:" in proc.stderr   # -d took effect
        return proc


@pytest.fixture
def fd(ws, freedns_emulator, pki):
    return Setup(ws, freedns_emulator, pki)


def only_request(emu):
    reqs = emu.take_requests()
    assert len(reqs) == 1, reqs
    return reqs[0]


def test_update_sends_explicit_address_and_user_agent(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A", "192.0.2.1")
    cfg = fd.config(token_a=tok)
    proc = fd.run(cfg, expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    req = only_request(fd.emu)
    assert req.method == "GET"
    assert req.path == f"/u/{tok}/"
    assert req.query == {"address": [V4]}
    assert req.header("User-Agent").startswith("dnsward/")
    assert req.header("Authorization") is None
    assert fd.emu.records[tok].ip == V4
    # The debug log shows the request, with the token replaced.
    assert "/u/[token]/?address=81.2.69.160" in proc.stderr


def test_second_run_sends_nothing_and_force_gets_unchanged(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A", "192.0.2.1")
    cfg = fd.config(token_a=tok)
    fd.run(cfg, expect=0)
    assert len(fd.emu.take_requests()) == 1

    proc = fd.run(cfg, expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    assert fd.emu.take_requests() == []

    proc = fd.run(cfg, "--force", expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    req = only_request(fd.emu)
    assert req.query == {"address": [V4]}
    assert fd.emu.records[tok].updates == 1


def test_already_current_is_unchanged(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A", V4)
    proc = fd.run(fd.config(token_a=tok), expect=0)
    assert f"unchanged {HOST} A {V4}" in proc.stdout
    assert fd.emu.records[tok].updates == 0


def test_dual_stack_uses_v6_endpoint_and_own_token(fd, pki):
    v6emu = FreeDnsEmulator(pki.server).start()
    try:
        ta, t6 = new_token(), new_token()
        fd.emu.add_record(ta, HOST, "A", "192.0.2.1")
        v6emu.add_record(t6, HOST, "AAAA", "2001:db8::1")
        cfg = fd.config(token_a=ta, token_aaaa=t6, ipv6=f"static:{V6}", base_v6=v6emu.url)
        proc = fd.run(cfg, expect=0)
        assert f"updated {HOST} A {V4}" in proc.stdout
        assert f"updated {HOST} AAAA {V6}" in proc.stdout
        r4 = only_request(fd.emu)
        r6 = only_request(v6emu)
        assert r4.path == f"/u/{ta}/" and r4.query == {"address": [V4]}
        assert r6.path == f"/u/{t6}/" and r6.query == {"address": [V6]}
        assert v6emu.records[t6].ip == V6
    finally:
        v6emu.stop()


def test_bad_token_is_fatal(fd):
    tok = new_token()           # not known to the emulator
    proc = fd.run(fd.config(token_a=tok), expect=3)
    assert "FreeDNS refused the update" in proc.stderr
    assert "Invalid update URL" in proc.stderr
    assert "token-a-file" in proc.stderr
    assert f"failed {HOST} A {V4} fatal" in proc.stdout


def test_unknown_record_is_fatal(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "no-record")
    proc = fd.run(fd.config(token_a=tok), expect=3)
    assert "unknown record/token" in proc.stderr


def test_token_of_another_host_is_fatal(fd):
    tok = new_token()
    fd.emu.add_record(tok, "other.mooo.test", "A", "192.0.2.1")
    proc = fd.run(fd.config(token_a=tok), expect=3)
    assert "belongs to another host" in proc.stderr


@pytest.mark.parametrize("retry_after, shown", [("120", "120 s"), ("7", "7 s")])
def test_rate_limit_shows_delay(fd, retry_after, shown):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "ratelimit", retry_after=retry_after)
    proc = fd.run(fd.config(token_a=tok), expect=1)
    assert "429" in proc.stderr
    assert f"retry after {shown}" in proc.stderr
    assert f"failed {HOST} A {V4} rate-limited" in proc.stdout


def test_rate_limit_with_http_date(fd):
    import email.utils
    import time
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "ratelimit",
                 retry_after=email.utils.formatdate(time.time() + 3600, usegmt=True))
    proc = fd.run(fd.config(token_a=tok), expect=1)
    # About an hour, whatever the seconds spent getting here.
    assert any(f"retry after {s} s" in proc.stderr for s in range(3590, 3601)), proc.stderr


@pytest.mark.parametrize("status", [500, 503])
def test_server_error_retries(fd, status):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "server-error", status=status)
    proc = fd.run(fd.config(token_a=tok), expect=1)
    assert f"FreeDNS server error (HTTP {status})" in proc.stderr


@pytest.mark.parametrize("body", [
    "<html><body>nogood Updated</body></html>",
    f"updated {HOST} from 192.0.2.1 to {V4}",       # wrong case: not the documented reply
    f"Not Updated {HOST} from 192.0.2.1 to {V4}",
    "",
])
def test_garbage_reply_retries(fd, body):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "garbage", body=body)
    proc = fd.run(fd.config(token_a=tok), expect=1)
    assert "unparsable reply from FreeDNS" in proc.stderr


def test_oversized_reply_is_cut_off(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "garbage", body="Updated " + "x" * (300 * 1024))
    proc = fd.run(fd.config(token_a=tok), expect=1)
    assert "reply larger than 262144 bytes" in proc.stderr


def test_server_echoing_the_token_does_not_leak_it(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    fd.emu.fault(tok, "echo-token")
    proc = fd.run(fd.config(token_a=tok), expect=3)   # run() asserts no leak
    assert "Unable to locate this record" in proc.stderr


def test_wrong_hostname_certificate_fails(ws, freedns_wrong_host, pki):
    s = Setup(ws, freedns_wrong_host, pki)
    tok = new_token()
    s.emu.add_record(tok, HOST, "A")
    proc = s.run(s.config(token_a=tok), expect=3)   # needs the user
    assert "the certificate is for wrong.test" in proc.stderr and "base-url" in proc.stderr
    assert s.emu.requests == []          # no HTTP request ever reached it


def test_untrusted_ca_fails(fd, pki):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    proc = fd.run(fd.config(token_a=tok, ca_file=pki.other_ca_file), expect=3)
    assert "set ca-file in [provider" in proc.stderr
    assert fd.emu.requests == []


def test_redirect_to_other_origin_is_refused(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    # Same server, other host name: following it would send the token there.
    fd.emu.fault(tok, "redirect",
                 location=f"https://localhost:{fd.emu.port}/u/{tok}/?address={V4}")
    proc = fd.run(fd.config(token_a=tok), expect=3)
    assert "redirect" in proc.stderr
    assert len(fd.emu.take_requests()) == 1
    assert fd.emu.records[tok].updates == 0


def test_redirect_within_origin_is_followed(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A", "192.0.2.1")
    fd.emu.fault(tok, "redirect-same")
    proc = fd.run(fd.config(token_a=tok), expect=0)
    assert f"updated {HOST} A {V4}" in proc.stdout
    reqs = fd.emu.take_requests()
    assert [r.path for r in reqs] == [f"/u/{tok}/", f"/redirected/u/{tok}/"]
    assert reqs[1].query == {"address": [V4]}


def test_missing_token_file_is_a_config_error(fd):
    cfg = fd.config()   # ipv4 enabled, no token-a-file
    proc = fd.ws.run("-d", "update", config=cfg, check=2)
    assert "token-a-file" in proc.stderr
    assert fd.emu.requests == []


def test_token_file_readable_by_others_is_refused(fd):
    tok = new_token()
    cfg = fd.config(token_a=tok)
    import os
    os.chmod(fd.ws.path / "token-a", 0o644)
    proc = fd.ws.run("-d", "update", config=cfg, check=2)
    assert "chmod 600" in proc.stderr
    assert tok not in proc.stdout + proc.stderr


def test_plain_http_base_url_is_refused(fd):
    tok = new_token()
    cfg = fd.config(token_a=tok)
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("https://", "http://"))
    proc = fd.ws.run("-d", "check", config=cfg, check=2)
    assert "https://" in proc.stderr
    assert tok not in proc.stdout + proc.stderr


def test_check_touches_no_network(fd):
    tok = new_token()
    fd.emu.add_record(tok, HOST, "A")
    proc = fd.ws.run("-d", "check", config=fd.config(token_a=tok), check=0)
    assert tok not in proc.stdout + proc.stderr
    assert fd.emu.requests == []
