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

from test_gateway import (HOST, OTHER, V4, V4B, V6, TXT1, Gateway, gateway_binary,
                          check_sanitizers, proc_status, wait_for)

NEW = "new.example.test"


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
        for t in os.listdir(f"/proc/{g.proc.pid}/task"):
            st = proc_status(g.proc.pid, t)
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
# contrib/systemd/dnsward-gateway.service runs the gateway as a DynamicUser
# with StateDirectory=dnsward-gateway (mode 0700) and its keys passed with
# LoadCredential=.  No systemd runs here (PID 1 is not systemd, so
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
        for name, src in (("gateway.key", pathlib.Path(pki.server.key_file)),
                          ("zone.key", zone_key)):
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
