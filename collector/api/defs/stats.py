"""Bodies of the statistics."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


class TallyOut(BaseModel):
    key: str = Field(description="site id, entity id or day (YYYY-MM-DD)")
    label: str
    disposals: int
    flagged: int = Field(description="disposals the edge box flagged")
    compliant: int
    compliance_rate: float | None = Field(description="compliant / disposals; null with no disposals")
    reviewed: int
    backlog: int = Field(description="flagged events not reviewed yet")
    flags_reported: dict[str, int]
    flags_standing: dict[str, int]
    kinds: dict[str, int] = Field(description="events of each kind, disposals included")
    kinds_standing: dict[str, int] = Field(
        description="littering, overflow and mixed-collection events not rejected as false positives"
    )
    unresolved: int = Field(description="littering not yet cleared and overflows not yet emptied")


class StatsOut(BaseModel):
    by: Literal["site", "entity", "day"]
    since: dt.date | None
    until: dt.date | None
    rows: list[TallyOut]
    total: TallyOut
