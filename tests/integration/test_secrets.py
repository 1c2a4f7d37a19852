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
