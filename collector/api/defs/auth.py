"""Bodies of logging in and out."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from binwatch.collector.api.defs.admin import UserOut
from binwatch.collector.api.defs.common import Request


class LoginIn(Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    expires_at: dt.datetime
    user: UserOut
