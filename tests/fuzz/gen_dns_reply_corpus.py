#!/usr/bin/python3
"""Regenerates tests/fuzz/corpus/dns_reply/ with real replies from Knot DNS.

Starts the test suite's Knot (tests/integration/fixtures/knot.py, needs root
for setpriv), sends hand-built queries and TSIG-signed UPDATEs over UDP and
stores each reply as it came off the wire, plus a few hand-made edge cases.
Usage: gen_dns_reply_corpus.py [OUTDIR]
"""
import base64
import hashlib
import hmac
import os
import pathlib
import shutil
import socket
import struct
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))
from fixtures.knot import Knot  # noqa: E402

HASHES = {"hmac-sha256": hashlib.sha256, "hmac-sha384": hashlib.sha384,
          "hmac-sha512": hashlib.sha512, "hmac-sha224": hashlib.sha224,
          "hmac-sha1": hashlib.sha1}


def wname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode()
    return out + b"\0"


def header(msg_id, flags, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!6H", msg_id, flags, qd, an, ns, ar)


def query(msg_id, name, rtype):
    return header(msg_id, 0) + wname(name) + struct.pack("!HH", rtype, 1)


def update_a(msg_id, zone, name, addr):
    body = wname(zone) + struct.pack("!HH", 6, 1)
    body += wname(name) + struct.pack("!HHIH", 1, 255, 0, 0)                    # delete RRset
    body += wname(name) + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
    return header(msg_id, 5 << 11, qd=1, ns=2) + body


def sign(msg, key, secret=None, now=None):
    """Appends a TSIG RR (RFC 8945) to msg."""
    now = int(time.time()) if now is None else now
    secret = base64.b64decode(secret or key.secret)
    kn, an = wname(key.name), wname(key.algorithm)
    tvars = (kn + struct.pack("!HI", 255, 0) + an + struct.pack("!HI", now >> 32, now & 0xffffffff)
             + struct.pack("!HHH", 300, 0, 0))
    mac = hmac.new(secret, msg + tvars, HASHES[key.algorithm]).digest()
    rdata = (an + struct.pack("!HI", now >> 32, now & 0xffffffff) + struct.pack("!HH", 300, len(mac))
             + mac + msg[:2] + struct.pack("!HH", 0, 0))
    rr = kn + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    arcount = struct.unpack("!H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack("!H", arcount) + msg[12:] + rr


def ask(port, msg):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(msg, ("127.0.0.1", port))
        return s.recv(65535)
    finally:
        s.close()


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus" / "dns_reply"
    out.mkdir(parents=True, exist_ok=True)
    base = tempfile.mkdtemp(prefix="dnsward-knot-")
    os.chmod(base, 0o755)
    knot = Knot(base)
    try:
        knot.write()
        knot.start()
        host, other = knot.keys["host"], knot.keys["other"]
        # RRsets of several records (dw_dns_rrset_compare)
        r = knot.nsupdate("update add host.example.test. 60 TXT \"one\"\n"
                          "update add host.example.test. 60 TXT \"two\" \"parts\"\n"
                          "update add host.example.test. 300 TXT \"three\"\n"
                          "update add host.example.test. 60 A 192.0.2.1\n"
                          "update add host.example.test. 60 A 192.0.2.2")
        assert r.returncode == 0, r.stdout + r.stderr
        deadline = time.monotonic() + 10
        while len(knot.query("host.example.test", "TXT")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)   # Knot serves an UPDATE a moment later
        cases = {
            "txt-answer-three": sign(query(13, "host.example.test", 16), host),
            "a-answer-two": query(14, "host.example.test", 1),
            "soa-apex": query(1, "example.test", 6),
            "soa-nxdomain": query(2, "host.example.test", 6),
            "soa-nodata": query(3, "www.example.test", 6),
            "soa-refused": query(4, "example.org", 6),
            "a-answer-signed": sign(query(5, "www.example.test", 1), host),
            "update-noerror-signed": sign(update_a(6, "example.test", "host.example.test", "192.0.2.1"), host),
            "update-notauth-badkey": sign(update_a(7, "example.test", "host.example.test", "192.0.2.1"), other),
            "update-badsig": sign(update_a(8, "example.test", "host.example.test", "192.0.2.1"), host,
                                  secret=other.secret),
            "update-badtime": sign(update_a(9, "example.test", "host.example.test", "192.0.2.1"), host,
                                   now=int(time.time()) - 3600),
            "update-notauth-zone": sign(update_a(10, "example.org", "host.example.org", "192.0.2.1"), host),
            "update-sha384": sign(update_a(11, "example.test", "host.example.test", "192.0.2.2"),
                                  knot.keys["host-sha384"]),
            "update-sha1": sign(update_a(12, "example.test", "host.example.test", "192.0.2.3"),
                                knot.keys["host-sha1"]),
        }
        for name, msg in cases.items():
            reply = ask(knot.port, msg)
            (out / name).write_bytes(reply)
            if name == "soa-apex":
                tc = bytearray(reply)
                tc[2] |= 0x02
                (out / "soa-apex-truncated").write_bytes(bytes(tc))
    finally:
        knot.stop()
        shutil.rmtree(base, ignore_errors=True)
    # hand-made edge cases
    (out / "compression-loop").write_bytes(header(1, 0x8000) + b"\xc0\x0c" + struct.pack("!HH", 6, 1))
    (out / "short-header").write_bytes(b"\x00\x01\x80")
    (out / "edns-extended-rcode").write_bytes(
        header(1, 0x8000 | 0, qd=0, ar=1) + b"\0" + struct.pack("!HHIH", 41, 1232, 1 << 24, 0))
    print(f"wrote {len(list(out.iterdir()))} files to {out}")


if __name__ == "__main__":
    main()
