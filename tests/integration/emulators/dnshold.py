"""A UDP DNS relay to a real server on 127.0.0.1 that can hold messages
back: everything is passed on at once (each message with its own upstream
socket, the reply sent back to the client), except the next `hold` UPDATE
messages, which wait until release() sends them on, and the next
`swallow` UPDATE messages, which are passed on at once but whose replies
are dropped.  What a slow, lossy or reordering network does to a packet,
made deterministic.

Replies to released messages go back to their client too (it may have
given up) and their RCODEs are kept in .late_rcodes; the RCODE of every
UPDATE's reply, in the order they came, in .update_rcodes.  Threads of
the test process; close() stops them.
"""
import socket
import threading

OPCODE_UPDATE = 5


class HoldingRelay:
    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.hold = 0          # UPDATE messages still to hold back
        self.held = []         # (message, client)
        self.swallow = 0       # UPDATE messages whose replies are dropped
        self.late_rcodes = []
        self.update_rcodes = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="dnshold")
        self._thread.start()

    def _relay(self, msg, client, late=False, drop=False):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(5)
        try:
            up.sendto(msg, self.target)
            reply, _ = up.recvfrom(65535)
            with self.lock:
                if late:
                    self.late_rcodes.append(reply[3] & 0xF)
                if (msg[2] >> 3) & 0xF == OPCODE_UPDATE:
                    self.update_rcodes.append(reply[3] & 0xF)
            if not drop:
                self.sock.sendto(reply, client)
        except OSError:
            if late:
                with self.lock:
                    self.late_rcodes.append(None)
        finally:
            up.close()

    def _run(self):
        while not self._stop.is_set():
            try:
                msg, client = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(msg) < 12:
                continue
            drop = False
            with self.lock:
                if (msg[2] >> 3) & 0xF == OPCODE_UPDATE and self.hold > 0:
                    self.hold -= 1
                    self.held.append((msg, client))
                    continue
                if (msg[2] >> 3) & 0xF == OPCODE_UPDATE and self.swallow > 0:
                    self.swallow -= 1
                    drop = True
            threading.Thread(target=self._relay, args=(msg, client, False, drop),
                             daemon=True).start()

    def held_count(self):
        with self.lock:
            return len(self.held)

    def release(self):
        """Sends the held messages on, in order, each after the reply to the
        one before; returns their RCODEs (None: no reply)."""
        with self.lock:
            held, self.held = self.held, []
        for msg, client in held:
            self._relay(msg, client, late=True)
        with self.lock:
            return list(self.late_rcodes)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
