"""dnsward-gateway under attack (issue 10): request framing, TLS versions
and suites, requests that must not publish, host enumeration, plain HTTP
outside loopback, slow connections and a blocking upstream.

Every attack test runs against each deployment in DEPLOYMENTS:

  plain         the gateway as the invoking user (root in CI, no user =)
  root-user     started as root with [gateway] user = nobody: privileges
                dropped after the secrets, sockets and database are open
  systemd-unit  the unit's set-up without systemd (test_gateway_store.py's
                UnitGateway: a dynamic user, the state directory and
                credentials as the service manager lays them out)

A deployment is a function (ws, knot, pki, extra, tls) -> Gateway, not yet
started; another set-up (the systemd unit's) is added by putting one more
entry in DEPLOYMENTS.  Raw sockets are used where a client library would
fix the request up."""
import base64
import json
import os
import pathlib
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from test_gateway import Gateway, HOST, OTHER, ACME_HOST, V4, TXT1, proc_status, wait_for
from test_gateway_store import UnitGateway

# Every deployment on both store backends (conftest.py's gw_backend).
pytestmark = pytest.mark.usefixtures("gw_backend")

NOBODY_UID = 65534
IPV6_FREEBIND = 78   # linux/in6.h


def deploy_plain(ws, knot, pki, extra="", tls=True):
    return Gateway(ws, knot, pki, extra=extra, tls=tls)


def deploy_root_user(ws, knot, pki, extra="", tls=True):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    # The database's directory must be reachable by nobody; the files
    # themselves are given to it by the gateway.
    d = pathlib.Path(tempfile.mkdtemp(prefix="dnsward-gw-att-"))
    os.chmod(d, 0o755)
    ws.cleanup_dirs = getattr(ws, "cleanup_dirs", []) + [d]
    return Gateway(ws, knot, pki, extra=(extra + "\nuser = nobody").strip(), tls=tls,
                   db=d / "gateway.db")


class _WithExtra(Gateway):
    """Passes a deployment's extra [gateway] lines through a subclass whose
    own __init__ does not take them (UnitGateway)."""
    _extra, _tls = "", True

    def __init__(self, ws, knot, pki, **kw):
        super().__init__(ws, knot, pki, extra=self._extra, tls=self._tls, **kw)


class UnitGatewayX(UnitGateway, _WithExtra):
    def start(self, debug=True, netns=None):
        # The child inherits the starting thread's network namespace.
        if netns is None:
            UnitGateway.start(self, debug)
        else:
            ns_call(netns, lambda: UnitGateway.start(self, debug))
        self.urls = [self.url]
        listen = self.conf.read_text().split("listen = ", 1)[1].split("\n")[0]
        for _ in range(listen.count(",")):
            m = re.match(r"listening on (https?://\S+)", self.proc.stdout.readline().decode())
            assert m, self.log()
            self.urls.append(m.group(1))


def deploy_systemd_unit(ws, knot, pki, extra="", tls=True):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not tls:
        pytest.skip("the unit's set-up serves TLS (its key is a credential)")
    d = pathlib.Path(tempfile.mkdtemp(prefix="dnsward-unit-att-"))
    os.chmod(d, 0o755)
    ws.cleanup_dirs = getattr(ws, "cleanup_dirs", []) + [d]
    cls = type("UnitGatewayWith", (UnitGatewayX,), {"_extra": extra, "_tls": tls})
    return cls(ws, knot, pki, d)


DEPLOYMENTS = {"plain": deploy_plain, "root-user": deploy_root_user,
               "systemd-unit": deploy_systemd_unit}


@pytest.fixture(params=sorted(DEPLOYMENTS))
def deploy(request, ws):
    yield DEPLOYMENTS[request.param]
    for d in getattr(ws, "cleanup_dirs", []):
        shutil.rmtree(d, ignore_errors=True)


def started(g):
    """Checks the deployment really is what it says once serving."""
    if "user = nobody" in g.conf.read_text():
        assert proc_status(g.proc.pid)["Uid"].split()[0] == str(NOBODY_UID)
    if isinstance(g, UnitGateway):
        assert proc_status(g.proc.pid)["Uid"].split()[0] == str(g.uid)
    return g


@pytest.fixture
def gwa(ws, knot, pki, deploy, gw_backend):
    g = deploy(ws, knot, pki)
    g.add(HOST, "--acme")
    g.add(OTHER, "--acme")
    g.start()
    try:
        yield started(g)
    finally:
        g.stop()
        for t in g.tokens.values():
            assert t not in g.log()


def host_port(url):
    host, port = url.split("://")[1].rsplit(":", 1)
    return host.strip("[]"), int(port)


def raw_connect(g, url=None, source=None):
    host, port = host_port(url or g.url)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(15)
    if source is not None:
        if fam == socket.AF_INET6:
            # Any address of an IPv6 "local" route needs freebind to be bound.
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_FREEBIND, 1)
        s.bind((source, 0))
    s.connect((host, port))
    if g.tls:
        s = g.context().wrap_socket(s, server_hostname=host)
    return s


def read_all(s):
    """Everything until the server closes; the bytes and whether it closed."""
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out, True
            out += b
    except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
        return out, True
    except socket.timeout:
        return out, False


# ---- 7. strict framing ------------------------------------------------------------

BAD_FRAMING = {
    "cl-and-te": b"POST /update HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n",
    "te-and-cl": b"POST /update HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 5\r\n\r\n",
    "cl-twice-same": b"POST /update HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                     b"Content-Length: 5\r\n\r\n",
    "cl-twice-conflicting": b"POST /update HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                            b"Content-Length: 6\r\n\r\n",
    "cl-list": b"POST /update HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n",
    "http11-no-host": b"GET /health HTTP/1.1\r\nX-A: 1\r\n\r\n",
    "host-twice": b"GET /health HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",
    "bare-lf-everywhere": b"GET /health HTTP/1.1\nHost: h\n\n",
    "bare-lf-request-line": b"GET /health HTTP/1.1\nHost: h\r\n\r\n",
    "bare-lf-between-headers": b"GET /health HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n",
    "bare-lf-last-header": b"GET /health HTTP/1.1\r\nHost: h\r\nX-A: 1\n\r\n",
    "bare-lf-empty-line": b"GET /health HTTP/1.1\r\nHost: h\r\n\n",
    "blank-before-colon": b"POST /update HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n",
    "te-not-chunked": b"POST /update HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "te-twice": b"POST /update HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n",
    "te-http10": b"POST /update HTTP/1.0\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    "obs-fold": b"GET /health HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
    "nul-in-header": b"GET /health HTTP/1.1\r\nHost: h\r\nX-A: 1\x002\r\n\r\n",
}


def test_ambiguous_framing_is_400_and_close(gwa, knot):
    """Each case on its own connection (one gateway for all: they are
    independent requests)."""
    wrong = {}
    for case in sorted(BAD_FRAMING):
        s = raw_connect(gwa)
        try:
            s.sendall(BAD_FRAMING[case])
            data, closed = read_all(s)
        finally:
            s.close()
        if not (data.startswith(b"HTTP/1.1 400 ") or data.startswith(b"HTTP/1.0 400 ")):
            wrong[case] = data[:60]
        elif not closed:
            wrong[case] = "connection left open"
    assert wrong == {}, wrong
    assert knot.query(ACME_HOST, "TXT") == []


def test_well_framed_requests_keep_the_connection(gwa, knot):
    """The control: CR LF requests, pipelined on one connection, a body with
    one Content-Length and a chunked one, all answered on that connection."""
    tok = gwa.tokens[HOST]
    body = json.dumps({"subdomain": HOST, "txt": TXT1}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    reqs = (b"GET /health HTTP/1.1\r\nHost: h\r\n\r\n"
            b"POST /update HTTP/1.1\r\nHost: h\r\nX-Api-User: " + HOST.encode() +
            b"\r\nX-Api-Key: " + tok.encode() + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body +
            b"POST /update HTTP/1.1\r\nHost: h\r\nX-Api-User: " + HOST.encode() +
            b"\r\nX-Api-Key: " + tok.encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n" +
            chunked +
            b"GET /health HTTP/1.0\r\n\r\n")
    s = raw_connect(gwa)
    try:
        s.sendall(reqs)
        data, closed = read_all(s)
    finally:
        s.close()
    assert re.findall(rb"HTTP/1\.[01] (\d{3})", data) == [b"200"] * 4, data
    assert closed   # after the HTTP/1.0 request, as HTTP/1.0 wants
    assert knot.query(ACME_HOST, "TXT") == [f'"{TXT1}"']


# ---- 4. TLS versions and suites ------------------------------------------------------

def s_client(g, *args):
    host, port = host_port(g.url)
    p = subprocess.run(["openssl", "s_client", "-brief", "-connect", f"{host}:{port}",
                        "-CAfile", g.pki.ca_file, *args], input="", capture_output=True,
                       text=True, timeout=30)
    out = p.stdout + p.stderr
    return p.returncode == 0 and "CONNECTION ESTABLISHED" in out, out


# @SECLEVEL=0 lets this OpenSSL offer what its defaults would refuse by
# themselves: the refusal must come from the gateway.
OLD = "DEFAULT:@SECLEVEL=0"


TLS_CASES = [
    (["-tls1", "-cipher", OLD], False),
    (["-tls1_1", "-cipher", OLD], False),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0"], False),     # CBC, SHA-1
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0"], False),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"], False),               # CBC, SHA-256
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"], True),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"], True),
    (["-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"], True),
    (["-tls1_3"], True),
]


def test_tls_versions_and_suites(gwa):
    wrong = {}
    for args, accepted in TLS_CASES:
        ok, out = s_client(gwa, *args)
        if ok != accepted:
            wrong[" ".join(args)] = out[-300:]
    assert wrong == {}, wrong


def test_tls_priorities_configurable(ws, knot, pki, deploy):
    g = deploy(ws, knot, pki, extra="tls-priorities = NORMAL:-VERS-ALL:+VERS-TLS1.3")
    g.add(HOST)
    g.start()
    try:
        started(g)
        assert s_client(g, "-tls1_3")[0]
        assert not s_client(g, "-tls1_2")[0]
    finally:
        g.stop()
    bad = deploy(ws, knot, pki, extra="tls-priorities = NORMAL:+NO-SUCH-THING")
    p = bad.cli("check", check=None)
    assert p.returncode == 2 and "tls-priorities" in p.stderr, p.stderr


# ---- 10. requests that must not publish ---------------------------------------------

def audit_updates(g):
    """The host's accepted updates in the audit log, read once the gateway
    has stopped (an admin command beside a gateway that dropped to user =
    loses its writes: issue 10, fault 1)."""
    g.stop()
    return [l for l in g.cli("audit", "--host", HOST).stdout.splitlines() if "update-" in l]


def test_only_get_updates(gwa, knot):
    for method in ["HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]:
        s, h, body = gwa.request(method, f"/nic/update?hostname={HOST}&myip={V4}",
                                 auth=(HOST, gwa.tokens[HOST]))
        assert s == 405 and h["Allow"] == "GET", (method, s, body)
        assert body == ("" if method == "HEAD" else "badagent\n"), method
        assert knot.query(HOST, "A") == [], method
    # The reading routes still answer HEAD.
    assert gwa.request("HEAD", "/health")[0] == 200
    assert audit_updates(gwa) == []


def test_offline_is_refused(gwa, knot):
    s, _, body = gwa.nic(f"hostname={HOST}&myip={V4}&offline=yes")
    assert (s, body) == (200, "!donator\n")
    s, _, body = gwa.nic(f"hostname={HOST}&offline=YES")
    assert (s, body) == (200, "!donator\n")
    s, _, body = gwa.nic(f"hostname={HOST}&myip={V4}&offline=maybe")
    assert (s, body) == (400, "badrequest\n")
    assert knot.query(HOST, "A") == []
    s, _, body = gwa.nic(f"hostname={HOST}&myip={V4}&offline=no")
    assert (s, body) == (200, f"good {V4}\n")
    updates = audit_updates(gwa)
    assert len(updates) == 1 and f"new={V4} " in updates[0], updates


UNUSABLE = [
    "myip=0.0.0.0", "myip=255.255.255.255", "myip=127.0.0.1", "myip=127.3.2.1",
    "myip=224.0.0.1", "myip=239.255.255.250", "myip=169.254.10.20", "myip=240.0.0.1",
    "myip=::", "myip=::1", "myip=ff02::1", "myip=ff0e::fb", "myip=fe80::1",
    "myip=::ffff:127.0.0.1", "myipv6=::1", "myipv4=0.0.0.0", f"myip={V4},fe80::2",
    "myip=0.0.0.0,2a01:4f8:1:2::3",
]


def test_unusable_addresses_are_not_published(gwa, knot):
    for query in UNUSABLE:
        s, _, body = gwa.nic(f"hostname={HOST}&{query}")
        assert (s, body) == (400, "badrequest\n"), query
        assert knot.query(HOST, "A") == [] and knot.query(HOST, "AAAA") == [], query
    assert audit_updates(gwa) == []
    # Audited as refusals (within audit-refusals a minute; the rest are
    # counted into the next refusal row).
    out = gwa.cli("audit", "--host", HOST, "--limit", "100").stdout
    assert "result=bad-address" in out, out


# ---- 8. enumeration -------------------------------------------------------------------

def test_foreign_and_missing_names_look_the_same(gwa, knot):
    """With a valid token, a name that is another host's and one that is
    nobody's get the same code, body and headers in every API (the audit
    log, for the operator, tells them apart)."""
    def strip(h):
        return sorted((k, v) for k, v in h.items() if k.lower() != "date")

    missing = "nobody.example.test"
    a = gwa.nic(f"hostname={OTHER}&myip={V4}")
    b = gwa.nic(f"hostname={missing}&myip={V4}")
    assert (a[0], a[2], strip(a[1])) == (b[0], b[2], strip(b[1])) and a[2] == "nohost\n"
    a = gwa.nic(f"hostname={HOST},{OTHER}&myip={V4}")
    b = gwa.nic(f"hostname={HOST},{missing}&myip={V4}")
    assert (a[0], a[2]) == (b[0], b[2])
    a = gwa.acmedns({"subdomain": OTHER, "txt": TXT1})
    b = gwa.acmedns({"subdomain": missing, "txt": TXT1})
    assert (a[0], a[2], strip(a[1])) == (b[0], b[2], strip(b[1]))
    a = gwa.acmedns({"subdomain": f"_acme-challenge.{OTHER}", "txt": TXT1})
    b = gwa.acmedns({"subdomain": f"_acme-challenge.{missing}", "txt": TXT1})
    assert (a[0], a[2]) == (b[0], b[2])
    a = gwa.httpreq("present", {"fqdn": f"_acme-challenge.{OTHER}.", "value": TXT1})
    b = gwa.httpreq("present", {"fqdn": f"_acme-challenge.{missing}.", "value": TXT1})
    assert (a[0], a[2], strip(a[1])) == (b[0], b[2], strip(b[1]))
    # /metrics is open to anyone: it must not tell them apart either.
    text = gwa.request("GET", "/metrics")[2]
    assert 'result="!yours"' not in text
    assert knot.query(OTHER, "A") == ["192.0.2.99"]
    gwa.stop()
    out = gwa.cli("audit", "--host", HOST).stdout
    assert f"new={OTHER} " in out and "result=!yours" in out
    assert f"new={missing} " in out and "result=nohost" in out


# ---- 9. plain HTTP outside loopback --------------------------------------------------------

def test_plain_http_only_on_loopback_unless_allowed(ws, knot, pki, deploy):
    g = deploy(ws, knot, pki, extra="listen = 0.0.0.0:0", tls=False)
    p = g.cli("check", check=None)
    assert p.returncode == 2, p.stderr
    assert "0.0.0.0 is not a loopback address" in p.stderr and "allow-plain-http" in p.stderr
    g = deploy(ws, knot, pki, extra="listen = [::]:0\nallow-plain-http = yes", tls=False)
    token = g.add(HOST)
    assert "allow-plain-http = yes: plain HTTP on ::" in g.cli("check").stderr
    g.start()
    try:
        started(g)
        port = host_port(g.url)[1]
        p = subprocess.run(["curl", "-sS", "-u", f"{HOST}:{token}",
                            f"http://[::1]:{port}/nic/update?hostname={HOST}&myip={V4}"],
                           capture_output=True, text=True, timeout=30)
        assert p.stdout == f"good {V4}\n", p.stderr
        assert "tokens travel in clear" in g.log()
    finally:
        g.stop()
    # Loopback needs no option and gets no warning.
    g = deploy(ws, knot, pki, tls=False)
    p = g.cli("check")
    assert "allow-plain-http" not in p.stderr


# ---- 2. slow clients, many connections, a blocking upstream ---------------------------------

def test_request_deadline_closes_a_slow_but_active_client(ws, knot, pki, deploy):
    """Any byte resets libmicrohttpd's idle timeout; request-timeout bounds
    the whole head and body.  A client sending one byte of its head every
    0.2 s (it would need 40 s for all of it) is cut off."""
    g = deploy(ws, knot, pki, extra="request-timeout = 2\nconnection-timeout = 5")
    g.add(HOST)
    g.start()
    try:
        started(g)
        head = (b"GET /nic/update?hostname=" + HOST.encode() + b" HTTP/1.1\r\nHost: h\r\n" +
                b"X-Slow: " + b"a" * 200 + b"\r\n\r\n")
        s = raw_connect(g)
        s.settimeout(0.2)
        sent, closed = 0, False
        try:
            while sent < len(head):
                try:
                    s.sendall(head[sent:sent + 1])
                    sent += 1
                    if s.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    continue   # the 0.2 s pacing between bytes
                except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                    closed = True
                    break
        finally:
            s.close()
        assert closed and sent < len(head), f"sent {sent} of {len(head)} bytes"
        assert wait_for(lambda: "1 past request-timeout" in g.log(), 10), g.log()[-1500:]
    finally:
        g.stop()


def thread_count(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


class SlowCrowd:
    """Connections from given source addresses that do the TLS handshake,
    send the start of a request head and then one more byte now and then."""

    def __init__(self, g, url, sources):
        self.g, self.url, self.sources = g, url, sources
        self.open, self.refused = [], 0

    def connect(self):
        for src in self.sources:
            try:
                s = raw_connect(self.g, self.url, source=src)
                s.settimeout(10)
                s.sendall(b"GET /nic/update?hostname=x HTTP/1.1\r\nHost: h\r\nX-Slow: ")
                self.open.append((src, s))
            except (ConnectionResetError, ssl.SSLError, OSError, socket.timeout):
                self.refused += 1

    def trickle(self):
        """One byte on each; returns how many are still open."""
        still = []
        for src, s in self.open:
            try:
                s.settimeout(0)
                s.send(b"a")
                try:
                    if s.recv(1) == b"":
                        raise ConnectionResetError
                except (ssl.SSLWantReadError, BlockingIOError):
                    pass
                still.append((src, s))
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                s.close()
        self.open = still
        return len(still)

    def close(self):
        for _, s in self.open:
            s.close()
        self.open = []


def test_slow_crowd_from_one_v6_prefix_and_ten_v4_addresses(ws, knot, pki, deploy, netns):
    """1,000 slow connections, 500 from one IPv6 /64 (500 different
    addresses) and 500 from 10 IPv4 addresses, real source addresses in a
    network namespace.  max-connections-per-source holds each source to 32
    (an IPv6 /64 is one source); a normal client from another address gets
    its answer while they hang on; the process has the same threads with
    the crowd as without; request-timeout then closes every slow one."""
    ns = netns
    ns.ip("route", "add", "local", "10.77.0.0/16", "dev", "lo")
    ns.ip("-6", "route", "add", "local", "2001:db8:77::/48", "dev", "lo")
    g = deploy(ws, knot, pki, extra="listen = 127.0.0.1:0, [::1]:0\nrequest-timeout = 8\n"
               "connection-timeout = 30\nmax-connections-per-source = 32")
    g.add(HOST)
    g.start(netns=ns.name)
    crowd4 = crowd6 = None
    try:
        started(g)
        url4 = next(u for u in g.urls if "127.0.0.1" in u)
        url6 = next(u for u in g.urls if "[::1]" in u)
        idle_threads = thread_count(g.proc.pid)

        def normal(src, url):
            """One request from src, as a client in its own thread would."""
            res = {}

            def run():
                s = raw_connect(g, url, source=src)
                try:
                    t0 = time.monotonic()
                    s.sendall(b"GET /myip HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                    res["data"] = read_all(s)[0]
                    res["seconds"] = time.monotonic() - t0
                finally:
                    s.close()
            # The clients connect from the namespace: run them there.
            t = threading.Thread(target=ns_call, args=(ns.name, run))
            t.start()
            t.join(60)
            return res

        crowd6 = SlowCrowd(g, url6, [f"2001:db8:77:1::{i:x}" for i in range(1, 501)])
        crowd4 = SlowCrowd(g, url4, [f"10.77.0.{1 + i % 10}" for i in range(500)])
        ns_call(ns.name, crowd6.connect)
        ns_call(ns.name, crowd4.connect)
        held6, held4 = len(crowd6.open), len(crowd4.open)
        assert held6 <= 32 and crowd6.refused >= 500 - 32, (held6, crowd6.refused)
        assert held4 <= 10 * 32 and crowd4.refused >= 500 - 320, (held4, crowd4.refused)
        assert held6 > 0 and held4 > 0

        r4 = normal("10.77.1.1", url4)
        r6 = normal("2001:db8:77:2::1", url6)
        assert r4.get("data", b"").endswith(b"\r\n\r\n10.77.1.1\n"), r4
        assert r6.get("data", b"").endswith(b"\r\n\r\n2001:db8:77:2::1\n"), r6
        # Held connections cost no thread.
        assert thread_count(g.proc.pid) == idle_threads
        print(f"BENCH slowloris held v6={held6} v4={held4} normal v4 {r4['seconds']:.3f}s "
              f"v6 {r6['seconds']:.3f}s threads={idle_threads}")

        # Trickling bytes does not keep them: request-timeout closes all.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if ns_call(ns.name, crowd6.trickle) + ns_call(ns.name, crowd4.trickle) == 0:
                break
            time.sleep(0.5)   # pacing of the trickle, not a wait for an event
        assert crowd6.open == [] and crowd4.open == [], "slow connections outlived request-timeout"
        assert wait_for(lambda: "past request-timeout" in g.log(), 10)
    finally:
        for c in (crowd4, crowd6):
            if c is not None:
                c.close()
        g.stop()


def ns_call(name, fn):
    """Runs fn with this thread inside network namespace name (setns), then
    back: sockets created meanwhile belong to that namespace."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNET = 0x40000000
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            return fn()
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)
        os.close(target)


def test_waiting_handlers_do_not_stall_the_others(ws, knot, pki, deploy):
    """A provider that never answers: every update waits upstream-wait
    seconds for it.  With more such updates in flight than request workers,
    a request that does not wait (/myip, a nochg, a refusal) is still
    answered while they wait: at most request-workers - 2 wait at once."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # swallows the UPDATEs
    silent.bind(("127.0.0.1", 0))
    try:
        g = deploy(ws, knot, pki, extra="upstream-wait = 6\nrequest-workers = 4\n"
                   "upstream-workers = 8")
        hosts = [f"h{i}.example.test" for i in range(8)]
        for h in hosts:
            g.add(h)   # while Knot answers: host add asks for the zone's NS names
        g.conf.write_text(g.conf.read_text().replace(f"port = {knot.port}",
                                                     f"port = {silent.getsockname()[1]}"))
        g.start()
        try:
            started(g)
            done = {}

            def update(h):
                t0 = time.monotonic()
                done[h] = (g.nic(f"hostname={h}&myip={V4}", user=h, token=g.tokens[h]),
                           time.monotonic() - t0)
            threads = [threading.Thread(target=update, args=(h,)) for h in hosts]
            for t in threads:
                t.start()
            # Until the first waiting update returns, /myip must be answered.
            t0 = time.monotonic()
            s, _, body = g.request("GET", "/myip")
            myip_s = time.monotonic() - t0
            finished_before = len(done)
            for t in threads:
                t.join(60)
            assert (s, body) == (200, "127.0.0.1\n")
            waited = [h for h, (r, sec) in done.items() if r[2] == "911\n"]
            assert len(done) == 8 and len(waited) == 8, done
            # Some were answered at once (no free waiting place), the others
            # after upstream-wait: /myip came back before the waiting ones.
            assert finished_before < 8
            print(f"BENCH stall myip {myip_s:.3f}s while updates waited "
                  f"{sorted(round(sec, 2) for _, sec in done.values())}")
            assert "requests already wait for the upstream" in g.log()
        finally:
            g.stop()
    finally:
        silent.close()
