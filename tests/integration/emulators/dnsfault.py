"""A DNS server on 127.0.0.1 (UDP and TCP, one port) that misbehaves on
purpose, for test_faults.py.  It never answers a query properly; mode says
how it fails:

  "refuse"     REFUSED to every message (query or UPDATE), question copied
  "servfail"   SERVFAIL to every message
  "silent"     reads every message, never answers (UDP and TCP)
  "tc-hang"    UDP replies have TC set (go to TCP), TCP connections are
               accepted and never answered
  "garbage"    a reply with the right ID and QR set, then random bytes
  "wrong-id"   a well-formed NOERROR reply, but with another message ID
               (what an off-path spoofer sends): must be ignored

Every message received is recorded in .messages as (time.monotonic(),
"udp"|"tcp", opcode), so tests can count what a client sent and when, and
its first question in .questions as (name, type) (lower case, no final
dot; None for a message without one).
Threads of the test process; stop() closes everything.
"""
import os
import socket
import struct
import threading
import time

RCODES = {"refuse": 5, "servfail": 2}


def _question_end(msg):
    """Offset just after the first question (or zone) entry, or None."""
    if len(msg) < 12 or struct.unpack("!H", msg[4:6])[0] < 1:
        return None
    i = 12
    while i < len(msg):
        n = msg[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0:
            return None   # no compression in a first question
        i += 1 + n
    else:
        return None
    return i + 4 if i + 4 <= len(msg) else None


def question(msg):
    """(name, type) of msg's first question, or None."""
    end = _question_end(msg)
    if end is None:
        return None
    labels, i = [], 12
    while msg[i] != 0:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode("ascii", "replace").lower())
        i += 1 + msg[i]
    return ".".join(labels), struct.unpack("!H", msg[end - 4:end - 2])[0]


def error_reply(msg, rcode, tc=False):
    """The header of msg turned into a reply with rcode, the question kept,
    every other section empty (so no TSIG: an unsigned error)."""
    end = _question_end(msg)
    qid, flags = struct.unpack("!HH", msg[:4])
    opcode = (flags >> 11) & 0xF
    rflags = 0x8000 | (opcode << 11) | (flags & 0x0100) | rcode
    if tc:
        rflags |= 0x0200
    qd = 1 if end is not None else 0
    return struct.pack("!HHHHHH", qid, rflags, qd, 0, 0, 0) + (msg[12:end] if end else b"")


class DnsFaultServer:
    def __init__(self, mode):
        assert mode in ("refuse", "servfail", "silent", "tc-hang", "garbage", "wrong-id"), mode
        self.mode = mode
        self.messages = []
        self.questions = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._held = []
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for _ in range(50):
            self.udp.bind(("127.0.0.1", 0))
            self.port = self.udp.getsockname()[1]
            try:
                self.tcp.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.udp.close()
                self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        else:
            raise RuntimeError("no port free for both UDP and TCP")
        self.tcp.listen(16)
        self.udp.settimeout(0.1)
        self.tcp.settimeout(0.1)

    def _record(self, proto, msg):
        opcode = (msg[2] >> 3) & 0xF if len(msg) >= 3 else -1
        with self.lock:
            self.messages.append((time.monotonic(), proto, opcode))
            self.questions.append(question(msg))

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                msg, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(msg) < 12:
                continue
            self._record("udp", msg)
            if self.mode == "silent":
                continue
            rcode = RCODES.get(self.mode, 0)
            reply = error_reply(msg, rcode, tc=self.mode == "tc-hang")
            if self.mode == "garbage":
                reply = msg[:2] + b"\x84\x00" + os.urandom(60)
            elif self.mode == "wrong-id":
                reply = bytes([msg[0] ^ 0x5A, msg[1] ^ 0xA5]) + reply[2:]
            try:
                self.udp.sendto(reply, peer)
            except OSError:
                pass

    def _serve_tcp_conn(self, conn):
        conn.settimeout(0.1)
        buf = b""
        while not self._stop.is_set():
            try:
                b = conn.recv(65535)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            buf += b
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                msg, buf = buf[2:2 + n], buf[2 + n:]
                if len(msg) < 12:
                    continue
                self._record("tcp", msg)
                if self.mode in RCODES:
                    r = error_reply(msg, RCODES[self.mode])
                    try:
                        conn.sendall(struct.pack("!H", len(r)) + r)
                    except OSError:
                        break
        conn.close()

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve_tcp_conn, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def start(self):
        for target in (self._serve_udp, self._serve_tcp):
            t = threading.Thread(target=target, daemon=True, name=f"dnsfault-{self.mode}")
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self.udp.close()
        self.tcp.close()

    def count(self):
        with self.lock:
            return len(self.messages)

    def times(self):
        with self.lock:
            return [t for t, _, _ in self.messages]

    def asked(self, name, qtype):
        """How many messages asked (name, qtype)."""
        with self.lock:
            return self.questions.count((name.lower().rstrip("."), qtype))
