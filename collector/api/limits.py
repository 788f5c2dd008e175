"""What a request body may be: plain bytes (no ``Content-Encoding``), within a limit per route.

Wraps Starlette's body limit, which stops a chunked body as soon as it passes the limit. A body
whose ``Content-Length`` already says it is too large is answered here, before a byte is read:
Starlette's own answer to it is the plain text "Content Too Large", where every other error of
the API is JSON with a ``detail``.

The collector does not decode a compressed body. Without this refusal a gzip-compressed event
was "an error parsing the body" (400) and a compressed evidence file a size mismatch (422), as
if the client's data were wrong; RFC 9110 answers an unsupported content coding with 415.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class BodyLimits:
    def __init__(self, app: ASGIApp, default: int, rules: list[tuple[str, str, int]]):
        """``rules``: (HTTP method, path regex, limit); the first that matches wins, else ``default``."""
        self.app = app
        self.default = (default, RequestBodyLimitMiddleware(app, default))
        self.rules = [
            (method, re.compile(pattern), (limit, RequestBodyLimitMiddleware(app, limit)))
            for method, pattern, limit in rules
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        limit, limited = next(
            (rule for wanted, pattern, rule in self.rules if method == wanted and pattern.fullmatch(path)), self.default
        )
        headers = Headers(scope=scope)
        refusal = _refusal(headers, limit)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await limited(scope, receive, send)


def _refusal(headers: Headers, limit: int) -> JSONResponse | None:
    """The answer to a request refused on its headers alone, or None."""
    declared = headers.get("content-length", "")
    has_body = declared not in ("", "0") or "transfer-encoding" in headers
    coding = headers.get("content-encoding", "identity").strip().lower()
    if has_body and coding not in ("", "identity"):
        detail = f"Content-Encoding {coding} is not supported: send the body uncompressed"
        return JSONResponse({"detail": detail[:200]}, status_code=415)
    if declared.isdigit() and int(declared) > limit:
        detail = f"the body is over the limit of {limit} bytes for this request"
        return JSONResponse({"detail": detail}, status_code=413)
    return None
