"""A small threaded HTTPS server that records requests.

Subclasses implement handle(request) -> Reply.  The TLS handshake runs in the
connection's own thread (a client that stalls or rejects the certificate
never blocks the accept loop); handshake failures are counted in
tls_failures, not printed.

Faults on the wire (test_faults.py): set_wire_fault(mode, ...) makes the
next requests (all, or `times` of them, those for which `when(req)` is true)
misbehave below the HTTP reply the subclass would give; see WIRE_FAULTS.
Every request carries .time (time.monotonic() on arrival), so tests can
measure the gaps between retries.
"""
import http.server
import json
import socket
import socketserver
import ssl
import struct
import threading
import time
import urllib.parse

# Modes of set_wire_fault():
#   "hang"      read the request, never answer; the connection is held until
#               `delay` seconds (default 3600) pass or the emulator stops
#   "slow"      answer normally after `delay` seconds
#   "reset"     status line, headers (Content-Length of `size` bytes) and
#               half of the body, then a TCP reset (SO_LINGER 0, no TLS
#               close_notify)
#   "truncate"  Content-Length says `size` bytes, `sent` (default 16) are
#               sent, then the connection is closed cleanly
#   "oversize"  a 200 reply of `size` bytes (default 300 KiB); chunked=True
#               sends it chunked, without a Content-Length the client could
#               check up front
#   "raw"       exactly status=, headers= (list of pairs) and body= (bytes,
#               sent as given: invalid UTF-8, invalid JSON ...)
#   "trickle"   a 200 reply of `size` bytes (default 64) sent one byte every
#               `interval` seconds (default 0.2): every read succeeds, only a
#               timeout on the whole transfer ends it
WIRE_FAULTS = ("hang", "slow", "reset", "truncate", "oversize", "raw", "trickle")


class Request:
    """One request as the emulator received it."""

    def __init__(self, method, raw_path, headers, body, client):
        self.method = method
        self.raw_path = raw_path
        split = urllib.parse.urlsplit(raw_path)
        self.path = split.path                     # still percent-encoded
        self.raw_query = split.query
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        self.headers = dict((k.lower(), v) for k, v in headers.items())
        self.header_list = list(headers.items())
        self.body = body
        self.client = client
        self.time = time.monotonic()

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.method} {self.path}?{self.raw_query}>"


class Reply:
    def __init__(self, status, body=b"", content_type="text/plain; charset=utf-8", headers=None):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = list(headers or [])

    @classmethod
    def json(cls, status, obj, headers=None):
        return cls(status, json.dumps(obj), "application/json", headers)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "emulator"
    sys_version = ""

    def setup(self):
        # TLS here, in the connection thread, not in accept().
        with self.server.emulator.lock:
            self.server.emulator.connections += 1
        self.request.settimeout(10)
        self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *args):   # quiet: tests read .requests instead
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = Request(self.command, self.path, self.headers, body, self.client_address[0])
        emu = self.server.emulator
        with emu.lock:
            emu.requests.append(req)
        wire = emu._take_wire_fault(req)
        if wire is not None:
            self._wire_fault(emu, req, *wire)
            return
        try:
            reply = emu.handle(req)
        except Exception as e:   # an emulator bug must show up as a 500 the test sees
            reply = Reply(500, f"emulator error: {e!r}")
        self.send_response(reply.status)
        if reply.body or reply.status not in (204, 304):
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve

    def _wire_fault(self, emu, req, mode, args):
        """Misbehaves as set_wire_fault() asked; the connection is closed
        afterwards in every mode."""
        self.close_connection = True
        if mode in ("hang", "slow"):
            emu._stopping.wait(args.get("delay", 3600))
            if mode == "hang" or emu._stopping.is_set():
                return
            reply = emu.handle(req)
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        if mode == "raw":
            body = args.get("body", b"")
            body = body.encode("utf-8") if isinstance(body, str) else body
            self.send_response(args.get("status", 200))
            for name, value in args.get("headers", []):
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if mode == "trickle":
            size = args.get("size", 64)
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {size}\r\n\r\n").encode()
            try:
                for b in head + b"x" * size:
                    self.wfile.write(bytes([b]))
                    if emu._stopping.wait(args.get("interval", 0.2)):
                        return
            except OSError:
                pass   # the client gave up: expected
            return
        size = args.get("size", 300 * 1024 if mode == "oversize" else 4096)
        body = (b"Updated " + b"x" * size)[:size]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        if mode == "oversize" and args.get("chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for i in range(0, size, 16384):
                    part = body[i:i + 16384]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass   # the client hung up once it had enough: expected
            return
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if mode == "oversize":
            try:
                self.wfile.write(body)
            except OSError:
                pass
            return
        if mode == "truncate":
            self.wfile.write(body[:args.get("sent", 16)])
            return
        # reset: half the body, then RST instead of a TLS or TCP close
        self.wfile.write(body[:size // 2])
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.request.close()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        with self.emulator.lock:
            self.emulator.tls_failures += 1


class HttpsEmulator:
    """Base class: start() binds 127.0.0.1 on a free port, stop() closes."""

    url_prefix = ""

    def __init__(self, cert, host="127.0.0.1"):
        self.cert = cert
        self.host = host
        self.requests = []
        self.tls_failures = 0
        self.connections = 0         # TCP connections accepted, handshake or not
        self.lock = threading.Lock()
        self._server = None
        self._thread = None
        self._wire = None            # (mode, args, times left or None, when)
        self._stopping = threading.Event()

    # -- lifecycle --------------------------------------------------------
    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert.cert_file, self.cert.key_file)
        srv = _Server((self.host, 0), _Handler, bind_and_activate=False)
        srv.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.server_bind()
        srv.server_activate()
        srv.ssl_context = ctx
        srv.emulator = self
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()         # releases "hang" and "slow" connections
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def origin(self):
        return f"https://{self.host}:{self.port}"

    @property
    def url(self):
        return self.origin + self.url_prefix

    # -- inspection -------------------------------------------------------
    def take_requests(self):
        """Returns and forgets the requests recorded so far."""
        with self.lock:
            got, self.requests = self.requests, []
        return got

    def handle(self, req):
        raise NotImplementedError

    # -- faults on the wire ------------------------------------------------
    def set_wire_fault(self, mode, times=None, when=None, **args):
        """The next `times` requests (None: all) for which when(req) is true
        (None: every request) get `mode` (WIRE_FAULTS) instead of the reply
        handle() would give."""
        assert mode in WIRE_FAULTS, mode
        with self.lock:
            self._wire = (mode, args, times, when)

    def clear_wire_fault(self):
        with self.lock:
            self._wire = None

    def _take_wire_fault(self, req):
        with self.lock:
            if self._wire is None:
                return None
            mode, args, times, when = self._wire
            if when is not None and not when(req):
                return None
            if times is not None:
                self._wire = (mode, args, times - 1, when) if times > 1 else None
            return mode, args
