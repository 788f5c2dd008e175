"""The ground truth of a scene (``truth.json``, format ``binwatch-truth/1``) and the rules that
say which flags a disposal deserves.

The rules are restated here from the taxonomy and the schedule rather than imported from the
edge agent's flag code: the truth must not inherit a mistake of the code it measures. Any tool
may write this format (the README documents every field); ``edge eval`` reads it through
``Truth``, so a malformed file is refused with the path of the bad field.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from binwatch.datasets import taxonomy
from binwatch.edge.config import ScheduleConfig
from binwatch.events.schema import CategoryKey, Flag, Identifier

FORMAT: Final = "binwatch-truth/1"
Seconds = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TruthBin(_Model):
    id: Identifier
    category: CategoryKey
    polygon: list[tuple[int, int]] = Field(min_length=3)


class TruthDisposal(_Model):
    id: int
    t: Seconds = Field(description="seconds from the first frame to the first frame with the item in the bin")
    t_start: Seconds | None = None
    t_end: Seconds | None = None
    bin_id: Identifier
    item: str | None = None
    category: CategoryKey
    flags: list[Flag]
    image: str | None = None
    bagged: bool = False

    @field_validator("item")
    @classmethod
    def _known_item(cls, value: str | None) -> str | None:
        if value is not None and value not in taxonomy.ITEM_KEYS:
            raise ValueError(f"unknown item {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TruthDisposal:
        if self.item is not None and taxonomy.category_of(self.item) != self.category:
            raise ValueError(f"item {self.item!r} is not in category {self.category!r}")
        if self.t_start is not None and self.t_start > self.t or self.t_end is not None and self.t_end < self.t:
            raise ValueError("t must lie between t_start and t_end")
        return self


class TruthPasser(_Model):
    t_start: Seconds
    t_end: Seconds
    over_bins: bool = False


class TruthVisit(_Model):
    """Somebody at one bin who throws no item in: a bystander, a worker emptying it, or somebody
    tipping a sack of loose waste into it (a load)."""

    t_start: Seconds
    t_end: Seconds
    bin_id: Identifier


class TruthOverflow(_Model):
    """A bin whose contents reached the rim: full from ``t`` until it is next emptied."""

    bin_id: Identifier
    t: Seconds = Field(description="the first frame the bin is full")


class TruthZone(_Model):
    id: Identifier
    kind: Literal["ground", "collection"] = "ground"
    polygon: list[tuple[int, int]] = Field(min_length=3)


class TruthLitter(_Model):
    """Something left on the ground in a zone, and maybe taken away again."""

    id: int
    zone_id: Identifier
    t: Seconds = Field(description="the first frame it lies on the ground")
    t_start: Seconds | None = None  # whoever left it enters the picture
    t_end: Seconds | None = None  # … and has left it again
    t_cleared: Seconds | None = Field(default=None, description="the first frame it is gone; absent: never")
    t_cleared_end: Seconds | None = None  # whoever took it away has left the picture
    kind: str | None = None  # what it is ("bag", "box")

    @model_validator(mode="after")
    def _ordered(self) -> TruthLitter:
        if self.t_cleared is not None and self.t_cleared <= self.t:
            raise ValueError("t_cleared must come after t")
        if self.t_cleared_end is not None and (self.t_cleared is None or self.t_cleared_end < self.t_cleared):
            raise ValueError("t_cleared_end needs t_cleared and must not come before it")
        return self


class TruthCollection(_Model):
    """A collector's container in a collection zone, and the bins emptied into it."""

    id: int
    zone_id: Identifier
    t_start: Seconds = Field(description="the container is wheeled into the picture")
    t_end: Seconds = Field(description="… and out of it again")
    bin_ids: list[Identifier] = Field(min_length=1)
    categories: list[CategoryKey] = Field(min_length=1)
    mixed: bool  # bins of two or more categories went into it: Art. 18 forbids it

    @model_validator(mode="after")
    def _consistent(self) -> TruthCollection:
        if self.t_end < self.t_start:
            raise ValueError("t_end must not come before t_start")
        if self.mixed != (len(set(self.categories)) >= 2):
            raise ValueError("mixed is true exactly when there are two or more categories")
        return self


class TruthExposure(_Model):
    t: Seconds
    gain: Annotated[float, Field(gt=0)]


class Truth(_Model):
    format: Literal["binwatch-truth/1"]
    video: str | None = None
    fps: Annotated[float, Field(gt=0)] | None = None
    frames: Annotated[int, Field(ge=1)] | None = None
    width: Annotated[int, Field(ge=1)] | None = None
    height: Annotated[int, Field(ge=1)] | None = None
    start_time: AwareDatetime
    schedule: ScheduleConfig = ScheduleConfig()
    bins: list[TruthBin] = Field(min_length=1)
    disposals: list[TruthDisposal]
    passers_by: list[TruthPasser] = Field(default_factory=list)
    condition: str | None = None
    bystanders: list[TruthVisit] = Field(default_factory=list)
    emptyings: list[TruthVisit] = Field(default_factory=list)
    loads: list[TruthVisit] = Field(default_factory=list)
    overflows: list[TruthOverflow] = Field(default_factory=list)
    exposure_jumps: list[TruthExposure] = Field(default_factory=list)
    zones: list[TruthZone] = Field(default_factory=list)
    littering: list[TruthLitter] = Field(default_factory=list)
    collections: list[TruthCollection] = Field(default_factory=list)
    generator: dict[str, Any] = Field(default_factory=dict, description="how the scene was made; free-form")

    @model_validator(mode="after")
    def _references(self) -> Truth:
        bin_ids = [b.id for b in self.bins]
        if len(set(bin_ids)) != len(bin_ids):
            raise ValueError(f"bin ids repeat: {bin_ids}")
        named = [d.bin_id for d in self.disposals] + [v.bin_id for v in self.bystanders + self.emptyings + self.loads]
        unknown = sorted(set(named + [o.bin_id for o in self.overflows]) - set(bin_ids))
        if unknown:
            raise ValueError(f"disposals, visits or overflows name unknown bins: {', '.join(unknown)}")
        ids = [d.id for d in self.disposals]
        if len(set(ids)) != len(ids):
            raise ValueError("disposal ids repeat")
        zones = [z.id for z in self.zones]
        if len(set(zones)) != len(zones):
            raise ValueError(f"zone ids repeat: {zones}")
        stray = sorted({item.zone_id for item in self.littering} - set(zones))
        if stray:
            raise ValueError(f"littering names unknown zones: {', '.join(stray)}")
        if len({item.id for item in self.littering}) != len(self.littering):
            raise ValueError("littering ids repeat")
        collection_zones = {z.id for z in self.zones if z.kind == "collection"}
        stray = sorted({c.zone_id for c in self.collections} - collection_zones)
        if stray:
            raise ValueError(f"collections name unknown collection zones: {', '.join(stray)}")
        unknown = sorted({b for c in self.collections for b in c.bin_ids} - set(bin_ids))
        if unknown:
            raise ValueError(f"collections name unknown bins: {', '.join(unknown)}")
        if len({c.id for c in self.collections}) != len(self.collections):
            raise ValueError("collection ids repeat")
        return self

    def bin(self, bin_id: str) -> TruthBin:
        return next(b for b in self.bins if b.id == bin_id)


def expected_flags(item: str, bin_category: str, at: datetime, schedule: ScheduleConfig) -> list[Flag]:
    """The flags that a disposal of ``item`` into a ``bin_category`` bin at ``at`` must raise.

    Art. 16(3) contaminants are 'other' waste, so one in the kitchen bin is also a mixed disposal.
    """
    flags = []
    if taxonomy.category_of(item) != bin_category:
        flags.append(Flag.MIXED_DISPOSAL)
    if bin_category == "kitchen" and taxonomy.is_kitchen_contaminant(item):
        flags.append(Flag.KITCHEN_CONTAMINATION)
    if not allowed_at(at, schedule):
        flags.append(Flag.OFF_HOURS)
    return flags


def allowed_at(at: datetime, schedule: ScheduleConfig) -> bool:
    """Whether local time falls in one of the windows (start inclusive, end exclusive; a window
    that ends before it starts runs over midnight; no windows: always)."""
    windows = schedule.windows()
    local = at.astimezone(schedule.zone).time()
    return not windows or any(_within(local, start, end) for start, end in windows)


def _within(t: time, start: time, end: time) -> bool:
    return start <= t < end if start < end else t >= start or t < end


def parse(data: dict, source: str = "<truth>") -> Truth:
    try:
        return Truth.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: not a valid {FORMAT} file"]
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(top level)"
            lines.append(f"  {where}: {'unknown key' if e['type'] == 'extra_forbidden' else e['msg']}")
        raise ValueError("\n".join(lines)) from None


def load(path: str | Path) -> Truth:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not JSON in UTF-8 ({exc})") from None
    return parse(data, str(path))


def write(truth: Truth, path: str | Path) -> None:
    text = json.dumps(truth.model_dump(mode="json", exclude_none=True), indent=2, ensure_ascii=False)
    Path(path).write_text(text + "\n", encoding="utf-8")
