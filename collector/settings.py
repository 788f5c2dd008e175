"""Collector configuration: environment variables (``BINWATCH_COLLECTOR_*``) over a TOML file.

Precedence, highest first: keyword arguments (tests, the demo), environment variables,
the TOML file named by ``BINWATCH_COLLECTOR_CONFIG`` or ``--config``, the defaults below.
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

CONFIG_ENV = "BINWATCH_COLLECTOR_CONFIG"
ENV_PREFIX = "BINWATCH_COLLECTOR_"
MiB = 1024 * 1024
CLOCK_SKEW_S = 300.0


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
        description="where the SQLite file and the evidence and model files (`blobs/`, unless `BLOB_STORE` "
        "names a bucket) live",
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
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="PostgreSQL: connections each worker process keeps open (SQLAlchemy `pool_size`)",
    )
    db_max_overflow: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="PostgreSQL: connections a worker may open beyond `DB_POOL_SIZE` in a burst, closed after use; "
        "a worker uses at most `DB_POOL_SIZE` + `DB_MAX_OVERFLOW`",
    )
    blob_store: str | None = Field(
        default=None,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description="where evidence and model files are kept: unset: `DATA_DIR/blobs/` on this host; "
        "`s3://bucket/prefix`: an S3-compatible bucket shared by every host",
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="the S3 endpoint, e.g. `http://minio.internal:9000`; unset: boto3's (AWS, or "
        "`AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`)",
    )
    s3_region: str | None = Field(
        default=None, description="the bucket's region; unset: boto3's (`AWS_REGION`, `~/.aws/config`)"
    )
    s3_access_key_id: str | None = Field(
        default=None,
        description="S3 access key; unset (with the secret): boto3's credential chain (`AWS_ACCESS_KEY_ID`, "
        "`~/.aws/credentials`, an instance role)",
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret key, set together with `S3_ACCESS_KEY_ID`"
    )
    s3_addressing_style: Literal["auto", "path", "virtual"] = Field(
        default="auto",
        description="`path` (`endpoint/bucket/key`) for MinIO and most stores on an IP address or single host "
        "name; `virtual` (`bucket.endpoint/key`); `auto`: boto3 decides",
    )
    evidence_retention_days: int = Field(
        default=30,
        ge=1,
        description="evidence files of compliant events (unflagged, or reviewed and found compliant) are deleted "
        "this many days after they arrived or were reviewed, whichever is later; the event stays",
    )
    violation_retention_days: int = Field(
        default=365,
        ge=1,
        description="evidence files of events whose review upheld a violation are deleted this many days after "
        "the review (and not before `EVIDENCE_RETENTION_DAYS` after they arrived); flagged events not yet "
        "reviewed keep theirs",
    )
    retention_sweep_s: float = Field(
        default=3600.0,
        ge=0,
        description="how often each worker deletes expired evidence; `0`: never in the service (run "
        "`binwatch collector expire-evidence` instead)",
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
        "`LOGIN_WINDOW_S`, counted by all workers together; the next attempt gets 429",
    )
    login_window_s: float = Field(default=300.0, gt=0, description="the window of the login rate limit")
    auth_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="how long each worker remembers a device token and the bins of a site: a revoked token and "
        "changed bins take effect on every other worker within this time; `0`: look them up on every request",
    )
    timezone: str = Field(
        default="Asia/Shanghai", description="the time zone of the local day used by statistics and the ledger"
    )
    max_clock_skew_s: float = Field(
        default=CLOCK_SKEW_S,
        ge=0,
        le=86400,
        description="how far ahead of the collector's clock a device's event or heartbeat may be dated "
        "(box clocks drift); a later time gets 422 with `Retry-After`, so the box sends it again once it is "
        "due. Times before 2020-01-01 (a box whose clock was reset) get 422 too",
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

    @field_validator("violation_retention_days")
    @classmethod
    def _violations_kept_longer(cls, value: int, info: ValidationInfo) -> int:
        compliant = info.data.get("evidence_retention_days")
        if compliant is not None and value < compliant:
            raise ValueError("violation_retention_days must not be shorter than evidence_retention_days")
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
        return init_settings, env_settings, _TomlFile(settings_cls, toml_file=toml_file)


class _TomlFile(TomlConfigSettingsSource):
    """The settings file, in UTF-8 with or without the byte-order mark Windows editors write; one that is
    not TOML is named in the error."""

    def _read_file(self, file_path) -> dict:
        try:
            return tomllib.loads(file_path.read_bytes().decode("utf-8-sig"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{file_path}: not a TOML settings file in UTF-8 ({exc})") from None


class SettingsError(ValueError):
    """Settings that cannot be used: one line naming each bad setting and what is wrong with it."""


def load_settings(config_file: Path | str | None = None, **overrides) -> Settings:
    """Read the settings; ``config_file`` takes the place of ``BINWATCH_COLLECTOR_CONFIG``."""
    settings_class = Settings
    if config_file is not None:
        path = Path(config_file)

        class FileSettings(Settings):
            config_file = path

        settings_class = FileSettings
    try:
        return settings_class(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe(exc)) from None


def describe(error: ValidationError) -> str:
    """Each problem as ``name (VARIABLE): message``; never the value, which may be a secret."""
    problems = []
    for e in error.errors():
        name = ".".join(str(part) for part in e["loc"]) or "settings"
        message = "unknown setting" if e["type"] == "extra_forbidden" else e["msg"]
        problems.append(f"{name} ({ENV_PREFIX}{name.upper()}): {message}")
    return "invalid settings: " + "; ".join(problems)


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
