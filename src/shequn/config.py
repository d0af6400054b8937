"""Settings: environment variables ``SHEQUN_*`` over an optional TOML file over defaults.

The TOML file is ``shequn.toml`` in the working directory, or the path in
``SHEQUN_CONFIG``. Only the composition root and the CLI read settings;
everything below receives plain values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shequn.kit.errors import ConfigError
from shequn.kit.timeutil import DEFAULT_TIMEZONE, zone

DEFAULT_CONFIG_FILE = "shequn.toml"


def _config_file() -> Path:
    return Path(os.environ.get("SHEQUN_CONFIG", DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHEQUN_", extra="forbid")

    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{Path.cwd() / 'shequn.db'}",
        description="SQLAlchemy URL; SQLite file in the working directory by default.",
    )
    timezone: str = DEFAULT_TIMEZONE
    locale: str = "zh-CN"
    ingest_batch_size: int = Field(default=10_000, ge=1, le=100_000)
    echo_sql: bool = False
    #: Health-diagnosis thresholds (``features.analytics.health.logic.Thresholds`` field
    #: names), e.g. ``[health]`` ``activity_drop = 0.4`` in shequn.toml.
    health: dict[str, float] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _driver(cls, value: str) -> str:
        if value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    #: The bot accounts the runtime runs: one table per adapter (``[[adapters]]`` in
    #: shequn.toml) with its ``kind`` (sim, matrix, telegram, onebot, wecom), a ``name``,
    #: the ``community`` it serves and the platform's settings
    #: (``runtime.registry`` checks them).
    adapters: list[dict[str, Any]] = Field(default_factory=list)
    #: Whether ``shequn serve`` runs the bot runtime beside the web app.
    run_bots: bool = True

    #: Where dashboard uploads wait for their import; by default a ``shequn-uploads``
    #: folder next to the SQLite file, or in the working directory.
    uploads_dir: Path | None = None
    #: The largest export the dashboard accepts, in MiB.
    max_upload_mb: int = Field(default=2048, ge=1)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation failures into one readable ConfigError."""
    path = _config_file()
    if "SHEQUN_CONFIG" in os.environ and not path.is_file():
        raise ConfigError(f"SHEQUN_CONFIG points at {path}, which is not a file")
    try:
        return Settings(**overrides)
    except Exception as exc:  # pydantic ValidationError or a TOML syntax error
        raise ConfigError(f"invalid settings (env SHEQUN_*, {path}): {exc}") from exc
