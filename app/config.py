"""Application settings from the environment (prefix ``BICHAT_``) and an optional ``.env`` file."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field, SecretStr, field_validator

from db.settings import DatabaseSettings, load
from db.settings import env_name as settings_env_name

EMBEDDING_CHOICES = ("local", "openai:text-embedding-3-small")
DEFAULT_ONLINE_MODEL = "openai:gpt-4.1-mini"


class Settings(DatabaseSettings):
    """Every setting, its environment variable and its unit (in the name) is documented in README.

    The database's own settings (URLs, data dir, reader limits) come from ``DatabaseSettings``."""

    model: str | None = None
    embeddings: str = "local"
    model_timeout_s: float = Field(default=60.0, gt=0, le=600)
    model_max_retries: int = Field(default=2, ge=0, le=10)
    turn_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    agent_max_model_calls: int = Field(default=8, ge=1, le=50)
    agent_max_tool_calls: int = Field(default=10, ge=1, le=100)
    agent_max_tool_errors: int = Field(default=3, ge=0, le=20)
    history_max_tokens: int = Field(default=3000, ge=0, le=200_000)
    offline_min_similarity: float = Field(default=0.8, gt=0, le=1)
    admin_password: SecretStr | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "BICHAT_OPENAI_API_KEY")
    )

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
    def effective_model(self) -> str:
        """The model string in force: explicit setting, else offline unless an API key is set."""
        if self.model:
            return self.model
        return DEFAULT_ONLINE_MODEL if self.openai_api_key else "offline"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return settings_env_name(Settings, field)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation failures into a one-line ``ConfigError``."""
    return load(Settings, **overrides)
