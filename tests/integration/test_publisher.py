"""The resident dnsward and its publisher: the monitor maps no network
library, the publisher is confined and holds no capability, and a publisher
that is killed mid-job, hangs or speaks garbage costs a retry, never a
publish or a wrong state.

The daemon runs as root without `user =` here (the worst case for the
publisher's privileges), with seccomp on unless said otherwise."""
import json
import os
import signal
import subprocess
import time

from conftest import BUILD, binary
from test_daemon import daemons, freedns_config, nsknot, stays, wait_for  # noqa: F401  (fixtures)

HOST = "home.mooo.test"
TOKEN = "c0ffee00c0ffee00c0ffee00"
NETWORK_LIBS = ("libcurl", "libssl", "libcrypto", "libldns", "libsystemd", "libgnutls",
                "libnghttp2", "libssh", "libkrb5", "libldap")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def mapped_libs(pid):
    libs = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if ".so" in path:
                libs.add(os.path.basename(path))
    return libs


def exe_name(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return None


def publisher_of(d):
    pubs = [c for c in children(d.proc.pid) if exe_name(c) == "dnsward-publisher"]
    return pubs[0] if pubs else None


def state_entries(ws, fqdn):
    doc = json.loads((ws.state_dir / "state.json").read_text())
    return [r for r in doc["records"] if r["fqdn"] == fqdn]


def config(ws, emu, pki, extra=""):
    emu.add_record(TOKEN, HOST, "A", "192.0.2.1")
    return freedns_config(ws, emu, pki, TOKEN, extra=extra)


def test_dnsward_links_no_network_library():
    out = subprocess.run(["readelf", "-d", binary("dnsward")], capture_output=True, text=True,
                         check=True).stdout
    needed = [line.split("[")[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]
    assert needed, out
    for lib in needed:
        assert not lib.startswith(NETWORK_LIBS), f"dnsward needs {lib}"
    pub = str(BUILD / "src" / "publisher" / "dnsward-publisher")
    out = subprocess.run(["readelf", "-d", pub], capture_output=True, text=True, check=True).stdout
    assert "libcurl" in out   # the network library is the publisher's


def test_monitor_maps_no_network_library(ws, freedns_emulator, pki, daemons):  # noqa: F811
    """After a publish over HTTPS the monitor has none of the network
    libraries mapped, and the publisher that did the work (it has them)
    exits once idle."""
    cfg = config(ws, freedns_emulator, pki, extra="publisher-idle = 1")
    d = daemons(ws, cfg)
    wait_for(lambda: freedns_emulator.records[TOKEN].ip == "81.2.69.160", "the publish")
    pub = publisher_of(d)
    if pub is not None:   # still idle: it is the one holding libcurl
        assert any(lib.startswith("libcurl") for lib in mapped_libs(pub))
    wait_for(lambda: children(d.proc.pid) == [], "the idle publisher to exit", timeout=15)
    libs = mapped_libs(d.proc.pid)
    bad = sorted(lib for lib in libs if lib.startswith(NETWORK_LIBS))
    assert bad == [], bad
    assert any(lib.startswith("libsodium") for lib in libs)   # the check reads real maps
    assert status(d.proc.pid)["Threads"] == "1"
    assert d.fam(HOST, "A")["state"] == "in-sync"


def test_publisher_confined_without_capabilities(ws, freedns_emulator, pki, daemons):  # noqa: F811
    cfg = config(ws, freedns_emulator, pki, extra="publisher-idle = 60")
    d = daemons(ws, cfg)
    wait_for(lambda: freedns_emulator.records[TOKEN].ip == "81.2.69.160", "the publish")
    pub = wait_for(lambda: publisher_of(d), "the publisher")
    st = status(pub)
    # Its own filter on top of the monitor's: two filters, mode 2.
    assert st["Seccomp"] == "2", st
    assert int(st["Seccomp_filters"]) >= 2, st
    assert st["NoNewPrivs"] == "1"
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert st[k] == "0000000000000000", (k, st[k])
    # The monitor still runs as root here (no user =), with its filter.
    assert status(d.proc.pid)["Seccomp"] == "2"
    assert int(status(d.proc.pid)["CapEff"], 16) != 0
    # It holds no secret file open, and no file for writing (beyond the
    # standard descriptors it shares with dnsward: here a log file).
    for fd in os.listdir(f"/proc/{pub}/fd"):
        if int(fd) <= 2:
            continue
        target = os.readlink(f"/proc/{pub}/fd/{fd}")
        assert "token" not in target, target
        with open(f"/proc/{pub}/fdinfo/{fd}") as f:
            flags = int(f.readline().split()[1], 8)
        if target.startswith("/") and not target.startswith(("/dev/", "/proc/")):
            assert flags & 0o3 == 0, (target, oct(flags))


def test_publisher_killed_mid_job_is_retried(ws, freedns_emulator, pki, daemons):  # noqa: F811
    """SIGKILL while the provider holds the request: the attempt fails with
    how the publisher ended, a new publisher publishes, and the state
    records the address once, from the attempt that was answered."""
    cfg = config(ws, freedns_emulator, pki)
    freedns_emulator.set_wire_fault("hang", times=1)
    d = daemons(ws, cfg)
    wait_for(lambda: len(freedns_emulator.requests) == 1, "the first request")
    first = wait_for(lambda: publisher_of(d), "the publisher")
    assert not (ws.state_dir / "state.json").exists() or state_entries(ws, HOST) == []
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: freedns_emulator.records[TOKEN].ip == "81.2.69.160", "the retry",
             timeout=20)
    wait_for(lambda: d.fam(HOST, "A")["state"] == "in-sync", "in sync")
    assert len(freedns_emulator.requests) == 2
    text = d.text()
    assert f"publisher (pid {first}) was killed by signal 9" in text, text
    assert text.count(f"{HOST} A 81.2.69.160: updated") == 1, text
    (entry,) = state_entries(ws, HOST)
    assert entry["address"] == "81.2.69.160"
    f = d.fam(HOST, "A")
    assert f["last_result"] == "done" and f["published"] == "81.2.69.160"


def test_hung_publisher_is_killed_at_its_deadline(ws, freedns_emulator, pki, daemons):  # noqa: F811
    """A publisher that stops answering (stopped here) is killed when its
    jobs' budget has passed without an answer (provider timeout 1 s:
    8 x 1 s + 5 s); the retry publishes."""
    emu = freedns_emulator
    emu.add_record(TOKEN, HOST, "A", "192.0.2.1")
    cfg = freedns_config(ws, emu, pki, TOKEN)
    with open(cfg) as f:
        text = f.read().replace("timeout = 5", "timeout = 1")
    with open(cfg, "w") as f:
        f.write(text)
    emu.set_wire_fault("hang", times=1)
    d = daemons(ws, cfg)
    wait_for(lambda: len(emu.requests) == 1, "the first request")
    pub = wait_for(lambda: publisher_of(d), "the publisher")
    os.kill(pub, signal.SIGSTOP)
    t0 = time.monotonic()
    wait_for(lambda: f"publisher (pid {pub}) gave no answer for 13 s; stopped it" in d.text(),
             "the deadline", timeout=30)
    took = time.monotonic() - t0
    wait_for(lambda: not os.path.exists(f"/proc/{pub}"), "the hung publisher reaped")
    wait_for(lambda: emu.records[TOKEN].ip == "81.2.69.160", "the retry", timeout=20)
    wait_for(lambda: d.fam(HOST, "A")["state"] == "in-sync", "in sync")
    print(f"hung publisher stopped {took:.1f} s after it froze")
    (entry,) = state_entries(ws, HOST)
    assert entry["address"] == "81.2.69.160"


def _garbage(ws, emu, pki, daemons, mode, expect):  # noqa: F811
    cfg = config(ws, emu, pki)
    d = daemons(ws, cfg, env={"DNSWARD_PUBLISHER": str(BUILD / "tests" / "garbage-publisher"),
                              "GARBAGE_MODE": mode})
    wait_for(lambda: expect in d.text(), "the garbage noticed")
    # Killed and reaped, then retried (with the next garbage publisher).
    wait_for(lambda: d.fam(HOST, "A")["failures"] >= 2, "a retry", timeout=20)
    assert d.proc.poll() is None
    for pid in children(d.proc.pid):
        assert status(pid)["State"][0] != "Z"
    f = d.fam(HOST, "A")
    assert f["state"] != "in-sync" and f["failures"] >= 2, f
    assert not (ws.state_dir / "state.json").exists() or state_entries(ws, HOST) == []
    assert emu.records[TOKEN].ip == "192.0.2.1"   # nothing was sent


def test_garbage_bytes_kill_the_publisher(ws, freedns_emulator, pki, daemons):  # noqa: F811
    _garbage(ws, freedns_emulator, pki, daemons, "bytes", "frame length 2147483647 out of range")


def test_answer_to_an_unknown_job_kills_the_publisher(ws, freedns_emulator, pki, daemons):  # noqa: F811
    _garbage(ws, freedns_emulator, pki, daemons, "unknown", "answered a job it was not given")


def test_answer_of_another_kind_kills_the_publisher(ws, freedns_emulator, pki, daemons):  # noqa: F811
    _garbage(ws, freedns_emulator, pki, daemons, "kind", "answered a job it was not given")


def test_idle_daemon_has_no_publisher(ws, freedns_emulator, pki, daemons):  # noqa: F811
    """publisher-idle = 0: the publisher exits as soon as its jobs are
    answered; nothing runs between address changes."""
    cfg = config(ws, freedns_emulator, pki, extra="publisher-idle = 0")
    d = daemons(ws, cfg)
    wait_for(lambda: freedns_emulator.records[TOKEN].ip == "81.2.69.160", "the publish")
    wait_for(lambda: children(d.proc.pid) == [], "the publisher to exit")
    stays(lambda: children(d.proc.pid) == [], "no publisher while idle", 1.0)


def test_no_publisher_for_events_that_change_nothing(ws, netns, nsknot, daemons):  # noqa: F811
    """Address events that give no record another address (an address on
    another interface, new lifetimes of the one in use) start no publisher;
    a change of the record's address starts one while the debounce runs."""
    from test_daemon import ddns_count, knot_config
    cfg = knot_config(ws, nsknot, ipv6="off", extra="publisher-idle = 0\ndebounce-ms = 200\n"
                      "min-publish-gap = 0")
    d = daemons(ws, cfg, netns)
    netns.add("81.2.69.10/24")
    wait_for(lambda: nsknot.query("host.example.test", "A", timeout=1) == ["81.2.69.10"],
             "the first publish")
    wait_for(lambda: children(d.proc.pid) == [], "the publisher to exit")
    netns.ip("link", "add", "dwx", "type", "veth", "peer", "name", "dwy")
    netns.ip("link", "set", "dwx", "up")
    netns.ip("addr", "add", "81.2.69.99/24", "dev", "dwx")
    netns.ip("addr", "change", "81.2.69.10/24", "dev", "dw0", "valid_lft", "3600",
             "preferred_lft", "3600")
    stays(lambda: children(d.proc.pid) == [], "no publisher for events that change nothing",
          1.5)
    assert ddns_count(nsknot) == 1
    # (Another subnet: deleting a primary address deletes its secondaries.)
    netns.ip("addr", "add", "81.2.70.11/24", "dev", "dw0")
    netns.ip("addr", "del", "81.2.69.10/24", "dev", "dw0")
    # Started at the first event, before the 200 ms debounce ends.
    pub = wait_for(lambda: publisher_of(d), "a publisher for the change", timeout=5)
    assert pub is not None
    wait_for(lambda: nsknot.query("host.example.test", "A", timeout=1) == ["81.2.70.11"],
             "the second publish")
