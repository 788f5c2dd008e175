"""Pieces shared by the request and response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict

from binwatch.collector.db.tables import ROW_ID_MAX


class Request(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    detail: str | list


ERRORS = {
    401: {"model": Problem, "description": "no or bad credentials"},
    403: {"model": Problem, "description": "not allowed for this role or device"},
    404: {"model": Problem, "description": "no such thing"},
    409: {"model": Problem, "description": "contradicts what is stored"},
    410: {"model": Problem, "description": "deleted at the end of its retention period"},
    413: {"model": Problem, "description": "body too large"},
    415: {"model": Problem, "description": "wrong kind of file"},
    422: {"model": Problem, "description": "invalid input"},
    429: {"model": Problem, "description": "too many attempts"},
    503: {"model": Problem, "description": "the object store failed; try again later"},
}


def errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
# What a request may name: row ids the tables can hold (``ROW_ID_MAX``; deliveries' are 64-bit), and local days of
# which a day and the next, in any time zone, are datetimes Python can hold (year 1 and 9999 overflow in UTC).
DELIVERY_ID_MAX = 2**62
FIRST_DAY, LAST_DAY = dt.date(1970, 1, 1), dt.date(9998, 12, 31)
RowId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
DeliveryId = Annotated[int, Path(ge=1, le=DELIVERY_ID_MAX)]
EntityId = RowId
EntityIdQuery = Annotated[int | None, Query(ge=1, le=ROW_ID_MAX)]


def within_days(day: dt.date) -> bool:
    """Whether a local day lies where a request may name it (``FIRST_DAY`` to ``LAST_DAY``)."""
    return FIRST_DAY <= day <= LAST_DAY


def parse_day(value: str) -> dt.date:
    """An ISO day that a request may name; ``ValueError`` for one malformed or out of range."""
    day = dt.date.fromisoformat(value)
    if not within_days(day):
        raise ValueError(f"{day} is out of range")
    return day
