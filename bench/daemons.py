#!/usr/bin/python3
"""Side-by-side daemon benchmarks: dnsward run, inadyn and ddclient against
one local dyndns2 HTTPS endpoint, inside a network namespace.

Run by bench/reaction.sh, bench/idle.sh and bench/memory.sh, which make the
namespace (veth pair dw0 <-> dw1, lo up, nothing routed out) and run this
program inside it with "ip netns exec", so everything it starts (the
daemons, "ip") lives in the namespace too.  The shell scripts delete the
namespace and kill whatever is left in it on exit.

One Python process holds the HTTPS endpoint (the dyndns2 emulator of the
integration tests, run on the namespace's 127.0.0.1), an rtnetlink listener
and the driver, so all timestamps come from one clock (time.monotonic(),
CLOCK_MONOTONIC):

  t_usable   an RTM_NEWADDR for the address without IFA_F_TENTATIVE reached
             our netlink socket: the kernel says the address is usable (the
             same notification an event-driven daemon gets), or "ip addr
             add" returned, whichever is earlier
  t_arrival  the emulator's handler got the parsed request (TLS handshake
             and headers done), before it replies

  python3 bench/daemons.py reaction|idle|memory|oneshot [options]   (inside the netns)

dnsward runs as two processes: the resident monitor ("dnsward run") and,
while there is network work, its publisher child (dnsward-publisher, from
$DNSWARD_PUBLISHER when set).  Memory and idle figures cover the whole
process tree.  $DNSWARD_BEFORE names a dnsward binary of an earlier build
(before that split) that memory and oneshot measure beside the others.
"""
import resource
import argparse
import json
import os
import pathlib
import random
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from emulators.dyndns2 import Dyndns2Emulator  # noqa: E402
from fixtures.pki import make_ca, make_server_cert  # noqa: E402

DEV = "dw0"
PASSWORD = "bench-secret-1"
HOSTS = {"dnsward": "dw.bench.test", "inadyn": "in.bench.test", "ddclient": "dd.bench.test",
         "before": "be.bench.test"}
# $DNSWARD_BEFORE: a dnsward binary of an earlier build (before the monitor
# and publisher split), measured beside the others by memory and oneshot.
BEFORE = os.environ.get("DNSWARD_BEFORE")
DDCLIENT_MIN_DAEMON = 60   # ddclient 3.10 refuses a shorter daemon interval


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


# ---- endpoint ---------------------------------------------------------------

class Endpoint(Dyndns2Emulator):
    """The dyndns2 emulator, recording (arrival, user, hostname, myip)."""

    def __init__(self, cert):
        super().__init__(cert)
        self.arrivals = []
        self.cond = threading.Condition()
        for user, host in HOSTS.items():
            self.add_account(user, PASSWORD)
            self.add_host(host, owner=user)

    def handle(self, req):
        t = time.monotonic()
        reply = super().handle(req)
        auth = self._auth(req) or ("?", "")
        rec = {"t": t, "user": auth[0], "host": req.query.get("hostname", [""])[-1],
               "myip": req.query.get("myip", [""])[-1], "status": reply.status,
               "reply": reply.body.decode(errors="replace").strip()}
        with self.cond:
            self.arrivals.append(rec)
            self.cond.notify_all()
        return reply

    def count(self, user):
        with self.cond:
            return sum(1 for a in self.arrivals if a["user"] == user)

    def wait(self, user, myip, since, timeout):
        """The first arrival from user asking for myip after index since."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for a in self.arrivals[since:]:
                    if a["user"] == user and a["myip"] == myip:
                        return a
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


# ---- rtnetlink listener -----------------------------------------------------

RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x10, 0x100
RTM_NEWADDR = 20
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40


class AddrWatch:
    """Timestamps the first RTM_NEWADDR saying each address is usable."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
        self.usable = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True, name="netlink").start()

    def _run(self):
        while True:
            data = self.sock.recv(1 << 16)
            t = time.monotonic()
            off = 0
            while off + 16 <= len(data):
                length, mtype = struct.unpack_from("=IH", data, off)
                if length < 16:
                    break
                if mtype == RTM_NEWADDR:
                    self._newaddr(data[off + 16:off + length], t)
                off += (length + 3) & ~3

    def _newaddr(self, msg, t):
        family, _plen, flags, _scope, _index = struct.unpack_from("=BBBBI", msg, 0)
        off, addr = 8, {}
        while off + 4 <= len(msg):
            alen, atype = struct.unpack_from("=HH", msg, off)
            if alen < 4:
                break
            addr[atype] = msg[off + 4:off + alen]
            off += (alen + 3) & ~3
        raw = addr.get(IFA_LOCAL) or addr.get(IFA_ADDRESS)
        if raw is None:
            return
        if IFA_FLAGS in addr:
            flags = struct.unpack("=I", addr[IFA_FLAGS][:4])[0]
        if flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED):
            return
        text = socket.inet_ntop(family, raw)
        with self.cond:
            self.usable.setdefault(text, t)
            self.cond.notify_all()

    def forget(self, addr):
        with self.cond:
            self.usable.pop(addr, None)

    def wait(self, addr, timeout=30):
        with self.cond:
            if not self.cond.wait_for(lambda: addr in self.usable, timeout):
                raise RuntimeError(f"no usable RTM_NEWADDR for {addr}")
            return self.usable[addr]


# ---- daemons ----------------------------------------------------------------

class Daemon:
    def __init__(self, name, cmd, logf):
        self.name = name
        self.cmd = cmd
        self.logf = logf
        self.proc = None

    def start(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM")}
        with open(self.logf, "ab") as f:
            self.proc = subprocess.Popen(self.cmd, stdout=f, stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.alive():
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def tail(self, n=15):
        try:
            return "\n".join(pathlib.Path(self.logf).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class Bench:
    def __init__(self, work, dnsward, ca="single"):
        self.work = pathlib.Path(work)
        self.dnsward = dnsward
        ca_cert, ca_key, self.ca_file = make_ca(self.work, "bench CA")
        if ca == "system":
            # The system's bundle with the bench CA appended: what a daemon
            # trusting the system store loads, plus the endpoint's issuer.
            bundle = self.work / "system-bundle.pem"
            bundle.write_bytes(pathlib.Path(SYSTEM_BUNDLE).read_bytes() +
                               pathlib.Path(self.ca_file).read_bytes())
            self.ca_file = str(bundle)
        cert = make_server_cert(self.work, "endpoint", ca_cert, ca_key,
                                ["localhost"], ["127.0.0.1"])
        self.ep = Endpoint(cert).start()
        self.watch = AddrWatch()
        self.daemons = []
        self.pwfile = self.work / "password"
        self.pwfile.write_text(PASSWORD + "\n")
        os.chmod(self.pwfile, 0o600)

    def close(self):
        for d in self.daemons:
            d.stop()
        self.ep.stop()
        subprocess.run(["ip", "addr", "flush", "dev", DEV], capture_output=True, timeout=30)

    # -- configurations -------------------------------------------------------
    def dnsward_config(self, tag, extra="", user="dnsward"):
        d = self.work / tag
        (d / "state").mkdir(parents=True, mode=0o700)
        conf = d / "dnsward.conf"
        conf.write_text(f"""[dnsward]
state-dir = {d}/state
control-socket = {d}/control.sock
{extra}
[provider endpoint]
type = dyndns2
base-url = https://127.0.0.1:{self.ep.port}
ca-file = {self.ca_file}
username = {user}
password-file = {self.pwfile}

[record {HOSTS[user]}]
provider = endpoint
ipv4 = iface:{DEV}
""")
        return d, conf

    def dnsward_daemon(self, debounce_ms=None, tag="dnsward", publisher_idle=None,
                       min_publish_gap=None):
        extra = f"debounce-ms = {debounce_ms}\n" if debounce_ms is not None else ""
        if publisher_idle is not None:
            extra += f"publisher-idle = {publisher_idle}\n"
        if min_publish_gap is not None:
            extra += f"min-publish-gap = {min_publish_gap}\n"
        d, conf = self.dnsward_config(tag, extra)
        return self._add(Daemon(tag, [self.dnsward, "-c", str(conf), "run"], d / "log"))

    def before_daemon(self):
        d, conf = self.dnsward_config("before", user="before")
        return self._add(Daemon("before", [BEFORE, "-c", str(conf), "run"], d / "log"))

    def inadyn_config(self, period):
        d = self.work / "inadyn"
        (d / "cache").mkdir(parents=True, exist_ok=True)
        conf = d / "inadyn.conf"
        conf.write_text(f"""period = {period}
iface = {DEV}
ca-trust-file = {self.ca_file}
custom endpoint {{
    ssl = true
    username = inadyn
    password = {PASSWORD}
    ddns-server = 127.0.0.1:{self.ep.port}
    ddns-path = "/nic/update?hostname=%h&myip=%i"
    hostname = {HOSTS['inadyn']}
}}
""")
        os.chmod(conf, 0o600)
        return d, conf

    def inadyn_daemon(self, period):
        d, conf = self.inadyn_config(period)
        cmd = ["inadyn", "-n", "-l", "info", "-f", str(conf), "--cache-dir", str(d / "cache"),
               "-P", str(d / "inadyn.pid")]
        return self._add(Daemon("inadyn", cmd, d / "log"))

    def ddclient_daemon(self, period):
        d = self.work / "ddclient"
        d.mkdir()
        conf = d / "ddclient.conf"
        conf.write_text(f"""daemon={period}
ssl=yes
ssl_ca_file={self.ca_file}
usev4=ifv4, ifv4={DEV}
protocol=dyndns2
server=127.0.0.1:{self.ep.port}
login=ddclient
password='{PASSWORD}'
{HOSTS['ddclient']}
""")
        os.chmod(conf, 0o600)
        cmd = ["ddclient", "-foreground", "-file", str(conf), "-cache", str(d / "cache"),
               "-pid", str(d / "ddclient.pid")]
        return self._add(Daemon("ddclient", cmd, d / "log"))

    def _add(self, daemon):
        self.daemons.append(daemon.start())
        return daemon

    # -- addresses ------------------------------------------------------------
    def set_addr(self, new, old=None):
        """One change: "ip -batch" deleting old (if any) and adding new, so
        there is no moment without an address a poller could stumble on.
        Returns (t_ip_start, t_usable).

        t_usable is the earlier of the netlink listener's timestamp and the
        moment "ip" returned: the kernel announced the address before it
        acknowledged the request, so both are upper bounds, and the
        listener thread can be late when the interpreter is busy (another
        thread holding the GIL).  Without DAD the address is usable then."""
        cmds = (f"addr del {old}/24 dev {DEV}\n" if old else "") + f"addr add {new}/24 dev {DEV}\n"
        self.watch.forget(new)
        t0 = time.monotonic()
        subprocess.run(["ip", "-batch", "-"], input=cmds.encode(), check=True,
                       capture_output=True, timeout=30)
        t1 = time.monotonic()
        return t0, min(t1, self.watch.wait(new))

    def wait_update(self, daemon, myip, since, timeout):
        a = self.ep.wait(daemon.name if daemon.name in HOSTS else "dnsward", myip, since,
                         timeout)
        if a is None and not daemon.alive():
            raise RuntimeError(f"{daemon.name} exited:\n{daemon.tail()}")
        return a


def addr_seq(start=0):
    i = start
    while True:
        yield f"81.2.69.{2 + i % 250}"
        i += 1


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def summary(ms):
    return {"n": len(ms), "p50": pct(ms, 50), "p99": pct(ms, 99), "min": min(ms),
            "max": max(ms), "mean": statistics.fmean(ms)}


# ---- reaction -----------------------------------------------------------------

def reaction(b, args):
    results = []
    seq = addr_seq()
    runs = [(deb, idle) for deb in args.debounce for idle in args.publisher_idle]
    for deb, idle in runs:
        tag = f"dnsward-debounce{deb}-idle{idle}"
        # Changes 0.2-0.4 s apart: with the default min-publish-gap (30 s)
        # all but the first change of every 30 s would wait for the gap's
        # end.  The gap is off here: this measures the path of a change
        # that comes after a quiet period, which the gap lets out at once.
        d = b.dnsward_daemon(debounce_ms=None if deb == "default" else int(deb), tag=tag,
                             publisher_idle=None if idle == "default" else int(idle),
                             min_publish_gap=0)
        d.name = "dnsward"
        first = next(seq)
        since = len(b.ep.arrivals)
        b.set_addr(first)
        if not b.wait_update(d, first, since, 20):
            raise RuntimeError(f"dnsward never published {first}:\n{d.tail()}")
        cur, lat, lat_ip, missed = first, [], [], 0
        for i in range(args.changes):
            new = next(seq)
            time.sleep(args.gap + random.uniform(0, args.gap))   # steady state in between
            since = len(b.ep.arrivals)
            t_ip, t_ok = b.set_addr(new, cur)
            a = b.wait_update(d, new, since, 10)
            cur = new
            if a is None:
                missed += 1
                continue
            lat.append((a["t"] - t_ok) * 1000)
            lat_ip.append((a["t"] - t_ip) * 1000)
        ip("addr", "del", f"{cur}/24", "dev", DEV)
        d.stop()
        b.daemons.remove(d)
        label = "dnsward run" + (" (debounce-ms default, 50" if deb == "default"
                                 else f" (debounce-ms = {deb}")
        label += (", publisher kept between changes)" if idle == "default"
                  else f", publisher-idle = {idle}: a new publisher per change)")
        results.append({"client": label, "period_s": "event", "missed": missed,
                        "from_usable": summary(lat), "from_ip_start": summary(lat_ip),
                        "samples_ms": [round(x, 3) for x in lat]})
        log(f"{label}: {json.dumps(results[-1]['from_usable'])}")
        time.sleep(0.5)

    if args.slow_changes > 0:
        pers = {"inadyn": args.inadyn_period, "ddclient": DDCLIENT_MIN_DAEMON}
        first = next(seq)
        since = len(b.ep.arrivals)
        b.set_addr(first)
        ds = [b.inadyn_daemon(pers["inadyn"]), b.ddclient_daemon(pers["ddclient"])]
        for d in ds:
            if not b.wait_update(d, first, since, 3 * pers[d.name] + 30):
                raise RuntimeError(f"{d.name} never published {first}:\n{d.tail()}")
        cur = first
        lat = {d.name: [] for d in ds}
        missed = {d.name: 0 for d in ds}
        longest = max(pers.values())
        for i in range(args.slow_changes):
            new = next(seq)
            # a random phase against both poll timers
            time.sleep(random.uniform(1, longest))
            since = len(b.ep.arrivals)
            _t_ip, t_ok = b.set_addr(new, cur)
            cur = new
            for d in ds:
                left = t_ok + 2 * pers[d.name] + 30 - time.monotonic()
                a = b.wait_update(d, new, since, max(left, 0.1))
                if a is None:
                    missed[d.name] += 1
                else:
                    lat[d.name].append((a["t"] - t_ok) * 1000)
            log(f"slow change {i + 1}/{args.slow_changes}: "
                + ", ".join(f"{k} {v[-1] / 1000:.1f} s" if v else f"{k} -"
                            for k, v in lat.items()))
        for d in ds:
            label = {"inadyn": "inadyn 2.10 (iface)", "ddclient": "ddclient 3.10 (usev4=ifv4)"}
            results.append({"client": label[d.name], "period_s": pers[d.name],
                            "missed": missed[d.name],
                            "from_usable": summary(lat[d.name]) if lat[d.name] else None,
                            "samples_ms": [round(x, 1) for x in lat[d.name]]})
    return {"benchmark": "reaction", "family": "IPv4 (no DAD: usable when added)",
            "results": results}


# ---- idle and memory: all three running at once ----------------------------------

def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def start_all(b, args, addr="81.2.69.10"):
    """Starts the three daemons; returns when each has published and, for
    dnsward, with its publisher's peak memory taken while it still ran."""
    since = len(b.ep.arrivals)
    b.set_addr(addr)
    ds = [b.dnsward_daemon(), b.inadyn_daemon(args.inadyn_period),
          b.ddclient_daemon(DDCLIENT_MIN_DAEMON)]
    if BEFORE and args.mode == "memory":
        ds.append(b.before_daemon())
    for d in ds:
        if not b.wait_update(d, addr, since, 60):
            raise RuntimeError(f"{d.name} never published {addr}:\n{d.tail()}")
    dw = ds[0]
    dw.publisher = None
    for c in children(dw.pid):   # the publisher, idle until publisher-idle passes
        try:
            st = proc_status(c)
            dw.publisher = {"pid": c, "VmHWM_kB": int(st["VmHWM"].split()[0]),
                            "shared_objects": len({k for k in rss_by_mapping(c) if ".so" in k})}
        except OSError:
            pass
    time.sleep(2)   # replies written, connections closed, caches saved
    # dnsward's steady state is the monitor alone: wait for the publisher.
    deadline = time.monotonic() + 60
    while children(dw.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if children(dw.pid):
        raise RuntimeError("dnsward's publisher did not exit")
    return ds


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def ctxt(pid):
    """Voluntary and involuntary context switches summed over all threads."""
    vol = invol = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            s = proc_status(f"{pid}/task/{tid}")
        except OSError:
            continue
        vol += int(s["voluntary_ctxt_switches"])
        invol += int(s["nonvoluntary_ctxt_switches"])
    return vol, invol


def children_forked(pid):
    """Processes created by pid so far is not in /proc; we count them with
    strace instead.  Here: the threads it has now."""
    return len(os.listdir(f"/proc/{pid}/task"))


def parse_strace_c(path):
    calls, errors, per = 0, 0, {}
    for line in pathlib.Path(path).read_text(errors="replace").splitlines():
        f = line.split()
        if len(f) >= 5 and f[-1] == "total":
            calls = int(f[3])
            errors = int(f[4]) if len(f) >= 6 else 0
        elif len(f) >= 5 and f[0][0].isdigit() and not f[-1].startswith("-"):
            try:
                per[f[-1]] = int(f[3])
            except ValueError:
                pass
    return calls, errors, per


def idle(b, args):
    ds = start_all(b, args)
    n_req = {d.name: b.ep.count(d.name) for d in ds}
    # window 1: context switches, nothing attached
    c0 = {d.name: ctxt(d.pid) for d in ds}
    c0_time = time.monotonic()
    log(f"idle window 1 (context switches): {args.duration} s")
    time.sleep(args.duration)
    c1 = {d.name: ctxt(d.pid) for d in ds}
    # window 2: every system call, strace -f -c attached to each
    log(f"idle window 2 (strace -f -c): {args.duration} s")
    tr = {}
    for d in ds:
        out = b.work / f"strace-{d.name}.txt"
        tr[d.name] = (subprocess.Popen(["strace", "-f", "-c", "-o", str(out), "-p", str(d.pid)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                      out)
    time.sleep(args.duration)
    for p, _ in tr.values():
        p.send_signal(signal.SIGINT)
    for p, _ in tr.values():
        p.wait(timeout=30)
    rows = []
    for d in ds:
        vol = c1[d.name][0] - c0[d.name][0]
        invol = c1[d.name][1] - c0[d.name][1]
        calls, errors, per = parse_strace_c(tr[d.name][1])
        top = sorted(per.items(), key=lambda kv: -kv[1])[:6]
        rows.append({"daemon": d.name, "threads": children_forked(d.pid),
                     "voluntary": vol, "involuntary": invol,
                     "wakeups_per_min": vol * 60 / args.duration,
                     "syscalls": calls, "syscall_errors": errors, "top_syscalls": top,
                     "requests_during": b.ep.count(d.name) - n_req[d.name]})
        log(json.dumps(rows[-1]))
    t_start = c0_time
    extra = [{"t_s": round(a["t"] - t_start, 1), "user": a["user"], "myip": a["myip"],
              "reply": a["reply"]} for a in b.ep.arrivals if a["t"] >= t_start]
    for d in ds:   # what each daemon said about the requests sent while idle
        rows[[r["daemon"] for r in rows].index(d.name)]["log_tail"] = d.tail(8)
    return {"benchmark": "idle", "duration_s": args.duration, "requests": extra,
            "inadyn_period_s": args.inadyn_period, "ddclient_period_s": DDCLIENT_MIN_DAEMON,
            "results": rows}


def rss_by_mapping(pid):
    """Rss (KiB) per mapped file from /proc/PID/smaps; anonymous memory as
    [heap], [stack] or [anon]."""
    out, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                parts = line.split()
                name = parts[5] if len(parts) >= 6 else "[anon]"
                if name.startswith("/"):
                    name = os.path.basename(name)
            elif first == "Rss:":
                out[name] = out.get(name, 0) + int(line.split()[1])
    return out


def memory(b, args):
    ds = start_all(b, args)
    rows = []
    for d in ds:
        m = rss_by_mapping(d.pid)
        libs = {k: v for k, v in m.items() if ".so" in k}
        s = proc_status(d.pid)
        roll = {}
        with open(f"/proc/{d.pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if v.strip().endswith("kB"):
                    roll[k] = int(v.split()[0])
        tree = [d.pid] + children(d.pid)   # dnsward: the monitor alone by now
        rows.append({"daemon": d.name, "VmHWM_kB": int(s["VmHWM"].split()[0]),
                     "processes": len(tree),
                     "publisher": getattr(d, "publisher", None),
                     "Pss_kB": roll.get("Pss", 0),
                     "USS_kB": roll.get("Private_Clean", 0) + roll.get("Private_Dirty", 0),
                     "VmRSS_kB": int(s["VmRSS"].split()[0]),
                     "RssAnon_kB": int(s["RssAnon"].split()[0]),
                     "RssFile_kB": int(s["RssFile"].split()[0]),
                     "threads": int(s["Threads"]), "updates": b.ep.count(d.name),
                     "shared_objects": len(libs), "shared_objects_kB": sum(libs.values()),
                     "top_mappings": sorted(m.items(), key=lambda kv: -kv[1])[:10]})
        log(json.dumps(rows[-1]))
    return {"benchmark": "memory", "ca": args.ca, "results": rows}


# ---- one-shot: dnsward update against inadyn -1 ----------------------------------

def oneshot(b, args):
    """Runs "dnsward update --force" and "inadyn -1 --force", each sending
    one update over HTTPS to the endpoint, alternately, args.runs times;
    wall time from our clock, CPU time (user + system, the process and every
    child it reaped: dnsward's publisher included) from getrusage.  Then the
    start-up of a command without network work: "dnsward check" against
    "inadyn --check-config"."""
    addr = "81.2.69.20"
    b.set_addr(addr)
    dwd, dwconf = b.dnsward_config("dnsward-oneshot")
    ind, inconf = b.inadyn_config(30)
    cmds = {
        "dnsward update --force": [b.dnsward, "-q", "-c", str(dwconf), "update", "--force"],
        "inadyn -1 --force": ["inadyn", "-1", "--force", "-n", "-l", "err", "-f", str(inconf),
                              "--cache-dir", str(ind / "cache"), "-P", str(ind / "inadyn.pid")],
        "dnsward check": [b.dnsward, "-q", "-c", str(dwconf), "check"],
        "inadyn --check-config": ["inadyn", "--check-config", "-f", str(inconf)],
    }
    if BEFORE:
        bed, beconf = b.dnsward_config("before", user="before")
        cmds["dnsward before the split: update --force"] = [BEFORE, "-q", "-c", str(beconf),
                                                            "update", "--force"]
        cmds["dnsward before the split: check"] = [BEFORE, "-q", "-c", str(beconf), "check"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "JOURNAL_STREAM")}
    samples = {k: [] for k in cmds}
    for i in range(args.runs + 3):
        for name, cmd in cmds.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            since = len(b.ep.arrivals)
            t0 = time.monotonic()
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            t1 = time.monotonic()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if p.returncode != 0:
                raise RuntimeError(f"{name} exited {p.returncode}: {p.stderr.decode()[-2000:]}")
            if "--force" in cmd and len(b.ep.arrivals) != since + 1:
                raise RuntimeError(f"{name} sent {len(b.ep.arrivals) - since} requests")
            if i >= 3:   # warm-up runs dropped
                samples[name].append({"wall": (t1 - t0) * 1000,
                                      "cpu": ((r1.ru_utime - r0.ru_utime) +
                                              (r1.ru_stime - r0.ru_stime)) * 1000,
                                      "maxrss": r1.ru_maxrss})
    rows = []
    for name, v in samples.items():
        w = [x["wall"] for x in v]
        c = [x["cpu"] for x in v]
        rows.append({"command": name, "runs": len(v), "wall_mean_ms": statistics.fmean(w),
                     "wall_median_ms": statistics.median(w), "cpu_mean_ms": statistics.fmean(c),
                     "cpu_median_ms": statistics.median(c)})
        log(json.dumps(rows[-1]))
    return {"benchmark": "oneshot", "results": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["reaction", "idle", "memory", "oneshot"])
    ap.add_argument("--dnsward", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--slow-changes", type=int, default=8)
    ap.add_argument("--debounce", default="default,0")
    ap.add_argument("--publisher-idle", default="default,0")
    ap.add_argument("--ca", choices=["single", "system"], default="single")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--gap", type=float, default=0.2)
    ap.add_argument("--inadyn-period", type=int, default=30)
    ap.add_argument("--duration", type=int, default=600)
    args = ap.parse_args()
    args.debounce = [x for x in args.debounce.split(",") if x]
    args.publisher_idle = [x for x in args.publisher_idle.split(",") if x]
    b = Bench(args.work, args.dnsward, args.ca)
    try:
        res = {"reaction": reaction, "idle": idle, "memory": memory,
               "oneshot": oneshot}[args.mode](b, args)
    finally:
        b.close()
    res["kernel"] = os.uname().release
    res["cpus"] = os.cpu_count()
    pathlib.Path(args.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
