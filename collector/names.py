"""Constrained strings of the collector, shared by the API schemas and the functions behind them.

Free text may hold any printable character, Chinese included, but no control characters:
PostgreSQL refuses NUL, and a newline in a name would break the ledger's CSV rows for some readers.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from binwatch.collector.errors import Invalid
from binwatch.events.schema import Identifier

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"

Username = Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Password = Annotated[str, Field(min_length=8, max_length=256, pattern=NO_CONTROL)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)]
Address = Annotated[str, Field(min_length=1, max_length=400, pattern=NO_CONTROL)]
OptionalText = Annotated[str, Field(max_length=200, pattern=NO_CONTROL)]
Note = Annotated[str, Field(max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]
ModelVersionName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")]

_adapters: dict[object, TypeAdapter] = {}


def checked(kind, value, what: str):
    """Validate ``value`` against one of the types above, raising ``Invalid`` that names ``what``."""
    adapter = _adapters.get(kind) or _adapters.setdefault(kind, TypeAdapter(kind))
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise Invalid(f"{what}: {exc.errors()[0]['msg']} (got {value!r:.80})") from None


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
