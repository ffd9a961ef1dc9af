"""The settings the database layer reads (prefix ``BICHAT_``, ``.env`` supported).

``app.config.Settings`` extends this class with the application's own settings, so every
function here accepts either; ``db`` itself never imports ``app``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import platformdirs
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from db.errors import ConfigError

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("bichat"))


def validate_postgres_url(value: str) -> str:
    """Return ``value`` if it is a usable PostgreSQL URL, else raise ``ValueError`` saying why."""
    parts = urlsplit(value)
    if parts.scheme not in POSTGRES_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in POSTGRES_SCHEMES)
        raise ValueError(f"must start with one of {allowed} (got {value.split(':', 1)[0]!r})")
    has_socket = "host=" in parts.query
    if not parts.hostname and not has_socket:
        raise ValueError("has no host (write postgresql://user:password@host:5432/dbname)")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError("has a port that is not a number between 1 and 65535") from None
    if not parts.path.strip("/"):
        raise ValueError("names no database (add /dbname after the host)")
    return value


class DatabaseSettings(BaseSettings):
    """Where the database is and the limits of reader connections (units in the names)."""

    model_config = SettingsConfigDict(
        env_prefix="BICHAT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = None
    reader_database_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    reader_work_mem_kb: int = Field(default=16_384, ge=64, le=4_194_304)
    reader_temp_file_limit_kb: int = Field(default=262_144, ge=0, le=2_147_483_647)
    reader_idle_in_transaction_timeout_ms: int = Field(default=10_000, ge=100, le=2_147_483_647)
    reader_connection_limit: int = Field(default=20, ge=1, le=1000)
    reader_max_connections: int = Field(default=100, ge=1, le=100_000)
    replica_max_lag_ms: int = Field(default=5000, ge=0, le=86_400_000)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    database_retry_s: float = Field(default=10.0, ge=0, le=600)

    @field_validator("database_url", "reader_database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return validate_postgres_url(value)

    @property
    def embedded(self) -> bool:
        """True when bichat runs its own PostgreSQL (no ``BICHAT_DATABASE_URL``)."""
        return self.database_url is None


def env_name(settings_class: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field`` of ``settings_class``."""
    alias = settings_class.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BICHAT_{field.upper()}"


def format_validation_error(settings_class: type[BaseSettings], error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "settings"
        known = field in settings_class.model_fields
        name = env_name(settings_class, field) if known else field
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{name} {message}")
    return "; ".join(problems)


def load(settings_class: type[SettingsT], **overrides: Any) -> SettingsT:
    """Read settings, turning validation failures into a one-line ``ConfigError``."""
    try:
        return settings_class(**overrides)
    except ValidationError as error:
        problems = format_validation_error(settings_class, error)
        raise ConfigError(f"invalid setting: {problems}") from None
