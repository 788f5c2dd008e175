"""Request body limits per route: small for JSON and forms, larger for evidence and model files.

Wraps Starlette's body limit, which answers 413 from the Content-Length header before
reading and stops a chunked body as soon as it passes the limit.
"""

from __future__ import annotations

import re

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


class BodyLimits:
    def __init__(self, app: ASGIApp, default: int, rules: list[tuple[str, str, int]]):
        """``rules``: (HTTP method, path regex, limit); the first that matches wins, else ``default``."""
        self.app = app
        self.default = RequestBodyLimitMiddleware(app, default)
        self.rules = [
            (method, re.compile(pattern), RequestBodyLimitMiddleware(app, limit)) for method, pattern, limit in rules
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for method, pattern, limited in self.rules:
            if scope["method"] == method and pattern.fullmatch(scope["path"]):
                await limited(scope, receive, send)
                return
        await self.default(scope, receive, send)
