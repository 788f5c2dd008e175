"""Logging in for the API: a bearer token for a user name and password, rate-limited."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from binwatch.collector.api.defs.admin import UserOut
from binwatch.collector.api.defs.auth import LoginIn, LoginOut
from binwatch.collector.api.defs.common import errors
from binwatch.collector.api.deps import DatabaseDep, LoginDep, SettingsDep, UserDep
from binwatch.collector.auth import check_password, close_login, open_login
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Login, User
from binwatch.collector.settings import Settings
from binwatch.collector.throttle import LoginThrottle, Throttled

router = APIRouter(prefix="/auth", tags=["auth"])


def authenticate(
    request: Request, db: Database, settings: Settings, username: str, password: str
) -> tuple[User, str, Login]:
    """Check a password under the rate limit: the user and a new login, or HTTP 401/429. Shared with the login page."""
    throttle: LoginThrottle = request.app.state.login_throttle
    user_key = f"user:{username.lower()}"
    try:
        attempt = throttle.begin(user_key, f"client:{request.client.host if request.client else '-'}")
    except Throttled as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins; try again later",
            headers={"Retry-After": str(int(exc.retry_after) + 1)},
        ) from None
    with db.write() as session:
        user = check_password(session, username, password)
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
        throttle.succeeded(session, attempt, user_key)
        token, login = open_login(session, user, settings.session_ttl_s)
        session.expunge_all()
    return user, token, login


@router.post("/login", response_model=LoginOut, responses=errors(401, 422, 429))
def login(body: LoginIn, request: Request, db: DatabaseDep, settings: SettingsDep) -> LoginOut:
    user, token, login = authenticate(request, db, settings, body.username, body.password)
    return LoginOut(token=token, expires_at=login.expires_at, user=UserOut.of(user))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401))
def logout(login: LoginDep, db: DatabaseDep) -> None:
    with db.write() as session:
        close_login(session, login)


@router.get("/me", response_model=UserOut, responses=errors(401))
def me(user: UserDep) -> UserOut:
    return UserOut.of(user)
