"""Dependencies of the API routes: settings, database sessions, the blob store, and who is asking.

The trivial dependencies are ``async`` on purpose: FastAPI runs a plain ``def`` dependency
in the thread pool, a thread hop per request for nothing.

Writes are not a dependency: a route opens ``db.write()`` itself, so its transaction has
committed before the route returns and before anything is acknowledged to the client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from binwatch.collector.auth import DeviceIdentity, find_login
from binwatch.collector.blobs import BlobStore
from binwatch.collector.credentials import DEVICE_PREFIX, LOGIN_PREFIX
from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Login, Role, User
from binwatch.collector.lookups import Lookups
from binwatch.collector.scope import Scope
from binwatch.collector.settings import Settings

device_bearer = HTTPBearer(
    scheme_name="DeviceToken", description="token printed by `binwatch collector add-device`", auto_error=False
)
user_bearer = HTTPBearer(scheme_name="UserToken", description="token from POST /api/v1/auth/login", auto_error=False)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_store(request: Request) -> BlobStore:
    return request.app.state.store


async def get_lookups(request: Request) -> Lookups:
    return request.app.state.lookups


def read_session(db: Annotated[Database, Depends(get_db)]) -> Iterator[Session]:
    with db.read() as session:
        yield session


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"})


def _no_credentials(request: Request, needed: str) -> HTTPException:
    """No bearer token: none sent, or one in another scheme (``Token …``, ``Basic …``, the bare token)."""
    if request.headers.get("authorization", "").strip():
        return _unauthorized("the Authorization header must be `Bearer <token>`")
    return _unauthorized(needed)


async def current_device(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(device_bearer)],
) -> DeviceIdentity:
    """The device of the bearer token; remembered for a few seconds (``Lookups``) to spare the database."""
    if credentials is None:
        raise _no_credentials(request, "a device token is required (Authorization: Bearer bwd_…)")
    lookups: Lookups = request.app.state.lookups
    token = credentials.credentials
    if token.startswith(LOGIN_PREFIX):
        raise _unauthorized("this is a person's login token; a device sends its own token (bwd_…, from add-device)")
    device = lookups.cached_device(token) or await run_in_threadpool(lookups.device, token)
    if device is None:
        raise _unauthorized("unknown or revoked device token")
    return device


def current_login(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(user_bearer)],
) -> Login:
    if credentials is None:
        raise _no_credentials(request, "log in first: POST /api/v1/auth/login gives a bearer token")
    if credentials.credentials.startswith(DEVICE_PREFIX):
        raise _unauthorized("this is a device token; this route is for people: POST /api/v1/auth/login gives a token")
    with db.read() as session:
        login = find_login(session, credentials.credentials)
        if login is None:
            raise _unauthorized("unknown or expired login; log in again")
        session.expunge_all()
        return login


async def current_user(login: Annotated[Login, Depends(current_login)]) -> User:
    return login.user


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != Role.ADMIN.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admins only")
    return user


async def staff_user(user: Annotated[User, Depends(current_user)]) -> User:
    """A reviewer or an admin: a responsible entity's user may not review or raise work orders."""
    if user.role == Role.ENTITY.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "supervisors only (reviewers and admins)")
    return user


async def entity_user(user: Annotated[User, Depends(current_user)]) -> User:
    """A user of a responsible entity: the one who acknowledges and closes its work orders."""
    if user.role != Role.ENTITY.value:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a responsible entity's users")
    return user


async def user_scope(user: Annotated[User, Depends(current_user)]) -> Scope:
    return Scope.of(user)


async def device_or_admin(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    device_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(device_bearer)],
    user_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(user_bearer)],
) -> DeviceIdentity | User:
    """Either a device token or an admin's login (both arrive in the one Authorization header)."""
    credentials = device_credentials or user_credentials
    if credentials is not None and credentials.credentials.startswith(DEVICE_PREFIX):
        return await current_device(request, credentials)
    login = await run_in_threadpool(current_login, request, db, credentials)
    return await admin_user(login.user)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
StoreDep = Annotated[BlobStore, Depends(get_store)]
LookupsDep = Annotated[Lookups, Depends(get_lookups)]
ReadSession = Annotated[Session, Depends(read_session)]
DeviceDep = Annotated[DeviceIdentity, Depends(current_device)]
LoginDep = Annotated[Login, Depends(current_login)]
UserDep = Annotated[User, Depends(current_user)]
AdminDep = Annotated[User, Depends(admin_user)]
StaffDep = Annotated[User, Depends(staff_user)]
EntityUserDep = Annotated[User, Depends(entity_user)]
ScopeDep = Annotated[Scope, Depends(user_scope)]
