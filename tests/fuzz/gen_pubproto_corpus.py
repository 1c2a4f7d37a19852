#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_pubproto: streams of frames as
lib/pubproto.h describes them, built here independently of the C encoder.
The first byte picks the reader: 0 the publisher, 1 dnsward."""
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "pubproto"

HELLO, JOB, RESULT = 1, 2, 3
PUBLISH, FETCH, TXT_ADD, TXT_DEL, FOLLOW, TXT_SERVED, VERIFY = 1, 2, 3, 4, 5, 6, 7


def frame(ftype, body):
    return struct.pack(">IB", len(body) + 1, ftype) + body


def s(text):
    b = text.encode() if isinstance(text, str) else text
    return struct.pack(">H", len(b)) + b


def b8(v):
    return struct.pack(">B", v)


def u16(v):
    return struct.pack(">H", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def i64(v):
    return struct.pack(">q", v)


def ip4(a):
    return b8(0) + bytes(int(x) for x in a.split(".")) + bytes(12)


def ip6(hexbytes):
    return b8(1) + bytes.fromhex(hexbytes)


def section(kind, name, line, kvs):
    out = s(kind) + s(name) + u32(line) + u16(len(kvs))
    for k, v, ln in kvs:
        out += s(k) + s(v) + u32(ln)
    return out


def job(jid, kind, sections, secrets, inputs):
    body = u64(jid) + b8(kind) + s("/etc/dnsward/dnsward.conf") + u16(len(sections))
    body += b"".join(sections) + u16(len(secrets))
    for path, flags, data in secrets:
        body += s(path) + b8(flags) + s(data)
    return frame(JOB, body + inputs)


def result(jid, kind, outputs):
    return frame(RESULT, u64(jid) + b8(kind) + outputs)


def res(outcome, retry, msg):
    return b8(outcome) + i64(retry) + s(msg)


GLOBAL = section("dnsward", "", 1, [("state-dir", "/var/lib/dnsward", 2),
                                    ("cold-start-check", "yes", 3)])
PROV = section("provider", "dd", 5, [("type", "duckdns", 6),
                                     ("token-file", "/etc/dnsward/dd.token", 7)])
REC = section("record", "home.duckdns.org", 9, [("provider", "dd", 10),
                                                ("ipv4", "static:192.0.2.1", 11)])
WEB = section("record", "nat.example.org", 13, [("provider", "x", 14), ("ipv4", "web", 15)])
SECRET = [("/etc/dnsward/dd.token", 0, "0123456789abcdef0123456789abcdef")]
HELLO_TO = frame(HELLO, u32(1) + b8(5) + b8(1))
HELLO_FROM = frame(HELLO, u32(1) + u32(4242))
SERVER4 = ip4("192.0.2.53") + u16(53) + u32(2000)
SERVER6 = ip6("20010db8000000000000000000000053") + u16(5353) + u32(2000)

PLAN = (b8(1) + b8(1) + ip4("192.0.2.1") + b8(1) + s("192.0.2.9") +
        b8(0) + b8(0) + ip4("0.0.0.0") + b8(0) + s("") + b8(1) + s("zone=example.org"))

SEEDS = {
    "to-publisher-publish": b"\0" + HELLO_TO + job(1, PUBLISH, [GLOBAL, PROV, REC], SECRET,
                                                   s("home.duckdns.org") + b8(1) + PLAN),
    "to-publisher-verify": b"\0" + job(9, VERIFY, [GLOBAL, PROV, REC], SECRET,
                                        s("home.duckdns.org") + b8(1) + ip4("192.0.2.1") +
                                        b8(0) + ip6("00" * 16)),
    "to-publisher-fetch": b"\0" + HELLO_TO + job(2, FETCH, [GLOBAL, WEB], [],
                                                 s("nat.example.org") + b8(1) + b8(0)),
    "to-publisher-txt-add": b"\0" + job(3, TXT_ADD, [GLOBAL, PROV, REC], SECRET,
                                        s("dd") + s("_acme-challenge.home.duckdns.org") +
                                        s("x" * 43) + u32(60)),
    "to-publisher-txt-del": b"\0" + job(4, TXT_DEL, [GLOBAL, PROV], SECRET,
                                        s("dd") + s("_acme-challenge.home.duckdns.org") +
                                        s("y" * 43) + u32(0)),
    "to-publisher-follow": b"\0" + job(5, FOLLOW, [GLOBAL], [],
                                       s("_acme-challenge.www.example.org") + u32(2000)),
    "to-publisher-served": b"\0" + job(6, TXT_SERVED, [GLOBAL], [],
                                       SERVER6 + s("_acme-challenge.example.org") + s("z" * 43)),
    "to-publisher-two-jobs": b"\0" + job(7, FOLLOW, [], [], s("a.example") + u32(1000)) +
                             job(8, TXT_SERVED, [], [], SERVER4 + s("a.example") + s("v")),
    "to-publisher-bad-length": b"\0" + struct.pack(">IB", 0, JOB),
    "to-dnsward-publish": b"\1" + HELLO_FROM + result(1, PUBLISH, res(0, -1, "good 192.0.2.1") +
                                                     res(4, -1, "badauth") + b8(1) + b8(1) +
                                                     s("zone=example.org")),
    "to-dnsward-publish-action": b"\1" + result(1, PUBLISH, res(5, -1, "certificate refused") +
                                                 res(2, -1, "") + b8(0) + b8(0) + s("")),
    "to-dnsward-verify": b"\1" + result(9, VERIFY, b8(1) + s("2 servers serve 192.0.2.7") +
                                         b8(2) + s("no answer")),
    "to-dnsward-ratelimit": b"\1" + result(1, TXT_ADD, res(3, 120, "HTTP 429, retry in 120 s")),
    "to-dnsward-fetch": b"\1" + result(2, FETCH, b8(1) + ip4("198.51.100.7") + s("") +
                                       b8(0) + ip6("00" * 16) + s("no IPv6 answer")),
    "to-dnsward-follow": b"\1" + result(5, FOLLOW, u32(0) + s("") + s("x.acme.example.net") +
                                        b8(1) + s("example.net") + b8(2) + SERVER4 + SERVER6),
    "to-dnsward-follow-error": b"\1" + result(5, FOLLOW, struct.pack(">i", -13) +
                                              s("timed out") + s("a.example") + b8(0) + s("") +
                                              b8(0)),
    "to-dnsward-served": b"\1" + result(6, TXT_SERVED, u32(0) + s("") + b8(1)),
    "to-dnsward-control-chars": b"\1" + result(9, TXT_DEL, res(2, -1, "line\nbreak\x1b[0m")),
    "to-dnsward-truncated": b"\1" + result(1, PUBLISH, res(0, -1, "ok"))[:-3],
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (OUT / name).write_bytes(data)


if __name__ == "__main__":
    main()
