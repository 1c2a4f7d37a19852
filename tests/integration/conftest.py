"""Shared fixtures for the integration tests.

Each test gets its own directory; servers are started by fixtures in
fixtures/ and always stopped in their finalisers, also when a test fails.
The dnsward binary comes from DNSWARD_BUILD (a meson build directory),
default ../../build.
"""
import os
import pathlib
import subprocess

import pytest

pytest_plugins = [
    "fixtures.pki",
    "fixtures.emulators",
    "fixtures.knot",
    "fixtures.authservers",
    "fixtures.netns",
    "fixtures.postgres",
]

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("DNSWARD_BUILD", ROOT / "build")).resolve()
# dnsward starts its publisher from the installed path unless told where
# the build tree's is (every process the tests start inherits this).
os.environ.setdefault("DNSWARD_PUBLISHER", str(BUILD / "src" / "publisher" / "dnsward-publisher"))


def binary(name):
    path = BUILD / "src" / name / name
    if not path.exists():
        pytest.fail(f"{path} is missing: build first (meson setup build && ninja -C build)")
    return str(path)


def task_statuses(pid):
    """{tid: {field: value}} from /proc/PID/task/TID/status for every thread
    of pid that still exists when its file is read.  A thread that ends
    between the listing and the read (a server's connection thread) runs no
    code any more and is left out; a read that fails while the thread is
    still listed is an error.  The main thread (tid == pid) is always read."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        path = f"/proc/{pid}/task/{tid}/status"
        try:
            with open(path) as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError):
            if tid == str(pid) or os.path.exists(f"/proc/{pid}/task/{tid}"):
                raise
            continue
        out[tid] = {k: v.strip() for k, _, v in
                    (line.partition(":") for line in text.splitlines())}
    assert str(pid) in out, f"main thread of {pid} not listed"
    return out


class Workspace:
    """A directory holding one test's configuration, secrets and state."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.state_dir = self.path / "state"
        self.state_dir.mkdir(mode=0o700, exist_ok=True)

    def secret(self, name, value, mode=0o600):
        p = self.path / name
        p.write_text(value + "\n")
        os.chmod(p, mode)
        return str(p)

    def config(self, text, name="dnsward.conf"):
        """Writes a configuration; a [dnsward] section pointing at this
        workspace's state directory is added unless the text has one."""
        if "[dnsward]" not in text:
            text = f"[dnsward]\nstate-dir = {self.state_dir}\n\n" + text
        p = self.path / name
        p.write_text(text)
        return str(p)

    def run(self, *args, config=None, env=None, timeout=60, netns=None, check=None):
        """Runs dnsward; returns CompletedProcess with text output."""
        cmd = [binary("dnsward")]
        if config:
            cmd += ["-c", config]
        cmd += list(args)
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        full_env = dict(os.environ)
        full_env.pop("JOURNAL_STREAM", None)
        if env:
            full_env.update(env)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
        # Under the sanitizers a report must fail the test whatever the
        # exit status the test expected.
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            assert marker not in proc.stderr, f"sanitizer report from {cmd}:\n{proc.stderr}"
        if check is not None and proc.returncode != check:
            raise AssertionError(
                f"{' '.join(cmd)} exited {proc.returncode}, expected {check}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc


@pytest.fixture
def ws(tmp_path):
    os.chmod(tmp_path, 0o755)   # Knot and other unprivileged helpers read from here
    return Workspace(tmp_path)


# ---- dnsward-gateway's store: every gateway test on both backends ----------------
#
# A gateway test module says `pytestmark = pytest.mark.usefixtures("gw_backend")`:
# each of its tests then runs twice, [sqlite] and [postgresql] (a fresh
# database of the session's PostgreSQL cluster), and every Gateway it makes
# uses that store.  @pytest.mark.sqlite_only keeps a test to SQLite (files,
# locks, pragmas); @pytest.mark.postgresql_only to PostgreSQL.

def pytest_generate_tests(metafunc):
    if "gw_backend" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = ["sqlite"]
    elif metafunc.definition.get_closest_marker("postgresql_only"):
        backends = ["postgresql"]
    else:
        backends = ["sqlite", "postgresql"]
    metafunc.parametrize("gw_backend", backends, indirect=True)


@pytest.fixture
def gw_backend(request):
    import test_gateway
    kind = getattr(request, "param", "sqlite")
    test_gateway.STORE_PG = (request.getfixturevalue("pg_database")
                             if kind == "postgresql" else None)
    try:
        yield kind
    finally:
        test_gateway.STORE_PG = None
