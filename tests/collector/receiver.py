"""A webhook receiver of the city platform for the tests: a real HTTP server on 127.0.0.1.

It checks every signature with ``events.signature.verify`` and records what it accepted. It can be
down (not listening on its port at all) or answer with another status for a while, as a real
receiver under maintenance would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from binwatch.events.signature import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    verify,
)
from tests.servers import free_port


class Receiver:
    def __init__(self, secret: str):
        self.secret = secret
        self.port = free_port()
        self.status = 200  # what it answers to a correctly signed delivery
        self.accepted: list[dict] = []  # {"delivery", "body", "message"}
        self.refused_signatures = 0
        self.tries = 0
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/binwatch"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.tries += 1
                    status = receiver.status
                try:
                    verify(
                        receiver.secret, body, self.headers.get(TIMESTAMP_HEADER), self.headers.get(SIGNATURE_HEADER)
                    )
                except BadSignature:
                    with receiver.lock:
                        receiver.refused_signatures += 1
                    status = 401
                if status == 200:
                    record = {"delivery": self.headers.get(DELIVERY_HEADER), "body": body, "message": json.loads(body)}
                    with receiver.lock:
                        receiver.accepted.append(record)
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def messages(self) -> list[dict]:
        with self.lock:
            return [r["message"] for r in self.accepted]

    def wait_until(self, done: Callable[[Receiver], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; {len(self.accepted)} accepted after {self.tries} tries")
            time.sleep(0.05)
