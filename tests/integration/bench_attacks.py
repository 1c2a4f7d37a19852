"""Measurements behind bench/attacks.sh (not part of the test suite: the
file name does not match test_*.py).  Each prints one "BENCH name: ..."
line with a ratio against a baseline taken in the same run; the suite's
tests assert the behaviour, these only measure it.

  enumeration  with a valid token: a name another host has vs. a name
               nobody has, dyndns2 and httpreq, interleaved
  slowloris    a normal client's /myip latency alone, then beside 1,000
               slow connections (one IPv6 /64 and 10 IPv4 addresses in a
               namespace), with the default per-source limit and with it
               raised so that all 1,000 are held; threads and memory
  stall        /myip latency alone, then while updates wait on a provider
               that never answers
"""
import os
import statistics
import threading
import time

import pytest

from test_gateway import Gateway, HOST, OTHER, V4, TXT1, basic, connection
from test_gateway_attacks import SlowCrowd, ns_call, raw_connect, thread_count

N = int(os.environ.get("BENCH_N", "200"))


def ms(samples):
    s = sorted(samples)
    return statistics.median(s) * 1000, s[int(len(s) * 0.9)] * 1000


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def test_enumeration_timing(ws, knot, pki):
    g = Gateway(ws, knot, pki)
    g.add(HOST, "--acme")
    g.add(OTHER, "--acme")
    g.start(debug=False)
    try:
        c = connection(g)
        auth = {"Authorization": basic(HOST, g.tokens[HOST])}

        def nic(name):
            c.request("GET", f"/nic/update?hostname={name}&myip={V4}", headers=auth)
            r = c.getresponse()
            assert r.read() == b"nohost\n"

        def present(name):
            c.request("POST", "/present", body=f'{{"fqdn": "_acme-challenge.{name}.", '
                      f'"value": "{TXT1}"}}', headers=dict(auth, **{"Content-Type":
                                                                    "application/json"}))
            r = c.getresponse()
            r.read()
            assert r.status == 403
        for api, fn in (("dyndns2", nic), ("httpreq", present)):
            a, b = [], []
            for _ in range(N):   # interleaved: drift hits both alike
                a += timed(lambda: fn(OTHER), 1)
                b += timed(lambda: fn("nobody.example.test"), 1)
            (am, a9), (bm, b9) = ms(a), ms(b)
            print(f"\nBENCH enumeration {api}: existing other host median {am:.3f} ms p90 "
                  f"{a9:.3f} ms; missing name median {bm:.3f} ms p90 {b9:.3f} ms; "
                  f"ratio existing/missing {am / bm:.3f} (n={N} each)")
        c.close()
    finally:
        g.stop()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def normal_latency(g, ns, url, src, n):
    out = []

    def run():
        for _ in range(n):
            s = raw_connect(g, url, source=src)
            try:
                t0 = time.perf_counter()
                s.sendall(b"GET /myip HTTP/1.1\r\nHost: h\r\n\r\n")
                data, want = b"", b"\r\n\r\n" + src.encode() + b"\n"
                while not data.endswith(want):   # the answer, not the close after it
                    chunk = s.recv(4096)
                    assert chunk, data
                    data += chunk
                out.append(time.perf_counter() - t0)
            finally:
                s.close()
    t = threading.Thread(target=ns_call, args=(ns, run))
    t.start()
    t.join(300)
    return out


@pytest.mark.parametrize("per_source", [32, 1000])
def test_slowloris_latency(ws, knot, pki, netns, per_source):
    ns = netns
    ns.ip("route", "add", "local", "10.77.0.0/16", "dev", "lo")
    ns.ip("-6", "route", "add", "local", "2001:db8:77::/48", "dev", "lo")
    g = Gateway(ws, knot, pki, extra="listen = 127.0.0.1:0, [::1]:0\nrequest-timeout = 120\n"
                f"connection-timeout = 120\nmax-connections = 2048\n"
                f"max-connections-per-source = {per_source}")
    g.add(HOST)
    g.start(netns=ns.name, debug=False)
    crowds = []
    try:
        url4 = next(u for u in g.urls if "127.0.0.1" in u)
        url6 = next(u for u in g.urls if "[::1]" in u)
        base = normal_latency(g, ns.name, url4, "10.77.1.1", 50)
        idle_threads, idle_rss = thread_count(g.proc.pid), rss_kib(g.proc.pid)
        crowds = [SlowCrowd(g, url6, [f"2001:db8:77:1::{i:x}" for i in range(1, 501)]),
                  SlowCrowd(g, url4, [f"10.77.0.{1 + i % 10}" for i in range(500)])]
        t0 = time.perf_counter()
        for c in crowds:
            ns_call(ns.name, c.connect)
        connect_s = time.perf_counter() - t0
        held = sum(len(c.open) for c in crowds)
        under = normal_latency(g, ns.name, url4, "10.77.1.1", 50)
        threads, rss = thread_count(g.proc.pid), rss_kib(g.proc.pid)
        (bm, b9), (um, u9) = ms(base), ms(under)
        print(f"\nBENCH slowloris per-source={per_source}: {held} of 1000 slow connections "
              f"held ({connect_s:.1f} s to open them); /myip alone median {bm:.2f} ms p90 "
              f"{b9:.2f} ms, beside them median {um:.2f} ms p90 {u9:.2f} ms, ratio "
              f"{um / bm:.2f}; threads {idle_threads} -> {threads}; RSS {idle_rss} -> {rss} KiB "
              f"({(rss - idle_rss) / max(held, 1):.1f} KiB per held connection)")
    finally:
        for c in crowds:
            c.close()
        g.stop()


def test_stall_latency(ws, knot, pki):
    import socket
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    g = Gateway(ws, knot, pki, extra="upstream-wait = 10\nupstream-workers = 8",
                provider_port=silent.getsockname()[1])
    hosts = [f"h{i}.example.test" for i in range(40)]
    for h in hosts:
        g.add(h)
    g.start(debug=False)
    try:
        base = timed(lambda: g.request("GET", "/myip"), 50)
        threads = [threading.Thread(target=g.nic, args=(f"hostname={h}&myip={V4}",),
                                    kwargs={"user": h, "token": g.tokens[h]}) for h in hosts]
        for t in threads:
            t.start()
        under = timed(lambda: g.request("GET", "/myip"), 50)
        for t in threads:
            t.join(120)
        (bm, b9), (um, u9) = ms(base), ms(under)
        print(f"\nBENCH stall: /myip alone median {bm:.2f} ms p90 {b9:.2f} ms; while "
              f"{len(hosts)} updates wait on a silent provider median {um:.2f} ms p90 "
              f"{u9:.2f} ms, ratio {um / bm:.2f} (request-workers 16, at most 14 waiting)")
    finally:
        g.stop()
        silent.close()


def test_fresh_connection_latency(ws, knot, pki):
    """/myip on a fresh TLS connection each time, raw socket: time from the
    request's send to the whole answer (no slow clients)."""
    g = Gateway(ws, knot, pki)
    g.add(HOST)
    g.start(debug=False)
    try:
        out = []
        for _ in range(30):
            s = raw_connect(g)
            try:
                t0 = time.perf_counter()
                s.sendall(b"GET /myip HTTP/1.1\r\nHost: h\r\n\r\n")
                data = b""
                while not data.endswith(b"\r\n\r\n127.0.0.1\n"):
                    chunk = s.recv(4096)
                    assert chunk, data
                    data += chunk
                out.append(time.perf_counter() - t0)
            finally:
                s.close()
        m, p9 = ms(out)
        print(f"\nBENCH fresh-connection /myip: median {m:.2f} ms p90 {p9:.2f} ms")
    finally:
        g.stop()
