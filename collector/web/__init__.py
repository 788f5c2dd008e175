"""Server-rendered pages for supervisors and admins (Jinja2 templates, a little static JS and CSS)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from binwatch.collector.api import API_PREFIX
from binwatch.collector.api.errors import collector_error
from binwatch.collector.errors import CollectorError

STATIC = Path(__file__).with_name("static")


def install_web(app: FastAPI) -> None:
    """Add the pages, their static files, and error answers as pages for everything outside the API."""
    from binwatch.collector.web import admin, platform, queue, reports, review, session, workorders
    from binwatch.collector.web.render import page

    for module in (session, queue, review, reports, admin, workorders, platform):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def is_page(request: Request) -> bool:
        return not request.url.path.startswith(API_PREFIX + "/")

    @app.exception_handler(session.LoginRequired)
    async def _login_required(_request: Request, exc: session.LoginRequired):
        return session.login_redirect(exc)

    @app.exception_handler(session.EntityHome)
    async def _entity_home(_request: Request, _exc: session.EntityHome):
        return session.redirect("/work-orders")

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if is_page(request) and exc.status_code in (403, 404):
            return page(request, "error.html", {"status": exc.status_code, "detail": exc.detail}, exc.status_code)
        return await http_exception_handler(request, exc)

    @app.exception_handler(CollectorError)
    async def _collector_error(request: Request, exc: CollectorError):
        if is_page(request):
            return page(request, "error.html", {"status": exc.http_status, "detail": str(exc)}, exc.http_status)
        return await collector_error(request, exc)
