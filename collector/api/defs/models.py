"""Bodies of the model registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from binwatch.collector.db.tables import ModelVersion


class ModelVersionOut(BaseModel):
    version: str
    sha256: str
    size: int
    metrics: dict[str, Any]
    uploaded_at: dt.datetime
    current: bool

    @classmethod
    def of(cls, version: ModelVersion, current: bool) -> ModelVersionOut:
        return cls(
            version=version.version,
            sha256=version.sha256,
            size=version.size,
            metrics=version.metrics,
            uploaded_at=version.uploaded_at,
            current=current,
        )


class CurrentModel(BaseModel):
    version: str
    sha256: str
    size: int
    url: str = Field(description="download with the device token; supports HTTP range requests")
