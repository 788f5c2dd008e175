"""Collector configuration: environment variables (``BINWATCH_COLLECTOR_*``) over a TOML file.

Precedence, highest first: keyword arguments (tests, the demo), environment variables,
the TOML file named by ``BINWATCH_COLLECTOR_CONFIG`` or ``--config``, the defaults below.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

CONFIG_ENV = "BINWATCH_COLLECTOR_CONFIG"
ENV_PREFIX = "BINWATCH_COLLECTOR_"
MiB = 1024 * 1024


class Webhook(BaseModel):
    """A receiver of the city platform: every platform message is POSTed to ``url``, signed with ``secret``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    url: str = Field(pattern=r"^https?://[^\s]+$")
    secret: str = Field(min_length=16, max_length=256)
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class Settings(BaseSettings):
    """Each field's description is its line in the README's table (``settings_table``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)
    # the TOML file of ``load_settings``, set on a subclass; None: the one ``BINWATCH_COLLECTOR_CONFIG`` names
    config_file: ClassVar[Path | None] = None

    # Defaults are given as ``default=``: only then do type checkers see a field as optional (PEP 681).
    data_dir: Path = Field(
        default=Path("collector-data"),
        description="where the SQLite file and the evidence and model files (`blobs/`) live",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://user:pw@host/db`; "
        "unset: SQLite, `collector.sqlite3` in `DATA_DIR`",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="`NORMAL`: a committed event survives a crash of the process; "
        "`FULL`: it also survives a power cut, and each commit is slower",
    )
    migrate_on_start: bool = Field(default=True, description="apply the Alembic migrations when the service starts")
    host: str = Field(default="127.0.0.1", description="the address `serve` listens on")
    port: int = Field(default=8080, ge=1, le=65535, description="the port `serve` listens on")
    workers: int = Field(
        default=1, ge=1, le=64, description="uvicorn worker processes; keep 1 with SQLite (one writer)"
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="load balancers trusted for `X-Forwarded-For`/`-Proto` (comma-separated IPs or `*`); "
        "unset: proxy headers are ignored and a client is the address it connects from. Set it behind a "
        "balancer, or the login rate limit counts every client as the balancer",
    )
    max_json_bytes: int = Field(default=1 * MiB, ge=1024, description="largest JSON or form body (413 beyond it)")
    max_evidence_bytes: int = Field(
        default=64 * MiB, ge=1024, description="largest evidence file: snapshot, crop or clip (413 beyond it)"
    )
    max_model_bytes: int = Field(default=256 * MiB, ge=1024, description="largest ONNX model upload (413 beyond it)")
    device_offline_after_s: float = Field(
        default=300.0, gt=0, description="a device not heard from for this long is shown as offline"
    )
    session_ttl_s: int = Field(default=12 * 3600, ge=60, description="how long a login (cookie or API token) lasts")
    cookie_secure: bool = Field(default=False, description="mark the session cookie `Secure`; set it behind HTTPS")
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="login rate limit: failed logins per user name or client address within "
        "`LOGIN_WINDOW_S`; the next attempt gets 429",
    )
    login_window_s: float = Field(default=300.0, gt=0, description="the window of the login rate limit")
    timezone: str = Field(
        default="Asia/Shanghai", description="the time zone of the local day used by statistics and the ledger"
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="uvicorn's log level"
    )
    work_order_due_h: float = Field(
        default=24.0,
        gt=0,
        le=2160,
        description="hours a new work order has until it is overdue, unless given a due time",
    )
    work_order_after_min: float = Field(
        default=30.0,
        ge=0,
        description="littering not cleared and overflow not emptied this many minutes after they were seen become "
        "work orders by themselves; 0: never",
    )
    mqtt_url: str | None = Field(
        default=None,
        pattern=r"^mqtts?://[^\s/]+/?$",
        description="the city platform's MQTT broker, `mqtt://[user:password@]host[:port]` (`mqtts://`: TLS); "
        "unset: nothing is published over MQTT",
    )
    mqtt_topic_prefix: str = Field(
        default="binwatch",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*[A-Za-z0-9]$",
        description="topics are `<prefix>/<site_id>/events`, `…/reviews`, `…/work_orders`, and the retained "
        "`<prefix>/available`",
    )
    webhooks: list[Webhook] = Field(
        default=[],
        description='the city platform\'s webhooks, as JSON: `[{"name": "city", "url": "https://…", "secret": '
        '"at least 16 characters", "timeout_s": 10}]`; each gets every platform message, signed',
    )
    publish_retry_max_s: float = Field(
        default=300.0, ge=1, le=86400, description="cap of the exponential backoff between tries of a platform delivery"
    )
    publish_keep_days: float = Field(
        default=7.0, ge=0, description="platform messages delivered everywhere are deleted after this many days"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("webhooks")
    @classmethod
    def _unique_names(cls, hooks: list[Webhook]) -> list[Webhook]:
        names = [h.name for h in hooks]
        if len(set(names)) != len(names) or "mqtt" in names:
            raise ValueError("webhook names must be unique and not `mqtt`")
        return hooks

    @property
    def work_order_due(self) -> dt.timedelta:
        return dt.timedelta(hours=self.work_order_due_h)

    @property
    def publish_targets(self) -> list[str]:
        """Where every platform message goes: ``mqtt`` and the webhooks' names."""
        return (["mqtt"] if self.mqtt_url else []) + [h.name for h in self.webhooks]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'collector.sqlite3').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = cls.config_file or os.environ.get(CONFIG_ENV)
        if toml_file and not Path(toml_file).is_file():
            raise FileNotFoundError(f"{toml_file}: no such settings file")
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file)


def load_settings(config_file: Path | str | None = None, **overrides) -> Settings:
    """Read the settings; ``config_file`` takes the place of ``BINWATCH_COLLECTOR_CONFIG``."""
    if config_file is None:
        return Settings(**overrides)
    path = Path(config_file)

    class FileSettings(Settings):
        config_file = path

    return FileSettings(**overrides)


def settings_table() -> str:
    """The settings as the Markdown table in collector/README.md, so that the two cannot drift apart."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {_shown(field.default)} | {field.description} |")
    return "\n".join(rows) + "\n"


def _shown(default: object) -> str:
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"
