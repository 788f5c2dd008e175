"""The collector's own errors as HTTP answers: the status the error class names, its message as detail."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from binwatch.collector.blobs import BadKey
from binwatch.collector.errors import CollectorError


async def collector_error(_request: Request, exc: CollectorError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=exc.http_status)


async def bad_key(_request: Request, exc: BadKey) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    # Starlette types every handler as taking any Exception, though it passes only the class registered.
    app.add_exception_handler(CollectorError, collector_error)  # type: ignore[arg-type]
    app.add_exception_handler(BadKey, bad_key)  # type: ignore[arg-type]
