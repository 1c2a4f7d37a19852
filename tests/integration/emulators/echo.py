"""Address echo services, protocols.md section 9: an HTTPS "what is my
address" service and a DNS echo answering the three query styles.

HttpsEcho answers GET with the connection's source address in plain text
(like api.ipify.org), or, with style="trace", as Cloudflare's
/cdn-cgi/trace key=value lines.  answer= replaces the address with fixed
text (to make services disagree or answer garbage); delay= holds the reply
that many seconds.  It listens on 127.0.0.1 or ::1, so a test can tell over
which family a request came.

DnsEcho answers, over UDP on 127.0.0.1 and ::1 on one port:
  myip.opendns.com A/AAAA IN          (OpenDNS)
  whoami.cloudflare TXT CH            (Cloudflare)
  o-o.myaddr.l.google.com TXT IN      (Google)
with the client's address (or answers[qname] when set), and REFUSED for
anything else.  Queries are recorded as (client, qname, qtype, qclass).
"""
import socket
import struct
import threading
import time

from .base import HttpsEmulator, Reply, _Server


class _Server6(_Server):
    address_family = socket.AF_INET6


class HttpsEcho(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1", style="plain", answer=None, delay=0.0):
        super().__init__(cert, host)
        self.style = style
        self.answer = answer
        self.delay = delay

    def start(self):
        if ":" in self.host:
            # The base class binds IPv4 only; swap in an IPv6 server class
            # for the bind, then let it proceed as usual.
            import emulators.base as base
            saved = base._Server
            base._Server = _Server6
            try:
                return super().start()
            finally:
                base._Server = saved
        return super().start()

    @property
    def origin(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def handle(self, req):
        if self.delay:
            time.sleep(self.delay)
        addr = self.answer if self.answer is not None else req.client
        if self.style == "trace":
            body = f"fl=1f1\nh=echo.test\nip={addr}\nts=1700000000.0\nvisit_scheme=https\n"
        else:
            body = f"{addr}\n"
        return Reply(200, body)


def _qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels).lower(), off
        if n & 0xC0:
            raise ValueError("compressed question")
        labels.append(msg[off:off + n].decode("ascii"))
        off += n


def _name(s):
    out = b""
    for label in s.split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


class DnsEcho:
    A, AAAA, TXT = 1, 28, 16
    IN, CH = 1, 3

    def __init__(self):
        self.answers = {}     # qname -> fixed text (an address or anything)
        self.queries = []
        self.lock = threading.Lock()
        self._socks = []
        self._threads = []
        self._stop = threading.Event()
        self.port = None

    def start(self):
        for _ in range(50):
            s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            try:
                s6.bind(("::1", port))
            except OSError:
                s4.close()
                s6.close()
                continue
            self.port = port
            self._socks = [s4, s6]
            break
        else:
            raise RuntimeError("no port free on both 127.0.0.1 and ::1")
        for s in self._socks:
            s.settimeout(0.05)
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        for s in self._socks:
            s.close()

    def _serve(self, sock):
        while not self._stop.is_set():
            try:
                msg, peer = sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                reply = self._answer(msg, peer[0])
            except (ValueError, IndexError, struct.error):
                continue
            if reply is not None:
                sock.sendto(reply, peer)

    def _answer(self, msg, client):
        qid, flags, qd = struct.unpack(">HHH", msg[:6])
        if qd != 1:
            return None
        qname, off = _qname(msg, 12)
        qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
        question = msg[12:off + 4]
        with self.lock:
            self.queries.append((client, qname, qtype, qclass))
        text = self.answers.get(qname, client)
        rd = flags & 0x0100
        answers = []
        if qname == "myip.opendns.com" and qclass == self.IN and qtype in (self.A, self.AAAA):
            fam = socket.AF_INET if qtype == self.A else socket.AF_INET6
            try:
                answers.append((qtype, qclass, socket.inet_pton(fam, text)))
            except OSError:
                pass   # wrong family: NOERROR without an answer
        elif ((qname == "whoami.cloudflare" and qclass == self.CH) or
              (qname == "o-o.myaddr.l.google.com" and qclass == self.IN)) and qtype == self.TXT:
            t = text.encode()
            answers.append((qtype, qclass, bytes([len(t)]) + t))
        else:
            hdr = struct.pack(">HHHHHH", qid, 0x8000 | rd | 5, 1, 0, 0, 0)
            return hdr + question
        hdr = struct.pack(">HHHHHH", qid, 0x8400 | rd, 1, len(answers), 0, 0)
        body = b""
        for t, c, rdata in answers:
            body += b"\xc0\x0c" + struct.pack(">HHIH", t, c, 0, len(rdata)) + rdata
        return hdr + question + body
