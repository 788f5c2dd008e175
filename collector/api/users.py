"""Accounts of reviewers, admins and responsible entities' users (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from binwatch.collector.api.defs.admin import UserIn, UserOut, UserPatch
from binwatch.collector.api.defs.common import RowId, errors
from binwatch.collector.api.deps import AdminDep, DatabaseDep, ReadSession
from binwatch.collector.db.tables import User
from binwatch.collector.provisioning import create_user, update_user

router = APIRouter(prefix="/users", tags=["users"])

UserId = RowId


@router.get("", response_model=list[UserOut], responses=errors(401, 403))
def list_users(session: ReadSession, admin: AdminDep) -> list[UserOut]:
    return [UserOut.of(u) for u in session.scalars(select(User).order_by(User.id))]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 409, 422))
def post_user(body: UserIn, admin: AdminDep, db: DatabaseDep) -> UserOut:
    with db.write() as session:
        user = create_user(
            session, username=body.username, password=body.password, role=body.role, entity_id=body.entity_id
        )
        return UserOut.of(user)


@router.patch("/{user_id}", response_model=UserOut, responses=errors(401, 403, 404, 409, 422))
def patch_user(user_id: UserId, body: UserPatch, admin: AdminDep, db: DatabaseDep) -> UserOut:
    """Change role, entity, activity or password; any of these ends the user's current logins."""
    with db.write() as session:
        user = update_user(
            session, user_id, role=body.role, active=body.active, password=body.password, entity_id=body.entity_id
        )
        return UserOut.of(user)
