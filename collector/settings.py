"""Collector configuration: environment variables (``BINWATCH_COLLECTOR_*``) over a TOML file.

Precedence, highest first: keyword arguments (tests, the demo), environment variables,
the TOML file named by ``BINWATCH_COLLECTOR_CONFIG`` or ``--config``, the defaults below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

CONFIG_ENV = "BINWATCH_COLLECTOR_CONFIG"
MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BINWATCH_COLLECTOR_", extra="forbid", validate_default=True)

    data_dir: Path = Field(Path("collector-data"), description="database file (SQLite) and evidence files live here")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql+psycopg://user:pw@host/db; default SQLite under data_dir"
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL", description="WAL sync level: NORMAL survives a process crash, FULL also a power cut"
    )
    migrate_on_start: bool = Field(True, description="apply Alembic migrations when the service starts")
    host: str = Field("127.0.0.1", description="address `serve` listens on")
    port: int = Field(8080, ge=1, le=65535, description="port `serve` listens on")
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes (keep 1 with SQLite)")
    forwarded_allow_ips: str | None = Field(
        None,
        description="load balancers to trust for X-Forwarded-For/-Proto (comma-separated IPs, or *); "
        "unset: proxy headers are ignored and a client is the address it connects from",
    )
    max_json_bytes: int = Field(1 * MiB, ge=1024, description="largest JSON or form request body")
    max_evidence_bytes: int = Field(64 * MiB, ge=1024, description="largest evidence file (snapshot, crop, clip)")
    max_model_bytes: int = Field(256 * MiB, ge=1024, description="largest ONNX model upload")
    device_offline_after_s: float = Field(300.0, gt=0, description="a device unheard for this long is offline")
    session_ttl_s: int = Field(12 * 3600, ge=60, description="lifetime of a login (cookie and API token)")
    cookie_secure: bool = Field(False, description="mark the session cookie Secure (set behind HTTPS)")
    login_max_failures: int = Field(5, ge=1, description="failed logins per user name or client within the window")
    login_window_s: float = Field(300.0, gt=0, description="window of the login rate limit")
    timezone: str = Field("Asia/Shanghai", description="local time zone of the day in statistics and the ledger")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

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
        toml_file = settings_cls.model_config.get("toml_file") or os.environ.get(CONFIG_ENV)
        if toml_file and not Path(toml_file).is_file():
            raise FileNotFoundError(f"{toml_file}: no such settings file")
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file)


def load_settings(config_file: Path | str | None = None, **overrides) -> Settings:
    """Read the settings; ``config_file`` takes the place of ``BINWATCH_COLLECTOR_CONFIG``."""
    if config_file is None:
        return Settings(**overrides)

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=Path(config_file))

    return FileSettings(**overrides)
