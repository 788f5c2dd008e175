"""Constrained strings of the collector, shared by the API schemas and the functions behind them.

Free text may hold any printable character, Chinese included, but no control characters:
PostgreSQL refuses NUL, and a newline in a name would break the ledger's CSV rows for some readers.
The C1 controls are refused too: a form posted with raw UTF-8 bytes instead of percent-escapes is read
as Latin-1 by the form parser, and its mojibake is refused by them rather than stored.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from binwatch.collector.errors import Invalid
from binwatch.events.schema import Identifier

CONTROL = r"\x00-\x1f\x7f-\x9f"  # Unicode's control characters (Cc): C0, DEL and C1
NO_CONTROL = rf"^[^{CONTROL}]*$"
NO_CONTROL_BUT_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"  # tabs and line breaks allowed

Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Password = Annotated[str, Field(min_length=8, max_length=256, pattern=NO_CONTROL)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]
Address = Annotated[str, Field(min_length=1, max_length=400, pattern=NO_CONTROL)]
OptionalText = Annotated[str, Field(max_length=200, pattern=NO_CONTROL)]
Note = Annotated[str, Field(max_length=2000, pattern=NO_CONTROL_BUT_LINES)]
ModelVersionName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]

_adapters: dict[object, TypeAdapter] = {}


def checked(kind, value, what: str):
    """Validate ``value`` against one of the types above, raising ``Invalid`` that names ``what``."""
    adapter = _adapters.get(kind) or _adapters.setdefault(kind, TypeAdapter(kind))
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        shown = "" if kind is Password else f" (got {value!r:.80})"  # a password is not written to a log
        raise Invalid(f"{what}: {_message(exc.errors()[0])}{shown}") from None


def _message(error) -> str:
    if error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] in (NO_CONTROL, NO_CONTROL_BUT_LINES):
        return "control characters are not allowed (a form of raw UTF-8 bytes reads as some)"
    return error["msg"]


__all__ = [
    "Identifier",
    "Username",
    "Password",
    "Name",
    "Address",
    "OptionalText",
    "Note",
    "ModelVersionName",
    "checked",
]
