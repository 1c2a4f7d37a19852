"""The boundary between root and the daemon's own unprivileged user.

ACME clients run their hooks as root, timers may run "dnsward update" as
root, but the state directory belongs to the daemon's user ("user =", or the
unit's DynamicUser).  Whoever holds that user's rights must not be able to
make root write, create or read files elsewhere, or hang it.

Roles, played by real processes with real uids:
  root      runs dnsward (the test itself);
  nobody    (65534) the daemon's user: owns the state directory and plants
            symlinks and FIFOs in it;
  OTHER     (64999, no account) another local user: owns or rewrites
            programs dnsward would run.
"""
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

from conftest import binary
from test_daemon import daemons  # noqa: F401  (fixture)

NOBODY = 65534
OTHER = 64999
CHALLENGE = "_acme-challenge.host.example.test"
V1 = "A" * 42 + "E"
HOST = "host.example.test"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (plays several users)")


def as_user(uid, *cmd):
    """Runs cmd as uid (its own group, no supplementary groups)."""
    subprocess.run(list(cmd), check=True, user=uid, group=uid, extra_groups=[],
                   capture_output=True, timeout=30)


@pytest.fixture
def shared():
    """A directory under /tmp every user can traverse (0755 root), holding a
    state directory that belongs to the daemon's user (0700 nobody)."""
    d = tempfile.mkdtemp(prefix="dnsward-local-")
    os.chmod(d, 0o755)
    state = os.path.join(d, "state")
    os.mkdir(state, 0o700)
    os.chown(state, NOBODY, NOBODY)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


class NoServer:
    """For configurations refused before any server is asked."""
    port = 9

    class _Key:
        keymgr_text = ('key "k" { algorithm hmac-sha256; secret '
                       '"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="; };')
    keys = {"acme": _Key, "host": _Key}


def acme_conf(ws, knot, state, user="user = nobody"):
    keyfile = ws.secret("acme.key", knot.keys["acme"].keymgr_text)
    return ws.config(f"""[dnsward]
state-dir = {state}
{user}
acme-nameservers = 127.0.0.1:{knot.port}
acme-propagation-timeout = 10
acme-poll-interval = 1

[provider knot]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {keyfile}
acme-zones = example.test
""")


def update_conf(ws, knot, state, user="user = nobody", extra=""):
    keyfile = ws.secret("host.key", knot.keys["host"].keymgr_text)
    return ws.config(f"""[dnsward]
state-dir = {state}
{user}
{extra}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {keyfile}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.71
""")


# ------------------------------------------------------------ the ACME hook

def test_acme_as_root_never_follows_links_planted_by_the_daemon_user(ws, knot, shared):
    state = os.path.join(shared, "state")
    victim = ws.path / "victim"            # root's file, 0644, elsewhere
    victim.write_text("root's data\n")
    os.chmod(victim, 0o644)
    created = ws.path / "created-by-root"  # must never come to exist
    for name, target in (("acme-pending.lock", created), ("acme-pending.tmp", victim),
                         ("acme-pending", victim)):
        as_user(NOBODY, "ln", "-s", str(target), os.path.join(state, name))
    cfg = acme_conf(ws, knot, state)
    p = ws.run("acme", "certbot-auth", config=cfg,
               env={"CERTBOT_DOMAIN": "host.example.test", "CERTBOT_VALIDATION": V1})
    assert victim.read_text() == "root's data\n"
    assert not created.exists()
    assert p.returncode != 0
    assert "symbolic link" in p.stderr, p.stderr


def test_acme_as_root_works_in_the_state_dir_as_the_daemon_user(ws, knot, shared):
    state = os.path.join(shared, "state")
    cfg = acme_conf(ws, knot, state)
    ws.run("acme", "present", CHALLENGE + ".", V1, config=cfg, check=0)
    for name in ("acme-pending", "acme-pending.lock"):
        st = os.lstat(os.path.join(state, name))
        assert stat.S_ISREG(st.st_mode)
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY), name
    ws.run("acme", "cleanup", CHALLENGE + ".", V1, config=cfg, check=0)
    assert not os.path.exists(os.path.join(state, "acme-pending"))


@pytest.mark.parametrize("command", ["acme", "update"])
def test_root_without_user_refuses_a_state_dir_of_another_user(ws, shared, command):
    knot = NoServer
    state = os.path.join(shared, "state")
    if command == "acme":
        cfg = acme_conf(ws, knot, state, user="")
        args = ["acme", "present", CHALLENGE + ".", V1]
    else:
        cfg = update_conf(ws, knot, state, user="")
        args = ["update"]
    p = ws.run(*args, config=cfg, check=2)
    assert f"state-dir {state} belongs to uid {NOBODY}" in p.stderr, p.stderr
    assert "user =" in p.stderr
    assert os.listdir(state) == []


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
@pytest.mark.parametrize("command", ["acme", "update"])
def test_state_dir_writable_by_others_is_refused(ws, command, mode):
    knot = NoServer
    os.chmod(ws.state_dir, mode)
    if command == "acme":
        cfg = acme_conf(ws, knot, ws.state_dir, user="")
        args = ["acme", "present", CHALLENGE + ".", V1]
    else:
        cfg = update_conf(ws, knot, ws.state_dir, user="")
        args = ["update"]
    p = ws.run(*args, config=cfg, check=2)
    assert f"state-dir {ws.state_dir} is writable by others than its owner" in p.stderr, p.stderr
    assert "chmod 700" in p.stderr
    assert os.listdir(ws.state_dir) == []


def test_update_as_root_is_not_hung_by_a_fifo_at_its_temp_name(ws, knot, shared):
    """The daemon's user knows the next pid well enough to plant a FIFO where
    the state file's temporary copy will be created; opening it for writing
    would block forever."""
    state = os.path.join(shared, "state")
    cfg = update_conf(ws, knot, state)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the future dnsward: waits until the FIFO is in place
        try:
            os.close(w)
            os.read(r, 1)
            os.execv(binary("dnsward"), ["dnsward", "-c", cfg, "update"])
        finally:
            os._exit(127)
    os.close(r)
    try:
        as_user(NOBODY, "mkfifo", os.path.join(state, f"state.json.tmp.{pid}"))
        os.write(w, b"g")
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            pytest.fail("dnsward update hung on a FIFO planted at its temporary file")
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert knot.query(HOST, "A") == ["81.2.69.71"]
        st = os.lstat(os.path.join(state, "state.json"))
        assert stat.S_ISREG(st.st_mode) and st.st_uid == NOBODY
    finally:
        os.close(w)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


@pytest.mark.parametrize("user", ["user = nobody", ""])
def test_status_as_root_does_not_read_root_files_through_planted_links(ws, knot, shared, user):
    """state.json as a symlink to a file only root may read: "status" run by
    root (dropping to the daemon's user, or reading as root without one)
    must not show what that file holds."""
    state = os.path.join(shared, "state")
    secret = ws.path / "root-only.json"
    secret.write_text('{"version": 1, "records": [{"fqdn": "host.example.test", '
                      '"family": "ipv4", "provider": "own", "address": "81.2.69.99", '
                      '"updated": 1}]}\n')
    os.chmod(secret, 0o600)
    as_user(NOBODY, "ln", "-s", str(secret), os.path.join(state, "state.json"))
    cfg = update_conf(ws, knot, state, user=user)
    p = ws.run("status", config=cfg)
    assert "81.2.69.99" not in p.stdout + p.stderr
    assert p.returncode != 0
    assert "symbolic link" in p.stderr, p.stderr


def test_status_as_root_does_not_connect_through_a_planted_link(ws, knot, shared):
    """dnsward.sock in the state directory as a link to a socket only root
    may use: root's "status" must not talk to it."""
    import socket
    state = os.path.join(shared, "state")
    private = ws.path / "private"
    private.mkdir(mode=0o700)
    target = str(private / "root-only.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(target)
        os.chmod(target, 0o600)
        srv.listen(4)
        srv.setblocking(False)
        as_user(NOBODY, "ln", "-s", target, os.path.join(state, "dnsward.sock"))
        cfg = update_conf(ws, knot, state, user="")
        p = ws.run("status", config=cfg)
        with pytest.raises(BlockingIOError):
            srv.accept()
        assert p.returncode != 0
        assert "not a socket" in p.stderr, p.stderr
    finally:
        srv.close()


# ------------------------------------------------- programs dnsward runs

@pytest.fixture
def progdir():
    """A directory for programs, like /usr/local/libexec: 0755 root."""
    d = tempfile.mkdtemp(prefix="dnsward-prog-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def program(path, text="#!/bin/sh\necho 81.2.69.72\n", mode=0o755, owner=0):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    os.chown(path, owner, owner)
    return path


def prog_conf(ws, knot, state, key, prog, user="user = nobody"):
    keyfile = ws.secret("host.key", knot.keys["host"].keymgr_text)
    line = f"ipv4 = cmd:{prog}" if key == "cmd" else f"ipv4 = static:81.2.69.72\non-change = {prog}"
    return ws.config(f"""[dnsward]
state-dir = {state}
{user}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {keyfile}

[record {HOST}]
provider = own
{line}
""")


@pytest.mark.parametrize("key", ["cmd", "on-change"])
@pytest.mark.parametrize("case", ["program-mode", "program-owner", "dir-mode", "dir-owner",
                                  "parent-mode"])
def test_programs_must_be_trusted_as_openssh_trusts_its_files(ws, shared, progdir, key, case):
    knot = NoServer
    """A program whoever else may change (mode or owner of the program or of
    any directory above it) would run code of theirs as the daemon's user or
    root: refused with the reason and the fix."""
    sub = os.path.join(progdir, "bin")
    os.mkdir(sub, 0o755)
    prog = program(os.path.join(sub, "prog"))
    what = {"program-mode": prog, "program-owner": prog, "dir-mode": sub, "dir-owner": sub,
            "parent-mode": progdir}[case]
    if case.endswith("mode"):
        os.chmod(what, 0o777 if what != prog else 0o757)
        expect = "writable by others"
    else:
        os.chown(what, OTHER, OTHER)
        expect = f"owned by uid {OTHER}"
    cfg = prog_conf(ws, knot, os.path.join(shared, "state"), key, prog)
    p = ws.run("check", config=cfg, check=2)
    assert f"{key if key == 'on-change' else 'ipv4'}:" in p.stderr, p.stderr
    assert what in p.stderr and expect in p.stderr, p.stderr


def test_programs_of_root_or_the_daemon_user_are_accepted(ws, shared, progdir):
    knot = NoServer
    prog_root = program(os.path.join(progdir, "a"))
    prog_daemon = program(os.path.join(progdir, "b"), owner=NOBODY)
    for prog in (prog_root, prog_daemon):
        for key in ("cmd", "on-change"):
            cfg = prog_conf(ws, knot, os.path.join(shared, "state"), key, prog)
            ws.run("check", config=cfg, check=0)
    # without "user =", root runs them: only root's programs then
    cfg = prog_conf(ws, knot, ws.state_dir, "cmd", prog_daemon, user="")
    p = ws.run("check", config=cfg, check=2)
    assert f"owned by uid {NOBODY}" in p.stderr


def test_a_program_reached_through_a_link_is_checked_where_it_lives(ws, shared, progdir):
    knot = NoServer
    """/usr/local/bin/x -> /home/other/x: the link is root's, the program
    is not."""
    other_home = tempfile.mkdtemp(prefix="dnsward-other-")
    try:
        os.chmod(other_home, 0o755)
        os.chown(other_home, OTHER, OTHER)
        real = program(os.path.join(other_home, "x"))
        link = os.path.join(progdir, "x")
        os.symlink(real, link)
        cfg = prog_conf(ws, knot, os.path.join(shared, "state"), "cmd", link)
        p = ws.run("check", config=cfg, check=2)
        assert f"{other_home} " in p.stderr and f"owned by uid {OTHER}" in p.stderr, p.stderr
    finally:
        shutil.rmtree(other_home, ignore_errors=True)


# ------------------------------------ containment of the programs dnsward runs

def cmd_dry_run_conf(ws, prog, extra=""):
    from test_sources import provider_conf
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
source-timeout = 2
{extra}
{provider_conf(ws)}
[record {HOST}]
provider = p
ipv4 = cmd:{prog}
""")


def alive(pid):
    """True while pid runs (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def kill_quietly(pidfile):
    try:
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        pass


def test_cmd_source_that_joins_dnswards_process_group_is_still_ended(ws):
    """It escapes a kill of its own process group; the time limit must still
    end it, and the update must not wait for it."""
    pidfile = ws.path / "prog.pid"
    prog = ws.path / "escape.py"
    prog.write_text(f"""#!/usr/bin/python3
import os, time
open("{pidfile}", "w").write(str(os.getpid()))
os.setpgid(0, os.getpgid(os.getppid()))
time.sleep(40)
print("81.2.69.73")
""")
    os.chmod(prog, 0o755)
    try:
        p = subprocess.run([binary("dnsward"), "-c", cmd_dry_run_conf(ws, prog), "update",
                            "--dry-run"], capture_output=True, text=True, timeout=25)
        assert "did not finish within 2 s (killed)" in p.stdout, p.stdout + p.stderr
        assert not alive(int(pidfile.read_text()))
    finally:
        kill_quietly(pidfile)


def test_cmd_source_leaves_no_setsid_grandchild_behind(ws):
    """A grandchild in a session of its own outlived dnsward."""
    pidfile = ws.path / "grandchild.pid"
    prog = ws.path / "detach.sh"
    prog.write_text(f"#!/bin/sh\nsetsid sleep 300 </dev/null >/dev/null 2>&1 &\n"
                    f"echo $! > {pidfile}\necho 81.2.69.73\n")
    os.chmod(prog, 0o755)
    try:
        p = ws.run("update", "--dry-run", config=cmd_dry_run_conf(ws, prog), timeout=25)
        assert f"would-update {HOST} A 81.2.69.73" in p.stdout, p.stdout + p.stderr
        assert not alive(int(pidfile.read_text()))
    finally:
        kill_quietly(pidfile)


def test_cmd_source_rewritten_after_start_is_refused_at_its_next_run(ws, knot, progdir):
    """The check is repeated before every run: a daemon started with a sound
    program refuses it once another user can change it."""
    prog = program(os.path.join(progdir, "addr"), "#!/bin/sh\necho 81.2.69.74\n")
    keyfile = ws.secret("host.key", knot.keys["host"].keymgr_text)
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
poll-interval = 10

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {keyfile}

[record {HOST}]
provider = own
ipv4 = cmd:{prog}
""")
    log = ws.path / "daemon.log"
    with open(log, "w") as logf:
        proc = subprocess.Popen([binary("dnsward"), "-c", cfg, "run"], stdout=logf, stderr=logf)

    def wait(cond, what):
        deadline = time.monotonic() + 30
        while not cond():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"{what}:\n{log.read_text()}"
            time.sleep(0.05)
    try:
        wait(lambda: knot.query(HOST, "A") == ["81.2.69.74"], "first publish")
        os.chmod(prog, 0o757)          # now others may rewrite it ...
        with open(prog, "w") as f:     # ... and one does
            f.write("#!/bin/sh\necho 81.2.69.75\n")
        # the next poll (poll-interval, 10 s at the least) runs it again
        wait(lambda: "is writable by others (mode 0757)" in log.read_text(), "refused")
        assert knot.query(HOST, "A") == ["81.2.69.74"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------- the daemon

def hook_program(path, body):
    with open(path, "w") as f:
        f.write("#!/usr/bin/python3\nimport os, sys\n" + body)
    os.chmod(path, 0o755)
    return str(path)


def test_hooks_get_only_descriptors_0_to_2(ws, freedns_emulator, pki, daemons):
    """A hook started while a worker holds a provider's TLS connection
    received it (and libcurl's socket pair)."""
    from test_daemon import wait_for
    out = ws.path / "fds.out"
    hook = hook_program(ws.path / "fds.py", f"""
fds = []
for fd in range(3, 4096):
    try:
        os.fstat(fd)
    except OSError:
        continue
    try:
        fds.append(f"{{fd}} -> {{os.readlink(f'/proc/self/fd/{{fd}}')}}")
    except OSError:
        fds.append(str(fd))
open("{out}.tmp", "w").write("\\n".join(fds) + "\\n")
os.rename("{out}.tmp", "{out}")
""")
    fast, slow = "f" * 24, "5" * 24
    freedns_emulator.add_record(fast, "home.mooo.test", "A", "192.0.2.1")
    freedns_emulator.add_record(slow, "slow.mooo.test", "A", "192.0.2.1")
    freedns_emulator.set_wire_fault("hang", when=lambda req: slow in req.path, delay=30)
    tf = ws.secret("fast", fast)
    ts = ws.secret("slow", slow)
    cfg = ws.config(f"""[dnsward]
state-dir = {ws.state_dir}

[provider fd]
type = freedns
base-url = {freedns_emulator.url}
base-url-v6 = {freedns_emulator.url}
ca-file = {pki.ca_file}
timeout = 20

[record slow.mooo.test]
provider = fd
ipv4 = static:81.2.69.161
token-a-file = {ts}

[record home.mooo.test]
provider = fd
ipv4 = static:81.2.69.160
token-a-file = {tf}
on-change = {hook}
""")
    d = daemons(ws, cfg)
    wait_for(lambda: out.exists(), "the hook's report")
    assert out.read_text().strip() == "", out.read_text()
    assert d.proc.poll() is None


def hook_conf(ws, knot, hook):
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    return ws.config(f"""[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.76
on-change = {hook}
""")


def test_a_hook_leaves_no_setsid_grandchild_behind(ws, knot, daemons):
    from test_daemon import wait_for
    pids = ws.path / "pids"
    hook = hook_program(ws.path / "detach.py", f"""
import subprocess
g = subprocess.Popen(["setsid", "sleep", "300"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open("{pids}.tmp", "w").write(f"{{g.pid}} {{os.getpid()}}\\n")
os.rename("{pids}.tmp", "{pids}")
""")
    daemons(ws, hook_conf(ws, knot, hook))
    try:
        wait_for(lambda: pids.exists(), "the hook's report")
        grandchild, hook_pid = (int(x) for x in pids.read_text().split())
        wait_for(lambda: not alive(hook_pid), "the hook to exit")
        wait_for(lambda: not alive(grandchild), "its grandchild to be ended", timeout=5)
    finally:
        kill_all(pids)


def test_a_hook_does_not_outlive_the_daemon(ws, knot, daemons):
    from test_daemon import wait_for
    pids = ws.path / "pids"
    hook = hook_program(ws.path / "stay.py", f"""
import time
open("{pids}.tmp", "w").write(f"{{os.getpid()}}\\n")
os.rename("{pids}.tmp", "{pids}")
time.sleep(300)
""")
    d = daemons(ws, hook_conf(ws, knot, hook))
    try:
        wait_for(lambda: pids.exists(), "the hook's report")
        hook_pid = int(pids.read_text())
        d.stop()
        wait_for(lambda: not alive(hook_pid), "the hook to be ended with the daemon", timeout=5)
    finally:
        kill_all(pids)


def kill_all(pidfile):
    if not pidfile.exists():
        return
    for p in pidfile.read_text().split():
        try:
            os.kill(int(p), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_daemon_drops_privileges_before_touching_the_state_dir(ws, knot, daemons):
    """It read the state file as root before dropping; now it opens the
    state directory only as the daemon's user: a directory of another
    user is refused before anything is read or published."""
    other_dir = tempfile.mkdtemp(prefix="dnsward-other-")
    try:
        os.chmod(other_dir, 0o755)
        state = os.path.join(other_dir, "state")
        os.mkdir(state, 0o700)
        os.chown(state, OTHER, OTHER)
        cfg = update_conf(ws, knot, state)     # user = nobody
        d = daemons(ws, cfg, wait=False)
        assert d.proc.wait(timeout=30) == 2, d.text()
        assert f"state-dir {state} belongs to uid {OTHER}, not to this user (uid {NOBODY})" \
            in d.text()
        assert knot.query(HOST, "A") == []
    finally:
        shutil.rmtree(other_dir, ignore_errors=True)


def test_daemon_control_socket_in_the_state_dir_belongs_to_the_daemon_user(ws, knot, shared,
                                                                           daemons):
    from test_daemon import wait_for
    state = os.path.join(shared, "state")
    d = daemons(ws, update_conf(ws, knot, state))
    wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.71"], "published")
    st = os.lstat(os.path.join(state, "dnsward.sock"))
    assert stat.S_ISSOCK(st.st_mode) and st.st_uid == NOBODY
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert d.fam(HOST, "A")["state"] == "in-sync"   # root's "status" still reaches it


# ---------------------------------------------- secrets in every form they are sent

CUSTOM_KEY = 'tok+en/with=chars "q" \\ &x'   # every context escapes something here


def forms(secret):
    """Every encoding of secret that a request or a server's echo of it may
    hold: percent-encoding (both hex cases), form encoding, JSON escaping
    (with and without an escaped solidus)."""
    import json as js
    import re
    import urllib.parse
    q = urllib.parse.quote(secret, safe="-._~")
    j = js.dumps(secret)[1:-1]
    return {secret, q, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), q),
            urllib.parse.quote_plus(secret, safe="*-._"), j, j.replace("/", "\\/")}


@pytest.mark.parametrize("shape", ["query", "form", "json"])
def test_an_echoed_request_never_shows_the_secret_in_any_encoding(ws, custom_emulator, pki,
                                                                   shape):
    """A server echoing the request line put the URL-encoded form of a token
    into an error message."""
    key = ws.secret("api-key", CUSTOM_KEY)
    body = {"query": [f"url = {custom_emulator.origin}/u?h={{fqdn}}&k={{secret:key}}"],
            "form": [f"url = {custom_emulator.origin}/u", "method = POST",
                     "body-format = form", "body = h={fqdn}&k={secret:key}"],
            "json": [f"url = {custom_emulator.origin}/u", "method = PUT",
                     "body-format = json", 'body = {"h":"{fqdn}","k":"{secret:key}"}']}[shape]
    cfg = ws.config("\n".join(["[provider c]", "type = custom", f"ca-file = {pki.ca_file}",
                               *body, f"secret-key-file = {key}", "success-line = good",
                               f"[record {HOST}]", "provider = c", "ipv4 = static:81.2.69.77",
                               ""]))
    custom_emulator.echo(400)
    p = ws.run("-d", "update", config=cfg, check=3)
    assert "refused (HTTP 400): \"echo:" in p.stderr, p.stderr
    req = custom_emulator.take_requests()[0]
    sent = req.raw_path + req.body.decode()
    assert any(f in sent for f in forms(CUSTOM_KEY) - {CUSTOM_KEY}), sent  # really encoded
    for f in forms(CUSTOM_KEY):
        assert f not in p.stdout + p.stderr, f"{f!r} in:\n{p.stderr}"


def test_basic_credentials_echoed_in_base64_are_masked(ws, dyndns2_emulator, pki):
    import base64
    user, password = "someone@example.net", "pw-" + "ab12" * 5
    dyndns2_emulator.add_account(user, password)
    dyndns2_emulator.fault("echo-request")
    pw = ws.secret("password", password)
    cfg = ws.config(f"""[provider dd]
type = dyndns2
preset = noip
base-url = {dyndns2_emulator.url}
ca-file = {pki.ca_file}
username = {user}
password-file = {pw}

[record {HOST}]
provider = dd
ipv4 = static:81.2.69.78
""")
    p = ws.run("-d", "update", config=cfg)
    b64 = base64.b64encode(f"{user}:{password}".encode()).decode()
    req = dyndns2_emulator.take_requests()[0]
    assert req.header("Authorization") == f"Basic {b64}"
    assert "echo: Authorization: Basic [REDACTED]" in p.stderr, p.stderr
    assert b64[:8] not in p.stdout + p.stderr, p.stderr
    assert password not in p.stdout + p.stderr


def short_secret_conf(ws, value):
    tok = ws.secret("short", value)
    return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}

[provider fd]
type = freedns

[record {HOST}]
provider = fd
ipv4 = static:81.2.69.79
token-a-file = {tok}
""")


@pytest.mark.parametrize("value", ["a", "ab", "abc"])
def test_secrets_too_short_to_be_secrets_are_refused(ws, value):
    """Under 4 bytes they were not masked at all; masking them would mask
    ordinary text everywhere (and show where they are): refused."""
    p = ws.run("check", config=short_secret_conf(ws, value), check=2)
    assert f"holds only {len(value)} byte" in p.stderr, p.stderr
    assert "at least 4" in p.stderr


@pytest.mark.parametrize("value", ["abcd", "ab!d-f7"])
def test_short_secrets_are_masked_and_noted(ws, freedns_emulator, pki, value):
    """4 to 7 bytes (an imported router password): accepted, masked in every
    form, and "check" says they are short."""
    p = ws.run("check", config=short_secret_conf(ws, value), check=0)
    assert f"the secret holds only {len(value)} bytes" in p.stderr, p.stderr
    freedns_emulator.add_record(value, HOST, "A", "192.0.2.1")
    freedns_emulator.fault(value, "server-error", status=500)
    cfg = ws.config(f"""[provider fd]
type = freedns
base-url = {freedns_emulator.url}
ca-file = {pki.ca_file}

[record {HOST}]
provider = fd
ipv4 = static:81.2.69.79
token-a-file = {ws.path / "short"}
""")
    p = ws.run("-d", "update", config=cfg)
    assert "/u/[" in p.stderr, p.stderr   # the URL path held it
    assert value not in p.stdout + p.stderr


@pytest.mark.parametrize("updated", ["-9223372036854775808", "9223372036854775807", "-1"])
def test_state_file_with_an_impossible_time_is_refused(ws, knot, daemons, updated):
    """"updated": -9223372036854775808 was signed overflow (UBSan) when the
    daemon computed the record's age."""
    (ws.state_dir / "state.json").write_text(
        '{"version": 1, "records": [{"fqdn": "host.example.test", "family": "ipv4", '
        f'"provider": "own", "address": "81.2.69.71", "updated": {updated}}}]}}\n')
    os.chmod(ws.state_dir / "state.json", 0o600)
    cfg = update_conf(ws, knot, ws.state_dir, user="")
    d = daemons(ws, cfg, wait=False)
    assert d.proc.wait(timeout=30) == 2, d.text()
    assert "entry 1 is malformed" in d.text() and "not a time" in d.text(), d.text()


# ------------------------------------------- systemd credentials and reloads

@pytest.fixture
def creds():
    """A directory like the one systemd makes for a unit's credentials:
    root's, its files readable by the unit's user only (here: nobody)."""
    d = tempfile.mkdtemp(prefix="dnsward-creds-")
    os.chmod(d, 0o755)

    def put(name, text, owner=NOBODY, mode=0o400):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chown(p, owner, owner)
        os.chmod(p, mode)
        return p
    try:
        yield d, put
    finally:
        shutil.rmtree(d, ignore_errors=True)


def two_record_conf(ws, knot, state, host_key, other_key=None, user="user = nobody"):
    """Written beside the state directory, 0644 like /etc/dnsward/dnsward.conf:
    a reload reads it as the daemon's user."""
    text = f"""[dnsward]
state-dir = {state}
{user}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {host_key}

[record {HOST}]
provider = own
ipv4 = static:81.2.69.80
"""
    if other_key is not None:
        text += f"""
[provider other]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {other_key}

[record other.example.test]
provider = other
ipv4 = static:81.2.69.81
"""
    path = os.path.join(os.path.dirname(str(state)), "dnsward.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def test_credentials_are_read_again_by_a_reload_after_the_drop(ws, knot, shared, creds,
                                                              daemons, monkeypatch):
    """A reload after the privilege drop could not re-read root-only
    secrets; systemd credentials are readable by the unit's user."""
    from test_daemon import wait_for
    d_creds, put = creds
    put("host.key", knot.keys["host"].keymgr_text)
    put("other.key", knot.keys["other"].keymgr_text)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", d_creds)
    state = os.path.join(shared, "state")
    cfg = two_record_conf(ws, knot, state, "credential:host.key")
    d = daemons(ws, cfg)
    wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.80"], "first record")
    two_record_conf(ws, knot, state, "credential:host.key", "credential:other.key")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded: 2 records" in d.text() or
             "reload refused" in d.text(), "the reload")
    assert "configuration reloaded: 2 records" in d.text(), d.text()
    wait_for(lambda: knot.query("other.example.test", "A") == ["81.2.69.81"], "second record")


def test_a_reload_that_cannot_read_a_root_only_secret_says_what_to_do(ws, knot, shared,
                                                                     daemons):
    from test_daemon import wait_for
    state = os.path.join(shared, "state")
    host_key = ws.secret("host.key", knot.keys["host"].keymgr_text)      # root, 0600
    cfg = two_record_conf(ws, knot, state, host_key)
    d = daemons(ws, cfg)
    wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.80"], "first record")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in d.text(), "the refusal")
    t = d.text()
    assert f"dnsward runs as uid {NOBODY}" in t, t
    assert "credential:NAME" in t
    assert d.proc.poll() is None   # the running configuration stays


def test_a_credential_outside_systemd_is_read_where_systemd_reads_it(ws, knot):
    """"credential:NAME" from a shell ("dnsward check", a timer without
    LoadCredential=) reads /etc/credstore/NAME, the file systemd's
    LoadCredential=NAME loads."""
    import uuid
    store = "/etc/credstore"
    made = not os.path.isdir(store)
    if made:
        os.mkdir(store, 0o700)
    name = f"dnsward-test-{uuid.uuid4().hex}.key"
    path = os.path.join(store, name)
    try:
        with open(path, "w") as f:
            f.write(knot.keys["host"].keymgr_text)
        os.chmod(path, 0o600)
        env = dict(os.environ)
        env.pop("CREDENTIALS_DIRECTORY", None)
        cfg = two_record_conf(ws, knot, ws.state_dir, f"credential:{name}", user="")
        ws.run("update", config=cfg, check=0, env={"CREDENTIALS_DIRECTORY": ""})
        assert knot.query(HOST, "A") == ["81.2.69.80"]
    finally:
        os.unlink(path)
        if made:
            os.rmdir(store)


def test_a_credential_not_given_to_the_unit_is_named(ws, knot, creds):
    d_creds, put = creds
    cfg = two_record_conf(ws, knot, ws.state_dir, "credential:missing.key", user="")
    p = ws.run("check", config=cfg, check=2, env={"CREDENTIALS_DIRECTORY": d_creds})
    assert "credential missing.key was not given to this service" in p.stderr, p.stderr
    assert "LoadCredential=missing.key" in p.stderr


def test_a_reload_says_which_settings_wait_for_a_restart(ws, knot, shared, daemons):
    from test_daemon import wait_for
    kf = os.path.join(shared, "host.key")
    with open(kf, "w") as f:
        f.write(knot.keys["host"].keymgr_text)
    os.chown(kf, 0, NOBODY)
    os.chmod(kf, 0o640)          # root:nobody 0640: readable after the drop
    state = os.path.join(shared, "state")
    cfg = two_record_conf(ws, knot, state, kf)
    d = daemons(ws, cfg)
    wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.80"], "first record")
    text = open(cfg).read().replace("user = nobody", "user = nobody\nlog-level = info\n"
                                    f"control-socket = {shared}/other.sock")
    with open(cfg, "w") as f:
        f.write(text)
    d.signal(signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in d.text() or "reload refused" in d.text(),
             "the reload")
    t = d.text()
    assert "configuration reloaded" in t, t
    assert "control-socket changed: takes effect when dnsward is restarted" in t, t
    assert "log-level changed: takes effect when dnsward is restarted" in t, t


def test_a_reload_never_lifts_the_allowlist(ws, knot, daemons, progdir):
    """"seccomp = no" in a reloaded file does not remove the filter in force,
    so a later reload adding a program is still refused (starting it under
    the allowlist would kill the daemon)."""
    from test_daemon import wait_for
    kf = ws.secret("host.key", knot.keys["host"].keymgr_text)
    hook = program(os.path.join(progdir, "hook"), "#!/bin/sh\nexit 0\n")

    def conf(extra_global="", addr="81.2.69.82", extra_record=""):
        return ws.config(f"""[dnsward]
state-dir = {ws.state_dir}
{extra_global}

[provider own]
type = rfc2136
server = 127.0.0.1
port = {knot.port}
key-file = {kf}

[record {HOST}]
provider = own
ipv4 = static:{addr}
{extra_record}
""")
    d = daemons(ws, conf())
    wait_for(lambda: knot.query(HOST, "A") == ["81.2.69.82"], "first publish")
    conf("seccomp = no")
    d.signal(signal.SIGHUP)
    wait_for(lambda: d.text().count("configuration reloaded") == 1, "first reload")
    assert "seccomp changed: takes effect when dnsward is restarted" in d.text()
    conf("seccomp = no", addr="81.2.69.83", extra_record=f"on-change = {hook}")
    d.signal(signal.SIGHUP)
    wait_for(lambda: "reload refused" in d.text() or d.text().count("configuration reloaded") == 2,
             "second reload")
    assert "reload refused" in d.text() and "restart dnsward" in d.text(), d.text()
    d.signal(signal.SIGUSR1)
    wait_for(lambda: "already published" in d.text(), "a forced pass")
    assert d.proc.poll() is None, d.text()
