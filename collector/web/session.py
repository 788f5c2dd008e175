"""Logins of the web pages: an HttpOnly, SameSite session cookie, and a CSRF token in every form.

A page without a valid login redirects to the login page (saying when the login expired);
a form posted without its login's CSRF token is refused with 403.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from binwatch.collector.api.auth import authenticate
from binwatch.collector.auth import close_login, find_login
from binwatch.collector.db.tables import Login, Role, User
from binwatch.collector.web.render import page

COOKIE = "binwatch_session"
router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the login page."""

    def __init__(self, next_url: str, expired: bool):
        self.next_url = next_url
        self.expired = expired


def redirect(url: str, **message: str) -> RedirectResponse:
    """A 303 to ``url``, carrying an ``ok`` or ``error`` message for the next page to show."""
    if message:
        url += ("&" if "?" in url else "?") + urlencode(message)
    return RedirectResponse(url, status_code=status.HTTP_303_SEE_OTHER)


def _load_login(request: Request) -> Login | None:
    token = request.cookies.get(COOKIE)
    with request.app.state.db.read() as session:
        login = find_login(session, token)
        if login is not None:
            session.expunge_all()
    return login


async def page_login(request: Request) -> Login:
    login = await run_in_threadpool(_load_login, request)
    if login is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target, expired=COOKIE in request.cookies)
    request.state.login = login
    return login


class EntityHome(Exception):
    """A responsible entity's user on a supervisors' page: answered with its work orders."""


async def page_member(login: Annotated[Login, Depends(page_login)]) -> User:
    """Anyone logged in, a responsible entity's user included (its work-order pages)."""
    return login.user


async def page_user(user: Annotated[User, Depends(page_member)]) -> User:
    """A supervisor (reviewer or admin)."""
    if user.role == Role.ENTITY.value:
        raise EntityHome()
    return user


async def page_user_login(login: Annotated[Login, Depends(page_login)]) -> Login:
    """A supervisor's login, for the forms only they post (checked against the login's csrf token)."""
    await page_user(login.user)
    return login


async def page_admin(user: Annotated[User, Depends(page_user)]) -> User:
    if user.role != Role.ADMIN.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admins only")
    return user


def check_csrf(login: Login, token: str) -> None:
    """Compared in constant time, so that the answer's timing tells nothing about the token."""
    if not token or not hmac.compare_digest(token.encode(), login.csrf_token.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form is stale or forged (CSRF token mismatch)")


PageUser = Annotated[User, Depends(page_user)]
PageMember = Annotated[User, Depends(page_member)]
PageAdmin = Annotated[User, Depends(page_admin)]
PageLogin = Annotated[Login, Depends(page_login)]
PageUserLogin = Annotated[Login, Depends(page_user_login)]
Csrf = Annotated[str, Form(alias="csrf")]


def safe_next(url: str | None) -> str:
    """Only a path on this site: never ``//host`` or ``https://…`` (no open redirect)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return "/review"


@router.get("/login")
def login_form(request: Request, next: str = "/review", expired: bool = False):
    return page(request, "login.html", {"next": safe_next(next), "expired": expired, "username": ""})


@router.post("/login")
def login_submit(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=2000)] = "",
):
    settings = request.app.state.settings
    next = next or request.query_params.get("next", "")  # the form's field, else the page's own address
    try:
        _user, token, _login = authenticate(request, request.app.state.db, settings, username, password)
    except HTTPException as exc:
        # The form comes back with the user name and the destination kept: only the password is typed again.
        failed = "login.throttled" if exc.status_code == status.HTTP_429_TOO_MANY_REQUESTS else "login.failed"
        context = {"next": safe_next(next), "failed": failed, "username": username}
        return page(request, "login.html", context, status_code=exc.status_code, headers=exc.headers)
    response = redirect(safe_next(next))
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings.session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, login: PageLogin, csrf: Csrf):
    check_csrf(login, csrf)
    with request.app.state.db.write() as session:
        close_login(session, login)
    response = redirect("/login")
    response.delete_cookie(COOKIE, path="/")
    return response


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    query = f"next={quote(exc.next_url, safe='/')}" + ("&expired=1" if exc.expired else "")
    response = RedirectResponse(f"/login?{query}", status_code=status.HTTP_303_SEE_OTHER)
    if exc.expired:
        response.delete_cookie(COOKIE, path="/")
    return response
