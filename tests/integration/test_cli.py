"""The dnsward command line: check, configuration errors, exit codes."""
import os
import re

import pytest

TOKEN = "Tk9UX0FfUkVBTF9UT0tFTl9fX19f"


def line_of(conf, text):
    for n, line in enumerate(open(conf), 1):
        if line.strip() == text:
            return n
    raise AssertionError(f"{text!r} not in {conf}")


def freedns_conf(ws, extra="", token_mode=0o600):
    tok = ws.secret("a.token", TOKEN, mode=token_mode)
    return ws.config(f"""
[provider fd]
type = freedns
base-url = https://127.0.0.1:1
timeout = 2

[record host.example.org]
provider = fd
ipv4 = static:81.2.69.160
token-a-file = {tok}
{extra}
""")


def test_check_ok_summarises(ws):
    conf = freedns_conf(ws)
    p = ws.run("check", config=conf, check=0)
    assert f"{conf}: OK, 1 provider, 1 record" in p.stdout
    assert "host.example.org via fd (freedns)" in p.stdout
    # FreeDNS sets its own TTL: none is shown where it would have no effect.
    assert "  A static 81.2.69.160\n" in p.stdout, p.stdout
    assert "ttl" not in p.stdout
    assert TOKEN not in p.stdout + p.stderr


def test_check_says_when_a_ttl_has_no_effect(ws):
    p = ws.run("check", config=freedns_conf(ws, "ttl = 60"), check=0)
    assert "A static 81.2.69.160 (ttl 60 has no effect: type freedns sets its own)" in p.stdout
    key = ws.secret("k.key", 'key "k" { algorithm hmac-sha256; secret '
                    '"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; };')
    conf = ws.config(f"""
[provider own]
type = rfc2136
server = 127.0.0.1
key-file = {key}

[record host.example.org]
provider = own
ipv4 = static:81.2.69.160
ipv6-ttl = 120
ipv6 = static:2a01:4f8::1
""", name="own.conf")
    p = ws.run("check", config=conf, check=0)
    assert "A static 81.2.69.160, ttl 300" in p.stdout and "AAAA static 2a01:4f8::1, ttl 120" in p.stdout


@pytest.mark.parametrize("extra,needle", [
    ("ipv6 = iface:", "[record host.example.org] ipv6: '' is not a valid interface name"),
    ("ttl = forever", "[record host.example.org] ttl: 'forever' is not a whole number"),
    ("color = blue", "[record host.example.org] color: unknown key"),
    ("ipv4-match = 10.0.0.1", "ipv4-match: '10.0.0.1' is not an ipv4 prefix"),
])
def test_check_reports_file_line_key(ws, extra, needle):
    conf = freedns_conf(ws, extra)
    p = ws.run("check", config=conf, check=2)
    assert f"{conf}:{line_of(conf, extra)}: " in p.stderr
    assert needle in p.stderr
    assert p.stdout == ""


def test_secret_readable_by_others_is_refused(ws):
    conf = freedns_conf(ws, token_mode=0o644)
    p = ws.run("check", config=conf, check=2)
    line = line_of(conf, f"token-a-file = {ws.path / 'a.token'}")
    assert re.search(re.escape(conf) + f":{line}: " + r"\[record host.example.org\] token-a-file: "
                     r"secret file .*a.token is accessible by others \(mode 0644\); "
                     r"fix with: chmod 600 .*a.token", p.stderr), p.stderr
    assert TOKEN not in p.stderr


def test_missing_config_file(ws):
    p = ws.run("check", config=str(ws.path / "nope.conf"), check=2)
    assert "cannot open configuration" in p.stderr and "nope.conf" in p.stderr


def test_unknown_record_argument(ws):
    conf = freedns_conf(ws)
    p = ws.run("update", "other.example.org", config=conf, check=2)
    assert "no [record other.example.org]" in p.stderr


def test_unknown_command_and_usage(ws):
    p = ws.run("frobnicate", check=2)
    assert "unknown command 'frobnicate'" in p.stderr
    p = ws.run(check=2)
    assert "usage: dnsward" in p.stderr


def test_providers_lists_capabilities(ws):
    p = ws.run("providers", check=0)
    lines = {l.split()[0]: l for l in p.stdout.splitlines()}
    assert {"freedns", "gandi", "rfc2136"} <= set(lines)
    assert "AAAA" in lines["rfc2136"] and "TXT" in lines["rfc2136"]
    assert "TXT" not in lines["freedns"]
    # Columns line up on every row, with or without TXT.
    cols = set()
    for name, line in lines.items():
        summary = line[line.index("  ", 11):].lstrip()
        cols.add(line.index(summary))
    assert len(cols) == 1, p.stdout


def test_dry_run_sends_nothing_and_saves_nothing(ws):
    # base-url points at a closed port: a request would fail the run.
    conf = freedns_conf(ws)
    p = ws.run("update", "--dry-run", config=conf, check=0)
    assert p.stdout.strip() == "would-update host.example.org A 81.2.69.160"
    assert not os.path.exists(ws.state_dir / "state.json")


def test_unreachable_provider_is_retryable(ws):
    conf = freedns_conf(ws)
    p = ws.run("-d", "update", config=conf, check=1)
    assert "failed host.example.org A 81.2.69.160 retry" in p.stdout
    assert "will retry" in p.stderr
    assert TOKEN not in p.stdout + p.stderr
    # Nothing is recorded as published; the failure is kept for "status".
    import json
    st = json.loads((ws.state_dir / "state.json").read_text())
    assert st["records"] == [] and st["results"][0]["outcome"] == "retry", st


def test_corrupt_state_file_is_reported_not_discarded(ws):
    conf = freedns_conf(ws)
    state = ws.state_dir / "state.json"
    state.write_text("{ torn")
    p = ws.run("update", config=conf, check=1)
    assert f"state file {state} is corrupt" in p.stderr
    assert state.read_text() == "{ torn"
