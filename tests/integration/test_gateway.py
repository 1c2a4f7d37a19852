"""dnsward-gateway in front of a real Knot DNS: the gateway holds the
zone-wide TSIG key, hosts hold per-host tokens.  HTTPS with the suite's CA;
clients are Python's urllib (and curl where noted).

Every endpoint is tried with every kind of name mismatch: a token for one
host must never change anything of another."""
import base64
import contextlib
import hashlib
import http.client
import json
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import ssl
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import BUILD, task_statuses

# Every dnsward-gateway test runs on both store backends (conftest.py's
# gw_backend): SQLite, and PostgreSQL in a fresh database of the session's
# cluster.
pytestmark = pytest.mark.usefixtures("gw_backend")

# The PostgreSQL database of the running test (fixtures.postgres.PgDatabase),
# or None for SQLite; set by the gw_backend fixture.
STORE_PG = None

HOST = "host.example.test"
OTHER = "other.example.test"
ACME_HOST = f"_acme-challenge.{HOST}"
V4 = "81.2.69.160"
V4B = "81.2.69.161"
V6 = "2a01:4f8:1:2::3"
TXT1 = "A" * 43
TXT2 = "b" * 42 + "-"
TXT3 = "c" * 42 + "_"


def gateway_binary():
    path = BUILD / "src" / "gateway" / "dnsward-gateway"
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (meson setup build && ninja -C build)")
    return str(path)


def check_sanitizers(text, what):
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        assert marker not in text, f"sanitizer report from {what}:\n{text}"


class Gateway:
    """One dnsward-gateway: its configuration, admin commands, the serving
    process.  The store is SQLite at db (default WS/gateway.db), or, when
    the test runs on PostgreSQL (STORE_PG, or pg given), that database with
    its password in a file, over its Unix socket (pg_tcp: over TCP); name
    tells several gateways of a test apart."""

    def __init__(self, ws, knot, pki, extra="", tls=True, provider_port=None, db=None, pg=None,
                 name="gateway", provider_timeout=1, pg_tcp=False):
        self.ws = ws
        self.knot = knot
        self.pki = pki
        self.tls = tls
        self.proc = None
        self.url = None
        self.tokens = {}
        self.log_path = ws.path / f"{name}.log"
        key = ws.secret("zone.key", knot.keys["zone"].keymgr_text)
        self.db = pathlib.Path(db) if db is not None else ws.path / "gateway.db"
        self.pg = pg if pg is not None else STORE_PG
        self.backend = "postgresql" if self.pg is not None else "sqlite"
        if self.pg is not None:
            self.pg_password_file = ws.secret("pgpass", self.pg.password)
            # The Unix socket unless asked for TCP: some tests run the
            # gateway in a network namespace of its own.
            store_lines = (f"database = {self.pg.url(socket=not pg_tcp)}\n"
                           f"database-password-file = {self.pg_password_file}")
        else:
            store_lines = f"database = {self.db}"
        tls_lines = (f"tls-cert = {pki.server.cert_file}\ntls-key = {pki.server.key_file}\n"
                     if tls else "")
        self.conf = ws.path / f"{name}.conf"
        defaults = {"listen": "127.0.0.1:0", "zones": "example.test", "upstream-wait": "3", "retry-max": "2", "rate": "1000",
                    "rate-source": "10000"}
        for line in extra.splitlines():
            defaults.pop(line.split("=")[0].strip(), None)
        dlines = "\n".join(f"{k} = {v}" for k, v in defaults.items())
        self.conf.write_text(f"""[gateway]
{tls_lines}{store_lines}
{dlines}
{extra}

[provider knot]
type = rfc2136
server = 127.0.0.1
port = {provider_port or knot.port}
key-file = {key}
zone = example.test
timeout = {provider_timeout}
""")

    def cli(self, *args, check=0, debug=False):
        cmd = [gateway_binary(), "-c", str(self.conf)] + (["-d"] if debug else []) + list(args)
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        check_sanitizers(p.stderr, cmd)
        if check is not None and p.returncode != check:
            raise AssertionError(f"{cmd} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def add(self, fqdn, *args):
        p = self.cli("host", "add", fqdn, "--provider", "knot", *args)
        token = p.stdout.strip()
        assert re.fullmatch(r"dwg_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", token), p.stdout
        self.tokens[fqdn] = token
        return token

    def start(self, debug=True, netns=None):
        """Serves (inside network namespace netns when given); self.url is
        the first "listening on" address, self.urls all of them."""
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        cmd = [gateway_binary(), "-c", str(self.conf)] + (["-d"] if debug else []) + ["serve"]
        if netns is not None:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.logf, env=env)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"listening on (https?://\S+)", line)
        assert m, f"no 'listening on' line: {line!r}\n{self.log()}"
        self.url = m.group(1)
        self.urls = [self.url]
        for _ in range(self.conf.read_text().split("listen = ", 1)[1].split("\n")[0].count(",")):
            m = re.match(r"listening on (https?://\S+)", self.proc.stdout.readline().decode())
            assert m, self.log()
            self.urls.append(m.group(1))

    def stop(self):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        rc = self.proc.returncode
        self.proc.stdout.close()
        self.logf.close()
        self.proc = None
        check_sanitizers(self.log(), "dnsward-gateway serve")
        assert rc == 0, f"gateway exited {rc}\n{self.log()}"

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- the store, read by the test itself --------------------------------
    def sql(self, query, params=()):
        """Rows of one statement on the gateway's store ('?' placeholders)."""
        if self.pg is not None:
            return self.pg.sql(query.replace("?", "%s"), tuple(params))
        con = sqlite3.connect(str(self.db), timeout=10)
        try:
            with con:
                return con.execute(query, params).fetchall()
        finally:
            con.close()

    def sql_many(self, query, rows):
        if self.pg is not None:
            c = self.pg.connect()
            try:
                with c.cursor() as cur:
                    cur.executemany(query.replace("?", "%s"), rows)
            finally:
                c.close()
            return
        con = sqlite3.connect(str(self.db), timeout=10)
        try:
            with con:
                con.executemany(query, rows)
        finally:
            con.close()

    @contextlib.contextmanager
    def write_locked(self):
        """Holds the store's write lock from another session: SQLite's
        BEGIN IMMEDIATE; PostgreSQL's EXCLUSIVE lock on every table (reads
        go on, writes wait)."""
        if self.pg is not None:
            c = self.pg.connect()
            c.autocommit = False
            try:
                with c.cursor() as cur:
                    cur.execute("LOCK TABLE hosts, tokens, records, audit, leases, lockouts "
                                "IN EXCLUSIVE MODE")
                    yield
            finally:
                c.rollback()
                c.close()
            return
        db = sqlite3.connect(str(self.db), timeout=5, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()

    def context(self):
        return ssl.create_default_context(cafile=self.pki.ca_file)

    def request(self, method, path, body=None, headers=None, auth=None):
        """(status, headers, text) of one request."""
        hdrs = dict(headers or {})
        if auth is not None:
            hdrs["Authorization"] = "Basic " + base64.b64encode(
                f"{auth[0]}:{auth[1]}".encode()).decode()
        data = body if body is None or isinstance(body, bytes) else body.encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, context=self.context() if self.tls else None,
                                        timeout=30) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    def nic(self, query, user=HOST, token=None, headers=None):
        token = token if token is not None else self.tokens[user if user in self.tokens else HOST]
        return self.request("GET", "/nic/update?" + query, auth=(user, token), headers=headers)

    def acmedns(self, body, user=HOST, token=None):
        token = token if token is not None else self.tokens[HOST]
        return self.request("POST", "/update", body=json.dumps(body) if isinstance(body, dict)
                            else body, headers={"X-Api-User": user, "X-Api-Key": token,
                                                "Content-Type": "application/json"})

    def httpreq(self, action, body, user=HOST, token=None):
        token = token if token is not None else self.tokens[HOST]
        return self.request("POST", "/" + action, body=json.dumps(body), auth=(user, token),
                            headers={"Content-Type": "application/json"})


@pytest.fixture
def gw(ws, knot, pki, gw_backend):
    g = Gateway(ws, knot, pki)
    g.add(HOST, "--acme", "--iid", "::1234")
    g.add(OTHER, "--acme")
    g.start()
    try:
        yield g
    finally:
        g.stop()
        # No token may ever reach a log line.
        for t in g.tokens.values():
            assert t not in g.log()


def wait_for(fn, deadline=20.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)   # poll interval, not a wait for readiness
    return fn()


# ---- dyndns2 ----------------------------------------------------------------

def test_dyndns2_good_then_nochg(gw, knot):
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4}")
    assert (s, body) == (200, f"good {V4}\n")
    assert knot.query(HOST, "A") == [V4]
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4}")
    assert (s, body) == (200, f"nochg {V4}\n")


def test_dyndns2_dual_stack_and_myipv6(gw, knot):
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4},{V6}")
    assert (s, body) == (200, f"good {V4},{V6}\n")
    assert knot.query(HOST, "A") == [V4]
    assert knot.query(HOST, "AAAA") == [V6]
    s, _, body = gw.nic(f"hostname={HOST}&myipv6=2a01:4f8:1:2::4")
    assert (s, body) == (200, "good 2a01:4f8:1:2::4\n")
    assert knot.query(HOST, "AAAA") == ["2a01:4f8:1:2::4"]


def test_dyndns2_fritzbox_prefix_form(gw, knot):
    # FRITZ!Box sends <ip6lanprefix> unescaped as prefix/len.
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4}&ip6lanprefix=2a01:4f8:aa:bb::/64")
    assert (s, body) == (200, f"good {V4},2a01:4f8:aa:bb::1234\n")
    assert knot.query(HOST, "AAAA") == ["2a01:4f8:aa:bb::1234"]
    # A host without an interface id cannot use the prefix form.
    s, _, body = gw.nic(f"hostname={OTHER}&myipv6=2a01:4f8:aa:bb::/64", user=OTHER)
    assert s == 400


def test_dyndns2_callers_loopback_address_is_not_published(gw, knot):
    """Without myip the caller's address is used (test_myip_and_forwarded_for
    publishes one through a trusted proxy); a loopback caller (a client on
    the gateway's machine, a proxy missing from trusted-proxies) is refused."""
    s, _, body = gw.nic(f"hostname={HOST}")
    assert (s, body) == (400, "badrequest\n")
    assert knot.query(HOST, "A") == []


@pytest.mark.parametrize("user,token,expect", [
    (HOST, "dwg_0000000000000000_" + "A" * 43, "badauth"),
    (OTHER, None, "badauth"),                 # host's token, other's user name
    (HOST, "", "badauth"),
    (HOST, "x" * 200, "badauth"),
])
def test_dyndns2_badauth(gw, knot, user, token, expect):
    if token is None:
        token = gw.tokens[HOST]
    s, _, body = gw.request("GET", f"/nic/update?hostname={HOST}&myip={V4}", auth=(user, token))
    assert (s, body.strip()) == (200, expect)
    assert knot.query(HOST, "A") == []


def test_dyndns2_missing_auth_is_401_with_challenge(gw):
    s, h, body = gw.request("GET", f"/nic/update?hostname={HOST}&myip={V4}")
    assert s == 401 and body.strip() == "badauth"
    assert h["WWW-Authenticate"].startswith("Basic ")


# A foreign name is "nohost" whether another host has it or not (no
# enumeration with a valid token; the audit log keeps "!yours").
@pytest.mark.parametrize("hostname,codes", [
    (OTHER, ["nohost"]),
    ("nobody.example.test", ["nohost"]),
    (f"{HOST},{OTHER}", ["nohost", "nohost"]),
    (f"{OTHER},{HOST}", ["nohost", "nohost"]),
    (f"{HOST},nobody.example.test", ["nohost", "nohost"]),
    (f"*.{HOST}", ["notfqdn"]),
    (f"_acme-challenge.{HOST}", ["nohost"]),
    (f"{HOST}.evil.test", ["nohost"]),
    ("OTHER.Example.Test.", ["nohost"]),
    ("other%2eexample.test", ["nohost"]),      # percent-encoded dot
    ("h%C3%B3st.example.test", ["notfqdn"]),    # IDN in UTF-8, not xn--
    ("xn--hst-8ma.example.test", ["nohost"]),
    (f"{HOST}%20", ["notfqdn"]),
])
def test_dyndns2_foreign_names_change_nothing(gw, knot, hostname, codes):
    before = knot.query(OTHER, "A")
    s, _, body = gw.nic(f"hostname={hostname}&myip={V4}")
    assert s == 200
    assert body.splitlines() == codes
    assert knot.query(HOST, "A") == []
    assert knot.query(OTHER, "A") == before


@pytest.mark.parametrize("query", [
    f"hostname={HOST}%00.{OTHER}&myip={V4}",        # NUL byte
    f"hostname={HOST}&hostname={OTHER}&myip={V4}",  # key twice
    f"hostname={HOST}&myip=999.1.1.1",
    f"hostname={HOST}&myip={V4},{V4B}",
    f"hostname={HOST}&myip=%",
])
def test_dyndns2_malformed_refused(gw, knot, query):
    s, _, body = gw.nic(query)
    assert s == 400
    assert knot.query(HOST, "A") == [] and knot.query(OTHER, "A") == ["192.0.2.99"]


def test_dyndns2_case_and_trailing_dot_are_the_same_host(gw, knot):
    s, _, body = gw.nic(f"hostname=HOST.Example.TEST.&myip={V4}", user="Host.Example.Test.")
    assert (s, body) == (200, f"good {V4}\n")
    assert knot.query(HOST, "A") == [V4]


def test_dyndns2_upstream_down_911_then_background_retry(gw, knot):
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4}")
    assert body == f"good {V4}\n"
    knot.stop()
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4B}")
    assert (s, body) == (200, "911\n")
    # The desired value is stored; the same request again is not "nochg".
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4B}")
    assert body == "911\n"
    knot.start()
    assert wait_for(lambda: knot.query(HOST, "A") == [V4B], 30), gw.log()[-3000:]
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4B}")
    assert body == f"nochg {V4B}\n"
    out = gw.cli("audit", "--host", HOST).stdout
    assert "upstream-A" in out and "result=retry" in out and "result=done" in out


# ---- acme-dns ------------------------------------------------------------------

def test_acmedns_update_capitalised_keys(gw, knot):
    s, _, body = gw.acmedns({"SubDomain": HOST, "Txt": TXT1})
    assert (s, json.loads(body)) == (200, {"txt": TXT1})
    assert knot.query(ACME_HOST, "TXT") == [f'"{TXT1}"']
    s, _, body = gw.acmedns({"subdomain": HOST, "txt": TXT2})
    assert s == 200
    assert knot.query(ACME_HOST, "TXT") == sorted([f'"{TXT1}"', f'"{TXT2}"'])
    # acme-dns keeps two values: a third replaces the oldest.
    s, _, body = gw.acmedns({"subdomain": HOST, "txt": TXT3})
    assert s == 200
    assert knot.query(ACME_HOST, "TXT") == sorted([f'"{TXT2}"', f'"{TXT3}"'])


@pytest.mark.parametrize("body,status,error", [
    ({"subdomain": HOST, "txt": "short"}, 400, "bad_txt"),
    ({"subdomain": HOST, "txt": "A" * 42 + "\n"}, 400, "bad_txt"),
    ({"subdomain": HOST, "txt": "A" * 42 + "="}, 400, "bad_txt"),
    ({"subdomain": "bad name", "txt": TXT1}, 400, "bad_subdomain"),
    ({"subdomain": HOST, "SUBDOMAIN": HOST, "txt": TXT1}, 400, "malformed_json_payload"),
    ('{"subdomain": "x", ', 400, "malformed_json_payload"),
    ({"subdomain": OTHER, "txt": TXT1}, 401, "forbidden"),
    ({"subdomain": f"_acme-challenge.{OTHER}", "txt": TXT1}, 401, "forbidden"),
    ({"subdomain": f"*.{HOST}", "txt": TXT1}, 400, "bad_subdomain"),
    ({"subdomain": f"x.{HOST}", "txt": TXT1}, 401, "forbidden"),
])
def test_acmedns_refusals(gw, knot, body, status, error):
    s, _, text = gw.acmedns(body)
    assert (s, json.loads(text)) == (status, {"error": error})
    assert knot.query(ACME_HOST, "TXT") == []
    assert knot.query(f"_acme-challenge.{OTHER}", "TXT") == []


def test_acmedns_auth(gw, knot):
    s, _, text = gw.acmedns({"subdomain": HOST, "txt": TXT1}, user=OTHER)
    assert s == 401
    s, _, text = gw.request("POST", "/update", body=json.dumps({"subdomain": HOST, "txt": TXT1}))
    assert s == 401
    assert knot.query(ACME_HOST, "TXT") == []


def test_acme_needs_permission(ws, knot, pki):
    g = Gateway(ws, knot, pki)
    g.add(HOST)   # no --acme
    g.start()
    try:
        s, _, text = g.acmedns({"subdomain": HOST, "txt": TXT1})
        assert s == 401
        s, _, text = g.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT1})
        assert s == 403
        assert knot.query(ACME_HOST, "TXT") == []
        s, _, text = g.request("POST", "/register")
        assert s == 403
    finally:
        g.stop()


def test_health_and_register_disabled(gw):
    assert gw.request("GET", "/health")[0] == 200
    s, _, text = gw.request("POST", "/register", body="{}")
    assert (s, json.loads(text)) == (403, {"error": "registration_disabled"})


# ---- lego httpreq -----------------------------------------------------------------

def test_httpreq_present_and_cleanup(gw, knot):
    s, _, _ = gw.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT1})
    assert s == 200
    s, _, _ = gw.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT2})
    assert s == 200
    assert knot.query(ACME_HOST, "TXT") == sorted([f'"{TXT1}"', f'"{TXT2}"'])
    s, _, _ = gw.httpreq("cleanup", {"fqdn": ACME_HOST + ".", "value": TXT1})
    assert s == 200
    assert knot.query(ACME_HOST, "TXT") == [f'"{TXT2}"']
    s, _, _ = gw.httpreq("cleanup", {"fqdn": ACME_HOST + ".", "value": TXT2})
    assert s == 200
    assert knot.query(ACME_HOST, "TXT") == []


def test_httpreq_raw_mode(gw, knot):
    keyauth = "token123.thumbprint456"
    value = base64.urlsafe_b64encode(hashlib.sha256(keyauth.encode()).digest()).decode().rstrip("=")
    s, _, _ = gw.httpreq("present", {"domain": f"*.{HOST}", "token": "token123", "keyAuth": keyauth})
    assert s == 200
    assert knot.query(ACME_HOST, "TXT") == [f'"{value}"']


@pytest.mark.parametrize("fqdn", [
    f"_acme-challenge.{OTHER}.",
    f"_acme-challenge.{OTHER}",
    f"{HOST}.",
    f"_acme-challenge.x.{HOST}.",
    f"_acme-challenge.{HOST}.evil.test.",
    f"_ACME-challenge.{OTHER}.",
])
def test_httpreq_foreign_names_forbidden(gw, knot, fqdn):
    s, _, _ = gw.httpreq("present", {"fqdn": fqdn, "value": TXT1})
    assert s == 403
    s, _, _ = gw.httpreq("present", {"domain": OTHER, "token": "t", "keyAuth": "k"})
    assert s == 403
    for name in (ACME_HOST, f"_acme-challenge.{OTHER}", HOST, OTHER):
        assert knot.query(name, "TXT") == []


@pytest.mark.parametrize("body", [
    {"fqdn": ACME_HOST + ".", "value": "short"},
    {"fqdn": ACME_HOST + ".", "value": TXT1 + "\r\n"},
    {"fqdn": "bad name.", "value": TXT1},
    {"fqdn": ACME_HOST + ".", "value": TXT1, "domain": HOST},
    {"fqdn": ACME_HOST + ".", "value": 5},
    [],
])
def test_httpreq_malformed(gw, knot, body):
    s, _, _ = gw.httpreq("present", body)
    assert s == 400
    assert knot.query(ACME_HOST, "TXT") == []


def test_httpreq_auth(gw, knot):
    s, h, _ = gw.request("POST", "/present",
                         body=json.dumps({"fqdn": ACME_HOST + ".", "value": TXT1}))
    assert s == 401 and h["WWW-Authenticate"].startswith("Basic ")
    s, _, _ = gw.httpreq("present", {"fqdn": ACME_HOST + ".", "value": TXT1},
                         token=gw.tokens[OTHER])
    assert s == 401
    assert knot.query(ACME_HOST, "TXT") == []


# ---- limits, metrics, audit, persistence -------------------------------------------

def test_body_cap_before_auth(gw):
    s, _, _ = gw.request("POST", "/update", body="x" * 5000)
    assert s == 413
    s, _, _ = gw.request("POST", "/present", body="{" + " " * 5000 + "}")
    assert s == 413


def connection(gw):
    """One HTTP/1.1 connection to the gateway (kept open between requests)."""
    host, port = gw.url.split("://")[1].rsplit(":", 1)
    if gw.tls:
        return http.client.HTTPSConnection(host, int(port), context=gw.context(), timeout=30)
    return http.client.HTTPConnection(host, int(port), timeout=30)


def basic(user, token):
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


def test_keep_alive_for_every_api(gw, knot):
    """Several requests of every kind over one connection: no reply closes it."""
    c = connection(gw)
    auth = {"Authorization": basic(HOST, gw.tokens[HOST])}
    acme = {"X-Api-User": HOST, "X-Api-Key": gw.tokens[HOST],
            "Content-Type": "application/json"}
    steps = [
        ("GET", "/health", None, {}, 200),
        ("GET", f"/nic/update?hostname={HOST}&myip={V4}", None, auth, 200),
        ("GET", f"/nic/update?hostname={HOST}&myip={V4}", None, auth, 200),
        ("HEAD", "/health", None, {}, 200),
        ("POST", "/update", json.dumps({"subdomain": HOST, "txt": TXT1}), acme, 200),
        ("POST", "/present", json.dumps({"fqdn": ACME_HOST + ".", "value": TXT2}),
         dict(auth, **{"Content-Type": "application/json"}), 200),
        ("GET", "/metrics", None, {}, 200),
        ("GET", "/myip", None, {}, 200),
        ("GET", "/nope", None, {}, 404),
        ("GET", f"/nic/update?hostname={HOST}&myip={V4}", None, {}, 401),
    ]
    c.connect()
    sock = c.sock
    try:
        for method, path, body, headers, status in steps:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            r.read()
            assert r.status == status, (method, path)
            assert (r.getheader("Connection") or "").lower() != "close", (method, path)
            assert c.sock is sock, f"connection closed after {method} {path}"
    finally:
        c.close()
    assert knot.query(HOST, "A") == [V4]


def test_chunked_body_cap_before_auth(gw):
    """A chunked body has no Content-Length: the cap holds while it arrives.
    A little over it is answered 413; far over it, the connection is closed."""
    for path in ("/update", "/present"):
        c = connection(gw)
        try:
            c.request("POST", path, body=iter([b"x" * 1024] * 8), encode_chunked=True,
                      headers={"Transfer-Encoding": "chunked"})
            r = c.getresponse()
            assert r.status == 413, path
            r.read()
        finally:
            c.close()
    c = connection(gw)
    closed = False
    try:
        c.request("POST", "/update", body=iter([b"x" * 65536] * 64), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked"})
        c.getresponse()
    except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected,
            ssl.SSLError, OSError):
        closed = True
    finally:
        c.close()
    assert closed, "a body of 4 MiB was read to its end"
    # Within the cap, a chunked body is read whole and authenticated.
    c = connection(gw)
    try:
        c.request("POST", "/update", body=iter([b'{"subdomain": ', b'"x"}']), encode_chunked=True,
                  headers={"Transfer-Encoding": "chunked", "X-Api-User": HOST,
                           "X-Api-Key": "dwg_0000000000000000_" + "A" * 43})
        r = c.getresponse()
        assert r.status == 401
    finally:
        c.close()


def test_auth_before_body_parse(gw, knot):
    """A malformed body from someone without valid credentials is refused as
    unauthenticated: the body is not looked at before the token is checked."""
    s, _, text = gw.request("POST", "/update", body="{not json",
                            headers={"X-Api-User": HOST, "X-Api-Key": "dwg_0000000000000000_"
                                     + "A" * 43})
    assert (s, json.loads(text)) == (401, {"error": "forbidden"})
    s, _, _ = gw.request("POST", "/present", body="{not json", auth=(HOST, "bad"))
    assert s == 401
    # With the right token the same body is a parse error.
    s, _, text = gw.acmedns("{not json")
    assert s == 400


def test_nochg_takes_no_write_lock(gw, knot):
    """nochg reads only: it is answered at once while another process holds
    the database's write lock; a real change waits for the lock."""
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4}")
    assert (s, body) == (200, f"good {V4}\n")
    with gw.write_locked():
        t0 = time.monotonic()
        for _ in range(5):
            s, _, body = gw.nic(f"hostname={HOST}&myip={V4}")
            assert (s, body) == (200, f"nochg {V4}\n")
        assert time.monotonic() - t0 < 2.0
    s, _, body = gw.nic(f"hostname={HOST}&myip={V4B}")
    assert (s, body) == (200, f"good {V4B}\n")
    assert knot.query(HOST, "A") == [V4B]


def test_unknown_path_and_method(gw):
    assert gw.request("GET", "/nope")[0] == 404
    assert gw.request("POST", "/nic/update", body="x")[0] == 405
    assert gw.request("GET", "/update")[0] == 405


def test_lockout_after_bad_tokens(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="lockout-failures = 3\nlockout-time = 60")
    g.add(HOST)
    g.start()
    try:
        for _ in range(3):
            g.nic(f"hostname={HOST}&myip={V4}", token="dwg_0000000000000000_" + "A" * 43)
        s, h, body = g.nic(f"hostname={HOST}&myip={V4}")   # the right token, too late
        assert s == 429 and body.strip() == "abuse"
        assert 0 < int(h["Retry-After"]) <= 60
        assert knot.query(HOST, "A") == []
        s, _, _ = g.acmedns({"subdomain": HOST, "txt": TXT1})
        assert s == 429
    finally:
        g.stop()


def test_rate_limit_per_token(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="rate = 3")
    g.add(HOST)
    g.start()
    try:
        codes = [g.nic(f"hostname={HOST}&myip={V4}")[0] for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    finally:
        g.stop()


def test_metrics(gw, knot):
    gw.nic(f"hostname={HOST}&myip={V4}")
    gw.nic(f"hostname={HOST}&myip={V4}")
    gw.nic(f"hostname={OTHER}&myip={V4}")
    s, h, text = gw.request("GET", "/metrics")
    assert s == 200 and h["Content-Type"].startswith("text/plain; version=0.0.4")
    assert 'dnsward_gateway_requests_total{api="dyndns2",result="good"} 1' in text
    assert 'dnsward_gateway_requests_total{api="dyndns2",result="nochg"} 1' in text
    assert 'dnsward_gateway_requests_total{api="dyndns2",result="nohost"} 1' in text
    assert 'result="!yours"} 1' not in text
    assert re.search(r"^dnsward_gateway_upstream_seconds_count [1-9]", text, re.M)
    assert "dnsward_gateway_retry_queue_depth 0" in text
    assert 'dnsward_gateway_upstream_failures_total{outcome="retry"} 0' in text


def test_myip_and_forwarded_for(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="trusted-proxies = 127.0.0.1/32")
    g.add(HOST)
    g.start()
    try:
        s, _, body = g.request("GET", "/myip", headers={"X-Forwarded-For": "198.51.100.7"})
        assert (s, body) == (200, "198.51.100.7\n")
        s, _, body = g.request("GET", "/myip",
                               headers={"X-Forwarded-For": "203.0.113.9, 127.0.0.1"})
        assert body == "203.0.113.9\n"
        s, _, body = g.request("GET", "/myip")
        assert s == 400   # a trusted proxy must say who the client is
        s, _, body = g.nic(f"hostname={HOST}", headers={"X-Forwarded-For": V4})
        assert body == f"good {V4}\n"
    finally:
        g.stop()


def test_forwarded_for_ignored_from_untrusted(gw):
    s, _, body = gw.request("GET", "/myip", headers={"X-Forwarded-For": "198.51.100.7"})
    assert (s, body) == (200, "127.0.0.1\n")


def test_source_limit_and_expiry(ws, knot, pki):
    g = Gateway(ws, knot, pki)
    g.add(HOST, "--allow", "192.0.2.0/24")
    g.add(OTHER, "--expires", "@1000000")
    g.start()
    try:
        assert g.nic(f"hostname={HOST}&myip={V4}")[2] == "badauth\n"
        assert g.nic(f"hostname={OTHER}&myip={V4}", user=OTHER)[2] == "badauth\n"
        assert knot.query(HOST, "A") == []
    finally:
        g.stop()


def test_audit_log_and_admin_commands(gw, knot):
    gw.nic(f"hostname={HOST}&myip={V4}")
    gw.nic(f"hostname={OTHER}&myip={V4}")
    out = gw.cli("audit", "--host", HOST).stdout
    tid = gw.tokens[HOST][4:20]
    assert re.search(rf"{HOST} update-A token={tid} old=- new={V4} source=127\.0\.0\.1 "
                     r"result=accepted", out), out
    assert re.search(rf"{HOST} update token={tid} old=- new={OTHER} .* result=!yours", out), out
    assert f"{HOST} host-add" in out
    assert len(gw.cli("audit", "--limit", "2").stdout.splitlines()) == 2
    listing = gw.cli("host", "list").stdout
    assert f"{HOST} provider=knot acme=yes allow=any expires=never iid=::1234 token={tid}" in listing
    assert f"A {V4} applied" in listing
    # Rotation: the old token stops working at once, the new one works.
    old = gw.tokens[HOST]
    new = gw.cli("token", "rotate", HOST).stdout.strip()
    assert new != old
    assert gw.nic(f"hostname={HOST}&myip={V4B}", token=old)[2] == "badauth\n"
    assert gw.nic(f"hostname={HOST}&myip={V4B}", token=new)[2] == f"good {V4B}\n"
    gw.tokens[HOST + " (rotated)"] = new
    gw.cli("token", "revoke", HOST)
    assert gw.nic(f"hostname={HOST}&myip={V4}", token=new)[2] == "badauth\n"
    gw.cli("host", "remove", OTHER)
    assert gw.nic(f"hostname={OTHER}&myip={V4}", user=OTHER)[2] == "badauth\n"
    assert gw.cli("host", "remove", OTHER, check=2).returncode == 2
    assert gw.cli("host", "add", HOST, "--provider", "knot", check=2).returncode == 2
    assert gw.cli("host", "add", "x.example.test", "--provider", "nope", check=2).returncode == 2


def test_restart_keeps_state(gw, knot):
    assert gw.nic(f"hostname={HOST}&myip={V4}")[2] == f"good {V4}\n"
    gw.stop()
    gw.start()
    assert gw.nic(f"hostname={HOST}&myip={V4}")[2] == f"nochg {V4}\n"


def test_pending_retry_survives_restart(gw, knot):
    knot.stop()
    assert gw.nic(f"hostname={HOST}&myip={V4}")[2] == "911\n"
    gw.stop()
    knot.start()
    gw.start()
    assert wait_for(lambda: knot.query(HOST, "A") == [V4], 30), gw.log()[-3000:]


def test_plain_http_and_curl(ws, knot, pki):
    g = Gateway(ws, knot, pki, tls=False)
    token = g.add(HOST)
    g.start()
    try:
        p = subprocess.run(["curl", "-sS", "-u", f"{HOST}:{token}",
                            f"{g.url}/nic/update?hostname={HOST}&myip={V4}"],
                           capture_output=True, text=True, timeout=30)
        assert p.stdout == f"good {V4}\n", p.stderr
    finally:
        g.stop()


def test_store_integrity_after_use(gw, knot):
    gw.nic(f"hostname={HOST}&myip={V4}")
    gw.acmedns({"subdomain": HOST, "txt": TXT1})
    if gw.backend == "postgresql":
        # Only hashes: no token text in any row; the schema is current and
        # every host has its lease.
        assert gw.sql("SELECT version FROM dnsward_schema") == [(3,)]
        assert gw.sql("SELECT count(*) FROM tokens WHERE position(? in hash) > 0",
                      (b"dwg_",)) == [(0,)]
        assert gw.sql("SELECT count(*) FROM hosts h LEFT JOIN leases l ON l.host_id = h.id "
                      "WHERE l.host_id IS NULL") == [(0,)]
        dump = str(gw.sql("SELECT t::text FROM tokens t")) + str(gw.sql("SELECT a::text FROM audit a"))
        for t in gw.tokens.values():
            assert t not in dump and t.split("_")[2] not in dump
        return
    out = subprocess.run(["python3", "-c", f"""
import sqlite3
db = sqlite3.connect({str(gw.db)!r})
print(db.execute('PRAGMA integrity_check').fetchone()[0])
print(db.execute('PRAGMA user_version').fetchone()[0])
print(db.execute('PRAGMA journal_mode').fetchone()[0])
print(db.execute('SELECT count(*) FROM tokens WHERE hash LIKE ?', ('%dwg_%',)).fetchone()[0])
"""], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["ok", "3", "wal", "0"], out.stderr
    data = gw.db.read_bytes()
    for t in gw.tokens.values():
        assert t.encode() not in data
    assert oct(gw.db.stat().st_mode & 0o777) == "0o600"


# ---- confinement ---------------------------------------------------------------

def proc_status(pid, task=None):
    path = f"/proc/{pid}/task/{task}/status" if task else f"/proc/{pid}/status"
    fields = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


class held_connection:
    """A connection to g (TLS handshake done) with a request begun and not
    finished: the server's thread for it waits for the rest until the
    block ends."""

    def __init__(self, g):
        self.g = g

    def __enter__(self):
        host, port = self.g.url.split("://", 1)[1].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=20)
        if self.g.tls:
            ctx = ssl.create_default_context(cafile=self.g.pki.ca_file)
            sock = ctx.wrap_socket(sock, server_hostname=host)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\n")
        self.sock = sock
        return self

    def __exit__(self, *exc):
        self.sock.close()


def exercise(g, knot, ip):
    """A real update, a nochg, an ACME value, metrics: what serving needs."""
    s, _, body = g.nic(f"hostname={HOST}&myip={ip}")
    assert (s, body) == (200, f"good {ip}\n"), g.log()[-2000:]
    s, _, body = g.nic(f"hostname={HOST}&myip={ip}")
    assert (s, body) == (200, f"nochg {ip}\n")
    assert knot.query(HOST, "A") == [ip]
    if HOST in g.tokens and g.tls:
        s, _, _ = g.acmedns({"subdomain": HOST, "txt": TXT1})
        assert s == 200, g.log()[-2000:]
    assert g.request("GET", "/metrics")[0] == 200


def test_seccomp_active_in_every_thread_while_serving(gw, knot):
    exercise(gw, knot, V4)
    # Every thread, the epoll loops of the pool (one holding a request
    # begun and not finished) and the request workers included, is filtered.
    with held_connection(gw):
        tasks = task_statuses(gw.proc.pid)
        assert len(tasks) > 1
        for tid, st in tasks.items():
            assert (st["Seccomp"], st["NoNewPrivs"]) == ("2", "1"), (tid, st["Name"])
    assert "seccomp allowlist (server) installed" in gw.log()
    assert "set [gateway] user = NAME to drop privileges" in gw.log()


@pytest.fixture
def nobody_dir():
    """A directory that uid 65534 can reach, with the database's directory
    (left to root: the files themselves are given to the user)."""
    d = tempfile.mkdtemp(prefix="dnsward-gw-")
    os.chmod(d, 0o755)
    try:
        yield pathlib.Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_privileges_dropped_after_secrets_sockets_and_database(ws, knot, pki, nobody_dir):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    nobody = pwd.getpwnam("nobody")
    g = Gateway(ws, knot, pki, extra="user = nobody", db=nobody_dir / "gateway.db")
    g.add(HOST, "--acme")
    # The TLS key and the zone key stay root-only: read before the drop.
    assert os.stat(pki.server.key_file).st_uid == 0
    g.start()
    try:
        for st in task_statuses(g.proc.pid).values():
            assert st["Uid"].split() == [str(nobody.pw_uid)] * 4, st["Name"]
            assert st["Gid"].split() == [str(nobody.pw_gid)] * 4
            assert st["Groups"] == ""
            assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0
            assert (st["Seccomp"], st["NoNewPrivs"]) == ("2", "1")
        exercise(g, knot, V4)
        for suffix in ("", "-wal", "-shm") if g.backend == "sqlite" else ():
            assert os.stat(f"{g.db}{suffix}").st_uid == nobody.pw_uid, suffix
        assert "dropped privileges to user nobody" in g.log()
    finally:
        g.stop()
    # The administrator's commands still work on the same database.
    out = g.cli("audit", "--host", HOST).stdout
    assert "update-A" in out and V4 in out


def test_seccomp_off_keeps_no_new_privs(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="seccomp = no")
    g.add(HOST, "--acme")
    g.start()
    try:
        st = proc_status(g.proc.pid)
        assert (st["Seccomp"], st["NoNewPrivs"]) == ("0", "1")
        exercise(g, knot, V4B)
    finally:
        g.stop()


def test_unknown_user_is_a_configuration_error(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="user = no-such-user-here")
    p = g.cli("check", check=None)
    assert p.returncode != 0 and "no such user 'no-such-user-here'" in p.stderr
    g = Gateway(ws, knot, pki, extra="user = root")
    p = g.cli("check", check=None)
    assert p.returncode != 0 and "is root" in p.stderr


def test_ready_notification_after_confinement(ws, knot, pki, monkeypatch):
    """Type=notify: READY=1 reaches $NOTIFY_SOCKET once the filter is on and
    the server is listening."""
    import socket
    path = str(ws.path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    g = Gateway(ws, knot, pki)
    g.add(HOST)
    g.start()
    try:
        assert sock.recv(64) == b"READY=1"
        assert proc_status(g.proc.pid)["Seccomp"] == "2"
        assert g.request("GET", "/health")[0] == 200
    finally:
        g.stop()
        sock.close()


def test_stop_with_a_thread_pool_never_aborts(ws, knot, pki):
    """SIGTERM while the epoll loops of a thread pool are busy: libmicrohttpd's
    quiesce raced its own loops removing the listen socket and aborted
    ("Failed to remove listen FD from epoll set"), so the gateway died by
    SIGABRT instead of exiting 0.  Connections keep arriving and closing
    around each stop, which keeps the loops awake."""
    g = Gateway(ws, knot, pki, extra="http-threads = 8")
    g.add(HOST)
    for _ in range(20):
        g.start(debug=False)
        s, _, body = g.nic(f"hostname={HOST}&myip=81.2.69.160")
        assert s == 200 and body.split()[0] in ("good", "nochg"), body
        host, port = g.url.split("//")[1].rsplit(":", 1)
        done = threading.Event()

        def churn():
            while not done.is_set():
                try:
                    with socket.create_connection((host, int(port)), timeout=1):
                        pass
                except OSError:
                    pass

        workers = [threading.Thread(target=churn) for _ in range(4)]
        for w in workers:
            w.start()
        try:
            g.stop()   # asserts exit 0 and no sanitizer report
        finally:
            done.set()
            for w in workers:
                w.join()
