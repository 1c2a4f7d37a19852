"""Address sources through the real `dnsward update --dry-run` (what it
would publish) and `dnsward update`: HTTPS echo services forced over one
family, DNS echoes, programs, an interface's prefix with a fixed host part;
then confinement: seccomp active while an update runs, and root dropped to
an unprivileged user.

Loopback answers (127.0.0.1, ::1) are what local echoes see; records accept
them with ipv4-accept/ipv6-accept = loopback, and a test checks that without
it they are refused like any other unpublishable address.
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from emulators.echo import DnsEcho, HttpsEcho
from emulators.freedns import FreeDnsEmulator

HOST = "host.example.org"


def _run(emu):
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def echo4(pki):
    yield from _run(HttpsEcho(pki.server, "127.0.0.1"))


@pytest.fixture
def echo6(pki):
    yield from _run(HttpsEcho(pki.server, "::1"))


@pytest.fixture
def dns_echo():
    yield from _run(DnsEcho())


def provider_conf(ws):
    """An rfc2136 provider: dry runs never contact it."""
    key = ws.secret("k.key", 'key "k" { algorithm hmac-sha256; secret '
                    '"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; };')
    return f"[provider p]\ntype = rfc2136\nserver = 127.0.0.1\nkey-file = {key}\n"


def dry_run(ws, conf, **kw):
    p = ws.run("-d", "update", "--dry-run", config=conf, **kw)
    return p, p.stdout.splitlines()


def web_conf(ws, pki, v4=None, v6=None, record_extra="", glob=""):
    lines = ["[dnsward]", f"state-dir = {ws.state_dir}", f"web-ca-file = {pki.ca_file}",
             "source-timeout = 5", glob, "", provider_conf(ws), f"[record {HOST}]",
             "provider = p"]
    if v4 is not None:
        lines += ["ipv4 = web", f"ipv4-web = {v4}", "ipv4-accept = loopback"]
    if v6 is not None:
        lines += ["ipv6 = web", f"ipv6-web = {v6}", "ipv6-accept = loopback"]
    lines.append(record_extra)
    return ws.config("\n".join(lines) + "\n")


# -- web -----------------------------------------------------------------------

def test_web_each_family_over_its_own_family(ws, pki, echo4, echo6):
    conf = web_conf(ws, pki, v4=echo4.url + "/", v6=echo6.url + "/")
    p, lines = dry_run(ws, conf)
    assert f"would-update {HOST} A 127.0.0.1" in lines, p.stdout + p.stderr
    assert f"would-update {HOST} AAAA ::1" in lines, p.stdout + p.stderr
    assert [r.client for r in echo4.take_requests()] == ["127.0.0.1"]
    assert [r.client for r in echo6.take_requests()] == ["::1"]


def test_web_request_never_crosses_to_the_other_family(ws, pki, echo4, echo6):
    # The IPv4 source pointed at an IPv6-only service and the other way
    # round: refused before any connection, never answered over the wrong
    # family.
    conf = web_conf(ws, pki, v4=echo6.url + "/", v6=echo4.url + "/")
    p, lines = dry_run(ws, conf)
    assert any(l.startswith(f"no-address {HOST} A (no web echo answered") for l in lines), p.stdout
    assert any(l.startswith(f"no-address {HOST} AAAA (no web echo answered") for l in lines), p.stdout
    assert echo4.take_requests() == [] and echo6.take_requests() == []
    assert p.returncode == 1


def test_web_answer_checked_against_policy(ws, pki, echo4):
    conf = web_conf(ws, pki, v4=echo4.url + "/")
    text = open(conf).read().replace("ipv4-accept = loopback\n", "")
    open(conf, "w").write(text)
    p, lines = dry_run(ws, conf)
    assert any(re.match(rf"^no-address {HOST} A \(web echo gave 127\.0\.0\.1, which is not "
                        r"publishable: .*loopback", l) for l in lines), p.stdout + p.stderr


def test_web_agreement_stops_after_two(ws, pki):
    emus = [HttpsEcho(pki.server, answer="81.2.69.160").start(),
            HttpsEcho(pki.server, style="trace", answer="81.2.69.160").start(),
            HttpsEcho(pki.server, answer="81.2.69.99").start()]
    try:
        conf = web_conf(ws, pki, v4=", ".join(e.url + "/" for e in emus))
        p, lines = dry_run(ws, conf)
        assert f"would-update {HOST} A 81.2.69.160" in lines, p.stdout + p.stderr
        assert [len(e.take_requests()) for e in emus] == [1, 1, 0]
    finally:
        for e in emus:
            e.stop()


def test_web_majority_and_disagreement(ws, pki):
    emus = [HttpsEcho(pki.server, answer="81.2.69.99").start(),
            HttpsEcho(pki.server, answer="81.2.69.160").start(),
            HttpsEcho(pki.server, answer="81.2.69.160").start()]
    try:
        conf = web_conf(ws, pki, v4=", ".join(e.url + "/" for e in emus))
        p, lines = dry_run(ws, conf)
        assert f"would-update {HOST} A 81.2.69.160" in lines, p.stdout + p.stderr
        # Two services that disagree: nothing is published.
        conf = web_conf(ws, pki, v4=", ".join(e.url + "/" for e in emus[:2]))
        p, lines = dry_run(ws, conf)
        assert any(l.startswith(f"no-address {HOST} A (web echo answers do not agree") and
                   "81.2.69.99" in l and "81.2.69.160" in l for l in lines), p.stdout
    finally:
        for e in emus:
            e.stop()


@pytest.mark.parametrize("answer", ["<html>81.2.69.160</html>", "81.2.69.160 81.2.69.161",
                                    "2a01:4f8::1", ""])
def test_web_malformed_answer_is_no_vote(ws, pki, answer):
    emu = HttpsEcho(pki.server, answer=answer).start()
    try:
        conf = web_conf(ws, pki, v4=emu.url + "/")
        p, lines = dry_run(ws, conf)
        assert any(l.startswith(f"no-address {HOST} A (no web echo answered") for l in lines), \
            p.stdout + p.stderr
    finally:
        emu.stop()


def test_web_list_errors(ws, pki):
    conf = web_conf(ws, pki, v4="http://127.0.0.1/")
    p = ws.run("check", config=conf, check=2)
    assert "ipv4-web: 'http://127.0.0.1/' is not an https:// URL" in p.stderr
    conf = ws.config(f"[dnsward]\nstate-dir = {ws.state_dir}\n\n{provider_conf(ws)}"
                     f"[record {HOST}]\nprovider = p\nipv4 = static:81.2.69.160\n"
                     "ipv4-web = https://a.test/\n")
    p = ws.run("check", config=conf, check=2)
    assert "ipv4-web: only with ipv4 = web" in p.stderr


# -- dns ------------------------------------------------------------------------

def dns_conf(ws, dns_echo, kinds=("opendns", "cloudflare", "google")):
    p = dns_echo.port
    v4 = ", ".join(f"{k}@127.0.0.1:{p}" for k in kinds)
    v6 = ", ".join(f"{k}@[::1]:{p}" for k in kinds)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
dns-ipv4 = {v4}
dns-ipv6 = {v6}
source-timeout = 3

{provider_conf(ws)}
[record {HOST}]
provider = p
ipv4 = dns
ipv4-accept = loopback
ipv6 = dns
ipv6-accept = loopback
""")


@pytest.mark.parametrize("kind", ["opendns", "cloudflare", "google"])
def test_dns_each_style(ws, dns_echo, kind):
    conf = dns_conf(ws, dns_echo, kinds=(kind,))
    p, lines = dry_run(ws, conf)
    assert f"would-update {HOST} A 127.0.0.1" in lines, p.stdout + p.stderr
    assert f"would-update {HOST} AAAA ::1" in lines, p.stdout + p.stderr
    qs = dns_echo.queries
    assert {q[0] for q in qs} == {"127.0.0.1", "::1"}
    want = {"opendns": ("myip.opendns.com", {1, 28}, 1),
            "cloudflare": ("whoami.cloudflare", {16}, 3),
            "google": ("o-o.myaddr.l.google.com", {16}, 1)}[kind]
    assert {q[1] for q in qs} == {want[0]}
    assert {q[2] for q in qs} == want[1] and {q[3] for q in qs} == {want[2]}


def test_dns_agreement_and_conflict(ws, dns_echo):
    conf = dns_conf(ws, dns_echo)
    dns_echo.answers["myip.opendns.com"] = "81.2.69.160"
    dns_echo.answers["whoami.cloudflare"] = "81.2.69.160"
    dns_echo.answers["o-o.myaddr.l.google.com"] = "81.2.69.99"
    p, lines = dry_run(ws, conf)
    assert f"would-update {HOST} A 81.2.69.160" in lines, p.stdout + p.stderr
    # Google was not asked for IPv4: two agreeing answers are enough.
    assert not any(q[1] == "o-o.myaddr.l.google.com" and q[0] == "127.0.0.1"
                   for q in dns_echo.queries)
    dns_echo.answers["whoami.cloudflare"] = "81.2.69.98"
    p, lines = dry_run(ws, conf)
    assert any(l.startswith(f"no-address {HOST} A (DNS echo answers do not agree")
               for l in lines), p.stdout


def test_dns_silent_server_times_out(ws):
    # A port with nothing behind it on loopback: ICMP refusal or silence,
    # either way no answer, within the timeout.
    conf = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
dns-ipv4 = opendns@127.0.0.1:9
source-timeout = 1

{provider_conf(ws)}
[record {HOST}]
provider = p
ipv4 = dns
""")
    t = time.monotonic()
    p, lines = dry_run(ws, conf)
    assert time.monotonic() - t < 10
    assert any(l.startswith(f"no-address {HOST} A (no DNS echo answered") for l in lines), p.stdout


def test_dns_server_list_errors(ws):
    conf = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
dns-ipv4 = opendns@[::1]:53

{provider_conf(ws)}
[record {HOST}]
provider = p
ipv4 = dns
""")
    p = ws.run("check", config=conf, check=2)
    assert "dns-ipv4: 'opendns@[::1]:53' is not opendns@ADDRESS" in p.stderr


# -- cmd ------------------------------------------------------------------------

def script(ws, name, body, mode=0o755):
    path = ws.path / name
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, mode)
    return str(path)


def cmd_conf(ws, prog, fam="ipv4", extra=""):
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
source-timeout = 2
{extra}
{provider_conf(ws)}
[record {HOST}]
provider = p
{fam} = cmd:{prog}
""")


def test_cmd_good_output_and_clean_environment(ws):
    prog = script(ws, "good.sh", """
[ "$1" = ipv4 ] || { echo "argument $1" >&2; exit 5; }
[ "$DNSWARD_FAMILY" = ipv4 ] || exit 6
[ -z "$HOME$USER$SECRET_THING" ] || { echo "environment leaked" >&2; exit 7; }
read x && exit 8        # stdin is /dev/null: nothing to read
echo 81.2.69.160
""")
    p, lines = dry_run(ws, cmd_conf(ws, prog), env={"SECRET_THING": "x"})
    assert f"would-update {HOST} A 81.2.69.160" in lines, p.stdout + p.stderr


@pytest.mark.parametrize("body,needle", [
    ("echo 81.2.69.160; echo 81.2.69.161\n", "more than one line"),
    ("echo 2a01:4f8::1\n", "an IPv6 address where IPv4 was asked for"),
    ("echo 'my ip is 81.2.69.160'\n", "not exactly one address"),
    ("echo 10.0.0.1\n", "not publishable"),
    ("echo oops >&2; exit 3\n", "exited with status 3: oops"),
    ("printf ''\n", "no address in the output"),
])
def test_cmd_bad_output(ws, body, needle):
    prog = script(ws, "bad.sh", body)
    p, lines = dry_run(ws, cmd_conf(ws, prog))
    assert any(l.startswith(f"no-address {HOST} A (") and needle in l for l in lines), \
        p.stdout + p.stderr


def test_cmd_hang_is_killed_with_its_children(ws):
    marker = ws.path / "child.pid"
    prog = script(ws, "hang.sh", f"sleep 300 & echo $! > {marker}\nsleep 300\n")
    t = time.monotonic()
    p, lines = dry_run(ws, cmd_conf(ws, prog))
    elapsed = time.monotonic() - t
    assert elapsed < 10, elapsed
    assert any(l.startswith(f"no-address {HOST} A (") and "did not finish within 2 s (killed)" in l
               for l in lines), p.stdout + p.stderr
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{child}") or \
        open(f"/proc/{child}/stat").read().split()[2] == "Z"


def test_cmd_flood_is_capped(ws):
    prog = script(ws, "flood.sh", "yes 81.2.69.160\n")
    p, lines = dry_run(ws, cmd_conf(ws, prog))
    assert any("printed more than 4096 bytes (killed)" in l for l in lines), p.stdout + p.stderr


def test_cmd_configuration_errors(ws):
    p = ws.run("check", config=cmd_conf(ws, "relative/prog"), check=2)
    assert "must name a program by its absolute path" in p.stderr
    prog = script(ws, "open.sh", "echo 81.2.69.160\n", mode=0o777)
    p = ws.run("check", config=cmd_conf(ws, prog), check=2)
    assert "is writable by others (mode 0777)" in p.stderr
    assert f"fix with: chmod go-w {prog}" in p.stderr
    p = ws.run("check", config=cmd_conf(ws, str(ws.path / "missing")), check=2)
    assert "No such file or directory" in p.stderr


# -- prefix plus host part --------------------------------------------------------

def test_prefix_with_fixed_host_part(ws, netns):
    netns.add("2a01:4f8:1:2::10/64")
    netns.add("2a01:4f8:9:ff00::1/56", dev=netns.peer)
    netns.wait_dad_done("2a01:4f8:1:2::10")
    netns.wait_dad_done("2a01:4f8:9:ff00::1", dev=netns.peer)
    conf = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}

{provider_conf(ws)}
[record {HOST}]
provider = p
ipv6 = iface:dw0
ipv6-suffix = ::1234:5678:9abc:def0

[record nas.example.org]
provider = p
ipv6 = iface:dw1
ipv6-suffix = ::ab:0:0:0:7

[record bad.example.org]
provider = p
ipv6 = iface:dw1
ipv6-suffix = ::100:0:0:0:7
""")
    p = ws.run("check", config=conf, check=0)
    assert "AAAA prefix of interface dw0 with host part ::1234:5678:9abc:def0" in p.stdout
    p, lines = dry_run(ws, conf, netns=netns.name)
    assert f"would-update {HOST} AAAA 2a01:4f8:1:2:1234:5678:9abc:def0" in lines, p.stdout + p.stderr
    assert "would-update nas.example.org AAAA 2a01:4f8:9:ffab::7" in lines, p.stdout + p.stderr
    assert any(l.startswith("no-address bad.example.org AAAA (ipv6-suffix ::100:0:0:0:7 has bits "
                            "inside the /56 prefix") for l in lines), p.stdout
    # A new prefix on the interface: the record follows it.
    netns.ip("addr", "del", "2a01:4f8:1:2::10/64", "dev", "dw0")
    netns.add("2a01:4f8:1:3::10/64")
    netns.wait_dad_done("2a01:4f8:1:3::10")
    p, lines = dry_run(ws, conf, netns=netns.name)
    assert f"would-update {HOST} AAAA 2a01:4f8:1:3:1234:5678:9abc:def0" in lines, p.stdout


def test_suffix_needs_an_interface_source(ws):
    conf = ws.config(f"""{provider_conf(ws)}
[record {HOST}]
provider = p
ipv6 = static:2a01:4f8::1
ipv6-suffix = ::1
""")
    p = ws.run("check", config=conf, check=2)
    assert "ipv6-suffix: only with ipv6 = iface:NAME" in p.stderr


# -- confinement ------------------------------------------------------------------

def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


@pytest.fixture
def nobody_dir():
    """A directory under /tmp that uid 65534 can reach and write."""
    d = tempfile.mkdtemp(prefix="dnsward-src-")
    os.chmod(d, 0o755)
    state = os.path.join(d, "state")
    os.mkdir(state, 0o700)
    os.chown(state, 65534, 65534)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def confined_update(ws, pki, nobody_dir, extra_global="", source="web"):
    """Runs `dnsward update` whose web echo answers after 2 s and samples
    /proc/PID/status meanwhile; returns (status fields, process, freedns)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (to drop it)")
    ca = os.path.join(nobody_dir, "ca.pem")
    shutil.copy(pki.ca_file, ca)
    os.chmod(ca, 0o644)
    echo = HttpsEcho(pki.server, answer="81.2.69.160", delay=2.0).start()
    fd = FreeDnsEmulator(pki.server).start()
    try:
        fd.add_record("tok4-0123456789", HOST, "A", "81.2.69.1")
        token = ws.secret("token", "tok4-0123456789")
        src = "ipv4 = web"
        if source == "cmd":
            prog = os.path.join(nobody_dir, "slow.sh")   # reachable by nobody
            with open(prog, "w") as f:
                f.write("#!/bin/sh\nsleep 2\necho 81.2.69.160\n")
            os.chmod(prog, 0o755)
            src = f"ipv4 = cmd:{prog}"
        conf = ws.config(f"""[dnsward]
state-dir = {os.path.join(nobody_dir, 'state')}
web-ipv4 = {echo.url}/
web-ca-file = {ca}
{extra_global}

[provider fd]
type = freedns
base-url = {fd.url}
ca-file = {ca}
timeout = 10

[record {HOST}]
provider = fd
{src}
token-a-file = {token}
""")
        from conftest import binary
        proc = subprocess.Popen([binary("dnsward"), "-d", "-c", conf, "update"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        status = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            st = proc_status(proc.pid)
            if st.get("Seccomp") == "2" or "dropped" in st.get("Name", ""):
                status = st
                break
            time.sleep(0.02)
        out, err = proc.communicate(timeout=60)
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in err, err
        return status, proc.returncode, out, err, fd
    finally:
        echo.stop()
        fd.stop()


def test_seccomp_active_and_update_works_under_it(ws, pki, nobody_dir):
    status, rc, out, err, fd = confined_update(ws, pki, nobody_dir, "user = nobody")
    assert status is not None, err
    assert status["Seccomp"] == "2" and status["NoNewPrivs"] == "1"
    nobody = pwd.getpwnam("nobody")
    assert status["Uid"].split() == [str(nobody.pw_uid)] * 4
    assert status["Gid"].split() == [str(nobody.pw_gid)] * 4
    assert status["Groups"] == ""
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    assert rc == 0, out + err
    assert f"updated {HOST} A 81.2.69.160" in out.splitlines()
    # dnsward's own filter (which may start publishers), and the
    # publisher's narrower one on top of it.
    assert "seccomp allowlist (starts publishers) installed" in err
    assert "seccomp allowlist (publisher) installed" in err
    assert fd.records["tok4-0123456789"].ip == "81.2.69.160"
    # The state was written by the unprivileged user.
    st = os.stat(os.path.join(nobody_dir, "state", "state.json"))
    assert st.st_uid == nobody.pw_uid


def test_seccomp_with_programs_uses_the_denylist(ws, pki, nobody_dir):
    status, rc, out, err, fd = confined_update(ws, pki, nobody_dir, "user = nobody", source="cmd")
    assert status is not None and status["Seccomp"] == "2", err
    assert rc == 0, out + err
    assert "seccomp denylist (programs are run) installed" in err


def test_seccomp_off(ws, pki, nobody_dir):
    status, rc, out, err, fd = confined_update(ws, pki, nobody_dir, "user = nobody\nseccomp = no")
    assert rc == 0, out + err
    assert "seccomp" not in err.lower()


def test_unknown_user_is_a_configuration_error(ws):
    conf = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
user = no-such-user-here

{provider_conf(ws)}
[record {HOST}]
provider = p
ipv4 = static:81.2.69.160
""")
    p = ws.run("check", config=conf, check=2)
    assert "user: no such user 'no-such-user-here'" in p.stderr
