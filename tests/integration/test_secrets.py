"""No secret reaches any output, at any log level, in any command or path.

One configuration uses all three providers at once (FreeDNS and Gandi
emulators over HTTPS, a real Knot DNS over RFC 2136 + TSIG); every command
runs with debug logging, through successes and failures, and each secret is
looked for in everything dnsward printed.  The emulators and Knot see the
secrets, which proves they were really used.
"""
import base64
import secrets

V4 = "81.2.69.160"
V6 = "2a01:4f8:1:2::3"


def all_outputs_clean(procs, secret_values):
    for p in procs:
        out = p.stdout + p.stderr
        for s in secret_values:
            assert s not in out, f"secret leaked by {p.args}:\n{out}"
            # nor a trivially re-encoded form of it
            assert base64.b64encode(s.encode()).decode() not in out


def test_no_secret_in_any_output(ws, knot, freedns_emulator, gandi_emulator, pki):
    fd_a = "fd" + secrets.token_hex(16)
    fd_aaaa = "fd" + secrets.token_hex(16)
    pat = "pat_" + secrets.token_hex(20)
    tsig = knot.keys["host"]

    freedns_emulator.add_record(fd_a, "fd.example.org", "A")
    freedns_emulator.add_record(fd_aaaa, "fd.example.org", "AAAA")
    gandi_emulator.add_token(pat)
    gandi_emulator.add_zone("example.net")

    conf = ws.config(f"""
[provider fd]
type = freedns
base-url = {freedns_emulator.url}
base-url-v6 = {freedns_emulator.url}
ca-file = {pki.ca_file}
timeout = 5

[provider g]
type = gandi
base-url = {gandi_emulator.url}
ca-file = {pki.ca_file}
token-file = {ws.secret("gandi.token", pat)}
timeout = 5

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {ws.secret("host.key", tsig.bind_text())}

[record fd.example.org]
provider = fd
ipv4 = static:{V4}
ipv6 = static:{V6}
token-a-file = {ws.secret("fd-a.token", fd_a)}
token-aaaa-file = {ws.secret("fd-aaaa.token", fd_aaaa)}

[record www.example.net]
provider = g
ipv4 = static:{V4}

[record host.example.test]
provider = own
ipv4 = static:{V4}
ipv6 = static:{V6}
""")
    values = [fd_a, fd_aaaa, pat, tsig.secret]
    procs = [
        ws.run("-d", "check", config=conf, check=0),
        ws.run("-d", "update", "--dry-run", config=conf, check=0),
        ws.run("-d", "update", config=conf, check=0),
        ws.run("-d", "update", config=conf, check=0),
        ws.run("-d", "update", "--force", config=conf, check=0),
        ws.run("-d", "addr", config=conf),
    ]
    assert "updated fd.example.org AAAA " + V6 in procs[2].stdout
    assert "updated www.example.net A " + V4 in procs[2].stdout
    assert "updated host.example.test A " + V4 in procs[2].stdout
    assert knot.query("host.example.test", "A") == [V4]
    # The secrets were really sent.
    assert any(fd_a in r.path for r in freedns_emulator.requests)
    assert any(r.headers.get("authorization") == f"Bearer {pat}" for r in gandi_emulator.requests)

    # Failure paths: every provider refuses; error messages must stay clean.
    freedns_emulator.fault(fd_a, "echo-token")
    gandi_emulator.tokens.clear()   # the PAT is now unknown: 401
    knot.stop()                     # RFC 2136 server gone: timeout
    p = ws.run("-d", "update", "--force", config=conf, check=3)
    for rec in ("fd.example.org A", "www.example.net A", "host.example.test A"):
        assert f"failed {rec} {V4}" in p.stdout, p.stdout
    procs.append(p)
    all_outputs_clean(procs, values)


# ---- commands that publish nothing need no access to secrets ---------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

import pytest  # noqa: E402

from conftest import binary  # noqa: E402

NOBODY = 65534


@pytest.fixture
def rootonly():
    """A configuration nobody may read, naming secret files only root may
    read (0600 root:root), in a directory nobody can traverse to."""
    base = tempfile.mkdtemp(prefix="dnsward-rootonly-")
    os.chmod(base, 0o755)
    state = os.path.join(base, "state")
    os.mkdir(state, 0o755)
    tok = os.path.join(base, "fd.token")
    with open(tok, "w") as f:
        f.write("fd" + secrets.token_hex(16) + "\n")
    os.chmod(tok, 0o600)
    key = os.path.join(base, "own.key")
    with open(key, "w") as f:
        f.write('key "k" { algorithm hmac-sha256; secret '
                '"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; };\n')
    os.chmod(key, 0o600)
    conf = os.path.join(base, "dnsward.conf")
    with open(conf, "w") as f:
        f.write(f"""[dnsward]
state-dir = {state}

[provider fd]
type = freedns

[provider own]
type = rfc2136
server = 127.0.0.1
key-file = {key}

[record fd.example.org]
provider = fd
ipv4 = static:{V4}
ipv6 = off
token-a-file = {tok}

[record own.example.test]
provider = own
ipv4 = static:{V4}
ipv6 = off
""")
    os.chmod(conf, 0o644)
    try:
        yield conf, tok, key
    finally:
        shutil.rmtree(base, ignore_errors=True)


def as_nobody(conf, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "STATE_DIRECTORY")}
    return subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                           binary("dnsward"), "-c", conf, *args],
                          capture_output=True, text=True, timeout=60, env=env)


def test_read_only_commands_need_no_secret_access(rootonly):
    conf, tok, key = rootonly
    p = as_nobody(conf, "addr")
    assert p.returncode == 0, p.stderr
    assert "Permission denied" not in p.stderr
    p = as_nobody(conf, "status")
    assert p.returncode == 0, p.stderr
    assert "daemon: not running" in p.stdout and "fd.example.org A" in p.stdout, p.stdout
    p = as_nobody(conf, "status", "--json")
    assert p.returncode == 0 and '"daemon": false' in p.stdout, p.stderr


def test_check_as_a_user_checks_what_it_can_see(rootonly):
    conf, tok, key = rootonly
    p = as_nobody(conf, "check")
    assert p.returncode == 0, p.stderr
    assert "2 secret files not readable by this user: type and mode checked" in p.stdout, p.stdout
    assert f"{tok} is not readable by uid {NOBODY}" in p.stderr, p.stderr
    # What stat() can tell is still checked: a group- or world-writable
    # file is refused although its content cannot be read.
    os.chmod(tok, 0o602)
    p = as_nobody(conf, "check")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "accessible by others (mode 0602)" in p.stderr, p.stderr
    os.chmod(tok, 0o600)
    os.unlink(key)
    p = as_nobody(conf, "check")
    assert p.returncode == 2 and "No such file" in p.stderr, p.stderr


def test_check_as_root_still_reads_every_secret(rootonly):
    conf, tok, key = rootonly
    with open(key, "w") as f:
        f.write("not a key file\n")
    p = subprocess.run([binary("dnsward"), "-c", conf, "check"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and "own.key" in p.stderr, p.stdout + p.stderr


def test_publishing_commands_still_need_the_secrets(rootonly):
    conf, tok, key = rootonly
    p = as_nobody(conf, "update", "--dry-run")
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Permission denied" in p.stderr and ("fd.token" in p.stderr or "own.key" in p.stderr)
