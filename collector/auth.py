"""Who is asking: logins of people (cookie or bearer token) and device tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, func, select
from sqlalchemy.orm import Session

from binwatch.collector.credentials import DEVICE_PREFIX, LOGIN_PREFIX, new_token, token_digest, verify_password
from binwatch.collector.db.tables import Device, Login, User, utcnow


def check_password(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, else None (in the same time either way)."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def open_login(session: Session, user: User, ttl_s: int) -> tuple[str, Login]:
    """Start a login; the token goes to the client once, the database keeps its digest."""
    now = utcnow()
    session.execute(delete(Login).where(Login.expires_at < now))
    token = new_token(LOGIN_PREFIX)
    login = Login(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=ttl_s),
    )
    session.add(login)
    session.flush()
    return token, login


def find_login(session: Session, token: str | None) -> Login | None:
    """The unexpired login of an active user that ``token`` belongs to."""
    if not token or not token.startswith(LOGIN_PREFIX):
        return None
    login = session.get(Login, token_digest(token))
    if login is None or login.expires_at <= utcnow() or not login.user.active:
        return None
    return login


def close_login(session: Session, login: Login) -> None:
    session.execute(delete(Login).where(Login.token_hash == login.token_hash))


@dataclass(frozen=True)
class DeviceIdentity:
    """An authenticated device: all that the routes a device may call need to know about it."""

    id: str
    site_id: str


def find_device(connection: Connection, token: str | None) -> DeviceIdentity | None:
    if not token or not token.startswith(DEVICE_PREFIX):
        return None
    row = connection.execute(_DEVICE_BY_TOKEN, {"token_hash": token_digest(token)}).first()
    return DeviceIdentity(row.id, row.site_id) if row else None


_DEVICE_BY_TOKEN = select(Device.id, Device.site_id).where(
    Device.token_hash == bindparam("token_hash"), Device.revoked_at.is_(None)
)
