"""The edge box's site configuration (``site.toml``), validated before anything starts.

A mistake in the file is reported with the dotted path of the bad key
(``bins.1.polygon: at least 3 points``), never as a crash later on.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from binwatch.events.schema import CategoryKey, Identifier

HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class ConfigError(ValueError):
    """The site configuration cannot be used; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectorConfig(_Section):
    url: Annotated[str, Field(pattern=r"^https?://")]
    token: Annotated[str, Field(min_length=1)]
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    model_check_s: Annotated[float, Field(ge=0, description="how often to ask for a new model; 0: never")] = 300.0
    heartbeat_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    retry_max_s: Annotated[float, Field(ge=1, le=3600)] = 300.0


class CameraConfig(_Section):
    source: str | int = Field(description="video file, device index, or rtsp:// / http(s):// URL")
    fps: Annotated[float, Field(gt=0, le=120)] = 15.0
    reconnect_max_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    realtime: bool = Field(default=True, description="play a video file at its frame rate; false: as fast as possible")


class BinConfig(_Section):
    id: Identifier
    category: CategoryKey
    polygon: list[tuple[int, int]] = Field(description="the bin opening, in pixels of the camera frame")

    @field_validator("polygon")
    @classmethod
    def _polygon(cls, points: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if len(points) < 3:
            raise ValueError("at least 3 points")
        if any(x < 0 or y < 0 for x, y in points):
            raise ValueError("coordinates must be non-negative")
        return points


class ThresholdConfig(_Section):
    motion_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.02
    motion_pixel_delta: Annotated[int, Field(ge=1, le=255)] = 18
    start_frames: Annotated[int, Field(ge=1, le=30)] = 2
    settle_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    max_event_s: Annotated[float, Field(ge=2, le=600)] = 30.0
    change_pixel_delta: Annotated[int, Field(ge=1, le=255)] = 30
    item_min_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.004
    mixed_confidence: Annotated[float, Field(ge=0, le=1)] = 0.6
    contamination_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    consensus_crops: Annotated[int, Field(ge=1, le=16)] = 5
    consensus_agreement: Annotated[float, Field(ge=0, le=1)] = 0.6


class ClipConfig(_Section):
    pre_s: Annotated[float, Field(ge=0, le=30)] = 3.0
    post_s: Annotated[float, Field(ge=0, le=30)] = 3.0
    blur_outside_bins: bool = True
    width: Annotated[int, Field(ge=160, le=3840)] = 640
    codec: Literal["auto", "avc1", "vp09", "mp4v"] = "auto"
    unflagged_crop: bool = True


class ScheduleConfig(_Section):
    allowed_hours: list[str] = Field(default_factory=list, description='"HH:MM-HH:MM" windows; empty: any time')
    timezone: str = "Asia/Shanghai"

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
            m = HOURS.match(window)
            if not m or int(m[1]) > 23 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
                raise ValueError(f"{window!r} is not HH:MM-HH:MM")
            if m.group(1, 2) == m.group(3, 4):
                raise ValueError(f"{window!r} is empty")
        return windows

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def windows(self) -> list[tuple[time, time]]:
        out = []
        for window in self.allowed_hours:
            m = HOURS.match(window)
            end = time.max if m[3] == "24" else time(int(m[3]), int(m[4]))
            out.append((time(int(m[1]), int(m[2])), end))
        return out


class StorageConfig(_Section):
    dir: Path = Path("binwatch-data")
    budget_mb: Annotated[float, Field(gt=0)] = 2048.0
    keep_delivered_days: Annotated[float, Field(ge=0)] = 7.0


class SiteConfig(_Section):
    device_id: Identifier
    site_id: Identifier
    model: Path | None = Field(default=None, description="ONNX model; default: the shipped INT8 release model")
    collector: CollectorConfig
    camera: CameraConfig
    bins: Annotated[list[BinConfig], Field(min_length=1, max_length=8)]
    thresholds: ThresholdConfig = ThresholdConfig()
    clips: ClipConfig = ClipConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    storage: StorageConfig = StorageConfig()

    @model_validator(mode="after")
    def _unique_bins(self) -> SiteConfig:
        ids = [b.id for b in self.bins]
        if len(set(ids)) != len(ids):
            raise ValueError(f"bin ids repeat: {ids}")
        return self


def _describe(error: ValidationError, source: str) -> str:
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
        raise ConfigError(_describe(exc, source)) from None
    if base is not None:
        # Relative paths in a file are relative to the file, not to where the box was started.
        updates = {"storage": config.storage.model_copy(update={"dir": base / config.storage.dir})}
        if config.model is not None:
            updates["model"] = base / config.model
        if isinstance(config.camera.source, str) and "://" not in config.camera.source:
            updates["camera"] = config.camera.model_copy(update={"source": str(base / config.camera.source)})
        config = config.model_copy(update=updates)
    return config


def load(path: str | Path) -> SiteConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, str(path), path.parent)


def dump(config: SiteConfig, path: str | Path) -> None:
    data = config.model_dump(mode="json", exclude_none=True)
    Path(path).write_text(tomli_w.dumps(data), encoding="utf-8")
