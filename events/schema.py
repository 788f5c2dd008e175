"""The event wire format: what an edge box sends and the collector stores.

Defined once, here, and versioned by ``SCHEMA_VERSION``; ``edge/`` and ``collector/``
meet only at these models and over HTTP. Unknown fields are refused so that a typo on
one side is an error, not silently dropped data.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from binwatch.datasets.taxonomy import CATEGORY_KEYS, ITEM_KEYS

SCHEMA_VERSION: Final = 1

CategoryKey = Literal["recyclable", "hazardous", "kitchen", "other"]
assert set(get_args(CategoryKey)) == set(CATEGORY_KEYS)
CameraState = Literal["streaming", "reconnecting", "stopped"]


def category_key(name: str) -> CategoryKey:
    """``name`` as the schema's category type: the taxonomy and a model's metadata name categories
    with plain strings."""
    for key in get_args(CategoryKey):
        if key == name:
            return key
    raise ValueError(f"unknown category {name!r}")


Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Flag(StrEnum):
    MIXED_DISPOSAL = "mixed_disposal"
    KITCHEN_CONTAMINATION = "kitchen_contamination"
    OFF_HOURS = "off_hours"


class EvidenceKind(StrEnum):
    SNAPSHOT = "snapshot"
    CROP = "crop"
    CLIP = "clip"


EVIDENCE_MEDIA_TYPES = {
    EvidenceKind.SNAPSHOT: "image/jpeg",
    EvidenceKind.CROP: "image/jpeg",
    EvidenceKind.CLIP: "video/mp4",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Evidence(_Strict):
    kind: EvidenceKind
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    sha256: Sha256
    size: Annotated[int, Field(gt=0)]


class Prediction(_Strict):
    item: str
    item_score: Probability
    category: CategoryKey
    category_score: Probability
    category_scores: dict[CategoryKey, Probability] = Field(default_factory=dict)
    frames: Annotated[int, Field(ge=1, description="crops combined into this prediction")] = 1

    @field_validator("item")
    @classmethod
    def _known_item(cls, value: str) -> str:
        if value not in ITEM_KEYS:
            raise ValueError(f"unknown item {value!r}")
        return value


class Event(_Strict):
    """One disposal seen at one bin; flagged or not, every disposal is sent."""

    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: uuid.UUID
    device_id: Identifier
    site_id: Identifier
    bin_id: Identifier
    bin_category: CategoryKey
    started_at: AwareDatetime
    ended_at: AwareDatetime
    prediction: Prediction | None = Field(
        default=None, description="absent when no item could be isolated for classification"
    )
    flags: list[Flag] = Field(default_factory=list)
    model_version: Annotated[str, Field(min_length=1, max_length=64)]
    evidence: list[Evidence] = Field(default_factory=list, max_length=3)

    @model_validator(mode="after")
    def _consistent(self) -> Event:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if len(set(self.flags)) != len(self.flags):
            raise ValueError("flags repeat")
        kinds = [e.kind for e in self.evidence]
        if len(set(kinds)) != len(kinds):
            raise ValueError("evidence kinds repeat")
        return self

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


class Heartbeat(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    device_id: Identifier
    site_id: Identifier
    sent_at: AwareDatetime
    model_version: Annotated[str, Field(min_length=1, max_length=64)]
    camera_state: CameraState
    fps: Annotated[float, Field(ge=0)]
    stage_ms: dict[Annotated[str, Field(max_length=32)], Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    outbox_depth: Annotated[int, Field(ge=0)]
    uptime_s: Annotated[float, Field(ge=0)] = 0.0
