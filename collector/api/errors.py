"""Errors as HTTP answers: the collector's own (the status the class names), and invalid requests.

FastAPI's default answer to an invalid request echoes the input that failed. That input may not
be serialisable at all: Python's JSON parser reads ``NaN`` and ``Infinity``, which strict JSON
output refuses, and a ``"\\ud800"`` escape, a lone surrogate that UTF-8 cannot encode. The
answer then failed in turn with a 500 and a dropped connection. Here an invalid request is told
where and what, never its input, and a body that is not JSON at all is 400.

A body sent with another media type than its route reads (JSON posted by ``curl -d`` as a form, or by
``requests.post(data=...)`` with no ``Content-Type``) reaches validation as raw bytes, and FastAPI's
answer, "Input should be a valid dictionary", sent clients looking for a wrong field; it is 415 and
names the ``Content-Type`` to send.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import Message
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from binwatch.collector.blobs import BadKey
from binwatch.collector.errors import CollectorError

MAX_TEXT = 200  # characters of a message or a key kept in an error answer
RETRY_DATABASE_S = 5
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

log = logging.getLogger(__name__)


async def collector_error(_request: Request, exc: CollectorError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status, headers=exc.headers)


async def bad_key(_request: Request, exc: BadKey) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
    """The database went away or is locked: 503, which every client of the collector retries."""
    log.warning("%s %s: the database is unavailable: %s", request.method, request.url.path, exc.orig)
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_DATABASE_S)},
    )


async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    wanted = unread_body(request, errors)
    if wanted is not None:
        sent = safe_text(request.headers.get("content-type", "no Content-Type"))
        return JSONResponse({"detail": f"send the body as {wanted} (Content-Type: {wanted}), not {sent}"}, 415)
    unparsed = next((e for e in errors if e["type"] == "json_invalid"), None)
    if unparsed is not None:
        reason = unparsed.get("ctx", {}).get("error", "malformed")
        where = unparsed["loc"][-1]
        return JSONResponse({"detail": safe_text(f"the body is not JSON: {reason} (at character {where})")}, 400)
    return JSONResponse({"detail": problems(errors)}, status_code=422)


def unread_body(request: Request, errors: Sequence[Any]) -> str | None:
    """The media type the route reads its body as, when the body came as another and could not be read.

    A JSON route is handed the raw bytes of a body whose ``Content-Type`` is not JSON (or is missing); a
    form route finds no fields in a body that is not a form (the pages post URL-encoded ones, the API's
    uploads are multipart)."""
    body = getattr(request.scope.get("route"), "body_field", None)
    if body is None:
        return None
    if isinstance(body.field_info, params.Form):
        message = Message()
        message["content-type"] = request.headers.get("content-type", "")
        return None if message.get_content_type() in FORM_TYPES else "multipart/form-data"
    raw = any(tuple(e["loc"]) == ("body",) and isinstance(e.get("input"), bytes) for e in errors)
    return "application/json" if raw else None


def problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as FastAPI documents them (``loc``, ``msg``, ``type``), without ``input`` and ``ctx``."""
    return [
        {
            "type": e["type"],
            "loc": [part if isinstance(part, int) else safe_text(str(part)) for part in e["loc"]],
            "msg": safe_text(_message(e)),
        }
        for e in errors
    ]


def _message(error: Any) -> str:
    """FastAPI says "Expected UploadFile, received: <class 'str'>" of a form part that came without a file name,
    which is what ``requests`` sends for ``files={"file": (None, data)}``."""
    if error["type"] == "value_error" and "Expected UploadFile" in error["msg"]:
        return 'expected a file: a part with a file name (Content-Disposition: form-data; name="…"; filename="…")'
    return error["msg"]


def safe_text(text: str) -> str:
    """``text`` as UTF-8 can carry it (a lone surrogate becomes ``\\ud800``), cut to ``MAX_TEXT``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:MAX_TEXT]


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types every handler as taking any Exception, though it passes only the class registered.
    app.add_exception_handler(CollectorError, collector_error)  # type: ignore[arg-type]
    app.add_exception_handler(BadKey, bad_key)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, invalid_request)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, database_unavailable)  # type: ignore[arg-type]
