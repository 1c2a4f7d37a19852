#!/usr/bin/python3
"""Writes the seed corpus for fuzz_netlink: RTM_NEWADDR datagrams laid out as
the kernel sends them (header, ifaddrmsg, 4-byte aligned attributes).

    gen_netlink_corpus.py OUTDIR            synthetic seeds (deterministic)
    gen_netlink_corpus.py --capture OUTDIR  also the datagrams of a real
                                            RTM_GETADDR dump of this netns

The captured-*.bin seeds were taken inside a scratch namespace holding a veth
pair with a point-to-point IPv4 address, a permanent, a DAD-failed, a
deprecated ULA, and a mngtmpaddr /64 with its kernel-made temporary address
("ip netns exec NS gen_netlink_corpus.py --capture DIR").
"""
import os
import socket
import struct
import sys

RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLMSG_DONE = 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_DUMP = 0x1, 0x2, 0x300
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_BROADCAST, IFA_CACHEINFO, IFA_FLAGS = 1, 2, 3, 4, 6, 8
IFA_RT_PRIORITY, IFA_PROTO = 9, 11
F_TEMPORARY, F_DADFAILED, F_DEPRECATED, F_TENTATIVE, F_PERMANENT = 0x01, 0x08, 0x20, 0x40, 0x80
F_MNGTMPADDR, F_NOPREFIXROUTE = 0x100, 0x200
FOREVER = 0xFFFFFFFF


def align(n):
    return (n + 3) & ~3


def attr(atype, payload):
    raw = struct.pack("=HH", 4 + len(payload), atype) + payload
    return raw + b"\0" * (align(len(raw)) - len(raw))


def msg(family, plen, flags, scope, index, attrs, mtype=RTM_NEWADDR, seq=1, pid=4242):
    body = struct.pack("=BBBBI", family, plen, flags & 0xFF, scope, index) + b"".join(attrs)
    return struct.pack("=IHHII", 16 + len(body), mtype, NLM_F_MULTI, seq, pid) + body


def done(seq=1, pid=4242):
    return struct.pack("=IHHII", 20, NLMSG_DONE, NLM_F_MULTI, seq, pid) + struct.pack("=i", 0)


def v4(text):
    return socket.inet_pton(socket.AF_INET, text)


def v6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def cacheinfo(pref, valid):
    return struct.pack("=IIII", pref, valid, 100, 200)


def addr6(a, flags, pref=FOREVER, valid=FOREVER, plen=64, index=2, scope=0):
    attrs = [attr(IFA_ADDRESS, v6(a)), attr(IFA_CACHEINFO, cacheinfo(pref, valid)),
             attr(IFA_FLAGS, struct.pack("=I", flags))]
    return msg(socket.AF_INET6, plen, flags, scope, index, attrs)


def addr4(a, flags, label=b"eth0", pref=FOREVER, valid=FOREVER, peer=None, plen=24, index=2, scope=0):
    attrs = [attr(IFA_ADDRESS, v4(peer or a)), attr(IFA_LOCAL, v4(a)),
             attr(IFA_LABEL, label + b"\0"), attr(IFA_FLAGS, struct.pack("=I", flags)),
             attr(IFA_CACHEINFO, cacheinfo(pref, valid))]
    if peer is None:
        attrs.insert(2, attr(IFA_BROADCAST, v4("81.2.69.255")))
    return msg(socket.AF_INET, plen, flags, scope, index, attrs)


def seeds():
    lo4 = addr4("127.0.0.1", F_PERMANENT, label=b"lo", plen=8, index=1, scope=254)
    lo6 = addr6("::1", F_PERMANENT, plen=128, index=1, scope=254)
    g4 = addr4("81.2.69.10", F_PERMANENT)
    g6 = addr6("2a01:4f8:1:2::10", F_PERMANENT)
    slaac = addr6("2a01:4f8:1:2:5054:ff:fe12:3456", F_MNGTMPADDR, 14000, 86000)
    temp = addr6("2a01:4f8:1:2:a1b2:c3d4:e5f6:789", F_TEMPORARY, 3000, 80000)
    ll = addr6("fe80::5054:ff:fe12:3456", F_PERMANENT, index=2, scope=253)
    ula = addr6("fd12:3456:789a::1", F_PERMANENT | F_NOPREFIXROUTE)
    out = {
        "v4-global": g4,
        "v4-ptp-local-and-peer": addr4("81.2.69.10", F_PERMANENT, peer="81.2.69.1", plen=32),
        "v4-dhcp-lease": addr4("81.2.69.20", 0, pref=1800, valid=3600),
        "v6-global-permanent": g6,
        "v6-slaac-mngtmpaddr": slaac,
        "v6-temporary": temp,
        "v6-tentative": addr6("2a01:4f8:1:2::11", F_TENTATIVE | F_PERMANENT),
        "v6-dadfailed": addr6("2a01:4f8:1:2::12", F_DADFAILED | F_TENTATIVE | F_PERMANENT),
        "v6-deprecated": addr6("2a01:4f8:1:2::13", F_DEPRECATED, 0, 600),
        "v6-no-cacheinfo-u8-flags": msg(socket.AF_INET6, 64, F_PERMANENT, 0, 2,
                                        [attr(IFA_ADDRESS, v6("2a01:4f8::1"))]),
        "v6-extra-attrs": msg(socket.AF_INET6, 64, 0, 0, 2,
                              [attr(IFA_ADDRESS, v6("2a01:4f8::2")), attr(IFA_RT_PRIORITY, struct.pack("=I", 256)),
                               attr(IFA_PROTO, b"\x02"), attr(200, b"xyz")]),
        "deladdr": addr6("2a01:4f8:1:2::10", F_PERMANENT)[:4] + struct.pack("=H", RTM_DELADDR)
                   + addr6("2a01:4f8:1:2::10", F_PERMANENT)[6:],
        "dump-datagram": b"".join([lo4, g4, lo6, g6, slaac, temp, ll, ula, done()]),
        "truncated-attr": g6[:-6],
        "bad-attr-length": msg(socket.AF_INET6, 64, 0, 0, 2, [attr(IFA_ADDRESS, v6("2a01:4f8::1")[:12])]),
    }
    return out


def capture():
    """Datagrams of a real RTM_GETADDR dump, as the kernel sent them."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)   # NETLINK_ROUTE
    s.bind((0, 0))
    req = struct.pack("=IHHII", 24, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + struct.pack("=BBBBI", 0, 0, 0, 0, 0)
    s.send(req)
    grams = []
    while True:
        data = s.recv(32768)
        grams.append(data)
        if len(data) >= 16 and struct.unpack_from("=H", data, 4)[0] == NLMSG_DONE:
            break
        if any(struct.unpack_from("=H", data, off + 4)[0] == NLMSG_DONE for off in _offsets(data)):
            break
    s.close()
    return grams


def _offsets(data):
    off = 0
    while off + 16 <= len(data):
        yield off
        n = struct.unpack_from("=I", data, off)[0]
        if n < 16:
            return
        off += align(n)


def main():
    args = sys.argv[1:]
    do_capture = "--capture" in args
    args = [a for a in args if a != "--capture"]
    if len(args) != 1:
        sys.exit(__doc__)
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(outdir, name + ".bin"), "wb") as f:
            f.write(data)
    if do_capture:
        for i, data in enumerate(capture()):
            with open(os.path.join(outdir, f"captured-{i}.bin"), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
