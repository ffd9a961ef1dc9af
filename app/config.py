"""Application settings from the environment (prefix ``BICHAT_``) and an optional ``.env`` file."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from limits import parse_many
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
    verified_min_similarity: float = Field(default=0.8, gt=0, le=1)
    engine_first: bool = True
    admin_password: SecretStr | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "BICHAT_OPENAI_API_KEY")
    )
    # voice questions (app/voice/): speech to text through the provider's OpenAI-compatible API
    transcription_model: str = "whisper-1"
    voice_max_audio_s: int = Field(default=120, ge=5, le=900)
    # the web layer (app/web/security.py, app/web/chat_session.py, app/web/throttle.py)
    session_max_age_s: int = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    public_url: str | None = None
    allowed_origins: str = ""
    trusted_proxies: str = ""
    login_limit_per_ip: str = "30/minute;200/hour"
    login_limit_per_username: str = "10/10 minutes"
    api_docs: bool = False
    # per API token (REST API and MCP over HTTP; app/web/api_limits.py)
    api_rate_limit: str = "120/minute;3000/hour"
    api_ask_rate_limit: str = "10/minute;300/day"
    # dashboards and digests (app/dashboards/, app/digests/)
    tile_cache_ttl_s: int = Field(default=300, ge=0, le=7 * 24 * 3600)
    digest_poll_s: int = Field(default=60, ge=0, le=3600)  # 0: serve runs no digests
    digest_max_attempts: int = Field(default=4, ge=1, le=20)
    digest_retry_base_s: int = Field(default=60, ge=1, le=24 * 3600)
    digest_lease_s: int = Field(default=600, ge=30, le=24 * 3600)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "bichat@localhost"
    smtp_starttls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0, le=300)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=300)
    # running several instances (app/turn/drain.py, app/log_format.py)
    drain_timeout_s: float = Field(default=30.0, ge=0, le=3600)
    log_format: Literal["text", "json"] = "text"

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

    @field_validator(
        "login_limit_per_ip", "login_limit_per_username", "api_rate_limit", "api_ask_rate_limit"
    )
    @classmethod
    def _check_rate(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate: write e.g. '30/minute' or '10/10 minutes;100/day'"
            ) from None
        return value

    @property
    def extra_origins(self) -> list[str]:
        """Origins besides the app's own that may call it from a browser (credentialed CORS)."""
        return [origin_of(item) for item in split_list(self.allowed_origins)]

    @property
    def proxies(self) -> list[str]:
        """Addresses (IPs or CIDR ranges) whose X-Forwarded-Proto and -For are believed."""
        return split_list(self.trusted_proxies)

    @property
    def effective_model(self) -> str:
        """The model string in force: explicit setting, else offline unless an API key is set."""
        if self.model:
            return self.model
        return DEFAULT_ONLINE_MODEL if self.openai_api_key else "offline"


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL; ``ValueError`` saying why otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} must be an http:// or https:// address with a host")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValueError(f"{url!r} has a port that is not a number") from None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return settings_env_name(Settings, field)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning validation failures into a one-line ``ConfigError``."""
    return load(Settings, **overrides)
