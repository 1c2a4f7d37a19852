"""A configurable HTTPS endpoint for the custom provider's tests.

Records every request; answers with the reply set by reply(status, body,
content_type, headers) (default 200 "good"), or, after echo(status), with
the request itself as a careless server does in its errors: one line
"echo: METHOD PATH?QUERY BODY" (the body as sent).  Exposes nothing else:
the tests check what arrived, byte for byte.
"""
from .base import HttpsEmulator, Reply


class CustomEmulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self._reply = (200, "good\n", "text/plain", [])
        self._echo = None

    def reply(self, status, body="", content_type="text/plain", headers=None):
        self._reply = (status, body, content_type, list(headers or []))
        self._echo = None

    def echo(self, status):
        self._echo = status

    def handle(self, req):
        if self._echo is not None:
            body = req.body.decode("utf-8", "replace")
            return Reply(self._echo, f"echo: {req.method} {req.raw_path} {body}\n")
        status, body, ctype, headers = self._reply
        return Reply(status, body, ctype, headers)
