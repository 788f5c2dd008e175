"""The event wire format: what an edge box sends and the collector stores.

Defined once, here, and versioned by ``SCHEMA_VERSION``; ``edge/`` and ``collector/``
meet only at these models and over HTTP. Unknown fields are refused so that a typo on
one side is an error, not silently dropped data.

Version 2 adds the kinds of observation around the bins (``EventKind``: littering on the
ground, overflow and emptying of a bin, mixed collection) and the two flags that ask a
supervisor to look without accusing anyone (``uncertain``, ``item_unseen``). A version 1
event, as boxes not yet upgraded send it, is a disposal with version 1's flags and still
validates.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from binwatch.datasets.taxonomy import CATEGORY_KEYS, ITEM_KEYS

SCHEMA_VERSION: Final = 2

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

# Wire types: what JSON says is taken as it is, never coerced. Pydantic's lax mode would read "0.9" as
# a number and 1700000000 as a time; a box that sends either has a bug to find, not a value to guess.
# Model-wide strict mode cannot be used: FastAPI validates the parsed JSON in Python mode, where
# strict refuses the strings that UUIDs, enums and times are on the wire. So the strictness is per type.
Probability = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Measure = Annotated[float, Strict(), Field(ge=0.0, allow_inf_nan=False)]
Count = Annotated[int, Strict(), Field(ge=0, le=2**63 - 1)]
_ISO_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]")


def _iso_text(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE_TIME.match(value)):
        return value
    raise ValueError("expected ISO 8601 text with a UTC offset, e.g. 2026-11-20T09:30:00+08:00")


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
SchemaVersion = Annotated[int, Strict(), Field(ge=1, le=SCHEMA_VERSION)]


class Flag(StrEnum):
    """What a disposal is flagged for. The first three are violations of Art. 16; the last two only
    ask for a supervisor's eyes (``REVIEW_FLAGS``) and accuse no one by themselves."""

    MIXED_DISPOSAL = "mixed_disposal"  # the item is not of the bin's category
    KITCHEN_CONTAMINATION = "kitchen_contamination"  # an Art. 16(3) contaminant in the kitchen bin
    OFF_HOURS = "off_hours"  # outside the site's disposal hours
    UNCERTAIN = "uncertain"  # the model is not sure enough to accuse: a supervisor decides
    ITEM_UNSEEN = "item_unseen"  # something went into the opening, but no item could be isolated


VIOLATION_FLAGS: Final = frozenset({Flag.MIXED_DISPOSAL, Flag.KITCHEN_CONTAMINATION, Flag.OFF_HOURS})
REVIEW_FLAGS: Final = frozenset({Flag.UNCERTAIN, Flag.ITEM_UNSEEN})
_V1_FLAGS: Final = VIOLATION_FLAGS


class EventKind(StrEnum):
    """What was observed. Each kind but ``disposal`` is about the drop-off point rather than one item."""

    DISPOSAL = "disposal"  # an item into a bin opening (Art. 16): bin, prediction, flags
    LITTERING = "littering"  # something left on the ground beside the bins and staying (Art. 16): zone
    LITTER_CLEARED = "litter_cleared"  # that ground is clear again: zone, ``resolves`` the littering event
    OVERFLOW = "overflow"  # a bin filled past its threshold: bin, ``fill_level``
    EMPTYING = "emptying"  # a bin emptied: bin, ``fill_level`` before emptying (Art. 15(5) ledger)
    MIXED_COLLECTION = "mixed_collection"  # bins of different categories emptied together (Art. 18): zone


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
    size: Annotated[Count, Field(gt=0)]


class Prediction(_Strict):
    item: str
    item_score: Probability
    category: CategoryKey
    category_score: Probability
    category_scores: dict[CategoryKey, Probability] = Field(default_factory=dict)
    frames: Annotated[Count, Field(ge=1, description="crops combined into this prediction")] = 1

    @field_validator("item")
    @classmethod
    def _known_item(cls, value: str) -> str:
        if value not in ITEM_KEYS:
            raise ValueError(f"unknown item {value!r}")
        return value


# The fields each kind needs, and those it must leave out (``None``).
_NEEDS: Final = {
    EventKind.DISPOSAL: ({"bin_id", "bin_category"}, {"zone_id", "fill_level", "resolves", "categories"}),
    EventKind.LITTERING: ({"zone_id"}, {"bin_id", "bin_category", "fill_level", "resolves", "categories"}),
    EventKind.LITTER_CLEARED: ({"zone_id", "resolves"}, {"bin_id", "bin_category", "fill_level", "categories"}),
    EventKind.OVERFLOW: ({"bin_id", "bin_category", "fill_level"}, {"zone_id", "resolves", "categories"}),
    EventKind.EMPTYING: ({"bin_id", "bin_category", "fill_level"}, {"zone_id", "resolves", "categories"}),
    EventKind.MIXED_COLLECTION: ({"zone_id", "categories"}, {"bin_id", "bin_category", "fill_level", "resolves"}),
}


class Event(_Strict):
    """One observation at a drop-off point; flagged or not, every disposal is sent."""

    schema_version: SchemaVersion = SCHEMA_VERSION
    kind: EventKind = EventKind.DISPOSAL
    event_id: uuid.UUID
    device_id: Identifier
    site_id: Identifier
    bin_id: Identifier | None = None
    bin_category: CategoryKey | None = None
    zone_id: Identifier | None = Field(default=None, description="the ground or collection zone of site.toml")
    fill_level: Probability | None = Field(
        default=None, description="share of the bin's capacity in use (overflow: now; emptying: before emptying)"
    )
    resolves: uuid.UUID | None = Field(default=None, description="the event this one ends (litter_cleared)")
    categories: list[CategoryKey] | None = Field(
        default=None, description="mixed_collection: the categories of the bins emptied together", max_length=4
    )
    started_at: Moment
    ended_at: Moment
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
        needed, excluded = _NEEDS[self.kind]
        missing = sorted(name for name in needed if getattr(self, name) is None)
        if missing:
            raise ValueError(f"a {self.kind.value} event needs {', '.join(missing)}")
        extra = sorted(name for name in excluded if getattr(self, name) is not None)
        if extra:
            raise ValueError(f"a {self.kind.value} event has no {', '.join(extra)}")
        if self.kind is not EventKind.DISPOSAL and self.flags:
            raise ValueError(f"only a disposal carries flags; a {self.kind.value} event is itself what it reports")
        if self.prediction is not None and self.kind not in {EventKind.DISPOSAL, EventKind.LITTERING}:
            raise ValueError(f"a {self.kind.value} event has no prediction")
        if self.categories is not None and len(set(self.categories)) < 2:
            raise ValueError("a mixed collection names at least two different categories")
        if self.schema_version == 1 and (self.kind is not EventKind.DISPOSAL or not set(self.flags) <= _V1_FLAGS):
            raise ValueError("schema version 1 knows only disposals and the flags of version 1")
        kinds = [e.kind for e in self.evidence]
        if len(set(kinds)) != len(kinds):
            raise ValueError("evidence kinds repeat")
        return self

    @property
    def flagged(self) -> bool:
        """Whether a supervisor should look: any flag, or a kind that is itself a violation."""
        return bool(self.flags) or self.kind in {EventKind.LITTERING, EventKind.OVERFLOW, EventKind.MIXED_COLLECTION}


class Heartbeat(_Strict):
    schema_version: SchemaVersion = SCHEMA_VERSION
    device_id: Identifier
    site_id: Identifier
    sent_at: Moment
    model_version: Annotated[str, Field(min_length=1, max_length=64)]
    camera_state: CameraState
    fps: Measure
    stage_ms: dict[Annotated[str, Field(max_length=32)], Measure] = Field(default_factory=dict)
    outbox_depth: Count
    uptime_s: Measure = 0.0
    fill_levels: dict[Identifier, Probability] = Field(
        default_factory=dict, description="estimated share of each bin's capacity in use, by bin id"
    )
