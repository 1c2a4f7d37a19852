"""A small threaded HTTPS server that records requests.

Subclasses implement handle(request) -> Reply.  The TLS handshake runs in the
connection's own thread (a client that stalls or rejects the certificate
never blocks the accept loop); handshake failures are counted in
tls_failures, not printed.
"""
import http.server
import json
import socket
import socketserver
import ssl
import threading
import urllib.parse


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
        self.lock = threading.Lock()
        self._server = None
        self._thread = None

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
