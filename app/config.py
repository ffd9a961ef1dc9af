"""Application settings from the environment (prefix ``BICHAT_``) and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import ConfigError

POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+asyncpg")
EMBEDDING_CHOICES = ("local", "openai:text-embedding-3-small")
DEFAULT_ONLINE_MODEL = "openai:gpt-4.1-mini"


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


class Settings(BaseSettings):
    """Every setting, its environment variable and its unit (in the name) is documented in README."""

    model_config = SettingsConfigDict(
        env_prefix="BICHAT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = None
    reader_database_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    model: str | None = None
    embeddings: str = "local"
    statement_timeout_ms: int = Field(default=5000, ge=100, le=600_000)
    reader_work_mem_kb: int = Field(default=16_384, ge=64, le=4_194_304)
    reader_temp_file_limit_kb: int = Field(default=262_144, ge=0, le=2_147_483_647)
    reader_idle_in_transaction_timeout_ms: int = Field(default=10_000, ge=100, le=2_147_483_647)
    reader_connection_limit: int = Field(default=20, ge=1, le=1000)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=120)
    model_timeout_s: float = Field(default=60.0, gt=0, le=600)
    model_max_retries: int = Field(default=2, ge=0, le=10)
    agent_max_model_calls: int = Field(default=8, ge=1, le=50)
    agent_max_tool_calls: int = Field(default=10, ge=1, le=100)
    agent_max_tool_errors: int = Field(default=3, ge=0, le=20)
    history_max_tokens: int = Field(default=3000, ge=0, le=200_000)
    offline_min_similarity: float = Field(default=0.8, gt=0, le=1)
    admin_password: SecretStr | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "BICHAT_OPENAI_API_KEY")
    )

    @field_validator("database_url", "reader_database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return validate_postgres_url(value)

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str | None) -> str | None:
        if value is None or value == "" or value == "offline":
            return value or None
        provider, _, name = value.partition(":")
        if not provider or not name:
            raise ValueError("must be 'offline' or 'provider:model', e.g. openai:gpt-4.1-mini")
        return value

    @field_validator("embeddings")
    @classmethod
    def _check_embeddings(cls, value: str) -> str:
        if value not in EMBEDDING_CHOICES:
            raise ValueError(f"must be one of {', '.join(EMBEDDING_CHOICES)}")
        return value

    @property
    def embedded(self) -> bool:
        """True when bichat runs its own PostgreSQL (no ``BICHAT_DATABASE_URL``)."""
        return self.database_url is None

    @property
    def effective_model(self) -> str:
        """The model string in force: explicit setting, else offline unless an API key is set."""
        if self.model:
            return self.model
        return DEFAULT_ONLINE_MODEL if self.openai_api_key else "offline"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    alias = Settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BICHAT_{field.upper()}"


def format_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "settings"
        name = env_name(field) if field in Settings.model_fields else field
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{name} {message}")
    return "; ".join(problems)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation failures into a one-line ``ConfigError``."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(f"invalid setting: {format_validation_error(error)}") from None
