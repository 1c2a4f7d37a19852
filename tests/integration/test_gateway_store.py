"""dnsward-gateway's database in the deployments the documentation gives:
started as root with `user =`, and the systemd unit's set-up (a dynamic
user that owns the state directory, credentials handed in by the service
manager) reproduced without a running systemd.  In both, the administrator's
commands run as root on the database while the gateway serves from it.

What is checked is what a lost POSIX lock breaks: the serving process holds
its SQLite locks (/proc/locks), its -wal and -shm files are never deleted
under it, hosts added while it serves are known to it, nothing it answered
"good" is lost, and the database passes integrity_check afterwards and
serves again after a restart."""
import os
import pathlib
import pwd
import shutil
import sqlite3
import subprocess
import tempfile

import pytest

from conftest import task_statuses
from test_gateway import (HOST, OTHER, V4, V4B, V6, TXT1, Gateway, gateway_binary,
                          check_sanitizers, proc_status, wait_for)

NEW = "new.example.test"

# Both store backends (conftest.py's gw_backend); what is about SQLite's
# files, locks and pragmas is marked sqlite_only.
pytestmark = pytest.mark.usefixtures("gw_backend")


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root")


@pytest.fixture
def shared_dir():
    """A directory outside pytest's private tree, reachable by every uid
    (the database's directory stays root's: its files are given away)."""
    d = tempfile.mkdtemp(prefix="dnsward-gwstore-")
    os.chmod(d, 0o755)
    try:
        yield pathlib.Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def locks_of(pid, paths):
    """Lines of /proc/locks held by pid on the inodes of paths."""
    inodes = set()
    for p in paths:
        try:
            inodes.add(os.stat(p).st_ino)
        except FileNotFoundError:
            pass
    held = []
    with open("/proc/locks") as f:
        for line in f:
            parts = line.split()
            # "1: POSIX  ADVISORY  READ 1234 08:01:5678 128 128" ("->" for waiters)
            if "->" in parts:
                continue
            if len(parts) >= 6 and parts[4] == str(pid):
                if int(parts[5].split(":")[2]) in inodes:
                    held.append(line.strip())
    return held


def deleted_fds(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.endswith("(deleted)"):
            out.append(target)
    return out


def db_files(db):
    return [str(db), f"{db}-wal", f"{db}-shm"]


def integrity(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def admin_sequence_while_serving(g, knot, owner_uid):
    """The sequence of issue 10, item 1, as the administrator (root) runs it
    against a serving gateway that runs as owner_uid."""
    pid = g.proc.pid
    files = db_files(g.db)
    # The serving process holds SQLite's locks on its database.
    assert wait_for(lambda: locks_of(pid, files), 5), \
        f"the gateway holds no lock on {g.db}:\n" + open("/proc/locks").read()
    s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
    assert (s, body) == (200, f"good {V4}\n"), g.log()[-2000:]

    # Admin commands as root while serving: a read-only one first.
    out = g.cli("host", "list").stdout
    assert HOST in out and V4 in out
    assert deleted_fds(pid) == [], "database files deleted under the gateway"
    assert locks_of(pid, files)
    # A host added while serving is known to the gateway at once.
    g.add(NEW)
    s, _, body = g.nic(f"hostname={NEW}&myip={V4B}", user=NEW)
    assert (s, body) == (200, f"good {V4B}\n"), g.log()[-2000:]
    assert knot.query(NEW, "A") == [V4B]
    # More writes by both sides, interleaved.
    g.cli("token", "rotate", OTHER)
    s, _, body = g.nic(f"hostname={HOST}&myip={V6}")
    assert (s, body) == (200, f"good {V6}\n")
    s, _, body = g.acmedns({"subdomain": HOST, "txt": TXT1})
    assert s == 200, body
    assert "update-AAAA" in g.cli("audit", "--host", HOST).stdout
    assert deleted_fds(pid) == []
    assert locks_of(pid, files)
    # Nothing root-owned appeared beside the database.
    for p in files:
        if os.path.exists(p):
            assert os.stat(p).st_uid == owner_uid, (p, os.stat(p).st_uid)


def check_after_stop(g):
    assert integrity(g.db) == "ok"
    con = sqlite3.connect(f"file:{g.db}?mode=ro", uri=True)
    try:
        hosts = {r[0] for r in con.execute("SELECT fqdn FROM hosts")}
        recs = {(r[0], r[1], r[2], r[3]) for r in con.execute(
            "SELECT h.fqdn, r.rtype, r.value, r.applied FROM records r "
            "JOIN hosts h ON h.id = r.host_id")}
        actions = [r[0] for r in con.execute("SELECT action FROM audit")]
    finally:
        con.close()
    assert hosts == {HOST, OTHER, NEW}
    assert (HOST, "A", V4, 1) in recs and (HOST, "AAAA", V6, 1) in recs
    assert (NEW, "A", V4B, 1) in recs and (HOST, "TXT", TXT1, 1) in recs
    for a in ("host-add", "token-rotate", "update-A", "update-AAAA", "txt-add"):
        assert a in actions, (a, actions)


@pytest.mark.sqlite_only
def test_root_with_user_admin_commands_while_serving(ws, knot, pki, shared_dir):
    """Root + `user = nobody`: nothing lost, database intact, restart works."""
    need_root()
    nobody = pwd.getpwnam("nobody")
    g = Gateway(ws, knot, pki, extra="user = nobody", db=shared_dir / "gateway.db")
    g.add(HOST, "--acme")
    g.add(OTHER)
    # A database created by root's admin command already belongs to the user.
    assert os.stat(g.db).st_uid == nobody.pw_uid
    g.start()
    try:
        for st in task_statuses(g.proc.pid).values():
            assert st["Uid"].split()[0] == str(nobody.pw_uid)
            # No capability left anywhere, the bounding set included.
            for k in ("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd"):
                assert int(st[k], 16) == 0, (st["Name"], k, st[k])
        admin_sequence_while_serving(g, knot, nobody.pw_uid)
    finally:
        g.stop()
    check_after_stop(g)
    # Restart: the same database serves again.
    g.start()
    try:
        s, _, body = g.nic(f"hostname={HOST}&myip={V6}")
        assert (s, body) == (200, f"nochg {V6}\n"), g.log()[-2000:]
        s, _, body = g.nic(f"hostname={NEW}&myip={V4}", user=NEW)
        assert (s, body) == (200, f"good {V4}\n"), g.log()[-2000:]
    finally:
        g.stop()
    assert integrity(g.db) == "ok"


# ---- the systemd unit's set-up, without systemd ----------------------------------
#
# contrib/systemd/dnsward-gateway.service runs the gateway as the system user
# dnsward-gateway with StateDirectory=dnsward-gateway (mode 0700) and its keys
# passed with LoadCredential=; a unit with DynamicUser=yes (an older copy,
# or an administrator's drop-in) gets systemd's private layout, the harder
# case, reproduced here.  No systemd runs here (PID 1 is not systemd, so
# systemd-run cannot start a unit): what the service manager sets up is
# reproduced instead, as systemd 252 does it:
#   - a uid from the dynamic range (61184-65519) without a passwd entry,
#     no supplementary groups, no-new-privs, an empty capability bounding
#     set, umask 0077 (UMask=0077);
#   - /var/lib/private (0700 root) holding the state directory (0700, the
#     dynamic uid's), /var/lib/NAME a symbolic link to private/NAME on the
#     host; inside the unit's mount namespace a tmpfs (0755) covers
#     /var/lib/private and the state directory is bind-mounted into it;
#   - /run/credentials/UNIT/ (0500) with copies of the root-only key files,
#     0400 and the dynamic uid's.
# The administrator runs the admin commands as root on the host's path
# through the symbolic link, as the unit file's comment says.

def free_dynamic_uid():
    used = {p.pw_uid for p in pwd.getpwall()}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                used.add(os.stat(f"/proc/{pid}").st_uid)
            except OSError:
                pass
    import random
    rnd = random.Random(os.getpid())
    while True:
        uid = rnd.randrange(61184, 65519)
        if uid not in used:
            return uid


class UnitGateway(Gateway):
    UNIT = "dnsward-gateway.service"

    def __init__(self, ws, knot, pki, base):
        self.base = base
        self.uid = free_dynamic_uid()
        lib = base / "var/lib"
        private = lib / "private"
        self.state = private / "dnsward-gateway"
        self.state.mkdir(parents=True)
        os.chmod(lib, 0o755)
        os.chmod(private, 0o700)
        os.chown(self.state, self.uid, self.uid)
        os.chmod(self.state, 0o700)
        (lib / "dnsward-gateway").symlink_to("private/dnsward-gateway")
        super().__init__(ws, knot, pki, db=lib / "dnsward-gateway" / "gateway.db")
        # The root-only originals, then the service manager's copies.
        etc = base / "etc/dnsward"
        etc.mkdir(parents=True)
        creds = base / "run/credentials" / self.UNIT
        creds.mkdir(parents=True)
        zone_key = pathlib.Path(ws.path / "zone.key")
        secrets = [("gateway.key", pathlib.Path(pki.server.key_file)), ("zone.key", zone_key)]
        if self.pg is not None:
            secrets.append(("pgpass", pathlib.Path(self.pg_password_file)))
        for name, src in secrets:
            (etc / name).write_bytes(src.read_bytes())
            os.chmod(etc / name, 0o600)
            (creds / name).write_bytes((etc / name).read_bytes())
            os.chown(creds / name, self.uid, self.uid)
            os.chmod(creds / name, 0o400)
        os.chown(creds, self.uid, self.uid)
        os.chmod(creds, 0o500)
        cert = etc / "gateway.pem"
        cert.write_bytes(pathlib.Path(pki.server.cert_file).read_bytes())
        os.chmod(cert, 0o644)
        text = self.conf.read_text()
        text = text.replace(f"tls-cert = {pki.server.cert_file}", f"tls-cert = {cert}")
        text = text.replace(f"tls-key = {pki.server.key_file}", f"tls-key = {creds}/gateway.key")
        text = text.replace(f"key-file = {zone_key}", f"key-file = {creds}/zone.key")
        if self.pg is not None:
            text = text.replace(f"database-password-file = {self.pg_password_file}",
                                f"database-password-file = {creds}/pgpass")
            assert f"{creds}/pgpass" in text
        assert f"{creds}/gateway.key" in text and f"{creds}/zone.key" in text
        # /etc/dnsward/gateway.conf: readable by the service's user.
        self.conf = etc / "gateway.conf"
        self.conf.write_text(text)
        os.chmod(self.conf, 0o644)

    def start(self, debug=True):
        hold = self.base / "hold"
        hold.mkdir(exist_ok=True)
        private = self.state.parent
        setup = (
            "set -e; "
            f"mount --bind {self.state} {hold}; "
            f"mount -t tmpfs -o mode=0755,size=1m tmpfs {private}; "
            f"mkdir {self.state}; "
            f"mount --move {hold} {self.state}; "
            "umask 0077; "
            f"exec setpriv --reuid={self.uid} --regid={self.uid} --clear-groups --nnp "
            "--inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \"$@\"")
        cmd = [gateway_binary(), "-c", str(self.conf)] + (["-d"] if debug else []) + ["serve"]
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", setup, "unit"] + cmd,
            stdout=subprocess.PIPE, stderr=self.logf, env=env)
        line = self.proc.stdout.readline().decode()
        import re
        m = re.match(r"listening on (https?://\S+)", line)
        assert m, f"no 'listening on' line: {line!r}\n{self.log()}"
        self.url = m.group(1)


@pytest.fixture
def unit_base():
    d = tempfile.mkdtemp(prefix="dnsward-unit-")
    os.chmod(d, 0o755)
    try:
        yield pathlib.Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.sqlite_only
def test_systemd_unit_setup_admin_commands_while_serving(ws, knot, pki, unit_base):
    need_root()
    g = UnitGateway(ws, knot, pki, unit_base)
    g.add(HOST, "--acme")
    g.add(OTHER)
    # Created by root through the state directory's link: the service's.
    real_db = g.state / "gateway.db"
    assert os.stat(real_db).st_uid == g.uid
    g.start()
    try:
        st = proc_status(g.proc.pid)
        assert st["Uid"].split() == [str(g.uid)] * 4 and st["Groups"] == ""
        assert int(st["CapBnd"], 16) == 0 and st["NoNewPrivs"] == "1"
        assert not os.access(g.state.parent, os.X_OK) or os.geteuid() == 0
        admin_sequence_while_serving(g, knot, g.uid)
    finally:
        g.stop()
    check_after_stop(g)
    for p in db_files(real_db):
        if os.path.exists(p):
            assert os.stat(p).st_uid == g.uid, p
    g.start()
    try:
        s, _, body = g.nic(f"hostname={HOST}&myip={V6}")
        assert (s, body) == (200, f"nochg {V6}\n"), g.log()[-2000:]
        s, _, body = g.nic(f"hostname={NEW}&myip={V4}", user=NEW)
        assert (s, body) == (200, f"good {V4}\n"), g.log()[-2000:]
    finally:
        g.stop()
    assert integrity(g.db) == "ok"


# ---- database failures are loud (issue 10, item 5) --------------------------------
#
# Each in a real gateway process: a full disk (a 4 MiB tmpfs), a filesystem
# that turns read-only while serving (ext4 on a loop device with
# errors=remount-ro and its trigger_fs_error switch), a read-only database at
# start, corrupt pages at start.

import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402


def metric(g, name):
    text = g.request("GET", "/metrics")[2]
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            key, _, value = line.rpartition(" ")
            if key == name or key.startswith(name + "{"):
                return float(value)
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def metric_labelled(g, name, label):
    text = g.request("GET", "/metrics")[2]
    m = re.search(re.escape(f"{name}{{{label}}}") + r" (\S+)", text)
    assert m, f"{name}{{{label}}} not in /metrics:\n{text}"
    return float(m.group(1))


def error_lines(g, words):
    return [line for line in g.log().splitlines() if words in line]


def fill(path):
    """Writes path until the filesystem is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (65536, 512, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError:
                    break
    finally:
        os.close(fd)


def mount(args, target):
    subprocess.run(["mount"] + args + [str(target)], check=True, capture_output=True, timeout=30)


@pytest.fixture
def small_fs():
    """A 4 MiB tmpfs of this test's own."""
    need_root()
    d = pathlib.Path(tempfile.mkdtemp(prefix="dnsward-fs-"))
    mount(["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs"], d)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True, timeout=30)
        os.rmdir(d)


@pytest.fixture
def ext4_fs():
    """ext4 on a loop device, errors=remount-ro: (mount point, trigger file)."""
    need_root()
    base = pathlib.Path(tempfile.mkdtemp(prefix="dnsward-ext4-"))
    img, mnt = base / "fs.img", base / "mnt"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(32 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], check=True, capture_output=True,
                   timeout=60)
    mount(["-o", "loop,errors=remount-ro", str(img)], mnt)
    try:
        dev = subprocess.run(["findmnt", "-n", "-o", "SOURCE", str(mnt)], check=True,
                             capture_output=True, text=True).stdout.strip()
        os.chmod(mnt, 0o755)
        yield mnt, pathlib.Path(f"/sys/fs/ext4/{os.path.basename(dev)}/trigger_fs_error")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def serve_must_fail(g):
    """Runs serve, which must exit with an error instead of listening."""
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    p = subprocess.Popen([gateway_binary(), "-c", str(g.conf), "serve"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
        raise AssertionError(f"the gateway kept running:\n{out}\n{err}")
    check_sanitizers(err, "serve")
    assert p.returncode != 0, out + err
    assert "listening on" not in out, out
    return err


@pytest.mark.sqlite_only
def test_disk_full_is_loud_and_recovers(ws, knot, pki, small_fs):
    g = Gateway(ws, knot, pki, db=small_fs / "gateway.db")
    g.add(HOST, "--acme")
    g.start()
    try:
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"good {V4}\n")
        assert g.request("GET", "/health")[0] == 200
        filler = small_fs / "filler"
        fill(filler)
        s, _, body = g.request("GET", "/health")
        assert s == 503 and "disk full" in body, body
        # What is stored still answers (reads need no space).
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"nochg {V4}\n")
        # A change: the store failed, not the upstream; retry later.
        s, h, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (503, "911\n"), g.log()[-3000:]
        assert int(h["Retry-After"]) > 0
        s, _, body = g.acmedns({"subdomain": HOST, "txt": TXT1})
        assert (s, json.loads(body)) == (503, {"error": "store_unavailable"})
        s, _, body = g.httpreq("present", {"fqdn": f"_acme-challenge.{HOST}.", "value": TXT1})
        assert s == 503 and body.startswith("store unavailable"), body
        assert knot.query(HOST, "A") == [V4]
        # Logged once, at error level, with what to do.
        lines = error_lines(g, "the disk is full")
        assert len(lines) == 1, "\n".join(lines)
        assert "error:" in lines[0] and "free space" in lines[0]
        assert "upstream failed" not in g.log()
        assert metric_labelled(g, "dnsward_gateway_store_errors_total", 'kind="disk_full"') >= 1
        assert metric(g, "dnsward_gateway_store_writable") == 0
        # Space again: healthy (a probe write), and changes go through.
        filler.unlink()
        assert wait_for(lambda: g.request("GET", "/health")[0] == 200, 15), g.log()[-2000:]
        s, _, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (200, f"good {V4B}\n"), g.log()[-2000:]
        assert knot.query(HOST, "A") == [V4B]
        assert "writes succeed again" in g.log()
        assert metric(g, "dnsward_gateway_store_writable") == 1
    finally:
        g.stop()
    assert integrity(g.db) == "ok"


@pytest.mark.sqlite_only
def test_filesystem_turning_read_only_while_serving(ws, knot, pki, ext4_fs):
    mnt, trigger = ext4_fs
    g = Gateway(ws, knot, pki, db=mnt / "gateway.db")
    g.add(HOST, "--acme")
    g.start()
    try:
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"good {V4}\n")
        # An ext4 error: the filesystem refuses writes from now on (an
        # emergency read-only state that statvfs need not show).
        trigger.write_text("dnsward test\n")
        with pytest.raises(OSError):
            (mnt / "probe").write_text("x")
        s, h, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body) == (503, "911\n"), g.log()[-3000:]
        assert int(h["Retry-After"]) > 0
        assert knot.query(HOST, "A") == [V4]   # nothing published that is not stored
        # SQLite reports an I/O error (EROFS is not passed on for WAL
        # writes); the health probe keeps failing, the error is logged once.
        s, _, body = g.request("GET", "/health")
        assert s == 503 and ("I/O error" in body or "read-only" in body), body
        assert g.request("GET", "/health")[0] == 503
        lines = error_lines(g, "error: database")
        assert len(lines) == 1, "\n".join(lines)
        assert "check the disk and the kernel log" in lines[0] or "read-only" in lines[0]
        assert (metric_labelled(g, "dnsward_gateway_store_errors_total", 'kind="io"') +
                metric_labelled(g, "dnsward_gateway_store_errors_total", 'kind="read_only"')) >= 1
        assert "writes succeed again" not in g.log()
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"nochg {V4}\n")
    finally:
        g.stop()


@pytest.mark.sqlite_only
def test_read_only_database_refused_at_start(ws, knot, pki, small_fs):
    g = Gateway(ws, knot, pki, db=small_fs / "gateway.db")
    g.add(HOST)
    mount(["-o", "remount,ro"], small_fs)
    err = serve_must_fail(g)
    assert "cannot be written" in err and "read-only" in err, err
    assert str(small_fs / "gateway.db") in err


@pytest.mark.sqlite_only
def test_corrupt_database_refused_at_start(ws, knot, pki):
    g = Gateway(ws, knot, pki)
    g.add(HOST, "--acme")
    g.add(OTHER)
    for i in range(40):
        g.cli("token", "rotate", HOST)
    with open(g.db, "r+b") as f:   # the gateway is not running
        f.seek(2 * 4096)
        f.write(b"\x5a" * 3 * 4096)
    err = serve_must_fail(g)
    assert "is corrupt" in err and ".recover" in err and "restore a backup" in err, err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1, err


# ---- the audit log cannot grow without bound (issue 10, item 6) ------------------

def audit_rows(g):
    return g.sql("SELECT count(*) FROM audit")[0][0]


def test_refusals_cannot_grow_the_audit_log(ws, knot, pki):
    g = Gateway(ws, knot, pki)
    g.add(HOST)
    g.add(OTHER)
    g.start()
    try:
        before = audit_rows(g)
        names = ",".join([OTHER] + [f"n{i}.example.test" for i in range(19)])
        t0 = time.monotonic()
        n = 300
        for _ in range(n):
            s, _, body = g.nic(f"hostname={names}&myip={V4}")
            assert s == 200 and len(body.splitlines()) == 20
            assert body.splitlines()[0] in ("!yours", "nohost"), body
        minutes = (time.monotonic() - t0) / 60
        rows = audit_rows(g) - before
        # audit-refusals = 2 a minute: a burst of 2, refilled at 2 a minute.
        assert 1 <= rows <= 2 + 2 * minutes + 1, rows
        assert metric(g, "dnsward_gateway_audit_refusals_skipped_total") == n - rows
        out = g.cli("audit", "--host", HOST).stdout
        refusals = [line for line in out.splitlines() if " update " in line]
        assert len(refusals) == rows
        # One row per request, naming the refused names together.
        assert f"new={OTHER},n0.example.test,n1.example.test" in refusals[-1]
        assert knot.query(OTHER, "A") == ["192.0.2.99"]
    finally:
        g.stop()


def test_audit_retention_by_age_and_rows(ws, knot, pki):
    g = Gateway(ws, knot, pki, extra="audit-max-age = 30\naudit-max-rows = 1000")
    g.add(HOST)
    now = int(time.time())
    g.sql_many(
        "INSERT INTO audit (time, host, action, source, result) VALUES (?, ?, ?, ?, ?)",
        [(now - 40 * 86400 + i, HOST, "update-A", "192.0.2.1", "accepted")
         for i in range(500)] +
        [(now - 3600 + i, HOST, "update-A", "192.0.2.1", "accepted") for i in range(1200)])
    g.start()
    try:
        # Pruned before serving: 30 days, then the newest 1000 rows.
        count, oldest = g.sql("SELECT count(*), min(time) FROM audit")[0]
        assert count == 1000
        assert oldest >= now - 30 * 86400
        assert "past retention" in g.log()
    finally:
        g.stop()


# ---- the token's scope in both deployments -----------------------------------------

@pytest.mark.parametrize("deployment", ["root-with-user", "systemd-unit"])
def test_scope_and_lockout_hold_in_deployment(ws, knot, pki, shared_dir, unit_base, deployment):
    """The cross-host refusals and the lockout, served by a gateway started
    as root with `user =` and by one in the systemd unit's set-up."""
    need_root()
    if deployment == "systemd-unit":
        g = UnitGateway(ws, knot, pki, unit_base)
    else:
        g = Gateway(ws, knot, pki, extra="user = nobody", db=shared_dir / "gateway.db")
    g.add(HOST, "--acme")
    g.add(OTHER, "--acme")
    g.start()
    try:
        assert proc_status(g.proc.pid)["Uid"].split()[0] != "0"
        s, _, body = g.nic(f"hostname={HOST}&myip={V4}")
        assert (s, body) == (200, f"good {V4}\n"), g.log()[-2000:]
        for name in (OTHER, f"{HOST},{OTHER}", "OTHER.Example.Test.", "other%2eexample.test",
                     f"*.{HOST}", f"_acme-challenge.{OTHER}"):
            s, _, body = g.nic(f"hostname={name}&myip={V4B}")
            assert s == 200 and body.split()[0] in ("!yours", "nohost", "notfqdn"), (name, body)
        s, _, body = g.nic(f"hostname={OTHER}&myip={V4B}", user=OTHER, token=g.tokens[HOST])
        assert (s, body.strip()) == (200, "badauth")
        s, _, body = g.acmedns({"subdomain": OTHER, "txt": TXT1})
        assert s == 401
        s, _, body = g.httpreq("present", {"fqdn": f"_acme-challenge.{OTHER}.", "value": TXT1})
        assert s == 403
        assert knot.query(OTHER, "A") == ["192.0.2.99"]
        assert knot.query(f"_acme-challenge.{OTHER}", "TXT") == []
        assert knot.query(HOST, "A") == [V4]
        # Bad tokens from one source lock it out (lockout-failures = 10,
        # the wrong token above being the first).
        bad = "dwg_0000000000000000_" + "A" * 43
        codes = [g.nic(f"hostname={HOST}&myip={V4B}", token=bad)[2].strip() for _ in range(10)]
        assert codes == ["badauth"] * 8 + ["abuse"] * 2, codes
        s, _, body = g.nic(f"hostname={HOST}&myip={V4B}")
        assert (s, body.strip()) == (429, "abuse")
        assert knot.query(HOST, "A") == [V4]
    finally:
        g.stop()
    if g.backend == "sqlite":
        assert integrity(g.db) == "ok"
    for t in g.tokens.values():
        assert t not in g.log()
