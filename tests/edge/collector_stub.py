"""A stand-in for the collector's ingest endpoints on 127.0.0.1, for the delivery tests.

It speaks the protocol the box expects (``edge.client``): events deduplicated on
``event_id`` (200 for a repeat, 409 for another body under a known id), evidence checked
against the declared size and SHA-256, heartbeats. It can be taken down and brought back on
the same port, answer with an error, or swallow the answer after storing (a lost ack).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import ValidationError

from events.schema import Event, Heartbeat

TOKEN = "secret"


class StubCollector:
    def __init__(self):
        self.events: dict[str, dict] = {}  # event_id → body as stored
        self.evidence: dict[tuple[str, str], bytes] = {}
        self.heartbeats: list[Heartbeat] = []
        self.posts: Counter[str] = Counter()  # event_id → POSTs received, repeats included
        self.fail_with: int | None = None  # answer every request with this status
        self.lose: Counter[str] = Counter()  # method → store, then hang up without answering, this many times
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> StubCollector:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                stub._handle(self, "POST")

            def do_PUT(self):
                stub._handle(self, "PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _answer(request, 401, {"detail": "unknown token"})
        if self.fail_with is not None:
            return _answer(request, self.fail_with, {"detail": "told to fail"})
        parts = request.path.strip("/").split("/")
        with self.lock:
            if method == "POST" and request.path == "/api/v1/events":
                status, reply = self._event(body)
            elif method == "PUT" and len(parts) == 6 and parts[:3] + parts[4:5] == ["api", "v1", "events", "evidence"]:
                status, reply = self._file(parts[3], parts[5], body)
            elif method == "POST" and request.path == "/api/v1/heartbeats":
                self.heartbeats.append(Heartbeat.model_validate_json(body))
                status, reply = 200, {"ok": True}
            else:
                status, reply = 404, {"detail": "no such route"}
            if self.lose[method] and status in (200, 201):
                self.lose[method] -= 1
                request.close_connection = True
                request.connection.shutdown(2)
                return None
        return _answer(request, status, reply)

    def _event(self, body: bytes) -> tuple[int, dict]:
        try:
            event = Event.model_validate_json(body)
        except ValidationError as exc:
            return 422, {"detail": str(exc)}
        key = str(event.event_id)
        self.posts[key] += 1
        stored = event.model_dump(mode="json")
        if key in self.events:
            return (200, stored) if self.events[key] == stored else (409, {"detail": "another body under this id"})
        self.events[key] = stored
        return 201, stored

    def _file(self, event_id: str, kind: str, data: bytes) -> tuple[int, dict]:
        if event_id not in self.events:
            return 404, {"detail": "post the event first"}
        declared = {e["kind"]: e for e in self.events[event_id]["evidence"]}.get(kind)
        if declared is None:
            return 404, {"detail": f"no {kind} declared"}
        if len(data) != declared["size"] or hashlib.sha256(data).hexdigest() != declared["sha256"]:
            return 422, {"detail": "size or SHA-256 differs from the declaration"}
        created = (event_id, kind) not in self.evidence
        self.evidence[(event_id, kind)] = data
        return (201 if created else 200), {"event_id": event_id, "kind": kind}


def _answer(request: BaseHTTPRequestHandler, status: int, reply: dict) -> None:
    data = json.dumps(reply).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
