"""A stand-in for the collector's device endpoints on 127.0.0.1, for the delivery and roll-out tests.

It speaks the protocol the box expects (``edge.client``): events deduplicated on
``event_id`` (200 for a repeat, 409 for another body under a known id), evidence checked
against the declared size and SHA-256, heartbeats, the current model and its file (which it
can send slowly). It can be taken down and brought back on the same port, answer with an
error, or swallow the answer after storing (a lost ack).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pydantic import ValidationError

from binwatch.events.schema import Event, Heartbeat

TOKEN = "secret"


class StubCollector:
    def __init__(self):
        self.events: dict[str, dict] = {}  # event_id → body as stored
        self.evidence: dict[tuple[str, str], bytes] = {}
        self.heartbeats: list[Heartbeat] = []
        self.posts: Counter[str] = Counter()  # event_id → POSTs received, repeats included
        self.fail_with: int | None = None  # answer every request with this status
        self.fail_headers: dict[str, str] = {}  # and these headers
        # method → store an event or file, then hang up without answering, this many times (heartbeats are
        # not queued, so their answers are never lost here: that would test nothing and race with the events)
        self.lose: Counter[str] = Counter()
        self.model: dict | None = None  # the current model's {version, sha256, size, url}; None: 404
        self.model_files: dict[str, bytes] = {}  # version → what /api/v1/models/{version}/file sends
        self.downloads: Counter[str] = Counter()  # version → downloads started
        self.downloading = 0  # downloads in progress
        self.download_s = 0.0  # spread each download over this long (a slow link)
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

            def do_GET(self):
                stub._handle(self, "GET")

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
            return _answer(request, self.fail_with, {"detail": "told to fail"}, self.fail_headers)
        parts = request.path.strip("/").split("/")
        if method == "GET":
            return self._get(request, parts)
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
            if self.lose[method] and status in (200, 201) and request.path != "/api/v1/heartbeats":
                self.lose[method] -= 1
                request.close_connection = True
                request.connection.shutdown(2)
                return None
        return _answer(request, status, reply)

    def offer(self, version: str, data: bytes, *, sha256: str | None = None, size: int | None = None) -> None:
        """Make ``data`` the current model, declared with its own SHA-256 and size unless told otherwise."""
        self.model_files[version] = data
        self.model = {
            "version": version,
            "sha256": sha256 or hashlib.sha256(data).hexdigest(),
            "size": size or len(data),
            "url": f"{self.url}/api/v1/models/{version}/file",
        }

    def _get(self, request: BaseHTTPRequestHandler, parts: list[str]) -> None:
        if request.path == "/api/v1/device/model":
            if self.model is None:
                return _answer(request, 404, {"detail": "no model version is current"})
            return _answer(request, 200, self.model)
        if parts[:3] == ["api", "v1", "models"] and parts[4:] == ["file"] and parts[3] in self.model_files:
            return self._send_file(request, parts[3])
        return _answer(request, 404, {"detail": "no such route"})

    def _send_file(self, request: BaseHTTPRequestHandler, version: str) -> None:
        data, pieces = self.model_files[version], 20
        with self.lock:
            self.downloads[version] += 1
            self.downloading += 1
        try:
            request.send_response(200)
            request.send_header("Content-Type", "application/octet-stream")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            step = -(-len(data) // pieces)
            for start in range(0, len(data), step):
                request.wfile.write(data[start : start + step])
                request.wfile.flush()
                time.sleep(self.download_s / pieces)
        finally:
            with self.lock:
                self.downloading -= 1

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


def _answer(request: BaseHTTPRequestHandler, status: int, reply: dict, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(reply).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)
