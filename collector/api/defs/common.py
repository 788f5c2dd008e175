"""Pieces shared by the request and response bodies, and the parameters of their paths and queries."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, BeforeValidator, ConfigDict

from binwatch.collector.db.tables import ROW_ID_MAX
from binwatch.collector.errors import Invalid
from binwatch.events.schema import Moment


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


def check_days(since: dt.date | None, until: dt.date | None) -> None:
    if since and until and since > until:
        raise Invalid("since is after until")


def _iso_day(value: object) -> object:
    """A day in a query is ISO 8601 text. Pydantic reads digits as epoch seconds: ``since=1764720000`` was
    2025-12-03, and a time of day in them a 422 about "zero time"."""
    if not isinstance(value, str):
        return value
    try:
        return parse_day(value)
    except ValueError:
        raise ValueError(f"expected a day as YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}") from None


# A ``+`` in a query string is a space once decoded: ``since=2026-11-20T09:30:00+08:00``, typed into curl or a
# browser as it is, arrives as ``… 08:00``. No time reads that way otherwise, so the sign is put back.
_DECODED_PLUS = re.compile(r"(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)")


def _plus_restored(value: object) -> object:
    if isinstance(value, str) and (match := _DECODED_PLUS.fullmatch(value)):
        return f"{match[1]}+{match[2]}"
    return value


Day = Annotated[dt.date, BeforeValidator(_iso_day)]
MomentQuery = Annotated[Moment, BeforeValidator(_plus_restored)]
