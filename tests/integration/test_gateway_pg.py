"""dnsward-gateway on PostgreSQL: what only this backend has.

Several instances on one database (a host may hit any of them): under load
from two clients one instance is SIGKILLed and restarted, and every value
answered `good` is applied and in DNS at the end, none twice after its row
was recorded applied, every request in the audit log; a host whose round
an instance was in the middle of is taken over once its lease expires;
lockouts and rate limits hold across instances.  The server restarted
under load (the gateway recovers without a restart of its own, nothing
acknowledged is lost) or turned read-only (a standby after a failover).
TLS to the server with sslmode=verify-full (the suite's CA), refusals of
weaker settings and of passwords outside a file; `migrate` from SQLite;
the store's unit tests with every statement's SQL text on PostgreSQL.

The generic gateway tests run on PostgreSQL too (conftest.py's gw_backend);
these need a database of their own (fixtures.postgres.pg_database)."""
import base64
import collections
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time

import pytest

from conftest import BUILD
from test_gateway import (HOST, OTHER, TXT1, V4, V4B, Gateway, check_sanitizers,
                          gateway_binary, wait_for)
from test_gateway_store import metric, metric_labelled

LEASE_S = 5


def cluster(ws, knot, pki, pg, n=2, extra="", **kw):
    """n gateways on one PostgreSQL database, same configuration (each its
    own file and log), short leases."""
    extra = f"lease-time = {LEASE_S}\n{extra}"
    gws = [Gateway(ws, knot, pki, extra=extra, pg=pg, name=f"gw{i}", pg_tcp=True, **kw)
           for i in range(n)]
    for g in gws[1:]:
        g.tokens = gws[0].tokens   # one store: one set of tokens
    return gws


def stop_all(gws):
    for g in gws:
        if g.proc is not None and g.proc.poll() is None:
            g.stop()


def instance_count(g):
    return metric(g, "dnsward_gateway_instances")


def basic(user, token):
    return "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()


class Client(threading.Thread):
    """Sends dyndns2 updates, a new address each, to its own hosts in turn,
    to whichever gateway comes next (a load balancer that retries another
    on a refused connection), and records every answer."""

    def __init__(self, idx, gws, hosts, tokens, ca, stop):
        super().__init__(daemon=True)
        self.idx, self.gws, self.hosts, self.tokens = idx, gws, hosts, tokens
        self.ctx = ssl.create_default_context(cafile=ca)
        self.stop_ev = stop
        self.log = []          # (host, value, gateway index, status, body or error)
        self.n = 0

    def send(self, gi, host, value):
        g = self.gws[gi]
        url = g.url
        if url is None:
            return None, "down"
        hostport = url.split("://")[1]
        c = http.client.HTTPSConnection(hostport.rsplit(":", 1)[0],
                                        int(hostport.rsplit(":", 1)[1]), context=self.ctx,
                                        timeout=30)
        try:
            c.request("GET", f"/nic/update?hostname={host}&myip={value}",
                      headers={"Authorization": basic(host, self.tokens[host])})
            r = c.getresponse()
            return r.status, r.read().decode()
        except (OSError, http.client.HTTPException) as e:
            return None, f"{type(e).__name__}: {e}"
        finally:
            c.close()

    def run(self):
        while not self.stop_ev.is_set():
            for hi, host in enumerate(self.hosts):
                if self.stop_ev.is_set():
                    break
                self.n += 1
                value = f"10.{self.idx}.{self.n // 250}.{self.n % 250 + 1}"
                gi = (self.n + hi) % len(self.gws)
                status, body = self.send(gi, host, value)
                self.log.append((host, value, gi, status, body))
                if status is None:
                    # Refused or cut: the balancer tries the other one.
                    gi = (gi + 1) % len(self.gws)
                    status, body = self.send(gi, host, value)
                    self.log.append((host, value, gi, status, body))


def stored(status, body):
    """Whether an answer says the value is stored (good, or 911 while the
    provider has not taken it yet)."""
    return status == 200 and (body.startswith("good ") or body == "911\n")


def check_nothing_lost(g, knot, clients, hosts):
    """For every host: the value stored last is the one in the database,
    applied, and the one Knot serves; every `good` was applied (its
    upstream audit row), none twice; every stored request is audited."""
    sent = collections.defaultdict(list)   # host -> [(value, answered, stored)]
    for c in clients:
        for host, value, _, status, body in c.log:
            sent[host].append((value, status is not None, stored(status, body or "")))
    audit = g.sql("SELECT host, action, new, result FROM audit")
    # Each value applied is one upstream-A row, written with its applied
    # mark ("unchanged": the provider found it there already).
    done = collections.Counter((h, v) for h, a, v, r in audit
                               if a == "upstream-A" and r in ("done", "unchanged"))
    accepted = {(h, v) for h, a, v, r in audit if a == "update-A" and r == "accepted"}
    rows = {h: (v, applied) for h, v, applied in g.sql(
        "SELECT h.fqdn, r.value, r.applied FROM records r JOIN hosts h ON h.id = r.host_id "
        "WHERE r.rtype = 'A'")}
    problems = []
    for host in hosts:
        seq = sent[host]
        if not seq:
            continue
        last_stored = max((i for i, (_, _, st) in enumerate(seq) if st), default=-1)
        # What may be stored: the last value known stored, or one sent after
        # it whose answer never came (it may or may not have been).
        candidates = {seq[i][0] for i in range(len(seq))
                      if i >= last_stored and (i == last_stored or not seq[i][1])}
        v, applied = rows.get(host, (None, 0))
        if v not in candidates:
            problems.append(f"{host}: stored {v}, expected one of {sorted(candidates)}")
        if not applied:
            problems.append(f"{host}: {v} not applied")
        if knot.query(host, "A") != [v]:
            problems.append(f"{host}: Knot serves {knot.query(host, 'A')}, stored {v}")
    for c in clients:
        for host, value, gi, status, body in c.log:
            if status == 200 and body.startswith("good "):
                if done[(host, value)] < 1:
                    problems.append(f"{host} {value}: answered good, no upstream-A done row")
            if stored(status, body or "") and (host, value) not in accepted:
                problems.append(f"{host} {value}: answered {body!r}, not in the audit log")
    twice = [k for k, n in done.items() if n > 1]
    if twice:
        problems.append(f"applied twice after being recorded applied: {twice}")
    assert not problems, "\n".join(problems[:40])


def queue_empty(g):
    return g.sql("SELECT count(*) FROM records WHERE applied = 0 AND failed = 0") == [(0,)]


# ---- several instances -----------------------------------------------------------------

def test_two_instances_one_killed_and_restarted_under_load(ws, knot, pki, pg_database):
    gws = cluster(ws, knot, pki, pg_database, extra="upstream-wait = 3")
    hosts = [f"h{i:02d}.example.test" for i in range(40)]
    try:
        for h in hosts:
            gws[0].add(h)
        tokens = gws[0].tokens
        for g in gws:
            g.start()
        stop_ev = threading.Event()
        clients = [Client(i, gws, hosts[i::2], tokens, pki.ca_file, stop_ev) for i in range(2)]
        for c in clients:
            c.start()
        # Load on both, then gw1 dies without a word in the middle of it.
        assert wait_for(lambda: sum(len(c.log) for c in clients) >= 60, 30)
        victim = gws[1]
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=10)
        victim.proc.stdout.close()
        victim.logf.close()
        victim.proc = None
        victim.url = None
        n_at_kill = sum(len(c.log) for c in clients)
        assert wait_for(lambda: sum(len(c.log) for c in clients) >= n_at_kill + 60, 30)
        victim.start()   # the same configuration, a new process (and lease owner)
        n_at_start = sum(len(c.log) for c in clients)
        assert wait_for(lambda: sum(len(c.log) for c in clients) >= n_at_start + 60, 30)
        stop_ev.set()
        for c in clients:
            c.join(timeout=60)
        # Everything stored is applied once leases of the dead process expire.
        assert wait_for(lambda: queue_empty(gws[0]), LEASE_S * 4 + 20), \
            gws[0].log()[-3000:] + gws[1].log()[-3000:]
        answers = collections.Counter((s, (b or "").split(" ")[0].strip())
                                      for c in clients for _, _, _, s, b in c.log)
        assert answers[(200, "good")] > 100, answers
        # Nothing was answered that the store did not hold.
        assert all(s in (200, None) for c in clients for _, _, _, s, _ in c.log), answers
        check_nothing_lost(gws[0], knot, clients, hosts)
        # Both instances took part, before and after the kill.
        served = collections.Counter(gi for c in clients for _, _, gi, s, _ in c.log if s == 200)
        assert served[0] > 0 and served[1] > 0, served
    finally:
        stop_all(gws)
    for g in gws:
        for t in g.tokens.values():
            assert t not in g.log()


def test_lease_taken_over_after_the_holder_dies_mid_apply(ws, knot, pki, pg_database):
    """gw0 claims a host and sends its UPDATE to a Knot that does not answer
    (stopped); gw0 is killed there.  gw1 sends the value once gw0's lease
    has expired, not before."""
    gws = cluster(ws, knot, pki, pg_database, extra="upstream-wait = 1", provider_timeout=30)
    try:
        gws[0].add(HOST)
        for g in gws:
            g.start()
        knotd = knot.proc
        knotd.send_signal(signal.SIGSTOP)
        try:
            s, _, body = gws[0].nic(f"hostname={HOST}&myip={V4}")
            assert (s, body) == (200, "911\n"), gws[0].log()[-2000:]
            owner, expires = gws[0].sql(
                "SELECT l.owner, l.expires FROM leases l JOIN hosts h ON h.id = l.host_id "
                "WHERE h.fqdn = ?", (HOST,))[0]
            assert owner != "", "gw0 holds no lease while it sends"
            gws[0].proc.send_signal(signal.SIGKILL)
            gws[0].proc.wait(timeout=10)
            gws[0].proc.stdout.close()
            gws[0].logf.close()
            gws[0].proc = None
        finally:
            knotd.send_signal(signal.SIGCONT)
        assert wait_for(lambda: queue_empty(gws[1]), LEASE_S * 4 + 20), gws[1].log()[-3000:]
        assert knot.query(HOST, "A") == [V4]
        done = gws[1].sql("SELECT time FROM audit WHERE action = 'upstream-A' AND "
                          "result IN ('done', 'unchanged') AND new = ?", (V4,))
        assert len(done) == 1, done
        assert done[0][0] >= expires, (done, expires)   # taken over after the lease ended
        s, _, body = gws[1].nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"nochg {V4}\n")
    finally:
        stop_all(gws)


def test_lockout_across_instances(ws, knot, pki, pg_database):
    """Bad tokens spread over two instances lock the source out at the same
    count as on one."""
    bad = "dwg_0000000000000000_" + "A" * 43
    gws = cluster(ws, knot, pki, pg_database, extra="lockout-failures = 4\nlockout-time = 60")
    try:
        gws[0].add(HOST)
        for g in gws:
            g.start()
        codes = [gws[i % 2].nic(f"hostname={HOST}&myip={V4}", token=bad)[2].strip()
                 for i in range(4)]
        assert codes == ["badauth"] * 3 + ["abuse"], codes
        for g in gws:   # the right token, too late, at either
            s, h, body = g.nic(f"hostname={HOST}&myip={V4}")
            assert (s, body.strip()) == (429, "abuse")
            assert 0 < int(h["Retry-After"]) <= 60
        assert knot.query(HOST, "A") == []
    finally:
        stop_all(gws)


def test_rate_limit_across_instances(ws, knot, pki, pg_database):
    """rate = 6 per token and minute is the total of all instances: each of
    two allows 3, so spreading requests gains nothing."""
    gws = cluster(ws, knot, pki, pg_database, extra="rate = 6")
    try:
        gws[0].add(HOST)
        for g in gws:
            g.start()
        assert wait_for(lambda: all(instance_count(g) == 2 for g in gws), 20)
        codes = [gws[i % 2].nic(f"hostname={HOST}&myip={V4}")[0] for i in range(10)]
        assert codes.count(200) == 6 and codes[6:] == [429] * 4, codes
        # One instance stops cleanly: the other soon allows the whole rate.
        gws[1].stop()
        assert wait_for(lambda: instance_count(gws[0]) == 1, 30)
    finally:
        stop_all(gws)


# ---- the server restarted, or read-only ---------------------------------------------------

def test_postgres_restart_under_load(ws, knot, pki, postgres, pg_database):
    gws = cluster(ws, knot, pki, pg_database, extra="upstream-wait = 3")
    hosts = [f"r{i:02d}.example.test" for i in range(20)]
    try:
        for h in hosts + [HOST]:
            gws[0].add(h, "--acme") if h == HOST else gws[0].add(h)
        for g in gws:
            g.start()
        pids = [g.proc.pid for g in gws]
        stop_ev = threading.Event()
        clients = [Client(i, gws, hosts[i::2], gws[0].tokens, pki.ca_file, stop_ev)
                   for i in range(2)]
        for c in clients:
            c.start()
        assert wait_for(lambda: sum(len(c.log) for c in clients) >= 40, 30)
        # A crash of the server's processes, then a while without it.
        postgres.stop("immediate")
        try:
            assert wait_for(lambda: gws[0].request("GET", "/health")[0] == 503, 15)
            s, h, body = gws[0].nic(f"hostname={HOST}&myip={V4B}")
            assert (s, body) == (503, "911\n")
            assert int(h["Retry-After"]) > 0
            s, _, body = gws[1].acmedns({"subdomain": HOST, "txt": TXT1})
            assert (s, json.loads(body)) == (503, {"error": "store_unavailable"})
            s, _, body = gws[1].request("GET", "/health")
            assert s == 503 and "server unavailable" in body, body
            assert metric(gws[0], "dnsward_gateway_store_writable") == 0
            assert metric_labelled(gws[0], "dnsward_gateway_store_errors_total",
                                   'kind="unavailable"') >= 1
        finally:
            postgres.start()
        # Back without a restart of the gateways.
        assert wait_for(lambda: all(g.request("GET", "/health")[0] == 200 for g in gws), 30), \
            gws[0].log()[-3000:]
        n = sum(len(c.log) for c in clients)
        assert wait_for(lambda: sum(len(c.log) for c in clients) >= n + 40, 30)
        stop_ev.set()
        for c in clients:
            c.join(timeout=60)
        assert [g.proc.pid for g in gws] == pids
        assert wait_for(lambda: queue_empty(gws[0]), 30), gws[0].log()[-3000:]
        check_nothing_lost(gws[0], knot, clients, hosts)
        for g in gws:
            log = g.log()
            assert len([x for x in log.splitlines() if "the server cannot be reached" in x]) <= 1
            assert "writes succeed again" in log or "cannot be reached" not in log
        s, _, body = gws[0].nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (200, f"good {V4B}\n")
    finally:
        stop_all(gws)


def test_read_only_server_is_loud_and_recovers(ws, knot, pki, postgres, pg_database):
    """A failover that leaves the gateway on a standby: every session read
    only.  Changes are refused as a store failure with what to do; what is
    stored still answers; writes come back with a writable server."""
    g = Gateway(ws, knot, pki, pg=pg_database)
    g.add(HOST)
    g.start()
    db = pg_database.name
    terminate = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                 "AND pid <> pg_backend_pid()")
    try:
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"good {V4}\n")
        postgres.sql("postgres", f"ALTER DATABASE {db} SET default_transaction_read_only = on")
        postgres.sql("postgres", terminate, (db,))
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"nochg {V4}\n"), g.log()[-2000:]
        s, h, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (503, "911\n"), g.log()[-2000:]
        assert g.request("GET", "/health")[0] == 503
        lines = [x for x in g.log().splitlines() if "takes no writes" in x]
        assert len(lines) == 1 and "target_session_attrs=read-write" in lines[0], lines
        assert metric_labelled(g, "dnsward_gateway_store_errors_total", 'kind="read_only"') >= 1
        postgres.sql("postgres", f"ALTER DATABASE {db} RESET default_transaction_read_only")
        postgres.sql("postgres", terminate, (db,))
        assert wait_for(lambda: g.request("GET", "/health")[0] == 200, 20), g.log()[-2000:]
        s, _, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (200, f"good {V4B}\n"), g.log()[-2000:]
        assert "writes succeed again" in g.log()
    finally:
        g.stop()


# ---- connection settings: TLS, passwords ------------------------------------------------------

def pg_conf(ws, knot, url, pwfile, name="tls.conf"):
    key = ws.secret("zone.key", knot.keys["zone"].keymgr_text)
    p = ws.path / name
    p.write_text(f"""[gateway]
listen = 127.0.0.1:0
database = {url}
{f"database-password-file = {pwfile}" if pwfile else ""}

[provider knot]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {key}
zone = example.test
""")
    return str(p)


def gwcmd(conf, *args, env=None):
    e = dict(os.environ)
    e.pop("JOURNAL_STREAM", None)
    e.update(env or {})
    p = subprocess.run([gateway_binary(), "-c", conf] + list(args), capture_output=True,
                       text=True, timeout=60, env=e)
    check_sanitizers(p.stderr, args)
    return p


def test_tls_verify_full(ws, knot, pki, postgres, pg_database):
    """sslmode=verify-full with the suite's CA: connected over TLS; another
    CA, or a name the certificate does not hold, is refused."""
    pw = ws.secret("pgpass", pg_database.password)
    g = Gateway(ws, knot, pki, pg=pg_database, pg_tcp=True)
    text = g.conf.read_text().replace(f"database = {pg_database.url()}",
                                      f"database = {pg_database.url(tls=True, host='localhost')}")
    g.conf.write_text(text)
    g.add(HOST)
    g.start()
    try:
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"good {V4}\n")
        ssl_rows = pg_database.sql(
            "SELECT s.ssl, s.version FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
            "WHERE a.application_name = 'dnsward-gateway' AND a.datname = %s",
            (pg_database.name,))
        assert ssl_rows and all(r[0] for r in ssl_rows), ssl_rows
    finally:
        g.stop()
    wrong_ca = pg_database.url(tls=True, host="localhost").replace(pki.ca_file, pki.other_ca_file)
    p = gwcmd(pg_conf(ws, knot, wrong_ca, pw, "ca.conf"), "host", "list")
    assert p.returncode == 1 and "certificate verify failed" in p.stderr, p.stderr
    wrong_name = (f"postgresql://dnsward@wrong.test:{postgres.port}/{pg_database.name}"
                  f"?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={pki.ca_file}")
    p = gwcmd(pg_conf(ws, knot, wrong_name, pw, "name.conf"), "host", "list")
    assert p.returncode == 1 and "does not match host name" in p.stderr, p.stderr


@pytest.mark.parametrize("url,words", [
    ("postgresql://dnsward:s3cr3t-in-url@db.example.net/gw", "database-password-file"),
    ("postgresql://dnsward@db.example.net/gw?password=s3cr3t-in-url", "database-password-file"),
    ("postgresql://dnsward@db.example.net/gw?sslmode=require", "sslmode=verify-full"),
    ("postgresql://dnsward@192.0.2.5/gw?sslmode=disable", "sslmode=verify-full"),
    ("postgresql://dnsward@db1.example.net,127.0.0.1/gw?sslmode=prefer", "sslmode=verify-full"),
    ("postgresql://dnsward@db.example.net/gw?nosuchparameter=1", "not a valid PostgreSQL URL"),
    ("postgresql://dnsward:s3cr3t-in-url@[::1/gw", "database-password-file"),
    ("gateway.db", "absolute path"),
])
def test_unsafe_database_settings_refused(ws, knot, url, words):
    p = gwcmd(pg_conf(ws, knot, url, None), "check")
    assert p.returncode == 2, p.stderr
    assert words in p.stderr, p.stderr
    assert "s3cr3t-in-url" not in p.stderr


@pytest.mark.parametrize("url", [
    "postgresql://dnsward@db.example.net/gw",                       # verify-full by default
    "postgresql://dnsward@db.example.net/gw?sslmode=verify-full&sslrootcert=/etc/ssl/ca.pem",
    "postgresql://dnsward@127.0.0.1:5432/gw?sslmode=disable",       # loopback
    "postgresql:///gw?host=/run/postgresql",                         # a Unix socket
    "postgresql://db1.example.net,db2.example.net/gw?target_session_attrs=read-write",
])
def test_safe_database_settings_accepted(ws, knot, url):
    p = gwcmd(pg_conf(ws, knot, url, None), "check")
    assert p.returncode == 0, p.stderr


def test_password_only_from_a_file(ws, knot, pki, pg_database):
    url = pg_database.url()
    pw = ws.secret("pgpass", pg_database.password)
    conf = pg_conf(ws, knot, url, pw)
    assert gwcmd(conf, "host", "list").returncode == 0
    # PGPASSWORD, where other processes of the user can read it: refused.
    p = gwcmd(conf, "check", env={"PGPASSWORD": pg_database.password})
    assert p.returncode == 2 and "PGPASSWORD" in p.stderr, p.stderr
    # A wrong password: said so, the password itself nowhere.
    bad = ws.secret("badpass", "not-the-password-x7")
    p = gwcmd(pg_conf(ws, knot, url, bad, "bad.conf"), "host", "list")
    assert p.returncode == 1 and "password authentication failed" in p.stderr, p.stderr
    assert "not-the-password-x7" not in p.stderr
    # A password file others may read: refused like every secret.
    os.chmod(pw, 0o644)
    p = gwcmd(conf, "check")
    assert p.returncode == 2 and "database-password-file" in p.stderr, p.stderr
    # A password for SQLite: a mistake.
    p = gwcmd(pg_conf(ws, knot, str(ws.path / "x.db"), bad, "sq.conf"), "check")
    assert p.returncode == 2 and "postgresql:// database only" in p.stderr, p.stderr


# ---- migrate -----------------------------------------------------------------------------

def test_migrate_sqlite_to_postgresql(ws, knot, pki, pg_database):
    """A SQLite gateway's hosts, tokens, records and audit log move into
    PostgreSQL: the same tokens work, the stored state carries on."""
    old = Gateway(ws, knot, pki, pg=None, name="old", db=ws.path / "old.db")
    old.add(HOST, "--acme", "--iid", "::1234")
    old.add(OTHER)
    old.start()
    try:
        assert old.nic(f"hostname={HOST}&myip={V4}")[2] == f"good {V4}\n"
        assert old.acmedns({"subdomain": HOST, "txt": TXT1})[0] == 200
        knot.stop()
        assert old.nic(f"hostname={OTHER}&myip={V4}", user=OTHER)[2] == "911\n"   # pending
    finally:
        old.stop()
        knot.start()
    new = Gateway(ws, knot, pki, pg=pg_database, name="new")
    new.tokens = dict(old.tokens)
    p = new.cli("migrate", "--from", str(old.db))
    assert "copied 2 hosts, 2 tokens, 3 records" in p.stderr, p.stderr
    # Into a database that is no longer empty: refused, nothing written.
    p = new.cli("migrate", "--from", str(old.db), check=1)
    assert "empty database only" in p.stderr
    listing = new.cli("host", "list").stdout
    assert f"{HOST} provider=knot acme=yes allow=any expires=never iid=::1234" in listing
    assert f"A {V4} applied" in listing and f"TXT {TXT1}" in listing
    new.start()
    try:
        # The old tokens: what was applied stays applied, what was pending
        # is sent by the new store's gateway.
        s, _, body = new.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"nochg {V4}\n")
        assert wait_for(lambda: knot.query(OTHER, "A") == [V4], 30), new.log()[-2000:]
        s, _, body = new.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (200, f"good {V4B}\n")
        audit = new.cli("audit", "--limit", "1000").stdout
        assert "host-add" in audit and "migrate" in audit and "update-A" in audit
        new.add("third.example.test")   # ids go on after the copied ones
    finally:
        new.stop()


# ---- the store's unit tests on PostgreSQL ---------------------------------------------------

def test_store_unit_tests_on_postgresql(pg_database):
    """tests/unit/test_gw_store.c against this server: the same operations,
    every statement's SQL text planned, the hot ones without a sequential
    scan."""
    exe = BUILD / "tests" / "unit" / "test_gw_store"
    if not exe.exists():
        pytest.fail(f"{exe} is missing (built with -Dtests=true)")
    env = dict(os.environ, DW_TEST_PG=pg_database.url(), DW_TEST_PG_PASSWORD=pg_database.password,
               DW_TEST_SHOW_PLANS="1")
    p = subprocess.run([str(exe)], capture_output=True, text=True, timeout=300, env=env)
    check_sanitizers(p.stderr, "test_gw_store")
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r"PASSED +\] (\d+) test", p.stdout + p.stderr)
    assert m and int(m.group(1)) >= 15, p.stdout + p.stderr
