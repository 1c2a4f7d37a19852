"""A configurable HTTPS endpoint for the custom provider's tests.

Records every request; answers with the reply set by reply(status, body,
content_type, headers) (default 200 "good").  Exposes nothing else: the
tests check what arrived, byte for byte.
"""
from .base import HttpsEmulator, Reply


class CustomEmulator(HttpsEmulator):
    def __init__(self, cert, host="127.0.0.1"):
        super().__init__(cert, host)
        self._reply = (200, "good\n", "text/plain", [])

    def reply(self, status, body="", content_type="text/plain", headers=None):
        self._reply = (status, body, content_type, list(headers or []))

    def handle(self, req):
        status, body, ctype, headers = self._reply
        return Reply(status, body, ctype, headers)
