"""Requests rewritten before routing, so that what HTTP clients commonly send reaches its route.

- ``HEAD`` is answered as ``GET`` without the body. RFC 9110 asks every server to support it;
  FastAPI's routes answer it 405, which broke uptime monitors, ``curl -I`` and download managers
  that ask a file's size before fetching it in ranges. The route runs as for ``GET``, one code path
  for both, and is stopped at its first piece of body: a clip or a model is not read for nothing.
- A trailing slash on an API path is dropped. FastAPI answered ``POST /api/v1/events/`` with a
  307 redirect and no body: ``curl -X POST`` does not follow it and exits 0, so the event was
  silently not sent, and behind a TLS proxy the redirect named ``http://``. The pages keep the
  redirect, which browsers follow.
"""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _HeadersSent(Exception):
    """Raised into the route at its first piece of body, once the headers have gone."""


class HeadAsGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] != "http.response.body":
                await send(message)
                return
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            raise _HeadersSent

        with contextlib.suppress(_HeadersSent):
            await self.app({**scope, "method": "GET"}, receive, headers_only)


class TrailingSlash:
    def __init__(self, app: ASGIApp, prefix: str):
        """Paths under ``prefix`` (``/api/v1``) are routed without one trailing slash."""
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(self.prefix) and path.endswith("/") and path != self.prefix:
            scope = {**scope, "path": path[:-1]}
            raw = scope.get("raw_path")
            if raw and raw.endswith(b"/"):
                scope["raw_path"] = raw[:-1]
        await self.app(scope, receive, send)
