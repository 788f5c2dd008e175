"""The edge box's site configuration (``site.toml``), validated before anything starts.

A mistake in the file is reported with the dotted path of the bad key
(``bins.1.polygon: at least 3 points``), never as a crash later on; the bin polygons are
checked against the frame size once the camera has given a frame (``check_polygons``).
What each key means is written once, in its field's description: ``reference_table``
renders the key reference of ``edge/README.md`` from them.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Sequence
from datetime import time
from pathlib import Path
from typing import Annotated, Literal, TypeGuard, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import shapely
import tomli_w
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python
from shapely.validation import explain_validity

from binwatch.events.schema import VIOLATION_FLAGS, CategoryKey, Flag, Identifier

HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ConfigError(ValueError):
    """The site configuration cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectorConfig(_Section):
    url: str = Field(pattern=r"^https?://", description="the collector's base URL (`http://` or `https://`)")
    token: str = Field(min_length=1, description="this device's bearer token at the collector")
    timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="seconds per HTTP request (for a model download: per read)"
    )
    model_check_s: float = Field(
        default=300.0,
        ge=0,
        description="seconds between model roll-out checks, the first at start (`edge/rollout.py`); "
        "0: never, and the configured `model` is used",
    )
    heartbeat_s: float = Field(default=60.0, ge=1, le=3600, description="seconds between heartbeats")
    retry_max_s: float = Field(default=300.0, ge=1, le=3600, description="cap of the retry backoff, in seconds")


class CameraConfig(_Section):
    source: str | Annotated[int, Field(ge=0, le=255)] = Field(  # OpenCV crashes on a negative device index
        description="a video file, a device index (`0`), or an `rtsp://` / `http(s)://` URL"
    )
    fps: float = Field(default=15.0, gt=0, le=120, description="frame rate when the source does not tell")
    reconnect_max_s: float = Field(
        default=30.0, gt=0, le=600, description="cap of the reopening backoff of a lost stream, in seconds"
    )
    realtime: bool = Field(
        default=True, description="play a video file at its frame rate; false: as fast as it decodes"
    )


def _polygon(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(points) < 3:
        raise ValueError("at least 3 points")
    if any(x < 0 or y < 0 for x, y in points):
        raise ValueError("coordinates must be non-negative")
    # A bow tie (points out of order) fills two triangles that meet at a point, not the area meant.
    outline = shapely.Polygon(points)
    if not outline.is_valid:  # explain_validity says where, e.g. "Self-intersection[640 360]"
        raise ValueError(
            f"the outline crosses itself or encloses nothing ({explain_validity(outline)}); "
            "list the points in order around it"
        )
    return points


Polygon = Annotated[list[tuple[int, int]], AfterValidator(_polygon)]


class BinConfig(_Section):
    id: Identifier = Field(description="the bin's identifier (like `device_id`), unique at the site")
    category: CategoryKey = Field(
        description="the bin's category, one of " + ", ".join(f"`{c}`" for c in get_args(CategoryKey))
    )
    polygon: Polygon = Field(
        description="the opening: at least 3 `[x, y]` points in camera pixels, in order around it (its "
        "outline may not cross itself), all inside the camera frame"
    )


class ZoneConfig(_Section):
    id: Identifier = Field(description="the zone's identifier (like `device_id`), unique among the zones")
    kind: Literal["ground", "collection"] = Field(
        description="`ground`: floor beside the bins where nothing may be left (Art. 16: no dumping beside them); "
        "`collection`: where a collector's container stands while bins are emptied into it (Art. 18: no mixing), "
        "drawn round the container as the camera sees it"
    )
    polygon: Polygon = Field(
        description="the zone: at least 3 `[x, y]` points in camera pixels, in order around it (its "
        "outline may not cross itself), all inside the camera frame"
    )


class LitterConfig(_Section):
    stay_s: float = Field(
        default=8.0,
        ge=1,
        le=600,
        description="seconds something new on the ground must lie still, with nothing moving over it, to be litter",
    )
    clear_s: float = Field(
        default=2.0, gt=0, le=60, description="seconds the ground where litter lay must look bare again to be cleared"
    )
    min_fraction: float = Field(
        default=0.003, gt=0, lt=1, description="smallest piece of litter, as a share of its ground zone"
    )


class CollectionConfig(_Section):
    stay_s: float = Field(
        default=3.0,
        ge=0.5,
        le=120,
        description="seconds a container must stand still in a collection zone to count as there",
    )
    min_share: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="smallest container, as a share of its collection zone; it has left when less than half "
        "of that share still stands out",
    )
    gone_s: float = Field(
        default=2.0, gt=0, le=60, description="seconds the zone must look bare for the container to have left"
    )
    max_s: float = Field(
        default=300.0,
        ge=30,
        le=1800,
        description="a container's visit is judged at the latest this long after its first emptying (a "
        "container that stays); the clip buffer keeps that much",
    )


class FillConfig(_Section):
    overflow_level: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="fill level (share of the opening its contents cover) at which a bin overflows once its contents "
        "also hide its rim: one `overflow` event per filling, again after an emptying",
    )


class ThresholdConfig(_Section):
    motion_fraction: float = Field(
        default=0.02,
        gt=0,
        lt=1,
        description="share of an opening's pixels that must move to start a disposal; below half of it counts as quiet",
    )
    motion_pixel_delta: int = Field(
        default=18,
        ge=1,
        le=255,
        description="grey-level change (0–255, at the first frame's exposure) of the small frame that counts: "
        "between frames as moving, against the background as standing out; raised in a noisier picture",
    )
    start_frames: int = Field(
        default=2, ge=1, le=30, description="frames in a row above `motion_fraction` to start a disposal"
    )
    settle_s: float = Field(
        default=1.0,
        gt=0,
        le=10,
        description="quiet seconds in the opening that end a disposal, once nothing reaches over its rim",
    )
    max_event_s: float = Field(default=30.0, ge=2, le=600, description="a disposal is cut after this many seconds")
    change_pixel_delta: int = Field(
        default=30,
        ge=1,
        le=255,
        description="colour change (max over channels, at the first frame's exposure) between before and after "
        "that counts as changed; raised in a noisier picture",
    )
    item_min_fraction: float = Field(
        default=0.004, gt=0, lt=1, description="smallest changed region, as a share of the opening, that is an item"
    )
    item_max_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="largest changed region, as a share of the opening, that is an item; larger: an emptying, "
        "or something covering the bin",
    )
    mixed_confidence: float = Field(
        default=0.6, ge=0, le=1, description="`mixed_disposal` needs P(not the bin's category) ≥ this"
    )
    contamination_confidence: float = Field(
        default=0.5, ge=0, le=1, description="`kitchen_contamination` needs P(an Art. 16(3) contaminant) ≥ this"
    )
    consensus_crops: int = Field(default=5, ge=1, le=16, description="crops classified per disposal")
    consensus_agreement: float = Field(
        default=0.6, ge=0, le=1, description="share of crops that must agree with the consensus for a flag"
    )
    abstain_confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="below this calibrated confidence a suspected violation is marked `uncertain`, not flagged; "
        "default: the model's own threshold (none for a model without one)",
    )

    @model_validator(mode="after")
    def _item_sizes_in_order(self) -> ThresholdConfig:
        if self.item_min_fraction >= self.item_max_fraction:
            raise ValueError(
                f"item_min_fraction ({self.item_min_fraction}) must be below item_max_fraction "
                f"({self.item_max_fraction}): no change could be an item"
            )
        return self


MIN_CLIP_FPS = 2.0  # slower, a clip of a disposal is a handful of stills


class ClipConfig(_Section):
    pre_s: float = Field(default=3.0, ge=0, le=30, description="clip seconds before the disposal's start")
    post_s: float = Field(
        default=3.0, ge=0, le=30, description="clip seconds after the disposal's end; a flagged event waits this long"
    )
    blur_outside_bins: bool = Field(
        default=True,
        description="blur everything outside the bin polygons in every file written; a ground event keeps "
        "its litter's box sharp",
    )
    width: int = Field(
        default=640, ge=160, le=3840, description="width of clip frames (the snapshot keeps the camera's resolution)"
    )
    fps: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="the clips' frame rate at most (a falling item shows in several frames at 10), at least 2; "
        "0 keeps every camera frame, at 1.5 times the clip's CPU for a 15 fps camera",
    )
    codec: Literal["auto", "avc1", "vp09", "mp4v"] = Field(
        default="auto", description="`auto` (H.264 `avc1` via PyAV or OpenCV, else `mp4v`), `avc1`, `vp09`, `mp4v`"
    )
    unflagged_crop: bool = Field(
        default=True, description="keep and send the item crop of unflagged disposals too (review, retraining)"
    )

    @field_validator("fps")
    @classmethod
    def _a_clip_rate(cls, value: float) -> float:
        if 0 < value < MIN_CLIP_FPS:
            raise ValueError(f"must be 0 (every camera frame) or at least {MIN_CLIP_FPS:g} frames per second")
        return value


class ScheduleConfig(_Section):
    allowed_hours: list[str] = Field(
        default_factory=list,
        description='`"HH:MM-HH:MM"` windows (end exclusive; `22:00-02:00` runs over midnight); empty: any time',
    )
    timezone: str = Field(default="Asia/Shanghai", description="the zone the windows are read in (validated)")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("allowed_hours")
    @classmethod
    def _windows(cls, windows: list[str]) -> list[str]:
        for window in windows:
            _window(window)
        return windows

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def windows(self) -> list[tuple[time, time]]:
        return [_window(window) for window in self.allowed_hours]


def _window(text: str) -> tuple[time, time]:
    """``HH:MM-HH:MM`` as its start and its (exclusive) end; an end at hour 24 is the end of the day."""
    m = HOURS.match(text)
    if not m or int(m[1]) > 23 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    start = time(int(m[1]), int(m[2]))
    end = time.max if m[3] == "24" else time(int(m[3]), int(m[4]))
    if start == end:
        raise ValueError(f"{text!r} is empty")
    return start, end


class AnnounceConfig(_Section):
    enabled: bool = Field(default=False, description="speak to the resident at the bin when a disposal is flagged")
    voice: Literal["command", "mqtt"] = Field(
        default="command",
        description="`command`: play a sound file per flag and language; `mqtt`: publish to `mqtt_topic` for a "
        "separate speaker",
    )
    command: list[str] = Field(
        default=["aplay", "-q", "{file}"],
        min_length=1,
        description="the player, run once per language; `{file}`, `{flag}`, `{lang}` and `{text}` are filled in",
    )
    sounds: Path | None = Field(
        default=None,
        description="folder of `<flag>.<lang>.wav` files; unset: the shipped ones (`binwatch edge sounds` makes "
        "others with espeak-ng)",
    )
    languages: list[Literal["zh", "en"]] = Field(
        default=["zh", "en"], min_length=1, description="spoken in this order, one file each"
    )
    flags: list[Flag] = Field(
        default=[Flag.KITCHEN_CONTAMINATION, Flag.MIXED_DISPOSAL, Flag.OFF_HOURS],
        min_length=1,
        description="the flags that are announced, most important first: a disposal with several gets the first",
    )
    mqtt_url: str = Field(
        default="mqtt://127.0.0.1:1883", pattern=r"^mqtt://[^\s/]+/?$", description="the local broker of `mqtt`"
    )
    mqtt_topic: str = Field(
        default="binwatch/{site_id}/announce",
        min_length=1,
        description="the topic of `mqtt` (`{site_id}`, `{device_id}` filled in)",
    )
    repeat_after_s: float = Field(
        default=30.0,
        ge=0,
        description="the same flag is not announced again within this time, so a queue of residents is not "
        "lectured once each",
    )
    min_gap_s: float = Field(default=4.0, ge=0, description="the least time between two announcements of any flag")
    max_delay_s: float = Field(
        default=2.0, gt=0, le=60, description="an announcement that cannot start this soon after its verdict is dropped"
    )
    quiet_hours: list[str] = Field(
        default_factory=list,
        description='`"HH:MM-HH:MM"` windows (in `schedule.timezone`) when nothing is announced',
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="a player still running after this is stopped")
    early: bool = Field(
        default=True,
        description="announce as soon as an item has landed and its early verdict flags it, rather than when the "
        "disposal concludes (`edge/early.py`)",
    )
    early_margin: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="the early verdict needs `mixed_confidence` and `contamination_confidence` raised by this much: "
        "one moment, the arm still at the bin, is less sure than the final verdict",
    )

    @field_validator("flags")
    @classmethod
    def _violations(cls, flags: list[Flag]) -> list[Flag]:
        accusing = [f for f in flags if f not in VIOLATION_FLAGS]
        if accusing:
            raise ValueError(f"only violations are announced, not {', '.join(f.value for f in accusing)}")
        return flags

    @field_validator("quiet_hours")
    @classmethod
    def _windows(cls, windows: list[str]) -> list[str]:
        for window in windows:
            _window(window)
        return windows


class StorageConfig(_Section):
    dir: Path = Field(
        default=Path("binwatch-data"), description="outbox database, evidence files, downloaded models, temporary files"
    )
    budget_mb: float = Field(
        default=2048.0, gt=0, description="evidence waiting to be sent plus the database may not exceed this many MB"
    )
    reserve_mb: float = Field(
        default=256.0,
        ge=0,
        description="MB of the storage device kept free: waiting evidence is evicted (as for the budget) before "
        "the disk fills, so that events can still be committed",
    )
    keep_delivered_days: float = Field(
        default=7.0, ge=0, description="delivered outbox rows are forgotten after this many days (`status` history)"
    )


class SiteConfig(_Section):
    device_id: Identifier = Field(
        description="this box's identifier (`[A-Za-z0-9][A-Za-z0-9._-]*`, at most 64 characters), as registered "
        "at the collector"
    )
    site_id: Identifier = Field(description="the drop-off point's identifier (like `device_id`), as registered there")
    model: Path | None = Field(
        default=None, description="an exported binwatch ONNX file; unset: the shipped INT8 release model"
    )
    collector: CollectorConfig
    camera: CameraConfig
    bins: list[BinConfig] = Field(
        min_length=1, max_length=8, description="one to eight bins, each a table of the keys below"
    )
    zones: list[ZoneConfig] = Field(
        default_factory=list,
        max_length=8,
        description="zones beside the bins (none: no littering or mixed-collection events), each a table of the "
        "keys below",
    )
    thresholds: ThresholdConfig = ThresholdConfig()
    litter: LitterConfig = LitterConfig()
    collection: CollectionConfig = CollectionConfig()
    fill: FillConfig = FillConfig()
    clips: ClipConfig = ClipConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    storage: StorageConfig = StorageConfig()
    announce: AnnounceConfig = AnnounceConfig()

    @model_validator(mode="after")
    def _unique_bins(self) -> SiteConfig:
        ids = [b.id for b in self.bins]
        if len(set(ids)) != len(ids):
            raise ValueError(f"bin ids repeat: {ids}")
        zones = [z.id for z in self.zones]
        if len(set(zones)) != len(zones):
            raise ValueError(f"zone ids repeat: {zones}")
        # A ground zone leaves out the bins' openings (what lands in one is a disposal): one lying wholly over
        # them would watch nothing, and say nothing of it.
        openings = shapely.union_all([shapely.Polygon(b.polygon) for b in self.bins])
        for i, zone in enumerate(self.zones):
            if zone.kind == "ground" and shapely.Polygon(zone.polygon).difference(openings).area < 1:
                raise ValueError(
                    f"zones.{i} ({zone.id!r}) lies wholly over the bins' openings: a ground zone leaves them out, "
                    "so it would watch nothing; draw it round the floor beside them"
                )
        return self


def reference_table() -> str:
    """The key reference of ``edge/README.md``, written from the fields' descriptions so the two cannot drift."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key, field in _fields(SiteConfig, ""):
        # An optional array of tables is simply left out of the file: its default is no tables.
        default = "none" if key.endswith("]]") and not field.is_required() else _default(field)
        rows.append(f"| `{key}` | {default} | {field.description} |")
    return "\n".join(rows)


def _fields(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, FieldInfo]]:
    """Every key, as the dotted path a user finds it under; a section's keys in place of the section."""
    for name, field in model.model_fields.items():
        item = next(iter(get_args(field.annotation)), None)  # of a list
        if _is_section(field.annotation):
            yield from _fields(field.annotation, f"{prefix}{name}.")
        elif _is_section(item):  # an array of tables
            yield f"[[{prefix}{name}]]", field
            yield from _fields(item, f"[[{prefix}{name}]] ")
        else:
            yield prefix + name, field


def _is_section(annotation: object) -> TypeGuard[type[_Section]]:
    return isinstance(annotation, type) and issubclass(annotation, _Section)


def _default(field: FieldInfo) -> str:
    """As it would be written in ``site.toml``."""
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, list):  # on one line, as a table cell needs (a JSON array of strings is TOML too)
        return "`" + json.dumps(to_jsonable_python(value), ensure_ascii=False) + "`"
    return "`" + tomli_w.dumps({"key": to_jsonable_python(value)}).removeprefix("key = ").strip() + "`"


def check_polygons(bins: list[BinConfig], frame_size: tuple[int, int], zones: Sequence[ZoneConfig] = ()) -> None:
    """The polygons against the camera's frame size, known only once a frame has come."""
    width, height = frame_size
    named = [(f"bins.{i}", b.polygon) for i, b in enumerate(bins)]
    named += [(f"zones.{i}", z.polygon) for i, z in enumerate(zones)]
    for where, polygon in named:
        outside = [(x, y) for x, y in polygon if x >= width or y >= height]
        if outside:
            raise ConfigError(
                f"{where}.polygon: point {outside[0]} lies outside the camera frame "
                f"({width}x{height}); draw it with `binwatch edge check-config`"
            )


def explain(error: ValidationError, source: str) -> str:
    """A validation error as lines a person reads: where (``bins.0.polygon``) and what is wrong."""
    lines = [f"{source}: invalid configuration"]
    for e in error.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        message = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def parse(data: dict, source: str = "<config>", base: Path | None = None) -> SiteConfig:
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(explain(exc, source)) from None
    if base is not None:
        # Relative paths in a file are relative to the file, not to where the box was started.
        updates: dict[str, object] = {"storage": config.storage.model_copy(update={"dir": base / config.storage.dir})}
        if config.model is not None:
            updates["model"] = base / config.model
        if config.announce.sounds is not None:
            updates["announce"] = config.announce.model_copy(update={"sounds": base / config.announce.sounds})
        if isinstance(config.camera.source, str) and "://" not in config.camera.source:
            updates["camera"] = config.camera.model_copy(update={"source": str(base / config.camera.source)})
        config = config.model_copy(update=updates)
    return config


def load(path: str | Path) -> SiteConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # Windows Notepad writes a byte-order mark
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, str(path), path.parent)


def dump(config: SiteConfig, path: str | Path) -> None:
    data = config.model_dump(mode="json", exclude_none=True)
    Path(path).write_text(tomli_w.dumps(data), encoding="utf-8")
