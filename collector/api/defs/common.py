"""Pieces shared by the request and response bodies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict


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
EntityId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EntityIdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
