"""`dnsward status` without a daemon: the last result of each record and
family comes from the state file, for failed runs too.

A systemd timer runs `dnsward update`; when it fails, `dnsward status` must
say why (outcome, the provider's message, the address tried and since
when), in text and JSON.  The result is kept atomically in state.json, and a
steady condition does not rewrite the file on every run.
"""
import json
import os
import re
import secrets

import pytest

HOST = "home.mooo.test"
V4 = "81.2.69.160"


class Fd:
    def __init__(self, ws, emu, pki):
        self.ws = ws
        self.emu = emu
        self.token = secrets.token_hex(12)
        emu.add_record(self.token, HOST, "A", "192.0.2.1")
        tf = ws.secret("token-a", self.token)
        self.cfg = ws.config(f"""[provider fd]
type = freedns
base-url = {emu.url}
base-url-v6 = {emu.url}
ca-file = {pki.ca_file}
timeout = 5

[record {HOST}]
provider = fd
ipv4 = static:{V4}
ipv6 = off
token-a-file = {tf}
""")

    def update(self, expect):
        return self.ws.run("update", config=self.cfg, check=expect)

    def status(self):
        text = self.ws.run("status", config=self.cfg, check=0).stdout
        doc = json.loads(self.ws.run("status", "--json", config=self.cfg, check=0).stdout)
        assert doc["daemon"] is False
        (rec,) = doc["records"]
        (fam,) = rec["families"]
        assert self.token not in text and self.token not in json.dumps(doc)
        return text, fam

    def state_inode(self):
        return os.stat(self.ws.state_dir / "state.json").st_ino


@pytest.fixture
def fd(ws, freedns_emulator, pki):
    return Fd(ws, freedns_emulator, pki)


def test_failed_run_shows_why(fd):
    fd.emu.fault(fd.token, "no-record")
    fd.update(expect=3)
    text, fam = fd.status()
    assert fam["last_result"] == "fatal", fam
    assert "unknown record/token" in fam["last_message"], fam
    assert fam["last_address"] == V4 and fam["published"] is None
    assert isinstance(fam["last_result_since"], int)
    line = next(l for l in text.splitlines() if l.startswith(f"{HOST} A "))
    assert re.search(r" last=fatal since=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line), line
    assert "[FreeDNS: unknown record/token" in line, line

    # The same failure again: the state file is not rewritten.
    ino = fd.state_inode()
    since = fam["last_result_since"]
    fd.update(expect=3)
    assert fd.state_inode() == ino
    assert fd.status()[1]["last_result_since"] == since


def test_retry_then_success(fd):
    fd.emu.fault(fd.token, "server-error", status=503)
    fd.update(expect=1)
    _, fam = fd.status()
    assert fam["last_result"] == "retry" and "FreeDNS server error (HTTP 503)" in fam["last_message"]
    fd.emu.clear_fault(fd.token)
    fd.update(expect=0)
    text, fam = fd.status()
    assert fam["last_result"] == "done" and fam["published"] == V4, fam
    line = next(l for l in text.splitlines() if l.startswith(f"{HOST} A "))
    assert " last=done " in line and "[" not in line, line
    # A later run with nothing to send keeps "done" without a write.
    ino = fd.state_inode()
    fd.update(expect=0)
    assert fd.state_inode() == ino
    assert fd.status()[1]["last_result"] == "done"


def test_no_address_is_recorded(ws, pki, freedns_emulator):
    fd = Fd(ws, freedns_emulator, pki)
    prog = ws.path / "noaddr.sh"
    prog.write_text("#!/bin/sh\nexit 1\n")
    prog.chmod(0o755)
    cfg = open(fd.cfg).read().replace(f"ipv4 = static:{V4}", f"ipv4 = cmd:{prog}")
    open(fd.cfg, "w").write(cfg)
    fd.update(expect=1)
    _, fam = fd.status()
    assert fam["last_result"] == "no-address", fam
    assert fam["last_address"] is None
    assert str(prog) in fam["last_message"], fam
